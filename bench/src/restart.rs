//! Restart time with data on disk: after a clean stop (SIGTERM), with the
//! page cache dropped, and after kill -9 in the middle of producing, once
//! with the page cache as the crash left it (a process crash does not empty
//! it) and once dropped, timed from spawn to the first ApiVersions answer
//! and to the first metadata that shows every partition with a leader.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::Row;
use crate::broker::{Broker, drop_page_cache};
use crate::kafka::{base_config, create_topic, end_offsets, wait_for_leaders};
use crate::produce::{self, Counters};

pub struct Plan {
    pub records: u64,
    pub partitions: i32,
    /// How long the producer writes before the kill -9.
    pub kill_after: Duration,
}

/// How long a broker may take to load its logs.
const START_TIMEOUT: Duration = Duration::from_secs(900);
/// How long after its first answer a broker may take to show the topic.
const METADATA_TIMEOUT: Duration = Duration::from_secs(60);

/// Fills `topic`, then measures both restarts; pushes two rows.
pub fn run(
    bootstrap: &str,
    broker: &mut Broker,
    log_dirs: &[PathBuf],
    topic: &str,
    plan: &Plan,
    rows: &mut Vec<Row>,
) {
    let volume = crate::fmt_bytes(plan.records * 1024);
    let clean_name = format!(
        "restart after SIGTERM, {volume} in {} partitions, page cache dropped",
        plan.partitions
    );
    let kill_name = format!(
        "restart after kill -9 while producing into those {} partitions",
        plan.partitions
    );
    let cold_kill_name = format!("{kill_name}, page cache dropped");
    let filled = match clean(bootstrap, broker, log_dirs, topic, plan) {
        Ok((text, present)) => {
            rows.push(Row::ok(clean_name, text));
            present
        }
        Err(err) => {
            rows.push(Row::err(clean_name, err));
            for name in [kill_name, cold_kill_name] {
                rows.push(Row::err(name, anyhow!("skipped: the clean restart failed")));
            }
            return;
        }
    };
    let present = match killed(bootstrap, broker, None, topic, plan, filled) {
        Ok((text, present)) => {
            rows.push(Row::ok(kill_name, text));
            present
        }
        Err(err) => {
            rows.push(Row::err(kill_name, err));
            rows.push(Row::err(
                cold_kill_name,
                anyhow!("skipped: the first kill -9 failed"),
            ));
            return;
        }
    };
    let cold = killed(bootstrap, broker, Some(log_dirs), topic, plan, present);
    rows.push(Row::new(cold_kill_name, cold.map(|(text, _)| text)));
}

/// Returns the row text and the number of records in the topic.
fn clean(
    bootstrap: &str,
    broker: &mut Broker,
    log_dirs: &[PathBuf],
    topic: &str,
    plan: &Plan,
) -> Result<(String, i64)> {
    create_topic(bootstrap, topic, plan.partitions)?;
    crate::progress(&format!(
        "restart: filling {} partitions with {}",
        plan.partitions,
        crate::fmt_bytes(plan.records * 1024)
    ));
    let fill = produce::run(
        bootstrap,
        &produce::Spec {
            topic,
            partitions: plan.partitions,
            value_size: 1024,
            records: plan.records,
            acks: "1",
            stop: None,
            counters: None,
            keys: None,
        },
    )?;
    if fill.failed > 0 {
        bail!("filling failed: {}", fill.summary());
    }
    crate::progress(&format!("restart: filled, {}", fill.summary()));
    crate::progress("restart: stopping the broker (SIGTERM)");
    let stop = broker.stop(Duration::from_secs(120))?;
    let cache = drop_page_cache(log_dirs);
    let (answered, led) = restart(bootstrap, broker, topic, plan.partitions)?;
    let present = end_offsets(bootstrap, topic, plan.partitions)?;
    let check = if present == fill.delivered as i64 {
        format!("all {present} records present")
    } else {
        format!(
            "{present} records present of {} written: MISMATCH",
            fill.delivered
        )
    };
    let text = format!(
        "{} to answer ApiVersions, {} until metadata shows all partitions led \
         (SIGTERM to exit took {}; {check}; {cache})",
        ms(answered),
        ms(led),
        ms(stop),
    );
    if present != fill.delivered as i64 {
        bail!("{text}");
    }
    Ok((text, present))
}

/// Produces, kills the broker with -9 and restarts it; with `drop_cache`,
/// the page cache is dropped first (`Some(log dirs)`, which may be empty
/// for drop_caches alone). Returns the row text and the records now present.
fn killed(
    bootstrap: &str,
    broker: &mut Broker,
    drop_cache: Option<&[PathBuf]>,
    topic: &str,
    plan: &Plan,
    filled: i64,
) -> Result<(String, i64)> {
    let counters = Counters::new(false)?;
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let bootstrap = bootstrap.to_string();
        let topic = topic.to_string();
        let counters = Arc::clone(&counters);
        let stop = Arc::clone(&stop);
        let partitions = plan.partitions;
        thread::Builder::new()
            .name("producer to kill".into())
            .spawn(move || {
                produce::run(
                    &bootstrap,
                    &produce::Spec {
                        topic: &topic,
                        partitions,
                        value_size: 1024,
                        records: u64::MAX,
                        acks: "1",
                        stop: Some(stop),
                        counters: Some(counters),
                        keys: None,
                    },
                )
            })?
    };
    let start = Instant::now();
    while start.elapsed() < plan.kill_after || counters.delivered.load(Ordering::Relaxed) == 0 {
        if start.elapsed() > Duration::from_secs(60) || producer.is_finished() {
            stop.store(true, Ordering::Relaxed);
            let _ = producer.join();
            bail!("the producer delivered nothing in 60 s before the kill");
        }
        thread::sleep(Duration::from_millis(5));
    }
    let kill = broker.kill9();
    let producing = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let stats = producer
        .join()
        .map_err(|_| anyhow!("the producer thread panicked"))?;
    kill?;
    let stats = stats.context("producing until the kill")?;
    let cache = match drop_cache {
        Some(log_dirs) => drop_page_cache(log_dirs),
        None => "page cache as the crash left it".to_string(),
    };
    let (answered, led) = restart(bootstrap, broker, topic, plan.partitions)?;
    let total = end_offsets(bootstrap, topic, plan.partitions)?;
    let present = total - filled;
    let acked = stats.delivered as i64;
    let check = if present >= acked {
        format!("{present} new records present, {acked} were acknowledged")
    } else {
        format!(
            "{present} new records present of {acked} acknowledged: LOST {}",
            acked - present
        )
    };
    let text = format!(
        "{} to answer ApiVersions, {} until metadata shows all partitions led \
         (killed after {:.1} s of producing; {check}; {cache})",
        ms(answered),
        ms(led),
        producing.as_secs_f64(),
    );
    if present < acked {
        bail!("{text}");
    }
    Ok((text, total))
}

/// Starts the broker; returns the time from spawn to its first ApiVersions
/// answer and to the first metadata with a leader for every partition.
fn restart(
    bootstrap: &str,
    broker: &mut Broker,
    topic: &str,
    partitions: i32,
) -> Result<(Duration, Duration)> {
    let (spawned, answered) = broker.start(START_TIMEOUT)?;
    let client: BaseConsumer = base_config(bootstrap)
        .create()
        .context("creating a metadata client")?;
    // A broker that answers has loaded its logs: its metadata is there at
    // once (a broker that lost the topic fails here, not after 15 minutes).
    wait_for_leaders(client.client(), topic, partitions, METADATA_TIMEOUT)?;
    Ok((answered, spawned.elapsed()))
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}
