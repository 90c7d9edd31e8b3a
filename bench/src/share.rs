//! Share-group consumption (KIP-932). librdkafka's share consumer is
//! newer than the librdkafka `rdkafka` bundles (2.12), so each consumer
//! here speaks the protocol itself over a TCP connection of its own, as a
//! share consumer does: ShareGroupHeartbeat v1 to join (and leave),
//! ShareFetch v1 in a loop with each fetch acknowledging (ACCEPT) every
//! record the one before acquired, and a last ShareFetch with epoch -1 that
//! acknowledges the rest and closes the share session. The group reads
//! from the start: its `share.auto.offset.reset` is set to `earliest` with
//! IncrementalAlterConfigs v1 (config resource GROUP, 32) first.
//!
//! Layouts are Kafka 4.2's ShareGroupHeartbeat, ShareFetch and
//! IncrementalAlterConfigs JSON schemas (flexible versions: compact
//! strings and arrays, tagged fields, request header v2, response header
//! v1).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::log_dirs::{Reader, Writer, frame};

const INCREMENTAL_ALTER_CONFIGS: i16 = 44;
const SHARE_GROUP_HEARTBEAT: i16 = 76;
const SHARE_FETCH: i16 = 78;
const GROUP_RESOURCE: i8 = 32;
const ACCEPT: i8 = 1;
/// The largest response accepted.
const MAX_RESPONSE: i32 = 256 << 20;

/// What the share consumers of one run read together.
pub struct Stats {
    pub records: u64,
    pub bytes: u64,
    /// From the first fetch to the last record.
    pub elapsed: Duration,
}

impl Stats {
    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        format!(
            "{:.0} MB/s, {} records/s ({} records in {:.2} s)",
            self.bytes as f64 / 1e6 / secs,
            crate::fmt_count(self.records as f64 / secs),
            crate::fmt_count(self.records as f64),
            secs
        )
    }

    pub fn records_per_s(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

struct Conn {
    stream: TcpStream,
    correlation_id: i32,
}

impl Conn {
    fn connect(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            correlation_id: 0,
        })
    }

    /// Sends a request and returns the response body after its header.
    fn exchange(&mut self, key: i16, version: i16, flexible: bool, body: &[u8]) -> Result<Vec<u8>> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        self.stream
            .write_all(&frame(key, version, self.correlation_id, flexible, body))?;
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size)?;
        let size = i32::from_be_bytes(size);
        if !(4..=MAX_RESPONSE).contains(&size) {
            bail!("response size {size}");
        }
        let mut response = vec![0u8; size as usize];
        self.stream.read_exact(&mut response)?;
        let mut r = Reader::new(&response, flexible);
        if r.i32()? != self.correlation_id {
            bail!("a response out of order");
        }
        r.tagged_fields()?;
        Ok(response[r.at..].to_vec())
    }
}

fn uuid_bytes(w: &mut Writer, id: &[u8; 16]) {
    w.buf.extend_from_slice(id);
}

/// Sets the group's `share.auto.offset.reset` to `earliest`.
pub fn read_from_start(addr: SocketAddr, group: &str) -> Result<()> {
    let mut conn = Conn::connect(addr)?;
    let mut w = Writer::new(true);
    w.array_len(1);
    w.buf.push(GROUP_RESOURCE as u8);
    w.string(group);
    w.array_len(1);
    w.string("share.auto.offset.reset");
    w.buf.push(0); // SET
    w.string("earliest");
    w.tagged_fields();
    w.tagged_fields();
    w.buf.push(0); // validate_only
    w.tagged_fields();
    let response = conn.exchange(INCREMENTAL_ALTER_CONFIGS, 1, true, &w.buf)?;
    let mut r = Reader::new(&response, true);
    let _throttle = r.i32()?;
    for _ in 0..r.array_len()? {
        let error = r.i16()?;
        if error != 0 {
            bail!("IncrementalAlterConfigs of group {group}: error code {error}");
        }
        let _message = r.length(false)?.map(|n| r.take(n)).transpose()?;
        let _type = r.take(1)?;
        let _name = r.string()?;
        r.tagged_fields()?;
    }
    Ok(())
}

/// The member's partitions after it joined: (topic id, partitions).
type Assignment = Vec<([u8; 16], Vec<i32>)>;

fn heartbeat(
    conn: &mut Conn,
    group: &str,
    member: &str,
    epoch: i32,
    topic: Option<&str>,
) -> Result<(i32, Option<Assignment>)> {
    let mut w = Writer::new(true);
    w.string(group);
    w.string(member);
    w.i32(epoch);
    w.uvarint(0); // RackId: null
    match topic {
        Some(topic) => {
            w.array_len(1);
            w.string(topic);
        }
        None => w.null_array(),
    }
    w.tagged_fields();
    let response = conn.exchange(SHARE_GROUP_HEARTBEAT, 1, true, &w.buf)?;
    let mut r = Reader::new(&response, true);
    let _throttle = r.i32()?;
    let error = r.i16()?;
    let message = r.length(false)?.map(|n| r.take(n)).transpose()?;
    if error != 0 {
        let message = message.map(String::from_utf8_lossy).unwrap_or_default();
        bail!("ShareGroupHeartbeat: error code {error} {message}");
    }
    let _member = r.length(false)?.map(|n| r.take(n)).transpose()?;
    let member_epoch = r.i32()?;
    let _interval = r.i32()?;
    // Assignment: a nullable struct (-1 byte when null).
    let present = r.take(1)?[0] as i8;
    if present < 0 {
        return Ok((member_epoch, None));
    }
    let mut assignment = Vec::new();
    for _ in 0..r.array_len()? {
        let id: [u8; 16] = r.array()?;
        let mut partitions = Vec::new();
        for _ in 0..r.array_len()? {
            partitions.push(r.i32()?);
        }
        r.tagged_fields()?;
        assignment.push((id, partitions));
    }
    Ok((member_epoch, Some(assignment)))
}

/// A partition of a ShareFetch request and the ranges it accepts.
type PartitionAcks = (i32, Vec<(i64, i64)>);

/// One ShareFetch: the ranges acquired and the record bytes returned.
struct Fetched {
    /// (topic id, partition, first offset, last offset)
    acquired: Vec<([u8; 16], i32, i64, i64)>,
    bytes: u64,
}

#[allow(clippy::too_many_arguments)]
fn share_fetch(
    conn: &mut Conn,
    group: &str,
    member: &str,
    epoch: i32,
    assignment: &Assignment,
    acks: &[([u8; 16], i32, i64, i64)],
    max_records: i32,
    max_wait_ms: i32,
) -> Result<Fetched> {
    let mut w = Writer::new(true);
    w.string(group);
    w.string(member);
    w.i32(epoch);
    w.i32(max_wait_ms);
    w.i32(1); // MinBytes
    w.i32(50 << 20); // MaxBytes
    w.i32(max_records);
    w.i32(max_records); // BatchSize
    // The session's partitions go in the first request; later ones name
    // only those acknowledged.
    let mut topics: Vec<([u8; 16], Vec<PartitionAcks>)> = Vec::new();
    if epoch == 0 {
        for (id, partitions) in assignment {
            topics.push((*id, partitions.iter().map(|&p| (p, Vec::new())).collect()));
        }
    }
    for &(id, partition, first, last) in acks {
        let topic = match topics.iter_mut().find(|(t, _)| *t == id) {
            Some(topic) => topic,
            None => {
                topics.push((id, Vec::new()));
                topics.last_mut().context("just pushed")?
            }
        };
        match topic.1.iter_mut().find(|(p, _)| *p == partition) {
            Some((_, batches)) => batches.push((first, last)),
            None => topic.1.push((partition, vec![(first, last)])),
        }
    }
    w.array_len(topics.len());
    for (id, partitions) in &topics {
        uuid_bytes(&mut w, id);
        w.array_len(partitions.len());
        for (partition, batches) in partitions {
            w.i32(*partition);
            w.array_len(batches.len());
            for &(first, last) in batches {
                w.buf.extend_from_slice(&first.to_be_bytes());
                w.buf.extend_from_slice(&last.to_be_bytes());
                w.array_len(1);
                w.buf.push(ACCEPT as u8);
                w.tagged_fields();
            }
            w.tagged_fields();
        }
        w.tagged_fields();
    }
    w.array_len(0); // ForgottenTopicsData
    w.tagged_fields();
    let response = conn.exchange(SHARE_FETCH, 1, true, &w.buf)?;
    decode_fetch(&response)
}

fn decode_fetch(response: &[u8]) -> Result<Fetched> {
    let mut r = Reader::new(response, true);
    let _throttle = r.i32()?;
    let error = r.i16()?;
    let _message = r.length(false)?.map(|n| r.take(n)).transpose()?;
    if error != 0 {
        bail!("ShareFetch: error code {error}");
    }
    let _lock = r.i32()?;
    let mut fetched = Fetched {
        acquired: Vec::new(),
        bytes: 0,
    };
    for _ in 0..r.array_len()? {
        let id: [u8; 16] = r.array()?;
        for _ in 0..r.array_len()? {
            let partition = r.i32()?;
            let error = r.i16()?;
            let _message = r.length(false)?.map(|n| r.take(n)).transpose()?;
            let ack_error = r.i16()?;
            let _ack_message = r.length(false)?.map(|n| r.take(n)).transpose()?;
            if error != 0 || ack_error != 0 {
                bail!(
                    "ShareFetch of partition {partition}: error {error}, acknowledgement error {ack_error}"
                );
            }
            let _leader = (r.i32()?, r.i32()?);
            r.tagged_fields()?;
            if let Some(n) = r.length(false)? {
                fetched.bytes += n as u64;
                r.take(n)?;
            }
            for _ in 0..r.array_len()? {
                let first = r.i64()?;
                let last = r.i64()?;
                let _delivery_count = r.i16()?;
                r.tagged_fields()?;
                fetched.acquired.push((id, partition, first, last));
            }
            r.tagged_fields()?;
        }
        r.tagged_fields()?;
    }
    Ok(fetched)
}

/// One share consumer: joins, fetches and accepts until the consumers
/// together have `target` records, then acknowledges the rest and leaves.
fn consume(
    addr: SocketAddr,
    group: &str,
    topic: &str,
    index: usize,
    target: u64,
    total: &AtomicU64,
) -> Result<(u64, u64, Instant, Instant)> {
    let mut conn = Conn::connect(addr)?;
    let member = format!("bench-{}-{index}", std::process::id());
    let (_, assignment) = heartbeat(&mut conn, group, &member, 0, Some(topic))?;
    let assignment = assignment.ok_or_else(|| anyhow!("the first heartbeat has no assignment"))?;
    if assignment.is_empty() {
        bail!("{member} was assigned no partition of {topic}");
    }
    let start = Instant::now();
    let mut last = start;
    let mut epoch = 0;
    let mut acks = Vec::new();
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut idle_since = Instant::now();
    while total.load(Ordering::Relaxed) < target {
        let fetched = share_fetch(
            &mut conn,
            group,
            &member,
            epoch,
            &assignment,
            &acks,
            500,
            100,
        )?;
        epoch += 1;
        let got: u64 = fetched
            .acquired
            .iter()
            .map(|&(_, _, first, last)| (last - first + 1) as u64)
            .sum();
        if got > 0 {
            records += got;
            bytes += fetched.bytes;
            last = Instant::now();
            idle_since = last;
            total.fetch_add(got, Ordering::Relaxed);
        } else if idle_since.elapsed() > Duration::from_secs(30) {
            bail!("{member}: nothing acquired for 30 s after {records} records");
        }
        acks = fetched.acquired;
    }
    // The last acknowledgements, closing the share session; then leave.
    share_fetch(&mut conn, group, &member, -1, &assignment, &acks, 0, 0)?;
    heartbeat(&mut conn, group, &member, -1, None)?;
    Ok((records, bytes, start, last))
}

/// `consumers` share consumers of a new group read `topic` (`records`
/// records, all produced beforehand) together, each on its thread.
pub fn run(
    addr: SocketAddr,
    group: &str,
    topic: &str,
    consumers: usize,
    records: u64,
) -> Result<Stats> {
    read_from_start(addr, group)?;
    let total = AtomicU64::new(0);
    let results: Vec<Result<(u64, u64, Instant, Instant)>> = std::thread::scope(|scope| {
        let total = &total;
        let handles: Vec<_> = (0..consumers)
            .map(|i| scope.spawn(move || consume(addr, group, topic, i, records, total)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a share consumer thread panicked")))
            })
            .collect()
    });
    let mut stats = Stats {
        records: 0,
        bytes: 0,
        elapsed: Duration::ZERO,
    };
    let (mut first, mut last): (Option<Instant>, Option<Instant>) = (None, None);
    for result in results {
        let (r, b, start, end) = result?;
        stats.records += r;
        stats.bytes += b;
        first = Some(first.map_or(start, |f| f.min(start)));
        last = Some(last.map_or(end, |l| l.max(end)));
    }
    if let (Some(first), Some(last)) = (first, last) {
        stats.elapsed = last.duration_since(first);
    }
    if stats.records < records {
        bail!(
            "the share consumers acquired {} of {records} records",
            stats.records
        );
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_fetch_responses_are_decoded() -> Result<()> {
        // Throttle, no error, null message, lock 30 s, one topic with one
        // partition: no errors, leader (1, 0), 3 bytes of records, one
        // acquired range 5-7 (delivery 1).
        let mut b: Vec<u8> = Vec::new();
        b.extend_from_slice(&0i32.to_be_bytes());
        b.extend_from_slice(&0i16.to_be_bytes());
        b.push(0);
        b.extend_from_slice(&30_000i32.to_be_bytes());
        b.push(2);
        b.extend_from_slice(&[7u8; 16]);
        b.push(2);
        b.extend_from_slice(&2i32.to_be_bytes());
        b.extend_from_slice(&0i16.to_be_bytes());
        b.push(0);
        b.extend_from_slice(&0i16.to_be_bytes());
        b.push(0);
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b.push(0);
        b.push(4);
        b.extend_from_slice(b"abc");
        b.push(2);
        b.extend_from_slice(&5i64.to_be_bytes());
        b.extend_from_slice(&7i64.to_be_bytes());
        b.extend_from_slice(&1i16.to_be_bytes());
        b.push(0);
        b.push(0);
        b.push(0);
        let fetched = decode_fetch(&b)?;
        assert_eq!(fetched.acquired, vec![([7u8; 16], 2, 5, 7)]);
        assert_eq!(fetched.bytes, 3);
        Ok(())
    }
}
