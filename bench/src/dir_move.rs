//! Moving a partition between two log directories of one broker
//! (AlterReplicaLogDirs, KIP-113), seen through nothing but Kafka's
//! protocol (see `log_dirs.rs`), so that any Kafka-compatible broker with
//! two log directories can be measured.
//!
//! A one-partition topic is filled with 1 KiB records (acks=1, every one
//! acknowledged) and written back; DescribeLogDirs tells which directory
//! holds it, and the move goes to another one. The light producer of the
//! latency rows warms up on a topic of its own; right before its first
//! measured record the AlterReplicaLogDirs goes out, and the clock starts.
//! The broker answers at once and moves in the background: DescribeLogDirs,
//! polled every 20 ms, shows the copy in the destination as a future log
//! (`is_future_key`) until it takes over; the clock stops at the first
//! answer that lists the partition only in the destination, not as a
//! future log. The light producer runs until then. Its log end offset
//! must be the same afterwards.
//!
//! The rows need a broker that the bench started (`--broker-cmd`: moving
//! a gigabyte is not for somebody else's broker) and that reports at
//! least two log directories.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::kafka::{create_topic, end_offsets};
use crate::log_dirs::{self, Client, LogDir};
use crate::{Row, fmt_bytes, latency};

pub struct Plan {
    /// 1 KiB records in the partition moved.
    pub records: u64,
    /// The light producer's records a second.
    pub latency_rate: u32,
}

/// How long a move may take.
const MOVE_TIMEOUT: Duration = Duration::from_secs(900);
/// How often DescribeLogDirs is polled during the move.
const POLL: Duration = Duration::from_millis(20);

/// Pushes the two rows; `started_broker` says whether the bench runs the
/// broker itself (`--broker-cmd`).
pub fn run(
    bootstrap: &str,
    addr: SocketAddr,
    started_broker: bool,
    topic: impl Fn(&str) -> String,
    plan: &Plan,
    rows: &mut Vec<Row>,
) {
    let size = binary_size(plan.records * 1024);
    let move_name = format!("move a {size} partition between log directories");
    let latency_name = format!(
        "produce latency (paced 1 KiB, acks=1) while a {size} partition moves between log \
         directories"
    );
    let not_applicable = |rows: &mut Vec<Row>, why: &str| {
        for name in [&move_name, &latency_name] {
            rows.push(Row::ok(name.clone(), format!("n/a ({why})")));
        }
    };
    if !started_broker {
        not_applicable(
            rows,
            "needs --broker-cmd, and a broker with two log directories",
        );
        return;
    }
    let client = match two_dirs(addr) {
        Ok(Ok(client)) => client,
        Ok(Err(why)) => {
            not_applicable(
                rows,
                &format!("needs a broker with two log directories{why}"),
            );
            return;
        }
        Err(err) => {
            rows.push(Row::err(move_name, err));
            rows.push(Row::err(
                latency_name,
                anyhow!("skipped: DescribeLogDirs failed in the row above"),
            ));
            return;
        }
    };

    crate::progress(&move_name);
    let (t, light) = (topic("move"), topic("light-moving"));
    match measure(bootstrap, client, &t, &light, plan) {
        Ok((moved, latency)) => {
            rows.push(Row::ok(move_name, moved));
            rows.push(Row::new(latency_name, latency));
        }
        Err(err) => {
            rows.push(Row::err(move_name, err));
            rows.push(Row::err(
                latency_name,
                anyhow!("skipped: the move failed in the row above"),
            ));
        }
    }
    crate::settle(bootstrap, &t);
    crate::settle(bootstrap, &light);
}

/// A client, if the broker has the APIs and two online log directories;
/// else why not (to follow "needs a broker with two log directories").
fn two_dirs(addr: SocketAddr) -> Result<std::result::Result<Client, String>> {
    let mut client = match Client::connect(addr, Duration::from_secs(10))? {
        Ok(client) => client,
        Err(why) => return Ok(Err(format!(": {why}"))),
    };
    let dirs = client.describe(Some(&[]))?;
    let online = dirs.iter().filter(|d| d.error_code == 0).count();
    if online < 2 {
        return Ok(Err(if online == dirs.len() {
            String::new()
        } else {
            format!("; {online} of its {} are online", dirs.len())
        }));
    }
    crate::progress(&format!(
        "move: {online} log directories ({})",
        client.versions()
    ));
    Ok(Ok(client))
}

/// The move row's text and the latency row's result.
fn measure(
    bootstrap: &str,
    mut client: Client,
    topic: &str,
    light_topic: &str,
    plan: &Plan,
) -> Result<(String, Result<String>)> {
    create_topic(bootstrap, light_topic, 1)?;
    crate::progress(&format!(
        "move: writing {} into {topic}",
        fmt_bytes(plan.records * 1024)
    ));
    let stats = crate::produce_stats(bootstrap, topic, 1, 1024, plan.records, "1")?;
    if stats.delivered != plan.records {
        bail!(
            "{} of {} records acknowledged: {}",
            stats.delivered,
            plan.records,
            stats.summary()
        );
    }
    let end_before = end_offsets(bootstrap, topic, 1)?;
    if end_before != plan.records as i64 {
        bail!(
            "log end offset {end_before} after {} records were acknowledged",
            plan.records
        );
    }
    // Written back outside the measurement, as between rows.
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };

    let dirs = client.describe(Some(&[(topic, 0)]))?;
    let (source, bytes) = current_dir(&dirs, topic)?;
    let dest = dirs
        .iter()
        .find(|d| d.error_code == 0 && d.path != source)
        .ok_or_else(|| anyhow!("no online log directory besides {source}"))?;
    if dest.usable_bytes >= 0 && dest.usable_bytes < bytes {
        bail!(
            "{} has {} usable, less than the partition's {}",
            dest.path,
            fmt_bytes(dest.usable_bytes as u64),
            fmt_bytes(bytes as u64)
        );
    }
    let dest = dest.path.clone();
    crate::progress(&format!(
        "move: the light producer warms up, {topic}-0 ({}) moves from {source} to {dest}, \
         the light producer runs until it is there",
        fmt_bytes(bytes as u64)
    ));

    let finished = Arc::new(AtomicBool::new(false));
    // Set when the AlterReplicaLogDirs is answered, with when it was sent,
    // the thread that waits for the move and when that thread started.
    type Begun = Result<(Instant, JoinHandle<Result<Instant>>, Instant)>;
    let begun: RefCell<Option<Begun>> = RefCell::new(None);
    let light = {
        let finished = Arc::clone(&finished);
        let (begun, topic, dest) = (&begun, topic.to_string(), dest.clone());
        let done = Arc::clone(&finished);
        latency::light(
            bootstrap,
            light_topic,
            plan.latency_rate,
            move || {
                let result = start_move(client, topic, dest, Arc::clone(&finished));
                if result.is_err() {
                    finished.store(true, Ordering::Relaxed);
                }
                *begun.borrow_mut() = Some(result);
            },
            move |_| done.load(Ordering::Relaxed),
        )
    };
    let Some(begun) = begun.into_inner() else {
        bail!(
            "the light producer failed before the move began: {:#}",
            light.err().unwrap_or_else(|| anyhow!("?"))
        );
    };
    let (start, watcher, light_start) = begun?;
    let done = watcher
        .join()
        .map_err(|_| anyhow!("the move watcher panicked"))?;
    let done = match (done, &light) {
        (Ok(done), _) => done,
        (Err(err), Ok(light)) => bail!(
            "{err:#} (the light producer meanwhile: {})",
            light.summary()
        ),
        (Err(err), Err(_)) => return Err(err),
    };
    let took = done - start;
    let end_after = end_offsets(bootstrap, topic, 1)?;
    if end_after != end_before {
        bail!(
            "log end offset {end_after} after the move ({:.2} s), {end_before} before",
            took.as_secs_f64()
        );
    }
    let secs = took.as_secs_f64();
    let moved = format!(
        "{secs:.2} s ({:.1} MB/s); {} (DescribeLogDirs' partition size) from {source} to \
         {dest}, log end offset {end_after} unchanged",
        bytes as f64 / 1e6 / secs.max(1e-9),
        fmt_bytes(bytes as u64),
    );
    let latency = light.context("the light producer").map(|light| {
        if light.sent == 0 || done <= light_start {
            return format!(
                "not measured: the move ended ({secs:.2} s) before the light producer's first \
                 measured record"
            );
        }
        format!(
            "{}; from {:.2} s after the AlterReplicaLogDirs until the move was seen done, \
             {secs:.2} s after it",
            light.summary(),
            (light_start - start).as_secs_f64()
        )
    });
    Ok((moved, latency))
}

/// The directory that holds `topic`-0's current log, and its size.
fn current_dir(dirs: &[LogDir], topic: &str) -> Result<(String, i64)> {
    let holding: Vec<(&LogDir, i64, bool)> = dirs
        .iter()
        .flat_map(|d| {
            d.partitions
                .iter()
                .filter(|p| p.topic == topic && p.partition == 0)
                .map(move |p| (d, p.size, p.is_future))
        })
        .collect();
    match holding[..] {
        [(dir, size, false)] => Ok((dir.path.clone(), size)),
        [] => bail!("DescribeLogDirs lists {topic}-0 in no directory"),
        _ => bail!(
            "DescribeLogDirs lists {topic}-0 in {}",
            locations(dirs, topic)
        ),
    }
}

/// "/a (future), /b": where DescribeLogDirs lists `topic`-0.
fn locations(dirs: &[LogDir], topic: &str) -> String {
    let listed: Vec<String> = dirs
        .iter()
        .flat_map(|d| {
            d.partitions
                .iter()
                .filter(|p| p.topic == topic && p.partition == 0)
                .map(move |p| {
                    let future = if p.is_future { " (future)" } else { "" };
                    format!("{}{future}", d.path)
                })
        })
        .collect();
    if listed.is_empty() {
        "no directory".into()
    } else {
        listed.join(", ")
    }
}

/// Whether `topic`-0 is only in `dest`, and not as a future log.
fn moved(dirs: &[LogDir], topic: &str, dest: &str) -> bool {
    let mut listed = dirs.iter().flat_map(|d| {
        d.partitions
            .iter()
            .filter(|p| p.topic == topic && p.partition == 0)
            .map(move |p| (d.path.as_str(), p.is_future))
    });
    listed.next() == Some((dest, false)) && listed.next().is_none()
}

/// Sends the AlterReplicaLogDirs, then waits for the move in a thread of
/// its own, which sets `finished` when it ends; returns when the request
/// was sent, the thread, and when it started.
fn start_move(
    mut client: Client,
    topic: String,
    dest: String,
    finished: Arc<AtomicBool>,
) -> Result<(Instant, JoinHandle<Result<Instant>>, Instant)> {
    let start = Instant::now();
    let code = client.alter(&dest, &topic, 0)?;
    if code != 0 {
        bail!(
            "AlterReplicaLogDirs of {topic}-0 to {dest}: {}",
            log_dirs::error_name(code)
        );
    }
    let watcher = thread::Builder::new()
        .name("move watcher".into())
        .spawn(move || {
            let result = wait_moved(&mut client, &topic, &dest, start + MOVE_TIMEOUT);
            finished.store(true, Ordering::Relaxed);
            result
        })?;
    Ok((start, watcher, Instant::now()))
}

/// Polls DescribeLogDirs every [`POLL`] until `topic`-0 is only in `dest`
/// and not as a future log; returns when that was seen.
fn wait_moved(client: &mut Client, topic: &str, dest: &str, deadline: Instant) -> Result<Instant> {
    let (mut polls, mut under_way) = (0, 0);
    loop {
        let dirs = client.describe(Some(&[(topic, 0)]))?;
        polls += 1;
        if moved(&dirs, topic, dest) {
            let seen = Instant::now();
            crate::progress(&format!(
                "move: done at DescribeLogDirs poll {polls}; {under_way} before showed the \
                 future log in {dest}"
            ));
            return Ok(seen);
        }
        let future = |d: &LogDir| {
            d.path == dest
                && d.partitions
                    .iter()
                    .any(|p| p.topic == topic && p.partition == 0 && p.is_future)
        };
        if dirs.iter().any(future) {
            under_way += 1;
        }
        if let Some(d) = dirs.iter().find(|d| d.path == dest && d.error_code != 0) {
            bail!(
                "the destination {dest} failed during the move: {}",
                log_dirs::error_name(d.error_code)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "{topic}-0 not moved to {dest} after {} s: DescribeLogDirs lists it in {}",
                MOVE_TIMEOUT.as_secs(),
                locations(&dirs, topic)
            );
        }
        thread::sleep(POLL);
    }
}

/// "1 GiB", "10.2 MiB".
fn binary_size(bytes: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    let b = bytes as f64;
    if bytes % (1 << 30) == 0 && bytes > 0 {
        format!("{} GiB", bytes >> 30)
    } else if b >= GIB {
        format!("{:.2} GiB", b / GIB)
    } else {
        format!("{:.1} MiB", b / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_dirs::PartitionDir;

    fn dir(path: &str, partitions: &[(&str, bool)]) -> LogDir {
        LogDir {
            path: path.into(),
            error_code: 0,
            partitions: partitions
                .iter()
                .map(|&(topic, is_future)| PartitionDir {
                    topic: topic.into(),
                    partition: 0,
                    size: 10,
                    offset_lag: 0,
                    is_future,
                })
                .collect(),
            total_bytes: -1,
            usable_bytes: -1,
        }
    }

    #[test]
    fn a_move_is_done_when_only_the_destination_lists_the_partition() {
        let before = [dir("/a", &[("t", false)]), dir("/b", &[("u", false)])];
        let during = [dir("/a", &[("t", false)]), dir("/b", &[("t", true)])];
        let swapped = [dir("/a", &[("t", false)]), dir("/b", &[("t", false)])];
        let after = [dir("/a", &[]), dir("/b", &[("t", false)])];
        let future_only = [dir("/a", &[]), dir("/b", &[("t", true)])];
        assert!(!moved(&before, "t", "/b"));
        assert!(!moved(&during, "t", "/b"));
        assert!(!moved(&swapped, "t", "/b"));
        assert!(!moved(&future_only, "t", "/b"));
        assert!(moved(&after, "t", "/b"));
        assert!(!moved(&after, "t", "/a"));
        assert_eq!(locations(&during, "t"), "/a, /b (future)");
        assert_eq!(locations(&before, "v"), "no directory");
    }

    #[test]
    fn the_current_directory_is_the_one_without_a_future_log() -> Result<()> {
        let before = [dir("/a", &[]), dir("/b", &[("t", false)])];
        assert_eq!(current_dir(&before, "t")?, ("/b".to_string(), 10));
        let during = [dir("/a", &[("t", false)]), dir("/b", &[("t", true)])];
        assert!(current_dir(&during, "t").is_err());
        assert!(current_dir(&before, "u").is_err());
        Ok(())
    }

    #[test]
    fn sizes_are_binary() {
        assert_eq!(binary_size(1 << 30), "1 GiB");
        assert_eq!(binary_size(((1u64 << 20) / 100) * 1024), "10.2 MiB");
        assert_eq!(binary_size(3 << 29), "1.50 GiB");
    }
}
