//! DescribeAcls (key 29): the ACLs a filter selects, grouped by resource
//! pattern (Kafka's `AclApis.handleDescribeAcls`).

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{
    AclFilter, AclOperation, AclPermissionType, PatternType, ResourceType, StandardAcl,
};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeAclsRequest,
) -> DescribeAclsResponse {
    let auth = AuthHelper::new(broker, ctx);
    let error = |error: ResponseError, message: &str| {
        DescribeAclsResponse::default()
            .with_error_code(error.code())
            .with_error_message(Some(StrBytes::from_string(message.to_string())))
    };
    if !auth.enabled() {
        return error(
            ResponseError::SecurityDisabled,
            "No Authorizer is configured on the broker",
        );
    }
    if !auth.authorize_cluster(AclOperation::Describe) {
        return error(
            ResponseError::ClusterAuthorizationFailed,
            "Request is not authorized.",
        );
    }
    let filter = AclFilter {
        resource_type: ResourceType::from_code(request.resource_type_filter),
        resource_name: request.resource_name_filter.as_ref().map(|s| s.to_string()),
        pattern_type: PatternType::from_code(request.pattern_type_filter),
        principal: request.principal_filter.as_ref().map(|s| s.to_string()),
        host: request.host_filter.as_ref().map(|s| s.to_string()),
        operation: AclOperation::from_code(request.operation),
        permission_type: AclPermissionType::from_code(request.permission_type),
    };
    if filter.is_unknown() {
        return error(ResponseError::InvalidRequest, "Unknown filter element");
    }
    let image = broker.metadata.image();
    let mut resources: BTreeMap<(i8, String, i8), Vec<&StandardAcl>> = BTreeMap::new();
    for (_, acl) in image.acls().matching(&filter) {
        resources
            .entry((
                acl.resource_type.code(),
                acl.resource_name.clone(),
                acl.pattern_type.code(),
            ))
            .or_default()
            .push(acl);
    }
    DescribeAclsResponse::default().with_resources(
        resources
            .into_iter()
            .map(|((resource_type, name, pattern_type), acls)| {
                DescribeAclsResource::default()
                    .with_resource_type(resource_type)
                    .with_resource_name(StrBytes::from_string(name))
                    .with_pattern_type(pattern_type)
                    .with_acls(
                        acls.into_iter()
                            .map(|acl| {
                                AclDescription::default()
                                    .with_principal(StrBytes::from_string(acl.principal.clone()))
                                    .with_host(StrBytes::from_string(acl.host.clone()))
                                    .with_operation(acl.operation.code())
                                    .with_permission_type(acl.permission_type.code())
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
