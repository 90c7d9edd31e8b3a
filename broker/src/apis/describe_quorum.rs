//! DescribeQuorum (key 55): the KRaft quorum of `__cluster_metadata`, as
//! Kafka's raft client describes it. This node is the quorum's only voter
//! and its leader; brokers of other nodes, the only observers Kafka would
//! list, do not exist. Everything the metadata log holds is committed, so
//! the high watermark is its end offset.
//!
//! As Kafka's KafkaApis: DESCRIBE on the cluster, or
//! CLUSTER_AUTHORIZATION_FAILED; a request for anything but the one
//! partition `__cluster_metadata-0` is answered UNKNOWN_TOPIC_OR_PARTITION
//! for each partition named.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use crate::metadata::METADATA_LOG_DIR;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_quorum_response::{
    Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{BrokerId, DescribeQuorumRequest, DescribeQuorumResponse};
use kafka_protocol::protocol::StrBytes;
use std::time::{SystemTime, UNIX_EPOCH};

/// The metadata topic, as the quorum names its partition.
const METADATA_TOPIC: &str = "__cluster_metadata";

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeQuorumRequest,
) -> DescribeQuorumResponse {
    let auth = AuthHelper::new(broker, ctx);
    if !auth.authorize_cluster(AclOperation::Describe) {
        let error = ResponseError::ClusterAuthorizationFailed;
        return DescribeQuorumResponse::default()
            .with_error_code(error.code())
            .with_error_message(message(ctx, error));
    }
    debug_assert!(METADATA_LOG_DIR.starts_with(METADATA_TOPIC));
    let valid = request.topics.len() == 1
        && request.topics[0].topic_name.as_str() == METADATA_TOPIC
        && request.topics[0].partitions.len() == 1
        && request.topics[0].partitions[0].partition_index == 0;
    if !valid {
        let error = ResponseError::UnknownTopicOrPartition;
        let topics = request
            .topics
            .iter()
            .map(|topic| {
                TopicData::default()
                    .with_topic_name(topic.topic_name.clone())
                    .with_partitions(
                        topic
                            .partitions
                            .iter()
                            .map(|p| {
                                PartitionData::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(error.code())
                                    .with_error_message(message(ctx, error))
                            })
                            .collect(),
                    )
            })
            .collect();
        return DescribeQuorumResponse::default().with_topics(topics);
    }

    let (node_id, directory_id, epoch) = broker.controller.voter();
    let log_end_offset = broker.controller.log().log_end_offset();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    // The leader has fetched and caught up with itself just now, as
    // Kafka's raft client reports it.
    let mut voter = ReplicaState::default()
        .with_replica_id(BrokerId(node_id))
        .with_log_end_offset(log_end_offset);
    if ctx.api_version >= 1 {
        voter = voter
            .with_last_fetch_timestamp(now)
            .with_last_caught_up_timestamp(now);
    }
    if ctx.api_version >= 2 {
        voter = voter.with_replica_directory_id(directory_id);
    }
    let partition = PartitionData::default()
        .with_partition_index(0)
        .with_leader_id(BrokerId(node_id))
        .with_leader_epoch(epoch)
        .with_high_watermark(log_end_offset)
        .with_current_voters(vec![voter]);
    let mut response = DescribeQuorumResponse::default().with_topics(vec![
        TopicData::default()
            .with_topic_name(StrBytes::from_static_str(METADATA_TOPIC).into())
            .with_partitions(vec![partition]),
    ]);
    if ctx.api_version >= 2 {
        // The voter's controller endpoints: this node has no listener of
        // its own for the quorum (no other voter ever connects to it).
        response.nodes = vec![Node::default().with_node_id(BrokerId(node_id))];
    }
    response
}

/// Kafka's default message for the error (`Errors.message()`), from v2 on
/// (earlier versions have no field for it).
fn message(ctx: &RequestContext, error: ResponseError) -> Option<StrBytes> {
    let text = match error {
        ResponseError::ClusterAuthorizationFailed => "Cluster authorization failed.",
        _ => "This server does not host this topic-partition.",
    };
    (ctx.api_version >= 2).then(|| StrBytes::from_static_str(text))
}
