//! Requests encoded and responses decoded by hand, from Kafka's message
//! schemas, for the cluster-level admin APIs: DescribeQuorum v2,
//! UpdateFeatures v1 and v2, ListConfigResources v1, DescribeLogDirs v4 and
//! AlterReplicaLogDirs v2. All are flexible
//! versions (request header v2, response header v1); none defines a tagged
//! field, so decoders require every tagged-field section to be empty and
//! reject bytes left over.

use crate::protocol::{
    flexible_request_header as request_header, response_header_v1 as response_header,
};
use crate::wire::{Reader, Uuid};
use anyhow::Result;

pub const DESCRIBE_QUORUM: i16 = 55;
pub const UPDATE_FEATURES: i16 = 57;
pub const LIST_CONFIG_RESOURCES: i16 = 74;

/// Kafka's `INVALID_UPDATE_VERSION`.
pub const INVALID_UPDATE_VERSION: i16 = 95;

// ------------------------------------------------------------ DescribeQuorum

/// DescribeQuorum v2 for each topic and its partitions.
pub fn describe_quorum_request(correlation_id: i32, topics: &[(&str, Vec<i32>)]) -> Vec<u8> {
    let mut w = request_header(DESCRIBE_QUORUM, 2, correlation_id);
    w.compact_array_len(topics.len());
    for (name, partitions) in topics {
        w.compact_string(name).compact_array_len(partitions.len());
        for p in partitions {
            w.i32(*p).no_tags();
        }
        w.no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumReplica {
    pub replica_id: i32,
    pub directory_id: Uuid,
    pub log_end_offset: i64,
    pub last_fetch_timestamp: i64,
    pub last_caught_up_timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumPartition {
    pub partition: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    pub leader_id: i32,
    pub leader_epoch: i32,
    pub high_watermark: i64,
    pub voters: Vec<QuorumReplica>,
    pub observers: Vec<QuorumReplica>,
}

/// A voter's endpoint: (listener name, host, port).
pub type QuorumListener = (String, String, u16);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeQuorumResponse {
    pub correlation_id: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    pub topics: Vec<(String, Vec<QuorumPartition>)>,
    /// (node id, its listeners)
    pub nodes: Vec<(i32, Vec<QuorumListener>)>,
}

fn replicas(r: &mut Reader<'_>) -> Result<Vec<QuorumReplica>> {
    r.compact_array(|r| {
        let replica = QuorumReplica {
            replica_id: r.i32()?,
            directory_id: r.uuid()?,
            log_end_offset: r.i64()?,
            last_fetch_timestamp: r.i64()?,
            last_caught_up_timestamp: r.i64()?,
        };
        r.no_tags()?;
        Ok(replica)
    })
}

pub fn decode_describe_quorum_response(bytes: &[u8]) -> Result<DescribeQuorumResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let error_code = r.i16()?;
    let error_message = r.compact_nullable_string()?;
    let topics = r.compact_array(|r| {
        let name = r.compact_string()?;
        let partitions = r.compact_array(|r| {
            let partition = QuorumPartition {
                partition: r.i32()?,
                error_code: r.i16()?,
                error_message: r.compact_nullable_string()?,
                leader_id: r.i32()?,
                leader_epoch: r.i32()?,
                high_watermark: r.i64()?,
                voters: replicas(r)?,
                observers: replicas(r)?,
            };
            r.no_tags()?;
            Ok(partition)
        })?;
        r.no_tags()?;
        Ok((name, partitions))
    })?;
    let nodes = r.compact_array(|r| {
        let id = r.i32()?;
        let listeners = r.compact_array(|r| {
            let listener = (r.compact_string()?, r.compact_string()?, r.i16()? as u16);
            r.no_tags()?;
            Ok(listener)
        })?;
        r.no_tags()?;
        Ok((id, listeners))
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(DescribeQuorumResponse {
        correlation_id,
        error_code,
        error_message,
        topics,
        nodes,
    })
}

// ------------------------------------------------------------ UpdateFeatures

/// Upgrade types of UpdateFeatures v1+ (Kafka's `FeatureUpdate.UpgradeType`).
pub mod upgrade {
    pub const UPGRADE: i8 = 1;
    pub const SAFE_DOWNGRADE: i8 = 2;
    pub const UNSAFE_DOWNGRADE: i8 = 3;
}

/// UpdateFeatures v1 or v2: (feature, level, upgrade type) each.
pub fn update_features_request(
    correlation_id: i32,
    version: i16,
    updates: &[(&str, i16, i8)],
    validate_only: bool,
) -> Vec<u8> {
    let mut w = request_header(UPDATE_FEATURES, version, correlation_id);
    w.i32(5000).compact_array_len(updates.len());
    for (feature, level, upgrade_type) in updates {
        w.compact_string(feature)
            .i16(*level)
            .i8(*upgrade_type)
            .no_tags();
    }
    w.bool(validate_only).no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFeaturesResponse {
    pub correlation_id: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    /// v1 only: (feature, error code, message).
    pub results: Vec<(String, i16, Option<String>)>,
}

pub fn decode_update_features_response(
    bytes: &[u8],
    version: i16,
) -> Result<UpdateFeaturesResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let _throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let error_message = r.compact_nullable_string()?;
    let results = if version < 2 {
        r.compact_array(|r| {
            let result = (r.compact_string()?, r.i16()?, r.compact_nullable_string()?);
            r.no_tags()?;
            Ok(result)
        })?
    } else {
        Vec::new()
    };
    r.no_tags()?;
    r.finish()?;
    Ok(UpdateFeaturesResponse {
        correlation_id,
        error_code,
        error_message,
        results,
    })
}

// ------------------------------------------------------- ListConfigResources

/// Config resource types (Kafka's `ConfigResource.Type`).
pub mod resource {
    pub const TOPIC: i8 = 2;
    pub const BROKER: i8 = 4;
    pub const BROKER_LOGGER: i8 = 8;
    pub const CLIENT_METRICS: i8 = 16;
    pub const GROUP: i8 = 32;
}

/// ListConfigResources v1 for `types` (empty: every supported type).
pub fn list_config_resources_request(correlation_id: i32, types: &[i8]) -> Vec<u8> {
    let mut w = request_header(LIST_CONFIG_RESOURCES, 1, correlation_id);
    w.compact_array_len(types.len());
    for t in types {
        w.i8(*t);
    }
    w.no_tags();
    w.into_bytes()
}

/// (error code, [(resource name, resource type)]).
pub fn decode_list_config_resources_response(bytes: &[u8]) -> Result<(i16, Vec<(String, i8)>)> {
    let mut r = Reader::new(bytes);
    let _correlation_id = response_header(&mut r)?;
    let _throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let resources = r.compact_array(|r| {
        let resource = (r.compact_string()?, r.i8()?);
        r.no_tags()?;
        Ok(resource)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok((error_code, resources))
}

// ----------------------------------------------------------- DescribeLogDirs

pub const ALTER_REPLICA_LOG_DIRS: i16 = 34;
pub const DESCRIBE_LOG_DIRS: i16 = 35;

/// DescribeLogDirs v4 for each topic and its partitions, or every
/// partition (`None`: null topics).
pub fn describe_log_dirs_request(
    correlation_id: i32,
    topics: Option<&[(&str, Vec<i32>)]>,
) -> Vec<u8> {
    let mut w = request_header(DESCRIBE_LOG_DIRS, 4, correlation_id);
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedLogDir {
    pub error_code: i16,
    pub log_dir: String,
    /// (topic, partition, size, offset lag, is future)
    pub partitions: Vec<(String, i32, i64, i64, bool)>,
    pub total_bytes: i64,
    pub usable_bytes: i64,
}

/// (top-level error code, directories).
pub fn decode_describe_log_dirs_response(bytes: &[u8]) -> Result<(i16, Vec<DescribedLogDir>)> {
    let mut r = Reader::new(bytes);
    let _correlation_id = response_header(&mut r)?;
    let _throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let dirs = r.compact_array(|r| {
        let error_code = r.i16()?;
        let log_dir = r.compact_string()?;
        let mut partitions = Vec::new();
        r.compact_array(|r| {
            let name = r.compact_string()?;
            r.compact_array(|r| {
                partitions.push((name.clone(), r.i32()?, r.i64()?, r.i64()?, r.bool()?));
                r.no_tags()?;
                Ok(())
            })?;
            r.no_tags()?;
            Ok(())
        })?;
        let dir = DescribedLogDir {
            error_code,
            log_dir,
            partitions,
            total_bytes: r.i64()?,
            usable_bytes: r.i64()?,
        };
        r.no_tags()?;
        Ok(dir)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok((error_code, dirs))
}

/// A directory and the topics and partitions to move to it.
pub type LogDirMove<'a> = (&'a str, Vec<(&'a str, Vec<i32>)>);

/// AlterReplicaLogDirs v2: for each directory, its topics and partitions.
pub fn alter_replica_log_dirs_request(correlation_id: i32, dirs: &[LogDirMove<'_>]) -> Vec<u8> {
    let mut w = request_header(ALTER_REPLICA_LOG_DIRS, 2, correlation_id);
    w.compact_array_len(dirs.len());
    for (path, topics) in dirs {
        w.compact_string(path).compact_array_len(topics.len());
        for (name, partitions) in topics {
            w.compact_string(name)
                .compact_i32_array(partitions)
                .no_tags();
        }
        w.no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

/// (topic, partition, error code) of every result.
pub fn decode_alter_replica_log_dirs_response(bytes: &[u8]) -> Result<Vec<(String, i32, i16)>> {
    let mut r = Reader::new(bytes);
    let _correlation_id = response_header(&mut r)?;
    let _throttle_time_ms = r.i32()?;
    let mut results = Vec::new();
    r.compact_array(|r| {
        let name = r.compact_string()?;
        r.compact_array(|r| {
            results.push((name.clone(), r.i32()?, r.i16()?));
            r.no_tags()?;
            Ok(())
        })?;
        r.no_tags()?;
        Ok(())
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(results)
}
