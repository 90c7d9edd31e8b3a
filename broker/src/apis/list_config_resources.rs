//! ListConfigResources (key 74; KIP-714's ListClientMetricsResources at
//! v0, KIP-1142's listing of every config resource from v1): the
//! resources DescribeConfigs and the alter APIs can name.
//!
//! As Kafka: DESCRIBE_CONFIGS on the cluster, or
//! CLUSTER_AUTHORIZATION_FAILED. v0 lists client-metrics resources only;
//! v1 the types asked for (every supported one when none is named): all
//! topics, this broker by id (as a BROKER and as a BROKER_LOGGER
//! resource), every group, and the client-metrics resources. A type
//! outside those is UNSUPPORTED_VERSION. This broker has no client-metrics
//! subscriptions (KIP-714 telemetry is not offered), so that type lists
//! nothing.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_config_resources_response::ConfigResource;
use kafka_protocol::messages::{ListConfigResourcesRequest, ListConfigResourcesResponse};
use kafka_protocol::protocol::StrBytes;

/// Config resource types (Kafka's `ConfigResource.Type` ids).
const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const BROKER_LOGGER: i8 = 8;
const CLIENT_METRICS: i8 = 16;
const GROUP: i8 = 32;
const SUPPORTED: [i8; 5] = [TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP];

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ListConfigResourcesRequest,
) -> ListConfigResourcesResponse {
    let auth = AuthHelper::new(broker, ctx);
    if !auth.authorize_cluster(AclOperation::DescribeConfigs) {
        return ListConfigResourcesResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code());
    }
    let types: Vec<i8> = if ctx.api_version == 0 {
        vec![CLIENT_METRICS]
    } else if request.resource_types.is_empty() {
        SUPPORTED.to_vec()
    } else {
        request.resource_types.clone()
    };
    if types.iter().any(|t| !SUPPORTED.contains(t)) {
        return ListConfigResourcesResponse::default()
            .with_error_code(ResponseError::UnsupportedVersion.code());
    }
    let image = broker.metadata.image();
    let node = broker.config.node_id.to_string();
    let mut resources: Vec<(String, i8)> = Vec::new();
    for resource_type in SUPPORTED.iter().filter(|t| types.contains(t)) {
        match *resource_type {
            TOPIC => resources.extend(image.topics().map(|t| (t.name.clone(), TOPIC))),
            BROKER => resources.push((node.clone(), BROKER)),
            BROKER_LOGGER => resources.push((node.clone(), BROKER_LOGGER)),
            GROUP => resources.extend(
                broker
                    .groups
                    .list_groups()
                    .into_iter()
                    .map(|(id, ..)| (id, GROUP)),
            ),
            _ => {}
        }
    }
    resources.sort();
    resources.dedup();
    let config_resources = resources
        .into_iter()
        .map(|(name, resource_type)| {
            let resource =
                ConfigResource::default().with_resource_name(StrBytes::from_string(name));
            if ctx.api_version >= 1 {
                resource.with_resource_type(resource_type)
            } else {
                resource
            }
        })
        .collect();
    ListConfigResourcesResponse::default().with_config_resources(config_resources)
}
