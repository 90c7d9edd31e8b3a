//! Retention as Kafka applies it: `retention.bytes` and `retention.ms`
//! delete whole segments, oldest first, every
//! `log.retention.check.interval.ms`; their files are renamed `.deleted`
//! and removed `file.delete.delay.ms` later; the log start offset moves,
//! is checkpointed, and Fetch below it answers OFFSET_OUT_OF_RANGE.
//! DeleteRecords moves the log start offset itself. `segment.ms` rolls a
//! segment whose first batch is old enough.
//!
//! The partition directories are read with the harness's own readers
//! (`harness::log_files`).

use anyhow::{Context, Result, ensure};
use harness::admin::{self, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ListOffsetsPartitionRequest};
use harness::batch::{Record, RecordBatch};
use harness::fixture::TopicSpec;
use harness::log_files::{self, PartitionFiles};
use harness::protocol::error::{OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC_OR_PARTITION};
use harness::wire::{Uuid, uuid};
use harness::{Broker, Client, or_skip};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const T: Uuid = uuid(0x7e);
const SEGMENT_BYTES: usize = 16 * 1024;
const POLICY_VIOLATION: i16 = 44;
const INVALID_TOPIC_EXCEPTION: i16 = 17;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A broker holding topic `t` (one partition) with `extra` settings, small
/// segments and a retention check every 100 ms.
fn start(extra: &[(&str, &str)]) -> Result<Broker> {
    let segment_bytes = SEGMENT_BYTES.to_string();
    let mut properties = vec![
        ("log.segment.bytes", segment_bytes.as_str()),
        ("log.retention.check.interval.ms", "100"),
    ];
    properties.extend_from_slice(extra);
    Broker::on_fixture_with(&[TopicSpec::new("t", T, 1)], &properties)
}

/// A batch of 4 keyed records of 250 bytes, all stamped `timestamp`.
fn batch_at(timestamp: i64, fill: u8) -> Vec<u8> {
    let records = (0..4)
        .map(|i| Record {
            key: Some(vec![b'k', i]),
            ..Record::value(vec![fill; 250])
        })
        .collect();
    let mut batch = RecordBatch::without_producer(records);
    batch.base_timestamp = timestamp;
    batch.max_timestamp = timestamp;
    batch.encode()
}

/// Produces `count` batches stamped `timestamp`; returns the next offset.
fn produce(client: &mut Client, count: usize, timestamp: i64) -> Result<i64> {
    let mut next = 0;
    for i in 0..count {
        let produced = client.produce("t", 0, batch_at(timestamp, b'a' + (i % 26) as u8))?;
        ensure!(produced.error_code == 0, "produce: {produced:?}");
        next = produced.base_offset + 4;
    }
    Ok(next)
}

fn list_offset(client: &mut Client, timestamp: i64) -> Result<i64> {
    let raw = client.round_trip(&admin::list_offsets_request(
        7,
        0,
        &[("t", vec![ListOffsetsPartitionRequest::new(0, timestamp)])],
    ))?;
    let response = admin::decode_list_offsets_response(&raw)?;
    let partition = response
        .partition("t", 0)
        .context("no t-0 in ListOffsets")?;
    ensure!(partition.error_code == 0, "ListOffsets: {partition:?}");
    Ok(partition.offset)
}

fn partition_dir(broker: &Broker) -> PathBuf {
    broker.log_dir().join("t-0")
}

fn files(dir: &Path) -> Result<PartitionFiles> {
    log_files::list_partition(dir)
}

fn names_ending(dir: &Path, suffix: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(suffix) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Waits up to 10 s for `condition`.
fn wait_for(what: &str, mut condition: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition()? {
        ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The log start offset the broker's `log-start-offset-checkpoint` holds
/// for t-0.
fn checkpointed_start(broker: &Broker) -> Result<Option<i64>> {
    let path = broker.log_dir().join("log-start-offset-checkpoint");
    if !path.exists() {
        return Ok(None);
    }
    Ok(log_files::read_offset_checkpoint(&path)?
        .into_iter()
        .find(|e| e.topic == "t" && e.partition == 0)
        .map(|e| e.offset))
}

#[test]
fn retention_bytes_deletes_the_oldest_segments() -> Result<()> {
    let broker = or_skip!(start(&[
        ("log.retention.bytes", "40000"),
        ("log.segment.delete.delay.ms", "500"),
    ]));
    let mut client = broker.connect()?;
    let end = produce(&mut client, 100, now_ms())?;
    let dir = partition_dir(&broker);

    // Whole segments go, oldest first, until what is kept is at least
    // retention.bytes but less than one more segment. (A check may come
    // while the batches are still being produced: the next one deletes
    // the rest.)
    let kept = || -> Result<u64> {
        Ok(files(&dir)?
            .segments
            .iter()
            .map(|s| std::fs::metadata(&s.log).map_or(0, |m| m.len()))
            .sum())
    };
    wait_for("retention.bytes to be reached", || {
        Ok(list_offset(&mut client, EARLIEST_TIMESTAMP)? > 0
            && (40_000..40_000 + SEGMENT_BYTES as u64 + 1100).contains(&kept()?))
    })?;
    let start = list_offset(&mut client, EARLIEST_TIMESTAMP)?;
    ensure!(list_offset(&mut client, LATEST_TIMESTAMP)? == end);
    // The first segment left starts at the new log start.
    let listed = files(&dir)?;
    ensure!(
        listed.segments[0].base_offset == start,
        "first segment {} but log start {start}",
        listed.segments[0].base_offset
    );
    // Fetch below the start is out of range (with unknown offsets, -1, as
    // Kafka answers it: the consumer resets by its auto.offset.reset).
    let fetched = client.fetch_partition(T, 0, 0, 1 << 20)?;
    ensure!(
        (
            fetched.error_code,
            fetched.high_watermark,
            fetched.log_start_offset
        ) == (OFFSET_OUT_OF_RANGE, -1, -1),
        "fetch at 0: {fetched:?}"
    );
    let fetched = client.fetch_partition(T, 0, start, 1 << 20)?;
    ensure!(
        fetched.error_code == 0 && fetched.log_start_offset == start,
        "{fetched:?}"
    );
    // The start is checkpointed, and the renamed files go after the delay.
    wait_for("the checkpoint", || {
        Ok(checkpointed_start(&broker)? == Some(start))
    })?;
    wait_for(".deleted files to be removed", || {
        Ok(names_ending(&dir, ".deleted")?.is_empty())
    })?;
    Ok(())
}

#[test]
fn deleted_segments_stay_renamed_for_file_delete_delay_ms() -> Result<()> {
    let broker = or_skip!(start(&[
        ("log.retention.bytes", "20000"),
        ("log.segment.delete.delay.ms", "60000"),
    ]));
    let mut client = broker.connect()?;
    produce(&mut client, 60, now_ms())?;
    let dir = partition_dir(&broker);
    wait_for("segments renamed .deleted", || {
        Ok(!names_ending(&dir, ".log.deleted")?.is_empty())
    })?;
    let deleted = names_ending(&dir, ".deleted")?;
    ensure!(
        deleted.contains(&"00000000000000000000.log.deleted".to_string())
            && deleted.contains(&"00000000000000000000.index.deleted".to_string())
            && deleted.contains(&"00000000000000000000.timeindex.deleted".to_string()),
        "{deleted:?}"
    );
    ensure!(
        !files(&dir)?.segments.iter().any(|s| s.base_offset == 0),
        "segment 0 is still listed"
    );
    Ok(())
}

#[test]
fn retention_ms_deletes_segments_whose_newest_record_is_old() -> Result<()> {
    let broker = or_skip!(start(&[
        ("log.retention.ms", "60000"),
        ("log.segment.delete.delay.ms", "0"),
    ]));
    let mut client = broker.connect()?;
    // Two hours old, then fresh: only the old segments go.
    let old_end = produce(&mut client, 40, now_ms() - 7_200_000)?;
    let end = produce(&mut client, 40, now_ms())?;
    wait_for("old segments to go", || {
        Ok(list_offset(&mut client, EARLIEST_TIMESTAMP)? > 0)
    })?;
    std::thread::sleep(Duration::from_millis(300));
    let start = list_offset(&mut client, EARLIEST_TIMESTAMP)?;
    // The segment holding the last old batch may also hold new ones, so it
    // stays; nothing new went.
    ensure!(
        start <= old_end && start > 0,
        "log start {start}, old records end at {old_end}"
    );
    ensure!(list_offset(&mut client, LATEST_TIMESTAMP)? == end);
    let (high_watermark, batches) = client.fetch_to_end(T, 0, start)?;
    ensure!(high_watermark == end && !batches.is_empty());
    Ok(())
}

#[test]
fn retention_ms_can_empty_a_log_which_then_goes_on_at_its_end() -> Result<()> {
    let broker = or_skip!(start(&[
        ("log.retention.ms", "60000"),
        ("log.segment.delete.delay.ms", "0"),
    ]));
    let mut client = broker.connect()?;
    let end = produce(&mut client, 30, now_ms() - 7_200_000)?;
    // One empty segment at the end is left (the others' files are renamed
    // just after the log start moves); appends go on from there.
    wait_for("every old record to go", || {
        Ok(list_offset(&mut client, EARLIEST_TIMESTAMP)? == end
            && files(&partition_dir(&broker))?.segments.len() == 1)
    })?;
    let listed = files(&partition_dir(&broker))?;
    ensure!(
        listed.segments.len() == 1 && listed.segments[0].base_offset == end,
        "{:?}",
        listed.segments
    );
    let produced = client.produce("t", 0, batch_at(now_ms(), b'z'))?;
    ensure!(
        produced.error_code == 0 && produced.base_offset == end,
        "{produced:?}"
    );
    ensure!(produced.log_start_offset == end, "{produced:?}");
    Ok(())
}

#[test]
fn segment_ms_rolls_by_record_time() -> Result<()> {
    let broker = or_skip!(start(&[("log.roll.ms", "60000")]));
    let mut client = broker.connect()?;
    let t0 = now_ms();
    produce(&mut client, 2, t0)?;
    produce(&mut client, 1, t0 + 30_000)?;
    let dir = partition_dir(&broker);
    ensure!(files(&dir)?.segments.len() == 1);
    // A batch more than segment.ms after the segment's first one rolls.
    produce(&mut client, 1, t0 + 60_001)?;
    let bases: Vec<i64> = files(&dir)?
        .segments
        .iter()
        .map(|s| s.base_offset)
        .collect();
    ensure!(bases == [0, 12], "segments {bases:?}");
    Ok(())
}

fn delete_records(
    client: &mut Client,
    topics: &[(&str, &[(i32, i64)])],
) -> Result<admin::DeleteRecordsResponse> {
    let raw = client.round_trip(&admin::delete_records_request(9, topics, 5000))?;
    let response = admin::decode_delete_records_response(&raw)?;
    ensure!(response.correlation_id == 9);
    Ok(response)
}

#[test]
fn delete_records_moves_the_log_start_offset() -> Result<()> {
    let mut broker = or_skip!(start(&[("log.segment.delete.delay.ms", "0")]));
    let mut client = broker.connect()?;
    let end = produce(&mut client, 50, now_ms())?;

    let response = delete_records(&mut client, &[("t", &[(0, 101)])])?;
    let result = response.partition("t", 0).context("no t-0")?;
    ensure!(
        (result.error_code, result.low_watermark) == (0, 101),
        "{result:?}"
    );
    ensure!(list_offset(&mut client, EARLIEST_TIMESTAMP)? == 101);
    let fetched = client.fetch_partition(T, 0, 100, 1 << 20)?;
    ensure!(fetched.error_code == OFFSET_OUT_OF_RANGE, "{fetched:?}");
    // From 101 on the records are there (the batch holding 101 starts at 100).
    let fetched = client.fetch_partition(T, 0, 101, 1 << 20)?;
    ensure!(
        fetched.error_code == 0 && fetched.log_start_offset == 101,
        "{fetched:?}"
    );
    // Segments wholly below the start go at the next retention check.
    let dir = partition_dir(&broker);
    wait_for("segments below 101 to go", || {
        let first = files(&dir)?.segments[0].base_offset;
        Ok(first > 0)
    })?;
    let listed = files(&dir)?;
    ensure!(listed.segments[0].base_offset <= 101);
    ensure!(listed.segments.get(1).is_none_or(|s| s.base_offset > 101));

    // Never backwards; -1 is the high watermark; past it is out of range.
    let response = delete_records(&mut client, &[("t", &[(0, 50)])])?;
    ensure!(
        response
            .partition("t", 0)
            .map(|p| (p.error_code, p.low_watermark))
            == Some((0, 101))
    );
    let response = delete_records(&mut client, &[("t", &[(0, end + 1)])])?;
    ensure!(
        response.partition("t", 0).map(|p| p.error_code) == Some(OFFSET_OUT_OF_RANGE),
        "{response:?}"
    );
    let response = delete_records(&mut client, &[("t", &[(0, -7)])])?;
    ensure!(response.partition("t", 0).map(|p| p.error_code) == Some(OFFSET_OUT_OF_RANGE));
    let response = delete_records(&mut client, &[("t", &[(1, 0)]), ("nope", &[(0, 0)])])?;
    ensure!(response.partition("t", 1).map(|p| p.error_code) == Some(UNKNOWN_TOPIC_OR_PARTITION));
    ensure!(
        response
            .partition("nope", 0)
            .map(|p| (p.error_code, p.low_watermark))
            == Some((UNKNOWN_TOPIC_OR_PARTITION, -1))
    );
    let response = delete_records(&mut client, &[("t", &[(0, -1)])])?;
    ensure!(
        response
            .partition("t", 0)
            .map(|p| (p.error_code, p.low_watermark))
            == Some((0, end)),
        "{response:?}"
    );

    // The new start survives a restart, graceful or not.
    ensure!(checkpointed_start(&broker)? == Some(end));
    broker.kill();
    broker.restart()?;
    let mut client = broker.connect()?;
    ensure!(list_offset(&mut client, EARLIEST_TIMESTAMP)? == end);
    ensure!(list_offset(&mut client, LATEST_TIMESTAMP)? == end);
    Ok(())
}

#[test]
fn delete_records_follows_the_cleanup_policy_and_spares_internal_topics() -> Result<()> {
    let broker = or_skip!(start(&[("log.cleanup.policy", "compact")]));
    let mut client = broker.connect()?;
    produce(&mut client, 2, now_ms())?;
    let response = delete_records(&mut client, &[("t", &[(0, 4)])])?;
    ensure!(
        response.partition("t", 0).map(|p| p.error_code) == Some(POLICY_VIOLATION),
        "{response:?}"
    );
    // __consumer_offsets exists once a group coordinator was looked for;
    // either way its records are not the client's to delete.
    let response = delete_records(&mut client, &[("__consumer_offsets", &[(0, 0)])])?;
    let code = response
        .partition("__consumer_offsets", 0)
        .map(|p| p.error_code);
    ensure!(
        code == Some(INVALID_TOPIC_EXCEPTION) || code == Some(UNKNOWN_TOPIC_OR_PARTITION),
        "{response:?}"
    );
    Ok(())
}
