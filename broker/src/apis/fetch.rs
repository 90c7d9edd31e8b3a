//! Fetch (key 1): record batches from partition logs, byte for byte as stored.

use super::RequestContext;
use crate::broker::Broker;
use crate::metadata::{MetadataImage, TopicImage};
use crate::storage::ReadError;
use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use tracing::warn;

/// The session epoch that closes a session or asks for none.
const FINAL_EPOCH: i32 = -1;
/// `isolation_level` of a READ_COMMITTED consumer.
const READ_COMMITTED: i8 = 1;
/// Topics are named by id from Fetch v13 on.
const TOPIC_IDS_VERSION: i16 = 13;

pub async fn handle(broker: &Broker, ctx: &RequestContext, request: FetchRequest) -> FetchResponse {
    let mut response = FetchResponse::default();
    if request.session_id != 0 && request.session_epoch != FINAL_EPOCH {
        // Fetch sessions are not kept: every fetch is a full, sessionless one.
        response.error_code = ResponseError::FetchSessionIdNotFound.code();
        return response;
    }

    let image = broker.metadata.image();
    let mut read = ReadState {
        remaining_bytes: request.max_bytes.max(0) as usize,
        min_one_batch: true,
        read_committed: request.isolation_level == READ_COMMITTED,
    };
    response.responses = request
        .topics
        .iter()
        .map(|topic| fetch_topic(broker, ctx, &image, topic, &mut read))
        .collect();
    response
}

/// What is left of the response's byte budget.
struct ReadState {
    remaining_bytes: usize,
    /// Until some partition returns data, the first batch is returned even
    /// when it is larger than the limits (KIP-74).
    min_one_batch: bool,
    read_committed: bool,
}

fn fetch_topic(
    broker: &Broker,
    ctx: &RequestContext,
    image: &MetadataImage,
    topic: &FetchTopic,
    read: &mut ReadState,
) -> FetchableTopicResponse {
    let by_id = ctx.api_version >= TOPIC_IDS_VERSION;
    let resolved = if by_id {
        image.topic_by_id(&topic.topic_id)
    } else {
        image.topic(&topic.topic)
    };
    let unknown_topic = if by_id {
        ResponseError::UnknownTopicId
    } else {
        ResponseError::UnknownTopicOrPartition
    };
    let partitions = topic
        .partitions
        .iter()
        .map(|partition| match resolved {
            Some(found) => fetch_partition(broker, image, found, partition, read),
            None => error_partition(partition.partition, unknown_topic),
        })
        .collect();
    FetchableTopicResponse::default()
        .with_topic(topic.topic.clone())
        .with_topic_id(topic.topic_id)
        .with_partitions(partitions)
}

fn fetch_partition(
    broker: &Broker,
    image: &MetadataImage,
    topic: &TopicImage,
    request: &FetchPartition,
    read: &mut ReadState,
) -> PartitionData {
    let index = request.partition;
    let Some(registration) = topic.partitions.get(&index) else {
        return error_partition(index, ResponseError::UnknownTopicOrPartition);
    };
    if request.current_leader_epoch >= 0 {
        if request.current_leader_epoch < registration.leader_epoch {
            return error_partition(index, ResponseError::FencedLeaderEpoch);
        }
        if request.current_leader_epoch > registration.leader_epoch {
            return error_partition(index, ResponseError::UnknownLeaderEpoch);
        }
    }
    let log = match broker.replicas.log(image, topic, index) {
        Ok(log) => log,
        Err(e) => {
            warn!(topic = %topic.name, partition = index, "cannot open log: {e}");
            return error_partition(index, ResponseError::KafkaStorageError);
        }
    };
    let tp = log.topic_partition();
    let max_bytes = (request.partition_max_bytes.max(0) as usize).min(read.remaining_bytes);
    match log.read(request.fetch_offset, max_bytes, read.min_one_batch) {
        Ok(info) => {
            let size = info.records.len();
            read.remaining_bytes = read.remaining_bytes.saturating_sub(size);
            if size > 0 {
                read.min_one_batch = false;
            }
            PartitionData::default()
                .with_partition_index(index)
                .with_high_watermark(info.high_watermark)
                .with_last_stable_offset(info.high_watermark)
                .with_log_start_offset(info.log_start_offset)
                .with_aborted_transactions(read.read_committed.then(Vec::new))
                .with_records(Some(info.records))
        }
        Err(ReadError::OffsetOutOfRange { .. }) => {
            read_error(index, ResponseError::OffsetOutOfRange)
        }
        Err(ReadError::Io(e)) => {
            warn!(partition = %tp, "cannot read log: {e}");
            read_error(index, ResponseError::KafkaStorageError)
        }
    }
}

/// A partition that could not be looked up (Kafka's `partitionResponse`).
fn error_partition(index: i32, error: ResponseError) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(error.code())
        .with_high_watermark(-1)
        .with_records(None)
}

/// A partition whose read failed (Kafka's `createLogReadResult`).
fn read_error(index: i32, error: ResponseError) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(error.code())
        .with_high_watermark(-1)
        .with_aborted_transactions(None)
        .with_records(Some(Bytes::new()))
}
