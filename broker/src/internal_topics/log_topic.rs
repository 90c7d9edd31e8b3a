//! [`LogTopic`]: an internal topic over the broker's partition logs.

use super::{InternalTopic, TopicRecord, WriteError};
use crate::metadata::MetadataCache;
use crate::metadata::controller::{ControllerError, NewTopic};
use crate::replica_manager::ReplicaManager;
use crate::storage::record_batch::{self, BatchProducer, Batches, NewRecord};
use crate::storage::{AppendError, producer_state::ProducerError};
use kafka_protocol::error::ResponseError;
use std::io;
use tracing::warn;

/// How much of a partition is read at a time.
const READ_CHUNK: usize = 1 << 20;

/// Creates a topic in the metadata log and opens its logs: what an
/// internal topic needs on its first use (the broker implements it).
pub trait TopicCreator: Sync {
    fn create_topic(&self, topic: &NewTopic) -> Result<(), ControllerError>;
}

/// An internal topic over the partition logs: `name`, created as `spec`
/// gives it when first needed.
pub struct LogTopic<'a, S> {
    pub name: &'static str,
    pub spec: S,
    pub metadata: &'a MetadataCache,
    pub replicas: &'a ReplicaManager,
    pub creator: &'a dyn TopicCreator,
}

impl<S: Fn() -> NewTopic + Sync> LogTopic<'_, S> {
    fn write(
        &self,
        partition: i32,
        records: &[TopicRecord],
        producer: Option<BatchProducer>,
    ) -> Result<(), WriteError> {
        let name = self.name;
        let image = self.metadata.image();
        let topic = image.topic(name).ok_or(WriteError::Unavailable)?;
        let epoch = topic
            .partitions
            .get(&partition)
            .map_or(0, |p| p.leader_epoch);
        let log = self
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
        let batch = record_batch::build_producer_batch(now, producer, &new);
        let appended = match producer {
            None => self.replicas.append(&log, &batch, epoch),
            Some(_) => self.replicas.append_as_coordinator(&log, &batch, epoch),
        };
        match appended {
            Ok(_) => Ok(()),
            Err(AppendError::RecordTooLarge { .. } | AppendError::RecordListTooLarge { .. }) => {
                Err(WriteError::TooLarge)
            }
            Err(AppendError::Producer(ProducerError::InvalidProducerEpoch { .. })) => {
                Err(WriteError::InvalidProducerEpoch)
            }
            Err(e) => {
                warn!("cannot append to {name}-{partition}: {e}");
                Err(WriteError::Unavailable)
            }
        }
    }
}

impl<S: Fn() -> NewTopic + Sync> InternalTopic for LogTopic<'_, S> {
    fn partitions(&self) -> Result<i32, ResponseError> {
        let name = self.name;
        if let Some(topic) = self.metadata.image().topic(name) {
            return Ok(topic.partitions.len() as i32);
        }
        match self.creator.create_topic(&(self.spec)()) {
            Ok(()) | Err(ControllerError::TopicAlreadyExists(_)) => {}
            Err(e) => {
                warn!("cannot create {name}: {e}");
                return Err(ResponseError::CoordinatorNotAvailable);
            }
        }
        self.metadata
            .image()
            .topic(name)
            .map(|t| t.partitions.len() as i32)
            .ok_or(ResponseError::CoordinatorNotAvailable)
    }

    fn existing_partitions(&self) -> Vec<i32> {
        self.metadata
            .image()
            .topic(self.name)
            .map(|t| t.partitions.keys().copied().collect())
            .unwrap_or_default()
    }

    fn append(&self, partition: i32, records: &[TopicRecord]) -> Result<(), WriteError> {
        self.write(partition, records, None)
    }

    fn append_transactional(
        &self,
        partition: i32,
        records: &[TopicRecord],
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<(), WriteError> {
        self.write(
            partition,
            records,
            Some(BatchProducer {
                producer_id,
                producer_epoch,
                // Kafka's coordinator writes sequence 0; it is not checked.
                base_sequence: 0,
                transactional: true,
                control: false,
            }),
        )
    }

    fn read_from(
        &self,
        partition: i32,
        offset: i64,
        on_batch: &mut dyn FnMut(&[u8]),
    ) -> io::Result<i64> {
        let image = self.metadata.image();
        let Some(topic) = image.topic(self.name) else {
            return Ok(offset);
        };
        let log = self.replicas.log(&image, topic, partition)?;
        let mut offset = offset.max(log.log_start_offset());
        while offset < log.log_end_offset() {
            let chunk = match log.read(offset, READ_CHUNK, true) {
                Ok(info) if !info.records.is_empty() => info.records,
                _ => break,
            };
            let mut next = offset;
            for batch in Batches::new(&chunk).filter_map(Result::ok) {
                next = batch.header.next_offset();
                on_batch(batch.bytes);
            }
            if next <= offset {
                break;
            }
            offset = next;
        }
        Ok(offset)
    }
}
