//! The records of `__consumer_offsets`, in Kafka's format
//! (`group-coordinator/src/main/resources/common/message/*.json`): the key
//! starts with an INT16 version telling the record type (0 and 1: a
//! committed offset, 2: group metadata), the value with its own version. A
//! null value is a tombstone.

use crate::byte_utils::{DecodeError, Reader, Writer};
use bytes::Bytes;

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

/// A decoded record of `__consumer_offsets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetsRecord {
    /// A committed offset; `None` deletes it.
    Offset(OffsetCommitKey, Option<OffsetCommitValue>),
    /// A group's metadata; `None` deletes the group.
    Group(String, Option<GroupMetadataValue>),
    /// Records of other group types (consumer groups of KIP-848, share groups).
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

    #[test]
    fn partitions_match_javas_string_hash() {
        // Values printed by Java's String.hashCode and Math.abs.
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("", 50), 0);
        assert_eq!(partition_for("ünïcödé-group", 50), 15);
        assert_eq!(partition_for("console-consumer-123", 50), 47);
    }
}
