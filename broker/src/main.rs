use anyhow::Context;
use broker::broker::Broker;
use broker::config::BrokerConfig;
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;
use tracing::info;

#[global_allocator]
static ALLOCATOR: broker::alloc::BrokerAllocator = broker::alloc::BrokerAllocator;

/// A single-node Kafka-compatible broker.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Kafka `server.properties` file. Without one: listen on 0.0.0.0:9092
    /// and keep logs in /tmp/kraft-combined-logs.
    config: Option<PathBuf>,

    /// Override a property of the file, as in `--override log.dirs=/data`.
    #[arg(long = "override", value_name = "KEY=VALUE", value_parser = parse_override)]
    overrides: Vec<(String, String)>,
}

fn parse_override(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version: printed on stdout, exit 0.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // One line: clap's first (the error itself), without the usage
            // and tips it adds below.
            let rendered = e.to_string();
            let line = rendered.lines().next().unwrap_or_default().trim();
            match line.strip_prefix("error: ") {
                Some(message) => eprintln!("error: {message}"),
                None => eprintln!("error: {line}"),
            }
            return std::process::ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = match &cli.config {
        Some(path) => BrokerConfig::from_file(path, &cli.overrides)?,
        None => BrokerConfig::from_overrides(&cli.overrides)?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        // Check the log directory and take both ports before anything is
        // written, so that a failing start leaves the log directory as it was.
        // The first log directory holds the metadata log: it must work.
        // Another that does not is offline once the broker runs.
        broker::broker::check_log_dir(&config.log_dirs[0])?;
        let metrics_listener = match &config.metrics_prometheus_listener {
            Some(endpoint) => {
                let bind = endpoint.bind_address();
                let listener = tokio::net::TcpListener::bind(&bind)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot listen on {bind} ({})",
                            broker::config::METRICS_LISTENER
                        )
                    })?;
                Some(listener)
            }
            None => None,
        };
        // Every client listener's port.
        let mut sockets = Vec::with_capacity(config.listeners.len());
        for listener in &config.listeners {
            let bind = listener.endpoint.bind_address();
            let socket = tokio::net::TcpListener::bind(&bind)
                .await
                .with_context(|| format!("cannot listen on {bind} (listener {})", listener.name))?;
            // Its acceptor is the broker's (Broker::open builds them, with
            // the dynamic configs applied, and fails on a bad keystore).
            sockets.push((socket, listener.tls.is_some()));
        }
        // The signal handlers are in place before anything is served, so a
        // SIGTERM from then on is a clean shutdown, never a kill.
        let shutdown = shutdown_signal();
        let broker = Arc::new(Broker::open(config)?);
        let log_dirs = tokio::spawn(broker::broker::maintain_log_dirs(Arc::clone(&broker)));
        // Connections wait in the backlog until server::run accepts them:
        // metrics are served by then.
        let metrics = match metrics_listener {
            Some(listener) => {
                info!(
                    "serving metrics at http://{}/metrics",
                    listener.local_addr()?
                );
                Some(tokio::spawn(broker::metrics_endpoint::serve(
                    listener,
                    Arc::clone(&broker),
                )))
            }
            None => None,
        };
        let mut listeners = Vec::with_capacity(sockets.len());
        for ((socket, tls), info) in sockets.into_iter().zip(&broker.listeners) {
            info!(listener = %info.name, protocol = info.protocol.name(), "listening on {}", socket.local_addr()?);
            let sasl = config_listener_sasl(&broker, &info.name);
            listeners.push(broker::server::ServedListener {
                socket,
                info: Arc::clone(info),
                tls,
                sasl,
            });
        }
        broker::server::run(listeners, broker, shutdown).await;
        log_dirs.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        Ok(())
    })
}

/// A SASL listener's settings, from the configuration.
fn config_listener_sasl(
    broker: &broker::broker::Broker,
    name: &str,
) -> Option<Arc<broker::sasl::SaslSettings>> {
    broker
        .listener_configs
        .iter()
        .find(|l| l.name == name)
        .and_then(|l| l.sasl.clone())
        .map(Arc::new)
}

/// Installs the Ctrl-C (SIGINT) and SIGTERM handlers now; the future
/// completes on either.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            () = received(term.as_mut()) => {}
            () = received(interrupt.as_mut()) => {}
        }
    }
}

/// Completes when the signal arrives (never, without a handler).
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}
