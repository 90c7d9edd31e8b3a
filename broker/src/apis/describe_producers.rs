//! DescribeProducers (key 61): the producers a partition knows, with their
//! epochs, last sequences and open transactions, for operators
//! (`kafka-transactions.sh describe-producers`).

use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};

pub fn handle(broker: &Broker, request: &DescribeProducersRequest) -> DescribeProducersResponse {
    let image = broker.metadata.image();
    let topics = request
        .topics
        .iter()
        .map(|topic| {
            let topic_image = image.topic(&topic.name);
            let partitions = topic
                .partition_indexes
                .iter()
                .map(|&index| {
                    let response = PartitionResponse::default().with_partition_index(index);
                    let log = topic_image
                        .filter(|t| t.partitions.contains_key(&index))
                        .map(|t| broker.replicas.log(&image, t, index));
                    match log {
                        None => {
                            response.with_error_code(ResponseError::UnknownTopicOrPartition.code())
                        }
                        Some(Err(_)) => {
                            response.with_error_code(ResponseError::KafkaStorageError.code())
                        }
                        Some(Ok(log)) => response.with_active_producers(
                            log.active_producers()
                                .into_iter()
                                .map(|p| {
                                    ProducerState::default()
                                        .with_producer_id(ProducerId(p.producer_id))
                                        .with_producer_epoch(i32::from(p.epoch))
                                        .with_last_sequence(p.last_sequence)
                                        .with_last_timestamp(p.last_timestamp)
                                        .with_coordinator_epoch(p.coordinator_epoch)
                                        .with_current_txn_start_offset(p.current_txn_start_offset)
                                })
                                .collect(),
                        ),
                    }
                })
                .collect();
            TopicResponse::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}
