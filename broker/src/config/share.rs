//! Share groups' settings (KIP-932): the `group.share.*` keys of Kafka's
//! `GroupCoordinatorConfig` and `ShareGroupConfig`, and the
//! `share.coordinator.*` keys of its `ShareCoordinatorConfig`, with Kafka's
//! defaults and bounds.

use anyhow::bail;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareGroupSettings {
    /// `group.share.enable`: share groups served whatever `share.version`
    /// says.
    pub enable: bool,
    /// `group.share.session.timeout.ms` (within its `min`/`max` keys).
    pub session_timeout_ms: i32,
    /// `group.share.min.session.timeout.ms` and
    /// `group.share.max.session.timeout.ms`.
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    /// `group.share.heartbeat.interval.ms` (within its `min`/`max` keys).
    pub heartbeat_interval_ms: i32,
    /// `group.share.min.heartbeat.interval.ms` and
    /// `group.share.max.heartbeat.interval.ms`.
    pub min_heartbeat_interval_ms: i32,
    pub max_heartbeat_interval_ms: i32,
    /// `group.share.max.size`.
    pub max_size: usize,
    /// `group.share.record.lock.duration.ms` (within its `min`/`max` keys).
    pub record_lock_duration_ms: i32,
    pub min_record_lock_duration_ms: i32,
    pub max_record_lock_duration_ms: i32,
    /// `group.share.delivery.count.limit`.
    pub delivery_count_limit: i32,
    /// `group.share.partition.max.record.locks`.
    pub partition_max_record_locks: i32,
    /// `group.share.max.share.sessions`.
    pub max_share_sessions: usize,
    /// `share.coordinator.state.topic.num.partitions`.
    pub state_topic_num_partitions: i32,
    /// `share.coordinator.state.topic.segment.bytes`.
    pub state_topic_segment_bytes: u64,
    /// `share.coordinator.snapshot.update.records.per.snapshot`.
    pub snapshot_update_records_per_snapshot: i32,
}

impl Default for ShareGroupSettings {
    fn default() -> Self {
        ShareGroupSettings {
            enable: false,
            session_timeout_ms: 45_000,
            min_session_timeout_ms: 45_000,
            max_session_timeout_ms: 60_000,
            heartbeat_interval_ms: 5_000,
            min_heartbeat_interval_ms: 5_000,
            max_heartbeat_interval_ms: 15_000,
            max_size: 200,
            record_lock_duration_ms: 30_000,
            min_record_lock_duration_ms: 15_000,
            max_record_lock_duration_ms: 60_000,
            delivery_count_limit: 5,
            partition_max_record_locks: 2_000,
            max_share_sessions: 2_000,
            state_topic_num_partitions: 50,
            state_topic_segment_bytes: 100 * 1024 * 1024,
            snapshot_update_records_per_snapshot: 500,
        }
    }
}

impl ShareGroupSettings {
    /// The settings `get` (a key's trimmed, non-empty value) gives, checked
    /// as Kafka checks them at start.
    pub fn parse(get: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut s = ShareGroupSettings::default();
        let int = |key: &str, default: i64, min: i64, max: i64| -> anyhow::Result<i64> {
            match get(key) {
                None => Ok(default),
                Some(v) => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| anyhow::anyhow!("{key}={v} is not a number"))?;
                    if n < min || n > max {
                        bail!("{key}={v} must be between {min} and {max}");
                    }
                    Ok(n)
                }
            }
        };
        let i32max = i64::from(i32::MAX);
        s.enable = match get("group.share.enable").map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(v) => bail!("group.share.enable={v} must be true or false"),
        };
        let bounded = |key: &str,
                       default: i64,
                       min_key: &str,
                       min: i64,
                       max_key: &str,
                       max: i64,
                       limits: (i64, i64)|
         -> anyhow::Result<(i32, i32, i32)> {
            let min = int(min_key, min, limits.0, limits.1)?;
            let max = int(max_key, max, limits.0, limits.1)?;
            let value = int(key, default, limits.0, limits.1)?;
            if value < min || value > max {
                bail!("{key}={value} must be between {min_key} ({min}) and {max_key} ({max})");
            }
            Ok((value as i32, min as i32, max as i32))
        };
        (
            s.session_timeout_ms,
            s.min_session_timeout_ms,
            s.max_session_timeout_ms,
        ) = bounded(
            "group.share.session.timeout.ms",
            45_000,
            "group.share.min.session.timeout.ms",
            45_000,
            "group.share.max.session.timeout.ms",
            60_000,
            (1, i32max),
        )?;
        (
            s.heartbeat_interval_ms,
            s.min_heartbeat_interval_ms,
            s.max_heartbeat_interval_ms,
        ) = bounded(
            "group.share.heartbeat.interval.ms",
            5_000,
            "group.share.min.heartbeat.interval.ms",
            5_000,
            "group.share.max.heartbeat.interval.ms",
            15_000,
            (1, i32max),
        )?;
        if s.heartbeat_interval_ms >= s.session_timeout_ms {
            bail!(
                "group.share.heartbeat.interval.ms ({}) must be less than group.share.session.timeout.ms ({})",
                s.heartbeat_interval_ms,
                s.session_timeout_ms
            );
        }
        // Kafka's bounds: lock durations 1 s to 1 h (the minimum at most
        // 30 s, the maximum at least 30 s), delivery counts 2 to 10,
        // record locks 100 to 10 000, group sizes 1 to 1000.
        s.min_record_lock_duration_ms = int(
            "group.share.min.record.lock.duration.ms",
            15_000,
            1_000,
            30_000,
        )? as i32;
        s.max_record_lock_duration_ms = int(
            "group.share.max.record.lock.duration.ms",
            60_000,
            30_000,
            3_600_000,
        )? as i32;
        (s.record_lock_duration_ms, _, _) = bounded(
            "group.share.record.lock.duration.ms",
            30_000,
            "group.share.min.record.lock.duration.ms",
            15_000,
            "group.share.max.record.lock.duration.ms",
            60_000,
            (1_000, 3_600_000),
        )?;
        s.delivery_count_limit = int("group.share.delivery.count.limit", 5, 2, 10)? as i32;
        s.partition_max_record_locks =
            int("group.share.partition.max.record.locks", 2_000, 100, 10_000)? as i32;
        s.max_size = int("group.share.max.size", 200, 1, 1_000)? as usize;
        s.max_share_sessions = int("group.share.max.share.sessions", 2_000, 1, i32max)? as usize;
        s.state_topic_num_partitions = int(
            "share.coordinator.state.topic.num.partitions",
            50,
            1,
            i32max,
        )? as i32;
        s.state_topic_segment_bytes = int(
            "share.coordinator.state.topic.segment.bytes",
            100 * 1024 * 1024,
            1,
            i32max,
        )? as u64;
        s.snapshot_update_records_per_snapshot = int(
            "share.coordinator.snapshot.update.records.per.snapshot",
            500,
            0,
            i32max,
        )? as i32;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> anyhow::Result<ShareGroupSettings> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ShareGroupSettings::parse(&|key| {
            pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_are_kafkas() {
        assert_eq!(parse(&[]).unwrap(), ShareGroupSettings::default());
    }

    #[test]
    fn bounds_are_checked() {
        let s = parse(&[("group.share.record.lock.duration.ms", "15000")]).unwrap();
        assert_eq!(s.record_lock_duration_ms, 15_000);
        assert!(parse(&[("group.share.record.lock.duration.ms", "5000")]).is_err());
        assert!(parse(&[("group.share.delivery.count.limit", "1")]).is_err());
        assert!(parse(&[("group.share.heartbeat.interval.ms", "50000")]).is_err());
        let short = parse(&[
            ("group.share.min.record.lock.duration.ms", "1000"),
            ("group.share.record.lock.duration.ms", "2000"),
        ])
        .unwrap();
        assert_eq!(short.record_lock_duration_ms, 2_000);
        let wide = parse(&[
            ("group.share.max.session.timeout.ms", "90000"),
            ("group.share.min.heartbeat.interval.ms", "1000"),
        ])
        .unwrap();
        assert_eq!(
            (wide.max_session_timeout_ms, wide.min_heartbeat_interval_ms),
            (90_000, 1_000)
        );
    }
}
