//! The 25 stages of the "Build your own Kafka" challenge, one test each,
//! named after the stage slug. Each checks at least what the official tester
//! checks in that stage, through the harness's own codec.

use anyhow::{Context, Result, ensure};
use harness::batch::{self, RecordBatch};
use harness::fixture::{self, PartitionSpec, TopicSpec};
use harness::protocol::error::{UNKNOWN_TOPIC_ID, UNKNOWN_TOPIC_OR_PARTITION, UNSUPPORTED_VERSION};
use harness::protocol::{self, FetchPartitionRequest, FetchRequest};
use harness::wire::{Uuid, ZERO_UUID, uuid};
use harness::{Broker, Client, or_skip};
use std::time::Duration;

const FOO: Uuid = uuid(0x71a59a51_8968_4f8b_937e_000000000051);
const BAR: Uuid = uuid(0x71a59a51_8968_4f8b_937e_000000000052);
const BAZ: Uuid = uuid(0x71a59a51_8968_4f8b_937e_000000000053);

fn api_versions(client: &mut Client, correlation_id: i32) -> Result<protocol::ApiVersionsResponse> {
    let raw = client.round_trip(&protocol::api_versions_request(4, correlation_id))?;
    let response = protocol::decode_api_versions_response(&raw, 4)?;
    protocol::ensure_correlation(response.correlation_id, correlation_id)?;
    ensure!(
        response.error_code == 0,
        "error code {}",
        response.error_code
    );
    Ok(response)
}

/// Checks the ApiVersions entry of `api_key` as the official tester does:
/// its min version within `min..=max` and its max version at least `max`.
fn ensure_api(
    response: &protocol::ApiVersionsResponse,
    api_key: i16,
    min: i16,
    max: i16,
) -> Result<()> {
    let (lo, hi) = response
        .versions_of(api_key)
        .with_context(|| format!("API key {api_key} missing from {:?}", response.api_keys))?;
    ensure!(
        (min..=max).contains(&lo) && hi >= max,
        "API key {api_key} supports {lo}..={hi}, need a min in {min}..={max} and a max of at least {max}"
    );
    Ok(())
}

fn describe(
    client: &mut Client,
    correlation_id: i32,
    topics: &[&str],
    limit: i32,
) -> Result<protocol::DescribeTopicPartitionsResponse> {
    let raw = client.round_trip(&protocol::describe_topic_partitions_request(
        correlation_id,
        topics,
        limit,
        None,
    ))?;
    let response = protocol::decode_describe_topic_partitions_response(&raw)?;
    protocol::ensure_correlation(response.correlation_id, correlation_id)?;
    Ok(response)
}

/// Checks a described topic that exists with partitions 0..count led by node 1.
fn ensure_described(
    topic: &protocol::DescribedTopic,
    name: &str,
    id: Uuid,
    count: i32,
) -> Result<()> {
    ensure!(topic.error_code == 0, "{name}: error {}", topic.error_code);
    ensure!(
        topic.name.as_deref() == Some(name),
        "name {:?}, expected {name}",
        topic.name
    );
    ensure!(
        topic.topic_id == id,
        "{name}: topic id {:?}",
        topic.topic_id
    );
    ensure!(!topic.is_internal, "{name} reported internal");
    ensure!(
        topic.topic_authorized_operations == 0x0df8,
        "authorized operations {:#x}",
        topic.topic_authorized_operations
    );
    let indexes: Vec<i32> = topic.partitions.iter().map(|p| p.partition_index).collect();
    ensure!(
        indexes == (0..count).collect::<Vec<_>>(),
        "{name}: partitions {indexes:?}"
    );
    for p in &topic.partitions {
        ensure!(
            p.error_code == 0,
            "{name}-{}: error {}",
            p.partition_index,
            p.error_code
        );
        ensure!(
            p.leader_id == 1 && p.leader_epoch == 0,
            "{name}-{}: leader {} epoch {}",
            p.partition_index,
            p.leader_id,
            p.leader_epoch
        );
        ensure!(
            p.replica_nodes == [1] && p.isr_nodes == [1],
            "{name}-{}: replicas {:?} isr {:?}",
            p.partition_index,
            p.replica_nodes,
            p.isr_nodes
        );
        ensure!(
            p.eligible_leader_replicas.as_deref() == Some(&[][..]),
            "elr {:?}",
            p.eligible_leader_replicas
        );
        ensure!(
            p.last_known_elr.as_deref() == Some(&[][..]),
            "last known elr {:?}",
            p.last_known_elr
        );
        ensure!(
            p.offline_replicas.is_empty(),
            "offline {:?}",
            p.offline_replicas
        );
    }
    Ok(())
}

fn fetch(
    client: &mut Client,
    correlation_id: i32,
    request: &FetchRequest,
) -> Result<protocol::FetchResponse> {
    let raw = client.round_trip(&request.encode_v16(correlation_id))?;
    let response = protocol::decode_fetch_response_v16(&raw)?;
    protocol::ensure_correlation(response.correlation_id, correlation_id)?;
    ensure!(
        response.throttle_time_ms == 0 && response.error_code == 0,
        "throttle {} error {}",
        response.throttle_time_ms,
        response.error_code
    );
    Ok(response)
}

/// Fetches partition 0 of `topic_id` from offset 0 and returns it.
fn fetch_partition_0(client: &mut Client, topic_id: Uuid) -> Result<protocol::FetchedPartition> {
    let request = FetchRequest::new(vec![(topic_id, vec![FetchPartitionRequest::new(0, 0)])]);
    let response = fetch(client, 1234, &request)?;
    ensure!(
        response.responses.len() == 1,
        "{} topics in response",
        response.responses.len()
    );
    let (id, partitions) = &response.responses[0];
    ensure!(*id == topic_id, "topic id {id:?}");
    ensure!(
        partitions.len() == 1 && partitions[0].partition_index == 0,
        "partitions {partitions:?}"
    );
    Ok(partitions[0].clone())
}

fn produce(
    client: &mut Client,
    correlation_id: i32,
    topics: &[protocol::ProduceTopic],
) -> Result<protocol::ProduceResponse> {
    let raw = client.round_trip(&protocol::produce_request_v11(correlation_id, -1, topics))?;
    let response = protocol::decode_produce_response_v11(&raw)?;
    protocol::ensure_correlation(response.correlation_id, correlation_id)?;
    ensure!(
        response.throttle_time_ms == 0,
        "throttle {}",
        response.throttle_time_ms
    );
    Ok(response)
}

/// Checks a partition result: no error and `base_offset`, or the unknown-partition error.
fn ensure_produced(
    response: &protocol::ProduceResponse,
    topic: &str,
    index: i32,
    base_offset: i64,
) -> Result<()> {
    let p = response
        .partition(topic, index)
        .with_context(|| format!("{topic}-{index} missing from {response:?}"))?;
    ensure!(
        (
            p.error_code,
            p.base_offset,
            p.log_append_time_ms,
            p.log_start_offset
        ) == (0, base_offset, -1, 0),
        "{topic}-{index}: {p:?}, expected base offset {base_offset}"
    );
    ensure!(
        p.record_errors.is_empty() && p.error_message.is_none(),
        "{topic}-{index}: {p:?}"
    );
    Ok(())
}

fn ensure_unknown(response: &protocol::ProduceResponse, topic: &str, index: i32) -> Result<()> {
    let p = response
        .partition(topic, index)
        .with_context(|| format!("{topic}-{index} missing"))?;
    ensure!(
        (
            p.error_code,
            p.base_offset,
            p.log_append_time_ms,
            p.log_start_offset
        ) == (UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1),
        "{topic}-{index}: {p:?}"
    );
    Ok(())
}

/// Checks that the log file of `topic-index` holds exactly `sent`, stored at
/// the given offsets: same bytes (so same CRC) but for the base offset.
fn ensure_log_file(broker: &Broker, topic: &str, index: i32, sent: &[(i64, &[u8])]) -> Result<()> {
    let Some(log_dir) = broker.files() else {
        return Ok(());
    };
    let path = fixture::log_file(log_dir, topic, index);
    let on_disk = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let expected: Vec<u8> = sent
        .iter()
        .flat_map(|(offset, bytes)| batch::as_stored(bytes, *offset, 0))
        .collect();
    ensure!(
        on_disk == expected,
        "{} does not hold the produced batches",
        path.display()
    );
    let decoded = batch::decode_batches(&on_disk)?;
    for ((offset, bytes), stored) in sent.iter().zip(&decoded) {
        let sent_crc = u32::from_be_bytes(bytes[17..21].try_into()?);
        ensure!(
            stored.crc == sent_crc,
            "CRC {:#x} on disk, {sent_crc:#x} sent",
            stored.crc
        );
        ensure!(
            stored.batch.base_offset == *offset,
            "base offset {}",
            stored.batch.base_offset
        );
    }
    Ok(())
}

/// A batch like the tester's: one record per value.
fn batch(values: &[&str]) -> Vec<u8> {
    RecordBatch::of_values(values).encode()
}

#[test]
fn vi6_bind_to_port() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    std::net::TcpStream::connect(broker.address()).context("port accepts connections")?;
    Ok(())
}

#[test]
fn nv3_send_correlation_id() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let mut client = broker.connect()?;
    let frame = {
        client.send(&protocol::api_versions_request(4, 7))?;
        client.receive_frame()?
    };
    let size = i32::from_be_bytes(frame[0..4].try_into()?);
    ensure!(size as usize == frame.len() - 4, "size field {size}");
    ensure!(
        frame[4..8] == 7i32.to_be_bytes(),
        "correlation id bytes {:?}",
        &frame[4..8]
    );
    Ok(())
}

#[test]
fn wa6_parse_correlation_id() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let mut client = broker.connect()?;
    for correlation_id in [1_870_644_833, 0, i32::MAX] {
        let raw = client.round_trip(&protocol::api_versions_request(4, correlation_id))?;
        ensure!(
            raw[0..4] == correlation_id.to_be_bytes(),
            "correlation id not echoed"
        );
    }
    Ok(())
}

#[test]
fn nc5_parse_api_version() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let mut client = broker.connect()?;
    let raw = client.round_trip(&protocol::api_versions_request(1337, 311_908_132))?;
    // Answered in the v0 layout: error code right after the v0 header.
    let response = protocol::decode_api_versions_response(&raw, 0)?;
    protocol::ensure_correlation(response.correlation_id, 311_908_132)?;
    ensure!(
        response.error_code == UNSUPPORTED_VERSION,
        "error {}",
        response.error_code
    );
    ensure!(
        response.api_keys == [(18, 0, 4)],
        "api keys {:?}",
        response.api_keys
    );
    // The connection stays usable.
    api_versions(&mut client, 2)?;
    Ok(())
}

#[test]
fn pv1_handle_api_versions_requests() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let mut client = broker.connect()?;
    let response = api_versions(&mut client, 1_545_217_325)?;
    ensure_api(&response, protocol::API_VERSIONS, 0, 4)?;
    ensure!(
        response.throttle_time_ms == Some(0),
        "throttle {:?}",
        response.throttle_time_ms
    );
    ensure!(
        !client.has_unread_bytes(Duration::from_millis(100))?,
        "bytes after the response"
    );
    Ok(())
}

#[test]
fn nh4_serial_requests() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let mut client = broker.connect()?;
    for correlation_id in 10..14 {
        api_versions(&mut client, correlation_id)?;
    }
    // Pipelined: all sent before any is read; answered in order.
    for correlation_id in 20..25 {
        client.send(&protocol::api_versions_request(4, correlation_id))?;
    }
    for correlation_id in 20..25 {
        let response = protocol::decode_api_versions_response(&client.receive()?, 4)?;
        protocol::ensure_correlation(response.correlation_id, correlation_id)?;
    }
    Ok(())
}

#[test]
fn sk0_concurrent_requests() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let mut clients: Vec<Client> = (0..3).map(|_| broker.connect()).collect::<Result<_>>()?;
    for (i, client) in clients.iter_mut().enumerate() {
        client.send(&protocol::api_versions_request(4, 100 + i as i32))?;
    }
    for (i, client) in clients.iter_mut().enumerate().rev() {
        let response = protocol::decode_api_versions_response(&client.receive()?, 4)?;
        protocol::ensure_correlation(response.correlation_id, 100 + i as i32)?;
        ensure_api(&response, protocol::API_VERSIONS, 0, 4)?;
    }
    Ok(())
}

#[test]
fn yk1_describe_topic_partitions_in_api_versions() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let response = api_versions(&mut broker.connect()?, 3)?;
    ensure_api(&response, protocol::API_VERSIONS, 0, 4)?;
    ensure_api(&response, protocol::DESCRIBE_TOPIC_PARTITIONS, 0, 0)
}

#[test]
fn vt6_describe_unknown_topic() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("foo", FOO, 1)])?;
    let response = describe(&mut broker.connect()?, 42, &["UNKNOWN_TOPIC_37"], 1)?;
    ensure!(response.topics.len() == 1, "topics {:?}", response.topics);
    let topic = &response.topics[0];
    ensure!(
        topic.error_code == UNKNOWN_TOPIC_OR_PARTITION,
        "error {}",
        topic.error_code
    );
    ensure!(
        topic.name.as_deref() == Some("UNKNOWN_TOPIC_37"),
        "name {:?}",
        topic.name
    );
    ensure!(
        topic.topic_id == ZERO_UUID && topic.partitions.is_empty(),
        "{topic:?}"
    );
    ensure!(
        response.next_cursor.is_none(),
        "cursor {:?}",
        response.next_cursor
    );
    Ok(())
}

#[test]
fn ea7_describe_single_partition() -> Result<()> {
    let broker =
        Broker::on_fixture(&[TopicSpec::new("foo", FOO, 1), TopicSpec::new("bar", BAR, 1)])?;
    let foo = broker.topic("foo");
    let response = describe(&mut broker.connect()?, 43, &[&foo], 1)?;
    ensure!(response.topics.len() == 1, "topics {:?}", response.topics);
    ensure_described(&response.topics[0], &foo, broker.topic_id("foo"), 1)?;
    ensure!(
        response.next_cursor.is_none(),
        "cursor {:?}",
        response.next_cursor
    );
    Ok(())
}

#[test]
fn ku4_describe_multiple_partitions() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("foo", FOO, 2)])?;
    let foo = broker.topic("foo");
    let response = describe(&mut broker.connect()?, 44, &[&foo], 2)?;
    ensure!(response.topics.len() == 1, "topics {:?}", response.topics);
    ensure_described(&response.topics[0], &foo, broker.topic_id("foo"), 2)?;
    ensure!(
        response.next_cursor.is_none(),
        "cursor {:?}",
        response.next_cursor
    );
    Ok(())
}

#[test]
fn wq2_describe_multiple_topics() -> Result<()> {
    let topics = [
        TopicSpec::new("qux", FOO, 1),
        TopicSpec::new("baz", BAR, 2),
        TopicSpec::new("paz", BAZ, 3),
    ];
    let broker = Broker::on_fixture(&topics)?;
    let [qux, baz, paz] = ["qux", "baz", "paz"].map(|t| broker.topic(t));
    let response = describe(&mut broker.connect()?, 45, &[&qux, &baz, &paz], 6)?;
    let names: Vec<_> = response
        .topics
        .iter()
        .map(|t| t.name.clone().unwrap_or_default())
        .collect();
    ensure!(
        names == [baz.clone(), paz.clone(), qux.clone()],
        "topics in order {names:?}"
    );
    ensure_described(&response.topics[0], &baz, broker.topic_id("baz"), 2)?;
    ensure_described(&response.topics[1], &paz, broker.topic_id("paz"), 3)?;
    ensure_described(&response.topics[2], &qux, broker.topic_id("qux"), 1)?;
    ensure!(
        response.next_cursor.is_none(),
        "cursor {:?}",
        response.next_cursor
    );
    Ok(())
}

#[test]
fn gs0_fetch_in_api_versions() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let response = api_versions(&mut broker.connect()?, 5)?;
    ensure_api(&response, protocol::FETCH, 0, 16)
}

#[test]
fn dh6_fetch_with_no_topics() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let response = fetch(&mut broker.connect()?, 77, &FetchRequest::new(vec![]))?;
    ensure!(
        response.responses.is_empty() && response.session_id == 0,
        "{response:?}"
    );
    Ok(())
}

#[test]
fn hn6_fetch_unknown_topic() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("foo", FOO, 1)])?;
    let partition = fetch_partition_0(&mut broker.connect()?, BAR)?;
    ensure!(
        partition.error_code == UNKNOWN_TOPIC_ID,
        "error {}",
        partition.error_code
    );
    ensure!(
        partition.records.as_deref().unwrap_or_default().is_empty(),
        "records for an unknown topic"
    );
    Ok(())
}

#[test]
fn cm4_fetch_empty_topic() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("foo", FOO, 1)])?;
    let partition = fetch_partition_0(&mut broker.connect()?, broker.topic_id("foo"))?;
    ensure!(partition.error_code == 0, "error {}", partition.error_code);
    ensure!(
        partition.records.as_deref() == Some(&[][..]),
        "records {:?}",
        partition.records
    );
    ensure!(
        (partition.high_watermark, partition.log_start_offset) == (0, 0),
        "{partition:?}"
    );
    Ok(())
}

#[test]
fn eg2_fetch_single_message() -> Result<()> {
    let topic = TopicSpec::new("foo", FOO, 1)
        .with_partition(PartitionSpec::new(0).with_messages(&["Hello World!"]));
    let expected = topic.partitions[0].log_bytes();
    let broker = or_skip!(Broker::on_fixture(&[topic]));
    let partition = fetch_partition_0(&mut broker.connect()?, broker.topic_id("foo"))?;
    ensure!(partition.error_code == 0, "error {}", partition.error_code);
    ensure!(
        partition.records.as_deref() == Some(&expected[..]),
        "records differ from the log file"
    );
    ensure!(
        (partition.high_watermark, partition.last_stable_offset) == (1, 1),
        "{partition:?}"
    );
    ensure!(
        batch::decode_batches(&expected)?[0].batch.records[0]
            .value
            .as_deref()
            == Some(&b"Hello World!"[..])
    );
    Ok(())
}

#[test]
fn fd8_fetch_multiple_messages() -> Result<()> {
    let messages = ["Hello Earth!", "Hello Kafka!", "Hello Universe!"];
    let topic = TopicSpec::new("foo", FOO, 1)
        .with_partition(PartitionSpec::new(0).with_messages(&messages));
    let expected = topic.partitions[0].log_bytes();
    let broker = or_skip!(Broker::on_fixture(&[topic]));
    let partition = fetch_partition_0(&mut broker.connect()?, broker.topic_id("foo"))?;
    ensure!(partition.error_code == 0, "error {}", partition.error_code);
    ensure!(
        partition.records.as_deref() == Some(&expected[..]),
        "records differ from the log file"
    );
    ensure!(batch::decode_batches(&expected)?.len() == 3);
    ensure!(
        partition.high_watermark == 3,
        "high watermark {}",
        partition.high_watermark
    );
    Ok(())
}

#[test]
fn xz1_produce_in_api_versions() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let response = api_versions(&mut broker.connect()?, 6)?;
    ensure_api(&response, protocol::PRODUCE, 0, 11)
}

#[test]
fn zf2_produce_to_unknown_topic_or_partition() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("foo", FOO, 1)])?;
    let [foo, bar] = ["foo", "bar"].map(|t| broker.topic(t));
    let mut client = broker.connect()?;
    let response = produce(
        &mut client,
        8,
        &[(foo.clone(), vec![(517, Some(batch(&["x"])))])],
    )?;
    ensure_unknown(&response, &foo, 517)?;
    let response = produce(
        &mut client,
        9,
        &[(bar.clone(), vec![(0, Some(batch(&["y"])))])],
    )?;
    ensure_unknown(&response, &bar, 0)?;
    if let Some(log_dir) = broker.files() {
        ensure!(
            !fixture::log_file(log_dir, &foo, 517).exists(),
            "unknown partition got a log"
        );
        ensure!(
            !fixture::log_file(log_dir, &bar, 0).exists(),
            "unknown topic got a log"
        );
    }
    Ok(())
}

#[test]
fn gg1_produce_to_valid_partition() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("foo", FOO, 1)])?;
    let foo = broker.topic("foo");
    let response = produce(
        &mut broker.connect()?,
        10,
        &[(foo.clone(), vec![(0, Some(batch(&["apple"])))])],
    )?;
    ensure!(
        response.responses.len() == 1 && response.responses[0].0 == foo,
        "{response:?}"
    );
    ensure_produced(&response, &foo, 0, 0)
}

#[test]
fn ls8_produce_single_record() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("foo", FOO, 1)])?;
    let foo = broker.topic("foo");
    let sent = batch(&["pineapple"]);
    let response = produce(
        &mut broker.connect()?,
        11,
        &[(foo.clone(), vec![(0, Some(sent.clone()))])],
    )?;
    ensure_produced(&response, &foo, 0, 0)?;
    ensure_log_file(&broker, &foo, 0, &[(0, &sent)])
}

#[test]
fn yd8_produce_multiple_records() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("foo", FOO, 1)])?;
    let foo = broker.topic("foo");
    let sent = batch(&["blueberry", "orange", "raspberry", "strawberry"]);
    let response = produce(
        &mut broker.connect()?,
        12,
        &[(foo.clone(), vec![(0, Some(sent.clone()))])],
    )?;
    ensure_produced(&response, &foo, 0, 0)?;
    ensure_log_file(&broker, &foo, 0, &[(0, &sent)])?;
    ensure!(batch::decode_batches(&sent)?[0].batch.records.len() == 4);
    Ok(())
}

#[test]
fn ct4_produce_to_multiple_partitions() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("foo", FOO, 3)])?;
    let sent: Vec<Vec<u8>> = (0..3)
        .map(|i| batch(&[&format!("p{i}-a"), &format!("p{i}-b")]))
        .collect();
    let partitions = sent
        .iter()
        .enumerate()
        .map(|(i, b)| (i as i32, Some(b.clone())))
        .collect();
    let foo = broker.topic("foo");
    let response = produce(&mut broker.connect()?, 13, &[(foo.clone(), partitions)])?;
    for (i, bytes) in sent.iter().enumerate() {
        ensure_produced(&response, &foo, i as i32, 0)?;
        ensure_log_file(&broker, &foo, i as i32, &[(0, bytes)])?;
    }
    Ok(())
}

#[test]
fn ov0_produce_to_multiple_topics() -> Result<()> {
    let broker =
        Broker::on_fixture(&[TopicSpec::new("foo", FOO, 2), TopicSpec::new("bar", BAR, 3)])?;
    let [foo, bar] = ["foo", "bar"].map(|t| broker.topic(t));
    let mut client = broker.connect()?;
    // Written to twice, so not the tester's producer 0 / sequence 0 batches:
    // an idempotent producer's repeat would be a duplicate.
    let sent = |topic: &str, i: i32, round: i32| {
        RecordBatch::plain(&[&format!("{topic}-{i}-{round}"), "second"]).encode()
    };
    let first = produce(
        &mut client,
        14,
        &[
            (
                foo.clone(),
                vec![(0, Some(sent("foo", 0, 1))), (1, Some(sent("foo", 1, 1)))],
            ),
            (
                bar.clone(),
                vec![(0, Some(sent("bar", 0, 1))), (2, Some(sent("bar", 2, 1)))],
            ),
        ],
    )?;
    ensure!(first.responses.len() == 2, "{first:?}");
    for (topic, index) in [("foo", 0), ("foo", 1), ("bar", 0), ("bar", 2)] {
        let name = broker.topic(topic);
        ensure_produced(&first, &name, index, 0)?;
        ensure_log_file(&broker, &name, index, &[(0, &sent(topic, index, 1))])?;
    }
    ensure_log_file(&broker, &bar, 1, &[])?;

    // Offsets are per topic-partition: only the partitions written again move on.
    let second = produce(
        &mut client,
        15,
        &[
            (
                bar.clone(),
                vec![(0, Some(sent("bar", 0, 2))), (1, Some(sent("bar", 1, 2)))],
            ),
            (foo.clone(), vec![(1, Some(sent("foo", 1, 2)))]),
        ],
    )?;
    ensure_produced(&second, &bar, 0, 2)?;
    ensure_produced(&second, &bar, 1, 0)?;
    ensure_produced(&second, &foo, 1, 2)?;
    ensure_log_file(
        &broker,
        &bar,
        0,
        &[(0, &sent("bar", 0, 1)), (2, &sent("bar", 0, 2))],
    )?;
    ensure_log_file(&broker, &foo, 0, &[(0, &sent("foo", 0, 1))])?;
    Ok(())
}
