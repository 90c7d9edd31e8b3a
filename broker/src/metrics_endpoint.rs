//! The Prometheus endpoint: a small HTTP/1.1 responder on the
//! `metrics.prometheus.listener` address. One request per connection;
//! `GET /metrics` is answered in the OpenMetrics text format with the
//! broker's counters and the state of its partitions and groups, other
//! paths with 404, other methods with 405, anything unreadable with 400.

use crate::broker::Broker;
use crate::metrics::{CONTENT_TYPE, CleanerState, PartitionState, ShareState, StateSnapshot};
use crate::server::accept;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, warn};

/// The longest request head (request line and headers) read.
const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// How long a scraper may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `GET /metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, broker: Arc<Broker>) {
    loop {
        let (stream, peer) = accept(&listener, "metrics listener").await;
        let broker = Arc::clone(&broker);
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &broker).await {
                debug!(%peer, "metrics request failed: {e}");
            }
        });
    }
}

/// The partitions' logs and the groups' states as they are now.
fn snapshot(broker: &Broker) -> StateSnapshot {
    let mut partitions: Vec<PartitionState> = broker
        .replicas
        .logs()
        .all_logs()
        .iter()
        .map(|log| PartitionState {
            topic: log.topic_partition().topic.clone(),
            partition: log.topic_partition().partition,
            log_end_offset: log.log_end_offset(),
            log_start_offset: log.log_start_offset(),
            size: log.size_in_bytes(),
        })
        .collect();
    partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    let cleaner = broker.replicas.logs().cleaner();
    let totals = &cleaner.totals;
    StateSnapshot {
        partitions,
        groups: broker.groups.count_by_state(),
        consumer_groups: broker.groups.count_consumer_groups_by_state(),
        transactions: broker.txns.count_by_state(),
        cleaner: CleanerState {
            passes: totals.passes.load(Ordering::Relaxed),
            bytes_read: totals.bytes_read.load(Ordering::Relaxed),
            bytes_written: totals.bytes_written.load(Ordering::Relaxed),
            records_removed: totals.records_removed.load(Ordering::Relaxed),
            max_pass_ms: totals.max_pass_ms.load(Ordering::Relaxed),
            uncleanable_partitions: cleaner.uncleanable_count(),
        },
        log_dirs: broker
            .replicas
            .logs()
            .log_dirs()
            .into_iter()
            .map(|d| (d.absolute_path.display().to_string(), d.offline))
            .collect(),
        moves: broker.replicas.logs().future_log_count(),
        share: share_state(broker),
    }
}

/// The share groups, their partitions and counters.
fn share_state(broker: &Broker) -> ShareState {
    let groups = broker.groups.list_share_groups();
    let members = groups
        .iter()
        .filter_map(|(id, _)| broker.groups.share_group(id))
        .map(|g| g.members().count())
        .sum();
    let image = broker.metadata.image();
    let mut partitions: Vec<(String, String, i32, usize)> = broker
        .shares
        .loaded()
        .into_iter()
        .filter_map(|(key, partition)| {
            let topic = image.topic_by_id(&key.topic_id)?.name.clone();
            let in_flight = partition.lock().in_flight_count();
            Some((key.group_id, topic, key.partition, in_flight))
        })
        .collect();
    partitions.sort();
    let stats = &broker.shares.stats;
    ShareState {
        groups: ["Empty", "Stable"]
            .into_iter()
            .map(|state| (state, groups.iter().filter(|(_, s)| *s == state).count()))
            .collect(),
        members,
        sessions: broker.shares.session_count(),
        partitions,
        lock_expiries: stats.lock_expiries.load(Ordering::Relaxed),
        redeliveries: stats.redeliveries.load(Ordering::Relaxed),
        archived: stats.archived.load(Ordering::Relaxed),
    }
}

/// What a request head asked for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics,
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// Reads one request and answers it; the connection is closed after.
async fn answer(mut stream: TcpStream, broker: &Broker) -> std::io::Result<()> {
    let route = match tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(Some(head))) => route(&head),
        Ok(Ok(None)) => Route::BadRequest,
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(()),
    };
    let (status, content_type, body) = match route {
        Route::Metrics => match broker.metrics.as_ref().map(|m| m.encode(snapshot(broker))) {
            Some(Ok(body)) => ("200 OK", CONTENT_TYPE, body),
            _ => {
                warn!("cannot encode the metrics");
                (
                    "500 Internal Server Error",
                    "text/plain",
                    "cannot encode the metrics\n".to_string(),
                )
            }
        },
        Route::NotFound => ("404 Not Found", "text/plain", "not found\n".to_string()),
        Route::MethodNotAllowed => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET is served\n".to_string(),
        ),
        Route::BadRequest => ("400 Bad Request", "text/plain", "bad request\n".to_string()),
    };
    let allow = if route == Route::MethodNotAllowed {
        "Allow: GET\r\n"
    } else {
        ""
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// Reads up to the blank line that ends a request head; `None` if the
/// peer sent more than [`MAX_REQUEST_HEAD`] bytes or closed before it.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end);
            return Ok(Some(head));
        }
        if head.len() > MAX_REQUEST_HEAD {
            return Ok(None);
        }
    }
}

/// Routes a request head by its request line, `METHOD TARGET HTTP/1.x`.
fn route(head: &[u8]) -> Route {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let Ok(line) = std::str::from_utf8(line) else {
        return Route::BadRequest;
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Route::BadRequest;
    }
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET", "/metrics") => Route::Metrics,
        (_, "/metrics") => Route::MethodNotAllowed,
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_only_get_metrics() {
        assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: x"), Route::Metrics);
        assert_eq!(route(b"GET /metrics?name[]=x HTTP/1.0"), Route::Metrics);
        assert_eq!(route(b"GET / HTTP/1.1"), Route::NotFound);
        assert_eq!(route(b"POST /metrics HTTP/1.1"), Route::MethodNotAllowed);
        assert_eq!(route(b"GET /metrics"), Route::BadRequest);
        assert_eq!(route(b"GET /metrics SPDY/3"), Route::BadRequest);
        assert_eq!(route(b"\xff\xfe"), Route::BadRequest);
        assert_eq!(route(b""), Route::BadRequest);
    }
}
