//! AddOffsetsToTxn (key 25): the partition of `__consumer_offsets` that
//! holds the group's offsets joins the producer's transaction, for the
//! TxnOffsetCommit that follows. The producer needs WRITE on its
//! transactional id and READ on the group, as in Kafka's KafkaApis.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::OFFSETS_TOPIC;
use crate::coordinator::records::partition_for;
use crate::internal_topics::InternalTopic;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let auth = AuthHelper::new(broker, ctx);
    let result = if !auth.authorize(
        AclOperation::Write,
        ResourceType::TransactionalId,
        &request.transactional_id,
    ) {
        Err(ResponseError::TransactionalIdAuthorizationFailed)
    } else if !auth.authorize(AclOperation::Read, ResourceType::Group, &request.group_id) {
        Err(ResponseError::GroupAuthorizationFailed)
    } else if request.group_id.is_empty() {
        Err(ResponseError::InvalidGroupId)
    } else {
        broker.offsets_topic().partitions().and_then(|partitions| {
            let partition = partition_for(&request.group_id, partitions);
            broker.txns.add_partitions(
                &broker.transaction_state_topic(),
                &request.transactional_id,
                request.producer_id.0,
                request.producer_epoch,
                &[(OFFSETS_TOPIC.to_string(), partition)],
            )
        })
    };
    let mut response = AddOffsetsToTxnResponse::default();
    if let Err(e) = result {
        response.error_code = super::fenced_for_version(e, ctx.api_version, 2).code();
    }
    response
}
