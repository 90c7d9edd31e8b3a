//! Log compaction, seen from outside the broker through nothing but Kafka's
//! own topic configs and files, so that any Kafka-compatible broker can be
//! measured (it needs `--log-dir`, once for each of the broker's log
//! directories: the partition's files and the checkpoint are read in
//! whichever holds it).
//!
//! A one-partition topic with `cleanup.policy=compact` is filled with 1 KiB
//! records over 10 k keys while `min.compaction.lag.ms` is at its maximum,
//! so that nothing is cleaned yet. The dirty bytes are then the partition's
//! `.log` files except the active segment's (the largest base offset; rolls
//! happen on `segment.bytes`, so the last segment stays active and is not
//! cleanable). The clock starts when AlterConfigs lowers the lag to 0 and
//! stops at the first read of `<its log dir>/cleaner-offset-checkpoint` that
//! shows the partition cleaned up to the active segment's base offset.
//!
//! The time thus includes how long the broker takes to notice the change
//! and start cleaning (Apache Kafka's cleaner threads sleep
//! `log.cleaner.backoff.ms`, 15 s by default, when they last found nothing
//! to clean) and up to one poll interval, 50 ms. The second row warms up
//! the light producer of the latency rows on another topic, sends the
//! AlterConfigs, and measures the light producer from then until the
//! cleaner is done (at most as long as the latency rows); as the checkpoint
//! shows when the cleaner finished, not when it started, the row says when
//! the measurement ran relative to both.

use std::cell::RefCell;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::kafka::{Admin, create_topic, create_topic_with};
use crate::{Row, fmt_bytes, latency, produce};

pub struct Plan {
    /// 1 KiB records written into each compacted topic.
    pub records: u64,
    pub segment_bytes: u64,
    /// The light producer's records a second.
    pub latency_rate: u32,
    /// How long the light producer may run at most.
    pub latency_duration: Duration,
}

/// Record `i` has the key `key-{i % keys}`: a hundredth as many keys as
/// records (10 k for the full table), so most records are old versions.
fn keys(records: u64) -> u64 {
    (records / 100).max(1)
}
/// How long the cleaner may take.
const CLEAN_TIMEOUT: Duration = Duration::from_secs(600);
/// How often the checkpoint file is read.
const POLL: Duration = Duration::from_millis(50);
/// Kafka's file of the offsets up to which each partition has been cleaned.
const CHECKPOINT: &str = "cleaner-offset-checkpoint";

/// The cleaner did not get there in time.
#[derive(Debug)]
struct NotCleaned(String);

impl std::fmt::Display for NotCleaned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotCleaned {}

/// Pushes the two rows; `topic` names a topic of this run.
pub fn run(
    bootstrap: &str,
    log_dirs: &[PathBuf],
    topic: impl Fn(&str) -> String,
    plan: &Plan,
    rows: &mut Vec<Row>,
) {
    let clean_name = format!(
        "compact {} of 1 KiB records over {} keys (cleaner MB/s)",
        fmt_bytes(plan.records * 1024),
        crate::fmt_count(keys(plan.records) as f64)
    );
    let latency_name =
        "produce latency (paced 1 KiB, acks=1) while the cleaner compacts".to_string();
    if log_dirs.is_empty() {
        for name in [clean_name, latency_name] {
            rows.push(Row::ok(name, "n/a (needs --log-dir)".into()));
        }
        return;
    }

    crate::progress(&clean_name);
    let t = topic("compact");
    let result = alone(bootstrap, log_dirs, &t, plan);
    crate::settle(bootstrap, &t);
    let timed_out = matches!(&result, Err(e) if e.downcast_ref::<NotCleaned>().is_some());
    rows.push(Row::new(clean_name, result));

    if timed_out {
        rows.push(Row::err(
            latency_name,
            anyhow!("skipped: the cleaner did not finish in the row above"),
        ));
        return;
    }
    crate::progress(&latency_name);
    let (t, light) = (topic("compact-loaded"), topic("light-compacting"));
    let result = beside(bootstrap, log_dirs, &t, &light, plan);
    crate::settle(bootstrap, &t);
    crate::settle(bootstrap, &light);
    rows.push(Row::new(latency_name, result));
}

/// "<dirty> compacted in <s> s: <MB/s> MB/s; partition <before> -> <after>".
fn alone(bootstrap: &str, log_dirs: &[PathBuf], topic: &str, plan: &Plan) -> Result<String> {
    let filled = fill(bootstrap, log_dirs, topic, plan)?;
    crate::progress("compaction: min.compaction.lag.ms to 0, waiting for the cleaner");
    let (start, _admin) = start_cleaning(bootstrap, topic, plan)?;
    let done = wait_cleaned(
        &filled.checkpoint,
        topic,
        filled.active_base,
        start + CLEAN_TIMEOUT,
        &AtomicBool::new(false),
    )?;
    let after: u64 = segments(&filled.dir)?.iter().map(|s| s.1).sum();
    Ok(format!(
        "{}; partition {} -> {}",
        cleaned(filled.dirty, done - start),
        mb(filled.before),
        mb(after)
    ))
}

/// The light producer's summary while the cleaner compacts a topic filled
/// as for [`alone`], with when it ran and when the cleaner finished.
fn beside(
    bootstrap: &str,
    log_dirs: &[PathBuf],
    topic: &str,
    light_topic: &str,
    plan: &Plan,
) -> Result<String> {
    create_topic(bootstrap, light_topic, 1)?;
    let filled = fill(bootstrap, log_dirs, topic, plan)?;
    crate::progress(
        "compaction: the light producer warms up, min.compaction.lag.ms to 0, \
         the light producer runs until the cleaner is done",
    );
    let finished = Arc::new(AtomicBool::new(false));
    let abort = Arc::new(AtomicBool::new(false));
    // The AlterConfigs goes out once the light producer is warmed up, right
    // before its first measured record.
    let begun = RefCell::new(None);
    let light = latency::light(
        bootstrap,
        light_topic,
        plan.latency_rate,
        || {
            let watch = Watch {
                checkpoint: filled.checkpoint.clone(),
                topic: topic.to_string(),
                active_base: filled.active_base,
                finished: Arc::clone(&finished),
                abort: Arc::clone(&abort),
            };
            let result = start_cleaning(bootstrap, topic, plan)
                .and_then(|(start, admin)| Ok((start, watch.spawn(start)?, Instant::now(), admin)));
            if result.is_err() {
                finished.store(true, Ordering::Relaxed);
            }
            *begun.borrow_mut() = Some(result);
        },
        |t| finished.load(Ordering::Relaxed) || t >= plan.latency_duration,
    );
    let begun = begun.into_inner();
    let light = match light {
        Ok(light) => light,
        Err(err) => {
            if let Some(Ok((_, watcher, _, _))) = begun {
                abort.store(true, Ordering::Relaxed);
                let _ = watcher.join();
            }
            return Err(err.context("the light producer"));
        }
    };
    let (start, watcher, light_start, _admin) =
        begun.ok_or_else(|| anyhow!("the light producer never started"))??;
    let done = watcher
        .join()
        .map_err(|_| anyhow!("the cleaner watcher panicked"))?;
    let done = match done {
        Ok(done) => done,
        Err(err) => bail!(
            "{err:#} (the light producer meanwhile: {})",
            light.summary()
        ),
    };
    let cleaning = cleaned(filled.dirty, done - start);
    if done <= light_start || light.sent == 0 {
        return Ok(format!(
            "not measured: the cleaner finished ({cleaning}) before the light producer's \
             first measured record, {:.2} s after the AlterConfigs",
            (light_start - start).as_secs_f64()
        ));
    }
    // The checkpoint shows when the cleaner is done, not when it starts
    // (after its backoff, perhaps): say what is known.
    let secs = |t: Instant| (t - start).as_secs_f64();
    let light_end = light_start + light.elapsed;
    if done <= light_end {
        return Ok(format!(
            "{}; the cleaner finished {:.2} s into those {:.2} s, which began {:.2} s \
             after the AlterConfigs ({cleaning})",
            light.summary(),
            (done - light_start).as_secs_f64(),
            light.elapsed.as_secs_f64(),
            secs(light_start)
        ));
    }
    Ok(format!(
        "{}; measured from {:.2} s to {:.2} s after the AlterConfigs (its {:.0} s limit), \
         the cleaner finished later ({cleaning}): it may not have been cleaning during \
         the measurement",
        light.summary(),
        secs(light_start),
        secs(light_end),
        plan.latency_duration.as_secs_f64()
    ))
}

/// What the thread that waits for the cleaner needs.
struct Watch {
    checkpoint: PathBuf,
    topic: String,
    active_base: i64,
    /// Set when the wait ends, cleaned or not.
    finished: Arc<AtomicBool>,
    /// Set to stop waiting.
    abort: Arc<AtomicBool>,
}

impl Watch {
    /// [`wait_cleaned`] in a thread of its own, from `start`.
    fn spawn(self, start: Instant) -> Result<thread::JoinHandle<Result<Instant>>> {
        Ok(thread::Builder::new()
            .name("cleaner watcher".into())
            .spawn(move || {
                let result = wait_cleaned(
                    &self.checkpoint,
                    &self.topic,
                    self.active_base,
                    start + CLEAN_TIMEOUT,
                    &self.abort,
                );
                self.finished.store(true, Ordering::Relaxed);
                result
            })?)
    }
}

/// A compacted topic, filled and not yet cleaned.
struct Filled {
    /// The partition's directory.
    dir: PathBuf,
    /// The cleaner-offset-checkpoint of the log directory that holds it.
    checkpoint: PathBuf,
    /// The active segment's base offset: how far the cleaner may clean.
    active_base: i64,
    /// The bytes of the other segments' `.log` files.
    dirty: u64,
    /// The bytes of all `.log` files.
    before: u64,
}

/// The topic's configs, `min.compaction.lag.ms` aside.
fn topic_configs<'a>(segment_bytes: &'a str, lag_ms: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("cleanup.policy", "compact"),
        ("segment.bytes", segment_bytes),
        ("min.cleanable.dirty.ratio", "0.01"),
        ("min.compaction.lag.ms", lag_ms),
    ]
}

/// Creates `topic` compacted with the largest compaction lag, fills it and
/// writes the dirty pages back.
fn fill(bootstrap: &str, log_dirs: &[PathBuf], topic: &str, plan: &Plan) -> Result<Filled> {
    let segment_bytes = plan.segment_bytes.to_string();
    let max_lag = i64::MAX.to_string();
    create_topic_with(
        bootstrap,
        topic,
        1,
        &topic_configs(&segment_bytes, &max_lag),
    )?;
    crate::progress(&format!(
        "compaction: writing {} over {} keys into {topic}",
        fmt_bytes(plan.records * 1024),
        keys(plan.records)
    ));
    let stats = produce::run(
        bootstrap,
        &produce::Spec {
            topic,
            partitions: 1,
            value_size: 1024,
            records: plan.records,
            acks: "1",
            stop: None,
            counters: None,
            keys: Some(keys(plan.records)),
        },
    )?;
    if stats.failed > 0 {
        bail!("producing failed: {}", stats.summary());
    }
    // Written back outside the measurement, as between rows.
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };

    let (log_dir, dir) = partition_dir(log_dirs, &format!("{topic}-0"))?;
    let checkpoint = log_dir.join(CHECKPOINT);
    crate::progress(&format!(
        "compaction: {topic}-0 is in {}",
        log_dir.display()
    ));
    let segments = segments(&dir)?;
    let before = segments.iter().map(|s| s.1).sum();
    let (active_base, dirty) =
        active_and_dirty(&segments).ok_or_else(|| anyhow!("no segment in {}", dir.display()))?;
    if dirty == 0 {
        bail!(
            "{topic}-0 has a single segment ({}): the broker did not roll it at segment.bytes={}",
            mb(before),
            plan.segment_bytes
        );
    }
    if let Ok(Some(offset)) = cleaned_offset(&checkpoint, topic, 0) {
        if offset > 0 {
            bail!(
                "{CHECKPOINT} shows {topic}-0 cleaned up to {offset} already, with \
                 min.compaction.lag.ms at its maximum"
            );
        }
    }
    Ok(Filled {
        dir,
        checkpoint,
        active_base,
        dirty,
        before,
    })
}

/// The log directory among `log_dirs` that holds the partition directory
/// `name` (a broker with several puts a new partition in the one with the
/// fewest), and that partition directory.
fn partition_dir<'a>(log_dirs: &'a [PathBuf], name: &str) -> Result<(&'a Path, PathBuf)> {
    let mut holding = log_dirs
        .iter()
        .map(|d| (d.as_path(), d.join(name)))
        .filter(|(_, dir)| dir.is_dir());
    match (holding.next(), holding.next()) {
        (Some(found), None) => Ok(found),
        (Some((a, _)), Some((b, _))) => bail!(
            "{name} is in two log directories, {} and {}",
            a.display(),
            b.display()
        ),
        (None, _) => bail!(
            "{name} is in no --log-dir ({}): is every log directory of the broker given?",
            log_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Lowers `min.compaction.lag.ms` to 0 (AlterConfigs, so every config is
/// sent again) through an AdminClient connected beforehand; returns when
/// the request was sent, and the client, to be dropped once the timing is
/// over (dropping a librdkafka client takes some 100 ms).
fn start_cleaning(bootstrap: &str, topic: &str, plan: &Plan) -> Result<(Instant, Admin)> {
    let segment_bytes = plan.segment_bytes.to_string();
    let admin = Admin::connect(bootstrap, topic)?;
    let start = Instant::now();
    admin.alter_topic_configs(topic, &topic_configs(&segment_bytes, "0"))?;
    Ok((start, admin))
}

/// Reads the checkpoint every [`POLL`] until it shows partition 0 of
/// `topic` cleaned up to `target`; returns when that was seen. Fails with
/// [`NotCleaned`] after `deadline`, and fails when `abort` is set.
fn wait_cleaned(
    checkpoint: &Path,
    topic: &str,
    target: i64,
    deadline: Instant,
    abort: &AtomicBool,
) -> Result<Instant> {
    let mut last;
    loop {
        match cleaned_offset(checkpoint, topic, 0) {
            Ok(Some(offset)) if offset >= target => return Ok(Instant::now()),
            Ok(Some(offset)) => last = format!("its offset for {topic}-0 is {offset}"),
            Ok(None) => last = format!("it has no entry for {topic}-0"),
            Err(err) => last = format!("{err:#}"),
        }
        if abort.load(Ordering::Relaxed) {
            bail!("stopped waiting for the cleaner");
        }
        if Instant::now() >= deadline {
            return Err(NotCleaned(format!(
                "{CHECKPOINT} shows no offset ≥ {target} (the active segment's base) for \
                 {topic}-0 after {} s: {last}",
                CLEAN_TIMEOUT.as_secs()
            ))
            .into());
        }
        thread::sleep(POLL);
    }
}

/// The offset up to which the checkpoint file says `topic`-`partition` has
/// been cleaned, if it names the partition.
fn cleaned_offset(checkpoint: &Path, topic: &str, partition: i32) -> Result<Option<i64>> {
    let text = fs::read_to_string(checkpoint)
        .with_context(|| format!("reading {}", checkpoint.display()))?;
    let entries =
        parse_checkpoint(&text).with_context(|| format!("parsing {}", checkpoint.display()))?;
    Ok(entries
        .into_iter()
        .filter(|(t, p, _)| t == topic && *p == partition)
        .map(|(_, _, offset)| offset)
        .max())
}

/// Kafka's offset checkpoint format (`CheckpointFile`): a line with the
/// version, 0, a line with the number of entries, then one line
/// "<topic> <partition> <offset>" for each.
fn parse_checkpoint(text: &str) -> Result<Vec<(String, i32, i64)>> {
    let mut lines = text.lines();
    let version = lines.next().ok_or_else(|| anyhow!("the file is empty"))?;
    if version.trim() != "0" {
        bail!("version {version:?}, not 0");
    }
    let count = lines
        .next()
        .ok_or_else(|| anyhow!("no entry count"))?
        .trim();
    let count: usize = count
        .parse()
        .with_context(|| format!("entry count {count:?}"))?;
    let mut entries = Vec::new();
    for i in 0..count {
        let line = lines
            .next()
            .ok_or_else(|| anyhow!("{count} entries announced, {i} present"))?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [topic, partition, offset] = fields[..] else {
            bail!("entry {line:?} is not \"<topic> <partition> <offset>\"");
        };
        let partition = partition
            .parse()
            .with_context(|| format!("partition in {line:?}"))?;
        let offset = offset
            .parse()
            .with_context(|| format!("offset in {line:?}"))?;
        entries.push((topic.to_string(), partition, offset));
    }
    if lines.any(|l| !l.trim().is_empty()) {
        bail!("more entries than the {count} announced");
    }
    Ok(entries)
}

/// The segments in a partition's directory: (base offset, bytes of its
/// `.log` file), by base offset.
fn segments(dir: &Path) -> Result<Vec<(i64, u64)>> {
    let what = || {
        format!(
            "reading {} (is --log-dir the broker's log directory?)",
            dir.display()
        )
    };
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).with_context(what)? {
        let entry = entry.with_context(what)?;
        let Some(base) = entry.file_name().to_str().and_then(segment_base) else {
            continue;
        };
        match entry.metadata() {
            Ok(metadata) => segments.push((base, metadata.len())),
            // Replaced by the cleaner since the listing.
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).with_context(what),
        }
    }
    segments.sort_unstable();
    Ok(segments)
}

/// The base offset of a segment file's name: 20 digits and ".log".
fn segment_base(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".log")?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// The active segment's base offset (the largest) and the bytes of every
/// other segment; None without segments.
fn active_and_dirty(segments: &[(i64, u64)]) -> Option<(i64, u64)> {
    let active = segments.iter().map(|s| s.0).max()?;
    let dirty = segments.iter().filter(|s| s.0 != active).map(|s| s.1).sum();
    Some((active, dirty))
}

/// "<dirty> compacted in <s> s: <MB/s> MB/s".
fn cleaned(dirty: u64, took: Duration) -> String {
    let secs = took.as_secs_f64();
    format!(
        "{} compacted in {secs:.2} s: {:.1} MB/s",
        mb(dirty),
        dirty as f64 / 1e6 / secs.max(1e-9)
    )
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_file_is_parsed() -> Result<()> {
        let text = "0\n3\nbench-1-compact 0 9876\nother.topic_x 12 0\nbench-1-compact 1 5\n";
        assert_eq!(
            parse_checkpoint(text)?,
            vec![
                ("bench-1-compact".to_string(), 0, 9876),
                ("other.topic_x".to_string(), 12, 0),
                ("bench-1-compact".to_string(), 1, 5),
            ]
        );
        assert_eq!(parse_checkpoint("0\n0\n")?, vec![]);
        assert_eq!(parse_checkpoint("0\n1\nt 0 1")?.len(), 1);
        Ok(())
    }

    #[test]
    fn a_bad_checkpoint_file_is_refused() {
        for text in [
            "",
            "1\n0\n",
            "0\n",
            "0\nx\n",
            "0\n2\nt 0 1\n",
            "0\n1\nt 0 1\nt 1 2\n",
            "0\n1\nt 0\n",
            "0\n1\nt 0 1 2\n",
            "0\n1\nt zero 1\n",
            "0\n1\nt 0 1.5\n",
        ] {
            assert!(parse_checkpoint(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn the_partition_offset_is_read_from_the_file() -> Result<()> {
        let dir = scratch_dir("checkpoint")?;
        let path = dir.join(CHECKPOINT);
        assert!(cleaned_offset(&path, "t", 0).is_err());
        fs::write(&path, "0\n2\nt 1 7\nt 0 42\n")?;
        assert_eq!(cleaned_offset(&path, "t", 0)?, Some(42));
        assert_eq!(cleaned_offset(&path, "t", 2)?, None);
        assert_eq!(cleaned_offset(&path, "u", 0)?, None);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn segment_names_give_base_offsets() {
        assert_eq!(segment_base("00000000000000000000.log"), Some(0));
        assert_eq!(segment_base("00000000000000123456.log"), Some(123_456));
        assert_eq!(segment_base("00000000000000123456.index"), None);
        assert_eq!(segment_base("00000000000000123456.log.deleted"), None);
        assert_eq!(segment_base("00000000000000123456.log.cleaned"), None);
        assert_eq!(segment_base("0000000000000123456.log"), None);
        assert_eq!(segment_base("+0000000000000123456.log"), None);
        assert_eq!(segment_base("99999999999999999999.log"), None);
    }

    #[test]
    fn the_active_segment_is_the_one_with_the_largest_base() {
        assert_eq!(active_and_dirty(&[]), None);
        assert_eq!(active_and_dirty(&[(0, 100)]), Some((0, 0)));
        assert_eq!(
            active_and_dirty(&[(1000, 7), (0, 100), (500, 50)]),
            Some((1000, 150))
        );
    }

    #[test]
    fn only_segment_files_are_listed() -> Result<()> {
        let dir = scratch_dir("segments")?;
        for (name, len) in [
            ("00000000000000000000.log", 100),
            ("00000000000000000000.index", 8),
            ("00000000000000001234.log", 50),
            ("00000000000000001234.timeindex", 12),
            ("00000000000000000000.log.deleted", 1000),
            ("00000000000000001000.log.swap", 1000),
            ("leader-epoch-checkpoint", 10),
        ] {
            fs::write(dir.join(name), vec![0u8; len])?;
        }
        let listed = segments(&dir)?;
        assert_eq!(listed, vec![(0, 100), (1234, 50)]);
        assert_eq!(active_and_dirty(&listed), Some((1234, 100)));
        fs::remove_dir_all(&dir)?;
        assert!(segments(&dir).is_err());
        Ok(())
    }

    #[test]
    fn the_partition_is_found_in_whichever_log_dir_holds_it() -> Result<()> {
        let root = scratch_dir("log-dirs")?;
        let (a, b) = (root.join("a"), root.join("b"));
        fs::create_dir_all(a.join("t-1"))?;
        fs::create_dir_all(b.join("t-0"))?;
        let dirs = [a.clone(), b.clone()];
        let (log_dir, dir) = partition_dir(&dirs, "t-0")?;
        assert_eq!((log_dir, dir), (b.as_path(), b.join("t-0")));
        assert!(partition_dir(&dirs, "t-2").is_err());
        fs::create_dir_all(a.join("t-0"))?;
        assert!(partition_dir(&dirs, "t-0").is_err());
        fs::remove_dir_all(&root)?;
        Ok(())
    }

    fn scratch_dir(what: &str) -> Result<PathBuf> {
        let dir = std::env::temp_dir().join(format!(
            "bench-test-{what}-{}-{:?}",
            std::process::id(),
            thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}
