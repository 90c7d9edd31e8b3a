//! DeleteGroups (key 42): empty groups and their committed offsets.

use crate::broker::Broker;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

pub fn handle(broker: &Broker, request: &DeleteGroupsRequest) -> DeleteGroupsResponse {
    DeleteGroupsResponse::default().with_results(
        request
            .groups_names
            .iter()
            .map(|id| {
                DeletableGroupResult::default()
                    .with_group_id(id.clone())
                    .with_error_code(broker.groups.delete_group(&broker.offsets_topic(), id))
            })
            .collect(),
    )
}
