//! Starting on what a disk may hold: nothing at all, torn or corrupt logs,
//! metadata records the broker does not use, and bad configuration.

use anyhow::{Context, Result, ensure};
use harness::batch::{self, Record, RecordBatch};
use harness::fixture::{self, PartitionSpec, TopicSpec};
use harness::launcher::broker_binary;
use harness::protocol;
use harness::wire::uuid;
use harness::{Broker, Client, or_skip};
use std::process::Command;

const A: [u8; 16] = uuid(0xa);
const B: [u8; 16] = uuid(0xb);

fn produce_one(
    client: &mut Client,
    topic: &str,
    value: &str,
) -> Result<protocol::ProducedPartition> {
    let batch = RecordBatch::plain(&[value]).encode();
    let raw = client.round_trip(&protocol::produce_request_v11(
        1,
        -1,
        &[(topic.into(), vec![(0, Some(batch))])],
    ))?;
    protocol::decode_produce_response_v11(&raw)?
        .partition(topic, 0)
        .cloned()
        .context("partition missing")
}

fn known_topics(client: &mut Client) -> Result<Vec<String>> {
    let raw = client.round_trip(&protocol::describe_topic_partitions_request(
        2,
        &[],
        100,
        None,
    ))?;
    Ok(protocol::decode_describe_topic_partitions_response(&raw)?
        .topics
        .into_iter()
        .filter_map(|t| t.name)
        .collect())
}

#[test]
fn creates_a_missing_log_directory() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log_dir = dir.path().join("does/not/exist");
    let broker = or_skip!(Broker::start(&log_dir));
    ensure!(
        log_dir.join("meta.properties").exists(),
        "no meta.properties"
    );
    ensure!(
        log_dir
            .join("__cluster_metadata-0/00000000000000000000.log")
            .exists(),
        "no metadata log"
    );
    let meta = std::fs::read_to_string(log_dir.join("meta.properties"))?;
    ensure!(
        meta.contains("cluster.id=") && meta.contains("node.id=1"),
        "{meta}"
    );
    ensure!(known_topics(&mut broker.connect()?)?.is_empty());
    Ok(())
}

#[test]
fn cuts_a_torn_tail_and_appends_after_the_last_whole_batch() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log_dir = dir.path().join("logs");
    let topic = TopicSpec::new("a", A, 1)
        .with_partition(PartitionSpec::new(0).with_messages(&["one", "two"]));
    let whole = topic.partitions[0].log_bytes();
    fixture::write_log_dir(&log_dir, &[topic])?;
    let path = fixture::log_file(&log_dir, "a", 0);
    let torn = RecordBatch::new(vec![Record::value(b"three".to_vec())])
        .with_base_offset(2)
        .encode();
    std::fs::write(
        &path,
        [whole.clone(), torn[..torn.len() / 2].to_vec()].concat(),
    )?;

    let broker = or_skip!(Broker::start(&log_dir));
    ensure!(std::fs::read(&path)? == whole, "the torn tail was not cut");
    ensure!(
        broker.output().contains("stopped recovering segment"),
        "no warning logged:\n{}",
        broker.output()
    );
    let result = produce_one(&mut broker.connect()?, "a", "three")?;
    ensure!(
        (result.error_code, result.base_offset) == (0, 2),
        "{result:?}"
    );
    ensure!(batch::decode_batches(&std::fs::read(&path)?)?.len() == 3);
    Ok(())
}

#[test]
fn a_corrupt_metadata_batch_stops_the_scan_without_a_crash() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log_dir = dir.path().join("logs");
    fixture::write_log_dir(
        &log_dir,
        &[
            TopicSpec::new("first", A, 1),
            TopicSpec::new("second", B, 1),
        ],
    )?;
    let metadata = log_dir.join("__cluster_metadata-0/00000000000000000000.log");
    let mut bytes = std::fs::read(&metadata)?;
    let last = bytes.len() - 3;
    bytes[last] ^= 0xff;
    std::fs::write(&metadata, &bytes)?;

    let broker = or_skip!(Broker::start(&log_dir));
    ensure!(
        known_topics(&mut broker.connect()?)? == ["first"],
        "topics after the corrupt batch were loaded"
    );
    ensure!(
        broker.output().contains("WARN"),
        "no warning logged:\n{}",
        broker.output()
    );
    Ok(())
}

#[test]
fn skips_metadata_it_does_not_use() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log_dir = dir.path().join("logs");
    fixture::write_log_dir(&log_dir, &[TopicSpec::new("kept", A, 1)])?;
    let metadata = log_dir.join("__cluster_metadata-0/00000000000000000000.log");
    let mut bytes = std::fs::read(&metadata)?;
    let offset = batch::decode_batches(&bytes)?
        .last()
        .map_or(0, |b| b.last_offset() + 1);
    let value = |v: Vec<u8>| Record {
        timestamp_delta: 0,
        offset_delta: 0,
        key: None,
        value: Some(v),
        headers: vec![],
    };
    // A control batch (LeaderChangeMessage-like), then a data batch holding
    // a record type the broker does not know, a NoOpRecord and a topic.
    let mut control =
        RecordBatch::without_producer(vec![value(vec![0, 0, 0, 0])]).with_base_offset(offset);
    control.attributes = 0x20;
    bytes.extend(control.encode());
    let unknown = vec![1, 99, 0, 1, 2, 3];
    let no_op = vec![1, 23, 0, 0];
    let topic = fixture::topic_record("later", &B);
    let partition = fixture::partition_record(&B, &PartitionSpec::new(0));
    bytes.extend(
        RecordBatch::without_producer(vec![
            value(unknown),
            value(no_op),
            value(topic),
            value(partition),
        ])
        .with_base_offset(offset + 1)
        .encode(),
    );
    std::fs::write(&metadata, &bytes)?;

    let broker = or_skip!(Broker::start(&log_dir));
    ensure!(
        known_topics(&mut broker.connect()?)? == ["kept", "later"],
        "{}",
        broker.output()
    );
    Ok(())
}

#[test]
fn bad_configuration_exits_with_a_message() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let missing = Command::new(broker_binary())
        .arg(dir.path().join("nope.properties"))
        .output()?;
    ensure!(
        !missing.status.success(),
        "started without its configuration file"
    );
    let stderr = String::from_utf8_lossy(&missing.stderr);
    ensure!(stderr.contains("nope.properties"), "{stderr}");

    let bad = dir.path().join("bad.properties");
    std::fs::write(&bad, "listeners=PLAINTEXT://:not-a-port\n")?;
    let output = Command::new(broker_binary()).arg(&bad).output()?;
    ensure!(!output.status.success(), "started with a bad listener");
    ensure!(
        String::from_utf8_lossy(&output.stderr).contains("invalid port"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let other_node = dir.path().join("logs");
    std::fs::create_dir_all(&other_node)?;
    std::fs::write(
        other_node.join("meta.properties"),
        "cluster.id=abc\nnode.id=2\nversion=1\n",
    )?;
    let config = dir.path().join("server.properties");
    std::fs::write(
        &config,
        format!(
            "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:0\nlog.dirs={}\n",
            other_node.display()
        ),
    )?;
    let output = Command::new(broker_binary()).arg(&config).output()?;
    ensure!(
        !output.status.success(),
        "started on another node's log directory"
    );
    ensure!(
        String::from_utf8_lossy(&output.stderr).contains("node 2"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
