//! DeleteTopics (key 20): topics removed from the metadata log, with their
//! logs. By name before v6, by name or id from v6 on.

use super::auth_helper::AuthHelper;
use super::{RequestContext, controller_error};
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let targets: Vec<(Option<TopicName>, Uuid)> = if ctx.api_version >= 6 {
        request
            .topics
            .iter()
            .map(|t| (t.name.clone(), t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .iter()
            .map(|n| (Some(n.clone()), Uuid::nil()))
            .collect()
    };
    let auth = AuthHelper::new(broker, ctx);
    let mut response = DeleteTopicsResponse::default();
    response.responses = targets
        .into_iter()
        .map(|(name, topic_id)| {
            let result = DeletableTopicResult::default()
                .with_name(name.clone())
                .with_topic_id(topic_id);
            let fail = |error: ResponseError, message: String| {
                let error = if error == ResponseError::TopicDeletionDisabled && ctx.api_version < 3
                {
                    ResponseError::InvalidRequest
                } else {
                    error
                };
                result
                    .clone()
                    .with_error_code(error.code())
                    .with_error_message(Some(StrBytes::from_string(message)))
            };
            let image = broker.metadata.image();
            // A topic one may not describe answers as one may not delete
            // (before saying whether it exists, for a name).
            if let Some(name) = &name
                && topic_id.is_nil()
                && !auth.authorize(AclOperation::Describe, ResourceType::Topic, name)
            {
                return fail(
                    ResponseError::TopicAuthorizationFailed,
                    "Authorization failed.".into(),
                );
            }
            let id = match (&name, topic_id.is_nil()) {
                (Some(name), true) => match image.topic(name) {
                    Some(topic) => topic.id,
                    None => {
                        return fail(
                            ResponseError::UnknownTopicOrPartition,
                            "This server does not host this topic-partition.".into(),
                        );
                    }
                },
                (None, false) => topic_id,
                _ => {
                    return fail(
                        ResponseError::InvalidRequest,
                        "Exactly one of the topic name and the topic id must be set.".into(),
                    );
                }
            };
            if let Some(topic) = image.topic_by_id(&id)
                && (!auth.authorize(AclOperation::Describe, ResourceType::Topic, &topic.name)
                    || !auth.authorize(AclOperation::Delete, ResourceType::Topic, &topic.name))
            {
                return fail(
                    ResponseError::TopicAuthorizationFailed,
                    "Authorization failed.".into(),
                );
            }
            match broker.delete_topic(id) {
                Ok(deleted) => result
                    .with_name(Some(TopicName(StrBytes::from_string(deleted))))
                    .with_topic_id(id),
                Err(e) => {
                    let (error, message) = controller_error(&e);
                    fail(error, message)
                }
            }
        })
        .collect();
    response
}
