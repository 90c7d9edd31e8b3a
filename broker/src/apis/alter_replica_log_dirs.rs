//! AlterReplicaLogDirs (key 34) v1-2: moves partitions to another log
//! directory, as Kafka's ReplicaManager does: a `-future` copy of the
//! partition is created in the directory named and catches up in the
//! background, then takes over (see the log manager). The answer comes
//! once the move has started; DescribeLogDirs shows it under way.
//!
//! The directory must be one of the configured ones, named by its
//! absolute path as DescribeLogDirs reports it (else LOG_DIR_NOT_FOUND);
//! one that failed, or a partition in one, is KAFKA_STORAGE_ERROR; a
//! partition this broker does not host is REPLICA_NOT_AVAILABLE, as Kafka
//! answers for compatibility. Naming the directory a partition is in
//! cancels a move of it under way.
//!
//! As Kafka's KafkaApis: ALTER on the cluster, or every partition fails
//! with CLUSTER_AUTHORIZATION_FAILED.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use crate::storage::TopicPartition;
use crate::storage::log_manager::MoveError;
use crate::storage_io;
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
    let image = broker.metadata.image();
    // Kafka answers by topic, each partition once (its request is a map
    // of partition to directory).
    let mut results: BTreeMap<String, BTreeMap<i32, i16>> = BTreeMap::new();
    for dir in &request.dirs {
        let path = Path::new(dir.path.as_str());
        // Kafka's LogManager.isLogDirOnline: the path must be one of the
        // configured directories' absolute paths.
        let known = path.is_absolute()
            && logs
                .log_dirs()
                .iter()
                .any(|d| d.absolute_path.as_path() == path);
        for topic in &dir.topics {
            for &partition in &topic.partitions {
                let error = if !allowed {
                    ResponseError::ClusterAuthorizationFailed.code()
                } else if !known {
                    ResponseError::LogDirNotFound.code()
                } else if let Some(topic_image) = image
                    .topic(topic.name.as_str())
                    .filter(|t| t.partitions.contains_key(&partition))
                {
                    let tp = TopicPartition::new(topic.name.as_str(), partition);
                    match storage_io::blocking(|| logs.alter_log_dir(&tp, topic_image.id, path)) {
                        Ok(()) => 0,
                        Err(MoveError::UnknownDir) => ResponseError::LogDirNotFound.code(),
                        Err(MoveError::NotHosted) => ResponseError::ReplicaNotAvailable.code(),
                        Err(MoveError::DirOffline | MoveError::Io(_)) => {
                            ResponseError::KafkaStorageError.code()
                        }
                    }
                } else {
                    ResponseError::ReplicaNotAvailable.code()
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
