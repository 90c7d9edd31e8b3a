//! The Prometheus endpoint (`metrics.prometheus.listener`): scraped with a
//! plain HTTP GET before and after some traffic, off without the key, and a
//! malformed value stops the broker.

use anyhow::{Context, Result, bail, ensure};
use harness::batch::RecordBatch;
use harness::fixture::TopicSpec;
use harness::groups::{self, CommitPartition, OffsetCommitRequest};
use harness::launcher::own_broker_only;
use harness::protocol::{self, FetchPartitionRequest, FetchRequest};
use harness::wire::uuid;
use harness::{Broker, Client, or_skip};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const TOPIC: &str = "metered";
/// Why these tests skip under `HARNESS_BOOTSTRAP`.
const SUITE: &str = "configures this broker's metrics listener";
const TOPIC_ID: [u8; 16] = uuid(0x3e);

/// A broker with the metrics listener on a free port, and that port.
fn start_with_metrics() -> Result<(Broker, u16)> {
    let mut last_error = None;
    // The probed port can be taken before the broker binds it: retry.
    for _ in 0..3 {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let listener = format!("http://127.0.0.1:{port}");
        match Broker::on_fixture_with(
            &[TopicSpec::new(TOPIC, TOPIC_ID, 1)],
            &[
                ("metrics.prometheus.listener", listener.as_str()),
                ("offsets.topic.num.partitions", "1"),
            ],
        ) {
            Ok(broker) => return Ok((broker, port)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("broker did not start")))
}

/// Sends `request` and returns the status line, headers and body.
fn http(port: u16, request: &str) -> Result<(String, String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .with_context(|| format!("no end of headers in {response:?}"))?;
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    Ok((status.to_string(), headers.to_string(), body.to_string()))
}

/// `GET /metrics`: every sample, by series (`name{labels}`).
fn scrape(port: u16) -> Result<HashMap<String, f64>> {
    let (status, headers, body) = http(
        port,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n",
    )?;
    ensure!(status == "HTTP/1.1 200 OK", "{status}\n{body}");
    ensure!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{headers}"
    );
    let length: usize = headers
        .lines()
        .find_map(|h| h.strip_prefix("Content-Length: "))
        .context("no Content-Length")?
        .parse()?;
    ensure!(
        length == body.len(),
        "Content-Length {length}, body {}",
        body.len()
    );
    ensure!(body.ends_with("# EOF\n"), "no EOF marker:\n{body}");
    let mut samples = HashMap::new();
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line
            .rsplit_once(' ')
            .with_context(|| format!("bad sample {line:?}"))?;
        let value: f64 = value
            .parse()
            .with_context(|| format!("bad value in {line:?}"))?;
        samples.insert(series.to_string(), value);
    }
    Ok(samples)
}

/// The value of a series; a series not (yet) reported counts as 0.
fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

/// Scrapes until `series` has `expected` (connection counts settle a
/// moment after the socket opens or closes).
fn wait_for(port: u16, series: &str, expected: f64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = value(&scrape(port)?, series);
        if found == expected {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("{series} is {found}, expected {expected}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn produce(client: &mut Client, correlation_id: i32, topic: &str, batch: Vec<u8>) -> Result<i16> {
    let raw = client.round_trip(&protocol::produce_request_v11(
        correlation_id,
        -1,
        &[(topic.into(), vec![(0, Some(batch))])],
    ))?;
    let response = protocol::decode_produce_response_v11(&raw)?;
    Ok(response
        .partition(topic, 0)
        .context("partition missing")?
        .error_code)
}

#[test]
fn counts_requests_traffic_and_state() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let (broker, port) = start_with_metrics()?;
    let series = |name: &str| format!("{name}{{topic=\"{TOPIC}\"}}");
    let partition = |name: &str| format!("{name}{{topic=\"{TOPIC}\",partition=\"0\"}}");
    let api = |name: &str, api: &str| format!("{name}{{api=\"{api}\"}}");

    let before = scrape(port)?;
    ensure!(value(&before, &partition("kafka_log_log_end_offset")) == 0.0);
    ensure!(before.contains_key(&partition("kafka_log_log_start_offset")));
    ensure!(value(&before, &partition("kafka_log_size_bytes")) == 0.0);
    ensure!(value(&before, &api("kafka_network_requests_total", "Produce")) == 0.0);
    ensure!(before.contains_key("kafka_coordinator_group_groups{state=\"Stable\"}"));
    ensure!(value(&before, "kafka_coordinator_group_groups{state=\"Empty\"}") == 0.0);
    ensure!(
        value(
            &before,
            "kafka_coordinator_group_consumer_groups{state=\"Stable\"}"
        ) == 0.0
    );
    // Share groups (KIP-932): none yet.
    ensure!(
        value(
            &before,
            "kafka_coordinator_group_share_groups{state=\"Stable\"}"
        ) == 0.0
    );
    ensure!(before.contains_key("kafka_coordinator_group_share_groups{state=\"Empty\"}"));
    ensure!(value(&before, "kafka_coordinator_group_share_group_members") == 0.0);
    ensure!(value(&before, "kafka_share_session_cache_sessions") == 0.0);
    for counter in [
        "kafka_share_group_acquisition_lock_timeouts_total",
        "kafka_share_group_redeliveries_total",
        "kafka_share_group_archived_records_total",
    ] {
        ensure!(
            before.get(counter) == Some(&0.0),
            "{counter} missing or not 0"
        );
    }
    let txn_ids = |state: &str| {
        format!("kafka_coordinator_transaction_transactional_ids{{state=\"{state}\"}}")
    };
    ensure!(value(&before, &txn_ids("Empty")) == 0.0);
    ensure!(before.contains_key(&txn_ids("Ongoing")));
    ensure!(value(&before, "kafka_log_cleaner_passes_total") == 0.0);
    ensure!(value(&before, "kafka_log_cleaner_read_bytes_total") == 0.0);
    ensure!(value(&before, "kafka_log_cleaner_records_removed_total") == 0.0);
    ensure!(value(&before, "kafka_log_cleaner_uncleanable_partitions") == 0.0);
    ensure!(before.contains_key("kafka_log_cleaner_max_clean_time_seconds"));

    let mut client = broker.connect()?;
    let batches = [
        RecordBatch::plain(&["one", "two", "three"]).encode(),
        RecordBatch::plain(&["four", "five"]).encode(),
    ];
    let produced_bytes: usize = batches.iter().map(Vec::len).sum();
    let [first, second] = batches;
    ensure!(produce(&mut client, 1, TOPIC, first)? == 0);
    ensure!(produce(&mut client, 2, TOPIC, second)? == 0);
    // UNKNOWN_TOPIC_OR_PARTITION (3).
    let lost = RecordBatch::plain(&["lost"]).encode();
    ensure!(produce(&mut client, 3, "no-such-topic", lost)? == 3);
    wait_for(port, "kafka_server_connections", 1.0)?;

    let request = FetchRequest::new(vec![(TOPIC_ID, vec![FetchPartitionRequest::new(0, 0)])]);
    let fetched = protocol::decode_fetch_response_v16(&client.round_trip(&request.encode_v16(4))?)?;
    let records = fetched.responses[0].1[0]
        .records
        .clone()
        .context("no records")?;
    ensure!(records.len() == produced_bytes, "fetched {}", records.len());

    let request = OffsetCommitRequest::standalone(
        "metered-group",
        vec![(TOPIC.into(), vec![CommitPartition::new(0, 5)])],
    );
    let committed = groups::decode_offset_commit_response(
        &client.round_trip(&groups::offset_commit_request(5, &request))?,
    )?;
    ensure!(committed.error_code(TOPIC, 0) == Some(0), "{committed:?}");

    let after = scrape(port)?;
    let expect = |series: &str, expected: f64| -> Result<()> {
        let found = value(&after, series);
        ensure!(
            found == expected,
            "{series} is {found}, expected {expected}"
        );
        Ok(())
    };
    expect(&api("kafka_network_requests_total", "Produce"), 3.0)?;
    expect(&api("kafka_network_requests_total", "Fetch"), 1.0)?;
    expect(&api("kafka_network_requests_total", "OffsetCommit"), 1.0)?;
    expect(
        "kafka_network_request_errors_total{api=\"Produce\",error=\"UnknownTopicOrPartition\"}",
        1.0,
    )?;
    ensure!(
        !after
            .keys()
            .any(|k| k.starts_with("kafka_network_request_errors_total{api=\"Fetch\"")),
        "a Fetch error was counted"
    );
    expect(
        &api("kafka_network_request_duration_seconds_count", "Produce"),
        3.0,
    )?;
    expect(
        "kafka_network_request_duration_seconds_bucket{le=\"+Inf\",api=\"Fetch\"}",
        1.0,
    )?;
    ensure!(
        value(
            &after,
            &api("kafka_network_request_duration_seconds_sum", "Produce")
        ) > 0.0
    );

    expect(
        &series("kafka_server_bytes_in_total"),
        produced_bytes as f64,
    )?;
    expect(&series("kafka_server_messages_in_total"), 5.0)?;
    expect(
        &series("kafka_server_bytes_out_total"),
        produced_bytes as f64,
    )?;
    expect(&series("kafka_server_messages_out_total"), 5.0)?;
    ensure!(
        !after.keys().any(|k| k.contains("no-such-topic")),
        "an unknown topic got counters"
    );

    expect(&partition("kafka_log_log_end_offset"), 5.0)?;
    expect(&partition("kafka_log_log_start_offset"), 0.0)?;
    expect(&partition("kafka_log_size_bytes"), produced_bytes as f64)?;
    expect("kafka_coordinator_group_groups{state=\"Empty\"}", 1.0)?;
    expect("kafka_coordinator_group_groups{state=\"Stable\"}", 0.0)?;
    // A transactional producer's id, with no transaction open yet.
    let init = client.init_producer_id(Some("metered-transactional-id"))?;
    ensure!(init.error_code == 0, "{init:?}");
    let after = scrape(port)?;
    ensure!(value(&after, &txn_ids("Empty")) == 1.0);
    ensure!(value(&after, &txn_ids("Ongoing")) == 0.0);
    expect("kafka_server_connections", 1.0)?;

    drop(client);
    wait_for(port, "kafka_server_connections", 0.0)?;
    Ok(())
}

#[test]
fn answers_only_get_metrics() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let (_broker, port) = start_with_metrics()?;
    let (status, _, _) = http(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")?;
    ensure!(status == "HTTP/1.1 404 Not Found", "{status}");
    let (status, headers, _) = http(port, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n")?;
    ensure!(status == "HTTP/1.1 405 Method Not Allowed", "{status}");
    ensure!(headers.contains("Allow: GET"), "{headers}");
    let (status, _, _) = http(port, "hello\r\n\r\n")?;
    ensure!(status == "HTTP/1.1 400 Bad Request", "{status}");
    // A peer that goes away mid-request leaves the endpoint working.
    drop(TcpStream::connect(("127.0.0.1", port))?.write_all(b"GET /met"));
    scrape(port)?;
    Ok(())
}

#[test]
fn off_without_the_key() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = Broker::on_fixture(&[TopicSpec::new(TOPIC, TOPIC_ID, 1)])?;
    let mut client = broker.connect()?;
    let batch = RecordBatch::plain(&["quiet"]).encode();
    ensure!(produce(&mut client, 1, TOPIC, batch)? == 0);
    let output = broker.output();
    ensure!(!output.contains("metrics"), "{output}");
    Ok(())
}

#[test]
fn a_malformed_listener_stops_the_broker() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let Err(e) = Broker::on_fixture_with(&[], &[("metrics.prometheus.listener", "ftp://x")]) else {
        bail!("started with metrics.prometheus.listener=ftp://x");
    };
    let message = format!("{e:#}");
    ensure!(
        message.contains("metrics.prometheus.listener=ftp://x is not of the form http://HOST:PORT"),
        "{message}"
    );
    Ok(())
}
