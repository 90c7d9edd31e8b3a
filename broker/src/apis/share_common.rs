//! What the share-group APIs have in common: a group's effective settings
//! (the broker's `group.share.*`, under the group's own configs), the
//! member id check, and where a new share partition starts
//! (`share.auto.offset.reset`).

use crate::broker::Broker;
use crate::coordinator::share_group::MembershipConfig;
use crate::coordinator::share_partition::SharePartitionConfig;
use crate::storage::UnifiedLog;
use tracing::warn;

/// Kafka's `isMemberIdValid`: non-empty, at most 36 characters.
pub fn is_member_id_valid(member_id: &str) -> bool {
    !member_id.is_empty() && member_id.chars().count() <= 36
}

/// `share.auto.offset.reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoOffsetReset {
    Latest,
    Earliest,
    /// `by_duration:<ISO-8601 duration>`: the first record at most this
    /// many milliseconds old.
    ByDuration(i64),
}

/// A share group's settings as its requests see them.
#[derive(Debug, Clone, Copy)]
pub struct ShareSettings {
    pub membership: MembershipConfig,
    pub partition: SharePartitionConfig,
    pub auto_offset_reset: AutoOffsetReset,
    /// `share.isolation.level=read_committed`.
    pub read_committed: bool,
}

/// The group's effective settings.
pub fn share_settings(broker: &Broker, _group_id: &str) -> ShareSettings {
    let share = &broker.config.share;
    ShareSettings {
        membership: MembershipConfig {
            session_timeout_ms: share.session_timeout_ms,
            heartbeat_interval_ms: share.heartbeat_interval_ms,
            max_size: share.max_size,
        },
        partition: SharePartitionConfig {
            record_lock_duration_ms: i64::from(share.record_lock_duration_ms),
            delivery_count_limit: share.delivery_count_limit.clamp(1, i32::from(u16::MAX)) as u16,
            max_in_flight: share.partition_max_record_locks.max(1) as usize,
        },
        auto_offset_reset: AutoOffsetReset::Latest,
        read_committed: false,
    }
}

/// Where a share partition with no stored start offset begins (Kafka's
/// `startOffsetDuringInitialization`).
pub fn reset_offset(log: &UnifiedLog, reset: AutoOffsetReset) -> i64 {
    match reset {
        AutoOffsetReset::Latest => log.high_watermark(),
        AutoOffsetReset::Earliest => log.log_start_offset(),
        AutoOffsetReset::ByDuration(ms) => {
            let target = crate::coordinator::now_ms().saturating_sub(ms);
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
