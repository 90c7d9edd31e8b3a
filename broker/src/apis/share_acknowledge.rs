//! ShareAcknowledge (key 79, v1-2): a share group member acknowledges
//! records it acquired with ShareFetch, outside a fetch (KIP-932, Kafka's
//! `handleShareAcknowledgeRequest`). Also the acknowledgement step that
//! ShareFetch shares.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use super::share_common::is_member_id_valid;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::now_ms;
use crate::coordinator::share_partition::AcknowledgeType;
use crate::coordinator::share_partition_manager::FINAL_EPOCH;
use crate::coordinator::share_records::ShareStateKey;
use crate::metadata::MetadataImage;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_acknowledge_response::{
    LeaderIdAndEpoch, PartitionData, ShareAcknowledgeTopicResponse,
};
use kafka_protocol::messages::{ShareAcknowledgeRequest, ShareAcknowledgeResponse};
use kafka_protocol::protocol::StrBytes;
use std::collections::HashSet;
use uuid::Uuid;

/// One partition's acknowledgements: (first offset, last offset, types).
pub type AckBatches = Vec<(i64, i64, Vec<i8>)>;

/// The outcome of one partition's acknowledgements: error code and
/// message.
pub type AckResult = ((Uuid, i32), i16, Option<String>);

/// Applies each partition's acknowledgements (Kafka's
/// `handleAcknowledgements`): an unknown topic, one the principal may not
/// READ, an unknown acknowledge type, RENEW in a request that is not a
/// renewal (v2's `IsRenewAck`, KIP-1222), or records the member does not
/// hold fail that partition alone.
pub fn acknowledge_partitions(
    broker: &Broker,
    ctx: &RequestContext,
    image: &MetadataImage,
    group_id: &str,
    member_id: &str,
    partitions: Vec<((Uuid, i32), AckBatches)>,
    is_renew_ack: bool,
) -> Vec<AckResult> {
    let auth = AuthHelper::new(broker, ctx);
    let topic = broker.share_state_topic();
    let now = now_ms();
    let mut denied: HashSet<Uuid> = HashSet::new();
    let mut allowed: HashSet<Uuid> = HashSet::new();
    partitions
        .into_iter()
        .map(|((topic_id, partition), batches)| {
            let fail = |error: ResponseError, message: Option<String>| {
                ((topic_id, partition), error.code(), message)
            };
            let Some(image_topic) = image.topic_by_id(&topic_id) else {
                return fail(ResponseError::UnknownTopicId, None);
            };
            if !allowed.contains(&topic_id) {
                if denied.contains(&topic_id)
                    || !auth.authorize(AclOperation::Read, ResourceType::Topic, &image_topic.name)
                {
                    denied.insert(topic_id);
                    return fail(ResponseError::TopicAuthorizationFailed, None);
                }
                allowed.insert(topic_id);
            }
            if !image_topic.partitions.contains_key(&partition) {
                return fail(ResponseError::UnknownTopicOrPartition, None);
            }
            let mut typed = Vec::with_capacity(batches.len());
            for (first, last, types) in batches {
                let mut kinds = Vec::with_capacity(types.len());
                for id in types {
                    match AcknowledgeType::from_id(id) {
                        Some(AcknowledgeType::Renew) if !is_renew_ack => {
                            return fail(
                                ResponseError::InvalidRequest,
                                Some(format!("Invalid acknowledge type: {id}")),
                            );
                        }
                        Some(kind) => kinds.push(kind),
                        None => {
                            return fail(
                                ResponseError::InvalidRequest,
                                Some(format!("Invalid acknowledge type: {id}")),
                            );
                        }
                    }
                }
                typed.push((first, last, kinds));
            }
            let key = ShareStateKey {
                group_id: group_id.to_string(),
                topic_id,
                partition,
            };
            match broker
                .shares
                .acknowledge(&topic, &key, member_id, &typed, now)
            {
                Ok(()) => ((topic_id, partition), 0, None),
                Err((error, message)) => fail(error, Some(message)),
            }
        })
        .collect()
}

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ShareAcknowledgeRequest,
    is_renew_ack: bool,
) -> ShareAcknowledgeResponse {
    let failed = |error: ResponseError, message: Option<String>| {
        ShareAcknowledgeResponse::default()
            .with_error_code(error.code())
            .with_error_message(message.map(StrBytes::from_string))
    };
    if !broker.share_groups_enabled() {
        return failed(ResponseError::UnsupportedVersion, None);
    }
    let group_id = request.group_id.as_deref().map_or("", |g| g.as_str());
    let auth = AuthHelper::new(broker, ctx);
    if !auth.authorize(AclOperation::Read, ResourceType::Group, group_id) {
        return failed(ResponseError::GroupAuthorizationFailed, None);
    }
    let member_id = request.member_id.as_deref().unwrap_or_default();
    if !is_member_id_valid(member_id) {
        return failed(
            ResponseError::InvalidRequest,
            Some("Invalid member id in the request.".into()),
        );
    }
    let epoch = request.share_session_epoch;
    if let Err(e) = broker
        .shares
        .acknowledge_session(group_id, member_id, epoch)
    {
        return failed(e.error(), None);
    }
    let image = broker.metadata.image();
    let partitions: Vec<((Uuid, i32), AckBatches)> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    (t.topic_id, p.partition_index),
                    p.acknowledgement_batches
                        .iter()
                        .map(|b| (b.first_offset, b.last_offset, b.acknowledge_types.clone()))
                        .collect(),
                )
            })
        })
        .collect();
    let results = acknowledge_partitions(
        broker,
        ctx,
        &image,
        group_id,
        member_id,
        partitions,
        ctx.api_version >= 2 && is_renew_ack,
    );
    if epoch == FINAL_EPOCH {
        broker
            .shares
            .release_member(&broker.share_state_topic(), group_id, member_id, now_ms());
    }
    let mut topics: Vec<ShareAcknowledgeTopicResponse> = Vec::new();
    for ((topic_id, partition), code, message) in results {
        let leader_epoch = image
            .topic_by_id(&topic_id)
            .and_then(|t| t.partitions.get(&partition))
            .map_or(-1, |p| p.leader_epoch);
        let data = PartitionData::default()
            .with_partition_index(partition)
            .with_error_code(code)
            .with_error_message(message.map(StrBytes::from_string))
            .with_current_leader(
                LeaderIdAndEpoch::default()
                    .with_leader_id(broker.config.node_id)
                    .with_leader_epoch(leader_epoch),
            );
        match topics.iter_mut().find(|t| t.topic_id == topic_id) {
            Some(t) => t.partitions.push(data),
            None => topics.push(
                ShareAcknowledgeTopicResponse::default()
                    .with_topic_id(topic_id)
                    .with_partitions(vec![data]),
            ),
        }
    }
    ShareAcknowledgeResponse::default().with_responses(topics)
}
