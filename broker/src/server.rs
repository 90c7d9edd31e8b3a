//! The TCP server: accepts connections, runs one task per connection, and
//! shuts down gracefully (stop accepting, let each connection finish the
//! request in hand, flush the logs).

use crate::apis;
use crate::broker::Broker;
use crate::connection::{Connection, FrameError};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};
use tracing::{debug, error, info, warn};

/// How long shutdown waits for connections to finish their current request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often group rebalance and session timers are checked.
const GROUP_TIMER_INTERVAL: Duration = Duration::from_millis(50);

/// Serves `listener` until `shutdown` completes.
pub async fn run(listener: TcpListener, broker: Arc<Broker>, shutdown: impl Future) {
    let (notify_shutdown, _) = broadcast::channel::<()>(1);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);

    // Completes rebalances and expires group members on time.
    let timers = tokio::spawn({
        let broker = Arc::clone(&broker);
        async move {
            let mut interval = tokio::time::interval(GROUP_TIMER_INTERVAL);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                broker.groups.tick(&broker.offsets_topic());
            }
        }
    });

    // Aborts transactions that timed out and forgets expired transactional
    // ids, off the runtime's threads (it writes to the logs).
    let txn_timers = tokio::spawn({
        let broker = Arc::clone(&broker);
        async move {
            let abort_every = Duration::from_millis(
                broker
                    .config
                    .transaction_abort_timed_out_transaction_cleanup_interval_ms,
            );
            let expire_every = Duration::from_millis(
                broker
                    .config
                    .transaction_remove_expired_transaction_cleanup_interval_ms,
            );
            let mut abort = tokio::time::interval(abort_every);
            let mut expire = tokio::time::interval(expire_every);
            abort.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            expire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let expire_ids = tokio::select! {
                    _ = abort.tick() => false,
                    _ = expire.tick() => true,
                };
                let broker = Arc::clone(&broker);
                let _ = tokio::task::spawn_blocking(move || {
                    let topic = broker.transaction_state_topic();
                    if expire_ids {
                        broker.txns.remove_expired(&topic);
                    } else {
                        broker.txns.abort_timed_out(&topic, &*broker);
                    }
                })
                .await;
            }
        }
    });

    tokio::select! {
        () = accept_loop(&listener, &broker, &notify_shutdown, &done_tx) => {}
        _ = shutdown => info!("shutting down"),
    }
    timers.abort();
    txn_timers.abort();

    drop(listener);
    drop(notify_shutdown);
    drop(done_tx);
    if tokio::time::timeout(SHUTDOWN_GRACE, done_rx.recv())
        .await
        .is_err()
    {
        warn!("connections still busy after {SHUTDOWN_GRACE:?}; stopping anyway");
    }
    // Closing the logs fsyncs them: off the runtime's threads.
    let closing = Arc::clone(&broker);
    match tokio::task::spawn_blocking(move || closing.shutdown()).await {
        Ok(Ok(())) => info!("logs closed cleanly; bye"),
        Ok(Err(e)) => error!("closing the logs on shutdown failed: {e}"),
        Err(e) => error!("closing the logs on shutdown failed: {e}"),
    }
}

async fn accept_loop(
    listener: &TcpListener,
    broker: &Arc<Broker>,
    notify_shutdown: &broadcast::Sender<()>,
    done_tx: &mpsc::Sender<()>,
) {
    loop {
        let (stream, peer) = accept(listener, "listener").await;
        if let Err(e) = stream.set_nodelay(true) {
            debug!(%peer, "cannot set TCP_NODELAY: {e}");
        }
        let handler = Handler {
            broker: Arc::clone(broker),
            connection: Connection::new(stream, broker.config.socket_request_max_bytes),
            peer,
            shutdown: notify_shutdown.subscribe(),
            _done: done_tx.clone(),
        };
        tokio::spawn(handler.run());
    }
}

/// One client connection.
struct Handler {
    broker: Arc<Broker>,
    connection: Connection,
    peer: SocketAddr,
    shutdown: broadcast::Receiver<()>,
    /// Dropped when the connection ends; shutdown waits for all of them.
    _done: mpsc::Sender<()>,
}

impl Handler {
    async fn run(mut self) {
        let _counted = self.broker.metrics.as_ref().map(|m| m.connection_opened());
        debug!(peer = %self.peer, "connection opened");
        match self.serve().await {
            Ok(()) => debug!(peer = %self.peer, "connection closed"),
            Err(reason) => warn!(peer = %self.peer, "closing connection: {reason}"),
        }
    }

    /// Answers requests in the order they arrive, writing the responses of
    /// pipelined requests together.
    async fn serve(&mut self) -> Result<(), String> {
        loop {
            while let Some(frame) = self
                .connection
                .next_buffered_frame()
                .map_err(|e| e.to_string())?
            {
                let handled = apis::handle_request(
                    &self.broker,
                    frame,
                    self.peer,
                    &mut self.connection.write_buf,
                )
                .await;
                if let Err(close) = handled {
                    // Send what earlier requests produced before closing.
                    let _ = self.connection.flush().await;
                    return Err(close.0);
                }
            }
            match self.connection.flush().await {
                Ok(()) => {}
                Err(e) if is_disconnect(&e) => return Ok(()),
                Err(e) => return Err(e.to_string()),
            }

            tokio::select! {
                filled = self.connection.fill() => match filled {
                    Ok(true) => {}
                    Ok(false) => return Ok(()),
                    Err(FrameError::Io(e)) if is_disconnect(&e) => return Ok(()),
                    Err(e) => return Err(e.to_string()),
                },
                _ = self.shutdown.recv() => return Ok(()),
            }
        }
    }
}

fn is_disconnect(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
    )
}

/// The next connection on `listener`. A failed accept (out of file
/// descriptors and the like) is logged and retried after a wait that
/// doubles from 10 ms up to a second.
pub async fn accept(listener: &TcpListener, what: &str) -> (TcpStream, SocketAddr) {
    let mut backoff = Duration::from_millis(10);
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                error!("{what}: accept failed: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
