//! Protocol-level checks of the APIs clients use beyond the challenge:
//! Metadata, topic admin, DescribeConfigs, DescribeCluster, ListOffsets,
//! InitProducerId and idempotent produce, through the harness's own codecs.
//! Metadata changes are checked where they live: in `__cluster_metadata`.

use anyhow::{Context, Result, ensure};
use harness::admin::{self, CreatableTopic, CreatePartitionsTopic, ListOffsetsPartitionRequest};
use harness::batch::{self, Record, RecordBatch};
use harness::fixture::{self, TopicSpec};
use harness::metadata_log;
use harness::protocol::error::{
    INVALID_RECORD, INVALID_REQUEST, INVALID_TOPIC_EXCEPTION, UNKNOWN_TOPIC_ID,
    UNKNOWN_TOPIC_OR_PARTITION, UNSUPPORTED_VERSION,
};
use harness::protocol::{self, FetchPartitionRequest, FetchRequest};
use harness::wire::{ZERO_UUID, uuid};
use harness::{Broker, Client, or_skip};

const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const TOPIC_CONFIG: i8 = 1;
const DEFAULT_CONFIG: i8 = 5;

fn metadata(
    client: &mut Client,
    topics: Option<&[&str]>,
    auto_create: bool,
) -> Result<admin::MetadataResponse> {
    admin::decode_metadata_response(&client.round_trip(&admin::metadata_request(
        1,
        topics,
        auto_create,
        true,
    ))?)
}

fn create(
    client: &mut Client,
    topics: &[CreatableTopic],
    validate_only: bool,
) -> Result<admin::CreateTopicsResponse> {
    admin::decode_create_topics_response(&client.round_trip(&admin::create_topics_request(
        2,
        topics,
        5000,
        validate_only,
    ))?)
}

/// The names of the topics `__cluster_metadata` holds, read with the
/// harness's own metadata-log reader; empty where the files cannot be read.
fn topic_records(broker: &Broker) -> Result<Vec<String>> {
    let Some(log_dir) = broker.files() else {
        return Ok(Vec::new());
    };
    Ok(metadata_log::live_topics(&metadata_log::read(log_dir)?)
        .into_iter()
        .map(|(name, _)| name)
        .collect())
}

#[test]
fn metadata_describes_the_broker_and_topics() -> Result<()> {
    let topics = [
        TopicSpec::new("beta", uuid(0xb), 2),
        TopicSpec::new("alpha", uuid(0xa), 1),
    ];
    // An external broker auto-creates with its own num.partitions.
    let (broker, num_partitions) = match harness::launcher::external() {
        Some(_) => (Broker::on_fixture(&topics)?, None),
        None => (
            Broker::on_fixture_with(&topics, &[("num.partitions", "3")])?,
            Some(3),
        ),
    };
    let n = harness::launcher::unique;
    let [alpha, beta, created_name] = ["alpha", "beta", "created"].map(n);
    let mut client = broker.connect()?;
    let response = metadata(&mut client, None, false)?;
    ensure!(response.brokers.len() == 1, "{:?}", response.brokers);
    let me = &response.brokers[0];
    let node = broker.node_id()?;
    ensure!(
        (me.node_id, me.host.as_str(), me.port)
            == (node, broker.host().as_str(), i32::from(broker.port())),
        "{me:?}"
    );
    if broker.own_checks("the cluster id is the fixture's") {
        ensure!(
            response.cluster_id.as_deref() == Some(fixture::CLUSTER_ID),
            "{:?}",
            response.cluster_id
        );
    }
    ensure!(
        response.controller_id == node,
        "controller {}",
        response.controller_id
    );
    let names: Vec<_> = response
        .topics
        .iter()
        .filter_map(|t| t.name.clone())
        // An external broker may hold other tests' topics.
        .filter(|name| !broker.is_external() || *name == alpha || *name == beta)
        .collect();
    ensure!(names == [alpha.clone(), beta.clone()], "{names:?}");
    let beta = response.topic(&beta).context("beta")?;
    ensure!(
        beta.topic_id == broker.topic_id("beta") && beta.topic_authorized_operations == 0x0df8,
        "{beta:?}"
    );
    for (i, p) in beta.partitions.iter().enumerate() {
        ensure!(
            (p.error_code, p.partition_index, p.leader_id, p.leader_epoch)
                == (0, i as i32, node, 0),
            "{p:?}"
        );
        ensure!(
            p.replica_nodes == [node] && p.isr_nodes == [node] && p.offline_replicas.is_empty(),
            "{p:?}"
        );
    }

    // Unknown and invalid names, without auto-creation.
    let response = metadata(&mut client, Some(&[&n("missing"), &n("bad name")]), false)?;
    let codes: Vec<i16> = response.topics.iter().map(|t| t.error_code).collect();
    ensure!(
        codes == [UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION],
        "{codes:?}"
    );
    ensure!(!topic_records(&broker)?.contains(&n("missing")));

    // With auto-creation the topic is created with num.partitions, durably.
    let response = metadata(&mut client, Some(&[&created_name]), true)?;
    let created = response.topic(&created_name).context("created")?;
    ensure!(
        created.error_code == 0
            && !created.partitions.is_empty()
            && num_partitions.is_none_or(|n| created.partitions.len() == n)
            && created.topic_id != ZERO_UUID,
        "{created:?}"
    );
    if let Some(log_dir) = broker.files() {
        ensure!(
            topic_records(&broker)?.contains(&created_name),
            "no TopicRecord written"
        );
        let last = created.partitions.len() as i32 - 1;
        ensure!(fixture::log_file(log_dir, &created_name, last).exists());
    }

    // By id.
    let raw = client.round_trip(&admin::metadata_request_by_id(
        3,
        &[broker.topic_id("alpha"), uuid(0xdead)],
        false,
    ))?;
    let by_id = admin::decode_metadata_response(&raw)?;
    ensure!(
        by_id.topics[0].name.as_deref() == Some(alpha.as_str()) && by_id.topics[0].error_code == 0,
        "{by_id:?}"
    );
    ensure!(by_id.topics[1].error_code == UNKNOWN_TOPIC_ID, "{by_id:?}");
    Ok(())
}

#[test]
fn auto_creation_can_be_disabled() -> Result<()> {
    let broker = or_skip!(Broker::on_fixture_with(
        &[],
        &[("auto.create.topics.enable", "false")]
    ));
    let response = metadata(&mut broker.connect()?, Some(&["nope"]), true)?;
    ensure!(
        response.topics[0].error_code == UNKNOWN_TOPIC_OR_PARTITION,
        "{response:?}"
    );
    Ok(())
}

#[test]
fn topics_are_created_grown_and_deleted_durably() -> Result<()> {
    let mut broker = Broker::on_fixture(&[])?;
    let n = harness::launcher::unique;
    let [orders, fine, twice, dry_run] = ["orders", "fine", "twice", "dry-run"].map(n);
    let mut client = broker.connect()?;

    let response = create(
        &mut client,
        &[CreatableTopic::new(&orders, 3, 1).with_config("cleanup.policy", Some("compact"))],
        false,
    )?;
    let created = response.topic(&orders).context("orders")?;
    ensure!(
        created.error_code == 0 && created.topic_id != ZERO_UUID,
        "{created:?}"
    );
    ensure!(
        (created.num_partitions, created.replication_factor) == (3, 1),
        "{created:?}"
    );
    let configs = created.configs.as_ref().context("configs")?;
    let policy = configs
        .iter()
        .find(|c| c.name == "cleanup.policy")
        .context("cleanup.policy")?;
    ensure!(
        policy.value.as_deref() == Some("compact") && policy.config_source == TOPIC_CONFIG,
        "{policy:?}"
    );
    let orders_id = created.topic_id;
    for p in 0..3 {
        let Some(log_dir) = broker.files() else { break };
        let dir = log_dir.join(format!("{orders}-{p}"));
        let metadata_file = std::fs::read_to_string(dir.join("partition.metadata"))?;
        ensure!(
            metadata_file.contains(&fixture::base64_url(&orders_id)),
            "{metadata_file}"
        );
    }

    // Errors, each for its own topic; the valid one in the same request succeeds.
    let bad = [
        CreatableTopic::new(&orders, 1, 1),
        CreatableTopic::new(&n("bad/name"), 1, 1),
        CreatableTopic::new(&n("three-replicas"), 1, 3),
        CreatableTopic::new(&n("no-partitions"), 0, 1),
        CreatableTopic::new(&n("bad-config"), 1, 1).with_config("no.such.config", Some("1")),
        CreatableTopic::new("__cluster_metadata", 1, 1),
        CreatableTopic::new(&fine, -1, -1),
    ];
    let response = create(&mut client, &bad, false)?;
    let codes: Vec<i16> = response.topics.iter().map(|t| t.error_code).collect();
    ensure!(
        codes == [36, INVALID_TOPIC_EXCEPTION, 38, 37, 40, INVALID_REQUEST, 0],
        "{codes:?}"
    );
    ensure!(
        response.topics[0]
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("already exists")),
        "{:?}",
        response.topics[0]
    );
    ensure!(
        response.topics[2].num_partitions == -1,
        "failed topics report -1 partitions"
    );
    let duplicates = create(
        &mut client,
        &[
            CreatableTopic::new(&twice, 1, 1),
            CreatableTopic::new(&twice, 1, 1),
        ],
        false,
    )?;
    ensure!(
        duplicates
            .topics
            .iter()
            .all(|t| t.error_code == INVALID_REQUEST),
        "{duplicates:?}"
    );

    // validate_only checks without creating.
    let validated = create(&mut client, &[CreatableTopic::new(&dry_run, 2, 1)], true)?;
    ensure!(validated.topics[0].error_code == 0 && validated.topics[0].num_partitions == 2);
    ensure!(
        metadata(&mut client, Some(&[&dry_run]), false)?.topics[0].error_code
            == UNKNOWN_TOPIC_OR_PARTITION
    );

    // More partitions.
    let raw = client.round_trip(&admin::create_partitions_request(
        4,
        &[
            CreatePartitionsTopic::new(&orders, 5),
            CreatePartitionsTopic::new(&n("orders-x"), 2),
            CreatePartitionsTopic::new(&fine, 1),
        ],
        5000,
        false,
    ))?;
    let grown = admin::decode_create_partitions_response(&raw)?;
    let codes: Vec<i16> = grown.results.iter().map(|r| r.error_code).collect();
    ensure!(codes == [0, UNKNOWN_TOPIC_OR_PARTITION, 37], "{codes:?}");
    ensure!(
        metadata(&mut client, Some(&[&orders]), false)?.topics[0]
            .partitions
            .len()
            == 5
    );

    // Everything is in the metadata log: a restart sees the same topics.
    if broker.own_checks("restarts the broker") {
        broker.restart()?;
        client = broker.connect()?;
    }
    let after = metadata(&mut client, Some(&[&orders, &fine]), false)?;
    ensure!(
        after.topics[0].topic_id == orders_id && after.topics[0].partitions.len() == 5,
        "{after:?}"
    );
    ensure!(after.topics[1].error_code == 0);

    // Delete by name and by id; unknown ones fail on their own.
    let raw = client.round_trip(&admin::delete_topics_request(
        5,
        &[
            (Some(&orders), ZERO_UUID),
            (None, after.topics[1].topic_id),
            (Some(&n("ghost")), ZERO_UUID),
            (None, uuid(0xdead)),
        ],
        5000,
    ))?;
    let deleted = admin::decode_delete_topics_response(&raw)?;
    let codes: Vec<i16> = deleted.responses.iter().map(|r| r.error_code).collect();
    ensure!(
        codes == [0, 0, UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID],
        "{codes:?}"
    );
    ensure!(
        deleted.responses[1].name.as_deref() == Some(fine.as_str()),
        "{deleted:?}"
    );
    if let Some(log_dir) = broker.files() {
        ensure!(
            !log_dir.join(format!("{orders}-0")).exists(),
            "partition directory left behind"
        );
    }
    let gone = metadata(&mut client, Some(&[&orders]), false)?;
    ensure!(
        gone.topics[0].error_code == UNKNOWN_TOPIC_OR_PARTITION,
        "{gone:?}"
    );

    // A topic created again under the same name is new and empty.
    let again = create(&mut client, &[CreatableTopic::new(&orders, 1, 1)], false)?;
    ensure!(
        again.topics[0].error_code == 0 && again.topics[0].topic_id != orders_id,
        "{again:?}"
    );
    let raw = client.round_trip(&protocol::produce_request_v11(
        6,
        -1,
        &[(
            orders.clone(),
            vec![(0, Some(RecordBatch::plain(&["new"]).encode()))],
        )],
    ))?;
    ensure!(
        protocol::decode_produce_response_v11(&raw)?
            .partition(&orders, 0)
            .map(|p| (p.error_code, p.base_offset))
            == Some((0, 0))
    );
    if !broker.own_checks("restarts the broker") {
        return Ok(());
    }
    broker.restart()?;
    let mut client = broker.connect()?;
    ensure!(
        metadata(&mut client, Some(&[&orders]), false)?.topics[0].topic_id
            == again.topics[0].topic_id
    );
    Ok(())
}

#[test]
fn configs_and_cluster_are_described() -> Result<()> {
    // An external broker is described with its own configuration.
    let broker = match harness::launcher::external() {
        Some(_) => Broker::on_fixture(&[])?,
        None => Broker::on_fixture_with(
            &[],
            &[("log.retention.ms", "3600000"), ("num.partitions", "2")],
        )?,
    };
    let t = broker.name("t");
    let missing = broker.name("missing");
    let mut client = broker.connect()?;
    create(
        &mut client,
        &[CreatableTopic::new(&t, 1, 1).with_config("segment.bytes", Some("1048576"))],
        false,
    )?;

    let raw = client.round_trip(&admin::describe_configs_request(
        7,
        &[
            (admin::RESOURCE_TOPIC, t.as_str(), None),
            (admin::RESOURCE_TOPIC, missing.as_str(), None),
            (
                admin::RESOURCE_BROKER,
                "1",
                Some(&["num.partitions", "log.dirs"]),
            ),
        ],
        true,
        true,
    ))?;
    let described = admin::decode_describe_configs_response(&raw)?;
    let topic = &described.results[0];
    ensure!(topic.error_code == 0, "{topic:?}");
    let segment = topic.config("segment.bytes").context("segment.bytes")?;
    ensure!(
        segment.value.as_deref() == Some("1048576") && segment.config_source == TOPIC_CONFIG,
        "{segment:?}"
    );
    ensure!(
        segment
            .synonyms
            .first()
            .is_some_and(|s| s.name == "segment.bytes" && s.source == TOPIC_CONFIG),
        "{segment:?}"
    );
    let own = broker.own_checks(
        "log.retention.ms and num.partitions are set in the harness's server.properties",
    );
    let retention = topic.config("retention.ms").context("retention.ms")?;
    ensure!(
        !own || (retention.value.as_deref() == Some("3600000") && retention.config_source == 4),
        "{retention:?}"
    );
    let policy = topic.config("cleanup.policy").context("cleanup.policy")?;
    ensure!(
        policy.value.as_deref() == Some("delete") && policy.config_source == DEFAULT_CONFIG,
        "{policy:?}"
    );
    ensure!(
        policy.documentation.is_some() && policy.config_type == 7,
        "{policy:?}"
    );
    ensure!(
        described.results[1].error_code == UNKNOWN_TOPIC_OR_PARTITION,
        "{:?}",
        described.results[1]
    );
    let node = &described.results[2];
    let names: Vec<&str> = node.configs.iter().map(|c| c.name.as_str()).collect();
    ensure!(
        names == ["log.dirs", "num.partitions"] || names == ["num.partitions", "log.dirs"],
        "{names:?}"
    );
    ensure!(
        !own || node
            .config("num.partitions")
            .and_then(|c| c.value.as_deref())
            == Some("2"),
        "{node:?}"
    );

    let raw = client.round_trip(&admin::describe_cluster_request(
        8,
        true,
        admin::ENDPOINT_TYPE_BROKERS,
    ))?;
    let cluster = admin::decode_describe_cluster_response(&raw)?;
    ensure!(
        cluster.error_code == 0
            && (!own || cluster.cluster_id == fixture::CLUSTER_ID)
            && cluster.controller_id == broker.node_id()?,
        "{cluster:?}"
    );
    ensure!(
        cluster.brokers.len() == 1 && cluster.brokers[0].port == i32::from(broker.port()),
        "{cluster:?}"
    );
    let raw = client.round_trip(&admin::describe_cluster_request(
        9,
        false,
        admin::ENDPOINT_TYPE_CONTROLLERS,
    ))?;
    ensure!(
        admin::decode_describe_cluster_response(&raw)?.error_code
            == admin::error::UNSUPPORTED_ENDPOINT_TYPE
    );
    Ok(())
}

fn batch_at(timestamp: i64, values: &[&str]) -> Vec<u8> {
    let mut batch = RecordBatch::without_producer(
        values
            .iter()
            .map(|v| Record::value(v.as_bytes().to_vec()))
            .collect(),
    );
    batch.base_timestamp = timestamp;
    batch.max_timestamp = timestamp;
    batch.encode()
}

#[test]
fn list_offsets_by_position_and_time() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("t", uuid(0x7), 1)])?;
    let t = broker.topic("t");
    let mut client = broker.connect()?;
    // Offsets 0-1 at t=1000, 2-3 at t=2000, 4-5 at t=3000.
    for time in [1000, 2000, 3000] {
        let raw = client.round_trip(&protocol::produce_request_v11(
            1,
            -1,
            &[(t.clone(), vec![(0, Some(batch_at(time, &["a", "b"])))])],
        ))?;
        ensure!(
            protocol::decode_produce_response_v11(&raw)?
                .partition(&t, 0)
                .is_some_and(|p| p.error_code == 0)
        );
    }
    let ask = |client: &mut Client, timestamp: i64| -> Result<admin::ListedOffsetPartition> {
        let raw = client.round_trip(&admin::list_offsets_request(
            2,
            0,
            &[(
                t.as_str(),
                vec![ListOffsetsPartitionRequest::new(0, timestamp)],
            )],
        ))?;
        admin::decode_list_offsets_response(&raw)?
            .partition(&t, 0)
            .cloned()
            .context("no partition")
    };
    let cases = [
        (admin::EARLIEST_TIMESTAMP, (-1, 0)),
        (admin::LATEST_TIMESTAMP, (-1, 6)),
        (0, (1000, 0)),
        (1000, (1000, 0)),
        (1500, (2000, 2)),
        (3000, (3000, 4)),
        (3001, (-1, -1)),
        (admin::MAX_TIMESTAMP, (3000, 4)),
    ];
    for (timestamp, expected) in cases {
        let found = ask(&mut client, timestamp)?;
        ensure!(
            found.error_code == 0 && (found.timestamp, found.offset) == expected,
            "timestamp {timestamp}: {found:?}"
        );
    }
    let raw = client.round_trip(&admin::list_offsets_request(
        3,
        0,
        &[
            (t.as_str(), vec![ListOffsetsPartitionRequest::new(9, -1)]),
            (
                broker.name("nope").as_str(),
                vec![ListOffsetsPartitionRequest::new(0, -1)],
            ),
        ],
    ))?;
    let response = admin::decode_list_offsets_response(&raw)?;
    ensure!(
        response
            .topics
            .iter()
            .all(|(_, ps)| ps[0].error_code == UNKNOWN_TOPIC_OR_PARTITION),
        "{response:?}"
    );
    Ok(())
}

fn produce_one(client: &mut Client, records: Vec<u8>) -> Result<protocol::ProducedPartition> {
    client.produce(&harness::launcher::unique("t"), 0, records)
}

fn idempotent(producer_id: i64, epoch: i16, sequence: i32, values: &[&str]) -> Vec<u8> {
    RecordBatch::idempotent(producer_id, epoch, sequence, values).encode()
}

#[test]
fn idempotent_producers_get_ids_and_exactly_once_appends() -> Result<()> {
    let mut broker = Broker::on_fixture(&[TopicSpec::new("t", uuid(0x7), 1)])?;
    let mut client = broker.connect()?;
    let first = client.init_producer_id(None)?;
    let second = client.init_producer_id(None)?;
    ensure!(
        first.error_code == 0 && first.producer_epoch == 0 && first.producer_id >= 0,
        "{first:?}"
    );
    ensure!(
        second.producer_id != first.producer_id,
        "an id was handed out twice"
    );
    // A transactional id keeps its producer id; each new instance bumps
    // the epoch (which fences the one before).
    let transactional_id = harness::launcher::unique("txn");
    let txn = client.init_producer_id(Some(&transactional_id))?;
    ensure!(
        txn.error_code == 0 && txn.producer_epoch == 0 && txn.producer_id != first.producer_id,
        "{txn:?}"
    );
    let again = client.init_producer_id(Some(&transactional_id))?;
    ensure!(
        (again.error_code, again.producer_id, again.producer_epoch) == (0, txn.producer_id, 1),
        "{again:?}"
    );

    let id = first.producer_id;
    let batch = idempotent(id, 0, 0, &["a", "b"]);
    ensure!(produce_one(&mut client, batch.clone())?.base_offset == 0);
    // A retry is acknowledged with its first offsets and not written twice.
    let retry = produce_one(&mut client, batch)?;
    ensure!((retry.error_code, retry.base_offset) == (0, 0), "{retry:?}");
    let gap = produce_one(&mut client, idempotent(id, 0, 5, &["gap"]))?;
    ensure!(gap.error_code == OUT_OF_ORDER_SEQUENCE_NUMBER, "{gap:?}");
    ensure!(produce_one(&mut client, idempotent(id, 0, 2, &["c"]))?.base_offset == 2);
    ensure!(produce_one(&mut client, idempotent(id, 1, 0, &["new epoch"]))?.base_offset == 3);
    let fenced = produce_one(&mut client, idempotent(id, 0, 3, &["old epoch"]))?;
    ensure!(fenced.error_code == INVALID_PRODUCER_EPOCH, "{fenced:?}");
    // The challenge's batches (producer 0, sequence 0) are still accepted.
    if broker.own_checks("the challenge's producer 0 is this broker's own leniency") {
        ensure!(
            produce_one(&mut client, RecordBatch::of_values(&["tester"]).encode())?.error_code == 0
        );
    }
    let bad_sequence = produce_one(&mut client, idempotent(id + 7, 0, -1, &["x"]))?;
    ensure!(
        bad_sequence.error_code == INVALID_RECORD,
        "{bad_sequence:?}"
    );

    // After a crash the state is rebuilt from the log, and ids are not reused.
    if !broker.own_checks("restarts the broker") {
        return Ok(());
    }
    broker.restart()?;
    let mut client = broker.connect()?;
    let retry = produce_one(&mut client, idempotent(id, 1, 0, &["new epoch"]))?;
    ensure!((retry.error_code, retry.base_offset) == (0, 3), "{retry:?}");
    let third = client.init_producer_id(None)?;
    ensure!(
        third.producer_id != first.producer_id && third.producer_id != second.producer_id,
        "{third:?}"
    );
    let log = FetchRequest::new(vec![(uuid(0x7), vec![FetchPartitionRequest::new(0, 0)])]);
    let fetched = protocol::decode_fetch_response_v16(&client.round_trip(&log.encode_v16(9))?)?;
    let batches = batch::decode_batches(
        fetched.responses[0].1[0]
            .records
            .as_deref()
            .unwrap_or_default(),
    )?;
    let offsets: Vec<i64> = batches.iter().map(|b| b.batch.base_offset).collect();
    ensure!(offsets == [0, 2, 3, 4], "each batch once: {offsets:?}");
    Ok(())
}

const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const ELECTION_NOT_NEEDED: i16 = 84;
const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;

#[test]
fn elections_and_reassignments_on_one_node() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("elect", uuid(0xe1), 2)])?;
    let mut client = broker.connect()?;
    let node = metadata(&mut client, None, false)?.brokers[0].node_id;
    let t = |name: &str, partition: i32, code: i16| (name.to_string(), partition, code);

    // The preferred leader leads every partition; unknown ones are named.
    let topics = [("elect", vec![0, 1, 5]), ("no-such-topic", vec![0])];
    let elected = admin::decode_elect_leaders_response(
        &client.round_trip(&admin::elect_leaders_request(3, 0, Some(&topics)))?,
    )?;
    protocol::ensure_correlation(elected.correlation_id, 3)?;
    ensure!(
        elected.error_code == 0
            && elected.codes()
                == [
                    t("elect", 0, ELECTION_NOT_NEEDED),
                    t("elect", 1, ELECTION_NOT_NEEDED),
                    t("elect", 5, UNKNOWN_TOPIC_OR_PARTITION),
                    t("no-such-topic", 0, UNKNOWN_TOPIC_OR_PARTITION),
                ],
        "{elected:?}"
    );
    // Unclean: the partition has a leader, so none is needed either.
    let unclean = admin::decode_elect_leaders_response(&client.round_trip(
        &admin::elect_leaders_request(4, 1, Some(&[("elect", vec![0])])),
    )?)?;
    ensure!(
        unclean.codes() == [t("elect", 0, ELECTION_NOT_NEEDED)],
        "{unclean:?}"
    );
    // Every partition: those that need no election are left out.
    let everything = admin::decode_elect_leaders_response(
        &client.round_trip(&admin::elect_leaders_request(5, 0, None))?,
    )?;
    ensure!(
        everything.error_code == 0 && everything.topics.is_empty(),
        "{everything:?}"
    );
    // An election type Kafka does not know.
    let unknown = admin::decode_elect_leaders_response(&client.round_trip(
        &admin::elect_leaders_request(6, 7, Some(&[("elect", vec![0])])),
    )?)?;
    ensure!(
        unknown.error_code == INVALID_REQUEST
            && unknown.codes() == [t("elect", 0, INVALID_REQUEST)],
        "{unknown:?}"
    );

    // Nothing is ever being reassigned.
    for topics in [None, Some(&[("elect", vec![0, 1])][..])] {
        let listed = admin::decode_list_partition_reassignments_response(
            &client.round_trip(&admin::list_partition_reassignments_request(7, topics))?,
        )?;
        ensure!(listed == (0, Vec::new()), "{listed:?}");
    }
    // [node.id] is accepted as it is; another broker, an empty set, a
    // broker named twice, a cancellation and an unknown partition are not.
    let reassignments = [
        (
            "elect",
            vec![
                (0, Some(vec![node])),
                (1, Some(vec![node, node + 1])),
                (5, Some(vec![node])),
            ],
        ),
        ("no-such-topic", vec![(0, Some(vec![node]))]),
    ];
    let altered = admin::decode_alter_partition_reassignments_response(&client.round_trip(
        &admin::alter_partition_reassignments_request(8, true, &reassignments),
    )?)?;
    ensure!(
        altered.error_code == 0
            && altered.codes()
                == [
                    t("elect", 0, 0),
                    t("elect", 1, INVALID_REPLICA_ASSIGNMENT),
                    t("elect", 5, UNKNOWN_TOPIC_OR_PARTITION),
                    t("no-such-topic", 0, UNKNOWN_TOPIC_OR_PARTITION),
                ],
        "{altered:?}"
    );
    let odd = [(
        "elect",
        vec![
            (0, Some(vec![])),
            (1, Some(vec![node, node])),
            (0, Some(vec![node + 7])),
            (1, None),
        ],
    )];
    let altered = admin::decode_alter_partition_reassignments_response(&client.round_trip(
        &admin::alter_partition_reassignments_request(9, false, &odd),
    )?)?;
    ensure!(
        altered.codes()
            == [
                t("elect", 0, INVALID_REPLICA_ASSIGNMENT),
                t("elect", 1, INVALID_REPLICA_ASSIGNMENT),
                t("elect", 0, INVALID_REPLICA_ASSIGNMENT),
                t("elect", 1, NO_REASSIGNMENT_IN_PROGRESS),
            ],
        "{altered:?}"
    );
    // The replica sets are as they were.
    let described = metadata(&mut client, Some(&["elect"]), false)?;
    let topic = described.topic("elect").context("elect not described")?;
    ensure!(
        topic
            .partitions
            .iter()
            .all(|p| p.replica_nodes == [node] && p.leader_id == node),
        "{topic:?}"
    );

    // A request cut short closes only its own connection.
    let mut request = admin::elect_leaders_request(10, 0, Some(&[("elect", vec![0])]));
    request.truncate(request.len() - 5);
    let mut cut = broker.connect()?;
    ensure!(
        cut.round_trip(&request).is_err(),
        "a truncated ElectLeaders was answered"
    );
    let again = admin::decode_elect_leaders_response(&client.round_trip(
        &admin::elect_leaders_request(11, 0, Some(&[("elect", vec![1])])),
    )?)?;
    ensure!(
        again.codes() == [t("elect", 1, ELECTION_NOT_NEEDED)],
        "{again:?}"
    );
    Ok(())
}

/// DescribeQuorum, UpdateFeatures and ListConfigResources on one node, and
/// the feature levels ApiVersions reports: a new metadata log starts at
/// Kafka 4.2's metadata.version with group.version and share.version 1;
/// levels change by
/// Kafka's rules and are written as FeatureLevelRecords that survive a
/// restart.
#[test]
fn quorum_features_and_config_resources() -> Result<()> {
    use harness::cluster_admin::{self as ca, INVALID_UPDATE_VERSION, resource, upgrade};

    let dir = tempfile::tempdir()?;
    let mut broker = or_skip!(Broker::start(dir.path()));
    let mut client = broker.connect()?;
    let node = metadata(&mut client, None, false)?.brokers[0].node_id;
    let features = |client: &mut Client| {
        let raw = client.round_trip(&protocol::api_versions_request(3, 9))?;
        Ok::<_, anyhow::Error>(protocol::decode_api_versions_response(&raw, 3)?.features)
    };

    // A new log: the newest metadata.version, group.version 1 and
    // share.version 1.
    let found = features(&mut client)?;
    // In any order: the features supported above level 0.
    let mut supported = found.supported.clone();
    supported.sort();
    ensure!(
        supported
            == [
                ("group.version".to_string(), 0, 1),
                ("metadata.version".to_string(), 7, 29),
                ("share.version".to_string(), 0, 1),
            ],
        "{found:?}"
    );
    ensure!(
        found.finalized_level("metadata.version") == Some(29)
            && found.finalized_level("group.version") == Some(1)
            && found.finalized_level("share.version") == Some(1)
            && found.finalized_epoch.is_some_and(|e| e >= 1),
        "{found:?}"
    );

    // The quorum: this node, the only voter, leads; nothing observes.
    let quorum = ca::decode_describe_quorum_response(&client.round_trip(
        &ca::describe_quorum_request(2, &[("__cluster_metadata", vec![0])]),
    )?)?;
    ensure!(
        quorum.error_code == 0 && quorum.topics.len() == 1,
        "{quorum:?}"
    );
    let (name, partitions) = &quorum.topics[0];
    ensure!(
        name == "__cluster_metadata" && partitions.len() == 1,
        "{quorum:?}"
    );
    let p = &partitions[0];
    ensure!(
        p.error_code == 0
            && p.leader_id == node
            && p.voters.len() == 1
            && p.voters[0].replica_id == node
            && p.voters[0].log_end_offset == p.high_watermark
            && p.high_watermark >= 2
            && p.voters[0].last_caught_up_timestamp > 0
            && p.observers.is_empty(),
        "{quorum:?}"
    );
    ensure!(
        quorum.nodes.len() == 1 && quorum.nodes[0].0 == node,
        "{quorum:?}"
    );
    // Another partition, or two of them: UNKNOWN_TOPIC_OR_PARTITION each.
    let wrong = ca::decode_describe_quorum_response(&client.round_trip(
        &ca::describe_quorum_request(3, &[("__cluster_metadata", vec![1]), ("t", vec![0])]),
    )?)?;
    let codes: Vec<i16> = wrong
        .topics
        .iter()
        .flat_map(|(_, ps)| ps.iter().map(|p| p.error_code))
        .collect();
    ensure!(
        wrong.error_code == 0 && codes == [UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_OR_PARTITION],
        "{wrong:?}"
    );

    // UpdateFeatures, v1 (results per feature) and v2 (top level only).
    let update =
        |client: &mut Client, version: i16, updates: &[(&str, i16, i8)], validate: bool| {
            let raw =
                client.round_trip(&ca::update_features_request(4, version, updates, validate))?;
            ca::decode_update_features_response(&raw, version)
        };
    // A safe metadata.version downgrade (nothing changed from 4.0-IV1 on)
    // is refused without a downgrade type, then done with one.
    let refused = update(
        &mut client,
        1,
        &[("metadata.version", 23, upgrade::UPGRADE)],
        false,
    )?;
    ensure!(
        refused.error_code == INVALID_UPDATE_VERSION
            && refused.results.len() == 1
            && refused.results[0].1 == INVALID_UPDATE_VERSION,
        "{refused:?}"
    );
    let validated = update(
        &mut client,
        1,
        &[("metadata.version", 23, upgrade::SAFE_DOWNGRADE)],
        true,
    )?;
    ensure!(validated.error_code == 0, "{validated:?}");
    ensure!(features(&mut client)?.finalized_level("metadata.version") == Some(29));
    let done = update(
        &mut client,
        2,
        &[("metadata.version", 23, upgrade::SAFE_DOWNGRADE)],
        false,
    )?;
    ensure!(done.error_code == 0 && done.results.is_empty(), "{done:?}");
    ensure!(features(&mut client)?.finalized_level("metadata.version") == Some(23));
    // Across 4.0-IV1's metadata change: refused, safe or unsafe.
    for kind in [upgrade::SAFE_DOWNGRADE, upgrade::UNSAFE_DOWNGRADE] {
        let across = update(&mut client, 2, &[("metadata.version", 22, kind)], false)?;
        ensure!(across.error_code == INVALID_UPDATE_VERSION, "{across:?}");
    }
    // Out of range, a feature this node has only at level 0, an unknown
    // one, an unknown upgrade type: refused, and none of a request's
    // updates applies when one is refused.
    for updates in [
        vec![("metadata.version", 30, upgrade::UPGRADE)],
        vec![("streams.version", 1, upgrade::UPGRADE)],
        vec![("no.such.feature", 1, upgrade::UPGRADE)],
        vec![("group.version", 0, 9)],
        vec![
            ("group.version", 0, upgrade::SAFE_DOWNGRADE),
            ("kraft.version", 1, upgrade::UPGRADE),
        ],
    ] {
        let response = update(&mut client, 2, &updates, false)?;
        ensure!(
            response.error_code == INVALID_UPDATE_VERSION,
            "{updates:?}: {response:?}"
        );
    }
    ensure!(features(&mut client)?.finalized_level("group.version") == Some(1));
    // Two updates of one feature: INVALID_REQUEST.
    let twice = update(
        &mut client,
        2,
        &[
            ("group.version", 1, upgrade::UPGRADE),
            ("group.version", 1, upgrade::UPGRADE),
        ],
        false,
    )?;
    ensure!(twice.error_code == INVALID_REQUEST, "{twice:?}");
    // group.version down to 0 removes it; back up to 4.2-IV1.
    let down = update(
        &mut client,
        2,
        &[("group.version", 0, upgrade::SAFE_DOWNGRADE)],
        false,
    )?;
    ensure!(down.error_code == 0, "{down:?}");
    let up = update(
        &mut client,
        2,
        &[("metadata.version", 29, upgrade::UPGRADE)],
        false,
    )?;
    ensure!(up.error_code == 0, "{up:?}");
    let found = features(&mut client)?;
    ensure!(
        found.finalized_level("metadata.version") == Some(29)
            && found.finalized_level("group.version").is_none(),
        "{found:?}"
    );
    // Kafka's records, kept across a restart.
    let levels: Vec<(String, i16)> = metadata_log::read(broker.log_dir())?
        .into_iter()
        .filter_map(|r| match r.record {
            metadata_log::MetadataRecord::FeatureLevel { name, level } => Some((name, level)),
            _ => None,
        })
        .collect();
    ensure!(
        levels
            == [
                ("metadata.version".to_string(), 29),
                ("group.version".to_string(), 1),
                ("share.version".to_string(), 1),
                ("metadata.version".to_string(), 23),
                ("group.version".to_string(), 0),
                ("metadata.version".to_string(), 29),
            ],
        "{levels:?}"
    );
    broker.restart()?;
    let mut client = broker.connect()?;
    let found = features(&mut client)?;
    ensure!(
        found.finalized_level("metadata.version") == Some(29)
            && found.finalized_level("group.version").is_none(),
        "after a restart: {found:?}"
    );

    // ListConfigResources: every type, or those asked for.
    create(&mut client, &[CreatableTopic::new("listed", 1, 1)], false)?;
    let (code, all) = ca::decode_list_config_resources_response(
        &client.round_trip(&ca::list_config_resources_request(5, &[]))?,
    )?;
    let id = node.to_string();
    ensure!(
        code == 0
            && all.contains(&("listed".to_string(), resource::TOPIC))
            && all.contains(&(id.clone(), resource::BROKER))
            && all.contains(&(id.clone(), resource::BROKER_LOGGER)),
        "{all:?}"
    );
    let (code, brokers) = ca::decode_list_config_resources_response(&client.round_trip(
        &ca::list_config_resources_request(6, &[resource::BROKER, resource::CLIENT_METRICS]),
    )?)?;
    ensure!(
        code == 0 && brokers == [(id, resource::BROKER)],
        "{brokers:?}"
    );
    let (code, none) = ca::decode_list_config_resources_response(
        &client.round_trip(&ca::list_config_resources_request(7, &[3]))?,
    )?;
    ensure!(code == UNSUPPORTED_VERSION && none.is_empty(), "{none:?}");

    // A truncated UpdateFeatures closes its own connection only.
    let mut bad = broker.connect()?;
    let mut raw =
        ca::update_features_request(8, 2, &[("group.version", 1, upgrade::UPGRADE)], false);
    raw.truncate(raw.len() - 4);
    bad.send(&raw)?;
    ensure!(
        bad.is_closed_by_peer(),
        "truncated UpdateFeatures left open"
    );
    ensure!(features(&mut client)?.finalized_level("metadata.version") == Some(29));
    Ok(())
}

/// DescribeLogDirs and AlterReplicaLogDirs on the one log directory: the
/// directory's absolute path and disk space, each partition's size (the
/// bytes of its segments) and offset lag (0), a partition moved to the
/// directory it is in (a no-op), and Kafka's errors for a directory that
/// is not one of the broker's (relative ones included) or a partition it
/// does not host.
#[test]
fn log_dirs_are_described_and_partitions_stay_in_the_only_one() -> Result<()> {
    use harness::cluster_admin as ca;
    const LOG_DIR_NOT_FOUND: i16 = 57;
    const REPLICA_NOT_AVAILABLE: i16 = 9;

    let broker = Broker::on_fixture(&[TopicSpec::new("dirs", uuid(0xd1), 2)])?;
    let topic = broker.topic("dirs");
    let mut client = broker.connect()?;
    let produced = client.produce(&topic, 1, RecordBatch::plain(&["one", "two"]).encode())?;
    ensure!(produced.error_code == 0, "{produced:?}");

    let (code, dirs) = ca::decode_describe_log_dirs_response(
        &client.round_trip(&ca::describe_log_dirs_request(1, None))?,
    )?;
    ensure!(code == 0 && dirs.len() == 1, "{dirs:?}");
    let dir = &dirs[0];
    ensure!(
        dir.error_code == 0
            && std::path::Path::new(&dir.log_dir).is_absolute()
            && dir.total_bytes > 0
            && (0..=dir.total_bytes).contains(&dir.usable_bytes),
        "{dir:?}"
    );
    if !broker.is_external() {
        ensure!(
            std::path::Path::new(&dir.log_dir).canonicalize()?
                == broker.log_dir().canonicalize()?,
            "{dir:?}"
        );
        // The size is that of the partition's segments.
        let segments: u64 = std::fs::read_dir(broker.log_dir().join(format!("{topic}-1")))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
            .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
            .sum();
        ensure!(
            dir.partitions
                .contains(&(topic.clone(), 1, segments as i64, 0, false))
                && dir.partitions.contains(&(topic.clone(), 0, 0, 0, false))
                && !dir.partitions.iter().any(|p| p.0 == "__cluster_metadata"),
            "{dir:?}"
        );
    }
    // Only the partitions asked for.
    let (_, dirs) = ca::decode_describe_log_dirs_response(&client.round_trip(
        &ca::describe_log_dirs_request(2, Some(&[(&topic, vec![1]), ("no-such-topic", vec![0])])),
    )?)?;
    let listed: Vec<(String, i32)> = dirs[0]
        .partitions
        .iter()
        .map(|p| (p.0.clone(), p.1))
        .collect();
    ensure!(listed == [(topic.clone(), 1)], "{listed:?}");

    // Moves: to the directory it is in, elsewhere, a relative path, an
    // unknown partition.
    let own = dirs[0].log_dir.clone();
    let moved = ca::decode_alter_replica_log_dirs_response(&client.round_trip(
        &ca::alter_replica_log_dirs_request(
            3,
            &[
                (
                    &own,
                    vec![(topic.as_str(), vec![0, 1]), ("no-such-topic", vec![0])],
                ),
                ("/no/such/dir", vec![(topic.as_str(), vec![0])]),
            ],
        ),
    )?)?;
    let mut moved = moved;
    moved.sort();
    let mut expected = vec![
        ("no-such-topic".to_string(), 0, REPLICA_NOT_AVAILABLE),
        (topic.clone(), 0, LOG_DIR_NOT_FOUND),
        (topic.clone(), 1, 0),
    ];
    expected.sort();
    ensure!(moved == expected, "{moved:?}");
    let relative = ca::decode_alter_replica_log_dirs_response(&client.round_trip(
        &ca::alter_replica_log_dirs_request(4, &[("logs", vec![(topic.as_str(), vec![1])])]),
    )?)?;
    ensure!(
        relative == [(topic.clone(), 1, LOG_DIR_NOT_FOUND)],
        "{relative:?}"
    );
    // Nothing moved or changed.
    let fetched = client.produce(&topic, 1, RecordBatch::plain(&["three"]).encode())?;
    ensure!(
        fetched.error_code == 0 && fetched.base_offset == 2,
        "{fetched:?}"
    );

    // A truncated request closes only its own connection.
    let mut bad = broker.connect()?;
    let mut raw = ca::describe_log_dirs_request(5, Some(&[(&topic, vec![0, 1])]));
    raw.truncate(raw.len() - 3);
    bad.send(&raw)?;
    ensure!(
        bad.is_closed_by_peer(),
        "truncated DescribeLogDirs left open"
    );
    Ok(())
}
