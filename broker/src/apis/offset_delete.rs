//! OffsetDelete (key 47): deletes a group's committed offsets of some
//! partitions, as Kafka's KafkaApis and group coordinator do.
//!
//! Without DELETE on the group the request fails with
//! GROUP_AUTHORIZATION_FAILED. The partitions of topics without READ fail
//! with TOPIC_AUTHORIZATION_FAILED, those of unknown topics or partitions
//! with UNKNOWN_TOPIC_OR_PARTITION; the coordinator answers the rest: its
//! errors for the whole group (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP) replace
//! every partition's, and a topic a member still subscribes to gets
//! GROUP_SUBSCRIBED_TO_TOPIC.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};
use std::collections::{HashMap, HashSet};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let auth = AuthHelper::new(broker, ctx);
    if !auth.authorize(AclOperation::Delete, ResourceType::Group, &request.group_id) {
        return OffsetDeleteResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let names = request.topics.iter().map(|t| t.name.as_str());
    let allowed: HashSet<&str> = auth.filter(AclOperation::Read, ResourceType::Topic, names);

    let image = broker.metadata.image();
    // Each partition's early error, or `None` for the coordinator's.
    let mut early: Vec<Vec<(i32, Option<i16>)>> = Vec::with_capacity(request.topics.len());
    let mut asked: Vec<(String, Vec<i32>)> = Vec::new();
    for topic in &request.topics {
        let name = topic.name.as_str();
        let mut valid = Vec::new();
        let partitions = topic
            .partitions
            .iter()
            .map(|p| {
                let partition = p.partition_index;
                let error = if !allowed.contains(name) {
                    Some(ResponseError::TopicAuthorizationFailed.code())
                } else if image.partition(name, partition).is_none() {
                    Some(ResponseError::UnknownTopicOrPartition.code())
                } else {
                    valid.push(partition);
                    None
                };
                (partition, error)
            })
            .collect();
        early.push(partitions);
        if !valid.is_empty() {
            asked.push((name.to_string(), valid));
        }
    }

    let answered =
        match broker
            .groups
            .delete_offsets(&broker.offsets_topic(), &request.group_id, &asked)
        {
            Ok(answered) => answered,
            Err(error) => return OffsetDeleteResponse::default().with_error_code(error.code()),
        };
    let mut answers: HashMap<(&str, i32), i16> = HashMap::new();
    for (topic, partitions) in &answered {
        for &(partition, error) in partitions {
            answers.insert((topic.as_str(), partition), error);
        }
    }
    let topics = request
        .topics
        .iter()
        .zip(early)
        .map(|(topic, partitions)| {
            OffsetDeleteResponseTopic::default()
                .with_name(topic.name.clone())
                .with_partitions(
                    partitions
                        .into_iter()
                        .map(|(partition, error)| {
                            let error = error.unwrap_or_else(|| {
                                answers
                                    .get(&(topic.name.as_str(), partition))
                                    .copied()
                                    .unwrap_or(0)
                            });
                            OffsetDeleteResponsePartition::default()
                                .with_partition_index(partition)
                                .with_error_code(error)
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetDeleteResponse::default().with_topics(topics)
}
