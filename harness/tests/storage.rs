//! The files the broker keeps next to its logs, as Apache Kafka lays them
//! out, read back with the harness's own decoders (`harness::log_files`):
//! offset and time indexes across rolls, the checkpoints and clean shutdown
//! marker of a graceful stop, producer snapshots, a restart that scans
//! nothing after a clean shutdown, and indexes rebuilt when damaged.

use anyhow::{Context, Result, ensure};
use harness::batch::{self, Record, RecordBatch};
use harness::fixture::{self, PartitionSpec, TopicSpec};
use harness::launcher::{log_line_fields, own_broker_only};
use harness::log_files::{self, State};
use harness::wire::{Uuid, uuid};
use harness::{Broker, Client, or_skip};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Why these tests do not certify an external broker.
const SUITE: &str = "storage tests stop and restart the broker and read its files";

const A: Uuid = uuid(0x5a);
const B: Uuid = uuid(0x5b);

const SEGMENT_BYTES: usize = 65536;
const INDEX_INTERVAL: usize = 4096;

fn segments_config() -> [(&'static str, String); 2] {
    [
        ("log.segment.bytes", SEGMENT_BYTES.to_string()),
        ("log.index.interval.bytes", INDEX_INTERVAL.to_string()),
    ]
}

fn start(topics: &[TopicSpec], extra: &[(&'static str, String)]) -> Result<Broker> {
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Broker::on_fixture_with(topics, &extra)
}

/// A deterministic xorshift generator: the tests need no seeds of their own.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A batch of `records` records of about `bytes` bytes in all, without a
/// producer id. Timestamps wander, so that a batch's largest timestamp is
/// not always the largest so far.
fn wandering_batch(rng: &mut Rng, records: usize, bytes: usize) -> Vec<u8> {
    let base_timestamp = 1_700_000_000_000 + rng.below(100_000) as i64;
    let records: Vec<Record> = (0..records)
        .map(|_| {
            let value: Vec<u8> = (0..bytes / records)
                .map(|_| b'a' + rng.below(26) as u8)
                .collect();
            Record {
                timestamp_delta: rng.below(1000) as i64,
                ..Record::value(value)
            }
        })
        .collect();
    let max_delta = records.iter().map(|r| r.timestamp_delta).max().unwrap_or(0);
    let mut batch = RecordBatch::without_producer(records);
    batch.base_timestamp = base_timestamp;
    batch.max_timestamp = base_timestamp + max_delta;
    batch.encode()
}

/// What a partition must hold: the acknowledged batches as stored.
#[derive(Default)]
struct Partition {
    /// (base offset, last offset, stored bytes), by offset.
    batches: Vec<(i64, i64, Vec<u8>)>,
    next_offset: i64,
}

impl Partition {
    fn produce(
        &mut self,
        client: &mut Client,
        topic: &str,
        index: i32,
        sent: Vec<u8>,
        leader_epoch: i32,
    ) -> Result<()> {
        let produced = client.produce(topic, index, sent.clone())?;
        ensure!(
            (produced.error_code, produced.base_offset) == (0, self.next_offset),
            "{topic}-{index}: {produced:?}, expected offset {}",
            self.next_offset
        );
        let records = batch::scan_batch_headers(&sent)?[0].record_count;
        let last = self.next_offset + i64::from(records) - 1;
        self.batches.push((
            self.next_offset,
            last,
            batch::as_stored(&sent, self.next_offset, leader_epoch),
        ));
        self.next_offset = last + 1;
        Ok(())
    }

    fn bytes(&self) -> usize {
        self.batches.iter().map(|(_, _, b)| b.len()).sum()
    }

    /// The stored batch that holds `offset`.
    fn batch_holding(&self, offset: i64) -> Option<&(i64, i64, Vec<u8>)> {
        let at = self.batches.partition_point(|(_, last, _)| *last < offset);
        self.batches.get(at).filter(|(base, _, _)| *base <= offset)
    }

    /// The whole log, as the segment files together must hold it.
    fn log(&self) -> Vec<u8> {
        self.batches
            .iter()
            .flat_map(|(_, _, b)| b.clone())
            .collect()
    }
}

/// Fetching from `offset` returns first the batch that holds it.
fn ensure_fetch_from(
    client: &mut Client,
    topic_id: Uuid,
    model: &Partition,
    offset: i64,
) -> Result<()> {
    let fetched = client.fetch_partition(topic_id, 0, offset, 1)?;
    ensure!(
        fetched.error_code == 0 && fetched.high_watermark == model.next_offset,
        "fetch from {offset}: {fetched:?}"
    );
    let first = fetched
        .first_batch()
        .with_context(|| format!("fetch from {offset}"))?;
    let (base, last, expected) = model.batch_holding(offset).context("no such offset")?;
    ensure!(
        first == &expected[..],
        "fetch from {offset}: the first batch is not the one at {base}..={last} (got {:?})",
        batch::scan_batch_headers(first).map(|h| (h[0].base_offset, h[0].last_offset_delta))
    );
    Ok(())
}

fn partition_dir(broker: &Broker, topic: &str, index: i32) -> PathBuf {
    broker.log_dir().join(format!("{topic}-{index}"))
}

/// The concatenated segment files of a partition.
fn log_on_disk(report: &log_files::PartitionReport) -> Result<Vec<u8>> {
    let mut log = Vec::new();
    for segment in &report.files.segments {
        log.extend(std::fs::read(&segment.log)?);
    }
    Ok(log)
}

/// Produces batches of about 1 KiB (4 records) to `topic`-0 until the log
/// holds `bytes`.
fn fill(
    client: &mut Client,
    topic: &str,
    model: &mut Partition,
    rng: &mut Rng,
    bytes: usize,
) -> Result<()> {
    while model.bytes() < bytes {
        model.produce(client, topic, 0, wandering_batch(rng, 4, 1000), 0)?;
    }
    Ok(())
}

/// The fields of the broker's last `loaded logs` line, and checks that the
/// last start logged exactly one.
fn loaded_logs(broker: &Broker) -> Result<HashMap<String, String>> {
    let since_start = broker.output_since_start();
    let count = since_start
        .lines()
        .filter(|l| l.contains("loaded logs"))
        .count();
    ensure!(
        count == 1,
        "the last start logged {count} `loaded logs` lines, expected one:\n{since_start}"
    );
    let line = broker
        .last_output_line("loaded logs")
        .context("no `loaded logs` line")?;
    let fields = log_line_fields(&line);
    for key in ["logs", "clean_shutdown", "recovery_scanned_bytes"] {
        ensure!(fields.contains_key(key), "no {key}= in {line:?}");
    }
    fields["logs"]
        .parse::<u64>()
        .with_context(|| format!("logs= in {line:?}"))?;
    fields["recovery_scanned_bytes"]
        .parse::<u64>()
        .with_context(|| format!("recovery_scanned_bytes= in {line:?}"))?;
    Ok(fields)
}

#[test]
fn indexes_follow_the_log_across_rolls() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let mut broker = start(&[TopicSpec::new("a", A, 1)], &segments_config())?;
    let mut client = broker.connect()?;
    let mut model = Partition::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    fill(&mut client, "a", &mut model, &mut rng, 1 << 20)?;
    broker.stop()?;

    let report = log_files::verify_partition(&partition_dir(&broker, "a", 0), State::Stopped)?;
    ensure!(
        log_on_disk(&report)? == model.log(),
        "the segments do not hold the acknowledged batches"
    );
    ensure!(report.log_end_offset == model.next_offset);
    ensure!(
        report.segments.len() >= (1 << 20) / SEGMENT_BYTES,
        "{} segments for {} bytes of {SEGMENT_BYTES}-byte segments",
        report.segments.len(),
        model.bytes()
    );
    let mut entries = 0;
    for segment in &report.segments {
        log_files::check_index_density(segment, INDEX_INTERVAL)?;
        entries += segment.index.as_ref().map_or(0, Vec::len);
    }
    // About one entry per index.interval.bytes (and one batch) of log.
    let max_batch = report
        .segments
        .iter()
        .map(|s| s.max_batch_size())
        .max()
        .unwrap_or(0);
    let (low, high) = (
        (model.bytes() / (INDEX_INTERVAL + max_batch)).saturating_sub(report.segments.len()),
        model.bytes() / INDEX_INTERVAL,
    );
    ensure!(
        (low..=high).contains(&entries),
        "{entries} index entries for {} bytes, expected {low}..={high}",
        model.bytes()
    );

    broker.start_again()?;
    let mut client = broker.connect()?;
    let mut offsets: Vec<i64> = report
        .segments
        .iter()
        .flat_map(|s| {
            let index = s.index.iter().flatten().map(|e| e.offset);
            let time_index = s.time_index.iter().flatten().map(|e| e.offset);
            std::iter::once(s.base_offset)
                .chain(index)
                .chain(time_index)
        })
        .collect();
    offsets.extend((0..300).map(|_| rng.below(model.next_offset as u64) as i64));
    offsets.push(model.next_offset - 1);
    for offset in offsets {
        ensure_fetch_from(&mut client, A, &model, offset)?;
    }
    Ok(())
}

#[test]
fn a_graceful_stop_leaves_checkpoints_and_snapshots() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let mut b0 = PartitionSpec::new(0);
    b0.leader_epoch = 5;
    let topics = [
        TopicSpec::new("a", A, 3),
        TopicSpec::new("b.dotted_name-1", B, 1).with_partition(b0),
    ];
    let epochs: BTreeMap<(String, i32), i32> = topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| ((t.name.clone(), p.index), p.leader_epoch))
        })
        .collect();
    let mut broker = start(&topics, &[("log.segment.bytes", "4096".into())])?;
    let mut client = broker.connect()?;
    let mut rng = Rng(7);
    // a-2 stays empty.
    let mut models: BTreeMap<(String, i32), Partition> = epochs
        .keys()
        .map(|key| (key.clone(), Partition::default()))
        .collect();
    for (topic, index, batches) in [("a", 0, 9), ("a", 1, 2), ("b.dotted_name-1", 0, 5)] {
        let key = (topic.to_string(), index);
        for _ in 0..batches {
            let records = 1 + rng.below(5) as usize;
            let model = models.get_mut(&key).unwrap();
            model.produce(
                &mut client,
                topic,
                index,
                wandering_batch(&mut rng, records, 600),
                epochs[&key],
            )?;
        }
    }
    broker.stop()?;

    let log_dir = broker.log_dir().to_path_buf();
    let marker = log_files::read_clean_shutdown(&log_dir.join(log_files::CLEAN_SHUTDOWN_MARKER))?;
    ensure!(marker.version == 0, "{marker:?}");
    // Every partition directory but the metadata log's is a partition.
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(&log_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() && name != "__cluster_metadata-0" {
            dirs.push(name);
        }
    }
    dirs.sort();
    let expected_dirs: Vec<String> = models.keys().map(|(t, i)| format!("{t}-{i}")).collect();
    ensure!(dirs == expected_dirs, "partition directories {dirs:?}");

    for (file, what) in [
        (log_files::RECOVERY_POINT_CHECKPOINT, "recovery point"),
        (log_files::LOG_START_OFFSET_CHECKPOINT, "log start offset"),
        (log_files::HIGH_WATERMARK_CHECKPOINT, "high watermark"),
    ] {
        let entries = log_files::read_offset_checkpoint(&log_dir.join(file))?;
        let listed: BTreeMap<(String, i32), i64> = entries
            .iter()
            .filter(|e| e.topic != "__cluster_metadata")
            .map(|e| ((e.topic.clone(), e.partition), e.offset))
            .collect();
        let expected: BTreeMap<(String, i32), i64> = models
            .iter()
            .map(|(key, model)| {
                let offset = if file != log_files::LOG_START_OFFSET_CHECKPOINT {
                    model.next_offset
                } else {
                    0
                };
                (key.clone(), offset)
            })
            .collect();
        ensure!(
            listed == expected,
            "{file}: {what}s {listed:?}, expected {expected:?}"
        );
    }

    for ((topic, index), model) in &models {
        let dir = partition_dir(&broker, topic, *index);
        let report = log_files::verify_partition(&dir, State::Stopped)?;
        ensure!(
            log_on_disk(&report)? == model.log(),
            "{topic}-{index}: the segments do not hold the acknowledged batches"
        );
        let epoch = epochs[&(topic.clone(), *index)];
        let leader_epochs = report.leader_epochs.as_deref().with_context(|| {
            format!("{topic}-{index}: no {}", log_files::LEADER_EPOCH_CHECKPOINT)
        })?;
        let expected = [log_files::EpochEntry {
            epoch,
            start_offset: 0,
        }];
        if model.next_offset == 0 {
            // Kafka assigns the epoch when it becomes leader; a broker that
            // does so at the first append has none yet.
            ensure!(
                leader_epochs.is_empty() || leader_epochs == expected,
                "{topic}-{index}: leader epochs {leader_epochs:?}"
            );
            if let Some(producers) = report.snapshot_at(0) {
                ensure!(producers.is_empty(), "{topic}-{index}: {producers:?}");
            }
        } else {
            ensure!(
                leader_epochs == expected,
                "{topic}-{index}: leader epochs {leader_epochs:?}, expected {expected:?}"
            );
            let producers = report.snapshot_at(model.next_offset).with_context(|| {
                format!(
                    "{topic}-{index}: no snapshot at the log end offset {} (snapshots at {:?})",
                    model.next_offset,
                    report.snapshots.iter().map(|(o, _)| o).collect::<Vec<_>>()
                )
            })?;
            // Batches without a producer id leave no producer state.
            ensure!(producers.is_empty(), "{topic}-{index}: {producers:?}");
        }
    }

    broker.start_again()?;
    ensure!(
        !log_dir.join(log_files::CLEAN_SHUTDOWN_MARKER).exists(),
        "{} is still there after the restart",
        log_files::CLEAN_SHUTDOWN_MARKER
    );
    let mut client = broker.connect()?;
    for ((topic, index), model) in &models {
        let id = if topic == "a" { A } else { B };
        let (high_watermark, batches) = client.fetch_to_end(id, *index, 0)?;
        ensure!(
            high_watermark == model.next_offset && batches.concat() == model.log(),
            "{topic}-{index} after the restart: high watermark {high_watermark}, {} batches",
            batches.len()
        );
    }
    Ok(())
}

#[test]
fn a_clean_restart_scans_nothing_and_a_crash_recovers() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let mut broker = start(&[TopicSpec::new("a", A, 1)], &segments_config())?;
    let mut client = broker.connect()?;
    let mut model = Partition::default();
    let mut rng = Rng(11);
    fill(&mut client, "a", &mut model, &mut rng, 300_000)?;

    broker.restart_after_stop()?;
    let fields = loaded_logs(&broker)?;
    ensure!(
        fields["clean_shutdown"] == "true" && fields["recovery_scanned_bytes"] == "0",
        "after a graceful stop: {fields:?}"
    );
    ensure!(fields["logs"].parse::<u64>()? >= 1, "{fields:?}");

    // Produce on another thread until the broker is killed under it.
    let mut producer = broker.connect()?;
    let mut loader_model = model;
    let loader = std::thread::spawn(move || {
        let mut rng = Rng(13);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let sent = wandering_batch(&mut rng, 4, 1000);
            if loader_model
                .produce(&mut producer, "a", 0, sent, 0)
                .is_err()
            {
                break;
            }
        }
        loader_model
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    broker.kill();
    let model = loader.join().expect("the producing thread panicked");
    broker.start_again()?;
    let fields = loaded_logs(&broker)?;
    ensure!(
        fields["clean_shutdown"] == "false",
        "after kill -9: {fields:?}"
    );
    ensure!(
        fields["recovery_scanned_bytes"].parse::<u64>()? > 0,
        "after kill -9 under load: {fields:?}"
    );
    // Every acknowledged batch is still there (an unacknowledged last one
    // may be too).
    let mut client = broker.connect()?;
    let (_, batches) = client.fetch_to_end(A, 0, 0)?;
    let fetched = batches.concat();
    ensure!(
        fetched.starts_with(&model.log()) && batches.len() <= model.batches.len() + 1,
        "acknowledged batches lost: {} bytes fetched, {} acknowledged",
        fetched.len(),
        model.bytes()
    );
    let first_scan: u64 = fields["recovery_scanned_bytes"].parse()?;

    // The recovered data is flushed soon after the start and the recovery
    // point checkpointed, so a second crash does not check it again.
    let (end, _) = client.fetch_to_end(A, 0, 0)?;
    let checkpoint = broker.log_dir().join(log_files::RECOVERY_POINT_CHECKPOINT);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let entries = log_files::read_offset_checkpoint(&checkpoint)?;
        let point = entries
            .iter()
            .find(|e| e.topic == "a" && e.partition == 0)
            .map(|e| e.offset);
        if point == Some(end) {
            break;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "the recovery point stays at {point:?}, the log ends at {end}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    broker.kill();
    broker.start_again()?;
    let fields = loaded_logs(&broker)?;
    let second_scan: u64 = fields["recovery_scanned_bytes"].parse()?;
    ensure!(
        fields["clean_shutdown"] == "false" && second_scan < first_scan / 4,
        "a second crash rescans {second_scan} bytes (the first {first_scan}): {fields:?}"
    );
    Ok(())
}

#[test]
fn idempotent_dedup_survives_a_clean_restart_through_the_snapshot() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let mut broker = start(&[TopicSpec::new("t", A, 1)], &[])?;
    let mut client = broker.connect()?;
    let producer = client.init_producer_id(None)?;
    ensure!(producer.error_code == 0, "{producer:?}");
    let (id, epoch) = (producer.producer_id, producer.producer_epoch);
    let mut last = None;
    for i in 0..5 {
        let values = [format!("v{i}-0"), format!("v{i}-1"), format!("v{i}-2")];
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let sent = RecordBatch::idempotent(id, epoch, 3 * i, &values);
        let produced = client.produce("t", 0, sent.encode())?;
        ensure!(
            (produced.error_code, produced.base_offset) == (0, i64::from(3 * i)),
            "{produced:?}"
        );
        last = Some(sent);
    }
    let last = last.unwrap();
    broker.stop()?;

    let report = log_files::verify_partition(&partition_dir(&broker, "t", 0), State::Stopped)?;
    ensure!(report.log_end_offset == 15);
    let producers = report.snapshot_at(15).with_context(|| {
        format!(
            "no snapshot at 15 (snapshots at {:?})",
            report.snapshots.iter().map(|(o, _)| o).collect::<Vec<_>>()
        )
    })?;
    let expected = log_files::ProducerSnapshotEntry {
        producer_id: id,
        epoch,
        last_sequence: 14,
        last_offset: 14,
        offset_delta: 2,
        timestamp: last.max_timestamp,
        coordinator_epoch: -1,
        current_txn_first_offset: -1,
    };
    ensure!(
        producers == [expected],
        "snapshot at 15: {producers:?}, expected {expected:?}"
    );

    broker.start_again()?;
    // The producer state came from the snapshot, not from reading the log.
    let fields = loaded_logs(&broker)?;
    ensure!(
        fields["clean_shutdown"] == "true" && fields["recovery_scanned_bytes"] == "0",
        "{fields:?}"
    );
    let mut client = broker.connect()?;
    let retry = client.produce("t", 0, last.encode())?;
    ensure!(
        (retry.error_code, retry.base_offset) == (0, 12),
        "the retried last batch: {retry:?}"
    );
    let next = client.produce(
        "t",
        0,
        RecordBatch::idempotent(id, epoch, 15, &["next"]).encode(),
    )?;
    ensure!(
        (next.error_code, next.base_offset) == (0, 15),
        "the next batch: {next:?}"
    );
    let (_, fetched) = client.fetch_to_end(A, 0, 0)?;
    let offsets: Vec<i64> = batch::decode_batches(&fetched.concat())?
        .iter()
        .map(|b| b.batch.base_offset)
        .collect();
    ensure!(
        offsets == [0, 3, 6, 9, 12, 15],
        "each batch once: {offsets:?}"
    );
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Cut to a length that is not a whole number of entries.
    Truncated,
    /// Random bytes of the same length.
    Garbage,
    Deleted,
}

#[test]
fn damaged_indexes_are_rebuilt() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let mut broker = start(&[TopicSpec::new("a", A, 1)], &segments_config())?;
    let mut client = broker.connect()?;
    let mut model = Partition::default();
    let mut rng = Rng(17);
    fill(&mut client, "a", &mut model, &mut rng, 5 * SEGMENT_BYTES)?;
    broker.stop()?;
    let dir = partition_dir(&broker, "a", 0);
    let report = log_files::verify_partition(&dir, State::Stopped)?;
    ensure!(
        report.segments.len() >= 4,
        "{} segments",
        report.segments.len()
    );

    for (segment, damage) in [Damage::Truncated, Damage::Garbage, Damage::Deleted]
        .into_iter()
        .enumerate()
    {
        let files = &report.files.segments[segment];
        let path = files.index.clone().context("no index")?;
        let original = std::fs::read(&path)?;
        ensure!(
            original.len() >= 16,
            "{}: too few entries to damage",
            path.display()
        );
        match damage {
            Damage::Truncated => std::fs::write(&path, &original[..original.len() - 3])?,
            Damage::Garbage => {
                let garbage: Vec<u8> = (0..original.len()).map(|_| rng.next() as u8).collect();
                std::fs::write(&path, garbage)?;
            }
            Damage::Deleted => std::fs::remove_file(&path)?,
        }
        // The premise: the harness's reader sees the damage.
        ensure!(
            log_files::verify_partition(&dir, State::Stopped).is_err(),
            "{damage:?}: the damaged index still verifies"
        );

        broker.start_again()?;
        let output = broker.output_since_start();
        ensure!(
            output
                .lines()
                .any(|l| l.contains("WARN") && l.contains("rebuilding index")),
            "{damage:?} index of segment {}: no warning `rebuilding index`:\n{output}",
            files.base_offset
        );
        let mut client = broker.connect()?;
        for offset in 0..model.next_offset {
            ensure_fetch_from(&mut client, A, &model, offset)
                .with_context(|| format!("{damage:?} index"))?;
        }
        broker.stop()?;
        let rebuilt = log_files::verify_partition(&dir, State::Stopped)
            .with_context(|| format!("after rebuilding the {damage:?} index"))?;
        log_files::check_index_density(&rebuilt.segments[segment], INDEX_INTERVAL)?;
        ensure!(log_on_disk(&rebuilt)? == model.log());
    }
    Ok(())
}

#[test]
fn kafkas_log_directory_gets_its_indexes() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let dir = tempfile::tempdir()?;
    let log_dir = dir.path().join("kafka-4.0-logs");
    fixture::copy_tree(fixture::kafka_4_0_logs(), &log_dir)?;
    let foo = log_dir.join("foo-0");
    let kafka_log = std::fs::read(foo.join(fixture::LOG_FILE))?;
    ensure!(
        !foo.join("00000000000000000000.index").exists(),
        "the fixture has no indexes"
    );
    let mut broker = Broker::start(&log_dir)?;
    let mut client = broker.connect()?;
    let fetched = client.fetch_partition(fixture::KAFKA_4_0_FOO_ID, 0, 0, i32::MAX)?;
    ensure!(
        fetched.error_code == 0 && fetched.records.as_deref() == Some(&kafka_log[..]),
        "{fetched:?}"
    );
    broker.stop()?;

    let report = log_files::verify_partition(&foo, State::Stopped)?;
    ensure!(
        log_on_disk(&report)? == kafka_log,
        "Kafka's segment was changed"
    );
    let segment = &report.segments[0];
    ensure!(
        segment.index.is_some() && segment.time_index.is_some(),
        "{:?}",
        report.files
    );
    // One small batch: no offset index entry, and the time index holds
    // only the segment's largest timestamp.
    let header = &segment.batches[0];
    ensure!(
        segment.time_index.as_deref()
            == Some(
                &[log_files::TimeIndexEntry {
                    timestamp: header.max_timestamp,
                    offset: header.base_offset + i64::from(header.last_offset_delta),
                }][..]
            ),
        "{:?}",
        segment.time_index
    );
    log_files::check_index_density(segment, log_files::DEFAULT_INDEX_INTERVAL_BYTES)?;
    Ok(())
}
