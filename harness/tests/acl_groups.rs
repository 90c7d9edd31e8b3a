//! ACL authorization of the classic group APIs, as Kafka's KafkaApis checks
//! it: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//! OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups and
//! OffsetDelete,
//! on the secured fixture broker (`allow.everyone.if.no.acl.found=false`,
//! `admin` the super user).

use anyhow::{Context, Result, ensure};
use harness::acls::{operation, resource_type};
use harness::fixture::TopicSpec;
use harness::groups::{
    self, CommitPartition, ConsumerSubscription, JoinGroupRequest, MemberIdentity,
    OffsetCommitRequest, OffsetFetchGroup, SyncGroupRequest, error,
};
use harness::protocol::error::UNKNOWN_TOPIC_OR_PARTITION;
use harness::secured::{self, allow, deny, prefixed};
use harness::wire::uuid;
use harness::{Broker, Client, or_skip};

const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
const ALICE: &str = "User:alice";
/// `DescribedGroup.authorized_operations` when not asked for or denied.
const OPERATIONS_OMITTED: i32 = i32::MIN;

fn start() -> Result<Broker> {
    secured::broker()
        .topics(&[
            TopicSpec::new("t1", uuid(0x51), 2),
            TopicSpec::new("t2", uuid(0x52), 1),
        ])
        .property("group.initial.rebalance.delay.ms", "0")
        .start()
}

fn group_acl(name: &str, op: i8) -> harness::acls::AclBinding {
    allow(resource_type::GROUP, name, ALICE, op)
}

fn topic_acl(name: &str, op: i8) -> harness::acls::AclBinding {
    allow(resource_type::TOPIC, name, ALICE, op)
}

fn join_request(group: &str, member_id: &str) -> JoinGroupRequest {
    let subscription = ConsumerSubscription::new(&["t1"]).encode();
    let mut request = JoinGroupRequest::new(group, member_id, vec![("range".into(), subscription)]);
    request.rebalance_timeout_ms = 10_000;
    request
}

fn join(client: &mut Client, group: &str, member_id: &str) -> Result<groups::JoinGroupResponse> {
    groups::decode_join_group_response(&client.round_trip(&groups::join_group_request(
        1,
        &join_request(group, member_id),
    ))?)
}

fn sync(
    client: &mut Client,
    group: &str,
    generation: i32,
    member_id: &str,
) -> Result<groups::SyncGroupResponse> {
    let request = SyncGroupRequest::new(group, generation, member_id);
    groups::decode_sync_group_response(
        &client.round_trip(&groups::sync_group_request(2, &request))?,
    )
}

fn heartbeat(client: &mut Client, group: &str, generation: i32, member_id: &str) -> Result<i16> {
    let raw = client.round_trip(&groups::heartbeat_request(
        3, group, generation, member_id, None,
    ))?;
    Ok(groups::decode_heartbeat_response(&raw)?.error_code)
}

fn leave(client: &mut Client, group: &str, member_id: &str) -> Result<groups::LeaveGroupResponse> {
    let raw = client.round_trip(&groups::leave_group_request(
        4,
        group,
        &[MemberIdentity::new(member_id)],
    ))?;
    groups::decode_leave_group_response(&raw)
}

/// A standalone commit (generation -1, no member) of offset `offset` to
/// every partition given.
fn commit(
    client: &mut Client,
    group: &str,
    topics: &[(&str, &[i32])],
    offset: i64,
) -> Result<groups::OffsetCommitResponse> {
    let topics = topics
        .iter()
        .map(|(name, partitions)| {
            let partitions = partitions
                .iter()
                .map(|&p| CommitPartition::new(p, offset))
                .collect();
            (name.to_string(), partitions)
        })
        .collect();
    let request = OffsetCommitRequest::standalone(group, topics);
    groups::decode_offset_commit_response(
        &client.round_trip(&groups::offset_commit_request(5, &request))?,
    )
}

/// Every (topic, partition, error code) of a commit response, in order.
fn commit_codes(response: &groups::OffsetCommitResponse) -> Vec<(String, i32, i16)> {
    response
        .topics
        .iter()
        .flat_map(|(name, partitions)| {
            partitions
                .iter()
                .map(move |&(partition, code)| (name.clone(), partition, code))
        })
        .collect()
}

fn fetch_offsets(
    client: &mut Client,
    group: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
) -> Result<groups::OffsetFetchGroupResponse> {
    let request = [OffsetFetchGroup::new(group, topics)];
    let response = groups::decode_offset_fetch_response(
        &client.round_trip(&groups::offset_fetch_request(6, &request, false))?,
    )?;
    ensure!(response.groups.len() == 1, "{response:?}");
    response.group(group).cloned().context("group missing")
}

fn describe(client: &mut Client, names: &[&str]) -> Result<Vec<groups::DescribedGroup>> {
    let raw = client.round_trip(&groups::describe_groups_request(7, names, true))?;
    Ok(groups::decode_describe_groups_response(&raw)?.groups)
}

/// The group ids ListGroups shows, sorted, after checking it has no error.
fn list(client: &mut Client) -> Result<Vec<String>> {
    let response = groups::decode_list_groups_response(
        &client.round_trip(&groups::list_groups_request(8, &[], &[]))?,
    )?;
    ensure!(response.error_code == 0, "{response:?}");
    let mut ids: Vec<String> = response.groups.into_iter().map(|g| g.group_id).collect();
    ids.sort();
    Ok(ids)
}

fn delete(client: &mut Client, names: &[&str]) -> Result<Vec<(String, i16)>> {
    let raw = client.round_trip(&groups::delete_groups_request(9, names))?;
    Ok(groups::decode_delete_groups_response(&raw)?.results)
}

fn find(client: &mut Client, key_type: i8, keys: &[&str]) -> Result<Vec<groups::Coordinator>> {
    let raw = client.round_trip(&groups::find_coordinator_request(10, key_type, keys))?;
    let found = groups::decode_find_coordinator_response(&raw)?.coordinators;
    ensure!(found.len() == keys.len(), "{found:?}");
    Ok(found)
}

#[test]
fn find_coordinator_needs_describe_on_the_group_or_transactional_id() -> Result<()> {
    let broker = or_skip!(start());
    let node = broker.node_id()?;
    let mut alice = secured::login(&broker, "alice")?;

    let found = find(&mut alice, groups::KEY_TYPE_GROUP, &["g"])?;
    ensure!(
        (found[0].error_code, found[0].node_id, found[0].port)
            == (GROUP_AUTHORIZATION_FAILED, -1, -1),
        "{found:?}"
    );
    let found = find(&mut alice, groups::KEY_TYPE_TRANSACTION, &["tx"])?;
    ensure!(
        (found[0].error_code, found[0].node_id) == (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1),
        "{found:?}"
    );

    // READ on the group implies DESCRIBE; each key is checked on its own.
    secured::grant(
        &broker,
        &[
            group_acl("g", operation::READ),
            allow(
                resource_type::TRANSACTIONAL_ID,
                "tx",
                ALICE,
                operation::DESCRIBE,
            ),
        ],
    )?;
    let found = find(&mut alice, groups::KEY_TYPE_GROUP, &["g", "h"])?;
    ensure!(
        (found[0].error_code, found[0].node_id) == (0, node)
            && found[0].port == i32::from(broker.listener_port(secured::SASL_LISTENER))
            && found[1].error_code == GROUP_AUTHORIZATION_FAILED,
        "{found:?}"
    );
    let found = find(&mut alice, groups::KEY_TYPE_TRANSACTION, &["tx", "ty"])?;
    ensure!(
        (found[0].error_code, found[0].node_id) == (0, node)
            && found[1].error_code == TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        "{found:?}"
    );
    Ok(())
}

#[test]
fn join_group_needs_read_on_the_group() -> Result<()> {
    let broker = or_skip!(start());
    let mut alice = secured::login(&broker, "alice")?;
    let denied = join(&mut alice, "g", "")?;
    ensure!(
        (
            denied.error_code,
            denied.generation_id,
            denied.member_id.as_str()
        ) == (GROUP_AUTHORIZATION_FAILED, -1, ""),
        "{denied:?}"
    );
    // DESCRIBE is not enough.
    secured::grant(&broker, &[group_acl("g", operation::DESCRIBE)])?;
    let denied = join(&mut alice, "g", "")?;
    ensure!(
        denied.error_code == GROUP_AUTHORIZATION_FAILED,
        "{denied:?}"
    );

    secured::grant(&broker, &[group_acl("g", operation::READ)])?;
    let first = join(&mut alice, "g", "")?;
    ensure!(
        first.error_code == error::MEMBER_ID_REQUIRED && !first.member_id.is_empty(),
        "{first:?}"
    );
    let joined = join(&mut alice, "g", &first.member_id)?;
    ensure!(
        joined.error_code == 0 && joined.generation_id == 1,
        "{joined:?}"
    );
    Ok(())
}

#[test]
fn sync_heartbeat_and_leave_need_read_on_the_group() -> Result<()> {
    let broker = or_skip!(start());
    let mut alice = secured::login(&broker, "alice")?;
    // The member of the super user, whom alice's requests name.
    let mut admin = secured::login(&broker, "admin")?;
    let member = join(&mut admin, "g", "")?.member_id;
    let joined = join(&mut admin, "g", &member)?;
    ensure!(joined.error_code == 0, "{joined:?}");
    let generation = joined.generation_id;
    ensure!(sync(&mut admin, "g", generation, &member)?.error_code == 0);

    let synced = sync(&mut alice, "g", generation, &member)?;
    ensure!(
        synced.error_code == GROUP_AUTHORIZATION_FAILED,
        "{synced:?}"
    );
    ensure!(heartbeat(&mut alice, "g", generation, &member)? == GROUP_AUTHORIZATION_FAILED);
    let left = leave(&mut alice, "g", &member)?;
    ensure!(
        left.error_code == GROUP_AUTHORIZATION_FAILED && left.members.is_empty(),
        "{left:?}"
    );
    // The member is still there.
    ensure!(heartbeat(&mut admin, "g", generation, &member)? == 0);

    secured::grant(&broker, &[group_acl("g", operation::READ)])?;
    let synced = sync(&mut alice, "g", generation, &member)?;
    ensure!(synced.error_code == 0, "{synced:?}");
    ensure!(heartbeat(&mut alice, "g", generation, &member)? == 0);
    let left = leave(&mut alice, "g", &member)?;
    ensure!(
        left.error_code == 0 && left.members.len() == 1 && left.members[0].error_code == 0,
        "{left:?}"
    );
    ensure!(heartbeat(&mut admin, "g", generation, &member)? == error::UNKNOWN_MEMBER_ID);
    Ok(())
}

#[test]
fn offset_commit_needs_read_on_the_group_and_each_topic() -> Result<()> {
    let broker = or_skip!(start());
    let mut alice = secured::login(&broker, "alice")?;
    let request: &[(&str, &[i32])] = &[("t1", &[0, 1]), ("t2", &[0]), ("nope", &[0])];

    let codes = commit_codes(&commit(&mut alice, "g", request, 5)?);
    ensure!(
        codes.len() == 4 && codes.iter().all(|c| c.2 == GROUP_AUTHORIZATION_FAILED),
        "{codes:?}"
    );

    // The group alone: every topic fails, the unknown one too (topic ACLs
    // are checked first).
    secured::grant(&broker, &[group_acl("g", operation::READ)])?;
    let codes = commit_codes(&commit(&mut alice, "g", request, 5)?);
    ensure!(
        codes.len() == 4 && codes.iter().all(|c| c.2 == TOPIC_AUTHORIZATION_FAILED),
        "{codes:?}"
    );

    secured::grant(
        &broker,
        &[
            topic_acl("t1", operation::READ),
            topic_acl("nope", operation::READ),
        ],
    )?;
    let codes = commit_codes(&commit(&mut alice, "g", request, 5)?);
    let expected = [
        ("t1".to_string(), 0, 0),
        ("t1".to_string(), 1, 0),
        ("t2".to_string(), 0, TOPIC_AUTHORIZATION_FAILED),
        ("nope".to_string(), 0, UNKNOWN_TOPIC_OR_PARTITION),
    ];
    ensure!(codes == expected, "{codes:?}");

    // Only t1's offsets were stored.
    let mut admin = secured::login(&broker, "admin")?;
    let fetched = fetch_offsets(&mut admin, "g", None)?;
    let stored: Vec<(&str, i32, i64)> = fetched
        .topics
        .iter()
        .flat_map(|(name, ps)| {
            ps.iter()
                .map(move |p| (name.as_str(), p.partition_index, p.committed_offset))
        })
        .collect();
    ensure!(stored == [("t1", 0, 5), ("t1", 1, 5)], "{fetched:?}");
    Ok(())
}

#[test]
fn offset_fetch_needs_describe_and_hides_undescribable_topics() -> Result<()> {
    let broker = or_skip!(start());
    let mut admin = secured::login(&broker, "admin")?;
    let codes = commit_codes(&commit(&mut admin, "g", &[("t1", &[0]), ("t2", &[0])], 7)?);
    ensure!(codes.iter().all(|c| c.2 == 0), "{codes:?}");
    let mut alice = secured::login(&broker, "alice")?;
    let both = || {
        Some(vec![
            ("t1".to_string(), vec![0]),
            ("t2".to_string(), vec![0]),
        ])
    };

    let denied = fetch_offsets(&mut alice, "g", None)?;
    ensure!(
        denied.error_code == GROUP_AUTHORIZATION_FAILED && denied.topics.is_empty(),
        "{denied:?}"
    );
    let denied = fetch_offsets(&mut alice, "g", both())?;
    ensure!(
        denied.error_code == GROUP_AUTHORIZATION_FAILED && denied.topics.is_empty(),
        "{denied:?}"
    );

    secured::grant(
        &broker,
        &[
            group_acl("g", operation::DESCRIBE),
            topic_acl("t1", operation::DESCRIBE),
        ],
    )?;
    // All topics: t2 is left out without an error.
    let all = fetch_offsets(&mut alice, "g", None)?;
    ensure!(all.error_code == 0, "{all:?}");
    let names: Vec<&str> = all.topics.iter().map(|(n, _)| n.as_str()).collect();
    ensure!(names == ["t1"], "{all:?}");
    ensure!(
        all.partition("t1", 0)
            .map(|p| (p.committed_offset, p.error_code))
            == Some((7, 0)),
        "{all:?}"
    );
    // Named topics: t2's partition fails.
    let named = fetch_offsets(&mut alice, "g", both())?;
    ensure!(named.error_code == 0, "{named:?}");
    let t1 = named.partition("t1", 0).context("t1-0")?;
    let t2 = named.partition("t2", 0).context("t2-0")?;
    ensure!(
        (t1.committed_offset, t1.error_code) == (7, 0)
            && (t2.committed_offset, t2.error_code) == (-1, TOPIC_AUTHORIZATION_FAILED),
        "{named:?}"
    );
    // The super user sees everything.
    let all = fetch_offsets(&mut admin, "g", None)?;
    ensure!(all.topics.len() == 2, "{all:?}");
    Ok(())
}

#[test]
fn describe_groups_checks_each_group_and_reports_authorized_operations() -> Result<()> {
    let broker = or_skip!(start());
    let mut admin = secured::login(&broker, "admin")?;
    commit(&mut admin, "g", &[("t1", &[0])], 1)?;
    commit(&mut admin, "h", &[("t1", &[0])], 1)?;
    let mut alice = secured::login(&broker, "alice")?;

    let denied = describe(&mut alice, &["g"])?;
    ensure!(
        denied.len() == 1
            && denied[0].group_id == "g"
            && denied[0].error_code == GROUP_AUTHORIZATION_FAILED
            && denied[0].group_state.is_empty()
            && denied[0].authorized_operations == OPERATIONS_OMITTED,
        "{denied:?}"
    );

    secured::grant(&broker, &[group_acl("g", operation::READ)])?;
    let described = describe(&mut alice, &["h", "g"])?;
    // The denied groups come first, as in Kafka.
    ensure!(described.len() == 2, "{described:?}");
    let (h, g) = (&described[0], &described[1]);
    ensure!(
        h.group_id == "h" && h.error_code == GROUP_AUTHORIZATION_FAILED,
        "{described:?}"
    );
    ensure!(
        g.group_id == "g"
            && g.error_code == 0
            && g.group_state == "Empty"
            && g.authorized_operations == (1 << operation::READ) | (1 << operation::DESCRIBE),
        "{described:?}"
    );
    // The super user may do everything Kafka supports on a group.
    let all = describe(&mut admin, &["g"])?;
    let expected = [
        operation::READ,
        operation::DELETE,
        operation::DESCRIBE,
        operation::DESCRIBE_CONFIGS,
        operation::ALTER_CONFIGS,
    ]
    .iter()
    .fold(0, |bits, op| bits | 1 << op);
    ensure!(all[0].authorized_operations == expected, "{all:?}");
    Ok(())
}

#[test]
fn list_groups_shows_only_describable_groups_unless_cluster_describe() -> Result<()> {
    let broker = or_skip!(start());
    let mut admin = secured::login(&broker, "admin")?;
    for group in ["g1", "g2", "other"] {
        commit(&mut admin, group, &[("t1", &[0])], 1)?;
    }
    let mut alice = secured::login(&broker, "alice")?;
    ensure!(list(&mut alice)?.is_empty());
    ensure!(list(&mut admin)? == ["g1", "g2", "other"]);

    // DELETE implies DESCRIBE; DESCRIBE_CONFIGS does not.
    secured::grant(
        &broker,
        &[
            group_acl("g1", operation::DESCRIBE),
            group_acl("g2", operation::DELETE),
            group_acl("other", operation::DESCRIBE_CONFIGS),
        ],
    )?;
    ensure!(list(&mut alice)? == ["g1", "g2"]);

    // DESCRIBE on the cluster lists every group.
    secured::grant(
        &broker,
        &[allow(
            resource_type::CLUSTER,
            "kafka-cluster",
            "User:bob",
            operation::DESCRIBE,
        )],
    )?;
    let mut bob = secured::login(&broker, "bob")?;
    ensure!(list(&mut bob)? == ["g1", "g2", "other"]);
    Ok(())
}

#[test]
fn delete_groups_needs_delete_on_each_group() -> Result<()> {
    let broker = or_skip!(start());
    let mut admin = secured::login(&broker, "admin")?;
    commit(&mut admin, "g", &[("t1", &[0])], 1)?;
    commit(&mut admin, "h", &[("t1", &[0])], 1)?;
    let mut alice = secured::login(&broker, "alice")?;

    let results = delete(&mut alice, &["g"])?;
    ensure!(
        results == [("g".to_string(), GROUP_AUTHORIZATION_FAILED)],
        "{results:?}"
    );
    ensure!(list(&mut admin)? == ["g", "h"]);

    // READ does not allow deleting; each group is answered once, the
    // denied ones last.
    secured::grant(
        &broker,
        &[
            group_acl("g", operation::DELETE),
            group_acl("h", operation::READ),
        ],
    )?;
    let results = delete(&mut alice, &["h", "g", "g"])?;
    ensure!(
        results
            == [
                ("g".to_string(), 0),
                ("h".to_string(), GROUP_AUTHORIZATION_FAILED)
            ],
        "{results:?}"
    );
    ensure!(list(&mut admin)? == ["h"]);
    Ok(())
}

/// OffsetDelete: DELETE on the group, or the whole request fails; READ
/// on each topic, or its partitions fail.
#[test]
fn offset_delete_needs_delete_on_the_group_and_read_on_each_topic() -> Result<()> {
    let broker = or_skip!(start());
    let mut admin = secured::login(&broker, "admin")?;
    commit(&mut admin, "g", &[("t1", &[0, 1]), ("t2", &[0])], 1)?;
    let mut alice = secured::login(&broker, "alice")?;
    let delete = |c: &mut Client, topics: &[(&str, Vec<i32>)]| {
        groups::decode_offset_delete_response(
            &c.round_trip(&groups::offset_delete_request(7, "g", topics))?,
        )
    };
    let triple = |topic: &str, partition: i32, code: i16| (topic.to_string(), partition, code);

    // READ on the group is not enough.
    secured::grant(
        &broker,
        &[
            group_acl("g", operation::READ),
            topic_acl("t1", operation::READ),
        ],
    )?;
    let denied = delete(&mut alice, &[("t1", vec![0])])?;
    ensure!(
        denied.error_code == GROUP_AUTHORIZATION_FAILED && denied.partitions.is_empty(),
        "{denied:?}"
    );

    // DELETE on the group: t1 (READ) goes, t2 (no ACL) and an unknown
    // topic (no ACL either) fail as unauthorized.
    secured::grant(&broker, &[group_acl("g", operation::DELETE)])?;
    let partly = delete(
        &mut alice,
        &[("t1", vec![0]), ("t2", vec![0]), ("nope", vec![0])],
    )?;
    ensure!(
        partly.error_code == 0
            && partly.partitions
                == [
                    triple("t1", 0, 0),
                    triple("t2", 0, TOPIC_AUTHORIZATION_FAILED),
                    triple("nope", 0, TOPIC_AUTHORIZATION_FAILED),
                ],
        "{partly:?}"
    );
    let offsets = fetch_offsets(&mut admin, "g", None)?;
    let left: Vec<(String, i32)> = offsets
        .topics
        .iter()
        .flat_map(|(name, partitions)| {
            partitions
                .iter()
                .map(move |p| (name.clone(), p.partition_index))
        })
        .collect();
    ensure!(
        left == [("t1".to_string(), 1), ("t2".to_string(), 0)],
        "{offsets:?}"
    );
    Ok(())
}

#[test]
fn a_deny_beats_an_allow() -> Result<()> {
    let broker = or_skip!(start());
    let mut alice = secured::login(&broker, "alice")?;
    secured::grant(
        &broker,
        &[
            allow(resource_type::GROUP, "g", "User:*", operation::ALL),
            deny(resource_type::GROUP, "g", ALICE, operation::READ),
        ],
    )?;
    let denied = join(&mut alice, "g", "")?;
    ensure!(
        denied.error_code == GROUP_AUTHORIZATION_FAILED,
        "{denied:?}"
    );
    let codes = commit_codes(&commit(&mut alice, "g", &[("t1", &[0])], 1)?);
    ensure!(
        codes == [("t1".to_string(), 0, GROUP_AUTHORIZATION_FAILED)],
        "{codes:?}"
    );
    // A denied READ leaves DESCRIBE, which the ALLOW of ALL grants.
    let described = describe(&mut alice, &["g"])?;
    ensure!(
        described[0].error_code == 0
            && described[0].authorized_operations & (1 << operation::READ) == 0
            && described[0].authorized_operations & (1 << operation::DESCRIBE) != 0,
        "{described:?}"
    );
    // bob is not denied.
    let mut bob = secured::login(&broker, "bob")?;
    let first = join(&mut bob, "g", "")?;
    ensure!(first.error_code == error::MEMBER_ID_REQUIRED, "{first:?}");
    Ok(())
}

#[test]
fn a_prefixed_group_acl_covers_the_groups_it_prefixes() -> Result<()> {
    let broker = or_skip!(start());
    let mut alice = secured::login(&broker, "alice")?;
    secured::grant(&broker, &[prefixed(group_acl("team-", operation::READ))])?;
    let first = join(&mut alice, "team-a", "")?;
    ensure!(first.error_code == error::MEMBER_ID_REQUIRED, "{first:?}");
    let found = find(
        &mut alice,
        groups::KEY_TYPE_GROUP,
        &["team-b", "team", "other"],
    )?;
    let codes: Vec<i16> = found.iter().map(|c| c.error_code).collect();
    ensure!(
        codes == [0, GROUP_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED],
        "{found:?}"
    );
    let denied = join(&mut alice, "other", "")?;
    ensure!(
        denied.error_code == GROUP_AUTHORIZATION_FAILED,
        "{denied:?}"
    );
    Ok(())
}
