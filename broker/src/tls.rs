//! TLS for SSL listeners (rustls, with the ring provider): the server
//! configuration a listener's `ssl.*` settings describe, and the principal
//! of a client certificate as Kafka names it (`User:` and the subject's
//! distinguished name in RFC 2253 form, `ssl.principal.mapping.rules`
//! DEFAULT).

use crate::config::listeners::{ClientAuth, ListenerConfig, TlsSettings};
use arc_swap::ArcSwap;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// Kafka's principal of a connection without an authenticated identity.
pub const ANONYMOUS: &str = "User:ANONYMOUS";

/// The acceptor for a TLS listener; an error names what is wrong with the
/// key, certificates or trusted CAs.
pub fn acceptor(listener: &str, settings: &TlsSettings) -> anyhow::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if settings.tls13 {
        versions.push(&rustls::version::TLS13);
    }
    if settings.tls12 {
        versions.push(&rustls::version::TLS12);
    }
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| anyhow::anyhow!("listener {listener}: ssl.enabled.protocols: {e}"))?;
    let builder = if settings.client_auth == ClientAuth::None {
        builder.with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        for der in &settings.trusted {
            roots.add(CertificateDer::from(der.clone())).map_err(|e| {
                anyhow::anyhow!("listener {listener}: a truststore certificate is not usable: {e}")
            })?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        let verifier = if settings.client_auth == ClientAuth::Requested {
            verifier.allow_unauthenticated()
        } else {
            verifier
        };
        let verifier = verifier
            .build()
            .map_err(|e| anyhow::anyhow!("listener {listener}: the truststore: {e}"))?;
        builder.with_client_cert_verifier(verifier)
    };
    let chain: Vec<CertificateDer<'static>> = settings
        .certificate_chain
        .iter()
        .map(|der| CertificateDer::from(der.clone()))
        .collect();
    let key = PrivateKeyDer::try_from(settings.private_key.clone())
        .map_err(|e| anyhow::anyhow!("listener {listener}: the private key: {e}"))?;
    let config = builder.with_single_cert(chain, key).map_err(|e| {
        anyhow::anyhow!(
            "listener {listener}: the keystore's key and certificate do not go together: {e}"
        )
    })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The TLS acceptors of the SSL listeners, each swapped whole when its
/// keystore or truststore changes at runtime (Kafka's dynamic
/// `listener.name.<listener>.ssl.keystore.*` and `ssl.truststore.*`):
/// connections accepted from then on use the new one, those open keep
/// theirs.
pub struct TlsAcceptors {
    by_listener: HashMap<String, ArcSwap<TlsAcceptor>>,
}

impl TlsAcceptors {
    /// The acceptors of `listeners`' TLS listeners.
    pub fn build(listeners: &[ListenerConfig]) -> anyhow::Result<Self> {
        let mut by_listener = HashMap::new();
        for listener in listeners {
            if let Some(settings) = &listener.tls {
                by_listener.insert(
                    listener.name.clone(),
                    ArcSwap::from_pointee(acceptor(&listener.name, settings)?),
                );
            }
        }
        Ok(TlsAcceptors { by_listener })
    }

    /// Whether every TLS listener of `listeners` can be served with its
    /// settings (what a reload would need), without changing anything.
    pub fn check(listeners: &[ListenerConfig]) -> anyhow::Result<()> {
        for listener in listeners {
            if let Some(settings) = &listener.tls {
                acceptor(&listener.name, settings)?;
            }
        }
        Ok(())
    }

    /// The acceptor new connections of `listener` get.
    pub fn current(&self, listener: &str) -> Option<TlsAcceptor> {
        self.by_listener
            .get(listener)
            .map(|acceptor| TlsAcceptor::clone(&acceptor.load()))
    }

    /// Builds the acceptor of each TLS listener anew from `listeners` (its
    /// files read again) and puts it in place; the names of those
    /// reloaded. Nothing changes when one of them cannot be built.
    pub fn reload(&self, listeners: &[ListenerConfig]) -> anyhow::Result<Vec<String>> {
        let mut built = Vec::new();
        for listener in listeners {
            if let (Some(settings), Some(_)) = (&listener.tls, self.by_listener.get(&listener.name))
            {
                built.push((listener.name.clone(), acceptor(&listener.name, settings)?));
            }
        }
        let names = built.iter().map(|(name, _)| name.clone()).collect();
        for (name, acceptor) in built {
            if let Some(slot) = self.by_listener.get(&name) {
                slot.store(Arc::new(acceptor));
            }
        }
        Ok(names)
    }
}

/// The principal of a verified client certificate: `User:` and its
/// subject's distinguished name in RFC 2253 form (most specific part
/// first, `CN=client,OU=eng,O=acme`), as Kafka's default principal builder
/// names it; ANONYMOUS without one.
pub fn principal(peer_certificates: Option<&[CertificateDer<'_>]>) -> String {
    let Some(leaf) = peer_certificates.and_then(|c| c.first()) else {
        return ANONYMOUS.to_string();
    };
    match x509_parser::parse_x509_certificate(leaf.as_ref()) {
        Ok((_, cert)) => format!("User:{}", rfc2253(cert.subject())),
        Err(_) => ANONYMOUS.to_string(),
    }
}

fn rfc2253(name: &x509_parser::x509::X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let oid = attr.attr_type();
                    let key =
                        x509_parser::objects::oid2abbrev(oid, x509_parser::objects::oid_registry())
                            .map(str::to_string)
                            .unwrap_or_else(|_| oid.to_id_string());
                    let value = attr
                        .as_str()
                        .map(escape)
                        .unwrap_or_else(|_| format!("#{}", hex(attr.as_slice())));
                    format!("{key}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// RFC 2253's escaping of an attribute value.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == value.chars().count() - 1 && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_as_rfc_2253_says() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape("#x "), "\\#x\\ ");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn no_certificate_is_anonymous() {
        assert_eq!(principal(None), ANONYMOUS);
        assert_eq!(principal(Some(&[])), ANONYMOUS);
    }
}
