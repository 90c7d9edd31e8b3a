//! DescribeLogDirs (key 35) v1-4: the log directories, their partitions
//! and their disk space, as Kafka's ReplicaManager describes them.
//!
//! Every configured directory is reported by its absolute path: one that
//! failed with KAFKA_STORAGE_ERROR and nothing else, the others with the
//! total and usable bytes of their file system (v4, KIP-827; Java's
//! `getTotalSpace` and `getUsableSpace`) and, for each partition asked
//! for (all of them when the topics are null), its size and offset lag:
//! the high watermark's distance behind the log end (0 on one node), or
//! for a partition's `-future` copy being moved in (`is_future_key`) its
//! distance behind the log it copies.
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
use crate::storage::LogManager;
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
    let metadata_topic = METADATA_LOG_DIR.trim_end_matches("-0");
    let mut results = Vec::new();
    for dir in logs.log_dirs() {
        let log_dir = StrBytes::from_string(dir.absolute_path.display().to_string());
        let failed = DescribeLogDirsResult::default()
            .with_log_dir(log_dir.clone())
            .with_error_code(ResponseError::KafkaStorageError.code());
        if dir.offline {
            results.push(failed);
            continue;
        }
        let (total_bytes, usable_bytes) = match LogManager::disk_space(&dir.path) {
            Ok(space) => space,
            Err(e) => {
                warn!(log_dir = %dir.path.display(), "cannot read the disk space of the log directory: {e}");
                results.push(failed);
                continue;
            }
        };
        let mut by_topic: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
        for (log, copied_end) in logs.logs_in_dir(dir.id) {
            let tp = log.topic_partition();
            if tp.topic.as_str() == metadata_topic {
                continue;
            }
            if let Some(asked) = &asked
                && !asked.contains(&(tp.topic.as_str(), tp.partition))
            {
                continue;
            }
            // Kafka's getLogEndOffsetLag: a move's copy lags the log it
            // copies; a log lags its high watermark (never, on one node).
            let lag = match copied_end {
                Some(end) => end - log.log_end_offset(),
                None => log.high_watermark() - log.log_end_offset(),
            };
            let partition = DescribeLogDirsPartition::default()
                .with_partition_index(tp.partition)
                .with_partition_size(log.size_in_bytes().min(i64::MAX as u64) as i64)
                .with_offset_lag(lag.max(0))
                .with_is_future_key(copied_end.is_some());
            by_topic
                .entry(tp.topic.to_string())
                .or_default()
                .push(partition);
        }
        let topics = by_topic
            .into_iter()
            .map(|(name, mut partitions)| {
                partitions.sort_by_key(|p| (p.partition_index, p.is_future_key));
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
        results.push(result);
    }
    DescribeLogDirsResponse::default().with_results(results)
}
