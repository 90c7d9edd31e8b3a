//! EndTxn (key 26): commits or aborts the producer's transaction, in two
//! phases (see the transaction coordinator). The producer needs WRITE on
//! its transactional id, as in Kafka's KafkaApis.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse};

pub fn handle(broker: &Broker, ctx: &RequestContext, request: &EndTxnRequest) -> EndTxnResponse {
    let mut response = EndTxnResponse::default();
    if !AuthHelper::new(broker, ctx).authorize(
        AclOperation::Write,
        ResourceType::TransactionalId,
        &request.transactional_id,
    ) {
        response.error_code = ResponseError::TransactionalIdAuthorizationFailed.code();
        return response;
    }
    let result = broker.txns.end_txn(
        &broker.transaction_state_topic(),
        broker,
        &request.transactional_id,
        request.producer_id.0,
        request.producer_epoch,
        request.committed,
    );
    if let Err(e) = result {
        response.error_code = super::fenced_for_version(e, ctx.api_version, 2).code();
    }
    response
}
