//! Protocol-level checks of KIP-848 consumer groups: ConsumerGroupHeartbeat
//! and ConsumerGroupDescribe driven request by request (member and group
//! epochs, revocation before reassignment, fencing, session expiry, static
//! members, regex subscriptions, new partitions), the classic APIs that
//! meet these groups (OffsetCommit/OffsetFetch v9 with member epochs,
//! ListGroups v5 types, DeleteGroups, JoinGroup), durability across
//! restarts, and a property test of random membership changes.
//!
//! Every member is simulated as a faithful client: it reports as owned
//! exactly the partitions of the last assignment it received, so it drops
//! revoked partitions as soon as it is told, and it holds a partition only
//! once a response gave it. After every response no partition may be held
//! by two members.

use anyhow::{Context, Result, bail, ensure};
use harness::admin::{self, CreatableTopic, CreatePartitionsTopic};
use harness::consumer_groups::{
    self as cg, DescribedConsumerGroup, Heartbeat, HeartbeatResponse, TopicPartitions, error as cge,
};
use harness::fixture::TopicSpec;
use harness::groups::{
    self, CommitPartition, ConsumerSubscription, JoinGroupRequest, OffsetCommitRequest,
    OffsetFetchGroup, error as ge,
};
use harness::protocol::error::{INVALID_REQUEST, UNSUPPORTED_VERSION};
use harness::wire::{Uuid, uuid};
use harness::{Broker, Client, or_skip};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The topic most tests subscribe to, with 4 partitions.
const T: &str = "t";
const T_ID: Uuid = uuid(0xC0_0001);

/// Session timeout of most tests: long enough that no member expires by
/// accident, short as a broker allows with the min key lowered.
const SESSION_MS: i32 = 10_000;
const HEARTBEAT_MS: i32 = 500;

/// The settings every broker of these tests gets, with the consumer
/// session timeout and heartbeat interval given.
fn broker(session_ms: i32, heartbeat_ms: i32, topics: &[TopicSpec]) -> Result<Broker> {
    let session = session_ms.to_string();
    let heartbeat = heartbeat_ms.to_string();
    Broker::builder()
        .topics(topics)
        .properties(&[
            ("group.consumer.session.timeout.ms", &session),
            ("group.consumer.min.session.timeout.ms", "500"),
            ("group.consumer.heartbeat.interval.ms", &heartbeat),
            ("group.consumer.min.heartbeat.interval.ms", "100"),
            ("group.initial.rebalance.delay.ms", "0"),
            ("group.min.session.timeout.ms", "500"),
            ("offsets.topic.num.partitions", "3"),
        ])
        .start()
}

fn start() -> Result<Broker> {
    broker(SESSION_MS, HEARTBEAT_MS, &[TopicSpec::new(T, T_ID, 4)])
}

// ------------------------------------------------------------- the client

/// Partitions as a member holds them: (topic id, partition).
type Held = BTreeSet<(Uuid, i32)>;

fn held_of(assignment: &[TopicPartitions]) -> Held {
    assignment
        .iter()
        .flat_map(|(topic, partitions)| partitions.iter().map(move |p| (*topic, *p)))
        .collect()
}

fn owned_of(held: &Held) -> Vec<TopicPartitions> {
    let mut by_topic: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
    for (topic, p) in held {
        by_topic.entry(*topic).or_default().push(*p);
    }
    by_topic.into_iter().collect()
}

fn all_of(topic: Uuid, partitions: i32) -> Held {
    (0..partitions).map(|p| (topic, p)).collect()
}

fn described_held(assignment: &[cg::DescribedTopicPartitions]) -> Held {
    assignment
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, *p)))
        .collect()
}

/// Sends a heartbeat as `version` and decodes the answer.
fn send(c: &mut Client, version: i16, request: &Heartbeat) -> Result<HeartbeatResponse> {
    let raw = c.round_trip(&request.encode(version, 68))?;
    cg::decode_heartbeat_response(&raw).context("decoding ConsumerGroupHeartbeat response")
}

/// A simulated consumer: its id, epoch and the partitions it holds.
#[derive(Debug, Clone)]
struct Member {
    group: String,
    id: String,
    instance_id: Option<String>,
    epoch: i32,
    /// The partitions of its last assignment.
    held: Held,
    /// Partitions it was told to give up but has not yet said it gave up
    /// (in a heartbeat reporting its owned partitions): still its own as
    /// far as safety goes.
    releasing: Held,
}

impl Member {
    /// Joins `group` (v1, with its own member id) subscribed to `topics`.
    fn join(c: &mut Client, group: &str, id: &str, topics: &[&str]) -> Result<Member> {
        Member::join_with(c, Heartbeat::join(group, id, topics))
    }

    fn join_with(c: &mut Client, request: Heartbeat) -> Result<Member> {
        let response = send(c, 1, &request)?;
        ensure!(response.error_code == 0, "join {request:?}: {response:?}");
        ensure!(
            response.member_id.as_deref() == Some(request.member_id.as_str()),
            "join answered another member id: {response:?}"
        );
        let assignment = response
            .assignment
            .as_ref()
            .with_context(|| format!("a join gets its assignment: {response:?}"))?;
        Ok(Member {
            group: request.group_id.clone(),
            id: request.member_id.clone(),
            instance_id: request.instance_id.clone(),
            epoch: response.member_epoch,
            held: held_of(assignment),
            releasing: Held::new(),
        })
    }

    /// A heartbeat reporting what it holds.
    fn request(&self) -> Heartbeat {
        let mut request = Heartbeat::keep_alive(&self.group, &self.id, self.epoch);
        request.instance_id = self.instance_id.clone();
        request.topic_partitions = Some(owned_of(&self.held));
        request
    }

    /// Heartbeats; takes the answer's epoch and assignment (if any).
    /// Returns whether anything changed.
    fn beat(&mut self, c: &mut Client) -> Result<bool> {
        let request = self.request();
        // The heartbeat says what it owns: the revoked partitions are released.
        self.releasing.clear();
        let response = send(c, 1, &request)?;
        self.take(&response)
    }

    /// What it may be consuming: its assignment and what it still releases.
    fn owns(&self) -> Held {
        self.held.union(&self.releasing).copied().collect()
    }

    fn take(&mut self, response: &HeartbeatResponse) -> Result<bool> {
        ensure!(
            response.error_code == 0,
            "heartbeat of {} at epoch {}: {response:?}",
            self.id,
            self.epoch
        );
        let mut changed = response.member_epoch != self.epoch;
        self.epoch = response.member_epoch;
        if let Some(assignment) = &response.assignment {
            let held = held_of(assignment);
            changed |= held != self.held;
            self.releasing.extend(self.held.difference(&held).copied());
            self.held = held;
        }
        Ok(changed)
    }

    /// Leaves the group (epoch -1).
    fn leave(self, c: &mut Client) -> Result<()> {
        let mut request = Heartbeat::leave(&self.group, &self.id);
        request.instance_id = self.instance_id.clone();
        let response = send(c, 1, &request)?;
        ensure!(
            response.error_code == 0 && response.member_epoch == -1,
            "leave of {}: {response:?}",
            self.id
        );
        Ok(())
    }
}

/// No partition is held by two members.
fn disjoint(members: &[&Member]) -> Result<()> {
    let mut seen: BTreeMap<(Uuid, i32), &str> = BTreeMap::new();
    for m in members {
        for tp in &m.owns() {
            if let Some(other) = seen.insert(*tp, &m.id) {
                bail!(
                    "partition {tp:?} held by both {other} and {}: {members:#?}",
                    m.id
                );
            }
        }
    }
    Ok(())
}

/// Heartbeats every member (checking after each answer that no partition
/// is held twice) until a whole round changes nothing and every member is
/// at the same epoch; returns that epoch.
fn settle(c: &mut Client, members: &mut [Member]) -> Result<i32> {
    for _ in 0..20 {
        let mut changed = false;
        for i in 0..members.len() {
            changed |= members[i].beat(c)?;
            disjoint(&members.iter().collect::<Vec<_>>())?;
        }
        let epoch = members.first().map_or(0, |m| m.epoch);
        if !changed && members.iter().all(|m| m.epoch == epoch) {
            return Ok(epoch);
        }
    }
    bail!("the group did not settle in 20 rounds: {members:#?}")
}

fn describe_v(c: &mut Client, version: i16, group: &str) -> Result<DescribedConsumerGroup> {
    let raw = c.round_trip(&cg::consumer_group_describe_request(
        version,
        69,
        &[group],
        false,
    ))?;
    let response = cg::decode_consumer_group_describe_response(&raw, version)?;
    ensure!(response.groups.len() == 1, "{response:?}");
    Ok(response.groups[0].clone())
}

fn describe(c: &mut Client, group: &str) -> Result<DescribedConsumerGroup> {
    let described = describe_v(c, 1, group)?;
    ensure!(described.error_code == 0, "{described:?}");
    Ok(described)
}

/// The group, described, agrees with the members: each at its epoch with
/// what it holds, as its target, and the group stable at `epoch`.
fn check_stable(c: &mut Client, group: &str, members: &[Member], epoch: i32) -> Result<()> {
    let d = describe(c, group)?;
    ensure!(
        (d.group_state.as_str(), d.group_epoch, d.assignment_epoch) == ("Stable", epoch, epoch),
        "{d:#?}"
    );
    ensure!(d.members.len() == members.len(), "{d:#?}\n{members:#?}");
    for m in members {
        let dm = d
            .member(&m.id)
            .with_context(|| format!("{} missing: {d:#?}", m.id))?;
        ensure!(dm.member_epoch == m.epoch, "{dm:#?} {m:?}");
        ensure!(described_held(&dm.assignment) == m.held, "{dm:#?} {m:?}");
        ensure!(
            described_held(&dm.target_assignment) == m.held,
            "{dm:#?} {m:?}"
        );
    }
    Ok(())
}

fn union(members: &[Member]) -> Held {
    members
        .iter()
        .flat_map(|m| m.held.iter().copied())
        .collect()
}

fn create_topic(c: &mut Client, name: &str, partitions: i32) -> Result<Uuid> {
    let raw = c.round_trip(&admin::create_topics_request(
        19,
        &[CreatableTopic::new(name, partitions, 1)],
        5_000,
        false,
    ))?;
    let response = admin::decode_create_topics_response(&raw)?;
    let topic = response.topic(name).context("topic missing")?;
    ensure!(topic.error_code == 0, "{topic:?}");
    Ok(topic.topic_id)
}

fn add_partitions(c: &mut Client, name: &str, count: i32) -> Result<()> {
    let raw = c.round_trip(&admin::create_partitions_request(
        37,
        &[CreatePartitionsTopic::new(name, count)],
        5_000,
        false,
    ))?;
    let response = admin::decode_create_partitions_response(&raw)?;
    ensure!(
        response.results.len() == 1 && response.results[0].error_code == 0,
        "{response:?}"
    );
    Ok(())
}

// ------------------------------------------------------------------ tests

#[test]
fn one_member_joins_and_gets_every_partition() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;

    // v1: the member brings its own id.
    let response = send(&mut c, 1, &Heartbeat::join("g1", "member-one", &[T]))?;
    ensure!(response.error_code == 0, "{response:?}");
    ensure!(
        response.member_id.as_deref() == Some("member-one"),
        "{response:?}"
    );
    ensure!(response.member_epoch == 1, "{response:?}");
    ensure!(
        response.heartbeat_interval_ms == HEARTBEAT_MS,
        "{response:?}"
    );
    let assignment = response.assignment.clone().context("no assignment")?;
    ensure!(held_of(&assignment) == all_of(T_ID, 4), "{response:?}");

    // A heartbeat that changes nothing gets no assignment again.
    let again = send(&mut c, 1, &Heartbeat::keep_alive("g1", "member-one", 1))?;
    ensure!(
        (again.error_code, again.member_epoch, &again.assignment) == (0, 1, &None),
        "{again:?}"
    );

    for version in [0, 1] {
        let d = describe_v(&mut c, version, "g1")?;
        ensure!(d.error_code == 0, "{d:?}");
        ensure!(
            (d.group_state.as_str(), d.group_epoch, d.assignment_epoch) == ("Stable", 1, 1),
            "{d:#?}"
        );
        ensure!(d.assignor_name == "uniform", "{d:#?}");
        ensure!(d.members.len() == 1, "{d:#?}");
        let m = &d.members[0];
        ensure!(
            (m.member_id.as_str(), m.member_epoch, m.client_id.as_str())
                == ("member-one", 1, "harness"),
            "{m:#?}"
        );
        ensure!(m.subscribed_topic_names == [T], "{m:#?}");
        ensure!(
            m.subscribed_topic_regex.is_none() && m.instance_id.is_none(),
            "{m:#?}"
        );
        ensure!(described_held(&m.assignment) == all_of(T_ID, 4), "{m:#?}");
        ensure!(m.target_assignment == m.assignment, "{m:#?}");
        ensure!(m.assignment.iter().all(|t| t.topic_name == T), "{m:#?}");
        let expected_type = if version >= 1 {
            Some(cg::MEMBER_TYPE_CONSUMER)
        } else {
            None
        };
        ensure!(m.member_type == expected_type, "{m:#?}");
    }

    // v0: an empty member id, the coordinator makes one up.
    let response = send(&mut c, 0, &Heartbeat::join("g0", "", &[T]))?;
    ensure!(response.error_code == 0, "{response:?}");
    let id = response.member_id.clone().unwrap_or_default();
    ensure!(!id.is_empty(), "no member id generated: {response:?}");
    ensure!(response.member_epoch == 1, "{response:?}");
    ensure!(
        held_of(response.assignment.as_deref().unwrap_or_default()) == all_of(T_ID, 4),
        "{response:?}"
    );
    // The generated id is the member's from now on.
    let again = send(&mut c, 0, &Heartbeat::keep_alive("g0", &id, 1))?;
    ensure!(
        (again.error_code, again.member_epoch) == (0, 1),
        "{again:?}"
    );
    let d = describe(&mut c, "g0")?;
    ensure!(
        d.members.len() == 1 && d.members[0].member_id == id,
        "{d:#?}"
    );
    Ok(())
}

#[test]
fn second_member_gets_partitions_only_once_revoked() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g2";
    let mut a = Member::join(&mut c, g, "a", &[T])?;
    ensure!(a.epoch == 1 && a.held == all_of(T_ID, 4), "{a:?}");

    let mut b = Member::join(&mut c, g, "b", &[T])?;
    disjoint(&[&a, &b])?;
    // B is at the new epoch at once, without partitions: A still has them.
    ensure!(b.epoch == 2 && b.held.is_empty(), "{b:?}");
    let d = describe(&mut c, g)?;
    ensure!(
        (d.group_state.as_str(), d.group_epoch, d.assignment_epoch) == ("Reconciling", 2, 2),
        "{d:#?}"
    );
    let target_a = described_held(&d.member("a").context("a")?.target_assignment);
    let target_b = described_held(&d.member("b").context("b")?.target_assignment);
    ensure!(target_a.len() == 2 && target_b.len() == 2, "{d:#?}");
    ensure!(target_a.is_disjoint(&target_b), "{d:#?}");
    ensure!(target_a.is_subset(&all_of(T_ID, 4)), "{d:#?}");

    // A, still owning all 4, is told to keep only its 2, at its old epoch.
    let response = send(&mut c, 1, &a.request())?;
    ensure!(
        response.error_code == 0 && response.member_epoch == 1,
        "{response:?}"
    );
    let kept = held_of(
        response
            .assignment
            .as_deref()
            .context("A gets its revocation")?,
    );
    ensure!(kept == target_a, "kept {kept:?}, target {target_a:?}");
    a.take(&response)?;
    disjoint(&[&a, &b])?;
    let d = describe(&mut c, g)?;
    ensure!(d.member("a").context("a")?.member_epoch == 1, "{d:#?}");

    // B gets nothing while A has not said it gave the partitions up: here
    // A's heartbeat that reports nothing (owned null) changes nothing.
    for _ in 0..2 {
        let response = send(&mut c, 1, &b.request())?;
        ensure!(response.member_epoch == 2, "{response:?}");
        b.take(&response)?;
        ensure!(b.held.is_empty(), "B got partitions A still owns: {b:?}");
        disjoint(&[&a, &b])?;
        let unknown = send(&mut c, 1, &Heartbeat::keep_alive(g, "a", 1))?;
        ensure!(
            unknown.error_code == 0 && unknown.member_epoch == 1,
            "{unknown:?}"
        );
    }

    // A heartbeats without the revoked partitions: it moves to epoch 2...
    ensure!(a.beat(&mut c)?, "A did not move on: {a:?}");
    ensure!(a.epoch == 2 && a.held == target_a, "{a:?}");
    disjoint(&[&a, &b])?;
    // ...and only now B gets them.
    ensure!(b.beat(&mut c)?, "B got nothing: {b:?}");
    ensure!(b.epoch == 2 && b.held == target_b, "{b:?}");
    disjoint(&[&a, &b])?;
    let mut members = [a, b];
    let epoch = settle(&mut c, &mut members)?;
    ensure!(epoch == 2, "{members:?}");
    ensure!(union(&members) == all_of(T_ID, 4), "{members:?}");
    check_stable(&mut c, g, &members, 2)
}

#[test]
fn fencing_by_member_epoch() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g3";
    let mut a = Member::join(&mut c, g, "a", &[T])?;

    // A greater epoch than the member's.
    let response = send(&mut c, 1, &Heartbeat::keep_alive(g, "a", 2))?;
    ensure!(
        response.error_code == cge::FENCED_MEMBER_EPOCH,
        "{response:?}"
    );
    // The member stays as it was.
    ensure!(!a.beat(&mut c)? && a.epoch == 1, "{a:?}");

    // Bring A to epoch 3 (previous epoch 2): B joins, A revokes, B leaves.
    let b = Member::join(&mut c, g, "b", &[T])?;
    let mut members = [a, b];
    ensure!(settle(&mut c, &mut members)? == 2, "{members:?}");
    let [mut a, b] = members;
    b.leave(&mut c)?;
    a.beat(&mut c)?;
    ensure!(a.epoch == 3 && a.held == all_of(T_ID, 4), "{a:?}");

    // An older epoch that is not the previous one.
    let mut stale = a.request();
    stale.member_epoch = 1;
    let response = send(&mut c, 1, &stale)?;
    ensure!(
        response.error_code == cge::FENCED_MEMBER_EPOCH,
        "{response:?}"
    );
    // The previous epoch, reporting partitions it is not assigned (here:
    // null, unknown), is fenced too.
    let response = send(&mut c, 1, &Heartbeat::keep_alive(g, "a", 2))?;
    ensure!(
        response.error_code == cge::FENCED_MEMBER_EPOCH,
        "{response:?}"
    );
    // The previous epoch with a subset of its partitions is the retry of a
    // heartbeat whose answer was lost: taken, answered with the epoch.
    let mut retry = a.request();
    retry.member_epoch = 2;
    retry.topic_partitions = Some(vec![(T_ID, vec![0, 1])]);
    let response = send(&mut c, 1, &retry)?;
    ensure!(
        response.error_code == 0 && response.member_epoch == 3,
        "{response:?}"
    );
    ensure!(!a.beat(&mut c)? && a.epoch == 3, "{a:?}");

    // A member the group does not know, with an epoch.
    let response = send(&mut c, 1, &Heartbeat::keep_alive(g, "nobody", 1))?;
    ensure!(response.error_code == ge::UNKNOWN_MEMBER_ID, "{response:?}");
    // A heartbeat with an epoch to a group that does not exist.
    let response = send(&mut c, 1, &Heartbeat::keep_alive("no-such-group", "a", 1))?;
    ensure!(
        matches!(
            response.error_code,
            ge::UNKNOWN_MEMBER_ID | ge::GROUP_ID_NOT_FOUND
        ),
        "{response:?}"
    );

    // Leave, then heartbeat.
    a.clone().leave(&mut c)?;
    let response = send(&mut c, 1, &a.request())?;
    ensure!(response.error_code == ge::UNKNOWN_MEMBER_ID, "{response:?}");
    // Leaving again: unknown as well.
    let response = send(&mut c, 1, &Heartbeat::leave(g, "a"))?;
    ensure!(response.error_code == ge::UNKNOWN_MEMBER_ID, "{response:?}");
    let d = describe(&mut c, g)?;
    ensure!(d.group_state == "Empty" && d.members.is_empty(), "{d:#?}");
    Ok(())
}

#[test]
fn member_that_stops_heartbeating_expires() -> Result<()> {
    let broker = or_skip!(broker(1_000, 200, &[TopicSpec::new(T, T_ID, 4)]));
    let mut c = broker.connect()?;
    let g = "g4";
    let a = Member::join(&mut c, g, "a", &[T])?;
    ensure!(send(&mut c, 1, &a.request())?.heartbeat_interval_ms == 200);
    let b = Member::join(&mut c, g, "b", &[T])?;
    let mut members = [a, b];
    let epoch = settle(&mut c, &mut members)?;
    let [mut a, b] = members;
    ensure!(a.held.len() == 2 && b.held.len() == 2, "{a:?} {b:?}");

    // B stops; A keeps heartbeating every 200 ms.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(5);
    loop {
        a.beat(&mut c)?;
        let d = describe(&mut c, g)?;
        if d.member("b").is_none() {
            ensure!(
                started.elapsed() >= Duration::from_millis(800),
                "B expired after {:?}, its session is 1000 ms",
                started.elapsed()
            );
            ensure!(d.group_epoch > epoch, "{d:#?}");
            break;
        }
        ensure!(Instant::now() < deadline, "B never expired: {d:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // A gets all partitions.
    let mut members = [a];
    let epoch = settle(&mut c, &mut members)?;
    ensure!(members[0].held == all_of(T_ID, 4), "{members:?}");
    check_stable(&mut c, g, &members, epoch)?;
    // B's heartbeat now: unknown.
    let response = send(&mut c, 1, &b.request())?;
    ensure!(response.error_code == ge::UNKNOWN_MEMBER_ID, "{response:?}");

    // A static member away (-2) keeps its partitions for its session only.
    let mut join = Heartbeat::join(g, "s", &[T]);
    join.instance_id = Some("static".into());
    let s = Member::join_with(&mut c, join)?;
    let [a] = members;
    let mut members = [a, s];
    let epoch = settle(&mut c, &mut members)?;
    let [mut a, s] = members;
    let mut leave = Heartbeat::keep_alive(g, "s", cg::STATIC_LEAVE_EPOCH);
    leave.instance_id = Some("static".into());
    ensure!(send(&mut c, 1, &leave)?.error_code == 0);
    let started = Instant::now();
    loop {
        let d = describe(&mut c, g)?;
        a.beat(&mut c)?;
        ensure!(
            a.held.is_disjoint(&s.held) || d.member("s").is_none(),
            "A got S's partitions {:?} after S left (-2), while Describe showed S: {d:#?}\n{a:?}",
            started.elapsed()
        );
        if d.member("s").is_none() {
            ensure!(
                started.elapsed() >= Duration::from_millis(800),
                "S expired after {:?}",
                started.elapsed()
            );
            ensure!(d.group_epoch > epoch, "{d:#?}");
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(5),
            "S never expired: {d:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut members = [a];
    settle(&mut c, &mut members)?;
    ensure!(members[0].held == all_of(T_ID, 4), "{members:?}");
    // S coming back now is a new member of the group.
    let mut rejoin = Heartbeat::join(g, "s-again", &[T]);
    rejoin.instance_id = Some("static".into());
    let s = Member::join_with(&mut c, rejoin)?;
    ensure!(s.held.is_empty(), "{s:?}");
    Ok(())
}

#[test]
fn static_member_leaves_for_a_while_and_comes_back() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g5";
    let mut join = Heartbeat::join(g, "s1", &[T]);
    join.instance_id = Some("instance".into());
    let s = Member::join_with(&mut c, join)?;
    let b = Member::join(&mut c, g, "b", &[T])?;
    let mut members = [s, b];
    let epoch = settle(&mut c, &mut members)?;
    let [s, mut b] = members;
    let d = describe(&mut c, g)?;
    ensure!(
        d.member("s1").context("s1")?.instance_id.as_deref() == Some("instance"),
        "{d:#?}"
    );

    // S leaves for a while: it keeps its place and its partitions.
    let mut leave = Heartbeat::keep_alive(g, "s1", cg::STATIC_LEAVE_EPOCH);
    leave.instance_id = Some("instance".into());
    let response = send(&mut c, 1, &leave)?;
    ensure!(
        response.error_code == 0 && response.member_epoch == cg::STATIC_LEAVE_EPOCH,
        "{response:?}"
    );
    let d = describe(&mut c, g)?;
    ensure!(d.group_epoch == epoch, "the group rebalanced: {d:#?}");
    let away = d.member("s1").context("s1 gone")?;
    ensure!(away.member_epoch == cg::STATIC_LEAVE_EPOCH, "{away:#?}");
    ensure!(described_held(&away.assignment) == s.held, "{away:#?}");
    // B is not given S's partitions.
    ensure!(!b.beat(&mut c)?, "{b:?}");

    // Another member with the same instance id, while S is away, takes
    // S's place (below); first, S comes back under a new member id.
    let mut rejoin = Heartbeat::join(g, "s2", &[T]);
    rejoin.instance_id = Some("instance".into());
    let s2 = Member::join_with(&mut c, rejoin)?;
    ensure!(
        s2.held == s.held,
        "S came back with {:?}, had {:?}",
        s2.held,
        s.held
    );
    ensure!(s2.epoch == epoch, "{s2:?}, group epoch {epoch}");
    let d = describe(&mut c, g)?;
    ensure!(d.group_epoch == epoch, "the group rebalanced: {d:#?}");
    ensure!(
        d.member("s1").is_none() && d.member("s2").is_some(),
        "{d:#?}"
    );
    let mut members = [s2, b];
    ensure!(settle(&mut c, &mut members)? == epoch, "{members:?}");
    check_stable(&mut c, g, &members, epoch)?;

    // A second member with the instance id while S is in the group.
    let mut twin = Heartbeat::join(g, "s3", &[T]);
    twin.instance_id = Some("instance".into());
    let response = send(&mut c, 1, &twin)?;
    ensure!(
        response.error_code == cge::UNRELEASED_INSTANCE_ID,
        "{response:?}"
    );
    // The old incarnation is fenced by the new one.
    let mut old = Heartbeat::keep_alive(g, "s1", epoch);
    old.instance_id = Some("instance".into());
    let response = send(&mut c, 1, &old)?;
    ensure!(
        response.error_code == ge::FENCED_INSTANCE_ID,
        "{response:?}"
    );
    let d = describe(&mut c, g)?;
    ensure!(d.members.len() == 2 && d.member("s3").is_none(), "{d:#?}");

    // A static member leaving for good (-1) gives its partitions up.
    let [s2, mut b] = members;
    s2.leave(&mut c)?;
    b.beat(&mut c)?;
    b.beat(&mut c)?;
    ensure!(b.held == all_of(T_ID, 4), "{b:?}");
    Ok(())
}

#[test]
fn regex_subscription_picks_up_new_topics() -> Result<()> {
    const A_ID: Uuid = uuid(0xA1);
    const X_ID: Uuid = uuid(0xA2);
    let broker = or_skip!(broker(
        SESSION_MS,
        HEARTBEAT_MS,
        &[
            TopicSpec::new("regex-a", A_ID, 2),
            TopicSpec::new("xregex-a", X_ID, 2),
        ],
    ));
    let mut c = broker.connect()?;
    let g = "g6";
    let mut join = Heartbeat::join(g, "r", &[]);
    join.subscribed_topic_names = None;
    join.subscribed_topic_regex = Some("regex-.*".into());
    let mut r = Member::join_with(&mut c, join)?;
    // Whole names match: not xregex-a.
    ensure!(r.held == all_of(A_ID, 2), "{r:?}");
    let d = describe(&mut c, g)?;
    let dm = d.member("r").context("r")?;
    ensure!(
        dm.subscribed_topic_regex.as_deref() == Some("regex-.*"),
        "{dm:#?}"
    );

    let b_id = create_topic(&mut c, "regex-b", 3)?;
    create_topic(&mut c, "xregex-b", 1)?;
    let before = r.epoch;
    ensure!(r.beat(&mut c)?, "nothing new: {r:?}");
    let expected: Held = all_of(A_ID, 2).union(&all_of(b_id, 3)).copied().collect();
    ensure!(r.held == expected, "{r:?}");
    ensure!(r.epoch > before, "{r:?}");
    let mut members = [r];
    let epoch = settle(&mut c, &mut members)?;
    check_stable(&mut c, g, &members, epoch)?;
    let [r] = members;
    let d = describe(&mut c, g)?;
    let names: BTreeSet<&str> = d.members[0]
        .assignment
        .iter()
        .map(|t| t.topic_name.as_str())
        .collect();
    ensure!(names == BTreeSet::from(["regex-a", "regex-b"]), "{d:#?}");

    // An invalid regex.
    let mut bad = Heartbeat::join(g, "bad", &[]);
    bad.subscribed_topic_names = None;
    bad.subscribed_topic_regex = Some("[".into());
    let response = send(&mut c, 1, &bad)?;
    ensure!(
        response.error_code == cge::INVALID_REGULAR_EXPRESSION,
        "{response:?}"
    );
    let mut bad = r.request();
    bad.subscribed_topic_regex = Some("(unclosed".into());
    let response = send(&mut c, 1, &bad)?;
    ensure!(
        response.error_code == cge::INVALID_REGULAR_EXPRESSION,
        "{response:?}"
    );
    ensure!(describe(&mut c, g)?.members.len() == 1);
    Ok(())
}

#[test]
fn new_partitions_are_assigned_on_the_next_heartbeat() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g7";
    let a = Member::join(&mut c, g, "a", &[T])?;
    let b = Member::join(&mut c, g, "b", &[T])?;
    let mut members = [a, b];
    let epoch = settle(&mut c, &mut members)?;
    add_partitions(&mut c, T, 6)?;
    let changed = members[0].beat(&mut c)?;
    ensure!(changed, "no change after new partitions: {members:?}");
    let d = describe(&mut c, g)?;
    ensure!(d.group_epoch == epoch + 1, "{d:#?}");
    let new_epoch = settle(&mut c, &mut members)?;
    ensure!(new_epoch == epoch + 1, "{members:?}");
    ensure!(union(&members) == all_of(T_ID, 6), "{members:?}");
    ensure!(
        members.iter().all(|m| m.held.len() == 3),
        "uniform gives 3 each: {members:?}"
    );
    check_stable(&mut c, g, &members, new_epoch)
}

#[test]
fn invalid_heartbeats_and_assignors() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g8";
    let invalid: Vec<(&str, Heartbeat, i16)> = vec![
        ("empty group id", Heartbeat::join("", "m", &[T]), 1),
        (
            "join without topics (null)",
            Heartbeat {
                subscribed_topic_names: None,
                ..Heartbeat::join(g, "m", &[])
            },
            1,
        ),
        ("join with no topics", Heartbeat::join(g, "m", &[]), 1),
        (
            "join owning partitions",
            Heartbeat {
                topic_partitions: Some(vec![(T_ID, vec![0])]),
                ..Heartbeat::join(g, "m", &[T])
            },
            1,
        ),
        (
            "join with null owned partitions",
            Heartbeat {
                topic_partitions: None,
                ..Heartbeat::join(g, "m", &[T])
            },
            1,
        ),
        (
            "join without rebalance timeout",
            Heartbeat {
                rebalance_timeout_ms: -1,
                ..Heartbeat::join(g, "m", &[T])
            },
            1,
        ),
        ("v1 join without member id", Heartbeat::join(g, "", &[T]), 1),
        (
            "empty instance id",
            Heartbeat {
                instance_id: Some(String::new()),
                ..Heartbeat::join(g, "m", &[T])
            },
            1,
        ),
        (
            "empty rack id",
            Heartbeat {
                rack_id: Some(String::new()),
                ..Heartbeat::join(g, "m", &[T])
            },
            1,
        ),
        ("epoch -3", Heartbeat::keep_alive(g, "m", -3), 1),
        (
            "static leave without instance id",
            Heartbeat::keep_alive(g, "m", cg::STATIC_LEAVE_EPOCH),
            1,
        ),
        (
            "heartbeat without member id",
            Heartbeat::keep_alive(g, "", 1),
            0,
        ),
        ("leave without member id", Heartbeat::leave(g, ""), 0),
    ];
    for (what, request, version) in &invalid {
        let response = send(&mut c, *version, request)?;
        ensure!(
            response.error_code == INVALID_REQUEST,
            "{what}: {request:?} -> {response:?}"
        );
    }
    // None of them made a group.
    let d = describe_v(&mut c, 1, g)?;
    ensure!(d.error_code == ge::GROUP_ID_NOT_FOUND, "{d:#?}");

    let unknown = Heartbeat {
        server_assignor: Some("sticky".into()),
        ..Heartbeat::join(g, "m", &[T])
    };
    let response = send(&mut c, 1, &unknown)?;
    ensure!(
        response.error_code == cge::UNSUPPORTED_ASSIGNOR,
        "{response:?}"
    );

    // "range": contiguous ranges, members by id.
    let range = |id: &str| Heartbeat {
        server_assignor: Some("range".into()),
        ..Heartbeat::join(g, id, &[T])
    };
    let b = Member::join_with(&mut c, range("m-b"))?;
    let a = Member::join_with(&mut c, range("m-a"))?;
    let mut members = [a, b];
    let epoch = settle(&mut c, &mut members)?;
    ensure!(
        members[0].held == BTreeSet::from([(T_ID, 0), (T_ID, 1)])
            && members[1].held == BTreeSet::from([(T_ID, 2), (T_ID, 3)]),
        "{members:#?}"
    );
    check_stable(&mut c, g, &members, epoch)?;
    let d = describe(&mut c, g)?;
    ensure!(d.assignor_name == "range", "{d:#?}");
    Ok(())
}

/// A member that keeps reporting a revoked partition past its rebalance
/// timeout is fenced, and the partition goes to the member waiting for it.
#[test]
fn member_that_does_not_revoke_in_time_is_fenced() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g-rebalance";
    let mut join = Heartbeat::join(g, "a", &[T]);
    join.rebalance_timeout_ms = 1_000;
    let a = Member::join_with(&mut c, join)?;
    let mut b = Member::join(&mut c, g, "b", &[T])?;
    fenced_for_not_revoking(&mut c, g, a.clone(), &mut b, Instant::now())
}

/// A heartbeats every 200 ms still owning all it had; it must be fenced
/// about 1 s after `since`, and B must end up with everything.
fn fenced_for_not_revoking(
    c: &mut Client,
    g: &str,
    a: Member,
    b: &mut Member,
    since: Instant,
) -> Result<()> {
    let stubborn = a.request();
    let deadline = since + Duration::from_secs(5);
    loop {
        let response = send(c, 1, &stubborn)?;
        if response.error_code != 0 {
            ensure!(
                matches!(
                    response.error_code,
                    ge::UNKNOWN_MEMBER_ID | cge::FENCED_MEMBER_EPOCH
                ),
                "{response:?}"
            );
            ensure!(
                since.elapsed() >= Duration::from_millis(800),
                "fenced after {:?}, the rebalance timeout is 1000 ms",
                since.elapsed()
            );
            break;
        }
        ensure!(response.member_epoch == a.epoch, "{response:?}");
        b.beat(c)?;
        ensure!(
            b.held.is_disjoint(&a.held),
            "B got A's partitions while A owns them: {b:?}"
        );
        ensure!(
            Instant::now() < deadline,
            "A never fenced for not revoking: {:#?}",
            describe(c, g)?
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let d = describe(c, g)?;
    ensure!(d.member(&a.id).is_none(), "{d:#?}");
    let mut members = [b.clone()];
    let epoch = settle(c, &mut members)?;
    ensure!(members[0].held == all_of(T_ID, 4), "{members:?}");
    check_stable(c, g, &members, epoch)?;
    *b = members[0].clone();
    Ok(())
}

/// Kafka's `onLoaded` schedules the rebalance timeout again for members
/// that were revoking partitions when the group was loaded.
#[test]
fn rebalance_timeout_holds_across_a_restart() -> Result<()> {
    let mut broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g-rebalance-restart";
    let mut join = Heartbeat::join(g, "a", &[T]);
    join.rebalance_timeout_ms = 1_000;
    let a = Member::join_with(&mut c, join)?;
    let mut b = Member::join(&mut c, g, "b", &[T])?;
    // A is asked to revoke (and does not).
    let response = send(&mut c, 1, &a.request())?;
    ensure!(
        response.error_code == 0
            && response.member_epoch == 1
            && held_of(response.assignment.as_deref().unwrap_or_default()).len() == 2,
        "{response:?}"
    );
    drop(c);
    broker.restart_after_stop()?;
    let mut c = broker.connect()?;
    fenced_for_not_revoking(&mut c, g, a, &mut b, Instant::now())
}

#[test]
fn subscriptions_follow_topics_created_changed_and_deleted() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g-subscriptions";
    // Subscribed to a topic that does not exist yet: only t's partitions.
    let mut a = Member::join(&mut c, g, "a", &[T, "later"])?;
    ensure!(a.held == all_of(T_ID, 4), "{a:?}");
    let epoch = a.epoch;
    let later = create_topic(&mut c, "later", 2)?;
    ensure!(a.beat(&mut c)?, "{a:?}");
    let both: Held = all_of(T_ID, 4).union(&all_of(later, 2)).copied().collect();
    ensure!(a.held == both && a.epoch == epoch + 1, "{a:?}");

    // Only "later" from now on: t's partitions are revoked.
    let mut change = a.request();
    change.subscribed_topic_names = Some(vec!["later".into()]);
    let response = send(&mut c, 1, &change)?;
    a.take(&response)?;
    ensure!(a.held == all_of(later, 2), "after the change: {a:?}");
    let mut members = [a];
    let epoch = settle(&mut c, &mut members)?;
    check_stable(&mut c, g, &members, epoch)?;
    let d = describe(&mut c, g)?;
    ensure!(d.members[0].subscribed_topic_names == ["later"], "{d:#?}");

    // "later" deleted: nothing left to consume.
    let raw = c.round_trip(&admin::delete_topics_by_name_request(20, &["later"], 5_000))?;
    let deleted = admin::decode_delete_topics_response(&raw)?;
    ensure!(
        deleted.responses.iter().all(|r| r.error_code == 0),
        "{deleted:?}"
    );
    let [mut a] = members;
    // Revocation first: the member keeps its epoch until it stops owning
    // the deleted topic's partitions.
    ensure!(a.beat(&mut c)?, "after the deletion: {a:?}");
    ensure!(
        a.held.is_empty() && a.epoch == epoch,
        "after the deletion (epoch was {epoch}): {a:?}"
    );
    ensure!(a.beat(&mut c)?, "after the revocation: {a:?}");
    ensure!(
        a.held.is_empty() && a.epoch > epoch,
        "after the revocation (epoch was {epoch}): {a:?}"
    );
    let mut members = [a];
    let epoch = settle(&mut c, &mut members)?;
    check_stable(&mut c, g, &members, epoch)
}

#[test]
fn group_max_size_is_enforced() -> Result<()> {
    let broker = or_skip!(
        Broker::builder()
            .topics(&[TopicSpec::new(T, T_ID, 4)])
            .properties(&[
                ("group.consumer.max.size", "2"),
                ("offsets.topic.num.partitions", "1"),
            ])
            .start()
    );
    let mut c = broker.connect()?;
    let g = "g-max";
    let a = Member::join(&mut c, g, "a", &[T])?;
    let b = Member::join(&mut c, g, "b", &[T])?;
    // Default settings: 45 s sessions, 5 s heartbeats.
    ensure!(send(&mut c, 1, &a.request())?.heartbeat_interval_ms == 5_000);
    let response = send(&mut c, 1, &Heartbeat::join(g, "c", &[T]))?;
    ensure!(
        response.error_code == ge::GROUP_MAX_SIZE_REACHED,
        "{response:?}"
    );
    ensure!(describe(&mut c, g)?.members.len() == 2);
    b.leave(&mut c)?;
    Member::join(&mut c, g, "c", &[T])?;
    Ok(())
}

/// ConsumerGroupDescribe names the assignor the group uses: the one most
/// members ask for.
#[test]
fn describe_names_the_assignor_in_use() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g-assignor";
    let with = |id: &str, assignor: &str| Heartbeat {
        server_assignor: Some(assignor.into()),
        ..Heartbeat::join(g, id, &[T])
    };
    let a = Member::join_with(&mut c, with("a", "range"))?;
    let b = Member::join_with(&mut c, with("b", "uniform"))?;
    let cm = Member::join_with(&mut c, with("c", "uniform"))?;
    let mut members = [a, b, cm];
    let epoch = settle(&mut c, &mut members)?;
    check_stable(&mut c, g, &members, epoch)?;
    let d = describe(&mut c, g)?;
    let assigned: Vec<(&str, Vec<i32>)> = members
        .iter()
        .map(|m| (m.id.as_str(), m.held.iter().map(|(_, p)| *p).collect()))
        .collect();
    ensure!(
        d.assignor_name == "uniform",
        "2 of 3 ask for uniform, yet assignor_name {:?}; assignments {assigned:?}",
        d.assignor_name
    );
    Ok(())
}

#[test]
fn describe_many_groups_at_once() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    Member::join(&mut c, "d1", "a", &[T])?;
    Member::join(&mut c, "d2", "a", &[T])?;
    let raw = c.round_trip(&cg::consumer_group_describe_request(
        1,
        69,
        &["d1", "missing", "d2"],
        true,
    ))?;
    let response = cg::decode_consumer_group_describe_response(&raw, 1)?;
    let got: Vec<(&str, i16)> = response
        .groups
        .iter()
        .map(|g| (g.group_id.as_str(), g.error_code))
        .collect();
    ensure!(
        got == [("d1", 0), ("missing", ge::GROUP_ID_NOT_FOUND), ("d2", 0)],
        "{response:#?}"
    );
    let d1 = response.group("d1").context("d1")?;
    ensure!(
        d1.authorized_operations != i32::MIN && d1.members.len() == 1,
        "{d1:#?}"
    );
    Ok(())
}

// ----------------------------------------------------- offsets and admin

fn commit(
    c: &mut Client,
    version: i16,
    group: &str,
    member_id: &str,
    epoch: i32,
    offset: i64,
) -> Result<i16> {
    commit_to(c, version, group, member_id, epoch, 0, offset)
}

/// [`commit`] of `offset` to `partition` of T.
fn commit_to(
    c: &mut Client,
    version: i16,
    group: &str,
    member_id: &str,
    epoch: i32,
    partition: i32,
    offset: i64,
) -> Result<i16> {
    let mut request = OffsetCommitRequest::standalone(
        group,
        vec![(T.to_string(), vec![CommitPartition::new(partition, offset)])],
    );
    request.member_id = member_id.to_string();
    request.generation_id_or_member_epoch = epoch;
    let mut bytes = groups::offset_commit_request(8, &request);
    // v8 is v9 byte for byte; only the version in the header differs.
    bytes[2..4].copy_from_slice(&version.to_be_bytes());
    let response = groups::decode_offset_commit_response(&c.round_trip(&bytes)?)?;
    response
        .error_code(T, partition)
        .with_context(|| format!("{response:?}"))
}

fn fetch(
    c: &mut Client,
    group: &str,
    member: Option<(&str, i32)>,
) -> Result<groups::OffsetFetchGroupResponse> {
    let mut request = OffsetFetchGroup::new(group, Some(vec![(T.to_string(), vec![0])]));
    if let Some((id, epoch)) = member {
        request.member_id = Some(id.to_string());
        request.member_epoch = epoch;
    }
    let raw = c.round_trip(&groups::offset_fetch_request(9, &[request], false))?;
    let response = groups::decode_offset_fetch_response(&raw)?;
    response.group(group).cloned().context("group missing")
}

#[test]
fn offset_commit_and_fetch_check_member_epochs() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g9";
    let a = Member::join(&mut c, g, "a", &[T])?;
    let b = Member::join(&mut c, g, "b", &[T])?;
    let mut members = [a, b];
    let epoch = settle(&mut c, &mut members)?;
    ensure!(epoch == 2);

    ensure!(commit(&mut c, 9, g, "a", epoch, 42)? == 0);
    // Ahead of the member: STALE_MEMBER_EPOCH, as Kafka 4.0 answers.
    ensure!(commit(&mut c, 9, g, "a", epoch + 1, 44)? == cge::STALE_MEMBER_EPOCH);
    ensure!(commit(&mut c, 9, g, "nobody", epoch, 45)? == ge::UNKNOWN_MEMBER_ID);
    // KIP-1251: a commit sent at an older epoch (it crossed the epoch bump
    // on its way) is taken for the partitions the member held already
    // then. `a` has held what it kept since epoch 1; `b` got its
    // partitions at epoch 2, from `a`.
    let [a, b] = &members;
    let kept: Vec<i32> = a.held.iter().map(|(_, p)| *p).collect();
    let given: Vec<i32> = b.held.iter().map(|(_, p)| *p).collect();
    ensure!(kept.len() == 2 && given.len() == 2, "{members:#?}");
    ensure!(commit_to(&mut c, 9, g, "a", epoch - 1, kept[0], 43)? == 0);
    ensure!(commit_to(&mut c, 9, g, "a", epoch - 1, given[0], 43)? == cge::STALE_MEMBER_EPOCH);
    ensure!(commit_to(&mut c, 9, g, "b", epoch - 1, given[0], 43)? == cge::STALE_MEMBER_EPOCH);
    ensure!(commit_to(&mut c, 9, g, "b", epoch, given[0], 43)? == 0);
    ensure!(commit_to(&mut c, 9, g, "a", 0, kept[0], 43)? == cge::STALE_MEMBER_EPOCH);
    ensure!(commit(&mut c, 9, g, "a", epoch, 42)? == 0);
    // Outside the group (no member, generation -1) to a group with members.
    ensure!(commit(&mut c, 9, g, "", -1, 46)? == ge::UNKNOWN_MEMBER_ID);
    // Before v9 a member of a consumer group cannot commit.
    ensure!(commit(&mut c, 8, g, "a", epoch, 47)? == UNSUPPORTED_VERSION);

    let fetched = fetch(&mut c, g, Some(("a", epoch)))?;
    ensure!(fetched.error_code == 0, "{fetched:?}");
    let p = fetched.partition(T, 0).context("partition 0")?;
    ensure!((p.committed_offset, p.error_code) == (42, 0), "{fetched:?}");
    let fetched = fetch(&mut c, g, Some(("a", epoch - 1)))?;
    ensure!(fetched.error_code == cge::STALE_MEMBER_EPOCH, "{fetched:?}");
    let fetched = fetch(&mut c, g, Some(("nobody", epoch)))?;
    ensure!(fetched.error_code == ge::UNKNOWN_MEMBER_ID, "{fetched:?}");
    // An admin's fetch (no member) reads them too.
    let fetched = fetch(&mut c, g, None)?;
    ensure!(
        fetched.error_code == 0 && fetched.partition(T, 0).map(|p| p.committed_offset) == Some(42),
        "{fetched:?}"
    );

    // Once everyone left, commits from outside the group are taken.
    let [a, b] = members;
    a.leave(&mut c)?;
    b.leave(&mut c)?;
    ensure!(commit(&mut c, 9, g, "", -1, 50)? == 0);
    let fetched = fetch(&mut c, g, None)?;
    ensure!(
        fetched.partition(T, 0).map(|p| p.committed_offset) == Some(50),
        "{fetched:?}"
    );
    Ok(())
}

fn list(c: &mut Client, states: &[&str], types: &[&str]) -> Result<Vec<groups::ListedGroup>> {
    let raw = c.round_trip(&groups::list_groups_request(16, states, types))?;
    let response = groups::decode_list_groups_response(&raw)?;
    ensure!(response.error_code == 0, "{response:?}");
    Ok(response.groups)
}

fn delete(c: &mut Client, group: &str) -> Result<i16> {
    let raw = c.round_trip(&groups::delete_groups_request(42, &[group]))?;
    let response = groups::decode_delete_groups_response(&raw)?;
    ensure!(response.results.len() == 1, "{response:?}");
    Ok(response.results[0].1)
}

#[test]
fn list_groups_types_and_delete_groups() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g10";
    let a = Member::join(&mut c, g, "a", &[T])?;

    let listed = list(&mut c, &[], &[])?;
    let ours: Vec<_> = listed.iter().filter(|l| l.group_id == g).collect();
    ensure!(ours.len() == 1, "{listed:?}");
    ensure!(
        (
            ours[0].group_type.as_str(),
            ours[0].protocol_type.as_str(),
            ours[0].group_state.as_str()
        ) == ("consumer", "consumer", "Stable"),
        "{listed:?}"
    );
    ensure!(
        list(&mut c, &[], &["classic"])?
            .iter()
            .all(|l| l.group_id != g)
    );
    ensure!(
        list(&mut c, &[], &["consumer"])?
            .iter()
            .any(|l| l.group_id == g)
    );
    ensure!(
        list(&mut c, &["Stable"], &[])?
            .iter()
            .any(|l| l.group_id == g)
    );
    ensure!(
        list(&mut c, &["Empty"], &[])?
            .iter()
            .all(|l| l.group_id != g)
    );

    ensure!(delete(&mut c, g)? == ge::NON_EMPTY_GROUP);
    ensure!(describe(&mut c, g)?.members.len() == 1);
    a.leave(&mut c)?;
    let listed = list(&mut c, &["Empty"], &["consumer"])?;
    ensure!(listed.iter().any(|l| l.group_id == g), "{listed:?}");
    ensure!(delete(&mut c, g)? == 0);
    let d = describe_v(&mut c, 1, g)?;
    ensure!(d.error_code == ge::GROUP_ID_NOT_FOUND, "{d:#?}");
    ensure!(list(&mut c, &[], &[])?.iter().all(|l| l.group_id != g));
    ensure!(delete(&mut c, g)? == ge::GROUP_ID_NOT_FOUND);
    // The id is free again: a new member starts the group over at epoch 1.
    let again = Member::join(&mut c, g, "a", &[T])?;
    ensure!(again.epoch == 1, "{again:?}");
    Ok(())
}

fn classic_join(c: &mut Client, group: &str, member_id: &str) -> Result<groups::JoinGroupResponse> {
    let mut request = JoinGroupRequest::new(
        group,
        member_id,
        vec![("range".into(), ConsumerSubscription::new(&[T]).encode())],
    );
    request.session_timeout_ms = 10_000;
    request.rebalance_timeout_ms = 10_000;
    groups::decode_join_group_response(&c.round_trip(&groups::join_group_request(11, &request))?)
}

#[test]
fn classic_and_consumer_groups_do_not_mix() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;

    // A classic member joining a consumer group with members.
    let a = Member::join(&mut c, "consumer-g", "a", &[T])?;
    let joined = classic_join(&mut c, "consumer-g", "")?;
    ensure!(
        joined.error_code == ge::INCONSISTENT_GROUP_PROTOCOL,
        "{joined:?}"
    );
    ensure!(describe(&mut c, "consumer-g")?.members.len() == 1);

    // A classic group with a member.
    let first = classic_join(&mut c, "classic-g", "")?;
    ensure!(first.error_code == ge::MEMBER_ID_REQUIRED, "{first:?}");
    let joined = classic_join(&mut c, "classic-g", &first.member_id)?;
    ensure!(joined.error_code == 0, "{joined:?}");
    let response = send(&mut c, 1, &Heartbeat::join("classic-g", "x", &[T]))?;
    ensure!(
        response.error_code == ge::GROUP_ID_NOT_FOUND,
        "{response:?}"
    );
    let d = describe_v(&mut c, 1, "classic-g")?;
    ensure!(d.error_code == ge::GROUP_ID_NOT_FOUND, "{d:#?}");
    let d = describe_v(&mut c, 1, "no-group")?;
    ensure!(d.error_code == ge::GROUP_ID_NOT_FOUND, "{d:#?}");
    let listed = list(&mut c, &[], &["classic"])?;
    ensure!(
        listed.iter().any(|l| l.group_id == "classic-g"),
        "{listed:?}"
    );

    // Once the consumer group is empty, a classic member may take it over.
    a.leave(&mut c)?;
    let first = classic_join(&mut c, "consumer-g", "")?;
    ensure!(first.error_code == ge::MEMBER_ID_REQUIRED, "{first:?}");
    let joined = classic_join(&mut c, "consumer-g", &first.member_id)?;
    ensure!(joined.error_code == 0, "{joined:?}");
    let listed = list(&mut c, &[], &["classic"])?;
    ensure!(
        listed.iter().any(|l| l.group_id == "consumer-g"),
        "{listed:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------- restart

/// A description without what may change across restarts.
fn comparable(mut d: DescribedConsumerGroup) -> DescribedConsumerGroup {
    d.members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    d
}

#[test]
fn groups_survive_restarts() -> Result<()> {
    let mut broker = or_skip!(start());
    let g = "g12";
    let mut c = broker.connect()?;
    let a = Member::join(&mut c, g, "a", &[T])?;
    let mut join_b = Heartbeat::join(g, "b", &[T]);
    join_b.instance_id = Some("b-instance".into());
    let b = Member::join_with(&mut c, join_b)?;
    let mut members = [a, b];
    let epoch = settle(&mut c, &mut members)?;
    ensure!(commit(&mut c, 9, g, "a", epoch, 7)? == 0);
    let before = comparable(describe(&mut c, g)?);

    // A clean restart.
    drop(c);
    broker.restart_after_stop()?;
    let mut c = broker.connect()?;
    let after = comparable(describe(&mut c, g)?);
    ensure!(after == before, "before {before:#?}\nafter {after:#?}");
    for m in &mut members {
        ensure!(!m.beat(&mut c)?, "{m:?} changed after a restart");
    }
    check_stable(&mut c, g, &members, epoch)?;
    let fetched = fetch(&mut c, g, Some(("a", epoch)))?;
    ensure!(
        fetched.error_code == 0 && fetched.partition(T, 0).map(|p| p.committed_offset) == Some(7),
        "{fetched:?}"
    );

    // Mid-rebalance: a third member joins and A is told to revoke.
    let [mut a, mut b] = members;
    let cm = Member::join(&mut c, g, "c", &[T])?;
    let (a_before, b_before) = (a.held.len(), b.held.len());
    a.beat(&mut c)?;
    b.beat(&mut c)?;
    disjoint(&[&a, &b, &cm])?;
    // One of them gives a partition up for C and is left at its epoch
    // until it says it did.
    ensure!(
        (a.held.len() < a_before && a.epoch == epoch)
            || (b.held.len() < b_before && b.epoch == epoch),
        "nobody revokes: {a:?} {b:?}"
    );
    ensure!(commit(&mut c, 9, g, "b", b.epoch, 8)? == 0);
    let before = comparable(describe(&mut c, g)?);
    ensure!(before.group_state == "Reconciling", "{before:#?}");

    // kill -9, then start again.
    drop(c);
    broker.kill();
    broker.start_again()?;
    let mut c = broker.connect()?;
    let after = comparable(describe(&mut c, g)?);
    ensure!(after == before, "before {before:#?}\nafter {after:#?}");
    let mut members = [a, b, cm];
    disjoint(&members.iter().collect::<Vec<_>>())?;
    let epoch = settle(&mut c, &mut members)?;
    ensure!(union(&members) == all_of(T_ID, 4), "{members:?}");
    check_stable(&mut c, g, &members, epoch)?;
    let fetched = fetch(&mut c, g, Some(("b", epoch)))?;
    ensure!(
        fetched.error_code == 0 && fetched.partition(T, 0).map(|p| p.committed_offset) == Some(8),
        "{fetched:?}"
    );
    // The static member's instance id came back with it.
    let d = describe(&mut c, g)?;
    ensure!(
        d.member("b").and_then(|m| m.instance_id.as_deref()) == Some("b-instance"),
        "{d:#?}"
    );
    Ok(())
}

// ------------------------------------------------------- property testing

mod random {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    const MEMBERS: usize = 4;

    #[derive(Debug, Clone)]
    enum Op {
        /// Joins (epoch 0) if not in the group, else rejoins: drops every
        /// partition and joins again with epoch 0.
        Join(usize),
        Leave(usize),
        Beat(usize),
        /// Heartbeat that reports nothing (owned null).
        Ping(usize),
        AddPartitions(i32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..MEMBERS).prop_map(Op::Join),
            1 => (0..MEMBERS).prop_map(Op::Leave),
            6 => (0..MEMBERS).prop_map(Op::Beat),
            2 => (0..MEMBERS).prop_map(Op::Ping),
            1 => (1..=2i32).prop_map(Op::AddPartitions),
        ]
    }

    struct Case<'a> {
        c: &'a mut Client,
        group: String,
        topic: String,
        topic_id: Uuid,
        partitions: i32,
        members: Vec<Option<Member>>,
        /// Whether a member ever joined (the group exists).
        joined: bool,
    }

    impl Case<'_> {
        fn live(&self) -> Vec<&Member> {
            self.members.iter().flatten().collect()
        }

        fn apply(&mut self, op: &Op) -> Result<()> {
            match *op {
                Op::Join(i) => {
                    let id = format!("m{i}");
                    let topic = self.topic.clone();
                    // A rejoining member gives everything up first.
                    self.members[i] = None;
                    let member = Member::join(self.c, &self.group, &id, &[&topic])?;
                    self.members[i] = Some(member);
                    self.joined = true;
                }
                Op::Leave(i) => {
                    if let Some(member) = self.members[i].take() {
                        member.leave(self.c)?;
                    }
                }
                Op::Beat(i) => {
                    if let Some(member) = &mut self.members[i] {
                        member.beat(self.c)?;
                    }
                }
                Op::Ping(i) => {
                    if let Some(member) = &mut self.members[i] {
                        let mut request = member.request();
                        request.topic_partitions = None;
                        let response = send(self.c, 1, &request)?;
                        member.take(&response)?;
                    }
                }
                Op::AddPartitions(n) => {
                    self.partitions += n;
                    add_partitions(self.c, &self.topic, self.partitions)?;
                }
            }
            disjoint(&self.live())
        }

        fn check(mut self) -> Result<()> {
            let mut live: Vec<Member> = self.members.iter_mut().filter_map(Option::take).collect();
            if live.is_empty() {
                let d = describe_v(self.c, 1, &self.group)?;
                if self.joined {
                    ensure!(
                        d.error_code == 0 && d.members.is_empty() && d.group_state == "Empty",
                        "{d:#?}"
                    );
                } else {
                    ensure!(d.error_code == ge::GROUP_ID_NOT_FOUND, "{d:#?}");
                }
                return Ok(());
            }
            let epoch = settle(self.c, &mut live)?;
            let all = all_of(self.topic_id, self.partitions);
            ensure!(
                union(&live) == all,
                "not every partition assigned: {live:#?}"
            );
            let total: usize = live.iter().map(|m| m.held.len()).sum();
            ensure!(total == all.len(), "{live:#?}");
            // Uniform: homogeneous subscriptions differ by at most one.
            let sizes: Vec<usize> = live.iter().map(|m| m.held.len()).collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            ensure!(max - min <= 1, "unbalanced: {live:#?}");
            check_stable(self.c, &self.group, &live, epoch)
        }
    }

    #[test]
    fn random_membership_changes_keep_partitions_owned_once() -> Result<()> {
        let broker = or_skip!(start());
        let c = std::cell::RefCell::new(broker.connect()?);
        let case_number = std::cell::Cell::new(0);
        let mut runner = TestRunner::new(Config {
            cases: 64,
            max_shrink_iters: 32,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&proptest::collection::vec(op(), 1..=32), |ops| {
            case_number.set(case_number.get() + 1);
            let n = case_number.get();
            let mut c = c.borrow_mut();
            let mut run = || -> Result<()> {
                let topic = format!("p{n}");
                let topic_id = create_topic(&mut c, &topic, 3)?;
                let mut case = Case {
                    c: &mut c,
                    group: format!("random-{n}"),
                    topic,
                    topic_id,
                    partitions: 3,
                    members: vec![None; MEMBERS],
                    joined: false,
                };
                for (i, op) in ops.iter().enumerate() {
                    case.apply(op)
                        .with_context(|| format!("operation {i}: {op:?}"))?;
                }
                case.check().context("after the operations")
            };
            run().map_err(|e| TestCaseError::fail(format!("{e:#}")))
        });
        match result {
            Ok(()) => Ok(()),
            Err(e) => bail!("{e}"),
        }
    }
}

/// OffsetDelete on a consumer group: a topic a member subscribes to, by
/// name or by regex, keeps its offsets (GROUP_SUBSCRIBED_TO_TOPIC) while
/// the group has members; the others' offsets are deleted at once.
#[test]
fn offset_delete_spares_subscribed_topics() -> Result<()> {
    let broker = or_skip!(start());
    let mut c = broker.connect()?;
    let g = "g-offset-delete";
    create_topic(&mut c, "od-other", 2)?;
    create_topic(&mut c, "od-regex-1", 1)?;
    let a = Member::join(&mut c, g, "a", &[T])?;
    let mut join = Heartbeat::join(g, "b", &[]);
    join.subscribed_topic_names = None;
    join.subscribed_topic_regex = Some("od-regex-.*".into());
    let b = Member::join_with(&mut c, join)?;
    let mut members = [a, b];
    let epoch = settle(&mut c, &mut members)?;

    // The member commits to the three topics at its epoch.
    let mut request = OffsetCommitRequest::standalone(
        g,
        vec![
            (T.to_string(), vec![CommitPartition::new(0, 7)]),
            ("od-other".into(), vec![CommitPartition::new(1, 8)]),
            ("od-regex-1".into(), vec![CommitPartition::new(0, 9)]),
        ],
    );
    request.member_id = "a".into();
    request.generation_id_or_member_epoch = epoch;
    let committed = groups::decode_offset_commit_response(
        &c.round_trip(&groups::offset_commit_request(8, &request))?,
    )?;
    ensure!(
        [(T, 0), ("od-other", 1), ("od-regex-1", 0)]
            .iter()
            .all(|(t, p)| committed.error_code(t, *p) == Some(0)),
        "{committed:?}"
    );

    let delete = |c: &mut Client, topics: &[(&str, Vec<i32>)]| {
        let raw = c.round_trip(&groups::offset_delete_request(47, g, topics))?;
        groups::decode_offset_delete_response(&raw)
    };
    let deleted = delete(
        &mut c,
        &[(T, vec![0]), ("od-other", vec![1]), ("od-regex-1", vec![0])],
    )?;
    let codes: Vec<i16> = deleted.partitions.iter().map(|p| p.2).collect();
    ensure!(
        deleted.error_code == 0
            && codes
                == [
                    ge::GROUP_SUBSCRIBED_TO_TOPIC,
                    0,
                    ge::GROUP_SUBSCRIBED_TO_TOPIC
                ],
        "{deleted:?}"
    );
    let offset_of = |c: &mut Client, topic: &str, partition: i32| {
        let request = OffsetFetchGroup::new(g, Some(vec![(topic.to_string(), vec![partition])]));
        let raw = c.round_trip(&groups::offset_fetch_request(9, &[request], false))?;
        let response = groups::decode_offset_fetch_response(&raw)?;
        response
            .group(g)
            .and_then(|g| g.partition(topic, partition))
            .map(|p| p.committed_offset)
            .context("partition missing")
    };
    ensure!(offset_of(&mut c, T, 0)? == 7);
    ensure!(offset_of(&mut c, "od-other", 1)? == -1);
    ensure!(offset_of(&mut c, "od-regex-1", 0)? == 9);

    // Once both have left, the group is empty and nothing is subscribed.
    for member in members {
        member.leave(&mut c)?;
    }
    let deleted = delete(&mut c, &[(T, vec![0]), ("od-regex-1", vec![0])])?;
    let codes: Vec<i16> = deleted.partitions.iter().map(|p| p.2).collect();
    ensure!(deleted.error_code == 0 && codes == [0, 0], "{deleted:?}");
    ensure!(offset_of(&mut c, T, 0)? == -1);
    ensure!(offset_of(&mut c, "od-regex-1", 0)? == -1);

    // The tombstones hold across a restart.
    let mut broker = broker;
    if !broker.is_external() {
        broker.restart()?;
        let mut c = broker.connect()?;
        ensure!(offset_of(&mut c, T, 0)? == -1);
        ensure!(offset_of(&mut c, "od-regex-1", 0)? == -1);
    }
    Ok(())
}
