//! JoinGroup (key 11): a member joins (or rejoins) a group; the response
//! waits until the group's rebalance completes. The member needs READ on
//! the group.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::JoinRequest;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: JoinGroupRequest,
) -> JoinGroupResponse {
    if !AuthHelper::new(broker, ctx).authorize(
        AclOperation::Read,
        ResourceType::Group,
        &request.group_id,
    ) {
        // Kafka's `JoinGroupRequest.getErrorResponse`: no generation, leader
        // or member id; no protocol name (an empty one before v7).
        return JoinGroupResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code())
            .with_generation_id(-1)
            .with_protocol_name((ctx.api_version < 7).then(StrBytes::default));
    }
    let join = JoinRequest {
        group_id: request.group_id.to_string(),
        member_id: request.member_id.to_string(),
        instance_id: request.group_instance_id.as_ref().map(|i| i.to_string()),
        client_id: ctx.client_id.clone().unwrap_or_default(),
        client_host: format!("/{}", ctx.peer.ip()),
        session_timeout_ms: request.session_timeout_ms,
        // Before v1 the rebalance timeout is the session timeout.
        rebalance_timeout_ms: if ctx.api_version >= 1 {
            request.rebalance_timeout_ms
        } else {
            request.session_timeout_ms
        },
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        require_known_member_id: ctx.api_version >= 4,
    };
    let result = broker
        .groups
        .join_group(&broker.offsets_topic(), join)
        .await;
    let with_instance_ids = ctx.api_version >= 5;
    let mut response = JoinGroupResponse::default()
        .with_error_code(result.error)
        .with_generation_id(result.generation)
        .with_protocol_name(result.protocol_name.map(StrBytes::from_string))
        .with_leader(StrBytes::from_string(result.leader))
        .with_member_id(StrBytes::from_string(result.member_id))
        .with_members(
            result
                .members
                .into_iter()
                .map(|(id, instance, metadata)| {
                    JoinGroupResponseMember::default()
                        .with_member_id(StrBytes::from_string(id))
                        .with_group_instance_id(
                            instance
                                .filter(|_| with_instance_ids)
                                .map(StrBytes::from_string),
                        )
                        .with_metadata(metadata)
                })
                .collect(),
        );
    if ctx.api_version >= 7 {
        response.protocol_type = result.protocol_type.map(StrBytes::from_string);
    }
    if ctx.api_version < 7 && response.protocol_name.is_none() {
        // Before v7 the protocol name is not nullable.
        response.protocol_name = Some(StrBytes::default());
    }
    response
}
