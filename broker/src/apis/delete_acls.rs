//! DeleteAcls (key 31): removes the ACLs each filter selects, writing a
//! `RemoveAccessControlEntryRecord` for each (Kafka's
//! `AclApis.handleDeleteAcls` and `AclControlManager.deleteAcls`); all the
//! request's removals are written in one batch.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclFilter, AclOperation, AclPermissionType, PatternType, ResourceType};
use crate::broker::Broker;
use crate::metadata::records::{MetadataRecord, RemoveAccessControlEntryRecord};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse};
use kafka_protocol::protocol::StrBytes;
use std::collections::HashSet;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DeleteAclsRequest,
) -> DeleteAclsResponse {
    let auth = AuthHelper::new(broker, ctx);
    let fail_all = |error: ResponseError, message: &str| {
        DeleteAclsResponse::default().with_filter_results(
            request
                .filters
                .iter()
                .map(|_| failure(error, message))
                .collect(),
        )
    };
    if let Err((error, message)) = auth.may_change_acls() {
        return fail_all(error, message);
    }
    let filters: Vec<AclFilter> = request.filters.iter().map(filter).collect();
    let answer = broker
        .controller
        .plan_and_commit(&broker.metadata, |image| {
            let mut removed = HashSet::new();
            let mut records = Vec::new();
            let results: Vec<DeleteAclsFilterResult> = filters
                .iter()
                .map(|filter| {
                    if filter.is_unknown() {
                        return failure(ResponseError::InvalidRequest, "Unknown filter element.");
                    }
                    let matching = image
                        .acls()
                        .matching(filter)
                        .map(|(id, acl)| {
                            if removed.insert(id) {
                                records.push(MetadataRecord::RemoveAccessControlEntry(
                                    RemoveAccessControlEntryRecord { id },
                                ));
                            }
                            DeleteAclsMatchingAcl::default()
                                .with_resource_type(acl.resource_type.code())
                                .with_resource_name(StrBytes::from_string(
                                    acl.resource_name.clone(),
                                ))
                                .with_pattern_type(acl.pattern_type.code())
                                .with_principal(StrBytes::from_string(acl.principal.clone()))
                                .with_host(StrBytes::from_string(acl.host.clone()))
                                .with_operation(acl.operation.code())
                                .with_permission_type(acl.permission_type.code())
                        })
                        .collect();
                    DeleteAclsFilterResult::default().with_matching_acls(matching)
                })
                .collect();
            (records, results)
        });
    match answer {
        Ok(results) => {
            let deleted: usize = results.iter().map(|r| r.matching_acls.len()).sum();
            if deleted > 0 {
                tracing::info!(principal = %ctx.principal, count = deleted, "deleted ACLs");
            }
            DeleteAclsResponse::default().with_filter_results(results)
        }
        Err(e) => {
            let (error, message) = super::controller_error(&e);
            fail_all(error, &message)
        }
    }
}

fn failure(error: ResponseError, message: &str) -> DeleteAclsFilterResult {
    DeleteAclsFilterResult::default()
        .with_error_code(error.code())
        .with_error_message(Some(StrBytes::from_string(message.to_string())))
}

fn filter(f: &DeleteAclsFilter) -> AclFilter {
    AclFilter {
        resource_type: ResourceType::from_code(f.resource_type_filter),
        resource_name: f.resource_name_filter.as_ref().map(|s| s.to_string()),
        pattern_type: PatternType::from_code(f.pattern_type_filter),
        principal: f.principal_filter.as_ref().map(|s| s.to_string()),
        host: f.host_filter.as_ref().map(|s| s.to_string()),
        operation: AclOperation::from_code(f.operation),
        permission_type: AclPermissionType::from_code(f.permission_type),
    }
}
