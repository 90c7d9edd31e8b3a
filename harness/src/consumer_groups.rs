//! The consumer-group APIs of the new rebalance protocol (KIP-848), encoded
//! and decoded by hand from Kafka's message schemas:
//! ConsumerGroupHeartbeat (key 68) v0-1 and ConsumerGroupDescribe (key 69)
//! v0-1. Both are flexible in every version: request header v2, response
//! header v1, compact strings and arrays, tagged-field sections. None of
//! their schemas defines a tagged field, so decoders require every
//! tagged-field section to be empty, and reject bytes left over.
//!
//! The classic APIs these groups also answer (ListGroups v5 with its type
//! filter, OffsetCommit v9 and OffsetFetch v9 with a member id and epoch)
//! are in [`crate::groups`].

use crate::protocol::{
    flexible_request_header as request_header, response_header_v1 as response_header,
};
use crate::wire::{Reader, Uuid, Writer, compact_strings};
use anyhow::{Result, bail};

pub const CONSUMER_GROUP_HEARTBEAT: i16 = 68;
pub const CONSUMER_GROUP_DESCRIBE: i16 = 69;

/// The highest versions the harness encodes and decodes.
pub const CONSUMER_GROUP_HEARTBEAT_MAX_VERSION: i16 = 1;
pub const CONSUMER_GROUP_DESCRIBE_MAX_VERSION: i16 = 1;

/// Member epochs with a meaning of their own in a heartbeat.
pub const JOIN_EPOCH: i32 = 0;
pub const LEAVE_EPOCH: i32 = -1;
pub const STATIC_LEAVE_EPOCH: i32 = -2;

/// The default rebalance timeout of the Java consumer (`max.poll.interval.ms`
/// is 300000, but the harness keeps its groups quick).
pub const REBALANCE_TIMEOUT_MS: i32 = 30_000;

/// ConsumerGroupDescribe v1 `MemberType` values.
pub const MEMBER_TYPE_UNKNOWN: i8 = -1;
pub const MEMBER_TYPE_CLASSIC: i8 = 0;
pub const MEMBER_TYPE_CONSUMER: i8 = 1;

/// Kafka error codes of these APIs (Kafka's `Errors`), beyond those in
/// [`crate::protocol::error`] and [`crate::groups::error`].
pub mod error {
    pub const GROUP_AUTHORIZATION_FAILED: i16 = 30;
    pub const FENCED_MEMBER_EPOCH: i16 = 110;
    pub const UNRELEASED_INSTANCE_ID: i16 = 111;
    pub const UNSUPPORTED_ASSIGNOR: i16 = 112;
    pub const STALE_MEMBER_EPOCH: i16 = 113;
    pub const INVALID_REGULAR_EXPRESSION: i16 = 128;
}

/// A topic's partitions by topic id, as in heartbeats.
pub type TopicPartitions = (Uuid, Vec<i32>);

fn topic_partitions(w: &mut Writer, topics: &[TopicPartitions]) {
    w.compact_array_len(topics.len());
    for (topic_id, partitions) in topics {
        w.uuid(topic_id).compact_i32_array(partitions).no_tags();
    }
}

fn read_topic_partitions(r: &mut Reader<'_>) -> Result<Vec<TopicPartitions>> {
    r.compact_array(|r| {
        let topic = (r.uuid()?, r.compact_i32_array()?);
        r.no_tags()?;
        Ok(topic)
    })
}

// ----------------------------------------------------- ConsumerGroupHeartbeat

/// A ConsumerGroupHeartbeat request. `None` fields are sent as null, which
/// tells the coordinator they did not change since the last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    pub group_id: String,
    pub member_id: String,
    /// 0 to join, -1 to leave, -2 for a static member leaving for a while.
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    /// -1 if unchanged.
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Option<Vec<String>>,
    /// Version 1 and later.
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    /// The partitions the member owns.
    pub topic_partitions: Option<Vec<TopicPartitions>>,
}

impl Heartbeat {
    /// The first heartbeat of a member joining `group_id` subscribed to
    /// `topics`: epoch 0, rebalance timeout 30000 ms, no partitions owned.
    /// `member_id` may be empty (the coordinator then makes one up, up to
    /// Kafka 3.x) or chosen by the client (as Kafka 4 clients do).
    pub fn join(group_id: &str, member_id: &str, topics: &[&str]) -> Self {
        Heartbeat {
            group_id: group_id.to_owned(),
            member_id: member_id.to_owned(),
            member_epoch: JOIN_EPOCH,
            instance_id: None,
            rack_id: None,
            rebalance_timeout_ms: REBALANCE_TIMEOUT_MS,
            subscribed_topic_names: Some(topics.iter().map(|t| (*t).to_owned()).collect()),
            subscribed_topic_regex: None,
            server_assignor: None,
            topic_partitions: Some(Vec::new()),
        }
    }

    /// A heartbeat of a member at `member_epoch` that changes nothing
    /// (every optional field null, rebalance timeout -1).
    pub fn keep_alive(group_id: &str, member_id: &str, member_epoch: i32) -> Self {
        Heartbeat {
            group_id: group_id.to_owned(),
            member_id: member_id.to_owned(),
            member_epoch,
            instance_id: None,
            rack_id: None,
            rebalance_timeout_ms: -1,
            subscribed_topic_names: None,
            subscribed_topic_regex: None,
            server_assignor: None,
            topic_partitions: None,
        }
    }

    /// The heartbeat of a member leaving the group (epoch -1).
    pub fn leave(group_id: &str, member_id: &str) -> Self {
        Self::keep_alive(group_id, member_id, LEAVE_EPOCH)
    }

    /// Encodes the request as `version`: 0 or 1 (versions above 1 are
    /// encoded like 1, to probe a broker with a version it should reject).
    ///
    /// # Panics
    ///
    /// On a negative version, or a regex at version 0, which has no field
    /// for it (Kafka's encoder refuses it too).
    pub fn encode(&self, version: i16, correlation_id: i32) -> Vec<u8> {
        assert!(version >= 0, "ConsumerGroupHeartbeat version {version}");
        assert!(
            version >= 1 || self.subscribed_topic_regex.is_none(),
            "ConsumerGroupHeartbeat v0 has no SubscribedTopicRegex"
        );
        let mut w = request_header(CONSUMER_GROUP_HEARTBEAT, version, correlation_id);
        w.compact_string(&self.group_id)
            .compact_string(&self.member_id)
            .i32(self.member_epoch)
            .compact_nullable_string(self.instance_id.as_deref())
            .compact_nullable_string(self.rack_id.as_deref())
            .i32(self.rebalance_timeout_ms);
        match &self.subscribed_topic_names {
            None => {
                w.uvarint(0);
            }
            Some(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                compact_strings(&mut w, &names);
            }
        }
        if version >= 1 {
            w.compact_nullable_string(self.subscribed_topic_regex.as_deref());
        }
        w.compact_nullable_string(self.server_assignor.as_deref());
        match &self.topic_partitions {
            None => {
                w.uvarint(0);
            }
            Some(topics) => topic_partitions(&mut w, topics),
        }
        w.no_tags();
        w.into_bytes()
    }
}

/// A ConsumerGroupHeartbeat response (the same in v0 and v1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    /// Only when the member joined with epoch 0.
    pub member_id: Option<String>,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// The partitions assigned, or `None` when the assignment is unchanged.
    pub assignment: Option<Vec<TopicPartitions>>,
}

impl HeartbeatResponse {
    /// The partitions of `topic_id` assigned, when an assignment came.
    pub fn assigned(&self, topic_id: &Uuid) -> Option<&[i32]> {
        self.assignment
            .as_ref()?
            .iter()
            .find(|(id, _)| id == topic_id)
            .map(|(_, partitions)| partitions.as_slice())
    }
}

/// Decodes a ConsumerGroupHeartbeat v0 or v1 response.
pub fn decode_heartbeat_response(bytes: &[u8]) -> Result<HeartbeatResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let error_message = r.compact_nullable_string()?;
    let member_id = r.compact_nullable_string()?;
    let member_epoch = r.i32()?;
    let heartbeat_interval_ms = r.i32()?;
    // A nullable struct: -1 for null, 1 before the struct.
    let at = r.position();
    let assignment = match r.i8()? {
        -1 => None,
        1 => {
            let topics = read_topic_partitions(&mut r)?;
            r.no_tags()?;
            Some(topics)
        }
        other => bail!("assignment presence byte {other} at offset {at}"),
    };
    r.no_tags()?;
    r.finish()?;
    Ok(HeartbeatResponse {
        correlation_id,
        throttle_time_ms,
        error_code,
        error_message,
        member_id,
        member_epoch,
        heartbeat_interval_ms,
        assignment,
    })
}

// ------------------------------------------------------ ConsumerGroupDescribe

/// ConsumerGroupDescribe v0 or v1 (the two requests are the same).
pub fn consumer_group_describe_request(
    version: i16,
    correlation_id: i32,
    group_ids: &[&str],
    include_authorized_operations: bool,
) -> Vec<u8> {
    let mut w = request_header(CONSUMER_GROUP_DESCRIBE, version, correlation_id);
    compact_strings(&mut w, group_ids);
    w.bool(include_authorized_operations).no_tags();
    w.into_bytes()
}

/// A topic's partitions in a described assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedTopicPartitions {
    pub topic_id: Uuid,
    pub topic_name: String,
    pub partitions: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub member_epoch: i32,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub assignment: Vec<DescribedTopicPartitions>,
    pub target_assignment: Vec<DescribedTopicPartitions>,
    /// Version 1 and later: [`MEMBER_TYPE_UNKNOWN`], [`MEMBER_TYPE_CLASSIC`]
    /// or [`MEMBER_TYPE_CONSUMER`].
    pub member_type: Option<i8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedConsumerGroup {
    pub error_code: i16,
    pub error_message: Option<String>,
    pub group_id: String,
    pub group_state: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor_name: String,
    pub members: Vec<DescribedMember>,
    /// `i32::MIN` unless they were asked for.
    pub authorized_operations: i32,
}

impl DescribedConsumerGroup {
    pub fn member(&self, member_id: &str) -> Option<&DescribedMember> {
        self.members.iter().find(|m| m.member_id == member_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupDescribeResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub groups: Vec<DescribedConsumerGroup>,
}

impl ConsumerGroupDescribeResponse {
    pub fn group(&self, group_id: &str) -> Option<&DescribedConsumerGroup> {
        self.groups.iter().find(|g| g.group_id == group_id)
    }
}

/// The `Assignment` struct: its topic partitions, then its tagged fields.
fn read_assignment(r: &mut Reader<'_>) -> Result<Vec<DescribedTopicPartitions>> {
    let topics = r.compact_array(|r| {
        let topic = DescribedTopicPartitions {
            topic_id: r.uuid()?,
            topic_name: r.compact_string()?,
            partitions: r.compact_i32_array()?,
        };
        r.no_tags()?;
        Ok(topic)
    })?;
    r.no_tags()?;
    Ok(topics)
}

/// Decodes a ConsumerGroupDescribe response of `version` (0 or 1; v1 adds
/// each member's `MemberType`).
pub fn decode_consumer_group_describe_response(
    bytes: &[u8],
    version: i16,
) -> Result<ConsumerGroupDescribeResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let groups = r.compact_array(|r| {
        let error_code = r.i16()?;
        let error_message = r.compact_nullable_string()?;
        let group_id = r.compact_string()?;
        let group_state = r.compact_string()?;
        let group_epoch = r.i32()?;
        let assignment_epoch = r.i32()?;
        let assignor_name = r.compact_string()?;
        let members = r.compact_array(|r| {
            let member = DescribedMember {
                member_id: r.compact_string()?,
                instance_id: r.compact_nullable_string()?,
                rack_id: r.compact_nullable_string()?,
                member_epoch: r.i32()?,
                client_id: r.compact_string()?,
                client_host: r.compact_string()?,
                subscribed_topic_names: r.compact_array(|r| r.compact_string())?,
                subscribed_topic_regex: r.compact_nullable_string()?,
                assignment: read_assignment(r)?,
                target_assignment: read_assignment(r)?,
                member_type: if version >= 1 { Some(r.i8()?) } else { None },
            };
            r.no_tags()?;
            Ok(member)
        })?;
        let authorized_operations = r.i32()?;
        r.no_tags()?;
        Ok(DescribedConsumerGroup {
            error_code,
            error_message,
            group_id,
            group_state,
            group_epoch,
            assignment_epoch,
            assignor_name,
            members,
            authorized_operations,
        })
    })?;
    r.no_tags()?;
    r.finish()?;
    Ok(ConsumerGroupDescribeResponse {
        correlation_id,
        throttle_time_ms,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Decoder, assert_strict_decoders, uuid};

    /// Bytes of the request header v2 written out by hand: api key,
    /// version, correlation id, client id "harness" (INT16 length), no tags.
    fn header(api_key: u8, version: u8, correlation_id: u8) -> Vec<u8> {
        let mut bytes = vec![0, api_key, 0, version, 0, 0, 0, correlation_id, 0, 7];
        bytes.extend_from_slice(b"harness");
        bytes.push(0);
        bytes
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    const TOPIC_A: Uuid = uuid(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10);
    const TOPIC_B: Uuid = uuid(0xff);
    const TOPIC_A_BYTES: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    const TOPIC_B_BYTES: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff];

    // ------------------------------------------------------------ requests

    #[test]
    fn join_heartbeat_v0_and_v1_bytes() {
        let join = Heartbeat::join("g", "m", &["t"]);
        let body_start: &[u8] = &[
            0x02, b'g', // GroupId
            0x02, b'm', // MemberId
            0, 0, 0, 0,    // MemberEpoch 0
            0x00, // InstanceId null
            0x00, // RackId null
            0x00, 0x00, 0x75, 0x30, // RebalanceTimeoutMs 30000
            0x02, 0x02, b't', // SubscribedTopicNames ["t"]
        ];
        let body_end: &[u8] = &[
            0x00, // ServerAssignor null
            0x01, // TopicPartitions []
            0x00, // tagged fields
        ];
        assert_eq!(
            join.encode(0, 7),
            cat(&[&header(68, 0, 7), body_start, body_end])
        );
        assert_eq!(
            join.encode(1, 7),
            cat(&[&header(68, 1, 7), body_start, &[0x00], body_end]) // regex null
        );
    }

    #[test]
    fn full_heartbeat_v0_and_v1_bytes() {
        let heartbeat = Heartbeat {
            group_id: "gr".to_owned(),
            member_id: "mem".to_owned(),
            member_epoch: 5,
            instance_id: Some("i".to_owned()),
            rack_id: Some("r".to_owned()),
            rebalance_timeout_ms: -1,
            subscribed_topic_names: Some(vec!["a".to_owned(), "bc".to_owned()]),
            subscribed_topic_regex: None,
            server_assignor: Some("uniform".to_owned()),
            topic_partitions: Some(vec![(TOPIC_A, vec![0, 2]), (TOPIC_B, vec![])]),
        };
        let head: &[u8] = &[
            0x03, b'g', b'r', // GroupId
            0x04, b'm', b'e', b'm', // MemberId
            0, 0, 0, 5, // MemberEpoch
            0x02, b'i', // InstanceId
            0x02, b'r', // RackId
            0xff, 0xff, 0xff, 0xff, // RebalanceTimeoutMs -1
            0x03, 0x02, b'a', 0x03, b'b', b'c', // SubscribedTopicNames
        ];
        let mut tail = vec![0x08];
        tail.extend_from_slice(b"uniform"); // ServerAssignor
        tail.push(0x03); // two TopicPartitions
        tail.extend_from_slice(&TOPIC_A_BYTES);
        tail.extend_from_slice(&[0x03, 0, 0, 0, 0, 0, 0, 0, 2, 0x00]);
        tail.extend_from_slice(&TOPIC_B_BYTES);
        tail.extend_from_slice(&[0x01, 0x00]);
        tail.push(0x00); // request tagged fields
        assert_eq!(
            heartbeat.encode(0, 9),
            cat(&[&header(68, 0, 9), head, &tail])
        );

        let mut v1 = heartbeat.clone();
        v1.subscribed_topic_regex = Some("t.*".to_owned());
        assert_eq!(
            v1.encode(1, 9),
            cat(&[&header(68, 1, 9), head, &[0x04, b't', b'.', b'*'], &tail])
        );
    }

    #[test]
    fn keep_alive_and_leave_heartbeat_bytes() {
        let nulls: &[u8] = &[
            0x00, 0x00, // InstanceId, RackId null
            0xff, 0xff, 0xff, 0xff, // RebalanceTimeoutMs -1
            0x00, // SubscribedTopicNames null
            0x00, // SubscribedTopicRegex null (v1)
            0x00, // ServerAssignor null
            0x00, // TopicPartitions null
            0x00, // tagged fields
        ];
        assert_eq!(
            Heartbeat::keep_alive("g", "m", 3).encode(1, 1),
            cat(&[
                &header(68, 1, 1),
                &[0x02, b'g', 0x02, b'm', 0, 0, 0, 3],
                nulls
            ])
        );
        assert_eq!(
            Heartbeat::leave("g", "m").encode(1, 2),
            cat(&[
                &header(68, 1, 2),
                &[0x02, b'g', 0x02, b'm', 0xff, 0xff, 0xff, 0xff],
                nulls
            ])
        );
    }

    #[test]
    #[should_panic(expected = "v0 has no SubscribedTopicRegex")]
    fn heartbeat_v0_refuses_a_regex() {
        let mut heartbeat = Heartbeat::join("g", "m", &[]);
        heartbeat.subscribed_topic_regex = Some(".*".to_owned());
        heartbeat.encode(0, 1);
    }

    #[test]
    fn describe_request_v0_and_v1_bytes() {
        for version in [0u8, 1] {
            assert_eq!(
                consumer_group_describe_request(version.into(), 4, &["g1", "g"], true),
                cat(&[
                    &header(69, version, 4),
                    &[0x03, 0x03, b'g', b'1', 0x02, b'g'], // GroupIds
                    &[0x01],                               // IncludeAuthorizedOperations
                    &[0x00],                               // tagged fields
                ])
            );
            assert_eq!(
                consumer_group_describe_request(version.into(), 5, &[], false),
                cat(&[&header(69, version, 5), &[0x01, 0x00, 0x00]])
            );
        }
    }

    // ----------------------------------------------------------- responses

    /// A heartbeat response assigning partitions 1 and 0 of TOPIC_A.
    fn heartbeat_with_assignment() -> Vec<u8> {
        cat(&[
            &[0, 0, 0, 42, 0x00], // correlation id, header tags
            &[0, 0, 0, 0],        // ThrottleTimeMs
            &[0, 0],              // ErrorCode
            &[0x00],              // ErrorMessage null
            &[0x03, b'm', b'1'],  // MemberId
            &[0, 0, 0, 1],        // MemberEpoch
            &[0, 0, 0x13, 0x88],  // HeartbeatIntervalMs 5000
            &[0x01],              // Assignment present
            &[0x02],              // one TopicPartitions
            &TOPIC_A_BYTES,
            &[0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0x00], // [1, 0], tags
            &[0x00],                               // Assignment tags
            &[0x00],                               // response tags
        ])
    }

    /// A heartbeat response with an error and no assignment.
    fn heartbeat_with_error() -> Vec<u8> {
        cat(&[
            &[0, 0, 0, 43, 0x00],
            &[0, 0, 0, 10],
            &[0, 110], // FENCED_MEMBER_EPOCH
            &[0x03, b'n', b'o'],
            &[0x00], // MemberId null
            &[0xff, 0xff, 0xff, 0xff],
            &[0, 0, 0, 0],
            &[0xff], // Assignment null
            &[0x00],
        ])
    }

    /// A ConsumerGroupDescribe response of `version` with one described
    /// group of one member and one group not found.
    fn describe_response(version: i16) -> Vec<u8> {
        let mut member = cat(&[
            &[0x03, b'm', b'1'],       // MemberId
            &[0x02, b'i'],             // InstanceId
            &[0x00],                   // RackId null
            &[0, 0, 0, 4],             // MemberEpoch
            &[0x02, b'c'],             // ClientId
            &[0x04, b'/', b'h', b'1'], // ClientHost
            &[0x02, 0x02, b't'],       // SubscribedTopicNames ["t"]
            &[0x00],                   // SubscribedTopicRegex null
            // Assignment: t (TOPIC_A) [0]
            &[0x02],
            &TOPIC_A_BYTES,
            &[0x02, b't', 0x02, 0, 0, 0, 0, 0x00],
            &[0x00],
            // TargetAssignment: t [0, 1], u (TOPIC_B) []
            &[0x03],
            &TOPIC_A_BYTES,
            &[0x02, b't', 0x03, 0, 0, 0, 0, 0, 0, 0, 1, 0x00],
            &TOPIC_B_BYTES,
            &[0x02, b'u', 0x01, 0x00],
            &[0x00],
        ]);
        if version >= 1 {
            member.push(1); // MemberType consumer
        }
        member.push(0x00); // member tags
        cat(&[
            &[0, 0, 0, 7, 0x00], // correlation id, header tags
            &[0, 0, 0, 0],       // ThrottleTimeMs
            &[0x03],             // two groups
            // the first group
            &[0, 0],                                           // ErrorCode
            &[0x00],                                           // ErrorMessage null
            &[0x02, b'g'],                                     // GroupId
            &[0x07, b's', b't', b'a', b'b', b'l', b'e'],       // GroupState
            &[0, 0, 0, 3],                                     // GroupEpoch
            &[0, 0, 0, 2],                                     // AssignmentEpoch
            &[0x08, b'u', b'n', b'i', b'f', b'o', b'r', b'm'], // AssignorName
            &[0x02],                                           // one member
            &member,
            &[0, 0, 0x0b, 0xf8], // AuthorizedOperations 3064
            &[0x00],
            // the second group: GROUP_ID_NOT_FOUND
            &[0, 69],
            &[0x02, b'x'], // ErrorMessage
            &[0x02, b'h'], // GroupId
            &[0x01],       // GroupState ""
            &[0, 0, 0, 0],
            &[0, 0, 0, 0],
            &[0x01],          // AssignorName ""
            &[0x01],          // no members
            &[0x80, 0, 0, 0], // AuthorizedOperations i32::MIN
            &[0x00],
            &[0x00], // response tags
        ])
    }

    #[test]
    fn heartbeat_responses_decode() {
        assert_eq!(
            decode_heartbeat_response(&heartbeat_with_assignment()).unwrap(),
            HeartbeatResponse {
                correlation_id: 42,
                throttle_time_ms: 0,
                error_code: 0,
                error_message: None,
                member_id: Some("m1".to_owned()),
                member_epoch: 1,
                heartbeat_interval_ms: 5000,
                assignment: Some(vec![(TOPIC_A, vec![1, 0])]),
            }
        );
        let response = decode_heartbeat_response(&heartbeat_with_error()).unwrap();
        assert_eq!(
            response,
            HeartbeatResponse {
                correlation_id: 43,
                throttle_time_ms: 10,
                error_code: error::FENCED_MEMBER_EPOCH,
                error_message: Some("no".to_owned()),
                member_id: None,
                member_epoch: -1,
                heartbeat_interval_ms: 0,
                assignment: None,
            }
        );
        assert_eq!(response.assigned(&TOPIC_A), None);
        let assigned = decode_heartbeat_response(&heartbeat_with_assignment()).unwrap();
        assert_eq!(assigned.assigned(&TOPIC_A), Some(&[1, 0][..]));
        assert_eq!(assigned.assigned(&TOPIC_B), None);
    }

    #[test]
    fn heartbeat_response_rejects_a_bad_presence_byte() {
        let mut bytes = heartbeat_with_error();
        let at = bytes.len() - 2;
        assert_eq!(bytes[at], 0xff);
        bytes[at] = 0;
        let e = decode_heartbeat_response(&bytes).unwrap_err();
        assert!(e.to_string().contains("presence byte 0"), "{e:#}");
    }

    fn expected_describe(version: i16) -> ConsumerGroupDescribeResponse {
        let t = |id, name: &str, partitions: Vec<i32>| DescribedTopicPartitions {
            topic_id: id,
            topic_name: name.to_owned(),
            partitions,
        };
        ConsumerGroupDescribeResponse {
            correlation_id: 7,
            throttle_time_ms: 0,
            groups: vec![
                DescribedConsumerGroup {
                    error_code: 0,
                    error_message: None,
                    group_id: "g".to_owned(),
                    group_state: "stable".to_owned(),
                    group_epoch: 3,
                    assignment_epoch: 2,
                    assignor_name: "uniform".to_owned(),
                    members: vec![DescribedMember {
                        member_id: "m1".to_owned(),
                        instance_id: Some("i".to_owned()),
                        rack_id: None,
                        member_epoch: 4,
                        client_id: "c".to_owned(),
                        client_host: "/h1".to_owned(),
                        subscribed_topic_names: vec!["t".to_owned()],
                        subscribed_topic_regex: None,
                        assignment: vec![t(TOPIC_A, "t", vec![0])],
                        target_assignment: vec![
                            t(TOPIC_A, "t", vec![0, 1]),
                            t(TOPIC_B, "u", vec![]),
                        ],
                        member_type: (version >= 1).then_some(MEMBER_TYPE_CONSUMER),
                    }],
                    authorized_operations: 3064,
                },
                DescribedConsumerGroup {
                    error_code: 69,
                    error_message: Some("x".to_owned()),
                    group_id: "h".to_owned(),
                    group_state: String::new(),
                    group_epoch: 0,
                    assignment_epoch: 0,
                    assignor_name: String::new(),
                    members: vec![],
                    authorized_operations: i32::MIN,
                },
            ],
        }
    }

    #[test]
    fn describe_responses_decode() {
        for version in [0, 1] {
            let response =
                decode_consumer_group_describe_response(&describe_response(version), version)
                    .unwrap();
            assert_eq!(response, expected_describe(version), "v{version}");
            let group = response.group("g").unwrap();
            assert_eq!(group.member("m1").unwrap().member_epoch, 4);
            assert!(group.member("m2").is_none());
            assert!(response.group("nope").is_none());
        }
        // Each version's bytes are wrong for the other.
        assert!(decode_consumer_group_describe_response(&describe_response(0), 1).is_err());
        assert!(decode_consumer_group_describe_response(&describe_response(1), 0).is_err());
    }

    #[test]
    fn decoders_reject_truncation_and_leftovers() {
        let samples: Vec<(&str, Vec<u8>, Decoder)> = vec![
            (
                "heartbeat with assignment",
                heartbeat_with_assignment(),
                |b| decode_heartbeat_response(b).map(drop),
            ),
            ("heartbeat with error", heartbeat_with_error(), |b| {
                decode_heartbeat_response(b).map(drop)
            }),
            ("describe v0", describe_response(0), |b| {
                decode_consumer_group_describe_response(b, 0).map(drop)
            }),
            ("describe v1", describe_response(1), |b| {
                decode_consumer_group_describe_response(b, 1).map(drop)
            }),
        ];
        assert_strict_decoders(samples);
    }

    #[test]
    fn decoders_reject_tagged_fields() {
        // A tag 0 of one byte where the response's tagged fields end.
        let mut bytes = heartbeat_with_error();
        bytes.pop();
        bytes.extend_from_slice(&[0x01, 0x00, 0x01, 0xaa]);
        assert!(decode_heartbeat_response(&bytes).is_err());
    }
}
