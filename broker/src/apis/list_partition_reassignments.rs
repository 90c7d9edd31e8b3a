//! ListPartitionReassignments (key 46): the partition reassignments in
//! progress. On one node a reassignment is never in progress (the only
//! replica set is this node, and AlterPartitionReassignments keeps it), so
//! the list is empty, for named topics and for all of them alike, as
//! Kafka's controller leaves out partitions with nothing in progress and
//! topics it does not know. Needs DESCRIBE on the cluster
//! (CLUSTER_AUTHORIZATION_FAILED).

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    _request: &ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let auth = AuthHelper::new(broker, ctx);
    if !auth.authorize_cluster(AclOperation::Describe) {
        return ListPartitionReassignmentsResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code());
    }
    ListPartitionReassignmentsResponse::default()
}
