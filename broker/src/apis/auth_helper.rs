//! What the API handlers ask of the authorizer (Kafka's `AuthHelper`): may
//! this request's principal, from its host, do an operation on a resource.
//! With no `authorizer.class.name` every answer is yes and nothing is
//! looked up.

use super::RequestContext;
use crate::authorizer::{
    self, AclCache, AclOperation, Authorizer, CLUSTER_NAME, Requester, ResourceType,
};
use crate::broker::Broker;
use std::collections::HashSet;
use std::sync::Arc;

pub struct AuthHelper<'a> {
    checks: Option<(&'a Authorizer, Arc<AclCache>)>,
    ctx: &'a RequestContext,
}

impl<'a> AuthHelper<'a> {
    pub fn new(broker: &'a Broker, ctx: &'a RequestContext) -> AuthHelper<'a> {
        AuthHelper {
            checks: broker
                .authorizer
                .as_ref()
                .map(|a| (a, Arc::clone(broker.metadata.image().acls()))),
            ctx,
        }
    }

    /// Whether an authorizer is configured.
    pub fn enabled(&self) -> bool {
        self.checks.is_some()
    }

    fn requester(&self) -> Requester<'_> {
        Requester {
            principal: &self.ctx.principal,
            host: self.ctx.peer.ip(),
        }
    }

    /// Whether the request may do `operation` on the resource; a denial is
    /// logged as Kafka's authorizer logs one.
    pub fn authorize(
        &self,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        let allowed = self.check(operation, resource_type, name);
        if !allowed {
            tracing::info!(
                target: "kafka.authorizer.logger",
                principal = %self.ctx.principal,
                host = %self.ctx.peer.ip(),
                operation = %operation,
                resource = %format_args!("{resource_type}:LITERAL:{name}"),
                request = ?self.ctx.api_key,
                "Denied"
            );
        }
        allowed
    }

    /// As [`authorize`](Self::authorize) without the log line, for
    /// filtering what a listing shows.
    pub fn check(&self, operation: AclOperation, resource_type: ResourceType, name: &str) -> bool {
        match &self.checks {
            None => true,
            Some((authorizer, acls)) => {
                authorizer.authorize(acls, self.requester(), operation, resource_type, name)
            }
        }
    }

    pub fn authorize_cluster(&self, operation: AclOperation) -> bool {
        self.authorize(operation, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// Whether the request may do `operation` on some resource of the type.
    pub fn authorize_by_resource_type(
        &self,
        operation: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        match &self.checks {
            None => true,
            Some((authorizer, acls)) => authorizer.authorize_by_resource_type(
                acls,
                self.requester(),
                operation,
                resource_type,
            ),
        }
    }

    /// The names of `names` the request may do `operation` on, each asked
    /// once.
    pub fn filter<'n>(
        &self,
        operation: AclOperation,
        resource_type: ResourceType,
        names: impl IntoIterator<Item = &'n str>,
    ) -> HashSet<&'n str> {
        let mut asked = HashSet::new();
        let mut allowed = HashSet::new();
        for name in names {
            if asked.insert(name) && self.authorize(operation, resource_type, name) {
                allowed.insert(name);
            }
        }
        allowed
    }

    /// CreateAcls' and DeleteAcls' first check (Kafka's AclApis): an
    /// authorizer must be configured and the request may ALTER the cluster.
    pub fn may_change_acls(
        &self,
    ) -> Result<(), (kafka_protocol::error::ResponseError, &'static str)> {
        use kafka_protocol::error::ResponseError;
        if !self.enabled() {
            Err((
                ResponseError::SecurityDisabled,
                "No Authorizer is configured.",
            ))
        } else if !self.authorize_cluster(AclOperation::Alter) {
            Err((
                ResponseError::ClusterAuthorizationFailed,
                "Request is not authorized.",
            ))
        } else {
            Ok(())
        }
    }

    /// The authorized-operations bit field of a resource.
    pub fn authorized_operations(&self, resource_type: ResourceType, name: &str) -> i32 {
        match &self.checks {
            None => authorizer::all_operations(resource_type),
            Some((authorizer, acls)) => {
                authorizer.authorized_operations(acls, self.requester(), resource_type, name)
            }
        }
    }
}

/// `ConfigResource.Type` codes the config APIs authorize.
const TOPIC_CONFIGS: i8 = 2;
const BROKER_CONFIGS: i8 = 4;
const BROKER_LOGGER_CONFIGS: i8 = 8;
const GROUP_CONFIGS: i8 = 32;

impl AuthHelper<'_> {
    /// DescribeConfigs' and the AlterConfigs APIs' check of one resource
    /// (`operation` DESCRIBE_CONFIGS or ALTER_CONFIGS): a topic's on the
    /// topic, a broker's on the cluster, a group's on the group; the error
    /// Kafka answers when it fails.
    pub fn authorize_configs(
        &self,
        operation: AclOperation,
        config_resource_type: i8,
        name: &str,
    ) -> Result<(), kafka_protocol::error::ResponseError> {
        use kafka_protocol::error::ResponseError;
        let (resource_type, name, error) = match config_resource_type {
            TOPIC_CONFIGS => (
                ResourceType::Topic,
                name,
                ResponseError::TopicAuthorizationFailed,
            ),
            BROKER_CONFIGS | BROKER_LOGGER_CONFIGS => (
                ResourceType::Cluster,
                CLUSTER_NAME,
                ResponseError::ClusterAuthorizationFailed,
            ),
            GROUP_CONFIGS => (
                ResourceType::Group,
                name,
                ResponseError::GroupAuthorizationFailed,
            ),
            // Other types are refused by the handler itself.
            _ => return Ok(()),
        };
        if self.authorize(operation, resource_type, name) {
            Ok(())
        } else {
            Err(error)
        }
    }
}
