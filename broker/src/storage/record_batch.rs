//! Record batches (magic v2), the unit the broker stores and serves.
//!
//! Batches stay bytes: the broker reads the fixed-size header, checks sizes
//! and the CRC, and rewrites the fields that live outside the CRC (base offset
//! and partition leader epoch). Records are only decoded where the broker
//! needs their content, which is the metadata log.

use crate::byte_utils::{DecodeError, Reader};
use thiserror::Error;

/// Bytes before the batch length field is counted: base offset + length.
pub const LOG_OVERHEAD: usize = 12;
/// Size of the header of a magic v2 batch, up to and including the record count.
pub const RECORD_BATCH_OVERHEAD: usize = 61;
/// The magic value of the only batch format the broker accepts.
pub const MAGIC_V2: i8 = 2;

const BATCH_LENGTH_OFFSET: usize = 8;
const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
const MAGIC_OFFSET: usize = 16;
/// The CRC covers everything from the attributes to the end of the batch.
const ATTRIBUTES_OFFSET: usize = 21;

pub const COMPRESSION_CODEC_MASK: i16 = 0x07;
const LOG_APPEND_TIME_FLAG: i16 = 0x08;
const TRANSACTIONAL_FLAG: i16 = 0x10;
const CONTROL_FLAG: i16 = 0x20;
/// Set by the log cleaner on a batch whose base timestamp is the time after
/// which its tombstones may be removed (Kafka's `DELETE_HORIZON_FLAG_MASK`).
pub const DELETE_HORIZON_FLAG: i16 = 0x40;

/// No producer id: the batch is neither idempotent nor transactional.
pub const NO_PRODUCER_ID: i64 = -1;

/// The fixed-size header of a magic v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl BatchHeader {
    /// Reads the header at the start of `buf`. Only the header is looked at.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, DecodeError> {
        let mut r = Reader::new(buf);
        let base_offset = r.read_i64()?;
        let batch_length = r.read_i32()?;
        let partition_leader_epoch = r.read_i32()?;
        let magic = r.read_i8()?;
        let crc = r.read_i32()? as u32;
        Ok(BatchHeader {
            base_offset,
            batch_length,
            partition_leader_epoch,
            magic,
            crc,
            attributes: r.read_i16()?,
            last_offset_delta: r.read_i32()?,
            base_timestamp: r.read_i64()?,
            max_timestamp: r.read_i64()?,
            producer_id: r.read_i64()?,
            producer_epoch: r.read_i16()?,
            base_sequence: r.read_i32()?,
            records_count: r.read_i32()?,
        })
    }

    /// Whole size of the batch, including base offset and length.
    pub fn size_in_bytes(&self) -> usize {
        LOG_OVERHEAD + self.batch_length.max(0) as usize
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression_codec(&self) -> i16 {
        self.attributes & COMPRESSION_CODEC_MASK
    }

    /// Whether the broker set the timestamps (`message.timestamp.type=LogAppendTime`).
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & LOG_APPEND_TIME_FLAG != 0
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_FLAG != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_FLAG != 0
    }

    pub fn has_producer_id(&self) -> bool {
        self.producer_id > NO_PRODUCER_ID
    }

    /// The time after which the cleaner may remove the batch's tombstones,
    /// once it set one (Kafka's `deleteHorizonMs`).
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        (self.attributes & DELETE_HORIZON_FLAG != 0).then_some(self.base_timestamp)
    }
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("{remaining} bytes left at position {position}, too few for a record batch")]
    Truncated { position: usize, remaining: usize },
    #[error("record batch at position {position} has invalid length {length}")]
    InvalidLength { position: usize, length: i32 },
    #[error("record batch at position {position} has magic {magic}, only magic 2 is supported")]
    UnsupportedMagic { position: usize, magic: i8 },
    #[error(
        "record batch at position {position} is corrupt: stored CRC {stored:#010x}, computed {computed:#010x}"
    )]
    CorruptCrc {
        position: usize,
        stored: u32,
        computed: u32,
    },
}

/// Whether the batch at the start of `buf` says it is transactional (its
/// attributes only are read; nothing is checked).
pub fn is_transactional(buf: &[u8]) -> bool {
    buf.get(ATTRIBUTES_OFFSET + 1)
        .is_some_and(|low| i16::from(*low) & TRANSACTIONAL_FLAG != 0)
}

/// Checks the structure of the batch at the start of `buf` (magic, length)
/// and returns its header and whole size; `buf` may hold more batches after it.
pub fn check_structure(buf: &[u8], position: usize) -> Result<(BatchHeader, usize), BatchError> {
    if buf.len() < RECORD_BATCH_OVERHEAD {
        return Err(BatchError::Truncated {
            position,
            remaining: buf.len(),
        });
    }
    let header = BatchHeader::parse(buf).map_err(|_| BatchError::Truncated {
        position,
        remaining: buf.len(),
    })?;
    if header.batch_length < (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) as i32 {
        return Err(BatchError::InvalidLength {
            position,
            length: header.batch_length,
        });
    }
    if header.magic != MAGIC_V2 {
        return Err(BatchError::UnsupportedMagic {
            position,
            magic: header.magic,
        });
    }
    let size = header.size_in_bytes();
    if size > buf.len() {
        return Err(BatchError::Truncated {
            position,
            remaining: buf.len(),
        });
    }
    Ok((header, size))
}

/// CRC-32C of a whole batch, computed over what the stored CRC covers.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES_OFFSET.min(batch.len())..])
}

/// Checks the CRC of a whole batch whose structure has been checked.
pub fn check_crc(batch: &[u8], header: &BatchHeader, position: usize) -> Result<(), BatchError> {
    let computed = compute_crc(batch);
    if computed != header.crc {
        return Err(BatchError::CorruptCrc {
            position,
            stored: header.crc,
            computed,
        });
    }
    Ok(())
}

/// The first 16 bytes of a batch as it is written to a log: the assigned base
/// offset, the unchanged length and the leader epoch. Everything after it is
/// written exactly as received.
pub fn rewritten_prefix(batch: &[u8], base_offset: i64, leader_epoch: i32) -> [u8; 16] {
    let mut prefix = [0u8; 16];
    prefix[..8].copy_from_slice(&base_offset.to_be_bytes());
    prefix[8..12].copy_from_slice(&batch[BATCH_LENGTH_OFFSET..PARTITION_LEADER_EPOCH_OFFSET]);
    prefix[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
    prefix
}

/// Bytes from which the stored batch is copied verbatim after [`rewritten_prefix`].
pub const VERBATIM_FROM: usize = MAGIC_OFFSET;

/// A record to put in a batch the broker writes itself.
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

/// Builds an uncompressed magic v2 batch without a producer id (Kafka's
/// `MemoryRecords.withRecords`), for what the broker writes itself: metadata
/// records and consumer offsets. The base offset is assigned on append.
pub fn build_batch(timestamp: i64, records: &[NewRecord<'_>]) -> Vec<u8> {
    build_producer_batch(timestamp, None, records)
}

/// The producer fields of a batch a coordinator writes for a producer
/// (TxnOffsetCommit's offsets, transaction markers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub transactional: bool,
    pub control: bool,
}

/// The type of a control record (its key: version, then type), Kafka's
/// `ControlRecordType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlRecordType {
    Abort,
    Commit,
    /// A type this broker does not know (a newer Kafka's, or garbage).
    Unknown(i16),
}

impl ControlRecordType {
    pub fn id(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
            ControlRecordType::Unknown(id) => id,
        }
    }

    fn from_id(id: i16) -> Self {
        match id {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            other => ControlRecordType::Unknown(other),
        }
    }
}

/// The version of the control record key and of the end transaction marker.
const CONTROL_RECORD_VERSION: i16 = 0;

/// A transaction marker batch (Kafka's `EndTransactionMarker`): one control
/// record whose key is the type (COMMIT or ABORT) and whose value is the
/// coordinator epoch, in a transactional control batch of the producer.
pub fn build_marker_batch(
    timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
) -> Vec<u8> {
    let kind = if commit {
        ControlRecordType::Commit
    } else {
        ControlRecordType::Abort
    };
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&CONTROL_RECORD_VERSION.to_be_bytes());
    key.extend_from_slice(&kind.id().to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&CONTROL_RECORD_VERSION.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    build_producer_batch(
        timestamp,
        Some(BatchProducer {
            producer_id,
            producer_epoch,
            base_sequence: -1,
            transactional: true,
            control: true,
        }),
        &[NewRecord {
            key: Some(&key),
            value: Some(&value),
        }],
    )
}

/// The control record of a control batch: its type, and for a
/// transaction marker the coordinator epoch of its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlRecord {
    pub kind: ControlRecordType,
    /// -1 when the value holds none.
    pub coordinator_epoch: i32,
}

/// The control record of a control batch: its first record (control
/// batches are never compressed). None when `batch` is not a control batch
/// or its first record's key cannot be read.
pub fn control_record(batch: &[u8]) -> Option<ControlRecord> {
    let header = BatchHeader::parse(batch).ok()?;
    if !header.is_control() || header.compression_codec() != 0 {
        return None;
    }
    let mut r = Reader::new(batch.get(RECORD_BATCH_OVERHEAD..)?);
    let _length = r.read_varint().ok()?;
    let _attributes = r.read_i8().ok()?;
    let _timestamp_delta = r.read_varlong().ok()?;
    let _offset_delta = r.read_varint().ok()?;
    let key_length = r.read_varint().ok()?;
    if key_length < 4 {
        return None;
    }
    let _version = r.read_i16().ok()?;
    let kind = ControlRecordType::from_id(r.read_i16().ok()?);
    r.read_bytes(key_length as usize - 4).ok()?;
    let coordinator_epoch = match r.read_varint() {
        Ok(len) if len >= 6 => {
            let _version = r.read_i16();
            r.read_i32().unwrap_or(-1)
        }
        _ => -1,
    };
    Some(ControlRecord {
        kind,
        coordinator_epoch,
    })
}

/// The most bytes of a control batch [`control_record`] reads: the header,
/// the first record's length, attributes, deltas, key and marker value.
pub const CONTROL_RECORD_READ_BYTES: usize = RECORD_BATCH_OVERHEAD + 5 + 1 + 10 + 5 + 5 + 4 + 5 + 6;

/// A batch of `records` with the given producer fields (or none).
pub fn build_producer_batch(
    timestamp: i64,
    producer: Option<BatchProducer>,
    records: &[NewRecord<'_>],
) -> Vec<u8> {
    use crate::byte_utils::{put_varint, put_varlong};
    let mut body = Vec::with_capacity(64 * records.len());
    for (i, record) in records.iter().enumerate() {
        let mut r = Vec::with_capacity(16);
        r.push(0); // attributes
        put_varlong(&mut r, 0); // timestamp delta
        put_varint(&mut r, i as i32); // offset delta
        for field in [record.key, record.value] {
            match field {
                Some(bytes) => {
                    put_varint(&mut r, bytes.len() as i32);
                    r.extend_from_slice(bytes);
                }
                None => put_varint(&mut r, -1),
            }
        }
        put_varint(&mut r, 0); // headers
        put_varint(&mut body, r.len() as i32);
        body.extend_from_slice(&r);
    }
    let mut out = Vec::with_capacity(RECORD_BATCH_OVERHEAD + body.len());
    out.extend_from_slice(&0i64.to_be_bytes());
    out.extend_from_slice(
        &((RECORD_BATCH_OVERHEAD - LOG_OVERHEAD + body.len()) as i32).to_be_bytes(),
    );
    out.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch, set on append
    out.push(MAGIC_V2 as u8);
    out.extend_from_slice(&[0; 4]); // CRC, below
    let mut attributes = 0i16;
    if producer.is_some_and(|p| p.transactional) {
        attributes |= TRANSACTIONAL_FLAG;
    }
    if producer.is_some_and(|p| p.control) {
        attributes |= CONTROL_FLAG;
    }
    out.extend_from_slice(&attributes.to_be_bytes());
    out.extend_from_slice(&(records.len() as i32 - 1).to_be_bytes());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(
        &producer
            .map_or(NO_PRODUCER_ID, |p| p.producer_id)
            .to_be_bytes(),
    );
    out.extend_from_slice(&producer.map_or(-1i16, |p| p.producer_epoch).to_be_bytes());
    out.extend_from_slice(&producer.map_or(-1i32, |p| p.base_sequence).to_be_bytes());
    out.extend_from_slice(&(records.len() as i32).to_be_bytes());
    out.extend_from_slice(&body);
    let crc = compute_crc(&out);
    out[MAGIC_OFFSET + 1..MAGIC_OFFSET + 5].copy_from_slice(&crc.to_be_bytes());
    out
}

/// Walks whole batches laid back to back, checking the structure of each.
/// Stops with an error at the first batch that is not whole or not magic v2.
pub struct Batches<'a> {
    buf: &'a [u8],
    position: usize,
}

impl<'a> Batches<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Batches { buf, position: 0 }
    }
}

/// One batch within a buffer: where it starts, its header and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct BatchRef<'a> {
    pub position: usize,
    pub header: BatchHeader,
    pub bytes: &'a [u8],
}

impl<'a> Iterator for Batches<'a> {
    type Item = Result<BatchRef<'a>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.position..];
        match check_structure(rest, self.position) {
            Ok((header, size)) => {
                let item = BatchRef {
                    position: self.position,
                    header,
                    bytes: &rest[..size],
                };
                self.position += size;
                Some(Ok(item))
            }
            Err(e) => {
                self.position = self.buf.len();
                Some(Err(e))
            }
        }
    }
}

/// A record inside an uncompressed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub offset_delta: i32,
    pub timestamp_delta: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

/// Iterates the records of an uncompressed batch (the metadata log's case).
pub fn records(batch: &[u8]) -> Result<Records<'_>, DecodeError> {
    let header = BatchHeader::parse(batch)?;
    Ok(records_in(
        &batch[RECORD_BATCH_OVERHEAD..],
        header.records_count,
    ))
}

/// Iterates `count` records laid out in `bytes`.
fn records_in(bytes: &[u8], count: i32) -> Records<'_> {
    Records {
        reader: Reader::new(bytes),
        left: count.max(0) as usize,
    }
}

/// Why the records of a batch could not be read.
#[derive(Debug, Error)]
pub enum RecordsError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Decompress(#[from] super::compression::DecompressError),
    #[error(transparent)]
    Compress(#[from] super::compression::CompressError),
}

/// The largest a batch may grow when decompressed to read its records.
const MAX_DECOMPRESSED_BATCH: usize = 256 * 1024 * 1024;

/// The (offset, timestamp) of every record of a whole batch, decompressing
/// it when needed.
pub fn record_timestamps(batch: &[u8]) -> Result<Vec<(i64, i64)>, RecordsError> {
    let header = BatchHeader::parse(batch)?;
    let count = header.records_count.max(0);
    if header.is_log_append_time() {
        return Ok((0..header.last_offset_delta.max(0) + 1)
            .map(|delta| (header.base_offset + i64::from(delta), header.max_timestamp))
            .collect());
    }
    let bytes = record_bytes(batch, &header)?;
    records_in(&bytes, count)
        .map(|record| {
            let record = record?;
            Ok((
                header.base_offset + i64::from(record.offset_delta),
                header.base_timestamp + record.timestamp_delta,
            ))
        })
        .collect()
}

/// The records of a whole batch as laid out uncompressed: the batch's own
/// bytes, or its payload decompressed.
fn record_bytes<'a>(
    batch: &'a [u8],
    header: &BatchHeader,
) -> Result<std::borrow::Cow<'a, [u8]>, RecordsError> {
    let payload = batch.get(RECORD_BATCH_OVERHEAD..).unwrap_or_default();
    Ok(match header.compression_codec() {
        0 => std::borrow::Cow::Borrowed(payload),
        codec => std::borrow::Cow::Owned(super::compression::decompress(
            codec,
            payload,
            MAX_DECOMPRESSED_BATCH,
        )?),
    })
}

/// A record's timestamp when it has none (Kafka's `RecordBatch.NO_TIMESTAMP`).
pub const NO_TIMESTAMP: i64 = -1;

/// The (offset, timestamp, has a key) of every record of a whole batch,
/// decompressing it when needed, for the checks of records from clients.
pub fn record_keys_and_timestamps(batch: &[u8]) -> Result<Vec<(i64, i64, bool)>, RecordsError> {
    let header = BatchHeader::parse(batch)?;
    let bytes = record_bytes(batch, &header)?;
    records_in(&bytes, header.records_count)
        .map(|record| {
            let record = record?;
            Ok((
                header.base_offset + i64::from(record.offset_delta),
                header.base_timestamp + record.timestamp_delta,
                record.key.is_some(),
            ))
        })
        .collect()
}

/// The index of the first record without a key in a whole batch
/// (decompressing it when needed), if there is one.
pub fn first_record_without_key(batch: &[u8]) -> Result<Option<usize>, RecordsError> {
    let header = BatchHeader::parse(batch)?;
    let bytes = record_bytes(batch, &header)?;
    for (index, record) in records_in(&bytes, header.records_count).enumerate() {
        if record?.key.is_none() {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// The records of a whole batch as laid out uncompressed (see
/// `record_bytes`), for the log cleaner.
pub fn uncompressed_records<'a>(
    batch: &'a [u8],
    header: &BatchHeader,
) -> Result<std::borrow::Cow<'a, [u8]>, RecordsError> {
    record_bytes(batch, header)
}

/// A record as laid out in a batch, with what the log cleaner looks at.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    /// The whole record, its length prefix included.
    pub bytes: &'a [u8],
    pub attributes: i8,
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<&'a [u8]>,
    pub has_value: bool,
    /// The record's body from the offset delta on (after the timestamp delta).
    pub after_timestamp: &'a [u8],
}

/// Walks `count` records laid out in `bytes` (uncompressed), keeping each
/// one's bytes.
pub fn raw_records(
    bytes: &[u8],
    count: i32,
) -> impl Iterator<Item = Result<RawRecord<'_>, DecodeError>> {
    let mut reader = Reader::new(bytes);
    let mut left = count.max(0);
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        let item = read_raw_record(&mut reader, bytes);
        if item.is_err() {
            left = 0;
        }
        Some(item)
    })
}

fn read_raw_record<'a>(
    reader: &mut Reader<'a>,
    all: &'a [u8],
) -> Result<RawRecord<'a>, DecodeError> {
    let start = reader.position();
    let length = reader.read_varint()?;
    if length < 0 {
        return Err(DecodeError::InvalidLength {
            at: start,
            length: length.into(),
        });
    }
    let body = reader.read_bytes(length as usize)?;
    let mut r = Reader::new(body);
    let attributes = r.read_i8()?;
    let timestamp_delta = r.read_varlong()?;
    let after_timestamp = &body[r.position()..];
    let offset_delta = r.read_varint()?;
    let key = read_varint_bytes(&mut r)?;
    let value = read_varint_bytes(&mut r)?;
    Ok(RawRecord {
        bytes: &all[start..reader.position()],
        attributes,
        timestamp_delta,
        offset_delta,
        key,
        has_value: value.is_some(),
        after_timestamp,
    })
}

/// Appends `record` to `out` with its timestamp delta replaced (the base
/// timestamp of its batch changed); the rest of it is copied.
pub fn put_record_with_timestamp_delta(out: &mut Vec<u8>, record: &RawRecord<'_>, delta: i64) {
    use crate::byte_utils::{put_varint, put_varlong};
    let mut body = Vec::with_capacity(record.bytes.len() + 8);
    body.push(record.attributes as u8);
    put_varlong(&mut body, delta);
    body.extend_from_slice(record.after_timestamp);
    put_varint(out, body.len() as i32);
    out.extend_from_slice(&body);
}

/// Writes a whole magic v2 batch with the fields of `batch` and `payload`
/// as its (already compressed, when its attributes say so) records; the
/// length and CRC are computed, `batch`'s own are not looked at.
pub fn write_batch(out: &mut Vec<u8>, batch: &BatchHeader, payload: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&batch.base_offset.to_be_bytes());
    out.extend_from_slice(
        &((RECORD_BATCH_OVERHEAD - LOG_OVERHEAD + payload.len()) as i32).to_be_bytes(),
    );
    out.extend_from_slice(&batch.partition_leader_epoch.to_be_bytes());
    out.push(MAGIC_V2 as u8);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&batch.attributes.to_be_bytes());
    out.extend_from_slice(&batch.last_offset_delta.to_be_bytes());
    out.extend_from_slice(&batch.base_timestamp.to_be_bytes());
    out.extend_from_slice(&batch.max_timestamp.to_be_bytes());
    out.extend_from_slice(&batch.producer_id.to_be_bytes());
    out.extend_from_slice(&batch.producer_epoch.to_be_bytes());
    out.extend_from_slice(&batch.base_sequence.to_be_bytes());
    out.extend_from_slice(&batch.records_count.to_be_bytes());
    out.extend_from_slice(payload);
    let crc = compute_crc(&out[start..]);
    out[start + MAGIC_OFFSET + 1..start + MAGIC_OFFSET + 5].copy_from_slice(&crc.to_be_bytes());
}

pub struct Records<'a> {
    reader: Reader<'a>,
    left: usize,
}

impl<'a> Records<'a> {
    fn read_one(&mut self) -> Result<Record<'a>, DecodeError> {
        let at = self.reader.position();
        let length = self.reader.read_varint()?;
        if length < 0 {
            return Err(DecodeError::InvalidLength {
                at,
                length: length.into(),
            });
        }
        let body = self.reader.read_bytes(length as usize)?;
        let mut r = Reader::new(body);
        let _attributes = r.read_i8()?;
        let timestamp_delta = r.read_varlong()?;
        let offset_delta = r.read_varint()?;
        let key = read_varint_bytes(&mut r)?;
        let value = read_varint_bytes(&mut r)?;
        // Headers follow; the broker has no use for them here.
        Ok(Record {
            offset_delta,
            timestamp_delta,
            key,
            value,
        })
    }
}

fn read_varint_bytes<'a>(r: &mut Reader<'a>) -> Result<Option<&'a [u8]>, DecodeError> {
    let at = r.position();
    let len = r.read_varint()?;
    match len {
        -1 => Ok(None),
        n if n >= 0 => r.read_bytes(n as usize).map(Some),
        n => Err(DecodeError::InvalidLength {
            at,
            length: n.into(),
        }),
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let item = self.read_one();
        if item.is_err() {
            self.left = 0;
        }
        Some(item)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::byte_utils::{put_varint, put_varlong};

    const CRC_OFFSET: usize = 17;

    /// Builds an uncompressed batch with the given record values.
    pub(crate) fn batch(base_offset: i64, values: &[&[u8]]) -> Vec<u8> {
        let mut records = Vec::new();
        for (i, value) in values.iter().enumerate() {
            let mut body = vec![0u8];
            put_varlong(&mut body, 0);
            put_varint(&mut body, i as i32);
            put_varint(&mut body, -1);
            put_varint(&mut body, value.len() as i32);
            body.extend_from_slice(value);
            put_varint(&mut body, 0);
            put_varint(&mut records, body.len() as i32);
            records.extend_from_slice(&body);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&base_offset.to_be_bytes());
        out.extend_from_slice(
            &((RECORD_BATCH_OVERHEAD - LOG_OVERHEAD + records.len()) as i32).to_be_bytes(),
        );
        out.extend_from_slice(&0i32.to_be_bytes());
        out.push(2);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&0i16.to_be_bytes());
        out.extend_from_slice(&(values.len() as i32 - 1).to_be_bytes());
        out.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        out.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        out.extend_from_slice(&(-1i64).to_be_bytes());
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out.extend_from_slice(&(-1i32).to_be_bytes());
        out.extend_from_slice(&(values.len() as i32).to_be_bytes());
        out.extend_from_slice(&records);
        let crc = compute_crc(&out);
        out[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        out
    }

    #[test]
    fn walks_checks_and_reads_records() {
        let mut buf = batch(0, &[b"a", b"bc"]);
        buf.extend(batch(2, &[b"d"]));
        let batches: Vec<_> = Batches::new(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].header.last_offset(), 1);
        assert_eq!(batches[1].position, batches[0].bytes.len());
        for b in &batches {
            check_crc(b.bytes, &b.header, b.position).unwrap();
        }
        let values: Vec<_> = records(batches[0].bytes)
            .unwrap()
            .map(|r| r.unwrap().value.unwrap().to_vec())
            .collect();
        assert_eq!(values, vec![b"a".to_vec(), b"bc".to_vec()]);
    }

    #[test]
    fn detects_torn_and_corrupt_batches() {
        let buf = batch(0, &[b"hello"]);
        let torn = &buf[..buf.len() - 1];
        assert!(matches!(
            Batches::new(torn).next(),
            Some(Err(BatchError::Truncated { .. }))
        ));
        let mut corrupt = buf.clone();
        *corrupt.last_mut().unwrap() ^= 1;
        let (header, _) = check_structure(&corrupt, 0).unwrap();
        assert!(matches!(
            check_crc(&corrupt, &header, 0),
            Err(BatchError::CorruptCrc { .. })
        ));
        let mut magic1 = buf;
        magic1[MAGIC_OFFSET] = 1;
        assert!(matches!(
            check_structure(&magic1, 0),
            Err(BatchError::UnsupportedMagic { magic: 1, .. })
        ));
    }

    #[test]
    fn built_batches_are_valid_and_readable() {
        let built = build_batch(
            1_700_000_000_000,
            &[
                NewRecord {
                    key: Some(b"k"),
                    value: Some(b"v1"),
                },
                NewRecord {
                    key: None,
                    value: None,
                },
            ],
        );
        let (header, size) = check_structure(&built, 0).unwrap();
        assert_eq!(size, built.len());
        check_crc(&built, &header, 0).unwrap();
        assert_eq!((header.records_count, header.last_offset_delta), (2, 1));
        let records: Vec<_> = records(&built).unwrap().map(Result::unwrap).collect();
        assert_eq!(records[0].key, Some(&b"k"[..]));
        assert_eq!(records[1].value, None);
        assert_eq!(records[1].offset_delta, 1);
    }

    #[test]
    fn timestamps_of_plain_and_compressed_batches() {
        let plain = batch(5, &[b"a", b"b"]);
        assert_eq!(
            record_timestamps(&plain).unwrap(),
            vec![(5, 1_700_000_000_000), (6, 1_700_000_000_000)]
        );
        // The same records, gzip-compressed.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &plain[RECORD_BATCH_OVERHEAD..]).unwrap();
        let mut compressed = plain[..RECORD_BATCH_OVERHEAD].to_vec();
        compressed.extend(gz.finish().unwrap());
        compressed[21..23].copy_from_slice(&1i16.to_be_bytes());
        let length = (compressed.len() - LOG_OVERHEAD) as i32;
        compressed[8..12].copy_from_slice(&length.to_be_bytes());
        assert_eq!(
            record_timestamps(&compressed).unwrap(),
            record_timestamps(&plain).unwrap()
        );
    }

    #[test]
    fn rewriting_the_prefix_keeps_the_crc_valid() {
        let buf = batch(0, &[b"x"]);
        let prefix = rewritten_prefix(&buf, 42, 7);
        let mut stored = prefix.to_vec();
        stored.extend_from_slice(&buf[VERBATIM_FROM..]);
        let (header, _) = check_structure(&stored, 0).unwrap();
        assert_eq!(header.base_offset, 42);
        assert_eq!(header.partition_leader_epoch, 7);
        check_crc(&stored, &header, 0).unwrap();
    }
}
