//! EndTxn (key 26): commits or aborts the producer's transaction, in two
//! phases (see the transaction coordinator).

use super::RequestContext;
use crate::broker::Broker;
use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse};

pub fn handle(broker: &Broker, ctx: &RequestContext, request: &EndTxnRequest) -> EndTxnResponse {
    let result = broker.txns.end_txn(
        &broker.transaction_state_topic(),
        broker,
        &request.transactional_id,
        request.producer_id.0,
        request.producer_epoch,
        request.committed,
    );
    let mut response = EndTxnResponse::default();
    if let Err(e) = result {
        response.error_code = super::fenced_for_version(e, ctx.api_version, 2).code();
    }
    response
}
