//! The groups of the group coordinator and their storage (Kafka's
//! `GroupMetadataManager`): the cache of groups, and the group metadata and
//! committed offsets they write to `__consumer_offsets` in Kafka's own
//! record format and read back at startup, so they survive restarts.
//!
//! It reaches `__consumer_offsets` only through [`InternalTopic`]; the
//! membership state machine that decides what to store is the
//! [`GroupCoordinator`](super::GroupCoordinator)'s. Each group has its own
//! lock: the coordinator holds it while it validates a request and hands
//! the locked group to [`GroupMetadataManager::store_group`] and
//! [`GroupMetadataManager::store_offsets`].

use super::assignor::{Assignment, TopicSpec};
use super::consumer_group::{Change, ConsumerGroup, CurrentAssignment, MemberState};
use super::group::{Group, GroupState, Member};
use super::records::{self, OffsetCommitKey, OffsetCommitValue, OffsetsRecord};
use crate::internal_topics::{InternalTopic, TopicRecord, WriteError};
use crate::metadata::MetadataImage;
use crate::metadata::controller::NewTopic;
use crate::storage::record_batch;
use kafka_protocol::error::ResponseError;
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tracing::{info, warn};

/// The topic holding committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The wall clock in milliseconds, as group and offset records store it.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How `__consumer_offsets` is laid out and what it takes (Kafka's
/// `OffsetConfig`).
#[derive(Debug, Clone, Copy)]
pub struct OffsetConfig {
    pub offsets_topic_partitions: i32,
    pub offsets_topic_segment_bytes: u64,
    pub offset_metadata_max_bytes: usize,
    /// `group.consumer.session.timeout.ms`, for consumer-group members
    /// loaded at start.
    pub consumer_session_timeout_ms: i32,
}

/// An offset to commit.
#[derive(Debug, Clone)]
pub struct OffsetToCommit {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// A committed offset as OffsetFetch reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
    /// An open transaction holds an offset for the partition (reported as
    /// UNSTABLE_OFFSET_COMMIT to a fetch that requires stable offsets).
    pub unstable: bool,
}

pub struct GroupMetadataManager {
    config: OffsetConfig,
    groups: RwLock<HashMap<String, Arc<Mutex<Group>>>>,
    /// The groups holding offsets of each producer's open transaction
    /// (Kafka's `openGroupsForProducer`), so a marker visits only those.
    open_groups_for_producer: Mutex<HashMap<i64, HashSet<String>>>,
}

impl GroupMetadataManager {
    pub fn new(config: OffsetConfig) -> Self {
        GroupMetadataManager {
            config,
            groups: RwLock::new(HashMap::new()),
            open_groups_for_producer: Mutex::new(HashMap::new()),
        }
    }

    // -------------------------------------------------------------- cache

    /// The group of that id, if there is one.
    pub fn get_group(&self, id: &str) -> Option<Arc<Mutex<Group>>> {
        self.groups.read().get(id).cloned()
    }

    /// The group of that id, a new empty one if there is none (Kafka's
    /// `getOrMaybeCreateGroup`).
    pub fn get_or_create_group(&self, id: &str) -> Arc<Mutex<Group>> {
        if let Some(group) = self.get_group(id) {
            return group;
        }
        Arc::clone(
            self.groups
                .write()
                .entry(id.to_string())
                .or_insert_with(|| Arc::new(Mutex::new(Group::new(id, now_ms())))),
        )
    }

    /// Forgets a group. Its lock must not be held.
    pub fn remove_group(&self, id: &str) {
        self.groups.write().remove(id);
    }

    /// Every group (Kafka's `currentGroups`), to lock one after the other.
    pub fn current_groups(&self) -> Vec<Arc<Mutex<Group>>> {
        self.groups.read().values().cloned().collect()
    }

    /// How many classic groups are in each state (Dead included), in a
    /// fixed order.
    pub fn count_by_state(&self) -> [(&'static str, usize); 5] {
        let mut counts = [
            GroupState::Empty,
            GroupState::PreparingRebalance,
            GroupState::CompletingRebalance,
            GroupState::Stable,
            GroupState::Dead,
        ]
        .map(|state| (state, 0));
        for group in self.groups.read().values() {
            let group = group.lock();
            if group.consumer.is_some() {
                continue;
            }
            if let Some((_, n)) = counts.iter_mut().find(|(s, _)| *s == group.state) {
                *n += 1;
            }
        }
        counts.map(|(state, n)| (state.name(), n))
    }

    /// How many KIP-848 consumer groups are in each of their states.
    pub fn count_consumer_groups_by_state(&self) -> [(&'static str, usize); 4] {
        let mut counts = [
            ("Empty", 0),
            ("Assigning", 0),
            ("Reconciling", 0),
            ("Stable", 0),
        ];
        for group in self.groups.read().values() {
            if let Some(consumer) = &group.lock().consumer {
                let state = consumer.state();
                if let Some((_, n)) = counts.iter_mut().find(|(s, _)| *s == state) {
                    *n += 1;
                }
            }
        }
        counts
    }

    /// (group id, protocol type, state, group type) of every live group:
    /// classic groups, and consumer groups (protocol type `consumer`, their
    /// own state names).
    pub fn list_groups(&self) -> Vec<(String, String, &'static str, &'static str)> {
        let mut groups: Vec<(String, String, &'static str, &'static str)> = self
            .groups
            .read()
            .values()
            .filter_map(|g| {
                let g = g.lock();
                match &g.consumer {
                    Some(consumer) => Some((
                        g.id.clone(),
                        "consumer".to_string(),
                        consumer.state(),
                        "consumer",
                    )),
                    None => (g.state != GroupState::Dead).then(|| {
                        (
                            g.id.clone(),
                            g.protocol_type.clone().unwrap_or_default(),
                            g.state.name(),
                            "classic",
                        )
                    }),
                }
            })
            .collect();
        groups.sort();
        groups
    }

    // ------------------------------------------------------------ storage

    /// How `__consumer_offsets` is created: Kafka's settings for it.
    pub fn offsets_topic_spec(&self) -> NewTopic {
        NewTopic {
            name: OFFSETS_TOPIC.to_string(),
            num_partitions: self.config.offsets_topic_partitions,
            replication_factor: -1,
            assignments: Vec::new(),
            configs: vec![
                ("cleanup.policy".into(), Some("compact".into())),
                ("compression.type".into(), Some("producer".into())),
                (
                    "segment.bytes".into(),
                    Some(self.config.offsets_topic_segment_bytes.to_string()),
                ),
            ],
        }
    }

    /// Appends records of `group` to its partition of `__consumer_offsets`.
    fn append(
        &self,
        topic: &dyn InternalTopic,
        group: &str,
        records: &[TopicRecord],
    ) -> Result<(), ResponseError> {
        let partitions = topic.partitions()?;
        let partition = records::partition_for(group, partitions);
        topic.append(partition, records).map_err(|e| {
            warn!(group, "cannot write to {OFFSETS_TOPIC}: {e:?}");
            match e {
                WriteError::TooLarge => ResponseError::InvalidCommitOffsetSize,
                WriteError::Unavailable | WriteError::InvalidProducerEpoch => {
                    ResponseError::CoordinatorNotAvailable
                }
            }
        })
    }

    /// Appends records of `group` in a transactional batch of the producer.
    fn append_txn(
        &self,
        topic: &dyn InternalTopic,
        group: &str,
        records: &[TopicRecord],
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<(), ResponseError> {
        let partitions = topic.partitions()?;
        let partition = records::partition_for(group, partitions);
        topic
            .append_transactional(partition, records, producer_id, producer_epoch)
            .map_err(|e| {
                warn!(group, producer_id, "cannot write to {OFFSETS_TOPIC}: {e:?}");
                match e {
                    WriteError::TooLarge => ResponseError::InvalidCommitOffsetSize,
                    WriteError::Unavailable => ResponseError::CoordinatorNotAvailable,
                    WriteError::InvalidProducerEpoch => ResponseError::InvalidProducerEpoch,
                }
            })
    }

    /// A transaction marker was written to `partition` of
    /// `__consumer_offsets`: the producer's pending offsets in the groups
    /// of that partition become committed (COMMIT) or are dropped (ABORT)
    /// (Kafka's `handleTxnCompletion`).
    pub fn complete_txn(&self, producer_id: i64, commit: bool, partition: i32, partitions: i32) {
        let open = {
            let mut open_groups = self.open_groups_for_producer.lock();
            let Some(groups) = open_groups.get_mut(&producer_id) else {
                return;
            };
            let (done, rest): (HashSet<String>, HashSet<String>) = groups
                .drain()
                .partition(|g| records::partition_for(g, partitions) == partition);
            if rest.is_empty() {
                open_groups.remove(&producer_id);
            } else {
                *groups = rest;
            }
            done
        };
        for id in open {
            let Some(group) = self.get_group(&id) else {
                continue;
            };
            let mut group = group.lock();
            if let Some(pending) = group.pending_txn_offsets.remove(&producer_id)
                && commit
            {
                group.offsets.extend(pending);
            }
        }
    }

    /// Writes the group's metadata record (Kafka's `storeGroup`).
    pub fn store_group(
        &self,
        topic: &dyn InternalTopic,
        group: &Group,
    ) -> Result<(), ResponseError> {
        let value = records::group_value(&group.metadata_value());
        self.append(
            topic,
            &group.id,
            &[(records::group_key(&group.id), Some(value))],
        )
    }

    /// Writes offset commit records for the offsets of known partitions
    /// whose metadata is not too large, and on success records them in
    /// `group` (Kafka's `storeOffsets`). Returns one error code per offset.
    pub fn store_offsets(
        &self,
        topic: &dyn InternalTopic,
        image: &MetadataImage,
        group: &mut Group,
        offsets: &[OffsetToCommit],
    ) -> Vec<i16> {
        self.store(topic, image, group, offsets, None)
    }

    /// [`GroupMetadataManager::store_offsets`] in the producer's
    /// transaction (TxnOffsetCommit): the records go in a transactional
    /// batch of the producer's, and the offsets wait in the group until
    /// the transaction's marker ([`GroupMetadataManager::complete_txn`]).
    pub fn store_txn_offsets(
        &self,
        topic: &dyn InternalTopic,
        image: &MetadataImage,
        group: &mut Group,
        offsets: &[OffsetToCommit],
        producer_id: i64,
        producer_epoch: i16,
    ) -> Vec<i16> {
        self.store(
            topic,
            image,
            group,
            offsets,
            Some((producer_id, producer_epoch)),
        )
    }

    fn store(
        &self,
        topic: &dyn InternalTopic,
        image: &MetadataImage,
        group: &mut Group,
        offsets: &[OffsetToCommit],
        producer: Option<(i64, i16)>,
    ) -> Vec<i16> {
        let timestamp = now_ms();
        let mut errors = Vec::with_capacity(offsets.len());
        let mut accepted = Vec::new();
        for o in offsets {
            let error = if image.partition(&o.topic, o.partition).is_none() {
                ResponseError::UnknownTopicOrPartition.code()
            } else if o.metadata.as_ref().map_or(0, String::len)
                > self.config.offset_metadata_max_bytes
            {
                ResponseError::OffsetMetadataTooLarge.code()
            } else {
                let key = OffsetCommitKey {
                    group: group.id.clone(),
                    topic: o.topic.clone(),
                    partition: o.partition,
                };
                let value = OffsetCommitValue {
                    offset: o.offset,
                    leader_epoch: o.leader_epoch,
                    metadata: o.metadata.clone().unwrap_or_default(),
                    commit_timestamp: timestamp,
                };
                accepted.push((errors.len(), key, value));
                0
            };
            errors.push(error);
        }
        if !accepted.is_empty() {
            let records: Vec<TopicRecord> = accepted
                .iter()
                .map(|(_, key, value)| {
                    (records::offset_key(key), Some(records::offset_value(value)))
                })
                .collect();
            let written = match producer {
                None => self.append(topic, &group.id, &records),
                Some((producer_id, producer_epoch)) => {
                    self.append_txn(topic, &group.id, &records, producer_id, producer_epoch)
                }
            };
            match written {
                Ok(()) => {
                    let target = match producer {
                        None => &mut group.offsets,
                        Some((producer_id, _)) => {
                            self.open_groups_for_producer
                                .lock()
                                .entry(producer_id)
                                .or_default()
                                .insert(group.id.clone());
                            group.pending_txn_offsets.entry(producer_id).or_default()
                        }
                    };
                    for (_, key, value) in accepted {
                        target.insert((key.topic, key.partition), value);
                    }
                }
                Err(error) => {
                    for (i, ..) in accepted {
                        errors[i] = error.code();
                    }
                }
            }
        }
        errors
    }

    /// The committed offsets of a group: of the given partitions (-1 where
    /// none is committed), or all of them (Kafka's `getOffsets`).
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Vec<(String, Vec<CommittedOffset>)> {
        let group = self.get_group(group_id);
        let group = group.as_ref().map(|g| g.lock());
        let committed = |topic: &str, partition: i32| {
            let key = (topic.to_string(), partition);
            let found = group.as_ref().and_then(|g| g.offsets.get(&key));
            let unstable = group.as_ref().is_some_and(|g| {
                g.pending_txn_offsets
                    .values()
                    .any(|pending| pending.contains_key(&key))
            });
            match found {
                Some(v) => CommittedOffset {
                    partition,
                    offset: v.offset,
                    leader_epoch: v.leader_epoch,
                    metadata: Some(v.metadata.clone()),
                    unstable,
                },
                None => CommittedOffset {
                    partition,
                    offset: -1,
                    leader_epoch: -1,
                    metadata: Some(String::new()),
                    unstable,
                },
            }
        };
        match topics {
            Some(topics) => topics
                .iter()
                .map(|(topic, partitions)| {
                    (
                        topic.clone(),
                        partitions.iter().map(|&p| committed(topic, p)).collect(),
                    )
                })
                .collect(),
            None => {
                let mut by_topic: std::collections::BTreeMap<String, Vec<CommittedOffset>> =
                    Default::default();
                if let Some(group) = &group {
                    for (topic, partition) in group.offsets.keys() {
                        by_topic
                            .entry(topic.clone())
                            .or_default()
                            .push(committed(topic, *partition));
                    }
                }
                by_topic
                    .into_iter()
                    .map(|(topic, mut partitions)| {
                        partitions.sort_by_key(|p| p.partition);
                        (topic, partitions)
                    })
                    .collect()
            }
        }
    }

    /// Reads every committed offset and group of `__consumer_offsets`
    /// (Kafka's `loadGroupsAndOffsets`); groups already cached are kept.
    pub fn load(&self, topic: &dyn InternalTopic) -> io::Result<()> {
        let mut offsets: HashMap<String, HashMap<(String, i32), OffsetCommitValue>> =
            HashMap::new();
        let mut metadata: HashMap<String, Option<records::GroupMetadataValue>> = HashMap::new();
        // Offsets of open transactions: producer id, then group.
        type Pending = HashMap<String, HashMap<(String, i32), OffsetCommitValue>>;
        let mut pending: HashMap<i64, Pending> = HashMap::new();
        let mut consumer_groups: HashMap<String, ConsumerGroup> = HashMap::new();
        topic.read_all(&mut |partition, batch| {
            let Ok(header) = record_batch::BatchHeader::parse(batch) else {
                return;
            };
            if header.is_control() {
                // A marker ends the producer's transaction in this partition.
                let commit = match record_batch::control_record(batch).map(|c| c.kind) {
                    Some(record_batch::ControlRecordType::Commit) => true,
                    Some(record_batch::ControlRecordType::Abort) => false,
                    _ => return,
                };
                if let Some(groups) = pending.remove(&header.producer_id)
                    && commit
                {
                    for (group, committed) in groups {
                        offsets.entry(group).or_default().extend(committed);
                    }
                }
                return;
            }
            if header.compression_codec() != 0 {
                return;
            }
            let Ok(records) = record_batch::records(batch) else {
                return;
            };
            let txn_producer = header.is_transactional().then_some(header.producer_id);
            for record in records.filter_map(Result::ok) {
                let Some(key) = record.key else { continue };
                match records::decode(key, record.value) {
                    Ok(OffsetsRecord::Offset(key, Some(value))) if txn_producer.is_some() => {
                        pending
                            .entry(txn_producer.unwrap_or_default())
                            .or_default()
                            .entry(key.group)
                            .or_default()
                            .insert((key.topic, key.partition), value);
                    }
                    Ok(OffsetsRecord::Offset(key, Some(value))) => {
                        offsets
                            .entry(key.group)
                            .or_default()
                            .insert((key.topic, key.partition), value);
                    }
                    Ok(OffsetsRecord::Offset(key, None)) => {
                        if let Some(group) = offsets.get_mut(&key.group) {
                            group.remove(&(key.topic, key.partition));
                        }
                    }
                    Ok(OffsetsRecord::Group(group, value)) => {
                        if value.is_none() {
                            offsets.remove(&group);
                        }
                        metadata.insert(group, value);
                    }
                    Ok(OffsetsRecord::Other) => {}
                    Ok(other) => {
                        if let Some((group, change)) = record_change(other) {
                            let deleted = change == Change::GroupEpoch(None);
                            consumer_groups
                                .entry(group.clone())
                                .or_insert_with(|| ConsumerGroup::new(&group))
                                .replay(change);
                            if deleted {
                                consumer_groups.remove(&group);
                            }
                        }
                    }
                    Err(e) => {
                        warn!(partition, "skipping a corrupt {OFFSETS_TOPIC} record: {e}")
                    }
                }
            }
        })?;

        let now = Instant::now();
        let mut groups = self.groups.write();
        let mut loaded = 0;
        let pending_groups: Vec<String> = pending
            .values()
            .flat_map(|groups| groups.keys().cloned())
            .collect();
        let mut names: Vec<String> = offsets
            .keys()
            .chain(metadata.iter().filter(|(_, v)| v.is_some()).map(|(k, _)| k))
            .cloned()
            .chain(pending_groups)
            .chain(consumer_groups.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            if groups.contains_key(&name) {
                continue;
            }
            let mut group = Group::new(&name, now_ms());
            if let Some(Some(value)) = metadata.get(&name) {
                group.generation = value.generation;
                group.protocol_type = Some(value.protocol_type.clone()).filter(|t| !t.is_empty());
                group.protocol_name = value.protocol.clone();
                group.leader = value.leader.clone();
                group.state_timestamp = value.current_state_timestamp;
                for m in &value.members {
                    group.members.insert(
                        m.member_id.clone(),
                        Member {
                            id: m.member_id.clone(),
                            instance_id: m.group_instance_id.clone(),
                            client_id: m.client_id.clone(),
                            client_host: m.client_host.clone(),
                            rebalance_timeout_ms: m.rebalance_timeout,
                            session_timeout_ms: m.session_timeout,
                            protocol_type: value.protocol_type.clone(),
                            protocols: vec![(
                                value.protocol.clone().unwrap_or_default(),
                                m.subscription.clone(),
                            )],
                            assignment: m.assignment.clone(),
                            awaiting_join: None,
                            awaiting_sync: None,
                            heartbeat_deadline: now
                                + Duration::from_millis(m.session_timeout.max(0) as u64),
                            is_new: false,
                            synced: true,
                        },
                    );
                }
                if !group.members.is_empty() {
                    // Members that still live keep heartbeating; the others expire.
                    group.state = GroupState::Stable;
                }
            }
            if let Some(mut consumer) = consumer_groups.remove(&name) {
                // Every member gets a whole session to come back.
                let deadline = std::time::Instant::now()
                    + Duration::from_millis(self.config.consumer_session_timeout_ms.max(0) as u64);
                let now = std::time::Instant::now();
                let revoking: Vec<(String, i32, i32)> = consumer
                    .members
                    .values()
                    .filter(|m| m.current.state == MemberState::UnrevokedPartitions)
                    .map(|m| {
                        let timeout = m.subscription.rebalance_timeout_ms;
                        (m.member_id.clone(), m.current.member_epoch, timeout)
                    })
                    .collect();
                for member in consumer.members.keys() {
                    consumer.session_deadlines.insert(member.clone(), deadline);
                }
                // Members still revoking get their rebalance timeout again
                // (Kafka's onLoaded).
                for (member, epoch, timeout) in revoking {
                    let until = now + Duration::from_millis(timeout.max(0) as u64);
                    consumer.rebalance_deadlines.insert(member, (epoch, until));
                }
                group.protocol_type = Some("consumer".to_string());
                group.consumer = Some(Box::new(consumer));
            }
            group.offsets = offsets.remove(&name).unwrap_or_default();
            for (&producer_id, groups) in &mut pending {
                if let Some(open) = groups.remove(&name) {
                    group.pending_txn_offsets.insert(producer_id, open);
                    self.open_groups_for_producer
                        .lock()
                        .entry(producer_id)
                        .or_default()
                        .insert(name.clone());
                }
            }
            groups.insert(name, Arc::new(Mutex::new(group)));
            loaded += 1;
        }
        if loaded > 0 {
            info!(
                groups = loaded,
                "loaded consumer groups from {OFFSETS_TOPIC}"
            );
        }
        Ok(())
    }

    /// Forgets the committed offsets of a deleted topic, in every group,
    /// writing their tombstones.
    pub fn on_topic_deleted(&self, offsets_topic: &dyn InternalTopic, topic: &str) {
        for group in self.current_groups() {
            let mut group = group.lock();
            let gone: Vec<(String, i32)> = group
                .offsets
                .keys()
                .filter(|(t, _)| t == topic)
                .cloned()
                .collect();
            if gone.is_empty() {
                continue;
            }
            let tombstones = offset_tombstones(&group.id, &gone);
            if self
                .append(offsets_topic, &group.id.clone(), &tombstones)
                .is_ok()
            {
                for key in gone {
                    group.offsets.remove(&key);
                }
            }
        }
    }

    /// Writes the tombstones of the given partitions' offsets, committed
    /// or held by an open transaction (OffsetDelete), and on success
    /// forgets them. Partitions without an offset write nothing.
    pub fn delete_offsets(
        &self,
        topic: &dyn InternalTopic,
        group: &mut Group,
        partitions: &[(String, i32)],
    ) -> Result<(), ResponseError> {
        let gone: Vec<(String, i32)> = partitions
            .iter()
            .filter(|key| {
                group.offsets.contains_key(*key)
                    || group
                        .pending_txn_offsets
                        .values()
                        .any(|pending| pending.contains_key(*key))
            })
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        let tombstones = offset_tombstones(&group.id, &gone);
        self.append(topic, &group.id, &tombstones)?;
        for key in &gone {
            group.offsets.remove(key);
            for pending in group.pending_txn_offsets.values_mut() {
                pending.remove(key);
            }
        }
        Ok(())
    }

    /// Writes the tombstones of a group being deleted, of its offsets and
    /// its metadata, and on success forgets its offsets. The group stays
    /// cached until [`GroupMetadataManager::remove_group`].
    pub fn delete_group(
        &self,
        topic: &dyn InternalTopic,
        group: &mut Group,
    ) -> Result<(), ResponseError> {
        let mut tombstones = offset_tombstones(&group.id, group.offsets.keys());
        tombstones.push((records::group_key(&group.id), None));
        self.append(topic, &group.id, &tombstones)?;
        group.offsets.clear();
        Ok(())
    }
}

/// The tombstones of a group's committed offsets of `partitions`.
fn offset_tombstones<'a>(
    group: &str,
    partitions: impl IntoIterator<Item = &'a (String, i32)>,
) -> Vec<TopicRecord> {
    partitions
        .into_iter()
        .map(|(topic, partition)| {
            let key = OffsetCommitKey {
                group: group.to_string(),
                topic: topic.clone(),
                partition: *partition,
            };
            (records::offset_key(&key), None)
        })
        .collect()
}

// ------------------------------------------------------- consumer groups

/// The `__consumer_offsets` record of a consumer-group change.
pub fn change_record(group: &str, change: &Change) -> TopicRecord {
    fn partitions(assignment: &Assignment) -> Vec<records::TopicPartitions> {
        assignment
            .iter()
            .map(|(topic_id, partitions)| records::TopicPartitions {
                topic_id: *topic_id,
                partitions: partitions.iter().copied().collect(),
            })
            .collect()
    }
    match change {
        Change::GroupEpoch(epoch) => (
            records::consumer_group_metadata_key(group),
            epoch.map(|epoch| {
                records::consumer_group_metadata_value(&records::ConsumerGroupMetadataValue {
                    epoch,
                })
            }),
        ),
        Change::SubscriptionMetadata(topics) => (
            records::consumer_group_partition_metadata_key(group),
            topics.as_ref().map(|topics| {
                records::consumer_group_partition_metadata_value(
                    &records::ConsumerGroupPartitionMetadataValue {
                        topics: topics
                            .values()
                            .map(|t| records::TopicMetadata {
                                topic_id: t.id,
                                topic_name: t.name.clone(),
                                num_partitions: t.partitions,
                                partition_metadata: Vec::new(),
                            })
                            .collect(),
                    },
                )
            }),
        ),
        Change::MemberSubscription(member, subscription) => (
            records::consumer_group_member_metadata_key(group, member),
            subscription
                .as_ref()
                .map(records::consumer_group_member_metadata_value),
        ),
        Change::TargetMember(member, assignment) => (
            records::consumer_group_target_assignment_member_key(group, member),
            assignment.as_ref().map(|a| {
                records::consumer_group_target_assignment_member_value(
                    &records::ConsumerGroupTargetAssignmentMemberValue {
                        topic_partitions: partitions(a),
                    },
                )
            }),
        ),
        Change::TargetEpoch(epoch) => (
            records::consumer_group_target_assignment_metadata_key(group),
            epoch.map(|assignment_epoch| {
                records::consumer_group_target_assignment_metadata_value(
                    &records::ConsumerGroupTargetAssignmentMetadataValue { assignment_epoch },
                )
            }),
        ),
        Change::CurrentAssignment(member, current) => (
            records::consumer_group_current_member_assignment_key(group, member),
            current.as_ref().map(|c| {
                records::consumer_group_current_member_assignment_value(
                    &records::ConsumerGroupCurrentMemberAssignmentValue {
                        member_epoch: c.member_epoch,
                        previous_member_epoch: c.previous_member_epoch,
                        state: c.state.code(),
                        assigned_partitions: partitions(&c.assigned),
                        partitions_pending_revocation: partitions(&c.pending_revocation),
                    },
                )
            }),
        ),
    }
}

/// The consumer-group change a record of `__consumer_offsets` stands for.
pub fn record_change(record: OffsetsRecord) -> Option<(String, Change)> {
    fn assignment(partitions: Vec<records::TopicPartitions>) -> Assignment {
        let mut assignment = Assignment::new();
        for tp in partitions {
            assignment
                .entry(tp.topic_id)
                .or_default()
                .extend(tp.partitions);
        }
        assignment
    }
    Some(match record {
        OffsetsRecord::ConsumerGroupMetadata(group, value) => {
            (group, Change::GroupEpoch(value.map(|v| v.epoch)))
        }
        OffsetsRecord::ConsumerGroupPartitionMetadata(group, value) => (
            group,
            Change::SubscriptionMetadata(value.map(|v| {
                v.topics
                    .into_iter()
                    .map(|t| {
                        (
                            t.topic_name.clone(),
                            TopicSpec {
                                id: t.topic_id,
                                name: t.topic_name,
                                partitions: t.num_partitions,
                            },
                        )
                    })
                    .collect()
            })),
        ),
        OffsetsRecord::ConsumerGroupMemberMetadata(group, member, value) => {
            (group, Change::MemberSubscription(member, value))
        }
        OffsetsRecord::ConsumerGroupTargetAssignmentMetadata(group, value) => (
            group,
            Change::TargetEpoch(value.map(|v| v.assignment_epoch)),
        ),
        OffsetsRecord::ConsumerGroupTargetAssignmentMember(group, member, value) => (
            group,
            Change::TargetMember(member, value.map(|v| assignment(v.topic_partitions))),
        ),
        OffsetsRecord::ConsumerGroupCurrentMemberAssignment(group, member, value) => (
            group,
            Change::CurrentAssignment(
                member,
                value.map(|v| CurrentAssignment {
                    member_epoch: v.member_epoch,
                    previous_member_epoch: v.previous_member_epoch,
                    state: MemberState::from_code(v.state),
                    assigned: assignment(v.assigned_partitions),
                    pending_revocation: assignment(v.partitions_pending_revocation),
                    assignment_epochs: BTreeMap::new(),
                }),
            ),
        ),
        _ => return None,
    })
}

impl GroupMetadataManager {
    /// Writes a consumer group's changes, in one batch.
    pub fn store_consumer_group_changes(
        &self,
        topic: &dyn InternalTopic,
        group: &str,
        changes: &[Change],
    ) -> Result<(), ResponseError> {
        if changes.is_empty() {
            return Ok(());
        }
        let records: Vec<TopicRecord> = changes.iter().map(|c| change_record(group, c)).collect();
        self.append(topic, group, &records)
    }
}
