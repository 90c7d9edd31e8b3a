//! DescribeShareGroupOffsets (key 90, v0-1): each share partition's start
//! offset and leader epoch, and in v1 its lag (KIP-932, KIP-1226; Kafka's
//! `handleDescribeShareGroupOffsetsRequest` and GroupCoordinatorService's
//! `describeShareGroupOffsets` / `describeShareGroupAllOffsets`).
//!
//! A group needs DESCRIBE, its topics DESCRIBE: named topics the request
//! may not describe are answered TOPIC_AUTHORIZATION_FAILED, and with a
//! null topic list (every share partition of the group with state) they
//! are left out. As in Kafka, a topic the metadata does not have, or a
//! partition without state, is no error: start offset -1. The lag is the
//! high watermark less the start offset and the records after it already
//! done (Kafka's `deliveryCompleteCount`), -1 while the start offset is
//! not known.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::share_records::ShareStateKey;
use crate::metadata::image::{MetadataImage, TopicImage};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup;
use kafka_protocol::messages::describe_share_group_offsets_response::{
    DescribeShareGroupOffsetsResponseGroup, DescribeShareGroupOffsetsResponsePartition,
    DescribeShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::{
    DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use tracing::warn;
use uuid::Uuid;

/// A response and the lag of each of its partitions, in the order they
/// are encoded (group by group, topic by topic), for v1.
pub struct Described {
    pub response: DescribeShareGroupOffsetsResponse,
    pub lags: Vec<i64>,
}

/// A partition's answer and its lag.
type Answer = (DescribeShareGroupOffsetsResponsePartition, i64);

/// A topic's answer: the topic without its partitions, and them.
type TopicAnswer = (DescribeShareGroupOffsetsResponseTopic, Vec<Answer>);

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeShareGroupOffsetsRequest,
) -> Described {
    let auth = AuthHelper::new(broker, ctx);
    let image = broker.metadata.image();
    let enabled = broker.share_groups_enabled();
    let mut groups = Vec::with_capacity(request.groups.len());
    let mut lags = Vec::new();
    for group in &request.groups {
        let failed = |error: ResponseError| {
            DescribeShareGroupOffsetsResponseGroup::default()
                .with_group_id(group.group_id.clone())
                .with_error_code(error.code())
        };
        let topics = if !enabled {
            groups.push(failed(ResponseError::UnsupportedVersion));
            continue;
        } else if !auth.authorize(AclOperation::Describe, ResourceType::Group, &group.group_id) {
            groups.push(failed(ResponseError::GroupAuthorizationFailed));
            continue;
        } else {
            match &group.topics {
                None => all_topics(broker, &auth, &image, group),
                Some(topics) => named_topics(broker, &auth, &image, group, topics),
            }
        };
        let mut described = Vec::with_capacity(topics.len());
        for (topic, partitions) in topics {
            let (partitions, topic_lags): (Vec<_>, Vec<_>) = partitions.into_iter().unzip();
            lags.extend(topic_lags);
            described.push(topic.with_partitions(partitions));
        }
        groups.push(
            DescribeShareGroupOffsetsResponseGroup::default()
                .with_group_id(group.group_id.clone())
                .with_topics(described),
        );
    }
    Described {
        response: DescribeShareGroupOffsetsResponse::default().with_groups(groups),
        lags,
    }
}

/// Every share partition of the group with state, in topics the request
/// may describe and the metadata has.
fn all_topics(
    broker: &Broker,
    auth: &AuthHelper<'_>,
    image: &MetadataImage,
    group: &DescribeShareGroupOffsetsRequestGroup,
) -> Vec<TopicAnswer> {
    let mut by_topic: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
    for key in broker.shares.coordinator().keys(Some(&group.group_id)) {
        by_topic
            .entry(key.topic_id)
            .or_default()
            .push(key.partition);
    }
    by_topic
        .into_iter()
        .filter_map(|(topic_id, partitions)| {
            let topic = image.topic_by_id(&topic_id)?;
            Some((topic, partitions))
        })
        .filter(|(topic, _)| {
            auth.authorize(AclOperation::Describe, ResourceType::Topic, &topic.name)
        })
        .map(|(topic, partitions)| {
            described_topic(broker, image, &group.group_id, topic, &partitions)
        })
        .collect()
}

/// The named topics: those the metadata has first, then those it does not
/// have, then those the request may not describe.
fn named_topics(
    broker: &Broker,
    auth: &AuthHelper<'_>,
    image: &MetadataImage,
    group: &DescribeShareGroupOffsetsRequestGroup,
    topics: &[kafka_protocol::messages::describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestTopic],
) -> Vec<TopicAnswer> {
    let (authorized, denied): (Vec<_>, Vec<_>) = topics
        .iter()
        .partition(|t| auth.authorize(AclOperation::Describe, ResourceType::Topic, &t.topic_name));
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for topic in authorized {
        match image.topic(&topic.topic_name) {
            Some(found) => known.push(described_topic(
                broker,
                image,
                &group.group_id,
                found,
                &topic.partitions,
            )),
            None => unknown.push((
                DescribeShareGroupOffsetsResponseTopic::default()
                    .with_topic_name(topic.topic_name.clone())
                    .with_topic_id(Uuid::nil()),
                topic
                    .partitions
                    .iter()
                    .map(|&p| (no_state(p), -1))
                    .collect(),
            )),
        }
    }
    let denied = denied.into_iter().map(|topic| {
        (
            DescribeShareGroupOffsetsResponseTopic::default()
                .with_topic_name(topic.topic_name.clone())
                .with_topic_id(Uuid::nil()),
            topic
                .partitions
                .iter()
                .map(|&p| {
                    (
                        no_state(p)
                            .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                            .with_error_message(Some(StrBytes::from_static_str(
                                "Topic authorization failed.",
                            ))),
                        -1,
                    )
                })
                .collect(),
        )
    });
    known.into_iter().chain(unknown).chain(denied).collect()
}

/// A partition without state: start offset -1, leader epoch 0.
fn no_state(partition: i32) -> DescribeShareGroupOffsetsResponsePartition {
    DescribeShareGroupOffsetsResponsePartition::default()
        .with_partition_index(partition)
        .with_start_offset(-1)
        .with_leader_epoch(0)
}

fn described_topic(
    broker: &Broker,
    image: &MetadataImage,
    group_id: &str,
    topic: &TopicImage,
    partitions: &[i32],
) -> TopicAnswer {
    let answers = partitions
        .iter()
        .map(|&partition| {
            if !topic.partitions.contains_key(&partition) {
                // The share coordinator's UNKNOWN_TOPIC_OR_PARTITION, which
                // Kafka reports as no state.
                return (no_state(partition), -1);
            }
            let key = ShareStateKey {
                group_id: group_id.to_string(),
                topic_id: topic.id,
                partition,
            };
            let Some(summary) = broker.shares.offset_summary(&key) else {
                return (no_state(partition), -1);
            };
            let answer = DescribeShareGroupOffsetsResponsePartition::default()
                .with_partition_index(partition)
                .with_start_offset(summary.start_offset)
                .with_leader_epoch(summary.leader_epoch);
            if summary.start_offset < 0 || summary.delivery_complete_count < 0 {
                return (answer, -1);
            }
            match broker.replicas.log(image, topic, partition) {
                Ok(log) => {
                    let lag = log.high_watermark()
                        - summary.start_offset
                        - summary.delivery_complete_count;
                    (answer, lag)
                }
                Err(e) => {
                    warn!(topic = %topic.name, partition, "cannot open log: {e}");
                    (
                        DescribeShareGroupOffsetsResponsePartition::default()
                            .with_partition_index(partition)
                            .with_error_code(ResponseError::KafkaStorageError.code())
                            .with_error_message(Some(StrBytes::from_static_str(
                                "Disk error when trying to access log file on the disk.",
                            ))),
                        -1,
                    )
                }
            }
        })
        .collect();
    (
        DescribeShareGroupOffsetsResponseTopic::default()
            .with_topic_name(TopicName(StrBytes::from_string(topic.name.clone())))
            .with_topic_id(topic.id),
        answers,
    )
}
