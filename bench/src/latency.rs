//! Latency of a light producer: paced 1 KiB records with linger.ms=0 and
//! acks=1, each timed from send to its delivery report. The polling thread
//! of a `ThreadedProducer` blocks in librdkafka's queue poll, so a report is
//! seen as soon as librdkafka has it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use hdrhistogram::Histogram;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};

use crate::kafka::base_config;
use crate::produce::{self, Counters, Counting};

pub struct Stats {
    pub histogram: Histogram<u64>,
    pub sent: u64,
    pub failed: u64,
    pub elapsed: Duration,
    pub first_error: Option<String>,
}

impl Stats {
    pub fn summary(&self) -> String {
        let ms = |q: f64| self.histogram.value_at_quantile(q) as f64 / 1000.0;
        let mut text = format!(
            "p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms (max {:.2} ms; {} records in {:.1} s)",
            ms(0.5),
            ms(0.99),
            ms(0.999),
            self.histogram.max() as f64 / 1000.0,
            self.sent,
            self.elapsed.as_secs_f64()
        );
        text.push_str(&crate::produce::failures(
            self.failed,
            self.first_error.as_deref(),
        ));
        text
    }
}

/// Sends `rate` records a second into partition 0 of `topic` until `done`
/// says so (given the time since the first send), then waits for the
/// outstanding reports. `started` is called once the producer is warmed up,
/// right before the first measured send.
pub fn light(
    bootstrap: &str,
    topic: &str,
    rate: u32,
    started: impl FnOnce(),
    done: impl Fn(Duration) -> bool,
) -> Result<Stats> {
    let counters = Counters::new(true)?;
    let producer: ThreadedProducer<Counting> = base_config(bootstrap)
        .set("acks", "1")
        .set("linger.ms", "0")
        .set("compression.type", "none")
        .set("enable.idempotence", "false")
        .create_with_context(Counting(Arc::clone(&counters)))
        .context("creating the light producer")?;
    producer
        .client()
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .with_context(|| format!("metadata of {topic}"))?;
    let payload = produce::payload(1024);

    // One record to warm up the connection, not measured.
    send(&producer, topic, &payload, produce::UNTIMED)?;
    producer
        .flush(Duration::from_secs(30))
        .context("warm-up record")?;

    let interval = Duration::from_secs(1) / rate.max(1);
    started();
    let start = Instant::now();
    let mut sent = 0u64;
    while !done(start.elapsed()) {
        let due = start + interval * sent as u32;
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
        send(&producer, topic, &payload, counters.now_opaque())?;
        sent += 1;
    }
    let elapsed = start.elapsed();
    producer
        .flush(Duration::from_secs(60))
        .context("waiting for the light producer's last reports")?;
    let histogram = counters
        .latency()
        .ok_or_else(|| anyhow!("no latency histogram"))?;
    Ok(Stats {
        histogram,
        sent,
        failed: counters.failed.load(Ordering::Relaxed),
        elapsed,
        first_error: counters.first_error(),
    })
}

fn send(
    producer: &ThreadedProducer<Counting>,
    topic: &str,
    payload: &[u8],
    opaque: usize,
) -> Result<()> {
    let mut record = BaseRecord::<[u8], [u8], usize>::with_opaque_to(topic, opaque)
        .payload(payload)
        .partition(0);
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                thread::sleep(Duration::from_millis(1));
            }
            Err((err, _)) => bail!("send to {topic}: {err}"),
        }
    }
}

/// The light producer alone for `duration`.
pub fn alone(bootstrap: &str, topic: &str, rate: u32, duration: Duration) -> Result<Stats> {
    light(bootstrap, topic, rate, || {}, |t| t >= duration)
}

/// The light producer while a heavy throughput producer writes `records`
/// 1 KiB records into `heavy_topic`; the heavy one starts when the light one
/// is warmed up, and the light one runs as long as the heavy one does.
/// Returns both.
pub fn under_load(
    bootstrap: &str,
    topic: &str,
    rate: u32,
    heavy_topic: &str,
    records: u64,
) -> Result<(Stats, produce::Stats)> {
    let finished = Arc::new(AtomicBool::new(false));
    let (go, wait_for_go) = mpsc::channel::<()>();
    let heavy = {
        let bootstrap = bootstrap.to_string();
        let heavy_topic = heavy_topic.to_string();
        let finished = Arc::clone(&finished);
        thread::Builder::new()
            .name("heavy producer".into())
            .spawn(move || {
                if wait_for_go.recv().is_err() {
                    return Err(anyhow!("not started: the light producer failed"));
                }
                let result = produce::run(
                    &bootstrap,
                    &produce::Spec {
                        topic: &heavy_topic,
                        partitions: 1,
                        value_size: 1024,
                        records,
                        acks: "1",
                        stop: None,
                        counters: None,
                        keys: None,
                    },
                );
                finished.store(true, Ordering::Relaxed);
                result
            })?
    };
    let light = light(
        bootstrap,
        topic,
        rate,
        move || {
            let _ = go.send(());
        },
        |_| finished.load(Ordering::Relaxed),
    );
    let heavy = heavy
        .join()
        .map_err(|_| anyhow!("the heavy producer thread panicked"))??;
    Ok((light?, heavy))
}
