//! Protocol-level checks of the classic group APIs: rebalances between two
//! members driven request by request, session expiry, committed offsets
//! (and their durability in `__consumer_offsets`), and group admin.

use anyhow::{Context, Result, ensure};
use harness::batch;
use harness::fixture::TopicSpec;
use harness::groups::{
    self, CommitPartition, ConsumerSubscription, JoinGroupRequest, MemberIdentity,
    OffsetCommitRequest, OffsetFetchGroup, SyncGroupRequest, error,
};
use harness::protocol::error::{INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION};
use harness::wire::uuid;
use harness::{Broker, Client, or_skip};
use std::time::{Duration, Instant};

/// The group under test ("g", unique to the test on an external broker).
fn group() -> String {
    harness::launcher::unique("g")
}

/// The topic the group consumes.
fn t() -> String {
    harness::launcher::unique("t")
}

fn start() -> Result<Broker> {
    Broker::on_fixture_tuned(
        &[TopicSpec::new(&t(), uuid(0x7), 4)],
        &[
            ("group.initial.rebalance.delay.ms", "0"),
            ("group.min.session.timeout.ms", "500"),
            ("offsets.topic.num.partitions", "5"),
        ],
    )
}

fn subscription() -> Vec<u8> {
    ConsumerSubscription::new(&[&t()]).encode()
}

fn join_request(member_id: &str, session_timeout_ms: i32) -> JoinGroupRequest {
    let mut request =
        JoinGroupRequest::new(&group(), member_id, vec![("range".into(), subscription())]);
    request.session_timeout_ms = session_timeout_ms;
    request.rebalance_timeout_ms = 10_000;
    request
}

fn join(client: &mut Client, member_id: &str) -> Result<groups::JoinGroupResponse> {
    client.send(&groups::join_group_request(
        1,
        &join_request(member_id, 10_000),
    ))?;
    receive_join(client)
}

fn receive_join(client: &mut Client) -> Result<groups::JoinGroupResponse> {
    groups::decode_join_group_response(&client.receive()?)
}

/// Joins as a new member: first the member id, then the real join.
fn join_new(client: &mut Client, session_timeout_ms: i32) -> Result<String> {
    client.send(&groups::join_group_request(
        1,
        &join_request("", session_timeout_ms),
    ))?;
    let first = receive_join(client)?;
    ensure!(
        first.error_code == error::MEMBER_ID_REQUIRED && !first.member_id.is_empty(),
        "{first:?}"
    );
    Ok(first.member_id)
}

fn sync(
    client: &mut Client,
    generation: i32,
    member_id: &str,
    assignments: Vec<(String, Vec<u8>)>,
) -> Result<groups::SyncGroupResponse> {
    let mut request = SyncGroupRequest::new(&group(), generation, member_id);
    request.assignments = assignments;
    groups::decode_sync_group_response(
        &client.round_trip(&groups::sync_group_request(2, &request))?,
    )
}

fn heartbeat(client: &mut Client, generation: i32, member_id: &str) -> Result<i16> {
    let raw = client.round_trip(&groups::heartbeat_request(
        3,
        &group(),
        generation,
        member_id,
        None,
    ))?;
    Ok(groups::decode_heartbeat_response(&raw)?.error_code)
}

fn commit(
    client: &mut Client,
    generation: i32,
    member_id: &str,
    partitions: Vec<CommitPartition>,
) -> Result<groups::OffsetCommitResponse> {
    let mut request = OffsetCommitRequest::standalone(&group(), vec![(t(), partitions)]);
    request.generation_id_or_member_epoch = generation;
    request.member_id = member_id.to_string();
    groups::decode_offset_commit_response(
        &client.round_trip(&groups::offset_commit_request(4, &request))?,
    )
}

fn fetch_offsets(
    client: &mut Client,
    group: &str,
    partitions: Vec<i32>,
) -> Result<groups::OffsetFetchGroupResponse> {
    let request = [OffsetFetchGroup::new(group, Some(vec![(t(), partitions)]))];
    let response = groups::decode_offset_fetch_response(
        &client.round_trip(&groups::offset_fetch_request(5, &request, false))?,
    )?;
    response
        .group(group)
        .cloned()
        .context("group missing from OffsetFetch")
}

#[test]
fn two_members_rebalance_commit_and_leave() -> Result<()> {
    let broker = start()?;
    let mut a = broker.connect()?;
    let mut b = broker.connect()?;

    let raw = a.round_trip(&groups::find_coordinator_request(
        1,
        groups::KEY_TYPE_GROUP,
        &[&group(), "other"],
    ))?;
    let found = groups::decode_find_coordinator_response(&raw)?;
    ensure!(found.coordinators.len() == 2, "{found:?}");
    let node = broker.node_id()?;
    for c in &found.coordinators {
        ensure!(
            (c.error_code, c.node_id, c.host.as_str(), c.port)
                == (0, node, broker.host().as_str(), i32::from(broker.port())),
            "{c:?}"
        );
    }
    if !broker.is_external() {
        ensure!(
            (0..5).all(|p| broker
                .log_dir()
                .join(format!("__consumer_offsets-{p}"))
                .exists()),
            "offsets topic not created"
        );
    }
    // The broker coordinates transactional ids too; an empty one has none.
    let raw = a.round_trip(&groups::find_coordinator_request(
        1,
        groups::KEY_TYPE_TRANSACTION,
        &["txn", ""],
    ))?;
    let found = groups::decode_find_coordinator_response(&raw)?.coordinators;
    ensure!(
        found.len() == 2 && found[0].error_code == 0 && found[1].error_code == INVALID_REQUEST,
        "{found:?}"
    );

    // Member A alone: generation 1, A leads and assigns everything to itself.
    let member_a = join_new(&mut a, 10_000)?;
    let joined = join(&mut a, &member_a)?;
    ensure!(
        (joined.error_code, joined.generation_id) == (0, 1),
        "{joined:?}"
    );
    ensure!(
        joined.leader == member_a && joined.protocol_name.as_deref() == Some("range"),
        "{joined:?}"
    );
    ensure!(
        joined.protocol_type.as_deref() == Some("consumer"),
        "{joined:?}"
    );
    ensure!(
        joined.members.len() == 1 && joined.members[0].metadata == subscription(),
        "{joined:?}"
    );
    let synced = sync(
        &mut a,
        1,
        &member_a,
        vec![(member_a.clone(), b"all to a".to_vec())],
    )?;
    ensure!(
        synced.error_code == 0 && synced.assignment == b"all to a",
        "{synced:?}"
    );
    ensure!(heartbeat(&mut a, 1, &member_a)? == 0);

    // Member B joins: its join waits for A, who learns of the rebalance by heartbeat.
    let member_b = join_new(&mut b, 10_000)?;
    b.send(&groups::join_group_request(
        1,
        &join_request(&member_b, 10_000),
    ))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while heartbeat(&mut a, 1, &member_a)? != error::REBALANCE_IN_PROGRESS {
        ensure!(Instant::now() < deadline, "A never told to rebalance");
        std::thread::sleep(Duration::from_millis(20));
    }
    let leader = join(&mut a, &member_a)?;
    let follower = receive_join(&mut b)?;
    ensure!(
        leader.generation_id == 2 && follower.generation_id == 2,
        "{leader:?} {follower:?}"
    );
    ensure!(leader.leader == member_a && follower.leader == member_a);
    let members: Vec<&str> = leader
        .members
        .iter()
        .map(|m| m.member_id.as_str())
        .collect();
    ensure!(
        members == [member_a.as_str(), member_b.as_str()],
        "{members:?}"
    );
    ensure!(
        follower.members.is_empty(),
        "only the leader gets the members"
    );

    // B's sync waits for the leader's assignments.
    let mut request = SyncGroupRequest::new(&group(), 2, &member_b);
    request.assignments = Vec::new();
    b.send(&groups::sync_group_request(2, &request))?;
    let assignments = vec![
        (member_a.clone(), b"0,1".to_vec()),
        (member_b.clone(), b"2,3".to_vec()),
    ];
    ensure!(sync(&mut a, 2, &member_a, assignments)?.assignment == b"0,1");
    let b_synced = groups::decode_sync_group_response(&b.receive()?)?;
    ensure!(
        b_synced.error_code == 0 && b_synced.assignment == b"2,3",
        "{b_synced:?}"
    );

    let raw = a.round_trip(&groups::describe_groups_request(
        6,
        &[&group(), "nobody"],
        true,
    ))?;
    let described = groups::decode_describe_groups_response(&raw)?;
    let g = &described.groups[0];
    ensure!(
        (
            g.group_state.as_str(),
            g.protocol_type.as_str(),
            g.protocol_data.as_str()
        ) == ("Stable", "consumer", "range"),
        "{g:?}"
    );
    ensure!(
        g.members.len() == 2
            && g.members
                .iter()
                .all(|m| m.client_host == "/127.0.0.1" && m.member_metadata == subscription()),
        "{g:?}"
    );
    ensure!(
        g.members
            .iter()
            .any(|m| m.member_id == member_b && m.member_assignment == b"2,3"),
        "{g:?}"
    );
    ensure!(described.groups[1].group_state == "Dead" && described.groups[1].members.is_empty());
    let raw = a.round_trip(&groups::list_groups_request(7, &[], &[]))?;
    let listed = groups::decode_list_groups_response(&raw)?;
    // Other tests' groups may live on an external broker.
    let ours: Vec<_> = listed
        .groups
        .iter()
        .filter(|g| g.group_id == group())
        .collect();
    ensure!(
        ours.len() == 1 && (broker.is_external() || listed.groups.len() == 1),
        "{listed:?}"
    );
    let l = ours[0];
    ensure!(
        (
            l.group_id.as_str(),
            l.protocol_type.as_str(),
            l.group_state.as_str(),
            l.group_type.as_str()
        ) == (&group(), "consumer", "Stable", "classic"),
        "{l:?}"
    );
    let raw = a.round_trip(&groups::list_groups_request(7, &["Empty"], &[]))?;
    let empty = groups::decode_list_groups_response(&raw)?.groups;
    ensure!(
        !empty.iter().any(|g| g.group_id == group()) && (broker.is_external() || empty.is_empty()),
        "{empty:?}"
    );

    // Liveness and generation checks.
    ensure!(heartbeat(&mut a, 1, &member_a)? == error::ILLEGAL_GENERATION);
    ensure!(heartbeat(&mut a, 2, "stranger")? == error::UNKNOWN_MEMBER_ID);
    ensure!(sync(&mut a, 1, &member_a, vec![])?.error_code == error::ILLEGAL_GENERATION);

    // Commits by members of the current generation.
    let mut with_metadata = CommitPartition::new(0, 5);
    with_metadata.committed_metadata = Some("checkpoint".into());
    with_metadata.committed_leader_epoch = 0;
    let mut too_large = CommitPartition::new(1, 6);
    too_large.committed_metadata = Some("x".repeat(5000));
    let committed = commit(
        &mut a,
        2,
        &member_a,
        vec![with_metadata, CommitPartition::new(9, 1), too_large],
    )?;
    let codes: Vec<Option<i16>> = [0, 9, 1]
        .iter()
        .map(|p| committed.error_code(&t(), *p))
        .collect();
    ensure!(
        codes
            == [
                Some(0),
                Some(UNKNOWN_TOPIC_OR_PARTITION),
                Some(error::OFFSET_METADATA_TOO_LARGE)
            ],
        "{codes:?}"
    );
    ensure!(
        commit(&mut b, 1, &member_b, vec![CommitPartition::new(2, 1)])?.error_code(&t(), 2)
            == Some(error::ILLEGAL_GENERATION)
    );
    ensure!(
        commit(&mut b, 2, "stranger", vec![CommitPartition::new(2, 1)])?.error_code(&t(), 2)
            == Some(error::UNKNOWN_MEMBER_ID)
    );
    let offsets = fetch_offsets(&mut a, &group(), vec![0, 1])?;
    let p0 = offsets.partition(&t(), 0).context("t-0")?;
    ensure!(
        (
            p0.committed_offset,
            p0.committed_leader_epoch,
            p0.metadata.as_deref()
        ) == (5, 0, Some("checkpoint")),
        "{p0:?}"
    );
    ensure!(
        offsets
            .partition(&t(), 1)
            .is_some_and(|p| p.committed_offset == -1),
        "{offsets:?}"
    );

    // B leaves: A is told to rebalance and continues alone in generation 3.
    let raw = b.round_trip(&groups::leave_group_request(
        8,
        &group(),
        &[MemberIdentity::new(&member_b), MemberIdentity::new("ghost")],
    ))?;
    let left = groups::decode_leave_group_response(&raw)?;
    let codes: Vec<i16> = left.members.iter().map(|m| m.error_code).collect();
    ensure!(
        left.error_code == 0 && codes == [0, error::UNKNOWN_MEMBER_ID],
        "{left:?}"
    );
    ensure!(heartbeat(&mut a, 2, &member_a)? == error::REBALANCE_IN_PROGRESS);
    let alone = join(&mut a, &member_a)?;
    ensure!(
        alone.generation_id == 3 && alone.members.len() == 1,
        "{alone:?}"
    );
    ensure!(
        sync(
            &mut a,
            3,
            &member_a,
            vec![(member_a.clone(), b"all".to_vec())]
        )?
        .error_code
            == 0
    );

    // Deleting needs an empty group.
    let raw = a.round_trip(&groups::delete_groups_request(9, &[&group(), "nobody"]))?;
    let codes: Vec<i16> = groups::decode_delete_groups_response(&raw)?
        .results
        .iter()
        .map(|r| r.1)
        .collect();
    ensure!(
        codes == [error::NON_EMPTY_GROUP, error::GROUP_ID_NOT_FOUND],
        "{codes:?}"
    );
    a.round_trip(&groups::leave_group_request(
        10,
        &group(),
        &[MemberIdentity::new(&member_a)],
    ))?;
    let raw = a.round_trip(&groups::delete_groups_request(11, &[&group()]))?;
    ensure!(groups::decode_delete_groups_response(&raw)?.results[0].1 == 0);
    ensure!(
        fetch_offsets(&mut a, &group(), vec![0])?
            .partition(&t(), 0)
            .is_some_and(|p| p.committed_offset == -1),
        "offsets outlived their group"
    );
    Ok(())
}

#[test]
fn silent_members_expire_after_their_session_timeout() -> Result<()> {
    or_skip!(harness::launcher::own_broker_only(
        "uses 1 s session timeouts, below Kafka's default group.min.session.timeout.ms"
    ));
    let broker = start()?;
    let mut a = broker.connect()?;
    let mut c = broker.connect()?;
    let member_a = join_new(&mut a, 10_000)?;
    ensure!(join(&mut a, &member_a)?.generation_id == 1);
    sync(&mut a, 1, &member_a, vec![])?;

    let member_c = join_new(&mut c, 1000)?;
    let mut request = join_request(&member_c, 1000);
    request.rebalance_timeout_ms = 10_000;
    c.send(&groups::join_group_request(1, &request))?;
    while heartbeat(&mut a, 1, &member_a)? != error::REBALANCE_IN_PROGRESS {
        std::thread::sleep(Duration::from_millis(20));
    }
    ensure!(join(&mut a, &member_a)?.generation_id == 2);
    ensure!(receive_join(&mut c)?.generation_id == 2);
    sync_both(&mut a, &mut c, &member_a, &member_c)?;

    // C goes silent; within a few seconds A is told to rebalance without it.
    let started = Instant::now();
    loop {
        let code = heartbeat(&mut a, 2, &member_a)?;
        if code == error::REBALANCE_IN_PROGRESS {
            break;
        }
        ensure!(
            code == 0 && started.elapsed() < Duration::from_secs(8),
            "heartbeat {code} after {:?}",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    ensure!(
        started.elapsed() >= Duration::from_millis(800),
        "C expired before its session timeout"
    );
    let alone = join(&mut a, &member_a)?;
    ensure!(
        alone.generation_id == 3 && alone.members.len() == 1,
        "{alone:?}"
    );
    Ok(())
}

fn sync_both(a: &mut Client, c: &mut Client, member_a: &str, member_c: &str) -> Result<()> {
    let mut request = SyncGroupRequest::new(&group(), 2, member_c);
    request.assignments = Vec::new();
    c.send(&groups::sync_group_request(2, &request))?;
    sync(
        a,
        2,
        member_a,
        vec![
            (member_a.into(), b"a".to_vec()),
            (member_c.into(), b"c".to_vec()),
        ],
    )?;
    ensure!(groups::decode_sync_group_response(&c.receive()?)?.assignment == b"c");
    Ok(())
}

#[test]
fn join_requests_are_validated() -> Result<()> {
    let broker = start()?;
    let mut a = broker.connect()?;
    let check = |client: &mut Client, request: JoinGroupRequest, expected: i16| -> Result<()> {
        let response = groups::decode_join_group_response(
            &client.round_trip(&groups::join_group_request(1, &request))?,
        )?;
        ensure!(
            response.error_code == expected,
            "expected {expected}: {response:?}"
        );
        Ok(())
    };
    check(
        &mut a,
        join_request("", 100),
        error::INVALID_SESSION_TIMEOUT,
    )?;
    let mut no_id = join_request("", 10_000);
    no_id.group_id = String::new();
    check(&mut a, no_id, error::INVALID_GROUP_ID)?;
    check(
        &mut a,
        join_request("made-up-member", 10_000),
        error::UNKNOWN_MEMBER_ID,
    )?;

    let member = join_new(&mut a, 10_000)?;
    ensure!(join(&mut a, &member)?.error_code == 0);
    let mut b = broker.connect()?;
    let mut connect = join_request("", 10_000);
    connect.protocol_type = "connect".into();
    check(&mut b, connect, error::INCONSISTENT_GROUP_PROTOCOL)?;
    Ok(())
}

#[test]
fn committed_offsets_survive_restarts_in_kafkas_format() -> Result<()> {
    or_skip!(harness::launcher::own_broker_only(
        "restarts the broker and reads __consumer_offsets as laid out with 5 partitions"
    ));
    let mut broker = start()?;
    let mut client = broker.connect()?;
    // A client outside any generation (an admin tool, manual assignment).
    let request =
        OffsetCommitRequest::standalone("solo", vec![(t(), vec![CommitPartition::new(3, 42)])]);
    let committed = groups::decode_offset_commit_response(
        &client.round_trip(&groups::offset_commit_request(1, &request))?,
    )?;
    ensure!(committed.error_code(&t(), 3) == Some(0), "{committed:?}");

    // The commit is an OffsetCommit record in the group's partition (Java's
    // abs("solo".hashCode()) % 5 == 0): key version 1, value version 3.
    let log = std::fs::read(
        broker
            .log_dir()
            .join("__consumer_offsets-0/00000000000000000000.log"),
    )?;
    let records: Vec<batch::Record> = batch::decode_batches(&log)?
        .into_iter()
        .flat_map(|b| b.batch.records)
        .collect();
    ensure!(records.len() == 1, "{records:?}");
    let mut key = vec![0, 1, 0, 4];
    key.extend_from_slice(b"solo");
    key.extend_from_slice(&[0, 1, b't', 0, 0, 0, 3]);
    ensure!(
        records[0].key.as_deref() == Some(&key[..]),
        "{:?}",
        records[0].key
    );
    let value = records[0].value.as_deref().context("no value")?;
    ensure!(
        value[0..2] == [0, 3] && value[2..10] == 42i64.to_be_bytes(),
        "{value:?}"
    );

    broker.restart()?;
    let mut client = broker.connect()?;
    let offsets = fetch_offsets(&mut client, "solo", vec![3])?;
    ensure!(
        offsets
            .partition(&t(), 3)
            .is_some_and(|p| p.committed_offset == 42),
        "{offsets:?}"
    );
    let all = groups::decode_offset_fetch_response(&client.round_trip(
        &groups::offset_fetch_request(2, &[OffsetFetchGroup::new("solo", None)], false),
    )?)?;
    ensure!(
        all.groups[0].topics.len() == 1 && all.groups[0].topics[0].1[0].committed_offset == 42,
        "{all:?}"
    );
    Ok(())
}

/// OffsetDelete on classic groups: offsets of partitions no member
/// subscribes to are deleted, a subscribed topic's are not, only an empty
/// group or one of the consumer protocol may be asked, and the partitions
/// the coordinator never sees get their own errors.
#[test]
fn offset_delete_in_classic_groups() -> Result<()> {
    let other = harness::launcher::unique("other");
    let broker = Broker::on_fixture_tuned(
        &[
            TopicSpec::new(&t(), uuid(0x7), 4),
            TopicSpec::new(&other, uuid(0x8), 2),
        ],
        &[
            ("group.initial.rebalance.delay.ms", "0"),
            ("group.min.session.timeout.ms", "500"),
            ("offsets.topic.num.partitions", "5"),
        ],
    )?;
    let mut a = broker.connect()?;
    let delete = |c: &mut Client, group: &str, topics: &[(&str, Vec<i32>)]| {
        let raw = c.round_trip(&groups::offset_delete_request(21, group, topics))?;
        let response = groups::decode_offset_delete_response(&raw)?;
        harness::protocol::ensure_correlation(response.correlation_id, 21)?;
        Ok::<_, anyhow::Error>(response)
    };
    let triple = |topic: &str, partition: i32, code: i16| (topic.to_string(), partition, code);
    let committed = |c: &mut Client, topic: &str, partitions: Vec<i32>| {
        let request = [OffsetFetchGroup::new(
            &group(),
            Some(vec![(topic.to_string(), partitions.clone())]),
        )];
        let response = groups::decode_offset_fetch_response(
            &c.round_trip(&groups::offset_fetch_request(5, &request, false))?,
        )?;
        let group = response.group(&group()).cloned().context("no group")?;
        partitions
            .iter()
            .map(|&p| {
                group
                    .partition(topic, p)
                    .map(|o| o.committed_offset)
                    .with_context(|| format!("{topic}-{p} missing"))
            })
            .collect::<Result<Vec<i64>>>()
    };

    // A group that does not exist.
    let none = delete(
        &mut a,
        &harness::launcher::unique("nobody"),
        &[(&t(), vec![0])],
    )?;
    ensure!(
        none.error_code == error::GROUP_ID_NOT_FOUND && none.partitions.is_empty(),
        "{none:?}"
    );

    // A group that only stores offsets: any of them may go.
    let standalone = OffsetCommitRequest::standalone(
        &group(),
        vec![
            (
                t(),
                vec![CommitPartition::new(0, 10), CommitPartition::new(1, 11)],
            ),
            (other.clone(), vec![CommitPartition::new(0, 5)]),
        ],
    );
    let stored = groups::decode_offset_commit_response(
        &a.round_trip(&groups::offset_commit_request(4, &standalone))?,
    )?;
    ensure!(
        [(t(), 0), (t(), 1), (other.clone(), 0)]
            .iter()
            .all(|(topic, p)| stored.error_code(topic, *p) == Some(0)),
        "{stored:?}"
    );
    let deleted = delete(
        &mut a,
        &group(),
        &[(&t(), vec![0, 9]), ("no-such-topic", vec![0])],
    )?;
    ensure!(
        deleted.error_code == 0
            && deleted.partitions
                == [
                    triple(&t(), 0, 0),
                    triple(&t(), 9, UNKNOWN_TOPIC_OR_PARTITION),
                    triple("no-such-topic", 0, UNKNOWN_TOPIC_OR_PARTITION),
                ],
        "{deleted:?}"
    );
    ensure!(committed(&mut a, &t(), vec![0, 1])? == [-1, 11]);
    // A partition without an offset is answered alike.
    let again = delete(&mut a, &group(), &[(&t(), vec![0, 2])])?;
    ensure!(
        again.error_code == 0 && again.partitions == [triple(&t(), 0, 0), triple(&t(), 2, 0)],
        "{again:?}"
    );

    // A member subscribed to t: t's offsets stay, other's go.
    let member = join_new(&mut a, 10_000)?;
    let joined = join(&mut a, &member)?;
    ensure!(joined.error_code == 0, "{joined:?}");
    let synced = sync(&mut a, joined.generation_id, &member, vec![])?;
    ensure!(synced.error_code == 0, "{synced:?}");
    let refused = delete(&mut a, &group(), &[(&t(), vec![1]), (&other, vec![0])])?;
    ensure!(
        refused.error_code == 0
            && refused.partitions
                == [
                    triple(&t(), 1, error::GROUP_SUBSCRIBED_TO_TOPIC),
                    triple(&other, 0, 0),
                ],
        "{refused:?}"
    );
    ensure!(committed(&mut a, &t(), vec![1])? == [11]);
    ensure!(committed(&mut a, &other, vec![0])? == [-1]);

    // A group of another protocol type, not empty: nothing to decide on.
    let mut c = broker.connect()?;
    let connect_group = harness::launcher::unique("connect");
    let mut request = JoinGroupRequest::new(&connect_group, "", vec![("v1".into(), vec![1])]);
    request.protocol_type = "connect".into();
    let first = groups::decode_join_group_response(
        &c.round_trip(&groups::join_group_request(1, &request))?,
    )?;
    request.member_id = first.member_id.clone();
    let joined = groups::decode_join_group_response(
        &c.round_trip(&groups::join_group_request(1, &request))?,
    )?;
    ensure!(joined.error_code == 0, "{joined:?}");
    let non_empty = delete(&mut c, &connect_group, &[(&t(), vec![0])])?;
    ensure!(
        non_empty.error_code == error::NON_EMPTY_GROUP && non_empty.partitions.is_empty(),
        "{non_empty:?}"
    );

    // Once the member has left, t's offsets may go too.
    a.round_trip(&groups::leave_group_request(
        10,
        &group(),
        &[MemberIdentity::new(&member)],
    ))?;
    let after = delete(&mut a, &group(), &[(&t(), vec![1])])?;
    ensure!(after.partitions == [triple(&t(), 1, 0)], "{after:?}");
    ensure!(committed(&mut a, &t(), vec![1])? == [-1]);

    // A truncated request closes only its own connection.
    let mut bad = broker.connect()?;
    let mut raw = groups::offset_delete_request(22, &group(), &[(&t(), vec![1, 2])]);
    raw.truncate(raw.len() - 3);
    bad.send(&raw)?;
    ensure!(bad.is_closed_by_peer(), "truncated OffsetDelete left open");
    let still = delete(&mut a, &group(), &[(&t(), vec![3])])?;
    ensure!(still.partitions == [triple(&t(), 3, 0)], "{still:?}");
    Ok(())
}
