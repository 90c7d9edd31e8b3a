//! SyncGroup (key 14): the leader hands out assignments; every member gets
//! its own once the leader's arrives. The member needs READ on the group.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::SyncRequest;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: SyncGroupRequest,
) -> SyncGroupResponse {
    // From v5 on the protocol type and name are mandatory; Kafka checks
    // them before the ACLs.
    if ctx.api_version >= 5 && (request.protocol_type.is_none() || request.protocol_name.is_none())
    {
        return SyncGroupResponse::default()
            .with_error_code(ResponseError::InconsistentGroupProtocol.code());
    }
    if !AuthHelper::new(broker, ctx).authorize(
        AclOperation::Read,
        ResourceType::Group,
        &request.group_id,
    ) {
        return SyncGroupResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let sync = SyncRequest {
        group_id: request.group_id.to_string(),
        generation: request.generation_id,
        member_id: request.member_id.to_string(),
        instance_id: request.group_instance_id.as_ref().map(|i| i.to_string()),
        protocol_type: request.protocol_type.as_ref().map(|t| t.to_string()),
        protocol_name: request.protocol_name.as_ref().map(|n| n.to_string()),
        assignments: request
            .assignments
            .iter()
            .map(|a| (a.member_id.to_string(), a.assignment.clone()))
            .collect(),
    };
    let result = broker
        .groups
        .sync_group(&broker.offsets_topic(), sync)
        .await;
    let mut response = SyncGroupResponse::default()
        .with_error_code(result.error)
        .with_assignment(result.assignment);
    if ctx.api_version >= 5 {
        response.protocol_type = result.protocol_type.map(StrBytes::from_string);
        response.protocol_name = result.protocol_name.map(StrBytes::from_string);
    }
    response
}
