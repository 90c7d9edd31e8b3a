//! Runs the built broker binary on a free port with its own
//! `server.properties`, waits until it answers requests, and stops it on
//! drop, so tests can run side by side.

use crate::client::Client;
use crate::fixture::{self, TopicSpec};
use anyhow::{Context, Result, bail};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(20);

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

/// A running broker. Killed (like a crash) when dropped.
pub struct Broker {
    child: Option<Child>,
    port: u16,
    log_dir: PathBuf,
    work_dir: tempfile::TempDir,
    extra_properties: Vec<(String, String)>,
    /// The temporary log directory of [`Broker::on_fixture`], removed after
    /// the broker is stopped.
    _fixture_dir: Option<tempfile::TempDir>,
}

impl Broker {
    /// Starts a broker on `log_dir`, which the caller may have filled with
    /// a fixture.
    pub fn start(log_dir: &Path) -> Result<Broker> {
        Self::start_with(log_dir, &[])
    }

    /// Starts a broker with extra `server.properties` entries.
    pub fn start_with(log_dir: &Path, extra: &[(&str, &str)]) -> Result<Broker> {
        let mut broker = Broker {
            child: None,
            port: 0,
            log_dir: log_dir.to_path_buf(),
            work_dir: tempfile::tempdir()?,
            extra_properties: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            _fixture_dir: None,
        };
        broker.launch()?;
        Ok(broker)
    }

    /// Starts a broker on a new temporary log directory holding `topics`.
    pub fn on_fixture(topics: &[TopicSpec]) -> Result<Broker> {
        Self::on_fixture_with(topics, &[])
    }

    /// [`Broker::on_fixture`] with extra `server.properties` entries.
    pub fn on_fixture_with(topics: &[TopicSpec], extra: &[(&str, &str)]) -> Result<Broker> {
        let dir = tempfile::tempdir()?;
        let log_dir = dir.path().join("kraft-combined-logs");
        fixture::write_log_dir(&log_dir, topics)?;
        let mut broker = Self::start_with(&log_dir, extra)?;
        broker._fixture_dir = Some(dir);
        Ok(broker)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn connect(&self) -> Result<Client> {
        Client::connect(&self.address())
    }

    /// What the broker wrote to stderr so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.work_dir.path().join("broker.log")).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Kills the broker without warning, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the broker and starts it again on the same log directory and
    /// port, so clients find it where it was.
    pub fn restart(&mut self) -> Result<()> {
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
            match self.launch_on(free_port()?) {
                Ok(()) => return Ok(()),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("broker did not start")))
    }

    fn launch_on(&mut self, port: u16) -> Result<()> {
        {
            let config = self.work_dir.path().join("server.properties");
            let mut properties = format!(
                "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@localhost:9093\n\
                 listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:0\n\
                 controller.listener.names=CONTROLLER\n\
                 listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n\
                 log.dirs={}\n",
                self.log_dir.display()
            );
            for (key, value) in &self.extra_properties {
                properties.push_str(&format!("{key}={value}\n"));
            }
            std::fs::write(&config, properties)?;
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.work_dir.path().join("broker.log"))?;
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
            let started = self.wait_until_listening();
            if started.is_err() {
                self.kill();
            }
            started
        }
    }

    fn wait_until_listening(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if !self.is_running() {
                bail!("broker exited during startup:\n{}", self.output());
            }
            if self.answers_requests() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        bail!(
            "broker did not listen within {START_TIMEOUT:?}:\n{}",
            self.output()
        )
    }
}

impl Broker {
    /// Whether the broker answers an ApiVersions request. A connection
    /// alone is not enough: the broker binds its port before it has
    /// recovered its logs, and accepts only once it has.
    fn answers_requests(&self) -> bool {
        let Ok(mut client) = Client::connect(&self.address()) else {
            return false;
        };
        client
            .round_trip(&crate::protocol::api_versions_request(0, 0))
            .is_ok_and(|response| !response.is_empty())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
