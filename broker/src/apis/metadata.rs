//! Metadata (key 3): this broker, the cluster id, and topics with their
//! partitions. Unknown topics are created when the request and
//! `auto.create.topics.enable` allow it.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, CLUSTER_NAME, ResourceType};
use crate::broker::Broker;
use crate::coordinator::OFFSETS_TOPIC;
use crate::coordinator::transaction_coordinator::TRANSACTION_STATE_TOPIC;
use crate::internal_topics::InternalTopic;
use crate::metadata::controller::{ControllerError, NewTopic};
use crate::metadata::{MetadataImage, TopicImage, is_internal_topic, validate_topic_name};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use tracing::warn;
use uuid::Uuid;

/// "Not requested" for authorized-operations fields.
pub const OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &MetadataRequest,
) -> MetadataResponse {
    // Before v1 an empty list means all topics; since, a null list does.
    let all_topics = match &request.topics {
        None => true,
        Some(topics) => topics.is_empty() && ctx.api_version == 0,
    };
    let allow_auto_create = (ctx.api_version < 4 || request.allow_auto_topic_creation)
        && broker.config.auto_create_topics_enable;
    let auth = AuthHelper::new(broker, ctx);
    let may_describe = |name: &str, log: bool| {
        if log {
            auth.authorize(AclOperation::Describe, ResourceType::Topic, name)
        } else {
            auth.check(AclOperation::Describe, ResourceType::Topic, name)
        }
    };
    let unauthorized = |name: Option<&str>, id: Uuid| {
        error_topic(ResponseError::TopicAuthorizationFailed, name, id)
    };

    let mut image = broker.metadata.image();
    let mut topics = Vec::new();
    // Topics one may not describe are left out of a listing and answer
    // TOPIC_AUTHORIZATION_FAILED when named (without saying whether they
    // exist); those answers get no authorized operations.
    let mut denied = Vec::new();
    if all_topics {
        topics.extend(
            image
                .topics()
                .filter(|t| may_describe(&t.name, false))
                .map(|t| describe_topic(broker, t)),
        );
    } else {
        for requested in request.topics.iter().flatten() {
            let name = requested.name.as_ref().map(|n| n.as_str());
            let topic = match (name, requested.topic_id) {
                (Some(name), id) if id.is_nil() => {
                    if !may_describe(name, true) {
                        denied.push(unauthorized(Some(name), Uuid::nil()));
                        continue;
                    }
                    if image.topic(name).is_none()
                        && allow_auto_create
                        && validate_topic_name(name).is_ok()
                    {
                        // Creating needs CREATE on the cluster or the topic.
                        if !auth.check(AclOperation::Create, ResourceType::Cluster, CLUSTER_NAME)
                            && !auth.authorize(AclOperation::Create, ResourceType::Topic, name)
                        {
                            denied.push(unauthorized(Some(name), Uuid::nil()));
                            continue;
                        }
                        auto_create(broker, name);
                        image = broker.metadata.image();
                    }
                    lookup_by_name(broker, &image, name)
                }
                (None, id) if !id.is_nil() => match image.topic_by_id(&id) {
                    // Topic ids are not secret: the id is answered with
                    // the error.
                    Some(topic) if !may_describe(&topic.name, true) => {
                        denied.push(unauthorized(None, id));
                        continue;
                    }
                    Some(topic) => describe_topic(broker, topic),
                    None => error_topic(ResponseError::UnknownTopicId, None, id),
                },
                _ => error_topic(ResponseError::InvalidRequest, name, requested.topic_id),
            };
            topics.push(topic);
        }
    }
    for topic in &mut topics {
        topic.topic_authorized_operations = match &topic.name {
            Some(name) if request.include_topic_authorized_operations => {
                auth.authorized_operations(ResourceType::Topic, name)
            }
            _ => OPERATIONS_NOT_REQUESTED,
        };
    }
    for topic in &mut denied {
        topic.topic_authorized_operations = OPERATIONS_NOT_REQUESTED;
    }
    topics.extend(denied);

    let mut response = MetadataResponse::default();
    response.brokers = vec![
        MetadataResponseBroker::default()
            .with_node_id(BrokerId(broker.config.node_id))
            .with_host(StrBytes::from_string(ctx.listener.advertised_host.clone()))
            .with_port(i32::from(ctx.listener.advertised_port)),
    ];
    response.cluster_id = Some(StrBytes::from_string(broker.meta.cluster_id.clone()));
    response.controller_id = BrokerId(broker.config.node_id);
    response.topics = topics;
    response.cluster_authorized_operations = if !request.include_cluster_authorized_operations {
        OPERATIONS_NOT_REQUESTED
    } else if auth.authorize_cluster(AclOperation::Describe) {
        auth.authorized_operations(ResourceType::Cluster, CLUSTER_NAME)
    } else {
        0
    };
    response
}

/// Creates `name` with the broker's defaults; another request creating it
/// at the same time is fine.
fn auto_create(broker: &Broker, name: &str) {
    if name == OFFSETS_TOPIC {
        // Created with the settings the group coordinator gives it.
        let _ = broker.offsets_topic().partitions();
        return;
    }
    if name == TRANSACTION_STATE_TOPIC {
        // Likewise for the transaction coordinator's.
        let _ = broker.transaction_state_topic().partitions();
        return;
    }
    let topic = NewTopic {
        name: name.to_string(),
        num_partitions: -1,
        replication_factor: -1,
        ..Default::default()
    };
    match broker.create_topic(&topic, false) {
        Ok(_) | Err(ControllerError::TopicAlreadyExists(_)) => {}
        Err(e) => warn!(topic = name, "auto-creating the topic failed: {e}"),
    }
}

fn lookup_by_name(broker: &Broker, image: &MetadataImage, name: &str) -> MetadataResponseTopic {
    match image.topic(name) {
        Some(topic) => describe_topic(broker, topic),
        None => {
            let error = match validate_topic_name(name) {
                Ok(()) => ResponseError::UnknownTopicOrPartition,
                Err(_) => ResponseError::InvalidTopicException,
            };
            error_topic(error, Some(name), Uuid::nil())
        }
    }
}

fn error_topic(error: ResponseError, name: Option<&str>, topic_id: Uuid) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(error.code())
        .with_name(name.map(|n| TopicName(StrBytes::from_string(n.to_string()))))
        .with_topic_id(topic_id)
        .with_is_internal(name.is_some_and(is_internal_topic))
}

pub fn describe_topic(broker: &Broker, topic: &TopicImage) -> MetadataResponseTopic {
    let node_id = broker.config.node_id;
    // Kafka's getOfflineReplicas: a replica on a broker that is gone, or
    // in a directory of its broker that failed.
    let offline_dirs = broker.replicas.logs().offline_dir_ids();
    let partitions = topic
        .partitions
        .iter()
        .map(|(&index, partition)| {
            let leader_alive = partition.leader == node_id;
            MetadataResponsePartition::default()
                .with_error_code(if leader_alive {
                    0
                } else {
                    ResponseError::LeaderNotAvailable.code()
                })
                .with_partition_index(index)
                .with_leader_id(BrokerId(if leader_alive { node_id } else { -1 }))
                .with_leader_epoch(partition.leader_epoch)
                .with_replica_nodes(partition.replicas.iter().map(|&id| BrokerId(id)).collect())
                .with_isr_nodes(partition.isr.iter().map(|&id| BrokerId(id)).collect())
                .with_offline_replicas(
                    partition
                        .replicas
                        .iter()
                        .enumerate()
                        .filter(|&(i, &id)| {
                            id != node_id
                                || partition
                                    .directories
                                    .get(i)
                                    .is_some_and(|d| offline_dirs.contains(d))
                        })
                        .map(|(_, &id)| BrokerId(id))
                        .collect(),
                )
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(topic.name.clone()))))
        .with_topic_id(topic.id)
        .with_is_internal(is_internal_topic(&topic.name))
        .with_partitions(partitions)
}
