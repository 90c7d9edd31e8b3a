//! A sparse map from offsets to file positions within one segment, as in
//! Kafka's `OffsetIndex`: an entry is added every `index.interval.bytes` of
//! appended data and a lookup returns the closest entry at or before the
//! target, from where the reader walks batch headers forward.
//!
//! Entries are kept in memory (8 bytes each, like Kafka's on-disk entries)
//! and rebuilt when a segment is recovered.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPosition {
    pub offset: i64,
    pub position: u32,
}

#[derive(Debug, Default)]
pub struct OffsetIndex {
    base_offset: i64,
    /// (offset relative to the base offset, file position), ascending in both.
    entries: Vec<(u32, u32)>,
}

impl OffsetIndex {
    pub fn new(base_offset: i64) -> Self {
        OffsetIndex {
            base_offset,
            entries: Vec::new(),
        }
    }

    /// Records that the batch starting at `offset` begins at `position`.
    /// Entries that would not keep the index ascending are ignored.
    pub fn append(&mut self, offset: i64, position: u32) {
        let Ok(relative) = u32::try_from(offset - self.base_offset) else {
            return;
        };
        if let Some(&(last_offset, last_position)) = self.entries.last()
            && (relative <= last_offset || position <= last_position)
        {
            return;
        }
        self.entries.push((relative, position));
    }

    /// The greatest entry whose offset is at most `target`, or the segment start.
    pub fn lookup(&self, target: i64) -> OffsetPosition {
        let relative = target - self.base_offset;
        let idx = self
            .entries
            .partition_point(|&(offset, _)| i64::from(offset) <= relative);
        match idx.checked_sub(1) {
            Some(i) => OffsetPosition {
                offset: self.base_offset + i64::from(self.entries[i].0),
                position: self.entries[i].1,
            },
            None => OffsetPosition {
                offset: self.base_offset,
                position: 0,
            },
        }
    }

    /// Drops the entries at or after `position` (the log was truncated there).
    pub fn truncate_to_position(&mut self, position: u32) {
        let keep = self.entries.partition_point(|&(_, p)| p < position);
        self.entries.truncate(keep);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_the_floor_entry() {
        let mut index = OffsetIndex::new(100);
        assert_eq!(index.lookup(150).position, 0);
        index.append(110, 4096);
        index.append(120, 8192);
        index.append(115, 9000); // out of order: ignored
        assert_eq!(index.len(), 2);
        assert_eq!(index.lookup(100).position, 0);
        assert_eq!(index.lookup(110).position, 4096);
        assert_eq!(index.lookup(119).position, 4096);
        assert_eq!(index.lookup(500).position, 8192);
        index.truncate_to_position(8192);
        assert_eq!(index.lookup(500).position, 4096);
    }
}
