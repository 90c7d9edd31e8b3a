//! A partition's leader epochs and the offset each began at (Kafka's
//! `LeaderEpochFileCache`), kept in its `leader-epoch-checkpoint` file,
//! which is rewritten whenever an epoch is added or dropped.

use super::checkpoint_file::{self, EpochEntry, LEADER_EPOCH_CHECKPOINT_FILE};
use std::io;
use std::path::{Path, PathBuf};
use tracing::warn;

pub struct LeaderEpochFileCache {
    path: PathBuf,
    entries: Vec<EpochEntry>,
}

impl LeaderEpochFileCache {
    /// Reads the partition's checkpoint; a missing or unreadable one is an
    /// empty cache (epochs are added back as batches are recovered).
    pub fn load(dir: &Path) -> Self {
        let path = dir.join(LEADER_EPOCH_CHECKPOINT_FILE);
        let entries = match checkpoint_file::read_leader_epochs(&path) {
            Ok(entries) => entries.unwrap_or_default(),
            Err(e) => {
                warn!("{e}; rebuilding leader epochs from the log");
                Vec::new()
            }
        };
        LeaderEpochFileCache { path, entries }
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts at `start_offset`, if it is newer than
    /// the latest; returns whether the cache changed.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 || self.latest_epoch().is_some_and(|latest| epoch <= latest) {
            return false;
        }
        self.entries.retain(|e| e.start_offset < start_offset);
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        true
    }

    /// Drops the epochs that start at or after `end_offset` (the log ends
    /// there now); returns whether the cache changed.
    pub fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset < end_offset);
        self.entries.len() != before
    }

    /// The log starts at `start_offset` now (Kafka's `truncateFromStart`):
    /// epochs wholly before it go, and the one it falls in starts there.
    /// Returns whether the cache changed.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let Some(keep) = self
            .entries
            .iter()
            .rposition(|e| e.start_offset <= start_offset)
        else {
            return false;
        };
        let changed = keep > 0 || self.entries[keep].start_offset != start_offset;
        self.entries.drain(..keep);
        self.entries[0].start_offset = start_offset;
        changed
    }

    /// The epoch at or below `requested` and the offset it ends at (the
    /// start of the next epoch, or `log_end_offset` for the latest), as
    /// Kafka's `endOffsetFor` answers OffsetForLeaderEpoch: `None` (Kafka's
    /// UNDEFINED_EPOCH and offset) for an undefined epoch (-1), an empty
    /// cache, or an epoch above the latest. An epoch below the first is
    /// answered with itself and the first epoch's start offset.
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        end_offset_for(&self.entries, requested, log_end_offset)
    }

    /// Writes the checkpoint file.
    pub fn write(&self) -> io::Result<()> {
        checkpoint_file::write_leader_epochs(&self.path, &self.entries)
    }
}

/// [`LeaderEpochFileCache::end_offset_for`] over `entries` (epochs in
/// increasing order, each with the offset it starts at).
pub fn end_offset_for(
    entries: &[EpochEntry],
    requested: i32,
    log_end_offset: i64,
) -> Option<(i32, i64)> {
    if requested < 0 {
        return None;
    }
    if entries.last().map(|e| e.epoch) == Some(requested) {
        return Some((requested, log_end_offset));
    }
    let higher = entries.iter().find(|e| e.epoch > requested)?;
    let floor = entries.iter().rev().find(|e| e.epoch <= requested);
    Some((floor.map_or(requested, |e| e.epoch), higher.start_offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_only_grow_and_truncate_from_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = LeaderEpochFileCache::load(dir.path());
        assert!(cache.assign(0, 0));
        assert!(!cache.assign(0, 10));
        assert!(cache.assign(2, 10));
        assert!(!cache.assign(1, 20));
        cache.write().unwrap();
        let cache = LeaderEpochFileCache::load(dir.path());
        assert_eq!(cache.entries().len(), 2);
        let mut cache = cache;
        assert!(cache.truncate_from_end(10));
        assert_eq!(cache.latest_epoch(), Some(0));
    }

    #[test]
    fn end_offsets_are_found_as_kafka_finds_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = LeaderEpochFileCache::load(dir.path());
        assert_eq!(cache.end_offset_for(0, 0), None, "an empty cache");
        cache.assign(1, 5);
        cache.assign(3, 20);
        cache.assign(4, 30);
        // The latest epoch ends at the log end offset.
        assert_eq!(cache.end_offset_for(4, 42), Some((4, 42)));
        // An epoch ends where the next begins.
        assert_eq!(cache.end_offset_for(3, 42), Some((3, 30)));
        assert_eq!(cache.end_offset_for(1, 42), Some((1, 20)));
        // An epoch the log never had: the one below it, ending where the
        // next begins.
        assert_eq!(cache.end_offset_for(2, 42), Some((1, 20)));
        // Below the first epoch: itself, ending where the first begins.
        assert_eq!(cache.end_offset_for(0, 42), Some((0, 5)));
        // Above the latest, or undefined: nothing.
        assert_eq!(cache.end_offset_for(5, 42), None);
        assert_eq!(cache.end_offset_for(-1, 42), None);
    }

    #[test]
    fn truncating_from_the_start_moves_the_first_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = LeaderEpochFileCache::load(dir.path());
        cache.assign(0, 0);
        cache.assign(1, 10);
        cache.assign(2, 20);
        assert!(cache.truncate_from_start(15));
        let starts: Vec<_> = cache
            .entries()
            .iter()
            .map(|e| (e.epoch, e.start_offset))
            .collect();
        assert_eq!(starts, [(1, 15), (2, 20)]);
        assert!(!cache.truncate_from_start(15));
        assert!(!cache.truncate_from_start(3));
        assert!(cache.truncate_from_start(20));
        assert_eq!(cache.entries().len(), 1);
    }
}
