//! AlterReplicaLogDirs (key 34) v1-2: moves partitions to another log
//! directory, as Kafka's ReplicaManager does. This broker has one log
//! directory, so every partition already is where it is asked to be: a
//! request naming that directory (its absolute path, as DescribeLogDirs
//! reports it) succeeds and moves nothing. Any other path, relative
//! paths included, is not a log directory of this broker
//! (LOG_DIR_NOT_FOUND); a partition this broker does not host is
//! REPLICA_NOT_AVAILABLE, as Kafka answers for compatibility.
//!
//! As Kafka's KafkaApis: ALTER on the cluster, or every partition fails
//! with CLUSTER_AUTHORIZATION_FAILED.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_replica_log_dirs_response::{
    AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult,
};
use kafka_protocol::messages::{AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse};
use std::collections::BTreeMap;
use std::path::Path;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &AlterReplicaLogDirsRequest,
) -> AlterReplicaLogDirsResponse {
    let auth = AuthHelper::new(broker, ctx);
    let allowed = auth.authorize_cluster(AclOperation::Alter);
    let logs = broker.replicas.logs();
    let own = logs.absolute_log_dir();
    let image = broker.metadata.image();
    // Kafka answers by topic, each partition once (its request is a map
    // of partition to directory).
    let mut results: BTreeMap<String, BTreeMap<i32, i16>> = BTreeMap::new();
    for dir in &request.dirs {
        let path = Path::new(dir.path.as_str());
        // Kafka's LogManager.isLogDirOnline: the path must be one of the
        // configured directories' absolute paths.
        let known = path.is_absolute() && path == own;
        for topic in &dir.topics {
            for &partition in &topic.partitions {
                let error = if !allowed {
                    ResponseError::ClusterAuthorizationFailed.code()
                } else if !known {
                    ResponseError::LogDirNotFound.code()
                } else if image.partition(topic.name.as_str(), partition).is_none() {
                    ResponseError::ReplicaNotAvailable.code()
                } else {
                    0
                };
                results
                    .entry(topic.name.to_string())
                    .or_default()
                    .insert(partition, error);
            }
        }
    }
    let results = results
        .into_iter()
        .map(|(name, partitions)| {
            AlterReplicaLogDirTopicResult::default()
                .with_topic_name(kafka_protocol::protocol::StrBytes::from_string(name).into())
                .with_partitions(
                    partitions
                        .into_iter()
                        .map(|(index, error)| {
                            AlterReplicaLogDirPartitionResult::default()
                                .with_partition_index(index)
                                .with_error_code(error)
                        })
                        .collect(),
                )
        })
        .collect();
    AlterReplicaLogDirsResponse::default().with_results(results)
}
