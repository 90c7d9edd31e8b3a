//! ListTransactions (key 66): the transactional ids, filtered by state,
//! producer id and (v1) how long they have run, for operators
//! (`kafka-transactions.sh list`). Unknown state names come back in
//! `UnknownStateFilters`. Only the ids the principal may DESCRIBE are
//! listed, as in Kafka's KafkaApis.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::transaction_log::TransactionState;
use kafka_protocol::messages::list_transactions_response::TransactionState as Listed;
use kafka_protocol::messages::{
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ListTransactionsRequest,
) -> ListTransactionsResponse {
    let mut unknown = Vec::new();
    let mut states = Vec::new();
    for filter in &request.state_filters {
        match TransactionState::ALL
            .iter()
            .find(|s| s.name() == filter.as_str())
        {
            Some(state) => states.push(*state),
            None => unknown.push(filter.clone()),
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    // A duration filter (v1) keeps transactions running longer than it.
    let min_duration =
        (ctx.api_version >= 1 && request.duration_filter >= 0).then_some(request.duration_filter);
    let auth = AuthHelper::new(broker, ctx);
    let listed = broker
        .txns
        .list()
        .into_iter()
        .filter(|t| states.is_empty() || states.contains(&t.state))
        .filter(|t| {
            request.producer_id_filters.is_empty()
                || request
                    .producer_id_filters
                    .contains(&ProducerId(t.producer_id))
        })
        .filter(|t| {
            min_duration.is_none_or(|d| t.start_timestamp_ms >= 0 && now - t.start_timestamp_ms > d)
        })
        .filter(|t| {
            auth.authorize(
                AclOperation::Describe,
                ResourceType::TransactionalId,
                &t.transactional_id,
            )
        })
        .map(|t| {
            Listed::default()
                .with_transactional_id(TransactionalId(StrBytes::from_string(t.transactional_id)))
                .with_producer_id(ProducerId(t.producer_id))
                .with_transaction_state(StrBytes::from_static_str(t.state.name()))
        })
        .collect();
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown)
        .with_transaction_states(listed)
}
