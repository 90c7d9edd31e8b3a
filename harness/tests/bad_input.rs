//! Bad input never crashes the broker or loses data: a malformed request
//! closes its connection (other connections keep working), and bad record
//! batches get the error code Kafka sends, with nothing of them written.

use anyhow::{Context, Result, ensure};
use harness::batch::{Record, RecordBatch};
use harness::fixture::{self, TopicSpec};
use harness::protocol::error::{
    CORRUPT_MESSAGE, INVALID_RECORD, INVALID_REQUIRED_ACKS, MESSAGE_TOO_LARGE,
};
use harness::protocol::{self, ProduceResponse};
use harness::wire::{Writer, uuid};
use harness::{Broker, Client, or_skip};
use std::time::Duration;

/// The seeded topic ("foo", unique to the test on an external broker).
fn foo() -> String {
    harness::launcher::unique("foo")
}

fn start_with(extra: &[(&str, &str)]) -> Result<Broker> {
    Broker::on_fixture_with(&[TopicSpec::new("foo", uuid(0xf00), 2)], extra)
}

fn start() -> Result<Broker> {
    start_with(&[])
}

/// The broker is alive and answers a fresh connection.
fn ensure_serving(broker: &mut Broker) -> Result<()> {
    ensure!(broker.is_running(), "broker died:\n{}", broker.output());
    let mut client = broker.connect()?;
    let response = protocol::decode_api_versions_response(
        &client.round_trip(&protocol::api_versions_request(4, 1))?,
        4,
    )?;
    ensure!(response.error_code == 0, "{response:?}");
    Ok(())
}

/// Sends `frame` (size prefix included) and expects the connection closed.
fn ensure_closes(broker: &mut Broker, frame: &[u8], what: &str) -> Result<()> {
    let mut client = broker.connect()?;
    client.send_raw(frame)?;
    ensure!(client.is_closed_by_peer(), "{what}: connection left open");
    ensure_serving(broker).with_context(|| format!("after {what}"))
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn header(api_key: i16, version: i16, flexible: bool) -> Writer {
    let mut w = Writer::new();
    w.i16(api_key)
        .i16(version)
        .i32(77)
        .nullable_string(Some("bad"));
    if flexible {
        w.no_tags();
    }
    w
}

#[test]
fn malformed_requests_close_only_their_connection() -> Result<()> {
    let mut broker = start()?;
    let mut bystander = broker.connect()?;

    ensure_closes(
        &mut broker,
        &framed(&[0, 18, 0]),
        "a request shorter than its header",
    )?;
    ensure_closes(&mut broker, &(-5i32).to_be_bytes(), "a negative size")?;
    ensure_closes(
        &mut broker,
        &framed(&header(9999, 0, false).into_bytes()),
        "an unknown API key",
    )?;
    // Produce v0-2 are listed by ApiVersions, as Kafka 4.0 lists them for
    // old librdkafka's sake, but not served.
    let versions = bystander.round_trip(&protocol::api_versions_request(4, 1))?;
    let produce =
        protocol::decode_api_versions_response(&versions, 4)?.versions_of(protocol::PRODUCE);
    ensure!(produce == Some((0, 11)), "Produce versions {produce:?}");
    ensure_closes(
        &mut broker,
        &framed(&header(protocol::PRODUCE, 2, false).into_bytes()),
        "Produce v2",
    )?;
    ensure_closes(
        &mut broker,
        &framed(&header(protocol::FETCH, 17, true).into_bytes()),
        "Fetch v17",
    )?;
    ensure_closes(
        &mut broker,
        &framed(&header(protocol::DESCRIBE_TOPIC_PARTITIONS, 1, true).into_bytes()),
        "DescribeTopicPartitions v1",
    )?;

    // Array counts far beyond the bytes sent, compact and INT32-sized.
    let mut huge = header(protocol::PRODUCE, 11, true);
    huge.compact_nullable_string(None)
        .i16(-1)
        .i32(1000)
        .uvarint(u64::from(u32::MAX));
    ensure_closes(
        &mut broker,
        &framed(&huge.into_bytes()),
        "a compact array of 2^32 topics",
    )?;
    let mut huge = header(protocol::PRODUCE, 3, false);
    huge.nullable_string(None).i16(-1).i32(1000).i32(i32::MAX);
    ensure_closes(
        &mut broker,
        &framed(&huge.into_bytes()),
        "an array of 2^31 topics",
    )?;
    let mut huge = header(protocol::DESCRIBE_TOPIC_PARTITIONS, 0, true);
    huge.uvarint(1 << 31);
    ensure_closes(
        &mut broker,
        &framed(&huge.into_bytes()),
        "DescribeTopicPartitions with 2^31 topics",
    )?;
    let mut huge = header(protocol::FETCH, 16, true);
    huge.i32(0)
        .i32(1)
        .i32(1000)
        .i8(0)
        .i32(0)
        .i32(-1)
        .uvarint(1)
        .uvarint(u64::from(u32::MAX - 1));
    huge.raw(&[0; 16]);
    ensure_closes(
        &mut broker,
        &framed(&huge.into_bytes()),
        "Fetch with 2^32 topics",
    )?;

    // A body cut short, and garbage where a string should be.
    let full = protocol::describe_topic_partitions_request(5, &[&foo()], 10, None);
    ensure_closes(
        &mut broker,
        &framed(&full[..full.len() - 3]),
        "a truncated request",
    )?;
    let mut garbage = header(protocol::DESCRIBE_TOPIC_PARTITIONS, 0, true);
    garbage
        .uvarint(2)
        .uvarint(4)
        .raw(&[0xff, 0xfe, 0xfd])
        .no_tags()
        .i32(10)
        .i8(-1)
        .no_tags();
    ensure_closes(
        &mut broker,
        &framed(&garbage.into_bytes()),
        "a topic name that is not UTF-8",
    )?;

    // A connection that was open all along still works.
    let response = bystander.round_trip(&protocol::api_versions_request(4, 2))?;
    ensure!(protocol::decode_api_versions_response(&response, 4)?.error_code == 0);
    Ok(())
}

#[test]
fn requests_above_the_size_limit_close_the_connection() -> Result<()> {
    let mut broker = or_skip!(start_with(&[("socket.request.max.bytes", "1024")]));
    let mut frame = 2048i32.to_be_bytes().to_vec();
    frame.extend_from_slice(&[0; 64]);
    ensure_closes(&mut broker, &frame, "a 2 KiB request with a 1 KiB limit")
}

#[test]
fn a_client_leaving_mid_request_is_harmless() -> Result<()> {
    let mut broker = start()?;
    let mut client = broker.connect()?;
    client.send_raw(&100i32.to_be_bytes())?;
    client.send_raw(&[0; 10])?;
    drop(client);
    ensure_serving(&mut broker)
}

fn produce(
    client: &mut Client,
    acks: i16,
    partitions: Vec<(i32, Option<Vec<u8>>)>,
) -> Result<ProduceResponse> {
    let raw = client.round_trip(&protocol::produce_request_v11(
        3,
        acks,
        &[(foo(), partitions)],
    ))?;
    protocol::decode_produce_response_v11(&raw)
}

fn good_batch(value: &str) -> Vec<u8> {
    RecordBatch::plain(&[value]).encode()
}

fn ensure_error(response: &ProduceResponse, index: i32, code: i16) -> Result<()> {
    let p = response
        .partition(&foo(), index)
        .context("partition missing")?;
    ensure!(
        p.error_code == code && p.base_offset == -1,
        "partition {index}: {p:?}, expected error {code}"
    );
    Ok(())
}

/// The partition's log file, when the broker's files can be read.
fn log_bytes(broker: &Broker, index: i32) -> Result<Option<Vec<u8>>> {
    broker
        .files()
        .map(|dir| Ok(std::fs::read(fixture::log_file(dir, &foo(), index))?))
        .transpose()
}

#[test]
fn bad_batches_fail_their_partition_and_write_nothing() -> Result<()> {
    // An external broker keeps its message.max.bytes (Kafka's default is
    // just above 1 MiB); the oversized batch is made to match.
    let (mut broker, too_large) = match harness::launcher::external() {
        Some(_) => (start()?, 2 << 20),
        None => (start_with(&[("message.max.bytes", "1000")])?, 2000),
    };
    let mut client = broker.connect()?;

    let mut corrupt = good_batch("flipped");
    *corrupt.last_mut().unwrap() ^= 0x01;
    let response = produce(
        &mut client,
        -1,
        vec![(0, Some(corrupt)), (1, Some(good_batch("fine")))],
    )?;
    ensure_error(&response, 0, CORRUPT_MESSAGE)?;
    let ok = response.partition(&foo(), 1).context("partition 1")?;
    ensure!(
        (ok.error_code, ok.base_offset) == (0, 0),
        "the good partition failed too: {ok:?}"
    );
    ensure!(
        log_bytes(&broker, 0)?.is_none_or(|b| b.is_empty()),
        "a corrupt batch was written"
    );

    let good = good_batch("x");
    let cases: Vec<(&str, Option<Vec<u8>>, i16)> = vec![
        ("no records", None, INVALID_RECORD),
        ("empty records", Some(Vec::new()), INVALID_RECORD),
        (
            "two batches",
            Some([good.clone(), good.clone()].concat()),
            INVALID_RECORD,
        ),
        (
            "a cut batch",
            Some(good[..good.len() - 4].to_vec()),
            CORRUPT_MESSAGE,
        ),
        (
            "magic 1",
            Some({
                let mut b = good.clone();
                b[16] = 1;
                b
            }),
            INVALID_RECORD,
        ),
        (
            "a length below the header",
            Some({
                let mut b = good.clone();
                b[8..12].copy_from_slice(&10i32.to_be_bytes());
                b
            }),
            CORRUPT_MESSAGE,
        ),
        (
            "a record count that disagrees with the offsets",
            Some({
                let mut batch = RecordBatch::new(vec![
                    Record::value(b"a".to_vec()),
                    Record::value(b"b".to_vec()),
                ])
                .encode();
                batch[23..27].copy_from_slice(&5i32.to_be_bytes());
                let crc = crc32c::crc32c(&batch[21..]);
                batch[17..21].copy_from_slice(&crc.to_be_bytes());
                batch
            }),
            INVALID_RECORD,
        ),
        (
            "a batch above message.max.bytes",
            Some(good_batch(&"v".repeat(too_large))),
            MESSAGE_TOO_LARGE,
        ),
    ];
    for (what, records, code) in cases {
        let response = produce(&mut client, -1, vec![(0, records)])?;
        ensure_error(&response, 0, code).with_context(|| what.to_string())?;
        ensure!(
            log_bytes(&broker, 0)?.is_none_or(|b| b.is_empty()),
            "{what}: something was written"
        );
    }
    let response = produce(&mut client, 5, vec![(0, Some(good_batch("acks")))])?;
    ensure_error(&response, 0, INVALID_REQUIRED_ACKS)?;

    // After all that the partition takes data at offset 0, and partition 1 went on.
    let response = produce(
        &mut client,
        -1,
        vec![(0, Some(good_batch("a"))), (1, Some(good_batch("b")))],
    )?;
    ensure!(
        response
            .partition(&foo(), 0)
            .map(|p| (p.error_code, p.base_offset))
            == Some((0, 0)),
        "{response:?}"
    );
    ensure!(
        response
            .partition(&foo(), 1)
            .map(|p| (p.error_code, p.base_offset))
            == Some((0, 1)),
        "{response:?}"
    );
    ensure_serving(&mut broker)
}

#[test]
fn acks_zero_gets_no_response_and_failures_close_the_connection() -> Result<()> {
    let mut broker = start()?;
    let mut client = broker.connect()?;
    client.send(&protocol::produce_request_v11(
        1,
        0,
        &[(foo(), vec![(0, Some(good_batch("quiet")))])],
    ))?;
    // The next response on the connection answers the next request.
    let response = protocol::decode_api_versions_response(
        &client.round_trip(&protocol::api_versions_request(4, 2))?,
        4,
    )?;
    ensure!(response.correlation_id == 2, "{response:?}");
    ensure!(
        !client.has_unread_bytes(Duration::from_millis(100))?,
        "acks=0 was answered"
    );
    ensure!(
        log_bytes(&broker, 0)?.is_none_or(|bytes| !bytes.is_empty()),
        "acks=0 data was not written"
    );

    client.send(&protocol::produce_request_v11(
        3,
        0,
        &[("nope".into(), vec![(0, Some(good_batch("lost")))])],
    ))?;
    ensure!(
        client.is_closed_by_peer(),
        "a failed acks=0 produce left the connection open"
    );
    ensure_serving(&mut broker)
}
