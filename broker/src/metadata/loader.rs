//! Loads the metadata image from `__cluster_metadata-0`: the newest snapshot
//! (`<end offset>-<epoch>.checkpoint`) if there is one, then every record of
//! the log from the snapshot's end offset on.

use super::image::{MetadataDelta, MetadataImage};
use super::records;
use crate::storage::UnifiedLog;
use crate::storage::record_batch::{self, Batches};
use std::io;
use std::path::{Path, PathBuf};
use tracing::{info, warn};

/// How much of the metadata log is read at a time.
const READ_CHUNK: usize = 1 << 20;

/// Replays the snapshot and log of the metadata partition in `dir`.
pub fn load(dir: &Path, log: &UnifiedLog) -> io::Result<MetadataImage> {
    let mut delta = MetadataDelta::new(&MetadataImage::empty());
    let mut next_offset = log.log_start_offset();
    if let Some((path, end_offset)) = newest_snapshot(dir)? {
        let bytes = std::fs::read(&path)?;
        let applied = replay_batches(&bytes, i64::MIN, &mut delta);
        info!(snapshot = %path.display(), records = applied, "loaded metadata snapshot");
        next_offset = next_offset.max(end_offset);
    }

    let mut applied = 0;
    while next_offset < log.log_end_offset() {
        let chunk = match log.read(next_offset, READ_CHUNK, true) {
            Ok(info) => info.records,
            Err(e) => {
                warn!("stopped reading the metadata log at offset {next_offset}: {e}");
                break;
            }
        };
        if chunk.is_empty() {
            break;
        }
        applied += replay_batches(&chunk, next_offset, &mut delta);
        match Batches::new(&chunk).filter_map(Result::ok).last() {
            Some(last) => next_offset = last.header.next_offset(),
            None => break,
        }
    }
    let image = delta.apply();
    info!(
        records = applied,
        topics = image.topics().count(),
        offset = image.offset(),
        "loaded cluster metadata"
    );
    Ok(image)
}

/// Applies the records of every data batch in `bytes` whose offset is at
/// least `from_offset`; returns how many were applied. A batch that fails
/// its CRC stops the replay; records that cannot be decoded are skipped.
fn replay_batches(bytes: &[u8], from_offset: i64, delta: &mut MetadataDelta) -> usize {
    let mut applied = 0;
    for batch in Batches::new(bytes) {
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                warn!("stopped replaying metadata: {e}");
                break;
            }
        };
        if let Err(e) = record_batch::check_crc(batch.bytes, &batch.header, batch.position) {
            warn!("stopped replaying metadata: {e}");
            break;
        }
        if batch.header.is_control() {
            continue;
        }
        if batch.header.compression_codec() != 0 {
            warn!(
                base_offset = batch.header.base_offset,
                "skipping a compressed metadata batch"
            );
            continue;
        }
        let records = match record_batch::records(batch.bytes) {
            Ok(records) => records,
            Err(e) => {
                warn!(
                    base_offset = batch.header.base_offset,
                    "skipping metadata batch: {e}"
                );
                continue;
            }
        };
        for record in records {
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    warn!(
                        base_offset = batch.header.base_offset,
                        "skipping the rest of a metadata batch: {e}"
                    );
                    break;
                }
            };
            let offset = batch.header.base_offset + i64::from(record.offset_delta);
            if offset < from_offset {
                continue;
            }
            let Some(value) = record.value else { continue };
            match records::decode(value) {
                Ok(decoded) => {
                    delta.replay(decoded, offset);
                    applied += 1;
                }
                Err(e) => warn!(offset, "skipping metadata record: {e}"),
            }
        }
    }
    applied
}

/// The snapshot with the greatest end offset, if any.
fn newest_snapshot(dir: &Path) -> io::Result<Option<(PathBuf, i64)>> {
    let mut newest: Option<(PathBuf, i64)> = None;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".checkpoint")) else {
            continue;
        };
        let Some(end_offset) = stem.split('-').next().and_then(|o| o.parse::<i64>().ok()) else {
            continue;
        };
        if newest.as_ref().is_none_or(|(_, best)| end_offset > *best) {
            newest = Some((entry.path(), end_offset));
        }
    }
    Ok(newest)
}
