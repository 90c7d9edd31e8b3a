//! Heartbeat (key 12): a member is alive; the answer tells it whether to rejoin.
//! The member needs READ on the group.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &HeartbeatRequest,
) -> HeartbeatResponse {
    if !AuthHelper::new(broker, ctx).authorize(
        AclOperation::Read,
        ResourceType::Group,
        &request.group_id,
    ) {
        return HeartbeatResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let error = broker.groups.heartbeat(
        &request.group_id,
        request.generation_id,
        &request.member_id,
        request.group_instance_id.as_deref(),
    );
    HeartbeatResponse::default().with_error_code(error)
}
