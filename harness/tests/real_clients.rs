//! Unmodified Kafka clients against the built broker: kcat (Debian's 1.7.1
//! on librdkafka 2.0.2), confluent-kafka (the newest librdkafka),
//! kafka-python, kafkajs, and aiokafka (the asyncio client: its idempotent
//! producer, codecs, group sharing, transactions and topic admin). Each
//! test here starts a broker of its own, runs one scenario with one client
//! and shows the client's and the broker's output when it fails.
//!
//! The scenarios live in `e2e/`, run through one entry point per language
//! (with `e2e/` as the working directory): `clients.py <client> <scenario>
//! <bootstrap> [args]` for kcat, confluent-kafka and kafka-python, and
//! `clients.js <scenario> <bootstrap> [args]` for kafkajs, and `python -m aio
//! <scenario> <bootstrap> [args]` for aiokafka. Each entry point
//! only names the scenarios and runs one; they are in:
//!
//! - `e2e/common.py`: what every Python scenario shares (`fail`, `check`,
//!   `TIMEOUT`, the record set, `Library`, `bounded`...);
//! - `e2e/kcat.py`: the kcat client and its versions of the scenarios;
//! - `e2e/confluent/`: the confluent-kafka client (`client.py`), its halves
//!   of the scenarios that differ by library (`admin.py`,
//!   `transactional.py`, `acls.py`) and what only it runs: KIP-848
//!   consumer groups (`kip848.py`, `consumer_protocol.py`,
//!   `consumer_protocol_restart.py`), transactions across a broker kill
//!   (`transactions_restart.py`) and share groups (`share_groups.py`);
//! - `e2e/kafka_python/`: the kafka-python client (`client.py`) and its
//!   halves of those scenarios (`admin.py`, `transactional.py`, `acls.py`);
//! - `e2e/scenarios/`: the scenarios the Python clients share, by feature:
//!   `records.py` (round trips, idempotence, codecs, offsets by time,
//!   restart, across clients), `groups.py`, `admin.py` (topic admin,
//!   cluster metadata), `cleanup.py` (retention, compaction),
//!   `transactions.py`, `security.py`, `acls.py`;
//! - `e2e/kafkajs/`: the kafkajs scenarios by the same features
//!   (`records.js`, `groups.js`, `admin.js`, `cleanup.js`,
//!   `transactions.js`, `security.js`, `acls.js`), their shared helpers in
//!   `common.js`;
//! - `e2e/aio/`: the aiokafka client (`client.py`) and its scenarios
//!   (`records.py`, `groups.py`, `transactions.py`, `admin.py`), on
//!   `e2e/common.py`'s `fail` and `check`.
//!
//! The clients are installed by `ci/install.sh` (kcat from apt, the Python
//! packages into `e2e/.venv`, kafkajs into `e2e/node_modules`).

use anyhow::{Context, Result, bail, ensure};
use harness::batch::scan_batch_headers;
use harness::fixture::{TopicSpec, log_file};
use harness::wire::uuid;
use harness::{Broker, or_skip};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longer than any scenario's own waits, so a scenario reports its failure
/// itself; a client that hangs past this is killed.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// Settings for tests: groups form without Kafka's 3 s initial delay.
const PROPERTIES: &[(&str, &str)] = &[("group.initial.rebalance.delay.ms", "0")];

#[derive(Clone, Copy, Debug)]
enum Client {
    Kcat,
    Confluent,
    KafkaPython,
    Kafkajs,
    Aiokafka,
}

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness lives in the workspace")
        .join("e2e")
}

impl Client {
    fn command(self) -> Result<Command> {
        let e2e = e2e_dir();
        let python = e2e.join(".venv/bin/python");
        let missing = |what: &str| {
            anyhow::anyhow!("{what} is not installed: run ci/install.sh (it installs the clients)")
        };
        match self {
            Client::Kafkajs => {
                if !e2e.join("node_modules/kafkajs").is_dir() {
                    return Err(missing("kafkajs (e2e/node_modules)"));
                }
                let mut command = Command::new("node");
                command.arg("clients.js");
                Ok(command)
            }
            _ => {
                if !python.is_file() {
                    return Err(missing("the Python virtualenv e2e/.venv"));
                }
                if matches!(self, Client::Kcat) && Command::new("kcat").arg("-V").output().is_err()
                {
                    return Err(missing("kcat"));
                }
                let mut command = Command::new(python);
                match self {
                    Client::Aiokafka => command.args(["-m", "aio"]),
                    Client::Kcat => command.args(["clients.py", "kcat"]),
                    Client::Confluent => command.args(["clients.py", "confluent"]),
                    _ => command.args(["clients.py", "kafka-python"]),
                };
                Ok(command)
            }
        }
    }

    /// Runs `scenario` against `broker`; fails with the client's output and
    /// the broker's log when the scenario fails or hangs.
    fn run(self, broker: &Broker, scenario: &str, args: &[&str]) -> Result<()> {
        let out = tempfile::tempfile()?;
        let mut command = self.command()?;
        command
            .arg(scenario)
            .arg(broker.address())
            .args(args)
            .current_dir(e2e_dir())
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out.try_clone()?);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        let deadline = Instant::now() + SCENARIO_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let output = read_all(out)?;
        match status {
            Some(status) if status.success() => Ok(()),
            _ => bail!(
                "{self:?} {scenario} {args:?} {}\n--- client output ---\n{output}\n--- broker log ---\n{}",
                status.map_or("timed out".to_string(), |s| s.to_string()),
                broker.output()
            ),
        }
    }
}

fn read_all(mut file: std::fs::File) -> Result<String> {
    use std::io::{Read, Seek};
    file.rewind()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

fn broker() -> Result<Broker> {
    Broker::on_fixture_with(&[], PROPERTIES)
}

fn cluster_id(broker: &Broker) -> Result<String> {
    let properties = std::fs::read_to_string(broker.log_dir().join("meta.properties"))?;
    properties
        .lines()
        .find_map(|line| line.strip_prefix("cluster.id="))
        .map(str::to_string)
        .context("no cluster.id in meta.properties")
}

/// Runs one scenario on a broker of its own.
fn scenario(client: Client, scenario: &str, args: &[&str]) -> Result<()> {
    let broker = or_skip!(broker());
    client.run(&broker, scenario, args)
}

/// The codecs scenario, then a look at the partition logs: each codec's
/// topic holds batches compressed with it, stored as the client sent them.
fn codecs(client: Client, names: &[&str]) -> Result<()> {
    let broker = or_skip!(broker());
    let mut args = vec!["codecs"];
    args.extend_from_slice(names);
    client.run(&broker, "codecs", &args)?;
    for name in names {
        let codec = match *name {
            "gzip" => 1,
            "snappy" => 2,
            "lz4" => 3,
            "zstd" => 4,
            other => bail!("unknown codec {other}"),
        };
        let topic = format!("codecs-{name}");
        let bytes = std::fs::read(log_file(broker.log_dir(), &topic, 0))?;
        let batches = scan_batch_headers(&bytes).with_context(|| format!("log of {topic}"))?;
        ensure!(
            batches.iter().any(|b| b.compression() == codec),
            "no {name} batch in {topic}: compression {:?}",
            batches.iter().map(|b| b.compression()).collect::<Vec<_>>()
        );
        let mut next = 0;
        for batch in &batches {
            ensure!(
                batch.base_offset == next,
                "{topic}: batch at {}, expected {next}",
                batch.base_offset
            );
            next = batch.base_offset + i64::from(batch.last_offset_delta) + 1;
        }
    }
    Ok(())
}

/// Records acknowledged and offsets committed before the broker is killed
/// (like a crash) are there when it is back on the same port.
fn restart(client: Client) -> Result<()> {
    let mut broker = or_skip!(broker());
    client.run(&broker, "restart-produce", &["restart", "50"])?;
    client.run(&broker, "restart-commit", &["restart", "20"])?;
    broker.restart()?;
    client.run(&broker, "restart-verify", &["restart", "50", "20"])
}

fn metadata(client: Client) -> Result<()> {
    let topic = TopicSpec::new("described", uuid(0xd35c), 3);
    let broker = or_skip!(Broker::on_fixture_with(&[topic], PROPERTIES));
    let cluster = cluster_id(&broker)?;
    client.run(&broker, "metadata", &["described", "3", &cluster])
}

/// Records produced by one client, read back record by record by another.
fn across(producer: Client, consumer: Client) -> Result<()> {
    let broker = or_skip!(broker());
    producer.run(&broker, "produce-set", &["shared"])?;
    let timestamps = if matches!(producer, Client::Kcat) {
        "no" // kcat cannot set record timestamps
    } else {
        "yes"
    };
    consumer.run(&broker, "consume-set", &["shared", "verify", timestamps])
}

macro_rules! client_tests {
    ($module:ident, $client:expr, codecs: [$($codec:literal),*]) => {
        mod $module {
            use super::*;

            #[test]
            fn roundtrip() -> Result<()> {
                scenario($client, "roundtrip", &["roundtrip"])
            }

            #[test]
            fn group_commits_stops_and_resumes() -> Result<()> {
                scenario($client, "group-commit", &["group-commit"])
            }

            #[test]
            fn idempotent_producer() -> Result<()> {
                scenario($client, "idempotent", &["idempotent"])
            }

            #[test]
            fn compression_codecs() -> Result<()> {
                codecs($client, &[$($codec),*])
            }

            #[test]
            fn list_offsets_earliest_latest_and_by_time() -> Result<()> {
                scenario($client, "list-offsets", &["list-offsets"])
            }

            #[test]
            fn cluster_metadata() -> Result<()> {
                metadata($client)
            }

            #[test]
            fn broker_restart_keeps_records_and_commits() -> Result<()> {
                restart($client)
            }
        }
    };
}

client_tests!(kcat, Client::Kcat, codecs: ["gzip", "snappy", "lz4", "zstd"]);
client_tests!(confluent, Client::Confluent, codecs: ["gzip", "snappy", "lz4", "zstd"]);
client_tests!(kafka_python, Client::KafkaPython, codecs: ["gzip", "snappy", "lz4", "zstd"]);
// kafkajs ships gzip; snappy is its pure-JavaScript plugin (the lz4 and
// zstd plugins need native builds).
client_tests!(kafkajs, Client::Kafkajs, codecs: ["gzip", "snappy"]);

/// aiokafka's scenarios of records (its group sharing, transactions and
/// topic admin are with the other clients' below): an idempotent producer's
/// records, several batches in flight, read back once each at contiguous
/// offsets; each codec (cramjam's snappy, lz4 and zstd) as in
/// [`codecs`].
mod aiokafka {
    use super::*;

    #[test]
    fn idempotent_producer() -> Result<()> {
        scenario(Client::Aiokafka, "idempotent", &["idempotent"])
    }

    #[test]
    fn compression_codecs() -> Result<()> {
        codecs(Client::Aiokafka, &["gzip", "snappy", "lz4", "zstd"])
    }
}

/// Two consumers share a group's partitions; one leaves and the other takes
/// over from the committed offsets.
mod group_sharing {
    use super::*;

    #[test]
    fn confluent() -> Result<()> {
        scenario(Client::Confluent, "share", &["share"])
    }

    #[test]
    fn kafka_python() -> Result<()> {
        scenario(Client::KafkaPython, "share", &["share"])
    }

    #[test]
    fn kafkajs() -> Result<()> {
        scenario(Client::Kafkajs, "share", &["share"])
    }

    #[test]
    fn aiokafka() -> Result<()> {
        scenario(Client::Aiokafka, "share", &["share"])
    }

    /// kcat cannot create topics: the four-partition topic comes from the
    /// fixture.
    #[test]
    fn kcat() -> Result<()> {
        let broker = or_skip!(Broker::on_fixture_with(
            &[TopicSpec::new("share", uuid(0x5ba7e), 4)],
            PROPERTIES
        ));
        Client::Kcat.run(&broker, "share", &["share"])
    }
}

/// Create (also validate-only), describe, grow and delete topics with each
/// client's admin API (kcat has none).
mod topic_admin {
    use super::*;

    #[test]
    fn confluent() -> Result<()> {
        scenario(Client::Confluent, "admin", &["admin"])
    }

    #[test]
    fn kafka_python() -> Result<()> {
        scenario(Client::KafkaPython, "admin", &["admin"])
    }

    #[test]
    fn kafkajs() -> Result<()> {
        scenario(Client::Kafkajs, "admin", &["admin"])
    }

    #[test]
    fn aiokafka() -> Result<()> {
        scenario(Client::Aiokafka, "admin", &["admin"])
    }
}

/// Leader elections and partition reassignments on one node: kafka-python's
/// `elect_leaders`, `list_partition_reassignments` and
/// `alter_partition_reassignments`, confluent-kafka's `elect_leaders`.
mod partition_admin {
    use super::*;

    #[test]
    fn confluent() -> Result<()> {
        scenario(Client::Confluent, "partition-admin", &["partition-admin"])
    }

    #[test]
    fn kafka_python() -> Result<()> {
        scenario(Client::KafkaPython, "partition-admin", &["partition-admin"])
    }
}

/// OffsetDelete through kafka-python's `delete_group_offsets`, on a
/// classic group (a kafka-python member) and a KIP-848 one (a
/// confluent-kafka member).
mod group_offsets_admin {
    use super::*;

    #[test]
    fn kip848_member() -> Result<()> {
        scenario(
            Client::Confluent,
            "group-offsets-admin",
            &["group-offsets-admin"],
        )
    }

    #[test]
    fn classic_member() -> Result<()> {
        scenario(
            Client::KafkaPython,
            "group-offsets-admin",
            &["group-offsets-admin"],
        )
    }
}

/// DescribeQuorum, ApiVersions' features, UpdateFeatures and
/// ListConfigResources through kafka-python's `describe_metadata_quorum`,
/// `describe_features`, `update_features` and `list_config_resources`.
#[test]
fn kafka_python_cluster_admin() -> Result<()> {
    scenario(Client::KafkaPython, "cluster-admin", &["cluster-admin"])
}

/// Two log directories and a partition moved between them under a
/// producer, through kafka-python's `describe_log_dirs` and
/// `alter_replica_log_dirs`.
#[test]
fn kafka_python_log_dirs_admin() -> Result<()> {
    or_skip!(harness::launcher::own_broker_only(
        "starts the broker with two log directories"
    ));
    let root = tempfile::tempdir()?;
    let dirs = [root.path().join("disk1"), root.path().join("disk2")];
    let log_dirs = format!("{},{}", dirs[0].display(), dirs[1].display());
    let mut properties = PROPERTIES.to_vec();
    properties.push(("log.dirs", &log_dirs));
    let broker = Broker::start_with(&dirs[0], &properties)?;
    Client::KafkaPython.run(&broker, "log-dirs-admin", &["log-dirs-admin"])
}

/// Runs `scenario` against a broker that checks retention every 200 ms,
/// removes deleted segments at once, and takes `extra` properties.
fn scenario_with(client: Client, scenario: &str, extra: &[(&str, &str)]) -> Result<()> {
    let mut properties = PROPERTIES.to_vec();
    properties.extend([
        ("log.retention.check.interval.ms", "200"),
        ("log.segment.delete.delay.ms", "0"),
    ]);
    properties.extend_from_slice(extra);
    let broker = or_skip!(Broker::on_fixture_with(&[], &properties));
    client.run(&broker, scenario, &[scenario])
}

/// Alter a topic's retention with each client's admin API and see old data
/// go, a consumer from the start begin at the new log start, the override
/// described and reset, and DeleteRecords move the start (kcat has no
/// admin API). The broker checks retention every 200 ms here.
mod retention {
    use super::*;

    fn run(client: Client) -> Result<()> {
        scenario_with(client, "retention", &[])
    }

    #[test]
    fn confluent() -> Result<()> {
        run(Client::Confluent)
    }

    #[test]
    fn kafka_python() -> Result<()> {
        run(Client::KafkaPython)
    }

    #[test]
    fn kafkajs() -> Result<()> {
        run(Client::Kafkajs)
    }
}

/// A compacted topic with each client's admin API, producer and consumer:
/// many versions of a few keys and a tombstone, and a consumer from the
/// start sees only the last version of each key, at the offset it was
/// produced at, and the deleted key gone (kcat cannot create topics with
/// configs). The cleaner backs off 100 ms here.
mod compaction {
    use super::*;

    fn run(client: Client) -> Result<()> {
        scenario_with(client, "compaction", &[("log.cleaner.backoff.ms", "100")])
    }

    #[test]
    fn confluent() -> Result<()> {
        run(Client::Confluent)
    }

    #[test]
    fn kafka_python() -> Result<()> {
        run(Client::KafkaPython)
    }

    #[test]
    fn kafkajs() -> Result<()> {
        run(Client::Kafkajs)
    }
}

/// Settings for the transaction tests, on top of [`PROPERTIES`]: a
/// transaction state log for a single node (Kafka's default replication
/// factor 3 needs three brokers), and timed-out transactions looked for
/// every second rather than every 10 s.
const TRANSACTION_PROPERTIES: &[(&str, &str)] = &[
    ("transaction.state.log.replication.factor", "1"),
    ("transaction.state.log.min.isr", "1"),
    (
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        "1000",
    ),
];

/// KIP-98 transactions and KIP-447 exactly-once processing with each
/// client's transactional producer (kcat has none): committed and aborted
/// transactions as read_committed and read_uncommitted consumers see them;
/// a consume-transform-produce loop whose outputs are seen once each and
/// whose offsets, sent with its transactions, are the group's committed
/// offsets (with confluent-kafka, an aborted transaction of the loop
/// leaves neither); a zombie producer fenced by a newer one with its
/// transactional id.
mod transactions {
    use super::*;

    fn transactional_broker() -> Result<Broker> {
        let mut properties = PROPERTIES.to_vec();
        properties.extend_from_slice(TRANSACTION_PROPERTIES);
        Broker::on_fixture_with(&[], &properties)
    }

    fn run(client: Client) -> Result<()> {
        let broker = or_skip!(transactional_broker());
        client.run(&broker, "transactions", &["transactions"])
    }

    #[test]
    fn confluent() -> Result<()> {
        run(Client::Confluent)
    }

    #[test]
    fn kafka_python() -> Result<()> {
        run(Client::KafkaPython)
    }

    #[test]
    fn kafkajs() -> Result<()> {
        run(Client::Kafkajs)
    }

    /// A hanging transaction (a kafka-python producer's, left open) found
    /// with `find_hanging_transactions` and aborted with
    /// `abort_transaction` (WriteTxnMarkers): read_committed consumers
    /// then read past it.
    #[test]
    fn kafka_python_aborts_a_hanging_transaction() -> Result<()> {
        let broker = or_skip!(transactional_broker());
        Client::KafkaPython.run(&broker, "abort-hanging", &["abort-hanging"])
    }

    /// Committed and aborted transactions (its consume-transform-produce
    /// and fencing are not in `e2e/aio/transactions.py`), and a
    /// transaction still open: not read_committed, the last stable offset
    /// at its first record.
    #[test]
    fn aiokafka() -> Result<()> {
        run(Client::Aiokafka)
    }

    /// A transaction left open (its records flushed, the producer gone)
    /// when the broker is killed, as a crash would, is aborted by the
    /// broker once the producer's transaction.timeout.ms (5 s) expires
    /// after the restart: a read_committed consumer then reaches the end
    /// of the log having seen the committed transaction's records alone,
    /// a read_uncommitted one sees both, and the transactional id commits
    /// again with a new producer.
    #[test]
    fn confluent_open_transaction_aborted_after_restart() -> Result<()> {
        let mut broker = or_skip!(transactional_broker());
        let args = ["transactions-restart", "20", "7"];
        Client::Confluent.run(&broker, "transactions-restart-open", &args)?;
        broker.restart()?;
        Client::Confluent.run(&broker, "transactions-restart-verify", &args)
    }

    /// Consume-transform-produce stays exactly-once across a kill -9 of
    /// the broker: half the inputs are processed in committed
    /// transactions, a transaction with outputs and offsets is left open,
    /// the broker is killed and started again, and a new instance of the
    /// processor finishes. The outputs, read_committed, are one per input,
    /// and the group's committed offset is the number of inputs.
    #[test]
    fn confluent_exactly_once_across_a_broker_kill() -> Result<()> {
        let mut broker = or_skip!(transactional_broker());
        let args = ["eos-restart", "100"];
        Client::Confluent.run(&broker, "eos-restart-first", &args)?;
        broker.restart()?;
        Client::Confluent.run(&broker, "eos-restart-second", &args)
    }
}

/// Each client reads what another wrote, in a ring through all four.
mod across_clients {
    use super::*;

    #[test]
    fn kcat_to_confluent() -> Result<()> {
        across(Client::Kcat, Client::Confluent)
    }

    #[test]
    fn confluent_to_kafkajs() -> Result<()> {
        across(Client::Confluent, Client::Kafkajs)
    }

    #[test]
    fn kafkajs_to_kafka_python() -> Result<()> {
        across(Client::Kafkajs, Client::KafkaPython)
    }

    #[test]
    fn kafka_python_to_kcat() -> Result<()> {
        across(Client::KafkaPython, Client::Kcat)
    }
}

/// SSL, mutual TLS, SASL_PLAINTEXT and SASL_SSL listeners as each client
/// is configured for them. One broker per test with PLAINTEXT (for the
/// admin clients), `SSL` (a server certificate), `MTLS` (SSL with
/// `ssl.client.auth=required` and the CA as its truststore),
/// `SASL_PLAINTEXT` and `SASL_SSL` (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512;
/// PLAIN's users in each listener's JAAS configuration, SCRAM's made with
/// AlterUserScramCredentials). Over each, records are produced and consumed
/// in a group; a wrong password, an unknown SCRAM user, a client trusting
/// another CA and a client without a certificate on MTLS are refused. The
/// certificates are made when the test runs ([`harness::tls`]).
mod security {
    use super::*;
    use harness::tls::{self, CertificateFiles};

    /// The PLAIN users of both SASL listeners (as
    /// `e2e/scenarios/security.py` and `e2e/kafkajs/security.js` expect
    /// them).
    const JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
                        user_alice=\"alice-secret\";";

    struct Secured {
        broker: Broker,
        files: CertificateFiles,
        _dir: tempfile::TempDir,
    }

    impl Secured {
        /// The scenario's arguments: certificate paths and listener
        /// addresses, as key=value pairs.
        fn args(&self) -> Vec<String> {
            let f = &self.files;
            let path = |p: &Path| p.display().to_string();
            let mut args = vec![
                format!("ca={}", path(&f.ca)),
                format!("cert={}", path(&f.client_cert)),
                format!("key={}", path(&f.client_key)),
                format!("other_ca={}", path(&f.other_ca)),
            ];
            for (key, listener) in [
                ("ssl", "SSL"),
                ("mtls", "MTLS"),
                ("sasl_plaintext", "SASL_PLAINTEXT"),
                ("sasl_ssl", "SASL_SSL"),
            ] {
                args.push(format!("{key}={}", self.broker.listener_address(listener)));
            }
            args
        }
    }

    fn secured_broker() -> Result<Secured> {
        let dir = tempfile::tempdir()?;
        let files = tls::generate_into(dir.path())?;
        let path = |p: &Path| p.display().to_string();
        let mut builder = Broker::builder()
            .properties(PROPERTIES)
            .listener("SSL")
            .listener_as("MTLS", "SSL")
            .listener("SASL_PLAINTEXT")
            .listener("SASL_SSL")
            .property("ssl.keystore.type", "PEM")
            .property("ssl.keystore.location", &path(&files.server))
            .property(
                "sasl.enabled.mechanisms",
                "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            )
            .listener_property("MTLS", "ssl.client.auth", "required")
            .listener_property("MTLS", "ssl.truststore.type", "PEM")
            .listener_property("MTLS", "ssl.truststore.location", &path(&files.ca));
        for listener in ["SASL_PLAINTEXT", "SASL_SSL"] {
            builder = builder.listener_property(listener, "plain.sasl.jaas.config", JAAS);
        }
        let broker = builder.start()?;
        Ok(Secured {
            broker,
            files,
            _dir: dir,
        })
    }

    /// The security scenario with `client`; `scram_users_first` has
    /// confluent-kafka's admin client make the SCRAM users beforehand, for
    /// the clients without an API for them (kcat, kafkajs).
    fn run(client: Client, scram_users_first: bool) -> Result<()> {
        let secured = or_skip!(secured_broker());
        let args = secured.args();
        let mut scenario_args = vec!["security"];
        scenario_args.extend(args.iter().map(String::as_str));
        if scram_users_first {
            Client::Confluent.run(&secured.broker, "scram-users", &[])?;
        }
        client.run(&secured.broker, "security", &scenario_args)
    }

    #[test]
    fn kcat() -> Result<()> {
        run(Client::Kcat, true)
    }

    #[test]
    fn confluent() -> Result<()> {
        run(Client::Confluent, false)
    }

    #[test]
    fn kafka_python() -> Result<()> {
        run(Client::KafkaPython, false)
    }

    #[test]
    fn kafkajs() -> Result<()> {
        run(Client::Kafkajs, true)
    }
}

/// ACL authorization as each client's users meet it (kcat has no admin
/// API): a broker with Kafka's StandardAuthorizer, `super.users=User:admin`
/// and `allow.everyone.if.no.acl.found=false`, and a SASL_PLAINTEXT
/// listener with the PLAIN users `admin` and `alice`. As admin the scenario
/// creates a topic, alice's produce to it is refused
/// (TOPIC_AUTHORIZATION_FAILED); admin allows her WRITE (literal) and READ
/// (prefixed) on it and READ on her group with the client's CreateAcls,
/// DescribeAcls shows those, and she produces and consumes them in her
/// group; in a group without an ACL she is refused
/// (GROUP_AUTHORIZATION_FAILED); her own CreateAcls is refused
/// (CLUSTER_AUTHORIZATION_FAILED); admin's DeleteAcls with a filter removes
/// the ACLs and her produce is refused again.
mod acls {
    use super::*;

    /// The PLAIN users of the SASL_PLAINTEXT listener (as
    /// `e2e/scenarios/acls.py` and `e2e/kafkajs/acls.js` expect them).
    const JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
                        user_admin=\"admin-secret\" user_alice=\"alice-secret\";";

    fn authorizing_broker() -> Result<Broker> {
        Broker::builder()
            .properties(PROPERTIES)
            .listener("SASL_PLAINTEXT")
            .property("sasl.enabled.mechanisms", "PLAIN")
            .listener_property("SASL_PLAINTEXT", "plain.sasl.jaas.config", JAAS)
            .property(
                "authorizer.class.name",
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            )
            .property("super.users", "User:admin")
            .property("allow.everyone.if.no.acl.found", "false")
            .start()
    }

    fn run(client: Client) -> Result<()> {
        let broker = or_skip!(authorizing_broker());
        let address = format!(
            "sasl_plaintext={}",
            broker.listener_address("SASL_PLAINTEXT")
        );
        client.run(&broker, "acls", &["acls", &address])
    }

    #[test]
    fn confluent() -> Result<()> {
        run(Client::Confluent)
    }

    #[test]
    fn kafka_python() -> Result<()> {
        run(Client::KafkaPython)
    }

    #[test]
    fn kafkajs() -> Result<()> {
        run(Client::Kafkajs)
    }
}

/// KIP-848 consumer groups (`group.protocol=consumer`) with
/// confluent-kafka (librdkafka 2.16; kcat's librdkafka 2.0.2 predates
/// them, and kafkajs 2.2.4 and kafka-python 3.0.12 have no client for
/// them). One broker per test whose groups heartbeat every 500 ms and time
/// out after 6 s (`group.consumer.*`; the broker's minimums are lowered
/// with them). The scenarios are in `e2e/confluent/consumer_protocol.py`
/// and, for the restart, `e2e/confluent/consumer_protocol_restart.py`.
mod consumer_protocol {
    use super::*;
    use harness::consumer_groups::{
        DescribedConsumerGroup, consumer_group_describe_request,
        decode_consumer_group_describe_response,
    };

    /// Settings for these tests, on top of [`PROPERTIES`].
    const CONSUMER_GROUP_PROPERTIES: &[(&str, &str)] = &[
        ("group.consumer.heartbeat.interval.ms", "500"),
        ("group.consumer.min.heartbeat.interval.ms", "500"),
        ("group.consumer.session.timeout.ms", "6000"),
        ("group.consumer.min.session.timeout.ms", "6000"),
    ];

    fn consumer_group_broker() -> Result<Broker> {
        let mut properties = PROPERTIES.to_vec();
        properties.extend_from_slice(CONSUMER_GROUP_PROPERTIES);
        Broker::on_fixture_with(&[], &properties)
    }

    fn run(part: &str) -> Result<()> {
        let broker = or_skip!(consumer_group_broker());
        Client::Confluent.run(&broker, "consumer-protocol", &["consumer-protocol", part])
    }

    /// `group` as ConsumerGroupDescribe v1 gives it, once the coordinator
    /// answers without an error (it may still be loading after a start).
    fn describe(broker: &Broker, group: &str) -> Result<DescribedConsumerGroup> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let described = broker.connect().and_then(|mut client| {
                let request = consumer_group_describe_request(1, 1, &[group], false);
                let response =
                    decode_consumer_group_describe_response(&client.round_trip(&request)?, 1)?;
                response
                    .group(group)
                    .cloned()
                    .context("the group is not in the response")
            });
            match described {
                Ok(g) if g.error_code == 0 => return Ok(g),
                other if Instant::now() >= deadline => {
                    bail!(
                        "describing {group}: {other:?}\n--- broker log ---\n{}",
                        broker.output()
                    )
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// One consumer reads all 400 records of a 4-partition topic, each
    /// once, in order within each partition.
    #[test]
    fn confluent_one_consumer_reads_everything() -> Result<()> {
        run("read-all")
    }

    /// Two consumers share the 4 partitions 2/2, committing each record
    /// synchronously; one leaves (close()) while records keep coming, the
    /// other takes over its partitions from the committed offsets: across
    /// both, every record is read exactly once.
    #[test]
    fn confluent_two_consumers_share_and_hand_over() -> Result<()> {
        run("share")
    }

    /// A subscription to `^regex-.*` picks up a matching topic created
    /// after the consumer subscribed, and leaves one that does not match.
    #[test]
    fn confluent_regex_subscription_picks_up_a_new_topic() -> Result<()> {
        run("regex")
    }

    /// The AdminClient lists the group with type CONSUMER (ListGroups v5,
    /// also filtered by type) and describes it (ConsumerGroupDescribe):
    /// its members and their assignments, as the members have them.
    #[test]
    fn confluent_admin_lists_and_describes_the_group() -> Result<()> {
        run("admin")
    }

    /// A consumer processes part of each partition of a 4-partition topic
    /// (220 of 400 records), committing each record, leaves what it
    /// fetched past that unprocessed, and its process ends without
    /// leaving the group; the broker
    /// is killed (SIGKILL) and started again. The group comes back from
    /// `__consumer_offsets` as it was (epochs, the member, its assignment),
    /// and a new consumer of the group, once the old member has timed
    /// out, reads the rest from the committed offsets: nothing lost,
    /// nothing read twice.
    #[test]
    fn confluent_resumes_across_a_broker_kill() -> Result<()> {
        let mut broker = or_skip!(consumer_group_broker());
        let dir = tempfile::tempdir()?;
        let state = dir.path().join("phase-1.json");
        let state = state
            .to_str()
            .context("a temporary path that is not UTF-8")?;
        let args = ["consumer-protocol-restart", state];
        let group = "consumer-protocol-restart-readers";
        Client::Confluent.run(&broker, "consumer-protocol-restart-first", &args)?;
        let before = describe(&broker, group)?;
        ensure!(
            before.members.len() == 1 && before.members[0].member_epoch > 0,
            "before the kill, {group} is {before:#?}"
        );
        broker.restart()?;
        let after = describe(&broker, group)?;
        ensure!(
            after == before,
            "after the restart {group} is\n{after:#?}\nbefore the kill it was\n{before:#?}"
        );
        Client::Confluent.run(&broker, "consumer-protocol-restart-second", &args)?;
        let last = describe(&broker, group)?;
        ensure!(
            last.members.is_empty() && last.group_epoch > before.group_epoch,
            "at the end {group} is {last:#?} (before the kill its epoch was {})",
            before.group_epoch
        );
        Ok(())
    }
}

/// Share groups (KIP-932) with confluent-kafka's `ShareConsumer`
/// (librdkafka 2.16). One broker per test, on the Kafka 4.0 fixture (whose
/// metadata log has `share.version` 0, so `group.share.enable` turns
/// share groups on), whose share groups lock records for 15 s; the
/// scenarios are in `e2e/confluent/share_groups.py`.
mod share_groups {
    use super::*;

    const SHARE_PROPERTIES: &[(&str, &str)] = &[
        ("group.share.enable", "true"),
        ("group.share.record.lock.duration.ms", "15000"),
        ("group.share.heartbeat.interval.ms", "1000"),
        ("group.share.min.heartbeat.interval.ms", "1000"),
    ];

    fn share_broker() -> Result<Broker> {
        let mut properties = PROPERTIES.to_vec();
        properties.extend_from_slice(SHARE_PROPERTIES);
        Broker::on_fixture_with(&[], &properties)
    }

    fn run(part: &str) -> Result<()> {
        let broker = or_skip!(share_broker());
        Client::Confluent.run(&broker, "share-groups", &[part, &format!("share-{part}")])
    }

    /// Two share consumers of one group on a 2-partition topic together
    /// accept each of 1 000 records exactly once.
    #[test]
    fn confluent_two_share_consumers_accept_each_record_once() -> Result<()> {
        run("two-consumers")
    }

    /// A consumer that closes holding records it did not acknowledge: the
    /// other consumer gets them, delivered a second time.
    #[test]
    fn confluent_unacknowledged_records_go_to_the_other_consumer() -> Result<()> {
        run("close-unacknowledged")
    }

    /// RELEASE delivers a record again with a higher delivery count;
    /// REJECT and ACCEPT never again.
    #[test]
    fn confluent_release_redelivers_and_reject_does_not() -> Result<()> {
        run("release-and-reject")
    }

    /// A share group and a consumer group read one topic independently.
    #[test]
    fn confluent_share_group_and_consumer_group_read_independently() -> Result<()> {
        run("with-consumer-group")
    }

    /// A consumer accepts 100 of 200 records and holds more acquired; the
    /// broker is killed (SIGKILL) and started again. A new consumer of the
    /// group gets every record not accepted before the kill, none that
    /// was, and those held at the kill with their delivery counted.
    #[test]
    fn confluent_acknowledgements_survive_a_broker_kill() -> Result<()> {
        let mut broker = or_skip!(share_broker());
        let dir = tempfile::tempdir()?;
        let state = dir.path().join("phase-1.json");
        let state = state
            .to_str()
            .context("a temporary path that is not UTF-8")?;
        let args = ["kill-first", "share-kill", state];
        Client::Confluent.run(&broker, "share-groups", &args)?;
        broker.restart()?;
        let args = ["kill-second", "share-kill", state];
        Client::Confluent.run(&broker, "share-groups", &args)
    }
}
