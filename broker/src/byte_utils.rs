//! Big-endian and varint readers for the byte formats the broker stores:
//! record batches, records and KRaft metadata records.
//!
//! The wire protocol itself is decoded by the `kafka-protocol` crate; this
//! module only serves the on-disk formats, which that crate does not cover.

use thiserror::Error;
use uuid::Uuid;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("needed {needed} more bytes at offset {at}, only {available} left")]
    Truncated {
        at: usize,
        needed: usize,
        available: usize,
    },
    #[error("varint at offset {at} is longer than {max_bytes} bytes")]
    VarintTooLong { at: usize, max_bytes: usize },
    #[error("invalid length {length} at offset {at}")]
    InvalidLength { at: usize, length: i64 },
    #[error("string at offset {at} is not valid UTF-8")]
    InvalidUtf8 { at: usize },
}

/// A cursor over a byte slice that never panics: every read checks bounds.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn read_bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                at: self.pos,
                needed: n,
                available: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.read_bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub fn read_i8(&mut self) -> Result<i8, DecodeError> {
        Ok(i8::from_be_bytes(self.read_array()?))
    }

    pub fn read_i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.read_array()?))
    }

    pub fn read_i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.read_array()?))
    }

    pub fn read_i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.read_array()?))
    }

    pub fn read_uuid(&mut self) -> Result<Uuid, DecodeError> {
        Ok(Uuid::from_bytes(self.read_array()?))
    }

    /// Unsigned LEB128 varint of at most 32 bits (Kafka's `readUnsignedVarint`).
    pub fn read_uvarint(&mut self) -> Result<u32, DecodeError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..5 {
            let byte = self.read_array::<1>()?[0];
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return u32::try_from(value).map_err(|_| DecodeError::VarintTooLong {
                    at: start,
                    max_bytes: 5,
                });
            }
        }
        Err(DecodeError::VarintTooLong {
            at: start,
            max_bytes: 5,
        })
    }

    /// Unsigned LEB128 varint of at most 64 bits.
    fn read_uvarlong(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = self.read_array::<1>()?[0];
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintTooLong {
            at: start,
            max_bytes: 10,
        })
    }

    /// Zig-zag encoded signed varint (Kafka's `readVarint`), as used in records.
    pub fn read_varint(&mut self) -> Result<i32, DecodeError> {
        let raw = self.read_uvarint()?;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    /// Zig-zag encoded signed varlong (Kafka's `readVarlong`).
    pub fn read_varlong(&mut self) -> Result<i64, DecodeError> {
        let raw = self.read_uvarlong()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// INT16-length nullable string (non-flexible schemas).
    pub fn read_nullable_string(&mut self) -> Result<Option<&'a str>, DecodeError> {
        let at = self.pos;
        let len = self.read_i16()?;
        if len < 0 {
            return Ok(None);
        }
        let bytes = self.read_bytes(len as usize)?;
        std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|_| DecodeError::InvalidUtf8 { at })
    }

    /// INT16-length string that must not be null.
    pub fn read_string(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        self.read_nullable_string()?
            .ok_or(DecodeError::InvalidLength { at, length: -1 })
    }

    /// INT32-length nullable bytes (non-flexible schemas).
    pub fn read_nullable_bytes(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let at = self.pos;
        let len = self.read_i32()?;
        if len < 0 {
            return Ok(None);
        }
        if len as usize > self.remaining() {
            return Err(DecodeError::InvalidLength {
                at,
                length: len.into(),
            });
        }
        self.read_bytes(len as usize).map(Some)
    }

    /// An INT32-counted array length; `None` when null.
    pub fn read_array_len(
        &mut self,
        min_element_size: usize,
    ) -> Result<Option<usize>, DecodeError> {
        let at = self.pos;
        let len = self.read_i32()?;
        if len < 0 {
            return Ok(None);
        }
        if (len as usize).saturating_mul(min_element_size.max(1)) > self.remaining() {
            return Err(DecodeError::InvalidLength {
                at,
                length: len.into(),
            });
        }
        Ok(Some(len as usize))
    }

    /// A compact (length + 1) string; `None` when null.
    pub fn read_compact_nullable_string(&mut self) -> Result<Option<&'a str>, DecodeError> {
        let at = self.pos;
        let len = self.read_uvarint()?;
        if len == 0 {
            return Ok(None);
        }
        let bytes = self.read_bytes((len - 1) as usize)?;
        std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|_| DecodeError::InvalidUtf8 { at })
    }

    /// A compact string that must not be null.
    pub fn read_compact_string(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        self.read_compact_nullable_string()?
            .ok_or(DecodeError::InvalidLength { at, length: -1 })
    }

    /// The element count of a compact array; `None` when null. The count is
    /// checked against the bytes left, given each element's minimum size.
    pub fn read_compact_array_len(
        &mut self,
        min_element_size: usize,
    ) -> Result<Option<usize>, DecodeError> {
        let at = self.pos;
        let len = self.read_uvarint()?;
        if len == 0 {
            return Ok(None);
        }
        let count = (len - 1) as usize;
        if count.saturating_mul(min_element_size.max(1)) > self.remaining() {
            return Err(DecodeError::InvalidLength {
                at,
                length: i64::from(len) - 1,
            });
        }
        Ok(Some(count))
    }

    pub fn read_compact_i32_array(&mut self) -> Result<Option<Vec<i32>>, DecodeError> {
        let Some(count) = self.read_compact_array_len(4)? else {
            return Ok(None);
        };
        (0..count)
            .map(|_| self.read_i32())
            .collect::<Result<_, _>>()
            .map(Some)
    }

    pub fn read_compact_uuid_array(&mut self) -> Result<Option<Vec<Uuid>>, DecodeError> {
        let Some(count) = self.read_compact_array_len(16)? else {
            return Ok(None);
        };
        (0..count)
            .map(|_| self.read_uuid())
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// Reads a tagged-field section, handing each field's tag and bytes to
    /// `on_field`; unknown tags are simply ignored by the callback.
    pub fn read_tagged_fields(
        &mut self,
        mut on_field: impl FnMut(u32, &'a [u8]) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let count = self.read_uvarint()?;
        for _ in 0..count {
            let tag = self.read_uvarint()?;
            let size = self.read_uvarint()? as usize;
            let data = self.read_bytes(size)?;
            on_field(tag, data)?;
        }
        Ok(())
    }
}

/// Builds big-endian and varint encoded bytes (the mirror of [`Reader`]).
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub fn i8(&mut self, v: i8) -> &mut Self {
        self.buf.push(v as u8);
        self
    }

    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn uuid(&mut self, v: &Uuid) -> &mut Self {
        self.buf.extend_from_slice(v.as_bytes());
        self
    }

    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }

    pub fn uvarint(&mut self, v: u32) -> &mut Self {
        put_uvarint(&mut self.buf, v);
        self
    }

    /// INT16-length string, as in the non-flexible record schemas.
    pub fn string(&mut self, v: &str) -> &mut Self {
        self.i16(v.len() as i16).bytes(v.as_bytes())
    }

    /// INT16-length nullable string.
    pub fn nullable_string(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.string(v),
            None => self.i16(-1),
        }
    }

    /// INT32-length nullable bytes.
    pub fn nullable_bytes(&mut self, v: Option<&[u8]>) -> &mut Self {
        match v {
            Some(v) => self.i32(v.len() as i32).bytes(v),
            None => self.i32(-1),
        }
    }

    pub fn compact_string(&mut self, v: &str) -> &mut Self {
        self.uvarint(v.len() as u32 + 1).bytes(v.as_bytes())
    }

    pub fn compact_nullable_string(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.compact_string(v),
            None => self.uvarint(0),
        }
    }

    pub fn compact_array_len(&mut self, len: usize) -> &mut Self {
        self.uvarint(len as u32 + 1)
    }

    pub fn compact_i32_array(&mut self, values: &[i32]) -> &mut Self {
        self.compact_array_len(values.len());
        for v in values {
            self.i32(*v);
        }
        self
    }

    pub fn compact_uuid_array(&mut self, values: &[Uuid]) -> &mut Self {
        self.compact_array_len(values.len());
        for v in values {
            self.uuid(v);
        }
        self
    }

    /// An empty tagged-field section.
    pub fn no_tags(&mut self) -> &mut Self {
        self.uvarint(0)
    }
}

/// Appends an unsigned varint.
pub fn put_uvarint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a zig-zag encoded signed varint.
pub fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_uvarint(out, ((value << 1) ^ (value >> 31)) as u32);
}

/// Appends a zig-zag encoded signed varlong.
pub fn put_varlong(out: &mut Vec<u8>, value: i64) {
    let mut raw = ((value << 1) ^ (value >> 63)) as u64;
    while raw >= 0x80 {
        out.push((raw as u8 & 0x7f) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for value in [0, 1, -1, 63, -64, 64, 300, i32::MAX, i32::MIN] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(Reader::new(&out).read_varint(), Ok(value));
        }
        for value in [0i64, -1, 1 << 40, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            put_varlong(&mut out, value);
            assert_eq!(Reader::new(&out).read_varlong(), Ok(value));
        }
    }

    #[test]
    fn reads_never_run_past_the_end() {
        let mut reader = Reader::new(&[0x80, 0x80]);
        assert!(matches!(
            reader.read_uvarint(),
            Err(DecodeError::Truncated { .. })
        ));
        let mut reader = Reader::new(&[0xff; 6]);
        assert!(matches!(
            reader.read_uvarint(),
            Err(DecodeError::VarintTooLong { .. })
        ));
        let mut reader = Reader::new(&[0x7f]);
        assert!(matches!(
            reader.read_compact_i32_array(),
            Err(DecodeError::InvalidLength { .. })
        ));
    }
}
