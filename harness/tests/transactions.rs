//! Protocol-level checks of transactions (KIP-98, KIP-447), request by
//! request: a commit and an abort as a consumer of either isolation level
//! sees them (last stable offset, aborted transactions, markers, the
//! `.txnindex`), the coordinator's error paths (fencing, timeouts, states),
//! transactional offset commits, the admin APIs, kills at any point, and a
//! property test of random transactions against a model.

use anyhow::{Context, Result, bail, ensure};
use harness::admin::{self, InitProducerIdResponse, LATEST_TIMESTAMP, ListOffsetsPartitionRequest};
use harness::batch::{self, Record, RecordBatch};
use harness::fixture::TopicSpec;
use harness::groups::{self, OffsetFetchGroup};
use harness::launcher::{Skip, own_broker_only};
use harness::protocol::error::UNKNOWN_TOPIC_OR_PARTITION;
use harness::protocol::{self, ProducedPartition};
use harness::transactions::{
    self as txn, AddPartitionsTransaction, DescribedTransaction, FetchedLog, READ_COMMITTED,
    READ_UNCOMMITTED, TxnOffsetCommitPartition, TxnOffsetCommitRequest, error::*,
};
use harness::wire::{Uuid, uuid};
use harness::{Broker, Client, or_skip};
use proptest::collection::vec;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// The topic under test, by its fixture name: two partitions.
const TOPIC: &str = "t";
const TOPIC_ID: Uuid = uuid(0x7a5_0001);
const TIMEOUT_MS: i32 = 60_000;
/// Kafka's `TRANSACTIONAL_ID_AUTHORIZATION_FAILED`.
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;

/// Fewer partitions of the internal topics than Kafka's 50, so that they
/// are created quickly.
const TUNING: [(&str, &str); 2] = [
    ("transaction.state.log.num.partitions", "3"),
    ("offsets.topic.num.partitions", "3"),
];

fn topics() -> Vec<TopicSpec> {
    vec![TopicSpec::new(TOPIC, TOPIC_ID, 2)]
}

fn start() -> Result<Broker> {
    Broker::on_fixture_tuned(&topics(), &TUNING)
}

/// A broker with configuration a test needs (skipped on an external one).
fn start_with(extra: &[(&str, &str)]) -> Result<Broker> {
    let mut properties = TUNING.to_vec();
    properties.extend_from_slice(extra);
    Broker::on_fixture_with(&topics(), &properties)
}

/// The values of records, as strings.
fn values(records: &[(i64, Record)]) -> Vec<String> {
    records
        .iter()
        .map(|(_, r)| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect()
}

/// The offsets of records.
fn offsets(records: &[(i64, Record)]) -> Vec<i64> {
    records.iter().map(|(o, _)| *o).collect()
}

fn produce_batch(
    client: &mut Client,
    topic: &str,
    partition: i32,
    transactional_id: Option<&str>,
    batch: &RecordBatch,
) -> Result<ProducedPartition> {
    let raw = client.round_trip(&protocol::produce_request_v11_transactional(
        11,
        transactional_id,
        -1,
        &[(topic.to_string(), vec![(partition, Some(batch.encode()))])],
    ))?;
    let response = protocol::decode_produce_response_v11(&raw)?;
    protocol::ensure_correlation(response.correlation_id, 11)?;
    response
        .partition(topic, partition)
        .cloned()
        .with_context(|| format!("no answer for {topic}-{partition}"))
}

fn init_producer_id(
    client: &mut Client,
    transactional_id: Option<&str>,
    timeout_ms: i32,
) -> Result<InitProducerIdResponse> {
    let response = txn::decode_init_producer_id_response(
        &client.round_trip(&txn::init_producer_id_request(
            4,
            21,
            transactional_id,
            timeout_ms,
            -1,
            -1,
        ))?,
        4,
    )?;
    protocol::ensure_correlation(response.correlation_id, 21)?;
    Ok(response)
}

/// InitProducerId, retried while the coordinator answers
/// CONCURRENT_TRANSACTIONS (it is aborting an open transaction).
fn init_when_ready(
    client: &mut Client,
    transactional_id: &str,
    timeout_ms: i32,
) -> Result<InitProducerIdResponse> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = init_producer_id(client, Some(transactional_id), timeout_ms)?;
        if response.error_code != CONCURRENT_TRANSACTIONS || Instant::now() > deadline {
            return Ok(response);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn describe_all(client: &mut Client, ids: &[&str]) -> Result<Vec<DescribedTransaction>> {
    let response = txn::decode_describe_transactions_response(
        &client.round_trip(&txn::describe_transactions_request(31, ids))?,
    )?;
    protocol::ensure_correlation(response.correlation_id, 31)?;
    ensure!(
        response.transaction_states.len() == ids.len(),
        "asked for {ids:?}: {response:?}"
    );
    Ok(response.transaction_states)
}

fn describe(client: &mut Client, id: &str) -> Result<DescribedTransaction> {
    let described = describe_all(client, &[id])?.remove(0);
    ensure!(
        described.transactional_id == id && described.error_code == 0,
        "{described:?}"
    );
    Ok(described)
}

/// ListOffsets for the latest offset of a partition.
fn latest_offset(
    client: &mut Client,
    topic: &str,
    partition: i32,
    isolation_level: i8,
) -> Result<i64> {
    let raw = client.round_trip(&admin::list_offsets_request(
        41,
        isolation_level,
        &[(
            topic,
            vec![ListOffsetsPartitionRequest::new(
                partition,
                LATEST_TIMESTAMP,
            )],
        )],
    ))?;
    let response = admin::decode_list_offsets_response(&raw)?;
    let listed = response
        .partition(topic, partition)
        .with_context(|| format!("no answer for {topic}-{partition}: {response:?}"))?;
    ensure!(listed.error_code == 0, "{listed:?}");
    Ok(listed.offset)
}

/// Polls until `done` holds, for at most `limit`.
fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + limit;
    while !done()? {
        ensure!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// A transactional producer driven request by request, on its own
/// connection.
struct Producer {
    id: String,
    producer_id: i64,
    epoch: i16,
    topic: String,
    /// The next sequence of each partition.
    sequences: HashMap<i32, i32>,
    client: Client,
}

impl Producer {
    /// A new instance of transactional id `name` (unique to the test on an
    /// external broker).
    fn init(broker: &Broker, name: &str, timeout_ms: i32) -> Result<Producer> {
        let id = broker.name(name);
        let mut client = broker.connect()?;
        let response = init_when_ready(&mut client, &id, timeout_ms)?;
        ensure!(
            response.error_code == 0 && response.producer_id >= 0 && response.producer_epoch >= 0,
            "InitProducerId for {id}: {response:?}"
        );
        Ok(Producer {
            id,
            producer_id: response.producer_id,
            epoch: response.producer_epoch,
            topic: broker.topic(TOPIC),
            sequences: HashMap::new(),
            client,
        })
    }

    fn topics(&self, partitions: &[i32]) -> Vec<(String, Vec<i32>)> {
        vec![(self.topic.clone(), partitions.to_vec())]
    }

    /// AddPartitionsToTxn of `version` (0-3) for partitions of the topic:
    /// the error code of each.
    fn add_partitions_v(&mut self, version: i16, partitions: &[i32]) -> Result<Vec<i16>> {
        let request = txn::add_partitions_to_txn_request(
            version,
            51,
            &self.id,
            self.producer_id,
            self.epoch,
            &self.topics(partitions),
        );
        let response = txn::decode_add_partitions_to_txn_response(
            &self.client.round_trip(&request)?,
            version,
        )?;
        protocol::ensure_correlation(response.correlation_id, 51)?;
        partitions
            .iter()
            .map(|&p| {
                txn::partition_error(&response.results_by_topic, &self.topic, p)
                    .with_context(|| format!("no answer for partition {p}: {response:?}"))
            })
            .collect()
    }

    fn add_partitions(&mut self, partitions: &[i32]) -> Result<Vec<i16>> {
        self.add_partitions_v(3, partitions)
    }

    fn add(&mut self, partitions: &[i32]) -> Result<()> {
        let errors = self.add_partitions(partitions)?;
        ensure!(
            errors.iter().all(|&e| e == 0),
            "AddPartitionsToTxn {partitions:?}: {errors:?}"
        );
        Ok(())
    }

    /// The next batch of `values` to `partition`.
    fn batch(&self, partition: i32, values: &[&str]) -> RecordBatch {
        let sequence = self.sequences.get(&partition).copied().unwrap_or(0);
        RecordBatch::transactional(self.producer_id, self.epoch, sequence, values)
    }

    /// Produces a transactional batch with the transactional id set; the
    /// partition's sequence moves on when it is appended.
    fn produce(&mut self, partition: i32, values: &[&str]) -> Result<ProducedPartition> {
        let batch = self.batch(partition, values);
        let topic = self.topic.clone();
        let produced = produce_batch(&mut self.client, &topic, partition, Some(&self.id), &batch)?;
        if produced.error_code == 0 {
            *self.sequences.entry(partition).or_default() += values.len() as i32;
        }
        Ok(produced)
    }

    /// Produces and checks that the batch was appended: its base offset.
    fn append(&mut self, partition: i32, values: &[&str]) -> Result<i64> {
        let produced = self.produce(partition, values)?;
        ensure!(
            produced.error_code == 0,
            "transactional produce to {partition}: {produced:?}"
        );
        Ok(produced.base_offset)
    }

    fn end_v(&mut self, version: i16, commit: bool) -> Result<i16> {
        let request =
            txn::end_txn_request(version, 61, &self.id, self.producer_id, self.epoch, commit);
        let response = txn::decode_error_response(&self.client.round_trip(&request)?, version)?;
        protocol::ensure_correlation(response.correlation_id, 61)?;
        Ok(response.error_code)
    }

    fn end(&mut self, commit: bool) -> Result<i16> {
        self.end_v(3, commit)
    }

    fn commit(&mut self) -> Result<()> {
        let error = self.end(true)?;
        ensure!(error == 0, "EndTxn commit: {error}");
        Ok(())
    }

    fn abort(&mut self) -> Result<()> {
        let error = self.end(false)?;
        ensure!(error == 0, "EndTxn abort: {error}");
        Ok(())
    }

    fn add_offsets(&mut self, group_id: &str) -> Result<i16> {
        let request = txn::add_offsets_to_txn_request(
            3,
            71,
            &self.id,
            self.producer_id,
            self.epoch,
            group_id,
        );
        let response = txn::decode_error_response(&self.client.round_trip(&request)?, 3)?;
        protocol::ensure_correlation(response.correlation_id, 71)?;
        Ok(response.error_code)
    }

    /// TxnOffsetCommit v3 of `offsets` (partition, offset) of the topic,
    /// outside the group (generation -1, no member id): the error of each.
    fn commit_offsets(&mut self, group_id: &str, offsets: &[(i32, i64)]) -> Result<Vec<i16>> {
        self.commit_offsets_as(group_id, -1, "", offsets)
    }

    /// TxnOffsetCommit v3 as the consumer `member_id` of `generation_id`
    /// (KIP-447).
    fn commit_offsets_as(
        &mut self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        offsets: &[(i32, i64)],
    ) -> Result<Vec<i16>> {
        let request = TxnOffsetCommitRequest {
            transactional_id: self.id.clone(),
            group_id: group_id.to_string(),
            producer_id: self.producer_id,
            producer_epoch: self.epoch,
            generation_id,
            member_id: member_id.to_string(),
            group_instance_id: None,
            topics: vec![(
                self.topic.clone(),
                offsets
                    .iter()
                    .map(|&(p, o)| TxnOffsetCommitPartition::new(p, o))
                    .collect(),
            )],
        };
        let response = txn::decode_txn_offset_commit_response(
            &self
                .client
                .round_trip(&txn::txn_offset_commit_request(81, &request))?,
        )?;
        protocol::ensure_correlation(response.correlation_id, 81)?;
        offsets
            .iter()
            .map(|&(p, _)| {
                txn::partition_error(&response.topics, &self.topic, p)
                    .with_context(|| format!("no answer for partition {p}: {response:?}"))
            })
            .collect()
    }
}

/// Reads a partition from 0 as a consumer of `isolation_level` can.
fn read(
    client: &mut Client,
    broker: &Broker,
    partition: i32,
    isolation_level: i8,
) -> Result<FetchedLog> {
    txn::fetch_log(
        client,
        broker.topic_id(TOPIC),
        partition,
        0,
        isolation_level,
    )
}

/// The partition's markers as (offset, producer id, commit).
fn markers_of(log: &FetchedLog) -> Result<Vec<(i64, i64, bool)>> {
    Ok(log
        .markers()?
        .iter()
        .map(|m| (m.offset, m.producer_id, m.commit))
        .collect())
}

// -------------------------------------------------------- commit and abort

#[test]
fn a_committed_transaction_is_read_once_its_commit_marker_is_written() -> Result<()> {
    let broker = start()?;
    let topic = broker.topic(TOPIC);
    let mut c = broker.connect()?;

    // The transaction coordinator is this broker.
    let id = broker.name("txn");
    let raw = c.round_trip(&groups::find_coordinator_request(
        1,
        groups::KEY_TYPE_TRANSACTION,
        &[&id],
    ))?;
    let found = groups::decode_find_coordinator_response(&raw)?;
    let node = broker.node_id()?;
    ensure!(
        found.coordinators.len() == 1
            && found.coordinators.iter().all(|co| (
                co.key.as_str(),
                co.error_code,
                co.node_id,
                co.host.as_str(),
                co.port
            ) == (
                id.as_str(),
                0,
                node,
                broker.host().as_str(),
                i32::from(broker.port())
            )),
        "FindCoordinator(transaction): {found:?}"
    );

    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    ensure!(
        p.epoch == 0,
        "a new transactional id starts at epoch 0: {}",
        p.epoch
    );
    let before = c.produce(&topic, 0, RecordBatch::plain(&["before"]).encode())?;
    ensure!(
        (before.error_code, before.base_offset) == (0, 0),
        "{before:?}"
    );

    p.add(&[0])?;
    let offset = p.append(0, &["t1", "t2"])?;
    ensure!(
        offset == 1,
        "the transaction's batch at {offset}, expected 1"
    );

    // Open: READ_COMMITTED stops at the batch, READ_UNCOMMITTED reads it.
    let open = txn::fetch_partition(&mut c, broker.topic_id(TOPIC), 0, 0, READ_COMMITTED)?;
    ensure!(
        (open.high_watermark, open.last_stable_offset) == (3, 1),
        "while open: high watermark {} and last stable offset {}, expected 3 and 1",
        open.high_watermark,
        open.last_stable_offset
    );
    let seen = txn::data_records(&open.batches()?);
    ensure!(
        values(&seen) == ["before"],
        "READ_COMMITTED while open: {:?}",
        values(&seen)
    );
    let at_lso = txn::fetch_partition(&mut c, broker.topic_id(TOPIC), 0, 1, READ_COMMITTED)?;
    ensure!(
        at_lso.batches()?.is_empty(),
        "READ_COMMITTED from the last stable offset returned {:?}",
        values(&txn::data_records(&at_lso.batches()?))
    );
    let uncommitted = read(&mut c, &broker, 0, READ_UNCOMMITTED)?;
    ensure!(
        values(&uncommitted.data_records()) == ["before", "t1", "t2"],
        "READ_UNCOMMITTED while open: {:?}",
        values(&uncommitted.data_records())
    );
    let sent = &uncommitted.batches[1].batch;
    ensure!(
        sent.attributes & batch::TRANSACTIONAL_FLAG != 0
            && (sent.producer_id, sent.producer_epoch, sent.base_sequence) == (p.producer_id, 0, 0),
        "the stored transactional batch: {sent:?}"
    );
    ensure!(uncommitted.markers()?.is_empty(), "a marker before EndTxn");

    p.commit()?;
    let committed = read(&mut c, &broker, 0, READ_COMMITTED)?;
    ensure!(
        values(&committed.committed_records()?) == ["before", "t1", "t2"],
        "READ_COMMITTED after the commit: {:?}",
        values(&committed.committed_records()?)
    );
    ensure!(
        markers_of(&committed)? == [(3, p.producer_id, true)],
        "a COMMIT marker right after the batch: {:?}",
        committed.markers()?
    );
    let marker = committed.markers()?[0];
    ensure!(
        marker.producer_epoch == 0 && marker.coordinator_epoch >= 0,
        "{marker:?}"
    );
    ensure!(
        (committed.high_watermark, committed.last_stable_offset) == (4, 4),
        "after the commit: high watermark {} and last stable offset {}, expected 4 and 4",
        committed.high_watermark,
        committed.last_stable_offset
    );
    ensure!(
        committed.aborted_transactions.is_empty(),
        "{:?}",
        committed.aborted_transactions
    );
    Ok(())
}

#[test]
fn an_aborted_transaction_is_skipped_through_the_aborted_list_and_the_txnindex() -> Result<()> {
    let mut broker = start()?;
    let topic = broker.topic(TOPIC);
    let mut c = broker.connect()?;
    let before = c.produce(&topic, 0, RecordBatch::plain(&["before"]).encode())?;
    ensure!(before.error_code == 0, "{before:?}");
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    p.add(&[0])?;
    ensure!(p.append(0, &["x1", "x2"])? == 1);
    p.abort()?;
    let after = c.produce(&topic, 0, RecordBatch::plain(&["after"]).encode())?;
    ensure!((after.error_code, after.base_offset) == (0, 4), "{after:?}");

    let check = |broker: &Broker, c: &mut Client, when: &str| -> Result<()> {
        let log = read(c, broker, 0, READ_COMMITTED)?;
        ensure!(
            log.aborted_transactions == [(p.producer_id, 1)],
            "{when}: aborted transactions {:?}, expected [({}, 1)]",
            log.aborted_transactions,
            p.producer_id
        );
        ensure!(
            values(&log.data_records()) == ["before", "x1", "x2", "after"],
            "{when}: READ_COMMITTED returns the aborted batch for the consumer to skip: {:?}",
            values(&log.data_records())
        );
        ensure!(
            markers_of(&log)? == [(3, p.producer_id, false)],
            "{when}: an ABORT marker after the batch: {:?}",
            log.markers()?
        );
        let committed = log.committed_records()?;
        ensure!(
            values(&committed) == ["before", "after"] && offsets(&committed) == [0, 4],
            "{when}: a consumer reads {:?} at {:?}",
            values(&committed),
            offsets(&committed)
        );
        ensure!(
            (log.high_watermark, log.last_stable_offset) == (5, 5),
            "{when}: high watermark {}, last stable offset {}",
            log.high_watermark,
            log.last_stable_offset
        );
        Ok(())
    };
    check(&broker, &mut c, "after the abort")?;

    or_skip!(broker.stop());
    let expected = txn::AbortedTxnEntry {
        producer_id: p.producer_id,
        first_offset: 1,
        last_offset: 3,
        last_stable_offset: 4,
    };
    let dir = broker.log_dir().join(format!("{topic}-0"));
    let indexed = |when: &str| -> Result<()> {
        let entries: Vec<txn::AbortedTxnEntry> = txn::read_txn_indexes(&dir)?
            .into_iter()
            .flat_map(|(_, entries)| entries)
            .collect();
        ensure!(
            entries == [expected],
            "the .txnindex files of {} {when}: {entries:?}, expected [{expected:?}]",
            dir.display()
        );
        Ok(())
    };
    indexed("after a clean stop")?;
    broker.start_again()?;
    let mut c = broker.connect()?;
    check(&broker, &mut c, "after a clean restart")?;
    indexed("after the restart")?;
    Ok(())
}

#[test]
fn list_offsets_read_committed_answers_the_last_stable_offset() -> Result<()> {
    let broker = start()?;
    let topic = broker.topic(TOPIC);
    let mut c = broker.connect()?;
    ensure!(
        c.produce(&topic, 0, RecordBatch::plain(&["a"]).encode())?
            .error_code
            == 0
    );
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    p.add(&[0])?;
    ensure!(p.append(0, &["b", "c"])? == 1);
    ensure!(
        c.produce(&topic, 0, RecordBatch::plain(&["d"]).encode())?
            .error_code
            == 0
    );
    let listed = |c: &mut Client, partition| -> Result<(i64, i64)> {
        Ok((
            latest_offset(c, &topic, partition, READ_UNCOMMITTED)?,
            latest_offset(c, &topic, partition, READ_COMMITTED)?,
        ))
    };
    ensure!(
        listed(&mut c, 0)? == (4, 1),
        "while open (uncommitted, committed): {:?}, expected (4, 1)",
        listed(&mut c, 0)?
    );
    ensure!(listed(&mut c, 1)? == (0, 0), "{:?}", listed(&mut c, 1)?);
    p.commit()?;
    ensure!(
        listed(&mut c, 0)? == (5, 5),
        "after the commit: {:?}, expected (5, 5)",
        listed(&mut c, 0)?
    );
    Ok(())
}

// ---------------------------------------------------------------- errors

#[test]
fn init_producer_id_rejects_a_timeout_above_transaction_max_timeout_ms() -> Result<()> {
    let broker = or_skip!(start_with(&[("transaction.max.timeout.ms", "5000")]));
    let mut c = broker.connect()?;
    let id = broker.name("txn");
    for (version, timeout) in [(4, 5001), (1, 5001), (4, 0)] {
        let response = txn::decode_init_producer_id_response(
            &c.round_trip(&txn::init_producer_id_request(
                version,
                1,
                Some(&id),
                timeout,
                -1,
                -1,
            ))?,
            version,
        )?;
        ensure!(
            (
                response.error_code,
                response.producer_id,
                response.producer_epoch
            ) == (INVALID_TRANSACTION_TIMEOUT, -1, -1),
            "v{version} with a timeout of {timeout} ms: {response:?}"
        );
    }
    let ok = init_producer_id(&mut c, Some(&id), 5000)?;
    ensure!(ok.error_code == 0 && ok.producer_epoch == 0, "{ok:?}");
    Ok(())
}

#[test]
fn add_partitions_to_txn_checks_the_producer_id_and_epoch() -> Result<()> {
    let broker = start()?;
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    let (producer_id, epoch) = (p.producer_id, p.epoch);

    p.epoch = epoch + 1;
    for (version, expected) in [
        (3, PRODUCER_FENCED),
        (2, PRODUCER_FENCED),
        (1, INVALID_PRODUCER_EPOCH),
        (0, INVALID_PRODUCER_EPOCH),
    ] {
        let errors = p.add_partitions_v(version, &[0, 1])?;
        ensure!(
            errors == [expected, expected],
            "v{version} with another epoch: {errors:?}, expected {expected} for both"
        );
    }
    p.epoch = epoch;
    p.producer_id = producer_id + 1;
    let errors = p.add_partitions(&[0])?;
    ensure!(
        errors == [INVALID_PRODUCER_ID_MAPPING],
        "another producer id: {errors:?}"
    );
    p.producer_id = producer_id;
    let real_id = std::mem::replace(&mut p.id, broker.name("never-initialized"));
    let errors = p.add_partitions(&[0])?;
    ensure!(
        errors == [INVALID_PRODUCER_ID_MAPPING],
        "an unknown transactional id: {errors:?}"
    );
    p.id = real_id;

    let described = describe(&mut p.client, &p.id.clone())?;
    ensure!(
        described.transaction_state == "Empty" && described.topics.is_empty(),
        "rejected requests added nothing: {described:?}"
    );
    p.add(&[0, 1])?;
    let described = describe(&mut p.client, &p.id.clone())?;
    let topic = broker.topic(TOPIC);
    ensure!(
        described.transaction_state == "Ongoing"
            && described.partitions() == BTreeSet::from([(topic.clone(), 0), (topic, 1)]),
        "{described:?}"
    );
    Ok(())
}

#[test]
fn add_partitions_to_txn_with_an_unknown_partition_adds_nothing() -> Result<()> {
    let broker = start()?;
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    let topic = broker.topic(TOPIC);
    let missing = broker.topic("missing");
    let topics = vec![(topic.clone(), vec![0, 1, 7]), (missing.clone(), vec![0])];
    let response = txn::decode_add_partitions_to_txn_response(
        &p.client.round_trip(&txn::add_partitions_to_txn_request(
            3,
            1,
            &p.id,
            p.producer_id,
            p.epoch,
            &topics,
        ))?,
        3,
    )?;
    let results = &response.results_by_topic;
    let got = [
        txn::partition_error(results, &topic, 0),
        txn::partition_error(results, &topic, 1),
        txn::partition_error(results, &topic, 7),
        txn::partition_error(results, &missing, 0),
    ];
    let expected = [
        Some(OPERATION_NOT_ATTEMPTED),
        Some(OPERATION_NOT_ATTEMPTED),
        Some(UNKNOWN_TOPIC_OR_PARTITION),
        Some(UNKNOWN_TOPIC_OR_PARTITION),
    ];
    ensure!(
        got == expected,
        "{topic}-0, {topic}-1, {topic}-7, {missing}-0: {got:?}, expected {expected:?}"
    );
    let described = describe(&mut p.client, &p.id.clone())?;
    ensure!(
        described.transaction_state == "Empty" && described.topics.is_empty(),
        "nothing was added: {described:?}"
    );
    // Nothing was added, so a batch is refused.
    let produced = p.produce(0, &["x"])?;
    ensure!(produced.error_code == INVALID_TXN_STATE, "{produced:?}");
    Ok(())
}

#[test]
fn end_txn_without_an_open_transaction_is_an_invalid_state() -> Result<()> {
    let broker = start()?;
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    for commit in [true, false] {
        let error = p.end(commit)?;
        ensure!(
            error == INVALID_TXN_STATE,
            "EndTxn (commit {commit}) with nothing open: {error}"
        );
    }
    let epoch = p.epoch;
    p.epoch = epoch + 1;
    ensure!(p.end_v(3, true)? == PRODUCER_FENCED, "another epoch, v3");
    ensure!(
        p.end_v(1, true)? == INVALID_PRODUCER_EPOCH,
        "another epoch, v1"
    );
    p.epoch = epoch;
    p.producer_id += 1;
    ensure!(
        p.end(true)? == INVALID_PRODUCER_ID_MAPPING,
        "another producer id"
    );
    p.producer_id -= 1;
    p.id = broker.name("never-initialized");
    ensure!(
        p.end(true)? == INVALID_PRODUCER_ID_MAPPING,
        "an unknown transactional id"
    );
    Ok(())
}

#[test]
fn end_txn_retried_after_the_transaction_ended_repeats_its_answer() -> Result<()> {
    let broker = start()?;
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    p.add(&[0])?;
    p.append(0, &["committed"])?;
    p.commit()?;
    ensure!(p.end(true)? == 0, "a retried commit succeeds");
    ensure!(
        p.end(false)? == INVALID_TXN_STATE,
        "an abort after a commit is invalid"
    );

    p.add(&[0])?;
    p.append(0, &["aborted"])?;
    p.abort()?;
    ensure!(p.end(false)? == 0, "a retried abort succeeds");
    ensure!(
        p.end(true)? == INVALID_TXN_STATE,
        "a commit after an abort is invalid"
    );

    // The retries wrote no markers.
    let mut c = broker.connect()?;
    let log = read(&mut c, &broker, 0, READ_COMMITTED)?;
    ensure!(
        markers_of(&log)? == [(1, p.producer_id, true), (3, p.producer_id, false)],
        "{:?}",
        log.markers()?
    );
    ensure!(values(&log.committed_records()?) == ["committed"]);
    Ok(())
}

#[test]
fn a_new_instance_fences_the_old_one_and_aborts_its_transaction() -> Result<()> {
    let broker = start()?;
    let mut old = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    old.add(&[0])?;
    ensure!(old.append(0, &["from-old"])? == 0);

    let mut c = broker.connect()?;
    let first = init_producer_id(&mut c, Some(&old.id), TIMEOUT_MS)?;
    ensure!(
        first.error_code == CONCURRENT_TRANSACTIONS,
        "InitProducerId while a transaction is open: {first:?}"
    );
    let retried = init_when_ready(&mut c, &old.id, TIMEOUT_MS)?;
    ensure!(
        retried.error_code == 0
            && retried.producer_id == old.producer_id
            && retried.producer_epoch > old.epoch,
        "the retried InitProducerId: {retried:?} (the old instance had epoch {})",
        old.epoch
    );

    // The open transaction was aborted.
    let log = read(&mut c, &broker, 0, READ_COMMITTED)?;
    ensure!(
        markers_of(&log)? == [(1, old.producer_id, false)],
        "{:?}",
        log.markers()?
    );
    ensure!(
        log.aborted_transactions == [(old.producer_id, 0)]
            && log.committed_records()?.is_empty()
            && log.last_stable_offset == log.high_watermark,
        "{log:?}"
    );
    ensure!(
        log.markers()?[0].producer_epoch > old.epoch,
        "the abort fences with a bumped epoch: {:?}",
        log.markers()?
    );

    // The old instance is fenced.
    ensure!(
        old.add_partitions(&[1])? == [PRODUCER_FENCED],
        "the old instance's AddPartitionsToTxn"
    );
    ensure!(
        old.end(true)? == PRODUCER_FENCED,
        "the old instance's EndTxn"
    );
    let produced = old.produce(0, &["late"])?;
    ensure!(
        produced.error_code == INVALID_PRODUCER_EPOCH,
        "the old instance's Produce: {produced:?}"
    );

    // The new one works.
    let mut new = Producer {
        producer_id: retried.producer_id,
        epoch: retried.producer_epoch,
        sequences: HashMap::new(),
        client: broker.connect()?,
        id: old.id.clone(),
        topic: old.topic.clone(),
    };
    new.add(&[0])?;
    new.append(0, &["from-new"])?;
    new.commit()?;
    let log = read(&mut c, &broker, 0, READ_COMMITTED)?;
    ensure!(
        values(&log.committed_records()?) == ["from-new"],
        "{:?}",
        values(&log.committed_records()?)
    );
    Ok(())
}

#[test]
fn a_transactional_batch_to_a_partition_outside_the_transaction_is_rejected() -> Result<()> {
    let broker = start()?;
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    let produced = p.produce(0, &["before-any-add"])?;
    ensure!(
        produced.error_code == INVALID_TXN_STATE,
        "nothing added yet: {produced:?}"
    );
    p.add(&[0])?;
    let produced = p.produce(1, &["not-added"])?;
    ensure!(
        produced.error_code == INVALID_TXN_STATE,
        "partition 1 was not added: {produced:?}"
    );
    p.append(0, &["added"])?;
    let mut c = broker.connect()?;
    ensure!(
        read(&mut c, &broker, 1, READ_UNCOMMITTED)?
            .batches
            .is_empty()
    );
    Ok(())
}

#[test]
fn a_plain_batch_from_a_producer_with_an_open_transaction_is_rejected() -> Result<()> {
    let broker = start()?;
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    p.add(&[0])?;
    p.append(0, &["t1", "t2"])?;
    let topic = p.topic.clone();
    let plain = RecordBatch::idempotent(p.producer_id, p.epoch, 2, &["plain"]);
    for transactional_id in [None, Some(p.id.clone())] {
        let produced = produce_batch(
            &mut p.client,
            &topic,
            0,
            transactional_id.as_deref(),
            &plain,
        )?;
        ensure!(
            produced.error_code == INVALID_TXN_STATE,
            "a non-transactional batch (transactional id {transactional_id:?}): {produced:?}"
        );
    }
    p.append(0, &["t3"])?;
    p.commit()?;
    let mut c = broker.connect()?;
    let log = read(&mut c, &broker, 0, READ_COMMITTED)?;
    ensure!(values(&log.committed_records()?) == ["t1", "t2", "t3"]);
    Ok(())
}

#[test]
fn a_transactional_batch_without_a_transactional_id_is_refused() -> Result<()> {
    let broker = start()?;
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    p.add(&[0])?;
    let topic = p.topic.clone();
    let batch = p.batch(0, &["x"]);
    let produced = produce_batch(&mut p.client, &topic, 0, None, &batch)?;
    ensure!(
        produced.error_code == TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        "{produced:?}"
    );
    Ok(())
}

#[test]
fn a_transactional_batch_of_an_unknown_transactional_id_is_an_invalid_mapping() -> Result<()> {
    let broker = start()?;
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    p.add(&[0])?;
    p.id = broker.name("never-initialized");
    let produced = p.produce(0, &["x"])?;
    ensure!(
        produced.error_code == INVALID_PRODUCER_ID_MAPPING,
        "{produced:?}"
    );
    Ok(())
}

#[test]
fn a_transaction_past_its_timeout_is_aborted_and_its_producer_fenced() -> Result<()> {
    let broker = or_skip!(start_with(&[(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        "200"
    )]));
    let mut p = Producer::init(&broker, "txn", 1000)?;
    p.add(&[0])?;
    p.append(0, &["abandoned"])?;
    let mut c = broker.connect()?;
    let started = Instant::now();
    let mut last = None;
    wait_for(
        Duration::from_secs(15),
        "the timed out transaction aborted",
        || {
            let described = describe(&mut c, &p.id)?;
            let done = described.transaction_state == "CompleteAbort";
            last = Some(described);
            Ok(done)
        },
    )
    .with_context(|| format!("last described: {last:?}"))?;
    ensure!(
        started.elapsed() >= Duration::from_millis(500),
        "aborted after {:?}, before its 1000 ms timeout",
        started.elapsed()
    );
    let described = last.unwrap();
    ensure!(
        p.epoch < described.producer_epoch && described.topics.is_empty(),
        "the abort bumps the epoch: {described:?}"
    );

    ensure!(
        p.end(true)? == PRODUCER_FENCED,
        "EndTxn of the fenced producer"
    );
    ensure!(p.add_partitions(&[0])? == [PRODUCER_FENCED]);
    let produced = p.produce(0, &["late"])?;
    ensure!(
        produced.error_code == INVALID_PRODUCER_EPOCH,
        "{produced:?}"
    );
    let log = read(&mut c, &broker, 0, READ_COMMITTED)?;
    ensure!(
        markers_of(&log)? == [(1, p.producer_id, false)]
            && log.committed_records()?.is_empty()
            && log.last_stable_offset == 2,
        "{log:?}"
    );
    Ok(())
}

// -------------------------------------------------------- offsets (KIP-447)

/// The group's committed offsets of partitions 0 and 1: (offset, error) of
/// each.
fn group_offsets(
    c: &mut Client,
    topic: &str,
    group: &str,
    require_stable: bool,
) -> Result<[(i64, i16); 2]> {
    let request = [OffsetFetchGroup::new(
        group,
        Some(vec![(topic.to_string(), vec![0, 1])]),
    )];
    let response = groups::decode_offset_fetch_response(
        &c.round_trip(&groups::offset_fetch_request(5, &request, require_stable))?,
    )?;
    let fetched = response
        .group(group)
        .with_context(|| format!("{group} missing: {response:?}"))?;
    ensure!(fetched.error_code == 0, "{fetched:?}");
    let of = |p| -> Result<(i64, i16)> {
        let o = fetched
            .partition(topic, p)
            .with_context(|| format!("{topic}-{p} missing: {fetched:?}"))?;
        Ok((o.committed_offset, o.error_code))
    };
    Ok([of(0)?, of(1)?])
}

#[test]
fn transactional_offsets_are_committed_with_their_transaction() -> Result<()> {
    let mut broker = start()?;
    let topic = broker.topic(TOPIC);
    let group = broker.name("g");
    let mut c = broker.connect()?;
    let found = groups::decode_find_coordinator_response(&c.round_trip(
        &groups::find_coordinator_request(1, groups::KEY_TYPE_GROUP, &[&group]),
    )?)?;
    ensure!(found.coordinators[0].error_code == 0, "{found:?}");

    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    ensure!(p.add_offsets(&group)? == 0, "AddOffsetsToTxn");
    let described = describe(&mut c, &p.id)?;
    ensure!(
        described.transaction_state == "Ongoing"
            && described.topics.len() == 1
            && described.topics[0].0 == "__consumer_offsets",
        "the group's partition of __consumer_offsets joins: {described:?}"
    );
    let errors = p.commit_offsets(&group, &[(0, 10), (1, 20)])?;
    ensure!(errors == [0, 0], "TxnOffsetCommit: {errors:?}");
    let stable = group_offsets(&mut c, &topic, &group, true)?;
    ensure!(
        stable == [(-1, UNSTABLE_OFFSET_COMMIT), (-1, UNSTABLE_OFFSET_COMMIT)],
        "require_stable while pending: {stable:?}"
    );
    let unstable = group_offsets(&mut c, &topic, &group, false)?;
    ensure!(
        unstable == [(-1, 0), (-1, 0)],
        "without require_stable the previous offsets: {unstable:?}"
    );
    p.commit()?;
    for require_stable in [true, false] {
        let offsets = group_offsets(&mut c, &topic, &group, require_stable)?;
        ensure!(
            offsets == [(10, 0), (20, 0)],
            "after the commit (require_stable {require_stable}): {offsets:?}"
        );
    }

    // An aborted transaction's offsets never show.
    ensure!(p.add_offsets(&group)? == 0);
    ensure!(p.commit_offsets(&group, &[(0, 99)])? == [0]);
    ensure!(group_offsets(&mut c, &topic, &group, true)?[0] == (-1, UNSTABLE_OFFSET_COMMIT));
    p.abort()?;
    let offsets = group_offsets(&mut c, &topic, &group, true)?;
    ensure!(
        offsets == [(10, 0), (20, 0)],
        "after the abort: {offsets:?}"
    );

    // Nor after a restart, which reads __consumer_offsets again.
    or_skip!(broker.restart_after_stop());
    let mut c = broker.connect()?;
    let offsets = group_offsets(&mut c, &topic, &group, true)?;
    ensure!(
        offsets == [(10, 0), (20, 0)],
        "after a restart: {offsets:?}"
    );
    Ok(())
}

/// Joins `group` as its only member: (member id, generation).
fn join_alone(c: &mut Client, group: &str, topic: &str) -> Result<(String, i32)> {
    let subscription = groups::ConsumerSubscription::new(&[topic]).encode();
    let mut request =
        groups::JoinGroupRequest::new(group, "", vec![("range".into(), subscription)]);
    let first = groups::decode_join_group_response(
        &c.round_trip(&groups::join_group_request(1, &request))?,
    )?;
    ensure!(
        first.error_code == groups::error::MEMBER_ID_REQUIRED,
        "{first:?}"
    );
    request.member_id = first.member_id;
    let joined = groups::decode_join_group_response(
        &c.round_trip(&groups::join_group_request(2, &request))?,
    )?;
    ensure!(joined.error_code == 0, "{joined:?}");
    let mut sync = groups::SyncGroupRequest::new(group, joined.generation_id, &joined.member_id);
    sync.assignments = vec![(joined.member_id.clone(), Vec::new())];
    let synced =
        groups::decode_sync_group_response(&c.round_trip(&groups::sync_group_request(3, &sync))?)?;
    ensure!(synced.error_code == 0, "{synced:?}");
    Ok((joined.member_id, joined.generation_id))
}

#[test]
fn txn_offset_commit_checks_the_consumers_member_id_and_generation() -> Result<()> {
    let broker = Broker::on_fixture_tuned(
        &topics(),
        &[
            TUNING[0],
            TUNING[1],
            ("group.initial.rebalance.delay.ms", "0"),
        ],
    )?;
    let topic = broker.topic(TOPIC);
    let group = broker.name("g");
    let mut consumer = broker.connect()?;
    let (member, generation) = join_alone(&mut consumer, &group, &topic)?;
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    ensure!(p.add_offsets(&group)? == 0, "AddOffsetsToTxn");
    let errors = p.commit_offsets_as(&group, generation + 1, &member, &[(0, 5)])?;
    ensure!(
        errors == [groups::error::ILLEGAL_GENERATION],
        "another generation: {errors:?}"
    );
    let errors = p.commit_offsets_as(&group, generation, "someone-else", &[(0, 5)])?;
    ensure!(
        errors == [groups::error::UNKNOWN_MEMBER_ID],
        "an unknown member: {errors:?}"
    );
    let errors = p.commit_offsets_as(&group, generation, &member, &[(0, 5), (1, 6)])?;
    ensure!(errors == [0, 0], "the member's own generation: {errors:?}");
    p.commit()?;
    let offsets = group_offsets(&mut consumer, &topic, &group, true)?;
    ensure!(offsets == [(5, 0), (6, 0)], "after the commit: {offsets:?}");
    Ok(())
}

// ---------------------------------------------------------------- admin

#[test]
fn describe_transactions_reports_states_and_partitions() -> Result<()> {
    let broker = start()?;
    let topic = broker.topic(TOPIC);
    let mut open = Producer::init(&broker, "open", TIMEOUT_MS)?;
    open.add(&[0, 1])?;
    open.append(1, &["x"])?;
    let mut done = Producer::init(&broker, "done", 30_000)?;
    done.add(&[0])?;
    done.append(0, &["y"])?;
    done.commit()?;
    let unknown = broker.name("unknown");
    let mut c = broker.connect()?;
    let described = describe_all(&mut c, &[&open.id, &done.id, &unknown])?;

    let o = &described[0];
    ensure!(
        (
            o.error_code,
            o.transactional_id.as_str(),
            o.transaction_state.as_str()
        ) == (0, open.id.as_str(), "Ongoing")
            && (o.producer_id, o.producer_epoch, o.transaction_timeout_ms)
                == (open.producer_id, 0, TIMEOUT_MS)
            && o.transaction_start_time_ms > 0
            && o.partitions() == BTreeSet::from([(topic.clone(), 0), (topic.clone(), 1)]),
        "the open transaction: {o:?}"
    );
    let d = &described[1];
    ensure!(
        (
            d.error_code,
            d.transaction_state.as_str(),
            d.transaction_timeout_ms
        ) == (0, "CompleteCommit", 30_000)
            && d.producer_id == done.producer_id
            && d.topics.is_empty(),
        "the committed transaction: {d:?}"
    );
    let u = &described[2];
    ensure!(
        u.error_code == TRANSACTIONAL_ID_NOT_FOUND && u.transactional_id == unknown,
        "an unknown transactional id: {u:?}"
    );
    Ok(())
}

#[test]
fn list_transactions_filters_by_state_producer_and_duration() -> Result<()> {
    let broker = start()?;
    let mut open = Producer::init(&broker, "open", TIMEOUT_MS)?;
    open.add(&[0])?;
    open.append(0, &["x"])?;
    let mut done = Producer::init(&broker, "done", TIMEOUT_MS)?;
    done.add(&[1])?;
    done.append(1, &["y"])?;
    done.commit()?;
    let empty = Producer::init(&broker, "empty", TIMEOUT_MS)?;
    let ours = [open.id.as_str(), done.id.as_str(), empty.id.as_str()];
    let mut c = broker.connect()?;
    let mut list = |version: i16, states: &[&str], producers: &[i64], duration: i64| {
        let response = txn::decode_list_transactions_response(&c.round_trip(
            &txn::list_transactions_request(version, 3, states, producers, duration),
        )?)?;
        protocol::ensure_correlation(response.correlation_id, 3)?;
        ensure!(response.error_code == 0, "{response:?}");
        anyhow::Ok(response)
    };
    let only_ours = |response: &txn::ListTransactionsResponse| -> Vec<String> {
        response
            .ids()
            .into_iter()
            .filter(|id| ours.contains(id))
            .map(str::to_string)
            .collect()
    };
    let sorted = |ids: &[&str]| {
        let mut ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        ids.sort();
        ids
    };

    let all = list(0, &[], &[], -1)?;
    ensure!(only_ours(&all) == sorted(&ours), "no filter: {all:?}");
    let states: HashMap<&str, &str> = all
        .transaction_states
        .iter()
        .map(|t| (t.transactional_id.as_str(), t.transaction_state.as_str()))
        .collect();
    ensure!(
        (states[ours[0]], states[ours[1]], states[ours[2]])
            == ("Ongoing", "CompleteCommit", "Empty"),
        "{states:?}"
    );
    let ongoing = list(0, &["Ongoing"], &[], -1)?;
    ensure!(
        only_ours(&ongoing) == [open.id.clone()] && ongoing.unknown_state_filters.is_empty(),
        "Ongoing: {ongoing:?}"
    );
    let two = list(1, &["CompleteCommit", "Empty"], &[], -1)?;
    ensure!(
        only_ours(&two) == sorted(&[&done.id, &empty.id]),
        "CompleteCommit and Empty: {two:?}"
    );
    let bogus = list(1, &["Bogus", "Ongoing"], &[], -1)?;
    ensure!(
        bogus.unknown_state_filters == ["Bogus"] && only_ours(&bogus) == [open.id.clone()],
        "an unknown state filter: {bogus:?}"
    );
    let by_producer = list(0, &[], &[done.producer_id], -1)?;
    ensure!(
        by_producer
            .transaction_states
            .iter()
            .all(|t| t.producer_id == done.producer_id)
            && only_ours(&by_producer) == [done.id.clone()],
        "producer id filter: {by_producer:?}"
    );
    std::thread::sleep(Duration::from_millis(20));
    let long = list(1, &["Ongoing"], &[], 3_600_000)?;
    ensure!(
        only_ours(&long).is_empty(),
        "running longer than an hour: {long:?}"
    );
    let short = list(1, &["Ongoing"], &[], 10)?;
    ensure!(
        only_ours(&short) == [open.id.clone()],
        "running longer than 10 ms: {short:?}"
    );
    Ok(())
}

#[test]
fn describe_producers_reports_the_open_transaction() -> Result<()> {
    let broker = start()?;
    let topic = broker.topic(TOPIC);
    let mut c = broker.connect()?;
    ensure!(
        c.produce(&topic, 0, RecordBatch::plain(&["plain"]).encode())?
            .error_code
            == 0
    );
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    p.add(&[0])?;
    ensure!(p.append(0, &["a", "b"])? == 1);
    let producers = |c: &mut Client| {
        let response = txn::decode_describe_producers_response(&c.round_trip(
            &txn::describe_producers_request(9, &[(topic.clone(), vec![0, 1, 9])]),
        )?)?;
        protocol::ensure_correlation(response.correlation_id, 9)?;
        let of = |p: i32| {
            response
                .partition(&topic, p)
                .cloned()
                .with_context(|| format!("partition {p} missing: {response:?}"))
        };
        anyhow::Ok((of(0)?, of(1)?, of(9)?))
    };
    let (p0, p1, p9) = producers(&mut c)?;
    ensure!(
        p0.error_code == 0 && p0.active_producers.len() == 1,
        "partition 0: {p0:?}"
    );
    let state = p0.active_producers[0];
    ensure!(
        (
            state.producer_id,
            state.producer_epoch,
            state.last_sequence,
            state.current_txn_start_offset
        ) == (p.producer_id, 0, 1, 1)
            && state.coordinator_epoch == -1,
        "while open: {state:?}"
    );
    ensure!(
        p1.error_code == 0 && p1.active_producers.is_empty(),
        "partition 1: {p1:?}"
    );
    ensure!(
        p9.error_code == UNKNOWN_TOPIC_OR_PARTITION,
        "partition 9: {p9:?}"
    );
    p.commit()?;
    let (p0, ..) = producers(&mut c)?;
    let [state] = p0.active_producers[..] else {
        bail!("after the commit: {p0:?}");
    };
    ensure!(
        (
            state.producer_id,
            state.producer_epoch,
            state.last_sequence,
            state.current_txn_start_offset
        ) == (p.producer_id, 0, 1, -1)
            && state.coordinator_epoch >= 0,
        "after the commit: {state:?}"
    );
    Ok(())
}

/// AddPartitionsToTxn v4 (as brokers send it) for `transactions`.
fn add_partitions_batched(
    c: &mut Client,
    transactions: &[AddPartitionsTransaction],
) -> Result<txn::AddPartitionsToTxnResponse> {
    let response = txn::decode_add_partitions_to_txn_response(
        &c.round_trip(&txn::add_partitions_to_txn_batched_request(
            4,
            5,
            transactions,
        ))?,
        4,
    )?;
    protocol::ensure_correlation(response.correlation_id, 5)?;
    ensure!(response.error_code == 0, "{response:?}");
    Ok(response)
}

fn batched(p: &Producer, verify_only: bool, partitions: &[i32]) -> AddPartitionsTransaction {
    AddPartitionsTransaction {
        transactional_id: p.id.clone(),
        producer_id: p.producer_id,
        producer_epoch: p.epoch,
        verify_only,
        topics: p.topics(partitions),
    }
}

#[test]
fn add_partitions_to_txn_verify_only_adds_nothing() -> Result<()> {
    let broker = start()?;
    let topic = broker.topic(TOPIC);
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    p.add(&[0])?;
    let mut unknown = batched(&p, true, &[0]);
    unknown.transactional_id = broker.name("unknown");
    let mut c = broker.connect()?;
    let response = add_partitions_batched(&mut c, &[batched(&p, true, &[0, 1]), unknown.clone()])?;
    let ours = response
        .transaction(&p.id)
        .with_context(|| format!("{response:?}"))?;
    let theirs = response
        .transaction(&unknown.transactional_id)
        .with_context(|| format!("{response:?}"))?;
    ensure!(
        txn::partition_error(ours, &topic, 0) == Some(0),
        "a partition in the transaction: {response:?}"
    );
    // INVALID_TXN_STATE up to Kafka 3.7, TRANSACTION_ABORTABLE since.
    ensure!(
        matches!(
            txn::partition_error(ours, &topic, 1),
            Some(INVALID_TXN_STATE | TRANSACTION_ABORTABLE)
        ),
        "a partition outside the transaction: {response:?}"
    );
    ensure!(
        txn::partition_error(theirs, &topic, 0) == Some(INVALID_PRODUCER_ID_MAPPING),
        "an unknown transactional id: {response:?}"
    );
    ensure!(
        describe(&mut c, &p.id)?.partitions() == BTreeSet::from([(topic.clone(), 0)]),
        "verification added a partition"
    );
    let added = add_partitions_batched(&mut c, &[batched(&p, false, &[1])])?;
    ensure!(
        txn::partition_error(added.transaction(&p.id).context("no answer")?, &topic, 1) == Some(0),
        "{added:?}"
    );
    ensure!(
        describe(&mut c, &p.id)?.partitions() == BTreeSet::from([(topic.clone(), 0), (topic, 1)])
    );
    Ok(())
}

#[test]
fn add_partitions_to_txn_verify_only_with_a_stale_epoch_is_fenced() -> Result<()> {
    let broker = start()?;
    let topic = broker.topic(TOPIC);
    let mut old = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    old.add(&[0])?;
    old.abort()?;
    let new = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    ensure!(new.epoch > old.epoch);
    let stale = batched(&old, true, &[0]);
    let response = add_partitions_batched(&mut old.client, &[stale])?;
    let results = response.transaction(&old.id).context("no answer")?;
    ensure!(
        txn::partition_error(results, &topic, 0) == Some(PRODUCER_FENCED),
        "{response:?}"
    );
    Ok(())
}

// ------------------------------------------------------------------ kills

#[test]
fn a_committed_transaction_survives_a_kill() -> Result<()> {
    or_skip!(own_broker_only("kills the broker"));
    let mut broker = start()?;
    let mut p = Producer::init(&broker, "txn", TIMEOUT_MS)?;
    p.add(&[0, 1])?;
    p.append(0, &["a0", "a1"])?;
    p.append(1, &["b0"])?;
    p.commit()?;
    broker.kill();
    broker.start_again()?;
    let mut c = broker.connect()?;
    for (partition, expected, marker_at) in [(0, vec!["a0", "a1"], 2), (1, vec!["b0"], 1)] {
        let log = read(&mut c, &broker, partition, READ_COMMITTED)?;
        ensure!(
            values(&log.committed_records()?) == expected
                && markers_of(&log)? == [(marker_at, p.producer_id, true)]
                && log.last_stable_offset == log.high_watermark
                && log.high_watermark == marker_at + 1,
            "partition {partition} after kill -9: {:?}, markers {:?}, LSO {} HW {}",
            values(&log.committed_records()?),
            log.markers()?,
            log.last_stable_offset,
            log.high_watermark
        );
    }
    ensure!(describe(&mut c, &p.id)?.transaction_state == "CompleteCommit");
    Ok(())
}

#[test]
fn a_transaction_open_at_a_kill_is_aborted_once_its_timeout_passes() -> Result<()> {
    let mut broker = or_skip!(start_with(&[(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        "200"
    )]));
    let topic = broker.topic(TOPIC);
    let mut p = Producer::init(&broker, "txn", 3000)?;
    p.add(&[0])?;
    ensure!(p.append(0, &["open"])? == 0);
    let mut c = broker.connect()?;
    ensure!(
        c.produce(&topic, 0, RecordBatch::plain(&["plain"]).encode())?
            .error_code
            == 0
    );
    broker.kill();
    broker.start_again()?;
    let mut c = broker.connect()?;
    let early = txn::fetch_partition(&mut c, broker.topic_id(TOPIC), 0, 0, READ_COMMITTED)?;
    let described = describe(&mut c, &p.id)?;
    if described.transaction_state == "Ongoing" {
        ensure!(
            (early.last_stable_offset, early.high_watermark) == (0, 2),
            "the open transaction still holds the last stable offset after the restart: {early:?}"
        );
    }
    wait_for(
        Duration::from_secs(15),
        "the last stable offset reaches the log end",
        || {
            let f = txn::fetch_partition(&mut c, broker.topic_id(TOPIC), 0, 0, READ_COMMITTED)?;
            Ok(f.last_stable_offset == f.high_watermark)
        },
    )?;
    let log = read(&mut c, &broker, 0, READ_COMMITTED)?;
    ensure!(
        values(&log.committed_records()?) == ["plain"]
            && markers_of(&log)? == [(2, p.producer_id, false)]
            && log.aborted_transactions == [(p.producer_id, 0)],
        "{log:?}"
    );
    ensure!(describe(&mut c, &p.id)?.transaction_state == "CompleteAbort");
    p.client = broker.connect()?;
    ensure!(
        p.end(true)? == PRODUCER_FENCED,
        "EndTxn of the fenced producer"
    );
    Ok(())
}

// ---------------------------------------------------------- property test

#[derive(Debug, Clone)]
enum Op {
    /// A batch of `count` records from the plain (idempotent) producer.
    Plain { partition: i32, count: usize },
    /// A batch from transactional producer `producer`, which adds the
    /// partition to its transaction first if need be.
    Txn {
        producer: usize,
        partition: i32,
        count: usize,
    },
    /// EndTxn; with nothing open it must answer as Kafka does.
    End { producer: usize, commit: bool },
    /// A graceful stop and start.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2i32, 1..=3usize).prop_map(|(partition, count)| Op::Plain { partition, count }),
        6 => (0..2usize, 0..2i32, 1..=3usize).prop_map(|(producer, partition, count)| Op::Txn {
            producer,
            partition,
            count
        }),
        4 => (0..2usize, any::<bool>()).prop_map(|(producer, commit)| Op::End { producer, commit }),
        1 => Just(Op::Restart),
    ]
}

/// Where a record is, and whose it is.
#[derive(Debug, Clone)]
struct ModelRecord {
    value: String,
    /// The transaction (by number) it was written in; `None` if plain.
    txn: Option<usize>,
}

#[derive(Debug, Default)]
struct ModelProducer {
    /// The open transaction (by number) and its partitions.
    open: Option<(usize, BTreeSet<i32>)>,
    /// How the last transaction ended.
    last_end: Option<bool>,
}

#[derive(Debug, Default)]
struct Model {
    logs: [Vec<ModelRecord>; 2],
    /// Per partition, the markers in log order: (producer index, commit).
    markers: [Vec<(usize, bool)>; 2],
    /// Per transaction number, whether it committed (once it ended).
    outcomes: Vec<Option<bool>>,
    producers: [ModelProducer; 2],
    next_value: usize,
}

impl Model {
    fn values(&mut self, count: usize) -> Vec<String> {
        (0..count)
            .map(|_| {
                self.next_value += 1;
                format!("v{}", self.next_value)
            })
            .collect()
    }

    fn committed(&self, partition: usize) -> Vec<String> {
        self.logs[partition]
            .iter()
            .filter(|r| r.txn.is_none_or(|t| self.outcomes[t] == Some(true)))
            .map(|r| r.value.clone())
            .collect()
    }

    fn all(&self, partition: usize) -> Vec<String> {
        self.logs[partition]
            .iter()
            .map(|r| r.value.clone())
            .collect()
    }
}

struct Run {
    broker: Broker,
    producers: Vec<Producer>,
    plain: (i64, i16, [i32; 2]),
    plain_client: Client,
    model: Model,
}

impl Run {
    fn start() -> Result<Run> {
        let broker = start()?;
        let producers = vec![
            Producer::init(&broker, "p0", TIMEOUT_MS)?,
            Producer::init(&broker, "p1", TIMEOUT_MS)?,
        ];
        let mut plain_client = broker.connect()?;
        let plain = init_producer_id(&mut plain_client, None, TIMEOUT_MS)?;
        ensure!(plain.error_code == 0, "{plain:?}");
        Ok(Run {
            broker,
            producers,
            plain: (plain.producer_id, plain.producer_epoch, [0, 0]),
            plain_client,
            model: Model::default(),
        })
    }

    fn apply(&mut self, op: &Op) -> Result<()> {
        match *op {
            Op::Plain { partition, count } => {
                let values = self.model.values(count);
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                let (id, epoch, sequences) = &mut self.plain;
                let batch =
                    RecordBatch::idempotent(*id, *epoch, sequences[partition as usize], &refs);
                let topic = self.broker.topic(TOPIC);
                let produced =
                    produce_batch(&mut self.plain_client, &topic, partition, None, &batch)?;
                ensure!(produced.error_code == 0, "plain produce: {produced:?}");
                sequences[partition as usize] += count as i32;
                self.model.logs[partition as usize].extend(
                    values
                        .into_iter()
                        .map(|value| ModelRecord { value, txn: None }),
                );
            }
            Op::Txn {
                producer,
                partition,
                count,
            } => {
                let values = self.model.values(count);
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                let next_txn = self.model.outcomes.len();
                let state = &mut self.model.producers[producer];
                let (number, partitions) = state
                    .open
                    .get_or_insert_with(|| (next_txn, BTreeSet::new()));
                if *number == next_txn {
                    self.model.outcomes.push(None);
                }
                let number = *number;
                let p = &mut self.producers[producer];
                if partitions.insert(partition) {
                    p.add(&[partition])?;
                }
                p.append(partition, &refs)?;
                self.model.logs[partition as usize].extend(values.into_iter().map(|value| {
                    ModelRecord {
                        value,
                        txn: Some(number),
                    }
                }));
            }
            Op::End { producer, commit } => {
                let error = self.producers[producer].end(commit)?;
                let state = &mut self.model.producers[producer];
                let expected = match (&state.open, state.last_end) {
                    (Some(_), _) => 0,
                    (None, Some(last)) if last == commit => 0,
                    (None, _) => INVALID_TXN_STATE,
                };
                ensure!(
                    error == expected,
                    "EndTxn (commit {commit}) of producer {producer} ({state:?}): {error}, expected {expected}"
                );
                if let Some((number, partitions)) = state.open.take() {
                    self.model.outcomes[number] = Some(commit);
                    for p in partitions {
                        self.model.markers[p as usize].push((producer, commit));
                    }
                    state.last_end = Some(commit);
                }
            }
            Op::Restart => {
                self.broker.restart_after_stop()?;
                for p in &mut self.producers {
                    p.client = self.broker.connect()?;
                }
                self.plain_client = self.broker.connect()?;
            }
        }
        Ok(())
    }

    fn check(&mut self) -> Result<()> {
        let mut c = self.broker.connect()?;
        for partition in 0..2 {
            let committed = read(&mut c, &self.broker, partition, READ_COMMITTED)?;
            ensure!(
                committed.last_stable_offset == committed.high_watermark,
                "partition {partition}: every transaction ended, yet LSO {} and HW {}",
                committed.last_stable_offset,
                committed.high_watermark
            );
            let got = values(&committed.committed_records()?);
            let expected = self.model.committed(partition as usize);
            ensure!(
                got == expected,
                "partition {partition} READ_COMMITTED: {got:?}, expected {expected:?}"
            );
            let markers: Vec<(i64, bool)> = committed
                .markers()?
                .iter()
                .map(|m| (m.producer_id, m.commit))
                .collect();
            let expected: Vec<(i64, bool)> = self.model.markers[partition as usize]
                .iter()
                .map(|&(p, commit)| (self.producers[p].producer_id, commit))
                .collect();
            ensure!(
                markers == expected,
                "partition {partition} markers (producer id, commit): {markers:?}, expected {expected:?}"
            );
            let all = read(&mut c, &self.broker, partition, READ_UNCOMMITTED)?;
            let got = values(&all.data_records());
            let expected = self.model.all(partition as usize);
            ensure!(
                got == expected,
                "partition {partition} READ_UNCOMMITTED: {got:?}, expected {expected:?}"
            );
        }
        Ok(())
    }
}

fn run(ops: &[Op], finals: [bool; 2]) -> Result<()> {
    let mut run = Run::start()?;
    for (i, op) in ops.iter().enumerate() {
        run.apply(op)
            .with_context(|| format!("operation {i}: {op:?}"))?;
    }
    for (producer, commit) in finals.into_iter().enumerate() {
        if run.model.producers[producer].open.is_some() {
            run.apply(&Op::End { producer, commit })
                .with_context(|| format!("ending producer {producer}'s transaction"))?;
        }
    }
    run.check()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        max_shrink_iters: 8,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_transactions_read_as_the_model_says(
        ops in vec(op(), 1..=20),
        finals in any::<[bool; 2]>(),
    ) {
        if ops.iter().any(|op| matches!(op, Op::Restart)) && harness::launcher::external().is_some() {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| harness::launcher::report_skip(&Skip(
                "restarts the broker".into(),
            )));
            return Ok(());
        }
        run(&ops, finals).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
    }
}

/// A hanging transaction aborted by an administrator, as
/// `kafka-transactions.sh abort` does it: DescribeProducers shows the open
/// transaction, WriteTxnMarkers writes the ABORT marker with the
/// producer's epoch and coordinator epoch, the last stable offset moves
/// past it, and read_committed consumers skip its records.
#[test]
fn write_txn_markers_aborts_a_hanging_transaction() -> Result<()> {
    let broker = start()?;
    let topic = broker.topic(TOPIC);
    let mut c = broker.connect()?;
    let mut p = Producer::init(&broker, "hanging", TIMEOUT_MS)?;
    p.add(&[0])?;
    ensure!(p.append(0, &["h1", "h2"])? == 0);
    ensure!(latest_offset(&mut c, &topic, 0, READ_COMMITTED)? == 0);

    let described = txn::decode_describe_producers_response(&c.round_trip(
        &txn::describe_producers_request(3, &[(topic.clone(), vec![0])]),
    )?)?;
    let state = described
        .partition(&topic, 0)
        .and_then(|p| p.active_producers.first().copied())
        .with_context(|| format!("{described:?}"))?;
    ensure!(
        state.producer_id == p.producer_id && state.current_txn_start_offset == 0,
        "{state:?}"
    );
    let abort = |epoch: i16, topics: Vec<(String, Vec<i32>)>| txn::MarkerToWrite {
        producer_id: p.producer_id,
        producer_epoch: epoch,
        commit: false,
        topics,
        coordinator_epoch: state.coordinator_epoch,
    };
    let write = |c: &mut Client, markers: &[txn::MarkerToWrite]| {
        txn::decode_write_txn_markers_response(
            &c.round_trip(&txn::write_txn_markers_request(4, markers))?,
        )
    };
    // An older producer epoch, and a partition that does not exist.
    let refused = write(
        &mut c,
        &[abort(
            p.epoch - 1,
            vec![
                (topic.clone(), vec![0, 7]),
                ("no-such-topic".into(), vec![0]),
            ],
        )],
    )?;
    ensure!(
        refused
            == [(
                p.producer_id,
                vec![
                    (topic.clone(), 0, INVALID_PRODUCER_EPOCH),
                    (topic.clone(), 7, UNKNOWN_TOPIC_OR_PARTITION),
                    ("no-such-topic".to_string(), 0, UNKNOWN_TOPIC_OR_PARTITION),
                ]
            )],
        "{refused:?}"
    );
    ensure!(latest_offset(&mut c, &topic, 0, READ_COMMITTED)? == 0);

    let aborted = write(&mut c, &[abort(p.epoch, vec![(topic.clone(), vec![0])])])?;
    ensure!(
        aborted == [(p.producer_id, vec![(topic.clone(), 0, 0)])],
        "{aborted:?}"
    );
    ensure!(latest_offset(&mut c, &topic, 0, READ_COMMITTED)? == 3);
    let log = read(&mut c, &broker, 0, READ_COMMITTED)?;
    ensure!(
        markers_of(&log)? == [(2, p.producer_id, false)]
            && log.aborted_transactions == [(p.producer_id, 0)]
            && log.committed_records()?.is_empty()
            && log.last_stable_offset == 3,
        "{log:?}"
    );
    let described = txn::decode_describe_producers_response(&c.round_trip(
        &txn::describe_producers_request(5, &[(topic.clone(), vec![0])]),
    )?)?;
    let state = described
        .partition(&topic, 0)
        .and_then(|p| p.active_producers.first().copied())
        .with_context(|| format!("{described:?}"))?;
    ensure!(state.current_txn_start_offset == -1, "{state:?}");

    // A truncated request closes only its own connection.
    let mut bad = broker.connect()?;
    let mut raw =
        txn::write_txn_markers_request(6, &[abort(p.epoch, vec![(topic.clone(), vec![0])])]);
    raw.truncate(raw.len() - 5);
    bad.send(&raw)?;
    ensure!(
        bad.is_closed_by_peer(),
        "truncated WriteTxnMarkers left open"
    );
    ensure!(latest_offset(&mut c, &topic, 0, READ_COMMITTED)? == 3);
    Ok(())
}

/// `transaction.partition.verification.enable=false` (dynamic, as in
/// Kafka) appends a transactional batch without checking that its
/// partition is in the producer's transaction, as brokers before KIP-890
/// did; set back to true, the check applies again.
#[test]
fn partition_verification_can_be_turned_off_at_runtime() -> Result<()> {
    let broker = start()?;
    let mut p = Producer::init(&broker, "unverified", TIMEOUT_MS)?;
    let mut c = broker.connect()?;
    let set = |c: &mut Client, value: &str| -> Result<i16> {
        let raw = c.round_trip(&admin::incremental_alter_configs_request(
            5,
            &[(
                admin::RESOURCE_BROKER,
                "",
                &[(
                    "transaction.partition.verification.enable",
                    admin::config_op::SET,
                    Some(value),
                )][..],
            )],
            false,
        ))?;
        let response = admin::decode_alter_configs_response(&raw)?;
        Ok(response.responses[0].error_code)
    };
    ensure!(set(&mut c, "false")? == 0);
    p.add(&[0])?;
    let produced = p.produce(1, &["not-added"])?;
    ensure!(produced.error_code == 0, "verification off: {produced:?}");
    ensure!(set(&mut c, "true")? == 0);
    let produced = p.produce(0, &["added"])?;
    ensure!(produced.error_code == 0, "{produced:?}");
    let mut q = Producer::init(&broker, "verified", TIMEOUT_MS)?;
    let produced = q.produce(0, &["before-any-add"])?;
    ensure!(
        produced.error_code == INVALID_TXN_STATE,
        "verification on again: {produced:?}"
    );
    ensure!(set(&mut c, "maybe")? == harness::admin::error::INVALID_CONFIG);
    Ok(())
}
