//! The server-side partition assignors of KIP-848 consumer groups (Kafka's
//! `UniformAssignor` and `RangeAssignor` in the group coordinator).
//!
//! This module is pure: it takes the members (their subscriptions and their
//! current target assignments) and the subscribed topics, and computes the
//! new target assignment. It knows nothing of the network or of storage.
//!
//! * [`Assignor::Uniform`] ("uniform") spreads the subscribed partitions as
//!   evenly as the subscriptions allow and is sticky: a partition stays with
//!   its current owner unless moving it is needed for the balance. With
//!   homogeneous subscriptions (every member subscribes to the same topics)
//!   the partition counts of the members differ by at most one, and only the
//!   partitions in excess of a member's quota move. With heterogeneous
//!   subscriptions, partitions are moved from the more loaded to the less
//!   loaded subscribers of their topic until no move can improve the balance:
//!   a member that owns a partition of a topic has at most one partition more
//!   than any other subscriber of that topic.
//! * [`Assignor::Range`] ("range") gives, per topic, the members subscribed
//!   to it contiguous ranges of partitions, the first `partitions % members`
//!   of them one partition more. The members are ordered as Kafka's
//!   (KAFKA-16944) `RangeAssignor` orders them: static members (with an
//!   instance id) first, by instance id, then the others by member id. Like
//!   Kafka's, it does not look at the current assignment: the same members
//!   and topics always give the same ranges, so topics with the same number
//!   of partitions are co-partitioned.
//!
//! Both are deterministic: the result depends neither on the order of the
//! members given nor on anything but their ids, subscriptions and current
//! assignments. Every member appears in the result, possibly with an empty
//! assignment; topics that a member subscribes to but that are not among the
//! given topics (or have no partitions) are ignored, as are the partitions of
//! a current assignment that do not exist or are not subscribed to, and a
//! partition that several current assignments claim (as after membership
//! changes) is kept only by the first of them in member id order.

pub use crate::config::Assignor;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The partitions assigned to a member: topic id -> partitions.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// A member of the group as the assignors see it.
#[derive(Debug, Clone)]
pub struct MemberSpec<'a> {
    /// The member id; member ids are unique within a group (of members given
    /// with the same id, only the first is considered).
    pub member_id: &'a str,
    /// The instance id of a static member.
    pub instance_id: Option<&'a str>,
    /// The rack of the member (not used by these assignors yet).
    pub rack_id: Option<&'a str>,
    /// The ids of the topics the member subscribes to.
    pub subscribed_topic_ids: BTreeSet<Uuid>,
    /// The member's current target assignment, for stickiness.
    pub current: &'a Assignment,
}

/// A subscribed topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub id: Uuid,
    pub name: String,
    pub partitions: i32,
}

/// The computation lives here; the assignor's name and the list of them
/// are configuration ([`crate::config::Assignor`]).
impl Assignor {
    /// The new target assignment of the group: member id -> assignment,
    /// with every member.
    pub fn assign(
        &self,
        members: &[MemberSpec<'_>],
        topics: &BTreeMap<Uuid, TopicSpec>,
    ) -> BTreeMap<String, Assignment> {
        let members = prepare(members, topics);
        let assignments = match self {
            Assignor::Uniform => {
                let homogeneous = members
                    .windows(2)
                    .all(|w| w[0].subscribed == w[1].subscribed);
                if homogeneous {
                    uniform_homogeneous(&members, topics)
                } else {
                    uniform_heterogeneous(&members, topics)
                }
            }
            Assignor::Range => range(&members, topics),
        };
        members
            .iter()
            .zip(assignments)
            .map(|(m, a)| (m.member_id.to_owned(), a))
            .collect()
    }
}

/// A member with its subscriptions narrowed to the known topics and its
/// current assignment to the partitions that exist and that it subscribes
/// to (not yet deduplicated between members).
struct Member<'a> {
    member_id: &'a str,
    instance_id: Option<&'a str>,
    /// Known topics with at least one partition, in id order.
    subscribed: Vec<Uuid>,
    /// The valid partitions of the current assignment, in order.
    current: Vec<(Uuid, i32)>,
}

/// The members sorted by member id (first of duplicates kept), narrowed.
fn prepare<'a>(members: &[MemberSpec<'a>], topics: &BTreeMap<Uuid, TopicSpec>) -> Vec<Member<'a>> {
    let mut sorted: Vec<&MemberSpec<'a>> = members.iter().collect();
    // Stable: of members with the same id, the first given comes first.
    sorted.sort_by(|a, b| a.member_id.cmp(b.member_id));
    sorted.dedup_by(|b, a| a.member_id == b.member_id);
    sorted
        .into_iter()
        .map(|m| {
            let subscribed: Vec<Uuid> = m
                .subscribed_topic_ids
                .iter()
                .copied()
                .filter(|id| topics.get(id).is_some_and(|t| t.partitions > 0))
                .collect();
            let mut current = Vec::new();
            for (topic_id, partitions) in m.current {
                let Some(topic) = topics.get(topic_id) else {
                    continue;
                };
                if !m.subscribed_topic_ids.contains(topic_id) {
                    continue;
                }
                current.extend(
                    partitions
                        .iter()
                        .filter(|&&p| (0..topic.partitions).contains(&p))
                        .map(|&p| (*topic_id, p)),
                );
            }
            Member {
                member_id: m.member_id,
                instance_id: m.instance_id,
                subscribed,
                current,
            }
        })
        .collect()
}

/// The partition owners after deduplicating the current assignments: each
/// partition currently claimed goes to the first claimant in member order.
/// Returns, per member, the partitions it keeps, in order.
fn claim_current(members: &[Member<'_>]) -> Vec<Vec<(Uuid, i32)>> {
    let mut claimed: BTreeSet<(Uuid, i32)> = BTreeSet::new();
    members
        .iter()
        .map(|m| {
            m.current
                .iter()
                .copied()
                .filter(|tp| claimed.insert(*tp))
                .collect()
        })
        .collect()
}

fn partition_count(topics: &BTreeMap<Uuid, TopicSpec>, id: &Uuid) -> usize {
    topics
        .get(id)
        .map_or(0, |t| usize::try_from(t.partitions).unwrap_or(0))
}

fn add(assignment: &mut Assignment, (topic_id, partition): (Uuid, i32)) {
    assignment.entry(topic_id).or_default().insert(partition);
}

/// Uniform, every member subscribing to the same topics (Kafka's
/// `UniformHomogeneousAssignmentBuilder`): each member gets a quota of
/// `total / members` partitions, `total % members` of them one more; the
/// extra partitions go to the members that keep the most of their current
/// partitions, so that as few partitions as possible move. A member keeps
/// its current partitions up to its quota (the lowest ones first); the rest,
/// and the partitions nobody keeps, are handed out in order to the members
/// under their quota, in member order.
fn uniform_homogeneous(
    members: &[Member<'_>],
    topics: &BTreeMap<Uuid, TopicSpec>,
) -> Vec<Assignment> {
    let mut result = vec![Assignment::new(); members.len()];
    let Some(first) = members.first() else {
        return result;
    };
    let total: usize = first
        .subscribed
        .iter()
        .map(|id| partition_count(topics, id))
        .sum();
    if total == 0 {
        return result;
    }
    let kept = claim_current(members);

    let n = members.len();
    let min_quota = total / n;
    let extra = total % n;
    let mut by_kept: Vec<usize> = (0..n).collect();
    by_kept.sort_by(|&a, &b| kept[b].len().cmp(&kept[a].len()).then(a.cmp(&b)));
    let mut quota = vec![min_quota; n];
    for &i in by_kept.iter().take(extra) {
        quota[i] += 1;
    }

    let mut assigned: BTreeSet<(Uuid, i32)> = BTreeSet::new();
    for (i, partitions) in kept.iter().enumerate() {
        for &tp in partitions.iter().take(quota[i]) {
            add(&mut result[i], tp);
            assigned.insert(tp);
        }
    }
    let mut unassigned = first.subscribed.iter().flat_map(|id| {
        let count = topics.get(id).map_or(0, |t| t.partitions);
        (0..count).map(move |p| (*id, p))
    });
    for (i, assignment) in result.iter_mut().enumerate() {
        let mut have = quota[i].min(kept[i].len());
        while have < quota[i] {
            let Some(tp) = unassigned.next() else {
                break;
            };
            if assigned.contains(&tp) {
                continue;
            }
            add(assignment, tp);
            have += 1;
        }
    }
    result
}

/// Uniform, members subscribing to different topics (after Kafka's
/// `UniformHeterogeneousAssignmentBuilder`):
///
/// 1. every member keeps its current partitions of the topics it still
///    subscribes to;
/// 2. the partitions nobody owns are given, topic by topic (the topics with
///    the most partitions per subscriber first), each to the least loaded
///    subscriber of its topic;
/// 3. while some member owns a partition of a topic that has a subscriber
///    with at least two partitions fewer, the most loaded such member gives
///    its highest partition of that topic to the least loaded such
///    subscriber. Each move lowers the sum of the squares of the partition
///    counts, so this ends; when it does, no single move can improve the
///    balance.
fn uniform_heterogeneous(
    members: &[Member<'_>],
    topics: &BTreeMap<Uuid, TopicSpec>,
) -> Vec<Assignment> {
    let n = members.len();
    let mut result = vec![Assignment::new(); n];
    let mut counts = vec![0usize; n];

    let mut subscribers: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        for id in &m.subscribed {
            subscribers.entry(*id).or_default().push(i);
        }
    }

    // 1. Keep the current partitions.
    let mut assigned: BTreeSet<(Uuid, i32)> = BTreeSet::new();
    for (i, partitions) in claim_current(members).into_iter().enumerate() {
        counts[i] += partitions.len();
        for tp in partitions {
            add(&mut result[i], tp);
            assigned.insert(tp);
        }
    }

    // 2. Assign the partitions nobody owns.
    let mut order: Vec<(&Uuid, usize, usize)> = subscribers
        .iter()
        .map(|(id, subs)| (id, partition_count(topics, id), subs.len()))
        .collect();
    // Partitions per subscriber descending (p1 / s1 > p2 / s2 iff
    // p1 * s2 > p2 * s1), then subscribers ascending, then topic id.
    order.sort_by(|(id1, p1, s1), (id2, p2, s2)| {
        (p2 * s1)
            .cmp(&(p1 * s2))
            .then(s1.cmp(s2))
            .then(id1.cmp(id2))
    });
    for &(topic_id, partitions, _) in &order {
        let Some(subs) = subscribers.get(topic_id) else {
            continue;
        };
        for p in 0..partitions {
            let Ok(p) = i32::try_from(p) else {
                break;
            };
            if assigned.contains(&(*topic_id, p)) {
                continue;
            }
            if let Some(&i) = subs.iter().min_by_key(|&&i| (counts[i], i)) {
                add(&mut result[i], (*topic_id, p));
                counts[i] += 1;
            }
        }
    }

    // 3. Balance.
    loop {
        let mut donors: Vec<usize> = (0..n).collect();
        donors.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        let mut choice = None;
        for &d in &donors {
            if counts[d] < 2 {
                break;
            }
            // The least loaded subscriber (then the first topic) that can
            // take one of the donor's partitions.
            let mut best: Option<(usize, usize, Uuid)> = None;
            for (topic_id, partitions) in &result[d] {
                if partitions.is_empty() {
                    continue;
                }
                for &r in subscribers.get(topic_id).into_iter().flatten() {
                    if r != d
                        && counts[r] + 2 <= counts[d]
                        && best.is_none_or(|(c, b, _)| (counts[r], r) < (c, b))
                    {
                        best = Some((counts[r], r, *topic_id));
                    }
                }
            }
            if let Some((_, r, topic_id)) = best {
                choice = Some((d, r, topic_id));
                break;
            }
        }
        let Some((d, r, topic_id)) = choice else {
            break;
        };
        let Some(partitions) = result[d].get_mut(&topic_id) else {
            break;
        };
        let Some(p) = partitions.pop_last() else {
            break;
        };
        if partitions.is_empty() {
            result[d].remove(&topic_id);
        }
        counts[d] -= 1;
        add(&mut result[r], (topic_id, p));
        counts[r] += 1;
    }
    result
}

/// Range (Kafka's `RangeAssignor`): per topic, its subscribers, static
/// members first by instance id, then the others by member id, get
/// contiguous ranges of `partitions / subscribers` partitions, the first
/// `partitions % subscribers` of them one more.
fn range(members: &[Member<'_>], topics: &BTreeMap<Uuid, TopicSpec>) -> Vec<Assignment> {
    let mut result = vec![Assignment::new(); members.len()];
    let mut sorted: Vec<usize> = (0..members.len()).collect();
    // Members are already in member id order, which breaks the ties.
    sorted.sort_by_key(|&i| (members[i].instance_id.is_none(), members[i].instance_id));
    for (topic_id, topic) in topics {
        let subs: Vec<usize> = sorted
            .iter()
            .copied()
            .filter(|&i| members[i].subscribed.binary_search(topic_id).is_ok())
            .collect();
        let Ok(n) = i32::try_from(subs.len()) else {
            continue;
        };
        if n == 0 || topic.partitions <= 0 {
            continue;
        }
        let min_quota = topic.partitions / n;
        let extra = topic.partitions % n;
        let mut start = 0;
        for (k, &i) in (0..).zip(&subs) {
            let end = start + min_quota + i32::from(k < extra);
            if start < end {
                result[i].insert(*topic_id, (start..end).collect());
            }
            start = end;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tid(i: usize) -> Uuid {
        Uuid::from_u128(0x1000 + i as u128)
    }

    fn topics(partitions: &[i32]) -> BTreeMap<Uuid, TopicSpec> {
        partitions
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                (
                    tid(i),
                    TopicSpec {
                        id: tid(i),
                        name: format!("t{i}"),
                        partitions: p,
                    },
                )
            })
            .collect()
    }

    /// An owned member, for building [`MemberSpec`]s.
    #[derive(Debug, Clone)]
    struct M {
        id: String,
        instance: Option<String>,
        subs: BTreeSet<Uuid>,
        current: Assignment,
    }

    fn m(id: &str, subs: &[usize], current: &[(usize, &[i32])]) -> M {
        M {
            id: id.to_owned(),
            instance: None,
            subs: subs.iter().map(|&i| tid(i)).collect(),
            current: current
                .iter()
                .map(|&(t, ps)| (tid(t), ps.iter().copied().collect()))
                .collect(),
        }
    }

    fn specs(ms: &[M]) -> Vec<MemberSpec<'_>> {
        ms.iter()
            .map(|m| MemberSpec {
                member_id: &m.id,
                instance_id: m.instance.as_deref(),
                rack_id: None,
                subscribed_topic_ids: m.subs.clone(),
                current: &m.current,
            })
            .collect()
    }

    fn run(a: Assignor, ms: &[M], ts: &BTreeMap<Uuid, TopicSpec>) -> BTreeMap<String, Assignment> {
        a.assign(&specs(ms), ts)
    }

    fn parts(a: &Assignment, t: usize) -> Vec<i32> {
        a.get(&tid(t))
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    fn count(a: &Assignment) -> usize {
        a.values().map(BTreeSet::len).sum()
    }

    /// Every member present; every partition of a subscribed topic assigned
    /// exactly once, to a subscriber; nothing else assigned.
    fn check_valid(
        ms: &[M],
        ts: &BTreeMap<Uuid, TopicSpec>,
        result: &BTreeMap<String, Assignment>,
    ) -> Result<(), TestCaseError> {
        let ids: BTreeSet<&str> = ms.iter().map(|m| m.id.as_str()).collect();
        let got: BTreeSet<&str> = result.keys().map(String::as_str).collect();
        prop_assert_eq!(ids, got);
        let mut owners: BTreeMap<(Uuid, i32), usize> = BTreeMap::new();
        for (member_id, a) in result {
            let m = ms.iter().find(|m| &m.id == member_id).unwrap();
            for (t, ps) in a {
                prop_assert!(!ps.is_empty(), "empty topic entry");
                prop_assert!(m.subs.contains(t), "{member_id} not subscribed to {t}");
                let topic = ts.get(t);
                prop_assert!(topic.is_some(), "unknown topic {t}");
                for &p in ps {
                    prop_assert!((0..topic.unwrap().partitions).contains(&p));
                    *owners.entry((*t, p)).or_default() += 1;
                }
            }
        }
        for (t, topic) in ts {
            let subscribed = ms.iter().any(|m| m.subs.contains(t));
            for p in 0..topic.partitions {
                let n = owners.get(&(*t, p)).copied().unwrap_or(0);
                prop_assert_eq!(n, usize::from(subscribed), "{}-{} owned {} times", t, p, n);
            }
        }
        Ok(())
    }

    fn with_current(ms: &[M], result: &BTreeMap<String, Assignment>) -> Vec<M> {
        ms.iter()
            .map(|m| M {
                current: result[&m.id].clone(),
                ..m.clone()
            })
            .collect()
    }

    fn spread(result: &BTreeMap<String, Assignment>) -> usize {
        let counts: Vec<usize> = result.values().map(count).collect();
        counts.iter().max().unwrap() - counts.iter().min().unwrap()
    }

    fn owner_map(result: &BTreeMap<String, Assignment>) -> BTreeMap<(Uuid, i32), String> {
        result
            .iter()
            .flat_map(|(m, a)| {
                a.iter()
                    .flat_map(move |(t, ps)| ps.iter().map(move |&p| ((*t, p), m.clone())))
            })
            .collect()
    }

    #[test]
    fn names() {
        for a in Assignor::ALL {
            assert_eq!(Assignor::from_name(a.name()), Some(a));
        }
        assert_eq!(Assignor::Uniform.name(), "uniform");
        assert_eq!(Assignor::Range.name(), "range");
        assert_eq!(Assignor::from_name("sticky"), None);
    }

    #[test]
    fn two_members_one_topic() {
        let ts = topics(&[4]);
        let ms = [m("a", &[0], &[]), m("b", &[0], &[])];
        for a in Assignor::ALL {
            let r = run(a, &ms, &ts);
            assert_eq!(count(&r["a"]), 2, "{a:?}");
            assert_eq!(count(&r["b"]), 2, "{a:?}");
        }
        let r = run(Assignor::Range, &ms, &ts);
        assert_eq!(parts(&r["a"], 0), [0, 1]);
        assert_eq!(parts(&r["b"], 0), [2, 3]);
    }

    #[test]
    fn range_three_members_eight_partitions() {
        let ts = topics(&[8, 8]);
        // Given out of order: the result does not depend on it.
        let ms = [
            m("c", &[0, 1], &[]),
            m("a", &[0, 1], &[(0, &[7])]),
            m("b", &[0, 1], &[]),
        ];
        let r = run(Assignor::Range, &ms, &ts);
        for t in 0..2 {
            assert_eq!(parts(&r["a"], t), [0, 1, 2]);
            assert_eq!(parts(&r["b"], t), [3, 4, 5]);
            assert_eq!(parts(&r["c"], t), [6, 7]);
        }
    }

    #[test]
    fn range_static_members_first() {
        let ts = topics(&[5]);
        let mut ms = vec![m("a", &[0], &[]), m("b", &[0], &[]), m("c", &[0], &[])];
        ms[1].instance = Some("i2".into());
        ms[2].instance = Some("i1".into());
        let r = run(Assignor::Range, &ms, &ts);
        assert_eq!(parts(&r["c"], 0), [0, 1]);
        assert_eq!(parts(&r["b"], 0), [2, 3]);
        assert_eq!(parts(&r["a"], 0), [4]);
    }

    #[test]
    fn range_heterogeneous() {
        let ts = topics(&[3, 4]);
        let ms = [
            m("a", &[0], &[]),
            m("b", &[0, 1], &[]),
            m("c", &[1, 7], &[]),
        ];
        let r = run(Assignor::Range, &ms, &ts);
        assert_eq!(parts(&r["a"], 0), [0, 1]);
        assert_eq!(parts(&r["b"], 0), [2]);
        assert_eq!(parts(&r["b"], 1), [0, 1]);
        assert_eq!(parts(&r["c"], 1), [2, 3]);
        assert_eq!(r["c"].len(), 1);
    }

    #[test]
    fn uniform_member_joins() {
        let ts = topics(&[6]);
        let ms = [
            m("a", &[0], &[(0, &[0, 1, 2])]),
            m("b", &[0], &[(0, &[3, 4, 5])]),
            m("c", &[0], &[]),
        ];
        let r = run(Assignor::Uniform, &ms, &ts);
        assert_eq!(parts(&r["a"], 0), [0, 1]);
        assert_eq!(parts(&r["b"], 0), [3, 4]);
        assert_eq!(parts(&r["c"], 0), [2, 5]);
    }

    #[test]
    fn uniform_member_leaves() {
        let ts = topics(&[6]);
        let ms = [m("a", &[0], &[(0, &[0, 1])]), m("c", &[0], &[(0, &[2, 5])])];
        let r = run(Assignor::Uniform, &ms, &ts);
        assert_eq!(parts(&r["a"], 0), [0, 1, 3]);
        assert_eq!(parts(&r["c"], 0), [2, 4, 5]);
    }

    #[test]
    fn uniform_extra_goes_to_who_has_it() {
        // 5 partitions, 2 members: the one that has 3 keeps them.
        let ts = topics(&[5]);
        let ms = [m("a", &[0], &[(0, &[0])]), m("b", &[0], &[(0, &[1, 2, 3])])];
        let r = run(Assignor::Uniform, &ms, &ts);
        assert_eq!(parts(&r["a"], 0), [0, 4]);
        assert_eq!(parts(&r["b"], 0), [1, 2, 3]);
    }

    #[test]
    fn uniform_heterogeneous_example() {
        // a can only take t0; b takes t1 and shares t0 only if that helps.
        let ts = topics(&[3, 3]);
        let ms = [m("a", &[0], &[]), m("b", &[0, 1], &[(0, &[0, 1, 2])])];
        let r = run(Assignor::Uniform, &ms, &ts);
        assert_eq!(count(&r["a"]), 3);
        assert_eq!(parts(&r["a"], 0), [0, 1, 2]);
        assert_eq!(parts(&r["b"], 1), [0, 1, 2]);
        assert_eq!(r["b"].len(), 1);
    }

    #[test]
    fn uniform_heterogeneous_revokes_unsubscribed() {
        let ts = topics(&[2, 2]);
        let ms = [
            m("a", &[1], &[(0, &[0, 1]), (1, &[0])]),
            m("b", &[0], &[(1, &[1])]),
        ];
        let r = run(Assignor::Uniform, &ms, &ts);
        assert_eq!(parts(&r["a"], 1), [0, 1]);
        assert_eq!(parts(&r["b"], 0), [0, 1]);
        assert_eq!(r["a"].len(), 1);
        assert_eq!(r["b"].len(), 1);
    }

    #[test]
    fn overlapping_and_invalid_current() {
        let ts = topics(&[4]);
        let ms = [
            m("a", &[0, 9], &[(0, &[0, 1, 2, 3, 17, -1]), (9, &[0])]),
            m("b", &[0], &[(0, &[0, 1, 2, 3])]),
            m("z", &[5], &[(0, &[0])]),
        ];
        for a in Assignor::ALL {
            let r = run(a, &ms, &ts);
            assert_eq!(count(&r["a"]), 2, "{a:?}");
            assert_eq!(count(&r["b"]), 2, "{a:?}");
            assert!(r["z"].is_empty(), "{a:?}");
            check_valid(&ms, &ts, &r).unwrap();
        }
    }

    #[test]
    fn no_members_no_topics() {
        for a in Assignor::ALL {
            assert!(a.assign(&[], &topics(&[3])).is_empty());
            let ms = [m("a", &[0], &[(0, &[0])])];
            let r = run(a, &ms, &BTreeMap::new());
            assert_eq!(r.len(), 1);
            assert!(r["a"].is_empty());
        }
    }

    /// A random group: members with random ids, subscriptions (possibly to
    /// an unknown topic, possibly homogeneous) and current assignments
    /// (possibly overlapping, out of range, of unknown or unsubscribed
    /// topics); and the topics.
    fn group() -> impl Strategy<Value = (Vec<M>, BTreeMap<Uuid, TopicSpec>)> {
        (
            prop::collection::vec(1..=12i32, 1..=4),
            1..=8usize,
            any::<bool>(),
        )
            .prop_flat_map(|(partitions, n, homogeneous)| {
                let nt = partitions.len();
                let member = (
                    prop::collection::btree_set(0..=nt, 0..=nt + 1),
                    prop::option::of(0..4u8),
                    prop::collection::vec((0..=nt, -1..14i32), 0..12),
                );
                (
                    Just(partitions),
                    prop::collection::btree_set(0..20u8, n),
                    prop::collection::vec(member, n),
                    Just(homogeneous),
                    prop::collection::btree_set(0..=nt, 0..=nt + 1),
                )
            })
            .prop_map(|(partitions, ids, members, homogeneous, common)| {
                let ms = ids
                    .into_iter()
                    .zip(members)
                    .map(|(id, (subs, instance, current))| {
                        let subs = if homogeneous { common.clone() } else { subs };
                        let mut a = Assignment::new();
                        for (t, p) in current {
                            a.entry(tid(t)).or_default().insert(p);
                        }
                        M {
                            id: format!("m{id:02}"),
                            instance: instance.map(|i| format!("i{i}")),
                            subs: subs.into_iter().map(tid).collect(),
                            current: a,
                        }
                    })
                    .collect();
                (ms, topics(&partitions))
            })
    }

    fn homogeneous(ms: &[M], ts: &BTreeMap<Uuid, TopicSpec>) -> bool {
        let known = |m: &M| -> BTreeSet<Uuid> {
            m.subs
                .iter()
                .filter(|t| ts.contains_key(t))
                .copied()
                .collect()
        };
        ms.windows(2).all(|w| known(&w[0]) == known(&w[1]))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn valid_and_deterministic((ms, ts) in group()) {
            for a in Assignor::ALL {
                let r = run(a, &ms, &ts);
                check_valid(&ms, &ts, &r)?;
                prop_assert_eq!(&run(a, &ms, &ts), &r);
                let mut reversed = ms.clone();
                reversed.reverse();
                prop_assert_eq!(&run(a, &reversed, &ts), &r, "{:?} depends on member order", a);
            }
        }

        #[test]
        fn uniform_balanced((ms, ts) in group()) {
            let r = run(Assignor::Uniform, &ms, &ts);
            if homogeneous(&ms, &ts) {
                prop_assert!(spread(&r) <= 1, "unbalanced: {:?}", r);
            }
            // No single move improves the balance: an owner of a partition
            // has at most one more partition than any subscriber of its topic.
            for (owner, a) in &r {
                for t in a.keys() {
                    for m in ms.iter().filter(|m| m.subs.contains(t)) {
                        prop_assert!(
                            count(a) <= count(&r[&m.id]) + 1,
                            "{} could give a partition of {} to {}: {:?}", owner, t, m.id, r
                        );
                    }
                }
            }
        }

        #[test]
        fn uniform_sticky((ms, ts) in group()) {
            let r = run(Assignor::Uniform, &ms, &ts);
            let again = run(Assignor::Uniform, &with_current(&ms, &r), &ts);
            prop_assert_eq!(again, r);
        }

        #[test]
        fn range_stable((ms, ts) in group()) {
            let r = run(Assignor::Range, &ms, &ts);
            let again = run(Assignor::Range, &with_current(&ms, &r), &ts);
            prop_assert_eq!(&again, &r);
            // Per topic, contiguous ranges whose sizes differ by at most one.
            for t in ts.keys() {
                let sizes: Vec<usize> = ms
                    .iter()
                    .filter(|m| m.subs.contains(t))
                    .map(|m| r[&m.id].get(t).map_or(0, BTreeSet::len))
                    .collect();
                if let (Some(max), Some(min)) = (sizes.iter().max(), sizes.iter().min()) {
                    prop_assert!(max - min <= 1);
                }
                for a in r.values() {
                    if let Some(ps) = a.get(t) {
                        let (lo, hi) = (ps.first().unwrap(), ps.last().unwrap());
                        prop_assert_eq!(usize::try_from(hi - lo + 1).unwrap(), ps.len());
                    }
                }
            }
        }

        /// Homogeneous: a member joining a balanced group takes only
        /// partitions it gets, at most ceil(total / members) of them, and
        /// the others keep the rest; a member leaving makes nobody else
        /// lose a partition.
        #[test]
        fn uniform_join_and_leave((ms, ts) in group(), new_id in 0..20u8) {
            let ms: Vec<M> = ms
                .iter()
                .map(|m| M { subs: ms[0].subs.clone(), ..m.clone() })
                .collect();
            let balanced = with_current(&ms, &run(Assignor::Uniform, &ms, &ts));
            let before = owner_map(&run(Assignor::Uniform, &balanced, &ts));
            let total = before.len();

            let new_id = format!("n{new_id:02}");
            let mut joined = balanced.clone();
            joined.push(M { id: new_id.clone(), instance: None, subs: ms[0].subs.clone(), current: Assignment::new() });
            let r = run(Assignor::Uniform, &joined, &ts);
            check_valid(&joined, &ts, &r)?;
            prop_assert!(spread(&r) <= 1);
            let after = owner_map(&r);
            let moved: Vec<_> = after.iter().filter(|(tp, o)| before.get(tp) != Some(o)).collect();
            for (_, o) in &moved {
                prop_assert_eq!(o.as_str(), new_id.as_str());
            }
            prop_assert!(moved.len() <= total.div_ceil(joined.len()), "{} moved of {}", moved.len(), total);

            if balanced.len() > 1 {
                let left = &balanced[1..];
                let r = run(Assignor::Uniform, left, &ts);
                prop_assert!(spread(&r) <= 1);
                for m in left {
                    for (t, ps) in &m.current {
                        prop_assert!(ps.is_subset(&r[&m.id][t]), "{} lost partitions of {}", m.id, t);
                    }
                }
            }
        }
    }
}
