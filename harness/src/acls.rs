//! The ACL APIs by hand: CreateAcls (key 30), DescribeAcls (key 29) and
//! DeleteAcls (key 31), versions 0 to 3, from Kafka's message schemas.
//! Version 0 has no pattern type (a decoded v0 binding is LITERAL);
//! versions 2 and later are flexible (compact strings and arrays, tagged
//! fields, request header v2 and response header v1). The codes of
//! resource types, pattern types, operations and permission types are
//! those of Kafka's `ResourceType`, `PatternType`, `AclOperation` and
//! `AclPermissionType`.

use crate::protocol::{CLIENT_ID, flexible_request_header};
use crate::versioned::{
    get_nullable_string, get_string, get_tags, put_array_len, put_nullable_string, put_string,
    put_tags, response_header,
};
use crate::wire::{Reader, Writer};
use anyhow::{Context, Result, ensure};

pub const DESCRIBE_ACLS: i16 = 29;
pub const CREATE_ACLS: i16 = 30;
pub const DELETE_ACLS: i16 = 31;

/// The highest version of the three APIs decoded here.
pub const MAX_VERSION: i16 = 3;

/// Kafka error codes of the ACL APIs (Kafka's `Errors`).
pub mod error {
    pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
    pub const INVALID_REQUEST: i16 = 42;
    pub const SECURITY_DISABLED: i16 = 54;
}

/// Kafka's `ResourceType` codes.
pub mod resource_type {
    pub const UNKNOWN: i8 = 0;
    pub const ANY: i8 = 1;
    pub const TOPIC: i8 = 2;
    pub const GROUP: i8 = 3;
    pub const CLUSTER: i8 = 4;
    pub const TRANSACTIONAL_ID: i8 = 5;
    pub const DELEGATION_TOKEN: i8 = 6;
    /// Version 3 and later.
    pub const USER: i8 = 7;
}

/// Kafka's `PatternType` codes.
pub mod pattern_type {
    pub const UNKNOWN: i8 = 0;
    pub const ANY: i8 = 1;
    pub const MATCH: i8 = 2;
    pub const LITERAL: i8 = 3;
    pub const PREFIXED: i8 = 4;
}

/// Kafka's `AclOperation` codes.
pub mod operation {
    pub const UNKNOWN: i8 = 0;
    pub const ANY: i8 = 1;
    pub const ALL: i8 = 2;
    pub const READ: i8 = 3;
    pub const WRITE: i8 = 4;
    pub const CREATE: i8 = 5;
    pub const DELETE: i8 = 6;
    pub const ALTER: i8 = 7;
    pub const DESCRIBE: i8 = 8;
    pub const CLUSTER_ACTION: i8 = 9;
    pub const DESCRIBE_CONFIGS: i8 = 10;
    pub const ALTER_CONFIGS: i8 = 11;
    pub const IDEMPOTENT_WRITE: i8 = 12;
    pub const CREATE_TOKENS: i8 = 13;
    pub const DESCRIBE_TOKENS: i8 = 14;
    /// KIP-939 (Kafka 4.1 and later).
    pub const TWO_PHASE_COMMIT: i8 = 15;
}

/// Kafka's `AclPermissionType` codes.
pub mod permission_type {
    pub const UNKNOWN: i8 = 0;
    pub const ANY: i8 = 1;
    pub const DENY: i8 = 2;
    pub const ALLOW: i8 = 3;
}

/// One ACL: a resource pattern and an access control entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    pub resource_type: i8,
    pub resource_name: String,
    pub pattern_type: i8,
    pub principal: String,
    pub host: String,
    pub operation: i8,
    pub permission_type: i8,
}

/// A filter of ACLs, as DescribeAcls and DeleteAcls take it: a name `None`
/// matches any name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AclFilter {
    pub resource_type: i8,
    pub resource_name: Option<String>,
    pub pattern_type: i8,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: i8,
    pub permission_type: i8,
}

impl AclFilter {
    /// The filter that matches every ACL.
    pub fn any() -> AclFilter {
        AclFilter {
            resource_type: resource_type::ANY,
            resource_name: None,
            pattern_type: pattern_type::ANY,
            principal: None,
            host: None,
            operation: operation::ANY,
            permission_type: permission_type::ANY,
        }
    }
}

impl From<&AclBinding> for AclFilter {
    /// The filter that matches exactly `binding`.
    fn from(binding: &AclBinding) -> AclFilter {
        AclFilter {
            resource_type: binding.resource_type,
            resource_name: Some(binding.resource_name.clone()),
            pattern_type: binding.pattern_type,
            principal: Some(binding.principal.clone()),
            host: Some(binding.host.clone()),
            operation: binding.operation,
            permission_type: binding.permission_type,
        }
    }
}

// ------------------------------------------------ flexible or not, by version

fn is_flexible(version: i16) -> bool {
    version >= 2
}

fn ensure_version(version: i16) -> Result<()> {
    ensure!(
        (0..=MAX_VERSION).contains(&version),
        "version {version} of the ACL APIs is not decoded here"
    );
    Ok(())
}

/// Request header v2 (flexible versions) or v1.
fn request_header(api_key: i16, version: i16, correlation_id: i32) -> Writer {
    if is_flexible(version) {
        return flexible_request_header(api_key, version, correlation_id);
    }
    let mut w = Writer::new();
    w.i16(api_key)
        .i16(version)
        .i32(correlation_id)
        .nullable_string(Some(CLIENT_ID));
    w
}

/// A non-null array of structures, each ending with its tagged fields in
/// flexible versions.
fn get_structs<T>(
    r: &mut Reader<'_>,
    flexible: bool,
    mut element: impl FnMut(&mut Reader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let structure = |r: &mut Reader<'_>| {
        let value = element(r)?;
        get_tags(r, flexible)?;
        Ok(value)
    };
    let at = r.position();
    if flexible {
        r.compact_array(structure)
    } else {
        r.nullable_array(structure)?
            .with_context(|| format!("null array at offset {at} where one is required"))
    }
}

/// The pattern type of version 1 and later; LITERAL in version 0.
fn get_pattern_type(r: &mut Reader<'_>, version: i16) -> Result<i8> {
    if version >= 1 {
        r.i8()
    } else {
        Ok(pattern_type::LITERAL)
    }
}

/// A filter of DescribeAcls and DeleteAcls (no tagged fields).
fn put_filter(w: &mut Writer, filter: &AclFilter, version: i16) {
    let flexible = is_flexible(version);
    w.i8(filter.resource_type);
    put_nullable_string(w, filter.resource_name.as_deref(), flexible);
    if version >= 1 {
        w.i8(filter.pattern_type);
    }
    put_nullable_string(w, filter.principal.as_deref(), flexible);
    put_nullable_string(w, filter.host.as_deref(), flexible);
    w.i8(filter.operation).i8(filter.permission_type);
}

// ----------------------------------------------------------------- CreateAcls

/// CreateAcls of `version` (0 to 3; v0 has no pattern type). A version
/// above 3 is encoded as v3 is, for tests of unsupported versions.
pub fn create_acls_request(version: i16, correlation_id: i32, creations: &[AclBinding]) -> Vec<u8> {
    let flexible = is_flexible(version);
    let mut w = request_header(CREATE_ACLS, version, correlation_id);
    put_array_len(&mut w, creations.len(), flexible);
    for acl in creations {
        w.i8(acl.resource_type);
        put_string(&mut w, &acl.resource_name, flexible);
        if version >= 1 {
            w.i8(acl.pattern_type);
        }
        put_string(&mut w, &acl.principal, flexible);
        put_string(&mut w, &acl.host, flexible);
        w.i8(acl.operation).i8(acl.permission_type);
        put_tags(&mut w, flexible);
    }
    put_tags(&mut w, flexible);
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAclsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    /// Per creation, in request order: (error code, error message).
    pub results: Vec<(i16, Option<String>)>,
}

/// CreateAcls responses of versions 0 to 3.
pub fn decode_create_acls_response(bytes: &[u8], version: i16) -> Result<CreateAclsResponse> {
    ensure_version(version)?;
    let flexible = is_flexible(version);
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r, flexible)?;
    let throttle_time_ms = r.i32()?;
    let results = get_structs(&mut r, flexible, |r| {
        Ok((r.i16()?, get_nullable_string(r, flexible)?))
    })?;
    get_tags(&mut r, flexible)?;
    r.finish()?;
    Ok(CreateAclsResponse {
        correlation_id,
        throttle_time_ms,
        results,
    })
}

// --------------------------------------------------------------- DescribeAcls

/// DescribeAcls of `version` (0 to 3; v0 has no pattern type). A version
/// above 3 is encoded as v3 is.
pub fn describe_acls_request(version: i16, correlation_id: i32, filter: &AclFilter) -> Vec<u8> {
    let mut w = request_header(DESCRIBE_ACLS, version, correlation_id);
    put_filter(&mut w, filter, version);
    put_tags(&mut w, is_flexible(version));
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeAclsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    /// The ACLs of every resource, in response order (a resource listed
    /// with no ACLs adds none).
    pub acls: Vec<AclBinding>,
}

/// DescribeAcls responses of versions 0 to 3.
pub fn decode_describe_acls_response(bytes: &[u8], version: i16) -> Result<DescribeAclsResponse> {
    ensure_version(version)?;
    let flexible = is_flexible(version);
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r, flexible)?;
    let throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let error_message = get_nullable_string(&mut r, flexible)?;
    let resources = get_structs(&mut r, flexible, |r| {
        let resource_type = r.i8()?;
        let resource_name = get_string(r, flexible)?;
        let pattern_type = get_pattern_type(r, version)?;
        get_structs(r, flexible, |r| {
            Ok(AclBinding {
                resource_type,
                resource_name: resource_name.clone(),
                pattern_type,
                principal: get_string(r, flexible)?,
                host: get_string(r, flexible)?,
                operation: r.i8()?,
                permission_type: r.i8()?,
            })
        })
    })?;
    get_tags(&mut r, flexible)?;
    r.finish()?;
    Ok(DescribeAclsResponse {
        correlation_id,
        throttle_time_ms,
        error_code,
        error_message,
        acls: resources.into_iter().flatten().collect(),
    })
}

// ----------------------------------------------------------------- DeleteAcls

/// DeleteAcls of `version` (0 to 3; v0 has no pattern type). A version
/// above 3 is encoded as v3 is.
pub fn delete_acls_request(version: i16, correlation_id: i32, filters: &[AclFilter]) -> Vec<u8> {
    let flexible = is_flexible(version);
    let mut w = request_header(DELETE_ACLS, version, correlation_id);
    put_array_len(&mut w, filters.len(), flexible);
    for filter in filters {
        put_filter(&mut w, filter, version);
        put_tags(&mut w, flexible);
    }
    put_tags(&mut w, flexible);
    w.into_bytes()
}

/// An ACL a DeleteAcls filter matched, and whether its deletion failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedAcl {
    pub error_code: i16,
    pub error_message: Option<String>,
    pub acl: AclBinding,
}

/// What one DeleteAcls filter did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteAclsFilterResult {
    pub error_code: i16,
    pub error_message: Option<String>,
    pub matching_acls: Vec<DeletedAcl>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteAclsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    /// Per filter, in request order.
    pub filter_results: Vec<DeleteAclsFilterResult>,
}

/// DeleteAcls responses of versions 0 to 3.
pub fn decode_delete_acls_response(bytes: &[u8], version: i16) -> Result<DeleteAclsResponse> {
    ensure_version(version)?;
    let flexible = is_flexible(version);
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r, flexible)?;
    let throttle_time_ms = r.i32()?;
    let filter_results = get_structs(&mut r, flexible, |r| {
        let error_code = r.i16()?;
        let error_message = get_nullable_string(r, flexible)?;
        let matching_acls = get_structs(r, flexible, |r| {
            let error_code = r.i16()?;
            let error_message = get_nullable_string(r, flexible)?;
            let acl = AclBinding {
                resource_type: r.i8()?,
                resource_name: get_string(r, flexible)?,
                pattern_type: get_pattern_type(r, version)?,
                principal: get_string(r, flexible)?,
                host: get_string(r, flexible)?,
                operation: r.i8()?,
                permission_type: r.i8()?,
            };
            Ok(DeletedAcl {
                error_code,
                error_message,
                acl,
            })
        })?;
        Ok(DeleteAclsFilterResult {
            error_code,
            error_message,
            matching_acls,
        })
    })?;
    get_tags(&mut r, flexible)?;
    r.finish()?;
    Ok(DeleteAclsResponse {
        correlation_id,
        throttle_time_ms,
        filter_results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Decoder, assert_strict_decoders};

    /// TOPIC "t", LITERAL, "User:a" on "*", READ, ALLOW.
    fn read_t() -> AclBinding {
        AclBinding {
            resource_type: resource_type::TOPIC,
            resource_name: "t".into(),
            pattern_type: pattern_type::LITERAL,
            principal: "User:a".into(),
            host: "*".into(),
            operation: operation::READ,
            permission_type: permission_type::ALLOW,
        }
    }

    /// GROUP "g", PREFIXED, "User:b" on "h", ALL, DENY.
    fn deny_g() -> AclBinding {
        AclBinding {
            resource_type: resource_type::GROUP,
            resource_name: "g".into(),
            pattern_type: pattern_type::PREFIXED,
            principal: "User:b".into(),
            host: "h".into(),
            operation: operation::ALL,
            permission_type: permission_type::DENY,
        }
    }

    /// Request header v1: key, version, correlation id 7, "harness".
    fn header_v1(key: u8, version: u8) -> Vec<u8> {
        [&[0, key, 0, version, 0, 0, 0, 7, 0, 7][..], b"harness"].concat()
    }

    /// Request header v2: header v1 and no tagged fields.
    fn header_v2(key: u8, version: u8) -> Vec<u8> {
        [header_v1(key, version), vec![0]].concat()
    }

    #[test]
    fn codes_are_kafkas() {
        assert_eq!(
            [
                resource_type::UNKNOWN,
                resource_type::ANY,
                resource_type::TOPIC,
                resource_type::GROUP,
                resource_type::CLUSTER,
                resource_type::TRANSACTIONAL_ID,
                resource_type::DELEGATION_TOKEN,
                resource_type::USER,
            ],
            [0, 1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(
            [
                pattern_type::UNKNOWN,
                pattern_type::ANY,
                pattern_type::MATCH,
                pattern_type::LITERAL,
                pattern_type::PREFIXED,
            ],
            [0, 1, 2, 3, 4]
        );
        assert_eq!(
            [
                operation::UNKNOWN,
                operation::ANY,
                operation::ALL,
                operation::READ,
                operation::WRITE,
                operation::CREATE,
                operation::DELETE,
                operation::ALTER,
                operation::DESCRIBE,
                operation::CLUSTER_ACTION,
                operation::DESCRIBE_CONFIGS,
                operation::ALTER_CONFIGS,
                operation::IDEMPOTENT_WRITE,
                operation::CREATE_TOKENS,
                operation::DESCRIBE_TOKENS,
                operation::TWO_PHASE_COMMIT,
            ],
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        );
        assert_eq!(
            [
                permission_type::UNKNOWN,
                permission_type::ANY,
                permission_type::DENY,
                permission_type::ALLOW,
            ],
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn create_acls_request_v1_and_v3() {
        let v1: Vec<u8> = [
            header_v1(30, 1),
            vec![0, 0, 0, 1], // one creation
            vec![2, 0, 1, b't', 3, 0, 6],
            b"User:a".to_vec(),
            vec![0, 1, b'*', 3, 3],
        ]
        .concat();
        assert_eq!(create_acls_request(1, 7, &[read_t()]), v1);
        let v3: Vec<u8> = [
            header_v2(30, 3),
            vec![2], // one creation
            vec![2, 2, b't', 3, 7],
            b"User:a".to_vec(),
            vec![2, b'*', 3, 3, 0], // ... and the creation's tags
            vec![0],                // the request's tags
        ]
        .concat();
        assert_eq!(create_acls_request(3, 7, &[read_t()]), v3);
        // Version 0 has no pattern type.
        let v0 = create_acls_request(0, 7, &[read_t()]);
        assert_eq!(v0.len(), v1.len() - 1);
        assert_eq!(v0[..4], [0, 30, 0, 0]);
    }

    #[test]
    fn describe_acls_request_v1_and_v3() {
        let filter = AclFilter {
            principal: Some("User:a".into()),
            ..AclFilter::any()
        };
        let v1: Vec<u8> = [
            header_v1(29, 1),
            vec![1, 0xff, 0xff, 1, 0, 6],
            b"User:a".to_vec(),
            vec![0xff, 0xff, 1, 1],
        ]
        .concat();
        assert_eq!(describe_acls_request(1, 7, &filter), v1);
        let v3: Vec<u8> = [
            header_v2(29, 3),
            vec![1, 0, 1, 7],
            b"User:a".to_vec(),
            vec![0, 1, 1, 0],
        ]
        .concat();
        assert_eq!(describe_acls_request(3, 7, &filter), v3);
    }

    #[test]
    fn delete_acls_request_v1_and_v3() {
        let filters = [AclFilter::from(&read_t()), AclFilter::any()];
        let v1: Vec<u8> = [
            header_v1(31, 1),
            vec![0, 0, 0, 2], // two filters
            vec![2, 0, 1, b't', 3, 0, 6],
            b"User:a".to_vec(),
            vec![0, 1, b'*', 3, 3],
            vec![1, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff, 1, 1],
        ]
        .concat();
        assert_eq!(delete_acls_request(1, 7, &filters), v1);
        let v3: Vec<u8> = [
            header_v2(31, 3),
            vec![3], // two filters
            vec![2, 2, b't', 3, 7],
            b"User:a".to_vec(),
            vec![2, b'*', 3, 3, 0],
            vec![1, 0, 1, 0, 0, 1, 1, 0],
            vec![0],
        ]
        .concat();
        assert_eq!(delete_acls_request(3, 7, &filters), v3);
    }

    /// CreateAcls responses: throttle 5; results (0, null) and (42, "bad").
    fn create_response_v1() -> Vec<u8> {
        [
            vec![0, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 2],
            vec![0, 0, 0xff, 0xff],
            vec![0, 42, 0, 3, b'b', b'a', b'd'],
        ]
        .concat()
    }

    fn create_response_v3() -> Vec<u8> {
        [
            vec![0, 0, 0, 7, 0, 0, 0, 0, 5, 3],
            vec![0, 0, 0, 0],
            vec![0, 42, 4, b'b', b'a', b'd', 0],
            vec![0],
        ]
        .concat()
    }

    /// DescribeAcls responses: no error; TOPIC "t" LITERAL with two ACLs,
    /// GROUP "g" PREFIXED with one.
    fn describe_response_v1() -> Vec<u8> {
        [
            vec![0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 2],
            vec![2, 0, 1, b't', 3, 0, 0, 0, 2],
            vec![0, 6],
            b"User:a".to_vec(),
            vec![0, 1, b'*', 3, 3],
            vec![0, 6],
            b"User:b".to_vec(),
            vec![0, 1, b'*', 4, 2],
            vec![3, 0, 1, b'g', 4, 0, 0, 0, 1],
            vec![0, 6],
            b"User:b".to_vec(),
            vec![0, 1, b'h', 2, 2],
        ]
        .concat()
    }

    fn describe_response_v3() -> Vec<u8> {
        [
            vec![0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 3],
            vec![2, 2, b't', 3, 3],
            vec![7],
            b"User:a".to_vec(),
            vec![2, b'*', 3, 3, 0],
            vec![7],
            b"User:b".to_vec(),
            vec![2, b'*', 4, 2, 0],
            vec![0], // the resource's tags
            vec![3, 2, b'g', 4, 2],
            vec![7],
            b"User:b".to_vec(),
            vec![2, b'h', 2, 2, 0],
            vec![0],
            vec![0],
        ]
        .concat()
    }

    fn described() -> Vec<AclBinding> {
        let write_t = AclBinding {
            principal: "User:b".into(),
            operation: operation::WRITE,
            permission_type: permission_type::DENY,
            ..read_t()
        };
        vec![read_t(), write_t, deny_g()]
    }

    /// DeleteAcls responses: the first filter deleted `deny_g` and failed
    /// on `read_t` (error 31, "no"), the second failed (error 54, null).
    fn delete_response_v1() -> Vec<u8> {
        [
            vec![0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 2],
            vec![0, 0, 0xff, 0xff, 0, 0, 0, 2],
            vec![0, 0, 0xff, 0xff, 3, 0, 1, b'g', 4, 0, 6],
            b"User:b".to_vec(),
            vec![0, 1, b'h', 2, 2],
            vec![0, 31, 0, 2, b'n', b'o', 2, 0, 1, b't', 3, 0, 6],
            b"User:a".to_vec(),
            vec![0, 1, b'*', 3, 3],
            vec![0, 54, 0xff, 0xff, 0, 0, 0, 0],
        ]
        .concat()
    }

    fn delete_response_v3() -> Vec<u8> {
        [
            vec![0, 0, 0, 7, 0, 0, 0, 0, 0, 3],
            vec![0, 0, 0, 3],
            vec![0, 0, 0, 3, 2, b'g', 4, 7],
            b"User:b".to_vec(),
            vec![2, b'h', 2, 2, 0],
            vec![0, 31, 3, b'n', b'o', 2, 2, b't', 3, 7],
            b"User:a".to_vec(),
            vec![2, b'*', 3, 3, 0],
            vec![0], // the first filter's tags
            vec![0, 54, 0, 1, 0],
            vec![0],
        ]
        .concat()
    }

    fn deleted() -> Vec<DeleteAclsFilterResult> {
        vec![
            DeleteAclsFilterResult {
                error_code: 0,
                error_message: None,
                matching_acls: vec![
                    DeletedAcl {
                        error_code: 0,
                        error_message: None,
                        acl: deny_g(),
                    },
                    DeletedAcl {
                        error_code: error::CLUSTER_AUTHORIZATION_FAILED,
                        error_message: Some("no".into()),
                        acl: read_t(),
                    },
                ],
            },
            DeleteAclsFilterResult {
                error_code: error::SECURITY_DISABLED,
                error_message: None,
                matching_acls: vec![],
            },
        ]
    }

    #[test]
    fn decodes_responses_v1_and_v3() {
        for (version, bytes) in [(1, create_response_v1()), (3, create_response_v3())] {
            assert_eq!(
                decode_create_acls_response(&bytes, version).unwrap(),
                CreateAclsResponse {
                    correlation_id: 7,
                    throttle_time_ms: 5,
                    results: vec![(0, None), (42, Some("bad".into()))],
                },
                "v{version}"
            );
        }
        for (version, bytes) in [(1, describe_response_v1()), (3, describe_response_v3())] {
            assert_eq!(
                decode_describe_acls_response(&bytes, version).unwrap(),
                DescribeAclsResponse {
                    correlation_id: 7,
                    throttle_time_ms: 0,
                    error_code: 0,
                    error_message: None,
                    acls: described(),
                },
                "v{version}"
            );
        }
        for (version, bytes) in [(1, delete_response_v1()), (3, delete_response_v3())] {
            assert_eq!(
                decode_delete_acls_response(&bytes, version).unwrap(),
                DeleteAclsResponse {
                    correlation_id: 7,
                    throttle_time_ms: 0,
                    filter_results: deleted(),
                },
                "v{version}"
            );
        }
    }

    #[test]
    fn decodes_a_v0_binding_as_literal() {
        // DescribeAcls v0: one resource TOPIC "t" (no pattern type), one ACL.
        let bytes: Vec<u8> = [
            vec![0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1],
            vec![2, 0, 1, b't', 0, 0, 0, 1, 0, 6],
            b"User:a".to_vec(),
            vec![0, 1, b'*', 3, 3],
        ]
        .concat();
        let decoded = decode_describe_acls_response(&bytes, 0).unwrap();
        assert_eq!(decoded.acls, [read_t()]);
    }

    #[test]
    fn decoders_are_strict() {
        let samples: Vec<(&str, Vec<u8>, Decoder)> = vec![
            ("CreateAcls v1", create_response_v1(), |b| {
                decode_create_acls_response(b, 1).map(drop)
            }),
            ("CreateAcls v3", create_response_v3(), |b| {
                decode_create_acls_response(b, 3).map(drop)
            }),
            ("DescribeAcls v1", describe_response_v1(), |b| {
                decode_describe_acls_response(b, 1).map(drop)
            }),
            ("DescribeAcls v3", describe_response_v3(), |b| {
                decode_describe_acls_response(b, 3).map(drop)
            }),
            ("DeleteAcls v1", delete_response_v1(), |b| {
                decode_delete_acls_response(b, 1).map(drop)
            }),
            ("DeleteAcls v3", delete_response_v3(), |b| {
                decode_delete_acls_response(b, 3).map(drop)
            }),
        ];
        assert_strict_decoders(samples);
        // A response read as the other kind of version fails.
        assert!(decode_create_acls_response(&create_response_v3(), 1).is_err());
        assert!(decode_delete_acls_response(&delete_response_v1(), 3).is_err());
        // Unknown tagged fields, versions out of range.
        let mut tagged = create_response_v3();
        *tagged.last_mut().unwrap() = 1;
        tagged.extend([0, 0]);
        assert!(decode_create_acls_response(&tagged, 3).is_err());
        assert!(decode_create_acls_response(&create_response_v3(), 4).is_err());
        assert!(decode_describe_acls_response(&describe_response_v1(), -1).is_err());
    }
}
