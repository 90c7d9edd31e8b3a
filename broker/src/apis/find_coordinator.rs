//! FindCoordinator (key 10): this broker coordinates every group and every
//! transactional id. It creates `__consumer_offsets` and
//! `__transaction_state` on first use, as Kafka does. A group key needs
//! DESCRIBE on the group, a transactional id DESCRIBE on it (Kafka's
//! `getCoordinator`), checked before any topic is created.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::internal_topics::InternalTopic;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

const GROUP_KEY_TYPE: i8 = 0;
const TRANSACTION_KEY_TYPE: i8 = 1;

/// Why a key has no coordinator here.
type NoCoordinator = (ResponseError, &'static str);

/// Kafka's messages of the authorization errors (`Errors.message()`), which
/// it sends before v4 only.
const GROUP_AUTHORIZATION_FAILED: &str = "Group authorization failed.";
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: &str = "Transactional Id authorization failed.";

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let batched = ctx.api_version >= 4;
    let keys: Vec<StrBytes> = if batched {
        request.coordinator_keys.clone()
    } else {
        vec![request.key.clone()]
    };
    let auth = AuthHelper::new(broker, ctx);
    let found: Vec<(StrBytes, Result<(), NoCoordinator>)> = keys
        .into_iter()
        .map(|key| {
            if request.key_type == GROUP_KEY_TYPE
                && !auth.authorize(AclOperation::Describe, ResourceType::Group, &key)
            {
                let denied = (
                    ResponseError::GroupAuthorizationFailed,
                    GROUP_AUTHORIZATION_FAILED,
                );
                return (key, Err(denied));
            }
            if request.key_type == TRANSACTION_KEY_TYPE
                && !auth.authorize(AclOperation::Describe, ResourceType::TransactionalId, &key)
            {
                let denied = (
                    ResponseError::TransactionalIdAuthorizationFailed,
                    TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                );
                return (key, Err(denied));
            }
            let result = match request.key_type {
                GROUP_KEY_TYPE => broker.offsets_topic().partitions(),
                TRANSACTION_KEY_TYPE if key.is_empty() => Err(ResponseError::InvalidRequest),
                TRANSACTION_KEY_TYPE => broker.transaction_state_topic().partitions(),
                _ => Err(ResponseError::InvalidRequest),
            }
            .map(|_| ())
            .map_err(|e| {
                let message = match e {
                    ResponseError::InvalidRequest if request.key_type == TRANSACTION_KEY_TYPE => {
                        "an empty transactional id has no coordinator"
                    }
                    ResponseError::InvalidRequest => "unknown coordinator key type",
                    _ => "the coordinator is not available",
                };
                (e, message)
            });
            (key, result)
        })
        .collect();

    let host = StrBytes::from_string(ctx.listener.advertised_host.clone());
    let port = i32::from(ctx.listener.advertised_port);
    let node = BrokerId(broker.config.node_id);
    let mut response = FindCoordinatorResponse::default();
    if batched {
        response.coordinators = found
            .into_iter()
            .map(|(key, result)| match result {
                Ok(()) => Coordinator::default()
                    .with_key(key)
                    .with_node_id(node)
                    .with_host(host.clone())
                    .with_port(port),
                Err((error, message)) => Coordinator::default()
                    .with_key(key)
                    .with_node_id(BrokerId(-1))
                    .with_port(-1)
                    .with_error_code(error.code())
                    // Kafka's v4+ authorization failures carry no message.
                    .with_error_message(
                        (!is_authorization_error(error))
                            .then(|| StrBytes::from_static_str(message)),
                    ),
            })
            .collect();
    } else if let Some((_, result)) = found.into_iter().next() {
        match result {
            Ok(()) => {
                response.node_id = node;
                response.host = host;
                response.port = port;
            }
            Err((error, message)) => {
                response.error_code = error.code();
                response.node_id = BrokerId(-1);
                response.port = -1;
                if ctx.api_version >= 1 {
                    response.error_message = Some(StrBytes::from_static_str(message));
                }
            }
        }
    }
    response
}

fn is_authorization_error(error: ResponseError) -> bool {
    matches!(
        error,
        ResponseError::GroupAuthorizationFailed | ResponseError::TransactionalIdAuthorizationFailed
    )
}
