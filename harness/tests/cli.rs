//! The command line: `--help` and `--version`, and every way a start can
//! fail before the broker serves (bad arguments, a missing or malformed
//! `server.properties`, an unusable log directory, a taken port) exits
//! non-zero with one line on stderr and writes nothing to the log directory.

use assert_cmd::Command;
use harness::launcher::broker_binary;
use predicates::prelude::*;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Long enough for any failure; a broker that starts instead is killed.
const TIMEOUT: Duration = Duration::from_secs(30);

fn broker() -> Command {
    let mut command = Command::new(broker_binary());
    command.env_remove("RUST_LOG").timeout(TIMEOUT);
    command
}

/// A temporary directory holding `server.properties` with `properties`
/// plus a listener on a free port and `log.dirs` below the directory.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn log_dir(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    /// Writes `server.properties`: `properties` after a listener on any
    /// free port and the log directory, so `properties` can replace them.
    fn properties(&self, properties: &str) -> PathBuf {
        let path = self.dir.path().join("server.properties");
        std::fs::write(
            &path,
            format!(
                "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:0\nlog.dirs={}\n{properties}",
                self.log_dir().display()
            ),
        )
        .unwrap();
        path
    }
}

/// Runs `command`, which must fail with exactly one non-empty line on
/// stderr, nothing on stdout and nothing in `log_dir`; returns that line.
fn fails_with_one_line(command: &mut Command, log_dir: &Path) -> String {
    let output = command
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.trim().lines().collect();
    assert_eq!(lines.len(), 1, "stderr is not one line:\n{stderr}");
    let line = lines[0].trim();
    assert!(line.starts_with("error: "), "{line}");
    assert!(line.len() > "error: ".len(), "{line}");
    assert_log_dir_untouched(log_dir);
    line.to_string()
}

fn assert_log_dir_untouched(log_dir: &Path) {
    if log_dir.exists() {
        let entries: Vec<_> = std::fs::read_dir(log_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            entries.is_empty(),
            "{} holds {entries:?}",
            log_dir.display()
        );
    }
}

#[test]
fn help_goes_to_stdout_and_exits_zero() {
    broker()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage: broker"))
        .stdout(predicate::str::contains("--override <KEY=VALUE>"))
        .stderr(predicate::str::is_empty());
}

#[test]
fn version_goes_to_stdout_and_exits_zero() {
    broker()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("broker {}\n", env!("CARGO_PKG_VERSION")))
        .stderr(predicate::str::is_empty());
}

#[test]
fn a_missing_properties_file() {
    let setup = Setup::new();
    let missing = setup.dir.path().join("nope.properties");
    let line = fails_with_one_line(
        broker()
            .arg(&missing)
            .arg("--override")
            .arg(format!("log.dirs={}", setup.log_dir().display())),
        &setup.log_dir(),
    );
    assert_eq!(
        line,
        format!(
            "error: cannot open configuration file {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
}

#[test]
fn a_node_id_that_is_not_a_number() {
    let setup = Setup::new();
    let config = setup.properties("node.id=abc\n");
    let line = fails_with_one_line(broker().arg(&config), &setup.log_dir());
    assert_eq!(
        line,
        format!(
            "error: invalid configuration in {}: node.id=abc is not a valid number",
            config.display()
        )
    );
}

#[test]
fn a_listener_without_a_port() {
    let setup = Setup::new();
    let config = setup.properties("listeners=PLAINTEXT://localhost\n");
    let line = fails_with_one_line(broker().arg(&config), &setup.log_dir());
    assert_eq!(
        line,
        format!(
            "error: invalid configuration in {}: listeners: \"PLAINTEXT://localhost\" has no port",
            config.display()
        )
    );
}

#[test]
fn an_override_of_an_unknown_key() {
    let setup = Setup::new();
    let config = setup.properties("");
    let line = fails_with_one_line(
        broker().arg(&config).args(["--override", "no.such.key=1"]),
        &setup.log_dir(),
    );
    assert_eq!(
        line,
        "error: --override no.such.key=1: unknown configuration key \"no.such.key\""
    );
}

#[test]
fn an_override_of_an_unknown_key_without_a_properties_file() {
    let setup = Setup::new();
    let line = fails_with_one_line(
        broker().args([
            "--override",
            &format!("log.dirs={}", setup.log_dir().display()),
            "--override",
            "listeners=PLAINTEXT://127.0.0.1:0",
            "--override",
            "log.dir5=/elsewhere",
        ]),
        &setup.log_dir(),
    );
    assert!(line.contains("\"log.dir5\""), "{line}");
}

/// Unknown keys of the file are ignored with one warning line naming them;
/// Kafka's keys with no effect here with one warning line each.
#[test]
fn unknown_keys_in_the_properties_file_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut started = harness::Broker::start_with(
        &dir.path().join("logs"),
        &[
            ("no.such.key", "1"),
            ("other.tool.setting", "x"),
            ("num.network.threads", "8"),
        ],
    )
    .unwrap();
    assert!(started.is_running());
    let output = started.output();
    let warned = |what: &str| {
        output
            .lines()
            .filter(|l| l.contains("WARN") && l.contains(what))
            .count()
    };
    assert_eq!(warned("no.such.key, other.tool.setting"), 1, "{output}");
    assert_eq!(
        warned("num.network.threads is set but has no effect"),
        1,
        "{output}"
    );
}

/// A Kafka key that turns on something this broker does not have stops
/// the start, naming the key, before anything is written.
#[test]
fn a_key_that_turns_on_what_the_broker_lacks() {
    let setup = Setup::new();
    let config = setup.properties("remote.log.storage.system.enable=true\n");
    let line = fails_with_one_line(broker().arg(&config), &setup.log_dir());
    let expected = format!(
        "error: invalid configuration in {}: remote.log.storage.system.enable=true is not supported: ",
        config.display()
    );
    assert!(line.starts_with(&expected), "{line}");
    // Its default value is accepted.
    let line = fails_with_one_line(
        broker().arg(setup.properties("remote.log.storage.system.enable=false\nnode.id=x\n")),
        &setup.log_dir(),
    );
    assert!(line.ends_with("node.id=x is not a valid number"), "{line}");
}

#[test]
fn an_override_without_a_value() {
    let setup = Setup::new();
    let config = setup.properties("");
    let line = fails_with_one_line(
        broker().arg(&config).args(["--override", "foo"]),
        &setup.log_dir(),
    );
    assert!(line.contains("'foo'"), "{line}");
    assert!(line.contains("KEY=VALUE"), "{line}");
}

#[test]
fn an_unwritable_log_directory() {
    // Below a regular file: no one can create it, not even root.
    let setup = Setup::new();
    let file = setup.dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let log_dir = file.join("logs");
    let config = setup.properties(&format!("log.dirs={}\n", log_dir.display()));
    let line = fails_with_one_line(broker().arg(&config), &log_dir);
    assert_eq!(
        line,
        format!(
            "error: cannot create log directory {}: {} is not a directory",
            log_dir.display(),
            file.display()
        )
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"");
}

#[test]
fn a_port_already_in_use() {
    let setup = Setup::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = setup.properties(&format!("listeners=PLAINTEXT://127.0.0.1:{port}\n"));
    let line = fails_with_one_line(broker().arg(&config), &setup.log_dir());
    assert_eq!(
        line,
        format!(
            "error: cannot listen on 127.0.0.1:{port} (listener PLAINTEXT): Address already in use (os error 98)"
        )
    );
    assert!(!setup.log_dir().exists(), "the log directory was created");
    drop(taken);
}

#[test]
fn a_metrics_port_already_in_use() {
    let setup = Setup::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let kafka_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = setup.properties(&format!(
        "listeners=PLAINTEXT://127.0.0.1:{kafka_port}\nmetrics.prometheus.listener=http://127.0.0.1:{port}\n"
    ));
    let line = fails_with_one_line(broker().arg(&config), &setup.log_dir());
    assert_eq!(
        line,
        format!(
            "error: cannot listen on 127.0.0.1:{port} (metrics.prometheus.listener): Address already in use (os error 98)"
        )
    );
    assert!(!setup.log_dir().exists(), "the log directory was created");
    drop(taken);
}
