//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), server side, as
//! Kafka's `ScramSaslServer` runs them: client-first (`n,,n=user,r=nonce`),
//! server-first (`r=nonce+ours,s=salt,i=iterations`), client-final
//! (`c=...,r=...,p=proof`), server-final (`v=signature`). Credentials are
//! Kafka's: salt, iterations, stored key and server key, derived from the
//! salted password a client sends in AlterUserScramCredentials.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

pub use crate::config::sasl::ScramMechanism;

/// The fewest iterations Kafka accepts for a credential.
pub const MIN_ITERATIONS: i32 = 4096;
/// The most.
pub const MAX_ITERATIONS: i32 = 16384;

impl ScramMechanism {
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramMechanism::Sha512 => {
                let mut mac =
                    Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes keys of any size");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
            ScramMechanism::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// `Hi(password, salt, iterations)`: PBKDF2 with the mechanism's HMAC.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out.to_vec()
            }
            ScramMechanism::Sha512 => {
                let mut out = [0u8; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }

    /// The credential a salted password gives (Kafka's
    /// `ScramFormatter.generateCredential`).
    pub fn credential(
        self,
        salt: &[u8],
        salted_password: &[u8],
        iterations: i32,
    ) -> ScramCredential {
        let client_key = self.hmac(salted_password, b"Client Key");
        ScramCredential {
            salt: salt.to_vec(),
            stored_key: self.hash(&client_key),
            server_key: self.hmac(salted_password, b"Server Key"),
            iterations,
        }
    }
}

/// What the broker keeps of a user's SCRAM password (never the password).
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: i32,
}

impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredential")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// Why an exchange failed; the message is for the client (nothing secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramError(pub String);

enum State {
    ReceiveClientFirst,
    ReceiveClientFinal {
        username: String,
        credential: ScramCredential,
        client_first_bare: String,
        server_first: String,
        nonce: String,
        gs2_header: String,
    },
    Done,
}

/// One SCRAM exchange.
pub struct ScramServer {
    mechanism: ScramMechanism,
    state: State,
}

/// What a step produced.
pub enum ScramStep {
    /// Send this challenge and wait for the next message.
    Challenge(Vec<u8>),
    /// Authenticated as `username`; send the server-final message.
    Done { username: String, message: Vec<u8> },
}

fn invalid() -> ScramError {
    ScramError("Authentication failed: Invalid user credentials".into())
}

/// RFC 5802's `saslname`: `=2C` is `,` and `=3D` is `=`; any other `=`
/// is invalid.
fn decode_saslname(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// The attributes `k=v` of a message, in order.
fn attributes(message: &str) -> Vec<(&str, &str)> {
    message
        .split(',')
        .filter_map(|part| part.split_once('='))
        .collect()
}

impl ScramServer {
    pub fn new(mechanism: ScramMechanism) -> Self {
        ScramServer {
            mechanism,
            state: State::ReceiveClientFirst,
        }
    }

    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    /// Takes the client's next message. `lookup` finds a user's credential.
    pub fn step(
        &mut self,
        message: &[u8],
        lookup: &dyn Fn(&str) -> Option<ScramCredential>,
    ) -> Result<ScramStep, ScramError> {
        let text = std::str::from_utf8(message)
            .map_err(|_| ScramError("Invalid SCRAM message: not UTF-8".into()))?;
        match std::mem::replace(&mut self.state, State::Done) {
            State::ReceiveClientFirst => self.client_first(text, lookup),
            State::ReceiveClientFinal {
                username,
                credential,
                client_first_bare,
                server_first,
                nonce,
                gs2_header,
            } => self.client_final(
                text,
                username,
                &credential,
                &client_first_bare,
                &server_first,
                &nonce,
                &gs2_header,
            ),
            State::Done => Err(ScramError(
                "Unexpected SCRAM message after the exchange".into(),
            )),
        }
    }

    fn client_first(
        &mut self,
        text: &str,
        lookup: &dyn Fn(&str) -> Option<ScramCredential>,
    ) -> Result<ScramStep, ScramError> {
        // gs2-header: "n," or "y," (no channel binding), an optional
        // "a=authzid", then ",".
        let malformed = || ScramError("Invalid SCRAM client first message format".into());
        let (cbind, rest) = text.split_once(',').ok_or_else(malformed)?;
        if cbind != "n" && cbind != "y" {
            return Err(ScramError(
                "Channel binding is not supported by this broker".into(),
            ));
        }
        let (authzid, bare) = rest.split_once(',').ok_or_else(malformed)?;
        if !authzid.is_empty() && !authzid.starts_with("a=") {
            return Err(malformed());
        }
        let gs2_header = format!("{cbind},{authzid},");
        let attrs = attributes(bare);
        let username = match attrs.first() {
            Some(("n", name)) => decode_saslname(name).ok_or_else(malformed)?,
            _ => return Err(malformed()),
        };
        let client_nonce = match attrs.get(1) {
            Some(("r", nonce)) if !nonce.is_empty() => *nonce,
            _ => return Err(malformed()),
        };
        if let Some(authzid) = authzid.strip_prefix("a=")
            && decode_saslname(authzid).as_deref() != Some(username.as_str())
        {
            return Err(ScramError(
                "Authentication failed: Client requested an authorization id that is different from username".into(),
            ));
        }
        let credential = lookup(&username).ok_or_else(invalid)?;
        let mut ours = [0u8; 24];
        getrandom::fill(&mut ours).map_err(|_| ScramError("no randomness for a nonce".into()))?;
        let nonce = format!(
            "{client_nonce}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(ours)
        );
        let server_first = format!(
            "r={nonce},s={},i={}",
            STANDARD.encode(&credential.salt),
            credential.iterations
        );
        self.state = State::ReceiveClientFinal {
            username,
            credential,
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
            nonce,
            gs2_header,
        };
        Ok(ScramStep::Challenge(server_first.into_bytes()))
    }

    #[allow(clippy::too_many_arguments)]
    fn client_final(
        &mut self,
        text: &str,
        username: String,
        credential: &ScramCredential,
        client_first_bare: &str,
        server_first: &str,
        nonce: &str,
        gs2_header: &str,
    ) -> Result<ScramStep, ScramError> {
        let malformed = || ScramError("Invalid SCRAM client final message format".into());
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or_else(malformed)?;
        let attrs = attributes(without_proof);
        let binding = match attrs.first() {
            Some(("c", binding)) => STANDARD.decode(binding).map_err(|_| malformed())?,
            _ => return Err(malformed()),
        };
        if binding != gs2_header.as_bytes() {
            return Err(ScramError(
                "Invalid channel binding in the client final message".into(),
            ));
        }
        // Kafka accepts a final nonce that ends with the server-first one
        // (librdkafka sends its own nonce before it again).
        match attrs.get(1) {
            Some(("r", r)) if r.ends_with(nonce) => {}
            _ => {
                return Err(ScramError(
                    "Invalid client nonce in the final client message.".into(),
                ));
            }
        }
        let proof = STANDARD.decode(proof).map_err(|_| malformed())?;
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let mechanism = self.mechanism;
        let client_signature = mechanism.hmac(&credential.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(invalid());
        }
        let client_key: Vec<u8> = proof
            .iter()
            .zip(&client_signature)
            .map(|(p, s)| p ^ s)
            .collect();
        let computed = mechanism.hash(&client_key);
        if !bool::from(computed.ct_eq(&credential.stored_key)) {
            return Err(invalid());
        }
        let server_signature = mechanism.hmac(&credential.server_key, auth_message.as_bytes());
        self.state = State::Done;
        Ok(ScramStep::Done {
            username,
            message: format!("v={}", STANDARD.encode(server_signature)).into_bytes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client side of the exchange, from RFC 5802's formulas.
    fn client_final(
        mechanism: ScramMechanism,
        password: &str,
        client_first_bare: &str,
        server_first: &str,
    ) -> (String, Vec<u8>) {
        let attrs = attributes(server_first);
        let nonce = attrs[0].1;
        let salt = STANDARD.decode(attrs[1].1).unwrap();
        let iterations: u32 = attrs[2].1.parse().unwrap();
        let salted = mechanism.salted_password(password.as_bytes(), &salt, iterations);
        let client_key = mechanism.hmac(&salted, b"Client Key");
        let stored_key = mechanism.hash(&client_key);
        let without_proof = format!("c={},r={nonce}", STANDARD.encode("n,,"));
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = mechanism.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = mechanism.hmac(&salted, b"Server Key");
        let expected = mechanism.hmac(&server_key, auth_message.as_bytes());
        (
            format!("{without_proof},p={}", STANDARD.encode(proof)),
            format!("v={}", STANDARD.encode(expected)).into_bytes(),
        )
    }

    #[test]
    fn an_exchange_authenticates_with_the_right_password_only() {
        for mechanism in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
            let salt = b"0123456789abcdef";
            let salted = mechanism.salted_password(b"secret", salt, 4096);
            let credential = mechanism.credential(salt, &salted, 4096);
            let lookup = |user: &str| (user == "alice").then(|| credential.clone());
            for (password, ok) in [("secret", true), ("wrong", false)] {
                let mut server = ScramServer::new(mechanism);
                let bare = "n=alice,r=abcdefgh";
                let ScramStep::Challenge(first) = server
                    .step(format!("n,,{bare}").as_bytes(), &lookup)
                    .ok()
                    .unwrap()
                else {
                    panic!("no challenge");
                };
                let first = String::from_utf8(first).unwrap();
                assert!(first.starts_with("r=abcdefgh"));
                let (last, expected) = client_final(mechanism, password, bare, &first);
                match server.step(last.as_bytes(), &lookup) {
                    Ok(ScramStep::Done { username, message }) => {
                        assert!(ok);
                        assert_eq!(username, "alice");
                        assert_eq!(message, expected);
                    }
                    Err(e) => {
                        assert!(!ok);
                        assert_eq!(e, invalid());
                    }
                    Ok(ScramStep::Challenge(_)) => panic!("a third step"),
                }
            }
        }
    }

    #[test]
    fn bad_messages_fail() {
        let lookup = |_: &str| None;
        for bad in [
            &b"garbage"[..],
            b"p=tls,,n=alice,r=x",
            b"n,,n=alice",
            b"n,,r=x,n=alice",
            b"n,,n=al=ice,r=x",
            b"\xff\xfe",
        ] {
            assert!(
                ScramServer::new(ScramMechanism::Sha256)
                    .step(bad, &lookup)
                    .is_err()
            );
        }
        // An unknown user fails at the first message.
        assert_eq!(
            ScramServer::new(ScramMechanism::Sha256)
                .step(b"n,,n=nobody,r=abc", &lookup)
                .err(),
            Some(invalid())
        );
        assert_eq!(decode_saslname("a=2Cb=3Dc").as_deref(), Some("a,b=c"));
    }

    #[test]
    fn a_wrong_nonce_fails() {
        let mechanism = ScramMechanism::Sha256;
        let salted = mechanism.salted_password(b"secret", b"salt", 4096);
        let credential = mechanism.credential(b"salt", &salted, 4096);
        let lookup = |_: &str| Some(credential.clone());
        let mut server = ScramServer::new(mechanism);
        let _ = server.step(b"n,,n=alice,r=abc", &lookup).ok().unwrap();
        let forged = format!("c={},r=abcFORGED,p=AAAA", STANDARD.encode("n,,"));
        assert!(server.step(forged.as_bytes(), &lookup).is_err());
    }
}
