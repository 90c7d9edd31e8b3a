//! Transactional produce throughput (KIP-98): one transactional producer
//! (the produce rows' settings, with a `transactional.id`, so idempotent and
//! acks=all) writes the records round-robin over the partitions in
//! transactions of a fixed number of records, each committed before the next
//! begins. Every commit is timed: from the end of the transaction's sends
//! until `commit_transaction` returns, which covers flushing its records
//! (AddPartitionsToTxn, Produce) and EndTxn.
//!
//! A `ThreadedProducer`, flushed with librdkafka's own `rd_kafka_flush`
//! before `commit_transaction`: the rdkafka crate's `flush` (which its
//! `commit_transaction` calls first) polls in steps of 100 ms that never end
//! early, so every commit with records still in flight would take 100 ms
//! whatever the broker does. `rd_kafka_flush` is what librdkafka's commit
//! calls itself: it ignores linger.ms and returns as soon as the delivery
//! reports are served (by the producer's polling thread).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use hdrhistogram::Histogram;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};

use crate::Row;
use crate::broker::supported_apis;
use crate::kafka::{create_topic, end_offsets};
use crate::produce::{self, Counters, Counting, UNTIMED, throughput_config};

/// How long one transactional call may take before the row fails.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Plan {
    pub records_1k: u64,
    pub records_100b: u64,
    pub per_transaction: u64,
}

/// The produce rows' value sizes and partition counts, transactionally;
/// pushes four rows. A broker whose ApiVersions does not list the
/// transaction APIs gets "n/a" rows, not failures.
pub fn run(
    bootstrap: &str,
    addr: SocketAddr,
    topic: impl Fn(&str) -> String,
    plan: &Plan,
    rows: &mut Vec<Row>,
) {
    let mut specs = Vec::new();
    for (value_size, records) in [(1024, plan.records_1k), (100, plan.records_100b)] {
        for partitions in [1, 4] {
            let name = format!(
                "transactional produce {} × {} records, {} per transaction, acks=all, \
                 {partitions} partition{}",
                crate::size_label(value_size),
                crate::fmt_count(records as f64),
                plan.per_transaction,
                if partitions > 1 { "s" } else { "" }
            );
            specs.push((name, value_size, records, partitions));
        }
    }
    let missing = match supported_apis(addr, Duration::from_secs(5)) {
        Ok(apis) => missing_apis(&apis),
        Err(err) => {
            for (name, ..) in specs {
                rows.push(Row::err(name, anyhow!("{err:#}")));
            }
            return;
        }
    };
    if !missing.is_empty() {
        let note = format!(
            "n/a (the broker does not support transactions: its ApiVersions lacks {})",
            missing.join(", ")
        );
        crate::progress(&format!("transactions: skipped, {note}"));
        for (name, ..) in specs {
            rows.push(Row::ok(name, note.clone()));
        }
        return;
    }
    for (name, value_size, records, partitions) in specs {
        crate::progress(&name);
        let what = format!("txn{value_size}-{partitions}p");
        let t = topic(&what);
        let result = create_topic(bootstrap, &t, partitions).and_then(|()| {
            let spec = Spec {
                topic: &t,
                transactional_id: &topic(&format!("{what}-id")),
                partitions,
                value_size,
                records,
                per_transaction: plan.per_transaction,
            };
            let stats = produce(bootstrap, &spec)?;
            let check = check_end_offsets(bootstrap, &spec, &stats)?;
            Ok(format!("{}; {check}", stats.summary()))
        });
        rows.push(Row::new(name, result));
        crate::settle(bootstrap, &t);
    }
}

/// The transaction APIs a producer needs that `apis` does not list:
/// FindCoordinator v1+ (key type TRANSACTION), InitProducerId,
/// AddPartitionsToTxn and EndTxn.
fn missing_apis(apis: &[crate::broker::ApiRange]) -> Vec<&'static str> {
    let has = |key: i16, version: i16| {
        apis.iter()
            .any(|a| a.key == key && a.min <= version && version <= a.max)
    };
    [
        (10, 1, "FindCoordinator v1"),
        (22, 0, "InitProducerId"),
        (24, 0, "AddPartitionsToTxn"),
        (26, 0, "EndTxn"),
    ]
    .into_iter()
    .filter(|&(key, version, _)| !has(key, version))
    .map(|(_, _, name)| name)
    .collect()
}

pub struct Spec<'a> {
    pub topic: &'a str,
    pub transactional_id: &'a str,
    pub partitions: i32,
    pub value_size: usize,
    pub records: u64,
    pub per_transaction: u64,
}

pub struct Stats {
    /// Records in committed transactions, from the first
    /// `begin_transaction` to the return of the last `commit_transaction`.
    pub produced: produce::Stats,
    pub transactions: u64,
    /// Partitions written, summed over the transactions: each gets one
    /// COMMIT marker per transaction.
    pub partitions_touched: u64,
    /// µs from the end of a transaction's sends to the return of its
    /// `commit_transaction`.
    pub commit: Histogram<u64>,
    /// µs of `commit_transaction` alone, once the records are delivered
    /// (EndTxn and whatever the client does around it).
    pub end_txn: Histogram<u64>,
}

impl Stats {
    /// The produce rows' summary, then the commit latency.
    pub fn summary(&self) -> String {
        let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        format!(
            "{}, {} transactions; commit p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
             (EndTxn alone, after the flush: p50 {:.2} ms, p99 {:.2} ms)",
            self.produced.summary(),
            self.transactions,
            ms(&self.commit, 0.5),
            ms(&self.commit, 0.99),
            self.commit.max() as f64 / 1000.0,
            ms(&self.end_txn, 0.5),
            ms(&self.end_txn, 0.99),
        )
    }
}

/// Writes `spec.records` records in transactions of `spec.per_transaction`
/// and commits each; fails on the first record or commit that fails (after
/// trying to abort the open transaction).
pub fn produce(bootstrap: &str, spec: &Spec<'_>) -> Result<Stats> {
    let counters = Counters::new(false)?;
    let mut config = throughput_config(bootstrap, "all");
    config
        .set("enable.idempotence", "true")
        .set("transactional.id", spec.transactional_id)
        .set("transaction.timeout.ms", "60000");
    let producer: ThreadedProducer<Counting> = config
        .create_with_context(Counting(Arc::clone(&counters)))
        .context("creating the transactional producer")?;
    // Connect, learn the topic's leaders and get a producer id and epoch
    // from the transaction coordinator before the clock starts.
    producer
        .client()
        .fetch_metadata(Some(spec.topic), Duration::from_secs(30))
        .with_context(|| format!("metadata of {}", spec.topic))?;
    producer
        .init_transactions(CALL_TIMEOUT)
        .context("init_transactions")?;

    let payload = produce::payload(spec.value_size);
    let partitions = spec.partitions.max(1) as u64;
    let per_transaction = spec.per_transaction.max(1);
    let mut commit = Histogram::new_with_bounds(1, 60_000_000, 3)?;
    let mut end_txn = Histogram::new_with_bounds(1, 60_000_000, 3)?;
    let mut transactions = 0u64;
    let mut partitions_touched = 0u64;
    let mut sent = 0u64;
    let start = Instant::now();
    while sent < spec.records {
        let batch = per_transaction.min(spec.records - sent);
        producer.begin_transaction().context("begin_transaction")?;
        let result = transaction(
            &producer,
            &counters,
            spec,
            &payload,
            sent..sent + batch,
            transactions + 1,
            (&mut commit, &mut end_txn),
        );
        if let Err(err) = result {
            let _ = producer.abort_transaction(Duration::from_secs(10));
            return Err(err);
        }
        sent += batch;
        transactions += 1;
        partitions_touched += batch.min(partitions);
    }
    let elapsed = start.elapsed();
    let delivered = counters.delivered.load(Ordering::Relaxed);
    if delivered != sent {
        bail!("{delivered} of {sent} records reported delivered after the last commit");
    }
    Ok(Stats {
        produced: produce::Stats {
            delivered,
            failed: 0,
            first_error: None,
            elapsed,
            value_size: spec.value_size,
        },
        transactions,
        partitions_touched,
        commit,
        end_txn,
    })
}

/// Sends records `range` (round-robin over the partitions) in the open
/// transaction, numbered `number`, and commits it; records the commit's
/// latency and EndTxn's into `histograms`.
fn transaction(
    producer: &ThreadedProducer<Counting>,
    counters: &Counters,
    spec: &Spec<'_>,
    payload: &[u8],
    range: std::ops::Range<u64>,
    number: u64,
    histograms: (&mut Histogram<u64>, &mut Histogram<u64>),
) -> Result<()> {
    let partitions = spec.partitions.max(1) as u64;
    let mut next = range.start;
    while next < range.end {
        let record = BaseRecord::with_opaque_to(spec.topic, UNTIMED)
            .payload(payload)
            .partition((next % partitions) as i32);
        match producer.send::<[u8], [u8]>(record) {
            Ok(()) => next += 1,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                thread::sleep(Duration::from_millis(1));
            }
            Err((err, _)) => bail!("send to {}: {err}", spec.topic),
        }
    }
    // Flushing first (commit_transaction flushes too, then finds nothing
    // left) tells the records' delivery apart from EndTxn.
    let flushing = Instant::now();
    flush(producer, CALL_TIMEOUT)
        .with_context(|| format!("flushing the records of transaction {number}"))?;
    let failed = counters.failed.load(Ordering::Relaxed);
    if failed > 0 {
        bail!(
            "transaction {number}: {failed} records FAILED: {}",
            counters.first_error().as_deref().unwrap_or("?")
        );
    }
    let committing = Instant::now();
    producer
        .commit_transaction(CALL_TIMEOUT)
        .with_context(|| format!("commit_transaction of transaction {number}"))?;
    let micros = |since: Instant| (since.elapsed().as_micros() as u64).max(1);
    let (commit, end_txn) = histograms;
    end_txn.saturating_record(micros(committing));
    commit.saturating_record(micros(flushing));
    Ok(())
}

/// `rd_kafka_flush`: sends what linger.ms holds back at once and waits
/// until every record's delivery report has been served.
fn flush(producer: &ThreadedProducer<Counting>, timeout: Duration) -> Result<()> {
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: the pointer is the producer's live handle, borrowed for the
    // call; rd_kafka_flush may be called from any thread, and in event mode
    // (the rdkafka crate's) it only waits, leaving the delivery reports to
    // the ThreadedProducer's polling thread.
    let err = unsafe { rdkafka::bindings::rd_kafka_flush(producer.client().native_ptr(), ms) };
    match RDKafkaErrorCode::from(err) {
        RDKafkaErrorCode::NoError => Ok(()),
        code => bail!("rd_kafka_flush: {code}"),
    }
}

/// The topic's end offsets must count every record and one COMMIT marker
/// per transaction and partition written.
fn check_end_offsets(bootstrap: &str, spec: &Spec<'_>, stats: &Stats) -> Result<String> {
    let present = end_offsets(bootstrap, spec.topic, spec.partitions)?;
    let records = stats.produced.delivered as i64;
    let markers = stats.partitions_touched as i64;
    let text = format!("end offsets {present} = {records} records + {markers} COMMIT markers");
    if present != records + markers {
        bail!(
            "{}; end offsets {present}, expected {records} records + {markers} COMMIT markers: \
             MISMATCH",
            stats.summary()
        );
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::ApiRange;

    #[test]
    fn transaction_apis_are_looked_for() {
        let range = |key, min, max| ApiRange { key, min, max };
        let all = [
            range(10, 0, 4),
            range(22, 0, 5),
            range(24, 0, 4),
            range(26, 0, 4),
        ];
        assert!(missing_apis(&all).is_empty());
        assert_eq!(
            missing_apis(&[range(10, 0, 0), range(22, 0, 5)]),
            ["FindCoordinator v1", "AddPartitionsToTxn", "EndTxn"]
        );
    }
}
