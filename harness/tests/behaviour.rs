//! What a Kafka client relies on beyond the challenge's checks: paging in
//! DescribeTopicPartitions, Fetch from any offset and within byte limits,
//! leader epochs, and logs that roll into several segments.

use anyhow::{Result, ensure};
use harness::admin;
use harness::batch::{self, Record, RecordBatch};
use harness::fixture::{self, PartitionSpec, TopicSpec};
use harness::launcher::own_broker_only;
use harness::protocol::error::{
    FENCED_LEADER_EPOCH, FETCH_SESSION_ID_NOT_FOUND, INVALID_REQUEST, INVALID_TOPIC_EXCEPTION,
    OFFSET_OUT_OF_RANGE, UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION,
};
use harness::protocol::{self, FetchPartitionRequest, FetchRequest};
use harness::wire::{Uuid, uuid};
use harness::{Broker, Client, or_skip};

/// Why these tests do not certify an external broker.
const SUITE: &str =
    "behaviour tests seed fixed topic ids and leader epochs on the harness's own broker";

const A: Uuid = uuid(0xa);
const B: Uuid = uuid(0xb);
const C: Uuid = uuid(0xc);

fn describe(
    client: &mut Client,
    topics: &[&str],
    limit: i32,
    cursor: Option<(&str, i32)>,
) -> Result<protocol::DescribeTopicPartitionsResponse> {
    let raw = client.round_trip(&protocol::describe_topic_partitions_request(
        1, topics, limit, cursor,
    ))?;
    protocol::decode_describe_topic_partitions_response(&raw)
}

/// (topic, partition indexes) per described topic.
fn page(response: &protocol::DescribeTopicPartitionsResponse) -> Vec<(String, Vec<i32>)> {
    response
        .topics
        .iter()
        .map(|t| {
            (
                t.name.clone().unwrap_or_default(),
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect()
}

#[test]
fn describe_topic_partitions_pages_with_a_cursor() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let topics = [
        TopicSpec::new("c", C, 1),
        TopicSpec::new("a", A, 3),
        TopicSpec::new("b", B, 2),
    ];
    let broker = Broker::on_fixture_with(&topics, &[])?;
    let mut client = broker.connect()?;
    let all = ["c", "b", "a"];

    let first = describe(&mut client, &all, 2, None)?;
    ensure!(
        page(&first) == [("a".into(), vec![0, 1])],
        "{:?}",
        page(&first)
    );
    ensure!(
        first.next_cursor == Some(("a".into(), 2)),
        "{:?}",
        first.next_cursor
    );
    let second = describe(&mut client, &all, 2, Some(("a", 2)))?;
    ensure!(
        page(&second) == [("a".into(), vec![2]), ("b".into(), vec![0])],
        "{:?}",
        page(&second)
    );
    ensure!(
        second.next_cursor == Some(("b".into(), 1)),
        "{:?}",
        second.next_cursor
    );
    let third = describe(&mut client, &all, 10, Some(("b", 1)))?;
    ensure!(
        page(&third) == [("b".into(), vec![1]), ("c".into(), vec![0])],
        "{:?}",
        page(&third)
    );
    ensure!(third.next_cursor.is_none(), "{:?}", third.next_cursor);

    // A page that ends exactly with a topic points at the next topic.
    let exact = describe(&mut client, &all, 3, None)?;
    ensure!(
        exact.next_cursor == Some(("b".into(), 0)),
        "{:?}",
        exact.next_cursor
    );

    // No topics named: all of them, sorted.
    let everything = describe(&mut client, &[], 100, None)?;
    ensure!(
        page(&everything)
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            == ["a", "b", "c"]
    );

    // Invalid names and a cursor outside the named topics.
    let invalid = describe(&mut client, &["bad name!", "ok-but-missing"], 10, None)?;
    let codes: Vec<i16> = invalid.topics.iter().map(|t| t.error_code).collect();
    ensure!(
        codes == [INVALID_TOPIC_EXCEPTION, UNKNOWN_TOPIC_OR_PARTITION],
        "{codes:?}"
    );
    let bad_cursor = describe(&mut client, &["a"], 10, Some(("b", 0)))?;
    ensure!(
        bad_cursor
            .topics
            .iter()
            .all(|t| t.error_code == INVALID_REQUEST),
        "{bad_cursor:?}"
    );
    Ok(())
}

/// A topic whose partition 0 holds batches of 3 records at offsets 0, 3, 6, 9.
fn topic_with_batches() -> (TopicSpec, Vec<Vec<u8>>) {
    let batches: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            let records = (0..3)
                .map(|j| Record::value(format!("record-{}", i * 3 + j).into_bytes()))
                .collect();
            RecordBatch::new(records).with_base_offset(i * 3).encode()
        })
        .collect();
    let mut partition = PartitionSpec::new(0);
    partition.batches = batches.clone();
    (TopicSpec::new("a", A, 2).with_partition(partition), batches)
}

#[test]
fn fetch_serves_any_offset_within_limits() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let (topic, batches) = topic_with_batches();
    let broker = Broker::on_fixture_with(&[topic], &[])?;
    let mut client = broker.connect()?;
    let at = |offset| FetchRequest::new(vec![(A, vec![FetchPartitionRequest::new(0, offset)])]);

    // From the middle of a batch: the batch that holds the offset and the rest.
    let response = client.fetch(&at(4))?;
    let p = response.only_partition()?;
    ensure!(p.error_code == 0 && p.high_watermark == 12, "{p:?}");
    ensure!(
        p.records.as_deref() == Some(&batches[1..].concat()[..]),
        "from offset 4"
    );

    // At the end: nothing, no error. Past it: OFFSET_OUT_OF_RANGE.
    let response = client.fetch(&at(12))?;
    let p = response.only_partition()?;
    ensure!(
        p.error_code == 0 && p.records.as_deref() == Some(&[][..]),
        "{p:?}"
    );
    let response = client.fetch(&at(13))?;
    let p = response.only_partition()?;
    ensure!(
        (p.error_code, p.high_watermark) == (OFFSET_OUT_OF_RANGE, -1),
        "{p:?}"
    );

    // A partition limit that cuts the second batch returns only the first.
    let mut request = at(0);
    request.topics[0].1[0].partition_max_bytes = (batches[0].len() + batches[1].len() / 2) as i32;
    let p = client.fetch(&request)?.responses[0].1[0].clone();
    ensure!(
        p.records.as_deref() == Some(&batches[0][..]),
        "cut limit returned {} bytes",
        p.records.map_or(0, |r| r.len())
    );

    // A limit below one batch still returns one whole batch, for the first
    // partition only; a later partition gets nothing once the budget is spent.
    let mut request = FetchRequest::new(vec![(
        A,
        vec![
            FetchPartitionRequest::new(0, 0),
            FetchPartitionRequest::new(0, 6),
        ],
    )]);
    request.max_bytes = 10;
    let response = client.fetch(&request)?;
    let parts = &response.responses[0].1;
    ensure!(
        parts[0].batches()?.len() == 1,
        "first partition: {:?}",
        parts[0]
    );
    ensure!(
        parts[1].records.as_deref() == Some(&[][..]),
        "second partition got data beyond max_bytes"
    );

    // Unknown partition of a known topic.
    let response = client.fetch(&FetchRequest::new(vec![(
        A,
        vec![FetchPartitionRequest::new(7, 0)],
    )]))?;
    ensure!(response.only_partition()?.error_code == UNKNOWN_TOPIC_OR_PARTITION);

    // An incremental fetch of a session that does not exist is told so.
    let mut request = at(0);
    request.session_id = 12345;
    request.session_epoch = 3;
    let response = client.fetch(&request)?;
    ensure!(
        response.error_code == FETCH_SESSION_ID_NOT_FOUND && response.responses.is_empty(),
        "{response:?}"
    );
    Ok(())
}

#[test]
fn leader_epochs_are_checked_and_stamped() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let mut partition = PartitionSpec::new(0);
    partition.leader_epoch = 3;
    let broker =
        Broker::on_fixture_with(&[TopicSpec::new("a", A, 1).with_partition(partition)], &[])?;
    let mut client = broker.connect()?;
    for (epoch, code) in [
        (2, FENCED_LEADER_EPOCH),
        (4, UNKNOWN_LEADER_EPOCH),
        (3, 0),
        (-1, 0),
    ] {
        let mut p = FetchPartitionRequest::new(0, 0);
        p.current_leader_epoch = epoch;
        let response = client.fetch(&FetchRequest::new(vec![(A, vec![p])]))?;
        ensure!(
            response.only_partition()?.error_code == code,
            "epoch {epoch}: {response:?}"
        );
    }
    let sent = RecordBatch::new(vec![Record::value(b"epoch".to_vec())]).encode();
    client.round_trip(&protocol::produce_request_v11(
        1,
        -1,
        &[("a".into(), vec![(0, Some(sent.clone()))])],
    ))?;
    let stored = std::fs::read(fixture::log_file(broker.log_dir(), "a", 0))?;
    ensure!(
        stored == batch::as_stored(&sent, 0, 3),
        "the batch was not stamped with leader epoch 3"
    );
    Ok(())
}

/// OffsetForLeaderEpoch v4 for partition 0 of "a" and `epoch`, with no
/// current-epoch check: (error code, epoch, end offset).
fn epoch_end(
    client: &mut Client,
    partition: i32,
    current: i32,
    epoch: i32,
) -> Result<(i16, i32, i64)> {
    let query = admin::EpochQuery {
        partition,
        current_leader_epoch: current,
        leader_epoch: epoch,
    };
    let response = admin::decode_offset_for_leader_epoch_response(&client.round_trip(
        &admin::offset_for_leader_epoch_request(7, &[("a", vec![query])]),
    )?)?;
    protocol::ensure_correlation(response.correlation_id, 7)?;
    let [(name, partitions)] = response.topics.as_slice() else {
        anyhow::bail!("{response:?}");
    };
    let [p] = partitions.as_slice() else {
        anyhow::bail!("{response:?}");
    };
    ensure!(name == "a" && p.partition == partition, "{response:?}");
    Ok((p.error_code, p.leader_epoch, p.end_offset))
}

#[test]
fn offset_for_leader_epoch_answers_from_the_epoch_cache() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    // Offsets 0-1 written in epoch 0, 2-4 in epoch 1; the partition is at
    // epoch 3 now, with nothing written in it yet.
    let mut partition = PartitionSpec::new(0);
    partition.leader_epoch = 3;
    partition.batches = (0..5)
        .map(|offset| {
            let mut batch =
                RecordBatch::new(vec![Record::value(b"e".to_vec())]).with_base_offset(offset);
            batch.partition_leader_epoch = if offset < 2 { 0 } else { 1 };
            batch.encode()
        })
        .collect();
    let mut broker =
        Broker::on_fixture_with(&[TopicSpec::new("a", A, 1).with_partition(partition)], &[])?;
    let mut client = broker.connect()?;
    let expected = [
        // An epoch ends where the next begins; the latest at the log end.
        (0, (0, 0, 2)),
        (1, (0, 1, 5)),
        // An epoch the log never had: the one below it.
        (2, (0, 1, 5)),
        (3, (0, 3, 5)),
        // Above the latest, or undefined: no error, nothing found.
        (4, (0, -1, -1)),
        (-1, (0, -1, -1)),
    ];
    for (epoch, answer) in expected {
        ensure!(
            epoch_end(&mut client, 0, -1, epoch)? == answer,
            "epoch {epoch}"
        );
    }
    // The current leader epoch is checked as Fetch checks it.
    ensure!(epoch_end(&mut client, 0, 2, 0)? == (FENCED_LEADER_EPOCH, -1, -1));
    ensure!(epoch_end(&mut client, 0, 4, 0)? == (UNKNOWN_LEADER_EPOCH, -1, -1));
    ensure!(epoch_end(&mut client, 0, 3, 1)? == (0, 1, 5));
    // A partition or topic that does not exist.
    ensure!(epoch_end(&mut client, 7, -1, 0)? == (UNKNOWN_TOPIC_OR_PARTITION, -1, -1));
    let response = admin::decode_offset_for_leader_epoch_response(&client.round_trip(
        &admin::offset_for_leader_epoch_request(
            8,
            &[(
                "nope",
                vec![admin::EpochQuery {
                    partition: 0,
                    current_leader_epoch: -1,
                    leader_epoch: 0,
                }],
            )],
        ),
    )?)?;
    ensure!(
        response.topics[0].1[0].error_code == UNKNOWN_TOPIC_OR_PARTITION,
        "{response:?}"
    );

    // Two records written in epoch 3 move its end; it is kept across a restart.
    let sent = RecordBatch::new(vec![
        Record::value(b"x".to_vec()),
        Record::value(b"y".to_vec()),
    ])
    .encode();
    client.round_trip(&protocol::produce_request_v11(
        1,
        -1,
        &[("a".into(), vec![(0, Some(sent))])],
    ))?;
    ensure!(epoch_end(&mut client, 0, -1, 3)? == (0, 3, 7));
    ensure!(epoch_end(&mut client, 0, -1, 2)? == (0, 1, 5));
    broker.restart()?;
    let mut client = broker.connect()?;
    ensure!(epoch_end(&mut client, 0, -1, 1)? == (0, 1, 5));
    ensure!(epoch_end(&mut client, 0, -1, 3)? == (0, 3, 7));

    // A request cut short closes that connection only.
    let mut request = admin::offset_for_leader_epoch_request(
        9,
        &[(
            "a",
            vec![admin::EpochQuery {
                partition: 0,
                current_leader_epoch: -1,
                leader_epoch: 0,
            }],
        )],
    );
    request.truncate(request.len() - 6);
    let mut cut = broker.connect()?;
    ensure!(
        cut.round_trip(&request).is_err(),
        "a truncated request was answered"
    );
    ensure!(epoch_end(&mut client, 0, -1, 0)? == (0, 0, 2));
    Ok(())
}

#[test]
fn logs_roll_into_segments_and_reads_cross_them() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let mut broker = Broker::on_fixture_with(
        &[TopicSpec::new("a", A, 1)],
        &[("log.segment.bytes", "2048")],
    )?;
    let mut client = broker.connect()?;
    let mut sent = Vec::new();
    for i in 0..60 {
        let batch = RecordBatch::without_producer(vec![
            Record::value(format!("value number {i:03}").into_bytes()),
            Record::value(b"x".to_vec()),
        ])
        .encode();
        let raw = client.round_trip(&protocol::produce_request_v11(
            i,
            -1,
            &[("a".into(), vec![(0, Some(batch.clone()))])],
        ))?;
        let response = protocol::decode_produce_response_v11(&raw)?;
        ensure!(
            response.partition("a", 0).map(|p| p.base_offset) == Some(i64::from(i) * 2),
            "{response:?}"
        );
        sent.push(batch);
    }
    let segments = std::fs::read_dir(broker.log_dir().join("a-0"))?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".log"))
        })
        .count();
    ensure!(segments > 2, "only {segments} segment files");

    broker.restart()?;
    let mut client = broker.connect()?;
    let mut offset = 0;
    let mut fetched = Vec::new();
    while offset < 120 {
        let response = client.fetch(&FetchRequest::new(vec![(
            A,
            vec![FetchPartitionRequest::new(0, offset)],
        )]))?;
        let p = response.only_partition()?;
        ensure!(p.error_code == 0 && p.high_watermark == 120, "{p:?}");
        let batches = p.batches()?;
        ensure!(!batches.is_empty(), "no progress at offset {offset}");
        offset = batches
            .last()
            .map(|b| b.last_offset() + 1)
            .unwrap_or(offset);
        fetched.extend(batches);
    }
    ensure!(fetched.len() == 60, "{} batches fetched", fetched.len());
    for (i, (b, sent)) in fetched.iter().zip(&sent).enumerate() {
        ensure!(b.batch.base_offset == i as i64 * 2);
        ensure!(
            b.batch.records == batch::decode_batches(sent)?[0].batch.records,
            "batch {i} differs"
        );
    }
    let raw = client.round_trip(&protocol::produce_request_v11(
        99,
        -1,
        &[("a".into(), vec![(0, Some(sent[0].clone()))])],
    ))?;
    ensure!(
        protocol::decode_produce_response_v11(&raw)?
            .partition("a", 0)
            .map(|p| p.base_offset)
            == Some(120)
    );
    Ok(())
}

fn produce_plain(client: &mut Client, topic: &str, partition: i32, values: &[&str]) -> Result<()> {
    let raw = client.round_trip(&protocol::produce_request_v11(
        1,
        -1,
        &[(
            topic.into(),
            vec![(partition, Some(RecordBatch::plain(values).encode()))],
        )],
    ))?;
    let response = protocol::decode_produce_response_v11(&raw)?;
    ensure!(
        response
            .partition(topic, partition)
            .is_some_and(|p| p.error_code == 0),
        "{response:?}"
    );
    Ok(())
}

#[test]
fn fetch_waits_for_data_and_is_woken_by_appends() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = Broker::on_fixture(&[TopicSpec::new("a", A, 1)])?;
    let mut consumer = broker.connect()?;

    // Nothing to read: the fetch waits max_wait_ms, then answers empty.
    let mut request = FetchRequest::new(vec![(A, vec![FetchPartitionRequest::new(0, 0)])]);
    request.max_wait_ms = 400;
    let started = std::time::Instant::now();
    let response = consumer.fetch(&request)?;
    ensure!(
        started.elapsed() >= std::time::Duration::from_millis(350),
        "answered without waiting"
    );
    ensure!(response.only_partition()?.records.as_deref() == Some(&[][..]));

    // Waiting long, it is woken by an append to its partition.
    request.max_wait_ms = 20_000;
    consumer.send(&request.encode_v16(7))?;
    std::thread::sleep(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    produce_plain(&mut broker.connect()?, "a", 0, &["wake up"])?;
    let response = protocol::decode_fetch_response_v16(&consumer.receive()?)?;
    ensure!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "not woken by the append"
    );
    let records = response.only_partition()?.batches()?;
    ensure!(
        records.len() == 1 && records[0].batch.records[0].value.as_deref() == Some(&b"wake up"[..])
    );
    Ok(())
}

#[test]
fn fetch_sessions_send_only_what_changed() -> Result<()> {
    or_skip!(own_broker_only(SUITE));
    let broker = Broker::on_fixture(&[TopicSpec::new("a", A, 2)])?;
    let mut client = broker.connect()?;
    produce_plain(&mut client, "a", 0, &["p0"])?;

    // A full fetch with epoch 0 opens a session and answers every partition.
    let mut full = FetchRequest::new(vec![(
        A,
        vec![
            FetchPartitionRequest::new(0, 0),
            FetchPartitionRequest::new(1, 0),
        ],
    )]);
    full.session_epoch = 0;
    let response = client.fetch(&full)?;
    let session = response.session_id;
    ensure!(session != 0, "no session opened");
    ensure!(response.responses[0].1.len() == 2, "{response:?}");

    // Next fetches name no partitions: only those with news come back.
    let mut incremental = FetchRequest::new(vec![]);
    incremental.session_id = session;
    incremental.session_epoch = 1;
    let response = client.fetch(&incremental)?;
    ensure!(response.session_id == session, "{response:?}");
    // Partition 0 still returns its record from offset 0 (the session keeps
    // fetch offsets as last sent by the client); partition 1 has no news.
    let parts: Vec<i32> = response
        .responses
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.partition_index))
        .collect();
    ensure!(parts == [0], "{parts:?}");

    produce_plain(&mut client, "a", 1, &["p1"])?;
    incremental.session_epoch = 2;
    incremental.topics = vec![(A, vec![FetchPartitionRequest::new(0, 1)])];
    let response = client.fetch(&incremental)?;
    let parts: Vec<(i32, i64)> = response
        .responses
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| (p.partition_index, p.high_watermark)))
        .collect();
    ensure!(parts == [(1, 1)], "only partition 1 changed: {parts:?}");

    // Wrong epochs and unknown sessions are refused; epoch -1 closes it.
    incremental.session_epoch = 7;
    ensure!(
        client.fetch(&incremental)?.error_code == 71,
        "stale epoch accepted"
    );
    incremental.session_id = session + 1;
    incremental.session_epoch = 1;
    ensure!(client.fetch(&incremental)?.error_code == FETCH_SESSION_ID_NOT_FOUND);
    let mut close = FetchRequest::new(vec![(A, vec![FetchPartitionRequest::new(0, 0)])]);
    close.session_id = session;
    close.session_epoch = -1;
    let response = client.fetch(&close)?;
    ensure!(
        response.session_id == 0 && response.responses.len() == 1,
        "{response:?}"
    );
    incremental.session_id = session;
    incremental.session_epoch = 3;
    ensure!(
        client.fetch(&incremental)?.error_code == FETCH_SESSION_ID_NOT_FOUND,
        "closed session still open"
    );
    Ok(())
}
