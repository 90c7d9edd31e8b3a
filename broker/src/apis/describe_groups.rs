//! DescribeGroups (key 15): state, protocol and members of groups.

use super::RequestContext;
use crate::broker::Broker;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;

/// Operations allowed on a group without an authorizer: READ, DELETE, DESCRIBE.
const GROUP_AUTHORIZED_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let with_instance_ids = ctx.api_version >= 4;
    DescribeGroupsResponse::default().with_groups(
        request
            .groups
            .iter()
            .map(|id| {
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
                    .with_authorized_operations(if request.include_authorized_operations {
                        GROUP_AUTHORIZED_OPERATIONS
                    } else {
                        i32::MIN
                    })
            })
            .collect(),
    )
}
