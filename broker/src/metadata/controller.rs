//! The controller of this one-node cluster: it validates topic changes,
//! writes them as records to the metadata log (`__cluster_metadata-0`,
//! forced to disk), then replays them into a new image and publishes it
//! (Kafka's `QuorumController` and `ReplicationControlManager`).
//!
//! Writes are serialised: validation, append and publish happen under one
//! lock, so two requests cannot both create the same topic.

use super::features;
use super::image::{MetadataDelta, MetadataImage};
use super::records::{
    BROKER_RESOURCE, ConfigRecord, GROUP_RESOURCE, MetadataRecord, PartitionChangeRecord,
    PartitionRecord, ProducerIdsRecord, RemoveTopicRecord, TOPIC_RESOURCE, TopicRecord,
};
use super::topic_config::{ConfigType, topic_config_def, validate_topic_config};
use super::{METADATA_LOG_DIR, MetadataCache, validate_topic_name};
use crate::storage::UnifiedLog;
use crate::storage::record_batch::{self, NewRecord};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashSet};
use std::io;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;
use tracing::{info, warn};
use uuid::Uuid;

/// The epoch stamped on the metadata batches this controller writes.
const CONTROLLER_EPOCH: i32 = 1;

#[derive(Debug, Error)]
pub enum ControllerError {
    #[error("{0}")]
    TopicAlreadyExists(String),
    #[error("{0}")]
    InvalidTopic(String),
    #[error("{0}")]
    InvalidPartitions(String),
    #[error("{0}")]
    InvalidReplicationFactor(String),
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    #[error("{0}")]
    InvalidConfig(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    UnknownTopicOrPartition(String),
    #[error("{0}")]
    UnknownTopicId(String),
    #[error("topic deletion is disabled")]
    TopicDeletionDisabled,
    #[error("cannot write the metadata log: {0}")]
    Storage(#[from] io::Error),
}

/// A topic to create, as CreateTopics or auto-creation asks for it.
#[derive(Debug, Clone, Default)]
pub struct NewTopic {
    pub name: String,
    /// -1 for the broker's `num.partitions`.
    pub num_partitions: i32,
    /// -1 for the broker's `default.replication.factor`.
    pub replication_factor: i16,
    /// Explicit replicas per partition index (exclusive with the counts).
    pub assignments: Vec<(i32, Vec<i32>)>,
    pub configs: Vec<(String, Option<String>)>,
}

/// What creating (or validating) a topic produced.
#[derive(Debug, Clone)]
pub struct CreatedTopic {
    pub name: String,
    pub topic_id: Uuid,
    pub num_partitions: i32,
    pub replication_factor: i16,
    pub configs: BTreeMap<String, String>,
}

/// One change to a topic configuration (IncrementalAlterConfigs'
/// operations; legacy AlterConfigs sets every key it names and drops the
/// rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    Set(Option<String>),
    Delete,
    /// Adds items to a list configuration.
    Append(Option<String>),
    /// Removes items from a list configuration.
    Subtract(Option<String>),
}

/// How a resource type's configuration keys are checked: per key
/// (whether it is a list, and its default), per value, and as a whole.
struct ConfigRules<'a> {
    key: &'a KeyRule<'a>,
    value: &'a ValueRule<'a>,
    all: &'a OverridesRule<'a>,
}

/// A key's rule: whether its value is a list, and its default.
type KeyRule<'a> = dyn Fn(&str) -> Result<(bool, String), ControllerError> + 'a;
type ValueRule<'a> = dyn Fn(&str, Option<&str>) -> Result<(), String> + 'a;
/// Checks a resource's overrides as a whole.
pub type OverridesRule<'a> = dyn Fn(&BTreeMap<String, String>) -> Result<(), String> + 'a;

/// Defaults for topics created without counts.
#[derive(Debug, Clone, Copy)]
pub struct TopicDefaults {
    pub num_partitions: i32,
    pub replication_factor: i16,
}

pub struct Controller {
    log: Arc<UnifiedLog>,
    lock: Mutex<()>,
    node_id: i32,
    /// The broker's log directories' ids, the metadata log's first.
    directory_ids: Vec<Uuid>,
}

/// Kafka's `DirectoryId.UNASSIGNED`: a replica no directory holds yet.
pub const UNASSIGNED_DIRECTORY: Uuid = Uuid::nil();

impl Controller {
    pub fn new(log: Arc<UnifiedLog>, node_id: i32, directory_ids: Vec<Uuid>) -> Self {
        Controller {
            log,
            lock: Mutex::new(()),
            node_id,
            directory_ids,
        }
    }

    pub fn log(&self) -> &UnifiedLog {
        &self.log
    }

    /// The quorum's only voter, this node: its id, the directory id of
    /// the metadata log's directory, and its leader epoch.
    pub fn voter(&self) -> (i32, Uuid, i32) {
        let directory = self.directory_ids.first().copied().unwrap_or_default();
        (self.node_id, directory, CONTROLLER_EPOCH)
    }

    /// Creates a topic, or only checks that it could be with `validate_only`.
    pub fn create_topic(
        &self,
        cache: &MetadataCache,
        topic: &NewTopic,
        defaults: TopicDefaults,
        validate_only: bool,
    ) -> Result<CreatedTopic, ControllerError> {
        let _guard = self.lock.lock();
        let image = cache.image();
        let name = topic.name.as_str();
        if name == "__cluster_metadata" || name == METADATA_LOG_DIR {
            return Err(ControllerError::InvalidRequest(format!(
                "Creation of internal topic {name} is prohibited."
            )));
        }
        validate_topic_name(name)
            .map_err(|e| ControllerError::InvalidTopic(format!("Topic name is invalid: {e}")))?;
        if image.topic(name).is_some() {
            return Err(ControllerError::TopicAlreadyExists(format!(
                "Topic '{name}' already exists."
            )));
        }
        if let Some(other) = image.topics().find(|t| collides(&t.name, name)) {
            return Err(ControllerError::InvalidTopic(format!(
                "Topic '{name}' collides with existing topic: {}",
                other.name
            )));
        }

        let assignments = self.assignments(topic, defaults)?;
        let mut configs = BTreeMap::new();
        for (key, value) in &topic.configs {
            validate_topic_config(key, value.as_deref()).map_err(ControllerError::InvalidConfig)?;
            if let Some(value) = value {
                configs.insert(key.clone(), value.trim().to_string());
            }
        }
        let created = CreatedTopic {
            name: name.to_string(),
            topic_id: Uuid::new_v4(),
            num_partitions: assignments.len() as i32,
            replication_factor: assignments.first().map_or(1, |(_, r)| r.len() as i16),
            configs,
        };
        if validate_only {
            return Ok(created);
        }

        let mut records = vec![MetadataRecord::Topic(TopicRecord {
            name: created.name.clone(),
            topic_id: created.topic_id,
        })];
        records.extend(created.configs.iter().map(|(key, value)| {
            MetadataRecord::Config(ConfigRecord {
                resource_type: TOPIC_RESOURCE,
                resource_name: created.name.clone(),
                name: key.clone(),
                value: Some(value.clone()),
            })
        }));
        records.extend(
            assignments
                .into_iter()
                .map(|(index, replicas)| self.partition_record(created.topic_id, index, replicas)),
        );
        self.commit(cache, &image, records)?;
        info!(topic = %created.name, topic_id = %created.topic_id, partitions = created.num_partitions, "created topic");
        Ok(created)
    }

    /// The replicas of each new partition, checked against what this
    /// one-node cluster can hold.
    fn assignments(
        &self,
        topic: &NewTopic,
        defaults: TopicDefaults,
    ) -> Result<Vec<(i32, Vec<i32>)>, ControllerError> {
        if !topic.assignments.is_empty() {
            if topic.num_partitions != -1 || topic.replication_factor != -1 {
                return Err(ControllerError::InvalidRequest(
                    "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".into(),
                ));
            }
            let mut assignments = topic.assignments.clone();
            assignments.sort_by_key(|(index, _)| *index);
            for (expected, (index, replicas)) in assignments.iter().enumerate() {
                if *index != expected as i32 {
                    return Err(ControllerError::InvalidReplicaAssignment(
                        "Partitions should be numbered consecutively from 0.".into(),
                    ));
                }
                self.check_replicas(replicas)?;
            }
            return Ok(assignments);
        }
        let partitions = match topic.num_partitions {
            -1 => defaults.num_partitions,
            n if n <= 0 => {
                return Err(ControllerError::InvalidPartitions(
                    "Number of partitions was set to an invalid non-positive value.".into(),
                ));
            }
            n => n,
        };
        let replication_factor = match topic.replication_factor {
            -1 => defaults.replication_factor,
            n if n <= 0 => {
                return Err(ControllerError::InvalidReplicationFactor(
                    "Replication factor must be larger than 0, or -1 to use the default value."
                        .into(),
                ));
            }
            n => n,
        };
        if replication_factor != 1 {
            return Err(ControllerError::InvalidReplicationFactor(format!(
                "Unable to replicate the partition {replication_factor} time(s): The target replication factor of {replication_factor} cannot be reached because only 1 broker(s) are registered."
            )));
        }
        Ok((0..partitions).map(|i| (i, vec![self.node_id])).collect())
    }

    fn check_replicas(&self, replicas: &[i32]) -> Result<(), ControllerError> {
        if replicas.is_empty() {
            return Err(ControllerError::InvalidReplicaAssignment(
                "The manual partition assignment includes an empty replica list.".into(),
            ));
        }
        let mut seen = HashSet::new();
        for id in replicas {
            if !seen.insert(id) {
                return Err(ControllerError::InvalidReplicaAssignment(format!(
                    "The manual partition assignment includes the broker {id} more than once."
                )));
            }
            if *id != self.node_id {
                return Err(ControllerError::InvalidReplicaAssignment(format!(
                    "The manual partition assignment includes broker {id}, but no such broker is registered."
                )));
            }
        }
        Ok(())
    }

    fn partition_record(&self, topic_id: Uuid, index: i32, replicas: Vec<i32>) -> MetadataRecord {
        MetadataRecord::Partition(PartitionRecord {
            partition_id: index,
            topic_id,
            directories: vec![self.default_dir(); replicas.len()],
            isr: replicas.clone(),
            leader: replicas[0],
            replicas,
            removing_replicas: vec![],
            adding_replicas: vec![],
            leader_recovery_state: 0,
            leader_epoch: 0,
            partition_epoch: 0,
            eligible_leader_replicas: None,
            last_known_elr: None,
        })
    }

    /// The directory a new replica is recorded in (Kafka's
    /// `ClusterControlManager.defaultDir`): the broker's only one, or
    /// UNASSIGNED when it has several, until the broker says where it put
    /// the log.
    fn default_dir(&self) -> Uuid {
        match self.directory_ids.as_slice() {
            [only] => *only,
            _ => UNASSIGNED_DIRECTORY,
        }
    }

    /// Writes partition changes the broker asks for (Kafka's
    /// `AssignReplicasToDirs` and its handling of offline directories):
    /// each is a PartitionChangeRecord, skipped when its topic is gone.
    pub fn change_partitions(
        &self,
        cache: &MetadataCache,
        changes: Vec<PartitionChangeRecord>,
    ) -> Result<usize, ControllerError> {
        let _guard = self.lock.lock();
        let image = cache.image();
        let records: Vec<MetadataRecord> = changes
            .into_iter()
            .filter(|c| {
                image
                    .topic_by_id(&c.topic_id)
                    .is_some_and(|t| t.partitions.contains_key(&c.partition_id))
            })
            .map(MetadataRecord::PartitionChange)
            .collect();
        let count = records.len();
        if count > 0 {
            self.commit(cache, &image, records)?;
        }
        Ok(count)
    }

    /// Deletes a topic; returns its name.
    pub fn delete_topic(
        &self,
        cache: &MetadataCache,
        topic_id: Uuid,
    ) -> Result<String, ControllerError> {
        let _guard = self.lock.lock();
        let image = cache.image();
        let topic = image.topic_by_id(&topic_id).ok_or_else(|| {
            ControllerError::UnknownTopicId(format!("Topic id {topic_id} not found."))
        })?;
        let name = topic.name.clone();
        self.commit(
            cache,
            &image,
            vec![MetadataRecord::RemoveTopic(RemoveTopicRecord { topic_id })],
        )?;
        info!(topic = %name, %topic_id, "deleted topic");
        Ok(name)
    }

    /// Changes a topic's configuration overrides (Kafka's
    /// `ConfigurationControlManager.incrementalAlterConfigs`, or with
    /// `replace` its `legacyAlterConfigs`, where keys not named are
    /// dropped), or only checks the changes with `validate_only`. Every
    /// change is validated before any is written; the changed keys are
    /// written as `ConfigRecord`s (a deleted key with a null value) in one
    /// batch. Returns the topic's overrides after the change.
    pub fn alter_topic_configs(
        &self,
        cache: &MetadataCache,
        topic: &str,
        changes: &[(String, ConfigChange)],
        replace: bool,
        validate_only: bool,
    ) -> Result<BTreeMap<String, String>, ControllerError> {
        let _guard = self.lock.lock();
        let image = cache.image();
        if image.topic(topic).is_none() {
            return Err(ControllerError::UnknownTopicOrPartition(format!(
                "The topic '{topic}' does not exist."
            )));
        }
        let rules = ConfigRules {
            key: &|key| {
                let def = topic_config_def(key).ok_or_else(|| {
                    ControllerError::InvalidConfig(format!("Unknown topic config name: {key}"))
                })?;
                Ok((def.kind == ConfigType::List, def.default.to_string()))
            },
            value: &|key, value| validate_topic_config(key, value),
            all: &|_| Ok(()),
        };
        self.alter_configs(
            cache,
            &image,
            TOPIC_RESOURCE,
            topic,
            changes,
            replace,
            validate_only,
            &rules,
        )
    }

    /// Changes dynamic broker configs (Kafka's dynamic broker configs in
    /// KRaft): `name` "" is the cluster-wide default, a node id that
    /// broker's own. Only the dynamic keys ([`crate::config::is_dynamic_key`]) may
    /// change; `validate` checks the overrides as a whole (the broker
    /// parses them over its static configuration).
    pub fn alter_broker_configs(
        &self,
        cache: &MetadataCache,
        name: &str,
        changes: &[(String, ConfigChange)],
        replace: bool,
        validate_only: bool,
        validate: &OverridesRule<'_>,
    ) -> Result<BTreeMap<String, String>, ControllerError> {
        if !name.is_empty() && name.parse::<u32>().is_err() {
            return Err(ControllerError::InvalidRequest(format!(
                "Invalid broker name {name:?}: a node id, or empty for the cluster-wide default"
            )));
        }
        let _guard = self.lock.lock();
        let image = cache.image();
        let rules = ConfigRules {
            key: &|key| {
                if crate::config::is_per_broker_key(key) && name.is_empty() {
                    Err(ControllerError::InvalidConfig(format!(
                        "Cannot update these configs at default cluster level, broker id must be specified: Set({key})"
                    )))
                } else if crate::config::is_dynamic_key(key) {
                    let is_list = key == "log.cleanup.policy";
                    Ok((
                        is_list,
                        if is_list {
                            "delete".into()
                        } else {
                            String::new()
                        },
                    ))
                } else if crate::config::is_known_key(key) {
                    Err(ControllerError::InvalidConfig(format!(
                        "Cannot update these configs dynamically: Set({key})"
                    )))
                } else {
                    Err(ControllerError::InvalidConfig(format!(
                        "Unknown broker config name: {key}"
                    )))
                }
            },
            value: &|key, value| match value {
                Some(value) => match crate::config::keys::find(key) {
                    Some(k) => {
                        if let Some(value_type) = k.value_type {
                            value_type.check(key, value)?;
                        }
                        match k.kind {
                            crate::config::keys::Kind::Refused { why, .. } if !k.accepts(value) => {
                                Err(format!(
                                    "Invalid value {value} for configuration {key}: {why}"
                                ))
                            }
                            _ => Ok(()),
                        }
                    }
                    None => Ok(()),
                },
                None => Err(format!(
                    "Null value not supported for broker configs: {key}"
                )),
            },
            all: validate,
        };
        let altered = self.alter_configs(
            cache,
            &image,
            BROKER_RESOURCE,
            name,
            changes,
            replace,
            validate_only,
            &rules,
        )?;
        if !validate_only {
            for (key, change) in changes {
                if let (ConfigChange::Set(_), Some(k)) = (change, crate::config::keys::find(key))
                    && let crate::config::keys::Kind::NoEffect(why) = k.kind
                {
                    warn!(config = %key, broker = name, "dynamic broker config set, with no effect here: {why}");
                }
            }
        }
        Ok(altered)
    }

    /// Changes a group's configs (config resource GROUP, named by the group
    /// id; the group need not exist), as Kafka's controller does: no list
    /// keys to append to or subtract from, no default ("") group, and
    /// `validate` checks the group's overrides as a whole after the change
    /// (the broker's `GroupConfigManager.validate`).
    pub fn alter_group_configs(
        &self,
        cache: &MetadataCache,
        group: &str,
        changes: &[(String, ConfigChange)],
        replace: bool,
        validate_only: bool,
        validate: &OverridesRule<'_>,
    ) -> Result<BTreeMap<String, String>, ControllerError> {
        for (key, change) in changes {
            let op = match change {
                ConfigChange::Append(_) => "APPEND",
                ConfigChange::Subtract(_) => "SUBTRACT",
                ConfigChange::Set(_) | ConfigChange::Delete => continue,
            };
            return Err(ControllerError::InvalidConfig(format!(
                "Can't {op} to key {key} because its type is not LIST."
            )));
        }
        if group.is_empty() {
            return Err(ControllerError::InvalidRequest(
                "Default group resources are not allowed.".into(),
            ));
        }
        let _guard = self.lock.lock();
        let image = cache.image();
        let rules = ConfigRules {
            // Names are checked with the values, over the whole resource.
            key: &|_| Ok((false, String::new())),
            value: &|key, value| match value {
                Some(_) => Ok(()),
                None => Err(format!("Null value not supported for group configs: {key}")),
            },
            all: validate,
        };
        self.alter_configs(
            cache,
            &image,
            GROUP_RESOURCE,
            group,
            changes,
            replace,
            validate_only,
            &rules,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn alter_configs(
        &self,
        cache: &MetadataCache,
        image: &MetadataImage,
        resource_type: i8,
        resource_name: &str,
        changes: &[(String, ConfigChange)],
        replace: bool,
        validate_only: bool,
        rules: &ConfigRules<'_>,
    ) -> Result<BTreeMap<String, String>, ControllerError> {
        let current = image
            .configs(resource_type, resource_name)
            .cloned()
            .unwrap_or_default();
        let mut altered = if replace {
            BTreeMap::new()
        } else {
            current.clone()
        };
        for (key, change) in changes {
            let (is_list, default) = (rules.key)(key)?;
            let value = match change {
                ConfigChange::Delete => {
                    altered.remove(key);
                    continue;
                }
                ConfigChange::Set(value) => value.clone(),
                ConfigChange::Append(items) | ConfigChange::Subtract(items) => {
                    let append = matches!(change, ConfigChange::Append(_));
                    if !is_list {
                        let verb = if append { "append" } else { "subtract" };
                        return Err(ControllerError::InvalidConfig(format!(
                            "Config value {verb} is not allowed for config key: {key}"
                        )));
                    }
                    let split = |list: &str| -> Vec<String> {
                        list.split(',')
                            .map(str::trim)
                            .filter(|i| !i.is_empty())
                            .map(str::to_string)
                            .collect()
                    };
                    let items = split(items.as_deref().unwrap_or_default());
                    let mut list = split(altered.get(key).unwrap_or(&default));
                    if append {
                        for item in items {
                            if !list.contains(&item) {
                                list.push(item);
                            }
                        }
                    } else {
                        list.retain(|i| !items.contains(i));
                    }
                    Some(list.join(","))
                }
            };
            (rules.value)(key, value.as_deref()).map_err(ControllerError::InvalidConfig)?;
            if let Some(value) = value {
                altered.insert(key.clone(), value.trim().to_string());
            }
        }
        (rules.all)(&altered).map_err(ControllerError::InvalidConfig)?;
        let keys: std::collections::BTreeSet<&String> =
            current.keys().chain(altered.keys()).collect();
        let records: Vec<MetadataRecord> = keys
            .into_iter()
            .filter(|key| current.get(*key) != altered.get(*key))
            .map(|key| {
                MetadataRecord::Config(ConfigRecord {
                    resource_type,
                    resource_name: resource_name.to_string(),
                    name: key.clone(),
                    value: altered.get(key).cloned(),
                })
            })
            .collect();
        if validate_only || records.is_empty() {
            return Ok(altered);
        }
        let changed = records.len();
        self.commit(cache, image, records)?;
        info!(
            resource_type,
            resource_name, changed, "altered configuration"
        );
        Ok(altered)
    }

    /// Grows a topic to `count` partitions; returns the new partition indexes.
    pub fn create_partitions(
        &self,
        cache: &MetadataCache,
        name: &str,
        count: i32,
        assignments: Option<&[Vec<i32>]>,
        validate_only: bool,
    ) -> Result<Vec<i32>, ControllerError> {
        let _guard = self.lock.lock();
        let image = cache.image();
        let topic = image.topic(name).ok_or_else(|| {
            ControllerError::UnknownTopicOrPartition(format!("Topic '{name}' does not exist."))
        })?;
        let current = topic.partitions.len() as i32;
        if count < current {
            return Err(ControllerError::InvalidPartitions(format!(
                "Topic currently has {current} partitions, which is higher than the requested {count}."
            )));
        }
        if count == current {
            return Err(ControllerError::InvalidPartitions(format!(
                "Topic already has {current} partitions."
            )));
        }
        let new: Vec<i32> = (current..count).collect();
        let replicas: Vec<Vec<i32>> = match assignments {
            Some(assignments) => {
                if assignments.len() != new.len() {
                    return Err(ControllerError::InvalidReplicaAssignment(format!(
                        "Attempted to add {} additional partition(s), but only {} assignment(s) were specified.",
                        new.len(),
                        assignments.len()
                    )));
                }
                for replicas in assignments {
                    self.check_replicas(replicas)?;
                }
                assignments.to_vec()
            }
            None => new.iter().map(|_| vec![self.node_id]).collect(),
        };
        if validate_only {
            return Ok(new);
        }
        let topic_id = topic.id;
        let records = new
            .iter()
            .zip(replicas)
            .map(|(&index, replicas)| self.partition_record(topic_id, index, replicas))
            .collect();
        self.commit(cache, &image, records)?;
        info!(topic = %name, partitions = count, "added partitions");
        Ok(new)
    }

    /// Hands out a block of `size` producer ids; returns its first id.
    pub fn allocate_producer_ids(
        &self,
        cache: &MetadataCache,
        size: i64,
    ) -> Result<i64, ControllerError> {
        let _guard = self.lock.lock();
        let image = cache.image();
        // Ids below 1000 are left unused: batches from producers the broker
        // never issued an id to (such as the challenge's producer id 0) must
        // not be mistaken for an issued producer's.
        let start = image.next_producer_id().max(1000);
        self.commit(
            cache,
            &image,
            vec![MetadataRecord::ProducerIds(ProducerIdsRecord {
                broker_id: self.node_id,
                broker_epoch: -1,
                next_producer_id: start + size,
            })],
        )?;
        Ok(start)
    }

    /// Writes the feature levels a formatted metadata log starts with when
    /// the log has no metadata.version (a new log, or one this broker wrote
    /// before it recorded features). Returns whether it wrote them.
    pub fn bootstrap_features(&self, cache: &MetadataCache) -> Result<bool, ControllerError> {
        self.plan_and_commit(cache, |image| {
            if image.features().contains_key(features::METADATA_VERSION) {
                (Vec::new(), false)
            } else {
                (features::bootstrap_records(), true)
            }
        })
    }

    /// UpdateFeatures: checks every update against the finalized levels
    /// and, unless `validate_only`, writes their FeatureLevelRecords in one
    /// batch (all or none, as Kafka's controller does).
    pub fn update_features(
        &self,
        cache: &MetadataCache,
        updates: &[(String, i16, features::UpgradeType)],
        validate_only: bool,
    ) -> Result<Result<(), features::Refused>, ControllerError> {
        self.plan_and_commit(cache, |image| match features::plan_update(image, updates) {
            Ok(_) if validate_only => (Vec::new(), Ok(())),
            Ok(records) => {
                for (name, level, _) in updates {
                    info!(feature = %name, level, "finalized feature level");
                }
                (records, Ok(()))
            }
            Err(refused) => (Vec::new(), Err(refused)),
        })
    }

    /// Changes that need no more than the current image to plan (SCRAM
    /// credentials, ACLs): `plan` looks at it and gives the records to
    /// write and its answer, under the controller's lock so that no other
    /// change comes between; the records are written in one batch.
    pub fn plan_and_commit<R>(
        &self,
        cache: &MetadataCache,
        plan: impl FnOnce(&MetadataImage) -> (Vec<MetadataRecord>, R),
    ) -> Result<R, ControllerError> {
        let _guard = self.lock.lock();
        let image = cache.image();
        let (records, answer) = plan(&image);
        if !records.is_empty() {
            self.commit(cache, &image, records)?;
        }
        Ok(answer)
    }

    /// Appends `records` in one batch, forces them to disk, and publishes
    /// the image with them applied.
    fn commit(
        &self,
        cache: &MetadataCache,
        image: &MetadataImage,
        records: Vec<MetadataRecord>,
    ) -> Result<(), ControllerError> {
        let values: Vec<Vec<u8>> = records.iter().map(MetadataRecord::encode).collect();
        let new_records: Vec<NewRecord<'_>> = values
            .iter()
            .map(|v| NewRecord {
                key: None,
                value: Some(v),
            })
            .collect();
        let batch = record_batch::build_batch(now_ms(), &new_records);
        let info = crate::storage_io::blocking(|| {
            let info = self
                .log
                .append_as_leader(&batch, CONTROLLER_EPOCH)
                .map_err(|e| io::Error::other(e.to_string()))?;
            self.log.flush()?;
            Ok::<_, io::Error>(info)
        })?;
        let mut delta = MetadataDelta::new(image);
        for (i, record) in records.into_iter().enumerate() {
            delta.replay(record, info.first_offset + i as i64);
        }
        cache.publish(delta.apply());
        Ok(())
    }
}

/// Kafka's `Topic.hasCollision`: names that differ only in '.' versus '_'
/// clash in metric names.
fn collides(a: &str, b: &str) -> bool {
    a != b && a.replace('.', "_") == b.replace('.', "_")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::loader;
    use crate::storage::{LogConfig, TopicPartition};

    fn open(dir: &std::path::Path) -> (Controller, MetadataCache) {
        let log = UnifiedLog::open(
            dir,
            TopicPartition::new("__cluster_metadata", 0),
            LogConfig::default(),
        )
        .unwrap();
        let image = loader::load(dir, &log).unwrap();
        (
            Controller::new(std::sync::Arc::new(log), 1, vec![Uuid::from_u128(9)]),
            MetadataCache::new(image),
        )
    }

    const DEFAULTS: TopicDefaults = TopicDefaults {
        num_partitions: 1,
        replication_factor: 1,
    };

    #[test]
    fn topic_changes_are_durable_and_validated() {
        let dir = tempfile::tempdir().unwrap();
        let (controller, cache) = open(dir.path());
        let orders = NewTopic {
            name: "orders".into(),
            num_partitions: 3,
            replication_factor: -1,
            configs: vec![("cleanup.policy".into(), Some("compact".into()))],
            ..Default::default()
        };
        let created = controller
            .create_topic(&cache, &orders, DEFAULTS, false)
            .unwrap();
        assert!(matches!(
            controller.create_topic(&cache, &orders, DEFAULTS, false),
            Err(ControllerError::TopicAlreadyExists(_))
        ));
        let clash = NewTopic {
            name: "my_topic".into(),
            num_partitions: 1,
            replication_factor: 1,
            ..Default::default()
        };
        controller
            .create_topic(&cache, &clash, DEFAULTS, false)
            .unwrap();
        let dotted = NewTopic {
            name: "my.topic".into(),
            ..clash.clone()
        };
        assert!(matches!(
            controller.create_topic(&cache, &dotted, DEFAULTS, false),
            Err(ControllerError::InvalidTopic(_))
        ));
        let bad = |t: NewTopic| {
            controller
                .create_topic(&cache, &t, DEFAULTS, false)
                .unwrap_err()
        };
        assert!(matches!(
            bad(NewTopic {
                name: "x".into(),
                num_partitions: 0,
                replication_factor: 1,
                ..Default::default()
            }),
            ControllerError::InvalidPartitions(_)
        ));
        assert!(matches!(
            bad(NewTopic {
                name: "x".into(),
                num_partitions: 1,
                replication_factor: 3,
                ..Default::default()
            }),
            ControllerError::InvalidReplicationFactor(_)
        ));
        assert!(matches!(
            bad(NewTopic {
                name: "__cluster_metadata".into(),
                num_partitions: 1,
                replication_factor: 1,
                ..Default::default()
            }),
            ControllerError::InvalidRequest(_)
        ));
        assert!(matches!(
            bad(NewTopic {
                name: "x".into(),
                num_partitions: 1,
                replication_factor: 1,
                configs: vec![("nope".into(), Some("1".into()))],
                ..Default::default()
            }),
            ControllerError::InvalidConfig(_)
        ));
        let validated = NewTopic {
            name: "only-validated".into(),
            num_partitions: 2,
            replication_factor: 1,
            ..Default::default()
        };
        controller
            .create_topic(&cache, &validated, DEFAULTS, true)
            .unwrap();
        assert!(cache.image().topic("only-validated").is_none());

        assert_eq!(
            controller
                .create_partitions(&cache, "orders", 5, None, false)
                .unwrap(),
            vec![3, 4]
        );
        assert!(matches!(
            controller.create_partitions(&cache, "orders", 2, None, false),
            Err(ControllerError::InvalidPartitions(_))
        ));
        assert_eq!(
            controller.allocate_producer_ids(&cache, 1000).unwrap(),
            1000
        );
        assert_eq!(
            controller.allocate_producer_ids(&cache, 1000).unwrap(),
            2000
        );
        assert_eq!(
            controller
                .delete_topic(&cache, cache.image().topic("my_topic").unwrap().id)
                .unwrap(),
            "my_topic"
        );
        drop(controller);

        // Everything survives a reload of the metadata log.
        let (controller, cache) = open(dir.path());
        let image = cache.image();
        let topic = image.topic("orders").unwrap();
        assert_eq!((topic.id, topic.partitions.len()), (created.topic_id, 5));
        assert_eq!(
            image.configs(TOPIC_RESOURCE, "orders").unwrap()["cleanup.policy"],
            "compact"
        );
        assert!(image.topic("my_topic").is_none());
        assert_eq!(
            controller.allocate_producer_ids(&cache, 1000).unwrap(),
            3000
        );
    }

    #[test]
    fn group_configs_are_written_checked_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let (controller, cache) = open(dir.path());
        let set = |key: &str, value: &str| (key.to_string(), ConfigChange::Set(Some(value.into())));
        let only_known = |altered: &BTreeMap<String, String>| match altered
            .keys()
            .find(|k| !k.starts_with("share."))
        {
            Some(k) => Err(format!("Unknown group config name: {k}")),
            None => Ok(()),
        };
        let altered = controller
            .alter_group_configs(
                &cache,
                "g1",
                &[set("share.auto.offset.reset", "earliest")],
                false,
                false,
                &only_known,
            )
            .unwrap();
        assert_eq!(altered["share.auto.offset.reset"], "earliest");
        assert!(matches!(
            controller.alter_group_configs(&cache, "g1", &[set("nope", "1")], false, false, &only_known),
            Err(ControllerError::InvalidConfig(m)) if m == "Unknown group config name: nope"
        ));
        assert!(matches!(
            controller.alter_group_configs(
                &cache,
                "",
                &[set("share.isolation.level", "read_committed")],
                false,
                false,
                &only_known
            ),
            Err(ControllerError::InvalidRequest(_))
        ));
        let append = [(
            "share.isolation.level".to_string(),
            ConfigChange::Append(Some("x".into())),
        )];
        assert!(matches!(
            controller.alter_group_configs(&cache, "g1", &append, false, false, &only_known),
            Err(ControllerError::InvalidConfig(m))
                if m == "Can't APPEND to key share.isolation.level because its type is not LIST."
        ));
        drop(controller);
        let (_, cache) = open(dir.path());
        let image = cache.image();
        let configs = image.configs(GROUP_RESOURCE, "g1").unwrap();
        assert_eq!(configs.len(), 1);
        assert_eq!(configs["share.auto.offset.reset"], "earliest");
    }
}
