//! The records of `__share_group_state`, in Kafka's format
//! (`share-coordinator/src/main/resources/common/message/*.json`), and how
//! the share coordinator reads them back (Kafka's `ShareCoordinatorShard`
//! replay).
//!
//! The key starts with an INT16 telling the record type (0: ShareSnapshot,
//! 1: ShareUpdate), then the group id (an INT16-length string: keys are not
//! flexible), the topic id and the partition. The value starts with its
//! INT16 version (0) and is flexible: compact arrays and tagged fields,
//! `DeliveryCompleteCount` (Kafka 4.2, KIP-1226) as tag 0, -1 when absent.
//! A snapshot holds a share partition's whole state; an update the state
//! batches that changed since, applied over it. A null value is a
//! tombstone (the share partition's state was deleted).

use super::share_partition::{RecordState, StateBatch, push_state};
use crate::byte_utils::{DecodeError, Reader, Writer};
use std::collections::BTreeMap;
use uuid::Uuid;

/// ShareSnapshotKey's record type.
pub const SHARE_SNAPSHOT: i16 = 0;
/// ShareUpdateKey's record type.
pub const SHARE_UPDATE: i16 = 1;
/// The internal topic the share coordinator keeps the state in.
pub const SHARE_GROUP_STATE_TOPIC: &str = "__share_group_state";

/// Which share partition a record is of.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShareStateKey {
    pub group_id: String,
    pub topic_id: Uuid,
    pub partition: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareSnapshotValue {
    pub snapshot_epoch: i32,
    pub state_epoch: i32,
    pub leader_epoch: i32,
    pub start_offset: i64,
    /// -1 when not known.
    pub delivery_complete_count: i32,
    pub create_timestamp: i64,
    pub write_timestamp: i64,
    pub state_batches: Vec<StateBatch>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareUpdateValue {
    pub snapshot_epoch: i32,
    pub leader_epoch: i32,
    /// -1 when the start offset does not change.
    pub start_offset: i64,
    /// -1 when not known.
    pub delivery_complete_count: i32,
    pub state_batches: Vec<StateBatch>,
}

/// A decoded `__share_group_state` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareStateRecord {
    Snapshot(ShareStateKey, ShareSnapshotValue),
    Update(ShareStateKey, ShareUpdateValue),
    /// A null value: the share partition's state is gone.
    Tombstone(i16, ShareStateKey),
}

/// Why a record cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShareRecordError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("unknown record type {0} in __share_group_state")]
    UnknownType(i16),
    #[error("unknown {what} version {version}")]
    UnknownVersion { what: &'static str, version: i16 },
    #[error("unknown delivery state {0}")]
    UnknownState(i8),
}

pub fn encode_key(record_type: i16, key: &ShareStateKey) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(record_type)
        .string(&key.group_id)
        .uuid(&key.topic_id)
        .i32(key.partition);
    w.into_bytes()
}

fn put_batches(w: &mut Writer, batches: &[StateBatch]) {
    w.compact_array_len(batches.len());
    for batch in batches {
        w.i64(batch.first_offset)
            .i64(batch.last_offset)
            .i8(batch.state as i8)
            .i16(batch.delivery_count as i16)
            .no_tags();
    }
}

/// The top-level tagged fields: DeliveryCompleteCount (tag 0) when known.
fn put_delivery_complete_count(w: &mut Writer, count: i32) {
    if count == -1 {
        w.no_tags();
    } else {
        w.uvarint(1).uvarint(0).uvarint(4).i32(count);
    }
}

pub fn encode_snapshot_value(value: &ShareSnapshotValue) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0)
        .i32(value.snapshot_epoch)
        .i32(value.state_epoch)
        .i32(value.leader_epoch)
        .i64(value.start_offset)
        .i64(value.create_timestamp)
        .i64(value.write_timestamp);
    put_batches(&mut w, &value.state_batches);
    put_delivery_complete_count(&mut w, value.delivery_complete_count);
    w.into_bytes()
}

pub fn encode_update_value(value: &ShareUpdateValue) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0)
        .i32(value.snapshot_epoch)
        .i32(value.leader_epoch)
        .i64(value.start_offset);
    put_batches(&mut w, &value.state_batches);
    put_delivery_complete_count(&mut w, value.delivery_complete_count);
    w.into_bytes()
}

fn read_batches(r: &mut Reader<'_>) -> Result<Vec<StateBatch>, ShareRecordError> {
    // 8 + 8 + 1 + 2 bytes and the tag count.
    let count = r.read_compact_array_len(20)?.unwrap_or(0);
    let mut batches = Vec::with_capacity(count);
    for _ in 0..count {
        let first_offset = r.read_i64()?;
        let last_offset = r.read_i64()?;
        let state_id = r.read_i8()?;
        let state =
            RecordState::from_id(state_id).ok_or(ShareRecordError::UnknownState(state_id))?;
        let delivery_count = r.read_i16()?.max(0) as u16;
        r.read_tagged_fields(|_, _| Ok(()))?;
        batches.push(StateBatch {
            first_offset,
            last_offset,
            state,
            delivery_count,
        });
    }
    Ok(batches)
}

fn read_delivery_complete_count(r: &mut Reader<'_>) -> Result<i32, ShareRecordError> {
    let mut count = -1;
    r.read_tagged_fields(|tag, data| {
        if tag == 0 {
            count = Reader::new(data).read_i32()?;
        }
        Ok(())
    })?;
    Ok(count)
}

/// Decodes a record of `__share_group_state` (`value` None: a tombstone).
pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<ShareStateRecord, ShareRecordError> {
    let mut k = Reader::new(key);
    let record_type = k.read_i16()?;
    if record_type != SHARE_SNAPSHOT && record_type != SHARE_UPDATE {
        return Err(ShareRecordError::UnknownType(record_type));
    }
    let key = ShareStateKey {
        group_id: k.read_string()?.to_string(),
        topic_id: k.read_uuid()?,
        partition: k.read_i32()?,
    };
    let Some(value) = value else {
        return Ok(ShareStateRecord::Tombstone(record_type, key));
    };
    let mut r = Reader::new(value);
    let version = r.read_i16()?;
    if version != 0 {
        return Err(ShareRecordError::UnknownVersion {
            what: if record_type == SHARE_SNAPSHOT {
                "ShareSnapshotValue"
            } else {
                "ShareUpdateValue"
            },
            version,
        });
    }
    if record_type == SHARE_SNAPSHOT {
        let snapshot_epoch = r.read_i32()?;
        let state_epoch = r.read_i32()?;
        let leader_epoch = r.read_i32()?;
        let start_offset = r.read_i64()?;
        let create_timestamp = r.read_i64()?;
        let write_timestamp = r.read_i64()?;
        let state_batches = read_batches(&mut r)?;
        let delivery_complete_count = read_delivery_complete_count(&mut r)?;
        Ok(ShareStateRecord::Snapshot(
            key,
            ShareSnapshotValue {
                snapshot_epoch,
                state_epoch,
                leader_epoch,
                start_offset,
                delivery_complete_count,
                create_timestamp,
                write_timestamp,
                state_batches,
            },
        ))
    } else {
        let snapshot_epoch = r.read_i32()?;
        let leader_epoch = r.read_i32()?;
        let start_offset = r.read_i64()?;
        let state_batches = read_batches(&mut r)?;
        let delivery_complete_count = read_delivery_complete_count(&mut r)?;
        Ok(ShareStateRecord::Update(
            key,
            ShareUpdateValue {
                snapshot_epoch,
                leader_epoch,
                start_offset,
                delivery_complete_count,
                state_batches,
            },
        ))
    }
}

/// A share partition's state as the records written so far give it: the
/// last snapshot with the updates after it applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareGroupState {
    pub snapshot_epoch: i32,
    pub state_epoch: i32,
    pub leader_epoch: i32,
    pub start_offset: i64,
    pub create_timestamp: i64,
    pub write_timestamp: i64,
    pub state_batches: Vec<StateBatch>,
    /// Updates applied since the snapshot (a new snapshot is due every
    /// `share.coordinator.snapshot.update.records.per.snapshot`).
    pub updates_since_snapshot: usize,
}

impl ShareGroupState {
    pub fn from_snapshot(value: &ShareSnapshotValue) -> Self {
        ShareGroupState {
            snapshot_epoch: value.snapshot_epoch,
            state_epoch: value.state_epoch,
            leader_epoch: value.leader_epoch,
            start_offset: value.start_offset,
            create_timestamp: value.create_timestamp,
            write_timestamp: value.write_timestamp,
            state_batches: value.state_batches.clone(),
            updates_since_snapshot: 0,
        }
    }

    /// Applies an update (Kafka's `merge` of a ShareUpdate): a new start
    /// offset unless -1, then the update's batches over the current ones
    /// offset by offset (the update's win where they overlap), and what is
    /// before the start offset is dropped.
    pub fn apply_update(&mut self, update: &ShareUpdateValue) {
        if update.start_offset != -1 {
            self.start_offset = update.start_offset;
        }
        if update.leader_epoch != -1 {
            self.leader_epoch = update.leader_epoch;
        }
        self.state_batches = combine_state_batches(
            &self.state_batches,
            &update.state_batches,
            self.start_offset,
        );
        self.updates_since_snapshot += 1;
    }

    /// The snapshot that stands for this state.
    pub fn to_snapshot(&self, snapshot_epoch: i32, write_timestamp: i64) -> ShareSnapshotValue {
        ShareSnapshotValue {
            snapshot_epoch,
            state_epoch: self.state_epoch,
            leader_epoch: self.leader_epoch,
            start_offset: self.start_offset,
            delivery_complete_count: -1,
            create_timestamp: self.create_timestamp,
            write_timestamp,
            state_batches: self.state_batches.clone(),
        }
    }
}

/// `newer` over `older`, offset by offset, from `start_offset` on, as runs
/// again (Kafka's `combineStateBatches`).
pub fn combine_state_batches(
    older: &[StateBatch],
    newer: &[StateBatch],
    start_offset: i64,
) -> Vec<StateBatch> {
    let mut by_offset: BTreeMap<i64, (RecordState, u16)> = BTreeMap::new();
    for batch in older.iter().chain(newer) {
        for offset in batch.first_offset.max(start_offset)..=batch.last_offset {
            by_offset.insert(offset, (batch.state, batch.delivery_count));
        }
    }
    let mut runs: Vec<StateBatch> = Vec::new();
    for (offset, (state, delivery_count)) in by_offset {
        push_state(&mut runs, offset, state, delivery_count);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first: i64, last: i64, state: RecordState, delivery_count: u16) -> StateBatch {
        StateBatch {
            first_offset: first,
            last_offset: last,
            state,
            delivery_count,
        }
    }

    #[test]
    fn records_round_trip_in_kafkas_layout() {
        let key = ShareStateKey {
            group_id: "g".into(),
            topic_id: Uuid::from_u128(0x0102),
            partition: 3,
        };
        let encoded_key = encode_key(SHARE_SNAPSHOT, &key);
        // INT16 type, INT16-length "g", the uuid, INT32 partition.
        assert_eq!(&encoded_key[..5], &[0, 0, 0, 1, b'g']);
        assert_eq!(encoded_key.len(), 2 + 2 + 1 + 16 + 4);
        let snapshot = ShareSnapshotValue {
            snapshot_epoch: 1,
            state_epoch: 2,
            leader_epoch: 3,
            start_offset: 10,
            delivery_complete_count: -1,
            create_timestamp: 1_700_000_000_000,
            write_timestamp: 1_700_000_000_500,
            state_batches: vec![batch(10, 12, RecordState::Available, 1)],
        };
        let value = encode_snapshot_value(&snapshot);
        // Version, 3 × INT32, 3 × INT64, one batch (count 2, 19 bytes, no
        // tags), no top-level tags.
        assert_eq!(value.len(), 2 + 12 + 24 + 1 + 19 + 1 + 1);
        assert_eq!(
            decode(&encoded_key, Some(&value)),
            Ok(ShareStateRecord::Snapshot(key.clone(), snapshot))
        );
        let update = ShareUpdateValue {
            snapshot_epoch: 1,
            leader_epoch: 3,
            start_offset: -1,
            delivery_complete_count: 7,
            state_batches: vec![batch(11, 11, RecordState::Acknowledged, 1)],
        };
        let update_key = encode_key(SHARE_UPDATE, &key);
        assert_eq!(
            decode(&update_key, Some(&encode_update_value(&update))),
            Ok(ShareStateRecord::Update(key.clone(), update))
        );
        assert_eq!(
            decode(&update_key, None),
            Ok(ShareStateRecord::Tombstone(SHARE_UPDATE, key))
        );
        assert_eq!(
            decode(&[0, 9, 0, 0], None),
            Err(ShareRecordError::UnknownType(9))
        );
        assert!(decode(&encoded_key, Some(&value[..value.len() - 3])).is_err());
    }

    #[test]
    fn updates_apply_over_the_snapshot() {
        let mut state = ShareGroupState::from_snapshot(&ShareSnapshotValue {
            snapshot_epoch: 0,
            state_epoch: 0,
            leader_epoch: 0,
            start_offset: 0,
            delivery_complete_count: -1,
            create_timestamp: 0,
            write_timestamp: 0,
            state_batches: vec![batch(0, 9, RecordState::Available, 1)],
        });
        state.apply_update(&ShareUpdateValue {
            snapshot_epoch: 0,
            leader_epoch: -1,
            start_offset: -1,
            delivery_complete_count: -1,
            state_batches: vec![batch(3, 4, RecordState::Acknowledged, 1)],
        });
        state.apply_update(&ShareUpdateValue {
            snapshot_epoch: 0,
            leader_epoch: -1,
            start_offset: 2,
            delivery_complete_count: -1,
            state_batches: vec![batch(9, 9, RecordState::Archived, 2)],
        });
        assert_eq!(state.start_offset, 2);
        assert_eq!(
            state.state_batches,
            vec![
                batch(2, 2, RecordState::Available, 1),
                batch(3, 4, RecordState::Acknowledged, 1),
                batch(5, 8, RecordState::Available, 1),
                batch(9, 9, RecordState::Archived, 2),
            ]
        );
        assert_eq!(state.updates_since_snapshot, 2);
        assert_eq!(state.to_snapshot(1, 5).state_batches, state.state_batches);
    }
}
