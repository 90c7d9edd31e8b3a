//! Decompression of record batches, with pure-Rust codecs.
//!
//! The broker stores and serves batches as they were sent and never needs
//! their records, except to find a record by timestamp (ListOffsets); for a
//! compressed batch that means decompressing it here. Output is capped so a
//! hostile batch cannot expand without bound.

use std::io::Read;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DecompressError {
    #[error("unknown compression codec {0}")]
    UnknownCodec(i16),
    #[error("{codec} data is corrupt: {reason}")]
    Corrupt { codec: &'static str, reason: String },
    #[error("decompressed data exceeds {0} bytes")]
    TooLarge(usize),
}

/// Codec ids of the batch attributes.
pub const NONE: i16 = 0;
pub const GZIP: i16 = 1;
pub const SNAPPY: i16 = 2;
pub const LZ4: i16 = 3;
pub const ZSTD: i16 = 4;

/// The framing snappy-java writes (and Kafka clients use): a magic header,
/// then blocks of (big-endian length, raw snappy).
const XERIAL_MAGIC: &[u8] = &[0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

/// Decompresses `data` of `codec`, producing at most `limit` bytes.
pub fn decompress(codec: i16, data: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    let corrupt = |codec: &'static str| {
        move |e: std::io::Error| DecompressError::Corrupt {
            codec,
            reason: e.to_string(),
        }
    };
    match codec {
        NONE => Ok(data.to_vec()),
        GZIP => {
            read_capped(flate2::read::MultiGzDecoder::new(data), limit).map_err(corrupt("gzip"))?
        }
        SNAPPY => snappy(data, limit),
        LZ4 => {
            read_capped(lz4_flex::frame::FrameDecoder::new(data), limit).map_err(corrupt("lz4"))?
        }
        ZSTD => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(data).map_err(|e| {
                DecompressError::Corrupt {
                    codec: "zstd",
                    reason: e.to_string(),
                }
            })?;
            read_capped(decoder, limit).map_err(corrupt("zstd"))?
        }
        other => Err(DecompressError::UnknownCodec(other)),
    }
}

/// Reads all of `reader`, failing beyond `limit` bytes.
fn read_capped(
    reader: impl Read,
    limit: usize,
) -> std::io::Result<Result<Vec<u8>, DecompressError>> {
    let mut out = Vec::new();
    reader.take(limit as u64 + 1).read_to_end(&mut out)?;
    if out.len() > limit {
        return Ok(Err(DecompressError::TooLarge(limit)));
    }
    Ok(Ok(out))
}

fn snappy(data: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    let corrupt = |reason: String| DecompressError::Corrupt {
        codec: "snappy",
        reason,
    };
    let raw = |block: &[u8], out: &mut Vec<u8>| -> Result<(), DecompressError> {
        let len = snap::raw::decompress_len(block).map_err(|e| corrupt(e.to_string()))?;
        if out.len() + len > limit {
            return Err(DecompressError::TooLarge(limit));
        }
        out.extend(
            snap::raw::Decoder::new()
                .decompress_vec(block)
                .map_err(|e| corrupt(e.to_string()))?,
        );
        Ok(())
    };
    let mut out = Vec::new();
    let Some(mut rest) = data.strip_prefix(XERIAL_MAGIC) else {
        raw(data, &mut out)?;
        return Ok(out);
    };
    // Version and compatible version follow the magic.
    rest = rest
        .get(8..)
        .ok_or_else(|| corrupt("truncated xerial header".into()))?;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_at_checked(4)
            .ok_or_else(|| corrupt("truncated block length".into()))?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (block, tail) = tail
            .split_at_checked(len)
            .ok_or_else(|| corrupt("truncated block".into()))?;
        raw(block, &mut out)?;
        rest = tail;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"hello hello hello hello, compressed world";

    #[test]
    fn gzip_snappy_and_lz4_round_trip() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(TEXT).unwrap();
        assert_eq!(decompress(GZIP, &gz.finish().unwrap(), 1024).unwrap(), TEXT);

        let raw = snap::raw::Encoder::new().compress_vec(TEXT).unwrap();
        assert_eq!(decompress(SNAPPY, &raw, 1024).unwrap(), TEXT);
        let mut xerial = XERIAL_MAGIC.to_vec();
        xerial.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        xerial.extend_from_slice(&(raw.len() as u32).to_be_bytes());
        xerial.extend_from_slice(&raw);
        assert_eq!(decompress(SNAPPY, &xerial, 1024).unwrap(), TEXT);

        let mut lz4 = lz4_flex::frame::FrameEncoder::new(Vec::new());
        lz4.write_all(TEXT).unwrap();
        assert_eq!(decompress(LZ4, &lz4.finish().unwrap(), 1024).unwrap(), TEXT);
    }

    #[test]
    fn zstd_frames_decode() {
        // "hello" compressed by the zstd command-line tool (with a checksum).
        let frame = [
            0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x29, 0x00, 0x00, b'h', b'e', b'l', b'l', b'o',
            0xa3, 0x6d, 0x9f, 0x88,
        ];
        assert_eq!(decompress(ZSTD, &frame, 1024).unwrap(), b"hello");
    }

    #[test]
    fn limits_and_garbage() {
        let raw = snap::raw::Encoder::new().compress_vec(TEXT).unwrap();
        assert!(matches!(
            decompress(SNAPPY, &raw, 4),
            Err(DecompressError::TooLarge(4))
        ));
        assert!(decompress(GZIP, b"not gzip", 1024).is_err());
        assert!(decompress(ZSTD, b"not zstd", 1024).is_err());
        assert!(matches!(
            decompress(7, b"", 1024),
            Err(DecompressError::UnknownCodec(7))
        ));
    }
}
