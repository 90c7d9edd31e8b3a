//! Several log directories (JBOD, KIP-112 / KIP-858) on the harness's own
//! broker: partitions spread over `log.dirs`, each directory with its own
//! `meta.properties` and checkpoints, the metadata log recording where
//! each partition is; a partition moved between directories while a
//! producer (acks=all) and a consumer run, and killed with -9 in the
//! middle of a move; a directory that goes away under the broker takes
//! only its own partitions offline. Everything acknowledged is found again.

use anyhow::{Context, Result, bail, ensure};
use harness::Broker;
use harness::admin::{self, CreatableTopic};
use harness::batch::{self, RecordBatch};
use harness::client::Client;
use harness::cluster_admin as ca;
use harness::metadata_log;
use harness::wire::Uuid;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 20;
const KAFKA_STORAGE_ERROR: i16 = 56;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const LEADER_NOT_AVAILABLE: i16 = 5;

struct Jbod {
    broker: Broker,
    dirs: [PathBuf; 2],
    _root: tempfile::TempDir,
}

/// A broker with two log directories (the first also the metadata log's)
/// and `extra` settings.
fn start(extra: &[(&str, &str)]) -> Result<Jbod> {
    harness::launcher::own_broker_only("starts the broker with two log directories")?;
    let root = tempfile::tempdir()?;
    let dirs = [root.path().join("disk1"), root.path().join("disk2")];
    let log_dirs = format!("{},{}", dirs[0].display(), dirs[1].display());
    let mut properties = vec![("log.dirs", log_dirs.as_str())];
    properties.extend_from_slice(extra);
    let broker = Broker::start_with(&dirs[0], &properties)?;
    Ok(Jbod {
        broker,
        dirs,
        _root: root,
    })
}

fn create_topic(client: &mut Client, name: &str, partitions: i32) -> Result<Uuid> {
    let response = admin::decode_create_topics_response(&client.round_trip(
        &admin::create_topics_request(1, &[CreatableTopic::new(name, partitions, 1)], 5000, false),
    )?)?;
    let created = response.topic(name).context("no answer for the topic")?;
    ensure!(created.error_code == 0, "{created:?}");
    Ok(created.topic_id)
}

/// The partitions of `topic` whose directory is in `dir`.
fn partitions_in(dir: &Path, topic: &str) -> Result<Vec<i32>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(index) = name.strip_prefix(&format!("{topic}-"))
            && let Ok(index) = index.parse()
        {
            found.push(index);
        }
    }
    found.sort();
    Ok(found)
}

/// `directory.id` and `cluster.id` from a directory's `meta.properties`.
fn meta_properties(dir: &Path) -> Result<(String, String)> {
    let text = std::fs::read_to_string(dir.join("meta.properties"))?;
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
            .with_context(|| format!("no {key} in {}", dir.display()))
    };
    Ok((value("directory.id")?, value("cluster.id")?))
}

/// Kafka's text form of a directory id.
fn text_id(id: &Uuid) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

fn describe(client: &mut Client) -> Result<Vec<ca::DescribedLogDir>> {
    let (code, dirs) = ca::decode_describe_log_dirs_response(
        &client.round_trip(&ca::describe_log_dirs_request(7, None))?,
    )?;
    ensure!(code == 0, "DescribeLogDirs error {code}");
    Ok(dirs)
}

fn absolute(dir: &Path) -> String {
    std::path::absolute(dir)
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn move_partition(client: &mut Client, topic: &str, partition: i32, dir: &Path) -> Result<i16> {
    let answer = ca::decode_alter_replica_log_dirs_response(&client.round_trip(
        &ca::alter_replica_log_dirs_request(
            8,
            &[(absolute(dir).as_str(), vec![(topic, vec![partition])])],
        ),
    )?)?;
    ensure!(answer.len() == 1, "{answer:?}");
    Ok(answer[0].2)
}

/// Waits until `partition` of `topic` is in `dir` alone, with no copy
/// being moved anywhere.
fn wait_moved(client: &mut Client, topic: &str, partition: i32, dir: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let wanted = absolute(dir);
    loop {
        let dirs = describe(client)?;
        let holders: Vec<(&str, bool)> = dirs
            .iter()
            .flat_map(|d| {
                d.partitions
                    .iter()
                    .filter(|p| p.0 == topic && p.1 == partition)
                    .map(move |p| (d.log_dir.as_str(), p.4))
            })
            .collect();
        if holders == [(wanted.as_str(), false)] {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "{topic}-{partition} did not move to {wanted}: {holders:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every record of a partition, as (offset, value), read to its end.
fn read_all(client: &mut Client, topic_id: Uuid, partition: i32) -> Result<Vec<(i64, String)>> {
    let (_, batches) = client.fetch_to_end(topic_id, partition, 0)?;
    let mut records = Vec::new();
    for raw in batches {
        for decoded in batch::decode_batches(&raw)? {
            for record in &decoded.batch.records {
                let value = String::from_utf8(record.value.clone().unwrap_or_default())?;
                records.push((
                    decoded.batch.base_offset + i64::from(record.offset_delta),
                    value,
                ));
            }
        }
    }
    Ok(records)
}

/// Checks that every acknowledged record is in the partition once, at
/// its acknowledged offset, and nothing else is.
fn check_acknowledged(
    stored: &[(i64, String)],
    acknowledged: &BTreeMap<i64, String>,
) -> Result<()> {
    let mut seen = HashSet::new();
    for (offset, value) in stored {
        ensure!(seen.insert(value.clone()), "{value} stored twice");
        ensure!(
            acknowledged.get(offset) == Some(value),
            "offset {offset} holds {value}, acknowledged {:?}",
            acknowledged.get(offset)
        );
    }
    ensure!(
        stored.len() == acknowledged.len(),
        "{} records stored, {} acknowledged",
        stored.len(),
        acknowledged.len()
    );
    Ok(())
}

/// Produces `count` single-record batches to a partition (acks=all);
/// returns what was acknowledged, by offset.
fn produce(
    client: &mut Client,
    topic: &str,
    partition: i32,
    prefix: &str,
    count: usize,
    acknowledged: &mut BTreeMap<i64, String>,
) -> Result<()> {
    for i in 0..count {
        let value = format!("{prefix}-{i}");
        let answer = client.produce(topic, partition, RecordBatch::plain(&[&value]).encode())?;
        ensure!(answer.error_code == 0, "{topic}-{partition}: {answer:?}");
        acknowledged.insert(answer.base_offset, value);
    }
    Ok(())
}

#[test]
fn partitions_spread_over_directories_and_move_under_load() -> Result<()> {
    let jbod = harness::or_skip!(start(&[
        ("log.flush.offset.checkpoint.interval.ms", "200"),
        ("log.flush.start.offset.checkpoint.interval.ms", "200"),
    ]));
    let broker = &jbod.broker;
    let mut client = broker.connect()?;
    let topic_id = create_topic(&mut client, "spread", PARTITIONS)?;

    // Every directory holds partitions: the fewest-partitions rule
    // alternates between the two.
    let first = partitions_in(&jbod.dirs[0], "spread")?;
    let second = partitions_in(&jbod.dirs[1], "spread")?;
    ensure!(
        first.len() == 10 && second.len() == 10,
        "{first:?} / {second:?}"
    );
    // Each directory has its own identity in the same cluster.
    let (id1, cluster1) = meta_properties(&jbod.dirs[0])?;
    let (id2, cluster2) = meta_properties(&jbod.dirs[1])?;
    ensure!(
        id1 != id2 && cluster1 == cluster2,
        "{id1} {id2} {cluster1} {cluster2}"
    );
    // The metadata log records each partition's directory.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let records = metadata_log::read(&jbod.dirs[0])?;
        let states = metadata_log::partition_states(&records, &topic_id);
        let recorded: Vec<(i32, String)> = states
            .iter()
            .map(|(p, (_, dirs))| (*p, dirs.first().map(text_id).unwrap_or_default()))
            .collect();
        let expected: Vec<(i32, String)> = (0..PARTITIONS)
            .map(|p| {
                let id = if first.contains(&p) { &id1 } else { &id2 };
                (p, id.clone())
            })
            .collect();
        if recorded == expected {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "recorded {recorded:?}, expected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // DescribeLogDirs lists both, each with its partitions.
    let dirs = describe(&mut client)?;
    let listed: Vec<(String, usize)> = dirs
        .iter()
        .map(|d| {
            (
                d.log_dir.clone(),
                d.partitions.iter().filter(|p| p.0 == "spread").count(),
            )
        })
        .collect();
    ensure!(
        listed == [(absolute(&jbod.dirs[0]), 10), (absolute(&jbod.dirs[1]), 10)],
        "{listed:?}"
    );
    // Each directory keeps its own checkpoints.
    for dir in &jbod.dirs {
        for file in [
            "recovery-point-offset-checkpoint",
            "log-start-offset-checkpoint",
        ] {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !dir.join(file).exists() {
                ensure!(Instant::now() < deadline, "no {file} in {}", dir.display());
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    // A move while a producer (acks=all) and a consumer run.
    let moving = first[0];
    let mut acknowledged = BTreeMap::new();
    produce(
        &mut client,
        "spread",
        moving,
        "before",
        2000,
        &mut acknowledged,
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    let address = broker.address();
    let producer = {
        let stop = Arc::clone(&stop);
        let address = address.clone();
        std::thread::spawn(move || -> Result<BTreeMap<i64, String>> {
            let mut client = Client::connect(&address)?;
            let mut acknowledged = BTreeMap::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                produce(
                    &mut client,
                    "spread",
                    moving,
                    &format!("during{i}"),
                    1,
                    &mut acknowledged,
                )?;
                i += 1;
            }
            Ok(acknowledged)
        })
    };
    // The consumer stops once the producer has, at the end of the log.
    let produced_all = Arc::new(AtomicBool::new(false));
    let consumer = {
        let stop = Arc::clone(&produced_all);
        std::thread::spawn(move || -> Result<Vec<(i64, String)>> {
            let mut client = Client::connect(&address)?;
            let mut seen = Vec::new();
            let mut offset = 0;
            loop {
                let stopping = stop.load(Ordering::Relaxed);
                let fetched = client.fetch_partition(topic_id, moving, offset, 1 << 20)?;
                ensure!(
                    fetched.error_code == 0,
                    "fetch at {offset}: {}",
                    fetched.error_code
                );
                for decoded in
                    batch::decode_batches(fetched.records.as_deref().unwrap_or_default())?
                {
                    for record in &decoded.batch.records {
                        let value = String::from_utf8(record.value.clone().unwrap_or_default())?;
                        seen.push((
                            decoded.batch.base_offset + i64::from(record.offset_delta),
                            value,
                        ));
                    }
                    offset = decoded.last_offset() + 1;
                }
                if stopping && offset >= fetched.high_watermark {
                    return Ok(seen);
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    ensure!(
        move_partition(&mut client, "spread", moving, &jbod.dirs[1])? == 0,
        "the move was refused"
    );
    wait_moved(&mut client, "spread", moving, &jbod.dirs[1])?;
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let during = producer
        .join()
        .map_err(|_| anyhow::anyhow!("producer panicked"))??;
    produced_all.store(true, Ordering::Relaxed);
    let consumed = consumer
        .join()
        .map_err(|_| anyhow::anyhow!("consumer panicked"))??;
    ensure!(!during.is_empty(), "nothing produced during the move");
    acknowledged.extend(during);
    // The consumer saw each record once, at its offset, and everything.
    check_acknowledged(&consumed, &acknowledged)?;
    check_acknowledged(&read_all(&mut client, topic_id, moving)?, &acknowledged)?;
    ensure!(
        !partitions_in(&jbod.dirs[0], "spread")?.contains(&moving)
            && partitions_in(&jbod.dirs[1], "spread")?.contains(&moving),
        "the partition's directory did not move"
    );
    // The metadata log says where it went.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let states = metadata_log::partition_states(&metadata_log::read(&jbod.dirs[0])?, &topic_id);
        if states.get(&moving).and_then(|s| s.1.first()).map(text_id) == Some(id2.clone()) {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the move is not recorded: {:?}",
            states.get(&moving)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Bad moves: a relative path, an unknown directory, an unknown
    // partition, another broker's nothing; the broker keeps serving.
    let answer = ca::decode_alter_replica_log_dirs_response(&client.round_trip(
        &ca::alter_replica_log_dirs_request(
            9,
            &[
                ("disk1", vec![("spread", vec![1])]),
                ("/no/such/dir", vec![("spread", vec![2])]),
                (
                    absolute(&jbod.dirs[1]).as_str(),
                    vec![("spread", vec![PARTITIONS + 5])],
                ),
            ],
        ),
    )?)?;
    let mut answer = answer;
    answer.sort();
    ensure!(
        answer
            == [
                ("spread".to_string(), 1, 57),
                ("spread".to_string(), 2, 57),
                ("spread".to_string(), PARTITIONS + 5, 9),
            ],
        "{answer:?}"
    );
    Ok(())
}

#[test]
fn a_move_killed_midway_leaves_one_copy_and_loses_nothing() -> Result<()> {
    let mut jbod = harness::or_skip!(start(&[]));
    let mut client = jbod.broker.connect()?;
    let topic_id = create_topic(&mut client, "kill", 2)?;
    let source = if partitions_in(&jbod.dirs[0], "kill")?.contains(&0) {
        0
    } else {
        1
    };
    let target = 1 - source;
    // Enough data that the copy takes a while: 64 MiB in 256 KiB batches.
    let mut acknowledged = BTreeMap::new();
    let payload = "x".repeat(256 * 1024);
    for i in 0..256 {
        let value = format!("{i:05}{payload}");
        let answer = client.produce("kill", 0, RecordBatch::plain(&[&value]).encode())?;
        ensure!(answer.error_code == 0, "{answer:?}");
        acknowledged.insert(answer.base_offset, value);
    }
    ensure!(move_partition(&mut client, "kill", 0, &jbod.dirs[target])? == 0);
    jbod.broker.kill();
    let copies_before: Vec<String> = std::fs::read_dir(&jbod.dirs[target])?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("kill-0"))
        .collect();
    eprintln!("in the target directory at the kill: {copies_before:?}");
    jbod.broker.start_again()?;
    let mut client = jbod.broker.connect()?;
    // Whether the move finished, resumes or is done by now, exactly one
    // live copy, then (once no copy is being moved) exactly one directory.
    let live = |dirs: &[PathBuf; 2]| -> Result<usize> {
        let mut count = 0;
        for dir in dirs {
            count += usize::from(dir.join("kill-0").exists());
        }
        Ok(count)
    };
    ensure!(
        live(&jbod.dirs)? == 1,
        "after the kill (copies were {copies_before:?})"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let dirs = describe(&mut client)?;
        let futures = dirs
            .iter()
            .flat_map(|d| d.partitions.iter())
            .filter(|p| p.0 == "kill" && p.4)
            .count();
        if futures == 0 {
            break;
        }
        ensure!(Instant::now() < deadline, "the move never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    ensure!(live(&jbod.dirs)? == 1);
    for dir in &jbod.dirs {
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            ensure!(
                !(name.starts_with("kill-0.")
                    && (name.ends_with("-future") || name.ends_with("-delete"))),
                "{name} left in {}",
                dir.display()
            );
        }
    }
    check_acknowledged(&read_all(&mut client, topic_id, 0)?, &acknowledged)?;
    // And the partition takes appends where it now is.
    let answer = client.produce("kill", 0, RecordBatch::plain(&["after"]).encode())?;
    ensure!(answer.error_code == 0, "{answer:?}");
    Ok(())
}

/// The samples of `GET /metrics` whose series starts with `prefix`.
fn scrape(port: u16, prefix: &str) -> Result<Vec<(String, f64)>> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (_, body) = response.split_once("\r\n\r\n").context("no body")?;
    let mut samples = Vec::new();
    for line in body.lines().filter(|l| l.starts_with(prefix)) {
        let (series, value) = line.rsplit_once(' ').context("bad sample")?;
        samples.push((series.to_string(), value.parse()?));
    }
    Ok(samples)
}

#[test]
fn a_failed_directory_takes_only_its_partitions_offline() -> Result<()> {
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let metrics = format!("http://127.0.0.1:{metrics_port}");
    let mut jbod = harness::or_skip!(start(&[
        ("log.flush.offset.checkpoint.interval.ms", "200"),
        ("log.flush.scheduler.interval.ms", "100"),
        ("metrics.prometheus.listener", &metrics),
    ]));
    let offline_count = "kafka_log_log_manager_offline_log_directory_count";
    ensure!(scrape(metrics_port, offline_count)? == [(offline_count.to_string(), 0.0)]);
    let mut client = jbod.broker.connect()?;
    let topic_id = create_topic(&mut client, "fail", PARTITIONS)?;
    let healthy = partitions_in(&jbod.dirs[0], "fail")?;
    let failing = partitions_in(&jbod.dirs[1], "fail")?;
    ensure!(healthy.len() == 10 && failing.len() == 10);
    let mut acknowledged: BTreeMap<i32, BTreeMap<i64, String>> = BTreeMap::new();
    for p in 0..PARTITIONS {
        produce(
            &mut client,
            "fail",
            p,
            &format!("p{p}"),
            20,
            acknowledged.entry(p).or_default(),
        )?;
    }

    // The second disk goes away under the broker (as root, permissions
    // would not stop it; a directory renamed away fails every write
    // under its path).
    let gone = jbod.dirs[1].with_file_name("disk2.gone");
    std::fs::rename(&jbod.dirs[1], &gone)?;
    // Noticed at the next checkpoint, and logged.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !jbod
        .broker
        .output_since_start()
        .contains("Stopping serving logs in dir")
    {
        ensure!(Instant::now() < deadline, "the failure was not noticed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dirs = describe(&mut client)?;
    let failed = dirs
        .iter()
        .find(|d| d.log_dir == absolute(&jbod.dirs[1]))
        .context("the directory is not listed")?;
    ensure!(
        failed.error_code == KAFKA_STORAGE_ERROR && failed.partitions.is_empty(),
        "{failed:?}"
    );
    // The failed directory's partitions answer with Kafka's errors; the
    // others keep serving.
    for &p in &failing {
        let answer = client.produce("fail", p, RecordBatch::plain(&["lost?"]).encode())?;
        ensure!(
            [KAFKA_STORAGE_ERROR, NOT_LEADER_OR_FOLLOWER].contains(&answer.error_code),
            "partition {p}: {answer:?}"
        );
    }
    for &p in &healthy {
        produce(
            &mut client,
            "fail",
            p,
            &format!("after{p}"),
            5,
            acknowledged.entry(p).or_default(),
        )?;
    }
    // Metadata: the failed partitions lose their leader and show the
    // replica offline.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metadata = admin::decode_metadata_response(
            &client.round_trip(&admin::metadata_request(3, Some(&["fail"]), false, false))?,
        )?;
        let topic = metadata.topic("fail").context("no topic")?;
        let offline: Vec<i32> = topic
            .partitions
            .iter()
            .filter(|p| p.error_code == LEADER_NOT_AVAILABLE && p.offline_replicas == [1])
            .map(|p| p.partition_index)
            .collect();
        let mut offline = offline;
        offline.sort();
        if offline == failing {
            ensure!(
                topic
                    .partitions
                    .iter()
                    .filter(|p| healthy.contains(&p.partition_index))
                    .all(|p| p.error_code == 0 && p.leader_id == 1),
                "{topic:?}"
            );
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "offline partitions {offline:?}, expected {failing:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The metrics show it.
    ensure!(scrape(metrics_port, offline_count)? == [(offline_count.to_string(), 1.0)]);
    let mut per_dir = scrape(metrics_port, "kafka_log_log_manager_log_directory_offline")?;
    per_dir.sort_by(|a, b| a.0.cmp(&b.0));
    let expected = vec![
        (
            format!(
                "kafka_log_log_manager_log_directory_offline{{log_directory=\"{}\"}}",
                absolute(&jbod.dirs[0])
            ),
            0.0,
        ),
        (
            format!(
                "kafka_log_log_manager_log_directory_offline{{log_directory=\"{}\"}}",
                absolute(&jbod.dirs[1])
            ),
            1.0,
        ),
    ];
    ensure!(per_dir == expected, "{per_dir:?}");
    // A move into the failed directory is refused.
    ensure!(move_partition(&mut client, "fail", healthy[0], &jbod.dirs[1])? == KAFKA_STORAGE_ERROR);
    // Logged once.
    let output = jbod.broker.output_since_start();
    let logged = output.matches("Stopping serving logs in dir").count();
    ensure!(logged == 1, "the failure was logged {logged} times");

    // A restart with the disk still gone (a file where it was, so that it
    // cannot be created): the broker starts, the healthy partitions serve
    // everything, the others stay offline and get no empty log elsewhere.
    jbod.broker.stop()?;
    std::fs::write(&jbod.dirs[1], "not a directory")?;
    jbod.broker.start_again()?;
    let mut client = jbod.broker.connect()?;
    for &p in &healthy {
        check_acknowledged(&read_all(&mut client, topic_id, p)?, &acknowledged[&p])
            .with_context(|| format!("partition {p} with the disk gone"))?;
    }
    for &p in &failing {
        let answer = client.produce("fail", p, RecordBatch::plain(&["lost?"]).encode())?;
        ensure!(
            [KAFKA_STORAGE_ERROR, NOT_LEADER_OR_FOLLOWER].contains(&answer.error_code),
            "partition {p} after the restart: {answer:?}"
        );
    }
    ensure!(
        partitions_in(&jbod.dirs[0], "fail")? == healthy,
        "logs were made for the partitions of the missing directory"
    );

    // The disk comes back: after a restart every acknowledged record of
    // every partition is there and every partition has its leader again.
    jbod.broker.stop()?;
    std::fs::remove_file(&jbod.dirs[1])?;
    std::fs::rename(&gone, &jbod.dirs[1])?;
    jbod.broker.start_again()?;
    let mut client = jbod.broker.connect()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metadata = admin::decode_metadata_response(
            &client.round_trip(&admin::metadata_request(4, Some(&["fail"]), false, false))?,
        )?;
        let topic = metadata.topic("fail").context("no topic")?;
        if topic
            .partitions
            .iter()
            .all(|p| p.error_code == 0 && p.leader_id == 1)
        {
            break;
        }
        if Instant::now() >= deadline {
            bail!("partitions still without a leader: {topic:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in 0..PARTITIONS {
        check_acknowledged(&read_all(&mut client, topic_id, p)?, &acknowledged[&p])
            .with_context(|| format!("partition {p}"))?;
    }
    Ok(())
}
