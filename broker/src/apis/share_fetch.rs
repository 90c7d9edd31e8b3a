//! ShareFetch (key 78, v1-2): a share group member acknowledges what it
//! holds and acquires more records (KIP-932, Kafka's
//! `handleShareFetchRequest` and `SharePartitionManager.fetchMessages`).
//!
//! The request is checked as KafkaApis checks it; its share session (epoch
//! 0 opens one, -1 closes it) gives the partitions to fetch. The
//! acknowledgements it carries are applied first. Each partition is read
//! from its share partition's next fetch offset, and the records read are
//! acquired for the member under a lock; the response carries the batches
//! as stored and the offsets acquired with their delivery counts. When
//! nothing can be acquired the fetch waits for appends, up to `MaxWaitMs`.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use super::share_acknowledge::{AckBatches, AckResult, acknowledge_partitions};
use super::share_common::{ShareSettings, is_member_id_valid, reset_offset, share_settings};
use super::share_versions::ShareFetchV2;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::now_ms;
use crate::coordinator::share_partition_manager::{
    FINAL_EPOCH, INITIAL_EPOCH, LogBatch, SessionError,
};
use crate::coordinator::share_records::ShareStateKey;
use crate::metadata::MetadataImage;
use crate::storage::ReadError;
use crate::storage::record_batch::Batches;
use crate::storage_io;
use bytes::Bytes;
use futures::future::select_all;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_fetch_response::{
    AcquiredRecords, LeaderIdAndEpoch, PartitionData, ShareFetchableTopicResponse,
};
use kafka_protocol::messages::{ShareFetchRequest, ShareFetchResponse};
use kafka_protocol::protocol::StrBytes;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::warn;
use uuid::Uuid;

/// ShareAcquireMode `record_limit`: never more than MaxRecords.
const RECORD_LIMIT: i8 = 1;

fn top_level(error: ResponseError, message: Option<String>) -> ShareFetchResponse {
    ShareFetchResponse::default()
        .with_error_code(error.code())
        .with_error_message(message.map(StrBytes::from_string))
}

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: ShareFetchRequest,
    v2: ShareFetchV2,
) -> ShareFetchResponse {
    if !broker.share_groups_enabled() {
        return top_level(ResponseError::UnsupportedVersion, None);
    }
    let group_id = request
        .group_id
        .as_deref()
        .map_or(String::new(), |g| g.to_string());
    let auth = AuthHelper::new(broker, ctx);
    if !auth.authorize(AclOperation::Read, ResourceType::Group, &group_id) {
        return top_level(ResponseError::GroupAuthorizationFailed, None);
    }
    let member_id = request
        .member_id
        .as_deref()
        .map_or(String::new(), |m| m.to_string());
    if !is_member_id_valid(&member_id) {
        return top_level(
            ResponseError::InvalidRequest,
            Some("Invalid member id in the request.".into()),
        );
    }
    let renew = ctx.api_version >= 2 && v2.is_renew_ack;
    if renew {
        let mut message = String::new();
        for (value, name) in [
            (request.max_bytes, "maxBytes"),
            (request.min_bytes, "minBytes"),
            (request.max_records, "maxRecords"),
            (request.max_wait_ms, "maxWaitMs"),
        ] {
            if value != 0 {
                message.push_str(&format!("{name} must be set to 0, "));
            }
        }
        if !message.is_empty() {
            message.push_str("if isRenewAck is true.");
            return top_level(ResponseError::InvalidRequest, Some(message));
        }
    }
    let epoch = request.share_session_epoch;
    let acks: Vec<((Uuid, i32), AckBatches)> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| !p.acknowledgement_batches.is_empty())
                .map(move |p| {
                    (
                        (t.topic_id, p.partition_index),
                        p.acknowledgement_batches
                            .iter()
                            .map(|b| (b.first_offset, b.last_offset, b.acknowledge_types.clone()))
                            .collect(),
                    )
                })
        })
        .collect();
    if epoch == INITIAL_EPOCH && !acks.is_empty() {
        return top_level(
            ResponseError::InvalidRequest,
            Some("Acknowledge data present in Initial Fetch Request.".into()),
        );
    }
    let add: Vec<(Uuid, i32)> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.topic_id, p.partition_index))
        })
        .collect();
    let forget: Vec<(Uuid, i32)> = request
        .forgotten_topics_data
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |&p| (t.topic_id, p)))
        .collect();
    let session = broker
        .shares
        .fetch_session(&group_id, &member_id, epoch, &add, &forget);
    let partitions = match session {
        Ok(partitions) => partitions,
        Err(SessionError::LimitReached) => {
            // Kafka answers after the fetch's wait, so the client does not
            // come straight back.
            let wait = Duration::from_millis(request.max_wait_ms.max(0) as u64);
            tokio::time::sleep(wait).await;
            return top_level(ResponseError::ShareSessionLimitReached, None);
        }
        Err(e) => return top_level(e.error(), None),
    };
    let settings = share_settings(broker, &group_id);
    let image = broker.metadata.image();
    let ack_results: Vec<AckResult> = if acks.is_empty() {
        Vec::new()
    } else {
        storage_io::blocking(|| {
            acknowledge_partitions(broker, ctx, &image, &group_id, &member_id, acks, renew)
        })
    };
    let fetched = if epoch == FINAL_EPOCH || renew {
        Vec::new()
    } else {
        let fetch = Fetch {
            group_id: &group_id,
            member_id: &member_id,
            settings,
            max_bytes: request.max_bytes,
            max_records: if request.max_records > 0 {
                request.max_records as usize
            } else {
                usize::MAX
            },
            record_limit: ctx.api_version >= 2 && v2.share_acquire_mode == RECORD_LIMIT,
            max_wait: Duration::from_millis(request.max_wait_ms.max(0) as u64),
        };
        fetch_with_wait(broker, &auth, &fetch, &partitions).await
    };
    if epoch == FINAL_EPOCH {
        storage_io::blocking(|| {
            broker.shares.release_member(
                &broker.share_state_topic(),
                &group_id,
                &member_id,
                now_ms(),
            )
        });
    }
    let full = epoch == INITIAL_EPOCH;
    let image = broker.metadata.image();
    build_response(broker, &image, full, fetched, ack_results)
        .with_acquisition_lock_timeout_ms(settings.partition.record_lock_duration_ms as i32)
}

struct Fetch<'a> {
    group_id: &'a str,
    member_id: &'a str,
    settings: ShareSettings,
    max_bytes: i32,
    max_records: usize,
    record_limit: bool,
    max_wait: Duration,
}

/// One partition's fetch: its data, and whether it acquired anything.
type Fetched = ((Uuid, i32), PartitionData, bool);

/// Fetches every partition; while nothing was acquired, waits for appends
/// (or the deadline) and fetches again.
async fn fetch_with_wait(
    broker: &Broker,
    auth: &AuthHelper<'_>,
    fetch: &Fetch<'_>,
    partitions: &[(Uuid, i32)],
) -> Vec<Fetched> {
    let deadline = Instant::now() + fetch.max_wait;
    let image = broker.metadata.image();
    let denied: HashSet<Uuid> = partitions
        .iter()
        .map(|(id, _)| *id)
        .collect::<HashSet<_>>()
        .into_iter()
        .filter(|id| {
            image
                .topic_by_id(id)
                .is_some_and(|t| !auth.authorize(AclOperation::Read, ResourceType::Topic, &t.name))
        })
        .collect();
    let notifiers: Vec<Arc<Notify>> = partitions
        .iter()
        .filter_map(|(id, p)| {
            image
                .topic_by_id(id)
                .map(|t| broker.replicas.append_notifier(&t.name, *p))
        })
        .collect();
    loop {
        let mut notified: Vec<_> = notifiers.iter().map(|n| Box::pin(n.notified())).collect();
        for waiter in &mut notified {
            waiter.as_mut().enable();
        }
        let image = broker.metadata.image();
        let fetched =
            storage_io::blocking(|| fetch_all(broker, &image, fetch, partitions, &denied));
        let done = fetched
            .iter()
            .any(|(_, data, acquired)| *acquired || data.error_code != 0);
        if partitions.is_empty() || done || Instant::now() >= deadline || notified.is_empty() {
            return fetched;
        }
        // A lock running out makes records available again too: wake up
        // now and then to look.
        let recheck = Instant::now() + Duration::from_millis(100);
        tokio::select! {
            _ = select_all(notified) => {}
            () = tokio::time::sleep_until(deadline.min(recheck)) => {}
        }
    }
}

fn fetch_all(
    broker: &Broker,
    image: &MetadataImage,
    fetch: &Fetch<'_>,
    partitions: &[(Uuid, i32)],
    denied: &HashSet<Uuid>,
) -> Vec<Fetched> {
    let mut remaining_bytes = fetch.max_bytes.max(0) as usize;
    let mut remaining_records = fetch.max_records;
    let now = now_ms();
    partitions
        .iter()
        .map(|&(topic_id, partition)| {
            if denied.contains(&topic_id) {
                let data =
                    error_partition(partition, ResponseError::TopicAuthorizationFailed, None);
                return ((topic_id, partition), data, false);
            }
            let (data, acquired) = fetch_partition(
                broker,
                image,
                fetch,
                topic_id,
                partition,
                &mut remaining_bytes,
                &mut remaining_records,
                now,
            );
            ((topic_id, partition), data, acquired)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn fetch_partition(
    broker: &Broker,
    image: &MetadataImage,
    fetch: &Fetch<'_>,
    topic_id: Uuid,
    partition: i32,
    remaining_bytes: &mut usize,
    remaining_records: &mut usize,
    now: i64,
) -> (PartitionData, bool) {
    let Some(topic) = image.topic_by_id(&topic_id) else {
        return (
            error_partition(partition, ResponseError::UnknownTopicId, None),
            false,
        );
    };
    let Some(registration) = topic.partitions.get(&partition) else {
        return (
            error_partition(partition, ResponseError::UnknownTopicOrPartition, None),
            false,
        );
    };
    let leader = LeaderIdAndEpoch::default()
        .with_leader_id(broker.config.node_id)
        .with_leader_epoch(registration.leader_epoch);
    let empty = PartitionData::default()
        .with_partition_index(partition)
        .with_current_leader(leader.clone())
        .with_records(Some(Bytes::new()));
    if *remaining_records == 0 || *remaining_bytes == 0 {
        return (empty, false);
    }
    let log = match broker.replicas.log(image, topic, partition) {
        Ok(log) => log,
        Err(e) => {
            warn!(topic = %topic.name, partition, "cannot open log: {e}");
            return (
                error_partition(partition, ResponseError::KafkaStorageError, None),
                false,
            );
        }
    };
    let key = ShareStateKey {
        group_id: fetch.group_id.to_string(),
        topic_id,
        partition,
    };
    let state_topic = broker.share_state_topic();
    let reset = fetch.settings.auto_offset_reset;
    let share_partition = match broker.shares.partition(
        &state_topic,
        &key,
        fetch.settings.partition,
        &|| reset_offset(&log, reset),
        now,
    ) {
        Ok(p) => p,
        Err((error, message)) => {
            return (
                error_partition(partition, error, (!message.is_empty()).then_some(message)),
                false,
            );
        }
    };
    let offset = {
        let mut sp = share_partition.lock();
        sp.advance_to_log_start(log.log_start_offset());
        sp.next_fetch_offset()
    };
    let read_committed = fetch.settings.read_committed;
    let info = match log.read_isolated(offset, *remaining_bytes, true, read_committed) {
        Ok(info) => info,
        Err(ReadError::OffsetOutOfRange { .. }) => return (empty, false),
        Err(ReadError::Io(e)) => {
            warn!(partition = %log.topic_partition(), "cannot read log: {e}");
            broker.replicas.logs().handle_log_error(&log, &e);
            return (
                error_partition(partition, ResponseError::KafkaStorageError, None),
                false,
            );
        }
    };
    if info.records.is_empty() {
        return (empty, false);
    }
    let batches = log_batches(&log, &info.records, offset, read_committed);
    let acquired = match broker.shares.acquire(
        &state_topic,
        &key,
        &share_partition,
        fetch.member_id,
        &batches,
        *remaining_records,
        fetch.record_limit,
        now,
    ) {
        Ok(acquired) => acquired,
        Err(error) => return (error_partition(partition, error, None), false),
    };
    let Some(last) = acquired.last().map(|r| r.last_offset) else {
        return (empty, false);
    };
    let count: usize = acquired
        .iter()
        .map(|r| (r.last_offset - r.first_offset + 1) as usize)
        .sum();
    *remaining_records = remaining_records.saturating_sub(count);
    // The batches up to the last one acquired from.
    let records = through_offset(&info.records, last);
    *remaining_bytes = remaining_bytes.saturating_sub(records.len());
    let data = empty.with_records(Some(records)).with_acquired_records(
        acquired
            .iter()
            .map(|r| {
                AcquiredRecords::default()
                    .with_first_offset(r.first_offset)
                    .with_last_offset(r.last_offset)
                    .with_delivery_count(r.delivery_count as i16)
            })
            .collect(),
    );
    (data, true)
}

/// The offsets of the batches read, each marked to skip when it is a
/// control batch or, under read_committed, an aborted transaction's.
fn log_batches(
    log: &crate::storage::UnifiedLog,
    records: &Bytes,
    fetch_offset: i64,
    read_committed: bool,
) -> Vec<LogBatch> {
    let headers: Vec<_> = Batches::new(records)
        .map_while(Result::ok)
        .map(|b| b.header)
        .collect();
    // The aborted transactions among them: producer id → first offsets.
    let mut aborted: HashMap<i64, Vec<i64>> = HashMap::new();
    if read_committed
        && log.has_aborted_txns()
        && let Some(upper) = headers.last().map(|h| h.next_offset())
    {
        for txn in log.collect_aborted_txns(fetch_offset, upper) {
            aborted
                .entry(txn.producer_id)
                .or_default()
                .push(txn.first_offset);
        }
    }
    let mut in_aborted: HashSet<i64> = HashSet::new();
    headers
        .iter()
        .map(|h| {
            if let Some(firsts) = aborted.get(&h.producer_id)
                && firsts.iter().any(|&f| f <= h.base_offset)
                && h.is_transactional()
                && !h.is_control()
            {
                in_aborted.insert(h.producer_id);
            }
            let skip =
                h.is_control() || (h.is_transactional() && in_aborted.contains(&h.producer_id));
            if h.is_control() {
                // The marker ends the producer's transaction.
                in_aborted.remove(&h.producer_id);
                if let Some(firsts) = aborted.get_mut(&h.producer_id) {
                    firsts.retain(|&f| f > h.base_offset);
                }
            }
            LogBatch {
                first_offset: h.base_offset,
                last_offset: h.last_offset(),
                skip,
            }
        })
        .collect()
}

/// The leading batches of `records` up to the one holding `last`.
fn through_offset(records: &Bytes, last: i64) -> Bytes {
    let mut end = 0usize;
    for batch in Batches::new(records).map_while(Result::ok) {
        if batch.header.base_offset > last {
            break;
        }
        end += batch.bytes.len();
    }
    records.slice(..end.min(records.len()))
}

fn error_partition(index: i32, error: ResponseError, message: Option<String>) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(error.code())
        .with_error_message(message.map(StrBytes::from_string))
        .with_records(Some(Bytes::new()))
}

/// The response: on a full fetch every partition of the session; on an
/// incremental one those with records, an error or an acknowledgement
/// result.
fn build_response(
    broker: &Broker,
    image: &MetadataImage,
    full: bool,
    fetched: Vec<Fetched>,
    acks: Vec<AckResult>,
) -> ShareFetchResponse {
    let mut acks: HashMap<(Uuid, i32), (i16, Option<String>)> = acks
        .into_iter()
        .map(|(tp, code, message)| (tp, (code, message)))
        .collect();
    let mut topics: Vec<ShareFetchableTopicResponse> = Vec::new();
    let mut push = |topic_id: Uuid, data: PartitionData| match topics
        .iter_mut()
        .find(|t| t.topic_id == topic_id)
    {
        Some(t) => t.partitions.push(data),
        None => topics.push(
            ShareFetchableTopicResponse::default()
                .with_topic_id(topic_id)
                .with_partitions(vec![data]),
        ),
    };
    for ((topic_id, partition), mut data, acquired) in fetched {
        let ack = acks.remove(&(topic_id, partition));
        if let Some((code, message)) = &ack {
            data.acknowledge_error_code = *code;
            data.acknowledge_error_message = message.clone().map(StrBytes::from_string);
        }
        if full || acquired || data.error_code != 0 || ack.is_some() {
            push(topic_id, data);
        }
    }
    // Acknowledgements of partitions not fetched.
    let mut rest: Vec<_> = acks.into_iter().collect();
    rest.sort_by_key(|(tp, _)| *tp);
    for ((topic_id, partition), (code, message)) in rest {
        let leader_epoch = image
            .topic_by_id(&topic_id)
            .and_then(|t| t.partitions.get(&partition))
            .map_or(-1, |p| p.leader_epoch);
        let data = PartitionData::default()
            .with_partition_index(partition)
            .with_acknowledge_error_code(code)
            .with_acknowledge_error_message(message.map(StrBytes::from_string))
            .with_current_leader(
                LeaderIdAndEpoch::default()
                    .with_leader_id(broker.config.node_id)
                    .with_leader_epoch(leader_epoch),
            )
            .with_records(Some(Bytes::new()));
        push(topic_id, data);
    }
    ShareFetchResponse::default().with_responses(topics)
}
