//! ACL authorization with the semantics of Kafka's `StandardAuthorizer`
//! (`org.apache.kafka.metadata.authorizer`): ACLs on topics, groups, the
//! cluster and transactional ids, with literal, wildcard (`*`) and prefixed
//! resource patterns, allow and deny entries (a matching deny wins), the
//! principal `User:*` matching everyone, host filters, implied operations
//! (READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies
//! DESCRIBE_CONFIGS; ALL implies everything), `super.users`, and
//! `allow.everyone.if.no.acl.found` for resources no ACL names.
//!
//! This module knows nothing of the network or of the metadata log: the
//! ACLs are given to it as an [`AclCache`] (built by the metadata image from
//! `AccessControlEntryRecord`s), the principal as a string and the peer as
//! an address.

use crate::config::AuthorizerConfig;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use uuid::Uuid;

/// The one name of the CLUSTER resource.
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// A literal resource name, or ACL host, matching every one.
pub const WILDCARD: &str = "*";
/// The principal of an ACL that applies to everyone.
pub const WILDCARD_PRINCIPAL: &str = "User:*";

macro_rules! kafka_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The value for a code; codes Kafka does not define are UNKNOWN.
            pub fn from_code(code: i8) -> $name {
                match code {
                    $($code => $name::$variant,)+
                    _ => $name::Unknown,
                }
            }

            pub fn code(self) -> i8 {
                match self { $($name::$variant => $code),+ }
            }

            /// The name Kafka prints.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

kafka_enum!(
    /// Kafka's `ResourceType`.
    ResourceType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Topic = 2 => "TOPIC",
        Group = 3 => "GROUP",
        Cluster = 4 => "CLUSTER",
        TransactionalId = 5 => "TRANSACTIONAL_ID",
        DelegationToken = 6 => "DELEGATION_TOKEN",
        User = 7 => "USER",
    }
);

kafka_enum!(
    /// Kafka's `PatternType`.
    PatternType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Match = 2 => "MATCH",
        Literal = 3 => "LITERAL",
        Prefixed = 4 => "PREFIXED",
    }
);

kafka_enum!(
    /// Kafka's `AclOperation`.
    AclOperation {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        All = 2 => "ALL",
        Read = 3 => "READ",
        Write = 4 => "WRITE",
        Create = 5 => "CREATE",
        Delete = 6 => "DELETE",
        Alter = 7 => "ALTER",
        Describe = 8 => "DESCRIBE",
        ClusterAction = 9 => "CLUSTER_ACTION",
        DescribeConfigs = 10 => "DESCRIBE_CONFIGS",
        AlterConfigs = 11 => "ALTER_CONFIGS",
        IdempotentWrite = 12 => "IDEMPOTENT_WRITE",
        CreateTokens = 13 => "CREATE_TOKENS",
        DescribeTokens = 14 => "DESCRIBE_TOKENS",
        TwoPhaseCommit = 15 => "TWO_PHASE_COMMIT",
    }
);

kafka_enum!(
    /// Kafka's `AclPermissionType`.
    AclPermissionType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Deny = 2 => "DENY",
        Allow = 3 => "ALLOW",
    }
);

impl AclOperation {
    /// The operations authorized-operations fields report for a resource
    /// type (Kafka's `AclEntry.supportedOperations`), in code order.
    pub fn supported(resource_type: ResourceType) -> &'static [AclOperation] {
        use AclOperation::*;
        match resource_type {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Delete,
                Alter,
                Describe,
                DescribeConfigs,
                AlterConfigs,
            ],
            ResourceType::Group => &[Read, Delete, Describe, DescribeConfigs, AlterConfigs],
            ResourceType::Cluster => &[
                Create,
                Alter,
                Describe,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
            ],
            ResourceType::TransactionalId => &[Write, Describe],
            ResourceType::DelegationToken => &[Describe],
            ResourceType::User => &[CreateTokens, DescribeTokens],
            ResourceType::Unknown | ResourceType::Any => &[],
        }
    }
}

/// One ACL: who may (or may not) do what to which resources from where
/// (Kafka's `StandardAcl`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StandardAcl {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern_type: PatternType,
    /// `Type:name`, such as `User:alice` or `User:*`.
    pub principal: String,
    /// An IP address or `*`.
    pub host: String,
    pub operation: AclOperation,
    pub permission_type: AclPermissionType,
}

/// What DescribeAcls and DeleteAcls select ACLs by (Kafka's
/// `AclBindingFilter`): `None` and the ANY values match everything, and a
/// MATCH pattern type matches the ACLs that would apply to the named
/// resource (literal, wildcard and prefixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: ResourceType,
    pub resource_name: Option<String>,
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: AclOperation,
    pub permission_type: AclPermissionType,
}

impl AclFilter {
    /// Whether the filter has an UNKNOWN element (Kafka's `isUnknown`): such
    /// a filter is refused with INVALID_REQUEST.
    pub fn is_unknown(&self) -> bool {
        self.resource_type == ResourceType::Unknown
            || self.pattern_type == PatternType::Unknown
            || self.operation == AclOperation::Unknown
            || self.permission_type == AclPermissionType::Unknown
    }

    pub fn matches(&self, acl: &StandardAcl) -> bool {
        self.matches_pattern(acl) && self.matches_entry(acl)
    }

    /// Kafka's `ResourcePatternFilter.matches`.
    fn matches_pattern(&self, acl: &StandardAcl) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != acl.resource_type {
            return false;
        }
        if !matches!(self.pattern_type, PatternType::Any | PatternType::Match)
            && self.pattern_type != acl.pattern_type
        {
            return false;
        }
        let Some(name) = &self.resource_name else {
            return true;
        };
        if self.pattern_type == PatternType::Any || self.pattern_type == acl.pattern_type {
            return *name == acl.resource_name;
        }
        match acl.pattern_type {
            PatternType::Literal => *name == acl.resource_name || acl.resource_name == WILDCARD,
            PatternType::Prefixed => name.starts_with(&acl.resource_name),
            _ => false,
        }
    }

    /// Kafka's `AccessControlEntryFilter.matches`.
    fn matches_entry(&self, acl: &StandardAcl) -> bool {
        self.principal.as_ref().is_none_or(|p| *p == acl.principal)
            && self.host.as_ref().is_none_or(|h| *h == acl.host)
            && (self.operation == AclOperation::Any || self.operation == acl.operation)
            && (self.permission_type == AclPermissionType::Any
                || self.permission_type == acl.permission_type)
    }
}

/// Every ACL by id, and an index for authorizing: the literal ACLs by
/// resource, the prefixed ones by prefix with the lengths of the prefixes
/// in use, so that a check looks up a handful of entries whatever the
/// number of ACLs.
#[derive(Debug, Default, Clone)]
pub struct AclCache {
    by_id: BTreeMap<Uuid, Arc<StandardAcl>>,
    literal: HashMap<(ResourceType, String), Vec<Arc<StandardAcl>>>,
    prefixed: HashMap<(ResourceType, String), Vec<Arc<StandardAcl>>>,
    prefix_lengths: HashMap<ResourceType, BTreeSet<usize>>,
}

impl AclCache {
    /// The cache of these ACLs.
    pub fn new(acls: BTreeMap<Uuid, Arc<StandardAcl>>) -> AclCache {
        let mut cache = AclCache::default();
        for acl in acls.values() {
            let key = (acl.resource_type, acl.resource_name.clone());
            match acl.pattern_type {
                PatternType::Prefixed => {
                    cache
                        .prefix_lengths
                        .entry(acl.resource_type)
                        .or_default()
                        .insert(acl.resource_name.len());
                    cache.prefixed.entry(key).or_default().push(Arc::clone(acl));
                }
                _ => cache.literal.entry(key).or_default().push(Arc::clone(acl)),
            }
        }
        cache.by_id = acls;
        cache
    }

    pub fn by_id(&self) -> &BTreeMap<Uuid, Arc<StandardAcl>> {
        &self.by_id
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The id of an ACL equal to `acl`, if there is one.
    pub fn find(&self, acl: &StandardAcl) -> Option<Uuid> {
        self.by_id
            .iter()
            .find(|(_, existing)| ***existing == *acl)
            .map(|(id, _)| *id)
    }

    /// The ACLs a filter selects, with their ids, in id order.
    pub fn matching<'a>(
        &'a self,
        filter: &'a AclFilter,
    ) -> impl Iterator<Item = (Uuid, &'a Arc<StandardAcl>)> + 'a {
        self.by_id
            .iter()
            .filter(|(_, acl)| filter.matches(acl))
            .map(|(id, acl)| (*id, acl))
    }

    /// Each ACL whose pattern covers the named resource: literal on the
    /// name, the literal wildcard, and prefixed on any prefix of the name.
    fn applicable<'a>(
        &'a self,
        resource_type: ResourceType,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Arc<StandardAcl>> + 'a {
        let literal = self.literal.get(&(resource_type, name.to_string()));
        let wildcard = (name != WILDCARD)
            .then(|| self.literal.get(&(resource_type, WILDCARD.to_string())))
            .flatten();
        let prefixed = self
            .prefix_lengths
            .get(&resource_type)
            .into_iter()
            .flatten()
            .filter(move |&&len| len <= name.len() && name.is_char_boundary(len))
            .filter_map(move |&len| self.prefixed.get(&(resource_type, name[..len].to_string())))
            .flatten();
        literal
            .into_iter()
            .flatten()
            .chain(wildcard.into_iter().flatten())
            .chain(prefixed)
    }
}

/// The configured authorizer: `super.users` and the answer for resources
/// no ACL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorizer {
    super_users: BTreeSet<String>,
    allow_everyone_if_no_acl_found: bool,
}

/// Who asks, and from where.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    pub principal: &'a str,
    pub host: IpAddr,
}

impl Authorizer {
    pub fn new(super_users: BTreeSet<String>, allow_everyone_if_no_acl_found: bool) -> Self {
        Authorizer {
            super_users,
            allow_everyone_if_no_acl_found,
        }
    }

    /// The authorizer `authorizer.class.name` configures.
    pub fn from_config(config: &AuthorizerConfig) -> Self {
        Self::new(
            config.super_users.clone(),
            config.allow_everyone_if_no_acl_found,
        )
    }

    pub fn super_users(&self) -> &BTreeSet<String> {
        &self.super_users
    }

    pub fn allow_everyone_if_no_acl_found(&self) -> bool {
        self.allow_everyone_if_no_acl_found
    }

    /// Whether `who` may do `operation` on the literal resource
    /// `resource_type:name` (Kafka's `StandardAuthorizerData.authorize`).
    pub fn authorize(
        &self,
        acls: &AclCache,
        who: Requester<'_>,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        if self.super_users.contains(who.principal) {
            return true;
        }
        let mut has_resource_acls = false;
        let mut allowed = false;
        for acl in acls.applicable(resource_type, name) {
            has_resource_acls = true;
            match find_result(operation, who, acl) {
                Some(AclPermissionType::Deny) => return false,
                Some(AclPermissionType::Allow) => allowed = true,
                _ => {}
            }
        }
        allowed || (!has_resource_acls && self.allow_everyone_if_no_acl_found)
    }

    /// Whether `who` may do `operation` on some resource of the type (Kafka's
    /// `Authorizer.authorizeByResourceType`): an ALLOW on a literal or
    /// prefixed pattern that no DENY of the same or a shorter prefix
    /// dominates.
    pub fn authorize_by_resource_type(
        &self,
        acls: &AclCache,
        who: Requester<'_>,
        operation: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        // A made-up name first, so that super users and
        // allow.everyone.if.no.acl.found pass whatever the ACLs.
        if self.authorize(acls, who, operation, resource_type, "hardcode") {
            return true;
        }
        let mut deny_literal = BTreeSet::new();
        let mut deny_prefixed = BTreeSet::new();
        let mut allow_literal = BTreeSet::new();
        let mut allow_prefixed = BTreeSet::new();
        let mut wildcard_allow = false;
        for acl in acls.by_id.values() {
            if acl.resource_type != resource_type
                || !host_matches(&acl.host, who.host)
                || (acl.principal != who.principal && acl.principal != WILDCARD_PRINCIPAL)
                || (acl.operation != operation && acl.operation != AclOperation::All)
            {
                continue;
            }
            let name = acl.resource_name.as_str();
            match (acl.permission_type, acl.pattern_type) {
                (AclPermissionType::Deny, PatternType::Literal) if name == WILDCARD => {
                    return false;
                }
                (AclPermissionType::Deny, PatternType::Literal) => {
                    deny_literal.insert(name);
                }
                (AclPermissionType::Deny, PatternType::Prefixed) => {
                    deny_prefixed.insert(name);
                }
                (AclPermissionType::Allow, PatternType::Literal) if name == WILDCARD => {
                    wildcard_allow = true;
                }
                (AclPermissionType::Allow, PatternType::Literal) => {
                    allow_literal.insert(name);
                }
                (AclPermissionType::Allow, PatternType::Prefixed) => {
                    allow_prefixed.insert(name);
                }
                _ => {}
            }
        }
        if wildcard_allow {
            return true;
        }
        let dominated = |name: &str| {
            name.char_indices()
                .map(|(i, c)| &name[..i + c.len_utf8()])
                .any(|prefix| deny_prefixed.contains(prefix))
        };
        allow_literal
            .iter()
            .any(|name| !deny_literal.contains(name) && !dominated(name))
            || allow_prefixed.iter().any(|name| !dominated(name))
    }

    /// The operations of `supported` that `who` may do on the resource, as
    /// the 32-bit field of Kafka's authorized-operations (bit = code).
    pub fn authorized_operations(
        &self,
        acls: &AclCache,
        who: Requester<'_>,
        resource_type: ResourceType,
        name: &str,
    ) -> i32 {
        AclOperation::supported(resource_type)
            .iter()
            .filter(|op| self.authorize(acls, who, **op, resource_type, name))
            .fold(0, |bits, op| bits | 1 << op.code())
    }
}

/// The bit field of every supported operation (no authorizer configured).
pub fn all_operations(resource_type: ResourceType) -> i32 {
    AclOperation::supported(resource_type)
        .iter()
        .fold(0, |bits, op| bits | 1 << op.code())
}

/// Kafka's `StandardAuthorizerData.findResult`: the ACL's verdict on the
/// request, or `None` when it does not apply to it.
fn find_result(
    operation: AclOperation,
    who: Requester<'_>,
    acl: &StandardAcl,
) -> Option<AclPermissionType> {
    if acl.principal != who.principal && acl.principal != WILDCARD_PRINCIPAL {
        return None;
    }
    if !host_matches(&acl.host, who.host) {
        return None;
    }
    if acl.operation != AclOperation::All {
        let applies = if acl.permission_type == AclPermissionType::Allow {
            match operation {
                AclOperation::Describe => matches!(
                    acl.operation,
                    AclOperation::Describe
                        | AclOperation::Read
                        | AclOperation::Write
                        | AclOperation::Delete
                        | AclOperation::Alter
                ),
                AclOperation::DescribeConfigs => matches!(
                    acl.operation,
                    AclOperation::DescribeConfigs | AclOperation::AlterConfigs
                ),
                _ => acl.operation == operation,
            }
        } else {
            // A DENY applies to its own operation only: denying READ does
            // not deny DESCRIBE.
            acl.operation == operation
        };
        if !applies {
            return None;
        }
    }
    Some(acl.permission_type)
}

/// An ACL's host against the peer: `*`, or the same address (an IPv4 peer
/// seen through an IPv6 socket counts as its IPv4 address).
fn host_matches(acl_host: &str, peer: IpAddr) -> bool {
    if acl_host == WILDCARD {
        return true;
    }
    let peer = peer.to_canonical();
    match acl_host.parse::<IpAddr>() {
        Ok(host) => host.to_canonical() == peer,
        Err(_) => acl_host == peer.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AclOperation::*;
    use AclPermissionType::{Allow, Deny};
    use PatternType::{Literal, Prefixed};
    use ResourceType::{Cluster, Group, Topic};

    fn acl(
        resource_type: ResourceType,
        name: &str,
        pattern_type: PatternType,
        principal: &str,
        host: &str,
        operation: AclOperation,
        permission_type: AclPermissionType,
    ) -> StandardAcl {
        StandardAcl {
            resource_type,
            resource_name: name.into(),
            pattern_type,
            principal: principal.into(),
            host: host.into(),
            operation,
            permission_type,
        }
    }

    fn cache(acls: Vec<StandardAcl>) -> AclCache {
        AclCache::new(
            acls.into_iter()
                .enumerate()
                .map(|(i, a)| (Uuid::from_u128(i as u128 + 1), Arc::new(a)))
                .collect(),
        )
    }

    fn alice() -> Requester<'static> {
        Requester {
            principal: "User:alice",
            host: "10.0.0.1".parse().unwrap(),
        }
    }

    #[test]
    fn literal_prefixed_wildcard_and_deny() {
        let authorizer = Authorizer::new(BTreeSet::new(), false);
        let acls = cache(vec![
            acl(Topic, "orders", Literal, "User:alice", "*", Read, Allow),
            acl(Topic, "pay", Prefixed, "User:alice", "*", Write, Allow),
            acl(Topic, "payroll", Literal, "User:*", "*", Write, Deny),
            acl(Topic, "*", Literal, "User:alice", "*", Describe, Allow),
        ]);
        let can = |op, name| authorizer.authorize(&acls, alice(), op, Topic, name);
        assert!(can(Read, "orders"));
        assert!(!can(Write, "orders"));
        assert!(!can(Read, "orders2"), "a literal ACL is not a prefix");
        assert!(can(Write, "payments"));
        assert!(can(Write, "pay"));
        assert!(!can(Write, "payroll"), "deny wins");
        assert!(
            can(Describe, "payroll"),
            "a WRITE deny does not deny DESCRIBE"
        );
        assert!(can(Describe, "anything"), "wildcard");
        assert!(!can(Read, "anything"));
    }

    #[test]
    fn implied_operations_and_all() {
        let authorizer = Authorizer::new(BTreeSet::new(), false);
        let acls = cache(vec![
            acl(Topic, "t", Literal, "User:alice", "*", Write, Allow),
            acl(Topic, "c", Literal, "User:alice", "*", AlterConfigs, Allow),
            acl(Group, "g", Literal, "User:alice", "*", All, Allow),
            acl(Topic, "d", Literal, "User:alice", "*", All, Deny),
            acl(Topic, "d", Literal, "User:alice", "*", Read, Allow),
        ]);
        let can = |op, rt, name| authorizer.authorize(&acls, alice(), op, rt, name);
        assert!(can(Describe, Topic, "t"));
        assert!(!can(Read, Topic, "t"));
        assert!(can(DescribeConfigs, Topic, "c"));
        assert!(!can(Describe, Topic, "c"));
        assert!(can(Read, Group, "g") && can(Delete, Group, "g"));
        assert!(
            !can(Read, Topic, "d"),
            "a DENY of ALL denies every operation"
        );
        assert_eq!(
            authorizer.authorized_operations(&acls, alice(), Topic, "t"),
            1 << Write.code() | 1 << Describe.code()
        );
    }

    #[test]
    fn principals_hosts_super_users_and_the_default() {
        let acls = cache(vec![
            acl(Topic, "t", Literal, "User:bob", "*", Read, Allow),
            acl(Topic, "h", Literal, "User:alice", "10.0.0.2", Read, Allow),
            acl(
                Topic,
                "h6",
                Literal,
                "User:alice",
                "::ffff:10.0.0.1",
                Read,
                Allow,
            ),
        ]);
        let strict = Authorizer::new(BTreeSet::new(), false);
        let open = Authorizer::new(BTreeSet::new(), true);
        let sup = Authorizer::new(["User:alice".to_string()].into(), false);
        assert!(!strict.authorize(&acls, alice(), Read, Topic, "t"));
        assert!(
            !open.authorize(&acls, alice(), Read, Topic, "t"),
            "a resource with ACLs is not open to everyone"
        );
        assert!(open.authorize(&acls, alice(), Read, Topic, "free"));
        assert!(!strict.authorize(&acls, alice(), Read, Topic, "free"));
        assert!(!strict.authorize(&acls, alice(), Read, Topic, "h"));
        assert!(strict.authorize(&acls, alice(), Read, Topic, "h6"));
        assert!(sup.authorize(&acls, alice(), Read, Topic, "t"));
        assert!(sup.authorize(&acls, alice(), Alter, Cluster, CLUSTER_NAME));
    }

    #[test]
    fn by_resource_type_honours_dominating_denies() {
        let authorizer = Authorizer::new(BTreeSet::new(), false);
        let who = alice();
        let check = |acls: Vec<StandardAcl>| {
            authorizer.authorize_by_resource_type(&cache(acls), who, Write, Topic)
        };
        assert!(!check(vec![]));
        assert!(check(vec![acl(
            Topic,
            "t",
            Literal,
            "User:alice",
            "*",
            Write,
            Allow
        )]));
        assert!(!check(vec![
            acl(Topic, "t", Literal, "User:alice", "*", Write, Allow),
            acl(Topic, "t", Literal, "User:alice", "*", Write, Deny),
        ]));
        assert!(!check(vec![
            acl(Topic, "tops", Prefixed, "User:alice", "*", Write, Allow),
            acl(Topic, "to", Prefixed, "User:*", "*", Write, Deny),
        ]));
        assert!(check(vec![
            acl(Topic, "tops", Prefixed, "User:alice", "*", Write, Allow),
            acl(Topic, "topsy", Prefixed, "User:*", "*", Write, Deny),
        ]));
    }

    #[test]
    fn filters_match_as_kafka_does() {
        let prefixed = acl(Topic, "pay", Prefixed, "User:a", "*", Read, Allow);
        let wildcard = acl(Topic, "*", Literal, "User:a", "*", Read, Allow);
        let any = AclFilter {
            resource_type: ResourceType::Any,
            resource_name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: Any,
            permission_type: AclPermissionType::Any,
        };
        assert!(any.matches(&prefixed) && !any.is_unknown());
        let matching = AclFilter {
            resource_name: Some("payments".into()),
            pattern_type: PatternType::Match,
            ..any.clone()
        };
        assert!(matching.matches(&prefixed) && matching.matches(&wildcard));
        let exact = AclFilter {
            resource_name: Some("payments".into()),
            ..any.clone()
        };
        assert!(!exact.matches(&prefixed));
        let by_user = AclFilter {
            principal: Some("User:b".into()),
            ..any
        };
        assert!(!by_user.matches(&prefixed));
    }

    #[test]
    fn all_operations_are_kafkas_bit_fields() {
        assert_eq!(all_operations(Topic), 0x0df8);
        assert_eq!(all_operations(Cluster), 0x1fa0);
        assert_eq!(all_operations(Group), 0x0d48);
        assert_eq!(all_operations(ResourceType::TransactionalId), 0x0110);
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_unknown() {
        for code in 0..=15 {
            assert_eq!(AclOperation::from_code(code).code(), code);
        }
        assert_eq!(AclOperation::from_code(99), AclOperation::Unknown);
        assert_eq!(ResourceType::from_code(-1), ResourceType::Unknown);
        assert_eq!(PatternType::from_code(4), Prefixed);
        assert_eq!(AclPermissionType::from_code(2), Deny);
    }

    #[test]
    fn super_users_parse() {
        assert_eq!(
            crate::config::parse_super_users("User:admin; User:CN=x,O=y;").unwrap(),
            ["User:CN=x,O=y".to_string(), "User:admin".to_string()].into()
        );
        assert!(crate::config::parse_super_users("admin").is_err());
    }
}
