//! DeleteGroups (key 42): empty groups and their committed offsets, and
//! empty share groups and their share-partition state.
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
            .with_error_code(delete(broker, id))
    });
    let denied = unauthorized.into_iter().map(|id| {
        DeletableGroupResult::default()
            .with_group_id(id.clone())
            .with_error_code(ResponseError::GroupAuthorizationFailed.code())
    });
    DeleteGroupsResponse::default().with_results(deleted.chain(denied).collect())
}

/// Deletes a group: a share group first (as Kafka's GroupCoordinatorService
/// tries share groups before the others), with its share-partition state
/// tombstoned; otherwise a classic or consumer group.
fn delete(broker: &Broker, group_id: &str) -> i16 {
    match broker.groups.delete_share_group(group_id) {
        None => broker
            .groups
            .delete_group(&broker.offsets_topic(), group_id),
        Some(Err(error)) => error.code(),
        Some(Ok(())) => match broker
            .shares
            .delete_group(&broker.share_state_topic(), group_id)
        {
            Ok(()) => 0,
            Err(error) => {
                // Its state is still there: the group stays, to be deleted
                // again.
                broker
                    .groups
                    .restore_share_groups(std::iter::once(group_id.to_string()));
                error.code()
            }
        },
    }
}
