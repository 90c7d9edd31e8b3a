//! Incremental fetch sessions (KIP-227, Kafka's `FetchSessionCache`): a
//! client's full fetch can open a session that remembers its partitions and
//! what was last sent for each; later fetches then only name what changed,
//! and responses only carry partitions with news.

use indexmap::IndexMap;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A session not used for this long may be evicted to make room
/// (Kafka's `min.incremental.fetch.session.eviction.ms`).
const EVICTION_AGE: Duration = Duration::from_secs(120);

/// A partition of a session: by topic id from Fetch v13, by name before.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartitionKey {
    pub topic_id: Uuid,
    pub topic: String,
    pub partition: i32,
}

/// What the session knows of one partition: how the client fetches it and
/// what it was last told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPartition {
    pub fetch_offset: i64,
    pub max_bytes: i32,
    pub current_leader_epoch: i32,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
}

impl CachedPartition {
    pub fn new(fetch_offset: i64, max_bytes: i32, current_leader_epoch: i32) -> Self {
        CachedPartition {
            fetch_offset,
            max_bytes,
            current_leader_epoch,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
        }
    }

    /// Whether an incremental response must carry this partition, and
    /// remembers what it carries (Kafka's `maybeUpdateResponseData`).
    pub fn must_respond(
        &mut self,
        has_records: bool,
        error: bool,
        high_watermark: i64,
        last_stable_offset: i64,
        log_start_offset: i64,
    ) -> bool {
        let changed = high_watermark != self.high_watermark
            || last_stable_offset != self.last_stable_offset
            || log_start_offset != self.log_start_offset;
        self.high_watermark = high_watermark;
        self.last_stable_offset = last_stable_offset;
        self.log_start_offset = log_start_offset;
        has_records || error || changed
    }
}

pub struct FetchSession {
    pub id: i32,
    /// The epoch the next incremental fetch must carry.
    pub epoch: i32,
    /// In response order: partitions that return data move to the end.
    pub partitions: IndexMap<PartitionKey, CachedPartition>,
    /// Whether the session's client names topics by id.
    pub uses_topic_ids: bool,
    last_used: Instant,
}

pub struct FetchSessionCache {
    sessions: Mutex<HashMap<i32, Arc<Mutex<FetchSession>>>>,
    max_slots: usize,
}

impl FetchSessionCache {
    pub fn new(max_slots: usize) -> Self {
        FetchSessionCache {
            sessions: Mutex::new(HashMap::new()),
            max_slots,
        }
    }

    /// Opens a session over `partitions`; `None` when the cache is full of
    /// recently used sessions (the fetch then stays sessionless).
    pub fn create(
        &self,
        partitions: IndexMap<PartitionKey, CachedPartition>,
        uses_topic_ids: bool,
    ) -> Option<i32> {
        let mut sessions = self.sessions.lock();
        if sessions.len() >= self.max_slots {
            let oldest = sessions
                .iter()
                .map(|(id, s)| (*id, s.lock().last_used))
                .min_by_key(|(_, used)| *used)?;
            if oldest.1.elapsed() < EVICTION_AGE {
                return None;
            }
            sessions.remove(&oldest.0);
        }
        let id = loop {
            let candidate = (Uuid::new_v4().as_u128() as u32 & 0x7fff_ffff) as i32;
            if candidate != 0 && !sessions.contains_key(&candidate) {
                break candidate;
            }
        };
        sessions.insert(
            id,
            Arc::new(Mutex::new(FetchSession {
                id,
                epoch: 1,
                partitions,
                uses_topic_ids,
                last_used: Instant::now(),
            })),
        );
        Some(id)
    }

    /// The session, marked as used.
    pub fn get(&self, id: i32) -> Option<Arc<Mutex<FetchSession>>> {
        let session = self.sessions.lock().get(&id).cloned()?;
        session.lock().last_used = Instant::now();
        Some(session)
    }

    pub fn remove(&self, id: i32) {
        self.sessions.lock().remove(&id);
    }

    pub fn len(&self) -> usize {
        self.sessions.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(partition: i32) -> PartitionKey {
        PartitionKey {
            topic_id: Uuid::from_u128(1),
            topic: String::new(),
            partition,
        }
    }

    #[test]
    fn sessions_are_created_found_and_evicted_only_when_idle() {
        let cache = FetchSessionCache::new(1);
        let partitions = IndexMap::from([(key(0), CachedPartition::new(0, 100, -1))]);
        let id = cache.create(partitions.clone(), true).unwrap();
        assert!(id > 0);
        assert_eq!(cache.get(id).unwrap().lock().epoch, 1);
        // The only slot is taken by a session in use.
        assert_eq!(cache.create(partitions.clone(), true), None);
        cache.get(id).unwrap().lock().last_used -= EVICTION_AGE;
        let second = cache.create(partitions, true).unwrap();
        assert!(cache.get(id).is_none());
        cache.remove(second);
        assert!(cache.is_empty());
    }

    #[test]
    fn responds_when_something_changed() {
        let mut cached = CachedPartition::new(0, 100, -1);
        assert!(cached.must_respond(false, false, 5, 5, 0));
        assert!(!cached.must_respond(false, false, 5, 5, 0));
        assert!(cached.must_respond(true, false, 5, 5, 0));
        assert!(cached.must_respond(false, false, 6, 6, 0));
        assert!(cached.must_respond(false, true, 6, 6, 0));
    }
}
