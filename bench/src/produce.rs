//! Produce throughput: one `BaseProducer` tuned for throughput, sending from
//! and polled in a single loop, counting only records whose delivery report
//! says they were written.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use crate::kafka::base_config;

/// The delivery opaque of a record whose latency is not recorded.
pub const UNTIMED: usize = usize::MAX;

/// Delivery-report counters, shared with whoever watches a producer.
pub struct Counters {
    epoch: Instant,
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    /// Nanoseconds from `epoch` to the latest delivery report.
    last_report_ns: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// Send-to-report latency in µs, when the opaque carries the send time.
    latency: Option<Mutex<Histogram<u64>>>,
}

impl Counters {
    pub fn new(with_latency: bool) -> Result<Arc<Self>> {
        let latency = if with_latency {
            Some(Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?))
        } else {
            None
        };
        Ok(Arc::new(Counters {
            epoch: Instant::now(),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_report_ns: AtomicU64::new(0),
            first_error: Mutex::new(None),
            latency,
        }))
    }

    /// The opaque for a record sent now: nanoseconds since `epoch`.
    pub fn now_opaque(&self) -> usize {
        self.epoch.elapsed().as_nanos() as usize
    }

    pub fn reported(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }

    pub fn last_report(&self) -> Instant {
        self.epoch + Duration::from_nanos(self.last_report_ns.load(Ordering::Relaxed))
    }

    pub fn first_error(&self) -> Option<String> {
        self.first_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn latency(&self) -> Option<Histogram<u64>> {
        self.latency
            .as_ref()
            .map(|h| h.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// The producer context: counts delivery reports into [`Counters`].
pub struct Counting(pub Arc<Counters>);

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_ns: usize) {
        let c = &self.0;
        let now_ns = c.epoch.elapsed().as_nanos() as u64;
        c.last_report_ns.fetch_max(now_ns, Ordering::Relaxed);
        match result {
            Ok(_) => {
                c.delivered.fetch_add(1, Ordering::Relaxed);
                if let Some(h) = c.latency.as_ref().filter(|_| sent_ns != UNTIMED) {
                    let micros = now_ns.saturating_sub(sent_ns as u64) / 1000;
                    h.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .saturating_record(micros.max(1));
                }
            }
            Err((err, message)) => {
                c.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = c.first_error.lock().unwrap_or_else(|e| e.into_inner());
                if first.is_none() {
                    *first = Some(format!(
                        "{err} ({}-{})",
                        message.topic(),
                        message.partition()
                    ));
                }
            }
        }
    }
}

/// Producer settings for throughput: 5 ms linger, 1 MB batches, a deep
/// queue, no compression.
pub fn throughput_config(bootstrap: &str, acks: &str) -> rdkafka::ClientConfig {
    let mut config = base_config(bootstrap);
    config
        .set("acks", acks)
        .set("linger.ms", "5")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("compression.type", "none")
        .set("enable.idempotence", "false");
    config
}

pub struct Spec<'a> {
    pub topic: &'a str,
    pub partitions: i32,
    pub value_size: usize,
    /// Stop after this many records (or when `stop` is set).
    pub records: u64,
    pub acks: &'a str,
    /// Set by another thread to stop sending early; what was sent is then
    /// purged from the queue rather than waited for.
    pub stop: Option<Arc<AtomicBool>>,
    /// Counters to use, so that another thread can watch progress.
    pub counters: Option<Arc<Counters>>,
    /// With `Some(n)`, record `i` gets the key `key-{i % n}`; else no key.
    pub keys: Option<u64>,
}

pub struct Stats {
    pub delivered: u64,
    pub failed: u64,
    pub first_error: Option<String>,
    /// From the first send to the last delivery report.
    pub elapsed: Duration,
    pub value_size: usize,
}

impl Stats {
    pub fn bytes(&self) -> u64 {
        self.delivered * self.value_size as u64
    }

    pub fn mb_per_s(&self) -> f64 {
        self.bytes() as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn records_per_s(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// "812 MB/s, 793k records/s (1.02 GB in 1.26 s)", plus failures.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{:.0} MB/s, {} records/s ({} in {:.2} s)",
            self.mb_per_s(),
            crate::fmt_count(self.records_per_s()),
            crate::fmt_bytes(self.bytes()),
            self.elapsed.as_secs_f64()
        );
        text.push_str(&failures(self.failed, self.first_error.as_deref()));
        text
    }
}

/// "; N records FAILED: <first error>" when some failed, else nothing.
pub fn failures(failed: u64, first_error: Option<&str>) -> String {
    if failed == 0 {
        return String::new();
    }
    format!("; {failed} records FAILED: {}", first_error.unwrap_or("?"))
}

/// Sends `spec.records` records of `spec.value_size` bytes round-robin over
/// the partitions and waits for every delivery report.
pub fn run(bootstrap: &str, spec: &Spec<'_>) -> Result<Stats> {
    let counters = match &spec.counters {
        Some(c) => Arc::clone(c),
        None => Counters::new(false)?,
    };
    let producer: BaseProducer<Counting> = throughput_config(bootstrap, spec.acks)
        .create_with_context(Counting(Arc::clone(&counters)))
        .context("creating the producer")?;
    // Connect and learn the topic's leaders before the clock starts.
    producer
        .client()
        .fetch_metadata(Some(spec.topic), Duration::from_secs(30))
        .with_context(|| format!("metadata of {}", spec.topic))?;

    let payload = payload(spec.value_size);
    let partitions = spec.partitions.max(1) as u64;
    let stopped = || {
        spec.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    };
    let mut key = String::new();
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < spec.records && !stopped() {
        let mut record = BaseRecord::with_opaque_to(spec.topic, UNTIMED)
            .payload(&payload[..])
            .partition((sent % partitions) as i32);
        if let Some(keys) = spec.keys {
            key.clear();
            // Writing into a String cannot fail.
            let _ = write!(key, "key-{}", sent % keys.max(1));
            record = record.key(key.as_bytes());
        }
        match producer.send::<[u8], [u8]>(record) {
            Ok(()) => {
                sent += 1;
                if sent % 512 == 0 {
                    producer.poll(Duration::ZERO);
                }
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                producer.poll(Duration::from_millis(1));
            }
            Err((err, _)) => bail!("send to {}: {err}", spec.topic),
        }
    }
    if stopped() {
        use rdkafka::producer::PurgeConfig;
        producer.purge(PurgeConfig::default().queue().inflight());
    }
    // Wait for the last delivery reports; librdkafka times a record out
    // after message.timeout.ms (5 min) at worst, so this ends.
    let mut last_progress = (Instant::now(), counters.reported());
    while counters.reported() < sent {
        producer.poll(Duration::from_millis(50));
        let reported = counters.reported();
        if reported != last_progress.1 {
            last_progress = (Instant::now(), reported);
        } else if last_progress.0.elapsed() > Duration::from_secs(330) {
            bail!(
                "no delivery report for 330 s; {} of {sent} records reported",
                reported
            );
        }
    }
    let first_error = counters.first_error();
    Ok(Stats {
        delivered: counters.delivered.load(Ordering::Relaxed),
        failed: counters.failed.load(Ordering::Relaxed),
        first_error,
        elapsed: counters.last_report().saturating_duration_since(start),
        value_size: spec.value_size,
    })
}

/// A value of `size` bytes that is not all one byte.
pub fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}
