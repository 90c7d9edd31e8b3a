//! DescribeLogDirs (key 35) v1-4: the log directory, its partitions and
//! its disk space, as Kafka's ReplicaManager describes them.
//!
//! This broker has one log directory. It is reported by its absolute
//! path with the total and usable bytes of its file system (v4, KIP-827;
//! Java's `getTotalSpace` and `getUsableSpace`), and for each partition
//! asked for (all of them when the topics are null) its size and offset
//! lag: the high watermark's distance behind the log end, 0 on one node.
//! The metadata log is the quorum's, not a partition of the log manager,
//! so it is not listed, as in Kafka.
//!
//! As Kafka's KafkaApis: DESCRIBE on the cluster, or no directory and
//! CLUSTER_AUTHORIZATION_FAILED (v3+'s top-level error).

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use crate::metadata::METADATA_LOG_DIR;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashSet};
use tracing::warn;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    let auth = AuthHelper::new(broker, ctx);
    if !auth.authorize_cluster(AclOperation::Describe) {
        return DescribeLogDirsResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code());
    }
    let asked: Option<HashSet<(&str, i32)>> = request.topics.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |&p| (t.topic.as_str(), p)))
            .collect()
    });
    let logs = broker.replicas.logs();
    let dir = logs.absolute_log_dir();
    let log_dir = StrBytes::from_string(dir.display().to_string());
    let space = logs.disk_space();
    let (total_bytes, usable_bytes) = match space {
        Ok(space) => space,
        Err(e) => {
            warn!(log_dir = %dir.display(), "cannot read the disk space of the log directory: {e}");
            return DescribeLogDirsResponse::default().with_results(vec![
                DescribeLogDirsResult::default()
                    .with_log_dir(log_dir)
                    .with_error_code(ResponseError::KafkaStorageError.code()),
            ]);
        }
    };
    let metadata_topic = METADATA_LOG_DIR.trim_end_matches("-0");
    let mut by_topic: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for log in logs.all_logs() {
        let tp = log.topic_partition();
        if tp.topic.as_str() == metadata_topic {
            continue;
        }
        if let Some(asked) = &asked
            && !asked.contains(&(tp.topic.as_str(), tp.partition))
        {
            continue;
        }
        let partition = DescribeLogDirsPartition::default()
            .with_partition_index(tp.partition)
            .with_partition_size(log.size_in_bytes().min(i64::MAX as u64) as i64)
            .with_offset_lag((log.high_watermark() - log.log_end_offset()).max(0))
            .with_is_future_key(false);
        by_topic
            .entry(tp.topic.to_string())
            .or_default()
            .push(partition);
    }
    let topics = by_topic
        .into_iter()
        .map(|(name, mut partitions)| {
            partitions.sort_by_key(|p| p.partition_index);
            DescribeLogDirsTopic::default()
                .with_name(StrBytes::from_string(name).into())
                .with_partitions(partitions)
        })
        .collect();
    // Java's FileStore reports a negative size for file systems over
    // 8 EiB; Kafka answers Long.MAX_VALUE for them.
    let bytes = |b: u64| i64::try_from(b).unwrap_or(i64::MAX);
    let mut result = DescribeLogDirsResult::default()
        .with_log_dir(log_dir)
        .with_topics(topics);
    if ctx.api_version >= 4 {
        result = result
            .with_total_bytes(bytes(total_bytes))
            .with_usable_bytes(bytes(usable_bytes));
    }
    DescribeLogDirsResponse::default().with_results(vec![result])
}
