//! Fetch (key 1): record batches from partition logs, byte for byte as
//! stored.
//!
//! A fetch that finds fewer than `min_bytes` waits, up to `max_wait_ms`,
//! for appends to the partitions it asks for (Kafka's delayed fetch). Fetch
//! sessions (KIP-227) let a client send only what changed: a full fetch
//! with epoch 0 opens one, later fetches carry its id and next epoch.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::fetch_session::{CachedPartition, FetchSession, PartitionKey};
use crate::metadata::MetadataImage;
use crate::metrics::BrokerMetrics;
use crate::storage::ReadError;
use crate::storage::record_batch::{BatchHeader, Batches};
use crate::storage_io;
use bytes::Bytes;
use futures::future::select_all;
use indexmap::IndexMap;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId, TopicName};
use kafka_protocol::protocol::StrBytes;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::warn;
use uuid::Uuid;

/// The epoch of a fetch that opens a session.
const INITIAL_EPOCH: i32 = 0;
/// The epoch of a fetch that closes its session, or wants none.
const FINAL_EPOCH: i32 = -1;
/// `isolation_level` of a READ_COMMITTED consumer.
const READ_COMMITTED: i8 = 1;
/// Topics are named by id from Fetch v13 on.
const TOPIC_IDS_VERSION: i16 = 13;
/// Sessions exist from Fetch v7 on.
const SESSIONS_VERSION: i16 = 7;

/// How this fetch relates to a session.
enum Context {
    /// No session: answer every partition asked for.
    Sessionless,
    /// A full fetch that opens a session (if the cache takes it).
    NewSession,
    /// An incremental fetch of an existing session.
    Incremental(Arc<Mutex<FetchSession>>),
}

pub async fn handle(broker: &Broker, ctx: &RequestContext, request: FetchRequest) -> FetchResponse {
    let uses_topic_ids = ctx.api_version >= TOPIC_IDS_VERSION;
    let image = broker.metadata.image();
    let requested = requested_partitions(&image, &request, uses_topic_ids);

    let context = match open_context(broker, ctx, &request) {
        Ok(context) => context,
        Err(error) => {
            let mut response = FetchResponse::default();
            response.error_code = error.code();
            return response;
        }
    };
    // The partitions to read, in response order.
    let targets: Vec<(PartitionKey, CachedPartition)> = match &context {
        Context::Incremental(session) => {
            let mut session = session.lock();
            for (key, partition) in requested {
                match session.partitions.get_mut(&key) {
                    Some(cached) => {
                        cached.fetch_offset = partition.fetch_offset;
                        cached.max_bytes = partition.max_bytes;
                        cached.current_leader_epoch = partition.current_leader_epoch;
                    }
                    None => {
                        session.partitions.insert(key, partition);
                    }
                }
            }
            for forgotten in forgotten_partitions(&image, &request, uses_topic_ids) {
                session.partitions.shift_remove(&forgotten);
            }
            session.epoch = session.epoch.wrapping_add(1).max(1);
            session
                .partitions
                .iter()
                .map(|(k, p)| (k.clone(), p.clone()))
                .collect()
        }
        _ => requested,
    };

    // Consumers need READ on each topic they fetch.
    let denied: HashSet<String> = {
        let auth = AuthHelper::new(broker, ctx);
        if auth.enabled() {
            let names: Vec<&str> = targets
                .iter()
                .map(|(key, _)| key.topic.as_str())
                .filter(|name| !name.is_empty())
                .collect();
            let allowed = auth.filter(AclOperation::Read, ResourceType::Topic, names.clone());
            names
                .into_iter()
                .filter(|name| !allowed.contains(name))
                .map(str::to_string)
                .collect()
        } else {
            HashSet::new()
        }
    };
    let reads = read_with_wait(broker, &request, &targets, &denied).await;

    let mut response = FetchResponse::default();
    let answered: Vec<(PartitionKey, PartitionData)> = match context {
        Context::Sessionless => reads,
        Context::NewSession => {
            let mut partitions = IndexMap::new();
            for ((key, cached), (_, data)) in targets.into_iter().zip(&reads) {
                let mut cached = cached;
                cached.must_respond(
                    false,
                    false,
                    data.high_watermark,
                    data.last_stable_offset,
                    data.log_start_offset,
                );
                partitions.insert(key, cached);
            }
            if ctx.api_version >= SESSIONS_VERSION {
                response.session_id = broker
                    .fetch_sessions
                    .create(partitions, uses_topic_ids)
                    .unwrap_or(0);
            }
            reads
        }
        Context::Incremental(session) => {
            let mut session = session.lock();
            response.session_id = session.id;
            let mut answered = Vec::new();
            for (key, data) in reads {
                let Some(cached) = session.partitions.get_mut(&key) else {
                    continue;
                };
                let has_records = data.records.as_ref().is_some_and(|r| !r.is_empty());
                if cached.must_respond(
                    has_records,
                    data.error_code != 0,
                    data.high_watermark,
                    data.last_stable_offset,
                    data.log_start_offset,
                ) {
                    if has_records {
                        // Partitions that returned data go last next time,
                        // so every partition gets its turn within max_bytes.
                        if let Some(entry) = session.partitions.shift_remove(&key) {
                            session.partitions.insert(key.clone(), entry);
                        }
                    }
                    answered.push((key, data));
                }
            }
            answered
        }
    };
    if let Some(metrics) = &broker.metrics {
        count_out(metrics, &answered);
    }
    response.responses = group_by_topic(answered);
    response
}

/// Adds the batches returned to their topics' bytes and records out.
fn count_out(metrics: &BrokerMetrics, answered: &[(PartitionKey, PartitionData)]) {
    let mut answered = answered.iter().peekable();
    while let Some((key, data)) = answered.next() {
        let mut bytes = 0;
        let mut records = 0;
        let mut add = |data: &PartitionData| {
            if let Some(batches) = &data.records {
                bytes += batches.len();
                records += record_count(batches);
            }
        };
        add(data);
        // Partitions of one topic come one after another.
        while let Some((_, data)) = answered.next_if(|(next, _)| next.topic == key.topic) {
            add(data);
        }
        if bytes > 0 && !key.topic.is_empty() {
            metrics.topic(&key.topic).record_out(bytes, records);
        }
    }
}

/// The records of whole batches laid back to back, from their headers.
fn record_count(batches: &[u8]) -> u64 {
    let mut count = 0;
    let mut rest = batches;
    while let Ok(header) = BatchHeader::parse(rest) {
        // A batch cut short by the size limit is not counted.
        let Some(next) = rest.get(header.size_in_bytes()..) else {
            break;
        };
        count += u64::try_from(header.records_count).unwrap_or(0);
        rest = next;
    }
    count
}

/// Validates the session fields of the request and finds the session.
fn open_context(
    broker: &Broker,
    ctx: &RequestContext,
    request: &FetchRequest,
) -> Result<Context, ResponseError> {
    if ctx.api_version < SESSIONS_VERSION {
        return Ok(Context::Sessionless);
    }
    match (request.session_id, request.session_epoch) {
        (0, FINAL_EPOCH) => Ok(Context::Sessionless),
        (id, FINAL_EPOCH) => {
            broker.fetch_sessions.remove(id);
            Ok(Context::Sessionless)
        }
        (id, INITIAL_EPOCH) => {
            if id != 0 {
                broker.fetch_sessions.remove(id);
            }
            Ok(Context::NewSession)
        }
        (0, _) => Err(ResponseError::InvalidFetchSessionEpoch),
        (id, epoch) => {
            let session = broker
                .fetch_sessions
                .get(id)
                .ok_or(ResponseError::FetchSessionIdNotFound)?;
            if session.lock().epoch != epoch {
                return Err(ResponseError::InvalidFetchSessionEpoch);
            }
            Ok(Context::Incremental(session))
        }
    }
}

fn key_for(
    image: &MetadataImage,
    uses_topic_ids: bool,
    name: &TopicName,
    topic_id: Uuid,
    partition: i32,
) -> PartitionKey {
    if uses_topic_ids {
        PartitionKey {
            topic_id,
            topic: image
                .topic_by_id(&topic_id)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            partition,
        }
    } else {
        PartitionKey {
            topic_id: image.topic(name).map_or(Uuid::nil(), |t| t.id),
            topic: name.to_string(),
            partition,
        }
    }
}

fn requested_partitions(
    image: &MetadataImage,
    request: &FetchRequest,
    uses_topic_ids: bool,
) -> Vec<(PartitionKey, CachedPartition)> {
    request
        .topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().map(move |p| {
                (
                    key_for(
                        image,
                        uses_topic_ids,
                        &topic.topic,
                        topic.topic_id,
                        p.partition,
                    ),
                    CachedPartition::new(
                        p.fetch_offset,
                        p.partition_max_bytes,
                        p.current_leader_epoch,
                    ),
                )
            })
        })
        .collect()
}

fn forgotten_partitions(
    image: &MetadataImage,
    request: &FetchRequest,
    uses_topic_ids: bool,
) -> Vec<PartitionKey> {
    request
        .forgotten_topics_data
        .iter()
        .flat_map(|topic| {
            topic
                .partitions
                .iter()
                .map(move |&p| key_for(image, uses_topic_ids, &topic.topic, topic.topic_id, p))
        })
        .collect()
}

/// Reads every target; while fewer than `min_bytes` came back and nothing
/// failed, waits for appends (or the deadline) and reads again.
async fn read_with_wait(
    broker: &Broker,
    request: &FetchRequest,
    targets: &[(PartitionKey, CachedPartition)],
    denied: &HashSet<String>,
) -> Vec<(PartitionKey, PartitionData)> {
    let deadline = Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
    let notifiers: Vec<Arc<Notify>> = targets
        .iter()
        .map(|(key, _)| broker.replicas.append_notifier(&key.topic, key.partition))
        .collect();
    loop {
        let mut notified: Vec<_> = notifiers.iter().map(|n| Box::pin(n.notified())).collect();
        for waiter in &mut notified {
            waiter.as_mut().enable();
        }
        let image = broker.metadata.image();
        let reads = storage_io::blocking(|| read_all(broker, &image, request, targets, denied));
        let bytes: usize = reads
            .iter()
            .map(|(_, d)| d.records.as_ref().map_or(0, Bytes::len))
            .sum();
        let failed = reads.iter().any(|(_, d)| d.error_code != 0);
        if targets.is_empty()
            || failed
            || bytes >= request.min_bytes.max(0) as usize
            || Instant::now() >= deadline
        {
            return reads;
        }
        tokio::select! {
            _ = select_all(notified) => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}

fn read_all(
    broker: &Broker,
    image: &MetadataImage,
    request: &FetchRequest,
    targets: &[(PartitionKey, CachedPartition)],
    denied: &HashSet<String>,
) -> Vec<(PartitionKey, PartitionData)> {
    let mut remaining = request.max_bytes.max(0) as usize;
    // Until some partition returns data, its first batch is returned even
    // when it is larger than the limits (KIP-74).
    let mut min_one_batch = true;
    let read_committed = request.isolation_level == READ_COMMITTED;
    targets
        .iter()
        .map(|(key, partition)| {
            if denied.contains(&key.topic) {
                let data = error_partition(key.partition, ResponseError::TopicAuthorizationFailed);
                return (key.clone(), data);
            }
            let data = read_partition(
                broker,
                image,
                key,
                partition,
                &mut remaining,
                &mut min_one_batch,
                read_committed,
            );
            (key.clone(), data)
        })
        .collect()
}

fn read_partition(
    broker: &Broker,
    image: &MetadataImage,
    key: &PartitionKey,
    request: &CachedPartition,
    remaining: &mut usize,
    min_one_batch: &mut bool,
    read_committed: bool,
) -> PartitionData {
    let index = key.partition;
    let topic = if key.topic_id.is_nil() {
        image.topic(&key.topic)
    } else {
        image.topic_by_id(&key.topic_id)
    };
    let Some(topic) = topic else {
        let unknown = if key.topic.is_empty() {
            ResponseError::UnknownTopicId
        } else {
            ResponseError::UnknownTopicOrPartition
        };
        return error_partition(index, unknown);
    };
    let Some(registration) = topic.partitions.get(&index) else {
        return error_partition(index, ResponseError::UnknownTopicOrPartition);
    };
    if request.current_leader_epoch >= 0 {
        if request.current_leader_epoch < registration.leader_epoch {
            return error_partition(index, ResponseError::FencedLeaderEpoch);
        }
        if request.current_leader_epoch > registration.leader_epoch {
            return error_partition(index, ResponseError::UnknownLeaderEpoch);
        }
    }
    let log = match broker.replicas.log(image, topic, index) {
        Ok(log) => log,
        Err(e) => {
            warn!(topic = %topic.name, partition = index, "cannot open log: {e}");
            return error_partition(index, ResponseError::KafkaStorageError);
        }
    };
    let max_bytes = (request.max_bytes.max(0) as usize).min(*remaining);
    match log.read_isolated(
        request.fetch_offset,
        max_bytes,
        *min_one_batch,
        read_committed,
    ) {
        Ok(info) => {
            let size = info.records.len();
            *remaining = remaining.saturating_sub(size);
            if size > 0 {
                *min_one_batch = false;
            }
            // The aborted transactions that overlap the batches returned,
            // for the consumer to skip (Kafka's `addAbortedTransactions`).
            let aborted = read_committed.then(|| {
                if !log.has_aborted_txns() {
                    return Vec::new();
                }
                let upper_bound = Batches::new(&info.records)
                    .map_while(Result::ok)
                    .last()
                    .map(|b| b.header.next_offset());
                upper_bound.map_or_else(Vec::new, |upper_bound| {
                    log.collect_aborted_txns(request.fetch_offset, upper_bound)
                        .into_iter()
                        .map(|txn| {
                            AbortedTransaction::default()
                                .with_producer_id(ProducerId(txn.producer_id))
                                .with_first_offset(txn.first_offset)
                        })
                        .collect()
                })
            });
            PartitionData::default()
                .with_partition_index(index)
                .with_high_watermark(info.high_watermark)
                .with_last_stable_offset(info.last_stable_offset)
                .with_log_start_offset(info.log_start_offset)
                .with_aborted_transactions(aborted)
                .with_records(Some(info.records))
        }
        Err(ReadError::OffsetOutOfRange { .. }) => {
            read_error(index, ResponseError::OffsetOutOfRange)
        }
        Err(ReadError::Io(e)) => {
            warn!(partition = %log.topic_partition(), "cannot read log: {e}");
            // A read error is the directory's failure, as a write error is.
            broker.replicas.logs().handle_log_error(&log, &e);
            read_error(index, ResponseError::KafkaStorageError)
        }
    }
}

/// Consecutive partitions of the same topic share one topic entry.
fn group_by_topic(partitions: Vec<(PartitionKey, PartitionData)>) -> Vec<FetchableTopicResponse> {
    let mut topics: Vec<FetchableTopicResponse> = Vec::new();
    let mut last: Option<(Uuid, String)> = None;
    for (key, data) in partitions {
        let this = (key.topic_id, key.topic.clone());
        match topics.last_mut() {
            Some(topic) if last.as_ref() == Some(&this) => topic.partitions.push(data),
            _ => {
                topics.push(
                    FetchableTopicResponse::default()
                        .with_topic(TopicName(StrBytes::from_string(key.topic)))
                        .with_topic_id(key.topic_id)
                        .with_partitions(vec![data]),
                );
                last = Some(this);
            }
        }
    }
    topics
}

/// A partition that could not be looked up (Kafka's `partitionResponse`).
fn error_partition(index: i32, error: ResponseError) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(error.code())
        .with_high_watermark(-1)
        .with_records(None)
}

/// A partition whose read failed (Kafka's `createLogReadResult`).
fn read_error(index: i32, error: ResponseError) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(error.code())
        .with_high_watermark(-1)
        .with_aborted_transactions(None)
        .with_records(Some(Bytes::new()))
}
