//! DescribeTransactions (key 65): the state of transactional ids, for
//! operators (`kafka-transactions.sh describe`). As in Kafka's KafkaApis,
//! an id needs DESCRIBE (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and
//! only the topics with DESCRIBE show among its partitions.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let auth = AuthHelper::new(broker, ctx);
    let states = request
        .transactional_ids
        .iter()
        .map(|id| {
            let state = TransactionState::default().with_transactional_id(id.clone());
            if !auth.authorize(AclOperation::Describe, ResourceType::TransactionalId, id) {
                return state
                    .with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code());
            }
            let Some(txn) = broker.txns.describe(id) else {
                return state
                    .with_error_code(ResponseError::TransactionalIdNotFound.code())
                    .with_transaction_start_time_ms(-1)
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1)
                    .with_transaction_state(StrBytes::from_static_str(""));
            };
            let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for (topic, partition) in &txn.partitions {
                by_topic.entry(topic).or_default().push(*partition);
            }
            state
                .with_transaction_state(StrBytes::from_static_str(txn.state.name()))
                .with_transaction_timeout_ms(txn.timeout_ms)
                .with_transaction_start_time_ms(txn.start_timestamp_ms)
                .with_producer_id(ProducerId(txn.producer_id))
                .with_producer_epoch(txn.producer_epoch)
                .with_topics(
                    by_topic
                        .into_iter()
                        .filter(|(topic, _)| {
                            auth.authorize(AclOperation::Describe, ResourceType::Topic, topic)
                        })
                        .map(|(topic, partitions)| {
                            TopicData::default()
                                .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
                                .with_partitions(partitions)
                        })
                        .collect(),
                )
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}
