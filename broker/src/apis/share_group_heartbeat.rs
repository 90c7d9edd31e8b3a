//! ShareGroupHeartbeat (key 76, v1): a share group's member joins,
//! heartbeats and leaves (KIP-932, Kafka's `shareGroupHeartbeat`). The
//! request is checked as Kafka's KafkaApis and
//! `throwIfShareGroupHeartbeatRequestIsInvalid` check it. The partitions a
//! member is assigned get their share-partition state initialized, and a
//! member that leaves has what it held released.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use super::share_common::{is_member_id_valid, share_settings};
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::now_ms;
use crate::coordinator::share_group::{LEAVE_GROUP_MEMBER_EPOCH, ShareHeartbeat};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;
use tracing::warn;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ShareGroupHeartbeatRequest,
) -> ShareGroupHeartbeatResponse {
    let failed = |error: ResponseError, message: String| {
        ShareGroupHeartbeatResponse::default()
            .with_error_code(error.code())
            .with_error_message((!message.is_empty()).then(|| StrBytes::from_string(message)))
    };
    if !broker.share_groups_enabled() {
        return failed(ResponseError::UnsupportedVersion, String::new());
    }
    let auth = AuthHelper::new(broker, ctx);
    if !auth.authorize(AclOperation::Read, ResourceType::Group, &request.group_id) {
        return failed(ResponseError::GroupAuthorizationFailed, String::new());
    }
    if !is_member_id_valid(&request.member_id) {
        return failed(
            ResponseError::InvalidRequest,
            "Invalid member id in the request.".into(),
        );
    }
    if let Some(names) = &request.subscribed_topic_names
        && names
            .iter()
            .any(|n| !auth.authorize(AclOperation::Describe, ResourceType::Topic, n))
    {
        return failed(ResponseError::TopicAuthorizationFailed, String::new());
    }
    if let Err(message) = validate(request) {
        return failed(ResponseError::InvalidRequest, message);
    }
    let group_id = request.group_id.as_str();
    let settings = share_settings(broker, group_id);
    let heartbeat = ShareHeartbeat {
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        rack_id: request.rack_id.as_ref().map(|s| s.to_string()),
        subscribed_topic_names: request
            .subscribed_topic_names
            .as_ref()
            .map(|names| names.iter().map(|n| n.to_string()).collect()),
        client_id: ctx.client_id.clone().unwrap_or_default(),
        client_host: format!("/{}", ctx.peer.ip()),
    };
    let image = broker.metadata.image();
    let (answer, left, group_epoch) = match broker.groups.share_group_heartbeat(
        &image,
        group_id,
        &heartbeat,
        &settings.membership,
    ) {
        Ok(done) => done,
        Err((error, message)) => return failed(error, message),
    };
    let topic = broker.share_state_topic();
    if let Some(member) = &left {
        broker
            .shares
            .release_member(&topic, group_id, member, now_ms());
    }
    if let Some(assignment) = &answer.assignment {
        // Kafka's InitializeShareGroupState for the partitions new to the
        // group: their start offset is found at the first fetch.
        let partitions: Vec<(uuid::Uuid, i32)> = assignment
            .iter()
            .flat_map(|(id, parts)| parts.iter().map(move |&p| (*id, p)))
            .collect();
        if let Err(error) =
            broker
                .shares
                .initialize(&topic, group_id, &partitions, group_epoch, now_ms())
        {
            warn!(
                group = group_id,
                "cannot initialize the share partitions' state: {error:?}"
            );
            return failed(error, String::new());
        }
    }
    ShareGroupHeartbeatResponse::default()
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
                            .with_partitions(partitions)
                    })
                    .collect(),
            )
        }))
}

/// Kafka's `throwIfShareGroupHeartbeatRequestIsInvalid`; the message of
/// the INVALID_REQUEST when a check fails.
fn validate(request: &ShareGroupHeartbeatRequest) -> Result<(), String> {
    if request.member_id.is_empty() {
        return Err("MemberId can't be empty.".into());
    }
    if request.group_id.is_empty() {
        return Err("GroupId can't be empty.".into());
    }
    if request.rack_id.as_ref().is_some_and(|r| r.is_empty()) {
        return Err("RackId can't be empty.".into());
    }
    if request.member_epoch == 0 {
        if request
            .subscribed_topic_names
            .as_ref()
            .is_none_or(|names| names.is_empty())
        {
            return Err("SubscribedTopicNames must be set in first request.".into());
        }
    } else if request.member_epoch < LEAVE_GROUP_MEMBER_EPOCH {
        return Err("MemberEpoch is invalid.".into());
    }
    Ok(())
}
