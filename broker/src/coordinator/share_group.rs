//! A share group's membership (KIP-932, Kafka's `ShareGroup` and the
//! share-group half of `GroupMetadataManager`): members join, heartbeat and
//! leave with ShareGroupHeartbeat, and the coordinator assigns partitions
//! itself with Kafka's simple share assignor, under which every member may
//! get every partition of the topics it subscribes to.
//!
//! The group epoch goes up whenever the subscriptions or the partitions of
//! the subscribed topics change; a share member has no partitions to give
//! up first, so it takes the group's epoch and its new assignment at its
//! next heartbeat. A member that stops heartbeating for the session timeout
//! is fenced. Nothing here does I/O or reads a clock.

use kafka_protocol::error::ResponseError;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The member epoch with which a member leaves.
pub const LEAVE_GROUP_MEMBER_EPOCH: i32 = -1;

/// An error code and message for the member.
pub type Refusal = (ResponseError, String);

/// The group's membership settings: `group.share.session.timeout.ms`,
/// `group.share.heartbeat.interval.ms` (or the group's own) and
/// `group.share.max.size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipConfig {
    pub session_timeout_ms: i32,
    pub heartbeat_interval_ms: i32,
    pub max_size: usize,
}

/// One ShareGroupHeartbeat, checked as Kafka's
/// `throwIfShareGroupHeartbeatRequestIsInvalid` checks it.
#[derive(Debug, Clone, Default)]
pub struct ShareHeartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub rack_id: Option<String>,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub client_id: String,
    pub client_host: String,
}

/// What the member is told back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareHeartbeatAnswer {
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// The member's partitions by topic id, when it must be told them.
    pub assignment: Option<Vec<(Uuid, Vec<i32>)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareGroupMember {
    pub member_id: String,
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// Sorted, without duplicates.
    pub subscribed_topic_names: Vec<String>,
    /// Its partitions by topic id.
    pub assignment: BTreeMap<Uuid, Vec<i32>>,
    session_deadline: Instant,
}

/// A topic as the metadata has it: its id and partition count.
pub type TopicInfo = (Uuid, i32);

#[derive(Debug, Clone)]
pub struct ShareGroup {
    pub group_id: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    members: BTreeMap<String, ShareGroupMember>,
    /// The subscribed topics as they were at the last epoch (Kafka's
    /// metadata hash, kept as what it hashes).
    topics: BTreeMap<String, TopicInfo>,
}

impl ShareGroup {
    pub fn new(group_id: &str) -> Self {
        ShareGroup {
            group_id: group_id.to_string(),
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            topics: BTreeMap::new(),
        }
    }

    /// Kafka's `ShareGroupState`: Empty or Stable (a share group never
    /// waits for members to give partitions up).
    pub fn state(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else {
            "Stable"
        }
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn members(&self) -> impl Iterator<Item = &ShareGroupMember> {
        self.members.values()
    }

    pub fn has_member(&self, member_id: &str) -> bool {
        self.members.contains_key(member_id)
    }

    /// Every topic some member subscribes to.
    pub fn subscribed_topics(&self) -> BTreeSet<String> {
        self.members
            .values()
            .flat_map(|m| m.subscribed_topic_names.iter().cloned())
            .collect()
    }

    /// Every partition some member is assigned, by topic id.
    pub fn assigned_partitions(&self) -> BTreeSet<(Uuid, i32)> {
        self.members
            .values()
            .flat_map(|m| {
                m.assignment
                    .iter()
                    .flat_map(|(&id, parts)| parts.iter().map(move |&p| (id, p)))
            })
            .collect()
    }

    /// A heartbeat (Kafka's `shareGroupHeartbeat` and `shareGroupLeave`):
    /// the answer, and the member that left if it was a leave.
    pub fn heartbeat(
        &mut self,
        request: &ShareHeartbeat,
        config: &MembershipConfig,
        topics: &dyn Fn(&str) -> Option<TopicInfo>,
        now: Instant,
    ) -> Result<(ShareHeartbeatAnswer, Option<String>), Refusal> {
        if request.member_epoch == LEAVE_GROUP_MEMBER_EPOCH {
            if self.members.remove(&request.member_id).is_none() {
                return Err(self.unknown_member(&request.member_id));
            }
            self.bump_epoch(topics);
            return Ok((
                ShareHeartbeatAnswer {
                    member_id: request.member_id.clone(),
                    member_epoch: LEAVE_GROUP_MEMBER_EPOCH,
                    heartbeat_interval_ms: config.heartbeat_interval_ms,
                    assignment: None,
                },
                Some(request.member_id.clone()),
            ));
        }
        let joining = request.member_epoch == 0;
        if self.members.len() >= config.max_size && !self.members.contains_key(&request.member_id) {
            return Err((
                ResponseError::GroupMaxSizeReached,
                format!(
                    "The share group has reached its maximum capacity of {} members.",
                    config.max_size
                ),
            ));
        }
        let member = match self.members.get(&request.member_id) {
            Some(member) => member.clone(),
            None if joining => ShareGroupMember {
                member_id: request.member_id.clone(),
                member_epoch: 0,
                previous_member_epoch: 0,
                rack_id: None,
                client_id: String::new(),
                client_host: String::new(),
                subscribed_topic_names: Vec::new(),
                assignment: BTreeMap::new(),
                session_deadline: now,
            },
            None => return Err(self.unknown_member(&request.member_id)),
        };
        check_member_epoch(&member, request.member_epoch)?;
        let mut updated = member.clone();
        if let Some(rack) = &request.rack_id {
            updated.rack_id = Some(rack.clone());
        }
        if let Some(names) = &request.subscribed_topic_names {
            let names: BTreeSet<String> = names.iter().cloned().collect();
            updated.subscribed_topic_names = names.into_iter().collect();
        }
        updated.client_id = request.client_id.clone();
        updated.client_host = request.client_host.clone();
        updated.session_deadline = now + Duration::from_millis(config.session_timeout_ms as u64);
        let is_new = !self.members.contains_key(&updated.member_id);
        let subscription_changed =
            is_new || updated.subscribed_topic_names != member.subscribed_topic_names;
        self.members.insert(updated.member_id.clone(), updated);
        let topics_now = self.resolve_topics(topics);
        if subscription_changed || topics_now != self.topics {
            // A new member or subscription, or the topics' partitions
            // changed: a new epoch, and with it a new assignment.
            self.group_epoch += 1;
            self.topics = topics_now;
            self.assign();
        }
        let group_epoch = self.group_epoch;
        let Some(updated) = self.members.get_mut(&request.member_id) else {
            return Err(self.unknown_member(&request.member_id));
        };
        if updated.member_epoch != group_epoch {
            updated.previous_member_epoch = updated.member_epoch;
            updated.member_epoch = group_epoch;
        }
        let tell = joining
            || request.subscribed_topic_names.is_some()
            || updated.assignment != member.assignment;
        let answer = ShareHeartbeatAnswer {
            member_id: updated.member_id.clone(),
            member_epoch: updated.member_epoch,
            heartbeat_interval_ms: config.heartbeat_interval_ms,
            assignment: tell.then(|| {
                updated
                    .assignment
                    .iter()
                    .map(|(&id, parts)| (id, parts.clone()))
                    .collect()
            }),
        };
        Ok((answer, None))
    }

    /// The members whose session ran out by `now`.
    pub fn expired_members(&self, now: Instant) -> Vec<String> {
        self.members
            .values()
            .filter(|m| m.session_deadline <= now)
            .map(|m| m.member_id.clone())
            .collect()
    }

    /// Fences a member (its session expired): it is gone, and the group
    /// takes a new epoch.
    pub fn fence(&mut self, member_id: &str, topics: &dyn Fn(&str) -> Option<TopicInfo>) -> bool {
        if self.members.remove(member_id).is_none() {
            return false;
        }
        self.bump_epoch(topics);
        true
    }

    fn unknown_member(&self, member_id: &str) -> Refusal {
        (
            ResponseError::UnknownMemberId,
            format!(
                "Member {member_id} is not a member of group {}.",
                self.group_id
            ),
        )
    }

    fn bump_epoch(&mut self, topics: &dyn Fn(&str) -> Option<TopicInfo>) {
        self.group_epoch += 1;
        self.topics = self.resolve_topics(topics);
        self.assign();
    }

    fn resolve_topics(
        &self,
        topics: &dyn Fn(&str) -> Option<TopicInfo>,
    ) -> BTreeMap<String, TopicInfo> {
        self.subscribed_topics()
            .into_iter()
            .filter_map(|name| topics(&name).map(|info| (name, info)))
            .collect()
    }

    /// Kafka's simple share assignor as this broker runs it: every member
    /// gets every partition of the topics it subscribes to.
    fn assign(&mut self) {
        for member in self.members.values_mut() {
            member.assignment = member
                .subscribed_topic_names
                .iter()
                .filter_map(|name| self.topics.get(name))
                .map(|&(id, count)| (id, (0..count).collect()))
                .collect();
        }
        self.assignment_epoch = self.group_epoch;
    }
}

/// Kafka's `throwIfShareGroupMemberEpochIsInvalid`: epoch 0 (re)joins;
/// otherwise the member's epoch, or the one before it (the answer with the
/// new one may have been lost).
fn check_member_epoch(member: &ShareGroupMember, received: i32) -> Result<(), Refusal> {
    if received == 0 {
        return Ok(());
    }
    if received > member.member_epoch {
        return Err((
            ResponseError::FencedMemberEpoch,
            format!(
                "The share group member has a greater member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                member.member_epoch
            ),
        ));
    }
    if received < member.member_epoch && received != member.previous_member_epoch {
        return Err((
            ResponseError::FencedMemberEpoch,
            format!(
                "The share group member has a smaller member epoch ({received}) than the one known by the group coordinator ({}), and it does not match the previous member epoch ({}). The member must abandon all its partitions and rejoin.",
                member.member_epoch, member.previous_member_epoch
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: MembershipConfig = MembershipConfig {
        session_timeout_ms: 45_000,
        heartbeat_interval_ms: 5_000,
        max_size: 2,
    };
    const T: Uuid = Uuid::from_u128(7);

    fn topics(name: &str) -> Option<TopicInfo> {
        (name == "t").then_some((T, 2))
    }

    fn join(member: &str) -> ShareHeartbeat {
        ShareHeartbeat {
            member_id: member.into(),
            member_epoch: 0,
            subscribed_topic_names: Some(vec!["t".into()]),
            ..Default::default()
        }
    }

    #[test]
    fn every_member_gets_every_partition_and_epochs_move() {
        let now = Instant::now();
        let mut group = ShareGroup::new("g");
        let (a, _) = group.heartbeat(&join("a"), &CONFIG, &topics, now).unwrap();
        assert_eq!(a.member_epoch, 1);
        assert_eq!(a.assignment, Some(vec![(T, vec![0, 1])]));
        let (b, _) = group.heartbeat(&join("b"), &CONFIG, &topics, now).unwrap();
        assert_eq!(b.member_epoch, 2);
        assert_eq!(b.assignment, Some(vec![(T, vec![0, 1])]));
        assert_eq!(group.state(), "Stable");
        // A third member does not fit.
        let full = group.heartbeat(&join("c"), &CONFIG, &topics, now);
        assert_eq!(full.unwrap_err().0, ResponseError::GroupMaxSizeReached);
        // a heartbeats with its old epoch: it takes the group's, and is not
        // told its unchanged assignment again.
        let beat = ShareHeartbeat {
            member_id: "a".into(),
            member_epoch: 1,
            ..Default::default()
        };
        let (a, _) = group.heartbeat(&beat, &CONFIG, &topics, now).unwrap();
        assert_eq!((a.member_epoch, a.assignment), (2, None));
        // An epoch it never had is fenced.
        let stale = ShareHeartbeat {
            member_epoch: 7,
            ..beat.clone()
        };
        let err = group.heartbeat(&stale, &CONFIG, &topics, now).unwrap_err();
        assert_eq!(err.0, ResponseError::FencedMemberEpoch);
        // b leaves; a's session runs out.
        let leave = ShareHeartbeat {
            member_id: "b".into(),
            member_epoch: LEAVE_GROUP_MEMBER_EPOCH,
            ..Default::default()
        };
        let (answer, left) = group.heartbeat(&leave, &CONFIG, &topics, now).unwrap();
        assert_eq!((answer.member_epoch, left.as_deref()), (-1, Some("b")));
        assert_eq!(group.group_epoch, 3);
        // With room again, a member that never joined is unknown.
        let stranger = ShareHeartbeat {
            member_id: "x".into(),
            member_epoch: 3,
            ..Default::default()
        };
        let err = group
            .heartbeat(&stranger, &CONFIG, &topics, now)
            .unwrap_err();
        assert_eq!(err.0, ResponseError::UnknownMemberId);
        let later = now + Duration::from_millis(45_000);
        assert_eq!(group.expired_members(later), vec!["a".to_string()]);
        assert!(group.fence("a", &topics));
        assert_eq!(group.state(), "Empty");
        assert_eq!(group.group_epoch, 4);
    }
}
