//! Request dispatch: one module per Kafka API.
//!
//! A request frame is checked for an API key and version the broker
//! implements, decoded with `kafka-protocol`, handed to its API's module and
//! the response encoded behind its size and response header. As in Kafka,
//! an unknown API or version (but for ApiVersions) and a request that cannot
//! be decoded close the connection.

pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod alter_configs;
pub mod alter_partition_reassignments;
pub mod alter_replica_log_dirs;
pub mod alter_share_group_offsets;
pub mod alter_user_scram_credentials;
pub mod api_versions;
pub mod auth_helper;
pub mod consumer_group_describe;
pub mod consumer_group_heartbeat;
pub mod create_acls;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_acls;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_share_group_offsets;
pub mod delete_topics;
pub mod describe_acls;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_producers;
pub mod describe_quorum;
pub mod describe_share_group_offsets;
pub mod describe_topic_partitions;
pub mod describe_transactions;
pub mod describe_user_scram_credentials;
pub mod elect_leaders;
pub mod end_txn;
pub mod errors;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_config_resources;
pub mod list_groups;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod list_transactions;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod share_acknowledge;
pub mod share_common;
pub mod share_fetch;
pub mod share_group_describe;
pub mod share_group_heartbeat;
pub mod share_offsets_versions;
pub mod share_versions;
pub mod sync_group;
pub mod txn_offset_commit;
pub mod update_features;
pub mod write_txn_markers;

use crate::broker::{Broker, ListenerInfo};
use crate::metadata::controller::ControllerError;
use crate::response_buffer::ResponseBuffer;
use crate::storage_io;
use bytes::{Buf, BufMut, Bytes};
use errors::ErrorCodes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// An API the broker implements and the versions it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiSupport {
    pub key: ApiKey,
    pub min_version: i16,
    pub max_version: i16,
    /// The lowest version ApiVersions reports; below `min_version` only
    /// where Kafka does the same for old clients' sake.
    pub advertised_min_version: i16,
}

const fn api(key: ApiKey, min_version: i16, max_version: i16) -> ApiSupport {
    ApiSupport {
        key,
        min_version,
        max_version,
        advertised_min_version: min_version,
    }
}

/// Every API the broker implements, in API key order. ApiVersions answers
/// with exactly this list.
pub const SUPPORTED_APIS: &[ApiSupport] = &[
    // Produce v0-2 are gone (as in Kafka 4.0) but still advertised, as Kafka
    // 4.0 does (KAFKA-18659): librdkafka releases such as Debian 12's 2.0.2
    // compress with gzip, snappy or lz4 only for brokers that list Produce
    // v0 (librdkafka#4956). Requests of those versions still close the
    // connection.
    ApiSupport {
        advertised_min_version: 0,
        ..api(ApiKey::Produce, 3, 11)
    },
    api(ApiKey::Fetch, 4, 16),
    api(ApiKey::ListOffsets, 1, 9),
    api(ApiKey::Metadata, 0, 12),
    api(ApiKey::OffsetCommit, 2, 9),
    api(ApiKey::OffsetFetch, 1, 9),
    api(ApiKey::FindCoordinator, 0, 5),
    api(ApiKey::JoinGroup, 0, 9),
    api(ApiKey::Heartbeat, 0, 4),
    api(ApiKey::LeaveGroup, 0, 5),
    api(ApiKey::SyncGroup, 0, 5),
    api(ApiKey::DescribeGroups, 0, 5),
    api(ApiKey::ListGroups, 0, 5),
    api(ApiKey::SaslHandshake, 0, 1),
    api(ApiKey::ApiVersions, 0, 4),
    api(ApiKey::CreateTopics, 2, 7),
    api(ApiKey::DeleteTopics, 1, 6),
    api(ApiKey::DeleteRecords, 0, 2),
    api(ApiKey::InitProducerId, 0, 5),
    // v0 and v1 are gone, as in Kafka 4.0.
    api(ApiKey::OffsetForLeaderEpoch, 2, 4),
    // v5 of AddPartitionsToTxn only adds an error code; EndTxn and
    // TxnOffsetCommit v5 are KIP-890's transaction version 2, which this
    // broker does not enable (clients then use v4 at most).
    api(ApiKey::AddPartitionsToTxn, 0, 5),
    api(ApiKey::AddOffsetsToTxn, 0, 4),
    api(ApiKey::EndTxn, 0, 4),
    // v0 is gone, as in Kafka 4.0; v2 carries KIP-890's transaction
    // version 2, which this broker does not enable.
    api(ApiKey::WriteTxnMarkers, 1, 1),
    api(ApiKey::TxnOffsetCommit, 0, 4),
    // v0 (no pattern type) is gone, as in Kafka 4.0.
    api(ApiKey::DescribeAcls, 1, 3),
    api(ApiKey::CreateAcls, 1, 3),
    api(ApiKey::DeleteAcls, 1, 3),
    api(ApiKey::DescribeConfigs, 1, 4),
    api(ApiKey::AlterConfigs, 0, 2),
    // v0 of both is gone, as in Kafka 4.0.
    api(ApiKey::AlterReplicaLogDirs, 1, 2),
    api(ApiKey::DescribeLogDirs, 1, 4),
    api(ApiKey::CreatePartitions, 0, 3),
    api(ApiKey::SaslAuthenticate, 0, 2),
    api(ApiKey::DeleteGroups, 0, 2),
    api(ApiKey::ElectLeaders, 0, 2),
    api(ApiKey::IncrementalAlterConfigs, 0, 1),
    api(ApiKey::AlterPartitionReassignments, 0, 1),
    api(ApiKey::ListPartitionReassignments, 0, 0),
    api(ApiKey::OffsetDelete, 0, 0),
    api(ApiKey::DescribeUserScramCredentials, 0, 0),
    api(ApiKey::AlterUserScramCredentials, 0, 0),
    api(ApiKey::DescribeQuorum, 0, 2),
    api(ApiKey::UpdateFeatures, 0, 2),
    api(ApiKey::DescribeCluster, 0, 1),
    api(ApiKey::DescribeProducers, 0, 0),
    api(ApiKey::DescribeTransactions, 0, 0),
    api(ApiKey::ListTransactions, 0, 1),
    api(ApiKey::ConsumerGroupHeartbeat, 0, 1),
    api(ApiKey::ConsumerGroupDescribe, 0, 1),
    api(ApiKey::ListConfigResources, 0, 1),
    api(ApiKey::DescribeTopicPartitions, 0, 0),
    // Share groups (KIP-932). v2 of ShareFetch and ShareAcknowledge is
    // Kafka 4.2's, read and written by `share_versions`.
    api(ApiKey::ShareGroupHeartbeat, 1, 1),
    api(ApiKey::ShareGroupDescribe, 1, 1),
    api(ApiKey::ShareFetch, 1, 2),
    api(ApiKey::ShareAcknowledge, 1, 2),
    // v1 (KIP-1226's Lag) is Kafka 4.2's, written by
    // `share_offsets_versions`.
    api(ApiKey::DescribeShareGroupOffsets, 0, 1),
    api(ApiKey::AlterShareGroupOffsets, 0, 0),
    api(ApiKey::DeleteShareGroupOffsets, 0, 0),
];

pub fn supported(key: ApiKey) -> Option<&'static ApiSupport> {
    SUPPORTED_APIS.iter().find(|api| api.key == key)
}

/// Who sent a request and how.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    pub peer: SocketAddr,
    /// The listener the request came in on.
    pub listener: Arc<ListenerInfo>,
    /// Who sent it (`User:ANONYMOUS` until authenticated).
    pub principal: Arc<str>,
}

/// The connection a request came on: its listener and principal.
#[derive(Debug, Clone)]
pub struct Session {
    pub peer: SocketAddr,
    pub listener: Arc<ListenerInfo>,
    pub principal: Arc<str>,
}

/// What a handler wants done with its response.
pub enum Outcome<R> {
    Respond(R),
    /// No response at all (Produce with acks = 0).
    NoResponse,
    /// Close the connection; the reason is logged.
    Close(String),
}

/// Why a connection must be closed.
#[derive(Debug)]
pub struct CloseConnection(pub String);

impl fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Handles one request frame (without its size prefix), appending the
/// response, if any, to `out`. With metrics on, every request of a
/// supported API is counted and timed, those that close the connection
/// included.
pub async fn handle_request(
    broker: &Broker,
    frame: Bytes,
    session: &Session,
    out: &mut ResponseBuffer,
) -> Result<(), CloseConnection> {
    let started = Instant::now();
    let raw_key = match frame.get(..2) {
        Some(&[high, low]) => Some(i16::from_be_bytes([high, low])),
        _ => None,
    };
    let handled = dispatch(broker, frame, session, out).await;
    if let Some(metrics) = &broker.metrics {
        let key = raw_key.and_then(|raw| ApiKey::try_from(raw).ok());
        let supported_key = key.filter(|key| supported(*key).is_some());
        if let Some(api) = supported_key.and_then(|key| metrics.api(key)) {
            api.observe(started.elapsed());
        }
    }
    handled
}

async fn dispatch(
    broker: &Broker,
    frame: Bytes,
    session: &Session,
    out: &mut ResponseBuffer,
) -> Result<(), CloseConnection> {
    let peer = session.peer;
    let (raw_key, api_version, correlation_id) = header_prefix(&frame)?;
    let api_key = ApiKey::try_from(raw_key)
        .map_err(|_| CloseConnection(format!("unknown API key {raw_key}")))?;
    let Some(support) = supported(api_key) else {
        return Err(CloseConnection(format!(
            "API {api_key:?} (key {raw_key}) is not supported"
        )));
    };
    if api_version < support.min_version || api_version > support.max_version {
        if api_key == ApiKey::ApiVersions && api_version > support.max_version {
            // Kafka answers newer ApiVersions requests in the v0 layout so the
            // client can retry with a version both sides know.
            let response = api_versions::unsupported_version_response();
            count_errors(broker, api_key, &response);
            return encode_response(out, correlation_id, 0, &response);
        }
        return Err(CloseConnection(format!(
            "{api_key:?} version {api_version} is not supported (supported: {}..={})",
            support.min_version, support.max_version
        )));
    }

    let mut buf = frame;
    let header = RequestHeader::decode(&mut buf, api_key.request_header_version(api_version))
        .map_err(|e| CloseConnection(format!("malformed {api_key:?} request header: {e}")))?;
    let ctx = RequestContext {
        api_key,
        api_version,
        correlation_id,
        client_id: header.client_id.as_ref().map(|id| id.to_string()),
        peer,
        listener: Arc::clone(&session.listener),
        principal: Arc::clone(&session.principal),
    };
    tracing::trace!(api = ?api_key, version = api_version, correlation_id, %peer, "request");

    match api_key {
        ApiKey::ApiVersions => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                api_versions::handle(&ctx, &broker.metadata.image(), &request),
            )
        }
        ApiKey::DescribeTopicPartitions => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                describe_topic_partitions::handle(broker, &ctx, &request),
            )
        }
        ApiKey::Fetch => {
            let request = decode(&ctx, &mut buf)?;
            let response = fetch::handle(broker, &ctx, request).await;
            // The batches go to the socket from the segment files' mappings.
            for partition in response.responses.iter().flat_map(|t| &t.partitions) {
                if let Some(records) = &partition.records {
                    out.share(records);
                }
            }
            respond(broker, out, &ctx, response)
        }
        ApiKey::Produce => {
            let request = decode(&ctx, &mut buf)?;
            // One hand-off of the worker for all the request's partitions.
            let outcome = storage_io::blocking(|| produce::handle(broker, &ctx, request));
            finish(broker, out, &ctx, outcome)
        }
        ApiKey::ListOffsets => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                list_offsets::handle(broker, &ctx, &request),
            )
        }
        ApiKey::Metadata => {
            let request = decode(&ctx, &mut buf)?;
            respond(broker, out, &ctx, metadata::handle(broker, &ctx, &request))
        }
        ApiKey::CreateTopics => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                create_topics::handle(broker, &ctx, &request),
            )
        }
        ApiKey::DeleteTopics => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                delete_topics::handle(broker, &ctx, &request),
            )
        }
        ApiKey::AlterConfigs => {
            let request = decode(&ctx, &mut buf)?;
            let response = storage_io::blocking(|| alter_configs::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::IncrementalAlterConfigs => {
            let request = decode(&ctx, &mut buf)?;
            let response =
                storage_io::blocking(|| incremental_alter_configs::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::DeleteRecords => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                delete_records::handle(broker, &ctx, &request),
            )
        }
        ApiKey::CreatePartitions => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                create_partitions::handle(broker, &ctx, &request),
            )
        }
        ApiKey::InitProducerId => {
            let request = decode(&ctx, &mut buf)?;
            let response =
                storage_io::blocking(|| init_producer_id::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::AddPartitionsToTxn => {
            let request = decode(&ctx, &mut buf)?;
            let response =
                storage_io::blocking(|| add_partitions_to_txn::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::AddOffsetsToTxn => {
            let request = decode(&ctx, &mut buf)?;
            let response =
                storage_io::blocking(|| add_offsets_to_txn::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::EndTxn => {
            let request = decode(&ctx, &mut buf)?;
            let response = storage_io::blocking(|| end_txn::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::TxnOffsetCommit => {
            let request = decode(&ctx, &mut buf)?;
            let response =
                storage_io::blocking(|| txn_offset_commit::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::DescribeTransactions => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                describe_transactions::handle(broker, &ctx, &request),
            )
        }
        ApiKey::ListTransactions => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                list_transactions::handle(broker, &ctx, &request),
            )
        }
        // SASL requests on a connection that needs no (more) authentication
        // (Kafka's KafkaApis answers them so).
        ApiKey::SaslHandshake => {
            let _: kafka_protocol::messages::SaslHandshakeRequest = decode(&ctx, &mut buf)?;
            let response = kafka_protocol::messages::SaslHandshakeResponse::default()
                .with_error_code(ResponseError::IllegalSaslState.code());
            respond(broker, out, &ctx, response)
        }
        ApiKey::SaslAuthenticate => {
            let _: kafka_protocol::messages::SaslAuthenticateRequest = decode(&ctx, &mut buf)?;
            let response = kafka_protocol::messages::SaslAuthenticateResponse::default()
                .with_error_code(ResponseError::IllegalSaslState.code())
                .with_error_message(Some(kafka_protocol::protocol::StrBytes::from_static_str(
                    "SaslAuthenticate request received after successful authentication",
                )));
            respond(broker, out, &ctx, response)
        }
        ApiKey::DescribeUserScramCredentials => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                describe_user_scram_credentials::handle(broker, &ctx, &request),
            )
        }
        ApiKey::AlterUserScramCredentials => {
            let request = decode(&ctx, &mut buf)?;
            let response = storage_io::blocking(|| {
                alter_user_scram_credentials::handle(broker, &ctx, &request)
            });
            respond(broker, out, &ctx, response)
        }
        ApiKey::DescribeAcls => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                describe_acls::handle(broker, &ctx, &request),
            )
        }
        ApiKey::CreateAcls => {
            let request = decode(&ctx, &mut buf)?;
            let response = storage_io::blocking(|| create_acls::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::DeleteAcls => {
            let request = decode(&ctx, &mut buf)?;
            let response = storage_io::blocking(|| delete_acls::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::ConsumerGroupHeartbeat => {
            let request = decode(&ctx, &mut buf)?;
            // It may append to `__consumer_offsets`.
            let response =
                storage_io::blocking(|| consumer_group_heartbeat::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::ShareGroupHeartbeat => {
            let request = decode(&ctx, &mut buf)?;
            // It may initialize share partitions in `__share_group_state`.
            let response =
                storage_io::blocking(|| share_group_heartbeat::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::ShareFetch => {
            let (request, v2) = if ctx.api_version >= 2 {
                let (mut v1, v2) = share_versions::share_fetch_request_v2(&buf)
                    .map_err(|e| malformed(&ctx, &e))?;
                (decode_at(&ctx, &mut v1, 1)?, v2)
            } else {
                (decode(&ctx, &mut buf)?, Default::default())
            };
            let response = share_fetch::handle(broker, &ctx, request, v2).await;
            for partition in response.responses.iter().flat_map(|t| &t.partitions) {
                if let Some(records) = &partition.records {
                    out.share(records);
                }
            }
            count_errors(broker, ctx.api_key, &response);
            // v2's response is v1's layout.
            encode_response(out, ctx.correlation_id, 1, &response)
        }
        ApiKey::ShareAcknowledge => {
            let (request, is_renew_ack) = if ctx.api_version >= 2 {
                let (mut v1, is_renew_ack) = share_versions::share_acknowledge_request_v2(&buf)
                    .map_err(|e| malformed(&ctx, &e))?;
                (decode_at(&ctx, &mut v1, 1)?, is_renew_ack)
            } else {
                (decode(&ctx, &mut buf)?, false)
            };
            let response = storage_io::blocking(|| {
                share_acknowledge::handle(broker, &ctx, &request, is_renew_ack)
            });
            count_errors(broker, ctx.api_key, &response);
            if ctx.api_version >= 2 {
                let lock_ms = share_common::share_settings(
                    broker,
                    request.group_id.as_deref().map_or("", |g| g.as_str()),
                )
                .partition
                .record_lock_duration_ms as i32;
                let body = share_versions::share_acknowledge_response_v2(&response, lock_ms)
                    .map_err(|e| CloseConnection(format!("could not encode the response: {e}")))?;
                encode_response(out, ctx.correlation_id, 2, &body)
            } else {
                encode_response(out, ctx.correlation_id, 1, &response)
            }
        }
        ApiKey::ShareGroupDescribe => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                share_group_describe::handle(broker, &ctx, &request),
            )
        }
        ApiKey::DescribeShareGroupOffsets => {
            // v1's request is v0's.
            let request = decode_at(&ctx, &mut buf, 0)?;
            // It may open partition logs for their high watermarks.
            let described = storage_io::blocking(|| {
                describe_share_group_offsets::handle(broker, &ctx, &request)
            });
            count_errors(broker, ctx.api_key, &described.response);
            if ctx.api_version >= 1 {
                let body = share_offsets_versions::describe_share_group_offsets_response_v1(
                    &described.response,
                    &described.lags,
                )
                .map_err(|e| CloseConnection(format!("could not encode the response: {e}")))?;
                encode_response(out, ctx.correlation_id, 1, &body)
            } else {
                encode_response(out, ctx.correlation_id, 0, &described.response)
            }
        }
        ApiKey::AlterShareGroupOffsets => {
            let request = decode(&ctx, &mut buf)?;
            // It writes to `__share_group_state`.
            let response =
                storage_io::blocking(|| alter_share_group_offsets::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::DeleteShareGroupOffsets => {
            let request = decode(&ctx, &mut buf)?;
            // It writes to `__share_group_state`.
            let response =
                storage_io::blocking(|| delete_share_group_offsets::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::ConsumerGroupDescribe => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                consumer_group_describe::handle(broker, &ctx, &request),
            )
        }
        ApiKey::OffsetForLeaderEpoch => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                offset_for_leader_epoch::handle(broker, &ctx, &request),
            )
        }
        ApiKey::ElectLeaders => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                elect_leaders::handle(broker, &ctx, &request),
            )
        }
        ApiKey::AlterPartitionReassignments => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                alter_partition_reassignments::handle(broker, &ctx, &request),
            )
        }
        ApiKey::ListPartitionReassignments => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                list_partition_reassignments::handle(broker, &ctx, &request),
            )
        }
        ApiKey::DescribeProducers => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                describe_producers::handle(broker, &ctx, &request),
            )
        }
        ApiKey::DescribeConfigs => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                describe_configs::handle(broker, &ctx, &request),
            )
        }
        ApiKey::FindCoordinator => {
            let request = decode(&ctx, &mut buf)?;
            // The first one creates the internal topic (fsynced).
            let response =
                storage_io::blocking(|| find_coordinator::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::JoinGroup => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                join_group::handle(broker, &ctx, request).await,
            )
        }
        ApiKey::SyncGroup => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                sync_group::handle(broker, &ctx, request).await,
            )
        }
        ApiKey::Heartbeat => {
            let request = decode(&ctx, &mut buf)?;
            respond(broker, out, &ctx, heartbeat::handle(broker, &ctx, &request))
        }
        ApiKey::LeaveGroup => {
            let request = decode(&ctx, &mut buf)?;
            // It appends to `__consumer_offsets`.
            let response = storage_io::blocking(|| leave_group::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::OffsetCommit => {
            let request = decode(&ctx, &mut buf)?;
            // It appends to `__consumer_offsets`.
            let response = storage_io::blocking(|| offset_commit::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::OffsetFetch => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                offset_fetch::handle(broker, &ctx, &request),
            )
        }
        ApiKey::DescribeGroups => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                describe_groups::handle(broker, &ctx, &request),
            )
        }
        ApiKey::ListGroups => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                list_groups::handle(broker, &ctx, &request),
            )
        }
        ApiKey::DeleteGroups => {
            let request = decode(&ctx, &mut buf)?;
            // It appends to `__consumer_offsets`.
            let response = storage_io::blocking(|| delete_groups::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::OffsetDelete => {
            let request = decode(&ctx, &mut buf)?;
            // It appends to `__consumer_offsets`.
            let response = storage_io::blocking(|| offset_delete::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::DescribeQuorum => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                describe_quorum::handle(broker, &ctx, &request),
            )
        }
        ApiKey::UpdateFeatures => {
            let request = decode(&ctx, &mut buf)?;
            // It appends to `__cluster_metadata`.
            let response = storage_io::blocking(|| update_features::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::ListConfigResources => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                list_config_resources::handle(broker, &ctx, &request),
            )
        }
        ApiKey::WriteTxnMarkers => {
            let request = decode(&ctx, &mut buf)?;
            // It appends markers to partition logs.
            let response =
                storage_io::blocking(|| write_txn_markers::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::DescribeLogDirs => {
            let request = decode(&ctx, &mut buf)?;
            // It reads the file system's space.
            let response =
                storage_io::blocking(|| describe_log_dirs::handle(broker, &ctx, &request));
            respond(broker, out, &ctx, response)
        }
        ApiKey::AlterReplicaLogDirs => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                alter_replica_log_dirs::handle(broker, &ctx, &request),
            )
        }
        ApiKey::DescribeCluster => {
            let request = decode(&ctx, &mut buf)?;
            respond(
                broker,
                out,
                &ctx,
                describe_cluster::handle(broker, &ctx, &request),
            )
        }
        other => Err(CloseConnection(format!("API {other:?} has no handler"))),
    }
}

fn decode<T: Decodable>(ctx: &RequestContext, buf: &mut Bytes) -> Result<T, CloseConnection> {
    decode_at(ctx, buf, ctx.api_version)
}

/// Decodes a request body in the layout of `version` (a newer version's
/// body with its own fields taken out).
fn decode_at<T: Decodable>(
    ctx: &RequestContext,
    buf: &mut Bytes,
    version: i16,
) -> Result<T, CloseConnection> {
    T::decode(buf, version).map_err(|e| malformed(ctx, &e))
}

fn malformed(ctx: &RequestContext, e: &dyn fmt::Display) -> CloseConnection {
    CloseConnection(format!(
        "malformed {:?} v{} request (correlation id {}): {e}",
        ctx.api_key, ctx.api_version, ctx.correlation_id
    ))
}

fn respond<R: Encodable + HeaderVersion + ErrorCodes>(
    broker: &Broker,
    out: &mut ResponseBuffer,
    ctx: &RequestContext,
    response: R,
) -> Result<(), CloseConnection> {
    count_errors(broker, ctx.api_key, &response);
    encode_response(out, ctx.correlation_id, ctx.api_version, &response)
}

fn finish<R: Encodable + HeaderVersion + ErrorCodes>(
    broker: &Broker,
    out: &mut ResponseBuffer,
    ctx: &RequestContext,
    outcome: Outcome<R>,
) -> Result<(), CloseConnection> {
    match outcome {
        Outcome::Respond(response) => respond(broker, out, ctx, response),
        Outcome::NoResponse => Ok(()),
        Outcome::Close(reason) => Err(CloseConnection(reason)),
    }
}

/// The API key, version and correlation id of a request frame; a frame too
/// short or of an unknown API closes the connection.
pub fn peek_header(frame: &[u8]) -> Result<(ApiKey, i16, i32), CloseConnection> {
    let (raw_key, version, correlation_id) = header_prefix(frame)?;
    let key = ApiKey::try_from(raw_key)
        .map_err(|_| CloseConnection(format!("unknown API key {raw_key}")))?;
    match supported(key) {
        Some(s) if version >= s.min_version && version <= s.max_version => {
            Ok((key, version, correlation_id))
        }
        _ => Err(CloseConnection(format!(
            "{key:?} version {version} is not supported"
        ))),
    }
}

/// The raw API key, version and correlation id at the start of a frame.
fn header_prefix(frame: &[u8]) -> Result<(i16, i16, i32), CloseConnection> {
    if frame.len() < 8 {
        return Err(CloseConnection(format!(
            "request of {} bytes is too short for a request header",
            frame.len()
        )));
    }
    let mut peek = &frame[..8];
    Ok((peek.get_i16(), peek.get_i16(), peek.get_i32()))
}

/// Encodes a response outside the dispatch (the SASL exchange).
pub fn respond_raw<R: Encodable + HeaderVersion>(
    out: &mut ResponseBuffer,
    _key: ApiKey,
    version: i16,
    correlation_id: i32,
    response: &R,
) -> Result<(), CloseConnection> {
    encode_response(out, correlation_id, version, response)
}

/// The keys that occur more than once (a request naming a resource or a
/// partition twice, which Kafka refuses for each occurrence).
pub fn repeated<K: Eq + std::hash::Hash + Copy>(
    keys: impl Iterator<Item = K>,
) -> std::collections::HashSet<K> {
    let mut seen = std::collections::HashSet::new();
    keys.filter(|key| !seen.insert(*key)).collect()
}

/// PRODUCER_FENCED as clients older than `since` know it:
/// INVALID_PRODUCER_EPOCH (Kafka's KafkaApis does the same).
pub fn fenced_for_version(error: ResponseError, version: i16, since: i16) -> ResponseError {
    if error == ResponseError::ProducerFenced && version < since {
        ResponseError::InvalidProducerEpoch
    } else {
        error
    }
}

/// The Kafka error code and message for a failed metadata change.
pub fn controller_error(e: &ControllerError) -> (ResponseError, String) {
    let code = match e {
        ControllerError::TopicAlreadyExists(_) => ResponseError::TopicAlreadyExists,
        ControllerError::InvalidTopic(_) => ResponseError::InvalidTopicException,
        ControllerError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
        ControllerError::InvalidReplicationFactor(_) => ResponseError::InvalidReplicationFactor,
        ControllerError::InvalidReplicaAssignment(_) => ResponseError::InvalidReplicaAssignment,
        ControllerError::InvalidConfig(_) => ResponseError::InvalidConfig,
        ControllerError::InvalidRequest(_) => ResponseError::InvalidRequest,
        ControllerError::UnknownTopicOrPartition(_) => ResponseError::UnknownTopicOrPartition,
        ControllerError::UnknownTopicId(_) => ResponseError::UnknownTopicId,
        ControllerError::TopicDeletionDisabled => ResponseError::TopicDeletionDisabled,
        ControllerError::Storage(_) => ResponseError::KafkaStorageError,
    };
    (code, e.to_string())
}

/// Appends `size · response header · body` to `out`.
fn encode_response<R: Encodable + HeaderVersion>(
    out: &mut ResponseBuffer,
    correlation_id: i32,
    version: i16,
    response: &R,
) -> Result<(), CloseConnection> {
    let start = out.len();
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = R::header_version(version);
    let encoded = header
        .compute_size(header_version)
        .and_then(|h| Ok(h + response.compute_size(version)?))
        .and_then(|size| {
            let size = i32::try_from(size)?;
            out.put_i32(size);
            header.encode(out, header_version)?;
            response.encode(out, version)?;
            let written = out.len() - start - 4;
            if written != size as usize {
                anyhow::bail!("encoded {written} bytes where {size} were computed");
            }
            Ok(())
        });
    if let Err(e) = encoded {
        out.truncate(start);
        return Err(CloseConnection(format!(
            "could not encode the response to correlation id {correlation_id}: {e}"
        )));
    }
    Ok(())
}

/// Counts the non-zero error codes of a response to `api` in the metrics.
fn count_errors(broker: &Broker, api: ApiKey, response: &impl ErrorCodes) {
    let Some(metrics) = &broker.metrics else {
        return;
    };
    if let Some(api) = metrics.api(api) {
        response.for_each_error_code(&mut |code| metrics.count_error(api, code));
    }
}
