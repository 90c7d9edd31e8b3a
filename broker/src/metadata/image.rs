//! The cluster metadata as of some offset of the metadata log: an immutable
//! image, built by replaying records into a delta (Kafka's `MetadataImage`
//! and `MetadataDelta`).

use super::records::{
    AccessControlEntryRecord, MetadataRecord, NO_LEADER_CHANGE, PartitionChangeRecord,
    PartitionRecord, TOPIC_RESOURCE, UserScramCredentialRecord,
};
use crate::authorizer::{
    AclCache, AclOperation, AclPermissionType, PatternType, ResourceType, StandardAcl,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tracing::warn;
use uuid::Uuid;

/// A partition's replica assignment and leadership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRegistration {
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub removing_replicas: Vec<i32>,
    pub adding_replicas: Vec<i32>,
    pub leader: i32,
    pub leader_recovery_state: i8,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    pub directories: Vec<Uuid>,
    pub eligible_leader_replicas: Vec<i32>,
    pub last_known_elr: Vec<i32>,
}

impl From<PartitionRecord> for PartitionRegistration {
    fn from(r: PartitionRecord) -> Self {
        PartitionRegistration {
            replicas: r.replicas,
            isr: r.isr,
            removing_replicas: r.removing_replicas,
            adding_replicas: r.adding_replicas,
            leader: r.leader,
            leader_recovery_state: r.leader_recovery_state,
            leader_epoch: r.leader_epoch,
            partition_epoch: r.partition_epoch,
            directories: r.directories,
            eligible_leader_replicas: r.eligible_leader_replicas.unwrap_or_default(),
            last_known_elr: r.last_known_elr.unwrap_or_default(),
        }
    }
}

impl PartitionRegistration {
    /// Applies a change the way Kafka's `PartitionRegistration.merge` does: a
    /// new leader bumps the leader epoch, any change bumps the partition epoch.
    fn merge(&mut self, change: PartitionChangeRecord) {
        if let Some(replicas) = change.replicas {
            self.replicas = replicas;
        }
        if let Some(directories) = change.directories {
            self.directories = directories;
        }
        if let Some(isr) = change.isr {
            self.isr = isr;
        }
        if let Some(removing) = change.removing_replicas {
            self.removing_replicas = removing;
        }
        if let Some(adding) = change.adding_replicas {
            self.adding_replicas = adding;
        }
        if change.leader != NO_LEADER_CHANGE {
            self.leader = change.leader;
            self.leader_epoch += 1;
        }
        if change.leader_recovery_state >= 0 {
            self.leader_recovery_state = change.leader_recovery_state;
        }
        if let Some(elr) = change.eligible_leader_replicas {
            self.eligible_leader_replicas = elr;
        }
        if let Some(last_known) = change.last_known_elr {
            self.last_known_elr = last_known;
        }
        self.partition_epoch += 1;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicImage {
    pub name: String,
    pub id: Uuid,
    pub partitions: BTreeMap<i32, PartitionRegistration>,
}

/// Topic names reserved for Kafka's own state.
pub fn is_internal_topic(name: &str) -> bool {
    matches!(name, "__consumer_offsets" | "__transaction_state")
}

/// Configuration overrides of one resource (topic or broker), by name.
pub type ConfigMap = BTreeMap<String, String>;

#[derive(Debug, Default, Clone)]
pub struct MetadataImage {
    topics_by_name: BTreeMap<String, Arc<TopicImage>>,
    topics_by_id: HashMap<Uuid, Arc<TopicImage>>,
    features: BTreeMap<String, i16>,
    /// Keyed by (resource type, resource name).
    configs: HashMap<(i8, String), ConfigMap>,
    /// The first producer id no broker has been given yet.
    next_producer_id: i64,
    /// SCRAM credentials by user and mechanism type (1: SHA-256, 2: SHA-512).
    scram: BTreeMap<(String, i8), Arc<UserScramCredentialRecord>>,
    /// The ACLs, by id and indexed for the authorizer.
    acls: Arc<AclCache>,
    /// Offset of the last record applied, -1 for an empty log.
    offset: i64,
}

impl MetadataImage {
    /// A user's SCRAM credential for a mechanism type.
    pub fn scram_credential(
        &self,
        user: &str,
        mechanism: i8,
    ) -> Option<&UserScramCredentialRecord> {
        self.scram.get(&(user.to_string(), mechanism)).map(|c| &**c)
    }

    /// Every SCRAM credential, by user then mechanism.
    pub fn scram_credentials(&self) -> impl Iterator<Item = &UserScramCredentialRecord> {
        self.scram.values().map(|c| &**c)
    }

    /// The ACLs (`AccessControlEntryRecord`s not removed).
    pub fn acls(&self) -> &Arc<AclCache> {
        &self.acls
    }

    pub fn empty() -> Self {
        MetadataImage {
            offset: -1,
            ..Default::default()
        }
    }

    pub fn topic(&self, name: &str) -> Option<&Arc<TopicImage>> {
        self.topics_by_name.get(name)
    }

    pub fn topic_by_id(&self, id: &Uuid) -> Option<&Arc<TopicImage>> {
        self.topics_by_id.get(id)
    }

    /// All topics, sorted by name.
    pub fn topics(&self) -> impl Iterator<Item = &Arc<TopicImage>> {
        self.topics_by_name.values()
    }

    pub fn partition(
        &self,
        topic: &str,
        partition: i32,
    ) -> Option<(&TopicImage, &PartitionRegistration)> {
        let topic = self.topic(topic)?;
        Some((topic, topic.partitions.get(&partition)?))
    }

    pub fn features(&self) -> &BTreeMap<String, i16> {
        &self.features
    }

    /// The configuration overrides of a resource (empty when it has none).
    pub fn configs(&self, resource_type: i8, name: &str) -> Option<&ConfigMap> {
        self.configs.get(&(resource_type, name.to_string()))
    }

    pub fn next_producer_id(&self) -> i64 {
        self.next_producer_id
    }

    pub fn offset(&self) -> i64 {
        self.offset
    }
}

/// Records replayed on top of an image, turned into a new image by `apply`.
pub struct MetadataDelta {
    topics: HashMap<Uuid, TopicImage>,
    features: BTreeMap<String, i16>,
    configs: HashMap<(i8, String), ConfigMap>,
    next_producer_id: i64,
    scram: BTreeMap<(String, i8), Arc<UserScramCredentialRecord>>,
    base_acls: Arc<AclCache>,
    /// The ACLs by id once a record changed them.
    acls: Option<BTreeMap<Uuid, Arc<StandardAcl>>>,
    offset: i64,
}

impl MetadataDelta {
    pub fn new(base: &MetadataImage) -> Self {
        MetadataDelta {
            topics: base
                .topics_by_id
                .iter()
                .map(|(id, topic)| (*id, TopicImage::clone(topic)))
                .collect(),
            features: base.features.clone(),
            configs: base.configs.clone(),
            next_producer_id: base.next_producer_id,
            scram: base.scram.clone(),
            base_acls: Arc::clone(&base.acls),
            acls: None,
            offset: base.offset,
        }
    }

    /// Applies the record stored at `offset`.
    pub fn replay(&mut self, record: MetadataRecord, offset: i64) {
        self.offset = self.offset.max(offset);
        match record {
            MetadataRecord::Topic(topic) => {
                if let Some(old) = self
                    .topics
                    .values()
                    .find(|t| t.name == topic.name && t.id != topic.topic_id)
                    .map(|t| t.id)
                {
                    warn!(topic = %topic.name, old_id = %old, new_id = %topic.topic_id,
                        "topic record reuses the name of a live topic; replacing it");
                    self.topics.remove(&old);
                }
                match self.topics.get_mut(&topic.topic_id) {
                    Some(existing) => existing.name = topic.name,
                    None => {
                        self.topics.insert(
                            topic.topic_id,
                            TopicImage {
                                name: topic.name,
                                id: topic.topic_id,
                                partitions: BTreeMap::new(),
                            },
                        );
                    }
                }
            }
            MetadataRecord::Partition(partition) => {
                match self.topics.get_mut(&partition.topic_id) {
                    Some(topic) => {
                        topic
                            .partitions
                            .insert(partition.partition_id, partition.into());
                    }
                    None => {
                        warn!(topic_id = %partition.topic_id, partition = partition.partition_id,
                    "partition record for an unknown topic; skipped")
                    }
                }
            }
            MetadataRecord::PartitionChange(change) => {
                match self
                    .topics
                    .get_mut(&change.topic_id)
                    .and_then(|t| t.partitions.get_mut(&change.partition_id))
                {
                    Some(partition) => partition.merge(change),
                    None => warn!(topic_id = %change.topic_id, partition = change.partition_id,
                        "partition change record for an unknown partition; skipped"),
                }
            }
            MetadataRecord::RemoveTopic(remove) => match self.topics.remove(&remove.topic_id) {
                // A removed topic's configuration goes with it.
                Some(topic) => {
                    self.configs.remove(&(TOPIC_RESOURCE, topic.name));
                }
                None => {
                    warn!(topic_id = %remove.topic_id, "remove topic record for an unknown topic")
                }
            },
            MetadataRecord::Config(config) => {
                let key = (config.resource_type, config.resource_name);
                match config.value {
                    Some(value) => {
                        self.configs
                            .entry(key)
                            .or_default()
                            .insert(config.name, value);
                    }
                    None => {
                        if let Some(configs) = self.configs.get_mut(&key) {
                            configs.remove(&config.name);
                            if configs.is_empty() {
                                self.configs.remove(&key);
                            }
                        }
                    }
                }
            }
            MetadataRecord::ProducerIds(ids) => {
                self.next_producer_id = self.next_producer_id.max(ids.next_producer_id);
            }
            MetadataRecord::FeatureLevel(feature) => {
                // A level of 0 removes the feature (Kafka's FeaturesDelta).
                if feature.feature_level == 0 {
                    self.features.remove(&feature.name);
                } else {
                    self.features.insert(feature.name, feature.feature_level);
                }
            }
            MetadataRecord::UserScramCredential(credential) => {
                self.scram.insert(
                    (credential.name.clone(), credential.mechanism),
                    Arc::new(credential),
                );
            }
            MetadataRecord::RemoveUserScramCredential(removed) => {
                self.scram.remove(&(removed.name, removed.mechanism));
            }
            MetadataRecord::AccessControlEntry(record) => {
                let id = record.id;
                let acl = standard_acl(record);
                self.acls_mut().insert(id, Arc::new(acl));
            }
            MetadataRecord::RemoveAccessControlEntry(removed) => {
                if self.acls_mut().remove(&removed.id).is_none() {
                    warn!(id = %removed.id, "remove ACL record for an unknown ACL");
                }
            }
            MetadataRecord::Other { .. } => {}
        }
    }

    fn acls_mut(&mut self) -> &mut BTreeMap<Uuid, Arc<StandardAcl>> {
        let base = &self.base_acls;
        self.acls.get_or_insert_with(|| base.by_id().clone())
    }

    pub fn apply(self) -> MetadataImage {
        let mut topics_by_name = BTreeMap::new();
        let mut topics_by_id = HashMap::with_capacity(self.topics.len());
        for (id, topic) in self.topics {
            let topic = Arc::new(topic);
            topics_by_name.insert(topic.name.clone(), Arc::clone(&topic));
            topics_by_id.insert(id, topic);
        }
        MetadataImage {
            topics_by_name,
            topics_by_id,
            features: self.features,
            configs: self.configs,
            next_producer_id: self.next_producer_id,
            scram: self.scram,
            acls: match self.acls {
                Some(acls) => Arc::new(AclCache::new(acls)),
                None => self.base_acls,
            },
            offset: self.offset,
        }
    }
}

/// The authorizer's form of an ACL record.
fn standard_acl(record: AccessControlEntryRecord) -> StandardAcl {
    StandardAcl {
        resource_type: ResourceType::from_code(record.resource_type),
        resource_name: record.resource_name,
        pattern_type: PatternType::from_code(record.pattern_type),
        principal: record.principal,
        host: record.host,
        operation: AclOperation::from_code(record.operation),
        permission_type: AclPermissionType::from_code(record.permission_type),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::records::*;

    fn partition(topic_id: Uuid, partition_id: i32) -> MetadataRecord {
        MetadataRecord::Partition(PartitionRecord {
            partition_id,
            topic_id,
            replicas: vec![1],
            isr: vec![1],
            removing_replicas: vec![],
            adding_replicas: vec![],
            leader: 1,
            leader_recovery_state: 0,
            leader_epoch: 0,
            partition_epoch: 0,
            directories: vec![],
            eligible_leader_replicas: None,
            last_known_elr: None,
        })
    }

    #[test]
    fn replays_topics_partitions_changes_and_removals() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let mut delta = MetadataDelta::new(&MetadataImage::empty());
        delta.replay(
            MetadataRecord::Topic(TopicRecord {
                name: "b".into(),
                topic_id: b,
            }),
            0,
        );
        delta.replay(
            MetadataRecord::Topic(TopicRecord {
                name: "a".into(),
                topic_id: a,
            }),
            1,
        );
        delta.replay(partition(a, 1), 2);
        delta.replay(partition(a, 0), 3);
        delta.replay(partition(b, 0), 4);
        delta.replay(
            MetadataRecord::PartitionChange(PartitionChangeRecord {
                isr: Some(vec![1, 2]),
                leader: 2,
                ..PartitionChangeRecord::unchanged(a, 0)
            }),
            5,
        );
        let image = delta.apply();
        let names: Vec<_> = image.topics().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let (_, p) = image.partition("a", 0).unwrap();
        assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (2, 1, 1));
        assert_eq!(p.isr, vec![1, 2]);
        assert_eq!(image.topic_by_id(&a).unwrap().partitions.len(), 2);
        assert_eq!(image.offset(), 5);

        let mut delta = MetadataDelta::new(&image);
        delta.replay(
            MetadataRecord::RemoveTopic(RemoveTopicRecord { topic_id: a }),
            6,
        );
        let image = delta.apply();
        assert!(image.topic("a").is_none());
        assert!(image.topic_by_id(&a).is_none());
        assert!(image.topic("b").is_some());
    }
}
