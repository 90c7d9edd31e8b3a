//! Certificates for TLS listeners, made when a test runs (no private key
//! is ever kept in the repository): a CA, a server certificate it signs
//! for `localhost` and `127.0.0.1`, a client certificate it signs
//! (`CN=harness-client`), and a second, unrelated CA with a server and a
//! client certificate of its own, for what must be rejected (and for a
//! listener with a keystore of its own).
//!
//! [`Certificates::write_to`] writes them as PEM files, in the forms
//! Kafka's `ssl.keystore.location` (private key and certificate chain in
//! one file) and `ssl.truststore.location` (CA certificates) take.

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// The subject common name of the client certificate.
pub const CLIENT_CN: &str = "harness-client";
/// The subject common name of the server certificate.
pub const SERVER_CN: &str = "localhost";
/// The subject common name of the CA.
pub const CA_CN: &str = "harness-ca";
/// The subject common name of the unrelated CA.
pub const OTHER_CA_CN: &str = "harness-other-ca";
/// The subject common name of the client certificate the unrelated CA
/// signs.
pub const OTHER_CLIENT_CN: &str = "harness-stranger";

/// The certificates and keys as PEM text.
#[derive(Debug, Clone)]
pub struct Certificates {
    /// The CA's certificate.
    pub ca_pem: String,
    /// The server's certificate, for `localhost` and `127.0.0.1`.
    pub server_cert_pem: String,
    /// The server's certificate chain: its certificate, then the CA's.
    pub server_chain_pem: String,
    /// The server's private key (PKCS#8).
    pub server_key_pem: String,
    /// The client's certificate, subject `CN=harness-client`.
    pub client_cert_pem: String,
    /// The client's private key (PKCS#8).
    pub client_key_pem: String,
    /// An unrelated CA's certificate.
    pub other_ca_pem: String,
    /// A client certificate the unrelated CA signs (`CN=harness-stranger`).
    pub other_client_cert_pem: String,
    /// Its private key.
    pub other_client_key_pem: String,
    /// A server certificate chain (for `localhost` and `127.0.0.1`) of the
    /// unrelated CA.
    pub other_server_chain_pem: String,
    /// Its private key.
    pub other_server_key_pem: String,
}

/// [`Certificates`] written to a directory.
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    /// `ca.pem`: the CA's certificate (a truststore).
    pub ca: PathBuf,
    /// `server.pem`: the server's private key and certificate chain (a
    /// keystore).
    pub server: PathBuf,
    /// `server-cert.pem`: the server's certificate chain alone.
    pub server_cert: PathBuf,
    /// `server-key.pem`: the server's private key alone.
    pub server_key: PathBuf,
    /// `client-cert.pem`.
    pub client_cert: PathBuf,
    /// `client-key.pem`.
    pub client_key: PathBuf,
    /// `other-ca.pem`: the unrelated CA's certificate.
    pub other_ca: PathBuf,
    /// `other-client-cert.pem`: a client certificate of the unrelated CA.
    pub other_client_cert: PathBuf,
    /// `other-client-key.pem`.
    pub other_client_key: PathBuf,
    /// `other-server.pem`: a keystore (private key and certificate chain)
    /// of the unrelated CA.
    pub other_server: PathBuf,
    /// The PEM text of every file.
    pub pem: Certificates,
}

impl Certificates {
    /// Makes new keys and certificates.
    pub fn generate() -> Result<Certificates> {
        let (ca_pem, ca) = certificate_authority(CA_CN)?;
        let (other_ca_pem, other_ca) = certificate_authority(OTHER_CA_CN)?;

        let (server_cert_pem, server_key_pem) = server_certificate(&ca)?;
        let (other_server_cert_pem, other_server_key_pem) = server_certificate(&other_ca)?;

        let (client_cert_pem, client_key_pem) = client_certificate(CLIENT_CN, &ca)?;
        let (other_client_cert_pem, other_client_key_pem) =
            client_certificate(OTHER_CLIENT_CN, &other_ca)?;

        let other_server_chain_pem = format!("{other_server_cert_pem}{other_ca_pem}");
        Ok(Certificates {
            server_chain_pem: format!("{server_cert_pem}{ca_pem}"),
            ca_pem,
            server_cert_pem,
            server_key_pem,
            client_cert_pem,
            client_key_pem,
            other_ca_pem,
            other_client_cert_pem,
            other_client_key_pem,
            other_server_chain_pem,
            other_server_key_pem,
        })
    }

    /// The server's keystore as one PEM text: its private key, then its
    /// certificate chain (as `ssl.keystore.location` takes it).
    pub fn server_keystore_pem(&self) -> String {
        format!("{}{}", self.server_key_pem, self.server_chain_pem)
    }

    /// Writes every file into `dir` (which must exist).
    pub fn write_to(&self, dir: &Path) -> Result<CertificateFiles> {
        let write = |name: &str, text: &str| -> Result<PathBuf> {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            Ok(path)
        };
        Ok(CertificateFiles {
            ca: write("ca.pem", &self.ca_pem)?,
            server: write("server.pem", &self.server_keystore_pem())?,
            server_cert: write("server-cert.pem", &self.server_chain_pem)?,
            server_key: write("server-key.pem", &self.server_key_pem)?,
            client_cert: write("client-cert.pem", &self.client_cert_pem)?,
            client_key: write("client-key.pem", &self.client_key_pem)?,
            other_ca: write("other-ca.pem", &self.other_ca_pem)?,
            other_client_cert: write("other-client-cert.pem", &self.other_client_cert_pem)?,
            other_client_key: write("other-client-key.pem", &self.other_client_key_pem)?,
            other_server: write(
                "other-server.pem",
                &format!(
                    "{}{}",
                    self.other_server_key_pem, self.other_server_chain_pem
                ),
            )?,
            pem: self.clone(),
        })
    }
}

/// Makes new certificates and writes them into `dir` ([`Certificates`]).
pub fn generate_into(dir: &Path) -> Result<CertificateFiles> {
    Certificates::generate()?.write_to(dir)
}

/// A PEM text as one line of a Java properties file: every line break
/// written as the escape `\n` (and every backslash doubled), so that the
/// value read back is the PEM text itself.
pub fn properties_value(pem: &str) -> String {
    pem.replace('\\', "\\\\")
        .replace("\r\n", "\n")
        .replace('\n', "\\n")
}

/// A PEM text as Kafka's documentation writes it in `server.properties`:
/// one PEM line a properties line, each ended by ` \` (a continuation),
/// so the value read back has the PEM lines joined by single spaces.
pub fn properties_value_continued(pem: &str) -> String {
    pem.trim_end().lines().collect::<Vec<_>>().join(" \\\n    ")
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

/// A self-signed CA: its certificate's PEM text, and the issuer that signs
/// with its key.
fn certificate_authority(name: &str) -> Result<(String, Issuer<'static, KeyPair>)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::new())?;
    params.distinguished_name = common_name(name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let pem = params.self_signed(&key)?.pem();
    Ok((pem, Issuer::new(params, key)))
}

/// A server certificate (`CN=localhost`, for `localhost` and `127.0.0.1`)
/// signed by `issuer`: certificate and private key as PEM text.
fn server_certificate(issuer: &Issuer<'_, KeyPair>) -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .context("server certificate names")?;
    params.distinguished_name = common_name(SERVER_CN);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok((params.signed_by(&key, issuer)?.pem(), key.serialize_pem()))
}

/// A client certificate `CN=<name>` signed by `issuer`: certificate and
/// private key as PEM text.
fn client_certificate(name: &str, issuer: &Issuer<'_, KeyPair>) -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::new())?;
    params.distinguished_name = common_name(name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    Ok((params.signed_by(&key, issuer)?.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_file() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let files = generate_into(dir.path())?;
        for (path, name, begins) in [
            (&files.ca, "ca.pem", "-----BEGIN CERTIFICATE-----"),
            (&files.server, "server.pem", "-----BEGIN PRIVATE KEY-----"),
            (
                &files.server_cert,
                "server-cert.pem",
                "-----BEGIN CERTIFICATE-----",
            ),
            (
                &files.server_key,
                "server-key.pem",
                "-----BEGIN PRIVATE KEY-----",
            ),
            (
                &files.client_cert,
                "client-cert.pem",
                "-----BEGIN CERTIFICATE-----",
            ),
            (
                &files.client_key,
                "client-key.pem",
                "-----BEGIN PRIVATE KEY-----",
            ),
            (
                &files.other_ca,
                "other-ca.pem",
                "-----BEGIN CERTIFICATE-----",
            ),
        ] {
            assert_eq!(path, &dir.path().join(name));
            let text = std::fs::read_to_string(path)?;
            assert!(text.starts_with(begins), "{name}: {text}");
        }
        let server = std::fs::read_to_string(&files.server)?;
        assert_eq!(server.matches("BEGIN CERTIFICATE").count(), 2);
        assert_eq!(server.matches("BEGIN PRIVATE KEY").count(), 1);
        assert_ne!(files.pem.ca_pem, files.pem.other_ca_pem);
        Ok(())
    }

    #[test]
    fn properties_values_keep_the_pem_lines() {
        let pem = "-----BEGIN X-----\nAAAA\n-----END X-----\n";
        assert_eq!(
            properties_value(pem),
            "-----BEGIN X-----\\nAAAA\\n-----END X-----\\n"
        );
        assert_eq!(
            properties_value_continued(pem),
            "-----BEGIN X----- \\\n    AAAA \\\n    -----END X-----"
        );
    }
}
