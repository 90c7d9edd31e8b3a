//! OffsetFetch (key 9): a group's committed offsets. One group before v8,
//! a batch of groups from v8 on. Offsets committed in an open transaction
//! are not visible until it commits.

use super::RequestContext;
use crate::broker::Broker;
use crate::coordinator::CommittedOffset;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &OffsetFetchRequest,
) -> OffsetFetchResponse {
    let with_epoch = ctx.api_version >= 5;
    let epoch = |o: &CommittedOffset| if with_epoch { o.leader_epoch } else { -1 };
    let mut response = OffsetFetchResponse::default();
    if ctx.api_version < 8 {
        let topics: Option<Vec<(String, Vec<i32>)>> = request.topics.as_ref().map(|t| {
            t.iter()
                .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                .collect()
        });
        response.topics = broker
            .groups
            .fetch_offsets(&request.group_id, topics.as_deref())
            .into_iter()
            .map(|(topic, partitions)| {
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic)))
                    .with_partitions(
                        partitions
                            .iter()
                            .map(|o| {
                                let (offset, error) = stable(o, request.require_stable);
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(o.partition)
                                    .with_error_code(error)
                                    .with_committed_offset(offset)
                                    .with_committed_leader_epoch(epoch(o))
                                    .with_metadata(o.metadata.clone().map(StrBytes::from_string))
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
            OffsetFetchResponseGroup::default()
                .with_group_id(group.group_id.clone())
                .with_topics(
                    broker
                        .groups
                        .fetch_offsets(&group.group_id, topics.as_deref())
                        .into_iter()
                        .map(|(topic, partitions)| {
                            OffsetFetchResponseTopics::default()
                                .with_name(TopicName(StrBytes::from_string(topic)))
                                .with_partitions(
                                    partitions
                                        .iter()
                                        .map(|o| {
                                            let (offset, error) = stable(o, request.require_stable);
                                            OffsetFetchResponsePartitions::default()
                                                .with_partition_index(o.partition)
                                                .with_error_code(error)
                                                .with_committed_offset(offset)
                                                .with_committed_leader_epoch(epoch(o))
                                                .with_metadata(
                                                    o.metadata.clone().map(StrBytes::from_string),
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
