//! The state of one partition read by a share group (KIP-932, Kafka's
//! `SharePartition`): which records are in flight, who holds them and
//! until when, how often each was delivered, and where the share-partition
//! start offset (SPSO) and end offset (SPEO) are.
//!
//! A record goes AVAILABLE → ACQUIRED when a member fetches it (its
//! delivery count goes up by one and an acquisition lock of
//! `record_lock_duration_ms` starts), then on the member's acknowledgement
//! ACCEPT → ACKNOWLEDGED, RELEASE → AVAILABLE, REJECT (or GAP, for an
//! offset the log does not have) → ARCHIVED, RENEW → ACQUIRED with a new
//! lock. A lock that runs out, or a member that leaves, releases what it
//! held. A record released with its delivery count at
//! `delivery_count_limit` is ARCHIVED instead of made AVAILABLE again. The
//! start offset moves past every record that is ACKNOWLEDGED or ARCHIVED
//! (and past offsets the log never had); those records leave the
//! in-flight state. At most `max_in_flight` records are in flight.
//!
//! Nothing here does I/O or reads a clock: time comes in as milliseconds,
//! the records as the offsets a log read returned, and the durable form is
//! [`SharePartition::state_batches`], Kafka's ShareSnapshot state batches.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Kafka's `RecordState`, with its ids as the share-group state records
/// store them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    Available = 0,
    Acquired = 1,
    Acknowledged = 2,
    Archived = 4,
}

impl RecordState {
    pub fn from_id(id: i8) -> Option<RecordState> {
        match id {
            0 => Some(RecordState::Available),
            1 => Some(RecordState::Acquired),
            2 => Some(RecordState::Acknowledged),
            4 => Some(RecordState::Archived),
            _ => None,
        }
    }
}

/// ShareFetch and ShareAcknowledge's acknowledge types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcknowledgeType {
    /// An offset the log does not have (compaction, control records).
    Gap = 0,
    Accept = 1,
    Release = 2,
    Reject = 3,
    /// KIP-1222: the member keeps the record for another lock duration.
    Renew = 4,
}

impl AcknowledgeType {
    pub fn from_id(id: i8) -> Option<AcknowledgeType> {
        match id {
            0 => Some(AcknowledgeType::Gap),
            1 => Some(AcknowledgeType::Accept),
            2 => Some(AcknowledgeType::Release),
            3 => Some(AcknowledgeType::Reject),
            4 => Some(AcknowledgeType::Renew),
            _ => None,
        }
    }
}

/// Why an acknowledgement is refused. Nothing of it is applied then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcknowledgeError {
    /// A record that is not acquired by this member (Kafka's
    /// INVALID_RECORD_STATE).
    InvalidRecordState(String),
    /// A malformed batch: last before first, or a type count that is
    /// neither one nor one per offset (Kafka's INVALID_REQUEST).
    InvalidRequest(String),
}

/// The group's settings for its share partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharePartitionConfig {
    /// `group.share.record.lock.duration.ms` (or the group's
    /// `share.record.lock.duration.ms`).
    pub record_lock_duration_ms: i64,
    /// `group.share.delivery.count.limit` (or the group's
    /// `share.delivery.count.limit`).
    pub delivery_count_limit: u16,
    /// `group.share.partition.max.record.locks`.
    pub max_in_flight: usize,
}

impl Default for SharePartitionConfig {
    fn default() -> Self {
        // Kafka 4.2's defaults.
        SharePartitionConfig {
            record_lock_duration_ms: 30_000,
            delivery_count_limit: 5,
            max_in_flight: 2000,
        }
    }
}

/// A record in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight {
    state: RecordState,
    delivery_count: u16,
    /// The member holding it, while ACQUIRED.
    member: Option<Arc<str>>,
    /// When its acquisition lock runs out, while ACQUIRED.
    lock_expires_ms: i64,
}

/// Records handed to a member by one acquisition, with their delivery
/// count (ShareFetch's AcquiredRecords).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquiredRecords {
    pub first_offset: i64,
    pub last_offset: i64,
    pub delivery_count: u16,
}

/// A run of offsets in one state with one delivery count, as Kafka's
/// ShareSnapshot and ShareUpdate records store the in-flight state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateBatch {
    pub first_offset: i64,
    pub last_offset: i64,
    pub state: RecordState,
    pub delivery_count: u16,
}

/// What a release (a lock that ran out, a member that left, RELEASE) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Released {
    /// Made AVAILABLE again, to be delivered again.
    pub available: usize,
    /// ARCHIVED: their delivery count had reached the limit.
    pub archived: usize,
}

impl Released {
    fn count(&mut self, archived: bool) {
        if archived {
            self.archived += 1;
        } else {
            self.available += 1;
        }
    }
}

#[derive(Debug, Clone)]
pub struct SharePartition {
    config: SharePartitionConfig,
    /// The share-partition start offset: every record before it is done.
    start_offset: i64,
    /// The last offset acquired so far (`start_offset - 1` before any).
    end_offset: i64,
    in_flight: BTreeMap<i64, InFlight>,
}

impl SharePartition {
    /// A share partition whose records from `start_offset` on are all
    /// still to be delivered (Kafka's `share.auto.offset.reset` decides
    /// that offset for a new one).
    pub fn new(config: SharePartitionConfig, start_offset: i64) -> Self {
        SharePartition {
            config,
            start_offset,
            end_offset: start_offset - 1,
            in_flight: BTreeMap::new(),
        }
    }

    /// The share partition as its stored state describes it: the start
    /// offset and the in-flight batches. What was ACQUIRED when the state
    /// was written is released, as when its lock runs out: AVAILABLE again
    /// with its delivery count, or ARCHIVED at the delivery limit.
    pub fn restore(
        config: SharePartitionConfig,
        start_offset: i64,
        batches: &[StateBatch],
    ) -> Self {
        let mut partition = SharePartition::new(config, start_offset);
        for batch in batches {
            // Its lock did not survive: as a lock that runs out, the
            // record is released (archived at the delivery limit).
            let state = match batch.state {
                RecordState::Acquired if batch.delivery_count >= config.delivery_count_limit => {
                    RecordState::Archived
                }
                RecordState::Acquired => RecordState::Available,
                other => other,
            };
            for offset in batch.first_offset.max(start_offset)..=batch.last_offset {
                partition.in_flight.insert(
                    offset,
                    InFlight {
                        state,
                        delivery_count: batch.delivery_count,
                        member: None,
                        lock_expires_ms: 0,
                    },
                );
                partition.end_offset = partition.end_offset.max(offset);
            }
        }
        partition.advance_start_offset();
        partition
    }

    pub fn config(&self) -> SharePartitionConfig {
        self.config
    }

    /// Takes new settings (a group config changed): locks already taken
    /// keep their expiry.
    pub fn update_config(&mut self, config: SharePartitionConfig) {
        self.config = config;
    }

    pub fn start_offset(&self) -> i64 {
        self.start_offset
    }

    pub fn end_offset(&self) -> i64 {
        self.end_offset
    }

    /// Records in flight: acquired, or available again, or done but not yet
    /// behind the start offset.
    pub fn in_flight_count(&self) -> usize {
        self.in_flight.len()
    }

    /// Records currently acquired.
    pub fn acquired_count(&self) -> usize {
        self.in_flight
            .values()
            .filter(|r| r.state == RecordState::Acquired)
            .count()
    }

    /// Where the next log read should start (Kafka's `nextFetchOffset`):
    /// the first record AVAILABLE again, else the first after the end.
    pub fn next_fetch_offset(&self) -> i64 {
        self.in_flight
            .iter()
            .find(|(_, r)| r.state == RecordState::Available)
            .map_or(self.end_offset + 1, |(&offset, _)| offset)
            .max(self.start_offset)
    }

    /// The state and delivery count of `offset`, if it is in flight.
    pub fn record(&self, offset: i64) -> Option<(RecordState, u16)> {
        self.in_flight
            .get(&offset)
            .map(|r| (r.state, r.delivery_count))
    }

    /// The log's start moved (retention, DeleteRecords): records before it
    /// are gone, done or not.
    pub fn advance_to_log_start(&mut self, log_start_offset: i64) {
        if log_start_offset <= self.start_offset {
            return;
        }
        self.in_flight = self.in_flight.split_off(&log_start_offset);
        self.start_offset = log_start_offset;
        self.end_offset = self.end_offset.max(log_start_offset - 1);
        self.advance_start_offset();
    }

    /// Acquires for `member` up to `max_records` of the records a log read
    /// returned (`batches`: each batch's first and last offset, in order):
    /// those AVAILABLE again and those never delivered, never more than
    /// `max_in_flight` in flight. Returns what was acquired, in runs of one
    /// delivery count.
    pub fn acquire(
        &mut self,
        member: &str,
        batches: &[(i64, i64)],
        max_records: usize,
        now_ms: i64,
    ) -> Vec<AcquiredRecords> {
        let member: Arc<str> = Arc::from(member);
        let expires = now_ms.saturating_add(self.config.record_lock_duration_ms);
        let mut acquired: Vec<AcquiredRecords> = Vec::new();
        let mut count = 0usize;
        'batches: for &(first, last) in batches {
            for offset in first.max(self.start_offset)..=last {
                if count >= max_records {
                    break 'batches;
                }
                let delivery_count = match self.in_flight.get_mut(&offset) {
                    Some(record) if record.state == RecordState::Available => {
                        record.state = RecordState::Acquired;
                        record.delivery_count = record.delivery_count.saturating_add(1);
                        record.member = Some(Arc::clone(&member));
                        record.lock_expires_ms = expires;
                        record.delivery_count
                    }
                    Some(_) => continue,
                    None if offset <= self.end_offset => continue,
                    None => {
                        if self.in_flight.len() >= self.config.max_in_flight {
                            break 'batches;
                        }
                        self.in_flight.insert(
                            offset,
                            InFlight {
                                state: RecordState::Acquired,
                                delivery_count: 1,
                                member: Some(Arc::clone(&member)),
                                lock_expires_ms: expires,
                            },
                        );
                        self.end_offset = offset;
                        1
                    }
                };
                count += 1;
                match acquired.last_mut() {
                    Some(run)
                        if run.last_offset + 1 == offset
                            && run.delivery_count == delivery_count =>
                    {
                        run.last_offset = offset;
                    }
                    _ => acquired.push(AcquiredRecords {
                        first_offset: offset,
                        last_offset: offset,
                        delivery_count,
                    }),
                }
            }
        }
        acquired
    }

    /// Archives the records of a batch that is not to be delivered (a
    /// control batch, an aborted transaction's): those AVAILABLE, and
    /// those never in flight right after the end (so nothing before them
    /// is passed over). Returns how many.
    pub fn archive_unacquired(&mut self, first_offset: i64, last_offset: i64) -> usize {
        let mut archived = 0;
        for offset in first_offset.max(self.start_offset)..=last_offset {
            match self.in_flight.get_mut(&offset) {
                Some(record) if record.state == RecordState::Available => {
                    record.state = RecordState::Archived;
                    archived += 1;
                }
                Some(_) => {}
                None if offset <= self.end_offset => {}
                None if offset == self.end_offset + 1 => {
                    self.in_flight.insert(
                        offset,
                        InFlight {
                            state: RecordState::Archived,
                            delivery_count: 0,
                            member: None,
                            lock_expires_ms: 0,
                        },
                    );
                    self.end_offset = offset;
                    archived += 1;
                }
                None => break,
            }
        }
        self.advance_start_offset();
        archived
    }

    /// Applies `member`'s acknowledgements: each batch is its first and
    /// last offset and either one type for all of them or one per offset.
    /// Every offset must be ACQUIRED by `member`; if one is not, nothing is
    /// applied. Returns what the releases among them did.
    pub fn acknowledge(
        &mut self,
        member: &str,
        batches: &[(i64, i64, Vec<AcknowledgeType>)],
        now_ms: i64,
    ) -> Result<Released, AcknowledgeError> {
        let mut previous_last: Option<i64> = None;
        for (first, last, types) in batches {
            if previous_last.is_some_and(|previous| *first <= previous) {
                return Err(AcknowledgeError::InvalidRequest(format!(
                    "the acknowledgement batch from offset {first} overlaps or precedes the one before"
                )));
            }
            previous_last = Some(*last);
            if last < first {
                return Err(AcknowledgeError::InvalidRequest(format!(
                    "the batch's last offset {last} is before its first {first}"
                )));
            }
            let span = (last - first + 1) as usize;
            if types.len() != 1 && types.len() != span {
                return Err(AcknowledgeError::InvalidRequest(format!(
                    "{} acknowledge types for the {span} offsets {first}-{last}",
                    types.len()
                )));
            }
            for offset in *first..=*last {
                let held = self.in_flight.get(&offset).is_some_and(|r| {
                    r.state == RecordState::Acquired && r.member.as_deref() == Some(member)
                });
                if !held {
                    return Err(AcknowledgeError::InvalidRecordState(format!(
                        "The record state is invalid. The acknowledgement of offset {offset} cannot be completed."
                    )));
                }
            }
        }
        let mut released = Released::default();
        let limit = self.config.delivery_count_limit;
        let renewed_until = now_ms.saturating_add(self.config.record_lock_duration_ms);
        for (first, last, types) in batches {
            for offset in *first..=*last {
                let kind = if types.len() == 1 {
                    types[0]
                } else {
                    types[(offset - first) as usize]
                };
                let Some(record) = self
                    .in_flight
                    .get_mut(&offset)
                    .filter(|r| r.state == RecordState::Acquired)
                else {
                    continue;
                };
                match kind {
                    AcknowledgeType::Accept => {
                        record.state = RecordState::Acknowledged;
                        record.member = None;
                    }
                    AcknowledgeType::Reject | AcknowledgeType::Gap => {
                        record.state = RecordState::Archived;
                        record.member = None;
                    }
                    AcknowledgeType::Release => released.count(release(record, limit)),
                    AcknowledgeType::Renew => record.lock_expires_ms = renewed_until,
                }
            }
        }
        self.advance_start_offset();
        Ok(released)
    }

    /// Releases the records whose acquisition lock has run out by `now_ms`.
    pub fn expire_locks(&mut self, now_ms: i64) -> Released {
        self.release_where(|record| record.lock_expires_ms <= now_ms)
    }

    /// The earliest time a lock runs out, if any record is acquired.
    pub fn next_lock_expiry(&self) -> Option<i64> {
        self.in_flight
            .values()
            .filter(|r| r.state == RecordState::Acquired)
            .map(|r| r.lock_expires_ms)
            .min()
    }

    /// Releases what `member` holds (it left the group or closed its share
    /// session), as Kafka's `releaseAcquiredRecords`.
    pub fn release_member(&mut self, member: &str) -> Released {
        self.release_where(|record| record.member.as_deref() == Some(member))
    }

    /// Releases the acquired records `which` picks, then moves the start
    /// offset past what that archived.
    fn release_where(&mut self, which: impl Fn(&InFlight) -> bool) -> Released {
        let limit = self.config.delivery_count_limit;
        let mut released = Released::default();
        for record in self.in_flight.values_mut() {
            if record.state == RecordState::Acquired && which(record) {
                released.count(release(record, limit));
            }
        }
        self.advance_start_offset();
        released
    }

    /// The in-flight state as runs of one state and delivery count, for
    /// the share-group state records (ACQUIRED is written as such; a
    /// restore releases it).
    pub fn state_batches(&self) -> Vec<StateBatch> {
        let mut batches: Vec<StateBatch> = Vec::new();
        for (&offset, record) in &self.in_flight {
            push_state(&mut batches, offset, record.state, record.delivery_count);
        }
        batches
    }

    /// Moves the start offset past everything done: records ACKNOWLEDGED
    /// or ARCHIVED, and offsets up to the end that were never in flight
    /// (the log did not have them).
    fn advance_start_offset(&mut self) {
        while self.start_offset <= self.end_offset {
            match self.in_flight.get(&self.start_offset) {
                Some(r) if matches!(r.state, RecordState::Acknowledged | RecordState::Archived) => {
                    self.in_flight.remove(&self.start_offset);
                }
                Some(_) => break,
                None => {}
            }
            self.start_offset += 1;
        }
    }
}

/// Adds `offset` in `state` to the runs in `batches` (offsets in
/// ascending order): the last run grows if it ends just before it in the
/// same state and delivery count, else a new run starts.
pub fn push_state(
    batches: &mut Vec<StateBatch>,
    offset: i64,
    state: RecordState,
    delivery_count: u16,
) {
    match batches.last_mut() {
        Some(batch)
            if batch.last_offset + 1 == offset
                && batch.state == state
                && batch.delivery_count == delivery_count =>
        {
            batch.last_offset = offset;
        }
        _ => batches.push(StateBatch {
            first_offset: offset,
            last_offset: offset,
            state,
            delivery_count,
        }),
    }
}

/// Releases an acquired record: AVAILABLE again, or ARCHIVED when its
/// delivery count has reached the limit. Returns whether it was archived.
fn release(record: &mut InFlight, delivery_count_limit: u16) -> bool {
    record.member = None;
    if record.delivery_count >= delivery_count_limit {
        record.state = RecordState::Archived;
        true
    } else {
        record.state = RecordState::Available;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::share_records::{
        self, ShareGroupState, ShareSnapshotValue, ShareStateKey, ShareStateRecord,
        ShareUpdateValue,
    };
    use AcknowledgeType::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};

    fn config() -> SharePartitionConfig {
        SharePartitionConfig {
            record_lock_duration_ms: 1000,
            delivery_count_limit: 3,
            max_in_flight: 10,
        }
    }

    fn run(first: i64, last: i64, delivery_count: u16) -> AcquiredRecords {
        AcquiredRecords {
            first_offset: first,
            last_offset: last,
            delivery_count,
        }
    }

    #[test]
    fn records_go_to_one_member_and_the_start_moves_past_what_is_done() {
        let mut sp = SharePartition::new(config(), 0);
        assert_eq!(sp.acquire("a", &[(0, 4)], 3, 0), vec![run(0, 2, 1)]);
        // Another member gets what is left, never what "a" holds.
        assert_eq!(sp.acquire("b", &[(0, 4)], 10, 0), vec![run(3, 4, 1)]);
        assert_eq!(sp.next_fetch_offset(), 5);
        // "b" cannot acknowledge what "a" holds; nothing is applied.
        assert!(matches!(
            sp.acknowledge("b", &[(3, 4, vec![Accept]), (0, 0, vec![Accept])], 0),
            Err(AcknowledgeError::InvalidRequest(_))
        ));
        assert!(matches!(
            sp.acknowledge("b", &[(0, 0, vec![Accept])], 0),
            Err(AcknowledgeError::InvalidRecordState(_))
        ));
        assert_eq!(sp.record(3), Some((RecordState::Acquired, 1)));
        sp.acknowledge("a", &[(0, 2, vec![Accept, Release, Reject])], 0)
            .unwrap();
        assert_eq!(sp.start_offset(), 1);
        assert_eq!(sp.record(1), Some((RecordState::Available, 1)));
        assert_eq!(sp.next_fetch_offset(), 1);
        // Released records go out again with a higher delivery count.
        assert_eq!(
            sp.acquire("b", &[(1, 6)], 10, 0),
            vec![run(1, 1, 2), run(5, 6, 1)]
        );
        sp.acknowledge("b", &[(1, 1, vec![Accept]), (3, 6, vec![Accept])], 0)
            .unwrap();
        assert_eq!((sp.start_offset(), sp.in_flight_count()), (7, 0));
        // An accepted record is never acknowledged again.
        assert!(sp.acknowledge("b", &[(3, 3, vec![Accept])], 0).is_err());
    }

    #[test]
    fn locks_run_out_and_the_delivery_limit_archives() {
        let mut sp = SharePartition::new(config(), 10);
        for round in 1..=3u16 {
            assert_eq!(
                sp.acquire("a", &[(10, 11)], 10, 0),
                vec![run(10, 11, round)]
            );
            assert_eq!(sp.next_lock_expiry(), Some(1000));
            let released = sp.expire_locks(1000);
            let expected = if round < 3 {
                Released {
                    available: 2,
                    archived: 0,
                }
            } else {
                Released {
                    available: 0,
                    archived: 2,
                }
            };
            assert_eq!(released, expected, "round {round}");
        }
        assert_eq!(sp.start_offset(), 12);
        assert!(sp.acquire("a", &[(10, 11)], 10, 0).is_empty());
    }

    #[test]
    fn renew_keeps_the_lock_and_leaving_releases() {
        let mut sp = SharePartition::new(config(), 0);
        sp.acquire("a", &[(0, 1)], 10, 0);
        sp.acknowledge("a", &[(0, 0, vec![Renew])], 900).unwrap();
        assert_eq!(
            sp.expire_locks(1000),
            Released {
                available: 1,
                archived: 0
            }
        );
        assert_eq!(sp.record(0), Some((RecordState::Acquired, 1)));
        assert_eq!(
            sp.release_member("a"),
            Released {
                available: 1,
                archived: 0
            }
        );
        assert_eq!(sp.acquire("b", &[(0, 1)], 10, 0), vec![run(0, 1, 2)]);
    }

    #[test]
    fn at_most_max_in_flight_and_gaps_are_skipped() {
        let mut sp = SharePartition::new(config(), 0);
        // Offsets 3 and 4 are not in the log (compacted away).
        assert_eq!(
            sp.acquire("a", &[(0, 2), (5, 20)], 100, 0),
            vec![run(0, 2, 1), run(5, 11, 1)]
        );
        assert_eq!(sp.in_flight_count(), 10);
        sp.acknowledge("a", &[(0, 2, vec![Accept]), (5, 11, vec![Accept])], 0)
            .unwrap();
        assert_eq!((sp.start_offset(), sp.in_flight_count()), (12, 0));
        sp.advance_to_log_start(20);
        assert_eq!((sp.start_offset(), sp.next_fetch_offset()), (20, 20));
    }

    #[test]
    fn state_batches_restore_what_was_in_flight() {
        let mut sp = SharePartition::new(config(), 0);
        sp.acquire("a", &[(0, 5)], 10, 0);
        sp.acknowledge("a", &[(1, 1, vec![Accept]), (2, 3, vec![Release])], 0)
            .unwrap();
        let batches = sp.state_batches();
        assert_eq!(
            batches,
            vec![
                StateBatch {
                    first_offset: 0,
                    last_offset: 0,
                    state: RecordState::Acquired,
                    delivery_count: 1
                },
                StateBatch {
                    first_offset: 1,
                    last_offset: 1,
                    state: RecordState::Acknowledged,
                    delivery_count: 1
                },
                StateBatch {
                    first_offset: 2,
                    last_offset: 3,
                    state: RecordState::Available,
                    delivery_count: 1
                },
                StateBatch {
                    first_offset: 4,
                    last_offset: 5,
                    state: RecordState::Acquired,
                    delivery_count: 1
                },
            ]
        );
        let mut restored = SharePartition::restore(config(), sp.start_offset(), &batches);
        assert_eq!(restored.end_offset(), 5);
        assert_eq!(
            restored.acquire("b", &[(0, 9)], 100, 0),
            vec![run(0, 0, 2), run(2, 5, 2), run(6, 9, 1)]
        );
        assert_eq!(restored.record(1), Some((RecordState::Acknowledged, 1)));
    }

    /// One step of the model: members 0 to 2 of one share group on a
    /// partition of `RECORDS` records.
    #[derive(Debug, Clone)]
    enum Op {
        Fetch {
            member: u8,
            max: usize,
        },
        /// Acknowledges the `pick`-th run the member holds, each offset
        /// with one of the types.
        Ack {
            member: u8,
            pick: usize,
            kinds: Vec<u8>,
        },
        /// Acknowledges offsets the member may not hold.
        AckAny {
            member: u8,
            first: i64,
            len: i64,
            kind: u8,
        },
        Expire,
        Leave {
            member: u8,
        },
        Restart,
    }

    const RECORDS: i64 = 30;

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..3, 1usize..8).prop_map(|(member, max)| Op::Fetch { member, max }),
            4 => (0u8..3, 0usize..4, proptest::collection::vec(0u8..5, 1..6))
                .prop_map(|(member, pick, kinds)| Op::Ack { member, pick, kinds }),
            1 => (0u8..3, 0i64..RECORDS, 1i64..4, 1u8..5)
                .prop_map(|(member, first, len, kind)| Op::AckAny { member, first, len, kind }),
            1 => Just(Op::Expire),
            1 => (0u8..3).prop_map(|member| Op::Leave { member }),
            1 => Just(Op::Restart),
        ]
    }

    fn kind(id: u8) -> AcknowledgeType {
        AcknowledgeType::from_id(id as i8).unwrap_or(Accept)
    }

    proptest! {
        /// Any interleaving of fetches by several members, acknowledgements
        /// of each type, lock expiries, departures and restarts (from the
        /// stored state: a ShareUpdate written after each change, read back
        /// and applied over the snapshot) leaves every record accepted exactly once or
        /// archived (rejected, or at the delivery limit), never accepted
        /// twice, never delivered past the limit.
        #[test]
        fn every_record_is_accepted_once_or_archived(ops in proptest::collection::vec(op(), 1..120)) {
            let config = config();
            let mut sp = SharePartition::new(config, 0);
            let mut now = 0i64;
            let mut held: HashMap<u8, Vec<AcquiredRecords>> = HashMap::new();
            let mut accepted: HashSet<i64> = HashSet::new();
            let mut rejected: HashSet<i64> = HashSet::new();
            let mut deliveries: HashMap<i64, u16> = HashMap::new();
            let log = [(0, RECORDS - 1)];
            let apply_ack = |sp: &mut SharePartition,
                                 member: u8,
                                 batch: (i64, i64, Vec<AcknowledgeType>),
                                 now: i64,
                                 accepted: &mut HashSet<i64>,
                                 rejected: &mut HashSet<i64>|
             -> bool {
                let (first, last, kinds) = batch.clone();
                match sp.acknowledge(&member.to_string(), &[batch], now) {
                    Ok(_) => {
                        for offset in first..=last {
                            let k = if kinds.len() == 1 { kinds[0] } else { kinds[(offset - first) as usize] };
                            match k {
                                Accept => assert!(accepted.insert(offset), "offset {offset} accepted twice"),
                                Reject | Gap => { rejected.insert(offset); }
                                _ => {}
                            }
                        }
                        true
                    }
                    Err(_) => false,
                }
            };
            // The stored state, as the share coordinator keeps it: a first
            // snapshot, then an update after each change, through the
            // records' encoding.
            let key = ShareStateKey { group_id: "g".into(), topic_id: uuid::Uuid::from_u128(1), partition: 0 };
            let mut stored = ShareGroupState::from_snapshot(&ShareSnapshotValue {
                snapshot_epoch: 0,
                state_epoch: 0,
                leader_epoch: 0,
                start_offset: 0,
                delivery_complete_count: -1,
                create_timestamp: 0,
                write_timestamp: 0,
                state_batches: Vec::new(),
            });
            for op in ops {
                match op {
                    Op::Fetch { member, max } => {
                        let got = sp.acquire(&member.to_string(), &log, max, now);
                        for run in &got {
                            prop_assert!(run.delivery_count <= config.delivery_count_limit);
                            for offset in run.first_offset..=run.last_offset {
                                prop_assert!(!accepted.contains(&offset), "accepted offset {offset} delivered again");
                                prop_assert!(!rejected.contains(&offset), "rejected offset {offset} delivered again");
                                let count = deliveries.entry(offset).or_default();
                                *count += 1;
                                prop_assert_eq!(*count, run.delivery_count);
                            }
                        }
                        held.entry(member).or_default().extend(got);
                    }
                    Op::Ack { member, pick, kinds } => {
                        let runs = held.entry(member).or_default();
                        if runs.is_empty() {
                            continue;
                        }
                        let run = runs.remove(pick % runs.len());
                        let span = (run.last_offset - run.first_offset + 1) as usize;
                        let types: Vec<AcknowledgeType> = if kinds.len() >= span {
                            kinds[..span].iter().map(|&k| kind(k)).collect()
                        } else {
                            vec![kind(kinds[0])]
                        };
                        apply_ack(&mut sp, member, (run.first_offset, run.last_offset, types), now, &mut accepted, &mut rejected);
                    }
                    Op::AckAny { member, first, len, kind: k } => {
                        let last = (first + len - 1).min(RECORDS - 1);
                        // Allowed only when the member holds each of them.
                        apply_ack(&mut sp, member, (first, last, vec![kind(k)]), now, &mut accepted, &mut rejected);
                    }
                    Op::Expire => {
                        now += config.record_lock_duration_ms;
                        sp.expire_locks(now);
                    }
                    Op::Leave { member } => {
                        sp.release_member(&member.to_string());
                        held.remove(&member);
                    }
                    Op::Restart => {
                        sp = SharePartition::restore(config, stored.start_offset, &stored.state_batches);
                        held.clear();
                    }
                }
                let update = ShareUpdateValue {
                    snapshot_epoch: 0,
                    leader_epoch: -1,
                    start_offset: sp.start_offset(),
                    delivery_complete_count: -1,
                    state_batches: sp.state_batches(),
                };
                let record = share_records::decode(
                    &share_records::encode_key(share_records::SHARE_UPDATE, &key),
                    Some(&share_records::encode_update_value(&update)),
                );
                match record {
                    Ok(ShareStateRecord::Update(_, value)) => stored.apply_update(&value),
                    other => prop_assert!(false, "the update reads back as {other:?}"),
                }
                // Held runs whose locks ran out or were released are
                // stale: an acknowledgement of them is refused, which the
                // model allows.
                prop_assert!(sp.start_offset() <= RECORDS);
            }
            // Drain: the locks run out, then one member fetches and accepts
            // until nothing is left.
            now += config.record_lock_duration_ms;
            sp.expire_locks(now);
            loop {
                let got = sp.acquire("drain", &log, 100, now);
                if got.is_empty() {
                    break;
                }
                for run in got {
                    for offset in run.first_offset..=run.last_offset {
                        prop_assert!(!accepted.contains(&offset) && !rejected.contains(&offset));
                        let count = deliveries.entry(offset).or_default();
                        *count += 1;
                        prop_assert_eq!(*count, run.delivery_count);
                    }
                    sp.acknowledge("drain", &[(run.first_offset, run.last_offset, vec![Accept])], now).unwrap();
                    for offset in run.first_offset..=run.last_offset {
                        prop_assert!(accepted.insert(offset));
                    }
                }
            }
            prop_assert_eq!(sp.start_offset(), RECORDS);
            for offset in 0..RECORDS {
                let archived_at_limit = deliveries.get(&offset).copied() == Some(config.delivery_count_limit);
                prop_assert!(
                    accepted.contains(&offset) ^ (rejected.contains(&offset) || archived_at_limit && !accepted.contains(&offset)),
                    "offset {} accepted {} rejected {} deliveries {:?}",
                    offset, accepted.contains(&offset), rejected.contains(&offset), deliveries.get(&offset)
                );
            }
        }
    }
}
