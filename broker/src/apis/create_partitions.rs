//! CreatePartitions (key 37): more partitions for existing topics.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use super::controller_error;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;
use std::collections::HashMap;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let auth = AuthHelper::new(broker, ctx);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for topic in &request.topics {
        *counts.entry(topic.name.as_str()).or_default() += 1;
    }
    let mut response = CreatePartitionsResponse::default();
    response.results = request
        .topics
        .iter()
        .map(|topic| {
            let result = CreatePartitionsTopicResult::default().with_name(topic.name.clone());
            if counts[topic.name.as_str()] > 1 {
                return result
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(StrBytes::from_static_str(
                        "Duplicate topic in request.",
                    )));
            }
            if !auth.authorize(AclOperation::Alter, ResourceType::Topic, &topic.name) {
                return result
                    .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                    .with_error_message(Some(StrBytes::from_static_str("Authorization failed.")));
            }
            let assignments: Option<Vec<Vec<i32>>> = topic.assignments.as_ref().map(|a| {
                a.iter()
                    .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
                    .collect()
            });
            match broker.create_partitions(
                &topic.name,
                topic.count,
                assignments.as_deref(),
                request.validate_only,
            ) {
                Ok(_) => result,
                Err(e) => {
                    let (error, message) = controller_error(&e);
                    result
                        .with_error_code(error.code())
                        .with_error_message(Some(StrBytes::from_string(message)))
                }
            }
        })
        .collect();
    response
}
