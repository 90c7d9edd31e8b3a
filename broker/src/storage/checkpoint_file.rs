//! Kafka's checkpoint text files (`CheckpointFile`): a version line (0), a
//! count line, then one entry per line. Written to `<name>.tmp`, fsynced
//! and renamed over the old file, so a crash leaves the old or the new one.
//!
//! - `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint` and
//!   `replication-offset-checkpoint` (high watermarks) in the log
//!   directory: `<topic> <partition> <offset>`
//!   (`OffsetCheckpointFile`).
//! - `leader-epoch-checkpoint` in a partition directory:
//!   `<leader epoch> <start offset>` (`LeaderEpochCheckpointFile`).

use super::TopicPartition;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

pub const RECOVERY_POINT_CHECKPOINT_FILE: &str = "recovery-point-offset-checkpoint";
pub const LOG_START_OFFSET_CHECKPOINT_FILE: &str = "log-start-offset-checkpoint";
/// The high watermarks (Kafka's `ReplicaManager.HighWatermarkFilename`).
pub const HIGH_WATERMARK_CHECKPOINT_FILE: &str = "replication-offset-checkpoint";
pub const LEADER_EPOCH_CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";

const VERSION: u32 = 0;

fn invalid(path: &Path, why: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed checkpoint file {}: {why}", path.display()),
    )
}

/// Writes `lines` (each without its newline) as a checkpoint file.
fn write_lines(path: &Path, lines: &[String]) -> io::Result<()> {
    let mut text = format!("{VERSION}\n{}\n", lines.len());
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    let tmp = path.with_extension("tmp");
    {
        let mut file = File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The entry lines of a checkpoint file; None when there is no file.
fn read_lines(path: &Path) -> io::Result<Option<Vec<String>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut lines = text.lines();
    let version = lines.next().ok_or_else(|| invalid(path, "empty"))?;
    if version.trim().parse::<u32>().ok() != Some(VERSION) {
        return Err(invalid(path, format!("unknown version {version:?}")));
    }
    let count: usize = lines
        .next()
        .and_then(|c| c.trim().parse().ok())
        .ok_or_else(|| invalid(path, "no entry count"))?;
    let entries: Vec<String> = lines.map(str::to_string).collect();
    if entries.len() != count {
        return Err(invalid(
            path,
            format!("expected {count} entries, found {}", entries.len()),
        ));
    }
    Ok(Some(entries))
}

/// Reads an offset checkpoint of the log directory.
pub fn read_offsets(path: &Path) -> io::Result<HashMap<TopicPartition, i64>> {
    let mut offsets = HashMap::new();
    for line in read_lines(path)?.unwrap_or_default() {
        let mut fields = line.split(' ');
        let parsed = (|| {
            let topic = fields.next()?;
            let partition = fields.next()?.parse().ok()?;
            let offset = fields.next()?.parse().ok()?;
            fields
                .next()
                .is_none()
                .then(|| (TopicPartition::new(topic, partition), offset))
        })();
        let (tp, offset) = parsed.ok_or_else(|| invalid(path, format!("bad entry {line:?}")))?;
        offsets.insert(tp, offset);
    }
    Ok(offsets)
}

/// Writes an offset checkpoint, entries sorted by topic and partition.
pub fn write_offsets(path: &Path, offsets: &[(TopicPartition, i64)]) -> io::Result<()> {
    let mut sorted: Vec<&(TopicPartition, i64)> = offsets.iter().collect();
    sorted.sort();
    let lines: Vec<String> = sorted
        .iter()
        .map(|(tp, offset)| format!("{} {} {offset}", tp.topic, tp.partition))
        .collect();
    write_lines(path, &lines)
}

/// An epoch and the first offset written in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

pub fn read_leader_epochs(path: &Path) -> io::Result<Option<Vec<EpochEntry>>> {
    let Some(lines) = read_lines(path)? else {
        return Ok(None);
    };
    lines
        .iter()
        .map(|line| {
            let parsed = line.split_once(' ').and_then(|(epoch, offset)| {
                Some(EpochEntry {
                    epoch: epoch.parse().ok()?,
                    start_offset: offset.parse().ok()?,
                })
            });
            parsed.ok_or_else(|| invalid(path, format!("bad entry {line:?}")))
        })
        .collect::<io::Result<Vec<_>>>()
        .map(Some)
}

pub fn write_leader_epochs(path: &Path, entries: &[EpochEntry]) -> io::Result<()> {
    let lines: Vec<String> = entries
        .iter()
        .map(|e| format!("{} {}", e.epoch, e.start_offset))
        .collect();
    write_lines(path, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_in_kafkas_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RECOVERY_POINT_CHECKPOINT_FILE);
        assert!(read_offsets(&path).unwrap().is_empty());
        write_offsets(
            &path,
            &[
                (TopicPartition::new("orders", 1), 42),
                (TopicPartition::new("a-b", 0), 7),
            ],
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "0\n2\na-b 0 7\norders 1 42\n"
        );
        let read = read_offsets(&path).unwrap();
        assert_eq!(read[&TopicPartition::new("orders", 1)], 42);
        std::fs::write(&path, "0\n3\na 0 1\n").unwrap();
        assert!(read_offsets(&path).is_err());
        std::fs::write(&path, "1\n0\n").unwrap();
        assert!(read_offsets(&path).is_err());
    }

    #[test]
    fn leader_epochs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE);
        assert_eq!(read_leader_epochs(&path).unwrap(), None);
        let entries = [
            EpochEntry {
                epoch: 0,
                start_offset: 0,
            },
            EpochEntry {
                epoch: 3,
                start_offset: 120,
            },
        ];
        write_leader_epochs(&path, &entries).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "0\n2\n0 0\n3 120\n"
        );
        assert_eq!(read_leader_epochs(&path).unwrap().unwrap(), entries);
    }
}
