//! Group configs (Kafka's `GroupConfig`, KIP-848 and KIP-932): the
//! settings one group may have of its own, config resource type GROUP
//! (32) named by the group id, set with IncrementalAlterConfigs and kept
//! as `ConfigRecord`s in the metadata log. A key a group does not set
//! falls back to the broker's setting (`consumer.session.timeout.ms` to
//! `group.consumer.session.timeout.ms` and so on), and a value a group
//! sets must lie within the broker's `min`/`max` bounds of that setting.
//!
//! The keys, their checks and their messages are Kafka 4.2's. This broker
//! serves no streams groups and reads no `group.streams.*` key, so the
//! `streams.*` keys are checked against Kafka's defaults of those.
//!
//! Like the rest of `config`, this module imports nothing from the rest of
//! the broker.

use super::BrokerConfig;
use std::collections::BTreeMap;
use std::time::Duration;

pub const CONSUMER_SESSION_TIMEOUT_MS: &str = "consumer.session.timeout.ms";
pub const CONSUMER_HEARTBEAT_INTERVAL_MS: &str = "consumer.heartbeat.interval.ms";
pub const SHARE_SESSION_TIMEOUT_MS: &str = "share.session.timeout.ms";
pub const SHARE_HEARTBEAT_INTERVAL_MS: &str = "share.heartbeat.interval.ms";
pub const SHARE_RECORD_LOCK_DURATION_MS: &str = "share.record.lock.duration.ms";
pub const SHARE_AUTO_OFFSET_RESET: &str = "share.auto.offset.reset";
pub const SHARE_ISOLATION_LEVEL: &str = "share.isolation.level";
pub const STREAMS_SESSION_TIMEOUT_MS: &str = "streams.session.timeout.ms";
pub const STREAMS_HEARTBEAT_INTERVAL_MS: &str = "streams.heartbeat.interval.ms";
pub const STREAMS_NUM_STANDBY_REPLICAS: &str = "streams.num.standby.replicas";
pub const STREAMS_INITIAL_REBALANCE_DELAY_MS: &str = "streams.initial.rebalance.delay.ms";

/// Kafka's defaults of the `group.streams.*` settings the `streams.*`
/// group configs fall back to and are bounded by.
const STREAMS_SESSION_TIMEOUT_MS_DEFAULT: i32 = 45_000;
const STREAMS_MIN_SESSION_TIMEOUT_MS: i32 = 45_000;
const STREAMS_MAX_SESSION_TIMEOUT_MS: i32 = 60_000;
const STREAMS_HEARTBEAT_INTERVAL_MS_DEFAULT: i32 = 5_000;
const STREAMS_MIN_HEARTBEAT_INTERVAL_MS: i32 = 5_000;
const STREAMS_MAX_HEARTBEAT_INTERVAL_MS: i32 = 15_000;
const STREAMS_NUM_STANDBY_REPLICAS_DEFAULT: i32 = 0;
const STREAMS_MAX_STANDBY_REPLICAS: i32 = 2;
const STREAMS_INITIAL_REBALANCE_DELAY_MS_DEFAULT: i32 = 3_000;

/// A group config's type, as DescribeConfigs' `config_type` numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupConfigType {
    String = 2,
    Int = 3,
}

/// One group config key: its name, type, the least value an `Int` may
/// have, and what it does.
#[derive(Debug, PartialEq, Eq)]
pub struct GroupConfigDef {
    pub name: &'static str,
    pub kind: GroupConfigType,
    at_least: i32,
    pub doc: &'static str,
}

const fn int(name: &'static str, at_least: i32, doc: &'static str) -> GroupConfigDef {
    GroupConfigDef {
        name,
        kind: GroupConfigType::Int,
        at_least,
        doc,
    }
}

const fn string(name: &'static str, doc: &'static str) -> GroupConfigDef {
    GroupConfigDef {
        name,
        kind: GroupConfigType::String,
        at_least: 0,
        doc,
    }
}

/// Every group config key, in Kafka's order (the order its values are
/// checked in, and DescribeConfigs lists them in).
pub static GROUP_CONFIGS: [GroupConfigDef; 11] = [
    int(
        CONSUMER_SESSION_TIMEOUT_MS,
        1,
        "How long a member of this consumer group may go without a heartbeat before it leaves the group; `group.consumer.session.timeout.ms` when not set.",
    ),
    int(
        CONSUMER_HEARTBEAT_INTERVAL_MS,
        1,
        "How often members of this consumer group send heartbeats; `group.consumer.heartbeat.interval.ms` when not set.",
    ),
    int(
        SHARE_SESSION_TIMEOUT_MS,
        1,
        "How long a member of this share group may go without a heartbeat before it leaves the group; `group.share.session.timeout.ms` when not set.",
    ),
    int(
        SHARE_HEARTBEAT_INTERVAL_MS,
        1,
        "How often members of this share group send heartbeats; `group.share.heartbeat.interval.ms` when not set.",
    ),
    int(
        SHARE_RECORD_LOCK_DURATION_MS,
        1_000,
        "How long a record delivered to a member of this share group stays acquired; `group.share.record.lock.duration.ms` when not set.",
    ),
    string(
        SHARE_AUTO_OFFSET_RESET,
        "Where this share group starts consuming a partition it has no state for: earliest, latest, or by_duration:<ISO-8601 duration> (that long before now, not negative).",
    ),
    string(
        SHARE_ISOLATION_LEVEL,
        "Whether this share group delivers only committed transactional records (read_committed) or all records (read_uncommitted).",
    ),
    int(
        STREAMS_SESSION_TIMEOUT_MS,
        1,
        "How long a member of this streams group may go without a heartbeat before it leaves the group.",
    ),
    int(
        STREAMS_HEARTBEAT_INTERVAL_MS,
        1,
        "How often members of this streams group send heartbeats.",
    ),
    int(
        STREAMS_NUM_STANDBY_REPLICAS,
        0,
        "The standby replicas of each task of this streams group.",
    ),
    int(
        STREAMS_INITIAL_REBALANCE_DELAY_MS,
        0,
        "How long this streams group waits for more members before its first rebalance.",
    ),
];

pub fn group_config_def(name: &str) -> Option<&'static GroupConfigDef> {
    GROUP_CONFIGS.iter().find(|d| d.name == name)
}

/// `share.auto.offset.reset`: where a share group starts on a partition it
/// has no state for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareAutoOffsetReset {
    Earliest,
    Latest,
    /// The first record at most this long before now.
    ByDuration(Duration),
}

/// `share.isolation.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareIsolationLevel {
    ReadUncommitted,
    ReadCommitted,
}

/// A group's own configs: `None` for a key the group does not set (the
/// broker's setting applies; the methods give the value in effect).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupConfig {
    pub consumer_session_timeout_ms: Option<i32>,
    pub consumer_heartbeat_interval_ms: Option<i32>,
    pub share_session_timeout_ms: Option<i32>,
    pub share_heartbeat_interval_ms: Option<i32>,
    pub share_record_lock_duration_ms: Option<i32>,
    pub share_auto_offset_reset: Option<ShareAutoOffsetReset>,
    pub share_isolation_level: Option<ShareIsolationLevel>,
    pub streams_session_timeout_ms: Option<i32>,
    pub streams_heartbeat_interval_ms: Option<i32>,
    pub streams_num_standby_replicas: Option<i32>,
    pub streams_initial_rebalance_delay_ms: Option<i32>,
}

/// A parsed value of one key.
enum Value {
    Int(i32),
    Reset(ShareAutoOffsetReset),
    Isolation(ShareIsolationLevel),
}

/// Kafka's `ConfigException` message.
fn invalid(name: &str, value: &str, why: &str) -> String {
    format!("Invalid value {value} for configuration {name}: {why}")
}

/// Parses one value as Kafka's `ConfigDef` does: trimmed, typed, then
/// checked by the key's validator.
fn parse_value(def: &GroupConfigDef, raw: &str) -> Result<Value, String> {
    let value = raw.trim();
    match def.name {
        SHARE_AUTO_OFFSET_RESET => parse_auto_offset_reset(value).map(Value::Reset).ok_or_else(|| {
            invalid(
                def.name,
                value,
                &format!(
                    "Invalid value `{value}` for configuration {}. The value must be either 'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'.",
                    def.name
                ),
            )
        }),
        SHARE_ISOLATION_LEVEL => match value {
            "read_committed" => Ok(Value::Isolation(ShareIsolationLevel::ReadCommitted)),
            "read_uncommitted" => Ok(Value::Isolation(ShareIsolationLevel::ReadUncommitted)),
            _ => Err(invalid(
                def.name,
                value,
                "String must be one of: read_committed, read_uncommitted",
            )),
        },
        _ => {
            let n: i32 = value
                .parse()
                .map_err(|_| invalid(def.name, raw, "Not a number of type INT"))?;
            if n < def.at_least {
                return Err(invalid(
                    def.name,
                    &n.to_string(),
                    &format!("Value must be at least {}", def.at_least),
                ));
            }
            Ok(Value::Int(n))
        }
    }
}

/// Kafka's `ShareGroupAutoOffsetResetStrategy.fromString`: `earliest`,
/// `latest` or `by_duration:<ISO-8601 duration>` (not negative), all
/// lower case.
fn parse_auto_offset_reset(value: &str) -> Option<ShareAutoOffsetReset> {
    match value {
        "earliest" => Some(ShareAutoOffsetReset::Earliest),
        "latest" => Some(ShareAutoOffsetReset::Latest),
        _ => {
            let nanos = parse_iso_duration(value.strip_prefix("by_duration:")?)?;
            if nanos < 0 {
                return None;
            }
            let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
            Some(ShareAutoOffsetReset::ByDuration(Duration::new(
                secs,
                (nanos % 1_000_000_000) as u32,
            )))
        }
    }
}

/// An ISO-8601 duration as Java's `Duration.parse` reads it,
/// `[-+]PnDTnHnMn.nS` (letters in either case, each number signed, at most
/// nine fraction digits, days of 24 hours), in nanoseconds; `None` when it
/// does not parse or does not fit a Java `Duration`.
fn parse_iso_duration(text: &str) -> Option<i128> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let sign = |at: &mut usize| -> i64 {
        match bytes.get(*at) {
            Some(b'-') => {
                *at += 1;
                -1
            }
            Some(b'+') => {
                *at += 1;
                1
            }
            _ => 1,
        }
    };
    // A signed run of digits as Java's Long.parseLong reads it, and
    // whether it was negative.
    let number = |at: &mut usize| -> Option<(i64, bool)> {
        let start = *at;
        let negative = sign(at) < 0;
        let digits = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        if *at == digits {
            return None;
        }
        let n: i64 = text.get(start..*at)?.parse().ok()?;
        Some((n, negative))
    };
    let is = |at: usize, c: u8| bytes.get(at).is_some_and(|b| b.eq_ignore_ascii_case(&c));
    let negate = sign(&mut at) < 0;
    if !is(at, b'P') {
        return None;
    }
    at += 1;
    let mut seconds: i64 = 0;
    let mut nanos: i64 = 0;
    let mut any = false;
    if bytes
        .get(at)
        .is_some_and(|b| b.is_ascii_digit() || *b == b'-' || *b == b'+')
    {
        let (days, _) = number(&mut at)?;
        if !is(at, b'D') {
            return None;
        }
        at += 1;
        seconds = days.checked_mul(86_400)?;
        any = true;
    }
    if is(at, b'T') {
        at += 1;
        // Hours, minutes and seconds, each at most once and in this order.
        let mut next_unit = 0;
        let mut parts: i64 = 0;
        while at < bytes.len() {
            let (n, negative) = number(&mut at)?;
            let unit = if is(at, b'H') {
                0
            } else if is(at, b'M') {
                1
            } else {
                2
            };
            if unit < next_unit {
                return None;
            }
            next_unit = unit + 1;
            let secs = match unit {
                0 => n.checked_mul(3_600)?,
                1 => n.checked_mul(60)?,
                _ => {
                    if bytes.get(at).is_some_and(|b| *b == b'.' || *b == b',') {
                        at += 1;
                        let start = at;
                        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                            at += 1;
                        }
                        let digits = text.get(start..at)?;
                        if digits.len() > 9 {
                            return None;
                        }
                        if !digits.is_empty() {
                            let fraction: i64 = format!("{digits:0<9}").parse().ok()?;
                            nanos = if negative { -fraction } else { fraction };
                        }
                    }
                    if !is(at, b'S') {
                        return None;
                    }
                    n
                }
            };
            at += 1;
            parts = parts.checked_add(secs)?;
            any = true;
            if unit == 2 {
                break;
            }
        }
        if next_unit == 0 {
            // A `T` with nothing after it.
            return None;
        }
        seconds = seconds.checked_add(parts)?;
    }
    if at != bytes.len() || !any {
        return None;
    }
    let mut total = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    if negate {
        total = -total;
    }
    // Java's Duration holds whole seconds in a long.
    let min = i128::from(i64::MIN) * 1_000_000_000;
    let max = i128::from(i64::MAX) * 1_000_000_000 + 999_999_999;
    (min..=max).contains(&total).then_some(total)
}

impl GroupConfig {
    fn set(&mut self, name: &str, value: Value) {
        let int = |v: &Value| match v {
            Value::Int(n) => Some(*n),
            _ => None,
        };
        match name {
            CONSUMER_SESSION_TIMEOUT_MS => self.consumer_session_timeout_ms = int(&value),
            CONSUMER_HEARTBEAT_INTERVAL_MS => self.consumer_heartbeat_interval_ms = int(&value),
            SHARE_SESSION_TIMEOUT_MS => self.share_session_timeout_ms = int(&value),
            SHARE_HEARTBEAT_INTERVAL_MS => self.share_heartbeat_interval_ms = int(&value),
            SHARE_RECORD_LOCK_DURATION_MS => self.share_record_lock_duration_ms = int(&value),
            STREAMS_SESSION_TIMEOUT_MS => self.streams_session_timeout_ms = int(&value),
            STREAMS_HEARTBEAT_INTERVAL_MS => self.streams_heartbeat_interval_ms = int(&value),
            STREAMS_NUM_STANDBY_REPLICAS => self.streams_num_standby_replicas = int(&value),
            STREAMS_INITIAL_REBALANCE_DELAY_MS => {
                self.streams_initial_rebalance_delay_ms = int(&value)
            }
            SHARE_AUTO_OFFSET_RESET => {
                if let Value::Reset(reset) = value {
                    self.share_auto_offset_reset = Some(reset);
                }
            }
            SHARE_ISOLATION_LEVEL => {
                if let Value::Isolation(level) = value {
                    self.share_isolation_level = Some(level);
                }
            }
            _ => {}
        }
    }

    /// A group's configs from its overrides: every key known and every
    /// value of its type and within its own range (Kafka's
    /// `GroupConfig.validateNames` and `ConfigDef.parse`), but not checked
    /// against the broker's bounds (see [`validate`]).
    pub fn parse(overrides: &BTreeMap<String, String>) -> Result<GroupConfig, String> {
        if let Some(unknown) = overrides.keys().find(|k| group_config_def(k).is_none()) {
            return Err(format!("Unknown group config name: {unknown}"));
        }
        let mut config = GroupConfig::default();
        for def in &GROUP_CONFIGS {
            if let Some(raw) = overrides.get(def.name) {
                config.set(def.name, parse_value(def, raw)?);
            }
        }
        Ok(config)
    }

    /// A group's configs from its stored overrides, leaving out any key
    /// unknown or any value that does not parse (the broker's setting
    /// applies to it instead).
    pub fn parse_lenient(overrides: &BTreeMap<String, String>) -> GroupConfig {
        let mut config = GroupConfig::default();
        for def in &GROUP_CONFIGS {
            if let Some(Ok(value)) = overrides.get(def.name).map(|raw| parse_value(def, raw)) {
                config.set(def.name, value);
            }
        }
        config
    }

    /// `consumer.session.timeout.ms` in effect: the group's, else
    /// `group.consumer.session.timeout.ms`.
    pub fn consumer_session_timeout_ms(&self, broker: &BrokerConfig) -> i32 {
        self.consumer_session_timeout_ms
            .unwrap_or(broker.group_consumer_session_timeout_ms)
    }

    /// `consumer.heartbeat.interval.ms` in effect: the group's, else
    /// `group.consumer.heartbeat.interval.ms`.
    pub fn consumer_heartbeat_interval_ms(&self, broker: &BrokerConfig) -> i32 {
        self.consumer_heartbeat_interval_ms
            .unwrap_or(broker.group_consumer_heartbeat_interval_ms)
    }

    /// `share.session.timeout.ms` in effect: the group's, else
    /// `group.share.session.timeout.ms`.
    pub fn share_session_timeout_ms(&self, broker: &BrokerConfig) -> i32 {
        self.share_session_timeout_ms
            .unwrap_or(broker.share.session_timeout_ms)
    }

    /// `share.heartbeat.interval.ms` in effect: the group's, else
    /// `group.share.heartbeat.interval.ms`.
    pub fn share_heartbeat_interval_ms(&self, broker: &BrokerConfig) -> i32 {
        self.share_heartbeat_interval_ms
            .unwrap_or(broker.share.heartbeat_interval_ms)
    }

    /// `share.record.lock.duration.ms` in effect: the group's, else
    /// `group.share.record.lock.duration.ms`.
    pub fn share_record_lock_duration_ms(&self, broker: &BrokerConfig) -> i32 {
        self.share_record_lock_duration_ms
            .unwrap_or(broker.share.record_lock_duration_ms)
    }

    /// `share.auto.offset.reset` in effect: the group's, else `latest`.
    pub fn share_auto_offset_reset(&self) -> ShareAutoOffsetReset {
        self.share_auto_offset_reset
            .unwrap_or(ShareAutoOffsetReset::Latest)
    }

    /// `share.isolation.level` in effect: the group's, else
    /// `read_uncommitted`.
    pub fn share_isolation_level(&self) -> ShareIsolationLevel {
        self.share_isolation_level
            .unwrap_or(ShareIsolationLevel::ReadUncommitted)
    }

    pub fn streams_session_timeout_ms(&self) -> i32 {
        self.streams_session_timeout_ms
            .unwrap_or(STREAMS_SESSION_TIMEOUT_MS_DEFAULT)
    }

    pub fn streams_heartbeat_interval_ms(&self) -> i32 {
        self.streams_heartbeat_interval_ms
            .unwrap_or(STREAMS_HEARTBEAT_INTERVAL_MS_DEFAULT)
    }

    pub fn streams_num_standby_replicas(&self) -> i32 {
        self.streams_num_standby_replicas
            .unwrap_or(STREAMS_NUM_STANDBY_REPLICAS_DEFAULT)
    }

    pub fn streams_initial_rebalance_delay_ms(&self) -> i32 {
        self.streams_initial_rebalance_delay_ms
            .unwrap_or(STREAMS_INITIAL_REBALANCE_DELAY_MS_DEFAULT)
    }
}

/// Checks a group's overrides as a whole, as Kafka's
/// `GroupConfigManager.validate` does when they change: the keys known,
/// each value of its type and range, then every timeout within the
/// broker's bounds and each session timeout above its heartbeat interval.
///
/// As in Kafka, a key the group does not set is checked at Kafka's default
/// of the key (`consumer.*` at the broker's settings), not at the broker's
/// setting the group falls back to.
pub fn validate(
    overrides: &BTreeMap<String, String>,
    broker: &BrokerConfig,
) -> Result<GroupConfig, String> {
    let config = GroupConfig::parse(overrides)?;
    let consumer_session = config
        .consumer_session_timeout_ms
        .unwrap_or(broker.group_consumer_session_timeout_ms);
    let consumer_heartbeat = config
        .consumer_heartbeat_interval_ms
        .unwrap_or(broker.group_consumer_heartbeat_interval_ms);
    let share_session = config.share_session_timeout_ms.unwrap_or(45_000);
    let share_heartbeat = config.share_heartbeat_interval_ms.unwrap_or(5_000);
    let share_lock = config.share_record_lock_duration_ms.unwrap_or(30_000);
    let streams_session = config.streams_session_timeout_ms();
    let streams_heartbeat = config.streams_heartbeat_interval_ms();
    let standby = config.streams_num_standby_replicas();
    let share = &broker.share;
    let bounds: [(&str, i32, &str, i32, &str, i32); 7] = [
        (
            CONSUMER_HEARTBEAT_INTERVAL_MS,
            consumer_heartbeat,
            "group.consumer.min.heartbeat.interval.ms",
            broker.group_consumer_min_heartbeat_interval_ms,
            "group.consumer.max.heartbeat.interval.ms",
            broker.group_consumer_max_heartbeat_interval_ms,
        ),
        (
            CONSUMER_SESSION_TIMEOUT_MS,
            consumer_session,
            "group.consumer.min.session.timeout.ms",
            broker.group_consumer_min_session_timeout_ms,
            "group.consumer.max.session.timeout.ms",
            broker.group_consumer_max_session_timeout_ms,
        ),
        (
            SHARE_HEARTBEAT_INTERVAL_MS,
            share_heartbeat,
            "group.share.min.heartbeat.interval.ms",
            share.min_heartbeat_interval_ms,
            "group.share.max.heartbeat.interval.ms",
            share.max_heartbeat_interval_ms,
        ),
        (
            SHARE_SESSION_TIMEOUT_MS,
            share_session,
            "group.share.min.session.timeout.ms",
            share.min_session_timeout_ms,
            "group.share.max.session.timeout.ms",
            share.max_session_timeout_ms,
        ),
        (
            SHARE_RECORD_LOCK_DURATION_MS,
            share_lock,
            "group.share.min.record.lock.duration.ms",
            share.min_record_lock_duration_ms,
            "group.share.max.record.lock.duration.ms",
            share.max_record_lock_duration_ms,
        ),
        (
            STREAMS_HEARTBEAT_INTERVAL_MS,
            streams_heartbeat,
            "group.streams.min.heartbeat.interval.ms",
            STREAMS_MIN_HEARTBEAT_INTERVAL_MS,
            "group.streams.max.heartbeat.interval.ms",
            STREAMS_MAX_HEARTBEAT_INTERVAL_MS,
        ),
        (
            STREAMS_SESSION_TIMEOUT_MS,
            streams_session,
            "group.streams.min.session.timeout.ms",
            STREAMS_MIN_SESSION_TIMEOUT_MS,
            "group.streams.max.session.timeout.ms",
            STREAMS_MAX_SESSION_TIMEOUT_MS,
        ),
    ];
    for (name, value, min_key, min, max_key, max) in bounds {
        if value < min {
            return Err(format!("{name} must be greater than or equal to {min_key}"));
        }
        if value > max {
            return Err(format!("{name} must be less than or equal to {max_key}"));
        }
    }
    if standby > STREAMS_MAX_STANDBY_REPLICAS {
        return Err(format!(
            "{STREAMS_NUM_STANDBY_REPLICAS} must be less than or equal to group.streams.max.standby.replicas"
        ));
    }
    for (session_key, session, heartbeat_key, heartbeat) in [
        (
            CONSUMER_SESSION_TIMEOUT_MS,
            consumer_session,
            CONSUMER_HEARTBEAT_INTERVAL_MS,
            consumer_heartbeat,
        ),
        (
            SHARE_SESSION_TIMEOUT_MS,
            share_session,
            SHARE_HEARTBEAT_INTERVAL_MS,
            share_heartbeat,
        ),
        (
            STREAMS_SESSION_TIMEOUT_MS,
            streams_session,
            STREAMS_HEARTBEAT_INTERVAL_MS,
            streams_heartbeat,
        ),
    ] {
        if session <= heartbeat {
            return Err(format!(
                "{session_key} must be greater than {heartbeat_key}"
            ));
        }
    }
    Ok(config)
}

/// One group config as DescribeConfigs lists it: its value in effect and
/// whether the group set it (else it is the broker's setting, or the
/// key's default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedGroupConfig {
    pub def: &'static GroupConfigDef,
    pub value: String,
    pub set_by_group: bool,
}

/// Every group config key with its value for a group with `overrides`, in
/// Kafka's order.
pub fn describe(
    overrides: Option<&BTreeMap<String, String>>,
    broker: &BrokerConfig,
) -> Vec<DescribedGroupConfig> {
    let empty = BTreeMap::new();
    let overrides = overrides.unwrap_or(&empty);
    let config = GroupConfig::parse_lenient(overrides);
    GROUP_CONFIGS
        .iter()
        .map(|def| {
            let own = overrides
                .get(def.name)
                .filter(|raw| parse_value(def, raw).is_ok());
            let value = match (own, def.kind) {
                (Some(raw), GroupConfigType::String) => raw.trim().to_string(),
                _ => match def.name {
                    CONSUMER_SESSION_TIMEOUT_MS => config.consumer_session_timeout_ms(broker),
                    CONSUMER_HEARTBEAT_INTERVAL_MS => config.consumer_heartbeat_interval_ms(broker),
                    SHARE_SESSION_TIMEOUT_MS => config.share_session_timeout_ms(broker),
                    SHARE_HEARTBEAT_INTERVAL_MS => config.share_heartbeat_interval_ms(broker),
                    SHARE_RECORD_LOCK_DURATION_MS => config.share_record_lock_duration_ms(broker),
                    STREAMS_SESSION_TIMEOUT_MS => config.streams_session_timeout_ms(),
                    STREAMS_HEARTBEAT_INTERVAL_MS => config.streams_heartbeat_interval_ms(),
                    STREAMS_NUM_STANDBY_REPLICAS => config.streams_num_standby_replicas(),
                    STREAMS_INITIAL_REBALANCE_DELAY_MS => {
                        config.streams_initial_rebalance_delay_ms()
                    }
                    SHARE_AUTO_OFFSET_RESET => {
                        return DescribedGroupConfig {
                            def,
                            value: "latest".into(),
                            set_by_group: false,
                        };
                    }
                    _ => {
                        return DescribedGroupConfig {
                            def,
                            value: "read_uncommitted".into(),
                            set_by_group: false,
                        };
                    }
                }
                .to_string(),
            };
            DescribedGroupConfig {
                def,
                value,
                set_by_group: own.is_some(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn check(pairs: &[(&str, &str)]) -> Result<GroupConfig, String> {
        validate(&map(pairs), &BrokerConfig::default())
    }

    #[test]
    fn known_keys_parse_and_fall_back_to_the_broker() {
        let config = check(&[
            ("share.auto.offset.reset", " earliest "),
            ("share.isolation.level", "read_committed"),
            ("share.record.lock.duration.ms", "20000"),
            ("consumer.session.timeout.ms", "50000"),
        ])
        .unwrap();
        let broker = BrokerConfig::default();
        assert_eq!(
            config.share_auto_offset_reset(),
            ShareAutoOffsetReset::Earliest
        );
        assert_eq!(
            config.share_isolation_level(),
            ShareIsolationLevel::ReadCommitted
        );
        assert_eq!(config.share_record_lock_duration_ms(&broker), 20_000);
        assert_eq!(config.consumer_session_timeout_ms(&broker), 50_000);
        assert_eq!(config.share_session_timeout_ms(&broker), 45_000);
        assert_eq!(config.share_heartbeat_interval_ms(&broker), 5_000);
        let none = GroupConfig::default();
        assert_eq!(none.share_auto_offset_reset(), ShareAutoOffsetReset::Latest);
        assert_eq!(
            none.share_isolation_level(),
            ShareIsolationLevel::ReadUncommitted
        );
        assert_eq!(none.share_record_lock_duration_ms(&broker), 30_000);
        assert_eq!(check(&[]).unwrap(), GroupConfig::default());
    }

    #[test]
    fn unknown_keys_and_bad_values_get_kafkas_messages() {
        assert_eq!(
            check(&[("share.auto.offset.reset", "earliest"), ("nope", "1")]),
            Err("Unknown group config name: nope".into())
        );
        assert_eq!(
            check(&[("share.auto.offset.reset", "newest")]),
            Err("Invalid value newest for configuration share.auto.offset.reset: Invalid value `newest` for configuration share.auto.offset.reset. The value must be either 'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'.".into())
        );
        assert_eq!(
            check(&[("share.isolation.level", "READ_COMMITTED")]),
            Err("Invalid value READ_COMMITTED for configuration share.isolation.level: String must be one of: read_committed, read_uncommitted".into())
        );
        assert_eq!(
            check(&[("share.session.timeout.ms", "soon")]),
            Err(
                "Invalid value soon for configuration share.session.timeout.ms: Not a number of type INT"
                    .into()
            )
        );
        assert_eq!(
            check(&[("share.record.lock.duration.ms", "999")]),
            Err("Invalid value 999 for configuration share.record.lock.duration.ms: Value must be at least 1000".into())
        );
        assert_eq!(
            check(&[("streams.num.standby.replicas", "-1")]),
            Err("Invalid value -1 for configuration streams.num.standby.replicas: Value must be at least 0".into())
        );
    }

    #[test]
    fn timeouts_lie_within_the_brokers_bounds() {
        assert_eq!(
            check(&[("consumer.session.timeout.ms", "44999")]),
            Err(
                "consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms"
                    .into()
            )
        );
        assert_eq!(
            check(&[("consumer.heartbeat.interval.ms", "15001")]),
            Err(
                "consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms"
                    .into()
            )
        );
        assert_eq!(
            check(&[("share.session.timeout.ms", "60001")]),
            Err(
                "share.session.timeout.ms must be less than or equal to group.share.max.session.timeout.ms"
                    .into()
            )
        );
        assert_eq!(
            check(&[("share.heartbeat.interval.ms", "4999")]),
            Err(
                "share.heartbeat.interval.ms must be greater than or equal to group.share.min.heartbeat.interval.ms"
                    .into()
            )
        );
        assert_eq!(
            check(&[("share.record.lock.duration.ms", "14999")]),
            Err(
                "share.record.lock.duration.ms must be greater than or equal to group.share.min.record.lock.duration.ms"
                    .into()
            )
        );
        assert_eq!(
            check(&[("streams.num.standby.replicas", "3")]),
            Err(
                "streams.num.standby.replicas must be less than or equal to group.streams.max.standby.replicas"
                    .into()
            )
        );
        // The bounds are the broker's own.
        let broker = BrokerConfig {
            group_consumer_max_session_timeout_ms: 90_000,
            share: crate::config::share::ShareGroupSettings {
                max_record_lock_duration_ms: 120_000,
                ..Default::default()
            },
            ..BrokerConfig::default()
        };
        let wide = map(&[
            ("consumer.session.timeout.ms", "90000"),
            ("share.record.lock.duration.ms", "120000"),
        ]);
        assert!(validate(&wide, &broker).is_ok());
        assert!(validate(&wide, &BrokerConfig::default()).is_err());
    }

    #[test]
    fn a_session_outlasts_its_heartbeat() {
        let broker = BrokerConfig {
            group_consumer_min_session_timeout_ms: 5_000,
            share: crate::config::share::ShareGroupSettings {
                min_session_timeout_ms: 5_000,
                ..Default::default()
            },
            ..BrokerConfig::default()
        };
        let check = |pairs: &[(&str, &str)]| validate(&map(pairs), &broker);
        assert_eq!(
            check(&[
                ("consumer.session.timeout.ms", "6000"),
                ("consumer.heartbeat.interval.ms", "6000")
            ]),
            Err(
                "consumer.session.timeout.ms must be greater than consumer.heartbeat.interval.ms"
                    .into()
            )
        );
        assert_eq!(
            check(&[("share.session.timeout.ms", "5000")]),
            Err("share.session.timeout.ms must be greater than share.heartbeat.interval.ms".into())
        );
        assert!(check(&[("share.session.timeout.ms", "5001")]).is_ok());
    }

    #[test]
    fn by_duration_takes_java_iso_durations() {
        let reset = parse_auto_offset_reset;
        let by = |secs: u64, nanos: u32| {
            Some(ShareAutoOffsetReset::ByDuration(Duration::new(secs, nanos)))
        };
        assert_eq!(reset("by_duration:PT1H"), by(3_600, 0));
        assert_eq!(reset("by_duration:P1DT2H3M4.5S"), by(93_784, 500_000_000));
        assert_eq!(reset("by_duration:pt10m"), by(600, 0));
        assert_eq!(reset("by_duration:P2D"), by(172_800, 0));
        assert_eq!(reset("by_duration:PT0S"), by(0, 0));
        assert_eq!(reset("by_duration:PT1,25S"), by(1, 250_000_000));
        assert_eq!(reset("by_duration:PT1.S"), by(1, 0));
        assert_eq!(reset("by_duration:P1DT-1H"), by(82_800, 0));
        assert_eq!(reset("by_duration:+PT5S"), by(5, 0));
        for bad in [
            "by_duration:",
            "by_duration",
            "by_duration:P",
            "by_duration:PT",
            "by_duration:P1D T1H",
            "by_duration:-PT1S",
            "by_duration:PT-1S",
            "by_duration:PT1M1H",
            "by_duration:PT1H1H",
            "by_duration:PT1.0000000001S",
            "by_duration:P1W",
            "by_duration:P106751991167301D",
            "none",
            "EARLIEST",
            "by_duration: PT1S",
        ] {
            assert_eq!(reset(bad), None, "{bad}");
        }
        assert!(check(&[("share.auto.offset.reset", "by_duration:PT30M")]).is_ok());
    }

    #[test]
    fn described_values_and_their_origin() {
        let broker = BrokerConfig::default();
        let overrides = map(&[("share.auto.offset.reset", "earliest")]);
        let described = describe(Some(&overrides), &broker);
        assert_eq!(described.len(), GROUP_CONFIGS.len());
        let get = |name: &str| {
            let d = described.iter().find(|d| d.def.name == name).unwrap();
            (d.value.as_str(), d.set_by_group)
        };
        assert_eq!(get("share.auto.offset.reset"), ("earliest", true));
        assert_eq!(get("share.isolation.level"), ("read_uncommitted", false));
        assert_eq!(get("share.record.lock.duration.ms"), ("30000", false));
        assert_eq!(get("consumer.session.timeout.ms"), ("45000", false));
        assert_eq!(get("streams.initial.rebalance.delay.ms"), ("3000", false));
        let described = describe(None, &broker);
        assert!(described.iter().all(|d| !d.set_by_group));
    }

    #[test]
    fn stored_values_that_do_not_parse_are_left_out() {
        let config = GroupConfig::parse_lenient(&map(&[
            ("share.isolation.level", "sometimes"),
            ("share.session.timeout.ms", "50000"),
            ("unknown", "x"),
        ]));
        assert_eq!(config.share_isolation_level, None);
        assert_eq!(config.share_session_timeout_ms, Some(50_000));
    }
}
