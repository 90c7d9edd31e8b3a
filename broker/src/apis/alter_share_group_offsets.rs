//! AlterShareGroupOffsets (key 91, v0): new start offsets for the share
//! partitions of an empty share group (KIP-932, Kafka's
//! `handleAlterShareGroupOffsetsRequest` and `GroupMetadataManager.
//! alterShareGroupOffsets`). Each share partition named starts afresh at
//! its new offset: a new ShareSnapshot with no batches, and the partition
//! in memory dropped so the next fetch loads the new state.
//!
//! READ on the group (GROUP_AUTHORIZATION_FAILED for the whole request),
//! READ on each topic (TOPIC_AUTHORIZATION_FAILED for its partitions); a
//! topic the metadata does not have, or a partition it does not have, is
//! UNKNOWN_TOPIC_OR_PARTITION. A classic or consumer group of the id is
//! GROUP_ID_NOT_FOUND, a share group with members NON_EMPTY_GROUP, both
//! for the whole request; a group that does not exist is created, empty.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use super::share_common::error_message;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::now_ms;
use crate::coordinator::share_records::ShareStateKey;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_share_group_offsets_response::{
    AlterShareGroupOffsetsResponsePartition, AlterShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::{AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse};
use kafka_protocol::protocol::StrBytes;
use tracing::info;
use uuid::Uuid;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &AlterShareGroupOffsetsRequest,
) -> AlterShareGroupOffsetsResponse {
    let failed = |error: ResponseError, message: String| {
        AlterShareGroupOffsetsResponse::default()
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
    if !auth.authorize(AclOperation::Read, ResourceType::Group, group_id) {
        return failed(
            ResponseError::GroupAuthorizationFailed,
            error_message(ResponseError::GroupAuthorizationFailed).into(),
        );
    }
    let image = broker.metadata.image();
    let partition_error = |index: i32, error: ResponseError| {
        AlterShareGroupOffsetsResponsePartition::default()
            .with_partition_index(index)
            .with_error_code(error.code())
            .with_error_message(Some(StrBytes::from_static_str(error_message(error))))
    };
    // KafkaApis' checks first: their topics lead the response.
    let mut refused = Vec::new();
    let mut accepted = Vec::new();
    for topic in &request.topics {
        let error = if !auth.authorize(AclOperation::Read, ResourceType::Topic, &topic.topic_name) {
            Some(ResponseError::TopicAuthorizationFailed)
        } else if image.topic(&topic.topic_name).is_none() {
            Some(ResponseError::UnknownTopicOrPartition)
        } else {
            None
        };
        match error {
            Some(error) => refused.push(
                AlterShareGroupOffsetsResponseTopic::default()
                    .with_topic_name(topic.topic_name.clone())
                    .with_topic_id(image.topic(&topic.topic_name).map_or(Uuid::nil(), |t| t.id))
                    .with_partitions(
                        topic
                            .partitions
                            .iter()
                            .map(|p| partition_error(p.partition_index, error))
                            .collect(),
                    ),
            ),
            None => accepted.push(topic),
        }
    }
    if group_id.is_empty() {
        return failed(
            ResponseError::InvalidGroupId,
            error_message(ResponseError::InvalidGroupId).into(),
        );
    }
    let state_epoch = match broker.groups.share_group_epoch_if_empty(group_id) {
        Ok(epoch) => epoch,
        Err((error, message)) => return failed(error, message),
    };
    let state_topic = broker.share_state_topic();
    let now = now_ms();
    let mut altered = 0usize;
    let mut responses = refused;
    for topic in accepted {
        let Some(found) = image.topic(&topic.topic_name) else {
            continue;
        };
        let partitions = topic
            .partitions
            .iter()
            .map(|p| {
                if !found.partitions.contains_key(&p.partition_index) {
                    return partition_error(
                        p.partition_index,
                        ResponseError::UnknownTopicOrPartition,
                    );
                }
                let key = ShareStateKey {
                    group_id: group_id.to_string(),
                    topic_id: found.id,
                    partition: p.partition_index,
                };
                match broker.shares.reset_partition(
                    &state_topic,
                    &key,
                    state_epoch,
                    p.start_offset,
                    now,
                ) {
                    Ok(()) => {
                        altered += 1;
                        AlterShareGroupOffsetsResponsePartition::default()
                            .with_partition_index(p.partition_index)
                    }
                    Err(error) => partition_error(p.partition_index, error),
                }
            })
            .collect();
        responses.push(
            AlterShareGroupOffsetsResponseTopic::default()
                .with_topic_name(topic.topic_name.clone())
                .with_topic_id(found.id)
                .with_partitions(partitions),
        );
    }
    if altered > 0 {
        // The group exists from now on (Kafka writes its partition
        // metadata record), empty.
        broker
            .groups
            .restore_share_groups(std::iter::once(group_id.to_string()));
        info!(
            group = group_id,
            partitions = altered,
            "altered the share group's start offsets"
        );
    }
    AlterShareGroupOffsetsResponse::default().with_responses(responses)
}
