//! DeleteShareGroupOffsets (key 92, v0): deletes the share-partition state
//! of the named topics of an empty share group (KIP-932, Kafka's
//! `handleDeleteShareGroupOffsetsRequest` and GroupCoordinatorShard's
//! `initiateDeleteShareGroupOffsets`): tombstones in
//! `__share_group_state`, and the partitions in memory forgotten.
//!
//! DELETE on the group (GROUP_AUTHORIZATION_FAILED for the whole request),
//! READ on each topic (TOPIC_AUTHORIZATION_FAILED for it). A group that is
//! not a share group, or none, is GROUP_ID_NOT_FOUND, one with members
//! NON_EMPTY_GROUP, both with Kafka's messages and for the whole request.
//! A topic the metadata does not have, or one without state in the group,
//! is UNKNOWN_TOPIC_OR_PARTITION. As in Kafka the response lists the
//! unauthorized topics first, then those deleted, then those refused, then
//! those whose state could not be deleted.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use super::share_common::error_message;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::share_records::ShareStateKey;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_share_group_offsets_response::DeleteShareGroupOffsetsResponseTopic;
use kafka_protocol::messages::{
    DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tracing::info;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DeleteShareGroupOffsetsRequest,
) -> DeleteShareGroupOffsetsResponse {
    let failed = |error: ResponseError, message: String| {
        DeleteShareGroupOffsetsResponse::default()
            .with_error_code(error.code())
            .with_error_message(Some(StrBytes::from_string(message)))
    };
    if !broker.share_groups_enabled() {
        return failed(
            ResponseError::UnsupportedVersion,
            error_message(ResponseError::UnsupportedVersion).into(),
        );
    }
    let auth = AuthHelper::new(broker, ctx);
    let group_id = request.group_id.as_str();
    if !auth.authorize(AclOperation::Delete, ResourceType::Group, group_id) {
        return failed(
            ResponseError::GroupAuthorizationFailed,
            error_message(ResponseError::GroupAuthorizationFailed).into(),
        );
    }
    let topic_error = |name: &TopicName, error: ResponseError, message: &'static str| {
        DeleteShareGroupOffsetsResponseTopic::default()
            .with_topic_name(name.clone())
            .with_error_code(error.code())
            .with_error_message(Some(StrBytes::from_static_str(message)))
    };
    let (authorized, denied): (Vec<_>, Vec<_>) = request
        .topics
        .iter()
        .partition(|t| auth.authorize(AclOperation::Read, ResourceType::Topic, &t.topic_name));
    let mut responses: Vec<DeleteShareGroupOffsetsResponseTopic> = denied
        .into_iter()
        .map(|t| {
            topic_error(
                &t.topic_name,
                ResponseError::TopicAuthorizationFailed,
                error_message(ResponseError::TopicAuthorizationFailed),
            )
        })
        .collect();
    if group_id.is_empty() {
        return failed(
            ResponseError::InvalidGroupId,
            error_message(ResponseError::InvalidGroupId).into(),
        );
    }
    match broker.groups.share_group_or_not_found(group_id) {
        Ok(group) if !group.is_empty() => {
            return failed(
                ResponseError::NonEmptyGroup,
                error_message(ResponseError::NonEmptyGroup).into(),
            );
        }
        Ok(_) => {}
        Err((error, message)) => return failed(error, message),
    }
    let image = broker.metadata.image();
    let keys = broker.shares.coordinator().keys(Some(group_id));
    let state_topic = broker.share_state_topic();
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    let mut not_deleted = Vec::new();
    for topic in authorized {
        let Some(found) = image.topic(&topic.topic_name) else {
            errors.push(topic_error(
                &topic.topic_name,
                ResponseError::UnknownTopicOrPartition,
                error_message(ResponseError::UnknownTopicOrPartition),
            ));
            continue;
        };
        let of_topic: Vec<ShareStateKey> = keys
            .iter()
            .filter(|k| k.topic_id == found.id)
            .cloned()
            .collect();
        if of_topic.is_empty() {
            errors.push(topic_error(
                &topic.topic_name,
                ResponseError::UnknownTopicOrPartition,
                "There is no offset information to delete.",
            ));
            continue;
        }
        let answer = DeleteShareGroupOffsetsResponseTopic::default()
            .with_topic_name(topic.topic_name.clone())
            .with_topic_id(found.id);
        match broker.shares.delete_partitions(&state_topic, &of_topic) {
            Ok(()) => {
                info!(group = group_id, topic = %found.name, "deleted the share group's offsets of a topic");
                deleted.push(answer);
            }
            Err(error) => not_deleted.push(
                answer
                    .with_error_code(error.code())
                    .with_error_message(Some(StrBytes::from_static_str(error_message(error)))),
            ),
        }
    }
    responses.extend(deleted);
    responses.extend(errors);
    responses.extend(not_deleted);
    DeleteShareGroupOffsetsResponse::default().with_responses(responses)
}
