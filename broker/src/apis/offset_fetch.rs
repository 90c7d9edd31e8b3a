//! OffsetFetch (key 9): a group's committed offsets. One group before v8,
//! a batch of groups from v8 on.

use super::RequestContext;
use crate::broker::Broker;
use crate::coordinator::CommittedOffset;
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
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(o.partition)
                                    .with_committed_offset(o.offset)
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
                                            OffsetFetchResponsePartitions::default()
                                                .with_partition_index(o.partition)
                                                .with_committed_offset(o.offset)
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
