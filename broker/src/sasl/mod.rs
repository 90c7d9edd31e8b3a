//! SASL on SASL_PLAINTEXT and SASL_SSL listeners: the mechanisms a
//! listener enables (`sasl.enabled.mechanisms`), PLAIN against the users of
//! its JAAS configuration (`listener.name.<listener>.plain.sasl.jaas.config`,
//! Kafka's `user_<name>="<password>"` options), and SCRAM-SHA-256/512
//! against the credentials in the metadata log.

pub mod authenticator;
pub mod plain;
pub mod scram;

use scram::{ScramCredential, ScramMechanism, ScramServer, ScramStep};
use std::collections::HashMap;
use std::sync::Arc;

/// A mechanism this broker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Scram(ScramMechanism),
}

impl Mechanism {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "PLAIN" => Some(Mechanism::Plain),
            other => ScramMechanism::from_name(other).map(Mechanism::Scram),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(m) => m.name(),
        }
    }
}

/// A SASL listener's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct SaslSettings {
    /// `sasl.enabled.mechanisms`, in order.
    pub mechanisms: Vec<Mechanism>,
    /// PLAIN's users and passwords, from the JAAS configuration.
    pub plain_users: Arc<HashMap<String, String>>,
}

impl std::fmt::Debug for SaslSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslSettings")
            .field("mechanisms", &self.mechanisms)
            .field("plain_users", &self.plain_users.len())
            .finish()
    }
}

/// Where a SCRAM exchange finds credentials.
pub trait CredentialStore: Sync {
    fn scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential>;
}

/// One authentication exchange on a connection.
pub enum Authenticator {
    Plain,
    Scram(Box<ScramServer>),
}

/// A step of the exchange.
pub enum Step {
    Challenge(Vec<u8>),
    /// Authenticated: the principal, and the last message to send.
    Done {
        principal: String,
        message: Vec<u8>,
    },
}

impl Authenticator {
    pub fn new(mechanism: Mechanism) -> Self {
        match mechanism {
            Mechanism::Plain => Authenticator::Plain,
            Mechanism::Scram(m) => Authenticator::Scram(Box::new(ScramServer::new(m))),
        }
    }

    /// Takes the client's token; an error is the message for the client
    /// (SASL_AUTHENTICATION_FAILED), never a secret.
    pub fn step(
        &mut self,
        token: &[u8],
        settings: &SaslSettings,
        credentials: &dyn CredentialStore,
    ) -> Result<Step, String> {
        match self {
            Authenticator::Plain => {
                plain::authenticate(token, &settings.plain_users).map(|user| Step::Done {
                    principal: format!("User:{user}"),
                    message: Vec::new(),
                })
            }
            Authenticator::Scram(server) => {
                let mechanism = server.mechanism();
                match server
                    .step(token, &|user| credentials.scram_credential(user, mechanism))
                    .map_err(|e| e.0)?
                {
                    ScramStep::Challenge(c) => Ok(Step::Challenge(c)),
                    ScramStep::Done { username, message } => Ok(Step::Done {
                        principal: format!("User:{username}"),
                        message,
                    }),
                }
            }
        }
    }
}
