//! The TCP server: accepts connections, runs one task per connection, and
//! shuts down gracefully (stop accepting, let each connection finish the
//! request in hand, flush the logs).

use crate::apis;
use crate::apis::Session;
use crate::broker::Broker;
use crate::broker::ListenerInfo;
use crate::connection::{ClientStream, Connection, FrameError};
use crate::sasl::SaslSettings;
use crate::tls::ANONYMOUS;
use futures::future::join_all;
use sasl_authenticator::{Progress, SaslAuthenticator};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, error, info, warn};

mod sasl_authenticator;

/// How long shutdown waits for connections to finish their current request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long a client on an SSL listener has to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a connection's idle deadline moves with its activity.
const IDLE_CHECK_GRANULARITY: Duration = Duration::from_secs(1);
/// How often group rebalance and session timers are checked.
const GROUP_TIMER_INTERVAL: Duration = Duration::from_millis(50);

/// Serves the listeners until `shutdown` completes.
pub async fn run(listeners: Vec<ServedListener>, broker: Arc<Broker>, shutdown: impl Future) {
    let (notify_shutdown, _) = broadcast::channel::<()>(1);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);

    // Completes rebalances and expires group members on time, off the
    // runtime's threads (fencing and empty groups write to the log).
    let timers = tokio::spawn({
        let broker = Arc::clone(&broker);
        async move {
            let mut interval = tokio::time::interval(GROUP_TIMER_INTERVAL);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let broker = Arc::clone(&broker);
                let _ = tokio::task::spawn_blocking(move || {
                    broker.groups.tick(&broker.offsets_topic());
                    broker.share_tick();
                })
                .await;
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
        _ = join_all(
            listeners
                .iter()
                .map(|l| accept_loop(l, &broker, &notify_shutdown, &done_tx)),
        ) => {}
        _ = shutdown => info!("shutting down"),
    }
    timers.abort();
    txn_timers.abort();

    drop(listeners);
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

/// A listener's socket, what the APIs know of it, and whether it is an SSL
/// listener (its acceptor, the broker's current one, is taken for each
/// connection).
pub struct ServedListener {
    pub socket: TcpListener,
    pub info: Arc<ListenerInfo>,
    pub tls: bool,
    /// A SASL listener's mechanisms and users.
    pub sasl: Option<Arc<SaslSettings>>,
}

async fn accept_loop(
    listener: &ServedListener,
    broker: &Arc<Broker>,
    notify_shutdown: &broadcast::Sender<()>,
    done_tx: &mpsc::Sender<()>,
) {
    loop {
        let (stream, peer) = accept(&listener.socket, &listener.info.name).await;
        if let Err(e) = stream.set_nodelay(true) {
            debug!(%peer, "cannot set TCP_NODELAY: {e}");
        }
        let handler = Handler {
            broker: Arc::clone(broker),
            stream: Some(stream),
            tls: if listener.tls {
                broker.tls.current(&listener.info.name)
            } else {
                None
            },
            authenticator: listener.sasl.as_ref().map(|settings| {
                SaslAuthenticator::new(
                    Arc::clone(settings),
                    Duration::from_millis(broker.config.connection_failed_authentication_delay_ms),
                )
            }),
            connection: None,
            session: Session {
                peer,
                listener: Arc::clone(&listener.info),
                principal: Arc::from(ANONYMOUS),
            },
            shutdown: notify_shutdown.subscribe(),
            _done: done_tx.clone(),
        };
        tokio::spawn(handler.run());
    }
}

/// One client connection.
struct Handler {
    broker: Arc<Broker>,
    /// The accepted socket, until the connection is set up on it.
    stream: Option<TcpStream>,
    tls: Option<TlsAcceptor>,
    /// Until a SASL listener's connection is authenticated.
    authenticator: Option<SaslAuthenticator>,
    connection: Option<Connection>,
    session: Session,
    shutdown: broadcast::Receiver<()>,
    /// Dropped when the connection ends; shutdown waits for all of them.
    _done: mpsc::Sender<()>,
}

impl Handler {
    async fn run(mut self) {
        let _counted = self.broker.metrics.as_ref().map(|m| m.connection_opened());
        let peer = self.session.peer;
        let listener = self.session.listener.name.clone();
        debug!(%peer, %listener, "connection opened");
        if let Err(reason) = self.set_up().await {
            warn!(%peer, %listener, "closing connection: {reason}");
            return;
        }
        match self.serve().await {
            Ok(()) => debug!(%peer, "connection closed"),
            Err(reason) => warn!(%peer, %listener, "closing connection: {reason}"),
        }
    }

    /// The TLS handshake on an SSL listener (bounded by
    /// [`TLS_HANDSHAKE_TIMEOUT`]), then the connection over the stream.
    async fn set_up(&mut self) -> Result<(), String> {
        let Some(stream) = self.stream.take() else {
            return Err("the connection was set up twice".into());
        };
        let max = self.broker.config.socket_request_max_bytes;
        let stream: Box<dyn ClientStream> = match &self.tls {
            None => Box::new(stream),
            Some(acceptor) => {
                let tls = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                    .await
                    .map_err(|_| format!("no TLS handshake within {TLS_HANDSHAKE_TIMEOUT:?}"))?
                    .map_err(|e| format!("TLS handshake failed: {e}"))?;
                let principal = crate::tls::principal(tls.get_ref().1.peer_certificates());
                debug!(peer = %self.session.peer, %principal, "TLS connection");
                self.session.principal = Arc::from(principal);
                Box::new(tls)
            }
        };
        self.connection = Some(Connection::new(stream, max));
        Ok(())
    }

    /// Answers requests in the order they arrive, writing the responses of
    /// pipelined requests together.
    async fn serve(&mut self) -> Result<(), String> {
        let Some(connection) = self.connection.as_mut() else {
            return Err("no connection".into());
        };
        // `connections.max.idle.ms`, checked coarsely: the deadline moves
        // at most once a second, not on every request (a timer each time
        // costs the hot path).
        let idle = Duration::from_millis(self.broker.config.connections_max_idle_ms);
        let idle_timer = tokio::time::sleep(idle);
        tokio::pin!(idle_timer);
        let mut last_active = tokio::time::Instant::now();
        loop {
            let now = tokio::time::Instant::now();
            if now.duration_since(last_active) >= IDLE_CHECK_GRANULARITY {
                idle_timer.as_mut().reset(now + idle);
                last_active = now;
            }
            while let Some(frame) = connection
                .next_buffered_frame()
                .map_err(|e| e.to_string())?
            {
                let handled = match self.authenticator.as_mut() {
                    None => {
                        apis::handle_request(
                            &self.broker,
                            frame,
                            &self.session,
                            &mut connection.write_buf,
                        )
                        .await
                    }
                    Some(authenticator) => match authenticator
                        .handle(
                            &self.broker,
                            &self.session,
                            frame,
                            &mut connection.write_buf,
                        )
                        .await
                    {
                        Ok(Progress::Continue) => Ok(()),
                        Ok(Progress::Authenticated(principal)) => {
                            debug!(peer = %self.session.peer, %principal, "authenticated");
                            self.session.principal = Arc::from(principal);
                            self.authenticator = None;
                            Ok(())
                        }
                        Err(close) => {
                            if let Some(delay) = authenticator.close_delay() {
                                let _ = connection.flush().await;
                                tokio::time::sleep(delay).await;
                            }
                            Err(close)
                        }
                    },
                };
                if let Err(close) = handled {
                    // Send what earlier requests produced before closing.
                    let _ = connection.flush().await;
                    return Err(close.0);
                }
            }
            match connection.flush().await {
                Ok(()) => {}
                Err(e) if is_disconnect(&e) => return Ok(()),
                Err(e) => return Err(e.to_string()),
            }

            tokio::select! {
                filled = connection.fill() => match filled {
                    Ok(true) => {}
                    Ok(false) => return Ok(()),
                    Err(FrameError::Io(e)) if is_disconnect(&e) => return Ok(()),
                    Err(e) => return Err(e.to_string()),
                },
                _ = self.shutdown.recv() => return Ok(()),
                () = &mut idle_timer => {
                    return Err(format!("idle for connections.max.idle.ms ({} ms)", idle.as_millis()));
                }
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
