//! A SASL listener's connection before it is authenticated (Kafka's
//! `SaslServerAuthenticator`): ApiVersions, then SaslHandshake naming an
//! enabled mechanism, then the mechanism's exchange — in SaslAuthenticate
//! requests after a v1 handshake, or as bare size-prefixed tokens after a
//! v0 one. Any other request closes the connection. A failed exchange
//! answers SASL_AUTHENTICATION_FAILED and closes it
//! `connection.failed.authentication.delay.ms` later.

use crate::apis::{self, CloseConnection, Session};
use crate::broker::Broker;
use crate::response_buffer::ResponseBuffer;
use crate::sasl::scram::{ScramCredential, ScramMechanism};
use crate::sasl::{Authenticator, CredentialStore, Mechanism, SaslSettings, Step};
use bytes::{BufMut, Bytes};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ApiKey, RequestHeader, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use std::sync::Arc;
use std::time::Duration;

enum State {
    /// Waiting for ApiVersions or SaslHandshake.
    VersionsOrHandshake,
    /// ApiVersions was answered: waiting for SaslHandshake.
    Handshake,
    /// The exchange of `mechanism`; `raw` after a v0 handshake.
    Exchange {
        raw: bool,
        authenticator: Authenticator,
    },
}

/// What a frame did.
pub enum Progress {
    /// More frames are needed.
    Continue,
    /// Authenticated as this principal: the connection serves from now on.
    Authenticated(String),
}

pub struct SaslAuthenticator {
    settings: Arc<SaslSettings>,
    failed_delay: Duration,
    state: State,
    /// The exchange failed: the close waits `failed_delay` after the answer.
    failed: bool,
}

impl SaslAuthenticator {
    pub fn new(settings: Arc<SaslSettings>, failed_delay: Duration) -> Self {
        SaslAuthenticator {
            settings,
            failed_delay,
            state: State::VersionsOrHandshake,
            failed: false,
        }
    }

    /// After a failed authentication, how long to wait between sending the
    /// answer and closing (Kafka's `connection.failed.authentication.delay.ms`
    /// delays the close, so the client reads why).
    pub fn close_delay(&self) -> Option<Duration> {
        self.failed.then_some(self.failed_delay)
    }

    /// Handles one frame, writing its response (if any) to `out`.
    pub async fn handle(
        &mut self,
        broker: &Broker,
        session: &Session,
        frame: Bytes,
        out: &mut ResponseBuffer,
    ) -> Result<Progress, CloseConnection> {
        if let State::Exchange {
            raw: true,
            authenticator,
        } = &mut self.state
        {
            // After a v0 handshake the frames are the mechanism's tokens.
            return match authenticator.step(&frame, &self.settings, broker) {
                Ok(Step::Challenge(challenge)) => {
                    put_raw(out, &challenge);
                    Ok(Progress::Continue)
                }
                Ok(Step::Done { principal, message }) => {
                    put_raw(out, &message);
                    Ok(Progress::Authenticated(principal))
                }
                Err(reason) => {
                    self.failed = true;
                    Err(CloseConnection(format!(
                        "SASL authentication failed: {reason}"
                    )))
                }
            };
        }
        let (api_key, api_version, correlation_id) = apis::peek_header(&frame)?;
        match (&mut self.state, api_key) {
            // Kafka answers one ApiVersions before the handshake.
            (State::VersionsOrHandshake, ApiKey::ApiVersions) => {
                apis::handle_request(broker, frame, session, out).await?;
                self.state = State::Handshake;
                Ok(Progress::Continue)
            }
            (State::VersionsOrHandshake | State::Handshake, ApiKey::SaslHandshake) => {
                let request: SaslHandshakeRequest = decode(frame, api_key, api_version)?;
                let enabled: Vec<StrBytes> = self
                    .settings
                    .mechanisms
                    .iter()
                    .map(|m| StrBytes::from_static_str(m.name()))
                    .collect();
                let mut response = SaslHandshakeResponse::default().with_mechanisms(enabled);
                let chosen = Mechanism::from_name(request.mechanism.as_str())
                    .filter(|m| self.settings.mechanisms.contains(m));
                match chosen {
                    Some(mechanism) => {
                        self.state = State::Exchange {
                            raw: api_version == 0,
                            authenticator: Authenticator::new(mechanism),
                        };
                    }
                    None => {
                        // Kafka answers, then fails the authentication.
                        response.error_code = ResponseError::UnsupportedSaslMechanism.code();
                        apis::respond_raw(out, api_key, api_version, correlation_id, &response)?;
                        return Err(CloseConnection(format!(
                            "SASL mechanism {:?} is not enabled on this listener",
                            request.mechanism.as_str()
                        )));
                    }
                }
                apis::respond_raw(out, api_key, api_version, correlation_id, &response)?;
                Ok(Progress::Continue)
            }
            (
                State::Exchange {
                    raw: false,
                    authenticator,
                },
                ApiKey::SaslAuthenticate,
            ) => {
                let request: SaslAuthenticateRequest = decode(frame, api_key, api_version)?;
                let step = authenticator.step(&request.auth_bytes, &self.settings, broker);
                let response = SaslAuthenticateResponse::default();
                match step {
                    Ok(Step::Challenge(challenge)) => {
                        let response = response.with_auth_bytes(Bytes::from(challenge));
                        apis::respond_raw(out, api_key, api_version, correlation_id, &response)?;
                        Ok(Progress::Continue)
                    }
                    Ok(Step::Done { principal, message }) => {
                        let response = response.with_auth_bytes(Bytes::from(message));
                        apis::respond_raw(out, api_key, api_version, correlation_id, &response)?;
                        Ok(Progress::Authenticated(principal))
                    }
                    Err(reason) => {
                        self.failed = true;
                        let response = response
                            .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                            .with_error_message(Some(StrBytes::from_string(reason.clone())));
                        apis::respond_raw(out, api_key, api_version, correlation_id, &response)?;
                        Err(CloseConnection(format!(
                            "SASL authentication failed: {reason}"
                        )))
                    }
                }
            }
            // During the exchange Kafka answers ApiVersions with
            // ILLEGAL_SASL_STATE, then closes.
            (State::Exchange { .. }, ApiKey::ApiVersions) => {
                let response = kafka_protocol::messages::ApiVersionsResponse::default()
                    .with_error_code(ResponseError::IllegalSaslState.code());
                apis::respond_raw(out, api_key, api_version, correlation_id, &response)?;
                Err(CloseConnection(
                    "unexpected ApiVersions request during the SASL exchange".into(),
                ))
            }
            (_, other) => Err(CloseConnection(format!(
                "unexpected {other:?} request before SASL authentication finished"
            ))),
        }
    }
}

/// A bare size-prefixed token (the exchange after a v0 handshake).
fn put_raw(out: &mut ResponseBuffer, token: &[u8]) {
    out.put_i32(token.len() as i32);
    out.put_slice(token);
}

fn decode<T: Decodable>(frame: Bytes, key: ApiKey, version: i16) -> Result<T, CloseConnection> {
    let mut buf = frame;
    RequestHeader::decode(&mut buf, key.request_header_version(version))
        .and_then(|_| T::decode(&mut buf, version))
        .map_err(|e| CloseConnection(format!("malformed {key:?} v{version} request: {e}")))
}

impl CredentialStore for Broker {
    fn scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        let image = self.metadata.image();
        let record = image.scram_credential(user, mechanism.type_id())?;
        Some(ScramCredential {
            salt: record.salt.clone(),
            stored_key: record.stored_key.clone(),
            server_key: record.server_key.clone(),
            iterations: record.iterations,
        })
    }
}
