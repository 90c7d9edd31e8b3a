//! InitProducerId (key 22): a new producer id for an idempotent producer.
//! Transactions are not supported, so a transactional id is refused.

use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use tracing::{error, info};

pub fn handle(broker: &Broker, request: &InitProducerIdRequest) -> InitProducerIdResponse {
    let mut response = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    if let Some(transactional_id) = &request.transactional_id {
        info!(transactional_id = %transactional_id.as_str(), "refusing InitProducerId: transactions are not supported");
        response.error_code = ResponseError::InvalidRequest.code();
        return response;
    }
    // An idempotent producer (even one bumping its epoch) gets a new id.
    match broker
        .producer_ids
        .generate(&broker.controller, &broker.metadata)
    {
        Ok(id) => response
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Err(e) => {
            error!("cannot allocate producer ids: {e}");
            response.with_error_code(ResponseError::UnknownServerError.code())
        }
    }
}
