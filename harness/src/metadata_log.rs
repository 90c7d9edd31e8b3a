//! Reads a KRaft metadata log (`__cluster_metadata-0`) by hand: its record
//! batches, and in each record's value the metadata record framed as Kafka's
//! `MetadataRecordSerde` writes it (unsigned varints: frame version 1, record
//! type, record version; then the record's flexible body). The record types
//! a broker writes when topics are created, and those of SCRAM credentials
//! and ACLs, are decoded field by field; other types are kept as their type
//! and version.

use crate::batch::{self, DecodedBatch};
use crate::wire::{Reader, Uuid};
use anyhow::{Context, Result, ensure};
use std::path::Path;

/// The metadata log's directory under a log directory.
pub const METADATA_LOG_DIR: &str = "__cluster_metadata-0";

/// Kafka's `MetadataRecordType` ids of the records decoded here.
pub const TOPIC_RECORD: u64 = 2;
pub const PARTITION_RECORD: u64 = 3;
pub const PARTITION_CHANGE_RECORD: u64 = 5;
pub const CONFIG_RECORD: u64 = 4;
pub const REMOVE_TOPIC_RECORD: u64 = 9;
pub const USER_SCRAM_CREDENTIAL_RECORD: u64 = 11;
pub const FEATURE_LEVEL_RECORD: u64 = 12;
pub const ACCESS_CONTROL_ENTRY_RECORD: u64 = 18;
pub const REMOVE_ACCESS_CONTROL_ENTRY_RECORD: u64 = 19;

/// Control batches (attributes bit 5) hold KRaft's own records (leader
/// changes, snapshot markers), not metadata records.
const CONTROL_BIT: i16 = 0x20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRecord {
    pub version: u64,
    pub partition_id: i32,
    pub topic_id: Uuid,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub removing_replicas: Vec<i32>,
    pub adding_replicas: Vec<i32>,
    pub leader: i32,
    /// Tagged field 0; 0 (recovered) when absent.
    pub leader_recovery_state: i8,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    /// Version 1 and later: the log directory of each replica.
    pub directories: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataRecord {
    Topic {
        name: String,
        topic_id: Uuid,
    },
    Partition(PartitionRecord),
    Config {
        resource_type: i8,
        resource_name: String,
        name: String,
        value: Option<String>,
    },
    RemoveTopic {
        topic_id: Uuid,
    },
    /// What this reader takes of a PartitionChangeRecord (versions 0 to
    /// 2): its partition, a new leader (tag 1) and new directories (tag 8,
    /// version 2). The other tagged fields are skipped.
    PartitionChange {
        partition_id: i32,
        topic_id: Uuid,
        leader: Option<i32>,
        directories: Option<Vec<Uuid>>,
    },
    FeatureLevel {
        name: String,
        level: i16,
    },
    /// A user's SCRAM credential for one mechanism: the salt, the stored
    /// and server keys, never the password.
    UserScramCredential {
        name: String,
        mechanism: i8,
        salt: Vec<u8>,
        stored_key: Vec<u8>,
        server_key: Vec<u8>,
        iterations: i32,
    },
    /// An ACL and its id; the codes are Kafka's, as in [`crate::acls`].
    AccessControlEntry {
        id: Uuid,
        resource_type: i8,
        resource_name: String,
        pattern_type: i8,
        principal: String,
        host: String,
        operation: i8,
        permission_type: i8,
    },
    /// The removal of the ACL of `id`.
    RemoveAccessControlEntry {
        id: Uuid,
    },
    /// A record type this reader does not decode.
    Other {
        record_type: u64,
        version: u64,
    },
}

/// A metadata record and the offset it was written at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRecord {
    pub offset: i64,
    pub record: MetadataRecord,
}

/// Every metadata record of the metadata log under `log_dir`, in offset
/// order, read from all its segments. Fails on a bad batch (length, magic,
/// CRC), a record that is not a framed metadata record, or a decoded record
/// with bytes left over.
pub fn read(log_dir: &Path) -> Result<Vec<LoggedRecord>> {
    let dir = log_dir.join(METADATA_LOG_DIR);
    let mut segments: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "log"))
        .collect();
    // Segment names are zero-padded base offsets: name order is offset order.
    segments.sort();
    let mut records = Vec::new();
    for segment in segments {
        let bytes =
            std::fs::read(&segment).with_context(|| format!("reading {}", segment.display()))?;
        let batches =
            batch::decode_batches(&bytes).with_context(|| format!("in {}", segment.display()))?;
        records.extend(records_of(&batches).with_context(|| format!("in {}", segment.display()))?);
    }
    Ok(records)
}

/// The metadata records of decoded batches, control batches left out.
pub fn records_of(batches: &[DecodedBatch]) -> Result<Vec<LoggedRecord>> {
    let mut out = Vec::new();
    for decoded in batches {
        let batch = &decoded.batch;
        if batch.attributes & CONTROL_BIT != 0 {
            continue;
        }
        for record in &batch.records {
            let offset = batch.base_offset + i64::from(record.offset_delta);
            let value = record
                .value
                .as_deref()
                .with_context(|| format!("record at offset {offset} has no value"))?;
            let record =
                decode_record(value).with_context(|| format!("record at offset {offset}"))?;
            out.push(LoggedRecord { offset, record });
        }
    }
    Ok(out)
}

/// One framed metadata record.
pub fn decode_record(value: &[u8]) -> Result<MetadataRecord> {
    let mut r = Reader::new(value);
    let frame_version = r.uvarint()?;
    ensure!(frame_version == 1, "frame version {frame_version}");
    let record_type = r.uvarint()?;
    let version = r.uvarint()?;
    let record = match record_type {
        TOPIC_RECORD => {
            ensure!(version == 0, "TopicRecord v{version}");
            let name = r.compact_string()?;
            let topic_id = r.uuid()?;
            r.tagged_fields()?;
            MetadataRecord::Topic { name, topic_id }
        }
        PARTITION_RECORD => MetadataRecord::Partition(partition_record(&mut r, version)?),
        PARTITION_CHANGE_RECORD => {
            ensure!(version <= 2, "PartitionChangeRecord v{version}");
            let partition_id = r.i32()?;
            let topic_id = r.uuid()?;
            let mut leader = None;
            let mut directories = None;
            for (tag, data) in r.tagged_fields()? {
                let mut field = Reader::new(data);
                match tag {
                    1 => leader = Some(field.i32()?),
                    8 => {
                        ensure!(
                            version >= 2,
                            "directories in PartitionChangeRecord v{version}"
                        );
                        directories = Some(field.compact_array(|r| r.uuid())?);
                    }
                    _ => continue,
                }
                field
                    .finish()
                    .with_context(|| format!("tagged field {tag}"))?;
            }
            MetadataRecord::PartitionChange {
                partition_id,
                topic_id,
                leader,
                directories,
            }
        }
        CONFIG_RECORD => {
            ensure!(version == 0, "ConfigRecord v{version}");
            let record = MetadataRecord::Config {
                resource_type: r.i8()?,
                resource_name: r.compact_string()?,
                name: r.compact_string()?,
                value: r.compact_nullable_string()?,
            };
            r.tagged_fields()?;
            record
        }
        REMOVE_TOPIC_RECORD => {
            ensure!(version == 0, "RemoveTopicRecord v{version}");
            let topic_id = r.uuid()?;
            r.tagged_fields()?;
            MetadataRecord::RemoveTopic { topic_id }
        }
        FEATURE_LEVEL_RECORD => {
            ensure!(version == 0, "FeatureLevelRecord v{version}");
            let name = r.compact_string()?;
            let level = r.i16()?;
            r.tagged_fields()?;
            MetadataRecord::FeatureLevel { name, level }
        }
        USER_SCRAM_CREDENTIAL_RECORD => {
            ensure!(version == 0, "UserScramCredentialRecord v{version}");
            let name = r.compact_string()?;
            let mechanism = r.i8()?;
            let mut bytes = |what: &str| -> Result<Vec<u8>> {
                Ok(r.compact_nullable_bytes()?
                    .with_context(|| format!("null {what}"))?
                    .to_vec())
            };
            let salt = bytes("salt")?;
            let stored_key = bytes("stored key")?;
            let server_key = bytes("server key")?;
            let iterations = r.i32()?;
            r.tagged_fields()?;
            MetadataRecord::UserScramCredential {
                name,
                mechanism,
                salt,
                stored_key,
                server_key,
                iterations,
            }
        }
        ACCESS_CONTROL_ENTRY_RECORD => {
            ensure!(version == 0, "AccessControlEntryRecord v{version}");
            let record = MetadataRecord::AccessControlEntry {
                id: r.uuid()?,
                resource_type: r.i8()?,
                resource_name: r.compact_string()?,
                pattern_type: r.i8()?,
                principal: r.compact_string()?,
                host: r.compact_string()?,
                operation: r.i8()?,
                permission_type: r.i8()?,
            };
            r.tagged_fields()?;
            record
        }
        REMOVE_ACCESS_CONTROL_ENTRY_RECORD => {
            ensure!(version == 0, "RemoveAccessControlEntryRecord v{version}");
            let id = r.uuid()?;
            r.tagged_fields()?;
            MetadataRecord::RemoveAccessControlEntry { id }
        }
        _ => {
            return Ok(MetadataRecord::Other {
                record_type,
                version,
            });
        }
    };
    r.finish()?;
    Ok(record)
}

/// PartitionRecord versions 0 to 2 (1 added Directories; 2 only tagged
/// fields for eligible leader replicas).
fn partition_record(r: &mut Reader<'_>, version: u64) -> Result<PartitionRecord> {
    ensure!(version <= 2, "PartitionRecord v{version}");
    let partition_id = r.i32()?;
    let topic_id = r.uuid()?;
    let replicas = r.compact_i32_array()?;
    let isr = r.compact_i32_array()?;
    let removing_replicas = r.compact_nullable_array(|r| r.i32())?.unwrap_or_default();
    let adding_replicas = r.compact_nullable_array(|r| r.i32())?.unwrap_or_default();
    let leader = r.i32()?;
    let leader_epoch = r.i32()?;
    let partition_epoch = r.i32()?;
    let directories = if version >= 1 {
        r.compact_array(|r| r.uuid())?
    } else {
        Vec::new()
    };
    let mut leader_recovery_state = 0;
    for (tag, data) in r.tagged_fields()? {
        if tag == 0 {
            let mut field = Reader::new(data);
            leader_recovery_state = field.i8()?;
            field.finish().context("tagged LeaderRecoveryState")?;
        }
    }
    Ok(PartitionRecord {
        version,
        partition_id,
        topic_id,
        replicas,
        isr,
        removing_replicas,
        adding_replicas,
        leader,
        leader_recovery_state,
        leader_epoch,
        partition_epoch,
        directories,
    })
}

/// The topics the records leave in place, in creation order: (name, id)
/// of each TopicRecord not followed by a RemoveTopicRecord of its id.
pub fn live_topics(records: &[LoggedRecord]) -> Vec<(String, Uuid)> {
    let mut topics: Vec<(String, Uuid)> = Vec::new();
    for logged in records {
        match &logged.record {
            MetadataRecord::Topic { name, topic_id } => topics.push((name.clone(), *topic_id)),
            MetadataRecord::RemoveTopic { topic_id } => topics.retain(|(_, id)| id != topic_id),
            _ => {}
        }
    }
    topics
}

/// Each partition of `topic_id` with its leader and replica directories
/// after every PartitionRecord and PartitionChangeRecord.
pub fn partition_states(
    records: &[LoggedRecord],
    topic_id: &Uuid,
) -> std::collections::BTreeMap<i32, (i32, Vec<Uuid>)> {
    let mut states = std::collections::BTreeMap::new();
    for logged in records {
        match &logged.record {
            MetadataRecord::Partition(p) if &p.topic_id == topic_id => {
                states.insert(p.partition_id, (p.leader, p.directories.clone()));
            }
            MetadataRecord::PartitionChange {
                partition_id,
                topic_id: id,
                leader,
                directories,
            } if id == topic_id => {
                if let Some(state) = states.get_mut(partition_id) {
                    if let Some(leader) = leader {
                        state.0 = *leader;
                    }
                    if let Some(directories) = directories {
                        state.1 = directories.clone();
                    }
                }
            }
            _ => {}
        }
    }
    states
}

/// The PartitionRecords of `topic_id`, in log order.
pub fn partitions_of(records: &[LoggedRecord], topic_id: &Uuid) -> Vec<PartitionRecord> {
    records
        .iter()
        .filter_map(|logged| match &logged.record {
            MetadataRecord::Partition(p) if &p.topic_id == topic_id => Some(p.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{self, DIRECTORY_ID, NODE_ID, TopicSpec};
    use crate::wire::uuid;

    #[test]
    fn reads_back_what_the_fixture_writes() {
        let dir = tempfile::tempdir().unwrap();
        let topics = [
            TopicSpec::new("foo", uuid(7), 2),
            TopicSpec::new("bar", uuid(8), 1),
        ];
        fixture::write_log_dir(dir.path(), &topics).unwrap();
        let records = read(dir.path()).unwrap();
        assert_eq!(
            records[0].record,
            MetadataRecord::FeatureLevel {
                name: "metadata.version".into(),
                level: 20
            }
        );
        assert_eq!(
            live_topics(&records),
            vec![("foo".to_string(), uuid(7)), ("bar".to_string(), uuid(8))]
        );
        let foo = partitions_of(&records, &uuid(7));
        assert_eq!(
            foo.iter().map(|p| p.partition_id).collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(foo[1].replicas, [NODE_ID]);
        assert_eq!(foo[1].directories, [DIRECTORY_ID]);
        let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, (0..records.len() as i64).collect::<Vec<_>>());
    }

    #[test]
    fn reads_a_log_written_by_kafka() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kafka-4.0-logs");
        let records = read(&dir).unwrap();
        let topics = live_topics(&records);
        assert!(!topics.is_empty(), "{records:?}");
        for (name, id) in &topics {
            assert!(!partitions_of(&records, id).is_empty(), "{name}");
        }
    }

    #[test]
    fn decodes_access_control_entry_records() {
        let id = uuid(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10);
        // Frame v1, type 18, v0; id; TOPIC, "t", PREFIXED, "User:a", "*",
        // WRITE, ALLOW; no tagged fields.
        let value: Vec<u8> = [
            vec![1, 18, 0],
            (1..=16).collect(),
            vec![2, 2, b't', 4, 7],
            b"User:a".to_vec(),
            vec![2, b'*', 4, 3, 0],
        ]
        .concat();
        assert_eq!(
            decode_record(&value).unwrap(),
            MetadataRecord::AccessControlEntry {
                id,
                resource_type: 2,
                resource_name: "t".into(),
                pattern_type: 4,
                principal: "User:a".into(),
                host: "*".into(),
                operation: 4,
                permission_type: 3,
            }
        );
        for len in 0..value.len() {
            assert!(decode_record(&value[..len]).is_err(), "{len} bytes");
        }
        let mut longer = value.clone();
        longer.push(0);
        assert!(decode_record(&longer).is_err());
        // Version 1 is not guessed at.
        let mut v1 = value.clone();
        v1[2] = 1;
        assert!(decode_record(&v1).is_err());
        // RemoveAccessControlEntryRecord: frame v1, type 19, v0; id; no tags.
        let remove: Vec<u8> = [vec![1, 19, 0], (1..=16).collect(), vec![0]].concat();
        assert_eq!(
            decode_record(&remove).unwrap(),
            MetadataRecord::RemoveAccessControlEntry { id }
        );
        assert!(decode_record(&remove[..remove.len() - 1]).is_err());
    }

    #[test]
    fn rejects_what_is_not_a_metadata_record() {
        // Frame version 0.
        assert!(decode_record(&[0, 2, 0]).is_err());
        // A TopicRecord cut short.
        let mut topic = fixture::topic_record("foo", &uuid(1));
        topic.pop();
        assert!(decode_record(&topic).is_err());
        // A TopicRecord with a byte too many.
        let mut topic = fixture::topic_record("foo", &uuid(1));
        topic.push(0);
        assert!(decode_record(&topic).is_err());
        // An unknown type is kept, not guessed at.
        assert_eq!(
            decode_record(&[1, 100, 1, 0xff]).unwrap(),
            MetadataRecord::Other {
                record_type: 100,
                version: 1
            }
        );
    }
}
