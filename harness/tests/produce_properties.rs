//! Property tests: random topic sets produced to in one request, checked
//! partition by partition in the response and on disk, across several
//! rounds and a broker restart.

use harness::Broker;
use harness::batch::{self, Header, Record, RecordBatch};
use harness::fixture::{self, PartitionSpec, TopicSpec};
use harness::protocol::error::UNKNOWN_TOPIC_OR_PARTITION;
use harness::protocol::{self, FetchPartitionRequest, FetchRequest};
use harness::wire::Uuid;
use proptest::collection::{btree_map, hash_set, vec};
use proptest::option;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Partition indexes a round may write to; those beyond a topic's count are unknown.
const MAX_PARTITION_INDEX: i32 = 5;

#[derive(Debug, Clone)]
struct TopicPlan {
    name: String,
    id: Uuid,
    /// Unknown topics are not in the log directory.
    known: bool,
    /// Single-record batches already in each partition's log.
    existing: Vec<usize>,
}

/// One Produce request: per topic (by index into the plan), the batch sent
/// to each partition.
type Round = Vec<BTreeMap<i32, Vec<u8>>>;

#[derive(Debug, Clone)]
struct Scenario {
    topics: Vec<TopicPlan>,
    rounds: Vec<Round>,
}

fn topic_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._-]{1,40}".prop_filter("Kafka forbids . and .., __ is internal", |name| {
        name != "." && name != ".." && !name.starts_with("__")
    })
}

fn record() -> impl Strategy<Value = Record> {
    let header = ("[a-zA-Z0-9-]{1,8}", option::of(vec(any::<u8>(), 0..8)))
        .prop_map(|(key, value)| Header { key, value });
    (
        option::of(vec(any::<u8>(), 0..16)),
        option::of(vec(any::<u8>(), 0..64)),
        vec(header, 0..3),
        0i64..1000,
    )
        .prop_map(|(key, value, headers, timestamp_delta)| Record {
            timestamp_delta,
            offset_delta: 0,
            key,
            value,
            headers,
        })
}

fn encoded_batch() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(record(), 1..=20),
        // In the past: records over an hour ahead of the broker's clock are
        // refused (message.timestamp.after.max.ms, as in Kafka 4).
        1_600_000_000_000i64..1_760_000_000_000,
    )
        .prop_map(|(records, timestamp)| {
            let mut batch = RecordBatch::without_producer(records);
            batch.base_timestamp = timestamp;
            batch.max_timestamp = timestamp + 1000;
            batch.encode()
        })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    hash_set(topic_name(), 1..=5)
        .prop_flat_map(|names| {
            let count = names.len();
            let plans = names
                .into_iter()
                .map(|name| {
                    (
                        prop::bool::weighted(0.8),
                        vec(0usize..3, 1..=4),
                        any::<u128>(),
                    )
                        .prop_map(move |(known, existing, id)| TopicPlan {
                            name: name.clone(),
                            id: id.to_be_bytes(),
                            known,
                            existing,
                        })
                })
                .collect::<Vec<_>>();
            let round = vec(
                btree_map(0..=MAX_PARTITION_INDEX, encoded_batch(), 0..=3),
                count,
            );
            (plans, vec(round, 3))
        })
        .prop_map(|(topics, rounds)| Scenario { topics, rounds })
}

/// What the broker must hold: per known partition, the log bytes and the
/// next offset.
struct Model {
    logs: HashMap<(String, i32), (Vec<u8>, i64)>,
}

impl Model {
    fn new(topics: &[TopicSpec]) -> Self {
        let mut logs = HashMap::new();
        for topic in topics {
            for p in &topic.partitions {
                logs.insert(
                    (topic.name.clone(), p.index),
                    (p.log_bytes(), p.batches.len() as i64),
                );
            }
        }
        Model { logs }
    }
}

fn fixture_topics(plan: &[TopicPlan]) -> Vec<TopicSpec> {
    plan.iter()
        .filter(|t| t.known)
        .map(|t| {
            let mut spec = TopicSpec::new(&t.name, t.id, 0);
            for (index, existing) in t.existing.iter().enumerate() {
                let messages: Vec<String> =
                    (0..*existing).map(|i| format!("existing-{i}")).collect();
                let messages: Vec<&str> = messages.iter().map(String::as_str).collect();
                spec =
                    spec.with_partition(PartitionSpec::new(index as i32).with_messages(&messages));
            }
            spec
        })
        .collect()
}

fn run_round(
    broker: &Broker,
    plan: &[TopicPlan],
    round: &Round,
    model: &mut Model,
    correlation_id: i32,
) -> Result<(), TestCaseError> {
    let request: Vec<protocol::ProduceTopic> = plan
        .iter()
        .zip(round)
        .map(|(topic, writes)| {
            let partitions = writes.iter().map(|(i, b)| (*i, Some(b.clone()))).collect();
            (topic.name.clone(), partitions)
        })
        .collect();
    let mut client = broker.connect().map_err(fail)?;
    let raw = client
        .round_trip(&protocol::produce_request_v11(correlation_id, -1, &request))
        .map_err(fail)?;
    let response = protocol::decode_produce_response_v11(&raw).map_err(fail)?;
    prop_assert_eq!(response.correlation_id, correlation_id);
    prop_assert_eq!(response.responses.len(), request.len());

    for (topic, writes) in plan.iter().zip(round) {
        let answered = response
            .responses
            .iter()
            .find(|(name, _)| *name == topic.name)
            .ok_or_else(|| TestCaseError::fail(format!("topic {} missing", topic.name)))?;
        prop_assert_eq!(answered.1.len(), writes.len());
        for (&index, sent) in writes {
            let result = response
                .partition(&topic.name, index)
                .ok_or_else(|| TestCaseError::fail(format!("{}-{index} missing", topic.name)))?;
            match model.logs.get_mut(&(topic.name.clone(), index)) {
                Some((log, next_offset)) => {
                    prop_assert_eq!(
                        result.error_code,
                        0,
                        "{}-{}: {:?}",
                        &topic.name,
                        index,
                        result
                    );
                    prop_assert_eq!(result.base_offset, *next_offset);
                    prop_assert_eq!(result.log_append_time_ms, -1);
                    prop_assert_eq!(result.log_start_offset, 0);
                    let records = batch::decode_batches(sent).map_err(fail)?[0]
                        .batch
                        .records
                        .len();
                    log.extend(batch::as_stored(sent, *next_offset, 0));
                    *next_offset += records as i64;
                }
                None => {
                    prop_assert_eq!(
                        (
                            result.error_code,
                            result.base_offset,
                            result.log_append_time_ms,
                            result.log_start_offset
                        ),
                        (UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1),
                        "{}-{}",
                        &topic.name,
                        index
                    );
                    let path = fixture::log_file(broker.log_dir(), &topic.name, index);
                    prop_assert!(!path.exists(), "{} was created", path.display());
                }
            }
        }
    }
    check_files(broker, model)
}

/// Every known partition's log file holds exactly the model's bytes: the
/// batches sent, unchanged but for their base offsets, with valid CRCs.
fn check_files(broker: &Broker, model: &Model) -> Result<(), TestCaseError> {
    for ((topic, index), (expected, next_offset)) in &model.logs {
        let path = fixture::log_file(broker.log_dir(), topic, *index);
        let on_disk = std::fs::read(&path).map_err(fail)?;
        prop_assert!(
            on_disk == *expected,
            "{} differs from the model",
            path.display()
        );
        let batches = batch::decode_batches(&on_disk).map_err(fail)?;
        let mut offset = 0;
        for b in &batches {
            prop_assert_eq!(b.batch.base_offset, offset, "{}-{}", topic, index);
            offset = b.last_offset() + 1;
        }
        prop_assert_eq!(offset, *next_offset);
    }
    Ok(())
}

/// Fetching each known partition from offset 0 returns its whole log.
fn check_fetch(broker: &Broker, plan: &[TopicPlan], model: &Model) -> Result<(), TestCaseError> {
    let mut client = broker.connect().map_err(fail)?;
    for topic in plan.iter().filter(|t| t.known) {
        let partitions = (0..topic.existing.len() as i32)
            .map(|i| FetchPartitionRequest::new(i, 0))
            .collect();
        let raw = client
            .round_trip(&FetchRequest::new(vec![(topic.id, partitions)]).encode_v16(99))
            .map_err(fail)?;
        let response = protocol::decode_fetch_response_v16(&raw).map_err(fail)?;
        prop_assert_eq!(response.responses.len(), 1);
        for p in &response.responses[0].1 {
            let (log, next_offset) = &model.logs[&(topic.name.clone(), p.partition_index)];
            prop_assert_eq!(p.error_code, 0);
            prop_assert_eq!(p.high_watermark, *next_offset);
            prop_assert!(
                p.records.as_deref() == Some(&log[..]),
                "fetched bytes differ"
            );
        }
    }
    Ok(())
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(format!("{e:#}"))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn multi_topic_produce_keeps_independent_offsets_across_restarts(scenario in scenario()) {
        if harness::launcher::external().is_some() {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| harness::launcher::report_skip(&harness::launcher::Skip(
                "seeds log directories and restarts the broker".into(),
            )));
            return Ok(());
        }
        let dir = tempfile::tempdir().map_err(fail)?;
        let log_dir = dir.path().join("logs");
        let topics = fixture_topics(&scenario.topics);
        fixture::write_log_dir(&log_dir, &topics).map_err(fail)?;
        let mut model = Model::new(&topics);
        // Batch timestamps range over ten years: neither time-based rolls
        // (`log.roll.ms`) nor time retention may split or delete the logs
        // this model keeps as one file each.
        let mut broker = Broker::start_with(
            &log_dir,
            &[("log.roll.ms", "9223372036854775807"), ("log.retention.ms", "-1")],
        )
        .map_err(fail)?;

        run_round(&broker, &scenario.topics, &scenario.rounds[0], &mut model, 1)?;
        run_round(&broker, &scenario.topics, &scenario.rounds[1], &mut model, 2)?;
        // A crash (SIGKILL) and a restart: offsets carry on from the logs.
        broker.restart().map_err(fail)?;
        check_files(&broker, &model)?;
        run_round(&broker, &scenario.topics, &scenario.rounds[2], &mut model, 3)?;
        check_fetch(&broker, &scenario.topics, &model)?;
    }
}

/// KIP-467: a batch refused because of some of its records is answered
/// with each bad record's index and message (`record_errors`) and an
/// `error_message`, as Kafka answers: INVALID_RECORD for records without a
/// key on a compacted topic, INVALID_TIMESTAMP for a CreateTime out of
/// `message.timestamp.before.max.ms` / `after.max.ms`. Nothing of the batch
/// is appended.
#[test]
fn produce_names_the_records_that_fail_a_batch() -> Result<(), anyhow::Error> {
    use anyhow::ensure;
    use harness::admin::{self, CreatableTopic};
    use harness::protocol::error::INVALID_RECORD;
    const INVALID_TIMESTAMP: i16 = 32;

    let broker = harness::or_skip!(Broker::on_fixture(&[]));
    let mut client = broker.connect()?;
    let compacted = broker.topic("kip467-compacted");
    let strict = broker.topic("kip467-strict");
    let mut compacted_topic = CreatableTopic::new(&compacted, 1, 1);
    compacted_topic.configs = vec![("cleanup.policy".into(), Some("compact".into()))];
    let mut strict_topic = CreatableTopic::new(&strict, 1, 1);
    strict_topic.configs = vec![(
        "message.timestamp.before.max.ms".into(),
        Some("60000".into()),
    )];
    let created = admin::decode_create_topics_response(&client.round_trip(
        &admin::create_topics_request(1, &[compacted_topic, strict_topic], 5000, false),
    )?)?;
    ensure!(
        created.topics.iter().all(|t| t.error_code == 0),
        "{created:?}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let batch = |records: Vec<(Option<&str>, i64)>| {
        let base = records[0].1;
        let mut batch = RecordBatch::without_producer(
            records
                .iter()
                .map(|(key, timestamp)| Record {
                    timestamp_delta: timestamp - base,
                    key: key.map(|k| k.as_bytes().to_vec()),
                    ..Record::value(b"v".to_vec())
                })
                .collect(),
        );
        batch.base_timestamp = base;
        batch.max_timestamp = records.iter().map(|r| r.1).max().unwrap_or(base);
        batch.encode()
    };

    // Keyless records on a compacted topic: the second and third.
    let refused = client.produce(
        &compacted,
        0,
        batch(vec![(Some("a"), now), (None, now), (None, now)]),
    )?;
    let message = format!(
        "Compacted topic cannot accept message without key in topic partition {compacted}-0."
    );
    ensure!(
        refused.error_code == INVALID_RECORD
            && refused.record_errors == [(1, Some(message.clone())), (2, Some(message.clone()))]
            && refused
                .error_message
                .as_deref()
                .is_some_and(|m| m.starts_with(
                    "One or more records have been rejected due to 2 record errors in total"
                )),
        "{refused:?}"
    );
    // A record two hours ahead (after.max.ms is an hour by default).
    let ahead = client.produce(
        &compacted,
        0,
        batch(vec![(Some("a"), now), (Some("b"), now + 7_200_000)]),
    )?;
    ensure!(
        ahead.error_code == INVALID_TIMESTAMP
            && ahead.record_errors.len() == 1
            && ahead.record_errors[0].0 == 1
            && ahead.record_errors[0]
                .1
                .as_deref()
                .is_some_and(|m| m.contains("of message with offset 1 is out of range")),
        "{ahead:?}"
    );
    // A record older than the topic's minute (before.max.ms=60000).
    let behind = client.produce(
        &strict,
        0,
        batch(vec![(None, now - 3_600_000), (None, now)]),
    )?;
    ensure!(
        behind.error_code == INVALID_TIMESTAMP
            && behind.record_errors.iter().map(|e| e.0).collect::<Vec<_>>() == [0]
            && behind.error_message.as_deref()
                == Some("One or more records have been rejected due to invalid timestamp"),
        "{behind:?}"
    );
    // Nothing was appended; good batches go on.
    for topic in [&compacted, &strict] {
        let fine = client.produce(topic, 0, batch(vec![(Some("k"), now)]))?;
        ensure!(
            fine.error_code == 0 && fine.base_offset == 0 && fine.record_errors.is_empty(),
            "{topic}: {fine:?}"
        );
    }
    Ok(())
}
