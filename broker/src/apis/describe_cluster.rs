//! DescribeCluster (key 60): this node, as the cluster's only broker.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, CLUSTER_NAME, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

/// DescribeCluster `endpoint_type` values.
const BROKERS: i8 = 1;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeClusterRequest,
) -> DescribeClusterResponse {
    let mut response = DescribeClusterResponse::default().with_endpoint_type(request.endpoint_type);
    if request.endpoint_type != BROKERS {
        return response
            .with_error_code(ResponseError::UnsupportedEndpointType.code())
            .with_error_message(Some(StrBytes::from_static_str(
                "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
            )));
    }
    response.cluster_id = StrBytes::from_string(broker.meta.cluster_id.clone());
    response.controller_id = BrokerId(broker.config.node_id);
    response.brokers = vec![
        DescribeClusterBroker::default()
            .with_broker_id(BrokerId(broker.config.node_id))
            .with_host(StrBytes::from_string(ctx.listener.advertised_host.clone()))
            .with_port(i32::from(ctx.listener.advertised_port)),
    ];
    let auth = AuthHelper::new(broker, ctx);
    response.cluster_authorized_operations = if !request.include_cluster_authorized_operations {
        i32::MIN
    } else if auth.authorize_cluster(AclOperation::Describe) {
        auth.authorized_operations(ResourceType::Cluster, CLUSTER_NAME)
    } else {
        0
    };
    response
}
