//! The share coordinator (KIP-932, Kafka's `ShareCoordinatorShard`): the
//! durable state of every share partition, kept in `__share_group_state`
//! as Kafka keeps it. A share partition's state starts as a ShareSnapshot
//! when the group is first assigned the partition (Kafka's
//! InitializeShareGroupState); each later write (WriteShareGroupState) is
//! a ShareUpdate, or a new ShareSnapshot once
//! `share.coordinator.snapshot.update.records.per.snapshot` updates were
//! written since the last one. Deleting the state writes tombstones.
//!
//! A share partition's records go to partition
//! `abs(hash("group:topicId:partition")) % partitions` of the topic, the
//! hash Java's `String.hashCode`, as Kafka's `partitionFor`. At start the
//! records are read back and replayed.

use super::records::partition_for;
use super::share_partition::StateBatch;
use super::share_records::{
    self, SHARE_GROUP_STATE_TOPIC, SHARE_SNAPSHOT, SHARE_UPDATE, ShareGroupState,
    ShareSnapshotValue, ShareStateKey, ShareStateRecord, ShareUpdateValue,
};
use crate::internal_topics::{InternalTopic, TopicRecord};
use crate::metadata::controller::NewTopic;
use crate::storage::record_batch;
use base64::Engine;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use tracing::warn;

/// The share coordinator's settings (`share.coordinator.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareCoordinatorConfig {
    pub state_topic_num_partitions: i32,
    pub state_topic_segment_bytes: u64,
    pub snapshot_update_records_per_snapshot: usize,
}

/// A share partition's stored state, as WriteShareGroupState gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateWrite {
    pub start_offset: i64,
    pub state_batches: Vec<StateBatch>,
}

pub struct ShareCoordinator {
    config: ShareCoordinatorConfig,
    /// Every share partition's state, with the last snapshot's epoch.
    states: Mutex<BTreeMap<ShareStateKey, ShareGroupState>>,
}

/// Kafka's text form of a topic id: URL-safe base64 without padding.
fn kafka_uuid(id: &uuid::Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// The partition of `__share_group_state` a share partition's records go
/// to (Kafka's `ShareCoordinatorService.partitionFor`).
pub fn state_partition_for(key: &ShareStateKey, partitions: i32) -> i32 {
    let coordinator_key = format!(
        "{}:{}:{}",
        key.group_id,
        kafka_uuid(&key.topic_id),
        key.partition
    );
    partition_for(&coordinator_key, partitions)
}

impl ShareCoordinator {
    pub fn new(config: ShareCoordinatorConfig) -> Self {
        ShareCoordinator {
            config,
            states: Mutex::new(BTreeMap::new()),
        }
    }

    /// How `__share_group_state` is created: Kafka's settings for it
    /// (KIP-932: deleted, never compacted, kept forever).
    pub fn state_topic_spec(&self) -> NewTopic {
        NewTopic {
            name: SHARE_GROUP_STATE_TOPIC.to_string(),
            num_partitions: self.config.state_topic_num_partitions,
            replication_factor: -1,
            assignments: Vec::new(),
            configs: vec![
                ("cleanup.policy".into(), Some("delete".into())),
                ("compression.type".into(), Some("producer".into())),
                (
                    "segment.bytes".into(),
                    Some(self.config.state_topic_segment_bytes.to_string()),
                ),
                ("retention.ms".into(), Some("-1".into())),
            ],
        }
    }

    /// Replays `__share_group_state` (at start).
    pub fn load(&self, topic: &dyn InternalTopic) -> io::Result<()> {
        let mut states: BTreeMap<ShareStateKey, ShareGroupState> = BTreeMap::new();
        let mut skipped = 0usize;
        topic.read_all(&mut |_, batch| {
            let Ok(header) = record_batch::BatchHeader::parse(batch) else {
                return;
            };
            if header.is_control() || header.compression_codec() != 0 {
                return;
            }
            let Ok(records) = record_batch::records(batch) else {
                return;
            };
            for record in records.filter_map(Result::ok) {
                let Some(key) = record.key else { continue };
                match share_records::decode(key, record.value) {
                    Ok(ShareStateRecord::Snapshot(key, value)) => {
                        states.insert(key, ShareGroupState::from_snapshot(&value));
                    }
                    Ok(ShareStateRecord::Update(key, value)) => {
                        // An update without a snapshot before it is of a
                        // state already deleted.
                        if let Some(state) = states.get_mut(&key)
                            && value.snapshot_epoch == state.snapshot_epoch
                        {
                            state.apply_update(&value);
                        }
                    }
                    Ok(ShareStateRecord::Tombstone(SHARE_SNAPSHOT, key)) => {
                        states.remove(&key);
                    }
                    Ok(ShareStateRecord::Tombstone(..)) => {}
                    Err(_) => skipped += 1,
                }
            }
        })?;
        if skipped > 0 {
            warn!(
                records = skipped,
                "skipped unreadable records of {SHARE_GROUP_STATE_TOPIC}"
            );
        }
        *self.states.lock() = states;
        Ok(())
    }

    /// The stored state of a share partition, if it was initialized.
    pub fn read(&self, key: &ShareStateKey) -> Option<ShareGroupState> {
        self.states.lock().get(key).cloned()
    }

    /// Every share partition with state, of one group or all.
    pub fn keys(&self, group_id: Option<&str>) -> Vec<ShareStateKey> {
        self.states
            .lock()
            .keys()
            .filter(|k| group_id.is_none_or(|g| k.group_id == g))
            .cloned()
            .collect()
    }

    /// The groups that have some share-partition state.
    pub fn groups(&self) -> BTreeSet<String> {
        self.states
            .lock()
            .keys()
            .map(|k| k.group_id.clone())
            .collect()
    }

    /// Initializes a share partition's state (Kafka's
    /// InitializeShareGroupState): a first snapshot, its start offset -1
    /// when it is to be found with `share.auto.offset.reset` at the first
    /// fetch. Nothing happens to a state that exists.
    pub fn initialize(
        &self,
        topic: &dyn InternalTopic,
        key: &ShareStateKey,
        state_epoch: i32,
        start_offset: i64,
        now_ms: i64,
    ) -> Result<(), ResponseError> {
        let mut states = self.states.lock();
        if states.contains_key(key) {
            return Ok(());
        }
        let state = ShareGroupState {
            snapshot_epoch: 0,
            state_epoch,
            leader_epoch: 0,
            start_offset,
            create_timestamp: now_ms,
            write_timestamp: now_ms,
            state_batches: Vec::new(),
            updates_since_snapshot: 0,
        };
        let snapshot = state.to_snapshot(0, now_ms);
        let record = (
            share_records::encode_key(SHARE_SNAPSHOT, key),
            Some(share_records::encode_snapshot_value(&snapshot)),
        );
        self.append(topic, key, &[record])?;
        states.insert(key.clone(), state);
        Ok(())
    }

    /// Starts a share partition's state afresh at `start_offset` (Kafka's
    /// InitializeShareGroupState for AlterShareGroupOffsets): a new
    /// ShareSnapshot, its epoch one above the last (0 for a new state), no
    /// batches, leader epoch 0, and a delivery-complete count of 0 (-1 when
    /// the start offset is -1), whatever state there was.
    pub fn reinitialize(
        &self,
        topic: &dyn InternalTopic,
        key: &ShareStateKey,
        state_epoch: i32,
        start_offset: i64,
        now_ms: i64,
    ) -> Result<(), ResponseError> {
        let mut states = self.states.lock();
        let snapshot_epoch = states.get(key).map_or(0, |s| s.snapshot_epoch + 1);
        let snapshot = ShareSnapshotValue {
            snapshot_epoch,
            state_epoch,
            leader_epoch: 0,
            start_offset,
            delivery_complete_count: if start_offset == -1 { -1 } else { 0 },
            create_timestamp: now_ms,
            write_timestamp: now_ms,
            state_batches: Vec::new(),
        };
        let record = (
            share_records::encode_key(SHARE_SNAPSHOT, key),
            Some(share_records::encode_snapshot_value(&snapshot)),
        );
        self.append(topic, key, &[record])?;
        states.insert(key.clone(), ShareGroupState::from_snapshot(&snapshot));
        Ok(())
    }

    /// Writes a share partition's new state (Kafka's WriteShareGroupState):
    /// a ShareUpdate, or a ShareSnapshot when enough updates were written
    /// since the last. UNKNOWN_TOPIC_OR_PARTITION for a share partition
    /// never initialized.
    pub fn write(
        &self,
        topic: &dyn InternalTopic,
        key: &ShareStateKey,
        write: &StateWrite,
        now_ms: i64,
    ) -> Result<(), ResponseError> {
        let mut states = self.states.lock();
        let Some(current) = states.get(key) else {
            return Err(ResponseError::UnknownTopicOrPartition);
        };
        let mut next = current.clone();
        let update = ShareUpdateValue {
            snapshot_epoch: current.snapshot_epoch,
            leader_epoch: -1,
            start_offset: write.start_offset,
            delivery_complete_count: -1,
            state_batches: write.state_batches.clone(),
        };
        next.apply_update(&update);
        next.write_timestamp = now_ms;
        let snapshot_due =
            current.updates_since_snapshot >= self.config.snapshot_update_records_per_snapshot;
        let record = if snapshot_due {
            next.snapshot_epoch += 1;
            next.updates_since_snapshot = 0;
            let snapshot = next.to_snapshot(next.snapshot_epoch, now_ms);
            (
                share_records::encode_key(SHARE_SNAPSHOT, key),
                Some(share_records::encode_snapshot_value(&snapshot)),
            )
        } else {
            (
                share_records::encode_key(SHARE_UPDATE, key),
                Some(share_records::encode_update_value(&update)),
            )
        };
        self.append(topic, key, &[record])?;
        states.insert(key.clone(), next);
        Ok(())
    }

    /// Deletes a share partition's state (Kafka's DeleteShareGroupState):
    /// tombstones for its snapshot and update keys.
    pub fn delete(
        &self,
        topic: &dyn InternalTopic,
        key: &ShareStateKey,
    ) -> Result<(), ResponseError> {
        let mut states = self.states.lock();
        if !states.contains_key(key) {
            return Ok(());
        }
        let records: Vec<TopicRecord> = [SHARE_SNAPSHOT, SHARE_UPDATE]
            .into_iter()
            .map(|kind| (share_records::encode_key(kind, key), None))
            .collect();
        self.append(topic, key, &records)?;
        states.remove(key);
        Ok(())
    }

    fn append(
        &self,
        topic: &dyn InternalTopic,
        key: &ShareStateKey,
        records: &[TopicRecord],
    ) -> Result<(), ResponseError> {
        let partitions = topic.partitions()?;
        let partition = state_partition_for(key, partitions);
        topic.append(partition, records).map_err(|e| {
            warn!(group = %key.group_id, "cannot write to {SHARE_GROUP_STATE_TOPIC}: {e:?}");
            ResponseError::CoordinatorNotAvailable
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn the_state_partition_is_kafkas() {
        // Kafka's Uuid text of these bytes, and Java's hash of the key.
        let key = ShareStateKey {
            group_id: "g".into(),
            topic_id: Uuid::from_u128(1),
            partition: 0,
        };
        assert_eq!(kafka_uuid(&key.topic_id), "AAAAAAAAAAAAAAAAAAAAAQ");
        let text = "g:AAAAAAAAAAAAAAAAAAAAAQ:0";
        let hash = text
            .bytes()
            .fold(0i32, |h, b| h.wrapping_mul(31).wrapping_add(i32::from(b)));
        assert_eq!(state_partition_for(&key, 50), hash.wrapping_abs() % 50);
    }
}
