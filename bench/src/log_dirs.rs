//! DescribeLogDirs (API key 35) and AlterReplicaLogDirs (key 34), which
//! librdkafka's admin API lacks, encoded by hand over a TCP connection of
//! their own (the layouts of Kafka's DescribeLogDirsRequest/Response.json
//! and AlterReplicaLogDirsRequest/Response.json).
//!
//! The versions are the highest the broker advertises in ApiVersions of
//! DescribeLogDirs v1-4 and AlterReplicaLogDirs v1-2 (v0 of both is gone
//! from Kafka 4). Flexible versions (2+ of both) use compact strings and
//! arrays, tagged fields, request header v2 and response header v1; the
//! others request header v1 and response header v0. DescribeLogDirs v3
//! adds a top-level error code, v4 each directory's total and usable bytes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use crate::broker::supported_apis;

const ALTER_REPLICA_LOG_DIRS: i16 = 34;
const DESCRIBE_LOG_DIRS: i16 = 35;
const CLIENT_ID: &[u8] = b"bench";
/// The largest response accepted.
const MAX_RESPONSE: i32 = 64 << 20;

/// One log directory of a DescribeLogDirs response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogDir {
    pub path: String,
    pub error_code: i16,
    pub partitions: Vec<PartitionDir>,
    /// The volume's total and usable bytes (v4+; -1 when not reported).
    pub total_bytes: i64,
    pub usable_bytes: i64,
}

/// A partition as a directory holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionDir {
    pub topic: String,
    pub partition: i32,
    pub size: i64,
    pub offset_lag: i64,
    /// A copy being moved in by AlterReplicaLogDirs.
    pub is_future: bool,
}

/// A connection for DescribeLogDirs and AlterReplicaLogDirs requests.
pub struct Client {
    stream: TcpStream,
    correlation_id: i32,
    describe_version: i16,
    alter_version: i16,
}

impl Client {
    /// Connects and picks the versions; `Err(reason)` inside when the broker
    /// does not advertise DescribeLogDirs v1-4 and AlterReplicaLogDirs v1-2.
    pub fn connect(
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<std::result::Result<Self, String>> {
        let apis = supported_apis(addr, timeout)?;
        let highest = |key: i16, lowest: i16, highest: i16| {
            apis.iter()
                .find(|a| a.key == key)
                .map(|a| a.max.min(highest))
                .filter(|&v| v >= lowest)
        };
        let (Some(describe_version), Some(alter_version)) = (
            highest(DESCRIBE_LOG_DIRS, 1, 4),
            highest(ALTER_REPLICA_LOG_DIRS, 1, 2),
        ) else {
            return Ok(Err(
                "it does not advertise both DescribeLogDirs v1-4 and AlterReplicaLogDirs v1-2"
                    .into(),
            ));
        };
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Ok(Client {
            stream,
            correlation_id: 0,
            describe_version,
            alter_version,
        }))
    }

    /// "DescribeLogDirs v4, AlterReplicaLogDirs v2".
    pub fn versions(&self) -> String {
        format!(
            "DescribeLogDirs v{}, AlterReplicaLogDirs v{}",
            self.describe_version, self.alter_version
        )
    }

    /// DescribeLogDirs of the partitions named (`None`: of every
    /// partition; `Some(&[])`: of none, only the directories).
    pub fn describe(&mut self, partitions: Option<&[(&str, i32)]>) -> Result<Vec<LogDir>> {
        let version = self.describe_version;
        let body = encode_describe(version, partitions);
        let response = self
            .exchange(DESCRIBE_LOG_DIRS, version, &body)
            .with_context(|| format!("DescribeLogDirs v{version}"))?;
        decode_describe(version, &response)
            .with_context(|| format!("decoding a DescribeLogDirs v{version} response"))
    }

    /// AlterReplicaLogDirs of one partition into the directory `path`;
    /// returns the partition's error code.
    pub fn alter(&mut self, path: &str, topic: &str, partition: i32) -> Result<i16> {
        let version = self.alter_version;
        let body = encode_alter(version, path, topic, partition);
        let response = self
            .exchange(ALTER_REPLICA_LOG_DIRS, version, &body)
            .with_context(|| format!("AlterReplicaLogDirs v{version}"))?;
        let results = decode_alter(version, &response)
            .with_context(|| format!("decoding an AlterReplicaLogDirs v{version} response"))?;
        results
            .iter()
            .find(|(t, p, _)| t == topic && *p == partition)
            .map(|r| r.2)
            .ok_or_else(|| {
                anyhow!("the AlterReplicaLogDirs response has no result for {topic}-{partition}")
            })
    }

    /// Sends a request and returns the response body after its header.
    fn exchange(&mut self, api_key: i16, version: i16, body: &[u8]) -> Result<Vec<u8>> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let flexible = is_flexible(api_key, version);
        let request = frame(api_key, version, self.correlation_id, flexible, body);
        self.stream.write_all(&request)?;
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size)?;
        let size = i32::from_be_bytes(size);
        if !(4..=MAX_RESPONSE).contains(&size) {
            bail!("response size {size}");
        }
        let mut response = vec![0u8; size as usize];
        self.stream.read_exact(&mut response)?;
        let mut r = Reader::new(&response, flexible);
        let correlation_id = r.i32()?;
        if correlation_id != self.correlation_id {
            bail!(
                "response correlation id {correlation_id}, expected {}",
                self.correlation_id
            );
        }
        if flexible {
            r.tagged_fields()?;
        }
        Ok(response[r.at..].to_vec())
    }
}

fn is_flexible(api_key: i16, version: i16) -> bool {
    match api_key {
        ALTER_REPLICA_LOG_DIRS | DESCRIBE_LOG_DIRS => version >= 2,
        _ => false,
    }
}

/// The size, the request header (v2 when flexible, else v1) and the body.
pub(crate) fn frame(
    api_key: i16,
    version: i16,
    correlation_id: i32,
    flexible: bool,
    body: &[u8],
) -> Vec<u8> {
    let mut header = Writer::new(flexible);
    header.i16(api_key);
    header.i16(version);
    header.i32(correlation_id);
    // The client id is a nullable string with an i16 length in every header
    // version, flexible ones included.
    header.i16(CLIENT_ID.len() as i16);
    header.buf.extend_from_slice(CLIENT_ID);
    header.tagged_fields();
    let mut request = Vec::with_capacity(4 + header.buf.len() + body.len());
    request.extend_from_slice(&((header.buf.len() + body.len()) as i32).to_be_bytes());
    request.extend_from_slice(&header.buf);
    request.extend_from_slice(body);
    request
}

/// Topics (a nullable array of topic name and partition indexes).
fn encode_describe(version: i16, partitions: Option<&[(&str, i32)]>) -> Vec<u8> {
    let mut w = Writer::new(version >= 2);
    match partitions {
        None => w.null_array(),
        Some(partitions) => {
            // One entry per topic, its partitions in the order given.
            let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
            for &(topic, partition) in partitions {
                match topics.iter_mut().find(|(t, _)| *t == topic) {
                    Some((_, ps)) => ps.push(partition),
                    None => topics.push((topic, vec![partition])),
                }
            }
            w.array_len(topics.len());
            for (topic, ps) in &topics {
                w.string(topic);
                w.array_len(ps.len());
                for &p in ps {
                    w.i32(p);
                }
                w.tagged_fields();
            }
        }
    }
    w.tagged_fields();
    w.buf
}

fn decode_describe(version: i16, body: &[u8]) -> Result<Vec<LogDir>> {
    let mut r = Reader::new(body, version >= 2);
    let _throttle_ms = r.i32()?;
    if version >= 3 {
        let error_code = r.i16()?;
        if error_code != 0 {
            bail!("error {}", error_name(error_code));
        }
    }
    let mut dirs = Vec::new();
    for _ in 0..r.array_len()? {
        let error_code = r.i16()?;
        let path = r.string()?;
        let mut partitions = Vec::new();
        for _ in 0..r.array_len()? {
            let topic = r.string()?;
            for _ in 0..r.array_len()? {
                partitions.push(PartitionDir {
                    topic: topic.clone(),
                    partition: r.i32()?,
                    size: r.i64()?,
                    offset_lag: r.i64()?,
                    is_future: r.bool()?,
                });
                r.tagged_fields()?;
            }
            r.tagged_fields()?;
        }
        let (total_bytes, usable_bytes) = if version >= 4 {
            (r.i64()?, r.i64()?)
        } else {
            (-1, -1)
        };
        r.tagged_fields()?;
        dirs.push(LogDir {
            path,
            error_code,
            partitions,
            total_bytes,
            usable_bytes,
        });
    }
    r.tagged_fields()?;
    r.end()?;
    Ok(dirs)
}

/// Dirs: one directory path, one topic, one partition.
fn encode_alter(version: i16, path: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut w = Writer::new(version >= 2);
    w.array_len(1);
    w.string(path);
    w.array_len(1);
    w.string(topic);
    w.array_len(1);
    w.i32(partition);
    w.tagged_fields();
    w.tagged_fields();
    w.tagged_fields();
    w.buf
}

/// (topic, partition, error code) of every result.
fn decode_alter(version: i16, body: &[u8]) -> Result<Vec<(String, i32, i16)>> {
    let mut r = Reader::new(body, version >= 2);
    let _throttle_ms = r.i32()?;
    let mut results = Vec::new();
    for _ in 0..r.array_len()? {
        let topic = r.string()?;
        for _ in 0..r.array_len()? {
            let partition = r.i32()?;
            let error_code = r.i16()?;
            r.tagged_fields()?;
            results.push((topic.clone(), partition, error_code));
        }
        r.tagged_fields()?;
    }
    r.tagged_fields()?;
    r.end()?;
    Ok(results)
}

/// The names of the error codes these requests answer with.
pub fn error_name(code: i16) -> String {
    let name = match code {
        0 => "NONE",
        3 => "UNKNOWN_TOPIC_OR_PARTITION",
        9 => "REPLICA_NOT_AVAILABLE",
        31 => "CLUSTER_AUTHORIZATION_FAILED",
        35 => "UNSUPPORTED_VERSION",
        56 => "KAFKA_STORAGE_ERROR",
        57 => "LOG_DIR_NOT_FOUND",
        _ => return format!("error code {code}"),
    };
    format!("{name} ({code})")
}

/// Kafka's primitive types, compact (flexible versions) or not.
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
    flexible: bool,
}

impl Writer {
    pub(crate) fn new(flexible: bool) -> Self {
        Writer {
            buf: Vec::new(),
            flexible,
        }
    }

    pub(crate) fn i16(&mut self, v: i16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    /// A compact string's length is its length + 1, as an unsigned varint.
    pub(crate) fn string(&mut self, s: &str) {
        if self.flexible {
            self.uvarint(s.len() as u64 + 1);
        } else {
            self.i16(s.len() as i16);
        }
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn array_len(&mut self, n: usize) {
        if self.flexible {
            self.uvarint(n as u64 + 1);
        } else {
            self.i32(n as i32);
        }
    }

    pub(crate) fn null_array(&mut self) {
        if self.flexible {
            self.uvarint(0);
        } else {
            self.i32(-1);
        }
    }

    /// No tagged fields (flexible versions only).
    pub(crate) fn tagged_fields(&mut self) {
        if self.flexible {
            self.uvarint(0);
        }
    }
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pub(crate) at: usize,
    flexible: bool,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], flexible: bool) -> Self {
        Reader {
            buf,
            at: 0,
            flexible,
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| {
                anyhow!(
                    "truncated: {n} bytes wanted at {} of {}",
                    self.at,
                    self.buf.len()
                )
            })?;
        let bytes = &self.buf[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into()?)
    }

    pub(crate) fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub(crate) fn bool(&mut self) -> Result<bool> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => bail!("boolean byte {b}"),
        }
    }

    pub(crate) fn uvarint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        bail!("varint longer than 10 bytes")
    }

    /// A length: compact (varint, + 1) or i16/i32; None for null.
    pub(crate) fn length(&mut self, wide: bool) -> Result<Option<usize>> {
        let n: i64 = if self.flexible {
            self.uvarint()? as i64 - 1
        } else if wide {
            self.i32()?.into()
        } else {
            self.i16()?.into()
        };
        if n < 0 {
            return Ok(None);
        }
        let n = usize::try_from(n)?;
        // Every element takes a byte at least: a larger count is garbage.
        if n > self.buf.len() - self.at {
            bail!("length {n} with {} bytes left", self.buf.len() - self.at);
        }
        Ok(Some(n))
    }

    pub(crate) fn string(&mut self) -> Result<String> {
        let n = self.length(false)?.ok_or_else(|| anyhow!("null string"))?;
        Ok(String::from_utf8(self.take(n)?.to_vec())?)
    }

    /// An array's element count; a null array has none.
    pub(crate) fn array_len(&mut self) -> Result<usize> {
        Ok(self.length(true)?.unwrap_or(0))
    }

    /// Skips tagged fields (flexible versions only).
    pub(crate) fn tagged_fields(&mut self) -> Result<()> {
        if !self.flexible {
            return Ok(());
        }
        for _ in 0..self.uvarint()? {
            let _tag = self.uvarint()?;
            let size = usize::try_from(self.uvarint()?)?;
            self.take(size)?;
        }
        Ok(())
    }

    pub(crate) fn end(&self) -> Result<()> {
        if self.at != self.buf.len() {
            bail!("{} bytes left over", self.buf.len() - self.at);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flexible_header_has_an_old_style_client_id_and_tags() {
        let request = frame(35, 4, 7, true, &[0xAA]);
        assert_eq!(
            request,
            [
                0, 0, 0, 17, // size
                0, 35, 0, 4, 0, 0, 0, 7, // key, version, correlation id
                0, 5, b'b', b'e', b'n', b'c', b'h', // client id
                0,    // no tagged fields
                0xAA, // body
            ]
        );
        let request = frame(34, 1, 7, false, &[]);
        assert_eq!(request.len(), 4 + 15);
        assert_eq!(&request[..4], &[0, 0, 0, 15]);
    }

    #[test]
    fn describe_requests_are_encoded() {
        // Null topics: every partition.
        assert_eq!(encode_describe(4, None), [0, 0]);
        assert_eq!(encode_describe(1, None), [255, 255, 255, 255]);
        // No topics: the directories only.
        assert_eq!(encode_describe(2, Some(&[])), [1, 0]);
        assert_eq!(encode_describe(1, Some(&[])), [0, 0, 0, 0]);
        assert_eq!(
            encode_describe(4, Some(&[("t", 0), ("t", 3)])),
            [2, 2, b't', 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0]
        );
        assert_eq!(
            encode_describe(1, Some(&[("t", 0)])),
            [0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 0]
        );
    }

    #[test]
    fn alter_requests_are_encoded() {
        assert_eq!(
            encode_alter(2, "/d", "t", 5),
            [2, 3, b'/', b'd', 2, 2, b't', 2, 0, 0, 0, 5, 0, 0, 0]
        );
        assert_eq!(
            encode_alter(1, "/d", "t", 5),
            [
                0, 0, 0, 1, 0, 2, b'/', b'd', 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 5
            ]
        );
    }

    /// A DescribeLogDirs response body of two directories, the second with
    /// a future copy of `t-0`, as a broker of `version` sends it.
    fn describe_response(version: i16) -> Vec<u8> {
        let flexible = version >= 2;
        let mut w = Writer::new(flexible);
        w.i32(0);
        if version >= 3 {
            w.i16(0);
        }
        w.array_len(2);
        for (path, future) in [("/a", false), ("/b", true)] {
            w.i16(0);
            w.string(path);
            w.array_len(1);
            w.string("t");
            w.array_len(1);
            w.i32(0);
            w.buf.extend_from_slice(&1000i64.to_be_bytes());
            w.buf
                .extend_from_slice(&(if future { 7i64 } else { 0 }).to_be_bytes());
            w.buf.push(u8::from(future));
            w.tagged_fields();
            w.tagged_fields();
            if version >= 4 {
                w.buf.extend_from_slice(&(1i64 << 40).to_be_bytes());
                w.buf.extend_from_slice(&(1i64 << 30).to_be_bytes());
            }
            if flexible {
                // One unknown tagged field, to be skipped.
                w.buf.extend_from_slice(&[1, 9, 2, 0xDE, 0xAD]);
            }
        }
        w.tagged_fields();
        w.buf
    }

    #[test]
    fn describe_responses_are_decoded() -> Result<()> {
        for version in 1..=4 {
            let dirs = decode_describe(version, &describe_response(version))?;
            assert_eq!(dirs.len(), 2, "v{version}");
            assert_eq!(dirs[0].path, "/a");
            assert_eq!(dirs[1].path, "/b");
            assert_eq!(
                dirs[1].partitions,
                vec![PartitionDir {
                    topic: "t".into(),
                    partition: 0,
                    size: 1000,
                    offset_lag: 7,
                    is_future: true,
                }]
            );
            assert!(!dirs[0].partitions[0].is_future);
            let total = if version >= 4 { 1 << 40 } else { -1 };
            assert_eq!(dirs[0].total_bytes, total);
            let body = describe_response(version);
            assert!(decode_describe(version, &body[..body.len() - 1]).is_err());
            let mut longer = body.clone();
            longer.push(0);
            assert!(decode_describe(version, &longer).is_err());
        }
        // v3+: a top-level error.
        let mut body = describe_response(3);
        body[5] = 31;
        let err = decode_describe(3, &body).unwrap_err();
        assert!(format!("{err}").contains("CLUSTER_AUTHORIZATION_FAILED"));
        Ok(())
    }

    #[test]
    fn alter_responses_are_decoded() -> Result<()> {
        // v2: throttle, [topic "t" [0: NONE, 1: LOG_DIR_NOT_FOUND]].
        let body = [
            0, 0, 0, 0, 2, 2, b't', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 57, 0, 0, 0,
        ];
        assert_eq!(
            decode_alter(2, &body)?,
            vec![("t".into(), 0, 0), ("t".into(), 1, 57)]
        );
        let body = [
            0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 4, 0, 56,
        ];
        assert_eq!(decode_alter(1, &body)?, vec![("t".into(), 4, 56)]);
        assert!(decode_alter(1, &body[..20]).is_err());
        Ok(())
    }

    #[test]
    fn varints_round_trip() -> Result<()> {
        for v in [0, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX)] {
            let mut w = Writer::new(true);
            w.uvarint(v);
            let mut r = Reader::new(&w.buf, true);
            assert_eq!(r.uvarint()?, v);
            r.end()?;
        }
        assert!(Reader::new(&[0x80], true).uvarint().is_err());
        Ok(())
    }
}
