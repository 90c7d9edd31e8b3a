//! Log compaction as Kafka's `LogCleaner` does it: a compacted log keeps the
//! last record of each key at its offset (tombstones for
//! `delete.retention.ms`), never touches the active segment, keeps its
//! progress in `cleaner-offset-checkpoint`, survives kill -9 at any moment
//! without losing or duplicating records, and keeps `__consumer_offsets`
//! bounded.
//!
//! Records are read back with the harness's own decoders (gzip included)
//! and the partition directory with `harness::log_files`.

use anyhow::{Context, Result, ensure};
use harness::batch::{self, GZIP, Record, RecordBatch};
use harness::fixture::TopicSpec;
use harness::groups::{self, CommitPartition, OffsetCommitRequest, OffsetFetchGroup};
use harness::log_files;
use harness::wire::{Uuid, uuid};
use harness::{Broker, Client, or_skip};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const T: Uuid = uuid(0xc0);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A broker whose topic `t` (one partition) is compacted, with small
/// segments and a cleaner that looks for work every 50 ms.
fn start(extra: &[(&str, &str)]) -> Result<Broker> {
    let mut properties = vec![
        ("log.cleanup.policy", "compact"),
        ("log.segment.bytes", "4096"),
        ("log.cleaner.backoff.ms", "50"),
        ("log.cleaner.min.cleanable.ratio", "0.01"),
        ("log.segment.delete.delay.ms", "200"),
        ("log.retention.check.interval.ms", "100"),
    ];
    properties.extend_from_slice(extra);
    Broker::on_fixture_with(&[TopicSpec::new("t", T, 1)], &properties)
}

/// A record as the model and the read-back see it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    key: String,
    value: Option<Vec<u8>>,
    headers: Vec<batch::Header>,
    timestamp: i64,
}

/// One batch of (key, value) records, gzipped when asked.
fn keyed_batch(records: &[(String, Option<Vec<u8>>)], gzip: bool, timestamp: i64) -> RecordBatch {
    let records = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            timestamp_delta: i as i64,
            offset_delta: 0,
            key: Some(key.clone().into_bytes()),
            value: value.clone(),
            headers: vec![batch::Header {
                key: "h".into(),
                value: Some(key.clone().into_bytes()),
            }],
        })
        .collect::<Vec<_>>();
    let count = records.len() as i64;
    let mut batch = RecordBatch::without_producer(records);
    batch.base_timestamp = timestamp;
    batch.max_timestamp = timestamp + count - 1;
    if gzip {
        batch.attributes = GZIP;
    }
    batch
}

/// Produces `batch`; the offsets of its records.
fn produce(client: &mut Client, batch: &RecordBatch) -> Result<i64> {
    let produced = client.produce("t", 0, batch.encode())?;
    ensure!(produced.error_code == 0, "produce: {produced:?}");
    Ok(produced.base_offset)
}

/// Produces a batch of `records` and adds them to `model`; the batch sent.
fn produce_into(
    client: &mut Client,
    model: &mut Model,
    records: Vec<(String, Option<Vec<u8>>)>,
    gzip: bool,
    timestamp: i64,
) -> Result<RecordBatch> {
    let batch = keyed_batch(&records, gzip, timestamp);
    let base = produce(client, &batch)?;
    for (j, (key, value)) in records.into_iter().enumerate() {
        model.insert(
            base + j as i64,
            Stored {
                headers: vec![batch::Header {
                    key: "h".into(),
                    value: Some(key.clone().into_bytes()),
                }],
                key,
                value,
                timestamp: timestamp + j as i64,
            },
        );
    }
    Ok(batch)
}

/// Every record of t-0 from offset 0, by offset.
fn read_back(client: &mut Client) -> Result<BTreeMap<i64, Stored>> {
    let (_, batches) = client.fetch_to_end(T, 0, 0)?;
    let mut out = BTreeMap::new();
    for bytes in batches {
        for decoded in batch::decode_batches(&bytes)? {
            let b = &decoded.batch;
            // A batch the cleaner set a delete horizon on has it as its base
            // timestamp: record timestamps stay what they were.
            for record in &b.records {
                let offset = b.base_offset + i64::from(record.offset_delta);
                let key = String::from_utf8(record.key.clone().context("a record without key")?)?;
                let previous = out.insert(
                    offset,
                    Stored {
                        key,
                        value: record.value.clone(),
                        headers: record.headers.clone(),
                        timestamp: b.base_timestamp + record.timestamp_delta,
                    },
                );
                ensure!(previous.is_none(), "offset {offset} read twice");
            }
        }
    }
    Ok(out)
}

/// The base offset of t-0's active segment (its newest `.log` file).
fn active_base(dir: &Path) -> Result<i64> {
    let mut newest = 0;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(base) = log_files::parse_offset_file_name(&name, "log") {
            newest = newest.max(base);
        }
    }
    Ok(newest)
}

/// What `cleaner-offset-checkpoint` holds for `topic`-0.
fn cleaned_up_to(log_dir: &Path, topic: &str) -> Result<Option<i64>> {
    let path = log_dir.join("cleaner-offset-checkpoint");
    if !path.exists() {
        return Ok(None);
    }
    Ok(log_files::read_offset_checkpoint(&path)?
        .into_iter()
        .find(|e| e.topic == topic && e.partition == 0)
        .map(|e| e.offset))
}

/// Waits until the cleaner has cleaned t-0 up to its active segment.
fn wait_until_cleaned(broker: &Broker, timeout: Duration) -> Result<i64> {
    let dir = broker.log_dir().join("t-0");
    let deadline = Instant::now() + timeout;
    loop {
        let active = active_base(&dir)?;
        if let Some(offset) = cleaned_up_to(broker.log_dir(), "t")?
            && offset >= active
            && active > 0
        {
            return Ok(offset);
        }
        ensure!(
            Instant::now() < deadline,
            "t-0 was not cleaned up to its active segment ({active}) in {timeout:?}; checkpoint {:?}",
            cleaned_up_to(broker.log_dir(), "t")?
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The model: every record produced, by offset.
type Model = BTreeMap<i64, Stored>;

/// Checks a read-back against the model once the log is cleaned up to
/// `clean_to`: every record read is the model's record at that offset;
/// below `clean_to` only the last record of each key before `clean_to`
/// is left, a tombstone perhaps not; from `clean_to` on, everything is.
fn check_against_model(read: &BTreeMap<i64, Stored>, model: &Model, clean_to: i64) -> Result<()> {
    for (offset, record) in read {
        let expected = model
            .get(offset)
            .with_context(|| format!("offset {offset} was never produced: {record:?}"))?;
        ensure!(
            record == expected,
            "offset {offset}: read {record:?}, produced {expected:?}"
        );
    }
    let mut last_before: HashMap<&str, i64> = HashMap::new();
    for (offset, record) in model.range(..clean_to) {
        last_before.insert(&record.key, *offset);
    }
    for (offset, record) in read.range(..clean_to) {
        ensure!(
            last_before[record.key.as_str()] == *offset,
            "offset {offset} ({}) is not the last of its key below {clean_to}",
            record.key
        );
    }
    for (key, offset) in &last_before {
        if model[offset].value.is_some() {
            ensure!(
                read.contains_key(offset),
                "the last value of {key} (offset {offset}) is gone"
            );
        }
    }
    for offset in model.range(clean_to..).map(|(o, _)| o) {
        ensure!(
            read.contains_key(offset),
            "offset {offset} beyond the cleaned section is gone"
        );
    }
    Ok(())
}

#[test]
fn a_compacted_topic_keeps_the_last_value_of_each_key() -> Result<()> {
    let mut broker = or_skip!(start(&[]));
    let mut client = broker.connect()?;
    let mut model = Model::new();
    let timestamp = now_ms();
    for i in 0..300 {
        let records: Vec<(String, Option<Vec<u8>>)> = (0..3)
            .map(|j| {
                let key = format!("k{}", (i * 7 + j * 13) % 40);
                let value =
                    (i % 11 != 5).then(|| format!("v{i}-{j}-{}", "x".repeat(40)).into_bytes());
                (key, value)
            })
            .collect();
        produce_into(&mut client, &mut model, records, i % 3 == 0, timestamp + i)?;
    }
    let clean_to = wait_until_cleaned(&broker, Duration::from_secs(20))?;
    let read = read_back(&mut client)?;
    check_against_model(&read, &model, clean_to)?;
    let below = read.range(..clean_to).count();
    ensure!(
        below <= 40,
        "{below} records left below {clean_to} for 40 keys"
    );
    ensure!(
        read.len() < model.len() / 3,
        "{} of {} records left",
        read.len(),
        model.len()
    );

    // The cleaned log is what a restart after kill -9 loads, unchanged.
    if broker.own_checks("restarts the broker") {
        broker.restart()?;
        let mut client = broker.connect()?;
        ensure!(
            read_back(&mut client)? == read,
            "the log changed across kill -9"
        );
    }
    Ok(())
}

#[test]
fn tombstones_go_after_delete_retention_ms() -> Result<()> {
    let broker = or_skip!(start(&[("log.cleaner.delete.retention.ms", "0")]));
    let mut client = broker.connect()?;
    let timestamp = now_ms();
    for i in 0..20 {
        let records = vec![
            ("gone".to_string(), Some(format!("v{i}").into_bytes())),
            ("kept".to_string(), Some(format!("v{i}").into_bytes())),
        ];
        produce(&mut client, &keyed_batch(&records, false, timestamp))?;
    }
    produce(
        &mut client,
        &keyed_batch(&[("gone".to_string(), None)], false, timestamp),
    )?;
    // Enough after the tombstone to roll it out of the active segment, in
    // several rounds so that the cleaner passes again.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for i in 0..40 {
            let filler = vec![(format!("filler{}", i % 4), Some(vec![b'f'; 100]))];
            produce(&mut client, &keyed_batch(&filler, false, now_ms()))?;
        }
        let read = read_back(&mut client)?;
        let gone = read.values().filter(|r| r.key == "gone").count();
        if gone == 0 {
            ensure!(
                read.values()
                    .any(|r| r.key == "kept" && r.value.as_deref() == Some(b"v19")),
                "the last value of kept is gone"
            );
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "the tombstone of gone is still there: {gone} records of it"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_consumer_offsets_topic_stays_bounded_and_resumes_after_a_restart() -> Result<()> {
    const PARTITIONS: i32 = 100;
    let mut broker = or_skip!(Broker::on_fixture_with(
        &[TopicSpec::new("t", T, PARTITIONS)],
        &[
            ("offsets.topic.num.partitions", "1"),
            ("offsets.topic.segment.bytes", "1048576"),
            ("log.cleaner.backoff.ms", "50"),
            ("log.segment.delete.delay.ms", "100"),
            ("log.retention.check.interval.ms", "100"),
        ],
    ));
    if !broker.own_checks("reads the broker's __consumer_offsets directory") {
        return Ok(());
    }
    let mut client = broker.connect()?;
    // A million commits: 10,000 requests of 100 partitions each, pipelined.
    const ROUNDS: i64 = 10_000;
    const IN_FLIGHT: i64 = 64;
    let request = |round: i64| {
        let partitions = (0..PARTITIONS)
            .map(|p| CommitPartition::new(p, round * 10 + i64::from(p)))
            .collect();
        groups::offset_commit_request(
            round as i32,
            &OffsetCommitRequest::standalone("g", vec![("t".into(), partitions)]),
        )
    };
    let mut sent = 0;
    let mut received = 0;
    while received < ROUNDS {
        while sent < ROUNDS && sent - received < IN_FLIGHT {
            client.send(&request(sent))?;
            sent += 1;
        }
        let response = groups::decode_offset_commit_response(&client.receive()?)?;
        ensure!(
            (0..PARTITIONS).all(|p| response.error_code("t", p) == Some(0)),
            "commit {received}: {response:?}"
        );
        received += 1;
    }
    let dir = broker.log_dir().join("__consumer_offsets-0");
    let size = || -> Result<u64> {
        let mut total = 0;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().ends_with(".log") {
                total += entry.metadata()?.len();
            }
        }
        Ok(total)
    };
    let written = size()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while size()? > 3 * 1024 * 1024 {
        ensure!(
            Instant::now() < deadline,
            "__consumer_offsets-0 holds {} bytes after cleaning (written {written})",
            size()?
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let fetch = |client: &mut Client| -> Result<Vec<i64>> {
        let raw = client.round_trip(&groups::offset_fetch_request(
            1,
            &[OffsetFetchGroup::new(
                "g",
                Some(vec![("t".into(), (0..PARTITIONS).collect())]),
            )],
            false,
        ))?;
        let response = groups::decode_offset_fetch_response(&raw)?;
        let group = response.group("g").context("no group g")?;
        (0..PARTITIONS)
            .map(|p| {
                group
                    .partition("t", p)
                    .map(|f| f.committed_offset)
                    .with_context(|| format!("no offset for t-{p}"))
            })
            .collect()
    };
    let expected: Vec<i64> = (0..PARTITIONS)
        .map(|p| (ROUNDS - 1) * 10 + i64::from(p))
        .collect();
    let before = fetch(&mut client)?;
    ensure!(
        before == expected,
        "committed offsets before restart: {before:?}"
    );
    broker.restart()?;
    let mut client = broker.connect()?;
    let after = fetch(&mut client)?;
    ensure!(
        after == expected,
        "the group did not resume at its last commit after a restart: {after:?}"
    );
    Ok(())
}

// ------------------------------------------------------- the property test

#[derive(Debug, Clone)]
enum Op {
    /// A batch of (key index, value or tombstone) records, gzipped or not.
    Produce(Vec<(u8, Option<u16>)>, bool),
    /// kill -9 and start again, at once or after a pause.
    Kill(u8),
    /// Let the cleaner run a while.
    Pause(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (
            proptest::collection::vec((0u8..12, proptest::option::weighted(0.85, any::<u16>())), 1..12),
            any::<bool>()
        )
            .prop_map(|(records, gzip)| Op::Produce(records, gzip)),
        1 => (0u8..60).prop_map(Op::Kill),
        1 => (0u8..60).prop_map(Op::Pause),
    ]
}

/// Random keys, values and tombstones in plain and gzipped batches, with
/// kill -9 at random moments while the cleaner runs (throttled, so that
/// kills land mid-pass): once it has cleaned the log up to the active
/// segment, what is read back equals the model's last record of each key
/// at the same offset, and nothing else below.
#[test]
fn compaction_with_kill_9_matches_the_model() -> Result<()> {
    let broker = or_skip!(start(&[
        ("log.cleaner.io.max.bytes.per.second", "200000"),
        ("log.cleaner.backoff.ms", "10"),
        ("log.cleaner.delete.retention.ms", "0"),
    ]));
    if !broker.own_checks("kills the broker") {
        return Ok(());
    }
    drop(broker);
    let cases = std::env::var("COMPACTION_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 30..80), |ops| {
            run_case(&ops).map_err(|e| TestCaseError::fail(format!("{e:#}")))
        })
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn run_case(ops: &[Op]) -> Result<()> {
    let mut broker = start(&[
        ("log.cleaner.io.max.bytes.per.second", "200000"),
        ("log.cleaner.backoff.ms", "10"),
        ("log.cleaner.delete.retention.ms", "0"),
    ])?;
    let mut client = broker.connect()?;
    let mut model = Model::new();
    let timestamp = now_ms();
    let key = |k: u8| format!("key-{k}");
    let value = |v: u16| format!("{v:05}-{}", "v".repeat(v as usize % 200)).into_bytes();
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Produce(records, gzip) => {
                let records: Vec<(String, Option<Vec<u8>>)> = records
                    .iter()
                    .map(|(k, v)| (key(*k), v.map(value)))
                    .collect();
                let at = timestamp + i as i64 * 100;
                produce_into(&mut client, &mut model, records, *gzip, at)?;
            }
            Op::Kill(ms) => {
                std::thread::sleep(Duration::from_millis(u64::from(*ms)));
                broker.restart()?;
                client = broker.connect()?;
            }
            Op::Pause(ms) => std::thread::sleep(Duration::from_millis(u64::from(*ms))),
        }
    }
    // Push the model's records out of the active segment with records of
    // other keys, then let the cleaner finish.
    let end = model.keys().next_back().map_or(0, |o| o + 1);
    loop {
        let filler = vec![("filler".to_string(), Some(vec![b'f'; 500]))];
        produce_into(&mut client, &mut model, filler, false, now_ms())?;
        if active_base(&broker.log_dir().join("t-0"))? > end {
            break;
        }
    }
    let clean_to = wait_until_cleaned(&broker, Duration::from_secs(30))?;
    ensure!(clean_to >= end, "cleaned up to {clean_to}, below {end}");
    let output = broker.output();
    eprintln!(
        "case: {} ops ({} kills, {} unfinished cleaner files found on restart), {} records produced, {} left, cleaned to {clean_to}",
        ops.len(),
        ops.iter().filter(|o| matches!(o, Op::Kill(_))).count(),
        output
            .lines()
            .filter(|l| {
                l.contains("interrupted segment swap")
                    || (l.contains("leftover temporary file")
                        && (l.contains(".cleaned") || l.contains(".swap")))
            })
            .count(),
        model.len(),
        read_back(&mut client)?.len()
    );
    let read = read_back(&mut client)?;
    check_against_model(&read, &model, clean_to)?;
    // Exactly one value per key: the model's last.
    let mut last: HashMap<&str, i64> = HashMap::new();
    for (offset, record) in model.range(..end) {
        last.insert(&record.key, *offset);
    }
    for (key, offset) in last {
        if model[&offset].value.is_some() {
            ensure!(read.contains_key(&offset), "{key}: its last value is gone");
        }
        let left = read.range(..end).filter(|(_, r)| r.key == key).count();
        ensure!(left <= 1, "{key}: {left} records left");
    }
    Ok(())
}
