//! OffsetCommit (key 8): a group's consumed positions, stored in
//! `__consumer_offsets`.

use super::RequestContext;
use crate::broker::Broker;
use crate::coordinator::OffsetToCommit;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &OffsetCommitRequest,
) -> OffsetCommitResponse {
    let offsets: Vec<OffsetToCommit> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| OffsetToCommit {
                topic: t.name.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: if ctx.api_version >= 6 {
                    p.committed_leader_epoch
                } else {
                    -1
                },
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            })
        })
        .collect();
    let mut errors = broker
        .groups
        .commit_offsets(
            &broker.offsets_topic(),
            &broker.metadata.image(),
            &request.group_id,
            request.generation_id_or_member_epoch,
            &request.member_id,
            request.group_instance_id.as_deref(),
            &offsets,
        )
        .into_iter();
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
                                    .with_error_code(errors.next().unwrap_or(0))
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
