//! Hand-written primitives of the Kafka wire format, independent of the
//! broker's codec. The reader is strict: it fails on truncation, on negative
//! lengths where none are allowed, and (through [`Reader::finish`]) on bytes
//! left over.

use anyhow::{Context, Result, bail, ensure};

pub type Uuid = [u8; 16];

pub const ZERO_UUID: Uuid = [0; 16];

/// Builds a UUID from a u128 (big-endian), handy for fixed test ids.
pub const fn uuid(value: u128) -> Uuid {
    value.to_be_bytes()
}

/// Formats a UUID the usual 8-4-4-4-12 way.
pub fn uuid_string(id: &Uuid) -> String {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[derive(Default, Debug, Clone)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
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

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.buf.push(u8::from(v));
        self
    }

    pub fn uuid(&mut self, v: &Uuid) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }

    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    pub fn uvarint(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
        self
    }

    /// Zig-zag signed varint, as in records.
    pub fn varint(&mut self, v: i64) -> &mut Self {
        self.uvarint(((v << 1) ^ (v >> 63)) as u64)
    }

    /// INT16-length string (request header client id); `None` is null.
    pub fn nullable_string(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.i16(-1),
            Some(s) => self.i16(s.len() as i16).raw(s.as_bytes()),
        }
    }

    pub fn compact_string(&mut self, s: &str) -> &mut Self {
        self.uvarint(s.len() as u64 + 1).raw(s.as_bytes())
    }

    pub fn compact_nullable_string(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.uvarint(0),
            Some(s) => self.compact_string(s),
        }
    }

    pub fn compact_nullable_bytes(&mut self, b: Option<&[u8]>) -> &mut Self {
        match b {
            None => self.uvarint(0),
            Some(b) => self.uvarint(b.len() as u64 + 1).raw(b),
        }
    }

    pub fn compact_array_len(&mut self, len: usize) -> &mut Self {
        self.uvarint(len as u64 + 1)
    }

    pub fn compact_i32_array(&mut self, values: &[i32]) -> &mut Self {
        self.compact_array_len(values.len());
        for v in values {
            self.i32(*v);
        }
        self
    }

    /// An empty tagged-field section.
    pub fn no_tags(&mut self) -> &mut Self {
        self.uvarint(0)
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

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

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        ensure!(
            self.remaining() >= n,
            "needed {n} bytes at offset {}, only {} left",
            self.pos,
            self.remaining()
        );
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub fn i8(&mut self) -> Result<i8> {
        Ok(self.array::<1>()?[0] as i8)
    }

    pub fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn bool(&mut self) -> Result<bool> {
        match self.array::<1>()?[0] {
            0 => Ok(false),
            1 => Ok(true),
            other => bail!(
                "boolean byte {other} at offset {} is neither 0 nor 1",
                self.pos - 1
            ),
        }
    }

    pub fn uuid(&mut self) -> Result<Uuid> {
        self.array()
    }

    pub fn uvarint(&mut self) -> Result<u64> {
        let start = self.pos;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.array::<1>()?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("varint at offset {start} does not end")
    }

    pub fn varint(&mut self) -> Result<i64> {
        let raw = self.uvarint()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// Length of a compact array or string: `None` when null.
    fn compact_len(&mut self) -> Result<Option<usize>> {
        let at = self.pos;
        let n = self.uvarint()?;
        if n == 0 {
            return Ok(None);
        }
        let len = usize::try_from(n - 1).context("length overflows")?;
        ensure!(
            len <= self.remaining(),
            "compact length {len} at offset {at} exceeds the {} bytes left",
            self.remaining()
        );
        Ok(Some(len))
    }

    pub fn compact_nullable_string(&mut self) -> Result<Option<String>> {
        match self.compact_len()? {
            None => Ok(None),
            Some(len) => Ok(Some(
                String::from_utf8(self.bytes(len)?.to_vec()).context("string is not UTF-8")?,
            )),
        }
    }

    pub fn compact_string(&mut self) -> Result<String> {
        let at = self.pos;
        self.compact_nullable_string()?
            .with_context(|| format!("null string at offset {at} where one is required"))
    }

    pub fn compact_nullable_bytes(&mut self) -> Result<Option<&'a [u8]>> {
        match self.compact_len()? {
            None => Ok(None),
            Some(len) => Ok(Some(self.bytes(len)?)),
        }
    }

    /// INT16-length string.
    pub fn nullable_string(&mut self) -> Result<Option<String>> {
        let len = self.i16()?;
        if len < 0 {
            ensure!(len == -1, "string length {len}");
            return Ok(None);
        }
        Ok(Some(String::from_utf8(self.bytes(len as usize)?.to_vec())?))
    }

    /// A compact array decoded element by element; `None` when null.
    pub fn compact_nullable_array<T>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Option<Vec<T>>> {
        let Some(len) = self.compact_len()? else {
            return Ok(None);
        };
        (0..len)
            .map(|_| element(self))
            .collect::<Result<_>>()
            .map(Some)
    }

    /// A compact array that must not be null.
    pub fn compact_array<T>(
        &mut self,
        element: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let at = self.pos;
        self.compact_nullable_array(element)?
            .with_context(|| format!("null array at offset {at} where one is required"))
    }

    /// An INT32-length array; `None` when null.
    pub fn nullable_array<T>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Option<Vec<T>>> {
        let len = self.i32()?;
        if len < 0 {
            ensure!(len == -1, "array length {len}");
            return Ok(None);
        }
        ensure!(
            len as usize <= self.remaining(),
            "array length {len} exceeds the bytes left"
        );
        (0..len)
            .map(|_| element(self))
            .collect::<Result<_>>()
            .map(Some)
    }

    pub fn compact_i32_array(&mut self) -> Result<Vec<i32>> {
        self.compact_array(|r| r.i32())
    }

    /// A tagged-field section: (tag, bytes) pairs, tags strictly increasing.
    pub fn tagged_fields(&mut self) -> Result<Vec<(u64, &'a [u8])>> {
        let count = self.uvarint()?;
        let mut fields = Vec::new();
        let mut last = None;
        for _ in 0..count {
            let tag = self.uvarint()?;
            ensure!(
                last.is_none_or(|l| tag > l),
                "tagged fields out of order at tag {tag}"
            );
            last = Some(tag);
            let size = self.uvarint()? as usize;
            fields.push((tag, self.bytes(size)?));
        }
        Ok(fields)
    }

    /// A tagged-field section that must be empty.
    pub fn no_tags(&mut self) -> Result<()> {
        let at = self.pos;
        let fields = self.tagged_fields()?;
        ensure!(
            fields.is_empty(),
            "unexpected tagged fields at offset {at}: {fields:?}"
        );
        Ok(())
    }

    /// Fails if anything is left over.
    pub fn finish(&self) -> Result<()> {
        ensure!(
            self.remaining() == 0,
            "{} bytes left over after offset {}",
            self.remaining(),
            self.pos
        );
        Ok(())
    }
}

/// A compact array of compact strings.
pub(crate) fn compact_strings(w: &mut Writer, values: &[&str]) {
    w.compact_array_len(values.len());
    for value in values {
        w.compact_string(value);
    }
}

/// A response decoder under test, its result dropped.
#[cfg(test)]
pub(crate) type Decoder = fn(&[u8]) -> Result<()>;

/// Checks for the decoders' unit tests: each (name, bytes, decoder) sample
/// decodes as it is and fails with one byte more or with any prefix of it.
#[cfg(test)]
pub(crate) fn assert_strict_decoders(samples: Vec<(&str, Vec<u8>, Decoder)>) {
    for (name, bytes, decode) in samples {
        if let Err(e) = decode(&bytes) {
            panic!("{name} did not decode: {e:#}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err(), "{name} accepted a leftover byte");
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len]).is_err(),
                "{name} accepted {len} of {} bytes",
                bytes.len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_compact_values_round_trip() {
        let mut w = Writer::new();
        w.varint(-1)
            .varint(300)
            .uvarint(1 << 40)
            .compact_string("héllo")
            .compact_nullable_string(None);
        w.compact_i32_array(&[1, -2]).no_tags();
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.varint().unwrap(), -1);
        assert_eq!(r.varint().unwrap(), 300);
        assert_eq!(r.uvarint().unwrap(), 1 << 40);
        assert_eq!(r.compact_string().unwrap(), "héllo");
        assert_eq!(r.compact_nullable_string().unwrap(), None);
        assert_eq!(r.compact_i32_array().unwrap(), vec![1, -2]);
        r.no_tags().unwrap();
        r.finish().unwrap();
    }

    #[test]
    fn reader_is_strict() {
        assert!(Reader::new(&[0x05, b'a']).compact_string().is_err());
        assert!(Reader::new(&[0, 0, 0]).i32().is_err());
        assert!(Reader::new(&[2]).bool().is_err());
        let r = Reader::new(&[1]);
        assert!(r.finish().is_err());
        assert_eq!(
            uuid_string(&uuid(0x71a59a51_8968_4f8b_937e_000000000001)),
            "71a59a51-8968-4f8b-937e-000000000001"
        );
    }
}
