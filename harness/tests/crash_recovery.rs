//! Property test: produce rounds, each ended by a SIGKILL of the broker
//! (after some acknowledged produce requests, possibly with one more in
//! flight on a second connection), then a restart. After every restart
//! each acknowledged batch is fetched back, byte for byte, at its
//! acknowledged offset; offsets continue contiguously; and the segments'
//! indexes decode and point at the right batches. Segments are small, so
//! that kills land across rolls.

use anyhow::{Context, Result, ensure};
use harness::Broker;
use harness::batch::{self, Record, RecordBatch};
use harness::fixture::TopicSpec;
use harness::launcher::log_line_fields;
use harness::log_files::{self, State};
use harness::protocol;
use harness::wire::{Uuid, uuid};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::time::Duration;

const TOPIC_ID: Uuid = uuid(0xc4a5);
const SEGMENT_BYTES: &str = "16384";
const INDEX_INTERVAL: &str = "1024";

/// One round: produce requests acknowledged one after another, then maybe
/// one sent on a second connection and left unanswered, `delay` before the
/// kill.
#[derive(Debug, Clone)]
struct Round {
    acknowledged: Vec<Vec<u8>>,
    in_flight: Option<(Vec<u8>, Duration)>,
}

fn encoded_batch() -> impl Strategy<Value = Vec<u8>> {
    (
        vec((vec(any::<u8>(), 0..400), 0i64..1000), 1..=8),
        // In the past: records over an hour ahead of the broker's clock are
        // refused (message.timestamp.after.max.ms, as in Kafka 4).
        1_600_000_000_000i64..1_760_000_000_000,
    )
        .prop_map(|(records, timestamp)| {
            let max_delta = records.iter().map(|(_, d)| *d).max().unwrap_or(0);
            let records = records
                .into_iter()
                .map(|(value, timestamp_delta)| Record {
                    timestamp_delta,
                    ..Record::value(value)
                })
                .collect();
            let mut batch = RecordBatch::without_producer(records);
            batch.base_timestamp = timestamp;
            batch.max_timestamp = timestamp + max_delta;
            batch.encode()
        })
}

fn round() -> impl Strategy<Value = Round> {
    (
        vec(encoded_batch(), 0..=30),
        option::weighted(0.6, (encoded_batch(), 0u64..3000)),
    )
        .prop_map(|(acknowledged, in_flight)| Round {
            acknowledged,
            in_flight: in_flight.map(|(b, micros)| (b, Duration::from_micros(micros))),
        })
}

/// The log as acknowledged: (base offset, stored bytes) per batch.
#[derive(Default)]
struct Model {
    batches: Vec<(i64, Vec<u8>)>,
    next_offset: i64,
}

impl Model {
    fn push(&mut self, sent: &[u8]) -> Result<()> {
        let records = batch::scan_batch_headers(sent)?[0].record_count;
        self.batches.push((
            self.next_offset,
            batch::as_stored(sent, self.next_offset, 0),
        ));
        self.next_offset += i64::from(records);
        Ok(())
    }
}

/// After a restart: the acknowledged batches at their offsets, then at
/// most the batch that was in flight, and nothing else.
fn check_recovered(broker: &Broker, model: &mut Model, in_flight: Option<&[u8]>) -> Result<()> {
    let (high_watermark, fetched) = broker.connect()?.fetch_to_end(TOPIC_ID, 0, 0)?;
    ensure!(
        fetched.len() >= model.batches.len(),
        "{} batches fetched, {} acknowledged",
        fetched.len(),
        model.batches.len()
    );
    for (i, ((offset, expected), got)) in model.batches.iter().zip(&fetched).enumerate() {
        ensure!(
            got == expected,
            "acknowledged batch {i} at offset {offset} differs or moved"
        );
    }
    match (&fetched[model.batches.len()..], in_flight) {
        ([], _) => {}
        ([landed], Some(sent)) => {
            ensure!(
                *landed == batch::as_stored(sent, model.next_offset, 0),
                "the batch after the acknowledged ones is not the one in flight"
            );
            model.push(sent)?;
        }
        (extra, _) => anyhow::bail!("{} batches nobody sent", extra.len()),
    }
    ensure!(
        high_watermark == model.next_offset,
        "high watermark {high_watermark}, log end {}",
        model.next_offset
    );

    // Fetching from the last offset of a few batches returns that batch.
    let mut client = broker.connect()?;
    let step = (model.batches.len() / 8).max(1);
    for (offset, stored) in model.batches.iter().step_by(step) {
        let last = offset + i64::from(batch::scan_batch_headers(stored)?[0].last_offset_delta);
        let fetched = client.fetch_partition(TOPIC_ID, 0, last, 1)?;
        ensure!(
            fetched.first_batch()? == &stored[..],
            "fetch from {last}: not the batch at {offset}"
        );
    }

    let dir = broker.log_dir().join("c-0");
    let report = log_files::verify_partition(&dir, State::Running)?;
    ensure!(
        report.log_end_offset == model.next_offset,
        "the segments end at {}, the log at {}",
        report.log_end_offset,
        model.next_offset
    );
    let line = broker
        .last_output_line("loaded logs")
        .context("no `loaded logs` line")?;
    let fields = log_line_fields(&line);
    ensure!(
        fields.get("clean_shutdown").map(String::as_str) == Some("false"),
        "after kill -9: {line:?}"
    );
    Ok(())
}

fn run(rounds: &[Round]) -> Result<()> {
    let mut broker = Broker::on_fixture_with(
        &[TopicSpec::new("c", TOPIC_ID, 1)],
        &[
            ("log.segment.bytes", SEGMENT_BYTES),
            ("log.index.interval.bytes", INDEX_INTERVAL),
        ],
    )?;
    let mut model = Model::default();
    for (r, round) in rounds.iter().enumerate() {
        let mut client = broker.connect()?;
        for (i, sent) in round.acknowledged.iter().enumerate() {
            let produced = client.produce("c", 0, sent.clone())?;
            ensure!(
                (produced.error_code, produced.base_offset) == (0, model.next_offset),
                "round {r}, request {i}: {produced:?}, expected offset {}",
                model.next_offset
            );
            model.push(sent)?;
        }
        if let Some((sent, delay)) = &round.in_flight {
            let mut second = broker.connect()?;
            second.send(&protocol::produce_request_v11(
                7,
                -1,
                &[("c".into(), vec![(0, Some(sent.clone()))])],
            ))?;
            std::thread::sleep(*delay);
        }
        broker.kill();
        broker.start_again()?;
        check_recovered(
            &broker,
            &mut model,
            round.in_flight.as_ref().map(|(b, _)| &b[..]),
        )
        .with_context(|| format!("after the kill of round {r}"))?;
    }
    // Offsets carry on from the recovered log end.
    let mut client = broker.connect()?;
    let produced = client.produce("c", 0, RecordBatch::plain(&["after"]).encode())?;
    ensure!(
        (produced.error_code, produced.base_offset) == (0, model.next_offset),
        "after the last restart: {produced:?}, expected offset {}",
        model.next_offset
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        max_shrink_iters: 16,
        ..ProptestConfig::default()
    })]

    #[test]
    fn acknowledged_records_survive_kills_at_any_point(rounds in vec(round(), 1..=3)) {
        if harness::launcher::external().is_some() {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| harness::launcher::report_skip(&harness::launcher::Skip(
                "kills and restarts the broker".into(),
            )));
            return Ok(());
        }
        run(&rounds).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
    }
}
