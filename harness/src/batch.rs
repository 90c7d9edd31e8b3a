//! Record batches (magic 2), built and decoded by the harness itself.

use crate::wire::{Reader, Writer};
use anyhow::{Context, Result, ensure};

/// Size of the batch header up to and including the record count.
pub const BATCH_HEADER_SIZE: usize = 61;
/// The CRC covers the bytes from the attributes (offset 21) to the end.
pub const CRC_START: usize = 21;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<Header>,
}

impl Record {
    pub fn value(value: impl Into<Vec<u8>>) -> Self {
        Record {
            timestamp_delta: 0,
            offset_delta: 0,
            key: None,
            value: Some(value.into()),
            headers: Vec::new(),
        }
    }
}

/// The fields of a batch; records get offset deltas 0, 1, 2, ... when encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    pub base_offset: i64,
    pub partition_leader_epoch: i32,
    pub attributes: i16,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records: Vec<Record>,
}

impl RecordBatch {
    /// A batch as the challenge's tester sends it: producer id 0, epoch 0,
    /// sequence 0, no compression.
    pub fn new(records: Vec<Record>) -> Self {
        RecordBatch {
            base_offset: 0,
            partition_leader_epoch: 0,
            attributes: 0,
            base_timestamp: 1_726_045_973_899,
            max_timestamp: 1_726_045_973_899,
            producer_id: 0,
            producer_epoch: 0,
            base_sequence: 0,
            records,
        }
    }

    /// A batch of one record per value, as the challenge's tester sends them.
    pub fn of_values(values: &[&str]) -> Self {
        RecordBatch::new(
            values
                .iter()
                .map(|v| Record::value(v.as_bytes().to_vec()))
                .collect(),
        )
    }

    /// A batch of one record per value without a producer id, as a
    /// non-idempotent producer sends them. Unlike the tester's batches
    /// (producer 0, sequence 0), any number of these can go to one partition.
    pub fn plain(values: &[&str]) -> Self {
        Self::without_producer(
            values
                .iter()
                .map(|v| Record::value(v.as_bytes().to_vec()))
                .collect(),
        )
    }

    /// A batch with no producer id, as Kafka's controller writes them.
    pub fn without_producer(records: Vec<Record>) -> Self {
        RecordBatch {
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            ..RecordBatch::new(records)
        }
    }

    /// A batch of one record per value from an idempotent producer, stamped
    /// with the current time (brokers forget producers idle for a day).
    pub fn idempotent(producer_id: i64, epoch: i16, sequence: i32, values: &[&str]) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        RecordBatch {
            producer_id,
            producer_epoch: epoch,
            base_sequence: sequence,
            base_timestamp: now,
            max_timestamp: now,
            ..RecordBatch::plain(values)
        }
    }

    /// A batch of one record per value from a transactional producer
    /// (attributes bit 0x10), stamped with the current time.
    pub fn transactional(producer_id: i64, epoch: i16, sequence: i32, values: &[&str]) -> Self {
        let mut batch = RecordBatch::idempotent(producer_id, epoch, sequence, values);
        batch.attributes |= TRANSACTIONAL_FLAG;
        batch
    }

    pub fn with_base_offset(mut self, base_offset: i64) -> Self {
        self.base_offset = base_offset;
        self
    }

    /// The batch in bytes; records get offset deltas 0, 1, 2, ... A batch
    /// whose attributes say gzip (codec 1) has its records gzipped; other
    /// codecs are not encoded by the harness.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Writer::new();
        body.i16(self.attributes)
            .i32(self.records.len() as i32 - 1)
            .i64(self.base_timestamp)
            .i64(self.max_timestamp)
            .i64(self.producer_id)
            .i16(self.producer_epoch)
            .i32(self.base_sequence)
            .i32(self.records.len() as i32);
        let mut records = Writer::new();
        for (i, record) in self.records.iter().enumerate() {
            let mut r = Writer::new();
            r.i8(0).varint(record.timestamp_delta).varint(i as i64);
            put_varint_bytes(&mut r, record.key.as_deref());
            put_varint_bytes(&mut r, record.value.as_deref());
            r.varint(record.headers.len() as i64);
            for header in &record.headers {
                r.varint(header.key.len() as i64).raw(header.key.as_bytes());
                put_varint_bytes(&mut r, header.value.as_deref());
            }
            records.varint(r.buf.len() as i64).raw(&r.buf);
        }
        let records = records.into_bytes();
        if self.attributes & 0x07 == GZIP {
            body.raw(&gzip(&records));
        } else {
            body.raw(&records);
        }
        let body = body.into_bytes();
        let crc = crc32c::crc32c(&body);
        let mut out = Writer::new();
        out.i64(self.base_offset)
            .i32((4 + 1 + 4 + body.len()) as i32)
            .i32(self.partition_leader_epoch)
            .i8(2)
            .i32(crc as i32)
            .raw(&body);
        out.into_bytes()
    }
}

/// The gzip codec of the batch attributes.
pub const GZIP: i16 = 1;
/// The attributes bit of batches written in a transaction.
pub const TRANSACTIONAL_FLAG: i16 = 0x10;
/// The attributes bit of control batches (transaction markers).
pub const CONTROL_FLAG: i16 = 0x20;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .expect("gzip into memory cannot fail")
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .context("gzip records do not decompress")?;
    Ok(out)
}

fn put_varint_bytes(w: &mut Writer, bytes: Option<&[u8]>) {
    match bytes {
        None => w.varint(-1),
        Some(b) => w.varint(b.len() as i64).raw(b),
    };
}

/// A batch read back from bytes, with its stored CRC and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedBatch {
    pub batch: RecordBatch,
    pub crc: u32,
    pub last_offset_delta: i32,
    pub size: usize,
}

impl DecodedBatch {
    pub fn last_offset(&self) -> i64 {
        self.batch.base_offset + i64::from(self.last_offset_delta)
    }
}

/// Decodes whole batches laid back to back; fails on a bad length, magic,
/// CRC or record, or on trailing bytes that are not a whole batch.
pub fn decode_batches(bytes: &[u8]) -> Result<Vec<DecodedBatch>> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let start = r.position();
        out.push(decode_batch(&mut r).with_context(|| format!("record batch at byte {start}"))?);
    }
    Ok(out)
}

/// What a batch header says, read without decoding (or decompressing) the
/// records: enough to check what clients stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub partition_leader_epoch: i32,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
    /// The whole batch in bytes, offset and length fields included.
    pub size: usize,
}

impl BatchHeader {
    /// The compression codec: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression(&self) -> i16 {
        self.attributes & 0x07
    }
}

/// The headers of whole batches laid back to back, each with its CRC-32C
/// checked; fails on a bad length, magic or CRC, or a torn tail.
pub fn scan_batch_headers(bytes: &[u8]) -> Result<Vec<BatchHeader>> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let start = r.position();
        let (header, _records) =
            read_header(&mut r).with_context(|| format!("record batch at byte {start}"))?;
        out.push(header);
    }
    Ok(out)
}

/// Reads one batch's header, checking its length, magic and CRC; returns it
/// with a reader over the record bytes that follow.
fn read_header<'a>(r: &mut Reader<'a>) -> Result<(BatchHeader, Reader<'a>)> {
    let base_offset = r.i64()?;
    let length = r.i32()?;
    ensure!(
        length >= (BATCH_HEADER_SIZE - 12) as i32,
        "batch length {length} is too small"
    );
    let rest = r.bytes(length as usize)?;
    let mut b = Reader::new(rest);
    let partition_leader_epoch = b.i32()?;
    let magic = b.i8()?;
    ensure!(magic == 2, "magic {magic}");
    let crc = b.u32()?;
    let computed = crc32c::crc32c(&rest[9..]);
    ensure!(
        crc == computed,
        "stored CRC {crc:#x} but computed {computed:#x}"
    );
    let header = BatchHeader {
        base_offset,
        partition_leader_epoch,
        crc,
        attributes: b.i16()?,
        last_offset_delta: b.i32()?,
        base_timestamp: b.i64()?,
        max_timestamp: b.i64()?,
        producer_id: b.i64()?,
        producer_epoch: b.i16()?,
        base_sequence: b.i32()?,
        record_count: b.i32()?,
        size: 12 + length as usize,
    };
    Ok((header, b))
}

fn decode_batch(r: &mut Reader<'_>) -> Result<DecodedBatch> {
    let (header, b) = read_header(r)?;
    let count = header.record_count;
    ensure!(count >= 0, "record count {count}");
    let gunzipped;
    let mut b = match header.compression() {
        0 => b,
        GZIP => {
            let mut rest = b;
            gunzipped = gunzip(rest.bytes(rest.remaining())?)?;
            Reader::new(&gunzipped)
        }
        codec => anyhow::bail!("batches of codec {codec} are not decoded by the harness"),
    };
    let mut records = Vec::with_capacity(count as usize);
    let mut previous_delta = -1;
    for i in 0..count {
        let len = b.varint()?;
        ensure!(len >= 0, "record {i} has length {len}");
        let body = b.bytes(len as usize)?;
        let mut rr = Reader::new(body);
        let _attributes = rr.i8()?;
        let timestamp_delta = rr.varint()?;
        let offset_delta = rr.varint()? as i32;
        // Consecutive as sent; with gaps once compacted.
        ensure!(
            offset_delta > previous_delta && offset_delta <= header.last_offset_delta,
            "record {i} has offset delta {offset_delta} (last offset delta {})",
            header.last_offset_delta
        );
        previous_delta = offset_delta;
        let key = varint_bytes(&mut rr)?;
        let value = varint_bytes(&mut rr)?;
        let header_count = rr.varint()?;
        ensure!(header_count >= 0, "record {i} has {header_count} headers");
        let mut headers = Vec::new();
        for _ in 0..header_count {
            let key = varint_bytes(&mut rr)?.context("null header key")?;
            headers.push(Header {
                key: String::from_utf8(key).context("header key is not UTF-8")?,
                value: varint_bytes(&mut rr)?,
            });
        }
        rr.finish().with_context(|| format!("record {i}"))?;
        records.push(Record {
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        });
    }
    b.finish().context("bytes after the last record")?;
    Ok(DecodedBatch {
        batch: RecordBatch {
            base_offset: header.base_offset,
            partition_leader_epoch: header.partition_leader_epoch,
            attributes: header.attributes,
            base_timestamp: header.base_timestamp,
            max_timestamp: header.max_timestamp,
            producer_id: header.producer_id,
            producer_epoch: header.producer_epoch,
            base_sequence: header.base_sequence,
            records,
        },
        crc: header.crc,
        last_offset_delta: header.last_offset_delta,
        size: header.size,
    })
}

fn varint_bytes(r: &mut Reader<'_>) -> Result<Option<Vec<u8>>> {
    let len = r.varint()?;
    if len == -1 {
        return Ok(None);
    }
    ensure!(len >= 0, "length {len}");
    Ok(Some(r.bytes(len as usize)?.to_vec()))
}

/// The bytes a broker stores for `sent` at `offset` with `leader_epoch`:
/// only the base offset and the partition leader epoch differ.
pub fn as_stored(sent: &[u8], offset: i64, leader_epoch: i32) -> Vec<u8> {
    let mut stored = sent.to_vec();
    stored[0..8].copy_from_slice(&offset.to_be_bytes());
    stored[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
    stored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip() {
        let mut record = Record::value(b"v".to_vec());
        record.key = Some(b"k".to_vec());
        record.headers.push(Header {
            key: "h".into(),
            value: None,
        });
        let batch = RecordBatch::new(vec![record, Record::value(Vec::new())]).with_base_offset(7);
        let bytes = batch.encode();
        let decoded = decode_batches(&bytes).unwrap();
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].last_offset(), 8);
        let mut expected = batch.clone();
        expected.records[1].offset_delta = 1;
        assert_eq!(decoded[0].batch, expected);

        let mut corrupt = bytes.clone();
        *corrupt.last_mut().unwrap() ^= 1;
        assert!(decode_batches(&corrupt).is_err());
        assert!(decode_batches(&bytes[..bytes.len() - 1]).is_err());
        // Base offset and leader epoch are outside the CRC.
        assert!(decode_batches(&as_stored(&bytes, 99, 5)).is_ok());
    }
}
