//! ElectLeaders (key 43): a preferred or unclean leader election, as
//! Kafka's controller (ReplicationControlManager) answers it. On one node
//! every partition's only replica leads it, which is its preferred leader:
//! each named partition answers ELECTION_NOT_NEEDED, and a request for
//! every partition (null topic list) answers with no results, as Kafka
//! leaves out the partitions that need no election. Needs ALTER on the
//! cluster (CLUSTER_AUTHORIZATION_FAILED).

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse};
use kafka_protocol::protocol::StrBytes;

/// Kafka's `ElectionType`.
const PREFERRED: i8 = 0;
const UNCLEAN: i8 = 1;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ElectLeadersRequest,
) -> ElectLeadersResponse {
    let auth = AuthHelper::new(broker, ctx);
    let refuse_all = |error: ResponseError, message: Option<String>| {
        let results = request
            .topic_partitions
            .iter()
            .flatten()
            .map(|topic| {
                ReplicaElectionResult::default()
                    .with_topic(topic.topic.clone())
                    .with_partition_result(
                        topic
                            .partitions
                            .iter()
                            .map(|&partition| {
                                PartitionResult::default()
                                    .with_partition_id(partition)
                                    .with_error_code(error.code())
                                    .with_error_message(message.clone().map(StrBytes::from_string))
                            })
                            .collect(),
                    )
            })
            .collect();
        ElectLeadersResponse::default()
            .with_error_code(error.code())
            .with_replica_election_results(results)
    };
    if !auth.authorize_cluster(AclOperation::Alter) {
        return refuse_all(ResponseError::ClusterAuthorizationFailed, None);
    }
    if request.election_type != PREFERRED && request.election_type != UNCLEAN {
        return refuse_all(
            ResponseError::InvalidRequest,
            Some(format!("Unknown election type {}", request.election_type)),
        );
    }
    let image = broker.metadata.image();
    let results = request
        .topic_partitions
        .iter()
        .flatten()
        .map(|topic| {
            let topic_image = image.topic(&topic.topic);
            let partitions = topic
                .partitions
                .iter()
                .map(|&partition| {
                    let registration = topic_image.and_then(|t| t.partitions.get(&partition));
                    let (error, message) = match registration {
                        None if topic_image.is_none() => (
                            ResponseError::UnknownTopicOrPartition,
                            format!("No such topic as {}", topic.topic.as_str()),
                        ),
                        None => (
                            ResponseError::UnknownTopicOrPartition,
                            format!("No such partition as {}-{partition}", topic.topic.as_str()),
                        ),
                        Some(p) => {
                            let elected = if request.election_type == PREFERRED {
                                p.replicas.first() == Some(&p.leader)
                            } else {
                                p.leader >= 0
                            };
                            if elected {
                                (
                                    ResponseError::ElectionNotNeeded,
                                    "Leader election not needed for topic partition.".to_string(),
                                )
                            } else {
                                // A partition without its leader on one node has no
                                // other replica to elect.
                                (
                                    ResponseError::PreferredLeaderNotAvailable,
                                    "The preferred leader was not available.".to_string(),
                                )
                            }
                        }
                    };
                    PartitionResult::default()
                        .with_partition_id(partition)
                        .with_error_code(error.code())
                        .with_error_message(Some(StrBytes::from_string(message)))
                })
                .collect();
            ReplicaElectionResult::default()
                .with_topic(topic.topic.clone())
                .with_partition_result(partitions)
        })
        .collect();
    ElectLeadersResponse::default().with_replica_election_results(results)
}
