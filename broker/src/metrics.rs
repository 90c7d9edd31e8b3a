//! Prometheus metrics, served at `GET /metrics` when `server.properties`
//! sets `metrics.prometheus.listener=http://HOST:PORT` (off otherwise).
//!
//! What the request path touches is lock-free: counters and histogram
//! buckets are atomics, and the handles of an API or a topic are looked up
//! once per request (a read lock on a small map), never per record. The
//! state of partitions and groups is not tracked at all: a scrape walks the
//! logs and the group coordinator and reports what it finds.
//!
//! This module knows nothing of the broker: the broker calls its counters,
//! and the endpoint (`metrics_endpoint`) hands it a [`StateSnapshot`] to
//! encode with them.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use parking_lot::RwLock;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Every metric name starts with this (and `_`).
const PREFIX: &str = "kafka";
/// The Content-Type of a scrape: what prometheus-client's text encoder writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Upper bounds (seconds) of the request latency buckets; `+Inf` follows.
const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// One more than the largest API key counted.
const API_KEYS: usize = 128;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    api: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    api: String,
    error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabels {
    topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    topic: String,
    partition: i32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LogDirLabels {
    log_directory: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SharePartitionLabels {
    group: String,
    topic: String,
    partition: i32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// The broker's metrics. Created once (when the listener is configured)
/// and kept in the broker.
pub struct BrokerMetrics {
    registry: Registry,
    requests: Family<ApiLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    durations: Family<ApiLabels, LatencyHistogram>,
    bytes_in: Family<TopicLabels, Counter>,
    bytes_out: Family<TopicLabels, Counter>,
    messages_in: Family<TopicLabels, Counter>,
    messages_out: Family<TopicLabels, Counter>,
    connections: Gauge,
    /// The handles of each API, by its key, made on its first request (so
    /// unused APIs report nothing).
    apis: Vec<OnceLock<ApiMetrics>>,
    topics: RwLock<HashMap<String, Arc<TopicMetrics>>>,
}

/// The counters of one API.
pub struct ApiMetrics {
    name: String,
    requests: Counter,
    duration: LatencyHistogram,
}

impl ApiMetrics {
    /// Counts one request that took `elapsed`.
    pub fn observe(&self, elapsed: Duration) {
        self.requests.inc();
        self.duration.observe(elapsed);
    }
}

/// The traffic counters of one topic.
pub struct TopicMetrics {
    bytes_in: Counter,
    bytes_out: Counter,
    messages_in: Counter,
    messages_out: Counter,
}

impl TopicMetrics {
    /// Counts a record batch appended (Produce).
    pub fn record_in(&self, bytes: usize, records: u64) {
        self.bytes_in.inc_by(bytes as u64);
        self.messages_in.inc_by(records);
    }

    /// Counts record batches returned (Fetch).
    pub fn record_out(&self, bytes: usize, records: u64) {
        self.bytes_out.inc_by(bytes as u64);
        self.messages_out.inc_by(records);
    }
}

/// Keeps a connection counted in `kafka_server_connections` while alive.
pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for BrokerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl BrokerMetrics {
    pub fn new() -> Self {
        let requests = Family::<ApiLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let durations = Family::<ApiLabels, LatencyHistogram>::default();
        let [bytes_in, bytes_out, messages_in, messages_out] =
            std::array::from_fn(|_| Family::<TopicLabels, Counter>::default());
        let connections = Gauge::default();

        let mut registry = Registry::with_prefix(PREFIX);
        registry.register(
            "network_requests",
            "Requests handled, by API",
            requests.clone(),
        );
        registry.register(
            "network_request_errors",
            "Error codes in responses (top-level, topic and partition), by API and error",
            errors.clone(),
        );
        registry.register_with_unit(
            "network_request_duration",
            "Time from reading a request to having its response ready, by API",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register(
            "server_bytes_in",
            "Record batch bytes appended by Produce, by topic",
            bytes_in.clone(),
        );
        registry.register(
            "server_bytes_out",
            "Record batch bytes returned by Fetch, by topic",
            bytes_out.clone(),
        );
        registry.register(
            "server_messages_in",
            "Records appended by Produce, by topic",
            messages_in.clone(),
        );
        registry.register(
            "server_messages_out",
            "Records returned by Fetch, by topic",
            messages_out.clone(),
        );
        registry.register(
            "server_connections",
            "Open client connections",
            connections.clone(),
        );
        BrokerMetrics {
            registry,
            requests,
            errors,
            durations,
            bytes_in,
            bytes_out,
            messages_in,
            messages_out,
            connections,
            apis: (0..API_KEYS).map(|_| OnceLock::new()).collect(),
            topics: RwLock::new(HashMap::new()),
        }
    }

    /// The handles of a supported API.
    pub fn api(&self, key: ApiKey) -> Option<&ApiMetrics> {
        let index = usize::try_from(key as i16).ok()?;
        Some(self.apis.get(index)?.get_or_init(|| {
            let labels = ApiLabels {
                api: format!("{key:?}"),
            };
            ApiMetrics {
                requests: self.requests.get_or_create_owned(&labels),
                duration: self.durations.get_or_create_owned(&labels),
                name: labels.api,
            }
        }))
    }

    /// Counts one error code (0 is no error and not counted).
    pub fn count_error(&self, api: &ApiMetrics, code: i16) {
        let error = match ResponseError::try_from_code(code) {
            None => return,
            Some(ResponseError::Unknown(code)) => code.to_string(),
            Some(known) => known.to_string(),
        };
        self.errors
            .get_or_create(&ErrorLabels {
                api: api.name.clone(),
                error,
            })
            .inc();
    }

    /// The traffic counters of `topic`.
    pub fn topic(&self, topic: &str) -> Arc<TopicMetrics> {
        if let Some(metrics) = self.topics.read().get(topic) {
            return Arc::clone(metrics);
        }
        let labels = TopicLabels {
            topic: topic.to_string(),
        };
        let metrics = Arc::new(TopicMetrics {
            bytes_in: self.bytes_in.get_or_create_owned(&labels),
            bytes_out: self.bytes_out.get_or_create_owned(&labels),
            messages_in: self.messages_in.get_or_create_owned(&labels),
            messages_out: self.messages_out.get_or_create_owned(&labels),
        });
        Arc::clone(self.topics.write().entry(labels.topic).or_insert(metrics))
    }

    /// Drops the counters of a deleted topic, as Kafka removes its topic
    /// metrics.
    pub fn forget_topic(&self, topic: &str) {
        self.topics.write().remove(topic);
        let labels = TopicLabels {
            topic: topic.to_string(),
        };
        for family in [
            &self.bytes_in,
            &self.bytes_out,
            &self.messages_in,
            &self.messages_out,
        ] {
            family.remove(&labels);
        }
    }

    /// Counts a connection until the guard is dropped.
    pub fn connection_opened(&self) -> ConnectionGuard {
        self.connections.inc();
        ConnectionGuard(self.connections.clone())
    }

    /// Everything in the OpenMetrics text format: the counters, then the
    /// state of partitions and groups the caller found.
    pub fn encode(&self, snapshot: StateSnapshot) -> Result<String, fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode_registry(&mut out, &self.registry)?;
        let mut state = Registry::with_prefix(PREFIX);
        state.register_collector(Box::new(snapshot));
        prometheus_client::encoding::text::encode(&mut out, &state)?;
        Ok(out)
    }
}

/// One partition's log as seen at scrape time.
#[derive(Debug)]
pub struct PartitionState {
    pub topic: String,
    pub partition: i32,
    pub log_end_offset: i64,
    pub log_start_offset: i64,
    pub size: u64,
}

/// The collector of a scrape: the partitions' logs and the groups' states
/// (count by state name) when the scrape began.
#[derive(Debug)]
pub struct StateSnapshot {
    pub partitions: Vec<PartitionState>,
    pub groups: [(&'static str, usize); 5],
    /// KIP-848 consumer groups by state.
    pub consumer_groups: [(&'static str, usize); 4],
    /// Transactional ids by state, every state listed.
    pub transactions: Vec<(&'static str, usize)>,
    pub cleaner: CleanerState,
    /// Each log directory (absolute path) and whether it failed.
    pub log_dirs: Vec<(String, bool)>,
    /// Partitions being moved to another log directory.
    pub moves: usize,
    pub share: ShareState,
}

/// Share groups (KIP-932) at scrape time.
#[derive(Debug, Default)]
pub struct ShareState {
    /// Share groups by state (`Empty`, `Stable`).
    pub groups: Vec<(&'static str, usize)>,
    pub members: usize,
    /// Open share sessions.
    pub sessions: usize,
    /// (group, topic, partition, records in flight) of each share
    /// partition loaded.
    pub partitions: Vec<(String, String, i32, usize)>,
    /// Acquisition locks that ran out, records delivered again, and
    /// records archived, since the start.
    pub lock_expiries: u64,
    pub redeliveries: u64,
    pub archived: u64,
}

/// The log cleaner's counters at scrape time.
#[derive(Debug, Default)]
pub struct CleanerState {
    pub passes: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_removed: u64,
    pub max_pass_ms: u64,
    pub uncleanable_partitions: usize,
}

impl StateSnapshot {
    fn encode_partitions(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        unit: Option<&Unit>,
        value: impl Fn(&PartitionState) -> i64,
    ) -> fmt::Result {
        let mut metric = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
        for p in &self.partitions {
            let labels = PartitionLabels {
                topic: p.topic.clone(),
                partition: p.partition,
            };
            metric.encode_family(&labels)?.encode_gauge(&value(p))?;
        }
        Ok(())
    }
}

impl Collector for StateSnapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        self.encode_partitions(
            &mut encoder,
            "log_log_end_offset",
            "The offset the next record appended to the partition gets.",
            None,
            |p| p.log_end_offset,
        )?;
        self.encode_partitions(
            &mut encoder,
            "log_log_start_offset",
            "The first offset of the partition still in its log.",
            None,
            |p| p.log_start_offset,
        )?;
        self.encode_partitions(
            &mut encoder,
            "log_size",
            "Bytes of the partition's log segments.",
            Some(&Unit::Bytes),
            |p| i64::try_from(p.size).unwrap_or(i64::MAX),
        )?;
        let offline = self.log_dirs.iter().filter(|(_, offline)| *offline).count();
        encoder
            .encode_descriptor(
                "log_log_manager_offline_log_directory_count",
                "Log directories that failed (Kafka's LogManager OfflineLogDirectoryCount).",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&(offline as i64))?;
        let mut dirs = encoder.encode_descriptor(
            "log_log_manager_log_directory_offline",
            "1 for a log directory that failed, else 0 (Kafka's LogManager LogDirectoryOffline).",
            None,
            MetricType::Gauge,
        )?;
        for (path, offline) in &self.log_dirs {
            dirs.encode_family(&LogDirLabels {
                log_directory: path.clone(),
            })?
            .encode_gauge(&i64::from(*offline))?;
        }
        encoder
            .encode_descriptor(
                "log_log_manager_future_logs",
                "Partitions being moved to another log directory (their -future copies).",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&(self.moves as i64))?;
        let mut groups = encoder.encode_descriptor(
            "coordinator_group_groups",
            "Classic consumer groups, by state.",
            None,
            MetricType::Gauge,
        )?;
        for &(state, count) in &self.groups {
            groups
                .encode_family(&StateLabels { state })?
                .encode_gauge(&(count as i64))?;
        }
        let mut consumer_groups = encoder.encode_descriptor(
            "coordinator_group_consumer_groups",
            "KIP-848 consumer groups, by state.",
            None,
            MetricType::Gauge,
        )?;
        for &(state, count) in &self.consumer_groups {
            consumer_groups
                .encode_family(&StateLabels { state })?
                .encode_gauge(&(count as i64))?;
        }
        let mut transactions = encoder.encode_descriptor(
            "coordinator_transaction_transactional_ids",
            "Transactional ids, by the state of their transaction.",
            None,
            MetricType::Gauge,
        )?;
        for &(state, count) in &self.transactions {
            transactions
                .encode_family(&StateLabels { state })?
                .encode_gauge(&(count as i64))?;
        }
        let share = &self.share;
        let mut share_groups = encoder.encode_descriptor(
            "coordinator_group_share_groups",
            "Share groups (KIP-932), by state.",
            None,
            MetricType::Gauge,
        )?;
        for &(state, count) in &share.groups {
            share_groups
                .encode_family(&StateLabels { state })?
                .encode_gauge(&(count as i64))?;
        }
        for (name, help, value) in [
            (
                "coordinator_group_share_group_members",
                "Members of share groups.",
                share.members,
            ),
            (
                "share_session_cache_sessions",
                "Open share sessions (Kafka's ShareSessionCache ShareSessionsCount).",
                share.sessions,
            ),
        ] {
            encoder
                .encode_descriptor(name, help, None, MetricType::Gauge)?
                .encode_gauge(&(value as i64))?;
        }
        let mut in_flight = encoder.encode_descriptor(
            "share_partition_in_flight_messages",
            "Records of a share partition in flight: acquired, available again, or done and not yet behind the start offset (Kafka's InFlightMessageCount).",
            None,
            MetricType::Gauge,
        )?;
        for (group, topic, partition, count) in &share.partitions {
            in_flight
                .encode_family(&SharePartitionLabels {
                    group: group.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                })?
                .encode_gauge(&(*count as i64))?;
        }
        for (name, help, value) in [
            (
                "share_group_acquisition_lock_timeouts",
                "Records whose acquisition lock ran out.",
                share.lock_expiries,
            ),
            (
                "share_group_redeliveries",
                "Records delivered more than once (a delivery count above one).",
                share.redeliveries,
            ),
            (
                "share_group_archived_records",
                "Records archived: rejected, at the delivery limit, or never to be delivered (control records, aborted transactions).",
                share.archived,
            ),
        ] {
            encoder
                .encode_descriptor(name, help, None, MetricType::Counter)?
                .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&value, None)?;
        }
        let cleaner = &self.cleaner;
        for (name, help, unit, value) in [
            (
                "log_cleaner_passes",
                "Cleaning passes the log cleaner finished.",
                None,
                cleaner.passes,
            ),
            (
                "log_cleaner_read",
                "Bytes of segments the log cleaner read.",
                Some(Unit::Bytes),
                cleaner.bytes_read,
            ),
            (
                "log_cleaner_written",
                "Bytes of cleaned segments the log cleaner wrote.",
                Some(Unit::Bytes),
                cleaner.bytes_written,
            ),
            (
                "log_cleaner_records_removed",
                "Records the log cleaner removed.",
                None,
                cleaner.records_removed,
            ),
        ] {
            encoder
                .encode_descriptor(name, help, unit.as_ref(), MetricType::Counter)?
                .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&value, None)?;
        }
        encoder
            .encode_descriptor(
                "log_cleaner_max_clean_time",
                "The longest cleaning pass so far (Kafka's max-clean-time-secs).",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?
            .encode_gauge(&(cleaner.max_pass_ms as f64 / 1000.0))?;
        encoder
            .encode_descriptor(
                "log_cleaner_uncleanable_partitions",
                "Compacted logs the cleaner gave up on until a restart (Kafka's uncleanable-partitions-count).",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&(cleaner.uncleanable_partitions as i64))?;
        Ok(())
    }
}

/// A latency histogram with fixed buckets whose observations are two
/// atomic additions (prometheus-client's own histogram takes a lock).
#[derive(Debug, Clone, Default)]
pub struct LatencyHistogram(Arc<LatencyBuckets>);

#[derive(Debug, Default)]
struct LatencyBuckets {
    /// Per bucket (not cumulative); the last one is `+Inf`.
    counts: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl LatencyHistogram {
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.0.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.0.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> fmt::Result {
        let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.0.counts.iter().map(|c| c.load(Ordering::Relaxed)))
            .collect();
        // The count is the buckets' sum, so `_count` always equals the
        // `+Inf` bucket even while requests are being observed.
        let count = buckets.iter().map(|&(_, n)| n).sum();
        let sum = self.0.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_encodes_requests_errors_and_latency() {
        let metrics = BrokerMetrics::new();
        let produce = metrics.api(ApiKey::Produce).expect("Produce is supported");
        produce.observe(Duration::from_micros(300));
        produce.observe(Duration::from_secs(20));
        metrics.count_error(produce, ResponseError::UnknownTopicOrPartition.code());
        metrics.count_error(produce, 0);
        metrics.count_error(produce, 9999);
        metrics.topic("t").record_in(100, 3);
        metrics.topic("t").record_out(50, 2);
        let _connection = metrics.connection_opened();
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &metrics.registry).unwrap();
        for line in [
            "kafka_network_requests_total{api=\"Produce\"} 2",
            "kafka_network_request_errors_total{api=\"Produce\",error=\"UnknownTopicOrPartition\"} 1",
            "kafka_network_request_errors_total{api=\"Produce\",error=\"9999\"} 1",
            "kafka_network_request_duration_seconds_bucket{le=\"0.0005\",api=\"Produce\"} 1",
            "kafka_network_request_duration_seconds_bucket{le=\"10.0\",api=\"Produce\"} 1",
            "kafka_network_request_duration_seconds_bucket{le=\"+Inf\",api=\"Produce\"} 2",
            "kafka_network_request_duration_seconds_count{api=\"Produce\"} 2",
            "kafka_server_bytes_in_total{topic=\"t\"} 100",
            "kafka_server_messages_in_total{topic=\"t\"} 3",
            "kafka_server_bytes_out_total{topic=\"t\"} 50",
            "kafka_server_messages_out_total{topic=\"t\"} 2",
            "kafka_server_connections 1",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} missing from\n{out}");
        }
        drop(_connection);
        metrics.forget_topic("t");
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &metrics.registry).unwrap();
        assert!(!out.contains("topic=\"t\""), "{out}");
        assert!(out.contains("kafka_server_connections 0"), "{out}");
    }
}
