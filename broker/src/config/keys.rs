//! Every `server.properties` key the broker knows, as one table: the keys it
//! reads (with their defaults), Kafka's keys it accepts but that have no
//! effect on one node, and Kafka's keys it refuses because they turn on
//! something this broker does not have. `docs/configuration.md` holds
//! [`reference_markdown`] between two marker comments, and a test keeps the
//! two the same.
//!
//! Plain data: this module depends on nothing but `std`.

use std::fmt::Write as _;

/// What the broker does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Read by the parser; the key's `default` is the broker's own default.
    Read,
    /// Kafka's key, accepted, with no effect on this single node (why).
    /// Warned about once at start when set.
    NoEffect(&'static str),
    /// Kafka's key that turns on something this broker does not have:
    /// refused at start unless its value is one of `accepted` (see
    /// [`Key::accepts`]), with `why`.
    Refused {
        accepted: &'static [&'static str],
        why: &'static str,
    },
}

/// A value's type in Kafka's `ConfigDef`, with DescribeConfigs'
/// `config_type` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Class = 8,
    Password = 9,
}

impl ValueType {
    /// Kafka's check of a value of this type (`ConfigDef.parseType`): its
    /// error message when the value is not one.
    pub fn check(self, key: &str, value: &str) -> Result<(), String> {
        let value = value.trim();
        let ok = match self {
            ValueType::Boolean => {
                value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
            }
            ValueType::Int => value.parse::<i32>().is_ok(),
            ValueType::Short => value.parse::<i16>().is_ok(),
            ValueType::Long => value.parse::<i64>().is_ok(),
            ValueType::Double => value.parse::<f64>().is_ok(),
            ValueType::String | ValueType::List | ValueType::Class | ValueType::Password => true,
        };
        if ok {
            return Ok(());
        }
        let expected = match self {
            ValueType::Boolean => "Expected value to be either true or false".to_string(),
            other => format!("Not a number of type {}", other.name()),
        };
        Err(format!(
            "Invalid value {value} for configuration {key}: {expected}"
        ))
    }

    /// Kafka's name of the type (`INT`, `LONG`).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Boolean => "BOOLEAN",
            ValueType::String => "STRING",
            ValueType::Int => "INT",
            ValueType::Short => "SHORT",
            ValueType::Long => "LONG",
            ValueType::Double => "DOUBLE",
            ValueType::List => "LIST",
            ValueType::Class => "CLASS",
            ValueType::Password => "PASSWORD",
        }
    }
}

/// One configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Kafka's name of the key, verbatim.
    pub name: &'static str,
    /// For [`Kind::Read`], the broker's default as Kafka writes it
    /// (`1073741824`, `true`; empty for none). For the other kinds, Kafka's
    /// default.
    pub default: &'static str,
    /// Whether it can change at runtime as a dynamic broker config (the
    /// cluster-wide default or this broker's own).
    pub dynamic: bool,
    /// Kafka refuses it as a cluster-wide default: only a broker's own
    /// dynamic config (its id as the resource name) may set it.
    pub per_broker: bool,
    /// For a dynamic key this broker does not read, Kafka's type of its
    /// value, to check and describe it.
    pub value_type: Option<ValueType>,
    pub kind: Kind,
    /// One line: what the key does here ([`Kind::Read`]), or what it does
    /// in Kafka (the other kinds).
    pub doc: &'static str,
}

impl Key {
    /// Whether the broker starts with `value` for this key: always, but for
    /// a [`Kind::Refused`] key, whose value must be one of its `accepted`
    /// ones. Values compare trimmed and ASCII case-insensitively, the items
    /// of a comma-separated list trimmed (`classic, consumer` is
    /// `classic,consumer`). An empty value is the key unset, as everywhere
    /// in the parser, and is accepted.
    pub fn accepts(&self, value: &str) -> bool {
        match self.kind {
            Kind::Refused { accepted, .. } => {
                let value = normalize(value);
                value.is_empty()
                    || accepted
                        .iter()
                        .any(|a| normalize(a).eq_ignore_ascii_case(&value))
            }
            Kind::Read | Kind::NoEffect(_) => true,
        }
    }
}

/// A value trimmed, each item of a comma-separated list trimmed.
fn normalize(value: &str) -> String {
    value
        .split(',')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(",")
        .trim_matches(',')
        .to_string()
}

const fn read(name: &'static str, default: &'static str, doc: &'static str) -> Key {
    Key {
        name,
        default,
        dynamic: false,
        per_broker: false,
        value_type: None,
        kind: Kind::Read,
        doc,
    }
}

const fn dynamic(name: &'static str, default: &'static str, doc: &'static str) -> Key {
    Key {
        name,
        default,
        dynamic: true,
        per_broker: false,
        value_type: None,
        kind: Kind::Read,
        doc,
    }
}

const fn no_effect(
    name: &'static str,
    default: &'static str,
    doc: &'static str,
    why: &'static str,
) -> Key {
    Key {
        name,
        default,
        dynamic: false,
        per_broker: false,
        value_type: None,
        kind: Kind::NoEffect(why),
        doc,
    }
}

const fn refused(
    name: &'static str,
    default: &'static str,
    accepted: &'static [&'static str],
    doc: &'static str,
    why: &'static str,
) -> Key {
    Key {
        name,
        default,
        dynamic: false,
        per_broker: false,
        value_type: None,
        kind: Kind::Refused { accepted, why },
        doc,
    }
}

/// A key Kafka 4.2 lets AlterConfigs change on a BROKER resource
/// (`DynamicBrokerConfig.AllDynamicConfigs`), that this broker does not
/// read: stored and described with its type, without effect.
const fn changeable(key: Key, value_type: ValueType) -> Key {
    Key {
        dynamic: true,
        value_type: Some(value_type),
        ..key
    }
}

/// A dynamic key Kafka accepts only as a broker's own config, never as
/// the cluster-wide default (`DynamicBrokerConfig.PerBrokerConfigs`).
const fn per_broker(key: Key) -> Key {
    Key {
        per_broker: true,
        ..key
    }
}

const LONG_MAX: &str = "9223372036854775807";
const ONE_NODE: &str = "One node: every partition has one replica, this broker.";
const NO_OTHER_BROKER: &str = "One node: there is no other broker to talk to.";
const NO_QUORUM: &str =
    "This process is its own and only controller; its metadata log is local, with no quorum.";
const NO_PLUGINS: &str = "This broker loads no Java classes, so no plugin can be named.";
const TOKIO: &str = "Requests and sockets are served by the async runtime's threads.";
const NEVER_RECOMPRESSES: &str =
    "The broker never recompresses batches (see `compression.type`), so no level is used.";

/// Every key, sorted by name, each name once.
pub const KEYS: &[Key] = &[
    per_broker(dynamic(
        "advertised.listeners",
        "",
        "The `NAME://host:port` each listener gives its clients in Metadata, FindCoordinator and DescribeCluster answers; a listener not named here advertises its `listeners` address. Dynamic on a broker's own config, as in Kafka, only where the listeners clients see do not change.",
    )),
    read(
        "allow.everyone.if.no.acl.found",
        "false",
        "With the authorizer on, whether a resource that no ACL matches is open to every principal.",
    ),
    refused(
        "alter.config.policy.class.name",
        "",
        &[""],
        "A class that vets AlterConfigs and IncrementalAlterConfigs requests.",
        NO_PLUGINS,
    ),
    read(
        "authorizer.class.name",
        "",
        "Turns ACL checks on: the one class taken is `org.apache.kafka.metadata.authorizer.StandardAuthorizer`; empty allows every request.",
    ),
    read(
        "auto.create.topics.enable",
        "true",
        "Whether a Metadata request for an unknown topic creates it, with `num.partitions` and `default.replication.factor`.",
    ),
    no_effect(
        "auto.leader.rebalance.enable",
        "true",
        "Moves partition leadership back to the preferred replicas.",
        ONE_NODE,
    ),
    changeable(
        no_effect(
            "background.threads",
            "10",
            "The threads of Kafka's background tasks.",
            "Background tasks run on the async runtime and a few threads of their own.",
        ),
        ValueType::Int,
    ),
    read(
        "broker.id",
        "1",
        "The older name of the node id: taken as `node.id` when that is not set, and must equal it when both are.",
    ),
    refused(
        "client.quota.callback.class",
        "",
        &[""],
        "A class that decides the quotas of client principals.",
        "Client quotas are not enforced here, and no Java class can be loaded.",
    ),
    changeable(
        no_effect(
            "compression.gzip.level",
            "-1",
            "The level the broker recompresses gzip batches at.",
            NEVER_RECOMPRESSES,
        ),
        ValueType::Int,
    ),
    changeable(
        no_effect(
            "compression.lz4.level",
            "9",
            "The level the broker recompresses lz4 batches at.",
            NEVER_RECOMPRESSES,
        ),
        ValueType::Int,
    ),
    changeable(
        refused(
            "compression.type",
            "producer",
            &["producer"],
            "The codec the broker stores record batches in; `producer` keeps the producer's.",
            "Batches are stored as the producer sent them: the broker never recompresses.",
        ),
        ValueType::String,
    ),
    changeable(
        no_effect(
            "compression.zstd.level",
            "3",
            "The level the broker recompresses zstd batches at.",
            NEVER_RECOMPRESSES,
        ),
        ValueType::Int,
    ),
    read(
        "connection.failed.authentication.delay.ms",
        "100",
        "How long the answer to a failed SASL authentication is held back before the connection closes.",
    ),
    read(
        "connections.max.idle.ms",
        "600000",
        "A connection with no traffic for this long is closed.",
    ),
    refused(
        "connections.max.reauth.ms",
        "0",
        &["0"],
        "Makes SASL clients authenticate again within this time (KIP-368); 0 never.",
        "Re-authentication is not implemented: a connection stays authenticated until it closes.",
    ),
    read(
        "controller.listener.names",
        "",
        "The listeners that are controller listeners; they are not opened, and every other listener in `listeners` serves clients.",
    ),
    no_effect(
        "controller.quorum.bootstrap.servers",
        "",
        "Where a KRaft node finds the controller quorum.",
        NO_QUORUM,
    ),
    read(
        "controller.quorum.voters",
        "",
        "The KRaft controller quorum as `<id>@<host>:<port>`: at most one voter, this node (`node.id`), its own and only controller; a quorum of several is refused.",
    ),
    refused(
        "create.topic.policy.class.name",
        "",
        &[""],
        "A class that vets CreateTopics requests.",
        NO_PLUGINS,
    ),
    read(
        "default.replication.factor",
        "1",
        "The replication factor of topics created without one; any other value than 1 makes such a creation fail, as on a one-broker Kafka cluster.",
    ),
    refused(
        "delegation.token.secret.key",
        "",
        &[""],
        "The secret that signs delegation tokens; setting it turns delegation tokens on.",
        "Delegation tokens are not supported.",
    ),
    read(
        "delete.topic.enable",
        "true",
        "Whether DeleteTopics may delete topics.",
    ),
    changeable(
        no_effect(
            "follower.replication.throttled.rate",
            LONG_MAX,
            "The rate followers may replicate throttled partitions at (dynamic only).",
            "There are no replicas to copy: one node holds every partition.",
        ),
        ValueType::Long,
    ),
    read(
        "group.consumer.assignors",
        "uniform,range",
        "The server-side assignors of consumer-protocol groups, `uniform` and `range` (or their class names); the first serves members that name none.",
    ),
    read(
        "group.consumer.heartbeat.interval.ms",
        "5000",
        "The heartbeat interval given to consumer-protocol members; within its min and max, and below the session timeout.",
    ),
    read(
        "group.consumer.max.heartbeat.interval.ms",
        "15000",
        "The largest `group.consumer.heartbeat.interval.ms` allowed.",
    ),
    read(
        "group.consumer.max.session.timeout.ms",
        "60000",
        "The largest `group.consumer.session.timeout.ms` allowed.",
    ),
    read(
        "group.consumer.max.size",
        "2147483647",
        "The most members a consumer-protocol group may have.",
    ),
    read(
        "group.consumer.min.heartbeat.interval.ms",
        "5000",
        "The smallest `group.consumer.heartbeat.interval.ms` allowed.",
    ),
    read(
        "group.consumer.min.session.timeout.ms",
        "45000",
        "The smallest `group.consumer.session.timeout.ms` allowed.",
    ),
    read(
        "group.consumer.session.timeout.ms",
        "45000",
        "How long a consumer-protocol member may go without a heartbeat before it leaves its group.",
    ),
    refused(
        "group.coordinator.rebalance.protocols",
        "classic,consumer",
        &["classic,consumer", "consumer,classic"],
        "The group protocols the coordinator serves: `classic`, `consumer`, `share` (4.0, early access), `streams` (4.1 and later).",
        "Classic and consumer groups are always served; share and streams groups are not. Kafka 4.1 and later default to `classic,consumer,streams`, which is refused.",
    ),
    read(
        "group.initial.rebalance.delay.ms",
        "3000",
        "How long a new classic group waits for more members before its first rebalance.",
    ),
    read(
        "group.max.session.timeout.ms",
        "1800000",
        "The longest session timeout a classic group member may ask for.",
    ),
    read(
        "group.min.session.timeout.ms",
        "6000",
        "The shortest session timeout a classic group member may ask for.",
    ),
    read(
        "group.share.delivery.count.limit",
        "5",
        "How many times a share group delivers a record before it archives it.",
    ),
    read(
        "group.share.enable",
        "false",
        "Serves share groups (KIP-932) whatever the `share.version` feature level; an internal key of Kafka 4.0 to 4.2.",
    ),
    read(
        "group.share.heartbeat.interval.ms",
        "5000",
        "How often share group members heartbeat.",
    ),
    read(
        "group.share.max.heartbeat.interval.ms",
        "15000",
        "The longest heartbeat interval a share group may have.",
    ),
    read(
        "group.share.max.record.lock.duration.ms",
        "60000",
        "The longest acquisition lock a share group may have.",
    ),
    read(
        "group.share.max.session.timeout.ms",
        "60000",
        "The longest session timeout a share group may have.",
    ),
    read(
        "group.share.max.share.sessions",
        "2000",
        "How many share sessions the broker keeps open.",
    ),
    read(
        "group.share.max.size",
        "200",
        "How many members a share group may have.",
    ),
    read(
        "group.share.min.heartbeat.interval.ms",
        "5000",
        "The shortest heartbeat interval a share group may have.",
    ),
    read(
        "group.share.min.record.lock.duration.ms",
        "15000",
        "The shortest acquisition lock a share group may have.",
    ),
    read(
        "group.share.min.session.timeout.ms",
        "45000",
        "The shortest session timeout a share group may have.",
    ),
    read(
        "group.share.partition.max.record.locks",
        "2000",
        "How many records of one share partition may be in flight.",
    ),
    read(
        "group.share.record.lock.duration.ms",
        "30000",
        "How long a share group member holds the records it acquired.",
    ),
    read(
        "group.share.session.timeout.ms",
        "45000",
        "How long a share group member may go without a heartbeat.",
    ),
    no_effect(
        "inter.broker.listener.name",
        "",
        "The listener brokers use to talk to each other.",
        NO_OTHER_BROKER,
    ),
    refused(
        "kafka.metrics.reporters",
        "",
        &[""],
        "Yammer metrics reporter classes.",
        "No Java reporter can be loaded; Prometheus metrics are served with `metrics.prometheus.listener`.",
    ),
    changeable(
        no_effect(
            "leader.replication.throttled.rate",
            LONG_MAX,
            "The rate leaders may send throttled partitions to followers at (dynamic only).",
            "There are no replicas to copy: one node holds every partition.",
        ),
        ValueType::Long,
    ),
    per_broker(dynamic(
        "listener.security.protocol.map",
        "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "The security protocol of each listener name (`NAME:PROTOCOL`, comma-separated): PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; a listener named after its protocol needs no entry. Dynamic on a broker's own config, as in Kafka, only where no listener's protocol changes.",
    )),
    per_broker(dynamic(
        "listeners",
        "PLAINTEXT://:9092",
        "The `NAME://host:port` addresses the broker listens on (an empty host is every interface); the first client listener is the one the broker names itself by. Dynamic on a broker's own config, as in Kafka with KRaft, only where the listeners clients see do not change (a different bind address applies at the next start).",
    )),
    dynamic(
        "log.cleaner.backoff.ms",
        "15000",
        "How long a cleaner thread sleeps when no log needs compacting.",
    ),
    dynamic(
        "log.cleaner.dedupe.buffer.size",
        "134217728",
        "The memory of the key maps of all cleaner threads together; each thread needs at least 1 MiB.",
    ),
    dynamic(
        "log.cleaner.delete.retention.ms",
        "86400000",
        "The default `delete.retention.ms`: how long a tombstone stays in a compacted log.",
    ),
    read(
        "log.cleaner.enable",
        "true",
        "Whether the log cleaner runs; without it compacted topics are not compacted.",
    ),
    dynamic(
        "log.cleaner.io.buffer.load.factor",
        "0.9",
        "How full a cleaner key map may get, above 0 and at most 1.",
    ),
    dynamic(
        "log.cleaner.io.buffer.size",
        "524288",
        "The size of the cleaner's reads and writes.",
    ),
    dynamic(
        "log.cleaner.io.max.bytes.per.second",
        "1.7976931348623157E308",
        "A cap on the reads and writes of all cleaner threads together, in bytes per second.",
    ),
    dynamic(
        "log.cleaner.max.compaction.lag.ms",
        LONG_MAX,
        "The default `max.compaction.lag.ms`: a record older than this is compacted whatever the dirty ratio.",
    ),
    dynamic(
        "log.cleaner.min.cleanable.ratio",
        "0.5",
        "The default `min.cleanable.dirty.ratio`: the share of a log written since its last cleaning that makes it due.",
    ),
    dynamic(
        "log.cleaner.min.compaction.lag.ms",
        "0",
        "The default `min.compaction.lag.ms`: how long a record is safe from compaction.",
    ),
    dynamic("log.cleaner.threads", "1", "The number of cleaner threads."),
    dynamic(
        "log.cleanup.policy",
        "delete",
        "The default `cleanup.policy`: `delete`, `compact` or both, comma-separated.",
    ),
    read(
        "log.dir",
        "/tmp/kraft-combined-logs",
        "The log directory, when `log.dirs` is not set.",
    ),
    read(
        "log.dir.failure.timeout.ms",
        "30000",
        "How long the failure of a log directory may go unrecorded in the metadata log before the broker shuts down.",
    ),
    read(
        "log.dirs",
        "/tmp/kraft-combined-logs",
        "The log directories, comma-separated (`log.dir` when this is unset): partitions are spread over them, the first also holds the metadata log.",
    ),
    dynamic(
        "log.flush.interval.messages",
        LONG_MAX,
        "The default `flush.messages`: a partition is fsynced after this many records.",
    ),
    dynamic(
        "log.flush.interval.ms",
        LONG_MAX,
        "The default `flush.ms`: records older than this are fsynced.",
    ),
    read(
        "log.flush.offset.checkpoint.interval.ms",
        "60000",
        "How often the logs' recovery points are written to disk.",
    ),
    read(
        "log.flush.scheduler.interval.ms",
        "1000",
        "How often the flusher looks for logs due for an fsync.",
    ),
    read(
        "log.flush.start.offset.checkpoint.interval.ms",
        "60000",
        "How often the logs' start offsets are written to disk.",
    ),
    dynamic(
        "log.index.interval.bytes",
        "4096",
        "The default `index.interval.bytes`: bytes of log between two offset index entries.",
    ),
    dynamic(
        "log.index.size.max.bytes",
        "10485760",
        "The default `segment.index.bytes`: the size a segment's index files are preallocated to, at least 4.",
    ),
    changeable(
        no_effect(
            "log.local.retention.bytes",
            "-2",
            "How much of a tiered partition stays on local disk.",
            "It applies only with tiered storage, which this broker does not have.",
        ),
        ValueType::Long,
    ),
    changeable(
        no_effect(
            "log.local.retention.ms",
            "-2",
            "How long the records of a tiered partition stay on local disk.",
            "It applies only with tiered storage, which this broker does not have.",
        ),
        ValueType::Long,
    ),
    dynamic(
        "log.message.timestamp.after.max.ms",
        "3600000",
        "How far ahead of the broker's clock a record's CreateTime may be; a batch with a record beyond it is refused with INVALID_TIMESTAMP and that record's error (KIP-467).",
    ),
    dynamic(
        "log.message.timestamp.before.max.ms",
        LONG_MAX,
        "How far behind the broker's clock a record's CreateTime may be; a batch with a record beyond it is refused with INVALID_TIMESTAMP and that record's error (KIP-467).",
    ),
    changeable(
        refused(
            "log.message.timestamp.type",
            "CreateTime",
            &["CreateTime"],
            "Whether records keep the producer's timestamps (`CreateTime`) or get the broker's (`LogAppendTime`).",
            "The broker never stamps records with its append time.",
        ),
        ValueType::String,
    ),
    changeable(
        no_effect(
            "log.preallocate",
            "false",
            "Preallocates the files of new segments.",
            "Segment files grow as they are written; nothing a client sees depends on it.",
        ),
        ValueType::Boolean,
    ),
    dynamic(
        "log.retention.bytes",
        "-1",
        "The default `retention.bytes`: the oldest segments are deleted to keep a partition under this size; -1 for no limit.",
    ),
    read(
        "log.retention.check.interval.ms",
        "300000",
        "How often the logs are checked for segments past their retention.",
    ),
    read(
        "log.retention.hours",
        "168",
        "The default retention in hours, when neither `log.retention.ms` nor `log.retention.minutes` is set.",
    ),
    read(
        "log.retention.minutes",
        "",
        "The default retention in minutes, when `log.retention.ms` is not set.",
    ),
    dynamic(
        "log.retention.ms",
        "604800000",
        "The default `retention.ms`: how long a segment is kept after its newest record; negative for no limit.",
    ),
    read(
        "log.roll.hours",
        "168",
        "The default segment age limit in hours, when `log.roll.ms` is not set.",
    ),
    read(
        "log.roll.jitter.hours",
        "0",
        "The default segment jitter in hours, when `log.roll.jitter.ms` is not set.",
    ),
    dynamic(
        "log.roll.jitter.ms",
        "0",
        "The default `segment.jitter.ms`: up to this much, chosen at random per segment, is taken off its age limit.",
    ),
    dynamic(
        "log.roll.ms",
        "604800000",
        "The default `segment.ms`: a segment whose first batch is this much older than the next one rolls.",
    ),
    dynamic(
        "log.segment.bytes",
        "1073741824",
        "The default `segment.bytes`: a segment rolls beyond this size.",
    ),
    dynamic(
        "log.segment.delete.delay.ms",
        "60000",
        "The default `file.delete.delay.ms`: how long a deleted segment's files stay, renamed `.deleted`.",
    ),
    read(
        "max.incremental.fetch.session.cache.slots",
        "1000",
        "The most incremental fetch sessions kept at once.",
    ),
    dynamic(
        "message.max.bytes",
        "1048588",
        "The default `max.message.bytes`: the largest record batch a produce may write.",
    ),
    changeable(
        refused(
            "metric.reporters",
            "org.apache.kafka.common.metrics.JmxReporter",
            &["", "org.apache.kafka.common.metrics.JmxReporter"],
            "Metrics reporter classes; Kafka's default reports to JMX.",
            "No Java reporter can be loaded (and there is no JMX); Prometheus metrics are served with `metrics.prometheus.listener`.",
        ),
        ValueType::List,
    ),
    changeable(
        no_effect(
            "metrics.jmx.exclude",
            "",
            "The metrics kept out of JMX.",
            "This broker exports metrics to Prometheus, not JMX.",
        ),
        ValueType::String,
    ),
    changeable(
        no_effect(
            "metrics.jmx.include",
            ".*",
            "The metrics exported over JMX.",
            "This broker exports metrics to Prometheus, not JMX.",
        ),
        ValueType::String,
    ),
    read(
        "metrics.prometheus.listener",
        "",
        "This broker's own key, not Kafka's: `http://HOST:PORT` serves Prometheus metrics at `GET /metrics`; unset, no metrics are served.",
    ),
    changeable(
        no_effect(
            "min.insync.replicas",
            "1",
            "How many replicas must have a write before an `acks=all` produce succeeds.",
            "One node: every partition has one replica, this broker, so `acks=all` waits for it alone.",
        ),
        ValueType::Int,
    ),
    read(
        "node.id",
        "1",
        "This broker's id, in Metadata answers and `meta.properties`.",
    ),
    changeable(
        no_effect(
            "num.io.threads",
            "8",
            "The threads that handle requests.",
            TOKIO,
        ),
        ValueType::Int,
    ),
    changeable(
        no_effect(
            "num.network.threads",
            "3",
            "The threads that read requests from and write responses to sockets.",
            TOKIO,
        ),
        ValueType::Int,
    ),
    read(
        "num.partitions",
        "1",
        "The partition count of topics created without one.",
    ),
    dynamic(
        "num.recovery.threads.per.data.dir",
        "2",
        "The threads per log directory that load the logs at start; a dynamic value applies to the next start's loading.",
    ),
    changeable(
        no_effect(
            "num.replica.fetchers",
            "1",
            "The threads followers fetch from leaders with.",
            ONE_NODE,
        ),
        ValueType::Int,
    ),
    read(
        "offset.metadata.max.bytes",
        "4096",
        "The longest metadata an offset commit may carry.",
    ),
    read(
        "offsets.topic.num.partitions",
        "50",
        "The partition count of `__consumer_offsets`, when it is created.",
    ),
    no_effect(
        "offsets.topic.replication.factor",
        "3",
        "The replication factor of `__consumer_offsets`.",
        ONE_NODE,
    ),
    read(
        "offsets.topic.segment.bytes",
        "104857600",
        "The segment size of `__consumer_offsets`.",
    ),
    per_broker(changeable(
        refused(
            "principal.builder.class",
            "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder",
            &[
                "",
                "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder",
            ],
            "The class that names the principal of a connection.",
            "Principals are always named as Kafka's default builder names them: `User:` and the SASL user or the client certificate's subject.",
        ),
        ValueType::Class,
    )),
    refused(
        "process.roles",
        "",
        &["broker,controller", "controller,broker"],
        "Whether the process is a broker, a controller or both.",
        "This process is always broker and controller at once (KRaft combined mode); a broker-only or controller-only node needs a quorum of other nodes.",
    ),
    dynamic(
        "producer.id.expiration.ms",
        "86400000",
        "How long a producer's idempotence state is kept after its last batch (unless a transaction is open).",
    ),
    no_effect(
        "queued.max.requests",
        "500",
        "How many requests may wait for the request handler threads.",
        "Requests do not wait in a queue for a pool of handler threads here.",
    ),
    changeable(
        no_effect(
            "remote.fetch.max.wait.ms",
            "500",
            "How long a fetch of remote data waits.",
            "It tunes tiered storage, which this broker does not have.",
        ),
        ValueType::Int,
    ),
    changeable(
        no_effect(
            "remote.list.offsets.request.timeout.ms",
            "30000",
            "How long ListOffsets waits for remote offsets.",
            "It tunes tiered storage, which this broker does not have.",
        ),
        ValueType::Long,
    ),
    changeable(
        no_effect(
            "remote.log.index.file.cache.total.size.bytes",
            "1073741824",
            "The size of the cache of remote indexes.",
            "It tunes tiered storage, which this broker does not have.",
        ),
        ValueType::Long,
    ),
    changeable(
        no_effect(
            "remote.log.manager.copier.thread.pool.size",
            "10",
            "The threads that copy segments to remote storage.",
            "It tunes tiered storage, which this broker does not have.",
        ),
        ValueType::Int,
    ),
    changeable(
        no_effect(
            "remote.log.manager.copy.max.bytes.per.second",
            LONG_MAX,
            "The rate segments are copied to remote storage at.",
            "It tunes tiered storage, which this broker does not have.",
        ),
        ValueType::Long,
    ),
    changeable(
        no_effect(
            "remote.log.manager.expiration.thread.pool.size",
            "10",
            "The threads that expire remote segments.",
            "It tunes tiered storage, which this broker does not have.",
        ),
        ValueType::Int,
    ),
    changeable(
        no_effect(
            "remote.log.manager.fetch.max.bytes.per.second",
            LONG_MAX,
            "The rate remote data is fetched at.",
            "It tunes tiered storage, which this broker does not have.",
        ),
        ValueType::Long,
    ),
    changeable(
        no_effect(
            "remote.log.manager.follower.thread.pool.size",
            "2",
            "The threads followers use for remote data.",
            "It tunes tiered storage, which this broker does not have.",
        ),
        ValueType::Int,
    ),
    changeable(
        no_effect(
            "remote.log.reader.threads",
            "10",
            "The threads that read remote data.",
            "It tunes tiered storage, which this broker does not have.",
        ),
        ValueType::Int,
    ),
    refused(
        "remote.log.storage.system.enable",
        "false",
        &["false"],
        "Turns tiered storage on.",
        "Tiered storage is not supported.",
    ),
    dynamic(
        "replica.alter.log.dirs.io.max.bytes.per.second",
        LONG_MAX,
        "The bytes a second a partition moved between log directories is copied at, at most (dynamic only in Kafka).",
    ),
    no_effect(
        "replica.fetch.max.bytes",
        "1048576",
        "The bytes a follower asks for per partition.",
        ONE_NODE,
    ),
    no_effect(
        "replica.lag.time.max.ms",
        "30000",
        "How long a follower may lag before it leaves the in-sync replicas.",
        ONE_NODE,
    ),
    per_broker(dynamic(
        "sasl.enabled.mechanisms",
        "GSSAPI",
        "The mechanisms SASL listeners offer: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512. The default, Kafka's GSSAPI, is not served, so a SASL listener needs this set. Dynamic on a broker's own config, as in Kafka: applies to a listener's next start, and not for a listener with its own `listener.name.<l>.sasl.enabled.mechanisms`.",
    )),
    per_broker(changeable(
        no_effect(
            "sasl.kerberos.kinit.cmd",
            "/usr/bin/kinit",
            "The kinit command Kerberos logins run.",
            "Kerberos (GSSAPI) is not offered: SASL here is PLAIN, SCRAM and OAUTHBEARER.",
        ),
        ValueType::String,
    )),
    per_broker(changeable(
        no_effect(
            "sasl.kerberos.min.time.before.relogin",
            "60000",
            "The least time between two Kerberos relogins.",
            "Kerberos (GSSAPI) is not offered: SASL here is PLAIN, SCRAM and OAUTHBEARER.",
        ),
        ValueType::Long,
    )),
    per_broker(changeable(
        no_effect(
            "sasl.kerberos.principal.to.local.rules",
            "DEFAULT",
            "How Kerberos principals map to short names.",
            "Kerberos (GSSAPI) is not offered: SASL here is PLAIN, SCRAM and OAUTHBEARER.",
        ),
        ValueType::List,
    )),
    per_broker(changeable(
        no_effect(
            "sasl.kerberos.service.name",
            "",
            "The Kerberos name the broker runs as, for GSSAPI.",
            "GSSAPI is not served (see `sasl.enabled.mechanisms`).",
        ),
        ValueType::String,
    )),
    per_broker(changeable(
        no_effect(
            "sasl.kerberos.ticket.renew.jitter",
            "0.05",
            "The jitter added to a Kerberos ticket's renewal time.",
            "Kerberos (GSSAPI) is not offered: SASL here is PLAIN, SCRAM and OAUTHBEARER.",
        ),
        ValueType::Double,
    )),
    per_broker(changeable(
        no_effect(
            "sasl.kerberos.ticket.renew.window.factor",
            "0.8",
            "How far into a Kerberos ticket's lifetime it is renewed.",
            "Kerberos (GSSAPI) is not offered: SASL here is PLAIN, SCRAM and OAUTHBEARER.",
        ),
        ValueType::Double,
    )),
    per_broker(changeable(
        no_effect(
            "sasl.login.refresh.buffer.seconds",
            "300",
            "How long before a login's credential expires it is refreshed.",
            "It tunes the refresh of a login a client makes; this broker logs in to nothing.",
        ),
        ValueType::Short,
    )),
    per_broker(changeable(
        no_effect(
            "sasl.login.refresh.min.period.seconds",
            "60",
            "The least time between two login refreshes.",
            "It tunes the refresh of a login a client makes; this broker logs in to nothing.",
        ),
        ValueType::Short,
    )),
    per_broker(changeable(
        no_effect(
            "sasl.login.refresh.window.factor",
            "0.8",
            "How far into a login credential's lifetime it is refreshed.",
            "It tunes the refresh of a login a client makes; this broker logs in to nothing.",
        ),
        ValueType::Double,
    )),
    per_broker(changeable(
        no_effect(
            "sasl.login.refresh.window.jitter",
            "0.05",
            "The jitter added to a login refresh.",
            "It tunes the refresh of a login a client makes; this broker logs in to nothing.",
        ),
        ValueType::Double,
    )),
    no_effect(
        "sasl.mechanism.controller.protocol",
        "GSSAPI",
        "The mechanism a node authenticates to the controllers with.",
        "The controller runs in this process; no connection to it is made.",
    ),
    per_broker(changeable(
        no_effect(
            "sasl.mechanism.inter.broker.protocol",
            "GSSAPI",
            "The mechanism brokers authenticate to each other with.",
            NO_OTHER_BROKER,
        ),
        ValueType::String,
    )),
    refused(
        "sasl.server.callback.handler.class",
        "",
        &[""],
        "A class that checks the credentials of SASL clients.",
        "Credentials are checked by the built-in PLAIN and SCRAM mechanisms only; no Java class can be loaded.",
    ),
    no_effect(
        "security.inter.broker.protocol",
        "PLAINTEXT",
        "The security protocol brokers talk to each other with.",
        NO_OTHER_BROKER,
    ),
    read(
        "share.coordinator.snapshot.update.records.per.snapshot",
        "500",
        "How many ShareUpdate records a share partition's state gets between two ShareSnapshot records.",
    ),
    no_effect(
        "share.coordinator.state.topic.min.isr",
        "2",
        "The min.insync.replicas of `__share_group_state`.",
        "There is one replica.",
    ),
    read(
        "share.coordinator.state.topic.num.partitions",
        "50",
        "The partition count of `__share_group_state`.",
    ),
    no_effect(
        "share.coordinator.state.topic.replication.factor",
        "3",
        "The replication factor of `__share_group_state`.",
        "There is one replica.",
    ),
    read(
        "share.coordinator.state.topic.segment.bytes",
        "104857600",
        "The segment size of `__share_group_state`.",
    ),
    no_effect(
        "socket.receive.buffer.bytes",
        "102400",
        "The receive buffer size of the broker's sockets.",
        "Sockets keep the operating system's buffer sizes.",
    ),
    read(
        "socket.request.max.bytes",
        "104857600",
        "A request larger than this closes its connection.",
    ),
    no_effect(
        "socket.send.buffer.bytes",
        "102400",
        "The send buffer size of the broker's sockets.",
        "Sockets keep the operating system's buffer sizes.",
    ),
    per_broker(dynamic(
        "ssl.client.auth",
        "none",
        "Whether TLS listeners ask clients for a certificate: `none`, `requested` or `required`; the last two need a truststore. Dynamic on a broker's own config, as in Kafka; here it applies to new connections of listeners without their own override.",
    )),
    per_broker(dynamic(
        "ssl.enabled.protocols",
        "TLSv1.2,TLSv1.3",
        "The TLS versions TLS listeners offer: TLSv1.2 and TLSv1.3. Dynamic on a broker's own config, as in Kafka; here it applies to new connections of listeners without their own override.",
    )),
    per_broker(changeable(
        refused(
            "ssl.engine.factory.class",
            "",
            &[""],
            "A class that builds the TLS engines.",
            "TLS is rustls; no Java class can be loaded.",
        ),
        ValueType::Class,
    )),
    read(
        "ssl.key.password",
        "",
        "Refused when a TLS listener would use it: encrypted private keys are not supported, so the key must be given unencrypted.",
    ),
    read(
        "ssl.keystore.certificate.chain",
        "",
        "A TLS listener's certificate chain, inline PEM (with `ssl.keystore.key`).",
    ),
    read(
        "ssl.keystore.key",
        "",
        "A TLS listener's private key, inline unencrypted PEM (with `ssl.keystore.certificate.chain`).",
    ),
    read(
        "ssl.keystore.location",
        "",
        "A PEM file holding a TLS listener's private key and certificate chain.",
    ),
    no_effect(
        "ssl.keystore.password",
        "",
        "The password of the keystore file.",
        "PEM keystores have no password (Kafka refuses one with PEM too); keys are read unencrypted.",
    ),
    read(
        "ssl.keystore.type",
        "PEM",
        "The keystore format: only PEM is read; JKS and PKCS12 are refused.",
    ),
    refused(
        "ssl.principal.mapping.rules",
        "DEFAULT",
        &["DEFAULT"],
        "Rules that turn a client certificate's subject into a principal name.",
        "A certificate's principal is always its whole subject, as the `DEFAULT` rule names it.",
    ),
    read(
        "ssl.truststore.certificates",
        "",
        "The CA certificates client certificates are checked against, inline PEM.",
    ),
    read(
        "ssl.truststore.location",
        "",
        "A PEM file of the CA certificates client certificates are checked against.",
    ),
    no_effect(
        "ssl.truststore.password",
        "",
        "The password of the truststore file.",
        "PEM truststores have no password (Kafka refuses one with PEM too).",
    ),
    read(
        "ssl.truststore.type",
        "PEM",
        "The truststore format: only PEM is read; JKS and PKCS12 are refused.",
    ),
    read(
        "super.users",
        "",
        "With the authorizer on, the principals allowed everything (`User:name`, separated by `;`).",
    ),
    read(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        "10000",
        "How often transactions past their timeout are looked for and aborted.",
    ),
    read(
        "transaction.max.timeout.ms",
        "900000",
        "The longest transaction timeout a producer may ask for.",
    ),
    dynamic(
        "transaction.partition.verification.enable",
        "true",
        "Whether a transactional batch is appended only to a partition of the producer's open transaction (KIP-890); `false` appends it as older brokers did.",
    ),
    read(
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        "3600000",
        "How often transactional ids past `transactional.id.expiration.ms` are removed.",
    ),
    no_effect(
        "transaction.state.log.min.isr",
        "2",
        "The min.insync.replicas of `__transaction_state`.",
        ONE_NODE,
    ),
    read(
        "transaction.state.log.num.partitions",
        "50",
        "The partition count of `__transaction_state`, when it is created.",
    ),
    no_effect(
        "transaction.state.log.replication.factor",
        "3",
        "The replication factor of `__transaction_state`.",
        ONE_NODE,
    ),
    read(
        "transaction.state.log.segment.bytes",
        "104857600",
        "The segment size of `__transaction_state`.",
    ),
    read(
        "transactional.id.expiration.ms",
        "604800000",
        "A transactional id with no transaction for this long is forgotten.",
    ),
    changeable(
        no_effect(
            "unclean.leader.election.enable",
            "false",
            "Lets a replica out of sync become leader when no in-sync one is left.",
            ONE_NODE,
        ),
        ValueType::Boolean,
    ),
];

/// The key named `name`.
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.binary_search_by(|key| key.name.cmp(name))
        .ok()
        .map(|i| &KEYS[i])
}

/// The Markdown the page holds between its two marker comments (generated):
/// a table of the keys read, one of the keys with no effect and one of the
/// keys refused, each sorted by name.
pub fn reference_markdown() -> String {
    let mut out = String::from("\n");
    out.push_str("### Keys the broker reads\n\n");
    out.push_str("| Key | Default | Dynamic | Meaning |\n| --- | --- | --- | --- |\n");
    for key in KEYS.iter().filter(|k| k.kind == Kind::Read) {
        let default = match key.default {
            "" => "*none*".to_string(),
            value => code(value),
        };
        let dynamic = if key.dynamic { "yes" } else { "no" };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            code(key.name),
            default,
            dynamic,
            text(key.doc)
        );
    }
    out.push_str("\n### Kafka keys with no effect here\n\n");
    out.push_str("| Key | Why |\n| --- | --- |\n");
    for key in KEYS {
        if let Kind::NoEffect(why) = key.kind {
            let _ = writeln!(out, "| {} | {} |", code(key.name), text(why));
        }
    }
    out.push_str("\n### Kafka keys the broker refuses\n\n");
    out.push_str("| Key | Accepted values | Why |\n| --- | --- | --- |\n");
    for key in KEYS {
        if let Kind::Refused { accepted, why } = key.kind {
            let accepted = accepted
                .iter()
                .map(|value| match *value {
                    "" => "*empty*".to_string(),
                    value => code(value),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(out, "| {} | {} | {} |", code(key.name), accepted, text(why));
        }
    }
    out
}

/// `value` as a code span in a table cell: its `|` escaped, and fenced with
/// more backticks than it holds in a row.
fn code(value: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in value.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", value.replace('|', "\\|"))
}

/// Markdown text in a table cell: on one line, its `|` escaped.
fn text(value: &str) -> String {
    value.replace(['\n', '\r'], " ").replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const BEGIN: &str = "<!-- generated: config keys -->";
    const END: &str = "<!-- end generated -->";

    #[test]
    fn keys_are_sorted_and_unique() {
        for pair in KEYS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} must come after {}",
                pair[0].name,
                pair[1].name
            );
        }
        for key in KEYS {
            assert_eq!(find(key.name), Some(key));
        }
        assert_eq!(find("no.such.key"), None);
    }

    #[test]
    fn every_key_is_described() {
        for key in KEYS {
            let name = key.name;
            assert!(!name.is_empty() && name.trim() == name, "{name:?}");
            assert!(!key.doc.trim().is_empty(), "{name} has no doc");
            assert!(!key.doc.contains('\n'), "{name}: its doc is one line");
            match key.kind {
                Kind::Read => {}
                Kind::NoEffect(why) => {
                    assert!(!why.trim().is_empty(), "{name} has no why");
                    assert_eq!(
                        key.dynamic,
                        key.value_type.is_some(),
                        "{name}: a dynamic key not read has a type"
                    );
                }
                Kind::Refused { accepted, why } => {
                    assert!(!why.trim().is_empty(), "{name} has no why");
                    assert!(!accepted.is_empty(), "{name} accepts nothing");
                    assert_eq!(
                        key.dynamic,
                        key.value_type.is_some(),
                        "{name}: a dynamic key not read has a type"
                    );
                }
            }
        }
    }

    #[test]
    fn refused_keys_accept_only_their_values() {
        let protocols = find("group.coordinator.rebalance.protocols").unwrap();
        for ok in ["classic,consumer", " Consumer , CLASSIC ", "", "  "] {
            assert!(protocols.accepts(ok), "{ok:?}");
        }
        for bad in [
            "classic",
            "classic,consumer,share",
            "classic,consumer,streams",
        ] {
            assert!(!protocols.accepts(bad), "{bad:?}");
        }
        let tiered = find("remote.log.storage.system.enable").unwrap();
        assert!(tiered.accepts("FALSE") && !tiered.accepts("true"));
        let policy = find("create.topic.policy.class.name").unwrap();
        assert!(policy.accepts("") && !policy.accepts("com.example.Policy"));
        assert!(find("num.io.threads").unwrap().accepts("16"));
        assert!(find("log.segment.bytes").unwrap().accepts("1024"));
    }

    #[test]
    fn markdown_escapes_its_cells() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(text("x | y\nz"), "x \\| y z");
        let markdown = reference_markdown();
        for key in KEYS {
            assert!(markdown.contains(&code(key.name)), "{}", key.name);
        }
    }

    /// `docs/configuration.md` (`CONFIG_DOCS_PATH` names another page, for
    /// a build outside this crate).
    fn page_path() -> PathBuf {
        match std::env::var_os("CONFIG_DOCS_PATH") {
            Some(path) => PathBuf::from(path),
            None => PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../docs/configuration.md"
            )),
        }
    }

    /// The text between the markers, and where it starts and ends.
    fn section(page: &str) -> Option<(usize, usize)> {
        let start = page.find(BEGIN)? + BEGIN.len();
        let end = start + page[start..].find(END)?;
        Some((start, end))
    }

    /// The keys of the table rows of `markdown`, in order.
    fn row_keys(markdown: &str) -> Vec<&str> {
        markdown
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split('`').next())
            .collect()
    }

    /// What is wrong with the page's section, in a sentence.
    fn mismatch(on_page: &str, generated: &str) -> String {
        let page_keys = row_keys(on_page);
        let table_keys = row_keys(generated);
        if let Some(key) = table_keys.iter().find(|k| !page_keys.contains(k)) {
            return format!("`{key}` is in the table but missing from the page");
        }
        if let Some(key) = page_keys.iter().find(|k| !table_keys.contains(k)) {
            return format!("`{key}` is on the page but not in the table");
        }
        let differing = on_page
            .lines()
            .zip(generated.lines())
            .find(|(page, table)| page != table);
        match differing {
            Some((page, table)) => match row_keys(table).first() {
                Some(key) => format!(
                    "the row of `{key}` differs: the page has\n  {page}\nand the table gives\n  {table}"
                ),
                None => format!("the page has\n  {page}\nwhere the table gives\n  {table}"),
            },
            None => "the page's section has a different length".to_string(),
        }
    }

    #[test]
    fn the_page_holds_the_generated_reference() {
        let path = page_path();
        let page = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let (start, end) = section(&page)
            .unwrap_or_else(|| panic!("{} has no `{BEGIN}` ... `{END}` section", path.display()));
        let generated = reference_markdown();
        if page[start..end] == generated {
            return;
        }
        if std::env::var("UPDATE_CONFIG_DOCS").as_deref() == Ok("1") {
            let updated = format!("{}{generated}{}", &page[..start], &page[end..]);
            std::fs::write(&path, updated)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            return;
        }
        panic!(
            "{} is out of date: {}.\nRegenerate its section with \
             `UPDATE_CONFIG_DOCS=1 cargo test -p broker config::keys`.",
            path.display(),
            mismatch(&page[start..end], &generated)
        );
    }
}
