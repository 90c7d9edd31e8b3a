//! DeleteRecords (key 21): moves partitions' log start offsets up (Kafka's
//! `ReplicaManager.deleteRecords` and `Partition.deleteRecordsOnLeader`).
//! Records below the new start are no longer read; the segments wholly
//! below it are deleted by the next retention check.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::metadata::is_internal_topic;
use crate::storage::ReadError;
use crate::storage_io;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use tracing::info;

/// The offset that stands for the partition's high watermark.
const HIGH_WATERMARK: i64 = -1;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let image = broker.metadata.image();
    let auth = AuthHelper::new(broker, ctx);
    let mut moved = false;
    let topics = request
        .topics
        .iter()
        .map(|topic| {
            let authorized = auth.authorize(AclOperation::Delete, ResourceType::Topic, &topic.name);
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let result = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index);
                    let mut deleted = || -> Result<i64, ResponseError> {
                        if !authorized {
                            return Err(ResponseError::TopicAuthorizationFailed);
                        }
                        let topic_image = image
                            .topic(&topic.name)
                            .filter(|t| t.partitions.contains_key(&p.partition_index))
                            .ok_or(ResponseError::UnknownTopicOrPartition)?;
                        if is_internal_topic(&topic.name) {
                            return Err(ResponseError::InvalidTopicException);
                        }
                        let log = broker
                            .replicas
                            .log(&image, topic_image, p.partition_index)
                            .map_err(|_| ResponseError::KafkaStorageError)?;
                        if !log.config().delete {
                            return Err(ResponseError::PolicyViolation);
                        }
                        let offset = match p.offset {
                            HIGH_WATERMARK => log.high_watermark(),
                            offset if offset < 0 => return Err(ResponseError::OffsetOutOfRange),
                            offset => offset,
                        };
                        let before = log.log_start_offset();
                        let start = log.maybe_increment_log_start_offset(offset).map_err(|e| match e {
                            ReadError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
                            ReadError::Io(_) => ResponseError::KafkaStorageError,
                        })?;
                        if start != before {
                            moved = true;
                            info!(log = %log.topic_partition(), log_start_offset = start, "deleted records");
                        }
                        Ok(start)
                    };
                    match deleted() {
                        Ok(low_watermark) => result.with_low_watermark(low_watermark),
                        Err(error) => result.with_low_watermark(-1).with_error_code(error.code()),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    if moved {
        // Kept at once, so that a restart does not bring the records back.
        let logs = broker.replicas.logs();
        // A directory whose checkpoint cannot be written goes offline.
        storage_io::blocking(|| logs.checkpoint_log_start_offsets());
    }
    DeleteRecordsResponse::default().with_topics(topics)
}
