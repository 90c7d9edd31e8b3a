//! ListOffsets (key 2): the earliest or latest offset of a partition, the
//! first offset at or after a timestamp, or the record with the largest
//! timestamp.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::storage::TimestampAndOffset;
use crate::storage_io;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use tracing::warn;

pub const LATEST_TIMESTAMP: i64 = -1;
pub const EARLIEST_TIMESTAMP: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
pub const EARLIEST_LOCAL_TIMESTAMP: i64 = -4;
pub const LATEST_TIERED_TIMESTAMP: i64 = -5;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ListOffsetsRequest,
) -> ListOffsetsResponse {
    // Leader epochs are part of the response from v4 on.
    let with_epoch = ctx.api_version >= 4;
    // READ_COMMITTED (isolation level 1, from v2 on) stops at the last stable offset.
    let read_committed = request.isolation_level == 1;
    let image = broker.metadata.image();
    let auth = AuthHelper::new(broker, ctx);
    let duplicates = super::repeated(request.topics.iter().flat_map(|t| {
        t.partitions
            .iter()
            .map(move |p| (t.name.as_str(), p.partition_index))
    }));

    let mut response = ListOffsetsResponse::default();
    response.topics = request
        .topics
        .iter()
        .map(|topic| {
            let topic_image = image.topic(&topic.name);
            let authorized = auth.authorize(AclOperation::Describe, ResourceType::Topic, &topic.name);
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let index = p.partition_index;
                    let answer = || -> Result<(i64, i64, i32), ResponseError> {
                        if !authorized {
                            return Err(ResponseError::TopicAuthorizationFailed);
                        }
                        if duplicates.contains(&(topic.name.as_str(), index)) {
                            return Err(ResponseError::InvalidRequest);
                        }
                        let topic_image = topic_image.ok_or(ResponseError::UnknownTopicOrPartition)?;
                        let registration = topic_image
                            .partitions
                            .get(&index)
                            .ok_or(ResponseError::UnknownTopicOrPartition)?;
                        if p.current_leader_epoch >= 0 && p.current_leader_epoch < registration.leader_epoch {
                            return Err(ResponseError::FencedLeaderEpoch);
                        }
                        if p.current_leader_epoch > registration.leader_epoch {
                            return Err(ResponseError::UnknownLeaderEpoch);
                        }
                        let log = broker
                            .replicas
                            .log(&image, topic_image, index)
                            .map_err(|_| ResponseError::KafkaStorageError)?;
                        // The epoch of the data the offset points into, while there is data.
                        let epoch = |offset: i64| if offset > 0 { registration.leader_epoch } else { -1 };
                        let found = |result: std::io::Result<Option<TimestampAndOffset>>| match result {
                            Ok(Some(found)) => Ok((found.timestamp, found.offset, found.leader_epoch)),
                            Ok(None) => Ok((-1, -1, -1)),
                            Err(e) => {
                                warn!(topic = %topic.name.as_str(), partition = index, "cannot search the log: {e}");
                                Err(ResponseError::KafkaStorageError)
                            }
                        };
                        // READ_COMMITTED sees only what is below the last stable offset.
                        let last_fetchable = if read_committed { log.last_stable_offset() } else { log.high_watermark() };
                        let found = |result| match found(result) {
                            Ok((_, offset, _)) if offset >= last_fetchable => Ok((-1, -1, -1)),
                            other => other,
                        };
                        match p.timestamp {
                            LATEST_TIMESTAMP => Ok((-1, last_fetchable, epoch(last_fetchable))),
                            EARLIEST_TIMESTAMP | EARLIEST_LOCAL_TIMESTAMP => {
                                let start = log.log_start_offset();
                                Ok((-1, start, epoch(log.log_end_offset())))
                            }
                            MAX_TIMESTAMP => found(storage_io::blocking(|| log.max_timestamp_and_offset())),
                            // No tiered storage: nothing has been tiered.
                            LATEST_TIERED_TIMESTAMP => Ok((-1, -1, -1)),
                            target => found(storage_io::blocking(|| log.fetch_offset_by_timestamp(target))),
                        }
                    };
                    match answer() {
                        Ok((timestamp, offset, leader_epoch)) => ListOffsetsPartitionResponse::default()
                            .with_partition_index(index)
                            .with_timestamp(timestamp)
                            .with_offset(offset)
                            .with_leader_epoch(if with_epoch { leader_epoch } else { -1 }),
                        Err(error) => ListOffsetsPartitionResponse::default()
                            .with_partition_index(index)
                            .with_error_code(error.code())
                            .with_timestamp(-1)
                            .with_offset(-1)
                            .with_leader_epoch(-1),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    response
}
