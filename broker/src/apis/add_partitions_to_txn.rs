//! AddPartitionsToTxn (key 24): partitions join the producer's transaction
//! before it writes to them. Up to v3 one transaction per request (the
//! clients' versions); from v4 on a batch of them, each of which may only
//! ask whether its partitions are in the transaction (`VerifyOnly`). A
//! partition of an unknown topic fails, and then nothing is added: the
//! others get OPERATION_NOT_ATTEMPTED.
//!
//! Authorization follows Kafka's KafkaApis for the clients' versions: WRITE
//! on the transactional id (else all its partitions fail with
//! TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and WRITE on each topic (else
//! TOPIC_AUTHORIZATION_FAILED, internal topics always, and nothing is
//! added). Kafka takes v4 on from brokers only and asks CLUSTER_ACTION;
//! this broker answers clients on them too, so each transaction of the
//! batch is checked as a v3 request is.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::transaction_coordinator::{TransactionCoordinator, TxnPartition};
use crate::metadata::{MetadataImage, is_internal_topic};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let image = broker.metadata.image();
    let auth = AuthHelper::new(broker, ctx);
    let mut response = AddPartitionsToTxnResponse::default();
    if ctx.api_version <= 3 {
        response.results_by_topic_v3_and_below = add(
            broker,
            &auth,
            &image,
            ctx.api_version,
            &request.v3_and_below_transactional_id,
            request.v3_and_below_producer_id.0,
            request.v3_and_below_producer_epoch,
            false,
            &request.v3_and_below_topics,
        );
        return response;
    }
    response.results_by_transaction = request
        .transactions
        .iter()
        .map(|txn| {
            AddPartitionsToTxnResult::default()
                .with_transactional_id(txn.transactional_id.clone())
                .with_topic_results(add(
                    broker,
                    &auth,
                    &image,
                    ctx.api_version,
                    &txn.transactional_id,
                    txn.producer_id.0,
                    txn.producer_epoch,
                    txn.verify_only,
                    &txn.topics,
                ))
        })
        .collect();
    response
}

#[allow(clippy::too_many_arguments)]
fn add(
    broker: &Broker,
    auth: &AuthHelper<'_>,
    image: &MetadataImage,
    version: i16,
    transactional_id: &str,
    producer_id: i64,
    producer_epoch: i16,
    verify_only: bool,
    topics: &[AddPartitionsToTxnTopic],
) -> Vec<AddPartitionsToTxnTopicResult> {
    let partitions: Vec<TxnPartition> = topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|&p| (t.name.to_string(), p)))
        .collect();
    let errors: Vec<i16> = if !auth.authorize(
        AclOperation::Write,
        ResourceType::TransactionalId,
        transactional_id,
    ) {
        vec![ResponseError::TransactionalIdAuthorizationFailed.code(); partitions.len()]
    } else {
        let authorized_topics = auth.filter(
            AclOperation::Write,
            ResourceType::Topic,
            topics
                .iter()
                .map(|t| t.name.as_str())
                .filter(|name| !is_internal_topic(name)),
        );
        // Unauthorized topics first, then unknown partitions.
        let failures: Vec<Option<ResponseError>> = partitions
            .iter()
            .map(|(topic, partition)| {
                if !authorized_topics.contains(topic.as_str()) {
                    Some(ResponseError::TopicAuthorizationFailed)
                } else if image.partition(topic, *partition).is_none() {
                    Some(ResponseError::UnknownTopicOrPartition)
                } else {
                    None
                }
            })
            .collect();
        if failures.iter().any(Option::is_some) {
            failures
                .iter()
                .map(|f| f.unwrap_or(ResponseError::OperationNotAttempted).code())
                .collect()
        } else if verify_only {
            let txn = broker.txns.get(transactional_id);
            let txn = txn.as_ref().map(|t| t.lock());
            partitions
                .iter()
                .map(|p| match &txn {
                    None => ResponseError::InvalidProducerIdMapping.code(),
                    Some(txn) => TransactionCoordinator::verify_partition(
                        txn,
                        producer_id,
                        producer_epoch,
                        p,
                    )
                    .err()
                    .map_or(0, |e| e.code()),
                })
                .collect()
        } else {
            let result = broker.txns.add_partitions(
                &broker.transaction_state_topic(),
                transactional_id,
                producer_id,
                producer_epoch,
                &partitions,
            );
            let error = match result {
                Ok(()) => 0,
                Err(e) => super::fenced_for_version(e, version, 2).code(),
            };
            vec![error; partitions.len()]
        }
    };
    let mut errors = errors.into_iter();
    topics
        .iter()
        .map(|t| {
            AddPartitionsToTxnTopicResult::default()
                .with_name(TopicName(StrBytes::from_string(t.name.to_string())))
                .with_results_by_partition(
                    t.partitions
                        .iter()
                        .map(|&p| {
                            let error = errors.next().unwrap_or(0);
                            AddPartitionsToTxnPartitionResult::default()
                                .with_partition_index(p)
                                .with_partition_error_code(error)
                        })
                        .collect(),
                )
        })
        .collect()
}
