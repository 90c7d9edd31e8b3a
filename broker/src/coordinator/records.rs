//! The records of `__consumer_offsets`, in Kafka's format
//! (`group-coordinator/src/main/resources/common/message/*.json`): the key
//! starts with an INT16 version telling the record type (0 and 1: a
//! committed offset, 2: group metadata, 3 to 8: the consumer groups of
//! KIP-848), the value with its own version. A null value is a tombstone.
//!
//! The keys of KIP-848 are not flexible (INT16-length strings); their values
//! are (compact strings and arrays, tagged fields). Those values are written
//! at version 0; any version is read with the version-0 layout, since Kafka
//! has only added tagged fields to them, and unknown tagged fields are skipped.

use crate::byte_utils::{DecodeError, Reader, Writer};
use bytes::Bytes;
use uuid::Uuid;

/// Key of a committed offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OffsetCommitKey {
    pub group: String,
    pub topic: String,
    pub partition: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitValue {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout: i32,
    pub session_timeout: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadataValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub current_state_timestamp: i64,
    pub members: Vec<MemberMetadata>,
}

/// ConsumerGroupMetadataValue (key type 3): the group epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupMetadataValue {
    pub epoch: i32,
}

/// The racks of a partition (deprecated by Kafka since 4.0, still in the schema).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub partition: i32,
    pub racks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub topic_id: Uuid,
    pub topic_name: String,
    pub num_partitions: i32,
    pub partition_metadata: Vec<PartitionMetadata>,
}

/// ConsumerGroupPartitionMetadataValue (key type 4): the subscribed topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupPartitionMetadataValue {
    pub topics: Vec<TopicMetadata>,
}

/// ConsumerGroupMemberMetadataValue (key type 5). The tagged
/// ClassicMemberMetadata is skipped on read and written absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerGroupMemberMetadataValue {
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub server_assignor: Option<String>,
}

/// ConsumerGroupTargetAssignmentMetadataValue (key type 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupTargetAssignmentMetadataValue {
    pub assignment_epoch: i32,
}

/// Partitions of one topic, as the assignment values list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPartitions {
    pub topic_id: Uuid,
    pub partitions: Vec<i32>,
}

/// ConsumerGroupTargetAssignmentMemberValue (key type 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupTargetAssignmentMemberValue {
    pub topic_partitions: Vec<TopicPartitions>,
}

/// ConsumerGroupCurrentMemberAssignmentValue (key type 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupCurrentMemberAssignmentValue {
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    /// Kafka's `MemberState` (0: stable, 1: unrevoked partitions,
    /// 2: unreleased partitions, 127: unknown).
    pub state: i8,
    pub assigned_partitions: Vec<TopicPartitions>,
    pub partitions_pending_revocation: Vec<TopicPartitions>,
}

/// A decoded record of `__consumer_offsets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetsRecord {
    /// A committed offset; `None` deletes it.
    Offset(OffsetCommitKey, Option<OffsetCommitValue>),
    /// A group's metadata; `None` deletes the group.
    Group(String, Option<GroupMetadataValue>),
    /// A consumer group's epoch (by group id); `None` deletes the group.
    ConsumerGroupMetadata(String, Option<ConsumerGroupMetadataValue>),
    /// A consumer group's subscribed topic metadata (by group id).
    ConsumerGroupPartitionMetadata(String, Option<ConsumerGroupPartitionMetadataValue>),
    /// A consumer group member (by group id and member id).
    ConsumerGroupMemberMetadata(String, String, Option<ConsumerGroupMemberMetadataValue>),
    /// The epoch of a consumer group's target assignment (by group id).
    ConsumerGroupTargetAssignmentMetadata(
        String,
        Option<ConsumerGroupTargetAssignmentMetadataValue>,
    ),
    /// A member's target assignment (by group id and member id).
    ConsumerGroupTargetAssignmentMember(
        String,
        String,
        Option<ConsumerGroupTargetAssignmentMemberValue>,
    ),
    /// A member's current assignment (by group id and member id).
    ConsumerGroupCurrentMemberAssignment(
        String,
        String,
        Option<ConsumerGroupCurrentMemberAssignmentValue>,
    ),
    /// Records of other types (share groups).
    Other,
}

pub fn offset_key(key: &OffsetCommitKey) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(1)
        .string(&key.group)
        .string(&key.topic)
        .i32(key.partition);
    w.into_bytes()
}

/// An OffsetCommitValue at version 3, as Kafka 4.0 writes it.
pub fn offset_value(value: &OffsetCommitValue) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(3)
        .i64(value.offset)
        .i32(value.leader_epoch)
        .string(&value.metadata)
        .i64(value.commit_timestamp);
    w.into_bytes()
}

pub fn group_key(group: &str) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(2).string(group);
    w.into_bytes()
}

/// A GroupMetadataValue at version 3, as Kafka 4.0 writes it.
pub fn group_value(value: &GroupMetadataValue) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(3)
        .string(&value.protocol_type)
        .i32(value.generation)
        .nullable_string(value.protocol.as_deref())
        .nullable_string(value.leader.as_deref())
        .i64(value.current_state_timestamp)
        .i32(value.members.len() as i32);
    for m in &value.members {
        w.string(&m.member_id)
            .nullable_string(m.group_instance_id.as_deref())
            .string(&m.client_id)
            .string(&m.client_host)
            .i32(m.rebalance_timeout)
            .i32(m.session_timeout)
            .nullable_bytes(Some(&m.subscription))
            .nullable_bytes(Some(&m.assignment));
    }
    w.into_bytes()
}

/// A key of KIP-848's records: its type, then the group id, then maybe a
/// member id, all INT16-length strings.
fn consumer_group_key(record_type: i16, group: &str, member: Option<&str>) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(record_type).string(group);
    if let Some(member) = member {
        w.string(member);
    }
    w.into_bytes()
}

pub fn consumer_group_metadata_key(group: &str) -> Vec<u8> {
    consumer_group_key(3, group, None)
}

/// A ConsumerGroupMetadataValue at version 0.
pub fn consumer_group_metadata_value(value: &ConsumerGroupMetadataValue) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0).i32(value.epoch).no_tags();
    w.into_bytes()
}

pub fn consumer_group_partition_metadata_key(group: &str) -> Vec<u8> {
    consumer_group_key(4, group, None)
}

/// A ConsumerGroupPartitionMetadataValue at version 0.
pub fn consumer_group_partition_metadata_value(
    value: &ConsumerGroupPartitionMetadataValue,
) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0).compact_array_len(value.topics.len());
    for topic in &value.topics {
        w.uuid(&topic.topic_id)
            .compact_string(&topic.topic_name)
            .i32(topic.num_partitions)
            .compact_array_len(topic.partition_metadata.len());
        for partition in &topic.partition_metadata {
            w.i32(partition.partition)
                .compact_array_len(partition.racks.len());
            for rack in &partition.racks {
                w.compact_string(rack);
            }
            w.no_tags();
        }
        w.no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

pub fn consumer_group_member_metadata_key(group: &str, member: &str) -> Vec<u8> {
    consumer_group_key(5, group, Some(member))
}

/// A ConsumerGroupMemberMetadataValue at version 0, without the tagged
/// ClassicMemberMetadata.
pub fn consumer_group_member_metadata_value(value: &ConsumerGroupMemberMetadataValue) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0)
        .compact_nullable_string(value.instance_id.as_deref())
        .compact_nullable_string(value.rack_id.as_deref())
        .compact_string(&value.client_id)
        .compact_string(&value.client_host)
        .compact_array_len(value.subscribed_topic_names.len());
    for topic in &value.subscribed_topic_names {
        w.compact_string(topic);
    }
    w.compact_nullable_string(value.subscribed_topic_regex.as_deref())
        .i32(value.rebalance_timeout_ms)
        .compact_nullable_string(value.server_assignor.as_deref())
        .no_tags();
    w.into_bytes()
}

pub fn consumer_group_target_assignment_metadata_key(group: &str) -> Vec<u8> {
    consumer_group_key(6, group, None)
}

/// A ConsumerGroupTargetAssignmentMetadataValue at version 0.
pub fn consumer_group_target_assignment_metadata_value(
    value: &ConsumerGroupTargetAssignmentMetadataValue,
) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0).i32(value.assignment_epoch).no_tags();
    w.into_bytes()
}

pub fn consumer_group_target_assignment_member_key(group: &str, member: &str) -> Vec<u8> {
    consumer_group_key(7, group, Some(member))
}

/// A ConsumerGroupTargetAssignmentMemberValue at version 0.
pub fn consumer_group_target_assignment_member_value(
    value: &ConsumerGroupTargetAssignmentMemberValue,
) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0);
    write_topic_partitions(&mut w, &value.topic_partitions);
    w.no_tags();
    w.into_bytes()
}

pub fn consumer_group_current_member_assignment_key(group: &str, member: &str) -> Vec<u8> {
    consumer_group_key(8, group, Some(member))
}

/// A ConsumerGroupCurrentMemberAssignmentValue at version 0.
pub fn consumer_group_current_member_assignment_value(
    value: &ConsumerGroupCurrentMemberAssignmentValue,
) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0)
        .i32(value.member_epoch)
        .i32(value.previous_member_epoch)
        .i8(value.state);
    write_topic_partitions(&mut w, &value.assigned_partitions);
    write_topic_partitions(&mut w, &value.partitions_pending_revocation);
    w.no_tags();
    w.into_bytes()
}

fn write_topic_partitions(w: &mut Writer, topics: &[TopicPartitions]) {
    w.compact_array_len(topics.len());
    for topic in topics {
        w.uuid(&topic.topic_id)
            .compact_i32_array(&topic.partitions)
            .no_tags();
    }
}

/// Decodes a record from its key and value.
pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<OffsetsRecord, DecodeError> {
    let mut k = Reader::new(key);
    match k.read_i16()? {
        0 | 1 => {
            let key = OffsetCommitKey {
                group: k.read_string()?.to_string(),
                topic: k.read_string()?.to_string(),
                partition: k.read_i32()?,
            };
            Ok(OffsetsRecord::Offset(
                key,
                value.map(decode_offset_value).transpose()?,
            ))
        }
        2 => {
            let group = k.read_string()?.to_string();
            Ok(OffsetsRecord::Group(
                group,
                value.map(decode_group_value).transpose()?,
            ))
        }
        3 => {
            let group = k.read_string()?.to_string();
            Ok(OffsetsRecord::ConsumerGroupMetadata(
                group,
                value
                    .map(decode_consumer_group_metadata_value)
                    .transpose()?,
            ))
        }
        4 => {
            let group = k.read_string()?.to_string();
            Ok(OffsetsRecord::ConsumerGroupPartitionMetadata(
                group,
                value
                    .map(decode_consumer_group_partition_metadata_value)
                    .transpose()?,
            ))
        }
        5 => {
            let group = k.read_string()?.to_string();
            let member = k.read_string()?.to_string();
            Ok(OffsetsRecord::ConsumerGroupMemberMetadata(
                group,
                member,
                value
                    .map(decode_consumer_group_member_metadata_value)
                    .transpose()?,
            ))
        }
        6 => {
            let group = k.read_string()?.to_string();
            Ok(OffsetsRecord::ConsumerGroupTargetAssignmentMetadata(
                group,
                value
                    .map(decode_consumer_group_target_assignment_metadata_value)
                    .transpose()?,
            ))
        }
        7 => {
            let group = k.read_string()?.to_string();
            let member = k.read_string()?.to_string();
            Ok(OffsetsRecord::ConsumerGroupTargetAssignmentMember(
                group,
                member,
                value
                    .map(decode_consumer_group_target_assignment_member_value)
                    .transpose()?,
            ))
        }
        8 => {
            let group = k.read_string()?.to_string();
            let member = k.read_string()?.to_string();
            Ok(OffsetsRecord::ConsumerGroupCurrentMemberAssignment(
                group,
                member,
                value
                    .map(decode_consumer_group_current_member_assignment_value)
                    .transpose()?,
            ))
        }
        _ => Ok(OffsetsRecord::Other),
    }
}

/// Strings of the value schemas: INT16 lengths, compact from version 4.
fn string(r: &mut Reader<'_>, flexible: bool) -> Result<String, DecodeError> {
    Ok(if flexible {
        r.read_compact_string()?
    } else {
        r.read_string()?
    }
    .to_string())
}

fn nullable_string(r: &mut Reader<'_>, flexible: bool) -> Result<Option<String>, DecodeError> {
    Ok(if flexible {
        r.read_compact_nullable_string()?
    } else {
        r.read_nullable_string()?
    }
    .map(str::to_string))
}

/// A compact array that must not be null, each element read by `element`;
/// `min_element_size` bounds the count by the bytes left.
fn compact_array<T>(
    r: &mut Reader<'_>,
    min_element_size: usize,
    mut element: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let at = r.position();
    let count = r
        .read_compact_array_len(min_element_size)?
        .ok_or(DecodeError::InvalidLength { at, length: -1 })?;
    (0..count).map(|_| element(r)).collect()
}

fn compact_strings(r: &mut Reader<'_>) -> Result<Vec<String>, DecodeError> {
    compact_array(r, 1, |r| string(r, true))
}

/// Skips a tagged-field section: no tag of these values is read.
fn skip_tags(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    r.read_tagged_fields(|_, _| Ok(()))
}

fn decode_consumer_group_metadata_value(
    value: &[u8],
) -> Result<ConsumerGroupMetadataValue, DecodeError> {
    let mut r = Reader::new(value);
    // Every version has the layout of version 0.
    let _version = r.read_i16()?;
    let epoch = r.read_i32()?;
    // Tag 0 (MetadataHash) and 1 (CreationTimeMs) of later Kafkas are skipped.
    skip_tags(&mut r)?;
    Ok(ConsumerGroupMetadataValue { epoch })
}

fn decode_consumer_group_partition_metadata_value(
    value: &[u8],
) -> Result<ConsumerGroupPartitionMetadataValue, DecodeError> {
    let mut r = Reader::new(value);
    // Every version has the layout of version 0.
    let _version = r.read_i16()?;
    // Uuid, name, count, partition metadata and tags.
    let topics = compact_array(&mut r, 16 + 1 + 4 + 1 + 1, |r| {
        let topic_id = r.read_uuid()?;
        let topic_name = string(r, true)?;
        let num_partitions = r.read_i32()?;
        let partition_metadata = compact_array(r, 4 + 1 + 1, |r| {
            let partition = r.read_i32()?;
            let racks = compact_strings(r)?;
            skip_tags(r)?;
            Ok(PartitionMetadata { partition, racks })
        })?;
        skip_tags(r)?;
        Ok(TopicMetadata {
            topic_id,
            topic_name,
            num_partitions,
            partition_metadata,
        })
    })?;
    skip_tags(&mut r)?;
    Ok(ConsumerGroupPartitionMetadataValue { topics })
}

fn decode_consumer_group_member_metadata_value(
    value: &[u8],
) -> Result<ConsumerGroupMemberMetadataValue, DecodeError> {
    let mut r = Reader::new(value);
    // Every version has the layout of version 0.
    let _version = r.read_i16()?;
    let instance_id = nullable_string(&mut r, true)?;
    let rack_id = nullable_string(&mut r, true)?;
    let client_id = string(&mut r, true)?;
    let client_host = string(&mut r, true)?;
    let subscribed_topic_names = compact_strings(&mut r)?;
    let subscribed_topic_regex = nullable_string(&mut r, true)?;
    let rebalance_timeout_ms = r.read_i32()?;
    let server_assignor = nullable_string(&mut r, true)?;
    // Tag 0 is ClassicMemberMetadata, which is not kept.
    skip_tags(&mut r)?;
    Ok(ConsumerGroupMemberMetadataValue {
        instance_id,
        rack_id,
        client_id,
        client_host,
        subscribed_topic_names,
        subscribed_topic_regex,
        rebalance_timeout_ms,
        server_assignor,
    })
}

fn decode_consumer_group_target_assignment_metadata_value(
    value: &[u8],
) -> Result<ConsumerGroupTargetAssignmentMetadataValue, DecodeError> {
    let mut r = Reader::new(value);
    // Every version has the layout of version 0.
    let _version = r.read_i16()?;
    let assignment_epoch = r.read_i32()?;
    skip_tags(&mut r)?;
    Ok(ConsumerGroupTargetAssignmentMetadataValue { assignment_epoch })
}

fn decode_consumer_group_target_assignment_member_value(
    value: &[u8],
) -> Result<ConsumerGroupTargetAssignmentMemberValue, DecodeError> {
    let mut r = Reader::new(value);
    // Every version has the layout of version 0.
    let _version = r.read_i16()?;
    let topic_partitions = read_topic_partitions(&mut r)?;
    skip_tags(&mut r)?;
    Ok(ConsumerGroupTargetAssignmentMemberValue { topic_partitions })
}

fn decode_consumer_group_current_member_assignment_value(
    value: &[u8],
) -> Result<ConsumerGroupCurrentMemberAssignmentValue, DecodeError> {
    let mut r = Reader::new(value);
    // Every version has the layout of version 0.
    let _version = r.read_i16()?;
    let member_epoch = r.read_i32()?;
    let previous_member_epoch = r.read_i32()?;
    let state = r.read_i8()?;
    let assigned_partitions = read_topic_partitions(&mut r)?;
    let partitions_pending_revocation = read_topic_partitions(&mut r)?;
    skip_tags(&mut r)?;
    Ok(ConsumerGroupCurrentMemberAssignmentValue {
        member_epoch,
        previous_member_epoch,
        state,
        assigned_partitions,
        partitions_pending_revocation,
    })
}

/// An array of TopicPartitions; a topic's tagged fields (AssignmentEpochs,
/// tag 0, in later Kafkas) are skipped.
fn read_topic_partitions(r: &mut Reader<'_>) -> Result<Vec<TopicPartitions>, DecodeError> {
    // Uuid, partitions and tags.
    compact_array(r, 16 + 1 + 1, |r| {
        let topic_id = r.read_uuid()?;
        let at = r.position();
        let partitions = r
            .read_compact_i32_array()?
            .ok_or(DecodeError::InvalidLength { at, length: -1 })?;
        skip_tags(r)?;
        Ok(TopicPartitions {
            topic_id,
            partitions,
        })
    })
}

fn decode_offset_value(value: &[u8]) -> Result<OffsetCommitValue, DecodeError> {
    let mut r = Reader::new(value);
    let version = r.read_i16()?;
    let flexible = version >= 4;
    let offset = r.read_i64()?;
    let leader_epoch = if version >= 3 { r.read_i32()? } else { -1 };
    let metadata = string(&mut r, flexible)?;
    let commit_timestamp = r.read_i64()?;
    if version == 1 {
        let _expire_timestamp = r.read_i64()?;
    }
    Ok(OffsetCommitValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
    })
}

fn decode_group_value(value: &[u8]) -> Result<GroupMetadataValue, DecodeError> {
    let mut r = Reader::new(value);
    let version = r.read_i16()?;
    let flexible = version >= 4;
    let protocol_type = string(&mut r, flexible)?;
    let generation = r.read_i32()?;
    let protocol = nullable_string(&mut r, flexible)?;
    let leader = nullable_string(&mut r, flexible)?;
    let current_state_timestamp = if version >= 2 { r.read_i64()? } else { -1 };
    let count = if flexible {
        r.read_compact_array_len(1)?.unwrap_or(0)
    } else {
        r.read_array_len(1)?.unwrap_or(0)
    };
    let bytes = |r: &mut Reader<'_>| -> Result<Bytes, DecodeError> {
        let bytes = if flexible {
            match r.read_uvarint()? {
                0 => None,
                n => Some(r.read_bytes(n as usize - 1)?),
            }
        } else {
            r.read_nullable_bytes()?
        };
        Ok(Bytes::copy_from_slice(bytes.unwrap_or_default()))
    };
    let mut members = Vec::with_capacity(count);
    for _ in 0..count {
        let member_id = string(&mut r, flexible)?;
        let group_instance_id = if version >= 3 {
            nullable_string(&mut r, flexible)?
        } else {
            None
        };
        let client_id = string(&mut r, flexible)?;
        let client_host = string(&mut r, flexible)?;
        let rebalance_timeout = if version >= 1 { r.read_i32()? } else { -1 };
        let session_timeout = r.read_i32()?;
        let subscription = bytes(&mut r)?;
        let assignment = bytes(&mut r)?;
        if flexible {
            r.read_tagged_fields(|_, _| Ok(()))?;
        }
        members.push(MemberMetadata {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout,
            session_timeout,
            subscription,
            assignment,
        });
    }
    Ok(GroupMetadataValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

/// The `__consumer_offsets` partition that holds a group (Kafka's
/// `Utils.abs(groupId.hashCode()) % partitions`).
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let hash = group.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let key = OffsetCommitKey {
            group: "g".into(),
            topic: "orders".into(),
            partition: 3,
        };
        let value = OffsetCommitValue {
            offset: 42,
            leader_epoch: 0,
            metadata: "meta".into(),
            commit_timestamp: 1_700_000_000_000,
        };
        assert_eq!(
            decode(&offset_key(&key), Some(&offset_value(&value))),
            Ok(OffsetsRecord::Offset(key.clone(), Some(value)))
        );
        assert_eq!(
            decode(&offset_key(&key), None),
            Ok(OffsetsRecord::Offset(key, None))
        );

        let group = GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: 7,
            protocol: Some("range".into()),
            leader: Some("m-1".into()),
            current_state_timestamp: 5,
            members: vec![MemberMetadata {
                member_id: "m-1".into(),
                group_instance_id: None,
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout: 300_000,
                session_timeout: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        assert_eq!(
            decode(&group_key("g"), Some(&group_value(&group))),
            Ok(OffsetsRecord::Group("g".into(), Some(group)))
        );
        assert_eq!(decode(&[0, 11, 0], Some(&[])), Ok(OffsetsRecord::Other));
    }

    fn topic_id(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    /// One record of each KIP-848 type, as (key, value, decoded record).
    fn consumer_group_records() -> Vec<(Vec<u8>, Vec<u8>, OffsetsRecord)> {
        let metadata = ConsumerGroupMetadataValue { epoch: 12 };
        let partitions = ConsumerGroupPartitionMetadataValue {
            topics: vec![
                TopicMetadata {
                    topic_id: topic_id(1),
                    topic_name: "orders".into(),
                    num_partitions: 3,
                    partition_metadata: vec![
                        PartitionMetadata {
                            partition: 0,
                            racks: vec!["rack-a".into(), "rack-b".into()],
                        },
                        PartitionMetadata {
                            partition: 1,
                            racks: vec![],
                        },
                    ],
                },
                TopicMetadata {
                    topic_id: topic_id(2),
                    topic_name: "payments".into(),
                    num_partitions: 1,
                    partition_metadata: vec![],
                },
            ],
        };
        let member = ConsumerGroupMemberMetadataValue {
            instance_id: Some("instance-1".into()),
            rack_id: None,
            client_id: "client".into(),
            client_host: "/127.0.0.1".into(),
            subscribed_topic_names: vec!["orders".into(), "payments".into()],
            subscribed_topic_regex: Some("ord.*".into()),
            rebalance_timeout_ms: 300_000,
            server_assignor: Some("uniform".into()),
        };
        let target = ConsumerGroupTargetAssignmentMetadataValue {
            assignment_epoch: 11,
        };
        let target_member = ConsumerGroupTargetAssignmentMemberValue {
            topic_partitions: vec![
                TopicPartitions {
                    topic_id: topic_id(1),
                    partitions: vec![0, 2],
                },
                TopicPartitions {
                    topic_id: topic_id(2),
                    partitions: vec![],
                },
            ],
        };
        let current = ConsumerGroupCurrentMemberAssignmentValue {
            member_epoch: 12,
            previous_member_epoch: 11,
            state: 1,
            assigned_partitions: vec![TopicPartitions {
                topic_id: topic_id(1),
                partitions: vec![0],
            }],
            partitions_pending_revocation: vec![TopicPartitions {
                topic_id: topic_id(1),
                partitions: vec![2],
            }],
        };
        vec![
            (
                consumer_group_metadata_key("g"),
                consumer_group_metadata_value(&metadata),
                OffsetsRecord::ConsumerGroupMetadata("g".into(), Some(metadata)),
            ),
            (
                consumer_group_partition_metadata_key("g"),
                consumer_group_partition_metadata_value(&partitions),
                OffsetsRecord::ConsumerGroupPartitionMetadata("g".into(), Some(partitions)),
            ),
            (
                consumer_group_member_metadata_key("g", "m-1"),
                consumer_group_member_metadata_value(&member),
                OffsetsRecord::ConsumerGroupMemberMetadata("g".into(), "m-1".into(), Some(member)),
            ),
            (
                consumer_group_target_assignment_metadata_key("g"),
                consumer_group_target_assignment_metadata_value(&target),
                OffsetsRecord::ConsumerGroupTargetAssignmentMetadata("g".into(), Some(target)),
            ),
            (
                consumer_group_target_assignment_member_key("g", "m-1"),
                consumer_group_target_assignment_member_value(&target_member),
                OffsetsRecord::ConsumerGroupTargetAssignmentMember(
                    "g".into(),
                    "m-1".into(),
                    Some(target_member),
                ),
            ),
            (
                consumer_group_current_member_assignment_key("g", "m-1"),
                consumer_group_current_member_assignment_value(&current),
                OffsetsRecord::ConsumerGroupCurrentMemberAssignment(
                    "g".into(),
                    "m-1".into(),
                    Some(current),
                ),
            ),
        ]
    }

    /// The record with its value removed.
    fn tombstone(record: &OffsetsRecord) -> OffsetsRecord {
        use OffsetsRecord::*;
        match record.clone() {
            ConsumerGroupMetadata(g, _) => ConsumerGroupMetadata(g, None),
            ConsumerGroupPartitionMetadata(g, _) => ConsumerGroupPartitionMetadata(g, None),
            ConsumerGroupMemberMetadata(g, m, _) => ConsumerGroupMemberMetadata(g, m, None),
            ConsumerGroupTargetAssignmentMetadata(g, _) => {
                ConsumerGroupTargetAssignmentMetadata(g, None)
            }
            ConsumerGroupTargetAssignmentMember(g, m, _) => {
                ConsumerGroupTargetAssignmentMember(g, m, None)
            }
            ConsumerGroupCurrentMemberAssignment(g, m, _) => {
                ConsumerGroupCurrentMemberAssignment(g, m, None)
            }
            other => other,
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn consumer_group_records_round_trip() {
        let records = consumer_group_records();
        for (i, (key, value, record)) in records.iter().enumerate() {
            // Each key starts with its record type, 3 to 8.
            assert_eq!(key[..2], [0, i as u8 + 3]);
            assert_eq!(decode(key, Some(value)).as_ref(), Ok(record));
            assert_eq!(decode(key, None), Ok(tombstone(record)));
        }
    }

    #[test]
    fn consumer_group_records_match_kafkas_bytes() {
        // ConsumerGroupMetadataKey: version 3, GroupId as an INT16 string.
        assert_eq!(consumer_group_metadata_key("g"), hex("0003 0001 67"));
        // ConsumerGroupMetadataValue: version 0, Epoch, no tagged fields.
        let value = ConsumerGroupMetadataValue { epoch: 5 };
        let bytes = hex("0000 00000005 00");
        assert_eq!(consumer_group_metadata_value(&value), bytes);
        assert_eq!(
            decode(&hex("0003 0001 67"), Some(&bytes)),
            Ok(OffsetsRecord::ConsumerGroupMetadata(
                "g".into(),
                Some(value)
            ))
        );

        // ConsumerGroupCurrentMemberAssignmentKey: version 8, GroupId, MemberId.
        let key = hex("0008 0001 67 0001 6d");
        assert_eq!(consumer_group_current_member_assignment_key("g", "m"), key);
        let value = ConsumerGroupCurrentMemberAssignmentValue {
            member_epoch: 10,
            previous_member_epoch: 9,
            state: 1,
            assigned_partitions: vec![TopicPartitions {
                topic_id: Uuid::from_bytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]),
                partitions: vec![0, 2],
            }],
            partitions_pending_revocation: vec![],
        };
        let bytes = hex(concat!(
            "0000",                             // version 0
            "0000000a",                         // MemberEpoch
            "00000009",                         // PreviousMemberEpoch
            "01",                               // State
            "02",                               // AssignedPartitions: 1 topic
            "0102030405060708090a0b0c0d0e0f10", // TopicId
            "03 00000000 00000002",             // Partitions: [0, 2]
            "00",                               // the topic's tagged fields
            "01",                               // PartitionsPendingRevocation: empty
            "00",                               // tagged fields
        ));
        assert_eq!(
            consumer_group_current_member_assignment_value(&value),
            bytes
        );
        assert_eq!(
            decode(&key, Some(&bytes)),
            Ok(OffsetsRecord::ConsumerGroupCurrentMemberAssignment(
                "g".into(),
                "m".into(),
                Some(value)
            ))
        );

        // ConsumerGroupMemberMetadataValue: compact (nullable) strings.
        let value = ConsumerGroupMemberMetadataValue {
            instance_id: None,
            rack_id: Some("r".into()),
            client_id: "c".into(),
            client_host: "h".into(),
            subscribed_topic_names: vec!["t".into()],
            subscribed_topic_regex: None,
            rebalance_timeout_ms: 300_000,
            server_assignor: Some("uniform".into()),
        };
        let bytes = hex(concat!(
            "0000",              // version 0
            "00",                // InstanceId: null
            "02 72",             // RackId: "r"
            "02 63",             // ClientId: "c"
            "02 68",             // ClientHost: "h"
            "02 02 74",          // SubscribedTopicNames: ["t"]
            "00",                // SubscribedTopicRegex: null
            "000493e0",          // RebalanceTimeoutMs: 300000
            "08 756e69666f726d", // ServerAssignor: "uniform"
            "00",                // tagged fields
        ));
        assert_eq!(consumer_group_member_metadata_value(&value), bytes);
        assert_eq!(
            decode(&consumer_group_member_metadata_key("g", "m"), Some(&bytes)),
            Ok(OffsetsRecord::ConsumerGroupMemberMetadata(
                "g".into(),
                "m".into(),
                Some(value)
            ))
        );
    }

    #[test]
    fn unknown_tagged_fields_and_later_versions_are_skipped() {
        // Version 1 of ConsumerGroupMetadataValue with MetadataHash (tag 0,
        // int64) and an unknown tag 5.
        let bytes = hex("0001 0000000c 02 00 08 0102030405060708 05 02 abcd");
        assert_eq!(
            decode(&consumer_group_metadata_key("g"), Some(&bytes)),
            Ok(OffsetsRecord::ConsumerGroupMetadata(
                "g".into(),
                Some(ConsumerGroupMetadataValue { epoch: 12 })
            ))
        );

        // A member with ClassicMemberMetadata (tag 0): SessionTimeoutMs
        // 45000, SupportedProtocols [("range", "abc")].
        let records = consumer_group_records();
        let (key, value, record) = &records[2];
        let mut tagged = value[..value.len() - 1].to_vec();
        tagged.extend(hex("01 00 11 0000afc8 02 06 72616e6765 04 616263 00 00"));
        assert_eq!(decode(key, Some(&tagged)).as_ref(), Ok(record));

        // A topic of an assignment with AssignmentEpochs (tag 0, []int32).
        let key = consumer_group_target_assignment_member_key("g", "m");
        let bytes = hex(concat!(
            "0000 02",
            "0101010101010101 0101010101010101",
            "02 00000007",
            "01 00 05 02 0000000c", // AssignmentEpochs: [12]
            "00",
        ));
        assert_eq!(
            decode(&key, Some(&bytes)),
            Ok(OffsetsRecord::ConsumerGroupTargetAssignmentMember(
                "g".into(),
                "m".into(),
                Some(ConsumerGroupTargetAssignmentMemberValue {
                    topic_partitions: vec![TopicPartitions {
                        topic_id: topic_id(1),
                        partitions: vec![7],
                    }],
                })
            ))
        );

        // Share group records are left to `Other`.
        assert_eq!(decode(&hex("000b 0001 67"), None), Ok(OffsetsRecord::Other));
    }

    #[test]
    fn truncated_consumer_group_records_are_errors() {
        for (key, value, _) in consumer_group_records() {
            for n in 0..key.len() {
                assert!(
                    decode(&key[..n], Some(&value)).is_err(),
                    "key {key:?}[..{n}]"
                );
            }
            for n in 0..value.len() {
                assert!(
                    decode(&key, Some(&value[..n])).is_err(),
                    "value {value:?}[..{n}]"
                );
            }
        }
        // A null array where the schema does not allow one.
        let key = consumer_group_target_assignment_member_key("g", "m");
        assert!(matches!(
            decode(&key, Some(&hex("0000 00 00"))),
            Err(DecodeError::InvalidLength { length: -1, .. })
        ));
        // An array longer than the bytes left.
        assert!(matches!(
            decode(&key, Some(&hex("0000 7f 00"))),
            Err(DecodeError::InvalidLength { .. })
        ));
    }

    #[test]
    fn partitions_match_javas_string_hash() {
        // Values printed by Java's String.hashCode and Math.abs.
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("", 50), 0);
        assert_eq!(partition_for("ünïcödé-group", 50), 15);
        assert_eq!(partition_for("console-consumer-123", 50), 47);
    }
}
