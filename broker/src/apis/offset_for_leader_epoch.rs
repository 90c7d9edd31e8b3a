//! OffsetForLeaderEpoch (key 23): where a leader epoch of a partition ends,
//! from the leader-epoch cache the storage keeps. Consumers send it to
//! validate their position after a leader-epoch change (KIP-320, log
//! truncation detection): an end offset below their position means the log
//! was truncated under them.
//!
//! As Kafka's KafkaApis: a request with CLUSTER_ACTION on the cluster may
//! ask for every topic; otherwise each topic needs DESCRIBE
//! (TOPIC_AUTHORIZATION_FAILED). As its Partition: a current leader epoch
//! below the partition's is FENCED_LEADER_EPOCH, above it
//! UNKNOWN_LEADER_EPOCH; an epoch the cache cannot place (undefined, or
//! above the latest) is answered without an error, with epoch and offset -1.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

/// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
const UNDEFINED: (i32, i64) = (-1, -1);

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let image = broker.metadata.image();
    let auth = AuthHelper::new(broker, ctx);
    let cluster_action = auth.check(
        AclOperation::ClusterAction,
        ResourceType::Cluster,
        crate::authorizer::CLUSTER_NAME,
    );
    let topics = request
        .topics
        .iter()
        .map(|topic| {
            let authorized = cluster_action
                || auth.authorize(AclOperation::Describe, ResourceType::Topic, &topic.topic);
            let topic_image = image.topic(&topic.topic);
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let answer = || -> Result<(i32, i64), ResponseError> {
                        if !authorized {
                            return Err(ResponseError::TopicAuthorizationFailed);
                        }
                        let topic_image =
                            topic_image.ok_or(ResponseError::UnknownTopicOrPartition)?;
                        let registration = topic_image
                            .partitions
                            .get(&p.partition)
                            .ok_or(ResponseError::UnknownTopicOrPartition)?;
                        if p.current_leader_epoch >= 0
                            && p.current_leader_epoch < registration.leader_epoch
                        {
                            return Err(ResponseError::FencedLeaderEpoch);
                        }
                        if p.current_leader_epoch > registration.leader_epoch {
                            return Err(ResponseError::UnknownLeaderEpoch);
                        }
                        let log = broker
                            .replicas
                            .log(&image, topic_image, p.partition)
                            .map_err(|_| ResponseError::KafkaStorageError)?;
                        Ok(log
                            .end_offset_for_epoch(p.leader_epoch, registration.leader_epoch)
                            .unwrap_or(UNDEFINED))
                    };
                    let (error_code, (leader_epoch, end_offset)) = match answer() {
                        Ok(found) => (0, found),
                        Err(error) => (error.code(), UNDEFINED),
                    };
                    EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_error_code(error_code)
                        .with_leader_epoch(leader_epoch)
                        .with_end_offset(end_offset)
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
