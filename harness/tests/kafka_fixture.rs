//! The broker reads a log directory written by Apache Kafka 4.0 (the
//! challenge's fixture, see `fixtures/kafka-4.0-logs/README.md`): the
//! metadata loader finds topic `foo`, and Fetch serves its batch byte for
//! byte.

use anyhow::{Context, Result, ensure};
use harness::batch::{self, RecordBatch};
use harness::fixture;
use harness::protocol::{self, FetchPartitionRequest, FetchRequest};
use harness::{Broker, or_skip};
use std::path::Path;

const FOO: [u8; 16] = fixture::KAFKA_4_0_FOO_ID;

fn fixture() -> &'static Path {
    fixture::kafka_4_0_logs()
}

#[test]
fn serves_a_log_directory_written_by_kafka_4_0() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log_dir = dir.path().join("kafka-4.0-logs");
    fixture::copy_tree(fixture(), &log_dir)?;
    let kafka_batch = std::fs::read(fixture().join("foo-0/00000000000000000000.log"))?;
    let mut broker = or_skip!(Broker::start(&log_dir));
    let mut client = broker.connect()?;

    let raw = client.round_trip(&protocol::describe_topic_partitions_request(
        1,
        &["foo"],
        10,
        None,
    ))?;
    let described = protocol::decode_describe_topic_partitions_response(&raw)?;
    ensure!(described.topics.len() == 1, "{described:?}");
    let foo = &described.topics[0];
    ensure!(
        foo.error_code == 0 && foo.name.as_deref() == Some("foo"),
        "{foo:?}"
    );
    ensure!(
        foo.topic_id == FOO,
        "topic id {}",
        harness::wire::uuid_string(&foo.topic_id)
    );
    ensure!(foo.partitions.len() == 1, "{foo:?}");
    let p = &foo.partitions[0];
    ensure!(
        (p.partition_index, p.error_code, p.leader_id, p.leader_epoch) == (0, 0, 1, 0),
        "{p:?}"
    );
    ensure!(p.replica_nodes == [1] && p.isr_nodes == [1], "{p:?}");

    let fetch = FetchRequest::new(vec![(FOO, vec![FetchPartitionRequest::new(0, 0)])]);
    let fetched = protocol::decode_fetch_response_v16(&client.round_trip(&fetch.encode_v16(2))?)?;
    let partition = &fetched.responses[0].1[0];
    ensure!(
        partition.error_code == 0 && partition.high_watermark == 1,
        "{partition:?}"
    );
    ensure!(
        partition.records.as_deref() == Some(&kafka_batch[..]),
        "Fetch changed Kafka's batch"
    );
    let decoded = batch::decode_batches(&kafka_batch)?;
    ensure!(decoded[0].batch.records[0].value.as_deref() == Some(&b"Hello World!"[..]));

    // Appending continues after Kafka's batch, and survives a restart.
    let sent = RecordBatch::plain(&["after kafka"]).encode();
    let raw = client.round_trip(&protocol::produce_request_v11(
        3,
        -1,
        &[("foo".into(), vec![(0, Some(sent.clone()))])],
    ))?;
    let produced = protocol::decode_produce_response_v11(&raw)?;
    let result = produced.partition("foo", 0).context("foo-0 missing")?;
    ensure!(
        (result.error_code, result.base_offset) == (0, 1),
        "{result:?}"
    );
    broker.restart()?;
    let mut client = broker.connect()?;
    let fetched = protocol::decode_fetch_response_v16(&client.round_trip(&fetch.encode_v16(4))?)?;
    let mut expected = kafka_batch.clone();
    expected.extend(batch::as_stored(&sent, 1, 0));
    ensure!(
        fetched.responses[0].1[0].records.as_deref() == Some(&expected[..]),
        "log after restart"
    );
    Ok(())
}
