//! KIP-848 consumer groups (`group.protocol=consumer`), as Kafka's
//! `ConsumerGroup`, `ConsumerGroupMember`, `CurrentAssignmentBuilder` and
//! the consumer-group half of `GroupMetadataManager`: members heartbeat
//! with ConsumerGroupHeartbeat, the coordinator computes a target
//! assignment with a server-side assignor whenever the group epoch moves
//! (a member joins, leaves or changes its subscription, or a subscribed
//! topic gains partitions or appears), and each member is reconciled
//! towards its target: partitions it must give up are revoked first (the
//! member keeps its epoch until it stops reporting them), partitions still
//! owned by another member are assigned only once released.
//!
//! The group changes only through [`Change`]s, Kafka's records of
//! `__consumer_offsets`: a heartbeat works out the changes on a copy of the
//! group, the coordinator writes them, and only then replaces the group
//! with the copy; loading replays the same changes. Nothing here knows of
//! the network or the log.

use super::assignor::{Assignment, Assignor, MemberSpec, TopicSpec};
use kafka_protocol::error::ResponseError;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// `MemberEpoch` of a ConsumerGroupHeartbeat that leaves the group.
pub const LEAVE_GROUP_MEMBER_EPOCH: i32 = -1;
/// `MemberEpoch` of a static member leaving for now (it keeps its place).
pub const LEAVE_GROUP_STATIC_MEMBER_EPOCH: i32 = -2;

/// A member's reconciliation state (Kafka's `MemberState`, as stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberState {
    #[default]
    Stable,
    /// It must stop owning `partitions_pending_revocation` first.
    UnrevokedPartitions,
    /// Part of its target is still owned by other members.
    UnreleasedPartitions,
    Unknown,
}

impl MemberState {
    pub fn code(self) -> i8 {
        match self {
            MemberState::Stable => 0,
            MemberState::UnrevokedPartitions => 1,
            MemberState::UnreleasedPartitions => 2,
            MemberState::Unknown => 127,
        }
    }

    pub fn from_code(code: i8) -> MemberState {
        match code {
            0 => MemberState::Stable,
            1 => MemberState::UnrevokedPartitions,
            2 => MemberState::UnreleasedPartitions,
            _ => MemberState::Unknown,
        }
    }
}

/// What a member asked for: its `ConsumerGroupMemberMetadataValue`
/// (`subscribed_topic_names` sorted, without repeats).
pub type MemberSubscription = super::records::ConsumerGroupMemberMetadataValue;

/// Where a member is in its reconciliation (Kafka's
/// `ConsumerGroupCurrentMemberAssignmentValue`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CurrentAssignment {
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: MemberState,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
    /// KIP-1251: the member epoch at which each partition of `assigned`
    /// and `pending_revocation` became the member's, where it is older
    /// than `member_epoch`. Kafka 4.0's record has no room for it, so it
    /// is kept in memory only: after a load, a partition's epoch is the
    /// member epoch (what newer Kafka assumes of a record without them).
    pub assignment_epochs: BTreeMap<(Uuid, i32), i32>,
}

impl CurrentAssignment {
    /// The epoch at which `partition` of `topic` became the member's;
    /// `None` when the member neither holds it nor is revoking it.
    pub fn assignment_epoch(&self, topic: Uuid, partition: i32) -> Option<i32> {
        let holds = |a: &Assignment| a.get(&topic).is_some_and(|p| p.contains(&partition));
        if !holds(&self.assigned) && !holds(&self.pending_revocation) {
            return None;
        }
        Some(
            self.assignment_epochs
                .get(&(topic, partition))
                .copied()
                .unwrap_or(self.member_epoch.max(0)),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerGroupMember {
    pub member_id: String,
    pub subscription: MemberSubscription,
    pub current: CurrentAssignment,
}

/// A change to a group: one record of `__consumer_offsets` (a `None` is
/// the record's tombstone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// ConsumerGroupMetadata: the group epoch; `None` deletes the group.
    GroupEpoch(Option<i32>),
    /// ConsumerGroupPartitionMetadata: the subscribed topics, by name.
    SubscriptionMetadata(Option<BTreeMap<String, TopicSpec>>),
    /// ConsumerGroupMemberMetadata.
    MemberSubscription(String, Option<MemberSubscription>),
    /// ConsumerGroupTargetAssignmentMember.
    TargetMember(String, Option<Assignment>),
    /// ConsumerGroupTargetAssignmentMetadata.
    TargetEpoch(Option<i32>),
    /// ConsumerGroupCurrentMemberAssignment.
    CurrentAssignment(String, Option<CurrentAssignment>),
}

/// The coordinator's consumer-group settings.
#[derive(Debug, Clone)]
pub struct ConsumerGroupConfig {
    /// `group.consumer.assignors`: the first is the default.
    pub assignors: Vec<Assignor>,
    pub session_timeout_ms: i32,
    pub heartbeat_interval_ms: i32,
    pub max_size: usize,
}

/// A topic as the group sees the cluster: name, id and partition count.
pub trait TopicView {
    fn topic(&self, name: &str) -> Option<TopicSpec>;
    /// Every topic name clients may subscribe to (internal topics left out).
    fn topic_names(&self) -> Vec<String>;
    fn topic_name(&self, id: &Uuid) -> Option<String>;
}

/// A ConsumerGroupHeartbeat, as the coordinator takes it.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub owned: Option<Vec<(Uuid, Vec<i32>)>>,
    pub client_id: String,
    pub client_host: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatAnswer {
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// Sent when the request was a full one or the assignment changed.
    pub assignment: Option<Assignment>,
}

pub type Refusal = (ResponseError, String);

fn refuse<T>(error: ResponseError, message: impl Into<String>) -> Result<T, Refusal> {
    Err((error, message.into()))
}

/// A consumer group's state, as its records build it.
#[derive(Debug, Clone, Default)]
pub struct ConsumerGroup {
    pub group_id: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerGroupMember>,
    pub target: BTreeMap<String, Assignment>,
    pub subscription_metadata: BTreeMap<String, TopicSpec>,
    /// When each member is fenced unless it heartbeats again.
    pub session_deadlines: HashMap<String, Instant>,
    /// Members that must revoke partitions, the epoch they must do it in,
    /// and by when.
    pub rebalance_deadlines: HashMap<String, (i32, Instant)>,
}

impl ConsumerGroup {
    pub fn new(group_id: &str) -> Self {
        ConsumerGroup {
            group_id: group_id.to_string(),
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Kafka's `ConsumerGroupState` names.
    pub fn state(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.group_epoch > self.assignment_epoch {
            "Assigning"
        } else if self
            .members
            .values()
            .any(|m| m.current.member_epoch != self.assignment_epoch)
        {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    /// Applies one change (a record written, or read back at load).
    pub fn replay(&mut self, change: Change) {
        match change {
            Change::GroupEpoch(epoch) => self.group_epoch = epoch.unwrap_or(0),
            Change::SubscriptionMetadata(topics) => {
                self.subscription_metadata = topics.unwrap_or_default()
            }
            Change::MemberSubscription(id, Some(subscription)) => {
                self.members
                    .entry(id.clone())
                    .or_insert_with(|| ConsumerGroupMember {
                        member_id: id,
                        ..Default::default()
                    })
                    .subscription = subscription;
            }
            Change::MemberSubscription(id, None) => {
                self.members.remove(&id);
                self.session_deadlines.remove(&id);
                self.rebalance_deadlines.remove(&id);
            }
            Change::TargetMember(id, Some(assignment)) => {
                self.target.insert(id, assignment);
            }
            Change::TargetMember(id, None) => {
                self.target.remove(&id);
            }
            Change::TargetEpoch(epoch) => self.assignment_epoch = epoch.unwrap_or(0),
            Change::CurrentAssignment(id, current) => {
                if let Some(member) = self.members.get_mut(&id) {
                    member.current = current.unwrap_or_default();
                } else if let Some(current) = current {
                    // Records of one member may come in any order at load.
                    self.members.insert(
                        id.clone(),
                        ConsumerGroupMember {
                            member_id: id,
                            subscription: MemberSubscription::default(),
                            current,
                        },
                    );
                }
            }
        }
    }

    fn apply(&mut self, changes: &mut Vec<Change>, change: Change) {
        self.replay(change.clone());
        changes.push(change);
    }

    fn static_member(&self, instance_id: &str) -> Option<&ConsumerGroupMember> {
        self.members
            .values()
            .find(|m| m.subscription.instance_id.as_deref() == Some(instance_id))
    }

    /// Who owns each partition now (assigned or still being revoked).
    fn owners(&self) -> HashMap<(Uuid, i32), &str> {
        let mut owners = HashMap::new();
        for member in self.members.values() {
            for (topic, partitions) in member
                .current
                .assigned
                .iter()
                .chain(&member.current.pending_revocation)
            {
                for &p in partitions {
                    owners.insert((*topic, p), member.member_id.as_str());
                }
            }
        }
        owners
    }

    /// Handles one heartbeat: the answer, the changes to write, and the
    /// group as it is once they are written. `self` is left unchanged.
    pub fn heartbeat(
        &self,
        request: &Heartbeat,
        config: &ConsumerGroupConfig,
        topics: &dyn TopicView,
        now: Instant,
    ) -> Result<(HeartbeatAnswer, Vec<Change>, ConsumerGroup), Refusal> {
        let mut group = self.clone();
        let mut changes = Vec::new();
        if request.member_epoch == LEAVE_GROUP_MEMBER_EPOCH
            || request.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH
        {
            let answer = group.leave(request, &mut changes)?;
            return Ok((answer, changes, group));
        }

        let joining = request.member_epoch == 0;
        let member = group.member_for(request, config, &mut changes)?;
        let member_id = member.member_id.clone();
        let before = member.clone();
        // A known member joining again starts over without partitions.
        if group
            .members
            .get(&member_id)
            .is_some_and(|known| known.current != member.current)
        {
            group.apply(
                &mut changes,
                Change::CurrentAssignment(member_id.clone(), Some(member.current.clone())),
            );
        }

        // 1. The member's subscription.
        let mut subscription = before.subscription.clone();
        if let Some(id) = &request.instance_id {
            subscription.instance_id = Some(id.clone());
        }
        if let Some(rack) = &request.rack_id {
            subscription.rack_id = Some(rack.clone());
        }
        if request.rebalance_timeout_ms != -1 {
            subscription.rebalance_timeout_ms = request.rebalance_timeout_ms;
        }
        if let Some(assignor) = &request.server_assignor {
            subscription.server_assignor = Some(assignor.clone());
        }
        if let Some(names) = &request.subscribed_topic_names {
            let names: BTreeSet<String> = names.iter().cloned().collect();
            subscription.subscribed_topic_names = names.into_iter().collect();
        }
        if let Some(regex) = &request.subscribed_topic_regex {
            subscription.subscribed_topic_regex = (!regex.is_empty()).then(|| regex.clone());
        }
        subscription.client_id = request.client_id.clone();
        subscription.client_host = request.client_host.clone();
        let mut bump = false;
        let is_new = !group.members.contains_key(&member_id);
        if subscription != before.subscription || is_new {
            bump = is_new
                || subscription.subscribed_topic_names
                    != before.subscription.subscribed_topic_names
                || subscription.subscribed_topic_regex
                    != before.subscription.subscribed_topic_regex;
            group.apply(
                &mut changes,
                Change::MemberSubscription(member_id.clone(), Some(subscription)),
            );
        }

        // 2. The topics the group subscribes to, as the cluster has them
        //    now: a new topic or new partitions move the epoch too.
        let metadata = group.compute_subscription_metadata(topics);
        if metadata != group.subscription_metadata {
            group.apply(&mut changes, Change::SubscriptionMetadata(Some(metadata)));
            bump = true;
        }
        if bump {
            let epoch = group.group_epoch + 1;
            group.apply(&mut changes, Change::GroupEpoch(Some(epoch)));
        }

        // 3. A new target assignment when the group epoch moved past it.
        if group.group_epoch > group.assignment_epoch {
            group.update_target_assignment(config, &mut changes);
        }

        // 4. The member reconciled towards its target.
        let reconciled = group.reconcile(&member_id, request.owned.as_deref(), now)?;
        if let Some(current) = reconciled {
            group.apply(
                &mut changes,
                Change::CurrentAssignment(member_id.clone(), Some(current)),
            );
        }

        group.session_deadlines.insert(
            member_id.clone(),
            now + Duration::from_millis(config.session_timeout_ms.max(0) as u64),
        );
        let member = group.members.get(&member_id).ok_or((
            ResponseError::UnknownServerError,
            "member vanished".to_string(),
        ))?;
        let full = joining
            || (request.rebalance_timeout_ms != -1
                && request.subscribed_topic_names.is_some()
                && request.owned.is_some());
        let assignment = (full || member.current.assigned != before.current.assigned)
            .then(|| member.current.assigned.clone());
        Ok((
            HeartbeatAnswer {
                member_id,
                member_epoch: member.current.member_epoch,
                heartbeat_interval_ms: config.heartbeat_interval_ms,
                assignment,
            },
            changes,
            group,
        ))
    }

    /// The member a heartbeat speaks for: found (its epoch checked),
    /// created (epoch 0), or a static member's new incarnation.
    fn member_for(
        &mut self,
        request: &Heartbeat,
        config: &ConsumerGroupConfig,
        changes: &mut Vec<Change>,
    ) -> Result<ConsumerGroupMember, Refusal> {
        let joining = request.member_epoch == 0;
        if let Some(instance_id) = &request.instance_id {
            let existing = self.static_member(instance_id).cloned();
            if joining {
                match existing {
                    None => {}
                    Some(old) if old.member_id == request.member_id => {
                        return Ok(self.rejoined(old));
                    }
                    Some(old) => {
                        if old.current.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH {
                            return refuse(
                                ResponseError::UnreleasedInstanceId,
                                format!(
                                    "Static member {} with instance id {instance_id} is not released.",
                                    old.member_id
                                ),
                            );
                        }
                        // The new incarnation takes the old one's place and
                        // target (Kafka's replaceMember).
                        let target = self.target.get(&old.member_id).cloned().unwrap_or_default();
                        self.remove_member_records(&old.member_id, changes);
                        let member = ConsumerGroupMember {
                            member_id: request.member_id.clone(),
                            subscription: old.subscription.clone(),
                            current: CurrentAssignment {
                                member_epoch: 0,
                                previous_member_epoch: 0,
                                ..old.current.clone()
                            },
                        };
                        self.apply(
                            changes,
                            Change::MemberSubscription(
                                member.member_id.clone(),
                                Some(member.subscription.clone()),
                            ),
                        );
                        self.apply(
                            changes,
                            Change::TargetMember(member.member_id.clone(), Some(target)),
                        );
                        self.apply(
                            changes,
                            Change::CurrentAssignment(
                                member.member_id.clone(),
                                Some(member.current.clone()),
                            ),
                        );
                        return Ok(member);
                    }
                }
            } else {
                let Some(old) = existing else {
                    return refuse(
                        ResponseError::UnknownMemberId,
                        format!("Instance id {instance_id} is unknown."),
                    );
                };
                if old.member_id != request.member_id {
                    return refuse(
                        ResponseError::FencedInstanceId,
                        format!(
                            "Static member {} with instance id {instance_id} was fenced by member {}.",
                            request.member_id, old.member_id
                        ),
                    );
                }
            }
        }
        match self.members.get(&request.member_id).cloned() {
            Some(member) if joining => Ok(self.rejoined(member)),
            Some(member) => {
                check_member_epoch(&member, request.member_epoch, request.owned.as_deref())?;
                Ok(member)
            }
            None if joining => {
                if self.members.len() >= config.max_size {
                    return refuse(
                        ResponseError::GroupMaxSizeReached,
                        format!(
                            "The consumer group has reached its maximum capacity of {} members.",
                            config.max_size
                        ),
                    );
                }
                Ok(ConsumerGroupMember {
                    member_id: request.member_id.clone(),
                    ..Default::default()
                })
            }
            None => refuse(
                ResponseError::UnknownMemberId,
                format!(
                    "Member {} is not a member of group {}.",
                    request.member_id, self.group_id
                ),
            ),
        }
    }

    /// A known member joining again with epoch 0 has given up its
    /// partitions: it starts over from epoch 0.
    fn rejoined(&self, member: ConsumerGroupMember) -> ConsumerGroupMember {
        ConsumerGroupMember {
            current: CurrentAssignment::default(),
            ..member
        }
    }

    fn leave(
        &mut self,
        request: &Heartbeat,
        changes: &mut Vec<Change>,
    ) -> Result<HeartbeatAnswer, Refusal> {
        let member = match &request.instance_id {
            Some(instance_id) => {
                let Some(member) = self.static_member(instance_id).cloned() else {
                    return refuse(
                        ResponseError::UnknownMemberId,
                        format!("Instance id {instance_id} is unknown."),
                    );
                };
                if member.member_id != request.member_id {
                    return refuse(
                        ResponseError::FencedInstanceId,
                        format!(
                            "Static member {} with instance id {instance_id} was fenced by member {}.",
                            request.member_id, member.member_id
                        ),
                    );
                }
                member
            }
            None => match self.members.get(&request.member_id) {
                Some(member) => member.clone(),
                None => {
                    return refuse(
                        ResponseError::UnknownMemberId,
                        format!(
                            "Member {} is not a member of group {}.",
                            request.member_id, self.group_id
                        ),
                    );
                }
            },
        };
        if request.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH && request.instance_id.is_some()
        {
            // Kept in the group, with its partitions, until it comes back
            // or its session ends.
            let current = CurrentAssignment {
                member_epoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH,
                pending_revocation: Assignment::new(),
                ..member.current.clone()
            };
            self.apply(
                changes,
                Change::CurrentAssignment(member.member_id.clone(), Some(current)),
            );
            return Ok(HeartbeatAnswer {
                member_id: member.member_id,
                member_epoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH,
                heartbeat_interval_ms: 0,
                assignment: None,
            });
        }
        self.fence(&member.member_id, changes);
        Ok(HeartbeatAnswer {
            member_id: member.member_id,
            member_epoch: LEAVE_GROUP_MEMBER_EPOCH,
            heartbeat_interval_ms: 0,
            assignment: None,
        })
    }

    fn remove_member_records(&mut self, member_id: &str, changes: &mut Vec<Change>) {
        self.apply(
            changes,
            Change::CurrentAssignment(member_id.to_string(), None),
        );
        self.apply(changes, Change::TargetMember(member_id.to_string(), None));
        self.apply(
            changes,
            Change::MemberSubscription(member_id.to_string(), None),
        );
    }

    /// Removes a member (it left, or its session or rebalance timed out)
    /// and moves the group epoch (Kafka's `consumerGroupFenceMember`); the
    /// next heartbeat brings the subscribed topics up to date.
    pub fn fence(&mut self, member_id: &str, changes: &mut Vec<Change>) {
        if !self.members.contains_key(member_id) {
            return;
        }
        self.remove_member_records(member_id, changes);
        let epoch = self.group_epoch + 1;
        self.apply(changes, Change::GroupEpoch(Some(epoch)));
    }

    /// The members whose session or rebalance timeout passed by `now`.
    pub fn expired_members(&self, now: Instant) -> Vec<(String, &'static str)> {
        let mut expired: Vec<(String, &'static str)> = self
            .session_deadlines
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(id, _)| (id.clone(), "the member session expired"))
            .collect();
        for (id, (epoch, deadline)) in &self.rebalance_deadlines {
            let still_revoking = self.members.get(id).is_some_and(|m| {
                m.current.state == MemberState::UnrevokedPartitions
                    && m.current.member_epoch == *epoch
            });
            if still_revoking && *deadline <= now && !expired.iter().any(|(e, _)| e == id) {
                expired.push((
                    id.clone(),
                    "the member failed to revoke its partitions within the rebalance timeout",
                ));
            }
        }
        expired.sort();
        expired
    }

    /// Every topic some member subscribes to (by name or by regex), as the
    /// cluster has it.
    pub fn compute_subscription_metadata(
        &self,
        topics: &dyn TopicView,
    ) -> BTreeMap<String, TopicSpec> {
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut regexes: BTreeSet<&str> = BTreeSet::new();
        for member in self.members.values() {
            names.extend(member.subscription.subscribed_topic_names.iter().cloned());
            if let Some(regex) = &member.subscription.subscribed_topic_regex {
                regexes.insert(regex);
            }
        }
        if !regexes.is_empty() {
            let all = topics.topic_names();
            for regex in regexes {
                if let Some(regex) = compile_regex(regex) {
                    names.extend(all.iter().filter(|n| regex.is_match(n)).cloned());
                }
            }
        }
        names
            .into_iter()
            .filter_map(|name| topics.topic(&name).map(|t| (name, t)))
            .collect()
    }

    /// The topic ids a member subscribes to, of the group's topics.
    fn subscribed_ids(&self, member: &ConsumerGroupMember) -> BTreeSet<Uuid> {
        let regex = member
            .subscription
            .subscribed_topic_regex
            .as_deref()
            .and_then(compile_regex);
        self.subscription_metadata
            .iter()
            .filter(|(name, _)| {
                member.subscription.subscribed_topic_names.contains(name)
                    || regex.as_ref().is_some_and(|r| r.is_match(name))
            })
            .map(|(_, topic)| topic.id)
            .collect()
    }

    /// The assignor the members prefer most (ties to the default, the
    /// first of `assignors`).
    pub fn assignor(&self, assignors: &[Assignor]) -> Assignor {
        let default = assignors.first().copied().unwrap_or(Assignor::Uniform);
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for member in self.members.values() {
            if let Some(name) = &member.subscription.server_assignor {
                *votes.entry(name.as_str()).or_default() += 1;
            }
        }
        votes
            .into_iter()
            .filter_map(|(name, n)| Assignor::from_name(name).map(|a| (a, n)))
            .filter(|(a, _)| assignors.contains(a))
            .max_by_key(|(a, n)| (*n, *a == default))
            .map_or(default, |(a, _)| a)
    }

    fn update_target_assignment(
        &mut self,
        config: &ConsumerGroupConfig,
        changes: &mut Vec<Change>,
    ) {
        let empty = Assignment::new();
        let specs: Vec<(String, BTreeSet<Uuid>)> = self
            .members
            .values()
            .map(|m| (m.member_id.clone(), self.subscribed_ids(m)))
            .collect();
        let members: Vec<MemberSpec<'_>> = specs
            .iter()
            .map(|(id, subscribed)| {
                let member = &self.members[id];
                MemberSpec {
                    member_id: id,
                    instance_id: member.subscription.instance_id.as_deref(),
                    rack_id: member.subscription.rack_id.as_deref(),
                    subscribed_topic_ids: subscribed.clone(),
                    current: self.target.get(id).unwrap_or(&empty),
                }
            })
            .collect();
        let topics: BTreeMap<Uuid, TopicSpec> = self
            .subscription_metadata
            .values()
            .map(|t| (t.id, t.clone()))
            .collect();
        let new_target = self.assignor(&config.assignors).assign(&members, &topics);
        for (member_id, assignment) in new_target {
            if self.target.get(&member_id) != Some(&assignment) {
                self.apply(changes, Change::TargetMember(member_id, Some(assignment)));
            }
        }
        let epoch = self.group_epoch;
        self.apply(changes, Change::TargetEpoch(Some(epoch)));
    }

    /// Kafka's `CurrentAssignmentBuilder`: the member's next state, if it
    /// changes.
    fn reconcile(
        &mut self,
        member_id: &str,
        owned: Option<&[(Uuid, Vec<i32>)]>,
        now: Instant,
    ) -> Result<Option<CurrentAssignment>, Refusal> {
        let Some(member) = self.members.get(member_id) else {
            return Ok(None);
        };
        let current = member.current.clone();
        let target_epoch = self.assignment_epoch;
        let next = match current.state {
            MemberState::Stable if current.member_epoch == target_epoch => return Ok(None),
            MemberState::Stable | MemberState::UnreleasedPartitions => {
                self.next_assignment(member_id, current.member_epoch, &current.assigned, owned)
            }
            MemberState::UnrevokedPartitions => {
                if owns_any(owned, &current.pending_revocation) {
                    return Ok(None);
                }
                self.next_assignment(
                    member_id,
                    current.member_epoch + 1,
                    &current.assigned,
                    owned,
                )
            }
            MemberState::Unknown => {
                if owned.is_none_or(|o| !o.is_empty()) {
                    return refuse(
                        ResponseError::FencedMemberEpoch,
                        "The consumer group member is in a unknown state. The member must abandon all its partitions and rejoin.",
                    );
                }
                self.next_assignment(member_id, target_epoch, &current.assigned, owned)
            }
        };
        if next == current {
            return Ok(None);
        }
        if next.state == MemberState::UnrevokedPartitions {
            let timeout = self.members[member_id]
                .subscription
                .rebalance_timeout_ms
                .max(0) as u64;
            self.rebalance_deadlines.insert(
                member_id.to_string(),
                (next.member_epoch, now + Duration::from_millis(timeout)),
            );
        } else {
            self.rebalance_deadlines.remove(member_id);
        }
        Ok(Some(next))
    }

    fn next_assignment(
        &self,
        member_id: &str,
        member_epoch: i32,
        assigned_now: &Assignment,
        owned: Option<&[(Uuid, Vec<i32>)]>,
    ) -> CurrentAssignment {
        let target_epoch = self.assignment_epoch;
        let empty = Assignment::new();
        let target = self.target.get(member_id).unwrap_or(&empty);
        let owners = self.owners();
        let previous_epoch = self.members[member_id].current.member_epoch;
        let mut assigned = Assignment::new();
        let mut revoking = Assignment::new();
        let mut pending = Assignment::new();
        let mut unreleased = false;
        let topics: BTreeSet<&Uuid> = target.keys().chain(assigned_now.keys()).collect();
        for topic in topics {
            let want = target.get(topic).cloned().unwrap_or_default();
            let have = assigned_now.get(topic).cloned().unwrap_or_default();
            let keep: BTreeSet<i32> = have.intersection(&want).copied().collect();
            let revoke: BTreeSet<i32> = have.difference(&keep).copied().collect();
            let mut add: BTreeSet<i32> = want.difference(&keep).copied().collect();
            let before = add.len();
            add.retain(|p| !owners.contains_key(&(*topic, *p)));
            unreleased |= add.len() != before;
            if !keep.is_empty() {
                assigned.insert(*topic, keep);
            }
            if !revoke.is_empty() {
                revoking.insert(*topic, revoke);
            }
            if !add.is_empty() {
                pending.insert(*topic, add);
            }
        }
        let current = &self.members[member_id].current;
        let with_epoch =
            |epoch: i32, state, assigned: Assignment, pending_revocation: Assignment| {
                // Partitions the member held keep the epoch they came with;
                // those it gets now come with `epoch`.
                let mut assignment_epochs = BTreeMap::new();
                for (topic, partitions) in assigned.iter().chain(&pending_revocation) {
                    for &p in partitions {
                        let since = current.assignment_epoch(*topic, p).unwrap_or(epoch);
                        if since < epoch {
                            assignment_epochs.insert((*topic, p), since);
                        }
                    }
                }
                CurrentAssignment {
                    member_epoch: epoch,
                    previous_member_epoch: previous_epoch,
                    state,
                    assigned,
                    pending_revocation,
                    assignment_epochs,
                }
            };
        if !revoking.is_empty() && owns_any(owned, &revoking) {
            return with_epoch(
                member_epoch,
                MemberState::UnrevokedPartitions,
                assigned,
                revoking,
            );
        }
        for (topic, partitions) in pending {
            assigned.entry(topic).or_default().extend(partitions);
        }
        let state = if unreleased {
            MemberState::UnreleasedPartitions
        } else {
            MemberState::Stable
        };
        with_epoch(target_epoch, state, assigned, Assignment::new())
    }

    /// Whether a member subscribes to `topic`, by name or by a regex that
    /// matched it (Kafka's `isSubscribedToTopic`), so OffsetDelete may not
    /// delete its offsets.
    pub fn is_subscribed_to_topic(&self, topic: &str) -> bool {
        self.members.values().any(|m| {
            m.subscription
                .subscribed_topic_names
                .iter()
                .any(|name| name == topic)
                || m.subscription
                    .subscribed_topic_regex
                    .as_deref()
                    .and_then(compile_regex)
                    .is_some_and(|regex| regex.is_match(topic))
        })
    }

    /// Drops the group's records (DeleteGroups on an empty group, or a
    /// classic group taking the id over).
    pub fn delete(&mut self, changes: &mut Vec<Change>) {
        let members: Vec<String> = self.members.keys().cloned().collect();
        for member in members {
            self.remove_member_records(&member, changes);
        }
        self.apply(changes, Change::TargetEpoch(None));
        self.apply(changes, Change::SubscriptionMetadata(None));
        self.apply(changes, Change::GroupEpoch(None));
    }

    /// OffsetCommit's check of a consumer group's member (Kafka's
    /// `ConsumerGroup.validateOffsetCommit`): without a member only an
    /// empty group may be committed to; a member must be known and commit
    /// with OffsetCommit v9 or later. In its current epoch it commits
    /// anything; in an older one (its commit crossed an epoch bump on the
    /// way), KIP-1251's assignment epochs decide partition by partition.
    pub fn validate_offset_commit(
        &self,
        member_id: &str,
        member_epoch: i32,
        api_version: i16,
    ) -> Result<CommitValidator<'_>, ResponseError> {
        if member_epoch < 0 && self.members.is_empty() {
            return Ok(CommitValidator::Any);
        }
        let member = self
            .members
            .get(member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        // Transactional commits (TxnOffsetCommit) pass version 9.
        if api_version < 9 {
            return Err(ResponseError::UnsupportedVersion);
        }
        let current = &member.current;
        if member_epoch == current.member_epoch {
            Ok(CommitValidator::Any)
        } else if member_epoch > current.member_epoch {
            Err(ResponseError::StaleMemberEpoch)
        } else {
            Ok(CommitValidator::AssignedSince {
                current,
                member_epoch,
            })
        }
    }

    /// OffsetFetch v9's check, when it names a member.
    pub fn validate_offset_fetch(
        &self,
        member_id: &str,
        member_epoch: i32,
    ) -> Result<(), ResponseError> {
        let member = self
            .members
            .get(member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        validate_epoch(member.current.member_epoch, member_epoch)
    }
}

/// An OffsetFetch's epoch must be the member's (Kafka 4.0's
/// `validateMemberEpoch`: STALE_MEMBER_EPOCH either way).
fn validate_epoch(expected: i32, received: i32) -> Result<(), ResponseError> {
    if received == expected {
        Ok(())
    } else {
        Err(ResponseError::StaleMemberEpoch)
    }
}

/// Which partitions an accepted OffsetCommit may commit.
#[derive(Debug)]
pub enum CommitValidator<'a> {
    /// Any partition: the member's current epoch, or no member at all.
    Any,
    /// KIP-1251: only partitions the member holds (or is revoking) and
    /// held already at `member_epoch`, the older epoch it committed with.
    AssignedSince {
        current: &'a CurrentAssignment,
        member_epoch: i32,
    },
}

impl CommitValidator<'_> {
    /// May the offset of `partition` of `topic` (its id, if the topic
    /// exists) be committed? STALE_MEMBER_EPOCH if not.
    pub fn validate(&self, topic: Option<Uuid>, partition: i32) -> Result<(), ResponseError> {
        match self {
            CommitValidator::Any => Ok(()),
            CommitValidator::AssignedSince {
                current,
                member_epoch,
            } => match topic.and_then(|t| current.assignment_epoch(t, partition)) {
                Some(since) if since <= *member_epoch => Ok(()),
                _ => Err(ResponseError::StaleMemberEpoch),
            },
        }
    }
}

/// Kafka's `throwIfConsumerGroupMemberEpochIsInvalid`: a heartbeat of an
/// older epoch is taken only as the retry of one whose answer was lost.
fn check_member_epoch(
    member: &ConsumerGroupMember,
    received: i32,
    owned: Option<&[(Uuid, Vec<i32>)]>,
) -> Result<(), Refusal> {
    let current = member.current.member_epoch;
    if received > current {
        return refuse(
            ResponseError::FencedMemberEpoch,
            format!(
                "The consumer group member has a greater member epoch ({received}) than the one known by the group coordinator ({current}). The member must abandon all its partitions and rejoin."
            ),
        );
    }
    if received < current
        && (received != member.current.previous_member_epoch
            || !is_subset(owned, &member.current.assigned))
    {
        return refuse(
            ResponseError::FencedMemberEpoch,
            format!(
                "The consumer group member has a smaller member epoch ({received}) than the one known by the group coordinator ({current}). The member must abandon all its partitions and rejoin."
            ),
        );
    }
    Ok(())
}

fn is_subset(owned: Option<&[(Uuid, Vec<i32>)]>, assigned: &Assignment) -> bool {
    let Some(owned) = owned else {
        return false;
    };
    owned.iter().all(|(topic, partitions)| {
        assigned
            .get(topic)
            .is_some_and(|a| partitions.iter().all(|p| a.contains(p)))
    })
}

/// Whether the member still reports owning one of `partitions` (unknown
/// when it did not say: yes).
fn owns_any(owned: Option<&[(Uuid, Vec<i32>)]>, partitions: &Assignment) -> bool {
    let Some(owned) = owned else {
        return true;
    };
    owned.iter().any(|(topic, owned)| {
        partitions
            .get(topic)
            .is_some_and(|p| owned.iter().any(|o| p.contains(o)))
    })
}

/// A subscription regex (RE2 syntax, as Kafka's RE2/J) matching whole
/// topic names; `None` when it does not compile.
pub fn compile_regex(regex: &str) -> Option<Regex> {
    Regex::new(&format!("^(?:{regex})$")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Topics(Vec<TopicSpec>);

    impl TopicView for Topics {
        fn topic(&self, name: &str) -> Option<TopicSpec> {
            self.0.iter().find(|t| t.name == name).cloned()
        }
        fn topic_names(&self) -> Vec<String> {
            self.0.iter().map(|t| t.name.clone()).collect()
        }
        fn topic_name(&self, id: &Uuid) -> Option<String> {
            self.0.iter().find(|t| t.id == *id).map(|t| t.name.clone())
        }
    }

    const T: Uuid = Uuid::from_u128(7);

    fn topics(partitions: i32) -> Topics {
        Topics(vec![TopicSpec {
            id: T,
            name: "t".into(),
            partitions,
        }])
    }

    fn config() -> ConsumerGroupConfig {
        ConsumerGroupConfig {
            assignors: Assignor::ALL.to_vec(),
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 5_000,
            max_size: 10,
        }
    }

    fn join(member: &str) -> Heartbeat {
        Heartbeat {
            member_id: member.into(),
            member_epoch: 0,
            rebalance_timeout_ms: 30_000,
            subscribed_topic_names: Some(vec!["t".into()]),
            owned: Some(vec![]),
            ..Default::default()
        }
    }

    fn beat(member: &str, epoch: i32, owned: &Assignment) -> Heartbeat {
        Heartbeat {
            member_id: member.into(),
            member_epoch: epoch,
            rebalance_timeout_ms: -1,
            owned: Some(
                owned
                    .iter()
                    .map(|(t, p)| (*t, p.iter().copied().collect()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    /// Runs a heartbeat, checks that replaying its changes on the old group
    /// gives the new one, and keeps the new one.
    fn run(group: &mut ConsumerGroup, request: &Heartbeat, topics: &Topics) -> HeartbeatAnswer {
        let (answer, changes, next) = group
            .heartbeat(request, &config(), topics, Instant::now())
            .unwrap_or_else(|e| panic!("{request:?}: {e:?}"));
        let mut replayed = group.clone();
        for change in changes {
            replayed.replay(change);
        }
        assert_eq!(replayed.members, next.members);
        assert_eq!(replayed.target, next.target);
        assert_eq!(
            (replayed.group_epoch, replayed.assignment_epoch),
            (next.group_epoch, next.assignment_epoch)
        );
        *group = next;
        answer
    }

    fn partitions(answer: &HeartbeatAnswer) -> Assignment {
        answer.assignment.clone().unwrap_or_default()
    }

    /// KIP-1251: a member's partitions keep the epoch they were assigned
    /// at, so a commit sent just before an epoch bump still lands for
    /// them, and only for them.
    #[test]
    fn commits_from_an_older_epoch_are_taken_for_partitions_held_then() {
        let topics = topics(4);
        let mut group = ConsumerGroup::new("g");
        let a = run(&mut group, &join("a"), &topics);
        let b = run(&mut group, &join("b"), &topics);
        assert_eq!((a.member_epoch, b.member_epoch), (1, 2));
        // `a` gives up two partitions to `b` and is at epoch 2 with two.
        let a = run(&mut group, &beat("a", 1, &partitions(&a)), &topics);
        let kept = partitions(&a);
        let a = run(&mut group, &beat("a", 1, &kept), &topics);
        assert_eq!(a.member_epoch, 2);
        let b = run(&mut group, &beat("b", 2, &Assignment::new()), &topics);
        let given = partitions(&b);
        assert_eq!(given.get(&T).map(BTreeSet::len), Some(2));
        let first = |a: &Assignment| *a[&T].iter().next().unwrap();
        let (kept_p, given_p) = (first(&kept), first(&given));
        let check = |group: &ConsumerGroup, member: &str, epoch: i32, p: i32| {
            group
                .validate_offset_commit(member, epoch, 9)
                .and_then(|v| v.validate(Some(T), p))
        };
        assert_eq!(check(&group, "a", 2, kept_p), Ok(()));
        assert_eq!(check(&group, "a", 1, kept_p), Ok(()));
        assert_eq!(
            check(&group, "a", 1, given_p),
            Err(ResponseError::StaleMemberEpoch)
        );
        assert_eq!(
            check(&group, "b", 1, given_p),
            Err(ResponseError::StaleMemberEpoch)
        );
        assert_eq!(
            check(&group, "a", 3, kept_p),
            Err(ResponseError::StaleMemberEpoch)
        );
        assert_eq!(
            check(&group, "a", 2, kept_p).and(group.validate_offset_commit("a", 2, 8).map(|_| ())),
            Err(ResponseError::UnsupportedVersion)
        );

        // `a` leaves: `b` gets everything at epoch 3. Its commits at epoch
        // 2, still on their way, are taken for the two it had; not for the
        // two it has just been given, nor for a topic that does not exist.
        run(
            &mut group,
            &Heartbeat {
                member_epoch: -1,
                ..join("a")
            },
            &topics,
        );
        let b = run(&mut group, &beat("b", 2, &given), &topics);
        assert_eq!(b.member_epoch, 3);
        assert_eq!(partitions(&b)[&T].len(), 4);
        assert_eq!(check(&group, "b", 2, given_p), Ok(()));
        assert_eq!(
            check(&group, "b", 2, kept_p),
            Err(ResponseError::StaleMemberEpoch)
        );
        assert_eq!(check(&group, "b", 3, kept_p), Ok(()));
        let unknown = group
            .validate_offset_commit("b", 2, 9)
            .and_then(|v| v.validate(None, given_p));
        assert_eq!(unknown, Err(ResponseError::StaleMemberEpoch));
        // A group reloaded from its records knows no older epochs (Kafka
        // 4.0's record has none): strict again, never laxer.
        let mut reloaded = group.members["b"].current.clone();
        reloaded.assignment_epochs.clear();
        assert_eq!(reloaded.assignment_epoch(T, given_p), Some(3));
        assert_eq!(reloaded.assignment_epoch(Uuid::from_u128(8), 0), None);
    }

    #[test]
    fn a_partition_is_revoked_before_it_is_assigned_elsewhere() {
        let topics = topics(4);
        let mut group = ConsumerGroup::new("g");
        let a = run(&mut group, &join("a"), &topics);
        assert_eq!(a.member_epoch, 1);
        let a_held = partitions(&a);
        assert_eq!(a_held[&T].len(), 4);

        let b = run(&mut group, &join("b"), &topics);
        assert_eq!(group.group_epoch, 2);
        // b may not have what a still holds.
        assert!(partitions(&b).get(&T).is_none_or(|p| p.is_empty()));
        assert_eq!(b.member_epoch, 2);

        // a is told to keep two, and stays at epoch 1 until it lets go.
        let a = run(&mut group, &beat("a", 1, &a_held), &topics);
        assert_eq!(a.member_epoch, 1);
        let kept = partitions(&a);
        assert_eq!(kept[&T].len(), 2);
        assert_eq!(
            group.members["a"].current.state,
            MemberState::UnrevokedPartitions
        );
        // Still owning them: no progress.
        let again = run(&mut group, &beat("a", 1, &a_held), &topics);
        assert_eq!(again.member_epoch, 1);
        let b = run(&mut group, &beat("b", 2, &Assignment::new()), &topics);
        assert!(b.assignment.is_none() || partitions(&b).is_empty());

        // a revokes: epoch 2; then b gets the rest.
        let a = run(&mut group, &beat("a", 1, &kept), &topics);
        assert_eq!(a.member_epoch, 2);
        let b = run(&mut group, &beat("b", 2, &Assignment::new()), &topics);
        let got = partitions(&b);
        assert_eq!(got[&T].len(), 2);
        assert!(got[&T].is_disjoint(&kept[&T]));
        assert_eq!(group.state(), "Stable");
    }

    #[test]
    fn epochs_are_fenced_and_lost_answers_forgiven() {
        let topics = topics(2);
        let mut group = ConsumerGroup::new("g");
        let a = run(&mut group, &join("a"), &topics);
        let held = partitions(&a);
        let err = |group: &ConsumerGroup, request: &Heartbeat| {
            group
                .heartbeat(request, &config(), &topics, Instant::now())
                .unwrap_err()
                .0
        };
        assert_eq!(
            err(&group, &beat("a", 5, &held)),
            ResponseError::FencedMemberEpoch
        );
        assert_eq!(
            err(&group, &beat("nobody", 1, &held)),
            ResponseError::UnknownMemberId
        );
        // New partitions move the epoch; a retry with the previous epoch
        // and a subset of the partitions is taken (its answer was lost).
        let topics = self::topics(3);
        let a2 = run(&mut group, &beat("a", 1, &held), &topics);
        assert_eq!(a2.member_epoch, 2);
        let retried = run(&mut group, &beat("a", 1, &held), &topics);
        assert_eq!(retried.member_epoch, 2);
        // An older epoch that is not the previous one is fenced.
        let a3 = run(&mut group, &beat("a", 2, &held), &self::topics(4));
        assert_eq!(a3.member_epoch, 3);
        assert_eq!(
            err(&group, &beat("a", 1, &held)),
            ResponseError::FencedMemberEpoch
        );
        // Epoch 0 from a known member is a rejoin: it starts over.
        let rejoined = run(&mut group, &join("a"), &self::topics(4));
        assert_eq!(rejoined.member_epoch, group.assignment_epoch);
        assert_eq!(partitions(&rejoined)[&T].len(), 4);
    }

    #[test]
    fn leaving_fences_and_static_members_keep_their_place() {
        let topics = topics(2);
        let mut group = ConsumerGroup::new("g");
        let mut s = join("s1");
        s.instance_id = Some("i".into());
        let first = run(&mut group, &s, &topics);
        let held = partitions(&first);
        // Another incarnation while the first is in: refused.
        let mut other = join("s2");
        other.instance_id = Some("i".into());
        assert_eq!(
            group
                .heartbeat(&other, &config(), &topics, Instant::now())
                .unwrap_err()
                .0,
            ResponseError::UnreleasedInstanceId
        );
        // A temporary leave keeps the assignment for the next incarnation.
        let mut leave = beat("s1", LEAVE_GROUP_STATIC_MEMBER_EPOCH, &held);
        leave.instance_id = Some("i".into());
        run(&mut group, &leave, &topics);
        let back = run(&mut group, &other, &topics);
        assert_eq!(partitions(&back), held);
        assert!(!group.members.contains_key("s1"));
        // A dynamic member leaving moves the epoch and is gone.
        let d = run(&mut group, &join("d"), &topics);
        let epoch = group.group_epoch;
        run(
            &mut group,
            &beat("d", LEAVE_GROUP_MEMBER_EPOCH, &partitions(&d)),
            &topics,
        );
        assert_eq!(group.group_epoch, epoch + 1);
        assert!(!group.members.contains_key("d"));
    }

    #[test]
    fn a_regex_subscription_picks_up_new_topics() {
        let mut group = ConsumerGroup::new("g");
        let mut request = join("a");
        request.subscribed_topic_names = None;
        request.subscribed_topic_regex = Some("orders-.*".into());
        let one = Topics(vec![TopicSpec {
            id: Uuid::from_u128(1),
            name: "orders-eu".into(),
            partitions: 1,
        }]);
        let a = run(&mut group, &request, &one);
        assert_eq!(partitions(&a).len(), 1);
        let mut two = one.0.clone();
        two.push(TopicSpec {
            id: Uuid::from_u128(2),
            name: "orders-us".into(),
            partitions: 2,
        });
        two.push(TopicSpec {
            id: Uuid::from_u128(3),
            name: "other".into(),
            partitions: 2,
        });
        let a = run(&mut group, &beat("a", 1, &partitions(&a)), &Topics(two));
        let got = partitions(&a);
        assert_eq!(got.len(), 2);
        assert!(!got.contains_key(&Uuid::from_u128(3)));
        assert!(compile_regex("(unclosed").is_none());
    }
}
