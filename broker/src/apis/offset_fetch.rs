//! OffsetFetch (key 9): a group's committed offsets. One group before v8,
//! a batch of groups from v8 on. Offsets committed in an open transaction
//! are not visible until it commits.
//!
//! As in Kafka's KafkaApis, a group needs DESCRIBE (else
//! GROUP_AUTHORIZATION_FAILED for the group); the requested partitions of a
//! topic without DESCRIBE fail with TOPIC_AUTHORIZATION_FAILED, after the
//! others, and a fetch of all offsets leaves such topics out.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::CommittedOffset;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{GroupId, OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

/// One partition's answer, in either layout.
struct Fetched {
    partition: i32,
    offset: i64,
    leader_epoch: i32,
    metadata: Option<String>,
    error: i16,
}

/// One group's answer: its error code and its topics' partitions.
struct GroupOffsets {
    error: i16,
    topics: Vec<(String, Vec<Fetched>)>,
}

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &OffsetFetchRequest,
) -> OffsetFetchResponse {
    let auth = AuthHelper::new(broker, ctx);
    let mut response = OffsetFetchResponse::default();
    if ctx.api_version < 8 {
        let topics: Option<Vec<(String, Vec<i32>)>> = request.topics.as_ref().map(|t| {
            t.iter()
                .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                .collect()
        });
        let group = fetch_group(broker, ctx, &auth, request, &request.group_id, topics);
        // Before v2 the response has no top-level error code; Kafka drops it.
        response.error_code = if ctx.api_version >= 2 { group.error } else { 0 };
        response.topics = group
            .topics
            .into_iter()
            .map(|(topic, partitions)| {
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic)))
                    .with_partitions(
                        partitions
                            .into_iter()
                            .map(|o| {
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(o.partition)
                                    .with_error_code(o.error)
                                    .with_committed_offset(o.offset)
                                    .with_committed_leader_epoch(o.leader_epoch)
                                    .with_metadata(o.metadata.map(StrBytes::from_string))
                            })
                            .collect(),
                    )
            })
            .collect();
        return response;
    }
    response.groups = request
        .groups
        .iter()
        .map(|group| {
            let topics: Option<Vec<(String, Vec<i32>)>> = group.topics.as_ref().map(|t| {
                t.iter()
                    .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                    .collect()
            });
            // From v9 a consumer group's member fetches with its member
            // id and epoch (KIP-848), which must be current.
            let member_check = match &group.member_id {
                Some(member_id) if ctx.api_version >= 9 => broker.groups.validate_offset_fetch(
                    &group.group_id,
                    member_id,
                    group.member_epoch,
                ),
                _ => Ok(()),
            };
            let fetched = match member_check {
                Ok(()) => fetch_group(broker, ctx, &auth, request, &group.group_id, topics),
                Err(error) => GroupOffsets {
                    error: error.code(),
                    topics: Vec::new(),
                },
            };
            OffsetFetchResponseGroup::default()
                .with_group_id(group.group_id.clone())
                .with_error_code(fetched.error)
                .with_topics(
                    fetched
                        .topics
                        .into_iter()
                        .map(|(topic, partitions)| {
                            OffsetFetchResponseTopics::default()
                                .with_name(TopicName(StrBytes::from_string(topic)))
                                .with_partitions(
                                    partitions
                                        .into_iter()
                                        .map(|o| {
                                            OffsetFetchResponsePartitions::default()
                                                .with_partition_index(o.partition)
                                                .with_error_code(o.error)
                                                .with_committed_offset(o.offset)
                                                .with_committed_leader_epoch(o.leader_epoch)
                                                .with_metadata(
                                                    o.metadata.map(StrBytes::from_string),
                                                )
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                )
        })
        .collect();
    response
}

/// One group's offsets of `topics` (`None`: all), as far as the request
/// may see them.
fn fetch_group(
    broker: &Broker,
    ctx: &RequestContext,
    auth: &AuthHelper<'_>,
    request: &OffsetFetchRequest,
    group_id: &GroupId,
    topics: Option<Vec<(String, Vec<i32>)>>,
) -> GroupOffsets {
    if !auth.authorize(AclOperation::Describe, ResourceType::Group, group_id) {
        return GroupOffsets {
            error: ResponseError::GroupAuthorizationFailed.code(),
            topics: Vec::new(),
        };
    }
    let with_epoch = ctx.api_version >= 5;
    let found = |o: &CommittedOffset| {
        let (offset, error) = stable(o, request.require_stable);
        Fetched {
            partition: o.partition,
            offset,
            leader_epoch: if with_epoch { o.leader_epoch } else { -1 },
            metadata: o.metadata.clone(),
            error,
        }
    };
    let convert = |fetched: Vec<(String, Vec<CommittedOffset>)>| -> Vec<(String, Vec<Fetched>)> {
        fetched
            .into_iter()
            .map(|(topic, partitions)| (topic, partitions.iter().map(found).collect()))
            .collect()
    };
    let topics = match topics {
        None => {
            let mut all = broker.groups.fetch_offsets(group_id, None);
            if auth.enabled() {
                let allowed = auth.filter(
                    AclOperation::Describe,
                    ResourceType::Topic,
                    all.iter().map(|(topic, _)| topic.as_str()),
                );
                let allowed: std::collections::HashSet<String> =
                    allowed.into_iter().map(str::to_string).collect();
                all.retain(|(topic, _)| allowed.contains(topic));
            }
            convert(all)
        }
        Some(topics) if auth.enabled() => {
            let allowed = auth.filter(
                AclOperation::Describe,
                ResourceType::Topic,
                topics.iter().map(|(topic, _)| topic.as_str()),
            );
            let (authorized, unauthorized): (Vec<_>, Vec<_>) = topics
                .iter()
                .cloned()
                .partition(|(topic, _)| allowed.contains(topic.as_str()));
            let mut answered = convert(broker.groups.fetch_offsets(group_id, Some(&authorized)));
            answered.extend(unauthorized.into_iter().map(|(topic, partitions)| {
                let denied = partitions
                    .into_iter()
                    .map(|partition| Fetched {
                        partition,
                        offset: -1,
                        leader_epoch: -1,
                        metadata: Some(String::new()),
                        error: ResponseError::TopicAuthorizationFailed.code(),
                    })
                    .collect();
                (topic, denied)
            }));
            answered
        }
        Some(topics) => convert(broker.groups.fetch_offsets(group_id, Some(&topics))),
    };
    GroupOffsets { error: 0, topics }
}

/// A fetch that requires stable offsets (v7 on, KIP-447) gets
/// UNSTABLE_OFFSET_COMMIT and no offset for a partition an open
/// transaction has committed an offset for; the client retries.
fn stable(offset: &CommittedOffset, require_stable: bool) -> (i64, i16) {
    if require_stable && offset.unstable {
        (-1, ResponseError::UnstableOffsetCommit.code())
    } else {
        (offset.offset, 0)
    }
}
