//! DescribeGroups (key 15): state, protocol and members of groups.
//!
//! As in Kafka's KafkaApis, a group needs DESCRIBE: the others are answered
//! first, with GROUP_AUTHORIZATION_FAILED and nothing else. The authorized
//! operations (v3+, when asked for) are the request's on each group.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, GroupId};
use kafka_protocol::protocol::StrBytes;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let with_instance_ids = ctx.api_version >= 4;
    let with_operations = ctx.api_version >= 3 && request.include_authorized_operations;
    let auth = AuthHelper::new(broker, ctx);
    let (authorized, unauthorized): (Vec<&GroupId>, Vec<&GroupId>) = request
        .groups
        .iter()
        .partition(|id| auth.authorize(AclOperation::Describe, ResourceType::Group, id));
    let denied = unauthorized.into_iter().map(|id| {
        // Kafka's `DescribeGroupsResponse.groupError`.
        DescribedGroup::default()
            .with_group_id(id.clone())
            .with_error_code(ResponseError::GroupAuthorizationFailed.code())
            .with_authorized_operations(i32::MIN)
    });
    DescribeGroupsResponse::default().with_groups(
        denied
            .chain(authorized.into_iter().map(|id| {
                let group = broker.groups.describe_group(id);
                DescribedGroup::default()
                    .with_group_id(id.clone())
                    .with_group_state(StrBytes::from_string(group.state))
                    .with_protocol_type(StrBytes::from_string(group.protocol_type))
                    .with_protocol_data(StrBytes::from_string(group.protocol))
                    .with_members(
                        group
                            .members
                            .into_iter()
                            .map(
                                |(
                                    member_id,
                                    instance_id,
                                    client_id,
                                    client_host,
                                    metadata,
                                    assignment,
                                )| {
                                    DescribedGroupMember::default()
                                        .with_member_id(StrBytes::from_string(member_id))
                                        .with_group_instance_id(
                                            instance_id
                                                .filter(|_| with_instance_ids)
                                                .map(StrBytes::from_string),
                                        )
                                        .with_client_id(StrBytes::from_string(client_id))
                                        .with_client_host(StrBytes::from_string(client_host))
                                        .with_member_metadata(metadata)
                                        .with_member_assignment(assignment)
                                },
                            )
                            .collect(),
                    )
                    .with_authorized_operations(if with_operations {
                        auth.authorized_operations(ResourceType::Group, id)
                    } else {
                        i32::MIN
                    })
            }))
            .collect(),
    )
}
