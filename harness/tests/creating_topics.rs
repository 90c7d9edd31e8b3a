//! The challenge's "creating topics" extension (stage descriptions
//! `creating-topics-0N-<slug>.md`), one test per stage named by its slug,
//! each checking at least what its description lists. Requests are
//! CreateTopics v6, as the stages send; what a creation leaves behind is
//! read from `__cluster_metadata` with the harness's own reader and from the
//! partition directories.
//!
//! Against an external broker (`HARNESS_BOOTSTRAP`) the topics have names
//! unique to the test, and the checks of files need `HARNESS_LOG_DIR`.

use anyhow::{Context, Result, bail, ensure};
use harness::admin::{self, CreatableTopic, CreateTopicsResponse, CreatedTopic};
use harness::fixture::{self, TopicSpec};
use harness::metadata_log::{self, LoggedRecord, MetadataRecord};
use harness::protocol::error::{INVALID_REQUEST, INVALID_TOPIC_EXCEPTION};
use harness::protocol::{self, ensure_correlation};
use harness::wire::{Uuid, ZERO_UUID, uuid};
use harness::{Broker, Client};
use std::path::Path;
use std::time::{Duration, Instant};

const VERSION: i16 = 6;
const EXISTING_ID: Uuid = uuid(0x00c7ea7e_0000_4000_8000_000000000001);
/// How long a broker may take to apply a creation it has answered (Kafka
/// creates partition directories when the broker applies the metadata).
const APPLY_TIMEOUT: Duration = Duration::from_secs(10);

fn create(
    client: &mut Client,
    correlation_id: i32,
    topics: &[CreatableTopic],
    validate_only: bool,
) -> Result<CreateTopicsResponse> {
    let raw = client.round_trip(&admin::create_topics_request_v(
        VERSION,
        correlation_id,
        topics,
        30_000,
        validate_only,
    ))?;
    let response = admin::decode_create_topics_response_v(&raw, VERSION)?;
    ensure_correlation(response.correlation_id, correlation_id)?;
    ensure!(
        response.throttle_time_ms == 0,
        "throttle_time_ms {}",
        response.throttle_time_ms
    );
    let sent: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
    let answered: Vec<&str> = response.topics.iter().map(|t| t.name.as_str()).collect();
    ensure!(
        answered == sent,
        "results for {answered:?}, asked for {sent:?} (one result per topic, in order)"
    );
    Ok(response)
}

/// A topic refused with `code`, a message, and -1 partitions and replicas.
fn ensure_refused(result: &CreatedTopic, code: i16, message: Option<&str>) -> Result<()> {
    let name = &result.name;
    ensure!(
        result.error_code == code,
        "{name:?}: error {}, expected {code} ({:?})",
        result.error_code,
        result.error_message
    );
    let actual = result
        .error_message
        .as_deref()
        .with_context(|| format!("{name:?}: no error message"))?;
    ensure!(!actual.trim().is_empty(), "{name:?}: empty error message");
    if let Some(expected) = message {
        ensure!(
            actual == expected,
            "{name:?}: message {actual:?}, expected {expected:?}"
        );
    }
    ensure!(
        (result.num_partitions, result.replication_factor) == (-1, -1),
        "{name:?}: num_partitions {} and replication_factor {}, expected -1 and -1",
        result.num_partitions,
        result.replication_factor
    );
    Ok(())
}

/// A topic created (or validated) as asked.
fn ensure_created(result: &CreatedTopic, asked: &CreatableTopic) -> Result<()> {
    let name = &result.name;
    ensure!(
        result.error_code == 0,
        "{name:?}: error {} ({:?})",
        result.error_code,
        result.error_message
    );
    ensure!(
        (result.num_partitions, result.replication_factor)
            == (asked.num_partitions, asked.replication_factor),
        "{name:?}: num_partitions {} and replication_factor {}, asked for {} and {}",
        result.num_partitions,
        result.replication_factor,
        asked.num_partitions,
        asked.replication_factor
    );
    Ok(())
}

/// Polls `check` until it gives a value, for at most [`APPLY_TIMEOUT`];
/// then fails with the last thing it said was missing.
fn eventually<T>(mut check: impl FnMut() -> Result<T, String>) -> Result<T> {
    let deadline = Instant::now() + APPLY_TIMEOUT;
    loop {
        match check() {
            Ok(value) => return Ok(value),
            Err(missing) if Instant::now() > deadline => {
                bail!("within {APPLY_TIMEOUT:?}: {missing}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The metadata log's records once `done` holds for them (the log is read
/// again until it does, or the time is up).
fn metadata_log_when(
    log_dir: &Path,
    what: &str,
    done: impl Fn(&[LoggedRecord]) -> bool,
) -> Result<Vec<LoggedRecord>> {
    eventually(|| match metadata_log::read(log_dir) {
        Ok(records) if done(&records) => Ok(records),
        Ok(records) => Err(format!("{what} not in the metadata log: {records:#?}")),
        // A read can meet a batch being appended: read again.
        Err(e) => Err(format!("reading the metadata log: {e:#}")),
    })
}

fn topic_ids_named(records: &[LoggedRecord], name: &str) -> Vec<Uuid> {
    records
        .iter()
        .filter_map(|r| match &r.record {
            MetadataRecord::Topic { name: n, topic_id } if n == name => Some(*topic_id),
            _ => None,
        })
        .collect()
}

/// Partition directories `<name>-<n>` under `log_dir`, sorted by `n`.
fn partition_dirs(log_dir: &Path, name: &str) -> Result<Vec<i32>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(log_dir)? {
        let file_name = entry?.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if let Some(index) = file_name
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|n| n.parse().ok())
        {
            found.push(index);
        }
    }
    found.sort();
    Ok(found)
}

/// Waits until `name` has exactly the partition directories 0..count.
fn wait_for_partition_dirs(log_dir: &Path, name: &str, count: i32) -> Result<()> {
    let expected: Vec<i32> = (0..count).collect();
    eventually(|| match partition_dirs(log_dir, name) {
        Ok(found) if found == expected => Ok(()),
        Ok(found) => Err(format!(
            "directories of {name}: {found:?}, expected partitions {expected:?}"
        )),
        Err(e) => Err(format!("listing {}: {e:#}", log_dir.display())),
    })
}

/// Checks everything a creation of `name` with `count` partitions leaves in
/// `log_dir`: one TopicRecord followed by a PartitionRecord per partition,
/// led by `node_id`, and a directory per partition naming the topic id in
/// its `partition.metadata`. Returns the topic id.
fn ensure_created_on_disk(log_dir: &Path, name: &str, count: i32, node_id: i32) -> Result<Uuid> {
    let records = metadata_log_when(log_dir, &format!("{name} and its partitions"), |records| {
        let ids = topic_ids_named(records, name);
        ids.len() == 1 && metadata_log::partitions_of(records, &ids[0]).len() == count as usize
    })?;
    let id = topic_ids_named(&records, name)[0];
    ensure!(id != ZERO_UUID, "{name}: TopicRecord with the zero id");
    let topic_offset = records
        .iter()
        .find(|r| matches!(&r.record, MetadataRecord::Topic { name: n, .. } if n == name))
        .map(|r| r.offset);
    let mut indexes = Vec::new();
    for logged in &records {
        let MetadataRecord::Partition(p) = &logged.record else {
            continue;
        };
        if p.topic_id != id {
            continue;
        }
        ensure!(
            Some(logged.offset) > topic_offset,
            "{name}: PartitionRecord at offset {} before its TopicRecord",
            logged.offset
        );
        ensure!(
            p.replicas == [node_id] && p.isr == [node_id] && p.leader == node_id,
            "{name}-{}: replicas {:?}, isr {:?}, leader {}; expected node {node_id}",
            p.partition_id,
            p.replicas,
            p.isr,
            p.leader
        );
        ensure!(
            p.removing_replicas.is_empty() && p.adding_replicas.is_empty(),
            "{name}-{}: a reassignment in a new partition: {p:?}",
            p.partition_id
        );
        ensure!(
            (p.leader_epoch, p.partition_epoch, p.leader_recovery_state) == (0, 0, 0),
            "{name}-{}: a new partition starts at leader epoch 0, partition epoch 0, recovered: {p:?}",
            p.partition_id
        );
        ensure!(
            p.version == 0 || p.directories.len() == p.replicas.len(),
            "{name}-{}: {} directories for {} replicas",
            p.partition_id,
            p.directories.len(),
            p.replicas.len()
        );
        indexes.push(p.partition_id);
    }
    indexes.sort();
    ensure!(
        indexes == (0..count).collect::<Vec<_>>(),
        "{name}: PartitionRecords for partitions {indexes:?}, expected 0..{count}"
    );
    wait_for_partition_dirs(log_dir, name, count)?;
    let expected = format!("topic_id: {}", fixture::base64_url(&id));
    for index in 0..count {
        let path = log_dir.join(format!("{name}-{index}/partition.metadata"));
        eventually(|| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.lines().any(|line| line.trim() == expected) {
                Ok(())
            } else {
                Err(format!(
                    "{}: {text:?} does not say {expected:?}",
                    path.display()
                ))
            }
        })?;
    }
    Ok(id)
}

/// Checks that nothing of `name` is in `log_dir`: no TopicRecord, no
/// partition directory.
fn ensure_absent_on_disk(log_dir: &Path, name: &str) -> Result<()> {
    let records = metadata_log::read(log_dir)?;
    let ids = topic_ids_named(&records, name);
    ensure!(ids.is_empty(), "{name:?}: TopicRecord(s) {ids:?} written");
    let dirs = partition_dirs(log_dir, name)?;
    ensure!(dirs.is_empty(), "{name:?}: partition directories {dirs:?}");
    Ok(())
}

/// The broker's node id and the id and partition count Metadata gives
/// `name` (None when it does not know the topic).
fn described(client: &mut Client, name: &str) -> Result<(i32, Option<(Uuid, usize)>)> {
    let response = admin::decode_metadata_response(
        &client.round_trip(&admin::metadata_request(9, Some(&[name]), false, false))?,
    )?;
    let node_id = response
        .brokers
        .first()
        .map(|b| b.node_id)
        .context("Metadata lists no broker")?;
    let topic = response
        .topic(name)
        .filter(|t| t.error_code == 0)
        .map(|t| (t.topic_id, t.partitions.len()));
    Ok((node_id, topic))
}

/// yb1: ApiVersions v4 lists CreateTopics (key 19) up to at least v6.
#[test]
fn yb1() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let mut client = broker.connect()?;
    let raw = client.round_trip(&protocol::api_versions_request(4, 7))?;
    let response = protocol::decode_api_versions_response(&raw, 4)?;
    ensure_correlation(response.correlation_id, 7)?;
    ensure!(response.error_code == 0, "error {}", response.error_code);
    let (min, max) = response
        .versions_of(admin::CREATE_TOPICS)
        .with_context(|| format!("no CreateTopics in {:?}", response.api_keys))?;
    ensure!(
        min <= VERSION && max >= VERSION,
        "CreateTopics {min}..={max}, need v{VERSION}"
    );
    Ok(())
}

/// ve7: invalid names get error 17, a message, -1 partitions and replicas,
/// and nothing is created.
#[test]
fn ve7() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let mut client = broker.connect()?;
    let too_long = "t".repeat(250);
    let names = [
        "",
        ".",
        "..",
        too_long.as_str(),
        "bad name",
        "bad/name",
        "bad:name",
        "tôpic",
    ];
    for (i, name) in names.into_iter().enumerate() {
        let asked = CreatableTopic::new(name, 1, 1);
        let response = create(&mut client, i as i32 + 1, &[asked], false)?;
        ensure_refused(&response.topics[0], INVALID_TOPIC_EXCEPTION, None)?;
    }
    if let Some(log_dir) = broker.files() {
        for name in ["bad name", "bad/name", "bad:name", "tôpic", &too_long] {
            ensure_absent_on_disk(log_dir, name)?;
        }
    }
    Ok(())
}

/// us2: an existing topic gets 36 `Topic '<name>' already exists.`;
/// `__cluster_metadata` gets 42 `Creation of internal topic
/// __cluster_metadata is prohibited.`
#[test]
fn us2() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("existing", EXISTING_ID, 2)])?;
    let existing = broker.topic("existing");
    let mut client = broker.connect()?;
    let response = create(
        &mut client,
        1,
        &[CreatableTopic::new(&existing, 1, 1)],
        false,
    )?;
    ensure_refused(
        &response.topics[0],
        admin::error::TOPIC_ALREADY_EXISTS,
        Some(&format!("Topic '{existing}' already exists.")),
    )?;
    let response = create(
        &mut client,
        2,
        &[CreatableTopic::new("__cluster_metadata", 1, 1)],
        false,
    )?;
    ensure_refused(
        &response.topics[0],
        INVALID_REQUEST,
        Some("Creation of internal topic __cluster_metadata is prohibited."),
    )?;
    // The existing topic is as it was: same id, same partitions.
    let (_, topic) = described(&mut client, &existing)?;
    ensure!(
        topic == Some((broker.topic_id("existing"), 2)),
        "{existing} after the refused creation: {topic:?}"
    );
    if let Some(log_dir) = broker.files() {
        let records = metadata_log::read(log_dir)?;
        let ids = topic_ids_named(&records, &existing);
        ensure!(
            ids == [broker.topic_id("existing")],
            "TopicRecords of {existing}: {ids:?}"
        );
    }
    Ok(())
}

/// hh9: validate_only answers as a creation would, with every check applied,
/// and writes nothing: no TopicRecord, no directory.
#[test]
fn hh9() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("existing", EXISTING_ID, 1)])?;
    let [validated, barrier, existing] =
        ["validated", "barrier", "existing"].map(|n| broker.topic(n));
    let mut client = broker.connect()?;
    let asked = CreatableTopic::new(&validated, 3, 1);
    let dry = create(
        &mut client,
        1,
        &[
            asked.clone(),
            CreatableTopic::new(&existing, 1, 1),
            CreatableTopic::new("bad name", 1, 1),
        ],
        true,
    )?;
    ensure_created(&dry.topics[0], &asked)?;
    ensure_refused(
        &dry.topics[1],
        admin::error::TOPIC_ALREADY_EXISTS,
        Some(&format!("Topic '{existing}' already exists.")),
    )?;
    ensure_refused(&dry.topics[2], INVALID_TOPIC_EXCEPTION, None)?;
    let (node_id, topic) = described(&mut client, &validated)?;
    ensure!(
        topic.is_none(),
        "{validated} exists after validate_only: {topic:?}"
    );
    if let Some(log_dir) = broker.files() {
        // A real creation after the dry run: once it is on disk, anything
        // the dry run had written would be too.
        let response = create(
            &mut client,
            2,
            &[CreatableTopic::new(&barrier, 1, 1)],
            false,
        )?;
        ensure_created(&response.topics[0], &CreatableTopic::new(&barrier, 1, 1))?;
        ensure_created_on_disk(log_dir, &barrier, 1, node_id)?;
        ensure_absent_on_disk(log_dir, &validated)?;
    }
    // The same request for real gets the same answer.
    let real = create(&mut client, 3, std::slice::from_ref(&asked), false)?;
    ensure!(
        real.topics[0] == dry.topics[0],
        "validate_only answered {:#?}\nthe creation answered {:#?}",
        dry.topics[0],
        real.topics[0]
    );
    Ok(())
}

/// rk2: one topic: TopicRecord and PartitionRecords in the metadata log, a
/// directory per partition, and an answer that echoes the request.
#[test]
fn rk2() -> Result<()> {
    let broker = Broker::on_fixture(&[])?;
    let name = broker.topic("created");
    let mut client = broker.connect()?;
    let asked = CreatableTopic::new(&name, 3, 1);
    let response = create(&mut client, 1, std::slice::from_ref(&asked), false)?;
    ensure_created(&response.topics[0], &asked)?;
    let (node_id, topic) = described(&mut client, &name)?;
    let (id, partitions) = topic.with_context(|| format!("Metadata does not know {name}"))?;
    ensure!(
        partitions == 3,
        "Metadata lists {partitions} partitions of {name}"
    );
    if let Some(log_dir) = broker.files() {
        let on_disk = ensure_created_on_disk(log_dir, &name, 3, node_id)?;
        ensure!(
            on_disk == id,
            "TopicRecord id {on_disk:?}, Metadata says {id:?}"
        );
    }
    Ok(())
}

/// fl3: several topics in one request, each answered on its own and in
/// order; the valid ones created, the others not.
#[test]
fn fl3() -> Result<()> {
    let broker = Broker::on_fixture(&[TopicSpec::new("existing", EXISTING_ID, 1)])?;
    let [first, second, existing, zero] =
        ["first", "second", "existing", "zero"].map(|n| broker.topic(n));
    // The longest legal name, 249 characters.
    let longest = format!("{}{}", broker.topic("longest"), "l".repeat(249))[..249].to_string();
    let mut client = broker.connect()?;
    let asked = [
        CreatableTopic::new(&first, 1, 1),
        CreatableTopic::new("bad name", 1, 1),
        CreatableTopic::new(&existing, 1, 1),
        CreatableTopic::new(&second, 2, 1),
        CreatableTopic::new("__cluster_metadata", 1, 1),
        CreatableTopic::new(&zero, 0, 1),
        CreatableTopic::new(&longest, 1, 1),
    ];
    let response = create(&mut client, 1, &asked, false)?;
    let results = &response.topics;
    ensure_created(&results[0], &asked[0])?;
    ensure_refused(&results[1], INVALID_TOPIC_EXCEPTION, None)?;
    ensure_refused(
        &results[2],
        admin::error::TOPIC_ALREADY_EXISTS,
        Some(&format!("Topic '{existing}' already exists.")),
    )?;
    ensure_created(&results[3], &asked[3])?;
    ensure_refused(
        &results[4],
        INVALID_REQUEST,
        Some("Creation of internal topic __cluster_metadata is prohibited."),
    )?;
    ensure_refused(&results[5], admin::error::INVALID_PARTITIONS, None)?;
    ensure_created(&results[6], &asked[6])?;
    let mut node_id = 0;
    for (name, count) in [(&first, 1), (&second, 2), (&longest, 1)] {
        let (node, topic) = described(&mut client, name)?;
        node_id = node;
        ensure!(
            topic.is_some_and(|(_, n)| n == count),
            "Metadata of {name}: {topic:?}"
        );
    }
    let (_, topic) = described(&mut client, &zero)?;
    ensure!(topic.is_none(), "{zero} exists: {topic:?}");
    if let Some(log_dir) = broker.files() {
        for (name, count) in [(&first, 1), (&second, 2), (&longest, 1)] {
            ensure_created_on_disk(log_dir, name, count, node_id)?;
        }
        for name in ["bad name", zero.as_str()] {
            ensure_absent_on_disk(log_dir, name)?;
        }
        let records = metadata_log::read(log_dir)?;
        ensure!(
            topic_ids_named(&records, &existing) == [broker.topic_id("existing")],
            "{existing} was written again"
        );
    }
    Ok(())
}
