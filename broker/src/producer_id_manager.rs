//! Hands out producer ids from blocks the controller records in the
//! metadata log (`ProducerIdsRecord`), so an id is never issued twice, even
//! across restarts (Kafka's `RPCProducerIdManager`).

use crate::metadata::MetadataCache;
use crate::metadata::controller::{Controller, ControllerError};
use parking_lot::Mutex;

/// Producer ids per block, as in Kafka.
pub const BLOCK_SIZE: i64 = 1000;

#[derive(Default)]
pub struct ProducerIdManager {
    /// The next id to hand out and the end (exclusive) of the current block.
    block: Mutex<Option<(i64, i64)>>,
}

impl ProducerIdManager {
    pub fn generate(
        &self,
        controller: &Controller,
        cache: &MetadataCache,
    ) -> Result<i64, ControllerError> {
        let mut block = self.block.lock();
        let (next, end) = match *block {
            Some((next, end)) if next < end => (next, end),
            _ => {
                let start = controller.allocate_producer_ids(cache, BLOCK_SIZE)?;
                (start, start + BLOCK_SIZE)
            }
        };
        *block = Some((next + 1, end));
        Ok(next)
    }
}
