//! AlterPartitionReassignments (key 45): a new replica set for partitions,
//! or the cancellation of a reassignment in progress, checked as Kafka's
//! controller checks it (ReplicationControlManager). On one node the only
//! replica set a partition can have is `[node.id]`: that set is accepted
//! and changes nothing (it is the current one); a set naming another broker
//! is INVALID_REPLICA_ASSIGNMENT (no such broker is registered), as are an
//! empty set and a broker named twice; a cancellation is
//! NO_REASSIGNMENT_IN_PROGRESS, since none ever is; an unknown topic or
//! partition UNKNOWN_TOPIC_OR_PARTITION. Needs ALTER on the cluster
//! (CLUSTER_AUTHORIZATION_FAILED for the request and each partition).

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
};
use kafka_protocol::protocol::StrBytes;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let auth = AuthHelper::new(broker, ctx);
    let authorized = auth.authorize_cluster(AclOperation::Alter);
    let image = broker.metadata.image();
    let node_id = broker.config.node_id;
    let responses = request
        .topics
        .iter()
        .map(|topic| {
            let name = topic.name.as_str();
            let topic_image = image.topic(&topic.name);
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let index = p.partition_index;
                    let check = || -> Result<(), (ResponseError, Option<String>)> {
                        if !authorized {
                            return Err((ResponseError::ClusterAuthorizationFailed, None));
                        }
                        let topic_image = topic_image.ok_or_else(|| {
                            (
                                ResponseError::UnknownTopicOrPartition,
                                Some(format!("Unable to find a topic named {name}.")),
                            )
                        })?;
                        let registration = topic_image.partitions.get(&index).ok_or_else(|| {
                            (
                                ResponseError::UnknownTopicOrPartition,
                                Some(format!("Unable to find partition {name}:{index}.")),
                            )
                        })?;
                        let Some(replicas) = &p.replicas else {
                            return Err((
                                ResponseError::NoReassignmentInProgress,
                                Some(format!("No ongoing reassignment for {name}:{index}.")),
                            ));
                        };
                        let invalid = |message: String| {
                            Err((ResponseError::InvalidReplicaAssignment, Some(message)))
                        };
                        if replicas.is_empty() {
                            return invalid(
                                "The manual partition assignment includes an empty replica list."
                                    .to_string(),
                            );
                        }
                        let mut seen = Vec::with_capacity(replicas.len());
                        for replica in replicas {
                            if seen.contains(&replica.0) {
                                return invalid(format!(
                                    "The manual partition assignment includes the broker {} more than once.",
                                    replica.0
                                ));
                            }
                            seen.push(replica.0);
                        }
                        if let Some(other) = seen.iter().find(|&&id| id != node_id) {
                            return invalid(format!(
                                "The manual partition assignment includes broker {other}, but no such broker is registered."
                            ));
                        }
                        if !request.allow_replication_factor_change
                            && seen.len() != registration.replicas.len()
                        {
                            return Err((
                                ResponseError::InvalidReplicationFactor,
                                Some(format!(
                                    "The replication factor is changed from {} to {} but \
                                     allowReplicationFactorChange is false.",
                                    registration.replicas.len(),
                                    seen.len()
                                )),
                            ));
                        }
                        // [node.id] is the partition's replica set already.
                        Ok(())
                    };
                    let (error_code, message) = match check() {
                        Ok(()) => (0, None),
                        Err((error, message)) => (error.code(), message),
                    };
                    ReassignablePartitionResponse::default()
                        .with_partition_index(index)
                        .with_error_code(error_code)
                        .with_error_message(message.map(StrBytes::from_string))
                })
                .collect();
            ReassignableTopicResponse::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    let error_code = if authorized {
        0
    } else {
        ResponseError::ClusterAuthorizationFailed.code()
    };
    AlterPartitionReassignmentsResponse::default()
        .with_allow_replication_factor_change(request.allow_replication_factor_change)
        .with_error_code(error_code)
        .with_responses(responses)
}
