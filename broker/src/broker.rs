//! The broker's shared state: configuration, metadata, logs and
//! coordinators, and the operations that span them.

use crate::authorizer::Authorizer;
use crate::config::BrokerConfig;
use crate::config::listeners::SecurityProtocol;
use crate::coordinator::consumer_group::ConsumerGroupConfig;
use crate::coordinator::share_coordinator::ShareCoordinatorConfig;
use crate::coordinator::share_partition_manager::SharePartitionManager;
use crate::coordinator::share_records::SHARE_GROUP_STATE_TOPIC;
use crate::coordinator::transaction_coordinator::{
    TRANSACTION_STATE_TOPIC, TransactionConfig, TransactionCoordinator, TxnMarker,
    TxnMarkerChannel, TxnPartition,
};
use crate::coordinator::{GroupConfig, GroupCoordinator, OFFSETS_TOPIC};
use crate::fetch_session::FetchSessionCache;
use crate::internal_topics::{LogTopic, TopicCreator};
use crate::metadata::controller::{
    ConfigChange, Controller, ControllerError, CreatedTopic, NewTopic, TopicDefaults,
};
use crate::metadata::meta_properties::{self, MetaProperties};
use crate::metadata::records::{BROKER_RESOURCE, TOPIC_RESOURCE};
use crate::metadata::{self, MetadataCache};
use crate::metrics::BrokerMetrics;
use crate::producer_id_manager::ProducerIdManager;
use crate::replica_manager::ReplicaManager;
use crate::storage::log_manager::{LogDirSpec, LogManagerConfig};
use crate::storage::{LogConfig, LogManager};
use crate::tls::TlsAcceptors;
use anyhow::Context;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};
use uuid::Uuid;

/// The largest batch the metadata log takes (Kafka's controller writes up
/// to 8 MiB at once).
const METADATA_MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// A listener as the APIs see it: its name, security protocol and what
/// clients of it are told to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerInfo {
    pub name: String,
    pub protocol: SecurityProtocol,
    pub advertised_host: String,
    pub advertised_port: u16,
}

pub struct Broker {
    pub config: BrokerConfig,
    /// Each client listener, in `listeners` order.
    pub listeners: Vec<Arc<ListenerInfo>>,
    pub meta: MetaProperties,
    /// Present only when `authorizer.class.name` is set.
    pub authorizer: Option<Authorizer>,
    pub metadata: MetadataCache,
    pub controller: Controller,
    pub replicas: ReplicaManager,
    pub producer_ids: ProducerIdManager,
    pub fetch_sessions: FetchSessionCache,
    pub groups: GroupCoordinator,
    /// Share groups' partitions, sessions and durable state (KIP-932).
    pub shares: SharePartitionManager,
    pub txns: TransactionCoordinator,
    /// Present only when `metrics.prometheus.listener` is set.
    pub metrics: Option<BrokerMetrics>,
    /// The SSL listeners' acceptors, with the dynamic keystores and
    /// truststores applied.
    pub tls: TlsAcceptors,
    /// The listeners' settings this run serves with: the static ones with
    /// the dynamic broker configs the metadata log held at start (a SASL
    /// listener's mechanisms and users among them).
    pub listener_configs: Vec<crate::config::listeners::ListenerConfig>,
}

impl Broker {
    /// Opens the log directory (creating what is missing), loads the cluster
    /// metadata and recovers the log of every partition it names.
    pub fn open(config: BrokerConfig) -> anyhow::Result<Broker> {
        let log_dirs = config.log_dirs.clone();
        // The first directory (the metadata log's) must work; another that
        // cannot be created or written is offline from the start, as in
        // Kafka, unless none is left.
        let mut failed = vec![false; log_dirs.len()];
        for (i, dir) in log_dirs.iter().enumerate() {
            let usable = std::fs::create_dir_all(dir)
                .map_err(anyhow::Error::from)
                .and_then(|()| check_log_dir(dir));
            match usable {
                Ok(()) => {}
                Err(e) if i > 0 => {
                    tracing::error!(log_dir = %dir.display(), "cannot use the log directory: {e:#}");
                    failed[i] = true;
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot create log directory {}", dir.display()));
                }
            }
        }
        let usable_dirs: Vec<PathBuf> = log_dirs
            .iter()
            .zip(&failed)
            .filter(|(_, failed)| !**failed)
            .map(|(d, _)| d.clone())
            .collect();
        let mut metas =
            meta_properties::load_or_create_all(&usable_dirs, config.node_id)?.into_iter();
        let mut specs = Vec::with_capacity(log_dirs.len());
        for (path, failed) in log_dirs.iter().zip(failed) {
            let id = if failed {
                // Its real id is unknown: nothing is assigned to this one.
                Uuid::new_v4()
            } else {
                metas
                    .next()
                    .and_then(|m| m.directory_uuid())
                    .unwrap_or_else(Uuid::new_v4)
            };
            specs.push(LogDirSpec {
                path: path.clone(),
                id,
                failed,
            });
        }
        let meta = meta_properties::load_or_create(&log_dirs[0], config.node_id)?;
        let directory_ids: Vec<Uuid> = specs.iter().map(|s| s.id).collect();
        let log_dir = log_dirs[0].clone();
        // The metadata log takes no cleanup policy: its records have no
        // keys and the cleaner and retention leave it alone.
        let metadata_log_config = LogConfig {
            max_message_bytes: METADATA_MAX_BATCH_BYTES,
            compact: false,
            ..config.log
        };
        let logs = LogManager::with_config(
            specs,
            config.log,
            LogManagerConfig {
                flush_check_interval: Duration::from_millis(config.log_flush_scheduler_interval_ms),
                recovery_point_checkpoint_interval: Duration::from_millis(
                    config.log_flush_offset_checkpoint_interval_ms,
                ),
                log_start_offset_checkpoint_interval: Duration::from_millis(
                    config.log_flush_start_offset_checkpoint_interval_ms,
                ),
                retention_check_interval: Duration::from_millis(
                    config.log_retention_check_interval_ms,
                ),
                cleaner: config.cleaner,
            },
        )
        .with_context(|| {
            let names: Vec<String> = log_dirs.iter().map(|d| d.display().to_string()).collect();
            format!("cannot open the log directories {}", names.join(","))
        })?;
        let logs = Arc::new(logs);
        let (metadata_log, image) = metadata::open_and_load(&logs, metadata_log_config)
            .with_context(|| format!("cannot load the metadata log in {}", log_dir.display()))?;
        let replicas = ReplicaManager::new(Arc::clone(&logs), config.clone());
        replicas
            .open_all(&image)
            .context("cannot open the partition logs")?;
        replicas
            .sync_with_image(&image)
            .context("cannot open the partition logs")?;
        let (loaded, scanned_bytes) = logs.load_stats();
        info!(
            logs = loaded,
            clean_shutdown = logs.had_clean_shutdown(),
            recovery_scanned_bytes = scanned_bytes,
            "loaded logs"
        );
        info!(
            cluster_id = %meta.cluster_id,
            node_id = config.node_id,
            log_dirs = %log_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(","),
            partitions = replicas.logs().all_logs().len(),
            "broker state loaded"
        );
        // The listeners' TLS with the dynamic broker configs the metadata
        // log holds (a keystore changed at runtime stays changed).
        let node = config.node_id.to_string();
        let tls_config = config
            .with_dynamic(
                image.configs(BROKER_RESOURCE, ""),
                image.configs(BROKER_RESOURCE, &node),
            )
            .unwrap_or_else(|e| {
                warn!("ignoring dynamic broker configs for TLS: {e:#}");
                config.clone()
            });
        let tls = TlsAcceptors::build(&tls_config.listeners)?;
        let listener_configs = tls_config.listeners.clone();
        let listeners = config
            .listeners
            .iter()
            .map(|l| {
                let advertised_host = match l.advertised.host.as_str() {
                    // An empty host is this machine's name, as in Kafka.
                    "" | "0.0.0.0" | "::" => local_hostname(),
                    host => host.to_string(),
                };
                Arc::new(ListenerInfo {
                    name: l.name.clone(),
                    protocol: l.protocol,
                    advertised_host,
                    advertised_port: l.advertised.port,
                })
            })
            .collect();
        let groups = GroupCoordinator::new(GroupConfig {
            consumer: ConsumerGroupConfig {
                assignors: config.group_consumer_assignors.clone(),
                session_timeout_ms: config.group_consumer_session_timeout_ms,
                heartbeat_interval_ms: config.group_consumer_heartbeat_interval_ms,
                max_size: config.group_consumer_max_size,
            },
            initial_rebalance_delay: std::time::Duration::from_millis(
                config.group_initial_rebalance_delay_ms,
            ),
            min_session_timeout_ms: config.group_min_session_timeout_ms,
            max_session_timeout_ms: config.group_max_session_timeout_ms,
            offsets_topic_partitions: config.offsets_topic_num_partitions,
            offsets_topic_segment_bytes: config.offsets_topic_segment_bytes,
            offset_metadata_max_bytes: config.offset_metadata_max_bytes,
        });
        let txns = TransactionCoordinator::new(TransactionConfig {
            num_partitions: config.transaction_state_log_num_partitions,
            segment_bytes: config.transaction_state_log_segment_bytes,
            max_timeout_ms: config.transaction_max_timeout_ms,
            id_expiration_ms: config.transactional_id_expiration_ms,
        });
        let shares = SharePartitionManager::new(
            ShareCoordinatorConfig {
                state_topic_num_partitions: config.share.state_topic_num_partitions,
                state_topic_segment_bytes: config.share.state_topic_segment_bytes,
                snapshot_update_records_per_snapshot: config
                    .share
                    .snapshot_update_records_per_snapshot
                    .max(0) as usize,
            },
            config.share.max_share_sessions,
        );
        let broker = Broker {
            groups,
            shares,
            txns,
            metrics: config
                .metrics_prometheus_listener
                .is_some()
                .then(BrokerMetrics::new),
            listeners,
            authorizer: config.authorizer.as_ref().map(Authorizer::from_config),
            controller: Controller::new(metadata_log, config.node_id, directory_ids),
            metadata: MetadataCache::new(image),
            replicas,
            producer_ids: ProducerIdManager::default(),
            fetch_sessions: FetchSessionCache::new(
                config.max_incremental_fetch_session_cache_slots,
            ),
            listener_configs,
            config,
            meta,
            tls,
        };
        if broker
            .controller
            .bootstrap_features(&broker.metadata)
            .context("cannot write the feature levels to the metadata log")?
        {
            let image = broker.metadata.image();
            let finalized: Vec<String> = metadata::features::finalized(&image)
                .iter()
                .map(|(name, level)| format!("{name}={level}"))
                .collect();
            info!(features = %finalized.join(","), "finalized the feature levels of a new metadata log");
        }
        // Where each partition's log is, and which partitions a failed
        // directory took offline, as the metadata records them.
        broker
            .reconcile_log_dirs()
            .context("cannot record the partitions' log directories")?;
        broker
            .groups
            .load(&broker.offsets_topic())
            .context("cannot load the consumer groups")?;
        broker
            .shares
            .coordinator()
            .load(&broker.share_state_topic())
            .context("cannot load the share groups' state")?;
        broker
            .groups
            .restore_share_groups(broker.shares.coordinator().groups());
        // Transactions left prepared get their markers now, so the groups
        // are loaded first (their pending offsets take the markers).
        broker
            .txns
            .load(&broker.transaction_state_topic(), &broker)
            .context("cannot load the transactions")?;
        broker
            .replicas
            .logs()
            .startup()
            .context("cannot start the log manager")?;
        Ok(broker)
    }

    pub fn topic_defaults(&self) -> TopicDefaults {
        TopicDefaults {
            num_partitions: self.config.num_partitions,
            replication_factor: self.config.default_replication_factor,
        }
    }

    /// Creates a topic (or validates it) and opens its logs.
    pub fn create_topic(
        &self,
        topic: &NewTopic,
        validate_only: bool,
    ) -> Result<CreatedTopic, ControllerError> {
        let created = self.controller.create_topic(
            &self.metadata,
            topic,
            self.topic_defaults(),
            validate_only,
        )?;
        if !validate_only {
            self.replicas.sync_with_image(&self.metadata.image())?;
            self.reconcile_log_dirs()?;
        }
        Ok(created)
    }

    /// Brings the metadata in line with the log directories (what Kafka's
    /// broker tells its controller with AssignReplicasToDirs and its
    /// heartbeat's offline directories, and the controller records as
    /// PartitionChangeRecords): a partition's `directories` name the
    /// directory its log is in; a partition whose directory failed loses
    /// its leader (Kafka's `handleDirectoriesOffline`), and gets it back
    /// once its log is served again (after a restart with the directory
    /// repaired). Returns the partitions changed.
    pub fn reconcile_log_dirs(&self) -> Result<usize, ControllerError> {
        use crate::metadata::records::{NO_LEADER_CHANGE, PartitionChangeRecord};
        let image = self.metadata.image();
        let logs = self.replicas.logs();
        let node_id = self.config.node_id;
        let mut changes = Vec::new();
        for topic in image.topics() {
            for (&index, registration) in &topic.partitions {
                let mut change = PartitionChangeRecord::unchanged(topic.id, index);
                let tp = crate::storage::TopicPartition::new(topic.name.as_str(), index);
                let log = logs.get_log(&topic.name, index);
                if let Some(dir) = log.as_deref().and_then(|l| logs.dir_id_of(l))
                    && registration.directories.first() != Some(&dir)
                {
                    let mut directories = registration.directories.clone();
                    directories.resize(registration.replicas.len().max(1), dir);
                    if let Some(i) = registration.replicas.iter().position(|&r| r == node_id) {
                        directories[i] = dir;
                    }
                    change.directories = Some(directories);
                }
                if logs.is_partition_offline(&tp) {
                    if registration.leader == node_id {
                        change.leader = -1;
                    }
                } else if log.is_some()
                    && registration.leader == -1
                    && registration.isr.contains(&node_id)
                {
                    change.leader = node_id;
                }
                if change.directories.is_some() || change.leader != NO_LEADER_CHANGE {
                    changes.push(change);
                }
            }
        }
        if changes.is_empty() {
            return Ok(0);
        }
        let changed = self.controller.change_partitions(&self.metadata, changes)?;
        if changed > 0 {
            info!(
                partitions = changed,
                "recorded the partitions' log directories and leaders"
            );
        }
        Ok(changed)
    }

    /// The group coordinator's way to `__consumer_offsets`.
    pub fn offsets_topic(&self) -> LogTopic<'_, impl Fn() -> NewTopic + Sync + '_> {
        LogTopic {
            name: OFFSETS_TOPIC,
            spec: || self.groups.offsets_topic_spec(),
            metadata: &self.metadata,
            replicas: &self.replicas,
            creator: self,
        }
    }

    /// The share coordinator's way to `__share_group_state`.
    pub fn share_state_topic(&self) -> LogTopic<'_, impl Fn() -> NewTopic + Sync + '_> {
        LogTopic {
            name: SHARE_GROUP_STATE_TOPIC,
            spec: || self.shares.coordinator().state_topic_spec(),
            metadata: &self.metadata,
            replicas: &self.replicas,
            creator: self,
        }
    }

    /// Whether share groups are served: `group.share.enable`, or the
    /// `share.version` feature at level 1 (Kafka's
    /// `isShareGroupProtocolEnabled`).
    pub fn share_groups_enabled(&self) -> bool {
        self.config.share.enable
            || self
                .metadata
                .image()
                .features()
                .get(metadata::features::SHARE_VERSION)
                .is_some_and(|&level| level >= 1)
    }

    /// The share groups' timers: members whose session ran out are fenced
    /// and their records released; acquisition locks that ran out release
    /// their records. Called with the group timers.
    pub fn share_tick(&self) {
        let image = self.metadata.image();
        let topic = self.share_state_topic();
        let now = crate::coordinator::now_ms();
        for (group, member) in self.groups.expire_share_members(&image) {
            self.shares.release_member(&topic, &group, &member, now);
        }
        self.shares.expire_locks(&topic, now);
    }

    /// The transaction coordinator's way to `__transaction_state`.
    pub fn transaction_state_topic(&self) -> LogTopic<'_, impl Fn() -> NewTopic + Sync + '_> {
        LogTopic {
            name: TRANSACTION_STATE_TOPIC,
            spec: || self.txns.state_topic_spec(),
            metadata: &self.metadata,
            replicas: &self.replicas,
            creator: self,
        }
    }

    /// Deletes a topic and its logs; returns its name.
    pub fn delete_topic(&self, topic_id: Uuid) -> Result<String, ControllerError> {
        if !self.config.delete_topic_enable {
            return Err(ControllerError::TopicDeletionDisabled);
        }
        let name = self.controller.delete_topic(&self.metadata, topic_id)?;
        self.replicas.sync_with_image(&self.metadata.image())?;
        self.groups.on_topic_deleted(&self.offsets_topic(), &name);
        self.shares
            .delete_topic(&self.share_state_topic(), topic_id);
        if let Some(metrics) = &self.metrics {
            metrics.forget_topic(&name);
        }
        Ok(name)
    }

    /// Alters a resource's configuration (AlterConfigs with `replace`,
    /// IncrementalAlterConfigs without) and applies it to the live logs:
    /// a topic's to its own, dynamic broker configs to every log that has
    /// no override of its own. A group's configs are checked against the
    /// broker's group settings (Kafka's `GroupConfig`).
    pub fn alter_configs(
        &self,
        resource_type: i8,
        name: &str,
        changes: &[(String, ConfigChange)],
        replace: bool,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        let mut seen = std::collections::HashSet::new();
        if let Some((key, _)) = changes.iter().find(|(key, _)| !seen.insert(key)) {
            return Err(ControllerError::InvalidRequest(format!(
                "Error due to duplicate config keys: {key}"
            )));
        }
        match resource_type {
            TOPIC_RESOURCE => {
                self.controller.alter_topic_configs(
                    &self.metadata,
                    name,
                    changes,
                    replace,
                    validate_only,
                )?;
                if !validate_only {
                    self.replicas.sync_with_image(&self.metadata.image())?;
                }
                Ok(())
            }
            BROKER_RESOURCE => {
                let node = self.config.node_id.to_string();
                let image = self.metadata.image();
                // The overrides must parse over the static configuration
                // together with the other level's.
                // A change of a listener's keystore or truststore (or of
                // any `ssl.*` key they inherit) rebuilds the TLS acceptors.
                let touches_tls = replace
                    || changes.iter().any(|(key, _)| {
                        crate::config::listeners::is_reconfigurable_listener_key(key)
                            || key.starts_with("ssl.")
                    });
                let validate = |altered: &std::collections::BTreeMap<String, String>| {
                    let (cluster_default, own) = if name.is_empty() {
                        (Some(altered), image.configs(BROKER_RESOURCE, &node))
                    } else if name == node {
                        (image.configs(BROKER_RESOURCE, ""), Some(altered))
                    } else {
                        (None, Some(altered))
                    };
                    let merged = self
                        .config
                        .with_dynamic(cluster_default, own)
                        .map_err(|e| format!("{e:#}"))?;
                    // A listener's new keystore or truststore must be one it
                    // can serve with (Kafka's SslFactory.validateReconfiguration).
                    if touches_tls {
                        crate::tls::TlsAcceptors::check(&merged.listeners)
                            .map_err(|e| format!("{e:#}"))?;
                    }
                    // Kafka's DynamicListenerConfig.validateReconfiguration,
                    // from this broker's running listeners.
                    if name.is_empty() || name == node {
                        let current = self
                            .config
                            .with_dynamic(
                                image.configs(BROKER_RESOURCE, ""),
                                image.configs(BROKER_RESOURCE, &node),
                            )
                            .map_err(|e| format!("{e:#}"))?;
                        current.check_listener_reconfiguration(&merged)?;
                    }
                    // Kafka's DynamicThreadPool.validateReconfiguration, for
                    // the pools Kafka resizes (they have no effect here, but
                    // Kafka's limits on a change hold).
                    let value_of = |key: &str,
                                    overrides: [Option<&std::collections::BTreeMap<String, String>>;
                                        2]| {
                        overrides
                            .into_iter()
                            .flatten()
                            .find_map(|o| o.get(key))
                            .or_else(|| self.config.properties.get(key))
                            .and_then(|v| v.trim().parse::<i64>().ok())
                    };
                    let now = [
                        image.configs(BROKER_RESOURCE, &node),
                        image.configs(BROKER_RESOURCE, ""),
                    ];
                    for (key, default) in [
                        ("num.io.threads", 8),
                        ("num.network.threads", 3),
                        ("num.replica.fetchers", 1),
                        ("num.recovery.threads.per.data.dir", 2),
                        ("background.threads", 10),
                    ] {
                        let current = value_of(key, now).unwrap_or(default);
                        let Some(next) = value_of(key, [own, cluster_default]) else {
                            continue;
                        };
                        if next == current {
                            continue;
                        }
                        if next < 1 {
                            return Err(format!("{key} value should be at least 1"));
                        }
                        if next < current / 2 {
                            return Err(format!(
                                "{key} value cannot be reduced to less than half the current value {current}"
                            ));
                        }
                        if next > current * 2 {
                            return Err(format!(
                                "{key} value cannot be increased to more than double the current value {current}"
                            ));
                        }
                    }
                    // Kafka's LogCleaner.validateReconfiguration.
                    let current = self.replicas.logs().cleaner().config().threads;
                    let threads = merged.cleaner.threads;
                    if threads != current {
                        if threads < 1 {
                            return Err("Log cleaner threads should be at least 1".into());
                        }
                        if threads < current / 2 {
                            return Err(format!(
                                "Log cleaner threads cannot be reduced to less than half the current value {current}"
                            ));
                        }
                        if threads > current * 2 {
                            return Err(format!(
                                "Log cleaner threads cannot be increased to more than double the current value {current}"
                            ));
                        }
                    }
                    Ok(())
                };
                self.controller.alter_broker_configs(
                    &self.metadata,
                    name,
                    changes,
                    replace,
                    validate_only,
                    &validate,
                )?;
                if !validate_only {
                    let image = self.metadata.image();
                    self.replicas.sync_with_image(&image)?;
                    if touches_tls {
                        self.reload_tls(&image);
                    }
                }
                Ok(())
            }
            crate::metadata::records::GROUP_RESOURCE => {
                self.controller.alter_group_configs(
                    &self.metadata,
                    name,
                    changes,
                    replace,
                    validate_only,
                    &|altered| crate::config::group::validate(altered, &self.config).map(|_| ()),
                )?;
                Ok(())
            }
            other => Err(ControllerError::InvalidRequest(format!(
                "Unexpected resource type {other}"
            ))),
        }
    }

    /// A group's own configs (config resource GROUP), as the metadata
    /// holds them now; each method of [`crate::config::group::GroupConfig`]
    /// gives a value in effect, the group's or the broker's setting.
    pub fn group_config(&self, group_id: &str) -> crate::config::group::GroupConfig {
        self.metadata
            .image()
            .configs(crate::metadata::records::GROUP_RESOURCE, group_id)
            .map(crate::config::group::GroupConfig::parse_lenient)
            .unwrap_or_default()
    }

    /// Rebuilds the SSL listeners' acceptors from the configuration with
    /// `image`'s dynamic broker configs: connections accepted from now on
    /// get the new keystore and truststore.
    fn reload_tls(&self, image: &metadata::MetadataImage) {
        let node = self.config.node_id.to_string();
        let merged = match self.config.with_dynamic(
            image.configs(BROKER_RESOURCE, ""),
            image.configs(BROKER_RESOURCE, &node),
        ) {
            Ok(merged) => merged,
            Err(e) => {
                warn!("cannot reload the TLS listeners: {e:#}");
                return;
            }
        };
        match self.tls.reload(&merged.listeners) {
            Ok(names) => {
                for name in names {
                    info!(listener = %name, "reloaded the listener's keystore and truststore");
                }
            }
            Err(e) => warn!("cannot reload the TLS listeners: {e:#}"),
        }
    }

    /// Adds partitions to a topic and opens their logs.
    pub fn create_partitions(
        &self,
        name: &str,
        count: i32,
        assignments: Option<&[Vec<i32>]>,
        validate_only: bool,
    ) -> Result<Vec<i32>, ControllerError> {
        let created = self.controller.create_partitions(
            &self.metadata,
            name,
            count,
            assignments,
            validate_only,
        )?;
        if !validate_only {
            self.replicas.sync_with_image(&self.metadata.image())?;
            self.reconcile_log_dirs()?;
        }
        Ok(created)
    }

    /// Forces all logs to disk.
    pub fn flush(&self) -> std::io::Result<()> {
        self.controller.log().flush()?;
        self.replicas.flush_all()
    }

    /// A clean shutdown of storage: every log closed, the checkpoints and
    /// the clean shutdown marker written.
    pub fn shutdown(&self) -> std::io::Result<()> {
        self.replicas.shutdown()
    }
}

/// The transaction coordinator's markers go straight to the partition logs
/// (one broker leads them all); a marker in `__consumer_offsets` also ends
/// the transaction's pending offsets in the groups of that partition.
impl TopicCreator for Broker {
    fn create_topic(&self, topic: &NewTopic) -> Result<(), ControllerError> {
        Broker::create_topic(self, topic, false).map(|_| ())
    }
}

impl TxnMarkerChannel for Broker {
    fn write_marker(&self, marker: &TxnMarker, partition: &TxnPartition) -> Result<(), String> {
        let (topic_name, index) = partition;
        let image = self.metadata.image();
        let Some(topic) = image.topic(topic_name) else {
            return Ok(());
        };
        match self.append_txn_marker(&image, topic, *index, marker) {
            Ok(_) | Err(crate::storage::AppendError::Deleted) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl Broker {
    /// Appends a transaction marker to partition `index` of `topic` (a
    /// partition `image` does not have is [`AppendError::Deleted`]); a
    /// marker in `__consumer_offsets` also ends the transaction's pending
    /// offsets in the groups of that partition. Returns its offset.
    ///
    /// [`AppendError::Deleted`]: crate::storage::AppendError::Deleted
    pub fn append_txn_marker(
        &self,
        image: &metadata::MetadataImage,
        topic: &metadata::TopicImage,
        index: i32,
        marker: &TxnMarker,
    ) -> Result<i64, crate::storage::AppendError> {
        let Some(registration) = topic.partitions.get(&index) else {
            return Err(crate::storage::AppendError::Deleted);
        };
        let log = self.replicas.log(image, topic, index)?;
        let offset = self.replicas.append_marker(
            &log,
            marker.producer_id,
            marker.producer_epoch,
            marker.coordinator_epoch,
            marker.commit,
            registration.leader_epoch,
        )?;
        if topic.name == OFFSETS_TOPIC {
            self.groups.complete_txn(
                marker.producer_id,
                marker.commit,
                index,
                topic.partitions.len() as i32,
            );
        }
        Ok(offset)
    }
}

/// Keeps the metadata in line with the log directories while the broker
/// runs: a move that finished or a directory that failed is recorded (see
/// [`Broker::reconcile_log_dirs`]). If that cannot be written for
/// `log.dir.failure.timeout.ms`, the broker shuts down, as Kafka's does
/// when its controller does not hear of a failed directory in time.
pub async fn maintain_log_dirs(broker: Arc<Broker>) {
    let changed = Arc::new(tokio::sync::Notify::new());
    let notify = Arc::clone(&changed);
    broker
        .replicas
        .logs()
        .set_directory_listener(Box::new(move || notify.notify_one()));
    let timeout = Duration::from_millis(broker.config.log_dir_failure_timeout_ms);
    let mut failing_since: Option<std::time::Instant> = None;
    loop {
        if failing_since.is_some() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        } else {
            changed.notified().await;
        }
        match broker.reconcile_log_dirs() {
            Ok(_) => failing_since = None,
            Err(e) => {
                let since = *failing_since.get_or_insert_with(std::time::Instant::now);
                warn!("cannot record a change of the log directories: {e}");
                if since.elapsed() >= timeout {
                    tracing::error!(
                        "Shutting down: the failure of a log directory could not be recorded in {} ms (log.dir.failure.timeout.ms)",
                        timeout.as_millis()
                    );
                    std::process::exit(1);
                }
            }
        }
    }
}

/// Checks, without writing anything, that `log_dir` is a writable
/// directory or can be created: that its nearest existing ancestor is a
/// directory this process may write to.
pub fn check_log_dir(log_dir: &Path) -> anyhow::Result<()> {
    let fail =
        |why: String| anyhow::anyhow!("cannot create log directory {}: {why}", log_dir.display());
    let existing = log_dir
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .find(|p| std::fs::symlink_metadata(p).is_ok())
        .unwrap_or(Path::new("."));
    let metadata =
        std::fs::metadata(existing).map_err(|e| fail(format!("{}: {e}", existing.display())))?;
    if !metadata.is_dir() {
        return Err(fail(format!("{} is not a directory", existing.display())));
    }
    let c_path = std::ffi::CString::new(existing.as_os_str().as_bytes())
        .map_err(|_| fail("the path holds a NUL byte".to_string()))?;
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call.
    if unsafe { libc::access(c_path.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(fail(format!("{} is not writable: {e}", existing.display())));
    }
    Ok(())
}

fn local_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..len]) {
        Ok(name) if rc == 0 && !name.is_empty() => name.to_string(),
        _ => "localhost".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_directory_below_a_file_cannot_be_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let err = check_log_dir(&file.join("logs/deeper")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot create log directory {}: {} is not a directory",
                file.join("logs/deeper").display(),
                file.display()
            )
        );
        assert!(check_log_dir(&file).is_err());
        assert!(check_log_dir(dir.path()).is_ok());
        assert!(check_log_dir(&dir.path().join("a/b/c")).is_ok());
        assert!(!dir.path().join("a").exists());
        assert!(check_log_dir(Path::new("relative/logs")).is_ok());
    }
}
