//! AlterConfigs (key 33), the legacy whole-resource form: the keys given
//! become the resource's overrides and every other override is dropped.
//! A topic's new settings apply to its live logs at once.

use super::auth_helper::AuthHelper;
use super::{RequestContext, controller_error, repeated};
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use crate::metadata::controller::ConfigChange;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &AlterConfigsRequest,
) -> AlterConfigsResponse {
    let auth = AuthHelper::new(broker, ctx);
    let duplicates = repeated(
        request
            .resources
            .iter()
            .map(|r| (r.resource_type, r.resource_name.as_str())),
    );
    let responses = request
        .resources
        .iter()
        .map(|resource| {
            let name = resource.resource_name.as_str();
            let authorized =
                auth.authorize_configs(AclOperation::AlterConfigs, resource.resource_type, name);
            let result = if let Err(error) = authorized {
                Err((error, "Authorization failed.".to_string()))
            } else if duplicates.contains(&(resource.resource_type, name)) {
                Err((
                    ResponseError::InvalidRequest,
                    "Duplicate resource.".to_string(),
                ))
            } else {
                let changes: Vec<(String, ConfigChange)> = resource
                    .configs
                    .iter()
                    .map(|c| {
                        let value = c.value.as_ref().map(|v| v.to_string());
                        (c.name.to_string(), ConfigChange::Set(value))
                    })
                    .collect();
                broker
                    .alter_configs(
                        resource.resource_type,
                        name,
                        &changes,
                        true,
                        request.validate_only,
                    )
                    .map_err(|e| controller_error(&e))
            };
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            match result {
                Ok(()) => response,
                Err((error, message)) => response
                    .with_error_code(error.code())
                    .with_error_message(Some(StrBytes::from_string(message))),
            }
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}
