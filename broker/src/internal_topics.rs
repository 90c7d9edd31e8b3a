//! The internal topics as their coordinators reach them, through their
//! narrow seam ([`InternalTopic`]): `__consumer_offsets` for the group
//! coordinator, `__transaction_state` for the transaction coordinator.
//! Each is created with its coordinator's settings when first needed,
//! appended to through the replica manager, and read back from the logs at
//! start.

use crate::broker::Broker;
use crate::coordinator::OFFSETS_TOPIC;
use crate::coordinator::internal_topic::{InternalTopic, TopicRecord, WriteError};
use crate::coordinator::transaction_coordinator::TRANSACTION_STATE_TOPIC;
use crate::metadata::controller::{ControllerError, NewTopic};
use crate::storage::record_batch::{self, BatchProducer, Batches, NewRecord};
use crate::storage::{AppendError, producer_state::ProducerError};
use kafka_protocol::error::ResponseError;
use tracing::warn;

/// How much of the topic is read at a time when loading.
const LOAD_CHUNK: usize = 1 << 20;

/// An internal topic over the broker's logs.
pub struct BrokerTopic<'a> {
    broker: &'a Broker,
    name: &'static str,
    spec: fn(&Broker) -> NewTopic,
}

impl Broker {
    /// The group coordinator's way to `__consumer_offsets`.
    pub fn offsets_topic(&self) -> BrokerTopic<'_> {
        BrokerTopic {
            broker: self,
            name: OFFSETS_TOPIC,
            spec: |broker| broker.groups.offsets_topic_spec(),
        }
    }

    /// The transaction coordinator's way to `__transaction_state`.
    pub fn transaction_state_topic(&self) -> BrokerTopic<'_> {
        BrokerTopic {
            broker: self,
            name: TRANSACTION_STATE_TOPIC,
            spec: |broker| broker.txns.state_topic_spec(),
        }
    }
}

impl BrokerTopic<'_> {
    fn write(
        &self,
        partition: i32,
        records: &[TopicRecord],
        producer: Option<BatchProducer>,
    ) -> Result<(), WriteError> {
        let broker = self.broker;
        let name = self.name;
        let image = broker.metadata.image();
        let topic = image.topic(name).ok_or(WriteError::Unavailable)?;
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
        let batch = record_batch::build_producer_batch(now, producer, &new);
        let appended = match producer {
            None => broker.replicas.append(&log, &batch, epoch),
            Some(_) => broker.replicas.append_as_coordinator(&log, &batch, epoch),
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

impl InternalTopic for BrokerTopic<'_> {
    fn partitions(&self) -> Result<i32, ResponseError> {
        let broker = self.broker;
        let name = self.name;
        if let Some(topic) = broker.metadata.image().topic(name) {
            return Ok(topic.partitions.len() as i32);
        }
        match broker.create_topic(&(self.spec)(broker), false) {
            Ok(_) | Err(ControllerError::TopicAlreadyExists(_)) => {}
            Err(e) => {
                warn!("cannot create {name}: {e}");
                return Err(ResponseError::CoordinatorNotAvailable);
            }
        }
        broker
            .metadata
            .image()
            .topic(name)
            .map(|t| t.partitions.len() as i32)
            .ok_or(ResponseError::CoordinatorNotAvailable)
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

    fn read_all(&self, on_batch: &mut dyn FnMut(i32, &[u8])) -> std::io::Result<()> {
        let broker = self.broker;
        let image = broker.metadata.image();
        let Some(topic) = image.topic(self.name) else {
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
