//! Writes KRaft log directories the way the challenge's tester (and Kafka)
//! lays them out: `meta.properties`, a `__cluster_metadata-0` log holding
//! FeatureLevel, Topic and Partition records, and one directory per
//! partition with its log file and `partition.metadata`.

use crate::batch::{Record, RecordBatch};
use crate::wire::{Uuid, Writer};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub const LOG_FILE: &str = "00000000000000000000.log";
pub const NODE_ID: i32 = 1;
pub const CLUSTER_ID: &str = "IAAAAAAAQACAAAAAAAAAAQ";
/// The log directory id the partition records name.
pub const DIRECTORY_ID: Uuid = crate::wire::uuid(0x10000000_0000_4000_8000_000000000001);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSpec {
    pub index: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Encoded batches already in the log, back to back.
    pub batches: Vec<Vec<u8>>,
}

impl PartitionSpec {
    pub fn new(index: i32) -> Self {
        PartitionSpec {
            index,
            leader: NODE_ID,
            leader_epoch: 0,
            replicas: vec![NODE_ID],
            isr: vec![NODE_ID],
            batches: Vec::new(),
        }
    }

    /// One single-record batch per message, at offsets 0, 1, 2, ... (as the
    /// challenge's tester writes them).
    pub fn with_messages(mut self, messages: &[&str]) -> Self {
        self.batches = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                RecordBatch::new(vec![Record::value(m.as_bytes().to_vec())])
                    .with_base_offset(i as i64)
                    .encode()
            })
            .collect();
        self
    }

    pub fn log_bytes(&self) -> Vec<u8> {
        self.batches.concat()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub id: Uuid,
    pub partitions: Vec<PartitionSpec>,
}

impl TopicSpec {
    /// A topic with `partitions` empty partitions led by node 1.
    pub fn new(name: &str, id: Uuid, partitions: i32) -> Self {
        TopicSpec {
            name: name.to_string(),
            id,
            partitions: (0..partitions).map(PartitionSpec::new).collect(),
        }
    }

    pub fn with_partition(mut self, partition: PartitionSpec) -> Self {
        self.partitions.retain(|p| p.index != partition.index);
        self.partitions.push(partition);
        self.partitions.sort_by_key(|p| p.index);
        self
    }
}

/// The log directory Apache Kafka 4.0 wrote (the challenge's fixture, see
/// `tests/fixtures/kafka-4.0-logs/README.md`): topic `foo`, one batch.
pub fn kafka_4_0_logs() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kafka-4.0-logs"
    ))
}

/// The id of topic `foo` in [`kafka_4_0_logs`].
pub const KAFKA_4_0_FOO_ID: Uuid = crate::wire::uuid(0xbfd99e5e_3235_4552_81f8_d4af1741970c);

/// Copies a directory tree, leaving the copies writable.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::write(&target, std::fs::read(entry.path())?)?;
        }
    }
    Ok(())
}

/// Path of a partition's first log file under `log_dir`.
pub fn log_file(log_dir: &Path, topic: &str, partition: i32) -> PathBuf {
    log_dir.join(format!("{topic}-{partition}")).join(LOG_FILE)
}

/// Writes a whole log directory for `topics` into `log_dir` (created if missing).
pub fn write_log_dir(log_dir: &Path, topics: &[TopicSpec]) -> Result<()> {
    std::fs::create_dir_all(log_dir)?;
    std::fs::write(
        log_dir.join("meta.properties"),
        format!(
            "#\n#Written by the harness\ncluster.id={CLUSTER_ID}\ndirectory.id={}\nnode.id={NODE_ID}\nversion=1\n",
            base64_url(&DIRECTORY_ID)
        ),
    )?;
    let metadata_dir = log_dir.join("__cluster_metadata-0");
    std::fs::create_dir_all(&metadata_dir)?;
    std::fs::write(metadata_dir.join(LOG_FILE), metadata_log(topics))?;
    std::fs::write(
        metadata_dir.join("partition.metadata"),
        "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ",
    )?;
    for topic in topics {
        for partition in &topic.partitions {
            let dir = log_dir.join(format!("{}-{}", topic.name, partition.index));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            std::fs::write(
                dir.join("partition.metadata"),
                format!("version: 0\ntopic_id: {}", base64_url(&topic.id)),
            )?;
            std::fs::write(dir.join(LOG_FILE), partition.log_bytes())?;
        }
    }
    Ok(())
}

/// The metadata log: a batch with the metadata.version feature level, then
/// one batch per topic holding its TopicRecord and PartitionRecords.
pub fn metadata_log(topics: &[TopicSpec]) -> Vec<u8> {
    let mut log = Vec::new();
    let mut offset = 0;
    let mut push = |values: Vec<Vec<u8>>| {
        let count = values.len() as i64;
        let records = values
            .into_iter()
            .map(|v| Record {
                timestamp_delta: 0,
                offset_delta: 0,
                key: None,
                value: Some(v),
                headers: Vec::new(),
            })
            .collect();
        let mut batch = RecordBatch::without_producer(records).with_base_offset(offset);
        batch.partition_leader_epoch = 1;
        log.extend(batch.encode());
        offset += count;
    };
    push(vec![feature_level_record("metadata.version", 20)]);
    for topic in topics {
        let mut values = vec![topic_record(&topic.name, &topic.id)];
        values.extend(
            topic
                .partitions
                .iter()
                .map(|p| partition_record(&topic.id, p)),
        );
        push(values);
    }
    log
}

fn metadata_record(record_type: u64, version: u64) -> Writer {
    let mut w = Writer::new();
    w.uvarint(1).uvarint(record_type).uvarint(version);
    w
}

pub fn feature_level_record(name: &str, level: i16) -> Vec<u8> {
    let mut w = metadata_record(12, 0);
    w.compact_string(name).i16(level).no_tags();
    w.into_bytes()
}

pub fn topic_record(name: &str, id: &Uuid) -> Vec<u8> {
    let mut w = metadata_record(2, 0);
    w.compact_string(name).uuid(id).no_tags();
    w.into_bytes()
}

/// A PartitionRecord of version 1 (with directories), as Kafka 3.7+ writes.
pub fn partition_record(topic_id: &Uuid, p: &PartitionSpec) -> Vec<u8> {
    let mut w = metadata_record(3, 1);
    w.i32(p.index)
        .uuid(topic_id)
        .compact_i32_array(&p.replicas)
        .compact_i32_array(&p.isr)
        .compact_i32_array(&[])
        .compact_i32_array(&[])
        .i32(p.leader)
        .i32(p.leader_epoch)
        .i32(0)
        .compact_array_len(p.replicas.len());
    for _ in &p.replicas {
        w.uuid(&DIRECTORY_ID);
    }
    w.no_tags();
    w.into_bytes()
}

/// URL-safe base64 without padding, Kafka's textual form of ids.
pub fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_kafkas_ids() {
        assert_eq!(base64_url(&crate::wire::uuid(1)), "AAAAAAAAAAAAAAAAAAAAAQ");
        assert_eq!(
            base64_url(&crate::wire::uuid(0xbfd99e5e_3235_4552_81f8_d4af1741970c)),
            "v9meXjI1RVKB-NSvF0GXDA"
        );
    }

    #[test]
    fn metadata_log_is_made_of_valid_batches() {
        let topics = [TopicSpec::new("foo", crate::wire::uuid(7), 2)];
        let batches = crate::batch::decode_batches(&metadata_log(&topics)).unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[1].batch.base_offset, 1);
        assert_eq!(batches[1].batch.records.len(), 3);
    }
}
