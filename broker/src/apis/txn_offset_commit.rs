//! TxnOffsetCommit (key 28): offsets committed in the producer's
//! transaction (exactly-once consume-transform-produce). They are written
//! to `__consumer_offsets` in a transactional batch of the producer's and
//! become the group's committed offsets only when the transaction commits.
//! The group's partition of `__consumer_offsets` must be in the
//! transaction (AddOffsetsToTxn), and the producer's epoch current.
//!
//! As in Kafka's KafkaApis the producer needs WRITE on its transactional id
//! and READ on the group (else every partition fails), and READ on each
//! topic (else its partitions fail with TOPIC_AUTHORIZATION_FAILED and the
//! others are committed).

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::records::partition_for;
use crate::coordinator::transaction_coordinator::TransactionCoordinator;
use crate::coordinator::{OFFSETS_TOPIC, OffsetToCommit};
use crate::internal_topics::InternalTopic;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    let auth = AuthHelper::new(broker, ctx);
    let denied = if !auth.authorize(
        AclOperation::Write,
        ResourceType::TransactionalId,
        &request.transactional_id,
    ) {
        Some(ResponseError::TransactionalIdAuthorizationFailed)
    } else if !auth.authorize(AclOperation::Read, ResourceType::Group, &request.group_id) {
        Some(ResponseError::GroupAuthorizationFailed)
    } else {
        None
    };
    if let Some(error) = denied {
        return response(request, |_| error.code());
    }
    let authorized_topics = auth.filter(
        AclOperation::Read,
        ResourceType::Topic,
        request.topics.iter().map(|t| t.name.as_str()),
    );
    let offsets: Vec<OffsetToCommit> = request
        .topics
        .iter()
        .filter(|t| authorized_topics.contains(t.name.as_str()))
        .flat_map(|t| {
            t.partitions.iter().map(move |p| OffsetToCommit {
                topic: t.name.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: if ctx.api_version >= 2 {
                    p.committed_leader_epoch
                } else {
                    -1
                },
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            })
        })
        .collect();
    let producer_id = request.producer_id.0;
    let epoch = request.producer_epoch;
    // The transaction's lock is held through the write, so its marker
    // cannot come between the check and the offsets (lock order:
    // transaction, then group).
    let txn = broker.txns.get(&request.transactional_id);
    let txn = txn.as_ref().map(|t| t.lock());
    let verified = match (&txn, broker.offsets_topic().partitions()) {
        (_, Err(e)) => Err(e),
        (None, _) => Err(ResponseError::InvalidProducerIdMapping),
        (Some(txn), Ok(partitions)) => {
            let partition = (
                OFFSETS_TOPIC.to_string(),
                partition_for(&request.group_id, partitions),
            );
            TransactionCoordinator::verify_partition(txn, producer_id, epoch, &partition)
        }
    };
    let errors = match verified {
        // No partition left to commit (none authorized): no error either.
        _ if offsets.is_empty() => Vec::new(),
        Err(e) => vec![e.code(); offsets.len()],
        Ok(()) => broker.groups.commit_txn_offsets(
            &broker.offsets_topic(),
            &broker.metadata.image(),
            &request.group_id,
            request.generation_id,
            &request.member_id,
            request.group_instance_id.as_deref(),
            producer_id,
            epoch,
            &offsets,
        ),
    };
    drop(txn);
    let mut errors = errors.into_iter();
    response(request, |topic| {
        if authorized_topics.contains(topic) {
            errors.next().unwrap_or(0)
        } else {
            ResponseError::TopicAuthorizationFailed.code()
        }
    })
}

/// The response with the error `error_of` gives each partition of the
/// request (asked once per partition, in order, with the topic's name).
fn response(
    request: &TxnOffsetCommitRequest,
    mut error_of: impl FnMut(&str) -> i16,
) -> TxnOffsetCommitResponse {
    TxnOffsetCommitResponse::default().with_topics(
        request
            .topics
            .iter()
            .map(|t| {
                TxnOffsetCommitResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                TxnOffsetCommitResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(error_of(t.name.as_str()))
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
