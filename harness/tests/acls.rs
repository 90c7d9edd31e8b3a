//! ACL authorization on the wire, as Kafka's StandardAuthorizer decides:
//! CreateAcls, DescribeAcls and DeleteAcls (who may use them, what they
//! refuse, filters, the `AccessControlEntryRecord`s they leave in the
//! metadata log and their survival across restarts), and each rule on the
//! topic and cluster APIs: literal, wildcard and prefixed patterns, deny
//! beating allow, implied DESCRIBE, principal and host filters, super
//! users, `allow.everyone.if.no.acl.found`, and what Produce, Fetch,
//! ListOffsets, Metadata, the topic admin APIs and the config APIs answer
//! when they are denied.

use anyhow::{Result, ensure};
use harness::acls::{
    self, AclBinding, AclFilter, error as acl_error, operation, pattern_type, permission_type,
    resource_type,
};
use harness::admin::{self, CreatableTopic, CreatePartitionsTopic, ListOffsetsPartitionRequest};
use harness::batch::RecordBatch;
use harness::fixture::TopicSpec;
use harness::launcher::{broker_binary, own_broker_only};
use harness::metadata_log::{self, MetadataRecord};
use harness::protocol::{self, FetchPartitionRequest, FetchRequest};
use harness::secured::{self, allow, deny, grant, login, prefixed};
use harness::wire::{Uuid, uuid};
use harness::{Broker, Client, or_skip};
use std::collections::BTreeSet;

const SUITE: &str = "ACL tests configure the harness's own broker";

const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

const ORDERS: Uuid = uuid(0x0a);
const PAYMENTS: Uuid = uuid(0x0b);
const PAYROLL: Uuid = uuid(0x0c);

fn topics() -> Vec<TopicSpec> {
    vec![
        TopicSpec::new("orders", ORDERS, 2),
        TopicSpec::new("payments", PAYMENTS, 1),
        TopicSpec::new("payroll", PAYROLL, 1),
    ]
}

fn start(extra: &[(&str, &str)]) -> Result<Broker> {
    secured::broker()
        .topics(&topics())
        .properties(extra)
        .start()
}

const ALICE: &str = "User:alice";

fn cluster(principal: &str, op: i8) -> AclBinding {
    allow(resource_type::CLUSTER, "kafka-cluster", principal, op)
}

fn describe_acls(client: &mut Client, filter: &AclFilter) -> Result<acls::DescribeAclsResponse> {
    let raw = client.round_trip(&acls::describe_acls_request(3, 11, filter))?;
    let response = acls::decode_describe_acls_response(&raw, 3)?;
    protocol::ensure_correlation(response.correlation_id, 11)?;
    Ok(response)
}

fn create_acls(client: &mut Client, bindings: &[AclBinding]) -> Result<Vec<i16>> {
    let raw = client.round_trip(&acls::create_acls_request(2, 12, bindings))?;
    let response = acls::decode_create_acls_response(&raw, 2)?;
    protocol::ensure_correlation(response.correlation_id, 12)?;
    Ok(response.results.iter().map(|(code, _)| *code).collect())
}

fn delete_acls(client: &mut Client, filters: &[AclFilter]) -> Result<acls::DeleteAclsResponse> {
    let raw = client.round_trip(&acls::delete_acls_request(1, 13, filters))?;
    let response = acls::decode_delete_acls_response(&raw, 1)?;
    protocol::ensure_correlation(response.correlation_id, 13)?;
    Ok(response)
}

fn all_acls(client: &mut Client) -> Result<BTreeSet<AclBinding>> {
    let described = describe_acls(client, &AclFilter::any())?;
    ensure!(described.error_code == 0, "{described:?}");
    Ok(described.acls.into_iter().collect())
}

/// Produces one batch to `topic`-`partition`: the partition's error code.
fn produce(client: &mut Client, topic: &str, partition: i32) -> Result<i16> {
    let batch = RecordBatch::of_values(&["v"]).encode();
    let raw = client.round_trip(&protocol::produce_request_v11(
        21,
        -1,
        &[(topic.to_string(), vec![(partition, Some(batch))])],
    ))?;
    let response = protocol::decode_produce_response_v11(&raw)?;
    let partition = response
        .partition(topic, partition)
        .ok_or_else(|| anyhow::anyhow!("no answer for {topic}: {response:?}"))?;
    Ok(partition.error_code)
}

/// Fetches partition 0 of the topic with `id` from offset 0: its error code.
fn fetch(client: &mut Client, id: Uuid) -> Result<i16> {
    let request = FetchRequest::new(vec![(id, vec![FetchPartitionRequest::new(0, 0)])]);
    let raw = client.round_trip(&request.encode_v16(22))?;
    let response = protocol::decode_fetch_response_v16(&raw)?;
    let partition = response
        .responses
        .iter()
        .find(|(topic, _)| *topic == id)
        .and_then(|(_, partitions)| partitions.first())
        .ok_or_else(|| anyhow::anyhow!("no answer: {response:?}"))?;
    Ok(partition.error_code)
}

fn offset_for_leader_epoch(client: &mut Client, topic: &str) -> Result<i16> {
    let query = admin::EpochQuery {
        partition: 0,
        current_leader_epoch: -1,
        leader_epoch: 0,
    };
    let raw = client.round_trip(&admin::offset_for_leader_epoch_request(
        24,
        &[(topic, vec![query])],
    ))?;
    let response = admin::decode_offset_for_leader_epoch_response(&raw)?;
    Ok(response
        .topics
        .first()
        .and_then(|(_, partitions)| partitions.first())
        .ok_or_else(|| anyhow::anyhow!("no answer: {response:?}"))?
        .error_code)
}

fn list_offsets(client: &mut Client, topic: &str) -> Result<i16> {
    let raw = client.round_trip(&admin::list_offsets_request(
        23,
        0,
        &[(topic, vec![ListOffsetsPartitionRequest::new(0, -1)])],
    ))?;
    let response = admin::decode_list_offsets_response(&raw)?;
    Ok(response
        .partition(topic, 0)
        .ok_or_else(|| anyhow::anyhow!("no answer: {response:?}"))?
        .error_code)
}

fn metadata(
    client: &mut Client,
    topics: Option<&[&str]>,
    auto_create: bool,
) -> Result<admin::MetadataResponse> {
    let raw = client.round_trip(&admin::metadata_request(24, topics, auto_create, true))?;
    admin::decode_metadata_response(&raw)
}

fn names(response: &admin::MetadataResponse) -> Vec<String> {
    response
        .topics
        .iter()
        .filter(|t| t.error_code == 0)
        .filter_map(|t| t.name.clone())
        .collect()
}

fn bits(ops: &[i8]) -> i32 {
    ops.iter().fold(0, |bits, op| bits | 1 << op)
}

#[test]
fn acl_apis_without_an_authorizer_answer_security_disabled() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = Broker::builder().start()?;
    let mut client = broker.connect()?;
    let acl = allow(resource_type::TOPIC, "t", ALICE, operation::READ);
    ensure!(create_acls(&mut client, &[acl])? == [acl_error::SECURITY_DISABLED]);
    ensure!(
        describe_acls(&mut client, &AclFilter::any())?.error_code == acl_error::SECURITY_DISABLED
    );
    let deleted = delete_acls(&mut client, &[AclFilter::any()])?;
    ensure!(deleted.filter_results.len() == 1);
    ensure!(deleted.filter_results[0].error_code == acl_error::SECURITY_DISABLED);
    // And every other API stays open.
    let mut alice = client;
    ensure!(metadata(&mut alice, None, false)?.error_free());
    Ok(())
}

trait ErrorFree {
    fn error_free(&self) -> bool;
}

impl ErrorFree for admin::MetadataResponse {
    fn error_free(&self) -> bool {
        self.topics.iter().all(|t| t.error_code == 0)
    }
}

#[test]
fn only_principals_allowed_on_the_cluster_manage_acls() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    let mut alice = login(&broker, "alice")?;
    let acl = allow(resource_type::TOPIC, "orders", ALICE, operation::READ);
    ensure!(create_acls(&mut alice, std::slice::from_ref(&acl))? == [CLUSTER_AUTHORIZATION_FAILED]);
    ensure!(
        describe_acls(&mut alice, &AclFilter::any())?.error_code == CLUSTER_AUTHORIZATION_FAILED
    );
    let deleted = delete_acls(&mut alice, &[AclFilter::any()])?;
    ensure!(deleted.filter_results[0].error_code == CLUSTER_AUTHORIZATION_FAILED);
    // Nothing was created by the refused request.
    ensure!(all_acls(&mut login(&broker, "admin")?)?.is_empty());

    // ALTER on the cluster lets her create and delete them, and implies
    // the DESCRIBE that DescribeAcls needs.
    grant(&broker, &[cluster(ALICE, operation::ALTER)])?;
    ensure!(create_acls(&mut alice, std::slice::from_ref(&acl))? == [0]);
    let described = describe_acls(&mut alice, &AclFilter::any())?;
    ensure!(described.error_code == 0, "{described:?}");
    ensure!(described.acls.contains(&acl));
    Ok(())
}

#[test]
fn acls_are_created_described_and_deleted_by_filter() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    let mut admin = login(&broker, "admin")?;
    let literal = allow(resource_type::TOPIC, "payments", ALICE, operation::READ);
    let prefix = prefixed(allow(
        resource_type::TOPIC,
        "pay",
        "User:bob",
        operation::WRITE,
    ));
    let wildcard = allow(resource_type::TOPIC, "*", "User:*", operation::DESCRIBE);
    let group = deny(resource_type::GROUP, "g", ALICE, operation::ALL);
    // The same ACL twice in one request, and again later: one ACL.
    let created = create_acls(
        &mut admin,
        &[
            literal.clone(),
            prefix.clone(),
            wildcard.clone(),
            group.clone(),
            literal.clone(),
        ],
    )?;
    ensure!(created == [0; 5], "{created:?}");
    ensure!(create_acls(&mut admin, std::slice::from_ref(&literal))? == [0]);
    let expected: BTreeSet<AclBinding> = [
        literal.clone(),
        prefix.clone(),
        wildcard.clone(),
        group.clone(),
    ]
    .into();
    ensure!(all_acls(&mut admin)? == expected);

    // MATCH: every ACL that applies to the topic "payments".
    let matching = AclFilter {
        resource_type: resource_type::TOPIC,
        resource_name: Some("payments".into()),
        pattern_type: pattern_type::MATCH,
        ..AclFilter::any()
    };
    let found: BTreeSet<AclBinding> = describe_acls(&mut admin, &matching)?
        .acls
        .into_iter()
        .collect();
    ensure!(
        found == [literal.clone(), prefix.clone(), wildcard.clone()].into(),
        "{found:?}"
    );
    // A literal filter on a name is that pattern only.
    let exact = AclFilter {
        resource_name: Some("pay".into()),
        ..AclFilter::any()
    };
    ensure!(describe_acls(&mut admin, &exact)?.acls == std::slice::from_ref(&prefix));
    // By principal and permission.
    let by_alice = AclFilter {
        principal: Some(ALICE.into()),
        permission_type: permission_type::DENY,
        ..AclFilter::any()
    };
    ensure!(describe_acls(&mut admin, &by_alice)?.acls == std::slice::from_ref(&group));

    // Two filters, one matching nothing: each answers its own matches.
    let nothing = AclFilter {
        host: Some("10.1.2.3".into()),
        ..AclFilter::any()
    };
    let deleted = delete_acls(&mut admin, &[AclFilter::from(&prefix), nothing, by_alice])?;
    ensure!(deleted.filter_results.len() == 3);
    let matched: Vec<Vec<AclBinding>> = deleted
        .filter_results
        .iter()
        .map(|r| r.matching_acls.iter().map(|m| m.acl.clone()).collect())
        .collect();
    ensure!(
        matched == [vec![prefix], vec![], vec![group]],
        "{matched:?}"
    );
    ensure!(all_acls(&mut admin)? == [literal, wildcard].into());
    Ok(())
}

#[test]
fn invalid_acls_are_refused_each_on_its_own() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    let mut admin = login(&broker, "admin")?;
    let good = allow(resource_type::TOPIC, "orders", ALICE, operation::READ);
    let bad = [
        allow(
            resource_type::CLUSTER,
            "my-cluster",
            ALICE,
            operation::ALTER,
        ),
        allow(resource_type::TOPIC, "", ALICE, operation::READ),
        AclBinding {
            pattern_type: pattern_type::MATCH,
            ..good.clone()
        },
        AclBinding {
            resource_type: resource_type::ANY,
            ..good.clone()
        },
        AclBinding {
            operation: operation::ANY,
            ..good.clone()
        },
        AclBinding {
            permission_type: permission_type::ANY,
            ..good.clone()
        },
        AclBinding {
            principal: "alice".into(),
            ..good.clone()
        },
    ];
    let mut request = bad.to_vec();
    request.push(good.clone());
    let results = create_acls(&mut admin, &request)?;
    let mut expected = vec![acl_error::INVALID_REQUEST; bad.len()];
    expected.push(0);
    ensure!(results == expected, "{results:?}");
    ensure!(all_acls(&mut admin)? == [good].into());
    // A filter with an UNKNOWN element is refused too.
    let unknown = AclFilter {
        operation: operation::UNKNOWN,
        ..AclFilter::any()
    };
    ensure!(describe_acls(&mut admin, &unknown)?.error_code == acl_error::INVALID_REQUEST);
    let deleted = delete_acls(&mut admin, &[unknown])?;
    ensure!(deleted.filter_results[0].error_code == acl_error::INVALID_REQUEST);
    Ok(())
}

#[test]
fn acls_are_metadata_records_that_survive_restarts() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let mut broker = start(&[])?;
    let kept = allow(resource_type::TOPIC, "orders", ALICE, operation::WRITE);
    let removed = prefixed(allow(resource_type::GROUP, "app-", ALICE, operation::READ));
    grant(&broker, &[kept.clone(), removed.clone()])?;
    let deleted = delete_acls(&mut login(&broker, "admin")?, &[AclFilter::from(&removed)])?;
    ensure!(deleted.filter_results[0].matching_acls.len() == 1);

    // The harness reads the metadata log itself: one entry record per ACL
    // and a removal naming the removed one's id.
    let records = metadata_log::read(broker.log_dir())?;
    let entries: Vec<(Uuid, AclBinding)> = records
        .iter()
        .filter_map(|r| match &r.record {
            MetadataRecord::AccessControlEntry {
                id,
                resource_type,
                resource_name,
                pattern_type,
                principal,
                host,
                operation,
                permission_type,
            } => Some((
                *id,
                AclBinding {
                    resource_type: *resource_type,
                    resource_name: resource_name.clone(),
                    pattern_type: *pattern_type,
                    principal: principal.clone(),
                    host: host.clone(),
                    operation: *operation,
                    permission_type: *permission_type,
                },
            )),
            _ => None,
        })
        .collect();
    ensure!(entries.len() == 2, "{entries:?}");
    let removals: Vec<Uuid> = records
        .iter()
        .filter_map(|r| match &r.record {
            MetadataRecord::RemoveAccessControlEntry { id } => Some(*id),
            _ => None,
        })
        .collect();
    let removed_id = entries
        .iter()
        .find(|(_, acl)| *acl == removed)
        .map(|(id, _)| *id);
    ensure!(
        removals.len() == 1 && Some(removals[0]) == removed_id,
        "{removals:?}"
    );

    for restart in ["clean", "kill"] {
        if restart == "kill" {
            broker.kill();
            broker.start_again()?;
        } else {
            broker.restart()?;
        }
        ensure!(
            all_acls(&mut login(&broker, "admin")?)? == [kept.clone()].into(),
            "after a {restart} restart"
        );
        // And it still decides: alice may write to orders, not elsewhere.
        let mut alice = login(&broker, "alice")?;
        ensure!(produce(&mut alice, "orders", 0)? == 0);
        ensure!(produce(&mut alice, "payments", 0)? == TOPIC_AUTHORIZATION_FAILED);
    }
    Ok(())
}

#[test]
fn produce_fetch_and_list_offsets_need_write_read_and_describe() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    let mut alice = login(&broker, "alice")?;
    ensure!(produce(&mut alice, "orders", 0)? == TOPIC_AUTHORIZATION_FAILED);
    ensure!(fetch(&mut alice, ORDERS)? == TOPIC_AUTHORIZATION_FAILED);
    ensure!(list_offsets(&mut alice, "orders")? == TOPIC_AUTHORIZATION_FAILED);
    ensure!(offset_for_leader_epoch(&mut alice, "orders")? == TOPIC_AUTHORIZATION_FAILED);
    // A topic that does not exist is not disclosed without DESCRIBE.
    ensure!(produce(&mut alice, "nowhere", 0)? == TOPIC_AUTHORIZATION_FAILED);

    grant(
        &broker,
        &[allow(
            resource_type::TOPIC,
            "orders",
            ALICE,
            operation::WRITE,
        )],
    )?;
    ensure!(produce(&mut alice, "orders", 0)? == 0);
    ensure!(produce(&mut alice, "orders", 1)? == 0);
    // WRITE implies DESCRIBE, not READ.
    ensure!(list_offsets(&mut alice, "orders")? == 0);
    ensure!(offset_for_leader_epoch(&mut alice, "orders")? == 0);
    ensure!(fetch(&mut alice, ORDERS)? == TOPIC_AUTHORIZATION_FAILED);
    // CLUSTER_ACTION on the cluster (a follower's right) answers for every
    // topic, as in Kafka.
    ensure!(offset_for_leader_epoch(&mut alice, "payments")? == TOPIC_AUTHORIZATION_FAILED);
    grant(&broker, &[cluster(ALICE, operation::CLUSTER_ACTION)])?;
    ensure!(offset_for_leader_epoch(&mut alice, "payments")? == 0);

    grant(
        &broker,
        &[allow(
            resource_type::TOPIC,
            "orders",
            ALICE,
            operation::READ,
        )],
    )?;
    ensure!(fetch(&mut alice, ORDERS)? == 0);
    // Others are still refused, and an unknown topic with an ACL on it is
    // reported as unknown.
    ensure!(fetch(&mut alice, PAYMENTS)? == TOPIC_AUTHORIZATION_FAILED);
    grant(
        &broker,
        &[allow(
            resource_type::TOPIC,
            "nowhere",
            ALICE,
            operation::WRITE,
        )],
    )?;
    ensure!(produce(&mut alice, "nowhere", 0)? == UNKNOWN_TOPIC_OR_PARTITION);
    Ok(())
}

#[test]
fn a_deny_beats_an_allow_and_prefixes_match_names_that_start_with_them() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    grant(
        &broker,
        &[
            prefixed(allow(resource_type::TOPIC, "pay", ALICE, operation::WRITE)),
            deny(resource_type::TOPIC, "payroll", "User:*", operation::WRITE),
        ],
    )?;
    let mut alice = login(&broker, "alice")?;
    ensure!(produce(&mut alice, "payments", 0)? == 0);
    ensure!(produce(&mut alice, "payroll", 0)? == TOPIC_AUTHORIZATION_FAILED);
    ensure!(produce(&mut alice, "orders", 0)? == TOPIC_AUTHORIZATION_FAILED);
    // The deny is of WRITE only: payroll is still described (the allowed
    // prefixed WRITE implies DESCRIBE).
    ensure!(list_offsets(&mut alice, "payroll")? == 0);
    // A DENY of ALL on a prefix takes everything under it.
    grant(
        &broker,
        &[prefixed(deny(
            resource_type::TOPIC,
            "paym",
            ALICE,
            operation::ALL,
        ))],
    )?;
    ensure!(produce(&mut alice, "payments", 0)? == TOPIC_AUTHORIZATION_FAILED);
    ensure!(list_offsets(&mut alice, "payments")? == TOPIC_AUTHORIZATION_FAILED);
    Ok(())
}

#[test]
fn metadata_hides_topics_one_may_not_describe() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    grant(
        &broker,
        &[
            allow(resource_type::TOPIC, "orders", ALICE, operation::READ),
            allow(
                resource_type::TOPIC,
                "payments",
                ALICE,
                operation::DESCRIBE_CONFIGS,
            ),
        ],
    )?;
    let mut alice = login(&broker, "alice")?;
    let all = metadata(&mut alice, None, false)?;
    ensure!(names(&all) == ["orders"], "{all:?}");
    let orders = all
        .topic("orders")
        .ok_or_else(|| anyhow::anyhow!("no orders"))?;
    ensure!(
        orders.topic_authorized_operations == bits(&[operation::READ, operation::DESCRIBE]),
        "{:#x}",
        orders.topic_authorized_operations
    );
    // Named: refused without saying whether it exists, and without its id.
    let named = metadata(&mut alice, Some(&["payments", "nowhere"]), false)?;
    for name in ["payments", "nowhere"] {
        let topic = named
            .topic(name)
            .ok_or_else(|| anyhow::anyhow!("no {name}"))?;
        ensure!(topic.error_code == TOPIC_AUTHORIZATION_FAILED, "{topic:?}");
        ensure!(topic.topic_id == Uuid::default() && topic.partitions.is_empty());
    }
    // By id: the id is no secret, the name is.
    let raw = alice.round_trip(&admin::metadata_request_by_id(25, &[PAYMENTS], false))?;
    let by_id = admin::decode_metadata_response(&raw)?;
    ensure!(by_id.topics.len() == 1, "{by_id:?}");
    ensure!(by_id.topics[0].error_code == TOPIC_AUTHORIZATION_FAILED);
    ensure!(by_id.topics[0].topic_id == PAYMENTS && by_id.topics[0].name.is_none());
    // The super user sees everything, with every operation.
    let everything = metadata(&mut login(&broker, "admin")?, None, false)?;
    ensure!(names(&everything) == ["orders", "payments", "payroll"]);
    ensure!(
        everything
            .topics
            .iter()
            .all(|t| t.topic_authorized_operations == 0x0df8)
    );
    Ok(())
}

#[test]
fn auto_creation_needs_create_on_the_topic_or_the_cluster() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    grant(
        &broker,
        &[prefixed(allow(
            resource_type::TOPIC,
            "auto-",
            ALICE,
            operation::DESCRIBE,
        ))],
    )?;
    let mut alice = login(&broker, "alice")?;
    let refused = metadata(&mut alice, Some(&["auto-a"]), true)?;
    ensure!(
        refused.topics[0].error_code == TOPIC_AUTHORIZATION_FAILED,
        "{refused:?}"
    );
    let mut admin = login(&broker, "admin")?;
    ensure!(
        metadata(&mut admin, Some(&["auto-a"]), false)?.topics[0].error_code
            == UNKNOWN_TOPIC_OR_PARTITION
    );

    grant(
        &broker,
        &[prefixed(allow(
            resource_type::TOPIC,
            "auto-",
            ALICE,
            operation::CREATE,
        ))],
    )?;
    let created = metadata(&mut alice, Some(&["auto-a"]), true)?;
    ensure!(names(&created) == ["auto-a"], "{created:?}");

    // CREATE on the cluster covers every name (DESCRIBE still needed).
    grant(
        &broker,
        &[
            cluster("User:bob", operation::CREATE),
            allow(resource_type::TOPIC, "*", "User:bob", operation::DESCRIBE),
        ],
    )?;
    let made = metadata(&mut login(&broker, "bob")?, Some(&["bobs-topic"]), true)?;
    ensure!(names(&made) == ["bobs-topic"], "{made:?}");
    Ok(())
}

#[test]
fn principal_wildcard_hosts_and_the_anonymous_principal() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    // An ACL for another address does not apply to this one.
    grant(
        &broker,
        &[AclBinding {
            host: "10.11.12.13".into(),
            ..allow(resource_type::TOPIC, "orders", ALICE, operation::WRITE)
        }],
    )?;
    let mut alice = login(&broker, "alice")?;
    ensure!(produce(&mut alice, "orders", 0)? == TOPIC_AUTHORIZATION_FAILED);
    grant(
        &broker,
        &[AclBinding {
            host: "127.0.0.1".into(),
            ..allow(resource_type::TOPIC, "orders", ALICE, operation::WRITE)
        }],
    )?;
    ensure!(produce(&mut alice, "orders", 0)? == 0);

    // PLAINTEXT clients are User:ANONYMOUS; User:* covers them and every
    // user, the topic `*` every topic.
    let mut anonymous = broker.connect()?;
    ensure!(produce(&mut anonymous, "payments", 0)? == TOPIC_AUTHORIZATION_FAILED);
    grant(
        &broker,
        &[allow(
            resource_type::TOPIC,
            "payments",
            "User:ANONYMOUS",
            operation::WRITE,
        )],
    )?;
    ensure!(produce(&mut anonymous, "payments", 0)? == 0);
    let mut bob = login(&broker, "bob")?;
    ensure!(produce(&mut bob, "payments", 0)? == TOPIC_AUTHORIZATION_FAILED);
    grant(
        &broker,
        &[allow(resource_type::TOPIC, "*", "User:*", operation::WRITE)],
    )?;
    ensure!(produce(&mut bob, "payroll", 0)? == 0);
    ensure!(produce(&mut anonymous, "orders", 1)? == 0);
    Ok(())
}

#[test]
fn allow_everyone_if_no_acl_found_opens_only_resources_without_acls() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[("allow.everyone.if.no.acl.found", "true")])?;
    let mut anonymous = broker.connect()?;
    ensure!(produce(&mut anonymous, "orders", 0)? == 0);
    ensure!(produce(&mut anonymous, "payments", 0)? == 0);
    // An ACL on payments for someone else closes it to everyone else.
    grant(
        &broker,
        &[allow(
            resource_type::TOPIC,
            "payments",
            ALICE,
            operation::WRITE,
        )],
    )?;
    ensure!(produce(&mut anonymous, "payments", 0)? == TOPIC_AUTHORIZATION_FAILED);
    ensure!(produce(&mut login(&broker, "alice")?, "payments", 0)? == 0);
    ensure!(produce(&mut anonymous, "orders", 0)? == 0);
    // Without the setting, a resource without ACLs is closed.
    let strict = start(&[])?;
    ensure!(produce(&mut strict.connect()?, "orders", 0)? == TOPIC_AUTHORIZATION_FAILED);
    Ok(())
}

#[test]
fn topic_admin_apis_need_create_delete_and_alter() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    let mut alice = login(&broker, "alice")?;
    let create = |client: &mut Client, name: &str| -> Result<admin::CreatedTopic> {
        let raw = client.round_trip(&admin::create_topics_request(
            31,
            &[CreatableTopic::new(name, 1, -1)],
            5000,
            false,
        ))?;
        let response = admin::decode_create_topics_response(&raw)?;
        response
            .topic(name)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{response:?}"))
    };
    ensure!(create(&mut alice, "new-a")?.error_code == TOPIC_AUTHORIZATION_FAILED);
    grant(
        &broker,
        &[prefixed(allow(
            resource_type::TOPIC,
            "new-",
            ALICE,
            operation::CREATE,
        ))],
    )?;
    let created = create(&mut alice, "new-a")?;
    ensure!(created.error_code == 0, "{created:?}");
    // She may not see its configs.
    ensure!(
        created.topic_config_error_code == Some(TOPIC_AUTHORIZATION_FAILED),
        "{created:?}"
    );
    grant(
        &broker,
        &[prefixed(allow(
            resource_type::TOPIC,
            "new-",
            ALICE,
            operation::ALTER_CONFIGS,
        ))],
    )?;
    let shown = create(&mut alice, "new-b")?;
    ensure!(
        shown.topic_config_error_code.unwrap_or(0) == 0
            && shown.configs.as_ref().is_some_and(|c| !c.is_empty())
    );

    let raw = alice.round_trip(&admin::create_partitions_request(
        32,
        &[CreatePartitionsTopic::new("new-a", 3)],
        5000,
        false,
    ))?;
    let partitions = admin::decode_create_partitions_response(&raw)?;
    ensure!(partitions.results[0].error_code == TOPIC_AUTHORIZATION_FAILED);

    let raw = alice.round_trip(&admin::delete_records_request(
        33,
        &[("new-a", &[(0, 0)])],
        5000,
    ))?;
    let records = admin::decode_delete_records_response(&raw)?;
    ensure!(
        records.partition("new-a", 0).map(|p| p.error_code) == Some(TOPIC_AUTHORIZATION_FAILED)
    );

    let delete = |client: &mut Client, name: &str| -> Result<i16> {
        let raw = client.round_trip(&admin::delete_topics_by_name_request(34, &[name], 5000))?;
        let response = admin::decode_delete_topics_response(&raw)?;
        Ok(response.responses[0].error_code)
    };
    ensure!(delete(&mut alice, "new-a")? == TOPIC_AUTHORIZATION_FAILED);

    grant(
        &broker,
        &[
            allow(resource_type::TOPIC, "new-a", ALICE, operation::ALTER),
            allow(resource_type::TOPIC, "new-a", ALICE, operation::DELETE),
        ],
    )?;
    let raw = alice.round_trip(&admin::create_partitions_request(
        35,
        &[CreatePartitionsTopic::new("new-a", 3)],
        5000,
        false,
    ))?;
    ensure!(admin::decode_create_partitions_response(&raw)?.results[0].error_code == 0);
    let raw = alice.round_trip(&admin::delete_records_request(
        36,
        &[("new-a", &[(0, 0)])],
        5000,
    ))?;
    ensure!(
        admin::decode_delete_records_response(&raw)?
            .partition("new-a", 0)
            .map(|p| p.error_code)
            == Some(0)
    );
    ensure!(delete(&mut alice, "new-a")? == 0);
    Ok(())
}

#[test]
fn config_apis_need_describe_configs_and_alter_configs() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    const TOPIC: i8 = 2;
    const BROKER: i8 = 4;
    const GROUP: i8 = 32;
    const GROUP_AUTHORIZATION_FAILED: i16 = 30;
    let broker = start(&[])?;
    let mut alice = login(&broker, "alice")?;
    let describe = |client: &mut Client| -> Result<Vec<i16>> {
        let raw = client.round_trip(&admin::describe_configs_request(
            41,
            &[
                (TOPIC, "orders", None),
                (BROKER, "1", None),
                (GROUP, "g1", None),
            ],
            false,
            false,
        ))?;
        let response = admin::decode_describe_configs_response(&raw)?;
        Ok(response.results.iter().map(|r| r.error_code).collect())
    };
    let alter = |client: &mut Client, incremental: bool| -> Result<Vec<i16>> {
        let resources: [admin::AlterConfigsResource<'_>; 3] = [
            (TOPIC, "orders", &[("retention.ms", 0, Some("3600000"))]),
            (BROKER, "1", &[("log.cleaner.backoff.ms", 0, Some("15000"))]),
            (
                GROUP,
                "g1",
                &[("share.auto.offset.reset", 0, Some("earliest"))],
            ),
        ];
        let request = if incremental {
            admin::incremental_alter_configs_request(42, &resources, true)
        } else {
            admin::alter_configs_request(42, &resources, true)
        };
        let raw = client.round_trip(&request)?;
        let response = admin::decode_alter_configs_response(&raw)?;
        Ok(response.responses.iter().map(|r| r.error_code).collect())
    };
    let refused = vec![
        TOPIC_AUTHORIZATION_FAILED,
        CLUSTER_AUTHORIZATION_FAILED,
        GROUP_AUTHORIZATION_FAILED,
    ];
    ensure!(describe(&mut alice)? == refused);
    ensure!(alter(&mut alice, false)? == refused);
    ensure!(alter(&mut alice, true)? == refused);
    // ALTER_CONFIGS implies DESCRIBE_CONFIGS.
    grant(
        &broker,
        &[
            allow(
                resource_type::TOPIC,
                "orders",
                ALICE,
                operation::ALTER_CONFIGS,
            ),
            cluster(ALICE, operation::DESCRIBE_CONFIGS),
            allow(
                resource_type::GROUP,
                "g1",
                ALICE,
                operation::DESCRIBE_CONFIGS,
            ),
        ],
    )?;
    ensure!(describe(&mut alice)? == [0, 0, 0]);
    let partly = [0, CLUSTER_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED];
    ensure!(alter(&mut alice, true)? == partly);
    ensure!(alter(&mut alice, false)? == partly);
    grant(
        &broker,
        &[allow(
            resource_type::GROUP,
            "g1",
            ALICE,
            operation::ALTER_CONFIGS,
        )],
    )?;
    ensure!(alter(&mut alice, true)? == [0, CLUSTER_AUTHORIZATION_FAILED, 0]);
    Ok(())
}

#[test]
fn cluster_authorized_operations_and_scram_admin_follow_the_cluster_acls() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    let mut alice = login(&broker, "alice")?;
    let cluster_ops = |client: &mut Client| -> Result<i32> {
        let raw = client.round_trip(&admin::describe_cluster_request(51, true, 1))?;
        let response = admin::decode_describe_cluster_response(&raw)?;
        ensure!(response.error_code == 0, "{response:?}");
        Ok(response.cluster_authorized_operations)
    };
    ensure!(cluster_ops(&mut alice)? == 0);
    let raw = alice.round_trip(&harness::sasl::describe_user_scram_credentials_request(
        52, None,
    ))?;
    let described = harness::sasl::decode_describe_user_scram_credentials_response(&raw)?;
    ensure!(
        described.error_code == CLUSTER_AUTHORIZATION_FAILED,
        "{described:?}"
    );

    grant(
        &broker,
        &[
            cluster(ALICE, operation::ALTER),
            cluster(ALICE, operation::IDEMPOTENT_WRITE),
        ],
    )?;
    ensure!(
        cluster_ops(&mut alice)?
            == bits(&[
                operation::ALTER,
                operation::DESCRIBE,
                operation::IDEMPOTENT_WRITE
            ])
    );
    let raw = alice.round_trip(&harness::sasl::describe_user_scram_credentials_request(
        53, None,
    ))?;
    let described = harness::sasl::decode_describe_user_scram_credentials_response(&raw)?;
    ensure!(described.error_code == 0, "{described:?}");
    // The super user has every cluster operation.
    ensure!(cluster_ops(&mut login(&broker, "admin")?)? == 0x1fa0);
    Ok(())
}

#[test]
fn a_bad_authorizer_configuration_stops_the_start_in_one_line_naming_the_key() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    for (key, value) in [
        (
            "authorizer.class.name",
            "kafka.security.authorizer.AclAuthorizer",
        ),
        ("super.users", "admin"),
        ("allow.everyone.if.no.acl.found", "maybe"),
    ] {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("server.properties");
        std::fs::write(
            &path,
            format!(
                "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:0\nlog.dirs={}\n\
                 authorizer.class.name={}\n{key}={value}\n",
                dir.path().join("logs").display(),
                secured::AUTHORIZER,
            ),
        )?;
        let output = assert_cmd::Command::new(broker_binary())
            .arg(&path)
            .env_remove("RUST_LOG")
            .timeout(std::time::Duration::from_secs(30))
            .output()?;
        ensure!(!output.status.success(), "{key}={value} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.trim().lines().collect();
        ensure!(
            lines.len() == 1 && lines[0].starts_with("error: "),
            "{stderr}"
        );
        ensure!(lines[0].contains(key), "{key}: {stderr}");
    }
    Ok(())
}

#[test]
fn elections_and_reassignments_need_alter_or_describe_on_the_cluster() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    let mut alice = login(&broker, "alice")?;
    let elect =
        |client: &mut Client| -> Result<admin::PartitionsOutcome> {
            admin::decode_elect_leaders_response(&client.round_trip(
                &admin::elect_leaders_request(1, 0, Some(&[("orders", vec![0])])),
            )?)
        };
    let alter = |client: &mut Client| -> Result<admin::PartitionsOutcome> {
        admin::decode_alter_partition_reassignments_response(&client.round_trip(
            &admin::alter_partition_reassignments_request(
                2,
                false,
                &[("orders", vec![(0, Some(vec![1]))])],
            ),
        )?)
    };
    let list = |client: &mut Client| -> Result<i16> {
        Ok(admin::decode_list_partition_reassignments_response(
            &client.round_trip(&admin::list_partition_reassignments_request(3, None))?,
        )?
        .0)
    };
    let refused = elect(&mut alice)?;
    ensure!(
        refused.error_code == CLUSTER_AUTHORIZATION_FAILED
            && refused.codes() == [("orders".to_string(), 0, CLUSTER_AUTHORIZATION_FAILED)],
        "{refused:?}"
    );
    let refused = alter(&mut alice)?;
    ensure!(
        refused.error_code == CLUSTER_AUTHORIZATION_FAILED
            && refused.codes() == [("orders".to_string(), 0, CLUSTER_AUTHORIZATION_FAILED)],
        "{refused:?}"
    );
    ensure!(list(&mut alice)? == CLUSTER_AUTHORIZATION_FAILED);
    // DESCRIBE lists; ALTER (which implies DESCRIBE) elects and reassigns.
    grant(&broker, &[cluster(ALICE, operation::DESCRIBE)])?;
    ensure!(list(&mut alice)? == 0);
    ensure!(elect(&mut alice)?.error_code == CLUSTER_AUTHORIZATION_FAILED);
    grant(&broker, &[cluster(ALICE, operation::ALTER)])?;
    let elected = elect(&mut alice)?;
    ensure!(
        elected.error_code == 0 && elected.codes() == [("orders".to_string(), 0, 84)],
        "{elected:?}"
    );
    let altered = alter(&mut alice)?;
    ensure!(
        altered.error_code == 0 && altered.codes() == [("orders".to_string(), 0, 0)],
        "{altered:?}"
    );
    Ok(())
}

/// DescribeQuorum and DescribeLogDirs need DESCRIBE on the cluster,
/// UpdateFeatures and AlterReplicaLogDirs ALTER, ListConfigResources
/// DESCRIBE_CONFIGS, as Kafka checks them.
#[test]
fn quorum_features_and_config_resources_need_cluster_operations() -> Result<()> {
    use harness::cluster_admin as ca;

    or_skip!(own_broker_only(SUITE));
    let broker = start(&[])?;
    let mut alice = login(&broker, "alice")?;
    let quorum = |client: &mut Client| -> Result<i16> {
        Ok(ca::decode_describe_quorum_response(&client.round_trip(
            &ca::describe_quorum_request(1, &[("__cluster_metadata", vec![0])]),
        )?)?
        .error_code)
    };
    let update = |client: &mut Client| -> Result<i16> {
        Ok(ca::decode_update_features_response(
            &client.round_trip(&ca::update_features_request(
                2,
                2,
                &[("metadata.version", 29, ca::upgrade::UPGRADE)],
                true,
            ))?,
            2,
        )?
        .error_code)
    };
    let list = |client: &mut Client| -> Result<i16> {
        Ok(ca::decode_list_config_resources_response(
            &client.round_trip(&ca::list_config_resources_request(3, &[]))?,
        )?
        .0)
    };
    let log_dirs = |client: &mut Client| -> Result<(i16, usize)> {
        let (code, dirs) = ca::decode_describe_log_dirs_response(
            &client.round_trip(&ca::describe_log_dirs_request(4, None))?,
        )?;
        Ok((code, dirs.len()))
    };
    let move_to = |client: &mut Client| -> Result<Vec<i16>> {
        Ok(
            ca::decode_alter_replica_log_dirs_response(&client.round_trip(
                &ca::alter_replica_log_dirs_request(
                    5,
                    &[("/elsewhere", vec![("orders", vec![0])])],
                ),
            )?)?
            .into_iter()
            .map(|r| r.2)
            .collect(),
        )
    };
    ensure!(log_dirs(&mut alice)? == (CLUSTER_AUTHORIZATION_FAILED, 0));
    ensure!(move_to(&mut alice)? == [CLUSTER_AUTHORIZATION_FAILED]);
    ensure!(quorum(&mut alice)? == CLUSTER_AUTHORIZATION_FAILED);
    ensure!(update(&mut alice)? == CLUSTER_AUTHORIZATION_FAILED);
    ensure!(list(&mut alice)? == CLUSTER_AUTHORIZATION_FAILED);
    grant(&broker, &[cluster(ALICE, operation::DESCRIBE)])?;
    ensure!(quorum(&mut alice)? == 0);
    ensure!(log_dirs(&mut alice)? == (0, 1));
    ensure!(move_to(&mut alice)? == [CLUSTER_AUTHORIZATION_FAILED]);
    ensure!(update(&mut alice)? == CLUSTER_AUTHORIZATION_FAILED);
    ensure!(list(&mut alice)? == CLUSTER_AUTHORIZATION_FAILED);
    grant(
        &broker,
        &[
            cluster(ALICE, operation::ALTER),
            cluster(ALICE, operation::DESCRIBE_CONFIGS),
        ],
    )?;
    ensure!(update(&mut alice)? == 0);
    ensure!(list(&mut alice)? == 0);
    // ALTER lets it ask; the directory is not one of the broker's.
    ensure!(move_to(&mut alice)? == [57]);
    Ok(())
}
