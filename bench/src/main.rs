//! Benchmark of any Kafka-compatible broker, through librdkafka (`rdkafka`).
//! Prints a line about the machine and the broker, then one Markdown table
//! (measurement | result) on stdout; progress goes to stderr.
//!
//! ```sh
//! cargo build --release --manifest-path bench/Cargo.toml
//! # a broker that is already running:
//! bench/target/release/bench --bootstrap 127.0.0.1:9092
//! # a broker the bench starts, stops and kills itself (needed for the
//! # restart, move and RSS rows):
//! bench/target/release/bench --port 39092 --log-dir /tmp/logs --broker-log /tmp/broker.log \
//!     --broker-cmd "target/release/broker --override listeners=PLAINTEXT://127.0.0.1:39092 --override log.dirs=/tmp/logs"
//! # the same with two log directories, for the move rows (--log-dir once
//! # for each):
//! bench/target/release/bench --port 39092 --log-dir /tmp/logs --log-dir /tmp/logs2 \
//!     --broker-cmd "target/release/broker --override listeners=PLAINTEXT://127.0.0.1:39092 --override log.dirs=/tmp/logs,/tmp/logs2"
//! # CI smoke (sizes / 100), or a subset of the rows:
//! bench/target/release/bench --quick
//! bench/target/release/bench --only produce,consume,transactions
//! # the tls rows against a broker that already has an SSL listener:
//! bench/target/release/bench --only tls --ssl-bootstrap 127.0.0.1:9093 --ssl-ca ca.pem
//! ```
//!
//! Rows: produce throughput (1 KiB and 100 B values, acks=1 and all, 1 and 4
//! partitions), consume throughput from the page cache, produce (1 KiB,
//! acks=1 and all, 1 partition) and consume throughput over an SSL listener
//! next to the same over PLAINTEXT (certificates made at bench time; see
//! `tls.rs`), transactional
//! produce throughput (the same values and partitions, 100 records per
//! transaction) with commit latency, latency of a light paced producer alone
//! and beside a heavy one, log compaction of 1 GB of 1 KiB records over
//! 10 k keys (the cleaner's MB/s, read from the log directories' files;
//! needs --log-dir, given for each of the broker's directories) and the
//! light producer's latency while the cleaner runs, the move of a 1 GiB
//! partition to another log directory (AlterReplicaLogDirs, polled with
//! DescribeLogDirs; needs --broker-cmd and a broker with two log
//! directories; see `dir_move.rs`) and the light producer's latency during
//! it, restart time with data on disk after SIGTERM and after kill -9 (page
//! cache dropped), and the broker's peak RSS.
//! `ci/bench.sh` runs it against this repository's broker.

mod broker;
mod compaction;
mod consume;
mod dir_move;
mod kafka;
mod latency;
mod log_dirs;
mod produce;
mod restart;
mod share;
mod tls;
mod transactions;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};

use crate::broker::{Broker, api_versions, resolve};
use crate::kafka::create_topic;

#[derive(Parser)]
#[command(
    version,
    about = "Throughput, latency and restart benchmark of a Kafka-compatible broker"
)]
struct Args {
    /// The broker to measure, host:port.
    #[arg(long, default_value = "127.0.0.1:9092", value_name = "HOST:PORT")]
    bootstrap: String,
    /// Start the broker with this shell command (`sh -c`) instead of
    /// measuring a running one; the bench then also stops it (SIGTERM),
    /// kills it (-9) and restarts it. Needed for the restart, move and RSS
    /// rows.
    #[arg(long, value_name = "SHELL COMMAND")]
    broker_cmd: Option<String>,
    /// The broker's log directory; once for each of a broker with several
    /// (`log.dirs=/a,/b`). Their file systems are reported, their files are
    /// fadvise(DONTNEED)ed when drop_caches cannot be written, and the
    /// compaction rows read the segment files and cleaner-offset-checkpoint
    /// of whichever holds their partition.
    #[arg(long = "log-dir", value_name = "DIR")]
    log_dirs: Vec<PathBuf>,
    /// The port the broker listens on (replaces the port of --bootstrap).
    #[arg(long)]
    port: Option<u16>,
    /// Append the started broker's stdout and stderr to this file (default:
    /// the bench's stderr).
    #[arg(long, value_name = "FILE")]
    broker_log: Option<PathBuf>,
    /// Every size about 100 times smaller: a smoke test for CI.
    #[arg(long)]
    quick: bool,
    /// The port of the SSL listener the tls rows add to a broker the bench
    /// starts (default: the PLAINTEXT port + 1).
    #[arg(long)]
    ssl_port: Option<u16>,
    /// For the tls rows: the SSL listener of a broker that already has one,
    /// host:port (with --ssl-ca), instead of adding one to --broker-cmd.
    #[arg(long, value_name = "HOST:PORT", requires = "ssl_ca")]
    ssl_bootstrap: Option<String>,
    /// The CA certificate (PEM) that --ssl-bootstrap's certificate chains to.
    #[arg(long, value_name = "FILE", requires = "ssl_bootstrap")]
    ssl_ca: Option<PathBuf>,
    /// Run only these row groups (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "ROWS")]
    only: Vec<Group>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Group {
    Produce,
    Consume,
    Share,
    Tls,
    Transactions,
    Latency,
    Compaction,
    Move,
    Restart,
}

/// The sizes of a run.
struct Sizes {
    records_1k: u64,
    records_100b: u64,
    txn_records_1k: u64,
    txn_records_100b: u64,
    latency_duration: Duration,
    latency_rate: u32,
    heavy_records: u64,
    restart_records: u64,
    restart_partitions: i32,
    kill_after: Duration,
    compaction_records: u64,
    compaction_segment_bytes: u64,
    move_records: u64,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        let full = Sizes {
            records_1k: 1_000_000,
            records_100b: 10_000_000,
            // Transactions of 100 records, committed one after the other.
            txn_records_1k: 500_000,
            txn_records_100b: 500_000,
            latency_duration: Duration::from_secs(10),
            latency_rate: 2000,
            // 4 GB and 5 GiB of 1 KiB records.
            heavy_records: 3_906_250,
            restart_records: 5 << 20,
            restart_partitions: 20,
            kill_after: Duration::from_secs(2),
            // 1 GB of 1 KiB records in 64 MiB segments.
            compaction_records: 1_000_000,
            compaction_segment_bytes: 64 << 20,
            // 1 GiB of 1 KiB records.
            move_records: 1 << 20,
        };
        if !quick {
            return full;
        }
        Sizes {
            records_1k: full.records_1k / 100,
            records_100b: full.records_100b / 100,
            txn_records_1k: full.txn_records_1k / 100,
            txn_records_100b: full.txn_records_100b / 100,
            latency_duration: Duration::from_secs(1),
            heavy_records: full.heavy_records / 100,
            restart_records: full.restart_records / 100,
            kill_after: Duration::from_millis(300),
            compaction_records: full.compaction_records / 100,
            compaction_segment_bytes: 1 << 20,
            move_records: full.move_records / 100,
            ..full
        }
    }
}

/// One row of the table.
pub struct Row {
    name: String,
    result: Result<String>,
}

impl Row {
    pub fn ok(name: String, text: String) -> Self {
        Row {
            name,
            result: Ok(text),
        }
    }

    pub fn err(name: String, err: anyhow::Error) -> Self {
        Row {
            name,
            result: Err(err),
        }
    }

    pub fn new(name: String, result: Result<String>) -> Self {
        Row { name, result }
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<ExitCode> {
    let bootstrap = match args.port {
        Some(port) => with_port(&args.bootstrap, port)?,
        None => args.bootstrap.clone(),
    };
    let addr = resolve(&bootstrap)?;
    let groups = if args.only.is_empty() {
        vec![
            Group::Produce,
            Group::Consume,
            Group::Share,
            Group::Tls,
            Group::Transactions,
            Group::Latency,
            Group::Compaction,
            Group::Move,
            Group::Restart,
        ]
    } else {
        args.only.clone()
    };
    let sizes = Sizes::new(args.quick);
    let run_id = format!(
        "{}-{}",
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
        std::process::id()
    );
    let topic = |what: &str| format!("bench-{run_id}-{what}");

    // The tls rows: an SSL listener given, or one added to the broker the
    // bench starts, with certificates made now (removed when `certs` drops,
    // after the broker has stopped).
    let mut broker_cmd = args.broker_cmd.clone();
    let mut certs = None;
    let mut ssl_target: Result<(String, PathBuf), &str> =
        Err("needs --broker-cmd with `--override listeners=...`, or --ssl-bootstrap and --ssl-ca");
    if let (Some(ssl), Some(ca)) = (&args.ssl_bootstrap, &args.ssl_ca) {
        ssl_target = Ok((ssl.clone(), ca.clone()));
    } else if groups.contains(&Group::Tls)
        && let Some(cmd) = &args.broker_cmd
    {
        let dir = args
            .broker_log
            .as_deref()
            .and_then(Path::parent)
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(std::env::temp_dir, Path::to_path_buf)
            .join(format!("bench-tls-{run_id}"));
        let made = tls::Certificates::generate(dir).context("making the TLS certificates")?;
        let ssl_port = match args.ssl_port {
            Some(port) => port,
            None => addr
                .port()
                .checked_add(1)
                .context("no port after the PLAINTEXT one")?,
        };
        let ssl_bootstrap = with_port(&bootstrap, ssl_port)?;
        match tls::with_ssl_listener(cmd, &bootstrap, &ssl_bootstrap, &made.keystore) {
            Some(with_ssl) => {
                broker_cmd = Some(with_ssl);
                ssl_target = Ok((ssl_bootstrap, made.ca.clone()));
                certs = Some(made);
            }
            None => {
                ssl_target = Err(
                    "the broker command has no `--override listeners=...` to add an \
                     SSL listener to; or give --ssl-bootstrap and --ssl-ca",
                );
            }
        }
    }

    let mut broker = broker_cmd
        .clone()
        .map(|cmd| Broker::new(cmd, addr, args.broker_log.clone()));
    match broker.as_mut() {
        Some(b) => {
            progress("starting the broker");
            let (_, answered) = b.start(Duration::from_secs(120))?;
            progress(&format!("broker answered after {answered:?}"));
        }
        None => api_versions(addr, Duration::from_secs(5))
            .with_context(|| format!("no Kafka broker answers on {bootstrap}"))?,
    }
    kafka::check_metadata(&bootstrap)?;

    let mut rows = Vec::new();
    let has = |g: Group| groups.contains(&g);

    // Produce rows; the consume row reads the 1 KiB, acks=1, 1-partition
    // topic right after it was written, while it is in the page cache.
    let mut consume_row = None;
    let consume_name = "consume 1 KiB records, 1 partition, from the page cache".to_string();
    let mut parallel_consume_row = None;
    let parallel_consume_name =
        "consume 1 KiB records, 4 partitions, 2 consumers (2 partitions each), from the page cache"
            .to_string();
    if has(Group::Produce) {
        for (value_size, records) in [(1024, sizes.records_1k), (100, sizes.records_100b)] {
            for acks in ["1", "all"] {
                for partitions in [1, 4] {
                    let name = format!(
                        "produce {} × {} records, acks={acks}, {partitions} partition{}",
                        size_label(value_size),
                        fmt_count(records as f64),
                        if partitions > 1 { "s" } else { "" }
                    );
                    progress(&name);
                    let t = topic(&format!("p{value_size}-acks{acks}-{partitions}p"));
                    let result = produce_row(&bootstrap, &t, partitions, value_size, records, acks);
                    if has(Group::Consume)
                        && consume_row.is_none()
                        && value_size == 1024
                        && acks == "1"
                        && partitions == 1
                    {
                        let consumed = match &result {
                            Ok(_) => consume_row_run(&bootstrap, &t),
                            Err(_) => Err(anyhow::anyhow!("skipped: producing its topic failed")),
                        };
                        consume_row = Some(Row::new(consume_name.clone(), consumed));
                    }
                    if has(Group::Consume) && value_size == 1024 && acks == "1" && partitions == 4 {
                        let consumed = match &result {
                            Ok(_) => {
                                progress("consume, 4 partitions, 2 consumers");
                                consume::run_parallel(&bootstrap, &t, &[vec![0, 1], vec![2, 3]])
                                    .map(|s| s.summary())
                            }
                            Err(_) => Err(anyhow::anyhow!("skipped: producing its topic failed")),
                        };
                        parallel_consume_row =
                            Some(Row::new(parallel_consume_name.clone(), consumed));
                    }
                    rows.push(Row::new(name, result));
                    settle(&bootstrap, &t);
                }
            }
        }
    }
    if has(Group::Consume) {
        let row = consume_row.unwrap_or_else(|| {
            progress("consume: writing its topic first");
            let t = topic("consume");
            let result = produce_row(&bootstrap, &t, 1, 1024, sizes.records_1k, "1")
                .and_then(|_| consume_row_run(&bootstrap, &t));
            Row::new(consume_name.clone(), result)
        });
        rows.push(row);
        if let Some(row) = parallel_consume_row {
            rows.push(row);
        }
    }

    if has(Group::Share) {
        share_rows(&bootstrap, addr, &topic, sizes.records_1k, &mut rows);
    }

    if has(Group::Tls) {
        let ssl = ssl_target
            .as_ref()
            .map(|(bootstrap, ca)| tls::Target { bootstrap, ca });
        tls::run(
            &bootstrap,
            ssl.map_err(|why| *why),
            topic,
            &tls::Plan {
                records_1k: sizes.records_1k,
            },
            &mut rows,
        );
    }

    if has(Group::Transactions) {
        transactions::run(
            &bootstrap,
            addr,
            topic,
            &transactions::Plan {
                records_1k: sizes.txn_records_1k,
                records_100b: sizes.txn_records_100b,
                per_transaction: 100,
            },
            &mut rows,
        );
    }

    if has(Group::Latency) {
        let what = format!(
            "latency, 1 KiB acks=1 at {} records/s, linger 0",
            sizes.latency_rate
        );
        let name = format!("{what}, alone");
        progress(&name);
        let t = topic("light-alone");
        let result = create_topic(&bootstrap, &t, 1).and_then(|()| {
            latency::alone(&bootstrap, &t, sizes.latency_rate, sizes.latency_duration)
                .map(|s| s.summary())
        });
        rows.push(Row::new(name, result));

        let heavy_bytes = sizes.heavy_records * 1024;
        let name = format!(
            "{what}, beside a producer of {} (1 KiB, acks=1)",
            fmt_bytes(heavy_bytes)
        );
        progress(&name);
        let (light, heavy) = (topic("light-loaded"), topic("heavy"));
        let result = create_topic(&bootstrap, &light, 1)
            .and_then(|()| create_topic(&bootstrap, &heavy, 1))
            .and_then(|()| {
                latency::under_load(
                    &bootstrap,
                    &light,
                    sizes.latency_rate,
                    &heavy,
                    sizes.heavy_records,
                )
            })
            .map(|(l, h)| format!("{}; the heavy producer: {}", l.summary(), h.summary()));
        rows.push(Row::new(name, result));
    }

    if has(Group::Compaction) {
        compaction::run(
            &bootstrap,
            &args.log_dirs,
            topic,
            &compaction::Plan {
                records: sizes.compaction_records,
                segment_bytes: sizes.compaction_segment_bytes,
                latency_rate: sizes.latency_rate,
                latency_duration: sizes.latency_duration,
            },
            &mut rows,
        );
    }

    if has(Group::Move) {
        dir_move::run(
            &bootstrap,
            addr,
            broker.as_ref().is_some_and(Broker::is_running),
            topic,
            &dir_move::Plan {
                records: sizes.move_records,
                latency_rate: sizes.latency_rate,
            },
            &mut rows,
        );
    }

    if has(Group::Restart) {
        match broker.as_mut() {
            Some(b) => {
                let plan = restart::Plan {
                    records: sizes.restart_records,
                    partitions: sizes.restart_partitions,
                    kill_after: sizes.kill_after,
                };
                restart::run(
                    &bootstrap,
                    b,
                    &args.log_dirs,
                    &topic("restart"),
                    &plan,
                    &mut rows,
                );
            }
            None => {
                for name in [
                    "restart after SIGTERM",
                    "restart after kill -9",
                    "restart after kill -9, page cache dropped",
                ] {
                    rows.push(Row::ok(name.into(), "n/a (needs --broker-cmd)".into()));
                }
            }
        }
    }

    let mut failed = false;
    let rss = match broker.as_mut() {
        Some(b) => {
            if b.is_running() {
                progress("stopping the broker");
                if let Err(err) = b.stop(Duration::from_secs(300)) {
                    eprintln!("error: {err:#}");
                    failed = true;
                }
            }
            match b.peak_rss() {
                Some((m, runs)) => {
                    let mib = |kib: u64| kib as f64 / 1024.0;
                    Ok(format!(
                        "{:.0} MiB (VmHWM, max over {runs} broker run{}; at that stop \
                         RssAnon {:.0} MiB, RssFile {:.0} MiB)",
                        mib(m.hwm_kib),
                        if runs > 1 { "s" } else { "" },
                        mib(m.anon_kib),
                        mib(m.file_kib),
                    ))
                }
                None => Err(anyhow::anyhow!("VmHWM could not be read")),
            }
        }
        None => Ok("n/a (needs --broker-cmd)".to_string()),
    };
    rows.push(Row::new("peak broker RSS".into(), rss));

    drop(broker);
    drop(certs);
    print_header(&args, broker_cmd.as_deref(), &bootstrap);
    let mut out = std::io::stdout().lock();
    writeln!(out, "| measurement | result |")?;
    writeln!(out, "| --- | --- |")?;
    for row in &rows {
        let text = match &row.result {
            Ok(text) => text.clone(),
            Err(err) => {
                failed = true;
                format!("FAILED: {err:#}")
            }
        };
        writeln!(out, "| {} | {} |", cell(&row.name), cell(&text))?;
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn produce_row(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    value_size: usize,
    records: u64,
    acks: &str,
) -> Result<String> {
    produce_stats(bootstrap, topic, partitions, value_size, records, acks).map(|s| s.summary())
}

/// Creates the topic and produces into it; fails if any record failed.
fn produce_stats(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    value_size: usize,
    records: u64,
    acks: &str,
) -> Result<produce::Stats> {
    create_topic(bootstrap, topic, partitions)?;
    let stats = produce::run(
        bootstrap,
        &produce::Spec {
            topic,
            partitions,
            value_size,
            records,
            acks,
            stop: None,
            counters: None,
            keys: None,
        },
    )?;
    if stats.failed > 0 {
        bail!("{}", stats.summary());
    }
    Ok(stats)
}

/// Share groups (KIP-932): 1 KiB records of a 2-partition topic read by 2
/// share consumers acknowledging each fetch, next to 2 consumers of a
/// consumer group's kind (one partition each) reading the same topic; and
/// one partition shared by 4 share consumers.
fn share_rows(
    bootstrap: &str,
    addr: std::net::SocketAddr,
    topic: &dyn Fn(&str) -> String,
    records: u64,
    rows: &mut Vec<Row>,
) {
    let t = topic("share-2p");
    let name = format!(
        "share group, 2 consumers acknowledging each fetch, 1 KiB × {} records, 2 partitions",
        fmt_count(records as f64)
    );
    progress(&name);
    let produced = produce_stats(bootstrap, &t, 2, 1024, records, "1");
    let shared = produced
        .as_ref()
        .map_err(|e| anyhow::anyhow!("producing its topic failed: {e:#}"))
        .and_then(|_| share::run(addr, &format!("{t}-share"), &t, 2, records));
    let consumed = produced
        .as_ref()
        .map_err(|e| anyhow::anyhow!("producing its topic failed: {e:#}"))
        .and_then(|_| consume::run_parallel(bootstrap, &t, &[vec![0], vec![1]]));
    let ratio = match (&shared, &consumed) {
        (Ok(s), Ok(c)) => format!(
            "; {:.0} % of the consumers' records/s",
            100.0 * s.records_per_s() / (c.records as f64 / c.elapsed.as_secs_f64().max(1e-9))
        ),
        _ => String::new(),
    };
    rows.push(Row::new(
        name,
        shared.map(|s| format!("{}{ratio}", s.summary())),
    ));
    rows.push(Row::new(
        "the same topic, 2 consumers (1 partition each), from the page cache".into(),
        consumed.map(|c| c.summary()),
    ));

    let t = topic("share-1p");
    let name = format!(
        "share group, 4 consumers sharing 1 partition, 1 KiB × {} records",
        fmt_count(records as f64)
    );
    progress(&name);
    let result = produce_stats(bootstrap, &t, 1, 1024, records, "1")
        .and_then(|_| share::run(addr, &format!("{t}-share"), &t, 4, records))
        .map(|s| s.summary());
    rows.push(Row::new(name, result));
}

fn consume_row_run(bootstrap: &str, topic: &str) -> Result<String> {
    progress("consume");
    Ok(consume::run(bootstrap, topic)?.summary())
}

/// Replaces the port of `host:port`.
fn with_port(bootstrap: &str, port: u16) -> Result<String> {
    let host = match bootstrap.rsplit_once(':') {
        Some((host, _)) => host,
        None => bootstrap,
    };
    if host.is_empty() {
        bail!("no host in --bootstrap {bootstrap}");
    }
    Ok(format!("{host}:{port}"))
}

fn print_header(args: &Args, broker_cmd: Option<&str>, bootstrap: &str) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let ram = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.1} GiB RAM", kib / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "unknown RAM".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| format!(", Linux {}", k.trim()))
        .unwrap_or_default();
    let disk: String = args
        .log_dirs
        .iter()
        .map(|dir| match mount_of(dir) {
            Some((fs_type, source)) => {
                format!("; log dir {} on {fs_type} ({source})", dir.display())
            }
            None => format!("; log dir {} (file system unknown)", dir.display()),
        })
        .collect();
    println!("machine: {cpus} × {model}, {ram}{kernel}{disk}");
    match broker_cmd {
        Some(cmd) => println!("broker: {bootstrap}, started by the bench as `{cmd}`"),
        None => println!("broker: {bootstrap} (already running)"),
    }
    let (_, version) = rdkafka::util::get_rdkafka_version();
    println!(
        "client: librdkafka {version} (rdkafka crate); {}; MB = 10^6 bytes",
        if args.quick {
            "--quick: sizes / 100"
        } else {
            "full sizes"
        }
    );
    println!();
}

/// The file system type and source of the mount that holds `path` (or its
/// nearest existing ancestor), from /proc/self/mountinfo.
fn mount_of(path: &Path) -> Option<(String, String)> {
    let mut existing = path.to_path_buf();
    while !existing.exists() {
        existing = existing.parent()?.to_path_buf();
    }
    let path = existing.canonicalize().ok()?;
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String, String)> = None;
    for line in info.lines() {
        let (left, right) = line.split_once(" - ")?;
        let mount_point = unescape(left.split(' ').nth(4)?);
        let mut right = right.split(' ');
        let (fs_type, source) = (right.next()?, right.next()?);
        if path.starts_with(&mount_point) {
            let len = mount_point.len();
            if best.as_ref().is_none_or(|(l, _, _)| len >= *l) {
                best = Some((len, fs_type.to_string(), source.to_string()));
            }
        }
    }
    best.map(|(_, t, s)| (t, s))
}

/// Between rows: the row's topic is deleted and dirty pages written back,
/// outside any measurement, so that the next row does not pay for this
/// one's writeback (the produce rows write 8 GB in all, more than the
/// kernel lets stay dirty).
fn settle(bootstrap: &str, topic: &str) {
    if let Err(e) = kafka::delete_topic(bootstrap, topic) {
        progress(&format!("could not delete {topic}: {e:#}"));
    }
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.by_ref().take(3).collect();
            match u8::from_str_radix(&code, 8) {
                Ok(b) => out.push(b as char),
                Err(_) => {
                    out.push('\\');
                    out.push_str(&code);
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// "1 KiB" or "100 B".
fn size_label(bytes: usize) -> String {
    if bytes % 1024 == 0 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// 950, 12.3k, 1.00M.
pub fn fmt_count(n: f64) -> String {
    if n >= 1e6 {
        format!("{:.2}M", n / 1e6)
    } else if n >= 1e4 {
        format!("{:.0}k", n / 1e3)
    } else if n >= 1e3 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// Decimal units: 1.02 GB, 102 MB.
pub fn fmt_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

pub fn progress(what: &str) {
    eprintln!("[bench] {what}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_port_replaces_the_port() -> Result<()> {
        assert_eq!(with_port("127.0.0.1:9092", 39092)?, "127.0.0.1:39092");
        assert_eq!(with_port("[::1]:9092", 1)?, "[::1]:1");
        assert_eq!(with_port("localhost", 2)?, "localhost:2");
        assert!(with_port(":9092", 1).is_err());
        Ok(())
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/mnt/a\040b"), "/mnt/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn the_root_file_system_is_found() {
        assert!(mount_of(Path::new("/surely/not/there")).is_some());
    }

    #[test]
    fn numbers_get_units() {
        assert_eq!(fmt_count(950.0), "950");
        assert_eq!(fmt_count(12_345.0), "12k");
        assert_eq!(fmt_count(1_000_000.0), "1.00M");
        assert_eq!(fmt_bytes(1_024_000_000), "1.02 GB");
        assert_eq!(fmt_bytes(40_000_000), "40.0 MB");
        assert_eq!(size_label(1024), "1 KiB");
        assert_eq!(size_label(100), "100 B");
    }

    #[test]
    fn quick_sizes_are_a_hundredth() {
        let (full, quick) = (Sizes::new(false), Sizes::new(true));
        assert_eq!(quick.records_1k * 100, full.records_1k);
        assert_eq!(quick.records_100b * 100, full.records_100b);
        assert_eq!(quick.txn_records_1k * 100, full.txn_records_1k);
        assert_eq!(quick.txn_records_100b * 100, full.txn_records_100b);
        assert_eq!(quick.restart_partitions, 20);
        assert_eq!(quick.compaction_records * 100, full.compaction_records);
        assert_eq!(quick.compaction_segment_bytes, 1 << 20);
        assert_eq!(full.compaction_segment_bytes, 64 << 20);
        assert_eq!(full.move_records * 1024, 1 << 30);
        assert_eq!(quick.move_records, full.move_records / 100);
    }
}
