//! Consume throughput: a `BaseConsumer` without a group, assigned the
//! partition from its beginning, reading until the end offset seen at start.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::base_config;

pub struct Stats {
    pub records: u64,
    pub bytes: u64,
    /// From assign to the last record.
    pub elapsed: Duration,
}

impl Stats {
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        format!(
            "{:.0} MB/s, {} records/s ({} in {:.2} s)",
            self.bytes as f64 / 1e6 / secs,
            crate::fmt_count(self.records as f64 / secs),
            crate::fmt_bytes(self.bytes),
            secs
        )
    }
}

/// Reads partition 0 of `topic` from the beginning to its current end.
pub fn run(bootstrap: &str, topic: &str) -> Result<Stats> {
    run_partitions(bootstrap, topic, &[0])
}

/// Reads `topic`'s partitions with one consumer per group of partitions,
/// each on a thread of its own (as a consumer group would share them);
/// the time is the slowest consumer's.
pub fn run_parallel(bootstrap: &str, topic: &str, groups: &[Vec<i32>]) -> Result<Stats> {
    let results: Vec<Result<Stats>> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .iter()
            .map(|partitions| scope.spawn(move || run_partitions(bootstrap, topic, partitions)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a consumer thread panicked")))
            })
            .collect()
    });
    let mut total = Stats {
        records: 0,
        bytes: 0,
        elapsed: Duration::ZERO,
    };
    for stats in results {
        let stats = stats?;
        total.records += stats.records;
        total.bytes += stats.bytes;
        total.elapsed = total.elapsed.max(stats.elapsed);
    }
    Ok(total)
}

/// Reads `partitions` of `topic` from the beginning to their current ends.
fn run_partitions(bootstrap: &str, topic: &str, partitions: &[i32]) -> Result<Stats> {
    // librdkafka's assign() needs a group.id, though nothing joins or
    // commits: a unique one, with commits off.
    let consumer: BaseConsumer = base_config(bootstrap)
        .set("group.id", format!("{topic}-reader"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "52428800")
        .set("receive.message.max.bytes", "104857600")
        .set("queued.max.messages.kbytes", "1048576")
        .set("fetch.wait.max.ms", "100")
        .create()
        .context("creating the consumer")?;
    let mut assignment = TopicPartitionList::new();
    // The offset each partition must reach, from its end at the start.
    let mut ends = std::collections::HashMap::new();
    for &partition in partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(30))
            .with_context(|| format!("end offset of {topic}-{partition}"))?;
        if high <= low {
            bail!("{topic}-{partition} is empty");
        }
        ends.insert(partition, high);
        assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    let start = Instant::now();
    consumer.assign(&assignment).context("assign")?;
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut last = start;
    while !ends.is_empty() {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                records += 1;
                bytes += message.payload_len() as u64;
                last = Instant::now();
                if ends
                    .get(&message.partition())
                    .is_some_and(|&high| message.offset() + 1 >= high)
                {
                    ends.remove(&message.partition());
                }
            }
            Some(Err(err)) => bail!("consuming {topic}: {err}"),
            None if last.elapsed() > Duration::from_secs(30) => {
                bail!("no record for 30 s after {records} records of {topic}")
            }
            None => {}
        }
    }
    Ok(Stats {
        records,
        bytes,
        elapsed: last.duration_since(start),
    })
}
