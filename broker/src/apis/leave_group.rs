//! LeaveGroup (key 13): members leave; the group rebalances without them.
//! One member before v3, a batch from v3 on. Leaving needs READ on the
//! group; without it the whole request fails (no member results).

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &LeaveGroupRequest,
) -> LeaveGroupResponse {
    if !AuthHelper::new(broker, ctx).authorize(
        AclOperation::Read,
        ResourceType::Group,
        &request.group_id,
    ) {
        return LeaveGroupResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    if ctx.api_version < 3 {
        let errors = broker.groups.leave_group(
            &broker.offsets_topic(),
            &request.group_id,
            &[(request.member_id.to_string(), None)],
        );
        return LeaveGroupResponse::default().with_error_code(errors.first().copied().unwrap_or(0));
    }
    let members: Vec<(String, Option<String>)> = request
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                m.group_instance_id.as_ref().map(|i| i.to_string()),
            )
        })
        .collect();
    let errors = broker
        .groups
        .leave_group(&broker.offsets_topic(), &request.group_id, &members);
    LeaveGroupResponse::default().with_members(
        request
            .members
            .iter()
            .zip(errors)
            .map(|(m, error)| {
                MemberResponse::default()
                    .with_member_id(m.member_id.clone())
                    .with_group_instance_id(m.group_instance_id.clone())
                    .with_error_code(error)
            })
            .collect(),
    )
}
