//! Heartbeat (key 12): a member is alive; the answer tells it whether to rejoin.

use crate::broker::Broker;
use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

pub fn handle(broker: &Broker, request: &HeartbeatRequest) -> HeartbeatResponse {
    let error = broker.groups.heartbeat(
        &request.group_id,
        request.generation_id,
        &request.member_id,
        request.group_instance_id.as_deref(),
    );
    HeartbeatResponse::default().with_error_code(error)
}
