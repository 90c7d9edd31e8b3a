//! TxnOffsetCommit (key 28): offsets committed in the producer's
//! transaction (exactly-once consume-transform-produce). They are written
//! to `__consumer_offsets` in a transactional batch of the producer's and
//! become the group's committed offsets only when the transaction commits.
//! The group's partition of `__consumer_offsets` must be in the
//! transaction (AddOffsetsToTxn), and the producer's epoch current.

use super::RequestContext;
use crate::broker::Broker;
use crate::coordinator::internal_topic::InternalTopic;
use crate::coordinator::records::partition_for;
use crate::coordinator::transaction_coordinator::TransactionCoordinator;
use crate::coordinator::{OFFSETS_TOPIC, OffsetToCommit};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    let offsets: Vec<OffsetToCommit> = request
        .topics
        .iter()
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
        (None, _) => Err(kafka_protocol::error::ResponseError::InvalidProducerIdMapping),
        (Some(txn), Ok(partitions)) => {
            let partition = (
                OFFSETS_TOPIC.to_string(),
                partition_for(&request.group_id, partitions),
            );
            TransactionCoordinator::verify_partition(txn, producer_id, epoch, &partition)
        }
    };
    let errors = match verified {
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
                                    .with_error_code(errors.next().unwrap_or(0))
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
