//! Broker configuration from a Kafka `server.properties` file, as plain
//! values: this module imports nothing from the rest of the broker.
//!
//! Every key it knows is in [`keys::KEYS`], the table
//! `docs/configuration.md` is generated from: the keys it reads, Kafka's
//! keys that have no effect on one node (accepted, with a warning line at
//! start), and Kafka's keys that turn on something this broker does not
//! have (refused at start, naming the key). Unknown keys in the file are
//! ignored with one warning line, as Kafka ignores them (the file may carry
//! keys for other tools), but an `--override` of a key the broker does not
//! know ([`is_known_key`]) is taken for a typo and refused.

pub mod group;
pub mod keys;
pub mod listeners;
mod log;
pub mod sasl;
pub mod share;

pub use log::{CleanerConfig, LogConfig};

use anyhow::{Context, bail};
use listeners::{ListenerConfig, SecurityProtocol};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

pub const DEFAULT_LOG_DIR: &str = "/tmp/kraft-combined-logs";
pub const DEFAULT_PORT: u16 = 9092;
/// The key that turns on the Prometheus metrics endpoint.
pub const METRICS_LISTENER: &str = "metrics.prometheus.listener";

/// Whether `key` can change at runtime as a dynamic broker config (the
/// cluster-wide default or this broker's own): the log settings every
/// topic without an override takes (Kafka's `DynamicLogConfig`), and the
/// log cleaner's (Kafka's `LogCleaner.ReconfigurableConfigs`).
pub fn is_dynamic_key(key: &str) -> bool {
    keys::find(key).is_some_and(|k| k.dynamic) || listeners::is_listener_override(key)
}

/// Whether Kafka refuses `key` as a cluster-wide default: only a broker's
/// own dynamic config may set it.
pub fn is_per_broker_key(key: &str) -> bool {
    keys::find(key).is_some_and(|k| k.dynamic && k.per_broker)
        || listeners::is_listener_override(key)
}

/// Whether `key` is a broker configuration this broker knows: one of
/// [`keys::KEYS`] or a per-listener override of one.
pub fn is_known_key(key: &str) -> bool {
    keys::find(key).is_some() || listeners::is_listener_override(key)
}

/// Refuses a key that turns on something this broker does not have
/// ([`keys::Kind::Refused`]), naming it.
fn check_refused_keys(props: &HashMap<String, String>) -> anyhow::Result<()> {
    let mut set: Vec<(&str, &str)> = props.iter().map(|(k, v)| (k.trim(), v.trim())).collect();
    set.sort_unstable();
    for (name, value) in set {
        if let Some(key) = keys::find(name)
            && let keys::Kind::Refused { why, .. } = key.kind
            && !key.accepts(value)
        {
            bail!("{name}={value} is not supported: {why}");
        }
    }
    Ok(())
}

/// Logs, once at start, the keys set that have no effect here
/// ([`keys::Kind::NoEffect`]), one line each, and the keys of the file
/// the broker does not know, in one line (as Kafka's "supplied but are
/// not used" warning).
fn warn_unused_keys(props: &HashMap<String, String>) {
    let mut set: Vec<&str> = props
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, _)| k.trim())
        .collect();
    set.sort_unstable();
    let mut unknown = Vec::new();
    for name in set {
        match keys::find(name).map(|k| k.kind) {
            Some(keys::Kind::NoEffect(why)) => {
                tracing::warn!("{name} is set but has no effect on this broker: {why}")
            }
            Some(_) => {}
            None if listeners::is_listener_override(name) => {}
            None => unknown.push(name),
        }
    }
    if !unknown.is_empty() {
        tracing::warn!(
            "these configurations were supplied but are not known to this broker, which ignores them: {}",
            unknown.join(", ")
        );
    }
}

/// Refuses an `--override` of a key the broker does not know.
fn check_override_keys(overrides: &[(String, String)]) -> anyhow::Result<()> {
    match overrides.iter().find(|(key, _)| !is_known_key(key)) {
        Some((key, value)) => {
            bail!("--override {key}={value}: unknown configuration key {key:?}")
        }
        None => Ok(()),
    }
}

/// `authorizer.class.name` of the one authorizer this broker has (Kafka's
/// `StandardAuthorizer`, in the `authorizer` module).
pub const STANDARD_AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

/// Parses `super.users`: principals (`Type:name`) separated by `;`.
pub fn parse_super_users(value: &str) -> Result<BTreeSet<String>, String> {
    value
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once(':') {
            Some((kind, _)) if !kind.is_empty() => Ok(p.to_string()),
            _ => Err(format!(
                "super.users: `{p}` is not a principal of the form Type:name (such as User:admin)"
            )),
        })
        .collect()
}

/// `authorizer.class.name=`[`STANDARD_AUTHORIZER`] with `super.users` and
/// `allow.everyone.if.no.acl.found`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerConfig {
    pub super_users: BTreeSet<String>,
    pub allow_everyone_if_no_acl_found: bool,
}

/// A server-side assignor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Assignor {
    Uniform,
    Range,
}

impl Assignor {
    /// All the assignors, the default (Kafka's `group.consumer.assignors`
    /// default: uniform, then range) first.
    pub const ALL: [Assignor; 2] = [Assignor::Uniform, Assignor::Range];

    /// The assignor's name, as in `ConsumerGroupHeartbeat`'s
    /// `ServerAssignor` and `group.consumer.assignors`.
    pub fn name(&self) -> &'static str {
        match self {
            Assignor::Uniform => "uniform",
            Assignor::Range => "range",
        }
    }

    /// The assignor with that name.
    pub fn from_name(name: &str) -> Option<Assignor> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A `host:port` a listener binds to or advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Empty means every interface (for binding) or this host's name
    /// (when advertised), as in Kafka.
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// The address to bind: an empty host binds every interface.
    pub fn bind_address(&self) -> String {
        match self.host.as_str() {
            "" => format!("0.0.0.0:{}", self.port),
            host if host.contains(':') => format!("[{host}]:{}", self.port),
            host => format!("{host}:{}", self.port),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConfig {
    pub node_id: i32,
    /// The first client listener's address and advertised address.
    pub listener: Endpoint,
    pub advertised_listener: Endpoint,
    /// Every client listener (`listeners`, `advertised.listeners`,
    /// `listener.security.protocol.map`, `ssl.*`), in order.
    pub listeners: Vec<ListenerConfig>,
    /// `log.dirs` (or `log.dir`): every directory that holds partitions;
    /// the first also holds the metadata log, as Kafka's default
    /// `metadata.log.dir`.
    pub log_dirs: Vec<PathBuf>,
    pub log: LogConfig,
    /// `socket.request.max.bytes`: larger requests close the connection.
    pub socket_request_max_bytes: usize,
    /// `connections.max.idle.ms`: a connection idle this long is closed.
    pub connections_max_idle_ms: u64,
    /// `connection.failed.authentication.delay.ms`: how long a failed SASL
    /// authentication waits before its answer and the close.
    pub connection_failed_authentication_delay_ms: u64,
    /// `auto.create.topics.enable`: Metadata requests create unknown topics.
    pub auto_create_topics_enable: bool,
    /// `num.partitions`: partitions of topics created without a count.
    pub num_partitions: i32,
    /// `default.replication.factor`.
    pub default_replication_factor: i16,
    /// `delete.topic.enable`.
    pub delete_topic_enable: bool,
    /// `offsets.topic.num.partitions`: partitions of `__consumer_offsets`.
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.segment.bytes`.
    pub offsets_topic_segment_bytes: u64,
    /// `offset.metadata.max.bytes`: the longest commit metadata accepted.
    pub offset_metadata_max_bytes: usize,
    /// `transaction.state.log.num.partitions`: partitions of `__transaction_state`.
    pub transaction_state_log_num_partitions: i32,
    /// `transaction.state.log.segment.bytes`.
    pub transaction_state_log_segment_bytes: u64,
    /// `transaction.max.timeout.ms`: the longest transaction timeout a
    /// producer may ask for.
    pub transaction_max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`: a transactional id idle this long
    /// is forgotten.
    pub transactional_id_expiration_ms: i64,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`.
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: u64,
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`.
    pub transaction_remove_expired_transaction_cleanup_interval_ms: u64,
    /// `group.initial.rebalance.delay.ms`.
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms` and `group.max.session.timeout.ms`.
    pub group_min_session_timeout_ms: i32,
    pub group_max_session_timeout_ms: i32,
    /// KIP-848 consumer groups: `group.consumer.assignors` (the first is
    /// the default), `group.consumer.session.timeout.ms`,
    /// `group.consumer.heartbeat.interval.ms` (each within its `min`/`max`
    /// keys) and `group.consumer.max.size`.
    pub group_consumer_assignors: Vec<Assignor>,
    pub group_consumer_session_timeout_ms: i32,
    pub group_consumer_heartbeat_interval_ms: i32,
    pub group_consumer_max_size: usize,
    /// The bounds of those two: `group.consumer.min.session.timeout.ms`,
    /// `group.consumer.max.session.timeout.ms`,
    /// `group.consumer.min.heartbeat.interval.ms` and
    /// `group.consumer.max.heartbeat.interval.ms` (a group's own
    /// `consumer.*` configs must lie within them too).
    pub group_consumer_min_session_timeout_ms: i32,
    pub group_consumer_max_session_timeout_ms: i32,
    pub group_consumer_min_heartbeat_interval_ms: i32,
    pub group_consumer_max_heartbeat_interval_ms: i32,
    /// `max.incremental.fetch.session.cache.slots`.
    pub max_incremental_fetch_session_cache_slots: usize,
    /// Share groups' `group.share.*` and `share.coordinator.*` settings.
    pub share: share::ShareGroupSettings,
    /// `num.recovery.threads.per.data.dir`: threads that load logs at start.
    pub num_recovery_threads_per_data_dir: usize,
    /// `log.flush.scheduler.interval.ms`: how often the log flusher looks
    /// for logs to flush.
    pub log_flush_scheduler_interval_ms: u64,
    /// `replica.alter.log.dirs.io.max.bytes.per.second`: how fast a move
    /// between log directories copies.
    pub replica_alter_log_dirs_io_max_bytes_per_second: u64,
    /// `log.dir.failure.timeout.ms`: how long the failure of a log
    /// directory may go unrecorded in the metadata before the broker
    /// shuts down.
    pub log_dir_failure_timeout_ms: u64,
    /// `log.flush.offset.checkpoint.interval.ms`: how often the recovery
    /// points are checkpointed.
    pub log_flush_offset_checkpoint_interval_ms: u64,
    /// `log.flush.start.offset.checkpoint.interval.ms`: how often the log
    /// start offsets are checkpointed.
    pub log_flush_start_offset_checkpoint_interval_ms: u64,
    /// `log.retention.check.interval.ms`: how often logs are checked for
    /// segments retention deletes.
    pub log_retention_check_interval_ms: u64,
    /// The log cleaner's `log.cleaner.*` settings (those of the logs are in
    /// `log`).
    pub cleaner: CleanerConfig,
    /// `metrics.prometheus.listener=http://HOST:PORT`: where `GET /metrics`
    /// is served. No metrics listener (and no metrics) without it.
    pub metrics_prometheus_listener: Option<Endpoint>,
    /// `authorizer.class.name` (with `super.users` and
    /// `allow.everyone.if.no.acl.found`): no authorizer, and every request
    /// allowed, without it.
    pub authorizer: Option<AuthorizerConfig>,
    /// Every property as given, for DescribeConfigs.
    pub properties: BTreeMap<String, String>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        let listener = Endpoint {
            host: String::new(),
            port: DEFAULT_PORT,
        };
        BrokerConfig {
            node_id: 1,
            advertised_listener: listener.clone(),
            listeners: vec![ListenerConfig {
                name: "PLAINTEXT".to_string(),
                protocol: SecurityProtocol::Plaintext,
                endpoint: listener.clone(),
                advertised: listener.clone(),
                tls: None,
                sasl: None,
            }],
            listener,
            log_dirs: vec![PathBuf::from(DEFAULT_LOG_DIR)],
            log: LogConfig::default(),
            socket_request_max_bytes: 100 * 1024 * 1024,
            connections_max_idle_ms: 600_000,
            connection_failed_authentication_delay_ms: 100,
            auto_create_topics_enable: true,
            num_partitions: 1,
            default_replication_factor: 1,
            delete_topic_enable: true,
            offsets_topic_num_partitions: 50,
            offsets_topic_segment_bytes: 100 * 1024 * 1024,
            offset_metadata_max_bytes: 4096,
            transaction_state_log_num_partitions: 50,
            transaction_state_log_segment_bytes: 100 * 1024 * 1024,
            transaction_max_timeout_ms: 900_000,
            transactional_id_expiration_ms: 604_800_000,
            transaction_abort_timed_out_transaction_cleanup_interval_ms: 10_000,
            transaction_remove_expired_transaction_cleanup_interval_ms: 3_600_000,
            group_initial_rebalance_delay_ms: 3000,
            group_min_session_timeout_ms: 6000,
            group_max_session_timeout_ms: 1_800_000,
            group_consumer_assignors: Assignor::ALL.to_vec(),
            group_consumer_session_timeout_ms: 45_000,
            group_consumer_heartbeat_interval_ms: 5_000,
            group_consumer_max_size: i32::MAX as usize,
            group_consumer_min_session_timeout_ms: 45_000,
            group_consumer_max_session_timeout_ms: 60_000,
            group_consumer_min_heartbeat_interval_ms: 5_000,
            group_consumer_max_heartbeat_interval_ms: 15_000,
            max_incremental_fetch_session_cache_slots: 1000,
            share: share::ShareGroupSettings::default(),
            num_recovery_threads_per_data_dir: 2,
            log_flush_scheduler_interval_ms: 1000,
            log_flush_offset_checkpoint_interval_ms: 60_000,
            log_dir_failure_timeout_ms: 30_000,
            replica_alter_log_dirs_io_max_bytes_per_second: i64::MAX as u64,
            log_flush_start_offset_checkpoint_interval_ms: 60_000,
            log_retention_check_interval_ms: 300_000,
            cleaner: CleanerConfig::default(),
            metrics_prometheus_listener: None,
            authorizer: None,
            properties: BTreeMap::new(),
        }
    }
}

impl BrokerConfig {
    /// Reads a `server.properties` file and applies `overrides` on top.
    /// An override of an unknown key is an error; unknown keys in the file
    /// are ignored.
    pub fn from_file(path: &Path, overrides: &[(String, String)]) -> anyhow::Result<Self> {
        check_override_keys(overrides)?;
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot open configuration file {}", path.display()))?;
        let mut props = java_properties::read(std::io::BufReader::new(file))
            .with_context(|| format!("cannot parse configuration file {}", path.display()))?;
        props.extend(overrides.iter().cloned());
        let config = Self::from_properties(&props)
            .with_context(|| format!("invalid configuration in {}", path.display()))?;
        warn_unused_keys(&props);
        Ok(config)
    }

    /// The defaults with `overrides` applied; each must be a known key.
    pub fn from_overrides(overrides: &[(String, String)]) -> anyhow::Result<Self> {
        check_override_keys(overrides)?;
        let props = overrides.iter().cloned().collect();
        let config = Self::from_properties(&props)?;
        warn_unused_keys(&props);
        Ok(config)
    }

    /// This (static) configuration with dynamic broker configs on top: the
    /// cluster-wide default, then this broker's own (Kafka's precedence).
    /// `properties` then holds the merged values.
    pub fn with_dynamic(
        &self,
        cluster_default: Option<&BTreeMap<String, String>>,
        own: Option<&BTreeMap<String, String>>,
    ) -> anyhow::Result<Self> {
        if cluster_default.is_none() && own.is_none() {
            return Ok(self.clone());
        }
        let mut props: HashMap<String, String> = self.properties.clone().into_iter().collect();
        for dynamic in [cluster_default, own].into_iter().flatten() {
            props.extend(dynamic.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Self::from_properties(&props)
    }

    /// Kafka's `DynamicListenerConfig.validateReconfiguration` with KRaft:
    /// from this (the running configuration) to `new`, no existing
    /// listener may change its own settings (`listener.name.<l>.*`, but
    /// for the keystore and truststore, which reload) or its security
    /// protocol, and the listeners clients see (names and advertised
    /// addresses) may not change at all.
    pub fn check_listener_reconfiguration(&self, new: &BrokerConfig) -> Result<(), String> {
        for listener in &new.listeners {
            let Some(old) = self.listeners.iter().find(|l| l.name == listener.name) else {
                continue;
            };
            let prefix = format!("listener.name.{}.", listener.name.to_ascii_lowercase());
            let immutable = |config: &BrokerConfig| -> Vec<(String, String)> {
                config
                    .properties
                    .iter()
                    .filter_map(|(k, v)| {
                        let key = k.to_ascii_lowercase();
                        let rest = key.strip_prefix(&prefix)?.to_string();
                        (!listeners::RECONFIGURABLE_SSL_KEYS.contains(&rest.as_str()))
                            .then(|| (rest, v.clone()))
                    })
                    .collect()
            };
            if immutable(self) != immutable(new) {
                return Err(format!(
                    "Configs cannot be updated dynamically for existing listener {}, restart broker or create a new listener for update",
                    listener.name
                ));
            }
            if old.protocol != listener.protocol {
                return Err(format!(
                    "Security protocol cannot be updated for existing listener {}",
                    listener.name
                ));
            }
        }
        let advertised = |config: &BrokerConfig| -> Vec<(String, String, u16)> {
            let mut all: Vec<(String, String, u16)> = config
                .listeners
                .iter()
                .map(|l| (l.name.clone(), l.advertised.host.clone(), l.advertised.port))
                .collect();
            all.sort();
            all
        };
        if advertised(self) != advertised(new) {
            return Err(
                "Advertised listeners cannot be altered when using a Raft-based metadata quorum."
                    .into(),
            );
        }
        Ok(())
    }

    pub fn from_properties(props: &HashMap<String, String>) -> anyhow::Result<Self> {
        check_refused_keys(props)?;
        let get = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut config = BrokerConfig {
            properties: props
                .iter()
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect(),
            ..BrokerConfig::default()
        };

        if let Some(v) = get("node.id") {
            config.node_id = parse(v, "node.id")?;
        }
        if let Some(v) = get("broker.id") {
            let broker_id: i32 = parse(v, "broker.id")?;
            match get("node.id") {
                None => config.node_id = broker_id,
                Some(_) if broker_id != config.node_id => bail!(
                    "broker.id={broker_id} must equal node.id={} when both are set",
                    config.node_id
                ),
                Some(_) => {}
            }
        }

        if let Some(v) = get("controller.quorum.voters") {
            let voters: Vec<&str> = v.split(',').map(str::trim).collect();
            let id = voters[0].split_once('@').map(|(id, _)| id.trim());
            match (voters.len(), id.and_then(|id| id.parse::<i32>().ok())) {
                (1, Some(id)) if id == config.node_id => {}
                (1, _) => bail!(
                    "controller.quorum.voters={v} must name this node (node.id={}) as its one voter, as <id>@<host>:<port>",
                    config.node_id
                ),
                (n, _) => bail!(
                    "controller.quorum.voters={v} names {n} voters: this broker is a single node, its own and only controller"
                ),
            }
        }
        let lookup = |key: &str| get(key).map(str::to_string);
        config.listeners = listeners::parse(&lookup, &config.listener)?;
        // The first listener is the one the broker names itself by.
        config.listener = config.listeners[0].endpoint.clone();
        config.advertised_listener = config.listeners[0].advertised.clone();

        if let Some(dirs) = get("log.dirs").or_else(|| get("log.dir")) {
            let named: Vec<&str> = dirs
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .collect();
            if named.is_empty() {
                bail!("log.dirs names no directory");
            }
            let mut seen = std::collections::HashSet::new();
            for dir in &named {
                let absolute = std::path::absolute(dir).unwrap_or_else(|_| PathBuf::from(dir));
                if !seen.insert(absolute) {
                    bail!("log.dirs={dirs} names the directory {dir} more than once");
                }
            }
            config.log_dirs = named.into_iter().map(PathBuf::from).collect();
        }

        if let Some(v) = get("log.segment.bytes") {
            config.log.segment_bytes = parse::<u64>(v, "log.segment.bytes")?.max(14);
        }
        if let Some(v) = get("log.index.interval.bytes") {
            config.log.index_interval_bytes = parse(v, "log.index.interval.bytes")?;
        }
        if let Some(v) = get("log.flush.interval.messages") {
            config.log.flush_interval_messages =
                parse::<u64>(v, "log.flush.interval.messages")?.max(1);
        }
        if let Some(v) = get("log.flush.interval.ms") {
            config.log.flush_interval_ms = parse::<u64>(v, "log.flush.interval.ms")?;
        }
        if let Some(v) = get("log.index.size.max.bytes") {
            let size: usize = parse(v, "log.index.size.max.bytes")?;
            if size < 4 {
                bail!("log.index.size.max.bytes={v} must be at least 4");
            }
            config.log.max_index_size = size;
        }
        if let Some(v) = get("log.retention.bytes") {
            config.log.retention_bytes = parse(v, "log.retention.bytes")?;
        }
        // As Kafka: log.retention.ms, else .minutes, else .hours; any
        // negative value means no limit.
        if let Some(ms) = millis_of(
            &get,
            "log.retention",
            &[("ms", 1), ("minutes", 60_000), ("hours", 3_600_000)],
        )? {
            config.log.retention_ms = if ms < 0 { -1 } else { ms };
        }
        if let Some(ms) = millis_of(&get, "log.roll", &[("ms", 1), ("hours", 3_600_000)])? {
            if ms < 1 {
                bail!("log.roll.ms={ms} must be at least 1");
            }
            config.log.segment_ms = ms;
        }
        if let Some(ms) = millis_of(&get, "log.roll.jitter", &[("ms", 1), ("hours", 3_600_000)])? {
            if ms < 0 {
                bail!("log.roll.jitter.ms={ms} must be at least 0");
            }
            config.log.segment_jitter_ms = ms;
        }
        if let Some(v) = get("log.segment.delete.delay.ms") {
            config.log.file_delete_delay_ms = parse(v, "log.segment.delete.delay.ms")?;
        }
        if let Some(v) = get("transaction.partition.verification.enable") {
            config.log.transaction_partition_verification =
                parse_bool(v, "transaction.partition.verification.enable")?;
        }
        if let Some(v) = get("producer.id.expiration.ms") {
            let ms: i32 = parse(v, "producer.id.expiration.ms")?;
            if ms < 1 {
                bail!("producer.id.expiration.ms={v} must be at least 1");
            }
            config.log.producer_id_expiration_ms = i64::from(ms);
        }
        for (key, field) in [
            (
                "log.message.timestamp.before.max.ms",
                &mut config.log.timestamp_before_max_ms,
            ),
            (
                "log.message.timestamp.after.max.ms",
                &mut config.log.timestamp_after_max_ms,
            ),
        ] {
            if let Some(v) = get(key) {
                let ms: i64 = parse(v, key)?;
                if ms < 0 {
                    bail!("{key}={v} must be at least 0");
                }
                *field = ms;
            }
        }
        if let Some(v) = get("log.retention.check.interval.ms") {
            config.log_retention_check_interval_ms = parse(v, "log.retention.check.interval.ms")?;
            if config.log_retention_check_interval_ms < 1 {
                bail!("log.retention.check.interval.ms={v} must be at least 1");
            }
        }
        if let Some(v) = get("log.cleanup.policy") {
            let (delete, compact) = parse_cleanup_policy(v).with_context(|| {
                format!("log.cleanup.policy={v}: each policy must be delete or compact")
            })?;
            config.log.delete = delete;
            config.log.compact = compact;
        }
        parse_cleaner_configs(&get, &mut config)?;
        if let Some(v) = get("num.recovery.threads.per.data.dir") {
            config.num_recovery_threads_per_data_dir =
                parse(v, "num.recovery.threads.per.data.dir")?;
            if config.num_recovery_threads_per_data_dir < 1 {
                bail!("num.recovery.threads.per.data.dir={v} must be at least 1");
            }
        }
        for (key, field) in [
            (
                "log.dir.failure.timeout.ms",
                &mut config.log_dir_failure_timeout_ms,
            ),
            (
                "log.flush.scheduler.interval.ms",
                &mut config.log_flush_scheduler_interval_ms,
            ),
            (
                "log.flush.offset.checkpoint.interval.ms",
                &mut config.log_flush_offset_checkpoint_interval_ms,
            ),
            (
                "log.flush.start.offset.checkpoint.interval.ms",
                &mut config.log_flush_start_offset_checkpoint_interval_ms,
            ),
        ] {
            if let Some(v) = get(key) {
                *field = parse::<u64>(v, key)?.max(1);
            }
        }
        if let Some(v) = get("replica.alter.log.dirs.io.max.bytes.per.second") {
            let rate: i64 = parse(v, "replica.alter.log.dirs.io.max.bytes.per.second")?;
            if rate <= 0 {
                bail!("replica.alter.log.dirs.io.max.bytes.per.second={v} must be positive");
            }
            config.replica_alter_log_dirs_io_max_bytes_per_second = rate as u64;
        }
        if let Some(v) = get("message.max.bytes") {
            config.log.max_message_bytes = parse(v, "message.max.bytes")?;
        }
        if let Some(v) = get("socket.request.max.bytes") {
            config.socket_request_max_bytes = parse(v, "socket.request.max.bytes")?;
        }
        if let Some(v) = get("auto.create.topics.enable") {
            config.auto_create_topics_enable = parse_bool(v, "auto.create.topics.enable")?;
        }
        if let Some(v) = get("num.partitions") {
            config.num_partitions = parse(v, "num.partitions")?;
            if config.num_partitions < 1 {
                bail!("num.partitions={v} must be at least 1");
            }
        }
        if let Some(v) = get("default.replication.factor") {
            config.default_replication_factor = parse(v, "default.replication.factor")?;
        }
        if let Some(v) = get("delete.topic.enable") {
            config.delete_topic_enable = parse_bool(v, "delete.topic.enable")?;
        }
        if let Some(v) = get("offsets.topic.num.partitions") {
            config.offsets_topic_num_partitions = parse(v, "offsets.topic.num.partitions")?;
            if config.offsets_topic_num_partitions < 1 {
                bail!("offsets.topic.num.partitions={v} must be at least 1");
            }
        }
        if let Some(v) = get("offsets.topic.segment.bytes") {
            config.offsets_topic_segment_bytes = parse(v, "offsets.topic.segment.bytes")?;
        }
        if let Some(v) = get("offset.metadata.max.bytes") {
            config.offset_metadata_max_bytes = parse(v, "offset.metadata.max.bytes")?;
        }
        if let Some(v) = get("connections.max.idle.ms") {
            config.connections_max_idle_ms = parse(v, "connections.max.idle.ms")?;
            if config.connections_max_idle_ms < 1 {
                bail!("connections.max.idle.ms={v} must be at least 1");
            }
        }
        config.authorizer = match get("authorizer.class.name").map(str::trim) {
            None | Some("") => None,
            Some(STANDARD_AUTHORIZER) => {
                let super_users = match get("super.users") {
                    Some(v) => parse_super_users(v).map_err(anyhow::Error::msg)?,
                    None => Default::default(),
                };
                let allow_everyone = match get("allow.everyone.if.no.acl.found") {
                    Some(v) => parse_bool(v.trim(), "allow.everyone.if.no.acl.found")?,
                    None => false,
                };
                Some(AuthorizerConfig {
                    super_users,
                    allow_everyone_if_no_acl_found: allow_everyone,
                })
            }
            Some(other) => bail!(
                "authorizer.class.name={other} is not supported: the only authorizer is {}",
                STANDARD_AUTHORIZER
            ),
        };
        if let Some(v) = get("connection.failed.authentication.delay.ms") {
            config.connection_failed_authentication_delay_ms =
                parse(v, "connection.failed.authentication.delay.ms")?;
        }
        if let Some(v) = get("transaction.state.log.num.partitions") {
            config.transaction_state_log_num_partitions =
                parse(v, "transaction.state.log.num.partitions")?;
            if config.transaction_state_log_num_partitions < 1 {
                bail!("transaction.state.log.num.partitions={v} must be at least 1");
            }
        }
        if let Some(v) = get("transaction.state.log.segment.bytes") {
            config.transaction_state_log_segment_bytes =
                parse(v, "transaction.state.log.segment.bytes")?;
            if config.transaction_state_log_segment_bytes < 1 {
                bail!("transaction.state.log.segment.bytes={v} must be at least 1");
            }
        }
        if let Some(v) = get("transaction.max.timeout.ms") {
            config.transaction_max_timeout_ms = parse(v, "transaction.max.timeout.ms")?;
            if config.transaction_max_timeout_ms < 1 {
                bail!("transaction.max.timeout.ms={v} must be at least 1");
            }
        }
        if let Some(v) = get("transactional.id.expiration.ms") {
            config.transactional_id_expiration_ms = parse(v, "transactional.id.expiration.ms")?;
            if config.transactional_id_expiration_ms < 1 {
                bail!("transactional.id.expiration.ms={v} must be at least 1");
            }
        }
        for (key, field) in [
            (
                "transaction.abort.timed.out.transaction.cleanup.interval.ms",
                &mut config.transaction_abort_timed_out_transaction_cleanup_interval_ms,
            ),
            (
                "transaction.remove.expired.transaction.cleanup.interval.ms",
                &mut config.transaction_remove_expired_transaction_cleanup_interval_ms,
            ),
        ] {
            if let Some(v) = get(key) {
                *field = parse(v, key)?;
                if *field < 1 {
                    bail!("{key}={v} must be at least 1");
                }
            }
        }
        if let Some(v) = get("group.initial.rebalance.delay.ms") {
            config.group_initial_rebalance_delay_ms = parse(v, "group.initial.rebalance.delay.ms")?;
        }
        if let Some(v) = get("group.min.session.timeout.ms") {
            config.group_min_session_timeout_ms = parse(v, "group.min.session.timeout.ms")?;
        }
        if let Some(v) = get("group.max.session.timeout.ms") {
            config.group_max_session_timeout_ms = parse(v, "group.max.session.timeout.ms")?;
        }
        if let Some(v) = get("group.consumer.assignors") {
            config.group_consumer_assignors = v
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(|name| {
                    let short = match name {
                        "org.apache.kafka.coordinator.group.assignor.UniformAssignor" => "uniform",
                        "org.apache.kafka.coordinator.group.assignor.RangeAssignor" => "range",
                        other => other,
                    };
                    Assignor::from_name(short).ok_or_else(|| {
                        anyhow::anyhow!(
                            "group.consumer.assignors: unknown assignor {name} (uniform, range)"
                        )
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            if config.group_consumer_assignors.is_empty() {
                bail!("group.consumer.assignors must name at least one assignor");
            }
        }
        let bounded =
            |key: &str, default: i32, min_key: &str, min: i32, max_key: &str, max: i32| {
                let read = |key: &str, default: i32| -> anyhow::Result<i32> {
                    match get(key) {
                        Some(v) => {
                            let n: i32 = parse(v, key)?;
                            if n < 1 {
                                bail!("{key}={v} must be at least 1");
                            }
                            Ok(n)
                        }
                        None => Ok(default),
                    }
                };
                let (value, min, max) = (
                    read(key, default)?,
                    read(min_key, min)?,
                    read(max_key, max)?,
                );
                if value < min || value > max {
                    bail!("{key}={value} must be between {min_key} ({min}) and {max_key} ({max})");
                }
                Ok::<(i32, i32, i32), anyhow::Error>((value, min, max))
            };
        (
            config.group_consumer_session_timeout_ms,
            config.group_consumer_min_session_timeout_ms,
            config.group_consumer_max_session_timeout_ms,
        ) = bounded(
            "group.consumer.session.timeout.ms",
            45_000,
            "group.consumer.min.session.timeout.ms",
            45_000,
            "group.consumer.max.session.timeout.ms",
            60_000,
        )?;
        (
            config.group_consumer_heartbeat_interval_ms,
            config.group_consumer_min_heartbeat_interval_ms,
            config.group_consumer_max_heartbeat_interval_ms,
        ) = bounded(
            "group.consumer.heartbeat.interval.ms",
            5_000,
            "group.consumer.min.heartbeat.interval.ms",
            5_000,
            "group.consumer.max.heartbeat.interval.ms",
            15_000,
        )?;
        if config.group_consumer_heartbeat_interval_ms >= config.group_consumer_session_timeout_ms {
            bail!(
                "group.consumer.heartbeat.interval.ms ({}) must be less than group.consumer.session.timeout.ms ({})",
                config.group_consumer_heartbeat_interval_ms,
                config.group_consumer_session_timeout_ms
            );
        }
        if let Some(v) = get("group.consumer.max.size") {
            let n: usize = parse(v, "group.consumer.max.size")?;
            if n < 1 {
                bail!("group.consumer.max.size={v} must be at least 1");
            }
            config.group_consumer_max_size = n;
        }
        config.share = share::ShareGroupSettings::parse(&|key| get(key).map(str::to_string))?;
        if let Some(v) = get("max.incremental.fetch.session.cache.slots") {
            config.max_incremental_fetch_session_cache_slots =
                parse(v, "max.incremental.fetch.session.cache.slots")?;
        }
        if let Some(v) = get(METRICS_LISTENER) {
            config.metrics_prometheus_listener = Some(parse_http_endpoint(v, METRICS_LISTENER)?);
        }
        Ok(config)
    }
}

impl BrokerConfig {
    /// The broker configurations DescribeConfigs reports: name, effective
    /// value, whether it was set in the properties, type (DescribeConfigs
    /// `config_type`) and documentation.
    pub fn described(&self) -> Vec<(&'static str, String, bool, i8, &'static str)> {
        const BOOLEAN: i8 = 1;
        const STRING: i8 = 2;
        const INT: i8 = 3;
        const LONG: i8 = 5;
        const DOUBLE: i8 = 6;
        const LIST: i8 = 7;
        const CLASS: i8 = 8;
        let listeners = |advertised: bool| {
            self.listeners
                .iter()
                .map(|l| {
                    let e = if advertised {
                        &l.advertised
                    } else {
                        &l.endpoint
                    };
                    format!("{}://{}:{}", l.name, e.host, e.port)
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        let entries: Vec<(&'static str, String, i8, &'static str)> = vec![
            (
                "advertised.listeners",
                listeners(true),
                LIST,
                "Listeners published to clients.",
            ),
            (
                "authorizer.class.name",
                self.authorizer
                    .as_ref()
                    .map_or("", |_| STANDARD_AUTHORIZER)
                    .to_string(),
                CLASS,
                "The fully qualified name of the authorizer; empty for none.",
            ),
            (
                "auto.create.topics.enable",
                self.auto_create_topics_enable.to_string(),
                BOOLEAN,
                "Enable auto creation of topics on the server.",
            ),
            (
                "broker.id",
                self.node_id.to_string(),
                INT,
                "The broker id (the node id).",
            ),
            (
                "default.replication.factor",
                self.default_replication_factor.to_string(),
                INT,
                "The default replication factor for automatically created topics.",
            ),
            (
                "delete.topic.enable",
                self.delete_topic_enable.to_string(),
                BOOLEAN,
                "Enables topic deletion.",
            ),
            (
                "group.initial.rebalance.delay.ms",
                self.group_initial_rebalance_delay_ms.to_string(),
                INT,
                "How long the coordinator waits for more members before the first rebalance of a group.",
            ),
            (
                "group.max.session.timeout.ms",
                self.group_max_session_timeout_ms.to_string(),
                INT,
                "The largest session timeout a group member may use.",
            ),
            (
                "group.min.session.timeout.ms",
                self.group_min_session_timeout_ms.to_string(),
                INT,
                "The smallest session timeout a group member may use.",
            ),
            (
                "listener.security.protocol.map",
                self.properties
                    .get("listener.security.protocol.map")
                    .cloned()
                    .unwrap_or_else(|| {
                        keys::find("listener.security.protocol.map")
                            .map_or("", |k| k.default)
                            .to_string()
                    }),
                LIST,
                "The security protocol of each listener name.",
            ),
            (
                "listeners",
                listeners(false),
                LIST,
                "The address the socket server listens on.",
            ),
            (
                "replica.alter.log.dirs.io.max.bytes.per.second",
                self.replica_alter_log_dirs_io_max_bytes_per_second
                    .to_string(),
                LONG,
                "The bytes a second a partition moved between log directories is copied at, at most.",
            ),
            (
                "sasl.enabled.mechanisms",
                self.properties
                    .get("sasl.enabled.mechanisms")
                    .cloned()
                    .unwrap_or_else(|| {
                        keys::find("sasl.enabled.mechanisms")
                            .map_or("", |k| k.default)
                            .to_string()
                    }),
                LIST,
                "The SASL mechanisms SASL listeners offer.",
            ),
            (
                "ssl.client.auth",
                self.properties
                    .get("ssl.client.auth")
                    .cloned()
                    .unwrap_or_else(|| {
                        keys::find("ssl.client.auth")
                            .map_or("", |k| k.default)
                            .to_string()
                    }),
                STRING,
                "Whether TLS listeners ask clients for a certificate.",
            ),
            (
                "ssl.enabled.protocols",
                self.properties
                    .get("ssl.enabled.protocols")
                    .cloned()
                    .unwrap_or_else(|| {
                        keys::find("ssl.enabled.protocols")
                            .map_or("", |k| k.default)
                            .to_string()
                    }),
                LIST,
                "The TLS versions TLS listeners offer.",
            ),
            (
                "log.dirs",
                self.log_dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                LIST,
                "The directories in which the log data is kept.",
            ),
            (
                "log.flush.interval.messages",
                self.log
                    .flush_interval_messages
                    .min(i64::MAX as u64)
                    .to_string(),
                LONG,
                "Messages accumulated on a log partition before they are flushed to disk.",
            ),
            (
                "log.flush.interval.ms",
                self.log.flush_interval_ms.min(i64::MAX as u64).to_string(),
                LONG,
                "Milliseconds a message waits in a log before it is flushed to disk.",
            ),
            (
                "log.index.interval.bytes",
                self.log.index_interval_bytes.to_string(),
                INT,
                "The interval with which an entry is added to the offset index.",
            ),
            (
                "log.index.size.max.bytes",
                self.log.max_index_size.to_string(),
                INT,
                "The maximum size in bytes of the offset index.",
            ),
            (
                "log.cleaner.backoff.ms",
                self.cleaner.backoff.as_millis().to_string(),
                LONG,
                "The amount of time to sleep when there are no logs to clean.",
            ),
            (
                "log.cleaner.dedupe.buffer.size",
                self.cleaner.dedupe_buffer_size.to_string(),
                LONG,
                "The total memory used for log deduplication across all cleaner threads.",
            ),
            (
                "log.cleaner.delete.retention.ms",
                self.log.delete_retention_ms.to_string(),
                LONG,
                "How long delete records are retained.",
            ),
            (
                "log.cleaner.enable",
                self.cleaner.enable.to_string(),
                BOOLEAN,
                "Enable the log cleaner process to run on the server.",
            ),
            (
                "log.cleaner.io.buffer.load.factor",
                java_double(self.cleaner.dedupe_buffer_load_factor),
                DOUBLE,
                "Log cleaner dedupe buffer load factor.",
            ),
            (
                "log.cleaner.io.buffer.size",
                self.cleaner.io_buffer_size.to_string(),
                INT,
                "The total memory used for log cleaner I/O buffers across all cleaner threads.",
            ),
            (
                "log.cleaner.io.max.bytes.per.second",
                java_double(self.cleaner.max_io_bytes_per_second),
                DOUBLE,
                "The log cleaner will be throttled so that the sum of its read and write i/o will be less than this value on average.",
            ),
            (
                "log.cleaner.max.compaction.lag.ms",
                self.log.max_compaction_lag_ms.to_string(),
                LONG,
                "The maximum time a message will remain ineligible for compaction in the log.",
            ),
            (
                "log.cleaner.min.cleanable.ratio",
                java_double(self.log.min_cleanable_ratio),
                DOUBLE,
                "The minimum ratio of dirty log to total log for a log to be eligible for cleaning.",
            ),
            (
                "log.cleaner.min.compaction.lag.ms",
                self.log.min_compaction_lag_ms.to_string(),
                LONG,
                "The minimum time a message will remain uncompacted in the log.",
            ),
            (
                "log.cleaner.threads",
                self.cleaner.threads.to_string(),
                INT,
                "The number of background threads to use for log cleaning.",
            ),
            (
                "log.cleanup.policy",
                match (self.log.delete, self.log.compact) {
                    (true, true) => "delete,compact",
                    (false, true) => "compact",
                    _ => "delete",
                }
                .to_string(),
                LIST,
                "The default cleanup policy for segments beyond the retention window.",
            ),
            (
                "transaction.partition.verification.enable",
                self.log.transaction_partition_verification.to_string(),
                BOOLEAN,
                "Whether a transactional batch must go to a partition of the producer's open transaction.",
            ),
            (
                "producer.id.expiration.ms",
                self.log.producer_id_expiration_ms.to_string(),
                INT,
                "How long a producer's state is kept after its last batch, when it has no open transaction.",
            ),
            (
                "log.message.timestamp.after.max.ms",
                self.log.timestamp_after_max_ms.to_string(),
                LONG,
                "How far ahead of the broker's clock a record's CreateTime may be.",
            ),
            (
                "log.message.timestamp.before.max.ms",
                self.log.timestamp_before_max_ms.to_string(),
                LONG,
                "How far behind the broker's clock a record's CreateTime may be.",
            ),
            (
                "log.retention.bytes",
                self.log.retention_bytes.to_string(),
                LONG,
                "The maximum size of the log before deleting it.",
            ),
            (
                "log.retention.check.interval.ms",
                self.log_retention_check_interval_ms.to_string(),
                LONG,
                "How often the log cleaner checks whether any log is eligible for deletion.",
            ),
            (
                "log.retention.ms",
                self.log.retention_ms.to_string(),
                LONG,
                "How long a log file is kept before deleting it; -1 for no limit.",
            ),
            (
                "log.roll.ms",
                self.log.segment_ms.to_string(),
                LONG,
                "The maximum time before a new log segment is rolled out.",
            ),
            (
                "log.segment.bytes",
                self.log.segment_bytes.to_string(),
                INT,
                "The maximum size of a single log file.",
            ),
            (
                "log.segment.delete.delay.ms",
                self.log.file_delete_delay_ms.to_string(),
                LONG,
                "The amount of time to wait before deleting a file from the filesystem.",
            ),
            (
                "max.incremental.fetch.session.cache.slots",
                self.max_incremental_fetch_session_cache_slots.to_string(),
                INT,
                "The maximum number of incremental fetch sessions.",
            ),
            (
                "message.max.bytes",
                self.log.max_message_bytes.to_string(),
                INT,
                "The largest record batch size allowed.",
            ),
            (
                "node.id",
                self.node_id.to_string(),
                INT,
                "The node id of this server.",
            ),
            (
                "num.partitions",
                self.num_partitions.to_string(),
                INT,
                "The default number of log partitions per topic.",
            ),
            (
                "num.recovery.threads.per.data.dir",
                self.num_recovery_threads_per_data_dir.to_string(),
                INT,
                "The threads per log directory that load the logs at start.",
            ),
            (
                "offset.metadata.max.bytes",
                self.offset_metadata_max_bytes.to_string(),
                INT,
                "The maximum size of the metadata of an offset commit.",
            ),
            (
                "offsets.topic.num.partitions",
                self.offsets_topic_num_partitions.to_string(),
                INT,
                "The number of partitions of the offset commit topic.",
            ),
            (
                "offsets.topic.segment.bytes",
                self.offsets_topic_segment_bytes.to_string(),
                INT,
                "The segment size of the offsets topic.",
            ),
            (
                "socket.request.max.bytes",
                self.socket_request_max_bytes.to_string(),
                INT,
                "The maximum number of bytes in a socket request.",
            ),
            (
                "transaction.abort.timed.out.transaction.cleanup.interval.ms",
                self.transaction_abort_timed_out_transaction_cleanup_interval_ms
                    .to_string(),
                INT,
                "The interval at which to rollback transactions that have timed out.",
            ),
            (
                "transaction.max.timeout.ms",
                self.transaction_max_timeout_ms.to_string(),
                INT,
                "The maximum allowed timeout for transactions.",
            ),
            (
                "transaction.remove.expired.transaction.cleanup.interval.ms",
                self.transaction_remove_expired_transaction_cleanup_interval_ms
                    .to_string(),
                INT,
                "The interval at which to remove transactions that have expired due to transactional.id.expiration.ms passing.",
            ),
            (
                "transaction.state.log.num.partitions",
                self.transaction_state_log_num_partitions.to_string(),
                INT,
                "The number of partitions for the transaction topic.",
            ),
            (
                "transaction.state.log.segment.bytes",
                self.transaction_state_log_segment_bytes.to_string(),
                INT,
                "The transaction topic segment bytes.",
            ),
            (
                "transactional.id.expiration.ms",
                self.transactional_id_expiration_ms.to_string(),
                INT,
                "The time in ms that the transaction coordinator will wait without receiving any transaction status updates for the current transaction before expiring its transactional id.",
            ),
        ];
        entries
            .into_iter()
            .map(|(name, value, kind, doc)| {
                let set = self.properties.contains_key(name)
                    || (name == "log.dirs" && self.properties.contains_key("log.dir"));
                (name, value, set, kind, doc)
            })
            .collect()
    }
}

/// The `log.cleaner.*` keys: the cleaner's own and the defaults of the
/// topics' compaction settings.
fn parse_cleaner_configs<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
    config: &mut BrokerConfig,
) -> anyhow::Result<()> {
    let cleaner = &mut config.cleaner;
    if let Some(v) = get("log.cleaner.enable") {
        cleaner.enable = parse_bool(v, "log.cleaner.enable")?;
    }
    if let Some(v) = get("log.cleaner.threads") {
        cleaner.threads = parse(v, "log.cleaner.threads")?;
    }
    if let Some(v) = get("log.cleaner.backoff.ms") {
        cleaner.backoff = std::time::Duration::from_millis(parse(v, "log.cleaner.backoff.ms")?);
    }
    if let Some(v) = get("log.cleaner.dedupe.buffer.size") {
        cleaner.dedupe_buffer_size = parse(v, "log.cleaner.dedupe.buffer.size")?;
    }
    if let Some(v) = get("log.cleaner.io.buffer.size") {
        cleaner.io_buffer_size = parse(v, "log.cleaner.io.buffer.size")?;
    }
    if let Some(v) = get("log.cleaner.io.buffer.load.factor") {
        let factor: f64 = parse(v, "log.cleaner.io.buffer.load.factor")?;
        if !(factor > 0.0 && factor <= 1.0) {
            bail!("log.cleaner.io.buffer.load.factor={v} must be above 0 and at most 1");
        }
        cleaner.dedupe_buffer_load_factor = factor;
    }
    if let Some(v) = get("log.cleaner.io.max.bytes.per.second") {
        let rate: f64 = parse(v, "log.cleaner.io.max.bytes.per.second")?;
        if rate.is_nan() || rate <= 0.0 {
            bail!("log.cleaner.io.max.bytes.per.second={v} must be above 0");
        }
        cleaner.max_io_bytes_per_second = rate;
    }
    if cleaner.enable
        && cleaner.threads > 0
        && cleaner.dedupe_buffer_size / (cleaner.threads as u64) < 1024 * 1024
    {
        bail!(
            "log.cleaner.dedupe.buffer.size={} must give each of the log.cleaner.threads={} at least 1 MiB",
            cleaner.dedupe_buffer_size,
            cleaner.threads
        );
    }
    if let Some(v) = get("log.cleaner.min.cleanable.ratio") {
        let ratio: f64 = parse(v, "log.cleaner.min.cleanable.ratio")?;
        if !(0.0..=1.0).contains(&ratio) {
            bail!("log.cleaner.min.cleanable.ratio={v} must be between 0 and 1");
        }
        config.log.min_cleanable_ratio = ratio;
    }
    for (key, field, min) in [
        (
            "log.cleaner.min.compaction.lag.ms",
            &mut config.log.min_compaction_lag_ms,
            0,
        ),
        (
            "log.cleaner.max.compaction.lag.ms",
            &mut config.log.max_compaction_lag_ms,
            1,
        ),
        (
            "log.cleaner.delete.retention.ms",
            &mut config.log.delete_retention_ms,
            0,
        ),
    ] {
        if let Some(v) = get(key) {
            let ms: i64 = parse(v, key)?;
            if ms < min {
                bail!("{key}={v} must be at least {min}");
            }
            *field = ms;
        }
    }
    Ok(())
}

/// A double as Java prints it (`Double.toString`), as Kafka describes one.
pub fn java_double(value: f64) -> String {
    format!("{value:?}").replace('e', "E")
}

/// A duration given in one of several units (`<prefix>.ms`, `.minutes`,
/// `.hours`), the first unit listed winning, in milliseconds.
fn millis_of<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
    prefix: &str,
    units: &[(&str, i64)],
) -> anyhow::Result<Option<i64>> {
    for (unit, factor) in units {
        let key = format!("{prefix}.{unit}");
        if let Some(v) = get(&key) {
            let n: i64 = parse(v, &key)?;
            return Ok(Some(n.saturating_mul(*factor)));
        }
    }
    Ok(None)
}

/// `cleanup.policy` / `log.cleanup.policy`: whether it has `delete` and
/// `compact`; None when it names anything else.
pub fn parse_cleanup_policy(value: &str) -> Option<(bool, bool)> {
    let (mut delete, mut compact) = (false, false);
    for policy in value.split(',').map(str::trim) {
        match policy {
            "delete" => delete = true,
            "compact" => compact = true,
            _ => return None,
        }
    }
    Some((delete, compact))
}

fn parse<T: std::str::FromStr>(value: &str, key: &str) -> anyhow::Result<T> {
    value
        .parse()
        .map_err(|_| anyhow::anyhow!("{key}={value} is not a valid number"))
}

fn parse_bool(value: &str, key: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => bail!("{key}={value} is neither true nor false"),
    }
}

/// Parses `http://HOST:PORT` (an empty host binds every interface, an IPv6
/// host goes in brackets); nothing may follow the port.
fn parse_http_endpoint(value: &str, key: &str) -> anyhow::Result<Endpoint> {
    let invalid = || anyhow::anyhow!("{key}={value} is not of the form http://HOST:PORT");
    let address = value.strip_prefix("http://").ok_or_else(invalid)?;
    let (host, port) = address.rsplit_once(':').ok_or_else(invalid)?;
    let port: u16 = port.parse().map_err(|_| invalid())?;
    let host = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.strip_suffix(']').ok_or_else(invalid)?,
        None if host.contains([':', '/', '[', ']', '@']) => return Err(invalid()),
        None => host,
    };
    Ok(Endpoint {
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(text: &str) -> HashMap<String, String> {
        java_properties::read(text.as_bytes()).unwrap()
    }

    #[test]
    fn reads_the_challenge_properties() {
        let config = BrokerConfig::from_properties(&props(
            "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@localhost:9093\n\
             listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER\n\
             listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n\
             log.dirs=/tmp/kraft-combined-logs",
        ))
        .unwrap();
        assert_eq!(config.node_id, 1);
        assert_eq!(config.listener.bind_address(), "0.0.0.0:9092");
        assert_eq!(
            config.log_dirs,
            vec![PathBuf::from("/tmp/kraft-combined-logs")]
        );
    }

    #[test]
    fn picks_named_listeners_and_advertised_addresses() {
        let config = BrokerConfig::from_properties(&props(
            "listeners=CONTROLLER://:9093,CLIENT://127.0.0.1:19092\n\
             controller.listener.names=CONTROLLER\n\
             listener.security.protocol.map=CONTROLLER:PLAINTEXT,CLIENT:PLAINTEXT\n\
             advertised.listeners=CLIENT://kafka.example:9092\nlog.dirs= /a \nnode.id=7",
        ))
        .unwrap();
        assert_eq!(config.listener.bind_address(), "127.0.0.1:19092");
        assert_eq!(config.advertised_listener.host, "kafka.example");
        assert_eq!(config.log_dirs, vec![PathBuf::from("/a")]);
        assert_eq!(config.node_id, 7);
    }

    #[test]
    fn reads_the_metrics_listener() {
        let listener = |v: &str| {
            BrokerConfig::from_properties(&props(&format!("metrics.prometheus.listener={v}")))
                .map(|c| c.metrics_prometheus_listener)
        };
        assert_eq!(
            listener("http://127.0.0.1:9404").unwrap(),
            Some(Endpoint {
                host: "127.0.0.1".into(),
                port: 9404
            })
        );
        assert_eq!(
            listener("http://:9404").unwrap().unwrap().bind_address(),
            "0.0.0.0:9404"
        );
        assert_eq!(
            listener("http://[::1]:9404")
                .unwrap()
                .unwrap()
                .bind_address(),
            "[::1]:9404"
        );
        assert_eq!(listener("").unwrap(), None);
        assert_eq!(BrokerConfig::default().metrics_prometheus_listener, None);
        for bad in [
            "ftp://x",
            "ftp://x:1",
            "127.0.0.1:9404",
            "http://host",
            "http://host:port",
            "http://host:99999",
            "http://host:9404/metrics",
            "http://::1:9404",
            "http://[::1:9404",
        ] {
            let e = listener(bad).unwrap_err().to_string();
            assert!(e.contains("metrics.prometheus.listener"), "{bad}: {e}");
        }
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        let several = BrokerConfig::from_properties(&props("log.dirs=/a, /b")).unwrap();
        assert_eq!(
            several.log_dirs,
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
        let twice = BrokerConfig::from_properties(&props("log.dirs=/a,/b,/a/"));
        assert_eq!(
            twice.unwrap_err().to_string(),
            "log.dirs=/a,/b,/a/ names the directory /a/ more than once"
        );
        assert!(
            BrokerConfig::from_properties(&props(
                "listeners=CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER"
            ))
            .is_err()
        );
        assert!(BrokerConfig::from_properties(&props("listeners=PLAINTEXT://:port")).is_err());
        assert!(BrokerConfig::from_properties(&props("node.id=one")).is_err());
        let ignored = BrokerConfig::from_properties(&props("unknown.key=whatever")).unwrap();
        assert_eq!(
            BrokerConfig {
                properties: BTreeMap::new(),
                ..ignored
            },
            BrokerConfig::default()
        );
    }

    #[test]
    fn every_key_read_is_known() {
        // Every `get("...")` of `from_properties`, found in this file's text
        // so that keys read only in some branches are checked too.
        let source = include_str!("mod.rs");
        let body = source
            .split("pub fn from_properties")
            .nth(1)
            .and_then(|rest| rest.split("\n    }\n").next())
            .unwrap();
        let read: Vec<&str> = body
            .split("get(\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        assert!(read.len() >= 20, "found only {read:?}");
        for key in read {
            assert_eq!(
                keys::find(key).map(|k| k.kind),
                Some(keys::Kind::Read),
                "{key} is read but not in keys::KEYS as read"
            );
        }
        // And the listeners' keys: each `get("...")` of listeners.rs (its
        // code, not its tests) and each `ssl.*` key a listener takes.
        let listeners = include_str!("listeners.rs")
            .split("#[cfg(test)]")
            .next()
            .unwrap();
        let read: Vec<&str> = listeners
            .split("get(\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        assert!(read.len() >= 4, "found only {read:?}");
        for key in read.iter().chain(listeners::SSL_KEYS) {
            assert!(keys::find(key).is_some(), "{key} is not in keys::KEYS");
        }
    }

    #[test]
    fn dynamic_keys_are_sorted_known_and_parsed_over_the_static_ones() {
        // A dynamic key is read, or has a type to be checked by.
        for key in keys::KEYS.iter().filter(|k| k.dynamic) {
            assert!(
                key.kind == keys::Kind::Read || key.value_type.is_some(),
                "{}",
                key.name
            );
        }
        assert!(is_dynamic_key("log.retention.ms"));
        assert!(is_dynamic_key("listeners"));
        assert!(is_per_broker_key(
            "listener.name.sasl_plaintext.sasl.enabled.mechanisms"
        ));
        assert!(!is_dynamic_key("log.dirs"));
        let base = BrokerConfig::from_overrides(&[
            ("log.retention.hours".to_string(), "1".to_string()),
            ("log.segment.bytes".to_string(), "5000".to_string()),
        ])
        .unwrap();
        assert_eq!(base.log.retention_ms, 3_600_000);
        let default: BTreeMap<String, String> =
            [("log.retention.bytes".to_string(), "10".to_string())].into();
        let own: BTreeMap<String, String> = [
            ("log.retention.bytes".to_string(), "20".to_string()),
            ("log.retention.ms".to_string(), "-5".to_string()),
        ]
        .into();
        let merged = base.with_dynamic(Some(&default), Some(&own)).unwrap();
        assert_eq!(merged.log.retention_bytes, 20);
        assert_eq!(merged.log.retention_ms, -1);
        assert_eq!(merged.log.segment_bytes, 5000);
        let merged = base.with_dynamic(Some(&default), None).unwrap();
        assert_eq!(merged.log.retention_bytes, 10);
        let bad: BTreeMap<String, String> = [("log.roll.ms".to_string(), "0".to_string())].into();
        assert!(base.with_dynamic(None, Some(&bad)).is_err());
    }

    #[test]
    fn every_described_key_is_read_with_the_default_the_table_gives() {
        for (key, value, ..) in BrokerConfig::default().described() {
            let entry = keys::find(key).unwrap_or_else(|| panic!("{key} is not in keys::KEYS"));
            assert_eq!(
                entry.kind,
                keys::Kind::Read,
                "{key} is described but not read"
            );
            // Listeners are described as the broker names them
            // (PLAINTEXT://:9092), the defaults as Kafka writes them.
            if !matches!(key, "listeners" | "advertised.listeners") {
                assert_eq!(entry.default, value, "the default of {key}");
            }
        }
    }

    #[test]
    fn one_node_its_own_controller() {
        let node = |text: &str| BrokerConfig::from_properties(&props(text)).map(|c| c.node_id);
        assert_eq!(
            node("node.id=3\ncontroller.quorum.voters=3@localhost:9093").unwrap(),
            3
        );
        assert_eq!(node("broker.id=4").unwrap(), 4);
        assert_eq!(node("broker.id=4\nnode.id=4").unwrap(), 4);
        assert_eq!(node("process.roles=controller, broker").unwrap(), 1);
        for (bad, says) in [
            ("broker.id=4\nnode.id=5", "broker.id=4 must equal node.id=5"),
            (
                "controller.quorum.voters=1@a:9093,2@b:9093",
                "names 2 voters",
            ),
            (
                "node.id=2\ncontroller.quorum.voters=1@a:9093",
                "must name this node (node.id=2)",
            ),
            ("controller.quorum.voters=a:9093", "must name this node"),
            (
                "process.roles=broker",
                "process.roles=broker is not supported",
            ),
        ] {
            let err = node(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn refuses_what_it_does_not_have_and_takes_what_it_does() {
        let err = BrokerConfig::from_properties(&props("remote.log.storage.system.enable=true"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("remote.log.storage.system.enable=true is not supported: "),
            "{err}"
        );
        for accepted in [
            "remote.log.storage.system.enable=false",
            "remote.log.storage.system.enable=",
            "group.coordinator.rebalance.protocols=consumer, classic",
            "num.network.threads=8",
        ] {
            assert!(
                BrokerConfig::from_properties(&props(accepted)).is_ok(),
                "{accepted}"
            );
        }
        for key in keys::KEYS {
            if let keys::Kind::Refused { accepted, .. } = key.kind {
                for value in accepted {
                    assert!(key.accepts(value), "{} {value}", key.name);
                }
                assert!(!key.accepts("surely-not-accepted"), "{}", key.name);
                let refused = format!("{}=surely-not-accepted", key.name);
                assert!(
                    BrokerConfig::from_properties(&props(&refused)).is_err(),
                    "{refused}"
                );
            }
        }
    }

    #[test]
    fn refuses_unknown_override_keys_but_not_unknown_file_keys() {
        let typo = [("log.dir5".to_string(), "/data".to_string())];
        let err = BrokerConfig::from_overrides(&typo).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "--override log.dir5=/data: unknown configuration key \"log.dir5\""
        );
        let known = [
            ("log.dirs".to_string(), "/data".to_string()),
            ("log.retention.ms".to_string(), "1000".to_string()),
            (
                "metrics.prometheus.listener".to_string(),
                "http://:9404".to_string(),
            ),
        ];
        assert_eq!(
            BrokerConfig::from_overrides(&known).unwrap().log_dirs,
            vec![PathBuf::from("/data")]
        );
        assert!(BrokerConfig::from_properties(&props("log.dir5=/data")).is_ok());
    }
}
