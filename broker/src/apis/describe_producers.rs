//! DescribeProducers (key 61): the producers a partition knows, with their
//! epochs, last sequences and open transactions, for operators
//! (`kafka-transactions.sh describe-producers`). As in Kafka's KafkaApis,
//! a topic with an illegal name fails with INVALID_TOPIC_EXCEPTION, and one
//! without READ with TOPIC_AUTHORIZATION_FAILED, before it is looked up.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::metadata::validate_topic_name;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};
use kafka_protocol::protocol::StrBytes;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeProducersRequest,
) -> DescribeProducersResponse {
    let image = broker.metadata.image();
    let auth = AuthHelper::new(broker, ctx);
    let topics = request
        .topics
        .iter()
        .map(|topic| {
            let topic_error = match validate_topic_name(&topic.name) {
                Err(e) => Some((
                    ResponseError::InvalidTopicException,
                    format!("Topic name is invalid: {e}"),
                )),
                Ok(()) if !auth.authorize(AclOperation::Read, ResourceType::Topic, &topic.name) => {
                    Some((
                        ResponseError::TopicAuthorizationFailed,
                        "Topic authorization failed.".to_string(),
                    ))
                }
                Ok(()) => None,
            };
            let topic_image = image.topic(&topic.name);
            let partitions = topic
                .partition_indexes
                .iter()
                .map(|&index| {
                    let response = PartitionResponse::default().with_partition_index(index);
                    if let Some((error, message)) = &topic_error {
                        return response
                            .with_error_code(error.code())
                            .with_error_message(Some(StrBytes::from_string(message.clone())));
                    }
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
