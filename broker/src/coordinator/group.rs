//! A classic consumer group: its members, generation and state (Kafka's
//! `ClassicGroup` / `GroupMetadata`).

use super::consumer_group::ConsumerGroup;
use super::records::{GroupMetadataValue, MemberMetadata, OffsetCommitValue};
use bytes::{Buf, Bytes};
use indexmap::IndexMap;
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::Decodable;
use std::collections::{HashMap, HashSet};
use tokio::sync::oneshot;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name DescribeGroups and ListGroups report.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// What a JoinGroup request gets back.
#[derive(Debug, Clone, Default)]
pub struct JoinResult {
    pub error: i16,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// For the leader: every member and its metadata for the chosen protocol.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinResult {
    pub fn error(error: i16, member_id: &str) -> Self {
        JoinResult {
            error,
            generation: -1,
            member_id: member_id.to_string(),
            ..Default::default()
        }
    }
}

/// What a SyncGroup request gets back.
#[derive(Debug, Clone, Default)]
pub struct SyncResult {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResult {
    pub fn error(error: i16) -> Self {
        SyncResult {
            error,
            ..Default::default()
        }
    }
}

pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    /// The protocols it supports, most preferred first, with its metadata.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub awaiting_join: Option<oneshot::Sender<JoinResult>>,
    pub awaiting_sync: Option<oneshot::Sender<SyncResult>>,
    /// When it is expired unless it heartbeats (or joins) again.
    pub heartbeat_deadline: Instant,
    /// Joined in the current rebalance and not yet answered.
    pub is_new: bool,
    /// Sent SyncGroup for the current generation.
    pub synced: bool,
}

impl Member {
    /// Whether it asks for the same protocols with the same metadata.
    pub fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, metadata)| metadata.clone())
            .unwrap_or_default()
    }
}

pub struct Group {
    pub id: String,
    pub state: GroupState,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub generation: i32,
    pub leader: Option<String>,
    /// In join order; the first member leads when the leader leaves.
    pub members: IndexMap<String, Member>,
    /// Member ids handed out (MEMBER_ID_REQUIRED) but not yet used, with
    /// when they expire.
    pub pending_members: HashMap<String, Instant>,
    pub offsets: HashMap<(String, i32), OffsetCommitValue>,
    /// Offsets committed in open transactions, by producer id: they become
    /// committed offsets when the transaction commits (Kafka's
    /// `pendingTransactionalOffsetCommits`).
    pub pending_txn_offsets: HashMap<i64, HashMap<(String, i32), OffsetCommitValue>>,
    pub state_timestamp: i64,
    /// When the rebalance in progress completes at the latest.
    pub rebalance_deadline: Option<Instant>,
    /// The end of the wait for more members of a new group.
    pub initial_delay_until: Option<Instant>,
    pub new_member_added: bool,
    /// When members that have not sent SyncGroup are removed.
    pub sync_deadline: Option<Instant>,
    /// Set for a KIP-848 consumer group (ConsumerGroupHeartbeat), whose
    /// members are not classic members: the classic fields stay empty.
    pub consumer: Option<Box<ConsumerGroup>>,
}

impl Group {
    pub fn new(id: &str, now_ms: i64) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            protocol_type: None,
            protocol_name: None,
            generation: 0,
            leader: None,
            members: IndexMap::new(),
            pending_members: HashMap::new(),
            offsets: HashMap::new(),
            pending_txn_offsets: HashMap::new(),
            state_timestamp: now_ms,
            rebalance_deadline: None,
            initial_delay_until: None,
            new_member_added: false,
            sync_deadline: None,
            consumer: None,
        }
    }

    /// Whether a member asking for `protocol_type` and `protocols` can join
    /// (Kafka's `supportsProtocols`).
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(name, _)| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == name))
            })
    }

    /// The protocol every member supports that most members prefer.
    pub fn select_protocol(&self) -> Option<String> {
        let candidates: Vec<&String> = self
            .members
            .values()
            .next()?
            .protocols
            .iter()
            .map(|(name, _)| name)
            .filter(|name| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == *name))
            })
            .collect();
        let votes = |candidate: &String| {
            self.members
                .values()
                .filter(|m| {
                    m.protocols
                        .iter()
                        .map(|(p, _)| p)
                        .find(|p| candidates.contains(p))
                        == Some(candidate)
                })
                .count()
        };
        // Ties go to the first member's preference.
        candidates
            .iter()
            .copied()
            .rev()
            .max_by_key(|c| votes(c))
            .cloned()
    }

    pub fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    /// The topics its members subscribe to, when the group uses the
    /// consumer protocol and every member's subscription of the chosen
    /// protocol reads as one (Kafka's `computeSubscribedTopics`, which
    /// reads each with the version-0 prefix every later version keeps).
    pub fn subscribed_topics(&self) -> Option<HashSet<String>> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        if self.members.is_empty() {
            return Some(HashSet::new());
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = HashSet::new();
        for member in self.members.values() {
            let mut metadata = member.metadata(protocol);
            if metadata.len() < 2 {
                return None;
            }
            metadata.advance(2);
            let subscription = ConsumerProtocolSubscription::decode(&mut metadata, 0).ok()?;
            topics.extend(subscription.topics.into_iter().map(|t| t.to_string()));
        }
        Some(topics)
    }

    /// Whether a member still subscribes to `topic`, so OffsetDelete may
    /// not delete its offsets (Kafka's `isSubscribedToTopic`): unknown
    /// subscriptions count as subscribed for a consumer-protocol group.
    pub fn is_subscribed_to_topic(&self, topic: &str) -> bool {
        match self.subscribed_topics() {
            Some(topics) => topics.contains(topic),
            None => self.protocol_type.as_deref() == Some("consumer"),
        }
    }

    /// The group as stored in `__consumer_offsets`.
    pub fn metadata_value(&self) -> GroupMetadataValue {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        GroupMetadataValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol_name.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_timestamp,
            members: self
                .members
                .values()
                .map(|m| MemberMetadata {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: m.rebalance_timeout_ms,
                    session_timeout: m.session_timeout_ms,
                    subscription: m.metadata(&protocol),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, protocols: &[&str]) -> Member {
        Member {
            id: id.into(),
            instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            rebalance_timeout_ms: 1000,
            session_timeout_ms: 1000,
            protocol_type: "consumer".into(),
            protocols: protocols
                .iter()
                .map(|p| (p.to_string(), Bytes::new()))
                .collect(),
            assignment: Bytes::new(),
            awaiting_join: None,
            awaiting_sync: None,
            heartbeat_deadline: Instant::now(),
            is_new: false,
            synced: false,
        }
    }

    #[test]
    fn protocols_are_chosen_by_vote_among_common_ones() {
        let mut group = Group::new("g", 0);
        group.protocol_type = Some("consumer".into());
        group
            .members
            .insert("a".into(), member("a", &["range", "roundrobin"]));
        group
            .members
            .insert("b".into(), member("b", &["roundrobin", "range", "sticky"]));
        group
            .members
            .insert("c".into(), member("c", &["roundrobin", "range"]));
        assert_eq!(group.select_protocol().as_deref(), Some("roundrobin"));
        assert!(group.supports_protocols("consumer", &[("range".into(), Bytes::new())]));
        assert!(!group.supports_protocols("consumer", &[("sticky".into(), Bytes::new())]));
        assert!(!group.supports_protocols("connect", &[("range".into(), Bytes::new())]));
    }
}
