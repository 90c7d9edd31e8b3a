//! Requests encoded and responses decoded by hand, from Kafka's message
//! schemas, for transactions (KIP-98, KIP-447, KIP-664, KIP-890's
//! verification): InitProducerId v0-5, AddPartitionsToTxn v0-3 (the
//! clients' versions) and v4-5 (batched, with `VerifyOnly`),
//! AddOffsetsToTxn v0-4, EndTxn v0-4, TxnOffsetCommit v3,
//! DescribeTransactions v0, ListTransactions v0-1 and DescribeProducers v0.
//! Flexible versions use request header v2 and response header v1; the
//! others header v1 and v0. None of these schemas defines a tagged field, so
//! decoders require every tagged-field section to be empty, and reject bytes
//! left over.
//!
//! Also what transactions leave in the logs: control batches (COMMIT and
//! ABORT markers), the `.txnindex` files of aborted transactions, and what a
//! READ_COMMITTED consumer makes of a partition's batches.
//!
//! FindCoordinator (key type 1) is [`crate::groups::find_coordinator_request`];
//! Fetch with an isolation level is [`crate::protocol::FetchRequest`], whose
//! response carries the last stable offset and the aborted transactions;
//! ListOffsets with an isolation level is [`crate::admin::list_offsets_request`];
//! OffsetFetch with `require_stable` is [`crate::groups::offset_fetch_request`].

use crate::admin::InitProducerIdResponse;
use crate::batch::{DecodedBatch, Record};
use crate::client::Client;
use crate::protocol::{
    self, FetchPartitionRequest, FetchRequest, FetchedPartition, flexible_request_header,
    response_header_v1,
};
use crate::versioned::{
    get_string, get_tags, put_array_len, put_i32_array, put_nullable_string, put_string,
    put_tags as tags, response_header,
};
use crate::wire::{Reader, Uuid, Writer};
use anyhow::{Context, Result, bail, ensure};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;

pub const INIT_PRODUCER_ID: i16 = 22;
pub const ADD_PARTITIONS_TO_TXN: i16 = 24;
pub const ADD_OFFSETS_TO_TXN: i16 = 25;
pub const END_TXN: i16 = 26;
pub const WRITE_TXN_MARKERS: i16 = 27;
pub const TXN_OFFSET_COMMIT: i16 = 28;
pub const DESCRIBE_PRODUCERS: i16 = 61;
pub const DESCRIBE_TRANSACTIONS: i16 = 65;
pub const LIST_TRANSACTIONS: i16 = 66;

/// Fetch and ListOffsets isolation levels.
pub const READ_UNCOMMITTED: i8 = 0;
pub const READ_COMMITTED: i8 = 1;

/// Kafka error codes of transactions (Kafka's `Errors`).
pub mod error {
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub const INVALID_TXN_STATE: i16 = 48;
    pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
    pub const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
    pub const CONCURRENT_TRANSACTIONS: i16 = 51;
    pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
    pub const UNSTABLE_OFFSET_COMMIT: i16 = 88;
    pub const PRODUCER_FENCED: i16 = 90;
    pub const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;
    pub const TRANSACTION_ABORTABLE: i16 = 120;
}

// ------------------------------------------------ flexible or not, by version

/// Request header v2 (flexible versions) or v1.
fn request_header(api_key: i16, version: i16, correlation_id: i32, flexible: bool) -> Writer {
    if flexible {
        return flexible_request_header(api_key, version, correlation_id);
    }
    let mut w = Writer::new();
    w.i16(api_key)
        .i16(version)
        .i32(correlation_id)
        .nullable_string(Some(protocol::CLIENT_ID));
    w
}

fn get_array<T>(
    r: &mut Reader<'_>,
    flexible: bool,
    element: impl FnMut(&mut Reader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    if flexible {
        r.compact_array(element)
    } else {
        let at = r.position();
        r.nullable_array(element)?
            .with_context(|| format!("null array at offset {at} where one is required"))
    }
}

// ------------------------------------------------------------- InitProducerId

/// InitProducerId of `version` (0-5; flexible from 2, producer id and epoch
/// from 3). A new producer sends producer id -1 and epoch -1.
pub fn init_producer_id_request(
    version: i16,
    correlation_id: i32,
    transactional_id: Option<&str>,
    transaction_timeout_ms: i32,
    producer_id: i64,
    producer_epoch: i16,
) -> Vec<u8> {
    let flexible = version >= 2;
    let mut w = request_header(INIT_PRODUCER_ID, version, correlation_id, flexible);
    put_nullable_string(&mut w, transactional_id, flexible);
    w.i32(transaction_timeout_ms);
    if version >= 3 {
        w.i64(producer_id).i16(producer_epoch);
    }
    tags(&mut w, flexible);
    w.into_bytes()
}

pub fn decode_init_producer_id_response(
    bytes: &[u8],
    version: i16,
) -> Result<InitProducerIdResponse> {
    let flexible = version >= 2;
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r, flexible)?;
    let response = InitProducerIdResponse {
        correlation_id,
        throttle_time_ms: r.i32()?,
        error_code: r.i16()?,
        producer_id: r.i64()?,
        producer_epoch: r.i16()?,
    };
    get_tags(&mut r, flexible)?;
    r.finish()?;
    Ok(response)
}

// --------------------------------------------------------- AddPartitionsToTxn

/// Topics and partition indexes, as the transaction APIs list them.
pub type TopicPartitions = Vec<(String, Vec<i32>)>;

/// Per topic, (partition index, error code).
pub type TopicResults = Vec<(String, Vec<(i32, i16)>)>;

/// The error code `results` give a partition.
pub fn partition_error(results: &TopicResults, topic: &str, partition: i32) -> Option<i16> {
    results
        .iter()
        .filter(|(name, _)| name == topic)
        .flat_map(|(_, partitions)| partitions)
        .find(|(index, _)| *index == partition)
        .map(|(_, error)| *error)
}

fn put_topic_partitions(w: &mut Writer, topics: &[(String, Vec<i32>)], flexible: bool) {
    put_array_len(w, topics.len(), flexible);
    for (name, partitions) in topics {
        put_string(w, name, flexible);
        put_i32_array(w, partitions, flexible);
        tags(w, flexible);
    }
}

/// AddPartitionsToTxn v0-3, as clients send it: one transaction.
pub fn add_partitions_to_txn_request(
    version: i16,
    correlation_id: i32,
    transactional_id: &str,
    producer_id: i64,
    producer_epoch: i16,
    topics: &[(String, Vec<i32>)],
) -> Vec<u8> {
    assert!((0..=3).contains(&version), "v{version} is the batched form");
    let flexible = version >= 3;
    let mut w = request_header(ADD_PARTITIONS_TO_TXN, version, correlation_id, flexible);
    put_string(&mut w, transactional_id, flexible);
    w.i64(producer_id).i16(producer_epoch);
    put_topic_partitions(&mut w, topics, flexible);
    tags(&mut w, flexible);
    w.into_bytes()
}

/// One transaction of the batched AddPartitionsToTxn (v4 on, brokers').
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPartitionsTransaction {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// Only ask whether the partitions are in the transaction.
    pub verify_only: bool,
    pub topics: TopicPartitions,
}

/// AddPartitionsToTxn v4 or v5: a batch of transactions.
pub fn add_partitions_to_txn_batched_request(
    version: i16,
    correlation_id: i32,
    transactions: &[AddPartitionsTransaction],
) -> Vec<u8> {
    assert!(version >= 4, "v{version} is not the batched form");
    let mut w = flexible_request_header(ADD_PARTITIONS_TO_TXN, version, correlation_id);
    w.compact_array_len(transactions.len());
    for txn in transactions {
        w.compact_string(&txn.transactional_id)
            .i64(txn.producer_id)
            .i16(txn.producer_epoch)
            .bool(txn.verify_only);
        put_topic_partitions(&mut w, &txn.topics, true);
        w.no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPartitionsToTxnResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    /// The top-level error (v4 on; 0 before).
    pub error_code: i16,
    /// Per transactional id (v4 on).
    pub results_by_transaction: Vec<(String, TopicResults)>,
    /// The single transaction's results (up to v3).
    pub results_by_topic: TopicResults,
}

impl AddPartitionsToTxnResponse {
    /// The results of transactional id `id` (v4 on).
    pub fn transaction(&self, id: &str) -> Option<&TopicResults> {
        self.results_by_transaction
            .iter()
            .find(|(txn, _)| txn == id)
            .map(|(_, results)| results)
    }
}

fn get_topic_results(r: &mut Reader<'_>, flexible: bool) -> Result<TopicResults> {
    get_array(r, flexible, |r| {
        let name = get_string(r, flexible)?;
        let partitions = get_array(r, flexible, |r| {
            let result = (r.i32()?, r.i16()?);
            get_tags(r, flexible)?;
            Ok(result)
        })?;
        get_tags(r, flexible)?;
        Ok((name, partitions))
    })
}

pub fn decode_add_partitions_to_txn_response(
    bytes: &[u8],
    version: i16,
) -> Result<AddPartitionsToTxnResponse> {
    let flexible = version >= 3;
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r, flexible)?;
    let throttle_time_ms = r.i32()?;
    let mut response = AddPartitionsToTxnResponse {
        correlation_id,
        throttle_time_ms,
        error_code: 0,
        results_by_transaction: Vec::new(),
        results_by_topic: Vec::new(),
    };
    if version >= 4 {
        response.error_code = r.i16()?;
        response.results_by_transaction = r.compact_array(|r| {
            let id = r.compact_string()?;
            let results = get_topic_results(r, true)?;
            r.no_tags()?;
            Ok((id, results))
        })?;
    } else {
        response.results_by_topic = get_topic_results(&mut r, flexible)?;
    }
    get_tags(&mut r, flexible)?;
    r.finish()?;
    Ok(response)
}

// ------------------------------------------------ AddOffsetsToTxn and EndTxn

/// AddOffsetsToTxn of `version` (0-4; flexible from 3).
pub fn add_offsets_to_txn_request(
    version: i16,
    correlation_id: i32,
    transactional_id: &str,
    producer_id: i64,
    producer_epoch: i16,
    group_id: &str,
) -> Vec<u8> {
    let flexible = version >= 3;
    let mut w = request_header(ADD_OFFSETS_TO_TXN, version, correlation_id, flexible);
    put_string(&mut w, transactional_id, flexible);
    w.i64(producer_id).i16(producer_epoch);
    put_string(&mut w, group_id, flexible);
    tags(&mut w, flexible);
    w.into_bytes()
}

/// EndTxn of `version` (0-4; flexible from 3).
pub fn end_txn_request(
    version: i16,
    correlation_id: i32,
    transactional_id: &str,
    producer_id: i64,
    producer_epoch: i16,
    committed: bool,
) -> Vec<u8> {
    assert!(
        version <= 4,
        "EndTxn v5 answers with the producer id and epoch"
    );
    let flexible = version >= 3;
    let mut w = request_header(END_TXN, version, correlation_id, flexible);
    put_string(&mut w, transactional_id, flexible);
    w.i64(producer_id).i16(producer_epoch).bool(committed);
    tags(&mut w, flexible);
    w.into_bytes()
}

/// The response of AddOffsetsToTxn or EndTxn (up to v4): throttle time and
/// error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
}

/// Decodes an AddOffsetsToTxn or EndTxn response of `version`.
pub fn decode_error_response(bytes: &[u8], version: i16) -> Result<ErrorResponse> {
    let flexible = version >= 3;
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r, flexible)?;
    let response = ErrorResponse {
        correlation_id,
        throttle_time_ms: r.i32()?,
        error_code: r.i16()?,
    };
    get_tags(&mut r, flexible)?;
    r.finish()?;
    Ok(response)
}

// ------------------------------------------------------------ TxnOffsetCommit

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffsetCommitPartition {
    pub partition_index: i32,
    pub committed_offset: i64,
    pub committed_leader_epoch: i32,
    pub committed_metadata: Option<String>,
}

impl TxnOffsetCommitPartition {
    pub fn new(partition_index: i32, committed_offset: i64) -> Self {
        TxnOffsetCommitPartition {
            partition_index,
            committed_offset,
            committed_leader_epoch: -1,
            committed_metadata: Some(String::new()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffsetCommitRequest {
    pub transactional_id: String,
    pub group_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// -1 and "" for a producer outside the group (KIP-447: a consumer's
    /// generation and member id otherwise).
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub topics: Vec<(String, Vec<TxnOffsetCommitPartition>)>,
}

/// TxnOffsetCommit v3.
pub fn txn_offset_commit_request(correlation_id: i32, request: &TxnOffsetCommitRequest) -> Vec<u8> {
    let mut w = flexible_request_header(TXN_OFFSET_COMMIT, 3, correlation_id);
    w.compact_string(&request.transactional_id)
        .compact_string(&request.group_id)
        .i64(request.producer_id)
        .i16(request.producer_epoch)
        .i32(request.generation_id)
        .compact_string(&request.member_id)
        .compact_nullable_string(request.group_instance_id.as_deref())
        .compact_array_len(request.topics.len());
    for (name, partitions) in &request.topics {
        w.compact_string(name).compact_array_len(partitions.len());
        for p in partitions {
            w.i32(p.partition_index)
                .i64(p.committed_offset)
                .i32(p.committed_leader_epoch)
                .compact_nullable_string(p.committed_metadata.as_deref())
                .no_tags();
        }
        w.no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffsetCommitResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub topics: TopicResults,
}

pub fn decode_txn_offset_commit_response(bytes: &[u8]) -> Result<TxnOffsetCommitResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header_v1(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let topics = get_topic_results(&mut r, true)?;
    r.no_tags()?;
    r.finish()?;
    Ok(TxnOffsetCommitResponse {
        correlation_id,
        throttle_time_ms,
        topics,
    })
}

// ------------------------------------------------------- DescribeTransactions

/// DescribeTransactions v0.
pub fn describe_transactions_request(correlation_id: i32, transactional_ids: &[&str]) -> Vec<u8> {
    let mut w = flexible_request_header(DESCRIBE_TRANSACTIONS, 0, correlation_id);
    crate::wire::compact_strings(&mut w, transactional_ids);
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedTransaction {
    pub error_code: i16,
    pub transactional_id: String,
    pub transaction_state: String,
    pub transaction_timeout_ms: i32,
    pub transaction_start_time_ms: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub topics: TopicPartitions,
}

impl DescribedTransaction {
    /// The partitions of the transaction, as (topic, index), sorted.
    pub fn partitions(&self) -> BTreeSet<(String, i32)> {
        self.topics
            .iter()
            .flat_map(|(t, ps)| ps.iter().map(move |p| (t.clone(), *p)))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeTransactionsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub transaction_states: Vec<DescribedTransaction>,
}

pub fn decode_describe_transactions_response(bytes: &[u8]) -> Result<DescribeTransactionsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header_v1(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let transaction_states = r.compact_array(|r| {
        let described = DescribedTransaction {
            error_code: r.i16()?,
            transactional_id: r.compact_string()?,
            transaction_state: r.compact_string()?,
            transaction_timeout_ms: r.i32()?,
            transaction_start_time_ms: r.i64()?,
            producer_id: r.i64()?,
            producer_epoch: r.i16()?,
            topics: r.compact_array(|r| {
                let topic = (r.compact_string()?, r.compact_i32_array()?);
                r.no_tags()?;
                Ok(topic)
            })?,
        };
        r.no_tags()?;
        Ok(described)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(DescribeTransactionsResponse {
        correlation_id,
        throttle_time_ms,
        transaction_states,
    })
}

// ----------------------------------------------------------- ListTransactions

/// ListTransactions v0 or v1 (v1 adds the duration filter; -1 for none).
pub fn list_transactions_request(
    version: i16,
    correlation_id: i32,
    state_filters: &[&str],
    producer_id_filters: &[i64],
    duration_filter_ms: i64,
) -> Vec<u8> {
    let mut w = flexible_request_header(LIST_TRANSACTIONS, version, correlation_id);
    crate::wire::compact_strings(&mut w, state_filters);
    w.compact_array_len(producer_id_filters.len());
    for id in producer_id_filters {
        w.i64(*id);
    }
    if version >= 1 {
        w.i64(duration_filter_ms);
    }
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTransaction {
    pub transactional_id: String,
    pub producer_id: i64,
    pub transaction_state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListTransactionsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub unknown_state_filters: Vec<String>,
    pub transaction_states: Vec<ListedTransaction>,
}

impl ListTransactionsResponse {
    /// The transactional ids listed, sorted.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .transaction_states
            .iter()
            .map(|t| t.transactional_id.as_str())
            .collect();
        ids.sort_unstable();
        ids
    }
}

pub fn decode_list_transactions_response(bytes: &[u8]) -> Result<ListTransactionsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header_v1(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let unknown_state_filters = r.compact_array(|r| r.compact_string())?;
    let transaction_states = r.compact_array(|r| {
        let listed = ListedTransaction {
            transactional_id: r.compact_string()?,
            producer_id: r.i64()?,
            transaction_state: r.compact_string()?,
        };
        r.no_tags()?;
        Ok(listed)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(ListTransactionsResponse {
        correlation_id,
        throttle_time_ms,
        error_code,
        unknown_state_filters,
        transaction_states,
    })
}

// ---------------------------------------------------------- DescribeProducers

/// DescribeProducers v0.
pub fn describe_producers_request(correlation_id: i32, topics: &[(String, Vec<i32>)]) -> Vec<u8> {
    let mut w = flexible_request_header(DESCRIBE_PRODUCERS, 0, correlation_id);
    put_topic_partitions(&mut w, topics, true);
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerState {
    pub producer_id: i64,
    pub producer_epoch: i32,
    pub last_sequence: i32,
    pub last_timestamp: i64,
    pub coordinator_epoch: i32,
    pub current_txn_start_offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducersOfPartition {
    pub partition_index: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    pub active_producers: Vec<ProducerState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeProducersResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub topics: Vec<(String, Vec<ProducersOfPartition>)>,
}

impl DescribeProducersResponse {
    pub fn partition(&self, topic: &str, index: i32) -> Option<&ProducersOfPartition> {
        self.topics
            .iter()
            .filter(|(name, _)| name == topic)
            .flat_map(|(_, partitions)| partitions)
            .find(|p| p.partition_index == index)
    }
}

pub fn decode_describe_producers_response(bytes: &[u8]) -> Result<DescribeProducersResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header_v1(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let topics = r.compact_array(|r| {
        let name = r.compact_string()?;
        let partitions = r.compact_array(|r| {
            let partition = ProducersOfPartition {
                partition_index: r.i32()?,
                error_code: r.i16()?,
                error_message: r.compact_nullable_string()?,
                active_producers: r.compact_array(|r| {
                    let state = ProducerState {
                        producer_id: r.i64()?,
                        producer_epoch: r.i32()?,
                        last_sequence: r.i32()?,
                        last_timestamp: r.i64()?,
                        coordinator_epoch: r.i32()?,
                        current_txn_start_offset: r.i64()?,
                    };
                    r.no_tags()?;
                    Ok(state)
                })?,
            };
            r.no_tags()?;
            Ok(partition)
        })?;
        r.no_tags()?;
        Ok((name, partitions))
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(DescribeProducersResponse {
        correlation_id,
        throttle_time_ms,
        topics,
    })
}

// ------------------------------------------------------------ WriteTxnMarkers

/// A marker to write: producer id and epoch, COMMIT (true) or ABORT, the
/// partitions, the coordinator epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerToWrite {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    pub topics: Vec<(String, Vec<i32>)>,
    pub coordinator_epoch: i32,
}

/// WriteTxnMarkers v1 (flexible; v0 is gone since Kafka 4.0).
pub fn write_txn_markers_request(correlation_id: i32, markers: &[MarkerToWrite]) -> Vec<u8> {
    let mut w = flexible_request_header(WRITE_TXN_MARKERS, 1, correlation_id);
    w.compact_array_len(markers.len());
    for m in markers {
        w.i64(m.producer_id).i16(m.producer_epoch).bool(m.commit);
        w.compact_array_len(m.topics.len());
        for (name, partitions) in &m.topics {
            w.compact_string(name)
                .compact_i32_array(partitions)
                .no_tags();
        }
        w.i32(m.coordinator_epoch).no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

/// A marker result: the producer id and (topic, partition, error code)
/// of each partition.
pub type MarkerResult = (i64, Vec<(String, i32, i16)>);

/// One result per producer id.
pub fn decode_write_txn_markers_response(bytes: &[u8]) -> Result<Vec<MarkerResult>> {
    let mut r = Reader::new(bytes);
    let _correlation_id = response_header_v1(&mut r)?;
    let markers = r.compact_array(|r| {
        let producer_id = r.i64()?;
        let mut results = Vec::new();
        r.compact_array(|r| {
            let name = r.compact_string()?;
            r.compact_array(|r| {
                let entry = (name.clone(), r.i32()?, r.i16()?);
                r.no_tags()?;
                results.push(entry);
                Ok(())
            })?;
            r.no_tags()?;
            Ok(())
        })?;
        r.no_tags()?;
        Ok((producer_id, results))
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(markers)
}

// ------------------------------------------------------------ control batches

/// A transaction marker: the single record of a control batch. Its key is
/// the version (int16, 0) and the type (int16: 0 ABORT, 1 COMMIT); its
/// value the version (int16, 0) and the coordinator epoch (int32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub offset: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    pub coordinator_epoch: i32,
}

pub const CONTROL_TYPE_ABORT: i16 = 0;
pub const CONTROL_TYPE_COMMIT: i16 = 1;

/// The marker a control batch holds; `None` for a batch of data. Fails on a
/// control batch that is not exactly one well-formed marker.
pub fn marker(batch: &DecodedBatch) -> Result<Option<Marker>> {
    let b = &batch.batch;
    if b.attributes & crate::batch::CONTROL_FLAG == 0 {
        return Ok(None);
    }
    ensure!(
        b.attributes & crate::batch::TRANSACTIONAL_FLAG != 0,
        "control batch at offset {} is not transactional (attributes {:#x})",
        b.base_offset,
        b.attributes
    );
    let [record] = b.records.as_slice() else {
        bail!(
            "control batch at offset {} has {} records",
            b.base_offset,
            b.records.len()
        );
    };
    let key = record
        .key
        .as_deref()
        .context("control record without a key")?;
    let mut k = Reader::new(key);
    let key_version = k.i16()?;
    let kind = k.i16()?;
    k.finish().context("control record key")?;
    ensure!(key_version == 0, "control record key version {key_version}");
    let commit = match kind {
        CONTROL_TYPE_ABORT => false,
        CONTROL_TYPE_COMMIT => true,
        other => bail!("control record type {other} is not a transaction marker"),
    };
    let value = record
        .value
        .as_deref()
        .context("transaction marker without a value")?;
    let mut v = Reader::new(value);
    let value_version = v.i16()?;
    ensure!(value_version == 0, "marker value version {value_version}");
    let coordinator_epoch = v.i32()?;
    v.finish().context("marker value")?;
    Ok(Some(Marker {
        offset: b.base_offset + i64::from(record.offset_delta),
        producer_id: b.producer_id,
        producer_epoch: b.producer_epoch,
        commit,
        coordinator_epoch,
    }))
}

/// The markers among `batches`, in order.
pub fn markers(batches: &[DecodedBatch]) -> Result<Vec<Marker>> {
    let mut out = Vec::new();
    for b in batches {
        if let Some(m) = marker(b)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// The data records of `batches` (control batches left out), each with its
/// offset.
pub fn data_records(batches: &[DecodedBatch]) -> Vec<(i64, Record)> {
    batches
        .iter()
        .filter(|b| b.batch.attributes & crate::batch::CONTROL_FLAG == 0)
        .flat_map(|b| {
            b.batch
                .records
                .iter()
                .map(move |r| (b.batch.base_offset + i64::from(r.offset_delta), r.clone()))
        })
        .collect()
}

/// What a READ_COMMITTED consumer hands its application of `batches` (in
/// log order) given the fetch's aborted transactions (producer id, first
/// offset), as Kafka's consumer does: a transactional batch of a producer
/// whose aborted transaction started at or before the batch's last offset
/// is skipped until that producer's ABORT marker; control batches are
/// never handed out.
pub fn read_committed(
    batches: &[DecodedBatch],
    aborted_transactions: &[(i64, i64)],
) -> Result<Vec<(i64, Record)>> {
    let mut pending: Vec<(i64, i64)> = aborted_transactions.to_vec();
    pending.sort_by_key(|&(producer, first)| (first, producer));
    pending.dedup();
    let mut pending = pending.into_iter().peekable();
    let mut aborted_producers = HashSet::new();
    let mut out = Vec::new();
    for b in batches {
        let batch = &b.batch;
        if batch.producer_id >= 0 {
            while let Some((producer, _)) = pending.next_if(|&(_, first)| first <= b.last_offset())
            {
                aborted_producers.insert(producer);
            }
            match marker(b)? {
                Some(m) => {
                    if !m.commit {
                        aborted_producers.remove(&m.producer_id);
                    }
                    continue;
                }
                None if batch.attributes & crate::batch::TRANSACTIONAL_FLAG != 0
                    && aborted_producers.contains(&batch.producer_id) =>
                {
                    continue;
                }
                None => {}
            }
        }
        if batch.attributes & crate::batch::CONTROL_FLAG != 0 {
            continue;
        }
        out.extend(data_records(std::slice::from_ref(b)));
    }
    Ok(out)
}

// ------------------------------------------------------------ fetching a log

/// A partition read from some offset up to where its isolation level lets
/// a consumer read (the last stable offset for READ_COMMITTED, the high
/// watermark otherwise), one Fetch after another.
#[derive(Debug, Clone, Default)]
pub struct FetchedLog {
    pub batches: Vec<DecodedBatch>,
    /// Every aborted transaction the fetches named, in the order first
    /// named, each once.
    pub aborted_transactions: Vec<(i64, i64)>,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    /// Whether any READ_COMMITTED response had a null aborted list.
    pub null_aborted_lists: usize,
}

impl FetchedLog {
    pub fn markers(&self) -> Result<Vec<Marker>> {
        markers(&self.batches)
    }

    pub fn data_records(&self) -> Vec<(i64, Record)> {
        data_records(&self.batches)
    }

    /// The records a READ_COMMITTED consumer hands out.
    pub fn committed_records(&self) -> Result<Vec<(i64, Record)>> {
        read_committed(&self.batches, &self.aborted_transactions)
    }
}

/// One Fetch v16 of one partition with `isolation_level`.
pub fn fetch_partition(
    client: &mut Client,
    topic_id: Uuid,
    partition: i32,
    offset: i64,
    isolation_level: i8,
) -> Result<FetchedPartition> {
    let mut request = FetchRequest::new(vec![(
        topic_id,
        vec![FetchPartitionRequest::new(partition, offset)],
    )]);
    request.isolation_level = isolation_level;
    let response = client.fetch(&request)?;
    ensure!(
        response.error_code == 0,
        "fetch error {}",
        response.error_code
    );
    let fetched = response.only_partition()?.clone();
    ensure!(
        fetched.partition_index == partition,
        "asked for partition {partition}, answered for {}",
        fetched.partition_index
    );
    ensure!(
        fetched.error_code == 0,
        "fetch of partition {partition} from {offset}: error {}",
        fetched.error_code
    );
    Ok(fetched)
}

/// Reads a partition from `offset` as a consumer of `isolation_level` can.
pub fn fetch_log(
    client: &mut Client,
    topic_id: Uuid,
    partition: i32,
    mut offset: i64,
    isolation_level: i8,
) -> Result<FetchedLog> {
    let mut log = FetchedLog::default();
    loop {
        let fetched = fetch_partition(client, topic_id, partition, offset, isolation_level)?;
        log.high_watermark = fetched.high_watermark;
        log.last_stable_offset = fetched.last_stable_offset;
        if isolation_level == READ_COMMITTED {
            match &fetched.aborted_transactions {
                None => log.null_aborted_lists += 1,
                Some(list) => {
                    for entry in list {
                        if !log.aborted_transactions.contains(entry) {
                            log.aborted_transactions.push(*entry);
                        }
                    }
                }
            }
        } else {
            ensure!(
                fetched.aborted_transactions.is_none(),
                "a READ_UNCOMMITTED fetch got aborted transactions {:?}",
                fetched.aborted_transactions
            );
        }
        let end = if isolation_level == READ_COMMITTED {
            fetched.last_stable_offset
        } else {
            fetched.high_watermark
        };
        if offset >= end {
            return Ok(log);
        }
        let mut records = fetched.records.as_deref().unwrap_or_default();
        let before = log.batches.len();
        while records.len() >= 12 {
            let length = i32::from_be_bytes(records[8..12].try_into()?);
            ensure!(length >= 0, "batch length {length}");
            let Some(whole) = records.get(..12 + length as usize) else {
                break;
            };
            let batch = crate::batch::decode_batches(whole)
                .with_context(|| format!("fetched from {offset}"))?
                .remove(0);
            ensure!(
                batch.last_offset() < end,
                "{} fetch from {offset} returned a batch ending at {}, at or past {end}",
                if isolation_level == READ_COMMITTED {
                    "a READ_COMMITTED"
                } else {
                    "a"
                },
                batch.last_offset()
            );
            offset = batch.last_offset() + 1;
            log.batches.push(batch);
            records = &records[whole.len()..];
        }
        ensure!(
            log.batches.len() > before,
            "no whole batch fetched at offset {offset}, below {end}"
        );
    }
}

// ---------------------------------------------------------- .txnindex files

/// The size of an entry of a `.txnindex` file.
pub const TXN_INDEX_ENTRY_SIZE: usize = 34;

/// An entry of a segment's `.txnindex`: an aborted transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxnEntry {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The offset of the ABORT marker.
    pub last_offset: i64,
    /// The partition's last stable offset once the transaction ended.
    pub last_stable_offset: i64,
}

/// Decodes a `.txnindex` file (Kafka's `TransactionIndex`): 34-byte
/// big-endian entries of version (int16, 0), producer id, first offset,
/// last offset and last stable offset (int64 each). Fails on a torn entry
/// or another version.
pub fn decode_txn_index(bytes: &[u8]) -> Result<Vec<AbortedTxnEntry>> {
    ensure!(
        bytes.len() % TXN_INDEX_ENTRY_SIZE == 0,
        "{} bytes are not whole {TXN_INDEX_ENTRY_SIZE}-byte entries",
        bytes.len()
    );
    bytes
        .chunks_exact(TXN_INDEX_ENTRY_SIZE)
        .enumerate()
        .map(|(i, chunk)| {
            let mut r = Reader::new(chunk);
            let version = r.i16()?;
            ensure!(version == 0, "entry {i} has version {version}");
            Ok(AbortedTxnEntry {
                producer_id: r.i64()?,
                first_offset: r.i64()?,
                last_offset: r.i64()?,
                last_stable_offset: r.i64()?,
            })
        })
        .collect()
}

pub fn read_txn_index(path: &Path) -> Result<Vec<AbortedTxnEntry>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode_txn_index(&bytes).with_context(|| format!("decoding {}", path.display()))
}

/// The `.txnindex` files of a partition directory, by the base offset in
/// their names, each with its entries.
pub fn read_txn_indexes(partition_dir: &Path) -> Result<Vec<(i64, Vec<AbortedTxnEntry>)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(partition_dir)
        .with_context(|| format!("listing {}", partition_dir.display()))?
    {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(base) = crate::log_files::parse_offset_file_name(&name, "txnindex") {
            found.push((base, read_txn_index(&path)?));
        }
    }
    found.sort_by_key(|(base, _)| *base);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{self, RecordBatch};
    use crate::wire::{Decoder, assert_strict_decoders};

    fn header_v1(w: &mut Writer) {
        w.i32(7).no_tags();
    }

    #[test]
    fn decoders_are_strict() {
        let mut init = Writer::new();
        header_v1(&mut init);
        init.i32(0).i16(0).i64(1000).i16(3).no_tags();
        let mut init_v1 = Writer::new();
        init_v1.i32(7).i32(0).i16(0).i64(1000).i16(3);

        let mut add_v3 = Writer::new();
        header_v1(&mut add_v3);
        add_v3.i32(0).compact_array_len(1).compact_string("t");
        add_v3.compact_array_len(2).i32(0).i16(0).no_tags();
        add_v3.i32(1).i16(55).no_tags().no_tags().no_tags();
        let mut add_v1 = Writer::new();
        add_v1.i32(7).i32(0).i32(1).nullable_string(Some("t"));
        add_v1.i32(1).i32(0).i16(47);
        let mut add_v4 = Writer::new();
        header_v1(&mut add_v4);
        add_v4
            .i32(0)
            .i16(0)
            .compact_array_len(1)
            .compact_string("x");
        add_v4
            .compact_array_len(1)
            .compact_string("t")
            .compact_array_len(1);
        add_v4.i32(0).i16(0).no_tags().no_tags().no_tags().no_tags();

        let mut end = Writer::new();
        header_v1(&mut end);
        end.i32(0).i16(48).no_tags();

        let mut commit = Writer::new();
        header_v1(&mut commit);
        commit.i32(0).compact_array_len(1).compact_string("t");
        commit
            .compact_array_len(1)
            .i32(0)
            .i16(0)
            .no_tags()
            .no_tags()
            .no_tags();

        let mut describe = Writer::new();
        header_v1(&mut describe);
        describe
            .i32(0)
            .compact_array_len(1)
            .i16(0)
            .compact_string("x");
        describe
            .compact_string("Ongoing")
            .i32(60_000)
            .i64(1)
            .i64(1000)
            .i16(0);
        describe
            .compact_array_len(1)
            .compact_string("t")
            .compact_i32_array(&[0, 1]);
        describe.no_tags().no_tags().no_tags();

        let mut list = Writer::new();
        header_v1(&mut list);
        list.i32(0)
            .i16(0)
            .compact_array_len(1)
            .compact_string("Bogus");
        list.compact_array_len(1).compact_string("x").i64(1000);
        list.compact_string("Ongoing").no_tags().no_tags();

        let mut producers = Writer::new();
        header_v1(&mut producers);
        producers.i32(0).compact_array_len(1).compact_string("t");
        producers
            .compact_array_len(1)
            .i32(0)
            .i16(0)
            .compact_nullable_string(None);
        producers
            .compact_array_len(1)
            .i64(1000)
            .i32(0)
            .i32(4)
            .i64(5)
            .i32(0)
            .i64(3);
        producers.no_tags().no_tags().no_tags().no_tags();

        let samples: Vec<(&str, Vec<u8>, Decoder)> = vec![
            ("InitProducerId v4", init.into_bytes(), |b| {
                decode_init_producer_id_response(b, 4).map(drop)
            }),
            ("InitProducerId v1", init_v1.into_bytes(), |b| {
                decode_init_producer_id_response(b, 1).map(drop)
            }),
            ("AddPartitionsToTxn v3", add_v3.into_bytes(), |b| {
                decode_add_partitions_to_txn_response(b, 3).map(drop)
            }),
            ("AddPartitionsToTxn v1", add_v1.into_bytes(), |b| {
                decode_add_partitions_to_txn_response(b, 1).map(drop)
            }),
            ("AddPartitionsToTxn v4", add_v4.into_bytes(), |b| {
                decode_add_partitions_to_txn_response(b, 4).map(drop)
            }),
            ("EndTxn v3", end.into_bytes(), |b| {
                decode_error_response(b, 3).map(drop)
            }),
            ("TxnOffsetCommit v3", commit.into_bytes(), |b| {
                decode_txn_offset_commit_response(b).map(drop)
            }),
            ("DescribeTransactions v0", describe.into_bytes(), |b| {
                decode_describe_transactions_response(b).map(drop)
            }),
            ("ListTransactions v1", list.into_bytes(), |b| {
                decode_list_transactions_response(b).map(drop)
            }),
            ("DescribeProducers v0", producers.into_bytes(), |b| {
                decode_describe_producers_response(b).map(drop)
            }),
        ];
        assert_strict_decoders(samples);
    }

    #[test]
    fn add_partitions_results_decode_by_version() {
        let mut v1 = Writer::new();
        v1.i32(7).i32(0).i32(1).nullable_string(Some("t"));
        v1.i32(2).i32(0).i16(3).i32(1).i16(55);
        let decoded = decode_add_partitions_to_txn_response(&v1.into_bytes(), 1).unwrap();
        assert_eq!(partition_error(&decoded.results_by_topic, "t", 0), Some(3));
        assert_eq!(partition_error(&decoded.results_by_topic, "t", 1), Some(55));
        assert_eq!(partition_error(&decoded.results_by_topic, "t", 2), None);
    }

    #[test]
    fn requests_follow_the_schemas() {
        // InitProducerId v4: header v2, then a compact nullable string.
        let init = init_producer_id_request(4, 3, None, 100, -1, -1);
        let header = flexible_request_header(INIT_PRODUCER_ID, 4, 3).into_bytes();
        assert_eq!(&init[..header.len()], &header[..]);
        assert_eq!(
            &init[header.len()..],
            &[
                0, 0, 0, 0, 100, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0
            ][..]
        );
        // InitProducerId v1: no producer id, epoch or tags.
        let init = init_producer_id_request(1, 3, Some("x"), 100, -1, -1);
        assert_eq!(&init[init.len() - 7..], &[0, 1, b'x', 0, 0, 0, 100][..]);
        // EndTxn v3: id, producer id, epoch, committed, tags.
        let end = end_txn_request(3, 1, "x", 5, 2, true);
        assert_eq!(
            &end[end.len() - 14..],
            &[2, b'x', 0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 1, 0][..]
        );
    }

    fn marker_batch(producer_id: i64, commit: bool, offset: i64) -> DecodedBatch {
        let mut key = Writer::new();
        key.i16(0).i16(i16::from(commit));
        let mut value = Writer::new();
        value.i16(0).i32(0);
        let mut record = Record::value(value.into_bytes());
        record.key = Some(key.into_bytes());
        let mut b = RecordBatch::idempotent(producer_id, 0, -1, &[]);
        b.records = vec![record];
        b.attributes = batch::TRANSACTIONAL_FLAG | batch::CONTROL_FLAG;
        batch::decode_batches(&b.with_base_offset(offset).encode())
            .unwrap()
            .remove(0)
    }

    fn data_batch(producer_id: i64, transactional: bool, offset: i64, value: &str) -> DecodedBatch {
        let b = if transactional {
            RecordBatch::transactional(producer_id, 0, 0, &[value])
        } else {
            RecordBatch::plain(&[value])
        };
        batch::decode_batches(&b.with_base_offset(offset).encode())
            .unwrap()
            .remove(0)
    }

    #[test]
    fn a_read_committed_consumer_skips_aborted_transactions() {
        let batches = vec![
            data_batch(1, true, 0, "a1"),
            data_batch(2, true, 1, "b1"),
            data_batch(-1, false, 2, "plain"),
            marker_batch(1, false, 3),
            data_batch(1, true, 4, "a2"),
            marker_batch(2, true, 5),
            marker_batch(1, true, 6),
        ];
        let m = markers(&batches).unwrap();
        assert_eq!(
            m.iter().map(|m| (m.offset, m.commit)).collect::<Vec<_>>(),
            [(3, false), (5, true), (6, true)]
        );
        let values = |records: Vec<(i64, Record)>| -> Vec<String> {
            records
                .into_iter()
                .map(|(o, r)| format!("{o}:{}", String::from_utf8(r.value.unwrap()).unwrap()))
                .collect()
        };
        assert_eq!(
            values(read_committed(&batches, &[(1, 0)]).unwrap()),
            ["1:b1", "2:plain", "4:a2"]
        );
        assert_eq!(
            values(data_records(&batches)),
            ["0:a1", "1:b1", "2:plain", "4:a2"]
        );
    }

    #[test]
    fn txn_index_entries_decode() {
        let mut w = Writer::new();
        w.i16(0).i64(1000).i64(3).i64(7).i64(8);
        let bytes = w.into_bytes();
        assert_eq!(
            decode_txn_index(&bytes).unwrap(),
            [AbortedTxnEntry {
                producer_id: 1000,
                first_offset: 3,
                last_offset: 7,
                last_stable_offset: 8
            }]
        );
        assert!(decode_txn_index(&bytes[..33]).is_err());
        let mut other = bytes.clone();
        other[1] = 1;
        assert!(decode_txn_index(&other).is_err());
    }
}
