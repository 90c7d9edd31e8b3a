//! Produce and consume throughput over an SSL listener, next to the same
//! rows over PLAINTEXT. The certificates are made when the bench runs (a CA
//! and a server certificate it signs for `localhost` and `127.0.0.1`, with
//! `rcgen`) and written as PEM files into a directory of their own, removed
//! when the bench exits: `server.pem`, the private key and certificate
//! chain (what `ssl.keystore.location` takes), and `ca.pem`, which the
//! clients trust (`ssl.ca.location`).
//!
//! A broker the bench starts with `--override listeners=...` in its command
//! (this repository's broker and Kafka's `kafka-server-start.sh` both take
//! that form) gets two more overrides: `listeners` with an SSL listener
//! added and `ssl.keystore.location`. Another broker can be measured with
//! `--ssl-bootstrap` and `--ssl-ca`; without them the SSL rows are "n/a".

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use crate::{Row, fmt_count, progress};

/// A CA and a server certificate, written into a directory that is removed
/// on drop.
pub struct Certificates {
    dir: PathBuf,
    /// The CA's certificate (PEM).
    pub ca: PathBuf,
    /// The server's private key (PKCS#8) and certificate chain (PEM).
    pub keystore: PathBuf,
}

impl Certificates {
    /// Makes new keys and certificates and writes them into `dir`, which
    /// must not exist (it is created, mode 0700).
    pub fn generate(dir: PathBuf) -> Result<Self> {
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        // Absolute, since the broker may run elsewhere; from here on, drop
        // removes the directory.
        let dir = dir.canonicalize().unwrap_or(dir);
        let certs = Certificates {
            ca: dir.join("ca.pem"),
            keystore: dir.join("server.pem"),
            dir,
        };
        let (ca_pem, issuer) = certificate_authority()?;
        let (cert_pem, key_pem) = server_certificate(&issuer)?;
        write_private(&certs.ca, &ca_pem)?;
        write_private(&certs.keystore, &format!("{key_pem}{cert_pem}{ca_pem}"))?;
        Ok(certs)
    }
}

impl Drop for Certificates {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(())
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

/// A self-signed CA: its certificate's PEM text and the issuer that signs
/// with its key.
fn certificate_authority() -> Result<(String, Issuer<'static, KeyPair>)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::new())?;
    params.distinguished_name = common_name("bench-ca");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let pem = params.self_signed(&key)?.pem();
    Ok((pem, Issuer::new(params, key)))
}

/// A server certificate (`CN=localhost`; names `localhost` and `127.0.0.1`)
/// signed by `issuer`: the certificate and private key as PEM text.
fn server_certificate(issuer: &Issuer<'_, KeyPair>) -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?;
    params.distinguished_name = common_name("localhost");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok((params.signed_by(&key, issuer)?.pem(), key.serialize_pem()))
}

/// `cmd` with overrides that add an SSL listener on `ssl_addr` to the
/// PLAINTEXT one on `plaintext_addr`, keyed by `keystore`; `None` unless
/// `cmd` already sets `listeners` with `--override` (the later override
/// wins).
pub fn with_ssl_listener(
    cmd: &str,
    plaintext_addr: &str,
    ssl_addr: &str,
    keystore: &Path,
) -> Option<String> {
    if !cmd.contains("--override listeners=") {
        return None;
    }
    let keystore = keystore.to_str()?;
    if keystore.contains('\'') {
        return None;
    }
    Some(format!(
        "{cmd} --override listeners=PLAINTEXT://{plaintext_addr},SSL://{ssl_addr} \
         --override ssl.keystore.location='{keystore}'"
    ))
}

/// Where the SSL rows connect.
pub struct Target<'a> {
    pub bootstrap: &'a str,
    pub ca: &'a Path,
}

pub struct Plan {
    pub records_1k: u64,
}

/// Produce rows (1 KiB, acks=1 and all, 1 partition) and the consume row
/// (1 partition, from the page cache), each over PLAINTEXT then over SSL;
/// every SSL row says how it compares. With no `ssl`, the SSL rows are
/// "n/a" (given `why`) and nothing is measured.
pub fn run(
    bootstrap: &str,
    ssl: Result<Target<'_>, &str>,
    topic: impl Fn(&str) -> String,
    plan: &Plan,
    rows: &mut Vec<Row>,
) {
    let produce_name = |acks: &str, listener: &str| {
        format!(
            "produce 1 KiB × {} records, acks={acks}, 1 partition, over {listener}",
            fmt_count(plan.records_1k as f64)
        )
    };
    let consume_name = |listener: &str| {
        format!("consume 1 KiB records, 1 partition, from the page cache, over {listener}")
    };
    let ssl = match ssl {
        Ok(ssl) => ssl,
        Err(why) => {
            progress(&format!("tls: skipped, {why}"));
            for acks in ["1", "all"] {
                rows.push(Row::ok(produce_name(acks, "SSL"), format!("n/a ({why})")));
            }
            rows.push(Row::ok(consume_name("SSL"), format!("n/a ({why})")));
            return;
        }
    };
    crate::kafka::use_tls(ssl.bootstrap, ssl.ca);
    if let Err(err) = crate::kafka::check_metadata(ssl.bootstrap) {
        let err = format!("{err:#}");
        for acks in ["1", "all"] {
            rows.push(Row::err(produce_name(acks, "SSL"), anyhow!("{err}")));
        }
        rows.push(Row::err(consume_name("SSL"), anyhow!("{err}")));
        return;
    }
    let listeners = [("PLAINTEXT", bootstrap), ("SSL", ssl.bootstrap)];
    for acks in ["1", "all"] {
        let mut produced = Vec::new();
        let mut plaintext_mb = None;
        for (listener, bootstrap) in listeners {
            let name = produce_name(acks, listener);
            progress(&name);
            let t = topic(&format!("tls-{}-acks{acks}", listener.to_lowercase()));
            let result = crate::produce_stats(bootstrap, &t, 1, 1024, plan.records_1k, acks)
                .map(|stats| compared(&stats.summary(), stats.mb_per_s(), &mut plaintext_mb));
            produced.push((listener, bootstrap, t, result.is_ok()));
            rows.push(Row::new(name, result));
        }
        if acks == "1" {
            let mut plaintext_mb = None;
            for (listener, bootstrap, t, ok) in &produced {
                let name = consume_name(listener);
                progress(&name);
                let result = if *ok {
                    crate::consume::run(bootstrap, t).map(|stats| {
                        compared(&stats.summary(), stats.mb_per_s(), &mut plaintext_mb)
                    })
                } else {
                    Err(anyhow!("skipped: producing its topic failed"))
                };
                rows.push(Row::new(name, result));
            }
        }
        for (_, bootstrap, t, _) in &produced {
            crate::settle(bootstrap, t);
        }
    }
}

/// `summary`, then (for the second of a pair) its throughput as a share of
/// the first's.
fn compared(summary: &str, mb_per_s: f64, first: &mut Option<f64>) -> String {
    match *first {
        None => {
            *first = Some(mb_per_s);
            summary.to_string()
        }
        Some(plaintext) => format!(
            "{summary}; {:.0}% of PLAINTEXT",
            100.0 * mb_per_s / plaintext.max(1e-9)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_written_and_removed() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("bench-tls-test-{}", std::process::id()));
        let certs = Certificates::generate(dir.clone())?;
        let keystore = fs::read_to_string(&certs.keystore)?;
        assert!(keystore.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(keystore.matches("-----BEGIN CERTIFICATE-----").count(), 2);
        assert!(fs::read_to_string(&certs.ca)?.starts_with("-----BEGIN CERTIFICATE-----"));
        drop(certs);
        assert!(!dir.exists());
        Ok(())
    }

    #[test]
    fn the_ssl_listener_is_added_to_listener_overrides_only() {
        let cmd = "exec broker --override listeners=PLAINTEXT://127.0.0.1:1 --override a=b";
        assert_eq!(
            with_ssl_listener(cmd, "127.0.0.1:1", "127.0.0.1:2", Path::new("/t/s.pem")),
            Some(format!(
                "{cmd} --override listeners=PLAINTEXT://127.0.0.1:1,SSL://127.0.0.1:2 \
                 --override ssl.keystore.location='/t/s.pem'"
            ))
        );
        assert_eq!(
            with_ssl_listener("kafka.sh", "a:1", "a:2", Path::new("/t/s.pem")),
            None
        );
    }

    #[test]
    fn the_second_of_a_pair_is_compared() {
        let mut first = None;
        assert_eq!(compared("a", 200.0, &mut first), "a");
        assert_eq!(compared("b", 150.0, &mut first), "b; 75% of PLAINTEXT");
    }
}
