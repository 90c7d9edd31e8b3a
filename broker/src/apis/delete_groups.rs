//! DeleteGroups (key 42): empty groups and their committed offsets.
//! Deleting needs DELETE on the group; as in Kafka each group is answered
//! once, the unauthorized ones (GROUP_AUTHORIZATION_FAILED) last.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse, GroupId};
use std::collections::HashSet;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let auth = AuthHelper::new(broker, ctx);
    let mut seen = HashSet::new();
    let (authorized, unauthorized): (Vec<&GroupId>, Vec<&GroupId>) = request
        .groups_names
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .partition(|id| auth.authorize(AclOperation::Delete, ResourceType::Group, id));
    let deleted = authorized.into_iter().map(|id| {
        DeletableGroupResult::default()
            .with_group_id(id.clone())
            .with_error_code(broker.groups.delete_group(&broker.offsets_topic(), id))
    });
    let denied = unauthorized.into_iter().map(|id| {
        DeletableGroupResult::default()
            .with_group_id(id.clone())
            .with_error_code(ResponseError::GroupAuthorizationFailed.code())
    });
    DeleteGroupsResponse::default().with_results(deleted.chain(denied).collect())
}
