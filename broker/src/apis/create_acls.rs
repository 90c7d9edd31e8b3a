//! CreateAcls (key 30): adds ACLs, each an `AccessControlEntryRecord` in the
//! metadata log (Kafka's `AclApis.handleCreateAcls` and
//! `AclControlManager.createAcls`). An ACL equal to one that exists is
//! accepted and not added twice.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{
    AclOperation, AclPermissionType, CLUSTER_NAME, PatternType, ResourceType, StandardAcl,
};
use crate::broker::Broker;
use crate::metadata::records::{AccessControlEntryRecord, MetadataRecord};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &CreateAclsRequest,
) -> CreateAclsResponse {
    let auth = AuthHelper::new(broker, ctx);
    let fail_all = |error: ResponseError, message: &str| {
        CreateAclsResponse::default().with_results(
            request
                .creations
                .iter()
                .map(|_| failure(error, message))
                .collect(),
        )
    };
    if let Err((error, message)) = auth.may_change_acls() {
        return fail_all(error, message);
    }
    let checked: Vec<Result<StandardAcl, String>> =
        request.creations.iter().map(validate).collect();
    let answer = broker
        .controller
        .plan_and_commit(&broker.metadata, |image| {
            let mut records = Vec::new();
            let mut added: Vec<StandardAcl> = Vec::new();
            let results: Vec<AclCreationResult> = checked
                .iter()
                .map(|acl| match acl {
                    Err(message) => failure(ResponseError::InvalidRequest, message),
                    Ok(acl) => {
                        if image.acls().find(acl).is_none() && !added.contains(acl) {
                            added.push(acl.clone());
                            records.push(MetadataRecord::AccessControlEntry(
                                AccessControlEntryRecord {
                                    id: Uuid::new_v4(),
                                    resource_type: acl.resource_type.code(),
                                    resource_name: acl.resource_name.clone(),
                                    pattern_type: acl.pattern_type.code(),
                                    principal: acl.principal.clone(),
                                    host: acl.host.clone(),
                                    operation: acl.operation.code(),
                                    permission_type: acl.permission_type.code(),
                                },
                            ));
                        }
                        AclCreationResult::default()
                    }
                })
                .collect();
            (records, results)
        });
    match answer {
        Ok(results) => {
            if !results.is_empty() {
                tracing::info!(principal = %ctx.principal, count = results.len(), "created ACLs");
            }
            CreateAclsResponse::default().with_results(results)
        }
        Err(e) => {
            let (error, message) = super::controller_error(&e);
            fail_all(error, &message)
        }
    }
}

fn failure(error: ResponseError, message: &str) -> AclCreationResult {
    AclCreationResult::default()
        .with_error_code(error.code())
        .with_error_message(Some(StrBytes::from_string(message.to_string())))
}

/// Kafka's checks of a new ACL (`AclApis` and `AclControlManager.validateNewAcl`),
/// and that its principal has a type.
fn validate(creation: &AclCreation) -> Result<StandardAcl, String> {
    let acl = StandardAcl {
        resource_type: ResourceType::from_code(creation.resource_type),
        resource_name: creation.resource_name.to_string(),
        pattern_type: PatternType::from_code(creation.resource_pattern_type),
        principal: creation.principal.to_string(),
        host: creation.host.to_string(),
        operation: AclOperation::from_code(creation.operation),
        permission_type: AclPermissionType::from_code(creation.permission_type),
    };
    if acl.resource_type == ResourceType::Cluster && acl.resource_name != CLUSTER_NAME {
        return Err(format!(
            "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
        ));
    }
    if acl.resource_name.is_empty() {
        return Err("Invalid empty resource name".to_string());
    }
    if matches!(acl.resource_type, ResourceType::Unknown | ResourceType::Any) {
        return Err(format!("Invalid resourceType {}", acl.resource_type));
    }
    if !matches!(
        acl.pattern_type,
        PatternType::Literal | PatternType::Prefixed
    ) {
        return Err(format!("Invalid patternType {}", acl.pattern_type));
    }
    if matches!(acl.operation, AclOperation::Unknown | AclOperation::Any) {
        return Err(format!("Invalid operation {}", acl.operation));
    }
    if !matches!(
        acl.permission_type,
        AclPermissionType::Allow | AclPermissionType::Deny
    ) {
        return Err(format!("Invalid permissionType {}", acl.permission_type));
    }
    match acl.principal.split_once(':') {
        Some((kind, _)) if !kind.is_empty() => {}
        _ => {
            return Err(format!(
                "Could not parse principal from `{}` (no colon is present separating the principal type from the principal name)",
                acl.principal
            ));
        }
    }
    Ok(acl)
}
