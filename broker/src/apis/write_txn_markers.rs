//! WriteTxnMarkers (key 27) v1: COMMIT or ABORT markers written to
//! partitions at a caller's request. Kafka's transaction coordinators send
//! it to partition leaders; here the coordinator writes its markers itself,
//! so what arrives is an administrator's abort of a hanging transaction
//! (`kafka-transactions.sh abort`, the admin clients' `abortTransaction`).
//!
//! As Kafka's KafkaApis: ALTER or CLUSTER_ACTION on the cluster, or every
//! partition fails with CLUSTER_AUTHORIZATION_FAILED. A partition that does
//! not exist is UNKNOWN_TOPIC_OR_PARTITION; the marker is checked as any
//! coordinator's (an older producer epoch is INVALID_PRODUCER_EPOCH, an
//! older coordinator epoch than the producer's last marker
//! TRANSACTION_COORDINATOR_FENCED). An abort marker ends the producer's
//! open transaction in the partition: the last stable offset moves past
//! it and read_committed consumers skip its records. A marker in
//! `__consumer_offsets` also ends the transaction's pending offsets.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use crate::coordinator::transaction_coordinator::TxnMarker;
use crate::storage::AppendError;
use crate::storage::producer_state::ProducerError;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use tracing::{info, warn};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    let auth = AuthHelper::new(broker, ctx);
    let allowed = auth.authorize_cluster(AclOperation::Alter)
        || auth.authorize_cluster(AclOperation::ClusterAction);
    let image = broker.metadata.image();
    let mut results: Vec<WritableTxnMarkerResult> = Vec::new();
    for marker in &request.markers {
        let producer_id = marker.producer_id.0;
        let topics = marker
            .topics
            .iter()
            .map(|topic| {
                let partitions = topic
                    .partition_indexes
                    .iter()
                    .map(|&index| {
                        let error = if allowed {
                            write(broker, &image, marker, topic.name.as_str(), index)
                        } else {
                            ResponseError::ClusterAuthorizationFailed.code()
                        };
                        WritableTxnMarkerPartitionResult::default()
                            .with_partition_index(index)
                            .with_error_code(error)
                    })
                    .collect();
                WritableTxnMarkerTopicResult::default()
                    .with_name(topic.name.clone())
                    .with_partitions(partitions)
            })
            .collect::<Vec<_>>();
        // Kafka answers once per producer id.
        match results.iter_mut().find(|r| r.producer_id.0 == producer_id) {
            Some(result) => result.topics.extend(topics),
            None => results.push(
                WritableTxnMarkerResult::default()
                    .with_producer_id(marker.producer_id)
                    .with_topics(topics),
            ),
        }
    }
    WriteTxnMarkersResponse::default().with_markers(results)
}

/// Writes one marker to one partition; its error code.
fn write(
    broker: &Broker,
    image: &crate::metadata::MetadataImage,
    marker: &kafka_protocol::messages::write_txn_markers_request::WritableTxnMarker,
    topic_name: &str,
    index: i32,
) -> i16 {
    let Some(topic) = image.topic(topic_name) else {
        return ResponseError::UnknownTopicOrPartition.code();
    };
    let commit = marker.transaction_result;
    let to_write = TxnMarker {
        producer_id: marker.producer_id.0,
        producer_epoch: marker.producer_epoch,
        coordinator_epoch: marker.coordinator_epoch,
        commit,
    };
    match broker.append_txn_marker(image, topic, index, &to_write) {
        Ok(offset) => {
            info!(
                topic = topic_name,
                partition = index,
                producer_id = to_write.producer_id,
                producer_epoch = to_write.producer_epoch,
                offset,
                "wrote a {} marker at a WriteTxnMarkers request",
                if commit { "COMMIT" } else { "ABORT" }
            );
            0
        }
        Err(AppendError::Producer(ProducerError::InvalidProducerEpoch { .. })) => {
            ResponseError::InvalidProducerEpoch.code()
        }
        Err(AppendError::Producer(ProducerError::TransactionCoordinatorFenced { .. })) => {
            ResponseError::TransactionCoordinatorFenced.code()
        }
        Err(AppendError::Deleted) => ResponseError::UnknownTopicOrPartition.code(),
        Err(e) => {
            warn!(
                topic = topic_name,
                partition = index,
                "cannot write a transaction marker: {e}"
            );
            ResponseError::KafkaStorageError.code()
        }
    }
}
