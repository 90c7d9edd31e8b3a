//! ACL authorization of the transaction and producer APIs (Kafka's
//! KafkaApis with the StandardAuthorizer), on the secured fixture:
//! InitProducerId (WRITE on the transactional id, or IDEMPOTENT_WRITE on
//! the cluster or WRITE on some topic), AddPartitionsToTxn (WRITE on the
//! transactional id and the topics; batched, per transaction),
//! AddOffsetsToTxn and TxnOffsetCommit (plus READ on the group, and on the
//! topics), EndTxn, DescribeTransactions and ListTransactions (DESCRIBE on
//! the ids, and on the topics shown), DescribeProducers (READ on the
//! topic), a transactional Produce, and a prefixed DENY over a literal
//! ALLOW. Each check fails without the ACLs and passes with them; an
//! authorization error comes before any other error of the request.

use anyhow::{Context, Result, ensure};
use harness::acls::{operation, resource_type};
use harness::admin::InitProducerIdResponse;
use harness::batch::RecordBatch;
use harness::fixture::TopicSpec;
use harness::launcher::Broker;
use harness::protocol::{self, ProduceResponse};
use harness::secured::{self, allow, deny, prefixed};
use harness::transactions::{
    self as txn, AddPartitionsTransaction, DescribeProducersResponse, DescribedTransaction,
    ListTransactionsResponse, TopicResults, TxnOffsetCommitPartition, TxnOffsetCommitRequest,
};
use harness::wire::uuid;
use harness::{Client, or_skip};

/// Kafka's error codes (`Errors`) these checks answer with.
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_TXN_STATE: i16 = txn::error::INVALID_TXN_STATE;
const OPERATION_NOT_ATTEMPTED: i16 = txn::error::OPERATION_NOT_ATTEMPTED;

/// Two topics: `t` of two partitions, `u` of one.
const TOPIC: &str = "t";
const OTHER: &str = "u";
const ALICE: &str = "User:alice";
const BOB: &str = "User:bob";
const TIMEOUT_MS: i32 = 60_000;

/// Fewer partitions of the internal topics than Kafka's 50, so that they
/// are created quickly.
const TUNING: [(&str, &str); 2] = [
    ("transaction.state.log.num.partitions", "1"),
    ("offsets.topic.num.partitions", "1"),
];

fn start() -> Result<Broker> {
    secured::broker()
        .topics(&[
            TopicSpec::new(TOPIC, uuid(0xac1_0001), 2),
            TopicSpec::new(OTHER, uuid(0xac1_0002), 1),
        ])
        .properties(&TUNING)
        .start()
}

fn txn_id_acl(id: &str, principal: &str, op: i8) -> harness::acls::AclBinding {
    allow(resource_type::TRANSACTIONAL_ID, id, principal, op)
}

fn topic_acl(topic: &str, principal: &str, op: i8) -> harness::acls::AclBinding {
    allow(resource_type::TOPIC, topic, principal, op)
}

fn topics(of: &[(&str, &[i32])]) -> Vec<(String, Vec<i32>)> {
    of.iter()
        .map(|(topic, partitions)| (topic.to_string(), partitions.to_vec()))
        .collect()
}

/// Every partition's error code in `results`, as (topic, partition, error),
/// sorted.
fn errors_of(results: &TopicResults) -> Vec<(String, i32, i16)> {
    let mut errors: Vec<(String, i32, i16)> = results
        .iter()
        .flat_map(|(topic, partitions)| partitions.iter().map(|(p, e)| (topic.clone(), *p, *e)))
        .collect();
    errors.sort();
    errors
}

fn expected(of: &[(&str, i32, i16)]) -> Vec<(String, i32, i16)> {
    let mut errors: Vec<(String, i32, i16)> =
        of.iter().map(|(t, p, e)| (t.to_string(), *p, *e)).collect();
    errors.sort();
    errors
}

// ------------------------------------------------------------------ requests

fn init(c: &mut Client, transactional_id: Option<&str>) -> Result<InitProducerIdResponse> {
    let raw = c.round_trip(&txn::init_producer_id_request(
        4,
        21,
        transactional_id,
        TIMEOUT_MS,
        -1,
        -1,
    ))?;
    let response = txn::decode_init_producer_id_response(&raw, 4)?;
    protocol::ensure_correlation(response.correlation_id, 21)?;
    Ok(response)
}

/// InitProducerId that must succeed: (producer id, epoch).
fn init_ok(c: &mut Client, transactional_id: Option<&str>) -> Result<(i64, i16)> {
    let response = init(c, transactional_id)?;
    ensure!(
        response.error_code == 0 && response.producer_id >= 0 && response.producer_epoch >= 0,
        "InitProducerId {transactional_id:?}: {response:?}"
    );
    Ok((response.producer_id, response.producer_epoch))
}

/// AddPartitionsToTxn v3 (a client's).
fn add_partitions(
    c: &mut Client,
    id: &str,
    (producer_id, epoch): (i64, i16),
    of: &[(&str, &[i32])],
) -> Result<Vec<(String, i32, i16)>> {
    let raw = c.round_trip(&txn::add_partitions_to_txn_request(
        3,
        51,
        id,
        producer_id,
        epoch,
        &topics(of),
    ))?;
    let response = txn::decode_add_partitions_to_txn_response(&raw, 3)?;
    protocol::ensure_correlation(response.correlation_id, 51)?;
    Ok(errors_of(&response.results_by_topic))
}

fn add_offsets(c: &mut Client, id: &str, (pid, epoch): (i64, i16), group: &str) -> Result<i16> {
    let raw = c.round_trip(&txn::add_offsets_to_txn_request(
        3, 71, id, pid, epoch, group,
    ))?;
    let response = txn::decode_error_response(&raw, 3)?;
    protocol::ensure_correlation(response.correlation_id, 71)?;
    Ok(response.error_code)
}

fn end_txn(c: &mut Client, id: &str, (pid, epoch): (i64, i16), commit: bool) -> Result<i16> {
    let raw = c.round_trip(&txn::end_txn_request(3, 61, id, pid, epoch, commit))?;
    let response = txn::decode_error_response(&raw, 3)?;
    protocol::ensure_correlation(response.correlation_id, 61)?;
    Ok(response.error_code)
}

/// TxnOffsetCommit v3 outside the group, offset 5 for each partition.
fn commit_offsets(
    c: &mut Client,
    id: &str,
    (producer_id, producer_epoch): (i64, i16),
    group: &str,
    of: &[(&str, &[i32])],
) -> Result<Vec<(String, i32, i16)>> {
    let request = TxnOffsetCommitRequest {
        transactional_id: id.to_string(),
        group_id: group.to_string(),
        producer_id,
        producer_epoch,
        generation_id: -1,
        member_id: String::new(),
        group_instance_id: None,
        topics: of
            .iter()
            .map(|(topic, partitions)| {
                (
                    topic.to_string(),
                    partitions
                        .iter()
                        .map(|&p| TxnOffsetCommitPartition::new(p, 5))
                        .collect(),
                )
            })
            .collect(),
    };
    let raw = c.round_trip(&txn::txn_offset_commit_request(81, &request))?;
    let response = txn::decode_txn_offset_commit_response(&raw)?;
    protocol::ensure_correlation(response.correlation_id, 81)?;
    Ok(errors_of(&response.topics))
}

fn describe(c: &mut Client, ids: &[&str]) -> Result<Vec<DescribedTransaction>> {
    let raw = c.round_trip(&txn::describe_transactions_request(31, ids))?;
    let response = txn::decode_describe_transactions_response(&raw)?;
    protocol::ensure_correlation(response.correlation_id, 31)?;
    ensure!(
        response.transaction_states.len() == ids.len(),
        "asked for {ids:?}: {response:?}"
    );
    Ok(response.transaction_states)
}

fn list(c: &mut Client) -> Result<ListTransactionsResponse> {
    let raw = c.round_trip(&txn::list_transactions_request(1, 41, &[], &[], -1))?;
    let response = txn::decode_list_transactions_response(&raw)?;
    protocol::ensure_correlation(response.correlation_id, 41)?;
    ensure!(response.error_code == 0, "{response:?}");
    Ok(response)
}

fn describe_producers(c: &mut Client, of: &[(&str, &[i32])]) -> Result<DescribeProducersResponse> {
    let raw = c.round_trip(&txn::describe_producers_request(9, &topics(of)))?;
    let response = txn::decode_describe_producers_response(&raw)?;
    protocol::ensure_correlation(response.correlation_id, 9)?;
    Ok(response)
}

/// A transactional Produce (acks -1) of one batch of the producer to each
/// partition.
fn produce(
    c: &mut Client,
    id: Option<&str>,
    (pid, epoch): (i64, i16),
    of: &[(&str, &[i32])],
) -> Result<ProduceResponse> {
    let batch = RecordBatch::transactional(pid, epoch, 0, &["v"]).encode();
    let request: Vec<protocol::ProduceTopic> = of
        .iter()
        .map(|(topic, partitions)| {
            (
                topic.to_string(),
                partitions
                    .iter()
                    .map(|&p| (p, Some(batch.clone())))
                    .collect(),
            )
        })
        .collect();
    let raw = c.round_trip(&protocol::produce_request_v11_transactional(
        11, id, -1, &request,
    ))?;
    let response = protocol::decode_produce_response_v11(&raw)?;
    protocol::ensure_correlation(response.correlation_id, 11)?;
    Ok(response)
}

// --------------------------------------------------------------------- tests

#[test]
fn init_producer_id_with_a_transactional_id_needs_write_on_it() -> Result<()> {
    let broker = or_skip!(start());
    let mut alice = secured::login(&broker, "alice")?;
    let response = init(&mut alice, Some("t1"))?;
    ensure!(
        response.error_code == TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            && response.producer_id == -1
            && response.producer_epoch == -1,
        "without ACLs: {response:?}"
    );
    // DESCRIBE (or WRITE on another id) is not enough.
    secured::grant(
        &broker,
        &[
            txn_id_acl("t1", ALICE, operation::DESCRIBE),
            txn_id_acl("t2", ALICE, operation::WRITE),
        ],
    )?;
    let response = init(&mut alice, Some("t1"))?;
    ensure!(
        response.error_code == TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        "with DESCRIBE only: {response:?}"
    );
    secured::grant(&broker, &[txn_id_acl("t1", ALICE, operation::WRITE)])?;
    init_ok(&mut alice, Some("t1"))?;
    // Bob has none of alice's ACLs.
    let mut bob = secured::login(&broker, "bob")?;
    let response = init(&mut bob, Some("t1"))?;
    ensure!(
        response.error_code == TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        "bob: {response:?}"
    );
    Ok(())
}

#[test]
fn init_producer_id_without_a_transactional_id_needs_idempotent_write_or_write_on_a_topic()
-> Result<()> {
    let broker = or_skip!(start());
    let mut alice = secured::login(&broker, "alice")?;
    let mut bob = secured::login(&broker, "bob")?;
    for (who, c) in [("alice", &mut alice), ("bob", &mut bob)] {
        let response = init(c, None)?;
        ensure!(
            response.error_code == CLUSTER_AUTHORIZATION_FAILED && response.producer_id == -1,
            "{who} without ACLs: {response:?}"
        );
    }
    // READ on a topic is not WRITE.
    secured::grant(&broker, &[topic_acl(OTHER, ALICE, operation::READ)])?;
    let response = init(&mut alice, None)?;
    ensure!(
        response.error_code == CLUSTER_AUTHORIZATION_FAILED,
        "alice with READ on a topic: {response:?}"
    );
    // WRITE on some topic, even a prefix of names no topic has, will do
    // (authorizeByResourceType).
    secured::grant(
        &broker,
        &[prefixed(topic_acl("no-such-", ALICE, operation::WRITE))],
    )?;
    init_ok(&mut alice, None)?;
    // So does IDEMPOTENT_WRITE on the cluster.
    secured::grant(
        &broker,
        &[allow(
            resource_type::CLUSTER,
            "kafka-cluster",
            BOB,
            operation::IDEMPOTENT_WRITE,
        )],
    )?;
    init_ok(&mut bob, None)?;
    Ok(())
}

#[test]
fn add_partitions_to_txn_needs_write_on_the_transactional_id_and_the_topics() -> Result<()> {
    let broker = or_skip!(start());
    secured::grant(&broker, &[txn_id_acl("t1", ALICE, operation::WRITE)])?;
    let mut alice = secured::login(&broker, "alice")?;
    let producer = init_ok(&mut alice, Some("t1"))?;
    let partitions: &[(&str, &[i32])] = &[(TOPIC, &[0, 1]), (OTHER, &[0])];

    // An id she may not write: every partition fails so, before the
    // (unknown) producer id is looked at.
    let errors = add_partitions(&mut alice, "t2", (4242, 0), partitions)?;
    ensure!(
        errors
            == expected(&[
                (TOPIC, 0, TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
                (TOPIC, 1, TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
                (OTHER, 0, TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
            ]),
        "another id: {errors:?}"
    );
    // No WRITE on the topics.
    let errors = add_partitions(&mut alice, "t1", producer, partitions)?;
    ensure!(
        errors
            == expected(&[
                (TOPIC, 0, TOPIC_AUTHORIZATION_FAILED),
                (TOPIC, 1, TOPIC_AUTHORIZATION_FAILED),
                (OTHER, 0, TOPIC_AUTHORIZATION_FAILED),
            ]),
        "without topic ACLs: {errors:?}"
    );
    // WRITE on one: the other fails and nothing is added.
    secured::grant(&broker, &[topic_acl(TOPIC, ALICE, operation::WRITE)])?;
    let errors = add_partitions(&mut alice, "t1", producer, partitions)?;
    ensure!(
        errors
            == expected(&[
                (TOPIC, 0, OPERATION_NOT_ATTEMPTED),
                (TOPIC, 1, OPERATION_NOT_ATTEMPTED),
                (OTHER, 0, TOPIC_AUTHORIZATION_FAILED),
            ]),
        "with WRITE on {TOPIC} only: {errors:?}"
    );
    let mut admin = secured::login(&broker, "admin")?;
    let described = describe(&mut admin, &["t1"])?.remove(0);
    ensure!(
        described.error_code == 0 && described.topics.is_empty(),
        "nothing was added: {described:?}"
    );
    // An internal topic is never authorized, even with WRITE on it; an
    // unknown one fails as unauthorized without WRITE on it.
    secured::grant(
        &broker,
        &[topic_acl("__consumer_offsets", ALICE, operation::WRITE)],
    )?;
    let errors = add_partitions(
        &mut alice,
        "t1",
        producer,
        &[(TOPIC, &[0]), ("__consumer_offsets", &[0]), ("nope", &[0])],
    )?;
    ensure!(
        errors
            == expected(&[
                (TOPIC, 0, OPERATION_NOT_ATTEMPTED),
                ("__consumer_offsets", 0, TOPIC_AUTHORIZATION_FAILED),
                ("nope", 0, TOPIC_AUTHORIZATION_FAILED),
            ]),
        "internal and unknown topics: {errors:?}"
    );
    secured::grant(&broker, &[topic_acl(OTHER, ALICE, operation::WRITE)])?;
    let errors = add_partitions(&mut alice, "t1", producer, partitions)?;
    ensure!(
        errors == expected(&[(TOPIC, 0, 0), (TOPIC, 1, 0), (OTHER, 0, 0)]),
        "with WRITE on both: {errors:?}"
    );
    Ok(())
}

#[test]
fn batched_add_partitions_to_txn_authorizes_each_transaction() -> Result<()> {
    let broker = or_skip!(start());
    secured::grant(
        &broker,
        &[
            txn_id_acl("t1", ALICE, operation::WRITE),
            topic_acl(TOPIC, ALICE, operation::WRITE),
        ],
    )?;
    let mut alice = secured::login(&broker, "alice")?;
    let (producer_id, producer_epoch) = init_ok(&mut alice, Some("t1"))?;
    let transaction = |id: &str, topic: &str| AddPartitionsTransaction {
        transactional_id: id.to_string(),
        producer_id,
        producer_epoch,
        verify_only: false,
        topics: topics(&[(topic, &[0])]),
    };
    let raw = alice.round_trip(&txn::add_partitions_to_txn_batched_request(
        4,
        52,
        &[transaction("t1", TOPIC), transaction("t2", TOPIC)],
    ))?;
    let response = txn::decode_add_partitions_to_txn_response(&raw, 4)?;
    protocol::ensure_correlation(response.correlation_id, 52)?;
    ensure!(response.error_code == 0, "{response:?}");
    let of = |id: &str| -> Result<Vec<(String, i32, i16)>> {
        Ok(errors_of(response.transaction(id).with_context(|| {
            format!("no answer for {id}: {response:?}")
        })?))
    };
    ensure!(of("t1")? == expected(&[(TOPIC, 0, 0)]), "{response:?}");
    ensure!(
        of("t2")? == expected(&[(TOPIC, 0, TRANSACTIONAL_ID_AUTHORIZATION_FAILED)]),
        "{response:?}"
    );
    // Topics too, per transaction.
    let raw = alice.round_trip(&txn::add_partitions_to_txn_batched_request(
        4,
        53,
        &[transaction("t1", OTHER)],
    ))?;
    let response = txn::decode_add_partitions_to_txn_response(&raw, 4)?;
    ensure!(
        response.transaction("t1").map(errors_of)
            == Some(expected(&[(OTHER, 0, TOPIC_AUTHORIZATION_FAILED)])),
        "{response:?}"
    );
    Ok(())
}

#[test]
fn add_offsets_to_txn_needs_write_on_the_transactional_id_and_read_on_the_group() -> Result<()> {
    let broker = or_skip!(start());
    let mut alice = secured::login(&broker, "alice")?;
    // Authorization comes before the (unknown) producer is looked at.
    let error = add_offsets(&mut alice, "t1", (4242, 0), "g")?;
    ensure!(
        error == TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        "without ACLs: {error}"
    );
    secured::grant(&broker, &[txn_id_acl("t1", ALICE, operation::WRITE)])?;
    let producer = init_ok(&mut alice, Some("t1"))?;
    let error = add_offsets(&mut alice, "t1", producer, "g")?;
    ensure!(
        error == GROUP_AUTHORIZATION_FAILED,
        "without READ on the group: {error}"
    );
    secured::grant(
        &broker,
        &[allow(resource_type::GROUP, "g", ALICE, operation::READ)],
    )?;
    let error = add_offsets(&mut alice, "t1", producer, "g")?;
    ensure!(error == 0, "with the ACLs: {error}");
    Ok(())
}

#[test]
fn end_txn_needs_write_on_the_transactional_id() -> Result<()> {
    let broker = or_skip!(start());
    let mut alice = secured::login(&broker, "alice")?;
    // Without the ACL the answer is the authorization error, not the
    // coordinator's.
    let error = end_txn(&mut alice, "t1", (4242, 0), true)?;
    ensure!(
        error == TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        "without ACLs: {error}"
    );
    secured::grant(
        &broker,
        &[
            txn_id_acl("t1", ALICE, operation::WRITE),
            topic_acl(TOPIC, ALICE, operation::WRITE),
        ],
    )?;
    let producer = init_ok(&mut alice, Some("t1"))?;
    let error = end_txn(&mut alice, "t1", producer, true)?;
    ensure!(
        error == INVALID_TXN_STATE,
        "authorized, nothing open: {error}"
    );
    let errors = add_partitions(&mut alice, "t1", producer, &[(TOPIC, &[0])])?;
    ensure!(errors == expected(&[(TOPIC, 0, 0)]), "{errors:?}");
    // Bob may not end alice's transaction.
    let mut bob = secured::login(&broker, "bob")?;
    let error = end_txn(&mut bob, "t1", producer, false)?;
    ensure!(
        error == TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        "bob: {error}"
    );
    let error = end_txn(&mut alice, "t1", producer, true)?;
    ensure!(error == 0, "alice commits: {error}");
    Ok(())
}

#[test]
fn txn_offset_commit_needs_write_on_the_transactional_id_and_read_on_the_group_and_topics()
-> Result<()> {
    let broker = or_skip!(start());
    let partitions: &[(&str, &[i32])] = &[(TOPIC, &[0, 1]), (OTHER, &[0])];
    let all = |error: i16| expected(&[(TOPIC, 0, error), (TOPIC, 1, error), (OTHER, 0, error)]);
    let mut alice = secured::login(&broker, "alice")?;
    let errors = commit_offsets(&mut alice, "t1", (4242, 0), "g", partitions)?;
    ensure!(
        errors == all(TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
        "without ACLs: {errors:?}"
    );
    secured::grant(&broker, &[txn_id_acl("t1", ALICE, operation::WRITE)])?;
    let producer = init_ok(&mut alice, Some("t1"))?;
    let errors = commit_offsets(&mut alice, "t1", producer, "g", partitions)?;
    ensure!(
        errors == all(GROUP_AUTHORIZATION_FAILED),
        "without READ on the group: {errors:?}"
    );
    secured::grant(
        &broker,
        &[allow(resource_type::GROUP, "g", ALICE, operation::READ)],
    )?;
    ensure!(add_offsets(&mut alice, "t1", producer, "g")? == 0);
    let errors = commit_offsets(&mut alice, "t1", producer, "g", partitions)?;
    ensure!(
        errors == all(TOPIC_AUTHORIZATION_FAILED),
        "without READ on the topics: {errors:?}"
    );
    // READ on one topic: its offsets are committed, the other's refused.
    secured::grant(&broker, &[topic_acl(TOPIC, ALICE, operation::READ)])?;
    let errors = commit_offsets(&mut alice, "t1", producer, "g", partitions)?;
    ensure!(
        errors
            == expected(&[
                (TOPIC, 0, 0),
                (TOPIC, 1, 0),
                (OTHER, 0, TOPIC_AUTHORIZATION_FAILED)
            ]),
        "with READ on {TOPIC}: {errors:?}"
    );
    // An unknown topic she may read is unknown; one she may not, refused.
    secured::grant(&broker, &[topic_acl("gone", ALICE, operation::READ)])?;
    let errors = commit_offsets(
        &mut alice,
        "t1",
        producer,
        "g",
        &[("gone", &[0]), ("nope", &[0])],
    )?;
    ensure!(
        errors
            == expected(&[
                ("gone", 0, UNKNOWN_TOPIC_OR_PARTITION),
                ("nope", 0, TOPIC_AUTHORIZATION_FAILED)
            ]),
        "unknown topics: {errors:?}"
    );
    ensure!(end_txn(&mut alice, "t1", producer, true)? == 0);
    Ok(())
}

#[test]
fn describe_transactions_needs_describe_and_shows_only_describable_topics() -> Result<()> {
    let broker = or_skip!(start());
    secured::grant(
        &broker,
        &[
            txn_id_acl("t1", ALICE, operation::WRITE),
            topic_acl(TOPIC, ALICE, operation::WRITE),
            topic_acl(OTHER, ALICE, operation::WRITE),
        ],
    )?;
    let mut alice = secured::login(&broker, "alice")?;
    let producer = init_ok(&mut alice, Some("t1"))?;
    let errors = add_partitions(&mut alice, "t1", producer, &[(TOPIC, &[0]), (OTHER, &[0])])?;
    ensure!(errors.iter().all(|(_, _, e)| *e == 0), "{errors:?}");

    let mut bob = secured::login(&broker, "bob")?;
    let described = describe(&mut bob, &["t1"])?.remove(0);
    ensure!(
        described.error_code == TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            && described.transactional_id == "t1"
            && described.transaction_state.is_empty()
            && described.topics.is_empty(),
        "bob without ACLs: {described:?}"
    );
    secured::grant(&broker, &[txn_id_acl("t1", BOB, operation::DESCRIBE)])?;
    let described = describe(&mut bob, &["t1"])?.remove(0);
    ensure!(
        described.error_code == 0
            && described.transaction_state == "Ongoing"
            && described.producer_id == producer.0
            && described.topics.is_empty(),
        "bob with DESCRIBE on the id only: {described:?}"
    );
    secured::grant(&broker, &[topic_acl(TOPIC, BOB, operation::DESCRIBE)])?;
    let described = describe(&mut bob, &["t1"])?.remove(0);
    ensure!(
        described.partitions().into_iter().collect::<Vec<_>>() == [(TOPIC.to_string(), 0)],
        "bob with DESCRIBE on {TOPIC}: {described:?}"
    );
    // WRITE implies DESCRIBE: alice sees both topics.
    let described = describe(&mut alice, &["t1"])?.remove(0);
    ensure!(
        described.error_code == 0 && described.partitions().len() == 2,
        "alice: {described:?}"
    );
    Ok(())
}

#[test]
fn list_transactions_lists_only_describable_ids() -> Result<()> {
    let broker = or_skip!(start());
    secured::grant(
        &broker,
        &[prefixed(txn_id_acl("a-", ALICE, operation::WRITE))],
    )?;
    let mut alice = secured::login(&broker, "alice")?;
    for id in ["a-1", "a-2", "a-3"] {
        init_ok(&mut alice, Some(id))?;
    }
    let mut admin = secured::login(&broker, "admin")?;
    let listed = list(&mut admin)?;
    ensure!(listed.ids() == ["a-1", "a-2", "a-3"], "admin: {listed:?}");
    ensure!(list(&mut alice)?.ids() == ["a-1", "a-2", "a-3"], "alice");

    let mut bob = secured::login(&broker, "bob")?;
    let listed = list(&mut bob)?;
    ensure!(listed.ids().is_empty(), "bob without ACLs: {listed:?}");
    secured::grant(
        &broker,
        &[
            txn_id_acl("a-1", BOB, operation::DESCRIBE),
            txn_id_acl("a-3", BOB, operation::WRITE),
        ],
    )?;
    let listed = list(&mut bob)?;
    ensure!(listed.ids() == ["a-1", "a-3"], "bob: {listed:?}");
    Ok(())
}

#[test]
fn describe_producers_needs_read_on_the_topic() -> Result<()> {
    let broker = or_skip!(start());
    let mut alice = secured::login(&broker, "alice")?;
    let response = describe_producers(&mut alice, &[(TOPIC, &[0, 1]), ("nope", &[0])])?;
    for (topic, partition) in [(TOPIC, 0), (TOPIC, 1), ("nope", 0)] {
        let answer = response
            .partition(topic, partition)
            .with_context(|| format!("no answer for {topic}-{partition}: {response:?}"))?;
        ensure!(
            answer.error_code == TOPIC_AUTHORIZATION_FAILED,
            "without ACLs, {topic}-{partition}: {response:?}"
        );
    }
    // WRITE does not imply READ.
    secured::grant(&broker, &[topic_acl(TOPIC, ALICE, operation::WRITE)])?;
    let response = describe_producers(&mut alice, &[(TOPIC, &[0])])?;
    ensure!(
        response.partition(TOPIC, 0).map(|p| p.error_code) == Some(TOPIC_AUTHORIZATION_FAILED),
        "with WRITE: {response:?}"
    );
    secured::grant(
        &broker,
        &[
            topic_acl(TOPIC, ALICE, operation::READ),
            topic_acl("nope", ALICE, operation::READ),
        ],
    )?;
    let response = describe_producers(&mut alice, &[(TOPIC, &[0, 1]), ("nope", &[0])])?;
    for (topic, partition, error) in [
        (TOPIC, 0, 0),
        (TOPIC, 1, 0),
        ("nope", 0, UNKNOWN_TOPIC_OR_PARTITION),
    ] {
        ensure!(
            response.partition(topic, partition).map(|p| p.error_code) == Some(error),
            "with READ, {topic}-{partition}: {response:?}"
        );
    }
    Ok(())
}

#[test]
fn a_prefixed_deny_beats_a_literal_allow() -> Result<()> {
    let broker = or_skip!(start());
    secured::grant(
        &broker,
        &[
            txn_id_acl("pay-1", ALICE, operation::WRITE),
            txn_id_acl("ok-1", ALICE, operation::WRITE),
            prefixed(deny(
                resource_type::TRANSACTIONAL_ID,
                "pay-",
                ALICE,
                operation::WRITE,
            )),
        ],
    )?;
    let mut alice = secured::login(&broker, "alice")?;
    let response = init(&mut alice, Some("pay-1"))?;
    ensure!(
        response.error_code == TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        "denied by the prefix: {response:?}"
    );
    let error = end_txn(&mut alice, "pay-1", (4242, 0), false)?;
    ensure!(
        error == TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        "EndTxn: {error}"
    );
    // The deny is alice's and the prefix's only.
    init_ok(&mut alice, Some("ok-1"))?;
    Ok(())
}

#[test]
fn a_transactional_produce_without_write_on_the_transactional_id_fails_every_partition()
-> Result<()> {
    let broker = or_skip!(start());
    secured::grant(
        &broker,
        &[
            txn_id_acl("t1", ALICE, operation::WRITE),
            topic_acl(TOPIC, ALICE, operation::WRITE),
            topic_acl(OTHER, ALICE, operation::WRITE),
            topic_acl(TOPIC, BOB, operation::WRITE),
            topic_acl(OTHER, BOB, operation::WRITE),
        ],
    )?;
    let mut alice = secured::login(&broker, "alice")?;
    let producer = init_ok(&mut alice, Some("t1"))?;
    let partitions: &[(&str, &[i32])] = &[(TOPIC, &[0, 1]), (OTHER, &[0])];
    let errors = add_partitions(&mut alice, "t1", producer, partitions)?;
    ensure!(errors.iter().all(|(_, _, e)| *e == 0), "{errors:?}");

    // Bob may write the topics but not the transactional id.
    let mut bob = secured::login(&broker, "bob")?;
    let response = produce(&mut bob, Some("t1"), producer, partitions)?;
    for (topic, partition) in [(TOPIC, 0), (TOPIC, 1), (OTHER, 0)] {
        ensure!(
            response.partition(topic, partition).map(|p| p.error_code)
                == Some(TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
            "bob, {topic}-{partition}: {response:?}"
        );
    }
    let response = produce(&mut alice, Some("t1"), producer, partitions)?;
    for (topic, partition) in [(TOPIC, 0), (TOPIC, 1), (OTHER, 0)] {
        ensure!(
            response.partition(topic, partition).map(|p| p.error_code) == Some(0),
            "alice, {topic}-{partition}: {response:?}"
        );
    }
    ensure!(end_txn(&mut alice, "t1", producer, true)? == 0);
    Ok(())
}

/// WriteTxnMarkers needs ALTER or CLUSTER_ACTION on the cluster, as
/// Kafka checks it; without either every partition is refused.
#[test]
fn write_txn_markers_needs_alter_or_cluster_action_on_the_cluster() -> Result<()> {
    let broker = or_skip!(start());
    let mut alice = secured::login(&broker, "alice")?;
    let abort = |c: &mut Client| {
        txn::decode_write_txn_markers_response(&c.round_trip(&txn::write_txn_markers_request(
            1,
            &[txn::MarkerToWrite {
                producer_id: 4242,
                producer_epoch: 0,
                commit: false,
                topics: topics(&[(TOPIC, &[0, 1])]),
                coordinator_epoch: -1,
            }],
        ))?)
    };
    let codes = |c: &mut Client| -> Result<Vec<i16>> {
        Ok(abort(c)?
            .into_iter()
            .flat_map(|(_, partitions)| partitions.into_iter().map(|p| p.2))
            .collect())
    };
    ensure!(codes(&mut alice)? == [CLUSTER_AUTHORIZATION_FAILED; 2]);
    let cluster = |op| allow(resource_type::CLUSTER, "kafka-cluster", ALICE, op);
    secured::grant(&broker, &[cluster(operation::DESCRIBE)])?;
    ensure!(codes(&mut alice)? == [CLUSTER_AUTHORIZATION_FAILED; 2]);
    secured::grant(&broker, &[cluster(operation::CLUSTER_ACTION)])?;
    ensure!(codes(&mut alice)? == [0, 0]);
    let mut bob = secured::login(&broker, "bob")?;
    secured::grant(
        &broker,
        &[allow(
            resource_type::CLUSTER,
            "kafka-cluster",
            BOB,
            operation::ALTER,
        )],
    )?;
    ensure!(codes(&mut bob)? == [0, 0]);
    Ok(())
}
