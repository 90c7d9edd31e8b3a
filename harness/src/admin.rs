//! Requests encoded and responses decoded by hand, from Kafka's message
//! schemas, for the metadata and admin APIs: Metadata v12, ListOffsets v9,
//! CreateTopics v7, DeleteTopics v6, DeleteRecords v2, CreatePartitions v3, InitProducerId v5,
//! OffsetForLeaderEpoch v4, ElectLeaders v2, AlterPartitionReassignments v1,
//! ListPartitionReassignments v0,
//! AlterConfigs v2, IncrementalAlterConfigs v1,
//! DescribeConfigs v4 and DescribeCluster v1. All of them are flexible
//! versions: request header v2, response header v1. Decoders accept tagged
//! fields only where the schema defines some, and reject bytes left over.

use crate::protocol::{
    flexible_request_header as request_header, response_header_v1 as response_header,
};
use crate::wire::{Reader, Uuid, ZERO_UUID, compact_strings};
use anyhow::{Context, Result, ensure};

pub const LIST_OFFSETS: i16 = 2;
pub const METADATA: i16 = 3;
pub const CREATE_TOPICS: i16 = 19;
pub const DELETE_TOPICS: i16 = 20;
pub const DELETE_RECORDS: i16 = 21;
pub const INIT_PRODUCER_ID: i16 = 22;
pub const OFFSET_FOR_LEADER_EPOCH: i16 = 23;
pub const DESCRIBE_CONFIGS: i16 = 32;
pub const ALTER_CONFIGS: i16 = 33;
pub const ELECT_LEADERS: i16 = 43;
pub const INCREMENTAL_ALTER_CONFIGS: i16 = 44;
pub const ALTER_PARTITION_REASSIGNMENTS: i16 = 45;
pub const LIST_PARTITION_REASSIGNMENTS: i16 = 46;
pub const CREATE_PARTITIONS: i16 = 37;
pub const DESCRIBE_CLUSTER: i16 = 60;

pub const METADATA_VERSION: i16 = 12;
pub const LIST_OFFSETS_VERSION: i16 = 9;
pub const CREATE_TOPICS_VERSION: i16 = 7;
pub const DELETE_TOPICS_VERSION: i16 = 6;
pub const DELETE_RECORDS_VERSION: i16 = 2;
pub const CREATE_PARTITIONS_VERSION: i16 = 3;
pub const INIT_PRODUCER_ID_VERSION: i16 = 5;
pub const OFFSET_FOR_LEADER_EPOCH_VERSION: i16 = 4;
pub const DESCRIBE_CONFIGS_VERSION: i16 = 4;
pub const ALTER_CONFIGS_VERSION: i16 = 2;
pub const INCREMENTAL_ALTER_CONFIGS_VERSION: i16 = 1;

/// IncrementalAlterConfigs operations (Kafka's `AlterConfigOp.OpType`).
pub mod config_op {
    pub const SET: i8 = 0;
    pub const DELETE: i8 = 1;
    pub const APPEND: i8 = 2;
    pub const SUBTRACT: i8 = 3;
}
pub const DESCRIBE_CLUSTER_VERSION: i16 = 1;

/// Special timestamps of ListOffsets (Kafka's `ListOffsetsRequest`).
pub const LATEST_TIMESTAMP: i64 = -1;
pub const EARLIEST_TIMESTAMP: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;

/// Resource types of DescribeConfigs (Kafka's `ConfigResource.Type`).
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
/// A group's own configs (KIP-848, KIP-932), named by the group id.
pub const RESOURCE_GROUP: i8 = 32;

/// Config sources of DescribeConfigs and CreateTopics (Kafka's
/// `DescribeConfigsResponse.ConfigSource`).
pub mod config_source {
    pub const UNKNOWN: i8 = 0;
    pub const TOPIC_CONFIG: i8 = 1;
    pub const DYNAMIC_BROKER_CONFIG: i8 = 2;
    pub const DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;
    pub const STATIC_BROKER_CONFIG: i8 = 4;
    pub const DEFAULT_CONFIG: i8 = 5;
    pub const GROUP_CONFIG: i8 = 8;
}

/// DescribeCluster endpoint types.
pub const ENDPOINT_TYPE_BROKERS: i8 = 1;
pub const ENDPOINT_TYPE_CONTROLLERS: i8 = 2;

/// Kafka error codes of these APIs (Kafka's `Errors`), beyond those in
/// [`crate::protocol::error`].
pub mod error {
    pub const TOPIC_ALREADY_EXISTS: i16 = 36;
    pub const INVALID_PARTITIONS: i16 = 37;
    pub const INVALID_REPLICATION_FACTOR: i16 = 38;
    pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
    pub const INVALID_CONFIG: i16 = 40;
    pub const POLICY_VIOLATION: i16 = 44;
    pub const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
    pub const TOPIC_DELETION_DISABLED: i16 = 73;
    pub const UNSUPPORTED_ENDPOINT_TYPE: i16 = 115;
}

// ------------------------------------------------------------------- Metadata

/// Metadata v12 for `topics` by name, or for all topics when `None`.
pub fn metadata_request(
    correlation_id: i32,
    topics: Option<&[&str]>,
    allow_auto_topic_creation: bool,
    include_topic_authorized_operations: bool,
) -> Vec<u8> {
    let mut w = request_header(METADATA, METADATA_VERSION, correlation_id);
    match topics {
        None => {
            w.uvarint(0);
        }
        Some(topics) => {
            w.compact_array_len(topics.len());
            for name in topics {
                w.uuid(&ZERO_UUID)
                    .compact_nullable_string(Some(name))
                    .no_tags();
            }
        }
    }
    w.bool(allow_auto_topic_creation)
        .bool(include_topic_authorized_operations)
        .no_tags();
    w.into_bytes()
}

/// Metadata v12 for topics by id (their names null).
pub fn metadata_request_by_id(
    correlation_id: i32,
    topic_ids: &[Uuid],
    include_topic_authorized_operations: bool,
) -> Vec<u8> {
    let mut w = request_header(METADATA, METADATA_VERSION, correlation_id);
    w.compact_array_len(topic_ids.len());
    for id in topic_ids {
        w.uuid(id).compact_nullable_string(None).no_tags();
    }
    w.bool(false)
        .bool(include_topic_authorized_operations)
        .no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataBroker {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataPartition {
    pub error_code: i16,
    pub partition_index: i32,
    pub leader_id: i32,
    pub leader_epoch: i32,
    pub replica_nodes: Vec<i32>,
    pub isr_nodes: Vec<i32>,
    pub offline_replicas: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataTopic {
    pub error_code: i16,
    pub name: Option<String>,
    pub topic_id: Uuid,
    pub is_internal: bool,
    pub partitions: Vec<MetadataPartition>,
    pub topic_authorized_operations: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub brokers: Vec<MetadataBroker>,
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub topics: Vec<MetadataTopic>,
}

impl MetadataResponse {
    pub fn topic(&self, name: &str) -> Option<&MetadataTopic> {
        self.topics.iter().find(|t| t.name.as_deref() == Some(name))
    }
}

pub fn decode_metadata_response(bytes: &[u8]) -> Result<MetadataResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let brokers = r.compact_array(|r| {
        let broker = MetadataBroker {
            node_id: r.i32()?,
            host: r.compact_string()?,
            port: r.i32()?,
            rack: r.compact_nullable_string()?,
        };
        r.no_tags()?;
        Ok(broker)
    })?;
    let cluster_id = r.compact_nullable_string()?;
    let controller_id = r.i32()?;
    let topics = r.compact_array(|r| {
        let error_code = r.i16()?;
        let name = r.compact_nullable_string()?;
        let topic_id = r.uuid()?;
        let is_internal = r.bool()?;
        let partitions = r.compact_array(|r| {
            let partition = MetadataPartition {
                error_code: r.i16()?,
                partition_index: r.i32()?,
                leader_id: r.i32()?,
                leader_epoch: r.i32()?,
                replica_nodes: r.compact_i32_array()?,
                isr_nodes: r.compact_i32_array()?,
                offline_replicas: r.compact_i32_array()?,
            };
            r.no_tags()?;
            Ok(partition)
        })?;
        let topic_authorized_operations = r.i32()?;
        r.no_tags()?;
        Ok(MetadataTopic {
            error_code,
            name,
            topic_id,
            is_internal,
            partitions,
            topic_authorized_operations,
        })
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(MetadataResponse {
        correlation_id,
        throttle_time_ms,
        brokers,
        cluster_id,
        controller_id,
        topics,
    })
}

// ---------------------------------------------------------------- ListOffsets

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsPartitionRequest {
    pub partition_index: i32,
    pub current_leader_epoch: i32,
    pub timestamp: i64,
}

impl ListOffsetsPartitionRequest {
    /// A partition at `timestamp` (or [`LATEST_TIMESTAMP`], ...), with no
    /// leader epoch check.
    pub fn new(partition_index: i32, timestamp: i64) -> Self {
        ListOffsetsPartitionRequest {
            partition_index,
            current_leader_epoch: -1,
            timestamp,
        }
    }
}

/// ListOffsets v9, as a consumer (replica id -1).
pub fn list_offsets_request(
    correlation_id: i32,
    isolation_level: i8,
    topics: &[(&str, Vec<ListOffsetsPartitionRequest>)],
) -> Vec<u8> {
    let mut w = request_header(LIST_OFFSETS, LIST_OFFSETS_VERSION, correlation_id);
    w.i32(-1)
        .i8(isolation_level)
        .compact_array_len(topics.len());
    for (name, partitions) in topics {
        w.compact_string(name).compact_array_len(partitions.len());
        for p in partitions {
            w.i32(p.partition_index)
                .i32(p.current_leader_epoch)
                .i64(p.timestamp)
                .no_tags();
        }
        w.no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedOffsetPartition {
    pub partition_index: i32,
    pub error_code: i16,
    pub timestamp: i64,
    pub offset: i64,
    pub leader_epoch: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub topics: Vec<(String, Vec<ListedOffsetPartition>)>,
}

impl ListOffsetsResponse {
    pub fn partition(&self, topic: &str, index: i32) -> Option<&ListedOffsetPartition> {
        self.topics
            .iter()
            .filter(|(name, _)| name == topic)
            .flat_map(|(_, partitions)| partitions)
            .find(|p| p.partition_index == index)
    }
}

pub fn decode_list_offsets_response(bytes: &[u8]) -> Result<ListOffsetsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let topics = r.compact_array(|r| {
        let name = r.compact_string()?;
        let partitions = r.compact_array(|r| {
            let partition = ListedOffsetPartition {
                partition_index: r.i32()?,
                error_code: r.i16()?,
                timestamp: r.i64()?,
                offset: r.i64()?,
                leader_epoch: r.i32()?,
            };
            r.no_tags()?;
            Ok(partition)
        })?;
        r.no_tags()?;
        Ok((name, partitions))
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(ListOffsetsResponse {
        correlation_id,
        throttle_time_ms,
        topics,
    })
}

// ------------------------------------------------------- OffsetForLeaderEpoch

/// A partition of an OffsetForLeaderEpoch request: where does
/// `leader_epoch` end, checked against `current_leader_epoch` (-1: no
/// check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochQuery {
    pub partition: i32,
    pub current_leader_epoch: i32,
    pub leader_epoch: i32,
}

/// OffsetForLeaderEpoch v4 (flexible), as a consumer (replica id -1).
pub fn offset_for_leader_epoch_request(
    correlation_id: i32,
    topics: &[(&str, Vec<EpochQuery>)],
) -> Vec<u8> {
    let mut w = request_header(
        OFFSET_FOR_LEADER_EPOCH,
        OFFSET_FOR_LEADER_EPOCH_VERSION,
        correlation_id,
    );
    w.i32(-1).compact_array_len(topics.len());
    for (name, partitions) in topics {
        w.compact_string(name).compact_array_len(partitions.len());
        for p in partitions {
            w.i32(p.partition)
                .i32(p.current_leader_epoch)
                .i32(p.leader_epoch)
                .no_tags();
        }
        w.no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEndOffset {
    pub error_code: i16,
    pub partition: i32,
    pub leader_epoch: i32,
    pub end_offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetForLeaderEpochResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub topics: Vec<(String, Vec<EpochEndOffset>)>,
}

pub fn decode_offset_for_leader_epoch_response(
    bytes: &[u8],
) -> Result<OffsetForLeaderEpochResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let topics = r.compact_array(|r| {
        let name = r.compact_string()?;
        let partitions = r.compact_array(|r| {
            let partition = EpochEndOffset {
                error_code: r.i16()?,
                partition: r.i32()?,
                leader_epoch: r.i32()?,
                end_offset: r.i64()?,
            };
            r.no_tags()?;
            Ok(partition)
        })?;
        r.no_tags()?;
        Ok((name, partitions))
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(OffsetForLeaderEpochResponse {
        correlation_id,
        throttle_time_ms,
        topics,
    })
}

// --------------------------------------- ElectLeaders and partition reassignments

/// A partition's result in ElectLeaders v2 or AlterPartitionReassignments v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOutcome {
    pub partition: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
}

/// The answer of ElectLeaders v2 or AlterPartitionReassignments v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionsOutcome {
    pub correlation_id: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    pub topics: Vec<(String, Vec<PartitionOutcome>)>,
}

impl PartitionsOutcome {
    /// (topic, partition, error code) of every result, in response order.
    pub fn codes(&self) -> Vec<(String, i32, i16)> {
        self.topics
            .iter()
            .flat_map(|(name, partitions)| {
                partitions
                    .iter()
                    .map(move |p| (name.clone(), p.partition, p.error_code))
            })
            .collect()
    }
}

fn partition_outcomes(r: &mut Reader<'_>) -> Result<Vec<(String, Vec<PartitionOutcome>)>> {
    r.compact_array(|r| {
        let name = r.compact_string()?;
        let partitions = r.compact_array(|r| {
            let outcome = PartitionOutcome {
                partition: r.i32()?,
                error_code: r.i16()?,
                error_message: r.compact_nullable_string()?,
            };
            r.no_tags()?;
            Ok(outcome)
        })?;
        r.no_tags()?;
        Ok((name, partitions))
    })
}

/// ElectLeaders v2: `election_type` 0 (preferred) or 1 (unclean) for
/// `topics` ((name, partitions)), or for every partition when `None`.
pub fn elect_leaders_request(
    correlation_id: i32,
    election_type: i8,
    topics: Option<&[(&str, Vec<i32>)]>,
) -> Vec<u8> {
    let mut w = request_header(ELECT_LEADERS, 2, correlation_id);
    w.i8(election_type);
    match topics {
        None => {
            w.uvarint(0);
        }
        Some(topics) => {
            w.compact_array_len(topics.len());
            for (name, partitions) in topics {
                w.compact_string(name)
                    .compact_i32_array(partitions)
                    .no_tags();
            }
        }
    }
    w.i32(5000).no_tags();
    w.into_bytes()
}

pub fn decode_elect_leaders_response(bytes: &[u8]) -> Result<PartitionsOutcome> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let _throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let topics = partition_outcomes(&mut r)?;
    r.no_tags()?;
    r.finish()?;
    Ok(PartitionsOutcome {
        correlation_id,
        error_code,
        error_message: None,
        topics,
    })
}

/// A partition and its new replica set, or None to cancel.
pub type Reassignment = (i32, Option<Vec<i32>>);

/// AlterPartitionReassignments v1: for each (topic, [(partition, replica
/// set, or None to cancel)]).
pub fn alter_partition_reassignments_request(
    correlation_id: i32,
    allow_replication_factor_change: bool,
    topics: &[(&str, Vec<Reassignment>)],
) -> Vec<u8> {
    let mut w = request_header(ALTER_PARTITION_REASSIGNMENTS, 1, correlation_id);
    w.i32(5000)
        .bool(allow_replication_factor_change)
        .compact_array_len(topics.len());
    for (name, partitions) in topics {
        w.compact_string(name).compact_array_len(partitions.len());
        for (index, replicas) in partitions {
            w.i32(*index);
            match replicas {
                None => w.uvarint(0),
                Some(replicas) => w.compact_i32_array(replicas),
            };
            w.no_tags();
        }
        w.no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

pub fn decode_alter_partition_reassignments_response(bytes: &[u8]) -> Result<PartitionsOutcome> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let _throttle_time_ms = r.i32()?;
    let _allow_replication_factor_change = r.bool()?;
    let error_code = r.i16()?;
    let error_message = r.compact_nullable_string()?;
    let topics = partition_outcomes(&mut r)?;
    r.no_tags()?;
    r.finish()?;
    Ok(PartitionsOutcome {
        correlation_id,
        error_code,
        error_message,
        topics,
    })
}

/// ListPartitionReassignments v0 for `topics`, or for all when `None`.
pub fn list_partition_reassignments_request(
    correlation_id: i32,
    topics: Option<&[(&str, Vec<i32>)]>,
) -> Vec<u8> {
    let mut w = request_header(LIST_PARTITION_REASSIGNMENTS, 0, correlation_id);
    w.i32(5000);
    match topics {
        None => {
            w.uvarint(0);
        }
        Some(topics) => {
            w.compact_array_len(topics.len());
            for (name, partitions) in topics {
                w.compact_string(name)
                    .compact_i32_array(partitions)
                    .no_tags();
            }
        }
    }
    w.no_tags();
    w.into_bytes()
}

/// (error code, ongoing reassignments: (topic, partition, replicas,
/// adding, removing)).
pub type ListedReassignments = (i16, Vec<(String, i32, Vec<i32>, Vec<i32>, Vec<i32>)>);

pub fn decode_list_partition_reassignments_response(bytes: &[u8]) -> Result<ListedReassignments> {
    let mut r = Reader::new(bytes);
    let _correlation_id = response_header(&mut r)?;
    let _throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let _error_message = r.compact_nullable_string()?;
    let topics = r.compact_array(|r| {
        let name = r.compact_string()?;
        let partitions = r.compact_array(|r| {
            let index = r.i32()?;
            let replicas = r.compact_array(|r| r.i32())?;
            let adding = r.compact_array(|r| r.i32())?;
            let removing = r.compact_array(|r| r.i32())?;
            r.no_tags()?;
            Ok((index, replicas, adding, removing))
        })?;
        r.no_tags()?;
        Ok((name, partitions))
    })?;
    r.no_tags()?;
    r.finish()?;
    let listed = topics
        .into_iter()
        .flat_map(|(name, partitions)| {
            partitions
                .into_iter()
                .map(move |(i, rep, add, rem)| (name.clone(), i, rep, add, rem))
        })
        .collect();
    Ok((error_code, listed))
}

// --------------------------------------------------------------- CreateTopics

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatableTopic {
    pub name: String,
    pub num_partitions: i32,
    pub replication_factor: i16,
    /// (partition index, broker ids); empty for automatic assignment.
    pub assignments: Vec<(i32, Vec<i32>)>,
    /// (config name, value).
    pub configs: Vec<(String, Option<String>)>,
}

impl CreatableTopic {
    pub fn new(name: &str, num_partitions: i32, replication_factor: i16) -> Self {
        CreatableTopic {
            name: name.to_owned(),
            num_partitions,
            replication_factor,
            assignments: Vec::new(),
            configs: Vec::new(),
        }
    }

    pub fn with_config(mut self, name: &str, value: Option<&str>) -> Self {
        self.configs
            .push((name.to_owned(), value.map(str::to_owned)));
        self
    }
}

/// CreateTopics v7.
pub fn create_topics_request(
    correlation_id: i32,
    topics: &[CreatableTopic],
    timeout_ms: i32,
    validate_only: bool,
) -> Vec<u8> {
    create_topics_request_v(
        CREATE_TOPICS_VERSION,
        correlation_id,
        topics,
        timeout_ms,
        validate_only,
    )
}

/// CreateTopics of a flexible `version` (5 to 7: the request is the same,
/// the response gains the topic id at 7).
pub fn create_topics_request_v(
    version: i16,
    correlation_id: i32,
    topics: &[CreatableTopic],
    timeout_ms: i32,
    validate_only: bool,
) -> Vec<u8> {
    assert!((5..=7).contains(&version), "CreateTopics v{version}");
    let mut w = request_header(CREATE_TOPICS, version, correlation_id);
    w.compact_array_len(topics.len());
    for topic in topics {
        w.compact_string(&topic.name)
            .i32(topic.num_partitions)
            .i16(topic.replication_factor)
            .compact_array_len(topic.assignments.len());
        for (partition_index, broker_ids) in &topic.assignments {
            w.i32(*partition_index)
                .compact_i32_array(broker_ids)
                .no_tags();
        }
        w.compact_array_len(topic.configs.len());
        for (name, value) in &topic.configs {
            w.compact_string(name)
                .compact_nullable_string(value.as_deref())
                .no_tags();
        }
        w.no_tags();
    }
    w.i32(timeout_ms).bool(validate_only).no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTopicConfig {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    pub config_source: i8,
    pub is_sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTopic {
    pub name: String,
    pub topic_id: Uuid,
    pub error_code: i16,
    pub error_message: Option<String>,
    /// Tagged field 0, when present.
    pub topic_config_error_code: Option<i16>,
    pub num_partitions: i32,
    pub replication_factor: i16,
    pub configs: Option<Vec<CreatedTopicConfig>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTopicsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub topics: Vec<CreatedTopic>,
}

impl CreateTopicsResponse {
    pub fn topic(&self, name: &str) -> Option<&CreatedTopic> {
        self.topics.iter().find(|t| t.name == name)
    }
}

/// A CreateTopics v7 response.
pub fn decode_create_topics_response(bytes: &[u8]) -> Result<CreateTopicsResponse> {
    decode_create_topics_response_v(bytes, CREATE_TOPICS_VERSION)
}

/// A CreateTopics response of a flexible `version` (5 to 7); before 7 it
/// has no topic id and [`CreatedTopic::topic_id`] is zero.
pub fn decode_create_topics_response_v(bytes: &[u8], version: i16) -> Result<CreateTopicsResponse> {
    ensure!((5..=7).contains(&version), "CreateTopics v{version}");
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let topics = r.compact_array(|r| {
        let name = r.compact_string()?;
        let topic_id = if version >= 7 { r.uuid()? } else { ZERO_UUID };
        let error_code = r.i16()?;
        let error_message = r.compact_nullable_string()?;
        let num_partitions = r.i32()?;
        let replication_factor = r.i16()?;
        let configs = r.compact_nullable_array(|r| {
            let config = CreatedTopicConfig {
                name: r.compact_string()?,
                value: r.compact_nullable_string()?,
                read_only: r.bool()?,
                config_source: r.i8()?,
                is_sensitive: r.bool()?,
            };
            r.no_tags()?;
            Ok(config)
        })?;
        let mut topic_config_error_code = None;
        for (tag, data) in r.tagged_fields()? {
            if tag == 0 {
                let mut field = Reader::new(data);
                topic_config_error_code = Some(field.i16()?);
                field.finish().context("tagged TopicConfigErrorCode")?;
            }
        }
        Ok(CreatedTopic {
            name,
            topic_id,
            error_code,
            error_message,
            topic_config_error_code,
            num_partitions,
            replication_factor,
            configs,
        })
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(CreateTopicsResponse {
        correlation_id,
        throttle_time_ms,
        topics,
    })
}

// --------------------------------------------------------------- DeleteTopics

/// DeleteTopics v6: each topic by name (id zero) or by id (name `None`).
pub fn delete_topics_request(
    correlation_id: i32,
    topics: &[(Option<&str>, Uuid)],
    timeout_ms: i32,
) -> Vec<u8> {
    let mut w = request_header(DELETE_TOPICS, DELETE_TOPICS_VERSION, correlation_id);
    w.compact_array_len(topics.len());
    for (name, topic_id) in topics {
        w.compact_nullable_string(*name).uuid(topic_id).no_tags();
    }
    w.i32(timeout_ms).no_tags();
    w.into_bytes()
}

/// DeleteTopics v6 of topics by name.
pub fn delete_topics_by_name_request(
    correlation_id: i32,
    names: &[&str],
    timeout_ms: i32,
) -> Vec<u8> {
    let topics: Vec<(Option<&str>, Uuid)> =
        names.iter().map(|name| (Some(*name), ZERO_UUID)).collect();
    delete_topics_request(correlation_id, &topics, timeout_ms)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletableTopicResult {
    pub name: Option<String>,
    pub topic_id: Uuid,
    pub error_code: i16,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTopicsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub responses: Vec<DeletableTopicResult>,
}

pub fn decode_delete_topics_response(bytes: &[u8]) -> Result<DeleteTopicsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let responses = r.compact_array(|r| {
        let result = DeletableTopicResult {
            name: r.compact_nullable_string()?,
            topic_id: r.uuid()?,
            error_code: r.i16()?,
            error_message: r.compact_nullable_string()?,
        };
        r.no_tags()?;
        Ok(result)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(DeleteTopicsResponse {
        correlation_id,
        throttle_time_ms,
        responses,
    })
}

// ------------------------------------------- AlterConfigs, IncrementalAlterConfigs

/// A resource to alter: type, name, and (key, operation, value) entries
/// (the operation is ignored by AlterConfigs).
pub type AlterConfigsResource<'a> = (i8, &'a str, &'a [(&'a str, i8, Option<&'a str>)]);

/// IncrementalAlterConfigs v1.
pub fn incremental_alter_configs_request(
    correlation_id: i32,
    resources: &[AlterConfigsResource<'_>],
    validate_only: bool,
) -> Vec<u8> {
    let mut w = request_header(
        INCREMENTAL_ALTER_CONFIGS,
        INCREMENTAL_ALTER_CONFIGS_VERSION,
        correlation_id,
    );
    w.compact_array_len(resources.len());
    for (resource_type, name, configs) in resources {
        w.i8(*resource_type)
            .compact_string(name)
            .compact_array_len(configs.len());
        for (key, op, value) in *configs {
            w.compact_string(key)
                .i8(*op)
                .compact_nullable_string(*value)
                .no_tags();
        }
        w.no_tags();
    }
    w.bool(validate_only).no_tags();
    w.into_bytes()
}

/// AlterConfigs v2 (every override of a resource replaced by those given).
pub fn alter_configs_request(
    correlation_id: i32,
    resources: &[AlterConfigsResource<'_>],
    validate_only: bool,
) -> Vec<u8> {
    let mut w = request_header(ALTER_CONFIGS, ALTER_CONFIGS_VERSION, correlation_id);
    w.compact_array_len(resources.len());
    for (resource_type, name, configs) in resources {
        w.i8(*resource_type)
            .compact_string(name)
            .compact_array_len(configs.len());
        for (key, _, value) in *configs {
            w.compact_string(key)
                .compact_nullable_string(*value)
                .no_tags();
        }
        w.no_tags();
    }
    w.bool(validate_only).no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlteredResource {
    pub error_code: i16,
    pub error_message: Option<String>,
    pub resource_type: i8,
    pub resource_name: String,
}

/// The response of either API (the same shape in these versions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterConfigsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub responses: Vec<AlteredResource>,
}

pub fn decode_alter_configs_response(bytes: &[u8]) -> Result<AlterConfigsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let responses = r.compact_array(|r| {
        let response = AlteredResource {
            error_code: r.i16()?,
            error_message: r.compact_nullable_string()?,
            resource_type: r.i8()?,
            resource_name: r.compact_string()?,
        };
        r.no_tags()?;
        Ok(response)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(AlterConfigsResponse {
        correlation_id,
        throttle_time_ms,
        responses,
    })
}

// -------------------------------------------------------------- DeleteRecords

/// DeleteRecords v2: for each topic, (partition, offset) pairs; offset -1
/// stands for the high watermark.
pub fn delete_records_request(
    correlation_id: i32,
    topics: &[(&str, &[(i32, i64)])],
    timeout_ms: i32,
) -> Vec<u8> {
    let mut w = request_header(DELETE_RECORDS, DELETE_RECORDS_VERSION, correlation_id);
    w.compact_array_len(topics.len());
    for (name, partitions) in topics {
        w.compact_string(name).compact_array_len(partitions.len());
        for (partition, offset) in *partitions {
            w.i32(*partition).i64(*offset).no_tags();
        }
        w.no_tags();
    }
    w.i32(timeout_ms).no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRecordsPartitionResult {
    pub partition_index: i32,
    pub low_watermark: i64,
    pub error_code: i16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRecordsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    /// (topic, partition results)
    pub topics: Vec<(String, Vec<DeleteRecordsPartitionResult>)>,
}

impl DeleteRecordsResponse {
    pub fn partition(&self, topic: &str, index: i32) -> Option<&DeleteRecordsPartitionResult> {
        self.topics
            .iter()
            .filter(|(name, _)| name == topic)
            .flat_map(|(_, partitions)| partitions)
            .find(|p| p.partition_index == index)
    }
}

pub fn decode_delete_records_response(bytes: &[u8]) -> Result<DeleteRecordsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let topics = r.compact_array(|r| {
        let name = r.compact_string()?;
        let partitions = r.compact_array(|r| {
            let result = DeleteRecordsPartitionResult {
                partition_index: r.i32()?,
                low_watermark: r.i64()?,
                error_code: r.i16()?,
            };
            r.no_tags()?;
            Ok(result)
        })?;
        r.no_tags()?;
        Ok((name, partitions))
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(DeleteRecordsResponse {
        correlation_id,
        throttle_time_ms,
        topics,
    })
}

// ----------------------------------------------------------- CreatePartitions

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePartitionsTopic {
    pub name: String,
    /// The new total partition count.
    pub count: i32,
    /// Broker ids of each new partition, or `None` for automatic assignment.
    pub assignments: Option<Vec<Vec<i32>>>,
}

impl CreatePartitionsTopic {
    pub fn new(name: &str, count: i32) -> Self {
        CreatePartitionsTopic {
            name: name.to_owned(),
            count,
            assignments: None,
        }
    }
}

/// CreatePartitions v3.
pub fn create_partitions_request(
    correlation_id: i32,
    topics: &[CreatePartitionsTopic],
    timeout_ms: i32,
    validate_only: bool,
) -> Vec<u8> {
    let mut w = request_header(CREATE_PARTITIONS, CREATE_PARTITIONS_VERSION, correlation_id);
    w.compact_array_len(topics.len());
    for topic in topics {
        w.compact_string(&topic.name).i32(topic.count);
        match &topic.assignments {
            None => {
                w.uvarint(0);
            }
            Some(assignments) => {
                w.compact_array_len(assignments.len());
                for broker_ids in assignments {
                    w.compact_i32_array(broker_ids).no_tags();
                }
            }
        }
        w.no_tags();
    }
    w.i32(timeout_ms).bool(validate_only).no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePartitionsResult {
    pub name: String,
    pub error_code: i16,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePartitionsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub results: Vec<CreatePartitionsResult>,
}

pub fn decode_create_partitions_response(bytes: &[u8]) -> Result<CreatePartitionsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let results = r.compact_array(|r| {
        let result = CreatePartitionsResult {
            name: r.compact_string()?,
            error_code: r.i16()?,
            error_message: r.compact_nullable_string()?,
        };
        r.no_tags()?;
        Ok(result)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(CreatePartitionsResponse {
        correlation_id,
        throttle_time_ms,
        results,
    })
}

// ------------------------------------------------------------- InitProducerId

/// InitProducerId v5; a new idempotent producer sends no transactional id,
/// producer id -1 and epoch -1.
pub fn init_producer_id_request(
    correlation_id: i32,
    transactional_id: Option<&str>,
    transaction_timeout_ms: i32,
    producer_id: i64,
    producer_epoch: i16,
) -> Vec<u8> {
    let mut w = request_header(INIT_PRODUCER_ID, INIT_PRODUCER_ID_VERSION, correlation_id);
    w.compact_nullable_string(transactional_id)
        .i32(transaction_timeout_ms)
        .i64(producer_id)
        .i16(producer_epoch)
        .no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProducerIdResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

pub fn decode_init_producer_id_response(bytes: &[u8]) -> Result<InitProducerIdResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let response = InitProducerIdResponse {
        correlation_id,
        throttle_time_ms: r.i32()?,
        error_code: r.i16()?,
        producer_id: r.i64()?,
        producer_epoch: r.i16()?,
    };
    r.no_tags()?;
    r.finish()?;
    Ok(response)
}

// ------------------------------------------------------------ DescribeConfigs

/// A resource to describe: (resource type, resource name, configuration keys
/// or `None` for all of them).
pub type DescribeConfigsResource<'a> = (i8, &'a str, Option<&'a [&'a str]>);

/// DescribeConfigs v4.
pub fn describe_configs_request(
    correlation_id: i32,
    resources: &[DescribeConfigsResource<'_>],
    include_synonyms: bool,
    include_documentation: bool,
) -> Vec<u8> {
    let mut w = request_header(DESCRIBE_CONFIGS, DESCRIBE_CONFIGS_VERSION, correlation_id);
    w.compact_array_len(resources.len());
    for (resource_type, resource_name, keys) in resources {
        w.i8(*resource_type).compact_string(resource_name);
        match keys {
            None => {
                w.uvarint(0);
            }
            Some(keys) => compact_strings(&mut w, keys),
        }
        w.no_tags();
    }
    w.bool(include_synonyms)
        .bool(include_documentation)
        .no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSynonym {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedConfig {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    pub config_source: i8,
    pub is_sensitive: bool,
    pub synonyms: Vec<ConfigSynonym>,
    pub config_type: i8,
    pub documentation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeConfigsResult {
    pub error_code: i16,
    pub error_message: Option<String>,
    pub resource_type: i8,
    pub resource_name: String,
    pub configs: Vec<DescribedConfig>,
}

impl DescribeConfigsResult {
    pub fn config(&self, name: &str) -> Option<&DescribedConfig> {
        self.configs.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeConfigsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub results: Vec<DescribeConfigsResult>,
}

pub fn decode_describe_configs_response(bytes: &[u8]) -> Result<DescribeConfigsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let results = r.compact_array(|r| {
        let error_code = r.i16()?;
        let error_message = r.compact_nullable_string()?;
        let resource_type = r.i8()?;
        let resource_name = r.compact_string()?;
        let configs = r.compact_array(|r| {
            let name = r.compact_string()?;
            let value = r.compact_nullable_string()?;
            let read_only = r.bool()?;
            let config_source = r.i8()?;
            let is_sensitive = r.bool()?;
            let synonyms = r.compact_array(|r| {
                let synonym = ConfigSynonym {
                    name: r.compact_string()?,
                    value: r.compact_nullable_string()?,
                    source: r.i8()?,
                };
                r.no_tags()?;
                Ok(synonym)
            })?;
            let config_type = r.i8()?;
            let documentation = r.compact_nullable_string()?;
            r.no_tags()?;
            Ok(DescribedConfig {
                name,
                value,
                read_only,
                config_source,
                is_sensitive,
                synonyms,
                config_type,
                documentation,
            })
        })?;
        r.no_tags()?;
        Ok(DescribeConfigsResult {
            error_code,
            error_message,
            resource_type,
            resource_name,
            configs,
        })
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(DescribeConfigsResponse {
        correlation_id,
        throttle_time_ms,
        results,
    })
}

// ------------------------------------------------------------ DescribeCluster

/// DescribeCluster v1.
pub fn describe_cluster_request(
    correlation_id: i32,
    include_cluster_authorized_operations: bool,
    endpoint_type: i8,
) -> Vec<u8> {
    let mut w = request_header(DESCRIBE_CLUSTER, DESCRIBE_CLUSTER_VERSION, correlation_id);
    w.bool(include_cluster_authorized_operations)
        .i8(endpoint_type)
        .no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterBroker {
    pub broker_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeClusterResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    pub endpoint_type: i8,
    pub cluster_id: String,
    pub controller_id: i32,
    pub brokers: Vec<ClusterBroker>,
    pub cluster_authorized_operations: i32,
}

pub fn decode_describe_cluster_response(bytes: &[u8]) -> Result<DescribeClusterResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let error_message = r.compact_nullable_string()?;
    let endpoint_type = r.i8()?;
    let cluster_id = r.compact_string()?;
    let controller_id = r.i32()?;
    let brokers = r.compact_array(|r| {
        let broker = ClusterBroker {
            broker_id: r.i32()?,
            host: r.compact_string()?,
            port: r.i32()?,
            rack: r.compact_nullable_string()?,
        };
        r.no_tags()?;
        Ok(broker)
    })?;
    let cluster_authorized_operations = r.i32()?;
    r.no_tags()?;
    r.finish()?;
    Ok(DescribeClusterResponse {
        correlation_id,
        throttle_time_ms,
        error_code,
        error_message,
        endpoint_type,
        cluster_id,
        controller_id,
        brokers,
        cluster_authorized_operations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::CLIENT_ID;
    use crate::wire::Writer;
    use crate::wire::uuid;

    const TOPIC_ID: Uuid = uuid(0x71a59a51_8968_4f8b_937e_000000000001);

    /// Checks a request header v2 and leaves the reader at the body.
    fn request_body(bytes: &[u8], api_key: i16, version: i16, correlation_id: i32) -> Reader<'_> {
        let mut r = Reader::new(bytes);
        assert_eq!(r.i16().unwrap(), api_key);
        assert_eq!(r.i16().unwrap(), version);
        assert_eq!(r.i32().unwrap(), correlation_id);
        assert_eq!(r.nullable_string().unwrap().as_deref(), Some(CLIENT_ID));
        r.no_tags().unwrap();
        r
    }

    /// A response header v1.
    fn response(correlation_id: i32) -> Writer {
        let mut w = Writer::new();
        w.i32(correlation_id).no_tags();
        w
    }

    // ------------------------------------------------------------ requests

    #[test]
    fn metadata_requests() {
        let bytes = metadata_request(3, Some(&["foo", "bar"]), true, false);
        let mut r = request_body(&bytes, METADATA, 12, 3);
        let topics = r
            .compact_array(|r| {
                let topic = (r.uuid()?, r.compact_nullable_string()?);
                r.no_tags()?;
                Ok(topic)
            })
            .unwrap();
        assert_eq!(
            topics,
            vec![
                (ZERO_UUID, Some("foo".to_owned())),
                (ZERO_UUID, Some("bar".to_owned()))
            ]
        );
        assert!(r.bool().unwrap());
        assert!(!r.bool().unwrap());
        r.no_tags().unwrap();
        r.finish().unwrap();

        let bytes = metadata_request(4, None, false, true);
        let mut r = request_body(&bytes, METADATA, 12, 4);
        assert_eq!(r.compact_nullable_array(|r| r.uuid()).unwrap(), None);
        assert!(!r.bool().unwrap());
        assert!(r.bool().unwrap());
        r.no_tags().unwrap();
        r.finish().unwrap();

        let bytes = metadata_request_by_id(5, &[TOPIC_ID], false);
        let mut r = request_body(&bytes, METADATA, 12, 5);
        assert_eq!(r.uvarint().unwrap(), 2);
        assert_eq!(r.uuid().unwrap(), TOPIC_ID);
        assert_eq!(r.compact_nullable_string().unwrap(), None);
        r.no_tags().unwrap();
        assert!(!r.bool().unwrap());
        assert!(!r.bool().unwrap());
        r.no_tags().unwrap();
        r.finish().unwrap();
    }

    #[test]
    fn list_offsets_request_fields() {
        let mut p = ListOffsetsPartitionRequest::new(1, EARLIEST_TIMESTAMP);
        p.current_leader_epoch = 4;
        let bytes = list_offsets_request(
            9,
            1,
            &[(
                "foo",
                vec![ListOffsetsPartitionRequest::new(0, LATEST_TIMESTAMP), p],
            )],
        );
        let mut r = request_body(&bytes, LIST_OFFSETS, 9, 9);
        assert_eq!(r.i32().unwrap(), -1);
        assert_eq!(r.i8().unwrap(), 1);
        let topics = r
            .compact_array(|r| {
                let name = r.compact_string()?;
                let partitions = r.compact_array(|r| {
                    let p = (r.i32()?, r.i32()?, r.i64()?);
                    r.no_tags()?;
                    Ok(p)
                })?;
                r.no_tags()?;
                Ok((name, partitions))
            })
            .unwrap();
        assert_eq!(
            topics,
            vec![("foo".to_owned(), vec![(0, -1, -1), (1, 4, -2)])]
        );
        r.no_tags().unwrap();
        r.finish().unwrap();
    }

    #[test]
    fn create_topics_request_fields() {
        let mut topic = CreatableTopic::new("foo", -1, -1).with_config("cleanup.policy", None);
        topic.assignments = vec![(0, vec![1, 2])];
        let bytes =
            create_topics_request(11, &[topic, CreatableTopic::new("bar", 3, 1)], 5_000, true);
        let mut r = request_body(&bytes, CREATE_TOPICS, 7, 11);
        let topics = r
            .compact_array(|r| {
                let name = r.compact_string()?;
                let num_partitions = r.i32()?;
                let replication_factor = r.i16()?;
                let assignments = r.compact_array(|r| {
                    let a = (r.i32()?, r.compact_i32_array()?);
                    r.no_tags()?;
                    Ok(a)
                })?;
                let configs = r.compact_array(|r| {
                    let c = (r.compact_string()?, r.compact_nullable_string()?);
                    r.no_tags()?;
                    Ok(c)
                })?;
                r.no_tags()?;
                Ok((
                    name,
                    num_partitions,
                    replication_factor,
                    assignments,
                    configs,
                ))
            })
            .unwrap();
        assert_eq!(
            topics,
            vec![
                (
                    "foo".to_owned(),
                    -1,
                    -1,
                    vec![(0, vec![1, 2])],
                    vec![("cleanup.policy".to_owned(), None)]
                ),
                ("bar".to_owned(), 3, 1, vec![], vec![]),
            ]
        );
        assert_eq!(r.i32().unwrap(), 5_000);
        assert!(r.bool().unwrap());
        r.no_tags().unwrap();
        r.finish().unwrap();
    }

    #[test]
    fn delete_topics_request_fields() {
        let bytes = delete_topics_request(12, &[(Some("foo"), ZERO_UUID), (None, TOPIC_ID)], 100);
        let mut r = request_body(&bytes, DELETE_TOPICS, 6, 12);
        let topics = r
            .compact_array(|r| {
                let t = (r.compact_nullable_string()?, r.uuid()?);
                r.no_tags()?;
                Ok(t)
            })
            .unwrap();
        assert_eq!(
            topics,
            vec![(Some("foo".to_owned()), ZERO_UUID), (None, TOPIC_ID)]
        );
        assert_eq!(r.i32().unwrap(), 100);
        r.no_tags().unwrap();
        r.finish().unwrap();

        assert_eq!(
            delete_topics_by_name_request(12, &["foo"], 100),
            delete_topics_request(12, &[(Some("foo"), ZERO_UUID)], 100)
        );
    }

    #[test]
    fn create_partitions_request_fields() {
        let mut manual = CreatePartitionsTopic::new("bar", 3);
        manual.assignments = Some(vec![vec![1], vec![2, 1]]);
        let bytes = create_partitions_request(
            13,
            &[CreatePartitionsTopic::new("foo", 4), manual],
            1_000,
            false,
        );
        let mut r = request_body(&bytes, CREATE_PARTITIONS, 3, 13);
        let topics = r
            .compact_array(|r| {
                let name = r.compact_string()?;
                let count = r.i32()?;
                let assignments = r.compact_nullable_array(|r| {
                    let ids = r.compact_i32_array()?;
                    r.no_tags()?;
                    Ok(ids)
                })?;
                r.no_tags()?;
                Ok((name, count, assignments))
            })
            .unwrap();
        assert_eq!(
            topics,
            vec![
                ("foo".to_owned(), 4, None),
                ("bar".to_owned(), 3, Some(vec![vec![1], vec![2, 1]])),
            ]
        );
        assert_eq!(r.i32().unwrap(), 1_000);
        assert!(!r.bool().unwrap());
        r.no_tags().unwrap();
        r.finish().unwrap();
    }

    #[test]
    fn init_producer_id_request_fields() {
        let bytes = init_producer_id_request(14, Some("tx"), 60_000, -1, -1);
        let mut r = request_body(&bytes, INIT_PRODUCER_ID, 5, 14);
        assert_eq!(r.compact_nullable_string().unwrap().as_deref(), Some("tx"));
        assert_eq!(r.i32().unwrap(), 60_000);
        assert_eq!(r.i64().unwrap(), -1);
        assert_eq!(r.i16().unwrap(), -1);
        r.no_tags().unwrap();
        r.finish().unwrap();

        let bytes = init_producer_id_request(15, None, 0, 7, 2);
        let mut r = request_body(&bytes, INIT_PRODUCER_ID, 5, 15);
        assert_eq!(r.compact_nullable_string().unwrap(), None);
        assert_eq!(r.i32().unwrap(), 0);
        assert_eq!(r.i64().unwrap(), 7);
        assert_eq!(r.i16().unwrap(), 2);
        r.no_tags().unwrap();
        r.finish().unwrap();
    }

    #[test]
    fn describe_configs_request_fields() {
        let bytes = describe_configs_request(
            16,
            &[
                (
                    RESOURCE_TOPIC,
                    "foo",
                    Some(&["retention.ms", "cleanup.policy"]),
                ),
                (RESOURCE_BROKER, "1", None),
            ],
            true,
            false,
        );
        let mut r = request_body(&bytes, DESCRIBE_CONFIGS, 4, 16);
        let resources = r
            .compact_array(|r| {
                let resource = (
                    r.i8()?,
                    r.compact_string()?,
                    r.compact_nullable_array(|r| r.compact_string())?,
                );
                r.no_tags()?;
                Ok(resource)
            })
            .unwrap();
        assert_eq!(
            resources,
            vec![
                (
                    2,
                    "foo".to_owned(),
                    Some(vec!["retention.ms".to_owned(), "cleanup.policy".to_owned()])
                ),
                (4, "1".to_owned(), None),
            ]
        );
        assert!(r.bool().unwrap());
        assert!(!r.bool().unwrap());
        r.no_tags().unwrap();
        r.finish().unwrap();
    }

    #[test]
    fn describe_cluster_request_fields() {
        let bytes = describe_cluster_request(17, true, ENDPOINT_TYPE_BROKERS);
        let mut r = request_body(&bytes, DESCRIBE_CLUSTER, 1, 17);
        assert!(r.bool().unwrap());
        assert_eq!(r.i8().unwrap(), 1);
        r.no_tags().unwrap();
        r.finish().unwrap();
    }

    // ----------------------------------------------------------- responses

    fn metadata_bytes() -> Vec<u8> {
        let mut w = response(7);
        w.i32(0).compact_array_len(2);
        w.i32(1)
            .compact_string("localhost")
            .i32(9092)
            .compact_nullable_string(None)
            .no_tags();
        w.i32(2)
            .compact_string("other")
            .i32(9093)
            .compact_nullable_string(Some("r1"))
            .no_tags();
        w.compact_nullable_string(Some("cluster")).i32(1);
        w.compact_array_len(2);
        w.i16(0)
            .compact_nullable_string(Some("foo"))
            .uuid(&TOPIC_ID)
            .bool(false)
            .compact_array_len(1);
        w.i16(0)
            .i32(0)
            .i32(1)
            .i32(5)
            .compact_i32_array(&[1, 2])
            .compact_i32_array(&[1])
            .compact_i32_array(&[2])
            .no_tags();
        w.i32(i32::MIN).no_tags();
        w.i16(100)
            .compact_nullable_string(None)
            .uuid(&uuid(9))
            .bool(true)
            .compact_array_len(0)
            .i32(8)
            .no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn metadata_response() {
        let response = decode_metadata_response(&metadata_bytes()).unwrap();
        assert_eq!(
            response,
            MetadataResponse {
                correlation_id: 7,
                throttle_time_ms: 0,
                brokers: vec![
                    MetadataBroker {
                        node_id: 1,
                        host: "localhost".into(),
                        port: 9092,
                        rack: None,
                    },
                    MetadataBroker {
                        node_id: 2,
                        host: "other".into(),
                        port: 9093,
                        rack: Some("r1".into()),
                    },
                ],
                cluster_id: Some("cluster".into()),
                controller_id: 1,
                topics: vec![
                    MetadataTopic {
                        error_code: 0,
                        name: Some("foo".into()),
                        topic_id: TOPIC_ID,
                        is_internal: false,
                        partitions: vec![MetadataPartition {
                            error_code: 0,
                            partition_index: 0,
                            leader_id: 1,
                            leader_epoch: 5,
                            replica_nodes: vec![1, 2],
                            isr_nodes: vec![1],
                            offline_replicas: vec![2],
                        }],
                        topic_authorized_operations: i32::MIN,
                    },
                    MetadataTopic {
                        error_code: 100,
                        name: None,
                        topic_id: uuid(9),
                        is_internal: true,
                        partitions: vec![],
                        topic_authorized_operations: 8,
                    },
                ],
            }
        );
        assert_eq!(response.topic("foo").unwrap().topic_id, TOPIC_ID);
        assert!(response.topic("bar").is_none());
    }

    fn list_offsets_bytes() -> Vec<u8> {
        let mut w = response(9);
        w.i32(0).compact_array_len(1).compact_string("foo");
        w.compact_array_len(2);
        w.i32(0).i16(0).i64(-1).i64(42).i32(3).no_tags();
        w.i32(1).i16(74).i64(-1).i64(-1).i32(-1).no_tags();
        w.no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn list_offsets_response() {
        let response = decode_list_offsets_response(&list_offsets_bytes()).unwrap();
        assert_eq!(response.correlation_id, 9);
        assert_eq!(response.throttle_time_ms, 0);
        assert_eq!(
            response.partition("foo", 0),
            Some(&ListedOffsetPartition {
                partition_index: 0,
                error_code: 0,
                timestamp: -1,
                offset: 42,
                leader_epoch: 3,
            })
        );
        assert_eq!(response.partition("foo", 1).unwrap().error_code, 74);
        assert_eq!(response.topics[0].1.len(), 2);
    }

    fn create_topics_bytes() -> Vec<u8> {
        let mut w = response(11);
        w.i32(0).compact_array_len(2);
        w.compact_string("foo")
            .uuid(&TOPIC_ID)
            .i16(0)
            .compact_nullable_string(None)
            .i32(3)
            .i16(1)
            .compact_array_len(1);
        w.compact_string("cleanup.policy")
            .compact_nullable_string(Some("delete"))
            .bool(false)
            .i8(config_source::DEFAULT_CONFIG)
            .bool(false)
            .no_tags();
        w.no_tags();
        w.compact_string("bar")
            .uuid(&ZERO_UUID)
            .i16(error::TOPIC_ALREADY_EXISTS)
            .compact_nullable_string(Some("exists"))
            .i32(-1)
            .i16(-1)
            .compact_nullable_bytes(None);
        // Tagged fields: TopicConfigErrorCode (tag 0) and an unknown tag 5.
        w.uvarint(2).uvarint(0).uvarint(2).i16(29);
        w.uvarint(5).uvarint(1).i8(0);
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn create_topics_response() {
        let response = decode_create_topics_response(&create_topics_bytes()).unwrap();
        assert_eq!(
            response,
            CreateTopicsResponse {
                correlation_id: 11,
                throttle_time_ms: 0,
                topics: vec![
                    CreatedTopic {
                        name: "foo".into(),
                        topic_id: TOPIC_ID,
                        error_code: 0,
                        error_message: None,
                        topic_config_error_code: None,
                        num_partitions: 3,
                        replication_factor: 1,
                        configs: Some(vec![CreatedTopicConfig {
                            name: "cleanup.policy".into(),
                            value: Some("delete".into()),
                            read_only: false,
                            config_source: 5,
                            is_sensitive: false,
                        }]),
                    },
                    CreatedTopic {
                        name: "bar".into(),
                        topic_id: ZERO_UUID,
                        error_code: 36,
                        error_message: Some("exists".into()),
                        topic_config_error_code: Some(29),
                        num_partitions: -1,
                        replication_factor: -1,
                        configs: None,
                    },
                ],
            }
        );
        assert_eq!(response.topic("bar").unwrap().error_code, 36);
    }

    #[test]
    fn create_topics_tagged_config_error_must_be_an_int16() {
        let mut w = response(1);
        w.i32(0).compact_array_len(1);
        w.compact_string("foo")
            .uuid(&ZERO_UUID)
            .i16(0)
            .compact_nullable_string(None)
            .i32(1)
            .i16(1)
            .compact_nullable_bytes(None);
        w.uvarint(1).uvarint(0).uvarint(3).i16(29).i8(0);
        w.no_tags();
        assert!(decode_create_topics_response(&w.into_bytes()).is_err());
    }

    fn delete_topics_bytes() -> Vec<u8> {
        let mut w = response(12);
        w.i32(5).compact_array_len(2);
        w.compact_nullable_string(Some("foo"))
            .uuid(&TOPIC_ID)
            .i16(0)
            .compact_nullable_string(None)
            .no_tags();
        w.compact_nullable_string(None)
            .uuid(&uuid(9))
            .i16(100)
            .compact_nullable_string(Some("unknown id"))
            .no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn delete_topics_response() {
        let response = decode_delete_topics_response(&delete_topics_bytes()).unwrap();
        assert_eq!(
            response,
            DeleteTopicsResponse {
                correlation_id: 12,
                throttle_time_ms: 5,
                responses: vec![
                    DeletableTopicResult {
                        name: Some("foo".into()),
                        topic_id: TOPIC_ID,
                        error_code: 0,
                        error_message: None,
                    },
                    DeletableTopicResult {
                        name: None,
                        topic_id: uuid(9),
                        error_code: 100,
                        error_message: Some("unknown id".into()),
                    },
                ],
            }
        );
    }

    fn create_partitions_bytes() -> Vec<u8> {
        let mut w = response(13);
        w.i32(0).compact_array_len(2);
        w.compact_string("foo")
            .i16(0)
            .compact_nullable_string(None)
            .no_tags();
        w.compact_string("bar")
            .i16(error::INVALID_PARTITIONS)
            .compact_nullable_string(Some("fewer"))
            .no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn create_partitions_response() {
        let response = decode_create_partitions_response(&create_partitions_bytes()).unwrap();
        assert_eq!(
            response,
            CreatePartitionsResponse {
                correlation_id: 13,
                throttle_time_ms: 0,
                results: vec![
                    CreatePartitionsResult {
                        name: "foo".into(),
                        error_code: 0,
                        error_message: None,
                    },
                    CreatePartitionsResult {
                        name: "bar".into(),
                        error_code: 37,
                        error_message: Some("fewer".into()),
                    },
                ],
            }
        );
    }

    fn init_producer_id_bytes() -> Vec<u8> {
        let mut w = response(14);
        w.i32(0).i16(0).i64(1000).i16(0).no_tags();
        w.into_bytes()
    }

    #[test]
    fn init_producer_id_response() {
        assert_eq!(
            decode_init_producer_id_response(&init_producer_id_bytes()).unwrap(),
            InitProducerIdResponse {
                correlation_id: 14,
                throttle_time_ms: 0,
                error_code: 0,
                producer_id: 1000,
                producer_epoch: 0,
            }
        );
    }

    fn describe_configs_bytes() -> Vec<u8> {
        let mut w = response(16);
        w.i32(0).compact_array_len(2);
        w.i16(0)
            .compact_nullable_string(None)
            .i8(RESOURCE_TOPIC)
            .compact_string("foo")
            .compact_array_len(2);
        w.compact_string("retention.ms")
            .compact_nullable_string(Some("1000"))
            .bool(false)
            .i8(config_source::TOPIC_CONFIG)
            .bool(false)
            .compact_array_len(2);
        w.compact_string("retention.ms")
            .compact_nullable_string(Some("1000"))
            .i8(config_source::TOPIC_CONFIG)
            .no_tags();
        w.compact_string("log.retention.hours")
            .compact_nullable_string(Some("168"))
            .i8(config_source::DEFAULT_CONFIG)
            .no_tags();
        w.i8(5).compact_nullable_string(Some("doc")).no_tags();
        w.compact_string("secret")
            .compact_nullable_string(None)
            .bool(true)
            .i8(config_source::STATIC_BROKER_CONFIG)
            .bool(true)
            .compact_array_len(0)
            .i8(9)
            .compact_nullable_string(None)
            .no_tags();
        w.no_tags();
        w.i16(3)
            .compact_nullable_string(Some("no such topic"))
            .i8(RESOURCE_TOPIC)
            .compact_string("bar")
            .compact_array_len(0)
            .no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn describe_configs_response() {
        let response = decode_describe_configs_response(&describe_configs_bytes()).unwrap();
        assert_eq!(response.correlation_id, 16);
        assert_eq!(response.results.len(), 2);
        let foo = &response.results[0];
        assert_eq!(
            (
                foo.error_code,
                foo.resource_type,
                foo.resource_name.as_str()
            ),
            (0, 2, "foo")
        );
        assert_eq!(
            foo.config("retention.ms"),
            Some(&DescribedConfig {
                name: "retention.ms".into(),
                value: Some("1000".into()),
                read_only: false,
                config_source: 1,
                is_sensitive: false,
                synonyms: vec![
                    ConfigSynonym {
                        name: "retention.ms".into(),
                        value: Some("1000".into()),
                        source: 1,
                    },
                    ConfigSynonym {
                        name: "log.retention.hours".into(),
                        value: Some("168".into()),
                        source: 5,
                    },
                ],
                config_type: 5,
                documentation: Some("doc".into()),
            })
        );
        let secret = foo.config("secret").unwrap();
        assert_eq!((secret.value.as_ref(), secret.is_sensitive), (None, true));
        assert_eq!(
            response.results[1],
            DescribeConfigsResult {
                error_code: 3,
                error_message: Some("no such topic".into()),
                resource_type: 2,
                resource_name: "bar".into(),
                configs: vec![],
            }
        );
    }

    fn describe_cluster_bytes() -> Vec<u8> {
        let mut w = response(17);
        w.i32(0)
            .i16(0)
            .compact_nullable_string(None)
            .i8(ENDPOINT_TYPE_BROKERS)
            .compact_string("cluster")
            .i32(1)
            .compact_array_len(1);
        w.i32(1)
            .compact_string("localhost")
            .i32(9092)
            .compact_nullable_string(None)
            .no_tags();
        w.i32(i32::MIN).no_tags();
        w.into_bytes()
    }

    #[test]
    fn describe_cluster_response() {
        assert_eq!(
            decode_describe_cluster_response(&describe_cluster_bytes()).unwrap(),
            DescribeClusterResponse {
                correlation_id: 17,
                throttle_time_ms: 0,
                error_code: 0,
                error_message: None,
                endpoint_type: 1,
                cluster_id: "cluster".into(),
                controller_id: 1,
                brokers: vec![ClusterBroker {
                    broker_id: 1,
                    host: "localhost".into(),
                    port: 9092,
                    rack: None,
                }],
                cluster_authorized_operations: i32::MIN,
            }
        );
    }

    // ---------------------------------------------------------- strictness

    use crate::wire::Decoder;

    fn samples() -> Vec<(&'static str, Vec<u8>, Decoder)> {
        vec![
            ("Metadata", metadata_bytes(), |b| {
                decode_metadata_response(b).map(drop)
            }),
            ("ListOffsets", list_offsets_bytes(), |b| {
                decode_list_offsets_response(b).map(drop)
            }),
            ("CreateTopics", create_topics_bytes(), |b| {
                decode_create_topics_response(b).map(drop)
            }),
            ("DeleteTopics", delete_topics_bytes(), |b| {
                decode_delete_topics_response(b).map(drop)
            }),
            ("CreatePartitions", create_partitions_bytes(), |b| {
                decode_create_partitions_response(b).map(drop)
            }),
            ("InitProducerId", init_producer_id_bytes(), |b| {
                decode_init_producer_id_response(b).map(drop)
            }),
            ("DescribeConfigs", describe_configs_bytes(), |b| {
                decode_describe_configs_response(b).map(drop)
            }),
            ("DescribeCluster", describe_cluster_bytes(), |b| {
                decode_describe_cluster_response(b).map(drop)
            }),
        ]
    }

    #[test]
    fn decoders_reject_leftover_bytes_and_truncated_responses() {
        crate::wire::assert_strict_decoders(samples());
    }

    #[test]
    fn decoders_reject_tagged_fields_the_schema_does_not_define() {
        // A tagged field in the response header.
        let mut bytes = init_producer_id_bytes();
        bytes.splice(4..5, [1, 0, 1, 0]);
        assert!(decode_init_producer_id_response(&bytes).is_err());
        // A tagged field at the end of the body.
        let mut bytes = init_producer_id_bytes();
        let last = bytes.len() - 1;
        bytes.splice(last.., [1, 0, 1, 0]);
        assert!(decode_init_producer_id_response(&bytes).is_err());
        // A tagged field in a Metadata partition.
        let metadata = |partition_tags: &[u8]| {
            let mut w = response(1);
            w.i32(0).compact_array_len(0).compact_nullable_string(None);
            w.i32(-1).compact_array_len(1);
            w.i16(0)
                .compact_nullable_string(Some("foo"))
                .uuid(&TOPIC_ID)
                .bool(false)
                .compact_array_len(1);
            w.i16(0)
                .i32(0)
                .i32(1)
                .i32(0)
                .compact_i32_array(&[1])
                .compact_i32_array(&[1])
                .compact_i32_array(&[])
                .raw(partition_tags);
            w.i32(0).no_tags().no_tags();
            w.into_bytes()
        };
        decode_metadata_response(&metadata(&[0])).unwrap();
        assert!(decode_metadata_response(&metadata(&[1, 0, 1, 0])).is_err());
    }
}
