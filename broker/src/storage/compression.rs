//! Compression and decompression of record batches, with pure-Rust codecs.
//!
//! The broker stores and serves batches as they were sent and rarely needs
//! their records: to find a record by timestamp (ListOffsets), and in the log
//! cleaner, which decompresses the batches it rewrites and re-compresses them
//! in their original codec. Decompression output is capped so a hostile batch
//! cannot expand without bound. Compression writes the framing Kafka's own
//! Java clients write, which every Kafka client decodes.

use std::io::{Read, Write};
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

#[derive(Debug, Error)]
pub enum CompressError {
    #[error("unknown compression codec {0}")]
    UnknownCodec(i16),
    #[error("{codec} encoder failed: {source}")]
    Encode {
        codec: &'static str,
        #[source]
        source: std::io::Error,
    },
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

/// The version and compatible version snappy-java writes after the magic.
const XERIAL_VERSION: i32 = 1;
const XERIAL_COMPATIBLE_VERSION: i32 = 1;
/// The input snappy-java's `SnappyOutputStream` compresses per block.
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

/// Kafka's default gzip level (`Deflater.DEFAULT_COMPRESSION`, which zlib
/// takes as 6).
const GZIP_LEVEL: u32 = 6;

/// Compresses `data` with `codec`, in the framing Kafka's Java clients write:
///
/// - NONE: a copy;
/// - GZIP: one gzip member, deflate level 6;
/// - SNAPPY: snappy-java's xerial framing: `XERIAL_MAGIC`, version 1 and
///   compatible version 1 (i32 big-endian), then per 32 KiB of input an i32
///   big-endian length and that much raw snappy;
/// - LZ4: one standard LZ4 frame (magic 0x184D2204) of independent blocks of
///   at most 64 KiB, without block checksums, content size or content
///   checksum, as `KafkaLZ4BlockOutputStream` writes;
/// - ZSTD: one zstd frame (with content checksum) at ruzstd's fastest level.
pub fn compress(codec: i16, data: &[u8]) -> Result<Vec<u8>, CompressError> {
    let encode =
        |codec: &'static str| move |source: std::io::Error| CompressError::Encode { codec, source };
    match codec {
        NONE => Ok(data.to_vec()),
        GZIP => {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(data.len() / 2 + 64),
                flate2::Compression::new(GZIP_LEVEL),
            );
            encoder.write_all(data).map_err(encode("gzip"))?;
            encoder.finish().map_err(encode("gzip"))
        }
        SNAPPY => compress_snappy(data).map_err(encode("snappy")),
        LZ4 => {
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent)
                .block_checksums(false)
                .content_size(None)
                .content_checksum(false)
                .legacy_frame(false);
            let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(
                info,
                Vec::with_capacity(data.len() / 2 + 64),
            );
            encoder.write_all(data).map_err(encode("lz4"))?;
            encoder
                .finish()
                .map_err(|e| encode("lz4")(std::io::Error::from(e)))
        }
        ZSTD => {
            // ruzstd's encoder reports no errors (its sink, a Vec, cannot
            // fail) but asserts internally; turn a panic into an error rather
            // than take the caller's thread down with it.
            std::panic::catch_unwind(|| {
                ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
            })
            .map_err(|_| encode("zstd")(std::io::Error::other("encoder panicked")))
        }
        other => Err(CompressError::UnknownCodec(other)),
    }
}

fn compress_snappy(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let blocks = data.len().div_ceil(XERIAL_BLOCK_SIZE);
    let mut out = Vec::with_capacity(
        XERIAL_MAGIC.len() + 8 + blocks * (4 + snap::raw::max_compress_len(XERIAL_BLOCK_SIZE)),
    );
    out.extend_from_slice(XERIAL_MAGIC);
    out.extend_from_slice(&XERIAL_VERSION.to_be_bytes());
    out.extend_from_slice(&XERIAL_COMPATIBLE_VERSION.to_be_bytes());
    let mut encoder = snap::raw::Encoder::new();
    let mut buf = vec![0; snap::raw::max_compress_len(XERIAL_BLOCK_SIZE)];
    for chunk in data.chunks(XERIAL_BLOCK_SIZE) {
        let len = encoder.compress(chunk, &mut buf)?;
        let block_len = i32::try_from(len).map_err(std::io::Error::other)?;
        out.extend_from_slice(&block_len.to_be_bytes());
        out.extend_from_slice(&buf[..len]);
    }
    Ok(out)
}

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

    const CODECS: [i16; 5] = [NONE, GZIP, SNAPPY, LZ4, ZSTD];

    /// Deterministic incompressible bytes (xorshift64).
    fn pseudo_random(len: usize) -> Vec<u8> {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    /// Compressible text of exactly `len` bytes.
    fn text(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        let mut n = 0u64;
        while out.len() < len {
            out.extend_from_slice(
                format!(
                    "record {n}: key=user-{} value=hello compressed world\n",
                    n % 97
                )
                .as_bytes(),
            );
            n += 1;
        }
        out.truncate(len);
        out
    }

    fn inputs() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("empty", Vec::new()),
            ("one byte", vec![b'x']),
            ("100 KiB text", text(100 * 1024)),
            ("300 KiB random", pseudo_random(300 * 1024)),
            ("32 KiB text", text(32 * 1024)),
            ("32 KiB + 1 text", text(32 * 1024 + 1)),
            ("32 KiB random", pseudo_random(32 * 1024)),
            ("64 KiB text", text(64 * 1024)),
            ("64 KiB - 1 random", pseudo_random(64 * 1024 - 1)),
            ("64 KiB random", pseudo_random(64 * 1024)),
            ("64 KiB + 1 random", pseudo_random(64 * 1024 + 1)),
        ]
    }

    #[test]
    fn compress_round_trips_every_codec() {
        for codec in CODECS {
            for (name, input) in inputs() {
                let compressed = compress(codec, &input).unwrap();
                let output = decompress(codec, &compressed, input.len())
                    .unwrap_or_else(|e| panic!("codec {codec}, {name}: {e}"));
                assert!(output == input, "codec {codec}, {name}: round trip differs");
            }
        }
    }

    #[test]
    fn compress_shrinks_compressible_text() {
        let input = text(100 * 1024);
        for codec in [GZIP, SNAPPY, LZ4, ZSTD] {
            let compressed = compress(codec, &input).unwrap();
            assert!(
                compressed.len() < input.len() / 2,
                "codec {codec}: {} bytes",
                compressed.len()
            );
        }
    }

    #[test]
    fn snappy_writes_xerial_blocks_of_32_kib() {
        for (name, input) in inputs() {
            let compressed = compress(SNAPPY, &input).unwrap();
            let rest = compressed.strip_prefix(XERIAL_MAGIC).unwrap();
            assert_eq!(&rest[..8], &[0, 0, 0, 1, 0, 0, 0, 1], "{name}");
            let mut rest = &rest[8..];
            let mut lens = Vec::new();
            while !rest.is_empty() {
                let len = i32::from_be_bytes(rest[..4].try_into().unwrap());
                let len = usize::try_from(len).unwrap();
                let block = &rest[4..4 + len];
                let raw = snap::raw::Decoder::new().decompress_vec(block).unwrap();
                assert!(raw.len() <= 32 * 1024, "{name}: block of {}", raw.len());
                lens.push(raw.len());
                rest = &rest[4 + len..];
            }
            assert_eq!(lens.iter().sum::<usize>(), input.len(), "{name}");
            assert_eq!(lens.len(), input.len().div_ceil(32 * 1024), "{name}");
        }
    }

    #[test]
    fn lz4_writes_a_standard_frame_of_independent_64_kib_blocks() {
        for (name, input) in inputs() {
            let compressed = compress(LZ4, &input).unwrap();
            assert_eq!(&compressed[..4], &[0x04, 0x22, 0x4d, 0x18], "{name}");
            // FLG: version 01, independent blocks, no block checksum, no
            // content size, no content checksum, no dictionary.
            assert_eq!(compressed[4], 0b0110_0000, "{name}");
            // BD: 64 KiB maximum block size.
            assert_eq!(compressed[5], 4 << 4, "{name}");
            // Then the header checksum, the blocks and the end mark.
            let mut rest = &compressed[7..];
            let mut blocks = 0;
            loop {
                let size = u32::from_le_bytes(rest[..4].try_into().unwrap());
                rest = &rest[4..];
                if size == 0 {
                    break;
                }
                let len = (size & 0x7fff_ffff) as usize;
                assert!(len <= 64 * 1024, "{name}: block of {len} bytes");
                rest = &rest[len..];
                blocks += 1;
            }
            assert!(
                rest.is_empty(),
                "{name}: content checksum or trailing bytes"
            );
            assert_eq!(blocks, input.len().div_ceil(64 * 1024), "{name}");
        }
    }

    #[test]
    fn gzip_and_zstd_write_their_magic() {
        for (name, input) in inputs() {
            let gzip = compress(GZIP, &input).unwrap();
            assert_eq!(&gzip[..3], &[0x1f, 0x8b, 8], "{name}");
            let zstd = compress(ZSTD, &input).unwrap();
            assert_eq!(&zstd[..4], &[0x28, 0xb5, 0x2f, 0xfd], "{name}");
        }
    }

    #[test]
    fn compress_refuses_unknown_codecs() {
        for codec in [5, 7, -1] {
            assert!(matches!(
                compress(codec, b"data"),
                Err(CompressError::UnknownCodec(c)) if c == codec
            ));
        }
    }
}
