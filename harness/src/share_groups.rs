//! The share-group APIs of KIP-932, encoded and decoded by hand from Kafka
//! 4.2's message schemas: ShareGroupHeartbeat (key 76) v1, ShareFetch
//! (key 78) v1-2 and ShareAcknowledge (key 79) v1-2. All are flexible in
//! every version: request header v2, response header v1, compact strings
//! and arrays, tagged-field sections. None of their schemas defines a
//! tagged field, so decoders require every tagged-field section to be
//! empty, and reject bytes left over.
//!
//! Version 2 (KIP-1206, KIP-1222) adds, none of them tagged:
//! * ShareFetchRequest: `ShareAcquireMode` (int8) and `IsRenewAck` (bool)
//!   after `BatchSize`;
//! * ShareAcknowledgeRequest: `IsRenewAck` (bool) after
//!   `ShareSessionEpoch`;
//! * ShareAcknowledgeResponse: `AcquisitionLockTimeoutMs` (int32) after
//!   the top-level `ErrorMessage`.
//!
//! ShareFetchResponse v2 is v1.

use crate::protocol::{
    flexible_request_header as request_header, response_header_v1 as response_header,
};
use crate::wire::{Reader, Uuid, Writer, compact_strings};
use anyhow::{Context, Result, bail};

pub const SHARE_GROUP_HEARTBEAT: i16 = 76;
pub const SHARE_FETCH: i16 = 78;
pub const SHARE_ACKNOWLEDGE: i16 = 79;

/// The versions the harness encodes and decodes.
pub const SHARE_GROUP_HEARTBEAT_VERSION: i16 = 1;
pub const SHARE_FETCH_VERSIONS: [i16; 2] = [1, 2];
pub const SHARE_ACKNOWLEDGE_VERSIONS: [i16; 2] = [1, 2];

/// Member epochs of a heartbeat with a meaning of their own.
pub const JOIN_EPOCH: i32 = 0;
pub const LEAVE_EPOCH: i32 = -1;

/// Share session epochs with a meaning of their own: 0 opens a session,
/// -1 closes it.
pub const INITIAL_SESSION_EPOCH: i32 = 0;
pub const FINAL_SESSION_EPOCH: i32 = -1;

/// `AcknowledgeTypes` values.
pub mod ack {
    pub const GAP: i8 = 0;
    pub const ACCEPT: i8 = 1;
    pub const RELEASE: i8 = 2;
    pub const REJECT: i8 = 3;
    /// Version 2 and later (KIP-1222).
    pub const RENEW: i8 = 4;
}

/// ShareFetch v2 `ShareAcquireMode` values.
pub const BATCH_OPTIMIZED: i8 = 0;
pub const RECORD_LIMIT: i8 = 1;

/// Kafka error codes of these APIs (Kafka's `Errors`, 4.2), beyond those
/// in [`crate::protocol::error`], [`crate::groups::error`] and
/// [`crate::consumer_groups::error`].
pub mod error {
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
    pub const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
    pub const KAFKA_STORAGE_ERROR: i16 = 56;
    pub const INVALID_RECORD_STATE: i16 = 121;
    pub const SHARE_SESSION_NOT_FOUND: i16 = 122;
    pub const INVALID_SHARE_SESSION_EPOCH: i16 = 123;
    pub const FENCED_STATE_EPOCH: i16 = 124;
    pub const SHARE_SESSION_LIMIT_REACHED: i16 = 133;
}

/// A topic's partitions by topic id.
pub type TopicPartitions = (Uuid, Vec<i32>);

fn expect_version(api: &str, version: i16, versions: &[i16]) {
    assert!(
        versions.contains(&version),
        "{api} v{version}: the harness encodes {versions:?}"
    );
}

// -------------------------------------------------------- ShareGroupHeartbeat

/// A ShareGroupHeartbeat request. `None` fields are sent as null: unchanged
/// since the last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareHeartbeat {
    pub group_id: String,
    pub member_id: String,
    /// 0 to join, -1 to leave.
    pub member_epoch: i32,
    pub rack_id: Option<String>,
    pub subscribed_topic_names: Option<Vec<String>>,
}

impl ShareHeartbeat {
    /// A member joining `group_id` (epoch 0) subscribed to `topics`.
    pub fn join(group_id: &str, member_id: &str, topics: &[&str]) -> Self {
        ShareHeartbeat {
            group_id: group_id.to_owned(),
            member_id: member_id.to_owned(),
            member_epoch: JOIN_EPOCH,
            rack_id: None,
            subscribed_topic_names: Some(topics.iter().map(|t| (*t).to_owned()).collect()),
        }
    }

    /// A heartbeat at `member_epoch` that changes nothing.
    pub fn keep_alive(group_id: &str, member_id: &str, member_epoch: i32) -> Self {
        ShareHeartbeat {
            group_id: group_id.to_owned(),
            member_id: member_id.to_owned(),
            member_epoch,
            rack_id: None,
            subscribed_topic_names: None,
        }
    }

    /// The heartbeat of a member leaving (epoch -1).
    pub fn leave(group_id: &str, member_id: &str) -> Self {
        Self::keep_alive(group_id, member_id, LEAVE_EPOCH)
    }

    /// Encodes the request as v1, the only version there is (any other
    /// version number is encoded like v1, to probe a broker with it).
    pub fn encode(&self, version: i16, correlation_id: i32) -> Vec<u8> {
        let mut w = request_header(SHARE_GROUP_HEARTBEAT, version, correlation_id);
        w.compact_string(&self.group_id)
            .compact_string(&self.member_id)
            .i32(self.member_epoch)
            .compact_nullable_string(self.rack_id.as_deref());
        match &self.subscribed_topic_names {
            None => {
                w.uvarint(0);
            }
            Some(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                compact_strings(&mut w, &names);
            }
        }
        w.no_tags();
        w.into_bytes()
    }
}

/// A ShareGroupHeartbeat v1 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareHeartbeatResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    pub member_id: Option<String>,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// `None` when the assignment is unchanged (or on an error).
    pub assignment: Option<Vec<TopicPartitions>>,
}

impl ShareHeartbeatResponse {
    /// The partitions of `topic_id` assigned, when an assignment came.
    pub fn assigned(&self, topic_id: &Uuid) -> Option<&[i32]> {
        self.assignment
            .as_ref()?
            .iter()
            .find(|(id, _)| id == topic_id)
            .map(|(_, partitions)| partitions.as_slice())
    }
}

/// Decodes a ShareGroupHeartbeat v1 response.
pub fn decode_share_heartbeat_response(bytes: &[u8]) -> Result<ShareHeartbeatResponse> {
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
            let topics = r.compact_array(|r| {
                let topic = (r.uuid()?, r.compact_i32_array()?);
                r.no_tags()?;
                Ok(topic)
            })?;
            r.no_tags()?;
            Some(topics)
        }
        other => bail!("assignment presence byte {other} at offset {at}"),
    };
    r.no_tags()?;
    r.finish()?;
    Ok(ShareHeartbeatResponse {
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

// ------------------------------------------------------- acknowledgements

/// An `AcknowledgementBatch`: offsets `first..=last` and either one type
/// for all of them or one per offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckBatch {
    pub first_offset: i64,
    pub last_offset: i64,
    pub types: Vec<i8>,
}

impl AckBatch {
    /// `first..=last`, all of them acknowledged as `ack_type`.
    pub fn new(first_offset: i64, last_offset: i64, ack_type: i8) -> Self {
        AckBatch {
            first_offset,
            last_offset,
            types: vec![ack_type],
        }
    }

    /// One offset.
    pub fn one(offset: i64, ack_type: i8) -> Self {
        Self::new(offset, offset, ack_type)
    }
}

fn ack_batches(w: &mut Writer, batches: &[AckBatch]) {
    w.compact_array_len(batches.len());
    for batch in batches {
        w.i64(batch.first_offset)
            .i64(batch.last_offset)
            .compact_array_len(batch.types.len());
        for t in &batch.types {
            w.i8(*t);
        }
        w.no_tags();
    }
}

/// A partition's acknowledgements: (partition index, batches).
pub type PartitionAcks = (i32, Vec<AckBatch>);

// ----------------------------------------------------------------- ShareFetch

/// A ShareFetch request (v1 or v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareFetchRequest {
    pub group_id: Option<String>,
    pub member_id: Option<String>,
    pub share_session_epoch: i32,
    pub max_wait_ms: i32,
    pub min_bytes: i32,
    pub max_bytes: i32,
    pub max_records: i32,
    pub batch_size: i32,
    /// Version 2: [`BATCH_OPTIMIZED`] or [`RECORD_LIMIT`]; ignorable, so
    /// not sent at v1.
    pub share_acquire_mode: i8,
    /// Version 2 only.
    pub is_renew_ack: bool,
    /// Topics to fetch, each partition with what it acknowledges.
    pub topics: Vec<(Uuid, Vec<PartitionAcks>)>,
    /// Partitions to take out of the share session.
    pub forgotten_topics: Vec<TopicPartitions>,
}

impl ShareFetchRequest {
    /// A fetch of `member_id` in `group_id` at `epoch` with no partitions:
    /// no wait, min 1 byte, max 1 MiB, 500 records, batches of 500.
    pub fn new(group_id: &str, member_id: &str, epoch: i32) -> Self {
        ShareFetchRequest {
            group_id: Some(group_id.to_owned()),
            member_id: Some(member_id.to_owned()),
            share_session_epoch: epoch,
            max_wait_ms: 0,
            min_bytes: 1,
            max_bytes: 1 << 20,
            max_records: 500,
            batch_size: 500,
            share_acquire_mode: BATCH_OPTIMIZED,
            is_renew_ack: false,
            topics: Vec::new(),
            forgotten_topics: Vec::new(),
        }
    }

    /// Adds the partitions of `topic_id` to fetch, acknowledging nothing.
    pub fn fetching(mut self, topic_id: Uuid, partitions: &[i32]) -> Self {
        let entry = self.topic_entry(topic_id);
        entry.extend(partitions.iter().map(|p| (*p, Vec::new())));
        self
    }

    /// Adds a partition with acknowledgements.
    pub fn acknowledging(mut self, topic_id: Uuid, partition: i32, batches: Vec<AckBatch>) -> Self {
        self.topic_entry(topic_id).push((partition, batches));
        self
    }

    /// Forgets partitions of `topic_id`.
    pub fn forgetting(mut self, topic_id: Uuid, partitions: &[i32]) -> Self {
        self.forgotten_topics.push((topic_id, partitions.to_vec()));
        self
    }

    fn topic_entry(&mut self, topic_id: Uuid) -> &mut Vec<PartitionAcks> {
        let at = match self.topics.iter().position(|(id, _)| *id == topic_id) {
            Some(at) => at,
            None => {
                self.topics.push((topic_id, Vec::new()));
                self.topics.len() - 1
            }
        };
        &mut self.topics[at].1
    }

    /// Encodes the request as `version` (1 or 2).
    ///
    /// # Panics
    ///
    /// On another version, or `IsRenewAck` at v1 (which has no field for
    /// it and, unlike `ShareAcquireMode`, is not ignorable).
    pub fn encode(&self, version: i16, correlation_id: i32) -> Vec<u8> {
        expect_version("ShareFetch", version, &SHARE_FETCH_VERSIONS);
        assert!(
            version >= 2 || !self.is_renew_ack,
            "ShareFetch v1 has no IsRenewAck"
        );
        let mut w = request_header(SHARE_FETCH, version, correlation_id);
        w.compact_nullable_string(self.group_id.as_deref())
            .compact_nullable_string(self.member_id.as_deref())
            .i32(self.share_session_epoch)
            .i32(self.max_wait_ms)
            .i32(self.min_bytes)
            .i32(self.max_bytes)
            .i32(self.max_records)
            .i32(self.batch_size);
        if version >= 2 {
            w.i8(self.share_acquire_mode).bool(self.is_renew_ack);
        }
        w.compact_array_len(self.topics.len());
        for (topic_id, partitions) in &self.topics {
            w.uuid(topic_id).compact_array_len(partitions.len());
            for (partition, batches) in partitions {
                // PartitionMaxBytes is v0 only.
                w.i32(*partition);
                ack_batches(&mut w, batches);
                w.no_tags();
            }
            w.no_tags();
        }
        w.compact_array_len(self.forgotten_topics.len());
        for (topic_id, partitions) in &self.forgotten_topics {
            w.uuid(topic_id).compact_i32_array(partitions).no_tags();
        }
        w.no_tags();
        w.into_bytes()
    }
}

/// An `AcquiredRecords` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquiredRecords {
    pub first_offset: i64,
    pub last_offset: i64,
    pub delivery_count: i16,
}

/// A partition of a ShareFetch response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareFetchedPartition {
    pub partition_index: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    pub acknowledge_error_code: i16,
    pub acknowledge_error_message: Option<String>,
    pub leader_id: i32,
    pub leader_epoch: i32,
    /// Record batches as stored (never null from v1 on).
    pub records: Vec<u8>,
    pub acquired_records: Vec<AcquiredRecords>,
}

impl ShareFetchedPartition {
    /// Every acquired offset with its delivery count, in order.
    pub fn acquired(&self) -> Vec<(i64, i16)> {
        self.acquired_records
            .iter()
            .flat_map(|a| (a.first_offset..=a.last_offset).map(move |o| (o, a.delivery_count)))
            .collect()
    }

    /// The batches of [`records`](Self::records), decoded.
    pub fn batches(&self) -> Result<Vec<crate::batch::DecodedBatch>> {
        crate::batch::decode_batches(&self.records)
    }

    /// The value of the record at `offset` in the records returned.
    pub fn value_at(&self, offset: i64) -> Result<Option<Vec<u8>>> {
        for batch in self.batches()? {
            for record in &batch.batch.records {
                if batch.batch.base_offset + i64::from(record.offset_delta) == offset {
                    return Ok(record.value.clone());
                }
            }
        }
        bail!("no record at offset {offset} among those returned")
    }
}

/// A `NodeEndpoint` of a ShareFetch or ShareAcknowledge response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEndpoint {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

fn read_node_endpoints(r: &mut Reader<'_>) -> Result<Vec<NodeEndpoint>> {
    r.compact_array(|r| {
        let endpoint = NodeEndpoint {
            node_id: r.i32()?,
            host: r.compact_string()?,
            port: r.i32()?,
            rack: r.compact_nullable_string()?,
        };
        r.no_tags()?;
        Ok(endpoint)
    })
}

/// `CurrentLeader`: (leader id, leader epoch), a struct with its own tags.
fn read_leader(r: &mut Reader<'_>) -> Result<(i32, i32)> {
    let leader = (r.i32()?, r.i32()?);
    r.no_tags()?;
    Ok(leader)
}

/// A ShareFetch response (v1 and v2 are the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareFetchResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    pub acquisition_lock_timeout_ms: i32,
    pub responses: Vec<(Uuid, Vec<ShareFetchedPartition>)>,
    pub node_endpoints: Vec<NodeEndpoint>,
}

impl ShareFetchResponse {
    pub fn partition(&self, topic_id: &Uuid, partition: i32) -> Option<&ShareFetchedPartition> {
        self.responses
            .iter()
            .filter(|(id, _)| id == topic_id)
            .flat_map(|(_, partitions)| partitions)
            .find(|p| p.partition_index == partition)
    }

    /// Every partition answered, with its topic id.
    pub fn partitions(&self) -> impl Iterator<Item = (&Uuid, &ShareFetchedPartition)> {
        self.responses
            .iter()
            .flat_map(|(id, partitions)| partitions.iter().map(move |p| (id, p)))
    }
}

/// Decodes a ShareFetch v1 or v2 response.
pub fn decode_share_fetch_response(bytes: &[u8]) -> Result<ShareFetchResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let error_message = r.compact_nullable_string()?;
    let acquisition_lock_timeout_ms = r.i32()?;
    let responses = r.compact_array(|r| {
        let topic_id = r.uuid()?;
        let partitions = r.compact_array(|r| {
            let partition_index = r.i32()?;
            let error_code = r.i16()?;
            let error_message = r.compact_nullable_string()?;
            let acknowledge_error_code = r.i16()?;
            let acknowledge_error_message = r.compact_nullable_string()?;
            let (leader_id, leader_epoch) = read_leader(r)?;
            let at = r.position();
            let records = r
                .compact_nullable_bytes()?
                .with_context(|| format!("null records at offset {at} (nullable in v0 only)"))?
                .to_vec();
            let acquired_records = r.compact_array(|r| {
                let acquired = AcquiredRecords {
                    first_offset: r.i64()?,
                    last_offset: r.i64()?,
                    delivery_count: r.i16()?,
                };
                r.no_tags()?;
                Ok(acquired)
            })?;
            r.no_tags()?;
            Ok(ShareFetchedPartition {
                partition_index,
                error_code,
                error_message,
                acknowledge_error_code,
                acknowledge_error_message,
                leader_id,
                leader_epoch,
                records,
                acquired_records,
            })
        })?;
        r.no_tags()?;
        Ok((topic_id, partitions))
    })?;
    let node_endpoints = read_node_endpoints(&mut r)?;
    r.no_tags()?;
    r.finish()?;
    Ok(ShareFetchResponse {
        correlation_id,
        throttle_time_ms,
        error_code,
        error_message,
        acquisition_lock_timeout_ms,
        responses,
        node_endpoints,
    })
}

// ----------------------------------------------------------- ShareAcknowledge

/// A ShareAcknowledge request (v1 or v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareAcknowledgeRequest {
    pub group_id: Option<String>,
    pub member_id: Option<String>,
    pub share_session_epoch: i32,
    /// Version 2 only.
    pub is_renew_ack: bool,
    pub topics: Vec<(Uuid, Vec<PartitionAcks>)>,
}

impl ShareAcknowledgeRequest {
    pub fn new(group_id: &str, member_id: &str, epoch: i32) -> Self {
        ShareAcknowledgeRequest {
            group_id: Some(group_id.to_owned()),
            member_id: Some(member_id.to_owned()),
            share_session_epoch: epoch,
            is_renew_ack: false,
            topics: Vec::new(),
        }
    }

    /// Adds a partition's acknowledgements.
    pub fn acknowledging(mut self, topic_id: Uuid, partition: i32, batches: Vec<AckBatch>) -> Self {
        match self.topics.iter_mut().find(|(id, _)| *id == topic_id) {
            Some((_, partitions)) => partitions.push((partition, batches)),
            None => self.topics.push((topic_id, vec![(partition, batches)])),
        }
        self
    }

    /// Encodes the request as `version` (1 or 2).
    ///
    /// # Panics
    ///
    /// On another version, or `IsRenewAck` at v1.
    pub fn encode(&self, version: i16, correlation_id: i32) -> Vec<u8> {
        expect_version("ShareAcknowledge", version, &SHARE_ACKNOWLEDGE_VERSIONS);
        assert!(
            version >= 2 || !self.is_renew_ack,
            "ShareAcknowledge v1 has no IsRenewAck"
        );
        let mut w = request_header(SHARE_ACKNOWLEDGE, version, correlation_id);
        w.compact_nullable_string(self.group_id.as_deref())
            .compact_nullable_string(self.member_id.as_deref())
            .i32(self.share_session_epoch);
        if version >= 2 {
            w.bool(self.is_renew_ack);
        }
        w.compact_array_len(self.topics.len());
        for (topic_id, partitions) in &self.topics {
            w.uuid(topic_id).compact_array_len(partitions.len());
            for (partition, batches) in partitions {
                w.i32(*partition);
                ack_batches(&mut w, batches);
                w.no_tags();
            }
            w.no_tags();
        }
        w.no_tags();
        w.into_bytes()
    }
}

/// A partition of a ShareAcknowledge response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgedPartition {
    pub partition_index: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    pub leader_id: i32,
    pub leader_epoch: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareAcknowledgeResponse {
    pub correlation_id: i32,
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    /// Version 2 and later.
    pub acquisition_lock_timeout_ms: Option<i32>,
    pub responses: Vec<(Uuid, Vec<AcknowledgedPartition>)>,
    pub node_endpoints: Vec<NodeEndpoint>,
}

impl ShareAcknowledgeResponse {
    pub fn partition(&self, topic_id: &Uuid, partition: i32) -> Option<&AcknowledgedPartition> {
        self.responses
            .iter()
            .filter(|(id, _)| id == topic_id)
            .flat_map(|(_, partitions)| partitions)
            .find(|p| p.partition_index == partition)
    }
}

/// Decodes a ShareAcknowledge response of `version` (1 or 2).
pub fn decode_share_acknowledge_response(
    bytes: &[u8],
    version: i16,
) -> Result<ShareAcknowledgeResponse> {
    let mut r = Reader::new(bytes);
    let correlation_id = response_header(&mut r)?;
    let throttle_time_ms = r.i32()?;
    let error_code = r.i16()?;
    let error_message = r.compact_nullable_string()?;
    let acquisition_lock_timeout_ms = if version >= 2 { Some(r.i32()?) } else { None };
    let responses = r.compact_array(|r| {
        let topic_id = r.uuid()?;
        let partitions = r.compact_array(|r| {
            let partition_index = r.i32()?;
            let error_code = r.i16()?;
            let error_message = r.compact_nullable_string()?;
            let (leader_id, leader_epoch) = read_leader(r)?;
            r.no_tags()?;
            Ok(AcknowledgedPartition {
                partition_index,
                error_code,
                error_message,
                leader_id,
                leader_epoch,
            })
        })?;
        r.no_tags()?;
        Ok((topic_id, partitions))
    })?;
    let node_endpoints = read_node_endpoints(&mut r)?;
    r.no_tags()?;
    r.finish()?;
    Ok(ShareAcknowledgeResponse {
        correlation_id,
        throttle_time_ms,
        error_code,
        error_message,
        acquisition_lock_timeout_ms,
        responses,
        node_endpoints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Decoder, assert_strict_decoders, uuid};

    /// Request header v2 with client id "harness" and no tags.
    fn header(api_key: u8, version: u8, correlation_id: u8) -> Vec<u8> {
        let mut bytes = vec![0, api_key, 0, version, 0, 0, 0, correlation_id, 0, 7];
        bytes.extend_from_slice(b"harness");
        bytes.push(0);
        bytes
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    const TOPIC: Uuid = uuid(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10);
    const TOPIC_BYTES: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

    #[test]
    fn heartbeat_bytes() {
        assert_eq!(
            ShareHeartbeat::join("g", "m", &["t"]).encode(1, 3),
            cat(&[
                &header(76, 1, 3),
                &[0x02, b'g', 0x02, b'm'], // GroupId, MemberId
                &[0, 0, 0, 0],             // MemberEpoch 0
                &[0x00],                   // RackId null
                &[0x02, 0x02, b't'],       // SubscribedTopicNames ["t"]
                &[0x00],                   // tags
            ])
        );
        let mut beat = ShareHeartbeat::leave("g", "m");
        beat.rack_id = Some("r".into());
        assert_eq!(
            beat.encode(1, 4),
            cat(&[
                &header(76, 1, 4),
                &[0x02, b'g', 0x02, b'm', 0xff, 0xff, 0xff, 0xff],
                &[0x02, b'r', 0x00, 0x00],
            ])
        );
    }

    fn fetch_request() -> ShareFetchRequest {
        let mut request = ShareFetchRequest::new("g", "m", 2)
            .acknowledging(
                TOPIC,
                0,
                vec![
                    AckBatch::new(3, 4, ack::ACCEPT),
                    AckBatch {
                        first_offset: 6,
                        last_offset: 7,
                        types: vec![ack::RELEASE, ack::GAP],
                    },
                ],
            )
            .fetching(TOPIC, &[1])
            .forgetting(TOPIC, &[2]);
        request.max_wait_ms = 100;
        request.max_bytes = 1000;
        request.max_records = 10;
        request.batch_size = 5;
        request
    }

    fn fetch_head() -> Vec<u8> {
        cat(&[
            &[0x02, b'g', 0x02, b'm'], // GroupId, MemberId
            &[0, 0, 0, 2],             // ShareSessionEpoch
            &[0, 0, 0, 100],           // MaxWaitMs
            &[0, 0, 0, 1],             // MinBytes
            &[0, 0, 0x03, 0xe8],       // MaxBytes 1000
            &[0, 0, 0, 10],            // MaxRecords
            &[0, 0, 0, 5],             // BatchSize
        ])
    }

    fn fetch_tail() -> Vec<u8> {
        cat(&[
            &[0x02], // one topic
            &TOPIC_BYTES,
            &[0x03], // two partitions
            &[0, 0, 0, 0, 0x03],
            &[
                0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0x02, 1, 0x00,
            ],
            &[
                0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 7, 0x03, 2, 0, 0x00,
            ],
            &[0x00], // partition 0 tags
            &[0, 0, 0, 1, 0x01, 0x00],
            &[0x00], // topic tags
            &[0x02], // ForgottenTopicsData
            &TOPIC_BYTES,
            &[0x02, 0, 0, 0, 2, 0x00],
            &[0x00], // request tags
        ])
    }

    #[test]
    fn fetch_v1_and_v2_bytes() {
        let request = fetch_request();
        assert_eq!(
            request.encode(1, 9),
            cat(&[&header(78, 1, 9), &fetch_head(), &fetch_tail()])
        );
        let mut v2 = request.clone();
        v2.share_acquire_mode = RECORD_LIMIT;
        v2.is_renew_ack = true;
        assert_eq!(
            v2.encode(2, 9),
            cat(&[&header(78, 2, 9), &fetch_head(), &[1, 1], &fetch_tail()])
        );
        assert_eq!(
            request.encode(2, 9),
            cat(&[&header(78, 2, 9), &fetch_head(), &[0, 0], &fetch_tail()])
        );
    }

    #[test]
    #[should_panic(expected = "v1 has no IsRenewAck")]
    fn fetch_v1_refuses_renew() {
        let mut request = fetch_request();
        request.is_renew_ack = true;
        request.encode(1, 1);
    }

    #[test]
    fn acknowledge_v1_and_v2_bytes() {
        let mut request = ShareAcknowledgeRequest::new("g", "m", 3).acknowledging(
            TOPIC,
            5,
            vec![AckBatch::one(9, ack::RENEW)],
        );
        let head: &[u8] = &[0x02, b'g', 0x02, b'm', 0, 0, 0, 3];
        let tail = cat(&[
            &[0x02],
            &TOPIC_BYTES,
            &[0x02, 0, 0, 0, 5, 0x02],
            &[
                0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 9, 0x02, 4, 0x00,
            ],
            &[0x00, 0x00, 0x00],
        ]);
        assert_eq!(request.encode(1, 2), cat(&[&header(79, 1, 2), head, &tail]));
        request.is_renew_ack = true;
        assert_eq!(
            request.encode(2, 2),
            cat(&[&header(79, 2, 2), head, &[1], &tail])
        );
        let mut nulls = ShareAcknowledgeRequest::new("g", "m", -1);
        nulls.group_id = None;
        nulls.member_id = None;
        assert_eq!(
            nulls.encode(1, 1),
            cat(&[
                &header(79, 1, 1),
                &[0, 0, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]
            ])
        );
    }

    fn heartbeat_response() -> Vec<u8> {
        cat(&[
            &[0, 0, 0, 42, 0x00],
            &[0, 0, 0, 0],
            &[0, 0],
            &[0x00],
            &[0x02, b'm'],
            &[0, 0, 0, 3],
            &[0, 0, 0x13, 0x88],
            &[0x01, 0x02],
            &TOPIC_BYTES,
            &[0x03, 0, 0, 0, 0, 0, 0, 0, 1, 0x00],
            &[0x00, 0x00],
        ])
    }

    fn fetch_response() -> Vec<u8> {
        cat(&[
            &[0, 0, 0, 7, 0x00],
            &[0, 0, 0, 0],
            &[0, 0],
            &[0x00],
            &[0, 0, 0x75, 0x30], // AcquisitionLockTimeoutMs 30000
            &[0x02],
            &TOPIC_BYTES,
            &[0x02],
            &[0, 0, 0, 1],                   // PartitionIndex
            &[0, 0, 0x00],                   // ErrorCode, ErrorMessage
            &[0, 121, 0x02, b'x'],           // AcknowledgeErrorCode, message
            &[0, 0, 0, 1, 0, 0, 0, 2, 0x00], // CurrentLeader
            &[0x04, 0xaa, 0xbb, 0xcc],       // Records
            &[0x02],
            &[0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6, 0, 2, 0x00],
            &[0x00, 0x00],
            &[0x02, 0, 0, 0, 1, 0x02, b'h', 0, 0, 0x23, 0x84, 0x00, 0x00], // NodeEndpoints
            &[0x00],
        ])
    }

    fn acknowledge_response(version: i16) -> Vec<u8> {
        cat(&[
            &[0, 0, 0, 8, 0x00],
            &[0, 0, 0, 0],
            &[0, 0],
            &[0x00],
            if version >= 2 {
                &[0, 0, 0x3a, 0x98]
            } else {
                &[]
            },
            &[0x02],
            &TOPIC_BYTES,
            &[0x02],
            &[0, 0, 0, 0, 0, 123, 0x00],
            &[0, 0, 0, 1, 0, 0, 0, 0, 0x00],
            &[0x00, 0x00],
            &[0x01, 0x00],
        ])
    }

    #[test]
    fn responses_decode() {
        let beat = decode_share_heartbeat_response(&heartbeat_response()).unwrap();
        assert_eq!(
            (
                beat.member_id.as_deref(),
                beat.member_epoch,
                beat.assigned(&TOPIC)
            ),
            (Some("m"), 3, Some(&[0, 1][..]))
        );
        let fetch = decode_share_fetch_response(&fetch_response()).unwrap();
        assert_eq!(fetch.acquisition_lock_timeout_ms, 30_000);
        let p = fetch.partition(&TOPIC, 1).unwrap();
        assert_eq!(
            (p.acknowledge_error_code, p.leader_id, p.leader_epoch),
            (error::INVALID_RECORD_STATE, 1, 2)
        );
        assert_eq!(p.records, [0xaa, 0xbb, 0xcc]);
        assert_eq!(p.acquired(), [(5, 2), (6, 2)]);
        assert_eq!(
            fetch.node_endpoints,
            [NodeEndpoint {
                node_id: 1,
                host: "h".into(),
                port: 9092,
                rack: None
            }]
        );
        let v1 = decode_share_acknowledge_response(&acknowledge_response(1), 1).unwrap();
        assert_eq!(v1.acquisition_lock_timeout_ms, None);
        assert_eq!(
            v1.partition(&TOPIC, 0).unwrap().error_code,
            error::INVALID_SHARE_SESSION_EPOCH
        );
        let v2 = decode_share_acknowledge_response(&acknowledge_response(2), 2).unwrap();
        assert_eq!(v2.acquisition_lock_timeout_ms, Some(15_000));
        assert!(decode_share_acknowledge_response(&acknowledge_response(2), 1).is_err());
        assert!(decode_share_acknowledge_response(&acknowledge_response(1), 2).is_err());
    }

    #[test]
    fn fetch_response_refuses_null_records() {
        let mut bytes = fetch_response();
        let at = bytes
            .windows(4)
            .position(|w| w == [0x04, 0xaa, 0xbb, 0xcc])
            .unwrap();
        bytes.splice(at..at + 4, [0x00]);
        let e = decode_share_fetch_response(&bytes).unwrap_err();
        assert!(format!("{e:#}").contains("null records"), "{e:#}");
    }

    #[test]
    fn decoders_reject_truncation_and_leftovers() {
        let samples: Vec<(&str, Vec<u8>, Decoder)> = vec![
            ("heartbeat", heartbeat_response(), |b| {
                decode_share_heartbeat_response(b).map(drop)
            }),
            ("fetch", fetch_response(), |b| {
                decode_share_fetch_response(b).map(drop)
            }),
            ("acknowledge v1", acknowledge_response(1), |b| {
                decode_share_acknowledge_response(b, 1).map(drop)
            }),
            ("acknowledge v2", acknowledge_response(2), |b| {
                decode_share_acknowledge_response(b, 2).map(drop)
            }),
        ];
        assert_strict_decoders(samples);
    }
}
