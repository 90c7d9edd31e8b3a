//! Produce (key 0): appends each partition's record batch to its log.
//!
//! Every topic and partition of the request is answered on its own: an
//! unknown partition or a bad batch fails that partition only. Batches are
//! checked and appended as bytes; only their base offset and partition
//! leader epoch are rewritten.

use super::auth_helper::AuthHelper;
use super::{Outcome, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::transaction_coordinator::{TransactionCoordinator, TransactionMetadata};
use crate::metadata::{MetadataImage, TopicImage, is_internal_topic};
use crate::storage::AppendError;
use crate::storage::producer_state::ProducerError;
use crate::storage::record_batch::{self, BatchError, BatchHeader};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::PartitionProduceData;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use tracing::{debug, error};

/// The client id Kafka lets write to internal topics (`AdminUtils.ADMIN_CLIENT_ID`).
const ADMIN_CLIENT_ID: &str = "__admin_client";

/// zstd is allowed from Produce v7 on.
const ZSTD_CODEC: i16 = 4;
const ZSTD_MIN_VERSION: i16 = 7;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: ProduceRequest,
) -> Outcome<ProduceResponse> {
    let image = broker.metadata.image();
    let valid_acks = matches!(request.acks, -1..=1);
    // A transactional producer's batches are checked against its
    // transaction, whose lock is held until they are appended: a batch
    // never lands after its transaction's marker (KIP-890's verification).
    let txn = request
        .transactional_id
        .as_ref()
        .and_then(|id| broker.txns.get(id));
    let txn = txn.as_ref().map(|t| t.lock());
    let auth = AuthHelper::new(broker, ctx);
    // Transactional batches fail the whole request unless the producer may
    // write its transactional id (none given: it cannot), as in Kafka's
    // KafkaApis.
    let unauthorized = (request.transactional_id.is_none() || auth.enabled())
        && request
            .topic_data
            .iter()
            .flat_map(|t| &t.partition_data)
            .any(|p| {
                p.records
                    .as_deref()
                    .is_some_and(record_batch::is_transactional)
            })
        && request.transactional_id.as_ref().is_none_or(|id| {
            !auth.authorize(AclOperation::Write, ResourceType::TransactionalId, id)
        });
    let mut failures = Vec::new();
    let mut response = ProduceResponse::default();
    for topic in &request.topic_data {
        let topic_authorized =
            unauthorized || auth.authorize(AclOperation::Write, ResourceType::Topic, &topic.name);
        let topic_image = image.topic(&topic.name);
        // Only topics that exist get counters (a client may name any).
        let topic_metrics = broker
            .metrics
            .as_ref()
            .filter(|_| topic_image.is_some())
            .map(|m| m.topic(&topic.name));
        let partition_responses = topic
            .partition_data
            .iter()
            .map(|partition| {
                let result = if unauthorized {
                    Err(Failure::new(
                        ResponseError::TransactionalIdAuthorizationFailed,
                    ))
                } else if !topic_authorized {
                    Err(Failure::new(ResponseError::TopicAuthorizationFailed))
                } else if valid_acks
                    && is_internal_topic(&topic.name)
                    && ctx.client_id.as_deref() != Some(ADMIN_CLIENT_ID)
                {
                    // The coordinators' topics take their records only
                    // (Kafka's `internalTopicsAllowed`).
                    Err(Failure::with_message(
                        ResponseError::InvalidTopicException,
                        format!("Cannot append to internal topic {}", topic.name.as_str()),
                    ))
                } else if valid_acks {
                    produce_partition(
                        broker,
                        &image,
                        ctx.api_version,
                        topic_image.map(|t| &**t),
                        partition,
                        txn.as_deref(),
                    )
                } else {
                    Err(Failure::new(ResponseError::InvalidRequiredAcks))
                };
                match result {
                    Ok((done, records)) => {
                        // A duplicate batch appends nothing and counts 0.
                        if let Some(metrics) = topic_metrics.as_ref().filter(|_| records > 0) {
                            let bytes = partition.records.as_ref().map_or(0, |r| r.len());
                            metrics.record_in(bytes, records);
                        }
                        done
                    }
                    Err(failure) => {
                        debug!(topic = %topic.name.as_str(), partition = partition.index,
                            error = ?failure.error, "produce failed");
                        failures.push(format!(
                            "{}-{}: {:?}",
                            topic.name.as_str(),
                            partition.index,
                            failure.error
                        ));
                        failure.into_response(partition.index)
                    }
                }
            })
            .collect();
        response.responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name.clone())
                .with_topic_id(topic.topic_id)
                .with_partition_responses(partition_responses),
        );
    }

    if request.acks == 0 {
        // The client expects no answer; as in Kafka, a failure closes the
        // connection so the client notices and refreshes its metadata.
        if failures.is_empty() {
            Outcome::NoResponse
        } else {
            Outcome::Close(format!(
                "produce with acks=0 (correlation id {}) failed: {}",
                ctx.correlation_id,
                failures.join(", ")
            ))
        }
    } else {
        Outcome::Respond(response)
    }
}

/// A partition's error, with the message Kafka would attach.
struct Failure {
    error: ResponseError,
    message: Option<String>,
    /// KIP-467: the records that failed the batch (index, message).
    record_errors: Vec<(i32, String)>,
}

impl Failure {
    fn new(error: ResponseError) -> Self {
        Failure {
            error,
            message: None,
            record_errors: Vec::new(),
        }
    }

    fn with_message(error: ResponseError, message: impl ToString) -> Self {
        Failure {
            error,
            message: Some(message.to_string()),
            record_errors: Vec::new(),
        }
    }

    fn into_response(self, index: i32) -> PartitionProduceResponse {
        PartitionProduceResponse::default()
            .with_index(index)
            .with_error_code(self.error.code())
            .with_base_offset(-1)
            .with_log_append_time_ms(-1)
            .with_log_start_offset(-1)
            .with_error_message(self.message.map(StrBytes::from_string))
            .with_record_errors(
                self.record_errors
                    .into_iter()
                    .map(|(index, message)| {
                        BatchIndexAndErrorMessage::default()
                            .with_batch_index(index)
                            .with_batch_index_error_message(Some(StrBytes::from_string(message)))
                    })
                    .collect(),
            )
    }
}

fn produce_partition(
    broker: &Broker,
    image: &MetadataImage,
    api_version: i16,
    topic: Option<&TopicImage>,
    partition: &PartitionProduceData,
    txn: Option<&TransactionMetadata>,
) -> Result<(PartitionProduceResponse, u64), Failure> {
    let (topic, registration) = topic
        .and_then(|t| Some((t, t.partitions.get(&partition.index)?)))
        .ok_or_else(|| Failure::new(ResponseError::UnknownTopicOrPartition))?;
    let records = partition.records.as_deref().unwrap_or_default();
    let header = validate_records(api_version, records)?;
    if header.is_transactional()
        && broker
            .replicas
            .broker_log_config()
            .transaction_partition_verification
    {
        // Kafka's AddPartitionsToTxnManager answers for an unknown
        // transactional id with INVALID_PRODUCER_ID_MAPPING.
        let txn = txn.ok_or_else(|| {
            Failure::with_message(
                ResponseError::InvalidProducerIdMapping,
                "the transactional id has no transaction",
            )
        })?;
        let tp = (topic.name.clone(), partition.index);
        TransactionCoordinator::verify_partition(
            txn,
            header.producer_id,
            header.producer_epoch,
            &tp,
        )
        .map_err(|e| {
            // A fenced producer's batch is INVALID_PRODUCER_EPOCH to Produce.
            let e = match e {
                ResponseError::ProducerFenced => ResponseError::InvalidProducerEpoch,
                other => other,
            };
            Failure::with_message(
                e,
                format!(
                    "the partition is not in an open transaction of producer {} with epoch {}",
                    header.producer_id, header.producer_epoch
                ),
            )
        })?;
    }

    let log = broker
        .replicas
        .log(image, topic, partition.index)
        .map_err(|e| {
            error!(topic = %topic.name, partition = partition.index, "cannot open log: {e}");
            Failure::new(ResponseError::KafkaStorageError)
        })?;
    let tp = log.topic_partition();
    let info = broker
        .replicas
        .append(&log, records, registration.leader_epoch)
        .map_err(|e| match e {
            AppendError::Corrupt(_) => Failure::with_message(ResponseError::CorruptMessage, e),
            AppendError::InvalidRecord(_) => Failure::with_message(ResponseError::InvalidRecord, e),
            AppendError::RecordErrors {
                invalid_timestamp,
                records,
                message,
            } => Failure {
                error: if invalid_timestamp {
                    ResponseError::InvalidTimestamp
                } else {
                    ResponseError::InvalidRecord
                },
                message: Some(message),
                record_errors: records,
            },
            AppendError::RecordTooLarge { .. } => {
                Failure::with_message(ResponseError::MessageTooLarge, e)
            }
            AppendError::RecordListTooLarge { .. } => {
                Failure::with_message(ResponseError::RecordListTooLarge, e)
            }
            AppendError::Producer(ProducerError::InvalidProducerEpoch { .. }) => {
                Failure::with_message(ResponseError::InvalidProducerEpoch, e)
            }
            AppendError::Producer(ProducerError::OutOfOrderSequence { .. }) => {
                Failure::with_message(ResponseError::OutOfOrderSequenceNumber, e)
            }
            AppendError::Producer(ProducerError::InvalidTxnState { .. }) => {
                Failure::with_message(ResponseError::InvalidTxnState, e)
            }
            AppendError::Producer(ProducerError::TransactionCoordinatorFenced { .. }) => {
                Failure::with_message(ResponseError::TransactionCoordinatorFenced, e)
            }
            AppendError::Deleted => Failure::new(ResponseError::UnknownTopicOrPartition),
            // The partition moved directory twice during the append.
            AppendError::Moved => Failure::new(ResponseError::NotLeaderOrFollower),
            AppendError::Io(ref io) => {
                error!(partition = %tp, "cannot append to log: {io}");
                Failure::new(ResponseError::KafkaStorageError)
            }
        })?;
    let response = PartitionProduceResponse::default()
        .with_index(partition.index)
        .with_base_offset(info.first_offset)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(info.log_start_offset);
    Ok((response, info.num_records))
}

/// Kafka's `ProduceRequest.validateRecords`: from v3 on, exactly one record
/// batch of magic 2 per partition, and zstd only from v7 on.
fn validate_records(api_version: i16, records: &[u8]) -> Result<BatchHeader, Failure> {
    if records.is_empty() {
        return Err(Failure::with_message(
            ResponseError::InvalidRecord,
            format!(
                "Produce requests with version {api_version} must have at least one record batch per partition"
            ),
        ));
    }
    let (header, size) = record_batch::check_structure(records, 0).map_err(|e| match e {
        BatchError::UnsupportedMagic { .. } => Failure::with_message(
            ResponseError::InvalidRecord,
            format!("Produce requests with version {api_version} are only allowed to contain record batches with magic version 2"),
        ),
        other => Failure::with_message(ResponseError::CorruptMessage, other),
    })?;
    if api_version < ZSTD_MIN_VERSION && header.compression_codec() == ZSTD_CODEC {
        return Err(Failure::with_message(
            ResponseError::UnsupportedCompressionType,
            format!(
                "Produce requests with version {api_version} are not allowed to use ZStandard compression"
            ),
        ));
    }
    if size < records.len() {
        return Err(Failure::with_message(
            ResponseError::InvalidRecord,
            format!(
                "Produce requests with version {api_version} are only allowed to contain exactly one record batch per partition"
            ),
        ));
    }
    Ok(header)
}
