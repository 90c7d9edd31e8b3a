//! ConsumerGroupHeartbeat (key 68, v0-1): a KIP-848 consumer group's
//! member joins, heartbeats, reconciles its assignment and leaves (Kafka's
//! `GroupMetadataManager.consumerGroupHeartbeat`). The request is checked
//! as Kafka's `throwIfConsumerGroupHeartbeatRequestIsInvalid` does; from
//! v1 the member picks its own member id (KIP-1082), in v0 the coordinator
//! gives one.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::assignor::Assignor;
use crate::coordinator::consumer_group::{
    Heartbeat, LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH, compile_regex,
};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    let failed = |error: ResponseError, message: String| {
        ConsumerGroupHeartbeatResponse::default()
            .with_error_code(error.code())
            .with_error_message((!message.is_empty()).then(|| StrBytes::from_string(message)))
            .with_member_epoch(0)
    };
    if let Err(message) = validate(ctx, request) {
        return failed(ResponseError::InvalidRequest, message);
    }
    if let Some(regex) = &request.subscribed_topic_regex
        && !regex.is_empty()
        && compile_regex(regex).is_none()
    {
        return failed(
            ResponseError::InvalidRegularExpression,
            format!("SubscribedTopicRegex `{regex}` is not a valid regular expression."),
        );
    }
    if let Some(assignor) = &request.server_assignor
        && !Assignor::from_name(assignor)
            .is_some_and(|a| broker.config.group_consumer_assignors.contains(&a))
    {
        let names: Vec<&str> = broker
            .config
            .group_consumer_assignors
            .iter()
            .map(|a| a.name())
            .collect();
        return failed(
            ResponseError::UnsupportedAssignor,
            format!(
                "ServerAssignor {assignor} is not supported. Supported assignors: {}.",
                names.join(", ")
            ),
        );
    }
    let auth = AuthHelper::new(broker, ctx);
    if !auth.authorize(AclOperation::Read, ResourceType::Group, &request.group_id) {
        return failed(ResponseError::GroupAuthorizationFailed, String::new());
    }
    if let Some(names) = &request.subscribed_topic_names {
        let denied: Vec<&str> = names
            .iter()
            .map(|n| n.as_str())
            .filter(|n| !auth.authorize(AclOperation::Describe, ResourceType::Topic, n))
            .collect();
        if !denied.is_empty() {
            return failed(
                ResponseError::TopicAuthorizationFailed,
                format!("Unauthorized topics: {}", denied.join(", ")),
            );
        }
    }

    let member_id = if request.member_id.is_empty() {
        // Only v0 gets here without one.
        Uuid::new_v4().to_string()
    } else {
        request.member_id.to_string()
    };
    let heartbeat = Heartbeat {
        member_id,
        member_epoch: request.member_epoch,
        instance_id: request.instance_id.as_ref().map(|s| s.to_string()),
        rack_id: request.rack_id.as_ref().map(|s| s.to_string()),
        rebalance_timeout_ms: request.rebalance_timeout_ms,
        subscribed_topic_names: request
            .subscribed_topic_names
            .as_ref()
            .map(|names| names.iter().map(|n| n.to_string()).collect()),
        subscribed_topic_regex: request
            .subscribed_topic_regex
            .as_ref()
            .map(|r| r.to_string()),
        server_assignor: request.server_assignor.as_ref().map(|s| s.to_string()),
        owned: request.topic_partitions.as_ref().map(|owned| {
            owned
                .iter()
                .map(|tp| (tp.topic_id, tp.partitions.clone()))
                .collect()
        }),
        client_id: ctx.client_id.clone().unwrap_or_default(),
        client_host: format!("/{}", ctx.peer.ip()),
    };
    let image = broker.metadata.image();
    match broker.groups.consumer_group_heartbeat(
        &broker.offsets_topic(),
        &image,
        &request.group_id,
        &heartbeat,
    ) {
        Ok(answer) => ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(StrBytes::from_string(answer.member_id)))
            .with_member_epoch(answer.member_epoch)
            .with_heartbeat_interval_ms(answer.heartbeat_interval_ms)
            .with_assignment(answer.assignment.map(|assignment| {
                Assignment::default().with_topic_partitions(
                    assignment
                        .into_iter()
                        .map(|(topic_id, partitions)| {
                            TopicPartitions::default()
                                .with_topic_id(topic_id)
                                .with_partitions(partitions.into_iter().collect())
                        })
                        .collect(),
                )
            })),
        Err((error, message)) => failed(error, message),
    }
}

/// Kafka's checks of the request's fields; the message of the
/// INVALID_REQUEST when one fails.
fn validate(ctx: &RequestContext, request: &ConsumerGroupHeartbeatRequest) -> Result<(), String> {
    let empty = |s: &Option<StrBytes>| s.as_ref().is_some_and(|s| s.is_empty());
    if request.group_id.is_empty() {
        return Err("GroupId can't be empty.".into());
    }
    if empty(&request.instance_id) {
        return Err("InstanceId can't be empty.".into());
    }
    if empty(&request.rack_id) {
        return Err("RackId can't be empty.".into());
    }
    let epoch = request.member_epoch;
    let needs_member_id =
        epoch > 0 || epoch == LEAVE_GROUP_MEMBER_EPOCH || (epoch == 0 && ctx.api_version >= 1);
    if needs_member_id && request.member_id.is_empty() {
        return Err("MemberId can't be empty.".into());
    }
    if epoch == 0 {
        if request.rebalance_timeout_ms == -1 {
            return Err("RebalanceTimeoutMs must be provided in first request.".into());
        }
        if request
            .topic_partitions
            .as_ref()
            .is_none_or(|owned| !owned.is_empty())
        {
            return Err("TopicPartitions must be empty when (re-)joining.".into());
        }
        let names = request
            .subscribed_topic_names
            .as_ref()
            .is_some_and(|names| !names.is_empty());
        let regex = request
            .subscribed_topic_regex
            .as_ref()
            .is_some_and(|r| !r.is_empty());
        if !names && !regex {
            return Err(
                "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.".into(),
            );
        }
    } else if epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH {
        if request.member_id.is_empty() {
            return Err("MemberId can't be empty.".into());
        }
        if request.instance_id.is_none() {
            return Err("InstanceId can't be null.".into());
        }
    } else if epoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH {
        return Err("MemberEpoch is invalid.".into());
    }
    Ok(())
}
