//! Exact response bytes for deterministic requests (fixed correlation ids,
//! topic ids and batches), kept as insta snapshots in `snapshots/`. A change
//! in any byte a client sees shows up as a snapshot diff.

use anyhow::{Result, ensure};
use harness::batch::RecordBatch;
use harness::fixture::{PartitionSpec, TopicSpec};
use harness::protocol::{self, FetchPartitionRequest, FetchRequest};
use harness::wire::uuid;
use harness::{Broker, hexdump};

const FOO: [u8; 16] = uuid(0x71a59a51_8968_4f8b_937e_00000000f001);
const BAR: [u8; 16] = uuid(0x71a59a51_8968_4f8b_937e_00000000ba02);
const UNKNOWN: [u8; 16] = uuid(0x00000000_0000_0000_0000_000000004321);

/// foo: one empty partition; bar: two partitions, the first with three
/// batches, the second with one. On an external broker nothing is seeded:
/// only the snapshots of requests that name no seeded topic apply there.
fn start() -> Result<Broker> {
    if harness::launcher::external().is_some() {
        return Broker::on_fixture(&[]);
    }
    Broker::on_fixture(&[
        TopicSpec::new("foo", FOO, 1),
        TopicSpec::new("bar", BAR, 2)
            .with_partition(PartitionSpec::new(0).with_messages(&[
                "Hello World!",
                "Hello Earth!",
                "Hello Kafka!",
            ]))
            .with_partition(PartitionSpec::new(1).with_messages(&["Hello Universe!"])),
    ])
}

/// Sends `request` and snapshots the whole response frame, size included.
fn snapshot(broker: &Broker, name: &str, request: &[u8]) -> Result<()> {
    let mut client = broker.connect()?;
    client.send(request)?;
    let frame = client.receive_frame()?;
    if broker.is_external() {
        // Compared, never written: the snapshots are this broker's.
        let path = format!("{}/../snapshots/{name}.snap", env!("CARGO_MANIFEST_DIR"));
        let stored = std::fs::read_to_string(&path)?;
        let expected = stored.splitn(3, "---\n").nth(2).unwrap_or_default();
        let actual = hexdump(&frame);
        ensure!(
            expected.trim_end() == actual.trim_end(),
            "{name}: the response differs from snapshots/{name}.snap:\n{actual}"
        );
        return Ok(());
    }
    insta::with_settings!({
        snapshot_path => "../../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, hexdump(&frame));
    });
    Ok(())
}

fn batch(values: &[&str]) -> Vec<u8> {
    RecordBatch::plain(values).encode()
}

#[test]
fn api_versions() -> Result<()> {
    let broker = start()?;
    snapshot(
        &broker,
        "api_versions_unsupported_version",
        &protocol::api_versions_request(1500, 9),
    )?;
    if broker.own_checks("ApiVersions v0 and v4 list this broker's own APIs") {
        snapshot(
            &broker,
            "api_versions_v4",
            &protocol::api_versions_request(4, 7),
        )?;
        snapshot(
            &broker,
            "api_versions_v0",
            &protocol::api_versions_request(0, 8),
        )?;
    }
    Ok(())
}

const SEEDED: &str = "the snapshot names the seeded topics and their ids";

#[test]
fn describe_topic_partitions() -> Result<()> {
    let broker = start()?;
    let request = |topics: &[&str], limit| {
        protocol::describe_topic_partitions_request(21, topics, limit, None)
    };
    snapshot(
        &broker,
        "describe_topic_partitions_unknown",
        &request(&["UNKNOWN_TOPIC_19"], 1),
    )?;
    if !broker.own_checks(SEEDED) {
        return Ok(());
    }
    snapshot(
        &broker,
        "describe_topic_partitions_one",
        &request(&["foo"], 1),
    )?;
    snapshot(
        &broker,
        "describe_topic_partitions_several",
        &request(&["foo", "bar", "missing"], 10),
    )?;
    snapshot(
        &broker,
        "describe_topic_partitions_paged",
        &request(&["foo", "bar"], 2),
    )
}

#[test]
fn fetch() -> Result<()> {
    let broker = start()?;
    let fetch = |topics| FetchRequest::new(topics).encode_v16(31);
    snapshot(&broker, "fetch_no_topics", &fetch(vec![]))?;
    snapshot(
        &broker,
        "fetch_unknown_topic",
        &fetch(vec![(UNKNOWN, vec![FetchPartitionRequest::new(0, 0)])]),
    )?;
    if !broker.own_checks(SEEDED) {
        return Ok(());
    }
    snapshot(
        &broker,
        "fetch_empty",
        &fetch(vec![(FOO, vec![FetchPartitionRequest::new(0, 0)])]),
    )?;
    snapshot(
        &broker,
        "fetch_one_batch",
        &fetch(vec![(BAR, vec![FetchPartitionRequest::new(1, 0)])]),
    )?;
    snapshot(
        &broker,
        "fetch_several",
        &fetch(vec![
            (
                BAR,
                vec![
                    FetchPartitionRequest::new(0, 0),
                    FetchPartitionRequest::new(1, 0),
                ],
            ),
            (FOO, vec![FetchPartitionRequest::new(0, 0)]),
        ]),
    )
}

#[test]
fn produce() -> Result<()> {
    let broker = start()?;
    if !broker.own_checks(SEEDED) {
        return Ok(());
    }
    let produce = |topics: &[protocol::ProduceTopic]| protocol::produce_request_v11(41, -1, topics);
    snapshot(
        &broker,
        "produce_unknown",
        &produce(&[
            ("nope".into(), vec![(0, Some(batch(&["a"])))]),
            ("foo".into(), vec![(9, Some(batch(&["b"])))]),
        ]),
    )?;
    snapshot(
        &broker,
        "produce_one",
        &produce(&[("foo".into(), vec![(0, Some(batch(&["one", "two"])))])]),
    )?;
    snapshot(
        &broker,
        "produce_multi_topic",
        &produce(&[
            (
                "bar".into(),
                vec![(0, Some(batch(&["x"]))), (1, Some(batch(&["y", "z"])))],
            ),
            ("foo".into(), vec![(0, Some(batch(&["three"])))]),
        ]),
    )
}
