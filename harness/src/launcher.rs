//! Runs the built broker binary on a free port with its own
//! `server.properties`, waits until it answers requests, and stops it on
//! drop, so tests can run side by side. [`Broker::builder`] adds listeners
//! besides PLAINTEXT (SSL, or a name mapped to a security protocol), each
//! on a free port of its own that it keeps across restarts.
//!
//! With `HARNESS_BOOTSTRAP=host:port` in the environment the same tests
//! certify another broker instead: nothing is started, every [`Broker`] is
//! that address, topics a test seeds are created through CreateTopics and
//! Produce under names unique to the test ([`Broker::topic`]), and
//! `HARNESS_LOG_DIR` names its log directory where a check reads files. A
//! test that needs what only its own broker can give (a configuration, a
//! restart, a log directory laid out beforehand) is skipped: it prints
//! `skipped: <test>: <why>` and passes (see [`or_skip!`](crate::or_skip)).

use crate::admin::{self, CreatableTopic};
use crate::client::{Client, TlsClientOptions};
use crate::fixture::{self, NODE_ID, TopicSpec};
use crate::protocol;
use crate::wire::Uuid;
use anyhow::{Context, Result, bail, ensure};
use std::collections::HashMap;
use std::fmt;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long [`Broker::stop`] waits for the broker to exit after SIGTERM
/// (the broker itself gives connections 10 s to finish).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The broker binary: `$BROKER_BIN`, or the workspace's debug build, built
/// once per test process.
pub fn broker_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("BROKER_BIN") {
            return PathBuf::from(path);
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the harness lives in the workspace");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--package", "broker", "--bin", "broker"])
            .current_dir(workspace)
            .status()
            .expect("running cargo build for the broker");
        assert!(status.success(), "building the broker failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        target.join("debug").join("broker")
    })
}

/// The broker under test when it is not ours: `HARNESS_BOOTSTRAP` and
/// `HARNESS_LOG_DIR`.
#[derive(Debug, Clone)]
pub struct External {
    pub bootstrap: String,
    pub log_dir: Option<PathBuf>,
}

/// The external broker named in the environment, if any.
pub fn external() -> Option<&'static External> {
    static EXTERNAL: OnceLock<Option<External>> = OnceLock::new();
    EXTERNAL
        .get_or_init(|| {
            let bootstrap = std::env::var("HARNESS_BOOTSTRAP").ok()?;
            let bootstrap = bootstrap.trim().to_string();
            if bootstrap.is_empty() {
                return None;
            }
            let log_dir = std::env::var_os("HARNESS_LOG_DIR")
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from);
            Some(External { bootstrap, log_dir })
        })
        .as_ref()
}

/// Why a test cannot run against an external broker. Tests turn it into a
/// skip with [`or_skip!`](crate::or_skip).
#[derive(Debug, Clone)]
pub struct Skip(pub String);

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Skip {}

/// Fails with [`Skip`] when the tests run against an external broker: for
/// a test that needs the harness's own broker (`why` says for what).
pub fn own_broker_only(why: &str) -> Result<()> {
    match external() {
        Some(_) => Err(Skip(why.to_string()).into()),
        None => Ok(()),
    }
}

/// Unwraps a `Result`; when it failed with [`Skip`], prints
/// `skipped: <test>: <why>` and returns `Ok(())` from the test.
#[macro_export]
macro_rules! or_skip {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(error) => {
                let error: ::anyhow::Error = error.into();
                match error.downcast_ref::<$crate::launcher::Skip>() {
                    Some(skip) => {
                        $crate::launcher::report_skip(skip);
                        return Ok(());
                    }
                    None => return Err(error.into()),
                }
            }
        }
    };
}

/// Prints the line that says a test was skipped, and why.
pub fn report_skip(skip: &Skip) {
    say(&format!("skipped: {}: {skip}", test_name()));
}

/// The running test's name (libtest names its threads after the tests).
fn test_name() -> String {
    std::thread::current().name().unwrap_or("test").to_string()
}

/// Writes a line to stderr past libtest's output capture, so that it shows
/// for tests that pass too.
fn say(line: &str) {
    use std::io::Write;
    // One write, so that the line does not mix with libtest's output.
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

thread_local! {
    /// The name suffix of the test running on this thread.
    static SUFFIX: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// [`Broker::name`] of the broker this test (thread) started last: for
/// helpers that build requests without the broker at hand.
pub fn unique(name: &str) -> String {
    SUFFIX.with(|suffix| format!("{name}{}", suffix.borrow()))
}

/// A running broker: one the harness started (killed, like a crash, when
/// dropped), or the external broker under test.
pub struct Broker {
    child: Option<Child>,
    port: u16,
    log_dir: PathBuf,
    work_dir: tempfile::TempDir,
    extra_properties: Vec<(String, String)>,
    /// The temporary log directory of [`Broker::on_fixture`], removed after
    /// the broker is stopped.
    _fixture_dir: Option<tempfile::TempDir>,
    /// Set for the external broker under test.
    external: Option<&'static External>,
    /// Appended to every topic name of this test on an external broker, so
    /// that tests and runs do not meet.
    topic_suffix: String,
    /// Ids of the topics seeded by [`Broker::on_fixture`], by given name.
    topic_ids: HashMap<String, Uuid>,
    /// Length of `broker.log` when the broker was last started.
    output_mark: usize,
    /// Listeners besides PLAINTEXT ([`BrokerBuilder::listener`]).
    listeners: Vec<Listener>,
    /// The host `advertised.listeners` gives for PLAINTEXT, when the
    /// broker is told to advertise hosts of its own.
    advertised_plaintext_host: Option<String>,
}

/// A listener besides PLAINTEXT, on a port of its own that it keeps
/// across restarts.
#[derive(Debug, Clone)]
struct Listener {
    /// Its name, upper case as in `listeners`.
    name: String,
    /// Its security protocol in `listener.security.protocol.map`.
    protocol: String,
    /// Its host in `advertised.listeners`, if it has one of its own.
    advertised_host: Option<String>,
    port: u16,
}

/// How a broker with more listeners than PLAINTEXT is started
/// ([`Broker::builder`]): the launcher writes `listeners`,
/// `listener.security.protocol.map` (each listener with its protocol) and,
/// when a host is advertised, `advertised.listeners`, every listener on a
/// free port of its own.
#[derive(Debug, Clone, Default)]
pub struct BrokerBuilder {
    topics: Vec<TopicSpec>,
    properties: Vec<(String, String)>,
    listeners: Vec<Listener>,
    advertised_plaintext_host: Option<String>,
}

impl BrokerBuilder {
    /// Topics the log directory holds when the broker starts.
    pub fn topics(mut self, topics: &[TopicSpec]) -> BrokerBuilder {
        self.topics.extend(topics.iter().cloned());
        self
    }

    /// An extra `server.properties` entry.
    pub fn property(mut self, key: &str, value: &str) -> BrokerBuilder {
        self.properties.push((key.to_string(), value.to_string()));
        self
    }

    /// Extra `server.properties` entries.
    pub fn properties(mut self, properties: &[(&str, &str)]) -> BrokerBuilder {
        for (key, value) in properties {
            self = self.property(key, value);
        }
        self
    }

    /// A listener `name` whose security protocol is its name (`SSL`,
    /// `SASL_PLAINTEXT`, `SASL_SSL`).
    pub fn listener(self, name: &str) -> BrokerBuilder {
        self.listener_as(name, name)
    }

    /// A listener `name` of security `protocol` (`EXTERNAL` as `SSL`).
    pub fn listener_as(mut self, name: &str, protocol: &str) -> BrokerBuilder {
        let name = name.to_ascii_uppercase();
        assert!(
            name != "PLAINTEXT" && name != "CONTROLLER",
            "the launcher writes the {name} listener itself"
        );
        assert!(
            !self.listeners.iter().any(|l| l.name == name),
            "listener {name} given twice"
        );
        self.listeners.push(Listener {
            name,
            protocol: protocol.to_ascii_uppercase(),
            advertised_host: None,
            port: 0,
        });
        self
    }

    /// A setting of one listener alone:
    /// `listener.name.<listener, lower case>.<key>=<value>`.
    pub fn listener_property(self, listener: &str, key: &str, value: &str) -> BrokerBuilder {
        let key = format!("listener.name.{}.{key}", listener.to_ascii_lowercase());
        self.property(&key, value)
    }

    /// Has `advertised.listeners` give `host` for `listener` (`PLAINTEXT`
    /// or one added here); the others keep 127.0.0.1. Without this call
    /// no `advertised.listeners` is written.
    pub fn advertised_host(mut self, listener: &str, host: &str) -> BrokerBuilder {
        let name = listener.to_ascii_uppercase();
        if name == "PLAINTEXT" {
            self.advertised_plaintext_host = Some(host.to_string());
        } else {
            let listener = self
                .listeners
                .iter_mut()
                .find(|l| l.name == name)
                .unwrap_or_else(|| panic!("no listener {name} to advertise (add it first)"));
            listener.advertised_host = Some(host.to_string());
        }
        self
    }

    /// Starts the broker on a new temporary log directory holding the
    /// topics. A test that needs this is skipped on an external broker.
    pub fn start(self) -> Result<Broker> {
        own_broker_only("starts the broker with listeners and configuration of its own")?;
        let dir = tempfile::tempdir()?;
        let log_dir = dir.path().join("kraft-combined-logs");
        fixture::write_log_dir(&log_dir, &self.topics)?;
        let extra: Vec<(&str, &str)> = self
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut broker = Broker::unstarted(&log_dir, &extra, None)?;
        broker.listeners = self.listeners;
        broker.advertised_plaintext_host = self.advertised_plaintext_host;
        broker.topic_ids = self.topics.iter().map(|t| (t.name.clone(), t.id)).collect();
        broker._fixture_dir = Some(dir);
        broker.launch()?;
        Ok(broker)
    }
}

impl Broker {
    /// Starts a broker on `log_dir`, which the caller may have filled with
    /// a fixture.
    pub fn start(log_dir: &Path) -> Result<Broker> {
        Self::start_with(log_dir, &[])
    }

    /// Starts a broker with extra `server.properties` entries.
    pub fn start_with(log_dir: &Path, extra: &[(&str, &str)]) -> Result<Broker> {
        own_broker_only("starts the broker on a log directory of its own")?;
        let mut broker = Broker::unstarted(log_dir, extra, None)?;
        broker.launch()?;
        Ok(broker)
    }

    fn unstarted(
        log_dir: &Path,
        extra: &[(&str, &str)],
        external: Option<&'static External>,
    ) -> Result<Broker> {
        Ok(Broker {
            child: None,
            port: 0,
            log_dir: log_dir.to_path_buf(),
            work_dir: tempfile::tempdir()?,
            extra_properties: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            _fixture_dir: None,
            external,
            topic_suffix: String::new(),
            topic_ids: HashMap::new(),
            output_mark: 0,
            listeners: Vec::new(),
            advertised_plaintext_host: None,
        })
    }

    /// A broker with more listeners than PLAINTEXT, or other settings
    /// ([`BrokerBuilder`]).
    pub fn builder() -> BrokerBuilder {
        BrokerBuilder::default()
    }

    /// Starts a broker on a new temporary log directory holding `topics`,
    /// with a listener for each of `listeners` besides PLAINTEXT: its name
    /// (the security protocol too, or `NAME:PROTOCOL`, as in
    /// `EXTERNAL:SSL`) and its own settings, written as
    /// `listener.name.<name, lower case>.<key>`.
    pub fn with_listeners(
        topics: &[TopicSpec],
        listeners: &[(&str, &[(&str, &str)])],
    ) -> Result<Broker> {
        let mut builder = Broker::builder().topics(topics);
        for (listener, properties) in listeners {
            let (name, protocol) = listener.split_once(':').unwrap_or((listener, listener));
            builder = builder.listener_as(name, protocol);
            for (key, value) in *properties {
                builder = builder.listener_property(name, key, value);
            }
        }
        builder.start()
    }

    /// Starts a broker on a new temporary log directory holding `topics`.
    pub fn on_fixture(topics: &[TopicSpec]) -> Result<Broker> {
        Self::on_fixture_with(topics, &[])
    }

    /// [`Broker::on_fixture`] with extra `server.properties` entries.
    ///
    /// On an external broker the topics are created and their batches
    /// produced instead; extra properties cannot be set there, so a test
    /// that needs them is skipped.
    pub fn on_fixture_with(topics: &[TopicSpec], extra: &[(&str, &str)]) -> Result<Broker> {
        if let Some(external) = external() {
            if !extra.is_empty() {
                let keys: Vec<&str> = extra.iter().map(|(k, _)| *k).collect();
                bail!(Skip(format!(
                    "needs broker configuration ({})",
                    keys.join(", ")
                )));
            }
            return Broker::seed_external(external, topics);
        }
        let dir = tempfile::tempdir()?;
        let log_dir = dir.path().join("kraft-combined-logs");
        fixture::write_log_dir(&log_dir, topics)?;
        let mut broker = Self::start_with(&log_dir, extra)?;
        broker.topic_ids = topics.iter().map(|t| (t.name.clone(), t.id)).collect();
        broker._fixture_dir = Some(dir);
        Ok(broker)
    }

    /// [`Broker::on_fixture_with`] where the extra properties only make
    /// the test quicker on the harness's own broker (shorter rebalance
    /// delays, fewer partitions of internal topics): an external broker is
    /// used with its own configuration instead of skipping the test.
    pub fn on_fixture_tuned(topics: &[TopicSpec], tuning: &[(&str, &str)]) -> Result<Broker> {
        match external() {
            Some(external) => Broker::seed_external(external, topics),
            None => Self::on_fixture_with(topics, tuning),
        }
    }

    /// The external broker with `topics` created through the protocol.
    fn seed_external(external: &'static External, topics: &[TopicSpec]) -> Result<Broker> {
        static SEQUENCE: AtomicU32 = AtomicU32::new(0);
        let mut broker = Broker::unstarted(
            external.log_dir.as_deref().unwrap_or(Path::new("")),
            &[],
            Some(external),
        )?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
        broker.topic_suffix = format!(
            "-h{:x}{:x}{}",
            std::process::id(),
            now.as_millis() % 0x10_0000,
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        SUFFIX.with(|suffix| suffix.replace(broker.topic_suffix.clone()));
        if let Some((_, port)) = external.bootstrap.rsplit_once(':') {
            broker.port = port
                .parse()
                .with_context(|| format!("HARNESS_BOOTSTRAP={}: bad port", external.bootstrap))?;
        }
        for topic in topics {
            if topic.partitions.iter().enumerate().any(|(i, p)| {
                p.index != i as i32
                    || p.leader != NODE_ID
                    || p.leader_epoch != 0
                    || p.replicas != [NODE_ID]
                    || p.isr != [NODE_ID]
            }) {
                bail!(Skip(format!(
                    "seeds partitions of {} with a leader, epoch or replicas that cannot be set through the protocol",
                    topic.name
                )));
            }
        }
        for topic in topics {
            for partition in &topic.partitions {
                let mut seen = std::collections::HashSet::new();
                for batch in &partition.batches {
                    // producerId (i64) at byte 43, baseSequence (i32) at 53.
                    let header = batch.get(43..57).context("fixture batch too short")?;
                    let producer_id = i64::from_be_bytes(header[..8].try_into()?);
                    if producer_id >= 0 && !seen.insert(header.to_vec()) {
                        bail!(Skip(format!(
                            "seeds {}-{} with batches Produce would drop as duplicates (producer {producer_id}, same sequence)",
                            topic.name, partition.index
                        )));
                    }
                }
            }
        }
        if topics.is_empty() {
            return Ok(broker);
        }
        let mut client = broker.connect()?;
        let creatable: Vec<CreatableTopic> = topics
            .iter()
            .map(|t| CreatableTopic::new(&broker.topic(&t.name), t.partitions.len() as i32, 1))
            .collect();
        let created = admin::decode_create_topics_response(
            &client.round_trip(&admin::create_topics_request(1, &creatable, 30_000, false))?,
        )
        .context("seeding topics with CreateTopics")?;
        for topic in topics {
            let name = broker.topic(&topic.name);
            let result = created
                .topic(&name)
                .with_context(|| format!("CreateTopics did not answer for {name}"))?;
            ensure!(
                result.error_code == 0,
                "seeding {name}: CreateTopics error {} {:?}",
                result.error_code,
                result.error_message
            );
            broker.topic_ids.insert(topic.name.clone(), result.topic_id);
        }
        for topic in topics {
            let name = broker.topic(&topic.name);
            for partition in &topic.partitions {
                for batch in &partition.batches {
                    let request = protocol::produce_request_v11(
                        2,
                        -1,
                        &[(name.clone(), vec![(partition.index, Some(batch.clone()))])],
                    );
                    let response =
                        protocol::decode_produce_response_v11(&client.round_trip(&request)?)?;
                    let produced = response
                        .partition(&name, partition.index)
                        .with_context(|| format!("seeding {name}-{}", partition.index))?;
                    ensure!(
                        produced.error_code == 0,
                        "seeding {name}-{}: Produce error {}",
                        partition.index,
                        produced.error_code
                    );
                }
            }
        }
        Ok(broker)
    }

    /// The name a test's topic has on this broker: `name` itself on the
    /// harness's own broker, `name` with a suffix unique to the test on an
    /// external one.
    pub fn topic(&self, name: &str) -> String {
        self.name(name)
    }

    /// A test's name for anything that lives on the broker across tests
    /// (a topic, a group, a transactional id): `name` itself on the
    /// harness's own broker, unique to the test on an external one.
    pub fn name(&self, name: &str) -> String {
        format!("{name}{}", self.topic_suffix)
    }

    /// The id of a topic seeded by [`Broker::on_fixture`] (given by its
    /// fixture name).
    pub fn topic_id(&self, name: &str) -> Uuid {
        match self.topic_ids.get(name) {
            Some(id) => *id,
            None => panic!("{name} is not a seeded topic"),
        }
    }

    /// The broker's node id: the fixture's on the harness's own broker; on
    /// an external one, the one its Metadata response gives itself.
    pub fn node_id(&self) -> Result<i32> {
        if self.external.is_none() {
            return Ok(NODE_ID);
        }
        let mut client = self.connect()?;
        let response = admin::decode_metadata_response(
            &client.round_trip(&admin::metadata_request(1, Some(&[]), false, false))?,
        )?;
        match response.brokers.as_slice() {
            [one] => Ok(one.node_id),
            brokers => bail!("a single-node broker lists brokers {brokers:?}"),
        }
    }

    /// Whether this is an external broker.
    pub fn is_external(&self) -> bool {
        self.external.is_some()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of listener `name` (`PLAINTEXT` is [`Broker::port`]).
    /// Panics when the broker has no such listener.
    pub fn listener_port(&self, name: &str) -> u16 {
        if name.eq_ignore_ascii_case("PLAINTEXT") {
            return self.port;
        }
        match self
            .listeners
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
        {
            Some(listener) => listener.port,
            None => panic!("the broker has no listener {name}"),
        }
    }

    /// `127.0.0.1:<port>` of listener `name` ([`Broker::listener_port`]).
    pub fn listener_address(&self, name: &str) -> String {
        if name.eq_ignore_ascii_case("PLAINTEXT") {
            return self.address();
        }
        format!("127.0.0.1:{}", self.listener_port(name))
    }

    /// The names of the listeners besides PLAINTEXT, in order.
    pub fn listener_names(&self) -> Vec<String> {
        self.listeners.iter().map(|l| l.name.clone()).collect()
    }

    /// Connects to listener `name` over TLS ([`Client::connect_tls`]).
    pub fn connect_tls(&self, listener: &str, options: &TlsClientOptions) -> Result<Client> {
        Client::connect_tls(&self.listener_address(listener), options)
    }

    /// The broker's log directory. On an external broker it is
    /// `HARNESS_LOG_DIR`; a check that reads files goes through
    /// [`Broker::files`] instead, so that it can be skipped without one.
    pub fn log_dir(&self) -> &Path {
        match self.external {
            Some(External { log_dir: None, .. }) => {
                panic!("this check reads the broker's files: set HARNESS_LOG_DIR")
            }
            _ => &self.log_dir,
        }
    }

    /// The log directory, when its files can be read: always on the
    /// harness's own broker, with `HARNESS_LOG_DIR` on an external one.
    /// Without it, says that the check is skipped.
    pub fn files(&self) -> Option<&Path> {
        match self.external {
            Some(External { log_dir: None, .. }) => {
                self.skip_checks("they read the broker's files (set HARNESS_LOG_DIR)");
                None
            }
            _ => Some(&self.log_dir),
        }
    }

    /// Whether checks that hold only for the harness's own broker apply:
    /// true there; on an external broker false, after saying (once per
    /// test and reason) that they are skipped and why.
    pub fn own_checks(&self, why: &str) -> bool {
        if self.external.is_none() {
            return true;
        }
        self.skip_checks(why);
        false
    }

    fn skip_checks(&self, why: &str) {
        thread_local!(static SAID: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) });
        let first = SAID.with(|said| {
            let mut said = said.borrow_mut();
            let first = !said.iter().any(|w| w == why);
            if first {
                said.push(why.to_string());
            }
            first
        });
        if first {
            say(&format!("skipped checks: {}: {why}", test_name()));
        }
    }

    /// The host clients are told to connect to (as in `address`).
    pub fn host(&self) -> String {
        let address = self.address();
        let host = address
            .rsplit_once(':')
            .map_or(&address[..], |(host, _)| host);
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string()
    }

    pub fn address(&self) -> String {
        match self.external {
            Some(external) => external.bootstrap.clone(),
            None => format!("127.0.0.1:{}", self.port),
        }
    }

    pub fn connect(&self) -> Result<Client> {
        Client::connect(&self.address())
    }

    /// What the broker wrote to stderr so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.work_dir.path().join("broker.log")).unwrap_or_default()
    }

    /// What the broker wrote to stderr since it was last started.
    pub fn output_since_start(&self) -> String {
        let output = self.output();
        output
            .get(self.output_mark..)
            .unwrap_or_default()
            .to_string()
    }

    /// The last line of [`Broker::output`] that contains `message`.
    pub fn last_output_line(&self, message: &str) -> Option<String> {
        self.output()
            .lines()
            .rev()
            .find(|line| line.contains(message))
            .map(str::to_string)
    }

    /// Whether the process is still running (an external broker: whether
    /// it accepts connections).
    pub fn is_running(&mut self) -> bool {
        if self.external.is_some() {
            return TcpStream::connect(self.address()).is_ok();
        }
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Kills the broker without warning, as a crash would. An external
    /// broker is left alone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the broker gracefully: SIGTERM, then waits for it to exit
    /// (killing it after a timeout, which is an error, as is a failing exit
    /// status). A test that stops the broker is skipped on an external one.
    pub fn stop(&mut self) -> Result<()> {
        own_broker_only("stops the broker")?;
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .context("running kill -TERM")?;
        if !status.success() {
            let _ = child.kill();
            let _ = child.wait();
            bail!("kill -TERM {} failed: {status}", child.id());
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                ensure!(
                    status.success(),
                    "broker exited with {status} after SIGTERM:\n{}",
                    self.output_since_start()
                );
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "broker did not exit within {STOP_TIMEOUT:?} of SIGTERM:\n{}",
                    self.output_since_start()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the broker gracefully ([`Broker::stop`]) and starts it again
    /// on the same log directory and port.
    pub fn restart_after_stop(&mut self) -> Result<()> {
        self.stop()?;
        self.start_again()
    }

    /// Kills the broker and starts it again on the same log directory and
    /// port, so clients find it where it was. A test that restarts the
    /// broker is skipped on an external one.
    pub fn restart(&mut self) -> Result<()> {
        own_broker_only("restarts the broker")?;
        self.kill();
        self.start_again()
    }

    /// Starts a stopped or killed broker again on the same log directory
    /// and port (a running one is killed first).
    pub fn start_again(&mut self) -> Result<()> {
        own_broker_only("restarts the broker")?;
        self.kill();
        let port = self.port;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.launch_on(port) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn launch(&mut self) -> Result<()> {
        let mut last_error = None;
        // A free port can be taken between probing and binding: retry.
        for _ in 0..5 {
            let mut ports = free_ports(1 + self.listeners.len())?;
            for (listener, port) in self.listeners.iter_mut().zip(ports.split_off(1)) {
                listener.port = port;
            }
            match self.launch_on(ports[0]) {
                Ok(()) => return Ok(()),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("broker did not start")))
    }

    fn launch_on(&mut self, port: u16) -> Result<()> {
        {
            let config = self.work_dir.path().join("server.properties");
            let mut listeners = format!("PLAINTEXT://127.0.0.1:{port}");
            let mut protocols = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT".to_string();
            for listener in &self.listeners {
                listeners.push_str(&format!(",{}://127.0.0.1:{}", listener.name, listener.port));
                protocols.push_str(&format!(",{}:{}", listener.name, listener.protocol));
            }
            let mut properties = format!(
                "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@localhost:9093\n\
                 listeners={listeners},CONTROLLER://127.0.0.1:0\n\
                 controller.listener.names=CONTROLLER\n\
                 listener.security.protocol.map={protocols}\n\
                 log.dirs={}\n",
                self.log_dir.display()
            );
            if self.advertised_plaintext_host.is_some()
                || self.listeners.iter().any(|l| l.advertised_host.is_some())
            {
                let host = |h: &Option<String>| h.clone().unwrap_or_else(|| "127.0.0.1".into());
                let mut advertised = format!(
                    "PLAINTEXT://{}:{port}",
                    host(&self.advertised_plaintext_host)
                );
                for listener in &self.listeners {
                    advertised.push_str(&format!(
                        ",{}://{}:{}",
                        listener.name,
                        host(&listener.advertised_host),
                        listener.port
                    ));
                }
                properties.push_str(&format!("advertised.listeners={advertised}\n"));
            }
            for (key, value) in &self.extra_properties {
                properties.push_str(&format!("{key}={value}\n"));
            }
            std::fs::write(&config, properties)?;
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.work_dir.path().join("broker.log"))?;
            self.output_mark = log.metadata()?.len() as usize;
            let child = Command::new(broker_binary())
                .arg(&config)
                .env(
                    "RUST_LOG",
                    std::env::var("BROKER_LOG").unwrap_or_else(|_| "info".into()),
                )
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", broker_binary().display()))?;
            self.child = Some(child);
            self.port = port;
            let started = self.wait_until_serving();
            if started.is_err() {
                self.kill();
            }
            started
        }
    }

    fn wait_until_serving(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if !self.is_running() {
                bail!("broker exited during startup:\n{}", self.output());
            }
            if self.answers_requests() && self.listeners_accept() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        bail!(
            "broker did not answer within {START_TIMEOUT:?}:\n{}",
            self.output()
        )
    }
}

impl Broker {
    /// Whether the broker answers an ApiVersions request. A connection
    /// alone is not enough: the broker binds its port before it has
    /// recovered its logs, and serves only once it has.
    fn answers_requests(&self) -> bool {
        let Ok(mut client) = Client::connect(&self.address()) else {
            return false;
        };
        client
            .round_trip(&protocol::api_versions_request(0, 0))
            .is_ok_and(|response| !response.is_empty())
    }

    /// Whether every listener besides PLAINTEXT accepts connections (a
    /// connection is opened and closed at once: no request is sent, as a
    /// listener may want TLS or SASL first).
    fn listeners_accept(&self) -> bool {
        self.listeners
            .iter()
            .all(|l| TcpStream::connect(("127.0.0.1", l.port)).is_ok())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `key=value` fields of a log line, as the broker's tracing output
/// writes them (`... loaded logs logs=3 clean_shutdown=true ...`).
pub fn log_line_fields(line: &str) -> HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|token| token.split_once('='))
        .map(|(key, value)| (key.to_string(), value.trim_matches('"').to_string()))
        .collect()
}

/// `count` distinct free ports (all bound at once while probing).
fn free_ports(count: usize) -> Result<Vec<u16>> {
    let probes = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    probes
        .iter()
        .map(|probe| Ok(probe.local_addr()?.port()))
        .collect()
}
