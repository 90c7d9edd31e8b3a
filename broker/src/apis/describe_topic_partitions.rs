//! DescribeTopicPartitions (key 75): topics and their partitions, sorted by
//! name, paged by `response_partition_limit` and a cursor, following
//! Kafka's `DescribeTopicPartitionsRequestHandler`.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::metadata::{TopicImage, is_internal_topic, validate_topic_name};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeSet;

/// Kafka's `max.request.partition.size.limit` default.
const MAX_REQUEST_PARTITION_SIZE_LIMIT: i32 = 2000;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let auth = AuthHelper::new(broker, ctx);
    let image = broker.metadata.image();
    let cursor = request.cursor.as_ref();
    let cursor_topic = cursor.map_or("", |c| c.topic_name.as_str());
    let fetch_all = request.topics.is_empty();

    let names: BTreeSet<&str> = if fetch_all {
        image
            .topics()
            .map(|t| t.name.as_str())
            .filter(|name| *name >= cursor_topic)
            .collect()
    } else {
        request
            .topics
            .iter()
            .map(|t| t.name.as_str())
            .filter(|name| *name >= cursor_topic)
            .collect()
    };
    if let Some(cursor) = cursor
        && ((!fetch_all && !names.contains(cursor.topic_name.as_str()))
            || cursor.partition_index < 0)
    {
        return invalid_request(request);
    }

    let limit = request
        .response_partition_limit
        .clamp(1, MAX_REQUEST_PARTITION_SIZE_LIMIT) as usize;
    let start_index = |name: &str| match cursor {
        Some(c) if c.topic_name.as_str() == name => c.partition_index,
        _ => 0,
    };

    // Topics one may not describe: left out of a listing, and answered
    // TOPIC_AUTHORIZATION_FAILED (after the others) when named.
    let mut unauthorized = Vec::new();
    let names: Vec<&str> = names
        .into_iter()
        .filter(|name| {
            let allowed = if fetch_all {
                auth.check(AclOperation::Describe, ResourceType::Topic, name)
            } else {
                auth.authorize(AclOperation::Describe, ResourceType::Topic, name)
            };
            if !allowed && !fetch_all {
                unauthorized.push(
                    topic_response(name, ResponseError::TopicAuthorizationFailed.code())
                        .with_topic_authorized_operations(i32::MIN),
                );
            }
            allowed
        })
        .collect();

    let mut response = DescribeTopicPartitionsResponse::default();
    let mut remaining = limit;
    for name in names {
        if remaining == 0 {
            // The previous topics filled the page: the next page starts here.
            response.next_cursor = Some(cursor_at(name, 0));
            break;
        }
        match image.topic(name) {
            Some(topic) => {
                let (partitions, next) =
                    describe_partitions(broker, topic, start_index(name), remaining);
                let described = partitions.len();
                response.topics.push(
                    topic_response(name, 0)
                        .with_topic_id(topic.id)
                        .with_partitions(partitions),
                );
                if let Some(next) = next {
                    response.next_cursor = Some(cursor_at(name, next));
                    break;
                }
                remaining = remaining.saturating_sub(described);
            }
            None if !fetch_all => {
                let error = match validate_topic_name(name) {
                    Ok(()) => ResponseError::UnknownTopicOrPartition,
                    Err(_) => ResponseError::InvalidTopicException,
                };
                response.topics.push(topic_response(name, error.code()));
            }
            None => {}
        }
    }
    for topic in &mut response.topics {
        if let Some(name) = &topic.name {
            topic.topic_authorized_operations =
                auth.authorized_operations(ResourceType::Topic, name);
        }
    }
    response.topics.extend(unauthorized);
    response
}

/// The partitions of `topic` from index `start` on, at most `max_count`,
/// and the index to continue from if some were left out.
fn describe_partitions(
    broker: &Broker,
    topic: &TopicImage,
    start: i32,
    max_count: usize,
) -> (Vec<DescribeTopicPartitionsResponsePartition>, Option<i32>) {
    let count = topic.partitions.len() as i64;
    let upper = count.min(i64::from(start) + max_count as i64);
    let next = (upper < count).then_some(upper as i32);
    let node_id = broker.config.node_id;
    let partitions = (i64::from(start)..upper)
        .filter_map(|index| {
            let index = index as i32;
            let partition = topic.partitions.get(&index)?;
            let leader = if partition.leader == node_id {
                node_id
            } else {
                -1
            };
            Some(
                DescribeTopicPartitionsResponsePartition::default()
                    .with_partition_index(index)
                    .with_leader_id(BrokerId(leader))
                    .with_leader_epoch(partition.leader_epoch)
                    .with_replica_nodes(broker_ids(&partition.replicas))
                    .with_isr_nodes(broker_ids(&partition.isr))
                    .with_eligible_leader_replicas(Some(broker_ids(
                        &partition.eligible_leader_replicas,
                    )))
                    .with_last_known_elr(Some(broker_ids(&partition.last_known_elr)))
                    .with_offline_replicas(
                        partition
                            .replicas
                            .iter()
                            .filter(|&&id| id != node_id)
                            .map(|&id| BrokerId(id))
                            .collect(),
                    ),
            )
        })
        .collect();
    (partitions, next)
}

fn broker_ids(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().map(|&id| BrokerId(id)).collect()
}

fn topic_response(name: &str, error_code: i16) -> DescribeTopicPartitionsResponseTopic {
    DescribeTopicPartitionsResponseTopic::default()
        .with_error_code(error_code)
        .with_name(Some(topic_name(name)))
        .with_is_internal(is_internal_topic(name))
}

fn cursor_at(name: &str, partition_index: i32) -> Cursor {
    Cursor::default()
        .with_topic_name(topic_name(name))
        .with_partition_index(partition_index)
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// Kafka's `getErrorResponse` for an invalid request: every requested topic
/// with INVALID_REQUEST.
fn invalid_request(request: &DescribeTopicPartitionsRequest) -> DescribeTopicPartitionsResponse {
    let mut response = DescribeTopicPartitionsResponse::default();
    response.topics = request
        .topics
        .iter()
        .map(|t| {
            DescribeTopicPartitionsResponseTopic::default()
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_name(Some(t.name.clone()))
        })
        .collect();
    response
}
