//! Requests encoded and responses decoded by hand, from Kafka's message
//! schemas, for the versions the challenge uses. Decoders check the response
//! header version and that no bytes are left over.

use crate::wire::{Reader, Uuid, Writer};
use anyhow::{Context, Result, ensure};

pub const PRODUCE: i16 = 0;
pub const FETCH: i16 = 1;
pub const API_VERSIONS: i16 = 18;
pub const DESCRIBE_TOPIC_PARTITIONS: i16 = 75;

pub const CLIENT_ID: &str = "harness";

/// Kafka error codes the tests expect (Kafka's `Errors`).
pub mod error {
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub const CORRUPT_MESSAGE: i16 = 2;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const MESSAGE_TOO_LARGE: i16 = 10;
    pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
    pub const INVALID_REQUIRED_ACKS: i16 = 21;
    pub const UNSUPPORTED_VERSION: i16 = 35;
    pub const INVALID_REQUEST: i16 = 42;
    pub const FETCH_SESSION_ID_NOT_FOUND: i16 = 70;
    pub const FENCED_LEADER_EPOCH: i16 = 74;
    pub const UNKNOWN_LEADER_EPOCH: i16 = 75;
    pub const INVALID_RECORD: i16 = 87;
    pub const UNKNOWN_TOPIC_ID: i16 = 100;
}

/// Request header v1 (non-flexible requests) or v2 (flexible ones).
fn request_header(api_key: i16, api_version: i16, correlation_id: i32, flexible: bool) -> Writer {
    let mut w = Writer::new();
    w.i16(api_key)
        .i16(api_version)
        .i32(correlation_id)
        .nullable_string(Some(CLIENT_ID));
    if flexible {
        w.no_tags();
    }
    w
}

/// Request header v2, of flexible requests.
pub(crate) fn flexible_request_header(
    api_key: i16,
    api_version: i16,
    correlation_id: i32,
) -> Writer {
    request_header(api_key, api_version, correlation_id, true)
}

/// Request header v1, of non-flexible requests.
pub(crate) fn non_flexible_request_header(
    api_key: i16,
    api_version: i16,
    correlation_id: i32,
) -> Writer {
    request_header(api_key, api_version, correlation_id, false)
}

// ---------------------------------------------------------------- ApiVersions

pub fn api_versions_request(version: i16, correlation_id: i32) -> Vec<u8> {
    let flexible = version >= 3;
    let mut w = request_header(API_VERSIONS, version, correlation_id, flexible);
    if flexible {
        w.compact_string("kafka-harness")
            .compact_string("0.1.0")
            .no_tags();
    }
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersionsResponse {
    pub correlation_id: i32,
    pub error_code: i16,
    /// (api key, min version, max version)
    pub api_keys: Vec<(i16, i16, i16)>,
    pub throttle_time_ms: Option<i32>,
    /// v3+: the tagged feature fields.
    pub features: Features,
}

/// ApiVersions v3+'s tagged fields: supported features (tag 0), the
/// finalized features' epoch (tag 1) and the finalized levels (tag 2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// (name, min version, max version)
    pub supported: Vec<(String, i16, i16)>,
    pub finalized_epoch: Option<i64>,
    /// (name, min version level, max version level)
    pub finalized: Vec<(String, i16, i16)>,
}

impl Features {
    /// The finalized level of `name`, when min and max agree (KRaft).
    pub fn finalized_level(&self, name: &str) -> Option<i16> {
        self.finalized
            .iter()
            .find(|(n, min, max)| n == name && min == max)
            .map(|(_, _, max)| *max)
    }
}

fn decode_features(tags: Vec<(u64, &[u8])>) -> Result<Features> {
    let mut features = Features::default();
    for (tag, bytes) in tags {
        let mut r = Reader::new(bytes);
        match tag {
            0 => {
                features.supported = r.compact_array(|r| {
                    let entry = (r.compact_string()?, r.i16()?, r.i16()?);
                    r.no_tags()?;
                    Ok(entry)
                })?
            }
            1 => features.finalized_epoch = Some(r.i64()?),
            2 => {
                features.finalized = r.compact_array(|r| {
                    let name = r.compact_string()?;
                    let max = r.i16()?;
                    let min = r.i16()?;
                    r.no_tags()?;
                    Ok((name, min, max))
                })?
            }
            3 => {
                r.bool()?;
            }
            other => anyhow::bail!("unknown ApiVersions tag {other}"),
        }
        r.finish()?;
    }
    Ok(features)
}

impl ApiVersionsResponse {
    pub fn versions_of(&self, api_key: i16) -> Option<(i16, i16)> {
        self.api_keys
            .iter()
            .find(|(key, _, _)| *key == api_key)
            .map(|&(_, min, max)| (min, max))
    }
}

/// Decodes an ApiVersions response of `version`; its header is always v0.
pub fn decode_api_versions_response(bytes: &[u8], version: i16) -> Result<ApiVersionsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = r.i32()?;
    let error_code = r.i16()?;
    let api_keys = if version >= 3 {
        r.compact_array(|r| {
            let entry = (r.i16()?, r.i16()?, r.i16()?);
            r.tagged_fields()?;
            Ok(entry)
        })?
    } else {
        r.nullable_array(|r| Ok((r.i16()?, r.i16()?, r.i16()?)))?
            .context("null api_keys")?
    };
    let throttle_time_ms = if version >= 1 { Some(r.i32()?) } else { None };
    let features = if version >= 3 {
        decode_features(r.tagged_fields()?)?
    } else {
        Features::default()
    };
    r.finish()?;
    Ok(ApiVersionsResponse {
        correlation_id,
        error_code,
        api_keys,
        throttle_time_ms,
        features,
    })
}

// ------------------------------------------------------ DescribeTopicPartitions

pub fn describe_topic_partitions_request(
    correlation_id: i32,
    topics: &[&str],
    response_partition_limit: i32,
    cursor: Option<(&str, i32)>,
) -> Vec<u8> {
    let mut w = request_header(DESCRIBE_TOPIC_PARTITIONS, 0, correlation_id, true);
    w.compact_array_len(topics.len());
    for topic in topics {
        w.compact_string(topic).no_tags();
    }
    w.i32(response_partition_limit);
    match cursor {
        None => w.i8(-1),
        Some((topic, partition)) => w.i8(1).compact_string(topic).i32(partition).no_tags(),
    };
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedPartition {
    pub error_code: i16,
    pub partition_index: i32,
    pub leader_id: i32,
    pub leader_epoch: i32,
    pub replica_nodes: Vec<i32>,
    pub isr_nodes: Vec<i32>,
    pub eligible_leader_replicas: Option<Vec<i32>>,
    pub last_known_elr: Option<Vec<i32>>,
    pub offline_replicas: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedTopic {
    pub error_code: i16,
    pub name: Option<String>,
    pub topic_id: Uuid,
    pub is_internal: bool,
    pub partitions: Vec<DescribedPartition>,
    pub topic_authorized_operations: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeTopicPartitionsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub topics: Vec<DescribedTopic>,
    pub next_cursor: Option<(String, i32)>,
}

/// Response header v1: correlation id and (empty) tagged fields.
pub(crate) fn response_header_v1(r: &mut Reader<'_>) -> Result<i32> {
    let correlation_id = r.i32()?;
    r.no_tags().context("response header tagged fields")?;
    Ok(correlation_id)
}

pub fn decode_describe_topic_partitions_response(
    bytes: &[u8],
) -> Result<DescribeTopicPartitionsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header_v1(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let topics = r.compact_array(|r| {
        let error_code = r.i16()?;
        let name = r.compact_nullable_string()?;
        let topic_id = r.uuid()?;
        let is_internal = r.bool()?;
        let partitions = r.compact_array(|r| {
            let partition = DescribedPartition {
                error_code: r.i16()?,
                partition_index: r.i32()?,
                leader_id: r.i32()?,
                leader_epoch: r.i32()?,
                replica_nodes: r.compact_i32_array()?,
                isr_nodes: r.compact_i32_array()?,
                eligible_leader_replicas: r.compact_nullable_array(|r| r.i32())?,
                last_known_elr: r.compact_nullable_array(|r| r.i32())?,
                offline_replicas: r.compact_i32_array()?,
            };
            r.no_tags()?;
            Ok(partition)
        })?;
        let topic_authorized_operations = r.i32()?;
        r.no_tags()?;
        Ok(DescribedTopic {
            error_code,
            name,
            topic_id,
            is_internal,
            partitions,
            topic_authorized_operations,
        })
    })?;
    let next_cursor = match r.i8()? {
        -1 => None,
        1 => {
            let cursor = (r.compact_string()?, r.i32()?);
            r.no_tags()?;
            Some(cursor)
        }
        other => anyhow::bail!("cursor presence byte {other}"),
    };
    r.no_tags()?;
    r.finish()?;
    Ok(DescribeTopicPartitionsResponse {
        correlation_id,
        throttle_time_ms,
        topics,
        next_cursor,
    })
}

// ---------------------------------------------------------------------- Fetch

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPartitionRequest {
    pub partition: i32,
    pub current_leader_epoch: i32,
    pub fetch_offset: i64,
    pub partition_max_bytes: i32,
}

impl FetchPartitionRequest {
    pub fn new(partition: i32, fetch_offset: i64) -> Self {
        FetchPartitionRequest {
            partition,
            current_leader_epoch: -1,
            fetch_offset,
            partition_max_bytes: i32::MAX,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub max_wait_ms: i32,
    pub min_bytes: i32,
    pub max_bytes: i32,
    pub isolation_level: i8,
    pub session_id: i32,
    pub session_epoch: i32,
    pub topics: Vec<(Uuid, Vec<FetchPartitionRequest>)>,
}

impl FetchRequest {
    /// The challenge's Fetch: no session, no wait, no size limit.
    pub fn new(topics: Vec<(Uuid, Vec<FetchPartitionRequest>)>) -> Self {
        FetchRequest {
            max_wait_ms: 0,
            min_bytes: 1,
            max_bytes: i32::MAX,
            isolation_level: 0,
            session_id: 0,
            session_epoch: -1,
            topics,
        }
    }

    /// Encodes the request as Fetch v16.
    pub fn encode_v16(&self, correlation_id: i32) -> Vec<u8> {
        let mut w = request_header(FETCH, 16, correlation_id, true);
        w.i32(self.max_wait_ms)
            .i32(self.min_bytes)
            .i32(self.max_bytes)
            .i8(self.isolation_level)
            .i32(self.session_id)
            .i32(self.session_epoch)
            .compact_array_len(self.topics.len());
        for (topic_id, partitions) in &self.topics {
            w.uuid(topic_id).compact_array_len(partitions.len());
            for p in partitions {
                w.i32(p.partition)
                    .i32(p.current_leader_epoch)
                    .i64(p.fetch_offset)
                    .i32(-1)
                    .i64(-1)
                    .i32(p.partition_max_bytes)
                    .no_tags();
            }
            w.no_tags();
        }
        w.compact_array_len(0).compact_string("").no_tags();
        w.into_bytes()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPartition {
    pub partition_index: i32,
    pub error_code: i16,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    pub aborted_transactions: Option<Vec<(i64, i64)>>,
    pub preferred_read_replica: i32,
    pub records: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub session_id: i32,
    pub responses: Vec<(Uuid, Vec<FetchedPartition>)>,
}

impl FetchResponse {
    /// The first partition of the first topic answered.
    pub fn only_partition(&self) -> Result<&FetchedPartition> {
        self.responses
            .first()
            .and_then(|(_, p)| p.first())
            .context("no partition in the response")
    }
}

impl FetchedPartition {
    /// The batches fetched, decoded (whole batches only).
    pub fn batches(&self) -> Result<Vec<crate::batch::DecodedBatch>> {
        crate::batch::decode_batches(self.records.as_deref().unwrap_or_default())
    }

    /// The bytes of the first batch fetched, not decoded. A broker may end
    /// a fetch with part of a batch (Kafka does); that part is ignored.
    pub fn first_batch(&self) -> Result<&[u8]> {
        let records = self.records.as_deref().unwrap_or_default();
        ensure!(
            records.len() >= 12,
            "{} bytes fetched: no batch",
            records.len()
        );
        let length = i32::from_be_bytes(records[8..12].try_into()?);
        ensure!(length >= 0, "first batch length {length}");
        let size = 12 + length as usize;
        records.get(..size).with_context(|| {
            format!(
                "the first batch has {size} bytes but only {} were fetched",
                records.len()
            )
        })
    }
}

pub fn decode_fetch_response_v16(bytes: &[u8]) -> Result<FetchResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header_v1(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let session_id = r.i32()?;
    let responses = r.compact_array(|r| {
        let topic_id = r.uuid()?;
        let partitions = r.compact_array(|r| {
            let partition = FetchedPartition {
                partition_index: r.i32()?,
                error_code: r.i16()?,
                high_watermark: r.i64()?,
                last_stable_offset: r.i64()?,
                log_start_offset: r.i64()?,
                aborted_transactions: r.compact_nullable_array(|r| {
                    let entry = (r.i64()?, r.i64()?);
                    r.no_tags()?;
                    Ok(entry)
                })?,
                preferred_read_replica: r.i32()?,
                records: r.compact_nullable_bytes()?.map(<[u8]>::to_vec),
            };
            r.tagged_fields()?;
            Ok(partition)
        })?;
        r.no_tags()?;
        Ok((topic_id, partitions))
    })?;
    r.tagged_fields()?;
    r.finish()?;
    Ok(FetchResponse {
        correlation_id,
        throttle_time_ms,
        error_code,
        session_id,
        responses,
    })
}

// -------------------------------------------------------------------- Produce

/// A topic of a Produce request: its name and, per partition, the records.
pub type ProduceTopic = (String, Vec<(i32, Option<Vec<u8>>)>);

/// Encodes a Produce v11 request.
pub fn produce_request_v11(correlation_id: i32, acks: i16, topics: &[ProduceTopic]) -> Vec<u8> {
    produce_request_v11_transactional(correlation_id, None, acks, topics)
}

/// Encodes a Produce v11 request of a transactional producer (or of any
/// producer, with `transactional_id` `None`).
pub fn produce_request_v11_transactional(
    correlation_id: i32,
    transactional_id: Option<&str>,
    acks: i16,
    topics: &[ProduceTopic],
) -> Vec<u8> {
    let mut w = request_header(PRODUCE, 11, correlation_id, true);
    w.compact_nullable_string(transactional_id)
        .i16(acks)
        .i32(30_000);
    w.compact_array_len(topics.len());
    for (name, partitions) in topics {
        w.compact_string(name).compact_array_len(partitions.len());
        for (index, records) in partitions {
            w.i32(*index)
                .compact_nullable_bytes(records.as_deref())
                .no_tags();
        }
        w.no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducedPartition {
    pub index: i32,
    pub error_code: i16,
    pub base_offset: i64,
    pub log_append_time_ms: i64,
    pub log_start_offset: i64,
    pub record_errors: Vec<(i32, Option<String>)>,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceResponse {
    pub correlation_id: i32,
    pub responses: Vec<(String, Vec<ProducedPartition>)>,
    pub throttle_time_ms: i32,
}

impl ProduceResponse {
    pub fn partition(&self, topic: &str, index: i32) -> Option<&ProducedPartition> {
        self.responses
            .iter()
            .filter(|(name, _)| name == topic)
            .flat_map(|(_, partitions)| partitions)
            .find(|p| p.index == index)
    }
}

pub fn decode_produce_response_v11(bytes: &[u8]) -> Result<ProduceResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header_v1(&mut r)?;
    let responses = r.compact_array(|r| {
        let name = r.compact_string()?;
        let partitions = r.compact_array(|r| {
            let partition = ProducedPartition {
                index: r.i32()?,
                error_code: r.i16()?,
                base_offset: r.i64()?,
                log_append_time_ms: r.i64()?,
                log_start_offset: r.i64()?,
                record_errors: r.compact_array(|r| {
                    let entry = (r.i32()?, r.compact_nullable_string()?);
                    r.no_tags()?;
                    Ok(entry)
                })?,
                error_message: r.compact_nullable_string()?,
            };
            r.tagged_fields()?;
            Ok(partition)
        })?;
        r.no_tags()?;
        Ok((name, partitions))
    })?;
    let throttle_time_ms = r.i32()?;
    r.tagged_fields()?;
    r.finish()?;
    Ok(ProduceResponse {
        correlation_id,
        responses,
        throttle_time_ms,
    })
}

/// Checks that a decoded response answers `correlation_id`.
pub fn ensure_correlation(actual: i32, expected: i32) -> Result<()> {
    ensure!(
        actual == expected,
        "correlation id {actual}, expected {expected}"
    );
    Ok(())
}
