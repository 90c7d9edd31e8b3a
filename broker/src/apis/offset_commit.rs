//! OffsetCommit (key 8): a group's consumed positions, stored in
//! `__consumer_offsets`.
//!
//! As in Kafka's KafkaApis: without READ on the group every partition fails
//! with GROUP_AUTHORIZATION_FAILED; the partitions of topics without READ
//! fail with TOPIC_AUTHORIZATION_FAILED and those of unknown topics or
//! partitions with UNKNOWN_TOPIC_OR_PARTITION; only the rest go to the
//! coordinator, which is not asked at all when none is left.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::OffsetToCommit;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use std::collections::HashSet;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &OffsetCommitRequest,
) -> OffsetCommitResponse {
    let auth = AuthHelper::new(broker, ctx);
    if !auth.authorize(AclOperation::Read, ResourceType::Group, &request.group_id) {
        let denied = ResponseError::GroupAuthorizationFailed.code();
        return respond(request, || denied);
    }
    let denied_topics: HashSet<&str> = if auth.enabled() {
        let names = request.topics.iter().map(|t| t.name.as_str());
        let allowed = auth.filter(AclOperation::Read, ResourceType::Topic, names.clone());
        names.filter(|name| !allowed.contains(name)).collect()
    } else {
        HashSet::new()
    };

    let image = broker.metadata.image();
    // Each partition's error, or `None` for those the coordinator answers.
    let mut early: Vec<Option<i16>> = Vec::new();
    let mut offsets: Vec<OffsetToCommit> = Vec::new();
    for topic in &request.topics {
        let denied = denied_topics.contains(topic.name.as_str());
        for p in &topic.partitions {
            if denied {
                early.push(Some(ResponseError::TopicAuthorizationFailed.code()));
            } else if image.partition(&topic.name, p.partition_index).is_none() {
                early.push(Some(ResponseError::UnknownTopicOrPartition.code()));
            } else {
                early.push(None);
                offsets.push(OffsetToCommit {
                    topic: topic.name.to_string(),
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    leader_epoch: if ctx.api_version >= 6 {
                        p.committed_leader_epoch
                    } else {
                        -1
                    },
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                });
            }
        }
    }
    let committed = if offsets.is_empty() {
        Vec::new()
    } else {
        broker.groups.commit_offsets(
            &broker.offsets_topic(),
            &image,
            &request.group_id,
            request.generation_id_or_member_epoch,
            &request.member_id,
            request.group_instance_id.as_deref(),
            &offsets,
            ctx.api_version,
        )
    };
    let mut early = early.into_iter();
    let mut committed = committed.into_iter();
    respond(request, || match early.next().flatten() {
        Some(error) => error,
        None => committed.next().unwrap_or(0),
    })
}

/// The response with every partition of the request, in its order, given
/// the error codes `error` gives in turn.
fn respond(request: &OffsetCommitRequest, mut error: impl FnMut() -> i16) -> OffsetCommitResponse {
    OffsetCommitResponse::default().with_topics(
        request
            .topics
            .iter()
            .map(|t| {
                OffsetCommitResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                OffsetCommitResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(error())
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
