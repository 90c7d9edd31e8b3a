//! ListGroups (key 16): every group, optionally filtered by state (v4+)
//! and type (v5+): classic groups, KIP-848 consumer groups and share
//! groups (KIP-932: protocol type and group type "share"). As in Kafka,
//! DESCRIBE on the cluster lists every group; otherwise only the groups
//! the request may DESCRIBE are listed, with no error.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, CLUSTER_NAME, ResourceType};
use crate::broker::Broker;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ListGroupsRequest,
) -> ListGroupsResponse {
    let auth = AuthHelper::new(broker, ctx);
    // Neither check is logged when denied (Kafka's `logIfDenied = false`).
    let all_groups = auth.check(AclOperation::Describe, ResourceType::Cluster, CLUSTER_NAME);
    let states: Vec<String> = request
        .states_filter
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let types: Vec<String> = request
        .types_filter
        .iter()
        .map(|t| t.to_ascii_lowercase())
        .collect();
    ListGroupsResponse::default().with_groups(
        broker
            .groups
            .list_groups()
            .into_iter()
            .chain(share_groups(broker))
            .filter(|(_, _, state, _)| {
                states.is_empty() || states.contains(&state.to_ascii_lowercase())
            })
            .filter(|(_, _, _, group_type)| {
                types.is_empty() || types.iter().any(|t| t == group_type)
            })
            .filter(|(id, _, _, _)| {
                all_groups || auth.check(AclOperation::Describe, ResourceType::Group, id)
            })
            .map(|(id, protocol_type, state, group_type)| {
                let mut listed = ListedGroup::default()
                    .with_group_id(GroupId(StrBytes::from_string(id)))
                    .with_protocol_type(StrBytes::from_string(protocol_type));
                if ctx.api_version >= 4 {
                    listed.group_state = StrBytes::from_static_str(state);
                }
                if ctx.api_version >= 5 {
                    listed.group_type = StrBytes::from_static_str(group_type);
                }
                listed
            })
            .collect(),
    )
}

/// The share groups as ListGroups lists them (Kafka's `ShareGroup.
/// asListedGroup`): protocol type and group type "share".
fn share_groups(broker: &Broker) -> Vec<(String, String, &'static str, &'static str)> {
    broker
        .groups
        .list_share_groups()
        .into_iter()
        .map(|(id, state)| (id, SHARE.to_string(), state, SHARE))
        .collect()
}

/// Kafka's `ShareGroup.PROTOCOL_TYPE` and `GroupType.SHARE`.
const SHARE: &str = "share";
