//! The listeners clients connect to, as Kafka configures them: `listeners`
//! and `advertised.listeners` name each one, `listener.security.protocol.map`
//! gives its security protocol, and a TLS listener's `ssl.*` settings may be
//! overridden for it alone as `listener.name.<listener>.ssl.*`.

use super::Endpoint;
use super::sasl::{Mechanism, SaslSettings, jaas_users};
use anyhow::{Context, bail};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::sync::Arc;

/// Kafka's `SecurityProtocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "PLAINTEXT" => Some(SecurityProtocol::Plaintext),
            "SSL" => Some(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Some(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Some(SecurityProtocol::SaslSsl),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Requested,
    Required,
}

/// A TLS listener's settings, with the PEM text of its key, certificates
/// and trusted CAs read (from files or inline) and checked.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub certificate_chain: Vec<Vec<u8>>,
    /// DER of the private key (never logged: see the Debug impl).
    pub private_key: Vec<u8>,
    pub trusted: Vec<Vec<u8>>,
    pub client_auth: ClientAuth,
    /// `ssl.enabled.protocols`: TLSv1.2 and/or TLSv1.3.
    pub tls12: bool,
    pub tls13: bool,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("certificates", &self.certificate_chain.len())
            .field("private_key", &"[hidden]")
            .field("trusted", &self.trusted.len())
            .field("client_auth", &self.client_auth)
            .field("tls12", &self.tls12)
            .field("tls13", &self.tls13)
            .finish()
    }
}

/// A listener for clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Its name, upper case (`PLAINTEXT`, `SSL`, `EXTERNAL`, ...).
    pub name: String,
    pub protocol: SecurityProtocol,
    pub endpoint: Endpoint,
    /// What Metadata and FindCoordinator answer to clients of it.
    pub advertised: Endpoint,
    pub tls: Option<TlsSettings>,
    /// SASL_PLAINTEXT and SASL_SSL listeners' mechanisms and PLAIN users.
    pub sasl: Option<SaslSettings>,
}

/// The `ssl.*` keys a TLS listener reads, each overridable per listener.
pub const SSL_KEYS: &[&str] = &[
    "ssl.client.auth",
    "ssl.enabled.protocols",
    "ssl.key.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.type",
    "ssl.truststore.certificates",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.type",
];

/// The `ssl.*` keys Kafka lets change at runtime for a listener, as
/// `listener.name.<listener>.<key>` on a broker's own config only
/// (`SslConfigs.RECONFIGURABLE_CONFIGS`): its keystore and truststore.
pub const RECONFIGURABLE_SSL_KEYS: &[&str] = &[
    "ssl.key.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.type",
    "ssl.truststore.certificates",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.type",
];

/// Whether `key` is a listener's keystore or truststore key that can
/// change at runtime (`listener.name.<listener>.ssl.keystore.location`).
pub fn is_reconfigurable_listener_key(key: &str) -> bool {
    key.strip_prefix("listener.name.")
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(name, key)| !name.is_empty() && RECONFIGURABLE_SSL_KEYS.contains(&key))
}

/// Whether the value of a keystore or truststore key is secret (Kafka's
/// PASSWORD type: passwords, inline keys and certificates).
pub fn is_secret_ssl_key(key: &str) -> bool {
    let base = key.rsplit_once(".ssl.").map_or(key, |(_, k)| k);
    matches!(
        base,
        "key.password"
            | "keystore.password"
            | "truststore.password"
            | "keystore.key"
            | "keystore.certificate.chain"
            | "truststore.certificates"
    )
}

/// Whether `key` is a per-listener override of a known listener key
/// (`listener.name.<listener>.<key>`).
pub fn is_listener_override(key: &str) -> bool {
    key.strip_prefix("listener.name.")
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(name, key)| {
            !name.is_empty()
                && (SSL_KEYS.contains(&key)
                    || key == "sasl.enabled.mechanisms"
                    || key
                        .strip_suffix(".sasl.jaas.config")
                        .is_some_and(|m| !m.is_empty() && !m.contains('.')))
        })
}

/// Reads the client listeners from `listeners`, `advertised.listeners`,
/// `listener.security.protocol.map` and the `ssl.*` settings.
pub fn parse(
    get: &dyn Fn(&str) -> Option<String>,
    default: &Endpoint,
) -> anyhow::Result<Vec<ListenerConfig>> {
    let controller_names: Vec<String> = get("controller.listener.names")
        .map(|v| {
            v.split(',')
                .map(|n| n.trim().to_ascii_uppercase())
                .collect()
        })
        .unwrap_or_default();
    let protocol_map = parse_protocol_map(get("listener.security.protocol.map").as_deref())?;
    let bound = match get("listeners") {
        Some(v) => parse_listeners(&v, "listeners")?,
        None => vec![("PLAINTEXT".to_string(), default.clone())],
    };
    let advertised = match get("advertised.listeners") {
        Some(v) => parse_listeners(&v, "advertised.listeners")?,
        None => Vec::new(),
    };
    let mut listeners = Vec::new();
    for (name, endpoint) in bound {
        if controller_names.contains(&name) {
            continue;
        }
        let protocol = match protocol_map.get(&name) {
            Some(protocol) => SecurityProtocol::parse(protocol).with_context(|| {
                format!("listener.security.protocol.map: unknown security protocol {protocol} for listener {name}")
            })?,
            None => SecurityProtocol::parse(&name).with_context(|| {
                format!("listener.security.protocol.map has no security protocol for listener {name}")
            })?,
        };
        if listeners
            .iter()
            .any(|l: &ListenerConfig| l.endpoint.port == endpoint.port && endpoint.port != 0)
        {
            bail!(
                "listeners: listener {name} uses port {}, which another listener uses",
                endpoint.port
            );
        }
        let advertised = advertised
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(|| endpoint.clone(), |(_, e)| e.clone());
        let tls = if protocol.uses_tls() {
            Some(tls_settings(get, &name)?)
        } else {
            None
        };
        let sasl = if protocol.uses_sasl() {
            Some(sasl_settings(get, &name)?)
        } else {
            None
        };
        listeners.push(ListenerConfig {
            name,
            protocol,
            endpoint,
            advertised,
            tls,
            sasl,
        });
    }
    if listeners.is_empty() {
        bail!("listeners: no listener for clients (all are controller listeners)");
    }
    Ok(listeners)
}

/// The listener's value of `key`: its own override, else the broker's.
fn setting(
    get: &dyn Fn(&str) -> Option<String>,
    listener: &str,
    key: &str,
) -> Option<(String, String)> {
    let own = format!("listener.name.{}.{key}", listener.to_ascii_lowercase());
    match get(&own) {
        Some(v) => Some((own, v)),
        None => get(key).map(|v| (key.to_string(), v)),
    }
}

fn tls_settings(
    get: &dyn Fn(&str) -> Option<String>,
    listener: &str,
) -> anyhow::Result<TlsSettings> {
    let read = |key: &str| setting(get, listener, key);
    for store in ["ssl.keystore.type", "ssl.truststore.type"] {
        if let Some((key, kind)) = read(store)
            && !kind.trim().eq_ignore_ascii_case("PEM")
        {
            bail!("{key}={kind} is not supported: keystores and truststores must be PEM");
        }
    }
    if let Some((key, _)) = read("ssl.key.password") {
        bail!("{key}: encrypted private keys are not supported; give ssl.keystore.key unencrypted");
    }
    // The PEM text of the key and certificates: a file, or inline.
    let (chain_key, chain_pem, key_key, key_pem) = match (
        read("ssl.keystore.location"),
        read("ssl.keystore.certificate.chain"),
        read("ssl.keystore.key"),
    ) {
        (Some((key, path)), None, None) => {
            let pem = std::fs::read(path.trim())
                .with_context(|| format!("{key}={path}: cannot read the keystore"))?;
            (key.clone(), pem.clone(), key, pem)
        }
        (None, Some((chain_key, chain)), Some((key_key, key))) => (
            chain_key,
            normalize_pem(&chain).into_bytes(),
            key_key,
            normalize_pem(&key).into_bytes(),
        ),
        (None, None, None) => bail!(
            "listener {listener}: an SSL listener needs ssl.keystore.location, or ssl.keystore.certificate.chain and ssl.keystore.key"
        ),
        _ => bail!(
            "listener {listener}: give either ssl.keystore.location or both ssl.keystore.certificate.chain and ssl.keystore.key"
        ),
    };
    let certificate_chain = certificates(&chain_key, &chain_pem)?;
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|_| anyhow::anyhow!("{key_key}: no unencrypted private key in it"))?
        .secret_der()
        .to_vec();
    let trusted: Vec<Vec<u8>> = match (
        read("ssl.truststore.location"),
        read("ssl.truststore.certificates"),
    ) {
        (Some((key, path)), None) => {
            let pem = std::fs::read(path.trim())
                .with_context(|| format!("{key}={path}: cannot read the truststore"))?;
            certificates(&key, &pem)?
        }
        (None, Some((key, pem))) => certificates(&key, normalize_pem(&pem).as_bytes())?,
        (None, None) => Vec::new(),
        (Some(_), Some(_)) => bail!(
            "listener {listener}: give either ssl.truststore.location or ssl.truststore.certificates"
        ),
    };
    let client_auth = match read("ssl.client.auth") {
        None => ClientAuth::None,
        Some((key, v)) => match v.trim().to_ascii_lowercase().as_str() {
            "none" => ClientAuth::None,
            "requested" => ClientAuth::Requested,
            "required" => ClientAuth::Required,
            _ => bail!("{key}={v} must be none, requested or required"),
        },
    };
    if client_auth != ClientAuth::None && trusted.is_empty() {
        bail!(
            "listener {listener}: ssl.client.auth asks for client certificates, but no ssl.truststore.location or ssl.truststore.certificates says whom to trust"
        );
    }
    let (mut tls12, mut tls13) = (true, true);
    if let Some((key, v)) = read("ssl.enabled.protocols") {
        (tls12, tls13) = (false, false);
        for protocol in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match protocol {
                "TLSv1.2" => tls12 = true,
                "TLSv1.3" => tls13 = true,
                other => bail!("{key}: {other} is not supported (TLSv1.2 and TLSv1.3 are)"),
            }
        }
        if !tls12 && !tls13 {
            bail!("{key}={v} enables no protocol");
        }
    }
    Ok(TlsSettings {
        certificate_chain,
        private_key,
        trusted,
        client_auth,
        tls12,
        tls13,
    })
}

/// A SASL listener's `sasl.enabled.mechanisms` (Kafka's default, GSSAPI,
/// is not served here) and, for PLAIN, the users of its JAAS
/// configuration (`listener.name.<listener>.plain.sasl.jaas.config`).
fn sasl_settings(
    get: &dyn Fn(&str) -> Option<String>,
    listener: &str,
) -> anyhow::Result<SaslSettings> {
    let (key, value) = setting(get, listener, "sasl.enabled.mechanisms")
        .unwrap_or(("sasl.enabled.mechanisms".into(), "GSSAPI".into()));
    let mut mechanisms = Vec::new();
    for name in value.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let mechanism = Mechanism::from_name(name).with_context(|| {
            format!("{key}={value}: {name} is not supported (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are)")
        })?;
        if !mechanisms.contains(&mechanism) {
            mechanisms.push(mechanism);
        }
    }
    if mechanisms.is_empty() {
        bail!("{key} is empty: a SASL listener needs a mechanism");
    }
    let mut plain_users = HashMap::new();
    if mechanisms.contains(&Mechanism::Plain) {
        let jaas_key = format!(
            "listener.name.{}.plain.sasl.jaas.config",
            listener.to_ascii_lowercase()
        );
        let jaas = get(&jaas_key).with_context(|| {
            format!("listener {listener} enables PLAIN, but {jaas_key} (its users) is not set")
        })?;
        plain_users = jaas_users(&jaas).map_err(|e| anyhow::anyhow!("{jaas_key}: {e}"))?;
    }
    Ok(SaslSettings {
        mechanisms,
        plain_users: Arc::new(plain_users),
    })
}

/// PEM text as an inline property may hold it: Kafka's documented form
/// continues each line with ` \`, so the lines come back joined by
/// spaces. Kafka's parser ignores whitespace in the base64; so does this,
/// by writing each block again with its base64 on lines of 64.
pub fn normalize_pem(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 64);
    let mut rest = text;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let after_begin = &rest[begin + 11..];
        let Some(label_end) = after_begin.find("-----") else {
            break;
        };
        let label = &after_begin[..label_end];
        let body_start = &after_begin[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = body_start.find(&end_marker) else {
            break;
        };
        let body: String = body_start[..body_end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push_str(&format!("-----BEGIN {label}-----\n"));
        for line in body.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str(&end_marker);
        out.push('\n');
        rest = &body_start[body_end + end_marker.len()..];
    }
    out
}

fn certificates(key: &str, pem: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.as_ref().to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("{key}: cannot read the certificates (not PEM)"))?;
    if certs.is_empty() {
        bail!("{key}: no certificate in it");
    }
    Ok(certs)
}

/// Parses `NAME://host:port,...`.
pub fn parse_listeners(value: &str, key: &str) -> anyhow::Result<Vec<(String, Endpoint)>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (name, address) = entry
                .split_once("://")
                .with_context(|| format!("{key}: {entry:?} is not of the form NAME://host:port"))?;
            let (host, port) = address
                .rsplit_once(':')
                .with_context(|| format!("{key}: {entry:?} has no port"))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port: u16 = port
                .parse()
                .with_context(|| format!("{key}: {entry:?} has an invalid port"))?;
            if name.is_empty() {
                bail!("{key}: {entry:?} has no listener name");
            }
            Ok((
                name.to_ascii_uppercase(),
                Endpoint {
                    host: host.to_string(),
                    port,
                },
            ))
        })
        .collect()
}

fn parse_protocol_map(value: Option<&str>) -> anyhow::Result<HashMap<String, String>> {
    let mut map = HashMap::new();
    for entry in value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let (name, protocol) = entry.split_once(':').with_context(|| {
            format!("listener.security.protocol.map: {entry:?} is not NAME:PROTOCOL")
        })?;
        map.insert(
            name.trim().to_ascii_uppercase(),
            protocol.trim().to_ascii_uppercase(),
        );
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(pairs: &[(&str, &str)]) -> anyhow::Result<Vec<ListenerConfig>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let default = Endpoint {
            host: String::new(),
            port: 9092,
        };
        parse(&|key| map.get(key).cloned(), &default)
    }

    /// A throwaway self-signed key and certificate (no key is committed):
    /// the key and certificate in one PEM file, as `ssl.keystore.location`
    /// takes them, and each alone.
    fn keystore(dir: &std::path::Path) -> std::path::PathBuf {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert = certified.cert.pem();
        let key = certified.signing_key.serialize_pem();
        std::fs::write(dir.join("cert.pem"), &cert).unwrap();
        std::fs::write(dir.join("key.pem"), &key).unwrap();
        let both = dir.join("server.pem");
        std::fs::write(&both, format!("{key}{cert}")).unwrap();
        both
    }

    #[test]
    fn names_protocols_ports_and_advertised_endpoints() {
        let listeners = parse_with(&[
            (
                "listeners",
                "PLAINTEXT://:9092,CONTROLLER://:9093,internal://h:9094",
            ),
            ("controller.listener.names", "CONTROLLER"),
            (
                "listener.security.protocol.map",
                "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
            ),
            ("advertised.listeners", "INTERNAL://broker.example:19094"),
        ])
        .unwrap();
        assert_eq!(listeners.len(), 2);
        assert_eq!(listeners[0].name, "PLAINTEXT");
        assert_eq!(listeners[0].advertised.port, 9092);
        assert_eq!(listeners[1].name, "INTERNAL");
        assert_eq!(listeners[1].protocol, SecurityProtocol::Plaintext);
        assert_eq!(listeners[1].advertised.host, "broker.example");

        let err = |pairs: &[(&str, &str)]| format!("{:#}", parse_with(pairs).unwrap_err());
        assert!(
            err(&[("listeners", "EXTERNAL://:9092")])
                .contains("no security protocol for listener EXTERNAL")
        );
        assert!(
            err(&[("listeners", "SASL_PLAINTEXT://:9092")]).contains("GSSAPI is not supported")
        );
        assert!(
            err(&[
                ("listeners", "SASL_PLAINTEXT://:9092"),
                ("sasl.enabled.mechanisms", "PLAIN")
            ])
            .contains("listener.name.sasl_plaintext.plain.sasl.jaas.config")
        );
        let sasl = parse_with(&[
            ("listeners", "SASL_PLAINTEXT://:9092"),
            ("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "SCRAM-SHA-512,PLAIN"),
            (
                "listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"pw\";",
            ),
        ])
        .unwrap();
        let settings = sasl[0].sasl.clone().unwrap();
        assert_eq!(settings.mechanisms.len(), 2);
        assert_eq!(
            settings.plain_users.get("alice").map(String::as_str),
            Some("pw")
        );
        assert!(is_listener_override(
            "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config"
        ));
        assert!(err(&[("listeners", "PLAINTEXT://:9092,SSL://:9092")]).contains("port 9092"));
        assert!(err(&[("listeners", "SSL://:9093")]).contains("ssl.keystore.location"));
        assert!(
            err(&[("listeners", "SSL://:9093"), ("ssl.keystore.type", "JKS")])
                .contains("ssl.keystore.type=JKS")
        );
        assert!(
            err(&[
                ("listeners", "SSL://:9093"),
                ("ssl.keystore.location", "/nonexistent/ks.pem")
            ])
            .contains("ssl.keystore.location=/nonexistent/ks.pem")
        );
        assert!(is_listener_override("listener.name.ssl.ssl.client.auth"));
        assert!(!is_listener_override("listener.name.ssl.no.such.key"));
    }

    #[test]
    fn tls_settings_come_from_files_or_inline_with_per_listener_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let keystore = keystore(dir.path());
        let path = keystore.to_str().unwrap();
        let cert = std::fs::read_to_string(dir.path().join("cert.pem")).unwrap();
        let key = std::fs::read_to_string(dir.path().join("key.pem")).unwrap();
        let listeners = parse_with(&[
            ("listeners", "SSL://:9093,EXTERNAL://:9094"),
            ("listener.security.protocol.map", "SSL:SSL,EXTERNAL:SSL"),
            ("ssl.keystore.location", path),
            ("ssl.truststore.certificates", &cert),
            ("listener.name.ssl.ssl.client.auth", "required"),
            ("listener.name.external.ssl.keystore.location", ""),
        ]);
        // An override of the location with nothing is not the broker's file.
        assert!(listeners.is_err());
        let listeners = parse_with(&[
            ("listeners", "SSL://:9093,EXTERNAL://:9094"),
            ("listener.security.protocol.map", "SSL:SSL,EXTERNAL:SSL"),
            ("ssl.keystore.location", path),
            ("ssl.truststore.certificates", &cert),
            ("listener.name.ssl.ssl.client.auth", "required"),
        ])
        .unwrap();
        let tls = |i: usize| listeners[i].tls.clone().unwrap();
        assert_eq!(tls(0).client_auth, ClientAuth::Required);
        assert_eq!(tls(1).client_auth, ClientAuth::None);
        assert_eq!(tls(0).certificate_chain.len(), 1);
        assert!(!format!("{:?}", tls(0)).contains(&format!("{:?}", tls(0).private_key)));

        let inline = parse_with(&[
            ("listeners", "SSL://:9093"),
            ("ssl.keystore.certificate.chain", &cert),
            ("ssl.keystore.key", &key),
            ("ssl.enabled.protocols", "TLSv1.3"),
        ])
        .unwrap();
        let settings = inline[0].tls.clone().unwrap();
        let joined = cert.lines().collect::<Vec<_>>().join(" ");
        assert_eq!(normalize_pem(&joined).trim(), cert.trim());
        assert_eq!(settings.certificate_chain, tls(0).certificate_chain);
        assert!(settings.tls13 && !settings.tls12);
        assert!(crate::tls::acceptor("SSL", &settings).is_ok());
        let err = format!(
            "{:#}",
            parse_with(&[
                ("listeners", "SSL://:9093"),
                ("ssl.keystore.location", path),
                ("ssl.client.auth", "maybe")
            ])
            .unwrap_err()
        );
        assert!(err.contains("ssl.client.auth=maybe"), "{err}");
    }
}
