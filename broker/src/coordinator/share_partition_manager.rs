//! The share partitions in memory and the share sessions (KIP-932, Kafka's
//! `SharePartitionManager` and `ShareSessionCache`), over the share
//! coordinator's durable state.
//!
//! A share partition is loaded from its stored state at its first fetch;
//! each change (records acquired, acknowledged, released, their locks run
//! out) is written to `__share_group_state` before it is applied, so what
//! a member was told survives a crash: an acknowledgement is never lost,
//! and what was acquired comes back with its delivery count. The log reads
//! themselves are the caller's; this module gets the batches' offsets.
//!
//! A share session is a member's open ShareFetch context: its epoch and
//! the partitions it fetches. Epoch 0 opens one (replacing the member's
//! last), each later request carries the next epoch, -1 closes it.

use super::share_coordinator::{ShareCoordinator, ShareCoordinatorConfig, StateWrite};
use super::share_partition::{
    AcknowledgeError, AcknowledgeType, AcquiredRecords, RecordState, Released, SharePartition,
    SharePartitionConfig, StateBatch,
};
use super::share_records::ShareStateKey;
use crate::internal_topics::InternalTopic;
use indexmap::IndexSet;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::{info, warn};
use uuid::Uuid;

/// The epoch of a request that opens a share session.
pub const INITIAL_EPOCH: i32 = 0;
/// The epoch of a request that closes it.
pub const FINAL_EPOCH: i32 = -1;

/// An error code and message.
pub type Refusal = (ResponseError, String);

/// A batch a log read returned, by its offsets: `skip` when its records
/// are not to be delivered (a control batch, or an aborted transaction's
/// under read_committed), so they are archived instead of acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBatch {
    pub first_offset: i64,
    pub last_offset: i64,
    pub skip: bool,
}

/// Counters for the metrics endpoint.
#[derive(Debug, Default)]
pub struct ShareStats {
    /// Acquisition locks that ran out.
    pub lock_expiries: AtomicU64,
    /// Records delivered again (a delivery count above one).
    pub redeliveries: AtomicU64,
    /// Records archived at the delivery limit, rejected, or skipped.
    pub archived: AtomicU64,
}

/// A member's share session.
#[derive(Debug, Clone)]
pub struct ShareSession {
    /// The epoch the next request must carry.
    pub epoch: i32,
    pub partitions: IndexSet<(Uuid, i32)>,
}

/// Why a request's session epoch is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    NotFound,
    InvalidEpoch,
    LimitReached,
}

impl SessionError {
    pub fn error(self) -> ResponseError {
        match self {
            SessionError::NotFound => ResponseError::ShareSessionNotFound,
            SessionError::InvalidEpoch => ResponseError::InvalidShareSessionEpoch,
            SessionError::LimitReached => ResponseError::ShareSessionLimitReached,
        }
    }
}

/// Kafka's `ShareRequestMetadata.nextEpoch`.
fn next_epoch(epoch: i32) -> i32 {
    if epoch < 0 {
        FINAL_EPOCH
    } else if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

pub struct SharePartitionManager {
    coordinator: ShareCoordinator,
    partitions: Mutex<HashMap<ShareStateKey, Arc<Mutex<SharePartition>>>>,
    sessions: Mutex<HashMap<(String, String), ShareSession>>,
    max_sessions: usize,
    pub stats: ShareStats,
}

impl SharePartitionManager {
    pub fn new(coordinator: ShareCoordinatorConfig, max_sessions: usize) -> Self {
        SharePartitionManager {
            coordinator: ShareCoordinator::new(coordinator),
            partitions: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            max_sessions,
            stats: ShareStats::default(),
        }
    }

    pub fn coordinator(&self) -> &ShareCoordinator {
        &self.coordinator
    }

    // ------------------------------------------------------- partitions

    /// Initializes the state of the partitions a group was assigned, where
    /// it has none yet (its start offset found at the first fetch).
    pub fn initialize(
        &self,
        topic: &dyn InternalTopic,
        group_id: &str,
        partitions: &[(Uuid, i32)],
        state_epoch: i32,
        now_ms: i64,
    ) -> Result<(), ResponseError> {
        for &(topic_id, partition) in partitions {
            let key = ShareStateKey {
                group_id: group_id.to_string(),
                topic_id,
                partition,
            };
            self.coordinator
                .initialize(topic, &key, state_epoch, -1, now_ms)?;
        }
        Ok(())
    }

    /// The share partition, loaded from its stored state if it is not in
    /// memory; `start` gives the start offset of one whose state has none
    /// yet (`share.auto.offset.reset`). Its settings are `config`'s.
    pub fn partition(
        &self,
        topic: &dyn InternalTopic,
        key: &ShareStateKey,
        config: SharePartitionConfig,
        start: &dyn Fn() -> i64,
        now_ms: i64,
    ) -> Result<Arc<Mutex<SharePartition>>, Refusal> {
        let loaded = self.partitions.lock().get(key).cloned();
        if let Some(partition) = loaded {
            partition.lock().update_config(config);
            return Ok(partition);
        }
        let Some(stored) = self.coordinator.read(key) else {
            return Err((
                ResponseError::UnknownServerError,
                "Read on uninitialized share partition.".to_string(),
            ));
        };
        let mut partitions = self.partitions.lock();
        if let Some(partition) = partitions.get(key).cloned() {
            return Ok(partition);
        }
        let partition = if stored.start_offset < 0 {
            let start_offset = start();
            let partition = SharePartition::new(config, start_offset);
            self.coordinator
                .write(topic, key, &state_of(&partition), now_ms)
                .map_err(|e| (e, String::new()))?;
            partition
        } else {
            SharePartition::restore(config, stored.start_offset, &stored.state_batches)
        };
        let partition = Arc::new(Mutex::new(partition));
        partitions.insert(key.clone(), Arc::clone(&partition));
        Ok(partition)
    }

    /// Acquires for `member` what of `batches` (a log read from the
    /// partition's next fetch offset) it may have: whole batches up to
    /// `max_records` (more, to finish a batch, unless `record_limit`).
    /// Skipped batches at the front of what is acquired are archived.
    /// Written before it is applied.
    #[allow(clippy::too_many_arguments)]
    pub fn acquire(
        &self,
        topic: &dyn InternalTopic,
        key: &ShareStateKey,
        partition: &Mutex<SharePartition>,
        member: &str,
        batches: &[LogBatch],
        max_records: usize,
        record_limit: bool,
        now_ms: i64,
    ) -> Result<Vec<AcquiredRecords>, ResponseError> {
        let mut partition = partition.lock();
        let mut next = partition.clone();
        let mut acquired: Vec<AcquiredRecords> = Vec::new();
        let mut count = 0usize;
        let mut archived = 0u64;
        for batch in batches {
            if count >= max_records {
                break;
            }
            if batch.skip {
                archived += next.archive_unacquired(batch.first_offset, batch.last_offset) as u64;
                continue;
            }
            let limit = if record_limit {
                max_records - count
            } else {
                usize::MAX
            };
            let got = next.acquire(
                member,
                &[(batch.first_offset, batch.last_offset)],
                limit,
                now_ms,
            );
            count += got
                .iter()
                .map(|r| (r.last_offset - r.first_offset + 1) as usize)
                .sum::<usize>();
            acquired.extend(got);
            if next.end_offset() < batch.last_offset {
                // Stopped inside the batch (the in-flight limit, or the
                // record limit): what follows is for a later fetch.
                break;
            }
        }
        if acquired.is_empty() && archived == 0 {
            return Ok(acquired);
        }
        self.coordinator
            .write(topic, key, &state_of(&next), now_ms)?;
        *partition = next;
        let redelivered: u64 = acquired
            .iter()
            .filter(|r| r.delivery_count > 1)
            .map(|r| (r.last_offset - r.first_offset + 1) as u64)
            .sum();
        self.stats
            .redeliveries
            .fetch_add(redelivered, Ordering::Relaxed);
        self.stats.archived.fetch_add(archived, Ordering::Relaxed);
        Ok(acquired)
    }

    /// Applies `member`'s acknowledgements to one share partition, written
    /// before they are applied.
    pub fn acknowledge(
        &self,
        topic: &dyn InternalTopic,
        key: &ShareStateKey,
        member: &str,
        batches: &[(i64, i64, Vec<AcknowledgeType>)],
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let Some(partition) = self.partitions.lock().get(key).cloned() else {
            // Nothing was ever acquired from it here.
            return Err((
                ResponseError::InvalidRecordState,
                "The record state is invalid. The acknowledgement cannot be completed.".into(),
            ));
        };
        let mut partition = partition.lock();
        let mut next = partition.clone();
        let released = next
            .acknowledge(member, batches, now_ms)
            .map_err(|e| match e {
                AcknowledgeError::InvalidRecordState(m) => (ResponseError::InvalidRecordState, m),
                AcknowledgeError::InvalidRequest(m) => (ResponseError::InvalidRequest, m),
            })?;
        self.coordinator
            .write(topic, key, &state_of(&next), now_ms)
            .map_err(|e| (e, String::new()))?;
        let rejected: u64 = batches
            .iter()
            .map(|(first, last, types)| {
                if types.len() == 1 {
                    if matches!(types[0], AcknowledgeType::Reject) {
                        (last - first + 1) as u64
                    } else {
                        0
                    }
                } else {
                    types
                        .iter()
                        .filter(|t| matches!(t, AcknowledgeType::Reject))
                        .count() as u64
                }
            })
            .sum();
        *partition = next;
        self.stats
            .archived
            .fetch_add(released.archived as u64 + rejected, Ordering::Relaxed);
        Ok(())
    }

    /// Releases what `member` holds in every share partition of the group
    /// (it left, its session expired, it closed its share session).
    pub fn release_member(
        &self,
        topic: &dyn InternalTopic,
        group_id: &str,
        member: &str,
        now_ms: i64,
    ) {
        self.sessions
            .lock()
            .remove(&(group_id.to_string(), member.to_string()));
        let partitions: Vec<(ShareStateKey, Arc<Mutex<SharePartition>>)> = self
            .partitions
            .lock()
            .iter()
            .filter(|(k, _)| k.group_id == group_id)
            .map(|(k, p)| (k.clone(), Arc::clone(p)))
            .collect();
        for (key, partition) in partitions {
            self.release(topic, &key, &partition, now_ms, |p| {
                p.release_member(member)
            });
        }
    }

    /// Releases the records whose acquisition lock ran out.
    pub fn expire_locks(&self, topic: &dyn InternalTopic, now_ms: i64) {
        let partitions: Vec<(ShareStateKey, Arc<Mutex<SharePartition>>)> = self
            .partitions
            .lock()
            .iter()
            .map(|(k, p)| (k.clone(), Arc::clone(p)))
            .collect();
        for (key, partition) in partitions {
            let due = partition
                .lock()
                .next_lock_expiry()
                .is_some_and(|t| t <= now_ms);
            if due {
                let released =
                    self.release(topic, &key, &partition, now_ms, |p| p.expire_locks(now_ms));
                self.stats.lock_expiries.fetch_add(
                    (released.available + released.archived) as u64,
                    Ordering::Relaxed,
                );
            }
        }
    }

    fn release(
        &self,
        topic: &dyn InternalTopic,
        key: &ShareStateKey,
        partition: &Mutex<SharePartition>,
        now_ms: i64,
        how: impl FnOnce(&mut SharePartition) -> Released,
    ) -> Released {
        let mut partition = partition.lock();
        let mut next = partition.clone();
        let released = how(&mut next);
        if released == Released::default() {
            return released;
        }
        if let Err(e) = self.coordinator.write(topic, key, &state_of(&next), now_ms) {
            // Kept in memory as it was: tried again at the next tick.
            warn!(group = %key.group_id, "cannot write the released records' state: {e:?}");
            return Released::default();
        }
        *partition = next;
        self.stats
            .archived
            .fetch_add(released.archived as u64, Ordering::Relaxed);
        released
    }

    /// The share partitions in memory, by key (for the metrics and
    /// DescribeShareGroupOffsets).
    pub fn loaded(&self) -> Vec<(ShareStateKey, Arc<Mutex<SharePartition>>)> {
        self.partitions
            .lock()
            .iter()
            .map(|(k, p)| (k.clone(), Arc::clone(p)))
            .collect()
    }

    /// Forgets a group's share partitions and deletes their state.
    pub fn delete_group(
        &self,
        topic: &dyn InternalTopic,
        group_id: &str,
    ) -> Result<(), ResponseError> {
        self.partitions.lock().retain(|k, _| k.group_id != group_id);
        self.sessions.lock().retain(|(g, _), _| g != group_id);
        for key in self.coordinator.keys(Some(group_id)) {
            self.coordinator.delete(topic, &key)?;
        }
        info!(group = group_id, "deleted the share group's state");
        Ok(())
    }

    /// A topic was deleted: its share partitions are forgotten and their
    /// state deleted, in every group (Kafka's `onPartitionsDeleted`).
    pub fn delete_topic(&self, topic: &dyn InternalTopic, topic_id: Uuid) {
        self.partitions.lock().retain(|k, _| k.topic_id != topic_id);
        for key in self.coordinator.keys(None) {
            if key.topic_id == topic_id
                && let Err(e) = self.coordinator.delete(topic, &key)
            {
                warn!(group = %key.group_id, "cannot delete the share state of a deleted topic: {e:?}");
            }
        }
    }

    /// A share partition's start offset, leader epoch and delivery-complete
    /// count (Kafka's ReadShareGroupStateSummary): from the partition in
    /// memory if it is loaded, else from its stored state; None if it has
    /// no state.
    pub fn offset_summary(&self, key: &ShareStateKey) -> Option<OffsetSummary> {
        let stored = self.coordinator.read(key)?;
        let loaded = self.partitions.lock().get(key).cloned();
        let (start_offset, batches) = match loaded {
            Some(partition) => {
                let partition = partition.lock();
                (partition.start_offset(), partition.state_batches())
            }
            None => (stored.start_offset, stored.state_batches),
        };
        Some(OffsetSummary {
            start_offset,
            leader_epoch: stored.leader_epoch,
            delivery_complete_count: delivery_complete_count(start_offset, &batches),
        })
    }

    /// AlterShareGroupOffsets: the share partition starts afresh at
    /// `start_offset`; the partition in memory is dropped, to be loaded
    /// again from the new state at the next fetch.
    pub fn reset_partition(
        &self,
        topic: &dyn InternalTopic,
        key: &ShareStateKey,
        state_epoch: i32,
        start_offset: i64,
        now_ms: i64,
    ) -> Result<(), ResponseError> {
        self.partitions.lock().remove(key);
        self.coordinator
            .reinitialize(topic, key, state_epoch, start_offset, now_ms)
    }

    /// DeleteShareGroupOffsets: forgets share partitions and deletes
    /// their state.
    pub fn delete_partitions(
        &self,
        topic: &dyn InternalTopic,
        keys: &[ShareStateKey],
    ) -> Result<(), ResponseError> {
        for key in keys {
            self.partitions.lock().remove(key);
            self.coordinator.delete(topic, key)?;
        }
        Ok(())
    }

    // --------------------------------------------------------- sessions

    /// ShareFetch's session: epoch 0 opens a new one (an error if the
    /// request also acknowledges, which the caller checks), -1 must find
    /// one to close, any other must be the session's next. Returns the
    /// partitions the session fetches after this request's changes.
    pub fn fetch_session(
        &self,
        group_id: &str,
        member: &str,
        epoch: i32,
        add: &[(Uuid, i32)],
        forget: &[(Uuid, i32)],
    ) -> Result<Vec<(Uuid, i32)>, SessionError> {
        let mut sessions = self.sessions.lock();
        let key = (group_id.to_string(), member.to_string());
        if epoch == INITIAL_EPOCH {
            if !sessions.contains_key(&key) && sessions.len() >= self.max_sessions {
                return Err(SessionError::LimitReached);
            }
            let partitions: IndexSet<(Uuid, i32)> = add.iter().copied().collect();
            let list = partitions.iter().copied().collect();
            sessions.insert(
                key,
                ShareSession {
                    epoch: next_epoch(INITIAL_EPOCH),
                    partitions,
                },
            );
            return Ok(list);
        }
        let Some(session) = sessions.get_mut(&key) else {
            return Err(SessionError::NotFound);
        };
        if epoch == FINAL_EPOCH {
            let list = session.partitions.iter().copied().collect();
            return Ok(list);
        }
        if session.epoch != epoch {
            return Err(SessionError::InvalidEpoch);
        }
        session.epoch = next_epoch(epoch);
        for tp in forget {
            session.partitions.shift_remove(tp);
        }
        session.partitions.extend(add.iter().copied());
        Ok(session.partitions.iter().copied().collect())
    }

    /// ShareAcknowledge's session check (Kafka's
    /// `acknowledgeSessionUpdate`): epoch 0 is refused, -1 must find a
    /// session, any other must be its next.
    pub fn acknowledge_session(
        &self,
        group_id: &str,
        member: &str,
        epoch: i32,
    ) -> Result<(), SessionError> {
        if epoch == INITIAL_EPOCH {
            return Err(SessionError::InvalidEpoch);
        }
        let mut sessions = self.sessions.lock();
        let key = (group_id.to_string(), member.to_string());
        let Some(session) = sessions.get_mut(&key) else {
            return Err(SessionError::NotFound);
        };
        if epoch == FINAL_EPOCH {
            return Ok(());
        }
        if session.epoch != epoch {
            return Err(SessionError::InvalidEpoch);
        }
        session.epoch = next_epoch(epoch);
        Ok(())
    }

    /// Open share sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.lock().len()
    }
}

/// What DescribeShareGroupOffsets reports of a share partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetSummary {
    pub start_offset: i64,
    pub leader_epoch: i32,
    /// -1 while the start offset is unknown.
    pub delivery_complete_count: i64,
}

/// Kafka's `deliveryCompleteCount` (KIP-1226): the records from the start
/// offset on that are done (ACKNOWLEDGED or ARCHIVED); -1 while the start
/// offset is not known yet.
pub fn delivery_complete_count(start_offset: i64, batches: &[StateBatch]) -> i64 {
    if start_offset < 0 {
        return -1;
    }
    batches
        .iter()
        .filter(|b| matches!(b.state, RecordState::Acknowledged | RecordState::Archived))
        .map(|b| (b.last_offset - b.first_offset.max(start_offset) + 1).max(0))
        .sum()
}

fn state_of(partition: &SharePartition) -> StateWrite {
    StateWrite {
        start_offset: partition.start_offset(),
        state_batches: partition.state_batches(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first: i64, last: i64, state: RecordState) -> StateBatch {
        StateBatch {
            first_offset: first,
            last_offset: last,
            state,
            delivery_count: 1,
        }
    }

    #[test]
    fn delivery_complete_count_counts_done_records_from_the_start_offset() {
        let batches = [
            batch(3, 6, RecordState::Acknowledged),
            batch(7, 9, RecordState::Acquired),
            batch(10, 10, RecordState::Archived),
            batch(11, 12, RecordState::Available),
        ];
        assert_eq!(delivery_complete_count(0, &batches), 5);
        // Records before the start offset are not counted.
        assert_eq!(delivery_complete_count(5, &batches), 3);
        assert_eq!(delivery_complete_count(11, &batches), 0);
        assert_eq!(delivery_complete_count(-1, &batches), -1);
        assert_eq!(delivery_complete_count(0, &[]), 0);
    }
}
