//! CreateTopics (key 19): new topics, written to the metadata log. Each
//! topic succeeds or fails on its own.

use super::auth_helper::AuthHelper;
use super::{RequestContext, controller_error};
use crate::authorizer::{AclOperation, CLUSTER_NAME, ResourceType};
use crate::broker::Broker;
use crate::metadata::controller::NewTopic;
use crate::metadata::topic_config::{DynamicBrokerConfigs, resolve_topic_configs};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for topic in &request.topics {
        *counts.entry(topic.name.as_str()).or_default() += 1;
    }
    let auth = AuthHelper::new(broker, ctx);
    // CREATE on the cluster covers every topic; otherwise each topic needs
    // its own (Kafka's ControllerApis.createTopics).
    let cluster_create = auth.check(AclOperation::Create, ResourceType::Cluster, CLUSTER_NAME);
    let mut response = CreateTopicsResponse::default();
    response.topics = request
        .topics
        .iter()
        .map(|topic| {
            let name = topic.name.as_str();
            let failed = |error: ResponseError, message: String| {
                CreatableTopicResult::default()
                    .with_name(topic.name.clone())
                    .with_error_code(error.code())
                    .with_error_message(Some(StrBytes::from_string(message)))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
                    .with_configs(None)
            };
            if counts[name] > 1 {
                return failed(
                    ResponseError::InvalidRequest,
                    format!("Create topics request from client `{}` contains multiple entries for the following topics: {name}", ctx.client_id.as_deref().unwrap_or("")),
                );
            }
            if !cluster_create && !auth.authorize(AclOperation::Create, ResourceType::Topic, name) {
                return failed(
                    ResponseError::TopicAuthorizationFailed,
                    "Authorization failed.".to_string(),
                );
            }
            let new = NewTopic {
                name: name.to_string(),
                num_partitions: topic.num_partitions,
                replication_factor: topic.replication_factor,
                assignments: topic
                    .assignments
                    .iter()
                    .map(|a| (a.partition_index, a.broker_ids.iter().map(|b| b.0).collect()))
                    .collect(),
                configs: topic
                    .configs
                    .iter()
                    .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
                    .collect(),
            };
            match broker.create_topic(&new, request.validate_only) {
                Ok(created)
                    if !auth.check(AclOperation::DescribeConfigs, ResourceType::Topic, name) =>
                {
                    // Created, but its configs are not shown to one who may
                    // not describe them.
                    CreatableTopicResult::default()
                        .with_name(topic.name.clone())
                        .with_topic_id(if request.validate_only { uuid::Uuid::nil() } else { created.topic_id })
                        .with_num_partitions(created.num_partitions)
                        .with_replication_factor(created.replication_factor)
                        .with_topic_config_error_code(ResponseError::TopicAuthorizationFailed.code())
                        .with_configs(Some(Vec::new()))
                }
                Ok(created) => {
                    let overrides: BTreeMap<String, String> = created.configs.clone();
                    let image = broker.metadata.image();
                    let dynamic = DynamicBrokerConfigs::of(&image, broker.config.node_id);
                    let configs = resolve_topic_configs(&broker.config, dynamic, Some(&overrides))
                        .into_iter()
                        .map(|c| {
                            CreatableTopicConfigs::default()
                                .with_name(StrBytes::from_static_str(c.def.name))
                                .with_value(Some(StrBytes::from_string(c.value)))
                                .with_config_source(c.source as i8)
                        })
                        .collect();
                    CreatableTopicResult::default()
                        .with_name(topic.name.clone())
                        .with_topic_id(if request.validate_only { uuid::Uuid::nil() } else { created.topic_id })
                        .with_num_partitions(created.num_partitions)
                        .with_replication_factor(created.replication_factor)
                        .with_configs(Some(configs))
                }
                Err(e) => {
                    let (error, message) = controller_error(&e);
                    failed(error, message)
                }
            }
        })
        .collect();
    response
}
