//! What the share-group APIs have in common: a group's effective settings
//! (the broker's `group.share.*`, under the group's own configs), the
//! member id check, and where a new share partition starts
//! (`share.auto.offset.reset`).

use crate::broker::Broker;
use crate::config::group::{ShareAutoOffsetReset, ShareIsolationLevel};
use crate::coordinator::share_group::MembershipConfig;
use crate::coordinator::share_partition::SharePartitionConfig;
use crate::storage::UnifiedLog;
use kafka_protocol::error::ResponseError;
use tracing::warn;

/// Kafka's `isMemberIdValid`: non-empty, at most 36 characters.
pub fn is_member_id_valid(member_id: &str) -> bool {
    !member_id.is_empty() && member_id.chars().count() <= 36
}

/// A share group's settings as its requests see them.
#[derive(Debug, Clone, Copy)]
pub struct ShareSettings {
    pub membership: MembershipConfig,
    pub partition: SharePartitionConfig,
    pub auto_offset_reset: ShareAutoOffsetReset,
    /// `share.isolation.level=read_committed`.
    pub read_committed: bool,
}

/// The group's effective settings: its own group configs
/// (`share.session.timeout.ms`, `share.heartbeat.interval.ms`,
/// `share.record.lock.duration.ms`, `share.auto.offset.reset`,
/// `share.isolation.level`) over the broker's.
pub fn share_settings(broker: &Broker, group_id: &str) -> ShareSettings {
    let share = &broker.config.share;
    let group = broker.group_config(group_id);
    ShareSettings {
        membership: MembershipConfig {
            session_timeout_ms: group.share_session_timeout_ms(&broker.config),
            heartbeat_interval_ms: group.share_heartbeat_interval_ms(&broker.config),
            max_size: share.max_size,
        },
        partition: SharePartitionConfig {
            record_lock_duration_ms: i64::from(group.share_record_lock_duration_ms(&broker.config)),
            delivery_count_limit: share.delivery_count_limit.clamp(1, i32::from(u16::MAX)) as u16,
            max_in_flight: share.partition_max_record_locks.max(1) as usize,
        },
        auto_offset_reset: group.share_auto_offset_reset(),
        read_committed: group.share_isolation_level() == ShareIsolationLevel::ReadCommitted,
    }
}

/// Where a share partition with no stored start offset begins (Kafka's
/// `startOffsetDuringInitialization`).
pub fn reset_offset(log: &UnifiedLog, reset: ShareAutoOffsetReset) -> i64 {
    match reset {
        ShareAutoOffsetReset::Latest => log.high_watermark(),
        ShareAutoOffsetReset::Earliest => log.log_start_offset(),
        ShareAutoOffsetReset::ByDuration(ago) => {
            let ago = i64::try_from(ago.as_millis()).unwrap_or(i64::MAX);
            let target = crate::coordinator::now_ms().saturating_sub(ago);
            match log.fetch_offset_by_timestamp(target) {
                Ok(Some(found)) => found.offset,
                Ok(None) => log.high_watermark(),
                Err(e) => {
                    warn!(partition = %log.topic_partition(), "cannot look up an offset by time: {e}");
                    log.high_watermark()
                }
            }
        }
    }
}

/// Kafka's default message of the errors the share-group admin APIs
/// answer with one (`Errors.message()`).
pub fn error_message(error: ResponseError) -> &'static str {
    match error {
        ResponseError::UnknownTopicOrPartition => "This server does not host this topic-partition.",
        ResponseError::TopicAuthorizationFailed => "Topic authorization failed.",
        ResponseError::GroupAuthorizationFailed => "Group authorization failed.",
        ResponseError::UnsupportedVersion => "The version of API is not supported.",
        ResponseError::InvalidGroupId => "The group id is invalid.",
        ResponseError::NonEmptyGroup => "The group is not empty.",
        ResponseError::GroupIdNotFound => "The group id does not exist.",
        ResponseError::CoordinatorNotAvailable => "The coordinator is not available.",
        ResponseError::KafkaStorageError => {
            "Disk error when trying to access log file on the disk."
        }
        ResponseError::InvalidRequest => {
            "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details."
        }
        _ => "The server experienced an unexpected error when processing the request.",
    }
}
