//! SASL on SASL_PLAINTEXT and SASL_SSL listeners: the mechanisms a
//! listener enables (`sasl.enabled.mechanisms`), PLAIN against the users of
//! its JAAS configuration (`listener.name.<listener>.plain.sasl.jaas.config`,
//! Kafka's `user_<name>="<password>"` options), and SCRAM-SHA-256/512
//! against the credentials in the metadata log.

pub mod plain;
pub mod scram;

pub use crate::config::sasl::{Mechanism, SaslSettings};
use scram::{ScramCredential, ScramMechanism, ScramServer, ScramStep};

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
