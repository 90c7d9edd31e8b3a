//! The group coordinator for classic consumer groups (Kafka's
//! `GroupCoordinator`): rebalances (JoinGroup, SyncGroup), liveness
//! (Heartbeat, LeaveGroup, session timeouts), and the checks of a member's
//! generation, member id and instance id before its offsets are committed.
//!
//! The groups themselves, and the group metadata and committed offsets
//! stored in `__consumer_offsets` and read back at startup, are the
//! [`GroupMetadataManager`]'s. Each group has its own lock; JoinGroup and
//! SyncGroup responses that must wait for other members are delivered
//! through channels, and a timer task ([`GroupCoordinator::tick`])
//! completes rebalances and expires members.

pub mod assignor;
pub mod consumer_group;
pub mod group;
pub mod group_metadata_manager;
pub mod records;
pub mod share_coordinator;
pub mod share_group;
pub mod share_partition;
pub mod share_partition_manager;
pub mod share_records;
pub mod transaction_coordinator;
pub mod transaction_log;

use crate::internal_topics::InternalTopic;
use crate::metadata::controller::NewTopic;
use crate::metadata::{MetadataImage, is_internal_topic};
use assignor::TopicSpec;
use bytes::Bytes;
use consumer_group::{
    Change, CommitValidator, ConsumerGroup, ConsumerGroupConfig, Heartbeat, HeartbeatAnswer,
    Refusal, TopicView,
};
use group::{Group, GroupState, JoinResult, Member, SyncResult};
use group_metadata_manager::{GroupMetadataManager, OffsetConfig};
use kafka_protocol::error::ResponseError;
use share_group::{MembershipConfig, ShareGroup, ShareHeartbeat, ShareHeartbeatAnswer};
use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{info, warn};
use uuid::Uuid;

pub use group_metadata_manager::{CommittedOffset, OFFSETS_TOPIC, OffsetToCommit, now_ms};

/// A topic's partitions and the error code of each.
pub type TopicErrors = (String, Vec<(i32, i16)>);

/// How long a member that joined in a rebalance may wait for its response
/// before it is dropped (Kafka's `NewMemberJoinTimeoutMs`).
const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);

/// A channel that already holds `answer`.
fn ready<T>(answer: T) -> oneshot::Receiver<T> {
    let (tx, rx) = oneshot::channel();
    let _ = tx.send(answer);
    rx
}

fn code(error: ResponseError) -> i16 {
    error.code()
}

/// The group coordinator's settings; the `offset*` ones are the
/// [`GroupMetadataManager`]'s ([`OffsetConfig`]).
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// KIP-848 consumer groups' `group.consumer.*` settings.
    pub consumer: ConsumerGroupConfig,
    pub initial_rebalance_delay: Duration,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    pub offsets_topic_partitions: i32,
    pub offsets_topic_segment_bytes: u64,
    pub offset_metadata_max_bytes: usize,
}

/// A JoinGroup request, whatever its version.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub group_id: String,
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// From JoinGroup v4 on, a new member first gets an id to join with.
    pub require_known_member_id: bool,
}

/// A SyncGroup request, whatever its version.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub group_id: String,
    pub generation: i32,
    pub member_id: String,
    pub instance_id: Option<String>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignments: Vec<(String, Bytes)>,
}

/// A group as DescribeGroups reports it.
#[derive(Debug, Clone, Default)]
pub struct GroupDescription {
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    /// (member id, instance id, client id, client host, metadata, assignment)
    pub members: Vec<(String, Option<String>, String, String, Bytes, Bytes)>,
    pub found: bool,
}

pub struct GroupCoordinator {
    config: GroupConfig,
    group_manager: GroupMetadataManager,
    /// Share groups (KIP-932), beside the classic and consumer groups of
    /// the group manager: an id is of one group type at a time.
    share_groups: parking_lot::RwLock<HashMap<String, Arc<parking_lot::Mutex<ShareGroup>>>>,
}

impl GroupCoordinator {
    pub fn new(config: GroupConfig) -> Self {
        GroupCoordinator {
            group_manager: GroupMetadataManager::new(OffsetConfig {
                offsets_topic_partitions: config.offsets_topic_partitions,
                offsets_topic_segment_bytes: config.offsets_topic_segment_bytes,
                offset_metadata_max_bytes: config.offset_metadata_max_bytes,
                consumer_session_timeout_ms: config.consumer.session_timeout_ms,
            }),
            config,
            share_groups: parking_lot::RwLock::new(HashMap::new()),
        }
    }

    // ------------------------------------------------------------ storage

    /// How `__consumer_offsets` is created: Kafka's settings for it.
    pub fn offsets_topic_spec(&self) -> NewTopic {
        self.group_manager.offsets_topic_spec()
    }

    /// Reads every committed offset and group of `__consumer_offsets`.
    pub fn load(&self, topic: &dyn InternalTopic) -> io::Result<()> {
        self.group_manager.load(topic)
    }

    // --------------------------------------------------------- rebalances

    pub async fn join_group(&self, topic: &dyn InternalTopic, request: JoinRequest) -> JoinResult {
        let member_id = request.member_id.clone();
        // The group's records may be written on the way.
        let rx = crate::storage_io::blocking(|| self.start_join(topic, request));
        rx.await
            .unwrap_or_else(|_| JoinResult::error(code(ResponseError::UnknownMemberId), &member_id))
    }

    /// JoinGroup up to the wait for the rebalance: the answer's channel
    /// (already holding the answer when there is nothing to wait for).
    fn start_join(
        &self,
        topic: &dyn InternalTopic,
        request: JoinRequest,
    ) -> oneshot::Receiver<JoinResult> {
        let member_id = request.member_id.clone();
        if request.group_id.is_empty() {
            return ready(JoinResult::error(
                code(ResponseError::InvalidGroupId),
                &member_id,
            ));
        }
        if self.is_share_group(&request.group_id) {
            return ready(JoinResult::error(
                code(ResponseError::InconsistentGroupProtocol),
                "",
            ));
        }
        if request.session_timeout_ms < self.config.min_session_timeout_ms
            || request.session_timeout_ms > self.config.max_session_timeout_ms
        {
            return ready(JoinResult::error(
                code(ResponseError::InvalidSessionTimeout),
                &member_id,
            ));
        }
        if let Err(e) = topic.partitions() {
            return ready(JoinResult::error(code(e), &member_id));
        }
        let group = if member_id.is_empty() {
            self.group_manager.get_or_create_group(&request.group_id)
        } else {
            match self.group_manager.get_group(&request.group_id) {
                Some(group) => group,
                None => {
                    return ready(JoinResult::error(
                        code(ResponseError::UnknownMemberId),
                        &member_id,
                    ));
                }
            }
        };
        let (tx, rx) = oneshot::channel();
        {
            let mut group = group.lock();
            if group.state == GroupState::Dead {
                return ready(JoinResult::error(
                    code(ResponseError::CoordinatorNotAvailable),
                    &member_id,
                ));
            }
            if let Some(consumer) = &group.consumer {
                // Classic members do not join a consumer group with members
                // (no mixed groups here); an empty one becomes classic.
                if !consumer.is_empty() {
                    return ready(JoinResult::error(
                        code(ResponseError::InconsistentGroupProtocol),
                        &member_id,
                    ));
                }
                let mut gone = (**consumer).clone();
                let mut changes = Vec::new();
                gone.delete(&mut changes);
                if let Err(e) = self.group_manager.store_consumer_group_changes(
                    topic,
                    &request.group_id,
                    &changes,
                ) {
                    return ready(JoinResult::error(code(e), &member_id));
                }
                group.consumer = None;
                group.protocol_type = None;
            }
            if !group.supports_protocols(&request.protocol_type, &request.protocols) {
                return ready(JoinResult::error(
                    code(ResponseError::InconsistentGroupProtocol),
                    &member_id,
                ));
            }
            if member_id.is_empty() {
                let new_id = format!("{}-{}", request.client_id, Uuid::new_v4());
                let static_member = request.instance_id.as_ref().and_then(|i| {
                    group
                        .members
                        .values()
                        .find(|m| m.instance_id.as_ref() == Some(i))
                        .map(|m| m.id.clone())
                });
                if let Some(old) = static_member {
                    // A static member restarting takes over its old membership.
                    if let Some(mut old) = group.members.shift_remove(&old) {
                        if let Some(waiter) = old.awaiting_join.take() {
                            let _ = waiter.send(JoinResult::error(
                                code(ResponseError::FencedInstanceId),
                                &old.id,
                            ));
                        }
                        if let Some(waiter) = old.awaiting_sync.take() {
                            let _ = waiter
                                .send(SyncResult::error(code(ResponseError::FencedInstanceId)));
                        }
                        if group.leader.as_ref() == Some(&old.id) {
                            group.leader = Some(new_id.clone());
                        }
                    }
                    self.add_member(&mut group, &request, new_id, tx);
                } else if request.require_known_member_id && request.instance_id.is_none() {
                    let deadline =
                        Instant::now() + Duration::from_millis(request.session_timeout_ms as u64);
                    group.pending_members.insert(new_id.clone(), deadline);
                    return ready(JoinResult::error(
                        code(ResponseError::MemberIdRequired),
                        &new_id,
                    ));
                } else {
                    self.add_member(&mut group, &request, new_id, tx);
                }
            } else if group.pending_members.remove(&member_id).is_some() {
                self.add_member(&mut group, &request, member_id.clone(), tx);
            } else {
                let state = group.state;
                let is_leader = group.leader.as_ref() == Some(&member_id);
                let Some(member) = group.members.get_mut(&member_id) else {
                    return ready(JoinResult::error(
                        code(ResponseError::UnknownMemberId),
                        &member_id,
                    ));
                };
                if member.instance_id != request.instance_id {
                    return ready(JoinResult::error(
                        code(ResponseError::FencedInstanceId),
                        &member_id,
                    ));
                }
                let unchanged = member.matches(&request.protocols);
                match state {
                    GroupState::Empty | GroupState::Dead => {
                        return ready(JoinResult::error(
                            code(ResponseError::UnknownMemberId),
                            &member_id,
                        ));
                    }
                    GroupState::CompletingRebalance | GroupState::Stable
                        if unchanged && !(state == GroupState::Stable && is_leader) =>
                    {
                        // A repeated join with nothing new: the current generation.
                        member.heartbeat_deadline = Instant::now()
                            + Duration::from_millis(member.session_timeout_ms as u64);
                        return ready(current_join_result(
                            &group,
                            &member_id,
                            state == GroupState::CompletingRebalance && is_leader,
                        ));
                    }
                    _ => {
                        update_member(member, &request);
                        member.awaiting_join = Some(tx);
                        if state != GroupState::PreparingRebalance {
                            self.prepare_rebalance(&mut group);
                        }
                    }
                }
            }
            self.maybe_complete_join(topic, &mut group);
        }
        rx
    }

    fn add_member(
        &self,
        group: &mut Group,
        request: &JoinRequest,
        id: String,
        waiter: oneshot::Sender<JoinResult>,
    ) {
        if group.members.is_empty() {
            group.protocol_type = Some(request.protocol_type.clone());
        }
        if group.leader.is_none() {
            group.leader = Some(id.clone());
        }
        let mut member = Member {
            id: id.clone(),
            instance_id: request.instance_id.clone(),
            client_id: request.client_id.clone(),
            client_host: request.client_host.clone(),
            rebalance_timeout_ms: request.rebalance_timeout_ms,
            session_timeout_ms: request.session_timeout_ms,
            protocol_type: request.protocol_type.clone(),
            protocols: Vec::new(),
            assignment: Bytes::new(),
            awaiting_join: Some(waiter),
            awaiting_sync: None,
            heartbeat_deadline: Instant::now() + NEW_MEMBER_JOIN_TIMEOUT,
            is_new: true,
            synced: false,
        };
        update_member(&mut member, request);
        group.members.insert(id, member);
        group.new_member_added = true;
        if matches!(
            group.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        ) {
            self.prepare_rebalance(group);
        }
    }

    /// Starts a rebalance: members must rejoin (Kafka's `prepareRebalance`).
    fn prepare_rebalance(&self, group: &mut Group) {
        if group.state == GroupState::CompletingRebalance {
            for member in group.members.values_mut() {
                if let Some(waiter) = member.awaiting_sync.take() {
                    let _ =
                        waiter.send(SyncResult::error(code(ResponseError::RebalanceInProgress)));
                }
            }
        }
        let now = Instant::now();
        let rebalance_timeout = Duration::from_millis(
            group
                .members
                .values()
                .map(|m| m.rebalance_timeout_ms.max(0))
                .max()
                .unwrap_or(0) as u64,
        );
        // A new group waits a little for more members (InitialDelayedJoin).
        group.initial_delay_until = (group.state == GroupState::Empty
            && !self.config.initial_rebalance_delay.is_zero())
        .then(|| now + self.config.initial_rebalance_delay.min(rebalance_timeout));
        group.new_member_added = false;
        group.rebalance_deadline = Some(now + rebalance_timeout);
        group.sync_deadline = None;
        group.state = GroupState::PreparingRebalance;
        group.state_timestamp = now_ms();
        info!(group = %group.id, generation = group.generation, members = group.members.len(), "preparing to rebalance");
    }

    /// Completes the join phase when every member has rejoined, or when the
    /// wait is over.
    fn maybe_complete_join(&self, topic: &dyn InternalTopic, group: &mut Group) {
        if group.state != GroupState::PreparingRebalance {
            return;
        }
        let now = Instant::now();
        let deadline = group.rebalance_deadline.unwrap_or(now);
        if let Some(until) = group.initial_delay_until {
            if now < until && now < deadline {
                return;
            }
            if group.new_member_added && now < deadline {
                // Members kept coming: wait one more delay, within the deadline.
                group.new_member_added = false;
                group.initial_delay_until =
                    Some((now + self.config.initial_rebalance_delay).min(deadline));
                return;
            }
        } else if !group.all_members_joined() && now < deadline {
            return;
        }
        self.complete_join(topic, group);
    }

    /// Starts the next generation with the members that rejoined (Kafka's
    /// `onCompleteJoin`).
    fn complete_join(&self, topic: &dyn InternalTopic, group: &mut Group) {
        let gone: Vec<String> = group
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none() && m.instance_id.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in gone {
            group.members.shift_remove(&id);
        }
        if !group
            .leader
            .as_ref()
            .is_some_and(|l| group.members.contains_key(l))
        {
            group.leader = group.members.keys().next().cloned();
        }
        group.generation += 1;
        group.initial_delay_until = None;
        group.rebalance_deadline = None;
        group.state_timestamp = now_ms();
        if group.members.is_empty() {
            // The protocol type stays, as Kafka's initNextGeneration keeps it.
            group.state = GroupState::Empty;
            group.protocol_name = None;
            info!(group = %group.id, generation = group.generation, "group is empty");
            if let Err(e) = self.group_manager.store_group(topic, group) {
                warn!(group = %group.id, "cannot store the empty group: {e:?}");
            }
            return;
        }
        group.protocol_name = group.select_protocol();
        group.state = GroupState::CompletingRebalance;
        let now = Instant::now();
        let rebalance_timeout = group
            .members
            .values()
            .map(|m| m.rebalance_timeout_ms.max(0))
            .max()
            .unwrap_or(0);
        group.sync_deadline = Some(now + Duration::from_millis(rebalance_timeout as u64));
        info!(group = %group.id, generation = group.generation, members = group.members.len(),
            protocol = ?group.protocol_name, "completed the join phase");
        let ids: Vec<String> = group.members.keys().cloned().collect();
        for id in ids {
            let is_leader = group.leader.as_ref() == Some(&id);
            let result = current_join_result(group, &id, is_leader);
            let Some(member) = group.members.get_mut(&id) else {
                continue;
            };
            member.is_new = false;
            member.synced = false;
            member.heartbeat_deadline =
                now + Duration::from_millis(member.session_timeout_ms.max(0) as u64);
            if let Some(waiter) = member.awaiting_join.take() {
                let _ = waiter.send(result);
            }
        }
    }

    pub async fn sync_group(&self, topic: &dyn InternalTopic, request: SyncRequest) -> SyncResult {
        // The leader's assignment is written on the way.
        let rx = crate::storage_io::blocking(|| self.start_sync(topic, request));
        rx.await
            .unwrap_or_else(|_| SyncResult::error(code(ResponseError::RebalanceInProgress)))
    }

    /// SyncGroup up to the wait for the leader: the answer's channel
    /// (already holding the answer when there is nothing to wait for).
    fn start_sync(
        &self,
        topic: &dyn InternalTopic,
        request: SyncRequest,
    ) -> oneshot::Receiver<SyncResult> {
        let Some(group) = self.group_manager.get_group(&request.group_id) else {
            return ready(SyncResult::error(code(ResponseError::UnknownMemberId)));
        };
        let (tx, rx) = oneshot::channel();
        {
            let mut group = group.lock();
            if group.state == GroupState::Dead {
                return ready(SyncResult::error(code(
                    ResponseError::CoordinatorNotAvailable,
                )));
            }
            let Some(member) = group.members.get(&request.member_id) else {
                return ready(SyncResult::error(code(ResponseError::UnknownMemberId)));
            };
            if member.instance_id != request.instance_id {
                return ready(SyncResult::error(code(ResponseError::FencedInstanceId)));
            }
            if request.generation != group.generation {
                return ready(SyncResult::error(code(ResponseError::IllegalGeneration)));
            }
            if request
                .protocol_type
                .as_ref()
                .is_some_and(|t| Some(t) != group.protocol_type.as_ref())
                || request
                    .protocol_name
                    .as_ref()
                    .is_some_and(|n| Some(n) != group.protocol_name.as_ref())
            {
                return ready(SyncResult::error(code(
                    ResponseError::InconsistentGroupProtocol,
                )));
            }
            match group.state {
                GroupState::Empty | GroupState::Dead => {
                    return ready(SyncResult::error(code(ResponseError::UnknownMemberId)));
                }
                GroupState::PreparingRebalance => {
                    return ready(SyncResult::error(code(ResponseError::RebalanceInProgress)));
                }
                GroupState::Stable => {
                    let member = &group.members[&request.member_id];
                    return ready(sync_result(&group, member.assignment.clone()));
                }
                GroupState::CompletingRebalance => {}
            }
            let member = group
                .members
                .get_mut(&request.member_id)
                .expect("checked above");
            member.awaiting_sync = Some(tx);
            member.synced = true;
            member.heartbeat_deadline =
                Instant::now() + Duration::from_millis(member.session_timeout_ms.max(0) as u64);
            if group.leader.as_ref() == Some(&request.member_id) {
                let assignments: HashMap<String, Bytes> = request.assignments.into_iter().collect();
                for member in group.members.values_mut() {
                    member.assignment = assignments.get(&member.id).cloned().unwrap_or_default();
                }
                if let Err(error) = self.group_manager.store_group(topic, &group) {
                    for member in group.members.values_mut() {
                        member.assignment = Bytes::new();
                        if let Some(waiter) = member.awaiting_sync.take() {
                            let _ = waiter.send(SyncResult::error(code(error)));
                        }
                    }
                    self.prepare_rebalance(&mut group);
                } else {
                    group.state = GroupState::Stable;
                    group.state_timestamp = now_ms();
                    group.sync_deadline = None;
                    info!(group = %group.id, generation = group.generation, "group is stable");
                    let results: Vec<(String, SyncResult)> = group
                        .members
                        .values()
                        .map(|m| (m.id.clone(), sync_result(&group, m.assignment.clone())))
                        .collect();
                    for (id, result) in results {
                        if let Some(waiter) = group
                            .members
                            .get_mut(&id)
                            .and_then(|m| m.awaiting_sync.take())
                        {
                            let _ = waiter.send(result);
                        }
                    }
                }
            }
        }
        rx
    }

    pub fn heartbeat(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> i16 {
        let Some(group) = self.group_manager.get_group(group_id) else {
            return code(ResponseError::UnknownMemberId);
        };
        let mut group = group.lock();
        let state = group.state;
        let current_generation = group.generation;
        if state == GroupState::Dead {
            return code(ResponseError::CoordinatorNotAvailable);
        }
        let Some(member) = group.members.get_mut(member_id) else {
            return code(ResponseError::UnknownMemberId);
        };
        if member.instance_id.as_deref() != instance_id {
            return code(ResponseError::FencedInstanceId);
        }
        if generation != current_generation {
            return code(ResponseError::IllegalGeneration);
        }
        member.heartbeat_deadline =
            Instant::now() + Duration::from_millis(member.session_timeout_ms.max(0) as u64);
        match state {
            GroupState::Empty | GroupState::Dead => code(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => code(ResponseError::RebalanceInProgress),
            GroupState::CompletingRebalance | GroupState::Stable => 0,
        }
    }

    /// Removes members; returns an error per member (by member id, or by
    /// instance id when the member id is empty).
    pub fn leave_group(
        &self,
        topic: &dyn InternalTopic,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Vec<i16> {
        let Some(group) = self.group_manager.get_group(group_id) else {
            return vec![code(ResponseError::UnknownMemberId); members.len()];
        };
        let mut group = group.lock();
        if group.state == GroupState::Dead {
            return vec![code(ResponseError::CoordinatorNotAvailable); members.len()];
        }
        members
            .iter()
            .map(|(member_id, instance_id)| {
                let found = if member_id.is_empty() {
                    instance_id.as_ref().and_then(|i| {
                        group
                            .members
                            .values()
                            .find(|m| m.instance_id.as_ref() == Some(i))
                            .map(|m| m.id.clone())
                    })
                } else {
                    Some(member_id.clone())
                };
                match found
                    .and_then(|id| group.members.get(&id).map(|m| (id, m.instance_id.clone())))
                {
                    None => code(ResponseError::UnknownMemberId),
                    Some((_, stored)) if instance_id.is_some() && stored != *instance_id => {
                        code(ResponseError::FencedInstanceId)
                    }
                    Some((id, _)) => {
                        info!(group = %group.id, member = %id, "member left");
                        self.remove_member(topic, &mut group, &id);
                        0
                    }
                }
            })
            .collect()
    }

    /// Drops a member and rebalances what is left (Kafka's
    /// `removeMemberAndUpdateGroup`).
    fn remove_member(&self, topic: &dyn InternalTopic, group: &mut Group, id: &str) {
        let Some(mut member) = group.members.shift_remove(id) else {
            return;
        };
        if let Some(waiter) = member.awaiting_join.take() {
            let _ = waiter.send(JoinResult::error(code(ResponseError::UnknownMemberId), id));
        }
        if let Some(waiter) = member.awaiting_sync.take() {
            let _ = waiter.send(SyncResult::error(code(ResponseError::UnknownMemberId)));
        }
        if group.leader.as_deref() == Some(id) {
            group.leader = group.members.keys().next().cloned();
        }
        match group.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(group);
                self.maybe_complete_join(topic, group);
            }
            GroupState::PreparingRebalance => self.maybe_complete_join(topic, group),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Completes rebalances whose wait is over and expires members that
    /// stopped heartbeating. Called every few tens of milliseconds.
    pub fn tick(&self, topic: &dyn InternalTopic) {
        let now = Instant::now();
        for group in self.group_manager.current_groups() {
            let mut group = group.lock();
            if group.consumer.is_some() {
                self.expire_consumer_members(topic, &mut group);
                continue;
            }
            group.pending_members.retain(|_, deadline| *deadline > now);
            let expired: Vec<String> = group
                .members
                .values()
                .filter(|m| m.heartbeat_deadline <= now)
                .filter(|m| m.is_new || (m.awaiting_join.is_none() && m.awaiting_sync.is_none()))
                .map(|m| m.id.clone())
                .collect();
            for id in expired {
                info!(group = %group.id, member = %id, "member's session expired");
                self.remove_member(topic, &mut group, &id);
            }
            match group.state {
                GroupState::PreparingRebalance => self.maybe_complete_join(topic, &mut group),
                GroupState::CompletingRebalance
                    if group.sync_deadline.is_some_and(|d| d <= now) =>
                {
                    let silent: Vec<String> = group
                        .members
                        .values()
                        .filter(|m| !m.synced)
                        .map(|m| m.id.clone())
                        .collect();
                    for id in &silent {
                        warn!(group = %group.id, member = %id, "member did not send SyncGroup in time");
                        group.members.shift_remove(id);
                    }
                    if !group
                        .leader
                        .as_ref()
                        .is_some_and(|l| group.members.contains_key(l))
                    {
                        group.leader = group.members.keys().next().cloned();
                    }
                    self.prepare_rebalance(&mut group);
                    self.maybe_complete_join(topic, &mut group);
                }
                _ => {}
            }
        }
    }

    // ------------------------------------------------- consumer groups

    /// ConsumerGroupHeartbeat (KIP-848): the member's answer, once the
    /// group's changes are written. A classic group with members keeps its
    /// id (GROUP_ID_NOT_FOUND); an empty one becomes a consumer group.
    pub fn consumer_group_heartbeat(
        &self,
        topic: &dyn InternalTopic,
        image: &MetadataImage,
        group_id: &str,
        request: &Heartbeat,
    ) -> Result<HeartbeatAnswer, Refusal> {
        topic.partitions().map_err(|e| (e, String::new()))?;
        if self.is_share_group(group_id) {
            return Err((
                ResponseError::GroupIdNotFound,
                format!("Group {group_id} is not a consumer group."),
            ));
        }
        let joining = request.member_epoch == 0;
        let (group, created) = match self.group_manager.get_group(group_id) {
            Some(group) => (group, false),
            None if joining => (self.group_manager.get_or_create_group(group_id), true),
            None => {
                return Err((
                    ResponseError::GroupIdNotFound,
                    format!("Consumer group {group_id} not found."),
                ));
            }
        };
        let mut group = group.lock();
        if group.state == GroupState::Dead {
            return Err((ResponseError::CoordinatorNotAvailable, String::new()));
        }
        let fresh;
        let consumer: &ConsumerGroup = match &group.consumer {
            Some(consumer) => consumer,
            None if joining && group.members.is_empty() => {
                fresh = ConsumerGroup::new(group_id);
                &fresh
            }
            None => {
                return Err((
                    ResponseError::GroupIdNotFound,
                    format!("Group {group_id} is not a consumer group."),
                ));
            }
        };
        let outcome = consumer.heartbeat(
            request,
            &self.config.consumer,
            &ImageTopics(image),
            std::time::Instant::now(),
        );
        let (answer, changes, next) = match outcome {
            Ok(done) => done,
            Err(refusal) => {
                if created {
                    drop(group);
                    self.group_manager.remove_group(group_id);
                }
                return Err(refusal);
            }
        };
        // An empty classic group's last metadata record (without members)
        // stays: its offsets go on, and at load the consumer group's records
        // win over it.
        self.group_manager
            .store_consumer_group_changes(topic, group_id, &changes)
            .map_err(|e| (e, String::new()))?;
        group.protocol_type = Some("consumer".to_string());
        group.generation = 0;
        group.consumer = Some(Box::new(next));
        Ok(answer)
    }

    /// A consumer group as it is now (ConsumerGroupDescribe); `None` when
    /// there is none of that id.
    pub fn consumer_group(&self, group_id: &str) -> Option<ConsumerGroup> {
        let group = self.group_manager.get_group(group_id)?;
        let group = group.lock();
        group.consumer.as_deref().cloned()
    }

    /// OffsetFetch v9's check of the member a consumer group's fetch names.
    pub fn validate_offset_fetch(
        &self,
        group_id: &str,
        member_id: &str,
        member_epoch: i32,
    ) -> Result<(), ResponseError> {
        let Some(group) = self.group_manager.get_group(group_id) else {
            return Ok(());
        };
        let group = group.lock();
        match &group.consumer {
            Some(consumer) => consumer.validate_offset_fetch(member_id, member_epoch),
            None => Ok(()),
        }
    }

    /// Fences the consumer-group members whose session or rebalance
    /// timeout has passed.
    fn expire_consumer_members(&self, topic: &dyn InternalTopic, group: &mut Group) {
        let Some(consumer) = &group.consumer else {
            return;
        };
        let expired = consumer.expired_members(std::time::Instant::now());
        if expired.is_empty() {
            return;
        }
        let mut next = (**consumer).clone();
        let mut changes: Vec<Change> = Vec::new();
        for (member, why) in &expired {
            info!(group = %group.id, member = %member, "member fenced from the group because {why}");
            next.fence(member, &mut changes);
        }
        match self
            .group_manager
            .store_consumer_group_changes(topic, &group.id, &changes)
        {
            Ok(()) => group.consumer = Some(Box::new(next)),
            Err(e) => warn!(group = %group.id, "cannot fence expired members: {e:?}"),
        }
    }

    // ------------------------------------------------------------ offsets

    /// Commits offsets for a group member (or, with generation -1 and no
    /// member id, for a group that only stores offsets). Returns one error
    /// code per offset.
    #[allow(clippy::too_many_arguments)]
    pub fn commit_offsets(
        &self,
        topic: &dyn InternalTopic,
        image: &MetadataImage,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        offsets: &[OffsetToCommit],
        api_version: i16,
    ) -> Vec<i16> {
        let all = |error: ResponseError| vec![code(error); offsets.len()];
        if group_id.is_empty() {
            return all(ResponseError::InvalidGroupId);
        }
        if let Err(e) = topic.partitions() {
            return all(e);
        }
        let group = match self.group_manager.get_group(group_id) {
            Some(group) => group,
            None if generation < 0 => self.group_manager.get_or_create_group(group_id),
            None => return all(ResponseError::IllegalGeneration),
        };
        let mut group = group.lock();
        if group.state == GroupState::Dead {
            return all(ResponseError::CoordinatorNotAvailable);
        }
        if let Some(consumer) = &group.consumer {
            // A consumer group's member commits with its member epoch.
            let refused = match consumer.validate_offset_commit(member_id, generation, api_version)
            {
                Ok(validator) => refused_offsets(&validator, image, offsets),
                Err(e) => return all(e),
            };
            return store_accepted(offsets, refused, |accepted| {
                self.group_manager
                    .store_offsets(topic, image, &mut group, accepted)
            });
        }
        let simple = generation < 0 && group.state == GroupState::Empty;
        if !simple {
            if let Err(e) = check_member(&group, member_id, instance_id, generation) {
                return all(e);
            }
            match group.state {
                GroupState::CompletingRebalance => return all(ResponseError::RebalanceInProgress),
                GroupState::Stable | GroupState::PreparingRebalance => {}
                GroupState::Empty | GroupState::Dead => return all(ResponseError::UnknownMemberId),
            }
        }

        let errors = self
            .group_manager
            .store_offsets(topic, image, &mut group, offsets);
        if let Some(member) = group.members.get_mut(member_id) {
            member.heartbeat_deadline =
                Instant::now() + Duration::from_millis(member.session_timeout_ms.max(0) as u64);
        }
        errors
    }

    /// Commits offsets in the producer's transaction (TxnOffsetCommit,
    /// Kafka's `handleTxnCommitOffsets`): a group that does not exist is
    /// created; a member id (KIP-447) must be the group's and its
    /// generation current. Returns one error code per offset.
    #[allow(clippy::too_many_arguments)]
    pub fn commit_txn_offsets(
        &self,
        topic: &dyn InternalTopic,
        image: &MetadataImage,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        producer_id: i64,
        producer_epoch: i16,
        offsets: &[OffsetToCommit],
    ) -> Vec<i16> {
        let all = |error: ResponseError| vec![code(error); offsets.len()];
        if group_id.is_empty() {
            return all(ResponseError::InvalidGroupId);
        }
        if let Err(e) = topic.partitions() {
            return all(e);
        }
        let group = self.group_manager.get_or_create_group(group_id);
        let mut group = group.lock();
        if group.state == GroupState::Dead {
            return all(ResponseError::CoordinatorNotAvailable);
        }
        let named = !member_id.is_empty() || generation >= 0;
        let mut refused = vec![None; offsets.len()];
        if let Some(consumer) = &group.consumer {
            if named {
                match consumer.validate_offset_commit(member_id, generation, 9) {
                    Ok(validator) => refused = refused_offsets(&validator, image, offsets),
                    Err(e) => return all(e),
                }
            }
        } else if named && let Err(e) = check_member(&group, member_id, instance_id, generation) {
            return all(e);
        }
        store_accepted(offsets, refused, |accepted| {
            self.group_manager.store_txn_offsets(
                topic,
                image,
                &mut group,
                accepted,
                producer_id,
                producer_epoch,
            )
        })
    }

    /// A transaction marker reached `partition` of `__consumer_offsets`.
    pub fn complete_txn(&self, producer_id: i64, commit: bool, partition: i32, partitions: i32) {
        self.group_manager
            .complete_txn(producer_id, commit, partition, partitions);
    }

    /// The committed offsets of a group: of the given partitions (-1 where
    /// none is committed), or all of them.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Vec<(String, Vec<CommittedOffset>)> {
        self.group_manager.fetch_offsets(group_id, topics)
    }

    /// Forgets the committed offsets of a deleted topic, in every group.
    pub fn on_topic_deleted(&self, offsets_topic: &dyn InternalTopic, topic: &str) {
        self.group_manager.on_topic_deleted(offsets_topic, topic)
    }

    // ---------------------------------------------------- share groups

    fn is_share_group(&self, group_id: &str) -> bool {
        self.share_groups.read().contains_key(group_id)
    }

    /// ShareGroupHeartbeat (KIP-932): the member's answer, the member that
    /// left (if it was a leave), and the group's epoch. An id of a classic
    /// or consumer group is GROUP_ID_NOT_FOUND, as in Kafka.
    pub fn share_group_heartbeat(
        &self,
        image: &MetadataImage,
        group_id: &str,
        request: &ShareHeartbeat,
        config: &MembershipConfig,
    ) -> Result<(ShareHeartbeatAnswer, Option<String>, i32), share_group::Refusal> {
        if let Some(group) = self.group_manager.get_group(group_id)
            && group.lock().state != GroupState::Dead
        {
            return Err((
                ResponseError::GroupIdNotFound,
                format!("Group {group_id} is not a share group."),
            ));
        }
        let existing = self.share_groups.read().get(group_id).cloned();
        let group = match existing {
            Some(group) => group,
            None if request.member_epoch == 0 => Arc::clone(
                self.share_groups
                    .write()
                    .entry(group_id.to_string())
                    .or_insert_with(|| {
                        Arc::new(parking_lot::Mutex::new(ShareGroup::new(group_id)))
                    }),
            ),
            None => {
                return Err((
                    ResponseError::GroupIdNotFound,
                    format!("Share group {group_id} not found."),
                ));
            }
        };
        let mut group = group.lock();
        let (answer, left) = group.heartbeat(
            request,
            config,
            &|name| image_topic(image, name),
            std::time::Instant::now(),
        )?;
        if let Some(member) = &left {
            info!(group = group_id, member = %member, "member left the share group");
        }
        Ok((answer, left, group.group_epoch))
    }

    /// Fences the share-group members whose session ran out; returns them
    /// by group.
    pub fn expire_share_members(&self, image: &MetadataImage) -> Vec<(String, String)> {
        let now = std::time::Instant::now();
        let groups: Vec<Arc<parking_lot::Mutex<ShareGroup>>> =
            self.share_groups.read().values().cloned().collect();
        let mut fenced = Vec::new();
        for group in groups {
            let mut group = group.lock();
            for member in group.expired_members(now) {
                if group.fence(&member, &|name| image_topic(image, name)) {
                    info!(group = %group.group_id, member = %member, "share group member's session expired");
                    fenced.push((group.group_id.clone(), member));
                }
            }
        }
        fenced
    }

    /// A share group as it is now.
    pub fn share_group(&self, group_id: &str) -> Option<ShareGroup> {
        let group = self.share_groups.read().get(group_id).cloned()?;
        let group = group.lock().clone();
        Some(group)
    }

    /// Every share group's id and state.
    pub fn list_share_groups(&self) -> Vec<(String, &'static str)> {
        let mut groups: Vec<(String, &'static str)> = self
            .share_groups
            .read()
            .values()
            .map(|g| {
                let g = g.lock();
                (g.group_id.clone(), g.state())
            })
            .collect();
        groups.sort();
        groups
    }

    /// Share groups known from their stored state (at start): empty, at
    /// epoch 0.
    pub fn restore_share_groups(&self, ids: impl IntoIterator<Item = String>) {
        let mut groups = self.share_groups.write();
        for id in ids {
            if self.group_manager.get_group(&id).is_some() {
                continue;
            }
            groups
                .entry(id.clone())
                .or_insert_with(|| Arc::new(parking_lot::Mutex::new(ShareGroup::new(&id))));
        }
    }

    /// Forgets an empty share group (DeleteGroups): None if there is no
    /// share group of that id, NON_EMPTY_GROUP while it has members.
    pub fn delete_share_group(&self, group_id: &str) -> Option<Result<(), ResponseError>> {
        let mut groups = self.share_groups.write();
        let group = groups.get(group_id)?;
        if !group.lock().is_empty() {
            return Some(Err(ResponseError::NonEmptyGroup));
        }
        groups.remove(group_id);
        Some(Ok(()))
    }

    /// The share group of an admin request (Kafka's `shareGroup`): a
    /// classic or consumer group of that id, or none, is
    /// GROUP_ID_NOT_FOUND with Kafka's message.
    pub fn share_group_or_not_found(
        &self,
        group_id: &str,
    ) -> Result<ShareGroup, share_group::Refusal> {
        self.not_a_share_group(group_id)?;
        self.share_group(group_id).ok_or_else(|| {
            (
                ResponseError::GroupIdNotFound,
                format!("Group {group_id} not found."),
            )
        })
    }

    /// AlterShareGroupOffsets' check (Kafka's `getOrMaybeCreateShareGroup`
    /// and `throwIfShareGroupIsNotEmpty`): the share group's epoch (0 for
    /// one that does not exist yet), GROUP_ID_NOT_FOUND for a classic or
    /// consumer group, NON_EMPTY_GROUP while it has members.
    pub fn share_group_epoch_if_empty(&self, group_id: &str) -> Result<i32, share_group::Refusal> {
        self.not_a_share_group(group_id)?;
        match self.share_group(group_id) {
            Some(group) if !group.is_empty() => Err((
                ResponseError::NonEmptyGroup,
                "The group is not empty.".to_string(),
            )),
            Some(group) => Ok(group.group_epoch),
            None => Ok(0),
        }
    }

    /// GROUP_ID_NOT_FOUND if a classic or consumer group has the id.
    fn not_a_share_group(&self, group_id: &str) -> Result<(), share_group::Refusal> {
        match self.group_manager.get_group(group_id) {
            Some(group) if group.lock().state != GroupState::Dead => Err((
                ResponseError::GroupIdNotFound,
                format!("Group {group_id} is not a share group."),
            )),
            _ => Ok(()),
        }
    }

    // ------------------------------------------------------------- admin

    pub fn describe_group(&self, group_id: &str) -> GroupDescription {
        let dead = || GroupDescription {
            state: GroupState::Dead.name().to_string(),
            ..Default::default()
        };
        let Some(group) = self.group_manager.get_group(group_id) else {
            return dead();
        };
        let group = group.lock();
        if group.consumer.is_some() {
            // Not a classic group: DescribeGroups up to v5 answers Dead, as
            // Kafka does (ConsumerGroupDescribe describes it).
            return dead();
        }
        let stable = group.state == GroupState::Stable;
        let protocol = group.protocol_name.clone().unwrap_or_default();
        GroupDescription {
            state: group.state.name().to_string(),
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            protocol: if stable || group.state == GroupState::CompletingRebalance {
                protocol.clone()
            } else {
                String::new()
            },
            members: group
                .members
                .values()
                .map(|m| {
                    let (metadata, assignment) = if stable {
                        (m.metadata(&protocol), m.assignment.clone())
                    } else {
                        (Bytes::new(), Bytes::new())
                    };
                    (
                        m.id.clone(),
                        m.instance_id.clone(),
                        m.client_id.clone(),
                        m.client_host.clone(),
                        metadata,
                        assignment,
                    )
                })
                .collect(),
            found: group.state != GroupState::Dead,
        }
    }

    /// How many groups are in each state (Dead included), in a fixed order.
    /// How many groups are in each state (Dead included), in a fixed order.
    pub fn count_by_state(&self) -> [(&'static str, usize); 5] {
        self.group_manager.count_by_state()
    }

    /// How many KIP-848 consumer groups are in each of their states.
    pub fn count_consumer_groups_by_state(&self) -> [(&'static str, usize); 4] {
        self.group_manager.count_consumer_groups_by_state()
    }

    /// (group id, protocol type, state, group type) of every live group.
    pub fn list_groups(&self) -> Vec<(String, String, &'static str, &'static str)> {
        self.group_manager.list_groups()
    }

    /// OffsetDelete (Kafka's `deleteOffsets`): deletes the group's
    /// committed offsets of the given partitions, except those of topics a
    /// member still subscribes to (GROUP_SUBSCRIBED_TO_TOPIC). A classic
    /// group that is not empty must use the consumer protocol, so its
    /// subscriptions can be read (NON_EMPTY_GROUP otherwise). Returns each
    /// partition's error code, topic by topic, or the whole request's.
    pub fn delete_offsets(
        &self,
        topic: &dyn InternalTopic,
        group_id: &str,
        topics: &[(String, Vec<i32>)],
    ) -> Result<Vec<TopicErrors>, ResponseError> {
        let Some(group) = self.group_manager.get_group(group_id) else {
            return Err(ResponseError::GroupIdNotFound);
        };
        let mut group = group.lock();
        if group.consumer.is_none() {
            match group.state {
                GroupState::Dead => return Err(ResponseError::GroupIdNotFound),
                GroupState::Empty => {}
                _ if group.protocol_type.as_deref() == Some("consumer") => {}
                _ => return Err(ResponseError::NonEmptyGroup),
            }
        }
        let subscribed = |group: &Group, topic: &str| match &group.consumer {
            Some(consumer) => consumer.is_subscribed_to_topic(topic),
            None => group.is_subscribed_to_topic(topic),
        };
        let mut results = Vec::with_capacity(topics.len());
        let mut deleted = Vec::new();
        for (name, partitions) in topics {
            let error = if subscribed(&group, name) {
                code(ResponseError::GroupSubscribedToTopic)
            } else {
                deleted.extend(partitions.iter().map(|&p| (name.clone(), p)));
                0
            };
            results.push((
                name.clone(),
                partitions.iter().map(|&p| (p, error)).collect(),
            ));
        }
        self.group_manager
            .delete_offsets(topic, &mut group, &deleted)?;
        if !deleted.is_empty() {
            info!(
                group = group_id,
                partitions = deleted.len(),
                "deleted committed offsets"
            );
        }
        Ok(results)
    }

    /// Deletes empty groups and their offsets.
    pub fn delete_group(&self, topic: &dyn InternalTopic, group_id: &str) -> i16 {
        let Some(group) = self.group_manager.get_group(group_id) else {
            return code(ResponseError::GroupIdNotFound);
        };
        let mut group = group.lock();
        if let Some(consumer) = &group.consumer {
            if !consumer.is_empty() {
                return code(ResponseError::NonEmptyGroup);
            }
            let mut gone = (**consumer).clone();
            let mut changes = Vec::new();
            gone.delete(&mut changes);
            if let Err(error) = self
                .group_manager
                .store_consumer_group_changes(topic, group_id, &changes)
            {
                return code(error);
            }
            group.consumer = None;
        }
        match group.state {
            GroupState::Dead => return code(ResponseError::GroupIdNotFound),
            GroupState::Empty => {}
            _ => return code(ResponseError::NonEmptyGroup),
        }
        if let Err(error) = self.group_manager.delete_group(topic, &mut group) {
            return code(error);
        }
        group.state = GroupState::Dead;
        drop(group);
        self.group_manager.remove_group(group_id);
        info!(group = group_id, "deleted group");
        0
    }
}

/// The cluster's topics as consumer groups see them.
struct ImageTopics<'a>(&'a MetadataImage);

impl TopicView for ImageTopics<'_> {
    fn topic(&self, name: &str) -> Option<TopicSpec> {
        self.0.topic(name).map(|t| TopicSpec {
            id: t.id,
            name: t.name.clone(),
            partitions: t.partitions.len() as i32,
        })
    }

    fn topic_names(&self) -> Vec<String> {
        self.0
            .topics()
            .filter(|t| !is_internal_topic(&t.name))
            .map(|t| t.name.clone())
            .collect()
    }

    fn topic_name(&self, id: &Uuid) -> Option<String> {
        self.0.topic_by_id(id).map(|t| t.name.clone())
    }
}

/// An offset commit's member must be in the group, with its instance id,
/// in the current generation.
fn check_member(
    group: &Group,
    member_id: &str,
    instance_id: Option<&str>,
    generation: i32,
) -> Result<(), ResponseError> {
    let member = group
        .members
        .get(member_id)
        .ok_or(ResponseError::UnknownMemberId)?;
    if instance_id.is_some() && member.instance_id.as_deref() != instance_id {
        return Err(ResponseError::FencedInstanceId);
    }
    if generation != group.generation {
        return Err(ResponseError::IllegalGeneration);
    }
    Ok(())
}

fn update_member(member: &mut Member, request: &JoinRequest) {
    member.protocols = request.protocols.clone();
    member.protocol_type = request.protocol_type.clone();
    member.session_timeout_ms = request.session_timeout_ms;
    member.rebalance_timeout_ms = request.rebalance_timeout_ms;
    member.client_id = request.client_id.clone();
    member.client_host = request.client_host.clone();
}

/// The current generation as a JoinGroup response; the leader also gets
/// every member's metadata.
fn current_join_result(group: &Group, member_id: &str, with_members: bool) -> JoinResult {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    JoinResult {
        error: 0,
        generation: group.generation,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol_name.clone(),
        leader: group.leader.clone().unwrap_or_default(),
        member_id: member_id.to_string(),
        members: if with_members {
            group
                .members
                .values()
                .map(|m| (m.id.clone(), m.instance_id.clone(), m.metadata(&protocol)))
                .collect()
        } else {
            Vec::new()
        },
    }
}

fn sync_result(group: &Group, assignment: Bytes) -> SyncResult {
    SyncResult {
        error: 0,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol_name.clone(),
        assignment,
    }
}

/// The error of each offset a consumer group's commit may not write
/// (`None` where it may).
fn refused_offsets(
    validator: &CommitValidator<'_>,
    image: &MetadataImage,
    offsets: &[OffsetToCommit],
) -> Vec<Option<i16>> {
    // The common case (the member's current epoch) needs no lookups.
    if matches!(validator, CommitValidator::Any) {
        return vec![None; offsets.len()];
    }
    offsets
        .iter()
        .map(|o| {
            let topic_id = image.topic(&o.topic).map(|t| t.id);
            validator.validate(topic_id, o.partition).err().map(code)
        })
        .collect()
}

/// Stores the offsets not `refused` with `store`; one error code per
/// offset, in order.
fn store_accepted(
    offsets: &[OffsetToCommit],
    refused: Vec<Option<i16>>,
    store: impl FnOnce(&[OffsetToCommit]) -> Vec<i16>,
) -> Vec<i16> {
    if refused.iter().all(Option::is_none) {
        return store(offsets);
    }
    let accepted: Vec<OffsetToCommit> = offsets
        .iter()
        .zip(&refused)
        .filter(|(_, r)| r.is_none())
        .map(|(o, _)| o.clone())
        .collect();
    let mut stored = if accepted.is_empty() {
        Vec::new()
    } else {
        store(&accepted)
    }
    .into_iter();
    refused
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                stored
                    .next()
                    .unwrap_or(code(ResponseError::UnknownServerError))
            })
        })
        .collect()
}

/// A topic's id and partition count, if the metadata has it.
fn image_topic(image: &MetadataImage, name: &str) -> Option<share_group::TopicInfo> {
    image.topic(name).map(|t| (t.id, t.partitions.len() as i32))
}
