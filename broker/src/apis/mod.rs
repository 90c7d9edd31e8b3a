//! Request dispatch: one module per Kafka API.
//!
//! A request frame is checked for an API key and version the broker
//! implements, decoded with `kafka-protocol`, handed to its API's module and
//! the response encoded behind its size and response header. As in Kafka,
//! an unknown API or version (but for ApiVersions) and a request that cannot
//! be decoded close the connection.

pub mod api_versions;
pub mod describe_topic_partitions;
pub mod fetch;
pub mod produce;

use crate::broker::Broker;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};
use std::fmt;
use std::net::SocketAddr;

/// An API the broker implements and the versions it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiSupport {
    pub key: ApiKey,
    pub min_version: i16,
    pub max_version: i16,
}

const fn api(key: ApiKey, min_version: i16, max_version: i16) -> ApiSupport {
    ApiSupport {
        key,
        min_version,
        max_version,
    }
}

/// Every API the broker implements, in API key order. ApiVersions answers
/// with exactly this list.
pub const SUPPORTED_APIS: &[ApiSupport] = &[
    api(ApiKey::Produce, 3, 11),
    api(ApiKey::Fetch, 4, 16),
    api(ApiKey::ApiVersions, 0, 4),
    api(ApiKey::DescribeTopicPartitions, 0, 0),
];

pub fn supported(key: ApiKey) -> Option<&'static ApiSupport> {
    SUPPORTED_APIS.iter().find(|api| api.key == key)
}

/// Who sent a request and how.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    pub peer: SocketAddr,
}

/// What a handler wants done with its response.
pub enum Outcome<R> {
    Respond(R),
    /// No response at all (Produce with acks = 0).
    NoResponse,
    /// Close the connection; the reason is logged.
    Close(String),
}

/// Why a connection must be closed.
#[derive(Debug)]
pub struct CloseConnection(pub String);

impl fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Handles one request frame (without its size prefix), appending the
/// response, if any, to `out`.
pub async fn handle_request(
    broker: &Broker,
    frame: Bytes,
    peer: SocketAddr,
    out: &mut BytesMut,
) -> Result<(), CloseConnection> {
    if frame.len() < 8 {
        return Err(CloseConnection(format!(
            "request of {} bytes is too short for a request header",
            frame.len()
        )));
    }
    let mut peek = &frame[..8];
    let raw_key = peek.get_i16();
    let api_version = peek.get_i16();
    let correlation_id = peek.get_i32();
    let api_key = ApiKey::try_from(raw_key)
        .map_err(|_| CloseConnection(format!("unknown API key {raw_key}")))?;
    let Some(support) = supported(api_key) else {
        return Err(CloseConnection(format!(
            "API {api_key:?} (key {raw_key}) is not supported"
        )));
    };
    if api_version < support.min_version || api_version > support.max_version {
        if api_key == ApiKey::ApiVersions && api_version > support.max_version {
            // Kafka answers newer ApiVersions requests in the v0 layout so the
            // client can retry with a version both sides know.
            let response = api_versions::unsupported_version_response();
            return encode_response(out, correlation_id, 0, &response);
        }
        return Err(CloseConnection(format!(
            "{api_key:?} version {api_version} is not supported (supported: {}..={})",
            support.min_version, support.max_version
        )));
    }

    let mut buf = frame;
    let header = RequestHeader::decode(&mut buf, api_key.request_header_version(api_version))
        .map_err(|e| CloseConnection(format!("malformed {api_key:?} request header: {e}")))?;
    let ctx = RequestContext {
        api_key,
        api_version,
        correlation_id,
        client_id: header.client_id.as_ref().map(|id| id.to_string()),
        peer,
    };

    match api_key {
        ApiKey::ApiVersions => {
            let request = decode(&ctx, &mut buf)?;
            respond(out, &ctx, api_versions::handle(&ctx, &request))
        }
        ApiKey::DescribeTopicPartitions => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                out,
                &ctx,
                describe_topic_partitions::handle(broker, &request),
            )
        }
        ApiKey::Fetch => {
            let request = decode(&ctx, &mut buf)?;
            respond(out, &ctx, fetch::handle(broker, &ctx, request).await)
        }
        ApiKey::Produce => {
            let request = decode(&ctx, &mut buf)?;
            finish(out, &ctx, produce::handle(broker, &ctx, request))
        }
        other => Err(CloseConnection(format!("API {other:?} has no handler"))),
    }
}

fn decode<T: Decodable>(ctx: &RequestContext, buf: &mut Bytes) -> Result<T, CloseConnection> {
    T::decode(buf, ctx.api_version).map_err(|e| {
        CloseConnection(format!(
            "malformed {:?} v{} request (correlation id {}): {e}",
            ctx.api_key, ctx.api_version, ctx.correlation_id
        ))
    })
}

fn respond<R: Encodable + HeaderVersion>(
    out: &mut BytesMut,
    ctx: &RequestContext,
    response: R,
) -> Result<(), CloseConnection> {
    encode_response(out, ctx.correlation_id, ctx.api_version, &response)
}

fn finish<R: Encodable + HeaderVersion>(
    out: &mut BytesMut,
    ctx: &RequestContext,
    outcome: Outcome<R>,
) -> Result<(), CloseConnection> {
    match outcome {
        Outcome::Respond(response) => respond(out, ctx, response),
        Outcome::NoResponse => Ok(()),
        Outcome::Close(reason) => Err(CloseConnection(reason)),
    }
}

/// Appends `size · response header · body` to `out`.
fn encode_response<R: Encodable + HeaderVersion>(
    out: &mut BytesMut,
    correlation_id: i32,
    version: i16,
    response: &R,
) -> Result<(), CloseConnection> {
    let start = out.len();
    out.put_i32(0);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let encoded = header
        .encode(out, R::header_version(version))
        .and_then(|()| response.encode(out, version));
    if let Err(e) = encoded {
        out.truncate(start);
        return Err(CloseConnection(format!(
            "could not encode the response to correlation id {correlation_id}: {e}"
        )));
    }
    let size = (out.len() - start - 4) as i32;
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}
