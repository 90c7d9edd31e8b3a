//! IncrementalAlterConfigs (key 44): SET, DELETE, APPEND and SUBTRACT
//! operations on a resource's configuration, each resource answered on its
//! own; a topic's new settings apply to its live logs at once.

use super::auth_helper::AuthHelper;
use super::{RequestContext, controller_error, repeated};
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use crate::metadata::controller::ConfigChange;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;

/// Kafka's `AlterConfigOp.OpType` ids.
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
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
            let altered = || -> Result<(), (ResponseError, String)> {
                auth.authorize_configs(AclOperation::AlterConfigs, resource.resource_type, name)
                    .map_err(|error| (error, "Authorization failed.".to_string()))?;
                if duplicates.contains(&(resource.resource_type, name)) {
                    return Err((ResponseError::InvalidRequest, "Duplicate resource.".into()));
                }
                let changes = resource
                    .configs
                    .iter()
                    .map(|c| {
                        let value = c.value.as_ref().map(|v| v.to_string());
                        let change = match c.config_operation {
                            SET => ConfigChange::Set(value),
                            DELETE => ConfigChange::Delete,
                            APPEND => ConfigChange::Append(value),
                            SUBTRACT => ConfigChange::Subtract(value),
                            other => {
                                return Err((
                                    ResponseError::InvalidRequest,
                                    format!("Unknown alter config operation type {other}"),
                                ));
                            }
                        };
                        Ok((c.name.to_string(), change))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                broker
                    .alter_configs(
                        resource.resource_type,
                        name,
                        &changes,
                        false,
                        request.validate_only,
                    )
                    .map_err(|e| controller_error(&e))
            };
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            match altered() {
                Ok(()) => response,
                Err((error, message)) => response
                    .with_error_code(error.code())
                    .with_error_message(Some(StrBytes::from_string(message))),
            }
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}
