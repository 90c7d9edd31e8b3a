//! InitProducerId (key 22): a producer id and epoch. An idempotent producer
//! gets a new producer id; a transactional one gets its transactional id's
//! producer id with the epoch bumped, from the transaction coordinator,
//! which fences the previous instance and aborts its open transaction.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, CLUSTER_NAME, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use tracing::error;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &InitProducerIdRequest,
) -> InitProducerIdResponse {
    let response = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    // As Kafka's KafkaApis: a transactional producer needs WRITE on its
    // transactional id; an idempotent one IDEMPOTENT_WRITE on the cluster
    // (not logged when denied) or WRITE on some topic.
    let auth = AuthHelper::new(broker, ctx);
    let denied = match &request.transactional_id {
        Some(id) => (!auth.authorize(AclOperation::Write, ResourceType::TransactionalId, id))
            .then_some(ResponseError::TransactionalIdAuthorizationFailed),
        None => (!auth.check(
            AclOperation::IdempotentWrite,
            ResourceType::Cluster,
            CLUSTER_NAME,
        ) && !auth.authorize_by_resource_type(AclOperation::Write, ResourceType::Topic))
        .then_some(ResponseError::ClusterAuthorizationFailed),
    };
    if let Some(error) = denied {
        return response.with_error_code(error.code());
    }
    let generate = || {
        broker
            .producer_ids
            .generate(&broker.controller, &broker.metadata)
            .map_err(|e| {
                error!("cannot allocate producer ids: {e}");
                ResponseError::UnknownServerError
            })
    };
    let Some(transactional_id) = &request.transactional_id else {
        // An idempotent producer (even one bumping its epoch) gets a new id.
        return match generate() {
            Ok(id) => response
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(0),
            Err(e) => response.with_error_code(e.code()),
        };
    };
    let expected = (request.producer_id.0 != -1 && request.producer_epoch != -1)
        .then_some((request.producer_id.0, request.producer_epoch));
    match broker.txns.init_producer_id(
        &broker.transaction_state_topic(),
        broker,
        transactional_id,
        request.transaction_timeout_ms,
        expected,
        &generate,
    ) {
        Ok((producer_id, epoch)) => response
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(epoch),
        Err(e) => response.with_error_code(super::fenced_for_version(e, ctx.api_version, 4).code()),
    }
}
