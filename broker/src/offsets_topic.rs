//! `__consumer_offsets` as the group coordinator reaches it, through its
//! narrow seam ([`InternalTopic`]): created with the coordinator's settings
//! when first needed, appended to through the replica manager, read back
//! from the logs at start.

use crate::broker::Broker;
use crate::coordinator::OFFSETS_TOPIC;
use crate::coordinator::internal_topic::{InternalTopic, TopicRecord, WriteError};
use crate::metadata::controller::ControllerError;
use crate::storage::AppendError;
use crate::storage::record_batch::{self, Batches, NewRecord};
use kafka_protocol::error::ResponseError;
use tracing::warn;

/// How much of the topic is read at a time when loading.
const LOAD_CHUNK: usize = 1 << 20;

/// `__consumer_offsets` over the broker's logs.
pub struct OffsetsTopic<'a> {
    broker: &'a Broker,
}

impl Broker {
    /// The group coordinator's way to `__consumer_offsets`.
    pub fn offsets_topic(&self) -> OffsetsTopic<'_> {
        OffsetsTopic { broker: self }
    }
}

impl InternalTopic for OffsetsTopic<'_> {
    fn partitions(&self) -> Result<i32, ResponseError> {
        let broker = self.broker;
        if let Some(topic) = broker.metadata.image().topic(OFFSETS_TOPIC) {
            return Ok(topic.partitions.len() as i32);
        }
        match broker.create_topic(&broker.groups.offsets_topic_spec(), false) {
            Ok(_) | Err(ControllerError::TopicAlreadyExists(_)) => {}
            Err(e) => {
                warn!("cannot create {OFFSETS_TOPIC}: {e}");
                return Err(ResponseError::CoordinatorNotAvailable);
            }
        }
        broker
            .metadata
            .image()
            .topic(OFFSETS_TOPIC)
            .map(|t| t.partitions.len() as i32)
            .ok_or(ResponseError::CoordinatorNotAvailable)
    }

    fn append(&self, partition: i32, records: &[TopicRecord]) -> Result<(), WriteError> {
        let broker = self.broker;
        let image = broker.metadata.image();
        let topic = image.topic(OFFSETS_TOPIC).ok_or(WriteError::Unavailable)?;
        let epoch = topic
            .partitions
            .get(&partition)
            .map_or(0, |p| p.leader_epoch);
        let log = broker
            .replicas
            .log(&image, topic, partition)
            .map_err(|_| WriteError::Unavailable)?;
        let new: Vec<NewRecord<'_>> = records
            .iter()
            .map(|(key, value)| NewRecord {
                key: Some(key),
                value: value.as_deref(),
            })
            .collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let batch = record_batch::build_batch(now, &new);
        match broker.replicas.append(&log, &batch, epoch) {
            Ok(_) => Ok(()),
            Err(AppendError::RecordTooLarge { .. } | AppendError::RecordListTooLarge { .. }) => {
                Err(WriteError::TooLarge)
            }
            Err(e) => {
                warn!("cannot append to {OFFSETS_TOPIC}-{partition}: {e}");
                Err(WriteError::Unavailable)
            }
        }
    }

    fn read_all(&self, on_batch: &mut dyn FnMut(i32, &[u8])) -> std::io::Result<()> {
        let broker = self.broker;
        let image = broker.metadata.image();
        let Some(topic) = image.topic(OFFSETS_TOPIC) else {
            return Ok(());
        };
        for &partition in topic.partitions.keys() {
            let log = broker.replicas.log(&image, topic, partition)?;
            let mut offset = log.log_start_offset();
            while offset < log.log_end_offset() {
                let chunk = match log.read(offset, LOAD_CHUNK, true) {
                    Ok(info) if !info.records.is_empty() => info.records,
                    _ => break,
                };
                let mut next = offset;
                for batch in Batches::new(&chunk).filter_map(Result::ok) {
                    next = batch.header.next_offset();
                    on_batch(partition, batch.bytes);
                }
                if next <= offset {
                    break;
                }
                offset = next;
            }
        }
        Ok(())
    }
}
