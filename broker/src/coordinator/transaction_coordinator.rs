//! The transaction coordinator (Kafka's `TransactionCoordinator` and
//! `TransactionStateManager`): each transactional id's producer id, epoch,
//! state and partitions, kept in the compacted `__transaction_state` topic
//! in Kafka's record format and read back at start.
//!
//! A transaction ends in two phases, as in Kafka: PrepareCommit (or
//! PrepareAbort) is written to `__transaction_state`, a COMMIT (ABORT)
//! marker is appended to every partition of the transaction, then
//! CompleteCommit (CompleteAbort) is written. A broker that stops between
//! the phases finishes the markers when it starts again; an open
//! transaction whose timeout passes is aborted, its producer fenced.
//!
//! Each transactional id has its own lock, held through a whole state
//! change, markers included; a transactional Produce holds it while it
//! checks that its partition is in the transaction and appends, so a
//! batch can never land after its transaction's marker.
//!
//! The coordinator reaches its topic through [`InternalTopic`] and the
//! partitions through [`TxnMarkerChannel`]; it knows nothing else of the
//! broker.

use super::records::partition_for;
use super::transaction_log::{self, TransactionLogValue, TransactionState};
use crate::internal_topics::{InternalTopic, TopicRecord, WriteError};
use crate::metadata::controller::NewTopic;
use crate::storage::record_batch;
use kafka_protocol::error::ResponseError;
use parking_lot::{Mutex, MutexGuard, RwLock};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::{info, warn};

/// The topic holding the transaction coordinator's state.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";
/// The `TransactionLogValue` version Kafka writes for transaction version
/// 1 (`TransactionVersion.transactionLogValueVersion`); version 1 is
/// transaction version 2's.
const LOG_VALUE_VERSION: i16 = 0;
/// No producer id or epoch yet (`RecordBatch.NO_PRODUCER_ID/EPOCH`).
const NO_PRODUCER_ID: i64 = -1;
const NO_PRODUCER_EPOCH: i16 = -1;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Kafka's `isEpochExhausted`: the epoch cannot be bumped once more (one
/// bump is kept for fencing).
fn epoch_exhausted(epoch: i16) -> bool {
    epoch >= i16::MAX - 1
}

#[derive(Debug, Clone, Copy)]
pub struct TransactionConfig {
    /// `transaction.state.log.num.partitions`
    pub num_partitions: i32,
    /// `transaction.state.log.segment.bytes`
    pub segment_bytes: u64,
    /// `transaction.max.timeout.ms`
    pub max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`
    pub id_expiration_ms: i64,
}

/// A partition of a transaction: topic and index.
pub type TxnPartition = (String, i32);

/// One marker for the partitions of a transaction (Kafka's
/// `WriteTxnMarkers` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnMarker {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub coordinator_epoch: i32,
    pub commit: bool,
}

/// How markers reach the partitions (Kafka's
/// `TransactionMarkerChannelManager`; here a direct append).
pub trait TxnMarkerChannel: Sync {
    /// Appends `marker` to `partition`. A partition that no longer exists
    /// (its topic deleted) succeeds: there is nothing to mark.
    fn write_marker(&self, marker: &TxnMarker, partition: &TxnPartition) -> Result<(), String>;
}

/// A transactional id's state (Kafka's `TransactionMetadata`).
#[derive(Debug, Clone)]
pub struct TransactionMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    /// The producer id before the last rotation (KIP-360 retries).
    pub previous_producer_id: i64,
    pub producer_epoch: i16,
    /// The epoch before the last bump (KIP-360 retries).
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TransactionState,
    pub partitions: BTreeSet<TxnPartition>,
    pub start_timestamp_ms: i64,
    pub last_update_timestamp_ms: i64,
}

impl TransactionMetadata {
    fn new(transactional_id: &str, producer_id: i64, timeout_ms: i32) -> Self {
        TransactionMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id,
            previous_producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms,
            state: TransactionState::Empty,
            partitions: BTreeSet::new(),
            start_timestamp_ms: -1,
            last_update_timestamp_ms: now_ms(),
        }
    }

    fn log_value(&self) -> TransactionLogValue {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (topic, partition) in &self.partitions {
            by_topic.entry(topic).or_default().push(*partition);
        }
        TransactionLogValue {
            producer_id: self.producer_id,
            previous_producer_id: self.previous_producer_id,
            next_producer_id: NO_PRODUCER_ID,
            producer_epoch: self.producer_epoch,
            timeout_ms: self.timeout_ms,
            state: self.state,
            partitions: (self.state != TransactionState::Empty).then(|| {
                by_topic
                    .into_iter()
                    .map(|(t, p)| (t.to_string(), p))
                    .collect()
            }),
            last_update_timestamp_ms: self.last_update_timestamp_ms,
            start_timestamp_ms: self.start_timestamp_ms,
            client_transaction_version: 0,
        }
    }

    fn from_log(transactional_id: String, value: TransactionLogValue) -> Self {
        TransactionMetadata {
            transactional_id,
            producer_id: value.producer_id,
            previous_producer_id: value.previous_producer_id,
            producer_epoch: value.producer_epoch,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms: value.timeout_ms,
            state: value.state,
            partitions: value
                .partitions
                .unwrap_or_default()
                .into_iter()
                .flat_map(|(topic, partitions)| {
                    partitions.into_iter().map(move |p| (topic.clone(), p))
                })
                .collect(),
            start_timestamp_ms: value.start_timestamp_ms,
            last_update_timestamp_ms: value.last_update_timestamp_ms,
        }
    }
}

/// What InitProducerId gets back: the producer id and epoch.
pub type InitProducerIdResult = Result<(i64, i16), ResponseError>;

/// A transactional id as ListTransactions reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionListing {
    pub transactional_id: String,
    pub producer_id: i64,
    pub state: TransactionState,
}

/// A transactional id's lock, held while a request checks or changes it.
pub type TxnGuard<'a> = MutexGuard<'a, TransactionMetadata>;

pub struct TransactionCoordinator {
    config: TransactionConfig,
    txns: RwLock<HashMap<String, Arc<Mutex<TransactionMetadata>>>>,
}

impl TransactionCoordinator {
    pub fn new(config: TransactionConfig) -> Self {
        TransactionCoordinator {
            config,
            txns: RwLock::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &TransactionConfig {
        &self.config
    }

    /// How `__transaction_state` is created: Kafka's settings for it.
    pub fn state_topic_spec(&self) -> NewTopic {
        NewTopic {
            name: TRANSACTION_STATE_TOPIC.to_string(),
            num_partitions: self.config.num_partitions,
            replication_factor: -1,
            assignments: Vec::new(),
            configs: vec![
                ("cleanup.policy".into(), Some("compact".into())),
                ("compression.type".into(), Some("uncompressed".into())),
                (
                    "segment.bytes".into(),
                    Some(self.config.segment_bytes.to_string()),
                ),
            ],
        }
    }

    /// The partition of `__transaction_state` a transactional id's records
    /// go to (Kafka's `partitionFor`: the id's Java hash code, modulo).
    pub fn partition_for(&self, transactional_id: &str) -> i32 {
        partition_for(transactional_id, self.config.num_partitions)
    }

    /// The transactional id's metadata, to hold while a request uses it.
    pub fn get(&self, transactional_id: &str) -> Option<Arc<Mutex<TransactionMetadata>>> {
        self.txns.read().get(transactional_id).cloned()
    }

    /// Writes the transactional id's current metadata to its partition.
    fn persist(
        &self,
        topic: &dyn InternalTopic,
        txn: &TransactionMetadata,
    ) -> Result<(), ResponseError> {
        let partitions = topic.partitions()?;
        let partition = partition_for(&txn.transactional_id, partitions);
        let record: TopicRecord = (
            transaction_log::key(&txn.transactional_id),
            Some(transaction_log::value(&txn.log_value(), LOG_VALUE_VERSION)),
        );
        topic.append(partition, &[record]).map_err(|e| {
            warn!(transactional_id = %txn.transactional_id, "cannot write to {TRANSACTION_STATE_TOPIC}: {e:?}");
            match e {
                WriteError::TooLarge => ResponseError::UnknownServerError,
                WriteError::Unavailable | WriteError::InvalidProducerEpoch => {
                    ResponseError::CoordinatorNotAvailable
                }
            }
        })
    }

    /// Applies `change` to a copy of the metadata, writes it, and only then
    /// takes it (Kafka's pending transitions): a failed write changes
    /// nothing.
    fn transition(
        &self,
        topic: &dyn InternalTopic,
        txn: &mut TransactionMetadata,
        change: impl FnOnce(&mut TransactionMetadata),
    ) -> Result<(), ResponseError> {
        let mut next = txn.clone();
        change(&mut next);
        next.last_update_timestamp_ms = now_ms();
        self.persist(topic, &next)?;
        *txn = next;
        Ok(())
    }

    // ----------------------------------------------------------- loading

    /// Reads every transactional id of `__transaction_state`, then ends
    /// the transactions a stop left between the two phases.
    pub fn load(
        &self,
        topic: &dyn InternalTopic,
        markers: &dyn TxnMarkerChannel,
    ) -> io::Result<()> {
        let mut latest: HashMap<String, Option<TransactionLogValue>> = HashMap::new();
        topic.read_all(&mut |partition, batch| {
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
                let id = match transaction_log::decode_key(key) {
                    Ok(id) => id,
                    Err(e) => {
                        warn!(partition, "skipping a {TRANSACTION_STATE_TOPIC} record: {e}");
                        continue;
                    }
                };
                match record.value.map(transaction_log::decode_value) {
                    None => {
                        latest.insert(id, None);
                    }
                    Some(Ok(value)) => {
                        latest.insert(id, Some(value));
                    }
                    Some(Err(e)) => {
                        warn!(partition, transactional_id = %id, "skipping a corrupt {TRANSACTION_STATE_TOPIC} record: {e}")
                    }
                }
            }
        })?;
        let mut loaded = 0;
        {
            let mut txns = self.txns.write();
            for (id, value) in latest {
                let Some(value) = value else { continue };
                let txn = TransactionMetadata::from_log(id.clone(), value);
                txns.insert(id, Arc::new(Mutex::new(txn)));
                loaded += 1;
            }
        }
        if loaded > 0 {
            info!(
                transactional_ids = loaded,
                "loaded transactions from {TRANSACTION_STATE_TOPIC}"
            );
        }
        // Kafka resends the markers of transactions left prepared.
        let all: Vec<_> = self.txns.read().values().cloned().collect();
        for txn in all {
            let mut txn = txn.lock();
            let commit = match txn.state {
                TransactionState::PrepareCommit => true,
                TransactionState::PrepareAbort => false,
                _ => continue,
            };
            info!(transactional_id = %txn.transactional_id, commit, "completing a prepared transaction");
            if let Err(e) = self.complete(topic, markers, &mut txn, commit) {
                warn!(transactional_id = %txn.transactional_id, "cannot complete a prepared transaction yet: {e:?}");
            }
        }
        Ok(())
    }

    // ---------------------------------------------------- InitProducerId

    /// InitProducerId with a transactional id (Kafka's
    /// `handleInitProducerId`): a new id gets a producer id; a known one
    /// gets its epoch bumped, which fences the previous producer, after an
    /// open transaction is aborted (the client is told to retry). A given
    /// producer id and epoch (KIP-360) must be the current ones, or those
    /// of a bump whose answer the producer missed.
    pub fn init_producer_id(
        &self,
        topic: &dyn InternalTopic,
        markers: &dyn TxnMarkerChannel,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        generate_producer_id: &dyn Fn() -> Result<i64, ResponseError>,
    ) -> InitProducerIdResult {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        if timeout_ms <= 0 || timeout_ms > self.config.max_timeout_ms {
            return Err(ResponseError::InvalidTransactionTimeout);
        }
        topic.partitions()?;
        let txn = match self.get(transactional_id) {
            Some(txn) => txn,
            None => {
                let producer_id = generate_producer_id()?;
                let created = Arc::new(Mutex::new(TransactionMetadata::new(
                    transactional_id,
                    producer_id,
                    timeout_ms,
                )));
                Arc::clone(
                    self.txns
                        .write()
                        .entry(transactional_id.to_string())
                        .or_insert(created),
                )
            }
        };
        let mut txn = txn.lock();
        if let Some((producer_id, epoch)) = expected {
            // Kafka's isValidProducerId.
            let valid = txn.producer_epoch == NO_PRODUCER_EPOCH
                || producer_id == txn.producer_id
                || (producer_id == txn.previous_producer_id && epoch_exhausted(epoch));
            if !valid {
                return Err(ResponseError::ProducerFenced);
            }
        }
        match txn.state {
            TransactionState::PrepareCommit
            | TransactionState::PrepareAbort
            | TransactionState::PrepareEpochFence => {
                return Err(ResponseError::ConcurrentTransactions);
            }
            TransactionState::Ongoing => {
                // Fence the producer and abort its transaction; the client
                // retries and gets the epoch bumped once more.
                self.fence_and_abort(topic, markers, &mut txn)?;
                return Err(ResponseError::ConcurrentTransactions);
            }
            TransactionState::Dead => {
                return Err(ResponseError::ConcurrentTransactions);
            }
            TransactionState::Empty
            | TransactionState::CompleteCommit
            | TransactionState::CompleteAbort => {}
        }
        let expected_epoch = expected.map(|(_, epoch)| epoch);
        let rotate = epoch_exhausted(txn.producer_epoch)
            && expected_epoch.is_none_or(|e| e == txn.producer_epoch);
        let (producer_id, epoch, last_epoch, previous_producer_id) = if rotate {
            let producer_id = generate_producer_id()?;
            (producer_id, 0, NO_PRODUCER_EPOCH, txn.producer_id)
        } else {
            // Kafka's prepareIncrementProducerEpoch.
            let bumped = txn.producer_epoch.wrapping_add(1).max(0);
            match expected_epoch {
                None => (
                    txn.producer_id,
                    bumped,
                    NO_PRODUCER_EPOCH,
                    txn.previous_producer_id,
                ),
                Some(e) if txn.producer_epoch == NO_PRODUCER_EPOCH || e == txn.producer_epoch => (
                    txn.producer_id,
                    bumped,
                    txn.producer_epoch,
                    txn.previous_producer_id,
                ),
                Some(e) if e == txn.last_producer_epoch => {
                    // A retry of a bump whose answer was lost.
                    return Ok((txn.producer_id, txn.producer_epoch));
                }
                Some(_) => return Err(ResponseError::ProducerFenced),
            }
        };
        let written = self.transition(topic, &mut txn, |next| {
            next.producer_id = producer_id;
            next.producer_epoch = epoch;
            next.last_producer_epoch = last_epoch;
            next.previous_producer_id = previous_producer_id;
            next.timeout_ms = timeout_ms;
            next.state = TransactionState::Empty;
            next.partitions.clear();
            next.start_timestamp_ms = -1;
        });
        written?;
        Ok((producer_id, epoch))
    }

    /// Bumps the epoch of an open transaction and aborts it with that
    /// epoch (Kafka's `prepareFenceProducerEpoch`): the producer that
    /// opened it is fenced.
    fn fence_and_abort(
        &self,
        topic: &dyn InternalTopic,
        markers: &dyn TxnMarkerChannel,
        txn: &mut TransactionMetadata,
    ) -> Result<(), ResponseError> {
        self.transition(topic, txn, |next| {
            if !epoch_exhausted(next.producer_epoch) {
                next.producer_epoch += 1;
                next.last_producer_epoch = NO_PRODUCER_EPOCH;
            }
            next.state = TransactionState::PrepareAbort;
        })?;
        self.complete(topic, markers, txn, false)
    }

    // ----------------------------------------------------- the partitions

    /// The metadata of a producer's transactional id; an empty one is
    /// INVALID_REQUEST, an unknown one INVALID_PRODUCER_ID_MAPPING.
    fn producer_txn(
        &self,
        transactional_id: &str,
    ) -> Result<Arc<Mutex<TransactionMetadata>>, ResponseError> {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        self.get(transactional_id)
            .ok_or(ResponseError::InvalidProducerIdMapping)
    }

    /// Checks a request of the producer against the transactional id's
    /// metadata (Kafka's checks of AddPartitionsToTxn and EndTxn).
    fn check_producer(
        txn: &TransactionMetadata,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<(), ResponseError> {
        if txn.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if txn.producer_epoch != producer_epoch {
            return Err(ResponseError::ProducerFenced);
        }
        Ok(())
    }

    /// AddPartitionsToTxn and AddOffsetsToTxn (Kafka's
    /// `handleAddPartitionsToTransaction`): the partitions join the
    /// transaction, which is open from then on.
    pub fn add_partitions(
        &self,
        topic: &dyn InternalTopic,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TxnPartition],
    ) -> Result<(), ResponseError> {
        let txn = self.producer_txn(transactional_id)?;
        let mut txn = txn.lock();
        Self::check_producer(&txn, producer_id, producer_epoch)?;
        match txn.state {
            TransactionState::PrepareCommit
            | TransactionState::PrepareAbort
            | TransactionState::PrepareEpochFence
            | TransactionState::Dead => return Err(ResponseError::ConcurrentTransactions),
            TransactionState::Ongoing if partitions.iter().all(|p| txn.partitions.contains(p)) => {
                return Ok(());
            }
            _ => {}
        }
        let now = now_ms();
        self.transition(topic, &mut txn, |next| {
            if next.state != TransactionState::Ongoing {
                next.start_timestamp_ms = now;
                next.partitions.clear();
            }
            next.state = TransactionState::Ongoing;
            next.partitions.extend(partitions.iter().cloned());
        })
    }

    /// Whether the producer's transaction holds `partition` (KIP-890's
    /// verification, for AddPartitionsToTxn with VerifyOnly, Produce and
    /// TxnOffsetCommit): PRODUCER_FENCED for an older epoch,
    /// INVALID_TXN_STATE when the partition is not in an open transaction
    /// of this epoch.
    pub fn verify_partition(
        txn: &TransactionMetadata,
        producer_id: i64,
        producer_epoch: i16,
        partition: &TxnPartition,
    ) -> Result<(), ResponseError> {
        if txn.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if producer_epoch < txn.producer_epoch {
            return Err(ResponseError::ProducerFenced);
        }
        if txn.producer_epoch != producer_epoch
            || txn.state != TransactionState::Ongoing
            || !txn.partitions.contains(partition)
        {
            return Err(ResponseError::InvalidTxnState);
        }
        Ok(())
    }

    // ------------------------------------------------------------- EndTxn

    /// EndTxn (Kafka's `handleEndTransaction` from a client).
    pub fn end_txn(
        &self,
        topic: &dyn InternalTopic,
        markers: &dyn TxnMarkerChannel,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> Result<(), ResponseError> {
        let txn = self.producer_txn(transactional_id)?;
        let mut txn = txn.lock();
        Self::check_producer(&txn, producer_id, producer_epoch)?;
        match (txn.state, commit) {
            (TransactionState::Ongoing, _) => {}
            (TransactionState::CompleteCommit, true) | (TransactionState::CompleteAbort, false) => {
                return Ok(());
            }
            (TransactionState::PrepareCommit, true) | (TransactionState::PrepareAbort, false) => {
                return Err(ResponseError::ConcurrentTransactions);
            }
            (TransactionState::PrepareEpochFence | TransactionState::Dead, _) => {
                return Err(ResponseError::ConcurrentTransactions);
            }
            _ => return Err(ResponseError::InvalidTxnState),
        }
        self.transition(topic, &mut txn, |next| {
            next.state = if commit {
                TransactionState::PrepareCommit
            } else {
                TransactionState::PrepareAbort
            };
        })?;
        // The transaction's outcome is decided and written: the markers
        // and the completion follow (again after a restart if need be).
        if let Err(e) = self.complete(topic, markers, &mut txn, commit) {
            warn!(
                transactional_id,
                "transaction prepared, markers pending: {e:?}"
            );
        }
        Ok(())
    }

    /// The second phase: markers to every partition, then
    /// CompleteCommit/CompleteAbort.
    fn complete(
        &self,
        topic: &dyn InternalTopic,
        markers: &dyn TxnMarkerChannel,
        txn: &mut TransactionMetadata,
        commit: bool,
    ) -> Result<(), ResponseError> {
        let marker = TxnMarker {
            producer_id: txn.producer_id,
            producer_epoch: txn.producer_epoch,
            coordinator_epoch: 0,
            commit,
        };
        for partition in &txn.partitions {
            markers.write_marker(&marker, partition).map_err(|e| {
                warn!(transactional_id = %txn.transactional_id, partition = %format!("{}-{}", partition.0, partition.1),
                    "cannot write a transaction marker: {e}");
                ResponseError::CoordinatorNotAvailable
            })?;
        }
        self.transition(topic, txn, |next| {
            next.state = if commit {
                TransactionState::CompleteCommit
            } else {
                TransactionState::CompleteAbort
            };
            next.partitions.clear();
        })
    }

    // ------------------------------------------------------------- timers

    /// Aborts the open transactions whose timeout passed, fencing their
    /// producers (Kafka's `abortTimedOutTransactions`), and finishes
    /// prepared ones whose markers could not be written before.
    pub fn abort_timed_out(&self, topic: &dyn InternalTopic, markers: &dyn TxnMarkerChannel) {
        let now = now_ms();
        let all: Vec<_> = self.txns.read().values().cloned().collect();
        for txn in all {
            let mut txn = txn.lock();
            match txn.state {
                TransactionState::Ongoing
                    if txn.start_timestamp_ms + i64::from(txn.timeout_ms) < now =>
                {
                    info!(transactional_id = %txn.transactional_id, producer_id = txn.producer_id,
                        timeout_ms = txn.timeout_ms, "aborting a transaction that timed out");
                    if let Err(e) = self.fence_and_abort(topic, markers, &mut txn) {
                        warn!(transactional_id = %txn.transactional_id, "cannot abort a timed out transaction: {e:?}");
                    }
                }
                TransactionState::PrepareCommit | TransactionState::PrepareAbort => {
                    let commit = txn.state == TransactionState::PrepareCommit;
                    let _ = self.complete(topic, markers, &mut txn, commit);
                }
                _ => {}
            }
        }
    }

    /// Forgets the transactional ids without an open transaction that have
    /// been idle past `transactional.id.expiration.ms`, writing a
    /// tombstone for each (Kafka's `removeExpiredTransactionalIds`).
    pub fn remove_expired(&self, topic: &dyn InternalTopic) {
        let now = now_ms();
        let all: Vec<_> = self.txns.read().values().cloned().collect();
        for txn in all {
            let mut txn = txn.lock();
            let idle = matches!(
                txn.state,
                TransactionState::Empty
                    | TransactionState::CompleteCommit
                    | TransactionState::CompleteAbort
            ) && txn.last_update_timestamp_ms + self.config.id_expiration_ms <= now;
            if !idle {
                continue;
            }
            let id = txn.transactional_id.clone();
            let Ok(partitions) = topic.partitions() else {
                return;
            };
            let tombstone: TopicRecord = (transaction_log::key(&id), None);
            if topic
                .append(partition_for(&id, partitions), &[tombstone])
                .is_ok()
            {
                txn.state = TransactionState::Dead;
                drop(txn);
                self.txns.write().remove(&id);
                info!(transactional_id = %id, "expired a transactional id");
            }
        }
    }

    // -------------------------------------------------------------- admin

    /// The metadata of a transactional id (DescribeTransactions).
    pub fn describe(&self, transactional_id: &str) -> Option<TransactionMetadata> {
        self.get(transactional_id).map(|t| t.lock().clone())
    }

    /// Every transactional id (ListTransactions), sorted.
    pub fn list(&self) -> Vec<TransactionMetadata> {
        let all: Vec<_> = self.txns.read().values().cloned().collect();
        let mut listed: Vec<TransactionMetadata> = all
            .iter()
            .map(|t| t.lock().clone())
            .filter(|t| t.state != TransactionState::Dead)
            .collect();
        listed.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        listed
    }

    /// How many transactional ids are in each state, every state listed
    /// in the log's order.
    pub fn count_by_state(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<(TransactionState, usize)> =
            TransactionState::ALL.iter().map(|&s| (s, 0)).collect();
        let all: Vec<_> = self.txns.read().values().cloned().collect();
        for txn in all {
            let state = txn.lock().state;
            if let Some((_, n)) = counts.iter_mut().find(|(s, _)| *s == state) {
                *n += 1;
            }
        }
        counts.into_iter().map(|(s, n)| (s.name(), n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    /// `__transaction_state` in memory: every appended batch, in order.
    #[derive(Default)]
    struct MemoryTopic {
        records: Mutex<Vec<(i32, TopicRecord)>>,
    }

    impl InternalTopic for MemoryTopic {
        fn partitions(&self) -> Result<i32, ResponseError> {
            Ok(50)
        }
        fn existing_partitions(&self) -> Vec<i32> {
            let mut partitions: Vec<i32> = self.records.lock().iter().map(|r| r.0).collect();
            partitions.sort_unstable();
            partitions.dedup();
            partitions
        }
        fn append(&self, partition: i32, records: &[TopicRecord]) -> Result<(), WriteError> {
            let mut all = self.records.lock();
            all.extend(records.iter().map(|r| (partition, r.clone())));
            Ok(())
        }
        fn append_transactional(
            &self,
            partition: i32,
            records: &[TopicRecord],
            _producer_id: i64,
            _producer_epoch: i16,
        ) -> Result<(), WriteError> {
            self.append(partition, records)
        }
        /// Each record of the partition is a batch of its own, its offset
        /// its place among the partition's records.
        fn read_from(
            &self,
            partition: i32,
            offset: i64,
            on_batch: &mut dyn FnMut(&[u8]),
        ) -> io::Result<i64> {
            let records = self.records.lock();
            let mut next = 0;
            for (_, (key, value)) in records.iter().filter(|r| r.0 == partition) {
                if next >= offset {
                    let batch = record_batch::build_batch(
                        0,
                        &[record_batch::NewRecord {
                            key: Some(key),
                            value: value.as_deref(),
                        }],
                    );
                    on_batch(&batch);
                }
                next += 1;
            }
            Ok(next.max(offset))
        }
    }

    #[derive(Default)]
    struct Markers {
        written: Mutex<Vec<(TxnMarker, TxnPartition)>>,
    }

    impl TxnMarkerChannel for Markers {
        fn write_marker(&self, marker: &TxnMarker, partition: &TxnPartition) -> Result<(), String> {
            self.written.lock().push((*marker, partition.clone()));
            Ok(())
        }
    }

    fn coordinator() -> TransactionCoordinator {
        TransactionCoordinator::new(TransactionConfig {
            num_partitions: 50,
            segment_bytes: 1 << 20,
            max_timeout_ms: 900_000,
            id_expiration_ms: 604_800_000,
        })
    }

    #[test]
    fn a_transaction_commits_in_two_phases_and_survives_a_restart() {
        let topic = MemoryTopic::default();
        let markers = Markers::default();
        let next_id = AtomicI64::new(1000);
        let ids = || Ok(next_id.fetch_add(1, Ordering::Relaxed));
        let tc = coordinator();
        let first = tc.init_producer_id(&topic, &markers, "t", 60_000, None, &ids);
        assert_eq!(first, Ok((1000, 0)));
        let p = |t: &str, i| (t.to_string(), i);
        assert_eq!(
            tc.add_partitions(&topic, "t", 1000, 1, &[p("a", 0)]),
            Err(ResponseError::ProducerFenced)
        );
        assert_eq!(
            tc.add_partitions(&topic, "u", 1000, 0, &[p("a", 0)]),
            Err(ResponseError::InvalidProducerIdMapping)
        );
        assert_eq!(
            tc.end_txn(&topic, &markers, "t", 1000, 0, true),
            Err(ResponseError::InvalidTxnState)
        );
        tc.add_partitions(&topic, "t", 1000, 0, &[p("a", 0), p("a", 1)])
            .unwrap();
        tc.add_partitions(&topic, "t", 1000, 0, &[p("b", 0)])
            .unwrap();
        assert_eq!(tc.describe("t").unwrap().partitions.len(), 3);
        tc.end_txn(&topic, &markers, "t", 1000, 0, true).unwrap();
        let written = markers.written.lock().clone();
        assert_eq!(written.len(), 3);
        assert!(
            written
                .iter()
                .all(|(m, _)| m.commit && m.producer_epoch == 0)
        );
        // A retried commit succeeds; an abort of it does not.
        tc.end_txn(&topic, &markers, "t", 1000, 0, true).unwrap();
        assert_eq!(
            tc.end_txn(&topic, &markers, "t", 1000, 0, false),
            Err(ResponseError::InvalidTxnState)
        );
        // Written: Empty, Ongoing, Ongoing, PrepareCommit, CompleteCommit.
        let states: Vec<TransactionState> = topic
            .records
            .lock()
            .iter()
            .map(|(_, (_, v))| {
                transaction_log::decode_value(v.as_ref().unwrap())
                    .unwrap()
                    .state
            })
            .collect();
        assert_eq!(
            states,
            [
                TransactionState::Empty,
                TransactionState::Ongoing,
                TransactionState::Ongoing,
                TransactionState::PrepareCommit,
                TransactionState::CompleteCommit
            ]
        );

        // A second instance with the same id is fenced in; the first is out.
        let second = tc.init_producer_id(&topic, &markers, "t", 60_000, None, &ids);
        assert_eq!(second, Ok((1000, 1)));
        assert_eq!(
            tc.add_partitions(&topic, "t", 1000, 0, &[p("a", 0)]),
            Err(ResponseError::ProducerFenced)
        );
        tc.add_partitions(&topic, "t", 1000, 1, &[p("a", 0)])
            .unwrap();

        // A restart loads the open transaction; a new instance aborts it.
        let restarted = coordinator();
        restarted.load(&topic, &markers).unwrap();
        let loaded = restarted.describe("t").unwrap();
        assert_eq!(loaded.state, TransactionState::Ongoing);
        assert_eq!(loaded.producer_epoch, 1);
        markers.written.lock().clear();
        let third = restarted.init_producer_id(&topic, &markers, "t", 60_000, None, &ids);
        assert_eq!(third, Err(ResponseError::ConcurrentTransactions));
        let aborted = markers.written.lock().clone();
        assert_eq!(aborted.len(), 1);
        assert!(!aborted[0].0.commit);
        assert_eq!(aborted[0].0.producer_epoch, 2);
        let retried = restarted.init_producer_id(&topic, &markers, "t", 60_000, None, &ids);
        assert_eq!(retried, Ok((1000, 3)));
    }

    #[test]
    fn a_prepared_transaction_is_completed_when_loaded_and_timeouts_abort() {
        let topic = MemoryTopic::default();
        let markers = Markers::default();
        let ids = || Ok(7);
        let tc = coordinator();
        tc.init_producer_id(&topic, &markers, "t", 60_000, None, &ids)
            .unwrap();
        tc.add_partitions(&topic, "t", 7, 0, &[("a".into(), 0)])
            .unwrap();
        // As if the broker stopped right after PrepareAbort was written.
        let mut prepared = tc.describe("t").unwrap();
        prepared.state = TransactionState::PrepareAbort;
        tc.persist(&topic, &prepared).unwrap();
        let restarted = coordinator();
        restarted.load(&topic, &markers).unwrap();
        assert_eq!(markers.written.lock().len(), 1);
        assert_eq!(
            restarted.describe("t").unwrap().state,
            TransactionState::CompleteAbort
        );

        // A transaction older than its timeout is aborted and fenced.
        let tc = coordinator();
        let (_, epoch) = tc
            .init_producer_id(&topic, &markers, "x", 1, None, &ids)
            .unwrap();
        tc.add_partitions(&topic, "x", 7, epoch, &[("a".into(), 0)])
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        tc.abort_timed_out(&topic, &markers);
        let after = tc.describe("x").unwrap();
        assert_eq!(after.state, TransactionState::CompleteAbort);
        assert_eq!(after.producer_epoch, epoch + 1);
        assert_eq!(
            tc.end_txn(&topic, &markers, "x", 7, epoch, true),
            Err(ResponseError::ProducerFenced)
        );
        assert_eq!(
            tc.init_producer_id(&topic, &markers, "x", 900_001, None, &ids),
            Err(ResponseError::InvalidTransactionTimeout)
        );
        // KIP-360: the current epoch may bump; a stale one is fenced.
        let bumped = tc.init_producer_id(
            &topic,
            &markers,
            "x",
            1000,
            Some((7, after.producer_epoch)),
            &ids,
        );
        assert_eq!(bumped, Ok((7, after.producer_epoch + 1)));
        let retry = tc.init_producer_id(
            &topic,
            &markers,
            "x",
            1000,
            Some((7, after.producer_epoch)),
            &ids,
        );
        assert_eq!(retry, bumped);
        assert_eq!(
            tc.init_producer_id(&topic, &markers, "x", 1000, Some((99, 0)), &ids),
            Err(ResponseError::ProducerFenced)
        );
    }
}
