//! Requests encoded and responses decoded by hand, from Kafka's message
//! schemas, for the classic consumer-group APIs: FindCoordinator v5,
//! JoinGroup v9, SyncGroup v5, Heartbeat v4, LeaveGroup v5, OffsetCommit v9,
//! OffsetFetch v9, DescribeGroups v5, ListGroups v5 and DeleteGroups v2, all
//! flexible versions (request header v2, response header v1), and
//! OffsetDelete v0, which is not. None
//! of their schemas defines a tagged field, so decoders require every
//! tagged-field section to be empty, and reject bytes left over.
//!
//! Also the "consumer" embedded protocol carried, opaque to the broker, in
//! JoinGroup metadata and SyncGroup assignments: non-flexible, big-endian,
//! INT16-length strings, INT32-length arrays and bytes.

use crate::protocol::{
    flexible_request_header as request_header, response_header_v1 as response_header,
};
use crate::wire::{Reader, Writer, compact_strings};
use anyhow::{Context, Result, bail, ensure};

pub const OFFSET_COMMIT: i16 = 8;
pub const OFFSET_FETCH: i16 = 9;
pub const FIND_COORDINATOR: i16 = 10;
pub const JOIN_GROUP: i16 = 11;
pub const HEARTBEAT: i16 = 12;
pub const LEAVE_GROUP: i16 = 13;
pub const SYNC_GROUP: i16 = 14;
pub const DESCRIBE_GROUPS: i16 = 15;
pub const LIST_GROUPS: i16 = 16;
pub const DELETE_GROUPS: i16 = 42;
pub const OFFSET_DELETE: i16 = 47;

pub const OFFSET_COMMIT_VERSION: i16 = 9;
pub const OFFSET_FETCH_VERSION: i16 = 9;
pub const FIND_COORDINATOR_VERSION: i16 = 5;
pub const JOIN_GROUP_VERSION: i16 = 9;
pub const HEARTBEAT_VERSION: i16 = 4;
pub const LEAVE_GROUP_VERSION: i16 = 5;
pub const SYNC_GROUP_VERSION: i16 = 5;
pub const DESCRIBE_GROUPS_VERSION: i16 = 5;
pub const LIST_GROUPS_VERSION: i16 = 5;
pub const DELETE_GROUPS_VERSION: i16 = 2;

/// FindCoordinator key types.
pub const KEY_TYPE_GROUP: i8 = 0;
pub const KEY_TYPE_TRANSACTION: i8 = 1;

/// The protocol type of consumer groups.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// Kafka error codes of these APIs (Kafka's `Errors`), beyond those in
/// [`crate::protocol::error`].
pub mod error {
    pub const OFFSET_METADATA_TOO_LARGE: i16 = 12;
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    pub const INVALID_GROUP_ID: i16 = 24;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const INVALID_SESSION_TIMEOUT: i16 = 26;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const NON_EMPTY_GROUP: i16 = 68;
    pub const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;
    pub const GROUP_ID_NOT_FOUND: i16 = 69;
    pub const MEMBER_ID_REQUIRED: i16 = 79;
    pub const GROUP_MAX_SIZE_REACHED: i16 = 81;
    pub const FENCED_INSTANCE_ID: i16 = 82;
    pub const UNSTABLE_OFFSET_COMMIT: i16 = 88;
}

/// Compact bytes that must not be null.
fn compact_bytes(r: &mut Reader<'_>) -> Result<Vec<u8>> {
    let at = r.position();
    Ok(r.compact_nullable_bytes()?
        .with_context(|| format!("null bytes at offset {at} where some are required"))?
        .to_vec())
}

// ------------------------------------------------------------ FindCoordinator

/// FindCoordinator v5 (the batched form) for `keys` of `key_type`.
pub fn find_coordinator_request(correlation_id: i32, key_type: i8, keys: &[&str]) -> Vec<u8> {
    let mut w = request_header(FIND_COORDINATOR, FIND_COORDINATOR_VERSION, correlation_id);
    w.i8(key_type);
    compact_strings(&mut w, keys);
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinator {
    pub key: String,
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindCoordinatorResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub coordinators: Vec<Coordinator>,
}

pub fn decode_find_coordinator_response(bytes: &[u8]) -> Result<FindCoordinatorResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let coordinators = r.compact_array(|r| {
        let coordinator = Coordinator {
            key: r.compact_string()?,
            node_id: r.i32()?,
            host: r.compact_string()?,
            port: r.i32()?,
            error_code: r.i16()?,
            error_message: r.compact_nullable_string()?,
        };
        r.no_tags()?;
        Ok(coordinator)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(FindCoordinatorResponse {
        correlation_id,
        throttle_time_ms,
        coordinators,
    })
}

// ------------------------------------------------------------------ JoinGroup

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupRequest {
    pub group_id: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub protocol_type: String,
    /// (protocol name, metadata).
    pub protocols: Vec<(String, Vec<u8>)>,
    pub reason: Option<String>,
}

impl JoinGroupRequest {
    /// A dynamic member of a consumer group, with the Java consumer's default
    /// timeouts (45 s session, 5 min rebalance).
    pub fn new(group_id: &str, member_id: &str, protocols: Vec<(String, Vec<u8>)>) -> Self {
        JoinGroupRequest {
            group_id: group_id.to_owned(),
            session_timeout_ms: 45_000,
            rebalance_timeout_ms: 300_000,
            member_id: member_id.to_owned(),
            group_instance_id: None,
            protocol_type: CONSUMER_PROTOCOL_TYPE.to_owned(),
            protocols,
            reason: None,
        }
    }
}

/// JoinGroup v9.
pub fn join_group_request(correlation_id: i32, request: &JoinGroupRequest) -> Vec<u8> {
    let mut w = request_header(JOIN_GROUP, JOIN_GROUP_VERSION, correlation_id);
    w.compact_string(&request.group_id)
        .i32(request.session_timeout_ms)
        .i32(request.rebalance_timeout_ms)
        .compact_string(&request.member_id)
        .compact_nullable_string(request.group_instance_id.as_deref())
        .compact_string(&request.protocol_type)
        .compact_array_len(request.protocols.len());
    for (name, metadata) in &request.protocols {
        w.compact_string(name)
            .compact_nullable_bytes(Some(metadata))
            .no_tags();
    }
    w.compact_nullable_string(request.reason.as_deref())
        .no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub skip_assignment: bool,
    pub member_id: String,
    pub members: Vec<JoinGroupMember>,
}

pub fn decode_join_group_response(bytes: &[u8]) -> Result<JoinGroupResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let generation_id = r.i32()?;
    let protocol_type = r.compact_nullable_string()?;
    let protocol_name = r.compact_nullable_string()?;
    let leader = r.compact_string()?;
    let skip_assignment = r.bool()?;
    let member_id = r.compact_string()?;
    let members = r.compact_array(|r| {
        let member = JoinGroupMember {
            member_id: r.compact_string()?,
            group_instance_id: r.compact_nullable_string()?,
            metadata: compact_bytes(r)?,
        };
        r.no_tags()?;
        Ok(member)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(JoinGroupResponse {
        correlation_id,
        throttle_time_ms,
        error_code,
        generation_id,
        protocol_type,
        protocol_name,
        leader,
        skip_assignment,
        member_id,
        members,
    })
}

// ------------------------------------------------------------------ SyncGroup

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// (member id, assignment); empty unless sent by the leader.
    pub assignments: Vec<(String, Vec<u8>)>,
}

impl SyncGroupRequest {
    /// A consumer group member with the "range" protocol and no assignments.
    pub fn new(group_id: &str, generation_id: i32, member_id: &str) -> Self {
        SyncGroupRequest {
            group_id: group_id.to_owned(),
            generation_id,
            member_id: member_id.to_owned(),
            group_instance_id: None,
            protocol_type: Some(CONSUMER_PROTOCOL_TYPE.to_owned()),
            protocol_name: Some("range".to_owned()),
            assignments: Vec::new(),
        }
    }
}

/// SyncGroup v5.
pub fn sync_group_request(correlation_id: i32, request: &SyncGroupRequest) -> Vec<u8> {
    let mut w = request_header(SYNC_GROUP, SYNC_GROUP_VERSION, correlation_id);
    w.compact_string(&request.group_id)
        .i32(request.generation_id)
        .compact_string(&request.member_id)
        .compact_nullable_string(request.group_instance_id.as_deref())
        .compact_nullable_string(request.protocol_type.as_deref())
        .compact_nullable_string(request.protocol_name.as_deref())
        .compact_array_len(request.assignments.len());
    for (member_id, assignment) in &request.assignments {
        w.compact_string(member_id)
            .compact_nullable_bytes(Some(assignment))
            .no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Vec<u8>,
}

pub fn decode_sync_group_response(bytes: &[u8]) -> Result<SyncGroupResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let response = SyncGroupResponse {
        correlation_id,
        throttle_time_ms: r.i32()?,
        error_code: r.i16()?,
        protocol_type: r.compact_nullable_string()?,
        protocol_name: r.compact_nullable_string()?,
        assignment: compact_bytes(&mut r)?,
    };
    r.no_tags()?;
    r.finish()?;
    Ok(response)
}

// ------------------------------------------------------------------ Heartbeat

/// Heartbeat v4.
pub fn heartbeat_request(
    correlation_id: i32,
    group_id: &str,
    generation_id: i32,
    member_id: &str,
    group_instance_id: Option<&str>,
) -> Vec<u8> {
    let mut w = request_header(HEARTBEAT, HEARTBEAT_VERSION, correlation_id);
    w.compact_string(group_id)
        .i32(generation_id)
        .compact_string(member_id)
        .compact_nullable_string(group_instance_id)
        .no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
}

pub fn decode_heartbeat_response(bytes: &[u8]) -> Result<HeartbeatResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let response = HeartbeatResponse {
        correlation_id,
        throttle_time_ms: r.i32()?,
        error_code: r.i16()?,
    };
    r.no_tags()?;
    r.finish()?;
    Ok(response)
}

// ----------------------------------------------------------------- LeaveGroup

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberIdentity {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub reason: Option<String>,
}

impl MemberIdentity {
    pub fn new(member_id: &str) -> Self {
        MemberIdentity {
            member_id: member_id.to_owned(),
            group_instance_id: None,
            reason: None,
        }
    }
}

/// LeaveGroup v5.
pub fn leave_group_request(
    correlation_id: i32,
    group_id: &str,
    members: &[MemberIdentity],
) -> Vec<u8> {
    let mut w = request_header(LEAVE_GROUP, LEAVE_GROUP_VERSION, correlation_id);
    w.compact_string(group_id).compact_array_len(members.len());
    for member in members {
        w.compact_string(&member.member_id)
            .compact_nullable_string(member.group_instance_id.as_deref())
            .compact_nullable_string(member.reason.as_deref())
            .no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub error_code: i16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveGroupResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub members: Vec<LeftMember>,
}

pub fn decode_leave_group_response(bytes: &[u8]) -> Result<LeaveGroupResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let members = r.compact_array(|r| {
        let member = LeftMember {
            member_id: r.compact_string()?,
            group_instance_id: r.compact_nullable_string()?,
            error_code: r.i16()?,
        };
        r.no_tags()?;
        Ok(member)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(LeaveGroupResponse {
        correlation_id,
        throttle_time_ms,
        error_code,
        members,
    })
}

// --------------------------------------------------------------- OffsetCommit

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitPartition {
    pub partition_index: i32,
    pub committed_offset: i64,
    pub committed_leader_epoch: i32,
    pub committed_metadata: Option<String>,
}

impl CommitPartition {
    /// An offset with no leader epoch and empty metadata, as the Java
    /// consumer commits it by default.
    pub fn new(partition_index: i32, committed_offset: i64) -> Self {
        CommitPartition {
            partition_index,
            committed_offset,
            committed_leader_epoch: -1,
            committed_metadata: Some(String::new()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    pub group_id: String,
    /// -1 (with an empty member id) to commit outside any generation.
    pub generation_id_or_member_epoch: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub topics: Vec<(String, Vec<CommitPartition>)>,
}

impl OffsetCommitRequest {
    /// A commit by a client outside the group (generation -1, no member id),
    /// as an admin client or a consumer with manual assignment sends it.
    pub fn standalone(group_id: &str, topics: Vec<(String, Vec<CommitPartition>)>) -> Self {
        OffsetCommitRequest {
            group_id: group_id.to_owned(),
            generation_id_or_member_epoch: -1,
            member_id: String::new(),
            group_instance_id: None,
            topics,
        }
    }
}

/// OffsetCommit v9.
pub fn offset_commit_request(correlation_id: i32, request: &OffsetCommitRequest) -> Vec<u8> {
    let mut w = request_header(OFFSET_COMMIT, OFFSET_COMMIT_VERSION, correlation_id);
    w.compact_string(&request.group_id)
        .i32(request.generation_id_or_member_epoch)
        .compact_string(&request.member_id)
        .compact_nullable_string(request.group_instance_id.as_deref())
        .compact_array_len(request.topics.len());
    for (name, partitions) in &request.topics {
        w.compact_string(name).compact_array_len(partitions.len());
        for p in partitions {
            w.i32(p.partition_index)
                .i64(p.committed_offset)
                .i32(p.committed_leader_epoch)
                .compact_nullable_string(p.committed_metadata.as_deref())
                .no_tags();
        }
        w.no_tags();
    }
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    /// Per topic, (partition index, error code).
    pub topics: Vec<(String, Vec<(i32, i16)>)>,
}

impl OffsetCommitResponse {
    pub fn error_code(&self, topic: &str, partition: i32) -> Option<i16> {
        self.topics
            .iter()
            .filter(|(name, _)| name == topic)
            .flat_map(|(_, partitions)| partitions)
            .find(|(index, _)| *index == partition)
            .map(|&(_, error_code)| error_code)
    }
}

pub fn decode_offset_commit_response(bytes: &[u8]) -> Result<OffsetCommitResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let topics = r.compact_array(|r| {
        let name = r.compact_string()?;
        let partitions = r.compact_array(|r| {
            let partition = (r.i32()?, r.i16()?);
            r.no_tags()?;
            Ok(partition)
        })?;
        r.no_tags()?;
        Ok((name, partitions))
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(OffsetCommitResponse {
        correlation_id,
        throttle_time_ms,
        topics,
    })
}

// ---------------------------------------------------------------- OffsetFetch

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchGroup {
    pub group_id: String,
    /// Only for the new consumer protocol (KIP-848).
    pub member_id: Option<String>,
    pub member_epoch: i32,
    /// (topic, partition indexes), or `None` for all topics.
    pub topics: Option<Vec<(String, Vec<i32>)>>,
}

impl OffsetFetchGroup {
    /// A classic group's committed offsets for `topics` (`None`: all).
    pub fn new(group_id: &str, topics: Option<Vec<(String, Vec<i32>)>>) -> Self {
        OffsetFetchGroup {
            group_id: group_id.to_owned(),
            member_id: None,
            member_epoch: -1,
            topics,
        }
    }
}

/// OffsetFetch v9.
pub fn offset_fetch_request(
    correlation_id: i32,
    groups: &[OffsetFetchGroup],
    require_stable: bool,
) -> Vec<u8> {
    let mut w = request_header(OFFSET_FETCH, OFFSET_FETCH_VERSION, correlation_id);
    w.compact_array_len(groups.len());
    for group in groups {
        w.compact_string(&group.group_id)
            .compact_nullable_string(group.member_id.as_deref())
            .i32(group.member_epoch);
        match &group.topics {
            None => {
                w.uvarint(0);
            }
            Some(topics) => {
                w.compact_array_len(topics.len());
                for (name, partitions) in topics {
                    w.compact_string(name)
                        .compact_i32_array(partitions)
                        .no_tags();
                }
            }
        }
        w.no_tags();
    }
    w.bool(require_stable).no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedOffset {
    pub partition_index: i32,
    pub committed_offset: i64,
    pub committed_leader_epoch: i32,
    pub metadata: Option<String>,
    pub error_code: i16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchGroupResponse {
    pub group_id: String,
    pub topics: Vec<(String, Vec<FetchedOffset>)>,
    pub error_code: i16,
}

impl OffsetFetchGroupResponse {
    pub fn partition(&self, topic: &str, index: i32) -> Option<&FetchedOffset> {
        self.topics
            .iter()
            .filter(|(name, _)| name == topic)
            .flat_map(|(_, partitions)| partitions)
            .find(|p| p.partition_index == index)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub groups: Vec<OffsetFetchGroupResponse>,
}

impl OffsetFetchResponse {
    pub fn group(&self, group_id: &str) -> Option<&OffsetFetchGroupResponse> {
        self.groups.iter().find(|g| g.group_id == group_id)
    }
}

pub fn decode_offset_fetch_response(bytes: &[u8]) -> Result<OffsetFetchResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let groups = r.compact_array(|r| {
        let group_id = r.compact_string()?;
        let topics = r.compact_array(|r| {
            let name = r.compact_string()?;
            let partitions = r.compact_array(|r| {
                let partition = FetchedOffset {
                    partition_index: r.i32()?,
                    committed_offset: r.i64()?,
                    committed_leader_epoch: r.i32()?,
                    metadata: r.compact_nullable_string()?,
                    error_code: r.i16()?,
                };
                r.no_tags()?;
                Ok(partition)
            })?;
            r.no_tags()?;
            Ok((name, partitions))
        })?;
        let error_code = r.i16()?;
        r.no_tags()?;
        Ok(OffsetFetchGroupResponse {
            group_id,
            topics,
            error_code,
        })
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(OffsetFetchResponse {
        correlation_id,
        throttle_time_ms,
        groups,
    })
}

// ------------------------------------------------------------- DescribeGroups

/// DescribeGroups v5.
pub fn describe_groups_request(
    correlation_id: i32,
    groups: &[&str],
    include_authorized_operations: bool,
) -> Vec<u8> {
    let mut w = request_header(DESCRIBE_GROUPS, DESCRIBE_GROUPS_VERSION, correlation_id);
    compact_strings(&mut w, groups);
    w.bool(include_authorized_operations).no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedGroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_metadata: Vec<u8>,
    pub member_assignment: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedGroup {
    pub error_code: i16,
    pub group_id: String,
    pub group_state: String,
    pub protocol_type: String,
    pub protocol_data: String,
    pub members: Vec<DescribedGroupMember>,
    pub authorized_operations: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeGroupsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub groups: Vec<DescribedGroup>,
}

pub fn decode_describe_groups_response(bytes: &[u8]) -> Result<DescribeGroupsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let groups = r.compact_array(|r| {
        let error_code = r.i16()?;
        let group_id = r.compact_string()?;
        let group_state = r.compact_string()?;
        let protocol_type = r.compact_string()?;
        let protocol_data = r.compact_string()?;
        let members = r.compact_array(|r| {
            let member = DescribedGroupMember {
                member_id: r.compact_string()?,
                group_instance_id: r.compact_nullable_string()?,
                client_id: r.compact_string()?,
                client_host: r.compact_string()?,
                member_metadata: compact_bytes(r)?,
                member_assignment: compact_bytes(r)?,
            };
            r.no_tags()?;
            Ok(member)
        })?;
        let authorized_operations = r.i32()?;
        r.no_tags()?;
        Ok(DescribedGroup {
            error_code,
            group_id,
            group_state,
            protocol_type,
            protocol_data,
            members,
            authorized_operations,
        })
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(DescribeGroupsResponse {
        correlation_id,
        throttle_time_ms,
        groups,
    })
}

// ----------------------------------------------------------------- ListGroups

/// ListGroups v5; empty filters list every group.
pub fn list_groups_request(
    correlation_id: i32,
    states_filter: &[&str],
    types_filter: &[&str],
) -> Vec<u8> {
    let mut w = request_header(LIST_GROUPS, LIST_GROUPS_VERSION, correlation_id);
    compact_strings(&mut w, states_filter);
    compact_strings(&mut w, types_filter);
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    pub group_state: String,
    pub group_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListGroupsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub groups: Vec<ListedGroup>,
}

pub fn decode_list_groups_response(bytes: &[u8]) -> Result<ListGroupsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let groups = r.compact_array(|r| {
        let group = ListedGroup {
            group_id: r.compact_string()?,
            protocol_type: r.compact_string()?,
            group_state: r.compact_string()?,
            group_type: r.compact_string()?,
        };
        r.no_tags()?;
        Ok(group)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(ListGroupsResponse {
        correlation_id,
        throttle_time_ms,
        error_code,
        groups,
    })
}

// --------------------------------------------------------------- DeleteGroups

/// DeleteGroups v2.
pub fn delete_groups_request(correlation_id: i32, groups_names: &[&str]) -> Vec<u8> {
    let mut w = request_header(DELETE_GROUPS, DELETE_GROUPS_VERSION, correlation_id);
    compact_strings(&mut w, groups_names);
    w.no_tags();
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteGroupsResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    /// (group id, error code).
    pub results: Vec<(String, i16)>,
}

pub fn decode_delete_groups_response(bytes: &[u8]) -> Result<DeleteGroupsResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let results = r.compact_array(|r| {
        let result = (r.compact_string()?, r.i16()?);
        r.no_tags()?;
        Ok(result)
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(DeleteGroupsResponse {
        correlation_id,
        throttle_time_ms,
        results,
    })
}

// --------------------------------------------------------------- OffsetDelete

/// OffsetDelete v0, its only version (non-flexible: request header v1,
/// response header v0, INT16-length strings, INT32-length arrays).
pub fn offset_delete_request(
    correlation_id: i32,
    group_id: &str,
    topics: &[(&str, Vec<i32>)],
) -> Vec<u8> {
    let mut w = crate::protocol::non_flexible_request_header(OFFSET_DELETE, 0, correlation_id);
    w.nullable_string(Some(group_id)).i32(topics.len() as i32);
    for (name, partitions) in topics {
        w.nullable_string(Some(name)).i32(partitions.len() as i32);
        for partition in partitions {
            w.i32(*partition);
        }
    }
    w.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetDeleteResponse {
    pub correlation_id: i32,
    pub error_code: i16,
    /// (topic, partition, error code), in response order.
    pub partitions: Vec<(String, i32, i16)>,
}

pub fn decode_offset_delete_response(bytes: &[u8]) -> Result<OffsetDeleteResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = r.i32()?;
    let error_code = r.i16()?;
    let _throttle_time_ms = r.i32()?;
    let topics = array(&mut r, |r| {
        let name = string(r)?;
        let partitions = array(r, |r| Ok((r.i32()?, r.i16()?)))?;
        Ok((name, partitions))
    })?;
    r.finish()?;
    Ok(OffsetDeleteResponse {
        correlation_id,
        error_code,
        partitions: topics
            .into_iter()
            .flat_map(|(name, partitions)| {
                partitions
                    .into_iter()
                    .map(move |(partition, code)| (name.clone(), partition, code))
            })
            .collect(),
    })
}

// ---------------------------------------------- The "consumer" embedded protocol

/// INT16-length string that must not be null.
fn string(r: &mut Reader<'_>) -> Result<String> {
    let at = r.position();
    r.nullable_string()?
        .with_context(|| format!("null string at offset {at} where one is required"))
}

/// INT32-length array that must not be null.
fn array<T>(
    r: &mut Reader<'_>,
    element: impl FnMut(&mut Reader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let at = r.position();
    r.nullable_array(element)?
        .with_context(|| format!("null array at offset {at} where one is required"))
}

/// INT32-length bytes; `None` when null.
fn nullable_bytes(r: &mut Reader<'_>) -> Result<Option<Vec<u8>>> {
    let len = r.i32()?;
    if len < 0 {
        ensure!(len == -1, "bytes length {len}");
        return Ok(None);
    }
    Ok(Some(r.bytes(len as usize)?.to_vec()))
}

fn write_nullable_bytes(w: &mut Writer, bytes: Option<&[u8]>) {
    match bytes {
        None => {
            w.i32(-1);
        }
        Some(bytes) => {
            w.i32(bytes.len() as i32).raw(bytes);
        }
    }
}

/// (topic, partitions) pairs as INT32-length arrays of TopicPartition.
fn write_topic_partitions(w: &mut Writer, topics: &[(String, Vec<i32>)]) {
    w.i32(topics.len() as i32);
    for (topic, partitions) in topics {
        w.nullable_string(Some(topic)).i32(partitions.len() as i32);
        for p in partitions {
            w.i32(*p);
        }
    }
}

fn topic_partitions(r: &mut Reader<'_>) -> Result<Vec<(String, Vec<i32>)>> {
    array(r, |r| Ok((string(r)?, array(r, |r| r.i32())?)))
}

/// ConsumerProtocolSubscription, the metadata of a "consumer" protocol in
/// JoinGroup. Fields of versions above `version` keep their defaults (empty,
/// -1, `None`) and are not encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSubscription {
    pub version: i16,
    pub topics: Vec<String>,
    pub user_data: Option<Vec<u8>>,
    /// Version 1+.
    pub owned_partitions: Vec<(String, Vec<i32>)>,
    /// Version 2+.
    pub generation_id: i32,
    /// Version 3+.
    pub rack_id: Option<String>,
}

impl ConsumerSubscription {
    /// A version 0 subscription to `topics`.
    pub fn new(topics: &[&str]) -> Self {
        ConsumerSubscription {
            version: 0,
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            user_data: None,
            owned_partitions: Vec::new(),
            generation_id: -1,
            rack_id: None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.i16(self.version).i32(self.topics.len() as i32);
        for topic in &self.topics {
            w.nullable_string(Some(topic));
        }
        write_nullable_bytes(&mut w, self.user_data.as_deref());
        if self.version >= 1 {
            write_topic_partitions(&mut w, &self.owned_partitions);
        }
        if self.version >= 2 {
            w.i32(self.generation_id);
        }
        if self.version >= 3 {
            w.nullable_string(self.rack_id.as_deref());
        }
        w.into_bytes()
    }
}

/// Decodes a subscription of version 0 to 3 (the versions Kafka's schema
/// defines), rejecting bytes left over.
pub fn decode_consumer_subscription(bytes: &[u8]) -> Result<ConsumerSubscription> {
    let mut r = Reader::new(bytes);
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        bail!("consumer subscription version {version}");
    }
    let topics = array(&mut r, string)?;
    let user_data = nullable_bytes(&mut r)?;
    let owned_partitions = if version >= 1 {
        topic_partitions(&mut r)?
    } else {
        Vec::new()
    };
    let generation_id = if version >= 2 { r.i32()? } else { -1 };
    let rack_id = if version >= 3 {
        r.nullable_string()?
    } else {
        None
    };
    r.finish()?;
    Ok(ConsumerSubscription {
        version,
        topics,
        user_data,
        owned_partitions,
        generation_id,
        rack_id,
    })
}

/// ConsumerProtocolAssignment, a member's assignment in SyncGroup. Its
/// layout is the same in versions 0 to 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerAssignment {
    pub version: i16,
    /// (topic, partitions).
    pub assigned_partitions: Vec<(String, Vec<i32>)>,
    pub user_data: Option<Vec<u8>>,
}

impl ConsumerAssignment {
    /// A version 0 assignment.
    pub fn new(assigned_partitions: Vec<(String, Vec<i32>)>) -> Self {
        ConsumerAssignment {
            version: 0,
            assigned_partitions,
            user_data: None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.i16(self.version);
        write_topic_partitions(&mut w, &self.assigned_partitions);
        write_nullable_bytes(&mut w, self.user_data.as_deref());
        w.into_bytes()
    }
}

/// Decodes an assignment of version 0 to 3, rejecting bytes left over.
pub fn decode_consumer_assignment(bytes: &[u8]) -> Result<ConsumerAssignment> {
    let mut r = Reader::new(bytes);
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        bail!("consumer assignment version {version}");
    }
    let assigned_partitions = topic_partitions(&mut r)?;
    let user_data = nullable_bytes(&mut r)?;
    r.finish()?;
    Ok(ConsumerAssignment {
        version,
        assigned_partitions,
        user_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::CLIENT_ID;

    /// Checks a request header v2 and leaves the reader at the body.
    fn request_body(bytes: &[u8], api_key: i16, version: i16, correlation_id: i32) -> Reader<'_> {
        let mut r = Reader::new(bytes);
        assert_eq!(r.i16().unwrap(), api_key);
        assert_eq!(r.i16().unwrap(), version);
        assert_eq!(r.i32().unwrap(), correlation_id);
        assert_eq!(r.nullable_string().unwrap().as_deref(), Some(CLIENT_ID));
        r.no_tags().unwrap();
        r
    }

    /// A response header v1.
    fn response(correlation_id: i32) -> Writer {
        let mut w = Writer::new();
        w.i32(correlation_id).no_tags();
        w
    }

    fn strings(r: &mut Reader<'_>) -> Vec<String> {
        r.compact_array(|r| r.compact_string()).unwrap()
    }

    fn end(mut r: Reader<'_>) {
        r.no_tags().unwrap();
        r.finish().unwrap();
    }

    // ------------------------------------------------------------ requests

    #[test]
    fn find_coordinator_request_fields() {
        let bytes = find_coordinator_request(1, KEY_TYPE_GROUP, &["g1", "g2"]);
        let mut r = request_body(&bytes, FIND_COORDINATOR, 5, 1);
        assert_eq!(r.i8().unwrap(), 0);
        assert_eq!(strings(&mut r), vec!["g1", "g2"]);
        end(r);
    }

    #[test]
    fn join_group_request_fields() {
        let metadata = ConsumerSubscription::new(&["foo"]).encode();
        let mut request =
            JoinGroupRequest::new("g", "", vec![("range".to_owned(), metadata.clone())]);
        request.reason = Some("rejoin".to_owned());
        let bytes = join_group_request(2, &request);
        let mut r = request_body(&bytes, JOIN_GROUP, 9, 2);
        assert_eq!(r.compact_string().unwrap(), "g");
        assert_eq!(r.i32().unwrap(), 45_000);
        assert_eq!(r.i32().unwrap(), 300_000);
        assert_eq!(r.compact_string().unwrap(), "");
        assert_eq!(r.compact_nullable_string().unwrap(), None);
        assert_eq!(r.compact_string().unwrap(), "consumer");
        let protocols = r
            .compact_array(|r| {
                let p = (r.compact_string()?, compact_bytes(r)?);
                r.no_tags()?;
                Ok(p)
            })
            .unwrap();
        assert_eq!(protocols, vec![("range".to_owned(), metadata)]);
        assert_eq!(
            r.compact_nullable_string().unwrap().as_deref(),
            Some("rejoin")
        );
        end(r);
    }

    #[test]
    fn sync_group_request_fields() {
        let mut request = SyncGroupRequest::new("g", 3, "m1");
        request.group_instance_id = Some("i1".to_owned());
        request.assignments = vec![("m1".to_owned(), vec![0, 1]), ("m2".to_owned(), vec![])];
        let bytes = sync_group_request(3, &request);
        let mut r = request_body(&bytes, SYNC_GROUP, 5, 3);
        assert_eq!(r.compact_string().unwrap(), "g");
        assert_eq!(r.i32().unwrap(), 3);
        assert_eq!(r.compact_string().unwrap(), "m1");
        assert_eq!(r.compact_nullable_string().unwrap().as_deref(), Some("i1"));
        assert_eq!(
            r.compact_nullable_string().unwrap().as_deref(),
            Some("consumer")
        );
        assert_eq!(
            r.compact_nullable_string().unwrap().as_deref(),
            Some("range")
        );
        let assignments = r
            .compact_array(|r| {
                let a = (r.compact_string()?, compact_bytes(r)?);
                r.no_tags()?;
                Ok(a)
            })
            .unwrap();
        assert_eq!(
            assignments,
            vec![("m1".to_owned(), vec![0, 1]), ("m2".to_owned(), vec![])]
        );
        end(r);
    }

    #[test]
    fn heartbeat_request_fields() {
        let bytes = heartbeat_request(4, "g", 7, "m1", None);
        let mut r = request_body(&bytes, HEARTBEAT, 4, 4);
        assert_eq!(r.compact_string().unwrap(), "g");
        assert_eq!(r.i32().unwrap(), 7);
        assert_eq!(r.compact_string().unwrap(), "m1");
        assert_eq!(r.compact_nullable_string().unwrap(), None);
        end(r);
    }

    #[test]
    fn leave_group_request_fields() {
        let mut static_member = MemberIdentity::new("m2");
        static_member.group_instance_id = Some("i2".to_owned());
        static_member.reason = Some("bye".to_owned());
        let bytes = leave_group_request(5, "g", &[MemberIdentity::new("m1"), static_member]);
        let mut r = request_body(&bytes, LEAVE_GROUP, 5, 5);
        assert_eq!(r.compact_string().unwrap(), "g");
        let members = r
            .compact_array(|r| {
                let m = (
                    r.compact_string()?,
                    r.compact_nullable_string()?,
                    r.compact_nullable_string()?,
                );
                r.no_tags()?;
                Ok(m)
            })
            .unwrap();
        assert_eq!(
            members,
            vec![
                ("m1".to_owned(), None, None),
                (
                    "m2".to_owned(),
                    Some("i2".to_owned()),
                    Some("bye".to_owned())
                ),
            ]
        );
        end(r);
    }

    #[test]
    fn offset_commit_request_fields() {
        let mut p1 = CommitPartition::new(1, 20);
        p1.committed_leader_epoch = 2;
        p1.committed_metadata = None;
        let request = OffsetCommitRequest::standalone(
            "g",
            vec![("foo".to_owned(), vec![CommitPartition::new(0, 10), p1])],
        );
        let bytes = offset_commit_request(6, &request);
        let mut r = request_body(&bytes, OFFSET_COMMIT, 9, 6);
        assert_eq!(r.compact_string().unwrap(), "g");
        assert_eq!(r.i32().unwrap(), -1);
        assert_eq!(r.compact_string().unwrap(), "");
        assert_eq!(r.compact_nullable_string().unwrap(), None);
        let topics = r
            .compact_array(|r| {
                let name = r.compact_string()?;
                let partitions = r.compact_array(|r| {
                    let p = (r.i32()?, r.i64()?, r.i32()?, r.compact_nullable_string()?);
                    r.no_tags()?;
                    Ok(p)
                })?;
                r.no_tags()?;
                Ok((name, partitions))
            })
            .unwrap();
        assert_eq!(
            topics,
            vec![(
                "foo".to_owned(),
                vec![(0, 10, -1, Some(String::new())), (1, 20, 2, None)]
            )]
        );
        end(r);
    }

    #[test]
    fn offset_fetch_request_fields() {
        let bytes = offset_fetch_request(
            7,
            &[
                OffsetFetchGroup::new("g1", Some(vec![("foo".to_owned(), vec![0, 1])])),
                OffsetFetchGroup::new("g2", None),
            ],
            true,
        );
        let mut r = request_body(&bytes, OFFSET_FETCH, 9, 7);
        let groups = r
            .compact_array(|r| {
                let group_id = r.compact_string()?;
                let member_id = r.compact_nullable_string()?;
                let member_epoch = r.i32()?;
                let topics = r.compact_nullable_array(|r| {
                    let t = (r.compact_string()?, r.compact_i32_array()?);
                    r.no_tags()?;
                    Ok(t)
                })?;
                r.no_tags()?;
                Ok((group_id, member_id, member_epoch, topics))
            })
            .unwrap();
        assert_eq!(
            groups,
            vec![
                (
                    "g1".to_owned(),
                    None,
                    -1,
                    Some(vec![("foo".to_owned(), vec![0, 1])])
                ),
                ("g2".to_owned(), None, -1, None),
            ]
        );
        assert!(r.bool().unwrap());
        end(r);
    }

    #[test]
    fn describe_list_and_delete_groups_request_fields() {
        let bytes = describe_groups_request(8, &["g1", "g2"], true);
        let mut r = request_body(&bytes, DESCRIBE_GROUPS, 5, 8);
        assert_eq!(strings(&mut r), vec!["g1", "g2"]);
        assert!(r.bool().unwrap());
        end(r);

        let bytes = list_groups_request(9, &["Stable"], &[]);
        let mut r = request_body(&bytes, LIST_GROUPS, 5, 9);
        assert_eq!(strings(&mut r), vec!["Stable"]);
        assert!(strings(&mut r).is_empty());
        end(r);

        let bytes = delete_groups_request(10, &["g"]);
        let mut r = request_body(&bytes, DELETE_GROUPS, 2, 10);
        assert_eq!(strings(&mut r), vec!["g"]);
        end(r);
    }

    // ----------------------------------------------------------- responses

    fn find_coordinator_bytes() -> Vec<u8> {
        let mut w = response(1);
        w.i32(0).compact_array_len(2);
        w.compact_string("g1")
            .i32(1)
            .compact_string("localhost")
            .i32(9092)
            .i16(0)
            .compact_nullable_string(None)
            .no_tags();
        w.compact_string("")
            .i32(-1)
            .compact_string("")
            .i32(-1)
            .i16(error::INVALID_GROUP_ID)
            .compact_nullable_string(Some("empty"))
            .no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn find_coordinator_response() {
        assert_eq!(
            decode_find_coordinator_response(&find_coordinator_bytes()).unwrap(),
            FindCoordinatorResponse {
                correlation_id: 1,
                throttle_time_ms: 0,
                coordinators: vec![
                    Coordinator {
                        key: "g1".into(),
                        node_id: 1,
                        host: "localhost".into(),
                        port: 9092,
                        error_code: 0,
                        error_message: None,
                    },
                    Coordinator {
                        key: String::new(),
                        node_id: -1,
                        host: String::new(),
                        port: -1,
                        error_code: 24,
                        error_message: Some("empty".into()),
                    },
                ],
            }
        );
    }

    fn join_group_bytes() -> Vec<u8> {
        let mut w = response(2);
        w.i32(0)
            .i16(0)
            .i32(1)
            .compact_nullable_string(Some("consumer"))
            .compact_nullable_string(Some("range"))
            .compact_string("m1")
            .bool(false)
            .compact_string("m1")
            .compact_array_len(2);
        w.compact_string("m1")
            .compact_nullable_string(None)
            .compact_nullable_bytes(Some(&[0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]))
            .no_tags();
        w.compact_string("m2")
            .compact_nullable_string(Some("i2"))
            .compact_nullable_bytes(Some(&[]))
            .no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn join_group_response() {
        let response = decode_join_group_response(&join_group_bytes()).unwrap();
        assert_eq!(
            response,
            JoinGroupResponse {
                correlation_id: 2,
                throttle_time_ms: 0,
                error_code: 0,
                generation_id: 1,
                protocol_type: Some("consumer".into()),
                protocol_name: Some("range".into()),
                leader: "m1".into(),
                skip_assignment: false,
                member_id: "m1".into(),
                members: vec![
                    JoinGroupMember {
                        member_id: "m1".into(),
                        group_instance_id: None,
                        metadata: vec![0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
                    },
                    JoinGroupMember {
                        member_id: "m2".into(),
                        group_instance_id: Some("i2".into()),
                        metadata: vec![],
                    },
                ],
            }
        );
        // The first member's metadata is an empty version 0 subscription.
        assert_eq!(
            decode_consumer_subscription(&response.members[0].metadata).unwrap(),
            ConsumerSubscription::new(&[])
        );
    }

    #[test]
    fn join_group_member_metadata_must_not_be_null() {
        let mut w = response(2);
        w.i32(0)
            .i16(error::MEMBER_ID_REQUIRED)
            .i32(-1)
            .compact_nullable_string(None)
            .compact_nullable_string(None)
            .compact_string("")
            .bool(false)
            .compact_string("m1")
            .compact_array_len(0)
            .no_tags();
        let ok = w.clone().into_bytes();
        assert_eq!(decode_join_group_response(&ok).unwrap().error_code, 79);

        let mut w = response(2);
        w.i32(0)
            .i16(0)
            .i32(1)
            .compact_nullable_string(None)
            .compact_nullable_string(None)
            .compact_string("m1")
            .bool(false)
            .compact_string("m1")
            .compact_array_len(1);
        w.compact_string("m1")
            .compact_nullable_string(None)
            .compact_nullable_bytes(None)
            .no_tags();
        w.no_tags();
        assert!(decode_join_group_response(&w.into_bytes()).is_err());
    }

    fn sync_group_bytes() -> Vec<u8> {
        let assignment = ConsumerAssignment::new(vec![("foo".to_owned(), vec![0, 1])]).encode();
        let mut w = response(3);
        w.i32(0)
            .i16(0)
            .compact_nullable_string(Some("consumer"))
            .compact_nullable_string(Some("range"))
            .compact_nullable_bytes(Some(&assignment))
            .no_tags();
        w.into_bytes()
    }

    #[test]
    fn sync_group_response() {
        let response = decode_sync_group_response(&sync_group_bytes()).unwrap();
        assert_eq!(
            (
                response.correlation_id,
                response.throttle_time_ms,
                response.error_code,
                response.protocol_type.as_deref(),
                response.protocol_name.as_deref(),
            ),
            (3, 0, 0, Some("consumer"), Some("range"))
        );
        assert_eq!(
            decode_consumer_assignment(&response.assignment).unwrap(),
            ConsumerAssignment {
                version: 0,
                assigned_partitions: vec![("foo".to_owned(), vec![0, 1])],
                user_data: None,
            }
        );
    }

    fn heartbeat_bytes() -> Vec<u8> {
        let mut w = response(4);
        w.i32(0).i16(error::REBALANCE_IN_PROGRESS).no_tags();
        w.into_bytes()
    }

    #[test]
    fn heartbeat_response() {
        assert_eq!(
            decode_heartbeat_response(&heartbeat_bytes()).unwrap(),
            HeartbeatResponse {
                correlation_id: 4,
                throttle_time_ms: 0,
                error_code: 27,
            }
        );
    }

    fn leave_group_bytes() -> Vec<u8> {
        let mut w = response(5);
        w.i32(0).i16(0).compact_array_len(2);
        w.compact_string("m1")
            .compact_nullable_string(None)
            .i16(0)
            .no_tags();
        w.compact_string("m9")
            .compact_nullable_string(Some("i9"))
            .i16(error::UNKNOWN_MEMBER_ID)
            .no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn leave_group_response() {
        assert_eq!(
            decode_leave_group_response(&leave_group_bytes()).unwrap(),
            LeaveGroupResponse {
                correlation_id: 5,
                throttle_time_ms: 0,
                error_code: 0,
                members: vec![
                    LeftMember {
                        member_id: "m1".into(),
                        group_instance_id: None,
                        error_code: 0,
                    },
                    LeftMember {
                        member_id: "m9".into(),
                        group_instance_id: Some("i9".into()),
                        error_code: 25,
                    },
                ],
            }
        );
    }

    fn offset_commit_bytes() -> Vec<u8> {
        let mut w = response(6);
        w.i32(0).compact_array_len(1).compact_string("foo");
        w.compact_array_len(2);
        w.i32(0).i16(0).no_tags();
        w.i32(1).i16(error::ILLEGAL_GENERATION).no_tags();
        w.no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn offset_commit_response() {
        let response = decode_offset_commit_response(&offset_commit_bytes()).unwrap();
        assert_eq!(
            response,
            OffsetCommitResponse {
                correlation_id: 6,
                throttle_time_ms: 0,
                topics: vec![("foo".to_owned(), vec![(0, 0), (1, 22)])],
            }
        );
        assert_eq!(response.error_code("foo", 1), Some(22));
        assert_eq!(response.error_code("foo", 2), None);
    }

    fn offset_fetch_bytes() -> Vec<u8> {
        let mut w = response(7);
        w.i32(0).compact_array_len(2);
        w.compact_string("g1")
            .compact_array_len(1)
            .compact_string("foo");
        w.compact_array_len(2);
        w.i32(0)
            .i64(10)
            .i32(-1)
            .compact_nullable_string(Some(""))
            .i16(0)
            .no_tags();
        w.i32(1)
            .i64(-1)
            .i32(-1)
            .compact_nullable_string(None)
            .i16(0)
            .no_tags();
        w.no_tags();
        w.i16(0).no_tags();
        w.compact_string("g2")
            .compact_array_len(0)
            .i16(error::NOT_COORDINATOR)
            .no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn offset_fetch_response() {
        let response = decode_offset_fetch_response(&offset_fetch_bytes()).unwrap();
        assert_eq!(response.correlation_id, 7);
        let g1 = response.group("g1").unwrap();
        assert_eq!(g1.error_code, 0);
        assert_eq!(
            g1.partition("foo", 0),
            Some(&FetchedOffset {
                partition_index: 0,
                committed_offset: 10,
                committed_leader_epoch: -1,
                metadata: Some(String::new()),
                error_code: 0,
            })
        );
        assert_eq!(g1.partition("foo", 1).unwrap().committed_offset, -1);
        assert_eq!(g1.partition("foo", 1).unwrap().metadata, None);
        assert_eq!(
            response.group("g2"),
            Some(&OffsetFetchGroupResponse {
                group_id: "g2".into(),
                topics: vec![],
                error_code: 16,
            })
        );
    }

    fn describe_groups_bytes() -> Vec<u8> {
        let mut w = response(8);
        w.i32(0).compact_array_len(2);
        w.i16(0)
            .compact_string("g1")
            .compact_string("Stable")
            .compact_string("consumer")
            .compact_string("range")
            .compact_array_len(1);
        w.compact_string("m1")
            .compact_nullable_string(None)
            .compact_string("client")
            .compact_string("/127.0.0.1")
            .compact_nullable_bytes(Some(&[1, 2]))
            .compact_nullable_bytes(Some(&[3]))
            .no_tags();
        w.i32(i32::MIN).no_tags();
        w.i16(0)
            .compact_string("g2")
            .compact_string("Dead")
            .compact_string("")
            .compact_string("")
            .compact_array_len(0)
            .i32(i32::MIN)
            .no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn describe_groups_response() {
        let response = decode_describe_groups_response(&describe_groups_bytes()).unwrap();
        assert_eq!(
            response,
            DescribeGroupsResponse {
                correlation_id: 8,
                throttle_time_ms: 0,
                groups: vec![
                    DescribedGroup {
                        error_code: 0,
                        group_id: "g1".into(),
                        group_state: "Stable".into(),
                        protocol_type: "consumer".into(),
                        protocol_data: "range".into(),
                        members: vec![DescribedGroupMember {
                            member_id: "m1".into(),
                            group_instance_id: None,
                            client_id: "client".into(),
                            client_host: "/127.0.0.1".into(),
                            member_metadata: vec![1, 2],
                            member_assignment: vec![3],
                        }],
                        authorized_operations: i32::MIN,
                    },
                    DescribedGroup {
                        error_code: 0,
                        group_id: "g2".into(),
                        group_state: "Dead".into(),
                        protocol_type: String::new(),
                        protocol_data: String::new(),
                        members: vec![],
                        authorized_operations: i32::MIN,
                    },
                ],
            }
        );
    }

    fn list_groups_bytes() -> Vec<u8> {
        let mut w = response(9);
        w.i32(0).i16(0).compact_array_len(1);
        w.compact_string("g1")
            .compact_string("consumer")
            .compact_string("Stable")
            .compact_string("classic")
            .no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn list_groups_response() {
        assert_eq!(
            decode_list_groups_response(&list_groups_bytes()).unwrap(),
            ListGroupsResponse {
                correlation_id: 9,
                throttle_time_ms: 0,
                error_code: 0,
                groups: vec![ListedGroup {
                    group_id: "g1".into(),
                    protocol_type: "consumer".into(),
                    group_state: "Stable".into(),
                    group_type: "classic".into(),
                }],
            }
        );
    }

    fn delete_groups_bytes() -> Vec<u8> {
        let mut w = response(10);
        w.i32(0).compact_array_len(2);
        w.compact_string("g1").i16(0).no_tags();
        w.compact_string("g2").i16(error::NON_EMPTY_GROUP).no_tags();
        w.no_tags();
        w.into_bytes()
    }

    #[test]
    fn delete_groups_response() {
        assert_eq!(
            decode_delete_groups_response(&delete_groups_bytes()).unwrap(),
            DeleteGroupsResponse {
                correlation_id: 10,
                throttle_time_ms: 0,
                results: vec![("g1".to_owned(), 0), ("g2".to_owned(), 68)],
            }
        );
    }

    // ---------------------------------------------------------- strictness

    use crate::wire::Decoder;

    fn samples() -> Vec<(&'static str, Vec<u8>, Decoder)> {
        vec![
            ("FindCoordinator", find_coordinator_bytes(), |b| {
                decode_find_coordinator_response(b).map(drop)
            }),
            ("JoinGroup", join_group_bytes(), |b| {
                decode_join_group_response(b).map(drop)
            }),
            ("SyncGroup", sync_group_bytes(), |b| {
                decode_sync_group_response(b).map(drop)
            }),
            ("Heartbeat", heartbeat_bytes(), |b| {
                decode_heartbeat_response(b).map(drop)
            }),
            ("LeaveGroup", leave_group_bytes(), |b| {
                decode_leave_group_response(b).map(drop)
            }),
            ("OffsetCommit", offset_commit_bytes(), |b| {
                decode_offset_commit_response(b).map(drop)
            }),
            ("OffsetFetch", offset_fetch_bytes(), |b| {
                decode_offset_fetch_response(b).map(drop)
            }),
            ("DescribeGroups", describe_groups_bytes(), |b| {
                decode_describe_groups_response(b).map(drop)
            }),
            ("ListGroups", list_groups_bytes(), |b| {
                decode_list_groups_response(b).map(drop)
            }),
            ("DeleteGroups", delete_groups_bytes(), |b| {
                decode_delete_groups_response(b).map(drop)
            }),
        ]
    }

    #[test]
    fn decoders_reject_leftover_bytes_and_truncated_responses() {
        crate::wire::assert_strict_decoders(samples());
    }

    #[test]
    fn decoders_reject_tagged_fields() {
        // None of these schemas defines a tagged field: a tagged field at the
        // end of the body, or in a DeleteGroups result, is an error.
        let mut bytes = heartbeat_bytes();
        let last = bytes.len() - 1;
        bytes.splice(last.., [1, 0, 1, 0]);
        assert!(decode_heartbeat_response(&bytes).is_err());

        let result = |tags: &[u8]| {
            let mut w = response(10);
            w.i32(0)
                .compact_array_len(1)
                .compact_string("g")
                .i16(0)
                .raw(tags)
                .no_tags();
            w.into_bytes()
        };
        decode_delete_groups_response(&result(&[0])).unwrap();
        assert!(decode_delete_groups_response(&result(&[1, 0, 1, 0])).is_err());
    }

    // ------------------------------------------------- consumer protocol

    #[test]
    fn consumer_subscription_v0_layout() {
        let mut subscription = ConsumerSubscription::new(&["foo", "bar"]);
        subscription.user_data = Some(vec![9]);
        let bytes = subscription.encode();
        let mut expected = Writer::new();
        expected
            .i16(0)
            .i32(2)
            .i16(3)
            .raw(b"foo")
            .i16(3)
            .raw(b"bar")
            .i32(1)
            .raw(&[9]);
        assert_eq!(bytes, expected.into_bytes());
        assert_eq!(decode_consumer_subscription(&bytes).unwrap(), subscription);

        let empty = ConsumerSubscription::new(&[]).encode();
        assert_eq!(empty, vec![0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn consumer_subscription_later_versions() {
        let subscription = ConsumerSubscription {
            version: 3,
            topics: vec!["foo".into()],
            user_data: None,
            owned_partitions: vec![("foo".into(), vec![0, 2])],
            generation_id: 4,
            rack_id: Some("r1".into()),
        };
        let bytes = subscription.encode();
        let mut expected = Writer::new();
        expected
            .i16(3)
            .i32(1)
            .i16(3)
            .raw(b"foo")
            .i32(-1)
            .i32(1)
            .i16(3)
            .raw(b"foo")
            .i32(2)
            .i32(0)
            .i32(2)
            .i32(4)
            .i16(2)
            .raw(b"r1");
        assert_eq!(bytes, expected.into_bytes());
        assert_eq!(decode_consumer_subscription(&bytes).unwrap(), subscription);

        // A version 1 subscription stops after the owned partitions.
        let v1 = ConsumerSubscription {
            version: 1,
            generation_id: -1,
            rack_id: None,
            ..subscription.clone()
        };
        let bytes = v1.encode();
        assert_eq!(decode_consumer_subscription(&bytes).unwrap(), v1);
        let mut as_v2 = bytes.clone();
        as_v2[1] = 2;
        assert!(decode_consumer_subscription(&as_v2).is_err());
    }

    #[test]
    fn consumer_assignment_layout() {
        let assignment = ConsumerAssignment::new(vec![("foo".into(), vec![1, 0])]);
        let bytes = assignment.encode();
        let mut expected = Writer::new();
        expected
            .i16(0)
            .i32(1)
            .i16(3)
            .raw(b"foo")
            .i32(2)
            .i32(1)
            .i32(0)
            .i32(-1);
        assert_eq!(bytes, expected.into_bytes());
        assert_eq!(decode_consumer_assignment(&bytes).unwrap(), assignment);
    }

    #[test]
    fn consumer_protocol_decoders_are_strict() {
        let bytes = ConsumerAssignment::new(vec![("foo".into(), vec![1])]).encode();
        for len in 0..bytes.len() {
            assert!(decode_consumer_assignment(&bytes[..len]).is_err());
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode_consumer_assignment(&extra).is_err());

        let bytes = ConsumerSubscription::new(&["foo"]).encode();
        for len in 0..bytes.len() {
            assert!(decode_consumer_subscription(&bytes[..len]).is_err());
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode_consumer_subscription(&extra).is_err());

        // Unknown versions, a null topic list and a null topic name.
        let mut future = bytes.clone();
        future[1] = 4;
        assert!(decode_consumer_subscription(&future).is_err());
        let mut null_topics = Writer::new();
        null_topics.i16(0).i32(-1).i32(-1);
        assert!(decode_consumer_subscription(&null_topics.into_bytes()).is_err());
        let mut null_topic = Writer::new();
        null_topic.i16(0).i32(1).i16(-1).i32(-1);
        assert!(decode_consumer_subscription(&null_topic.into_bytes()).is_err());
    }
}
