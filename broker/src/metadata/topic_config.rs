//! Topic configurations: the names Kafka 4.0 knows, their types, defaults
//! and broker-level synonyms. Overrides are stored as `ConfigRecord`s in the
//! metadata log. The broker enforces `segment.bytes`, `max.message.bytes`,
//! `flush.messages`, `flush.ms`, `index.interval.bytes` and
//! `segment.index.bytes` per topic; the others are kept and described but
//! have no effect on this single-node broker.

use crate::config::BrokerConfig;
use crate::storage::LogConfig;
use std::collections::BTreeMap;

/// The type of a configuration value, as DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// One topic configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicConfigDef {
    pub name: &'static str,
    pub kind: ConfigType,
    pub default: &'static str,
    /// The broker configuration that sets the default for all topics.
    pub broker_synonym: Option<&'static str>,
    /// Values allowed for string configurations (empty: any).
    pub choices: &'static [&'static str],
    pub doc: &'static str,
}

const fn def(
    name: &'static str,
    kind: ConfigType,
    default: &'static str,
    broker_synonym: Option<&'static str>,
    doc: &'static str,
) -> TopicConfigDef {
    TopicConfigDef {
        name,
        kind,
        default,
        broker_synonym,
        choices: &[],
        doc,
    }
}

const LONG_MAX: &str = "9223372036854775807";

/// Kafka 4.0's topic configurations, sorted by name.
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    TopicConfigDef {
        choices: &["compact", "delete"],
        ..def(
            "cleanup.policy",
            ConfigType::List,
            "delete",
            Some("log.cleanup.policy"),
            "The retention policy of old log segments.",
        )
    },
    def(
        "compression.gzip.level",
        ConfigType::Int,
        "-1",
        Some("compression.gzip.level"),
        "The compression level of gzip.",
    ),
    def(
        "compression.lz4.level",
        ConfigType::Int,
        "9",
        Some("compression.lz4.level"),
        "The compression level of lz4.",
    ),
    TopicConfigDef {
        choices: &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"],
        ..def(
            "compression.type",
            ConfigType::String,
            "producer",
            Some("compression.type"),
            "The final compression type for the topic.",
        )
    },
    def(
        "compression.zstd.level",
        ConfigType::Int,
        "3",
        Some("compression.zstd.level"),
        "The compression level of zstd.",
    ),
    def(
        "delete.retention.ms",
        ConfigType::Long,
        "86400000",
        Some("log.cleaner.delete.retention.ms"),
        "How long delete tombstones are retained on compacted topics.",
    ),
    def(
        "file.delete.delay.ms",
        ConfigType::Long,
        "60000",
        Some("log.segment.delete.delay.ms"),
        "The time to wait before deleting a file from the filesystem.",
    ),
    def(
        "flush.messages",
        ConfigType::Long,
        LONG_MAX,
        Some("log.flush.interval.messages"),
        "Messages written between two fsyncs of the log.",
    ),
    def(
        "flush.ms",
        ConfigType::Long,
        LONG_MAX,
        Some("log.flush.interval.ms"),
        "Milliseconds between two fsyncs of the log.",
    ),
    def(
        "follower.replication.throttled.replicas",
        ConfigType::List,
        "",
        None,
        "Replicas whose follower replication is throttled.",
    ),
    def(
        "index.interval.bytes",
        ConfigType::Int,
        "4096",
        Some("log.index.interval.bytes"),
        "Bytes of log between two offset index entries.",
    ),
    def(
        "leader.replication.throttled.replicas",
        ConfigType::List,
        "",
        None,
        "Replicas whose leader replication is throttled.",
    ),
    def(
        "local.retention.bytes",
        ConfigType::Long,
        "-2",
        Some("log.local.retention.bytes"),
        "Local log size retained with tiered storage.",
    ),
    def(
        "local.retention.ms",
        ConfigType::Long,
        "-2",
        Some("log.local.retention.ms"),
        "Local log time retained with tiered storage.",
    ),
    def(
        "max.compaction.lag.ms",
        ConfigType::Long,
        LONG_MAX,
        Some("log.cleaner.max.compaction.lag.ms"),
        "The longest a record may stay uncompacted.",
    ),
    def(
        "max.message.bytes",
        ConfigType::Int,
        "1048588",
        Some("message.max.bytes"),
        "The largest record batch size allowed.",
    ),
    def(
        "message.timestamp.after.max.ms",
        ConfigType::Long,
        "3600000",
        Some("log.message.timestamp.after.max.ms"),
        "How far in the future a record timestamp may be.",
    ),
    def(
        "message.timestamp.before.max.ms",
        ConfigType::Long,
        LONG_MAX,
        Some("log.message.timestamp.before.max.ms"),
        "How far in the past a record timestamp may be.",
    ),
    // LogAppendTime (the broker stamping batches as it appends them) is
    // not offered: refused as a value outside the choices, as the broker
    // key is refused at start.
    TopicConfigDef {
        choices: &["CreateTime"],
        ..def(
            "message.timestamp.type",
            ConfigType::String,
            "CreateTime",
            Some("log.message.timestamp.type"),
            "Whether record timestamps are set by the producer (CreateTime, the only type here).",
        )
    },
    def(
        "min.cleanable.dirty.ratio",
        ConfigType::Double,
        "0.5",
        Some("log.cleaner.min.cleanable.ratio"),
        "How dirty a log must be before it is compacted.",
    ),
    def(
        "min.compaction.lag.ms",
        ConfigType::Long,
        "0",
        Some("log.cleaner.min.compaction.lag.ms"),
        "The least time a record stays uncompacted.",
    ),
    def(
        "min.insync.replicas",
        ConfigType::Int,
        "1",
        Some("min.insync.replicas"),
        "Replicas that must acknowledge a write with acks=all.",
    ),
    def(
        "preallocate",
        ConfigType::Boolean,
        "false",
        Some("log.preallocate"),
        "Whether segment files are preallocated.",
    ),
    def(
        "remote.log.copy.disable",
        ConfigType::Boolean,
        "false",
        None,
        "Whether copying to tiered storage is disabled.",
    ),
    def(
        "remote.log.delete.on.disable",
        ConfigType::Boolean,
        "false",
        None,
        "Whether tiered data is deleted when tiering is disabled.",
    ),
    def(
        "remote.storage.enable",
        ConfigType::Boolean,
        "false",
        None,
        "Whether tiered storage is enabled for the topic.",
    ),
    def(
        "retention.bytes",
        ConfigType::Long,
        "-1",
        Some("log.retention.bytes"),
        "The largest size a partition may grow to.",
    ),
    def(
        "retention.ms",
        ConfigType::Long,
        "604800000",
        Some("log.retention.ms"),
        "How long records are retained.",
    ),
    def(
        "segment.bytes",
        ConfigType::Int,
        "1073741824",
        Some("log.segment.bytes"),
        "The size of a log segment file.",
    ),
    def(
        "segment.index.bytes",
        ConfigType::Int,
        "10485760",
        Some("log.index.size.max.bytes"),
        "The size of an offset index file.",
    ),
    def(
        "segment.jitter.ms",
        ConfigType::Long,
        "0",
        Some("log.roll.jitter.ms"),
        "The jitter subtracted from segment.ms.",
    ),
    def(
        "segment.ms",
        ConfigType::Long,
        "604800000",
        Some("log.roll.ms"),
        "The time after which a segment is rolled.",
    ),
    def(
        "unclean.leader.election.enable",
        ConfigType::Boolean,
        "false",
        Some("unclean.leader.election.enable"),
        "Whether out-of-sync replicas may become leader.",
    ),
];

pub fn topic_config_def(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Checks a topic configuration override, as CreateTopics does.
pub fn validate_topic_config(name: &str, value: Option<&str>) -> Result<(), String> {
    let def = topic_config_def(name).ok_or_else(|| format!("Unknown topic config name: {name}"))?;
    let Some(value) = value else {
        return Err(format!(
            "Null value not supported for topic configs: {name}"
        ));
    };
    let value = value.trim();
    let valid = match def.kind {
        ConfigType::Boolean => matches!(value.to_ascii_lowercase().as_str(), "true" | "false"),
        ConfigType::Int => value.parse::<i32>().is_ok(),
        ConfigType::Long => value.parse::<i64>().is_ok(),
        ConfigType::Double => value.parse::<f64>().is_ok(),
        ConfigType::String => def.choices.is_empty() || def.choices.contains(&value),
        ConfigType::List => {
            def.choices.is_empty()
                || value
                    .split(',')
                    .map(str::trim)
                    .all(|v| def.choices.contains(&v))
        }
    };
    if !valid {
        return Err(format!("Invalid value {value} for configuration {name}"));
    }
    // Kafka's range validators of the compaction settings.
    let bounds: Option<(f64, Option<f64>)> = match name {
        "min.cleanable.dirty.ratio" => Some((0.0, Some(1.0))),
        "min.compaction.lag.ms" | "delete.retention.ms" => Some((0.0, None)),
        "max.compaction.lag.ms" => Some((1.0, None)),
        _ => None,
    };
    if let (Some((min, max)), Ok(v)) = (bounds, value.parse::<f64>()) {
        let show = |b: f64| {
            if def.kind == ConfigType::Double {
                b.to_string()
            } else {
                (b as i64).to_string()
            }
        };
        if v < min {
            return Err(format!(
                "Invalid value {value} for configuration {name}: Value must be at least {}",
                show(min)
            ));
        }
        if let Some(max) = max.filter(|&max| v > max) {
            return Err(format!(
                "Invalid value {value} for configuration {name}: Value must be no more than {}",
                show(max)
            ));
        }
    }
    Ok(())
}

/// Where a described value comes from (DescribeConfigs `config_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    TopicConfig = 1,
    DynamicBrokerConfig = 2,
    DynamicDefaultBrokerConfig = 3,
    StaticBrokerConfig = 4,
    DefaultConfig = 5,
    /// A group's own config (config resource GROUP).
    GroupConfig = 8,
}

/// A topic configuration's effective value and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedConfig {
    pub def: &'static TopicConfigDef,
    pub value: String,
    pub source: ConfigSource,
}

/// The dynamic broker configs a topic's values may come from: this
/// broker's own and the cluster-wide default.
#[derive(Debug, Clone, Copy, Default)]
pub struct DynamicBrokerConfigs<'a> {
    pub own: Option<&'a BTreeMap<String, String>>,
    pub cluster_default: Option<&'a BTreeMap<String, String>>,
}

impl<'a> DynamicBrokerConfigs<'a> {
    /// Those of node `node_id` in `image`.
    pub fn of(image: &'a super::MetadataImage, node_id: i32) -> Self {
        use super::records::BROKER_RESOURCE;
        DynamicBrokerConfigs {
            own: image.configs(BROKER_RESOURCE, &node_id.to_string()),
            cluster_default: image.configs(BROKER_RESOURCE, ""),
        }
    }

    /// The dynamic value of broker key `name`, and its source.
    pub fn get(&self, name: &str) -> Option<(&'a String, ConfigSource)> {
        if let Some(value) = self.own.and_then(|c| c.get(name)) {
            return Some((value, ConfigSource::DynamicBrokerConfig));
        }
        self.cluster_default
            .and_then(|c| c.get(name))
            .map(|value| (value, ConfigSource::DynamicDefaultBrokerConfig))
    }
}

/// The broker keys a topic configuration takes its default from, the first
/// set winning, each with the factor that turns its value into the topic
/// key's unit (Kafka's `log.retention.ms|minutes|hours` and the like).
fn broker_synonyms(def: &TopicConfigDef) -> Vec<(&'static str, i64)> {
    match def.name {
        "retention.ms" => vec![
            ("log.retention.ms", 1),
            ("log.retention.minutes", 60_000),
            ("log.retention.hours", 3_600_000),
        ],
        "segment.ms" => vec![("log.roll.ms", 1), ("log.roll.hours", 3_600_000)],
        "segment.jitter.ms" => vec![
            ("log.roll.jitter.ms", 1),
            ("log.roll.jitter.hours", 3_600_000),
        ],
        _ => def.broker_synonym.map(|s| vec![(s, 1)]).unwrap_or_default(),
    }
}

/// Every topic configuration of a topic with `overrides`, resolved against
/// the broker's configuration: the topic's override, else a dynamic broker
/// config, else the static one, else the default.
pub fn resolve_topic_configs(
    broker: &BrokerConfig,
    dynamic: DynamicBrokerConfigs<'_>,
    overrides: Option<&BTreeMap<String, String>>,
) -> Vec<ResolvedConfig> {
    TOPIC_CONFIGS
        .iter()
        .map(|def| {
            if let Some(value) = overrides.and_then(|o| o.get(def.name)) {
                return ResolvedConfig {
                    def,
                    value: value.clone(),
                    source: ConfigSource::TopicConfig,
                };
            }
            let layers = [
                (dynamic.own, ConfigSource::DynamicBrokerConfig),
                (
                    dynamic.cluster_default,
                    ConfigSource::DynamicDefaultBrokerConfig,
                ),
                (Some(&broker.properties), ConfigSource::StaticBrokerConfig),
            ];
            let synonyms = broker_synonyms(def);
            let from_broker = layers.iter().find_map(|(map, source)| {
                let map = (*map)?;
                synonyms
                    .iter()
                    .find_map(|(key, factor)| {
                        let value = map.get(*key)?;
                        if *factor == 1 {
                            return Some(value.clone());
                        }
                        let n = value.trim().parse::<i64>().ok()?;
                        Some(if n < 0 { -1 } else { n.saturating_mul(*factor) }.to_string())
                    })
                    .map(|value| (value, *source))
            });
            match from_broker {
                Some((value, source)) => ResolvedConfig { def, value, source },
                None => ResolvedConfig {
                    def,
                    value: def.default.to_string(),
                    source: ConfigSource::DefaultConfig,
                },
            }
        })
        .collect()
}

/// The log settings of a topic: the broker's, with the topic's overrides.
pub fn log_config(broker: &LogConfig, overrides: Option<&BTreeMap<String, String>>) -> LogConfig {
    let mut config = *broker;
    let Some(overrides) = overrides else {
        return config;
    };
    if let Some(v) = overrides
        .get("segment.bytes")
        .and_then(|v| v.parse::<u64>().ok())
    {
        config.segment_bytes = v.max(14);
    }
    if let Some(v) = overrides
        .get("max.message.bytes")
        .and_then(|v| v.parse().ok())
    {
        config.max_message_bytes = v;
    }
    if let Some(v) = overrides
        .get("flush.messages")
        .and_then(|v| v.parse::<u64>().ok())
    {
        config.flush_interval_messages = v.max(1);
    }
    if let Some(v) = overrides
        .get("index.interval.bytes")
        .and_then(|v| v.parse().ok())
    {
        config.index_interval_bytes = v;
    }
    if let Some(v) = overrides
        .get("flush.ms")
        .and_then(|v| v.parse::<u64>().ok())
    {
        config.flush_interval_ms = v;
    }
    if let Some(v) = overrides
        .get("segment.index.bytes")
        .and_then(|v| v.parse::<usize>().ok())
    {
        config.max_index_size = v.max(4);
    }
    let long = |key: &str| {
        overrides
            .get(key)
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    if let Some(v) = long("retention.bytes") {
        config.retention_bytes = v;
    }
    if let Some(v) = long("retention.ms") {
        config.retention_ms = if v < 0 { -1 } else { v };
    }
    if let Some(v) = long("segment.ms") {
        config.segment_ms = v.max(1);
    }
    if let Some(v) = long("segment.jitter.ms") {
        config.segment_jitter_ms = v.max(0);
    }
    if let Some(v) = long("file.delete.delay.ms") {
        config.file_delete_delay_ms = v.max(0) as u64;
    }
    if let Some(v) = overrides
        .get("min.cleanable.dirty.ratio")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| (0.0..=1.0).contains(v))
    {
        config.min_cleanable_ratio = v;
    }
    if let Some(v) = long("min.compaction.lag.ms") {
        config.min_compaction_lag_ms = v.max(0);
    }
    if let Some(v) = long("max.compaction.lag.ms") {
        config.max_compaction_lag_ms = v.max(1);
    }
    if let Some(v) = long("delete.retention.ms") {
        config.delete_retention_ms = v.max(0);
    }
    if let Some(v) = long("message.timestamp.before.max.ms") {
        config.timestamp_before_max_ms = v.max(0);
    }
    if let Some(v) = long("message.timestamp.after.max.ms") {
        config.timestamp_after_max_ms = v.max(0);
    }
    if let Some((delete, compact)) = overrides
        .get("cleanup.policy")
        .and_then(|v| crate::config::parse_cleanup_policy(v))
    {
        config.delete = delete;
        config.compact = compact;
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_synonyms_are_known_broker_keys() {
        for def in TOPIC_CONFIGS {
            if let Some(synonym) = def.broker_synonym {
                assert!(
                    crate::config::is_known_key(synonym),
                    "{synonym} (broker synonym of {}) is missing from config::keys::KEYS",
                    def.name
                );
            }
        }
    }

    #[test]
    fn configs_are_sorted_unique_and_valid() {
        for pair in TOPIC_CONFIGS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} / {}",
                pair[0].name,
                pair[1].name
            );
        }
        for def in TOPIC_CONFIGS {
            assert_eq!(
                validate_topic_config(def.name, Some(def.default)),
                Ok(()),
                "{}",
                def.name
            );
        }
    }

    #[test]
    fn validation_and_resolution() {
        assert!(validate_topic_config("retention.ms", Some("-1")).is_ok());
        assert!(validate_topic_config("retention.ms", Some("soon")).is_err());
        assert!(validate_topic_config("cleanup.policy", Some("compact,delete")).is_ok());
        assert!(validate_topic_config("cleanup.policy", Some("shred")).is_err());
        assert!(validate_topic_config("no.such.config", Some("1")).is_err());

        let mut broker = BrokerConfig::default();
        broker
            .properties
            .insert("log.retention.ms".into(), "1000".into());
        let overrides = BTreeMap::from([("segment.bytes".to_string(), "4096".to_string())]);
        let resolved =
            resolve_topic_configs(&broker, DynamicBrokerConfigs::default(), Some(&overrides));
        let get = |name: &str| resolved.iter().find(|r| r.def.name == name).unwrap();
        assert_eq!(
            (
                get("segment.bytes").value.as_str(),
                get("segment.bytes").source
            ),
            ("4096", ConfigSource::TopicConfig)
        );
        assert_eq!(get("retention.ms").source, ConfigSource::StaticBrokerConfig);
        assert_eq!(get("cleanup.policy").source, ConfigSource::DefaultConfig);
        assert_eq!(
            log_config(&LogConfig::default(), Some(&overrides)).segment_bytes,
            4096
        );
    }

    #[test]
    fn time_configs_take_the_broker_keys_in_any_unit() {
        let mut broker = BrokerConfig::default();
        broker
            .properties
            .insert("log.retention.hours".into(), "2".into());
        broker
            .properties
            .insert("log.roll.hours".into(), "3".into());
        let own = BTreeMap::from([("log.retention.minutes".to_string(), "5".to_string())]);
        let get = |dynamic: DynamicBrokerConfigs<'_>, name: &str| {
            let resolved = resolve_topic_configs(&broker, dynamic, None);
            let r = resolved.iter().find(|r| r.def.name == name).unwrap();
            (r.value.clone(), r.source)
        };
        let none = DynamicBrokerConfigs::default();
        assert_eq!(
            get(none, "retention.ms"),
            ("7200000".to_string(), ConfigSource::StaticBrokerConfig)
        );
        assert_eq!(
            get(none, "segment.ms"),
            ("10800000".to_string(), ConfigSource::StaticBrokerConfig)
        );
        let dynamic = DynamicBrokerConfigs {
            own: Some(&own),
            cluster_default: None,
        };
        assert_eq!(
            get(dynamic, "retention.ms"),
            ("300000".to_string(), ConfigSource::DynamicBrokerConfig)
        );
    }
}
