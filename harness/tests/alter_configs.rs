//! Topic configurations changed at runtime: IncrementalAlterConfigs v1 and
//! AlterConfigs v2 as Kafka validates and applies them, written to the
//! metadata log as `ConfigRecord`s (read back with the harness's own
//! `metadata_log` reader), reported by DescribeConfigs with their source,
//! kept across a restart, and applied to the live log at once; and
//! groups' own configs (config resource GROUP), as Kafka 4.2 checks them.

use anyhow::{Context, Result, ensure};
use harness::admin::{
    self, AlterConfigsResource, EARLIEST_TIMESTAMP, ListOffsetsPartitionRequest, RESOURCE_BROKER,
    RESOURCE_GROUP, RESOURCE_TOPIC, config_op, config_source, error,
};
use harness::batch::{Record, RecordBatch};
use harness::fixture::TopicSpec;
use harness::metadata_log::{self, MetadataRecord};
use harness::protocol::error::UNKNOWN_TOPIC_OR_PARTITION;
use harness::wire::{Uuid, uuid};
use harness::{Broker, Client, or_skip};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const T: Uuid = uuid(0xac);
const INVALID_REQUEST: i16 = 42;

fn start() -> Result<Broker> {
    Broker::on_fixture_with(
        &[TopicSpec::new("t", T, 1)],
        &[
            ("log.segment.bytes", "16384"),
            ("log.retention.check.interval.ms", "100"),
            ("log.segment.delete.delay.ms", "0"),
        ],
    )
}

fn incremental(
    client: &mut Client,
    resources: &[AlterConfigsResource<'_>],
    validate_only: bool,
) -> Result<admin::AlterConfigsResponse> {
    let raw = client.round_trip(&admin::incremental_alter_configs_request(
        3,
        resources,
        validate_only,
    ))?;
    let response = admin::decode_alter_configs_response(&raw)?;
    ensure!(response.correlation_id == 3 && response.responses.len() == resources.len());
    Ok(response)
}

fn legacy(
    client: &mut Client,
    resources: &[AlterConfigsResource<'_>],
) -> Result<admin::AlterConfigsResponse> {
    let raw = client.round_trip(&admin::alter_configs_request(4, resources, false))?;
    let response = admin::decode_alter_configs_response(&raw)?;
    ensure!(response.correlation_id == 4 && response.responses.len() == resources.len());
    Ok(response)
}

/// The error code and message of the only resource of `response`.
fn only(response: &admin::AlterConfigsResponse) -> (i16, Option<&str>) {
    let r = &response.responses[0];
    (r.error_code, r.error_message.as_deref())
}

/// (value, source) of a topic configuration of `t`.
fn described(client: &mut Client, name: &str) -> Result<(Option<String>, i8)> {
    let keys = [name];
    let raw = client.round_trip(&admin::describe_configs_request(
        5,
        &[(RESOURCE_TOPIC, "t", Some(&keys[..]))],
        false,
        false,
    ))?;
    let response = admin::decode_describe_configs_response(&raw)?;
    let config = response.results[0]
        .config(name)
        .with_context(|| format!("{name} not described"))?;
    Ok((config.value.clone(), config.config_source))
}

/// The ConfigRecords of topic `t` in the metadata log, in order.
fn config_records(broker: &Broker) -> Result<Vec<(String, Option<String>)>> {
    Ok(metadata_log::read(broker.log_dir())?
        .into_iter()
        .filter_map(|r| match r.record {
            MetadataRecord::Config {
                resource_type: 2,
                resource_name,
                name,
                value,
            } if resource_name == "t" => Some((name, value)),
            _ => None,
        })
        .collect())
}

#[test]
fn incremental_changes_are_written_described_and_kept() -> Result<()> {
    let mut broker = or_skip!(start());
    let mut client = broker.connect()?;
    ensure!(
        described(&mut client, "retention.ms")?
            == (Some("604800000".into()), config_source::DEFAULT_CONFIG)
    );

    let response = incremental(
        &mut client,
        &[(
            RESOURCE_TOPIC,
            "t",
            &[
                ("retention.ms", config_op::SET, Some("3600000")),
                ("cleanup.policy", config_op::APPEND, Some("compact")),
            ],
        )],
        false,
    )?;
    ensure!(only(&response).0 == 0, "{response:?}");
    let r = &response.responses[0];
    ensure!((r.resource_type, r.resource_name.as_str()) == (RESOURCE_TOPIC, "t"));
    ensure!(
        described(&mut client, "retention.ms")?
            == (Some("3600000".into()), config_source::TOPIC_CONFIG)
    );
    ensure!(described(&mut client, "cleanup.policy")?.0.as_deref() == Some("delete,compact"));
    let records = config_records(&broker)?;
    ensure!(
        records
            == [
                (
                    "cleanup.policy".to_string(),
                    Some("delete,compact".to_string())
                ),
                ("retention.ms".to_string(), Some("3600000".to_string())),
            ],
        "{records:?}"
    );

    // SUBTRACT and DELETE: a deleted key is a ConfigRecord with a null value.
    let response = incremental(
        &mut client,
        &[(
            RESOURCE_TOPIC,
            "t",
            &[
                ("cleanup.policy", config_op::SUBTRACT, Some("delete")),
                ("retention.ms", config_op::DELETE, None),
            ],
        )],
        false,
    )?;
    ensure!(only(&response).0 == 0, "{response:?}");
    ensure!(
        described(&mut client, "retention.ms")?
            == (Some("604800000".into()), config_source::DEFAULT_CONFIG)
    );
    ensure!(described(&mut client, "cleanup.policy")?.0.as_deref() == Some("compact"));
    let records = config_records(&broker)?;
    ensure!(
        records[2..]
            == [
                ("cleanup.policy".to_string(), Some("compact".to_string())),
                ("retention.ms".to_string(), None),
            ],
        "{records:?}"
    );

    // validate_only changes nothing; the state survives a kill -9.
    let response = incremental(
        &mut client,
        &[(
            RESOURCE_TOPIC,
            "t",
            &[("retention.bytes", config_op::SET, Some("1000"))],
        )],
        true,
    )?;
    ensure!(only(&response).0 == 0, "{response:?}");
    ensure!(described(&mut client, "retention.bytes")?.1 == config_source::DEFAULT_CONFIG);
    ensure!(config_records(&broker)?.len() == 4);
    broker.restart()?;
    let mut client = broker.connect()?;
    ensure!(
        described(&mut client, "cleanup.policy")?
            == (Some("compact".into()), config_source::TOPIC_CONFIG)
    );
    Ok(())
}

#[test]
fn invalid_changes_are_refused_as_kafka_refuses_them() -> Result<()> {
    let broker = or_skip!(start());
    let mut client = broker.connect()?;
    type Case<'a> = (&'a [(&'a str, i8, Option<&'a str>)], i16, &'a str);
    let cases: &[Case<'_>] = &[
        (
            &[("retention.bytez", config_op::SET, Some("1"))],
            error::INVALID_CONFIG,
            "Unknown topic config name: retention.bytez",
        ),
        (
            &[("retention.ms", config_op::SET, Some("soon"))],
            error::INVALID_CONFIG,
            "Invalid value soon for configuration retention.ms",
        ),
        (
            &[("cleanup.policy", config_op::SET, Some("shred"))],
            error::INVALID_CONFIG,
            "Invalid value shred for configuration cleanup.policy",
        ),
        (
            &[("retention.ms", config_op::APPEND, Some("1"))],
            error::INVALID_CONFIG,
            "Config value append is not allowed for config key: retention.ms",
        ),
        (
            &[
                ("retention.ms", config_op::SET, Some("1")),
                ("retention.ms", config_op::SET, Some("2")),
            ],
            INVALID_REQUEST,
            "duplicate config keys",
        ),
        (
            &[("retention.ms", 9, Some("1"))],
            INVALID_REQUEST,
            "Unknown alter config operation type 9",
        ),
    ];
    for (configs, code, message) in cases {
        let response = incremental(&mut client, &[(RESOURCE_TOPIC, "t", configs)], false)?;
        let (got_code, got_message) = only(&response);
        ensure!(
            got_code == *code && got_message.is_some_and(|m| m.contains(message)),
            "{configs:?}: {response:?}"
        );
    }
    // Nothing of a refused change is written, even its valid parts.
    let response = incremental(
        &mut client,
        &[(
            RESOURCE_TOPIC,
            "t",
            &[
                ("retention.ms", config_op::SET, Some("5")),
                ("bogus", config_op::SET, Some("1")),
            ],
        )],
        false,
    )?;
    ensure!(only(&response).0 == error::INVALID_CONFIG);
    ensure!(described(&mut client, "retention.ms")?.1 == config_source::DEFAULT_CONFIG);
    ensure!(config_records(&broker)?.is_empty());

    let set = [("retention.ms", config_op::SET, Some("1"))];
    let response = incremental(&mut client, &[(RESOURCE_TOPIC, "nope", &set)], false)?;
    ensure!(
        only(&response)
            == (
                UNKNOWN_TOPIC_OR_PARTITION,
                Some("The topic 'nope' does not exist.")
            ),
        "{response:?}"
    );
    // Each resource is answered on its own; a resource named twice is refused.
    let response = incremental(
        &mut client,
        &[
            (RESOURCE_TOPIC, "t", &set),
            (RESOURCE_TOPIC, "t", &set),
            (RESOURCE_BROKER, "1", &set),
        ],
        false,
    )?;
    let codes: Vec<i16> = response.responses.iter().map(|r| r.error_code).collect();
    // retention.ms is a topic key; the broker's is log.retention.ms.
    ensure!(
        codes == [INVALID_REQUEST, INVALID_REQUEST, error::INVALID_CONFIG],
        "{response:?}"
    );
    Ok(())
}

#[test]
fn legacy_alter_configs_replaces_every_override() -> Result<()> {
    let broker = or_skip!(start());
    let mut client = broker.connect()?;
    let response = legacy(
        &mut client,
        &[(
            RESOURCE_TOPIC,
            "t",
            &[
                ("retention.ms", 0, Some("1000")),
                ("segment.ms", 0, Some("60000")),
            ],
        )],
    )?;
    ensure!(only(&response).0 == 0, "{response:?}");
    let response = legacy(
        &mut client,
        &[(RESOURCE_TOPIC, "t", &[("retention.ms", 0, Some("2000"))])],
    )?;
    ensure!(only(&response).0 == 0, "{response:?}");
    ensure!(described(&mut client, "retention.ms")?.0.as_deref() == Some("2000"));
    ensure!(
        described(&mut client, "segment.ms")?
            == (Some("604800000".into()), config_source::DEFAULT_CONFIG)
    );
    let response = legacy(
        &mut client,
        &[(RESOURCE_TOPIC, "t", &[("retention.ms", 0, None)])],
    )?;
    ensure!(only(&response).0 == error::INVALID_CONFIG, "{response:?}");
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Produces 60 batches of four 250-byte records stamped now to `t`-0.
fn fill(client: &mut Client, fill: u8) -> Result<()> {
    for _ in 0..60 {
        let records = (0..4).map(|_| Record::value(vec![fill; 250])).collect();
        let mut batch = RecordBatch::without_producer(records);
        batch.base_timestamp = now_ms();
        batch.max_timestamp = batch.base_timestamp;
        let produced = client.produce("t", 0, batch.encode())?;
        ensure!(produced.error_code == 0, "{produced:?}");
    }
    Ok(())
}

/// The earliest offset of `t`-0 (its log start).
fn earliest(client: &mut Client) -> Result<i64> {
    let raw = client.round_trip(&admin::list_offsets_request(
        6,
        0,
        &[(
            "t",
            vec![ListOffsetsPartitionRequest::new(0, EARLIEST_TIMESTAMP)],
        )],
    ))?;
    Ok(admin::decode_list_offsets_response(&raw)?
        .partition("t", 0)
        .context("no t-0")?
        .offset)
}

/// Waits up to 10 s for retention to move `t`-0's log start.
fn wait_for_deletion(client: &mut Client, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while earliest(client)? == 0 {
        ensure!(Instant::now() < deadline, "{what} deleted nothing");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

#[test]
fn a_new_retention_applies_to_the_live_log() -> Result<()> {
    let broker = or_skip!(start());
    let mut client = broker.connect()?;
    fill(&mut client, b'r')?;
    std::thread::sleep(Duration::from_millis(300));
    ensure!(
        earliest(&mut client)? == 0,
        "deleted before retention.bytes was set"
    );
    let response = incremental(
        &mut client,
        &[(
            RESOURCE_TOPIC,
            "t",
            &[("retention.bytes", config_op::SET, Some("20000"))],
        )],
        false,
    )?;
    ensure!(only(&response).0 == 0, "{response:?}");
    wait_for_deletion(&mut client, "retention.bytes=20000")
}

/// (value, source, read-only) of a broker configuration of resource `name`.
fn described_broker(
    client: &mut Client,
    name: &str,
    key: &str,
) -> Result<Option<(Option<String>, i8, bool)>> {
    let keys = [key];
    let raw = client.round_trip(&admin::describe_configs_request(
        8,
        &[(RESOURCE_BROKER, name, Some(&keys[..]))],
        false,
        false,
    ))?;
    let response = admin::decode_describe_configs_response(&raw)?;
    ensure!(response.results[0].error_code == 0, "{response:?}");
    Ok(response.results[0]
        .config(key)
        .map(|c| (c.value.clone(), c.config_source, c.read_only)))
}

#[test]
fn dynamic_broker_configs_apply_to_topics_without_their_own() -> Result<()> {
    let mut broker = or_skip!(start());
    let mut client = broker.connect()?;
    fill(&mut client, b'd')?;
    ensure!(described_broker(&mut client, "1", "node.id")?.is_some_and(|(_, _, ro)| ro));

    // This broker's own: the topic (no override) takes it, old data goes.
    let response = incremental(
        &mut client,
        &[(
            RESOURCE_BROKER,
            "1",
            &[("log.retention.bytes", config_op::SET, Some("20000"))],
        )],
        false,
    )?;
    ensure!(only(&response).0 == 0, "{response:?}");
    ensure!(
        described_broker(&mut client, "1", "log.retention.bytes")?
            == Some((
                Some("20000".into()),
                config_source::DYNAMIC_BROKER_CONFIG,
                false
            ))
    );
    ensure!(
        described(&mut client, "retention.bytes")?
            == (Some("20000".into()), config_source::DYNAMIC_BROKER_CONFIG)
    );
    wait_for_deletion(&mut client, "log.retention.bytes=20000")?;

    // The cluster-wide default ("") describes only the dynamic defaults; a
    // topic takes this broker's own value before it.
    let response = incremental(
        &mut client,
        &[(
            RESOURCE_BROKER,
            "",
            &[
                ("log.retention.bytes", config_op::SET, Some("999999")),
                ("log.roll.ms", config_op::SET, Some("3600000")),
            ],
        )],
        false,
    )?;
    ensure!(only(&response).0 == 0, "{response:?}");
    ensure!(
        described_broker(&mut client, "", "log.roll.ms")?
            == Some((
                Some("3600000".into()),
                config_source::DYNAMIC_DEFAULT_BROKER_CONFIG,
                false
            ))
    );
    ensure!(described_broker(&mut client, "", "node.id")?.is_none());
    ensure!(
        described(&mut client, "segment.ms")?
            == (
                Some("3600000".into()),
                config_source::DYNAMIC_DEFAULT_BROKER_CONFIG
            )
    );
    ensure!(described(&mut client, "retention.bytes")?.0.as_deref() == Some("20000"));

    // Kafka's refusals.
    for (key, value, code, message) in [
        (
            "node.id",
            "7",
            error::INVALID_CONFIG,
            "Cannot update these configs dynamically: Set(node.id)",
        ),
        (
            "log.retention.ms",
            "soon",
            error::INVALID_CONFIG,
            "log.retention.ms",
        ),
        (
            "log.nope",
            "1",
            error::INVALID_CONFIG,
            "Unknown broker config name: log.nope",
        ),
    ] {
        let changes = [(key, config_op::SET, Some(value))];
        let response = incremental(&mut client, &[(RESOURCE_BROKER, "1", &changes)], false)?;
        let (got, text) = only(&response);
        ensure!(
            got == code && text.is_some_and(|t| t.contains(message)),
            "{key}={value}: {response:?}"
        );
    }
    let changes = [("log.retention.ms", config_op::SET, Some("1"))];
    let response = incremental(
        &mut client,
        &[(RESOURCE_BROKER, "broker-one", &changes)],
        false,
    )?;
    ensure!(only(&response).0 == INVALID_REQUEST, "{response:?}");

    // Written as broker ConfigRecords, and kept across a restart.
    let broker_records = metadata_log::read(broker.log_dir())?
        .into_iter()
        .filter(|r| {
            matches!(
                &r.record,
                MetadataRecord::Config {
                    resource_type: 4,
                    ..
                }
            )
        })
        .count();
    ensure!(broker_records == 3, "{broker_records} broker ConfigRecords");
    broker.restart()?;
    let mut client = broker.connect()?;
    ensure!(
        described(&mut client, "retention.bytes")?
            == (Some("20000".into()), config_source::DYNAMIC_BROKER_CONFIG)
    );
    // Deleting this broker's own leaves the cluster default.
    let response = incremental(
        &mut client,
        &[(
            RESOURCE_BROKER,
            "1",
            &[("log.retention.bytes", config_op::DELETE, None)],
        )],
        false,
    )?;
    ensure!(only(&response).0 == 0, "{response:?}");
    ensure!(
        described(&mut client, "retention.bytes")?
            == (
                Some("999999".into()),
                config_source::DYNAMIC_DEFAULT_BROKER_CONFIG
            )
    );
    Ok(())
}

/// What `cleaner-offset-checkpoint` holds for t-0.
fn cleaner_checkpoint(broker: &Broker) -> Result<Option<i64>> {
    let path = broker.log_dir().join("cleaner-offset-checkpoint");
    if !path.exists() {
        return Ok(None);
    }
    Ok(harness::log_files::read_offset_checkpoint(&path)?
        .into_iter()
        .find(|e| e.topic == "t" && e.partition == 0)
        .map(|e| e.offset))
}

#[test]
fn dynamic_cleaner_configs_apply_without_a_restart() -> Result<()> {
    let broker = or_skip!(Broker::on_fixture_with(
        &[TopicSpec::new("t", T, 1)],
        &[
            ("log.segment.bytes", "4096"),
            ("log.cleanup.policy", "compact"),
            ("log.cleaner.min.cleanable.ratio", "0.01"),
            // The cleaner, finding nothing at the start, sleeps 10 minutes.
            ("log.cleaner.backoff.ms", "600000"),
        ],
    ));
    let mut client = broker.connect()?;
    for i in 0..60 {
        let records = (0..4)
            .map(|k| Record {
                key: Some(format!("key-{k}").into_bytes()),
                ..Record::value(vec![b'a' + (i % 26) as u8; 200])
            })
            .collect();
        let produced = client.produce("t", 0, RecordBatch::without_producer(records).encode())?;
        ensure!(produced.error_code == 0, "{produced:?}");
    }
    std::thread::sleep(Duration::from_millis(300));
    if broker.own_checks("reads the cleaner's checkpoint") {
        ensure!(
            cleaner_checkpoint(&broker)?.is_none(),
            "cleaned while asleep"
        );
    }

    let response = incremental(
        &mut client,
        &[(
            RESOURCE_BROKER,
            "1",
            &[
                ("log.cleaner.backoff.ms", config_op::SET, Some("50")),
                ("log.cleaner.threads", config_op::SET, Some("2")),
            ],
        )],
        false,
    )?;
    ensure!(only(&response).0 == 0, "{response:?}");
    ensure!(
        described_broker(&mut client, "1", "log.cleaner.threads")?
            == Some((
                Some("2".into()),
                config_source::DYNAMIC_BROKER_CONFIG,
                false
            ))
    );
    ensure!(
        described_broker(&mut client, "1", "log.cleaner.enable")?
            .is_some_and(|(value, _, read_only)| value.as_deref() == Some("true") && read_only)
    );
    // The new backoff wakes the sleeping cleaner: the log gets cleaned.
    if broker.own_checks("reads the cleaner's checkpoint") {
        let deadline = Instant::now() + Duration::from_secs(10);
        while cleaner_checkpoint(&broker)?.is_none() {
            ensure!(Instant::now() < deadline, "the cleaner never woke up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    for (resource, key, value, message) in [
        ("1", "log.cleaner.threads", "many", "log.cleaner.threads"),
        (
            "1",
            "log.cleaner.threads",
            "0",
            "Log cleaner threads should be at least 1",
        ),
        (
            "1",
            "log.cleaner.threads",
            "5",
            "Log cleaner threads cannot be increased to more than double the current value 2",
        ),
        (
            "1",
            "log.cleaner.min.cleanable.ratio",
            "2",
            "log.cleaner.min.cleanable.ratio",
        ),
        (
            "1",
            "log.cleaner.enable",
            "false",
            "Cannot update these configs dynamically: Set(log.cleaner.enable)",
        ),
    ] {
        let changes = [(key, config_op::SET, Some(value))];
        let response = incremental(&mut client, &[(RESOURCE_BROKER, resource, &changes)], false)?;
        let (got, text) = only(&response);
        ensure!(
            got == error::INVALID_CONFIG && text.is_some_and(|t| t.contains(message)),
            "{key}={value}: {response:?}"
        );
    }
    let changes = [("min.cleanable.dirty.ratio", config_op::SET, Some("1.5"))];
    let response = incremental(&mut client, &[(RESOURCE_TOPIC, "t", &changes)], false)?;
    let (got, text) = only(&response);
    ensure!(
        got == error::INVALID_CONFIG
            && text.is_some_and(|t| t.contains("Value must be no more than 1")),
        "{response:?}"
    );
    Ok(())
}

/// Every dynamic broker config Kafka 4.2 accepts is accepted, also those
/// this broker has no use for (stored as broker ConfigRecords and
/// described as Kafka describes them); what Kafka refuses is refused:
/// a per-broker-only key as the cluster-wide default, a value of the wrong
/// type, a key Kafka does not let change at runtime.
#[test]
fn dynamic_broker_configs_kafka_accepts_without_use_here() -> Result<()> {
    let broker = or_skip!(start());
    let mut client = broker.connect()?;
    let set = |client: &mut Client, name: &str, key: &str, value: &str| {
        let changes = [(key, config_op::SET, Some(value))];
        incremental(client, &[(RESOURCE_BROKER, name, &changes)], false)
    };
    // Kerberos tuning, on this broker: accepted and described.
    let response = set(
        &mut client,
        "1",
        "sasl.kerberos.min.time.before.relogin",
        "30000",
    )?;
    ensure!(only(&response).0 == 0, "{response:?}");
    ensure!(
        described_broker(&mut client, "1", "sasl.kerberos.min.time.before.relogin")?
            == Some((
                Some("30000".into()),
                config_source::DYNAMIC_BROKER_CONFIG,
                false
            )),
        "{:?}",
        described_broker(&mut client, "1", "sasl.kerberos.min.time.before.relogin")?
    );
    // Cluster-wide keys of the same kind: a replication throttle, a
    // thread count Kafka resizes.
    for (key, value) in [
        ("leader.replication.throttled.rate", "1048576"),
        ("num.io.threads", "16"),
    ] {
        let response = set(&mut client, "", key, value)?;
        ensure!(only(&response).0 == 0, "{key}: {response:?}");
        ensure!(
            described_broker(&mut client, "", key)?
                == Some((
                    Some(value.into()),
                    config_source::DYNAMIC_DEFAULT_BROKER_CONFIG,
                    false
                )),
            "{key}: {:?}",
            described_broker(&mut client, "", key)?
        );
    }
    // Kafka's refusals.
    for (name, key, value, message) in [
        (
            "",
            "sasl.kerberos.min.time.before.relogin",
            "30000",
            "Cannot update these configs at default cluster level, broker id must be specified: Set(sasl.kerberos.min.time.before.relogin)",
        ),
        (
            "1",
            "sasl.kerberos.min.time.before.relogin",
            "soon",
            "Invalid value soon for configuration sasl.kerberos.min.time.before.relogin: Not a number of type LONG",
        ),
        (
            "1",
            "log.retention.hours",
            "5",
            "Cannot update these configs dynamically: Set(log.retention.hours)",
        ),
        (
            "1",
            "compression.type",
            "gzip",
            "Invalid value gzip for configuration compression.type",
        ),
        // Kafka's limits on resizing a thread pool (now 16, set above).
        (
            "",
            "num.io.threads",
            "33",
            "num.io.threads value cannot be increased to more than double the current value 16",
        ),
        (
            "",
            "num.io.threads",
            "7",
            "num.io.threads value cannot be reduced to less than half the current value 16",
        ),
        (
            "",
            "num.io.threads",
            "0",
            "num.io.threads value should be at least 1",
        ),
    ] {
        let response = set(&mut client, name, key, value)?;
        let (code, text) = only(&response);
        ensure!(
            code == error::INVALID_CONFIG && text.is_some_and(|t| t.contains(message)),
            "{key}={value} on {name:?}: {response:?}"
        );
    }
    // A refused key at the value it accepts is fine.
    let response = set(&mut client, "1", "compression.type", "producer")?;
    ensure!(only(&response).0 == 0, "{response:?}");

    // Written as ConfigRecords of the broker resources, and kept.
    let records: Vec<(String, String, Option<String>)> = metadata_log::read(broker.log_dir())?
        .into_iter()
        .filter_map(|r| match r.record {
            MetadataRecord::Config {
                resource_type: RESOURCE_BROKER,
                resource_name,
                name,
                value,
            } => Some((resource_name, name, value)),
            _ => None,
        })
        .collect();
    ensure!(
        records.contains(&(
            "1".into(),
            "sasl.kerberos.min.time.before.relogin".into(),
            Some("30000".into())
        )) && records.contains(&("".into(), "num.io.threads".into(), Some("16".into()))),
        "{records:?}"
    );
    let mut broker = broker;
    broker.restart()?;
    let mut client = broker.connect()?;
    ensure!(
        described_broker(&mut client, "1", "sasl.kerberos.min.time.before.relogin")?
            .is_some_and(|d| d.0.as_deref() == Some("30000")),
        "after a restart"
    );
    Ok(())
}

/// The listener and security keys Kafka makes dynamic on a broker's own
/// config: accepted where Kafka accepts them (a mechanism list, a TLS
/// setting of every listener, `listeners` that leave what clients see as
/// it is), refused with Kafka's messages where it refuses them (at the
/// cluster level; a listener's own settings or its address changed).
#[test]
fn listener_and_security_configs_change_as_kafka_lets_them() -> Result<()> {
    let broker = or_skip!(start());
    let mut client = broker.connect()?;
    let set = |client: &mut Client, name: &str, key: &str, value: &str| {
        let changes = [(key, config_op::SET, Some(value))];
        incremental(client, &[(RESOURCE_BROKER, name, &changes)], false)
    };
    let same_listeners = format!(
        "PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:0",
        broker.port()
    );
    for (key, value) in [
        ("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-512"),
        ("ssl.enabled.protocols", "TLSv1.3"),
        ("ssl.client.auth", "requested"),
        ("listeners", same_listeners.as_str()),
    ] {
        let response = set(&mut client, "1", key, value)?;
        ensure!(only(&response).0 == 0, "{key}={value}: {response:?}");
        // Described as set on this broker (`listeners` by the client
        // listeners it serves).
        let described = described_broker(&mut client, "1", key)?;
        ensure!(
            described.as_ref().is_some_and(|d| {
                d.1 == config_source::DYNAMIC_BROKER_CONFIG
                    && (key == "listeners" || d.0.as_deref() == Some(value))
            }),
            "{key}: {described:?}"
        );
    }
    let moved = format!(
        "PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:0",
        broker.port() ^ 1
    );
    for (name, key, value, message) in [
        (
            "",
            "ssl.client.auth",
            "required",
            "Cannot update these configs at default cluster level, broker id must be specified: Set(ssl.client.auth)",
        ),
        (
            "1",
            "listener.name.plaintext.ssl.client.auth",
            "required",
            "Configs cannot be updated dynamically for existing listener PLAINTEXT, restart broker or create a new listener for update",
        ),
        (
            "1",
            "listeners",
            moved.as_str(),
            "Advertised listeners cannot be altered when using a Raft-based metadata quorum.",
        ),
    ] {
        let response = set(&mut client, name, key, value)?;
        let (code, text) = only(&response);
        ensure!(
            code == error::INVALID_CONFIG && text.is_some_and(|t| t.contains(message)),
            "{key}={value} on {name:?}: {response:?}"
        );
    }
    // The broker still serves where it did.
    let mut again = broker.connect()?;
    ensure!(described_broker(&mut again, "1", "listeners")?.is_some());
    Ok(())
}

/// `num.recovery.threads.per.data.dir` is dynamic, as Kafka's thread
/// pools are (at most doubled or halved at a time): the next start loads
/// the logs with the new count.
#[test]
fn recovery_threads_change_for_the_next_start() -> Result<()> {
    let mut broker = or_skip!(start());
    let mut client = broker.connect()?;
    let key = "num.recovery.threads.per.data.dir";
    let set = |client: &mut Client, value: &str| {
        let changes = [(key, config_op::SET, Some(value))];
        incremental(client, &[(RESOURCE_BROKER, "1", &changes)], false)
    };
    ensure!(only(&set(&mut client, "4")?).0 == 0);
    ensure!(
        described_broker(&mut client, "1", key)?
            == Some((
                Some("4".into()),
                config_source::DYNAMIC_BROKER_CONFIG,
                false
            )),
        "{:?}",
        described_broker(&mut client, "1", key)?
    );
    let response = set(&mut client, "9")?;
    let (code, text) = only(&response);
    ensure!(
        code == error::INVALID_CONFIG
            && text.is_some_and(|t| t.contains(
                "num.recovery.threads.per.data.dir value cannot be increased to more than double the current value 4"
            )),
        "{response:?}"
    );
    broker.restart()?;
    ensure!(
        broker
            .output_since_start()
            .contains("recovery_threads_per_data_dir=4"),
        "{}",
        broker.output_since_start()
    );
    Ok(())
}

/// `producer.id.expiration.ms` changes at runtime: a producer idle longer
/// than it is forgotten (here seen at the next load of the log, which
/// expires producers as Kafka's does), one within it is kept.
#[test]
fn producer_id_expiration_ms_is_dynamic() -> Result<()> {
    use harness::transactions as txn;

    let mut broker = or_skip!(start());
    let mut client = broker.connect()?;
    let topic = broker.topic("t");
    let producer = client.init_producer_id(None)?;
    let batch = RecordBatch::idempotent(producer.producer_id, producer.producer_epoch, 0, &["a"]);
    ensure!(client.produce(&topic, 0, batch.encode())?.error_code == 0);
    let producers = |client: &mut Client| -> Result<Vec<i64>> {
        let described = txn::decode_describe_producers_response(&client.round_trip(
            &txn::describe_producers_request(3, &[(topic.clone(), vec![0])]),
        )?)?;
        Ok(described
            .partition(&topic, 0)
            .map(|p| p.active_producers.iter().map(|s| s.producer_id).collect())
            .unwrap_or_default())
    };
    // Within the default day: kept across a restart.
    broker.restart()?;
    let mut client = broker.connect()?;
    ensure!(producers(&mut client)? == [producer.producer_id]);

    let changes = [("producer.id.expiration.ms", config_op::SET, Some("1"))];
    let response = incremental(&mut client, &[(RESOURCE_BROKER, "", &changes)], false)?;
    ensure!(only(&response).0 == 0, "{response:?}");
    ensure!(
        described_broker(&mut client, "", "producer.id.expiration.ms")?
            == Some((
                Some("1".into()),
                config_source::DYNAMIC_DEFAULT_BROKER_CONFIG,
                false
            ))
    );
    let bad = [("producer.id.expiration.ms", config_op::SET, Some("0"))];
    let response = incremental(&mut client, &[(RESOURCE_BROKER, "", &bad)], false)?;
    ensure!(only(&response).0 == error::INVALID_CONFIG, "{response:?}");
    std::thread::sleep(Duration::from_millis(50));
    broker.restart()?;
    let mut client = broker.connect()?;
    ensure!(
        producers(&mut client)?.is_empty(),
        "{:?}",
        producers(&mut client)?
    );
    Ok(())
}

/// (value, source) of group `group`'s config `name`, and how many keys
/// the group has described.
fn described_group(
    client: &mut Client,
    group: &str,
    name: &str,
) -> Result<(Option<String>, i8, usize)> {
    let raw = client.round_trip(&admin::describe_configs_request(
        6,
        &[(RESOURCE_GROUP, group, None)],
        true,
        false,
    ))?;
    let response = admin::decode_describe_configs_response(&raw)?;
    let result = &response.results[0];
    ensure!(result.error_code == 0, "{result:?}");
    let config = result
        .config(name)
        .with_context(|| format!("{name} not described: {result:?}"))?;
    ensure!(
        config.synonyms.len() == 1 && config.synonyms[0].source == config.config_source,
        "{config:?}"
    );
    Ok((
        config.value.clone(),
        config.config_source,
        result.configs.len(),
    ))
}

/// The ConfigRecords of group `group` in the metadata log, in order.
fn group_records(broker: &Broker, group: &str) -> Result<Vec<(String, Option<String>)>> {
    Ok(metadata_log::read(broker.log_dir())?
        .into_iter()
        .filter_map(|r| match r.record {
            MetadataRecord::Config {
                resource_type: RESOURCE_GROUP,
                resource_name,
                name,
                value,
            } if resource_name == group => Some((name, value)),
            _ => None,
        })
        .collect())
}

#[test]
fn group_configs_are_set_described_refused_and_kept() -> Result<()> {
    let mut broker = or_skip!(start());
    let mut client = broker.connect()?;
    // Every key of Kafka 4.2's GroupConfig, at its default: the group
    // need not exist.
    ensure!(
        described_group(&mut client, "g1", "share.auto.offset.reset")?
            == (Some("latest".into()), config_source::DEFAULT_CONFIG, 11)
    );
    ensure!(
        described_group(&mut client, "g1", "share.record.lock.duration.ms")?
            == (Some("30000".into()), config_source::DEFAULT_CONFIG, 11)
    );

    let set = [("share.auto.offset.reset", config_op::SET, Some("earliest"))];
    let response = incremental(&mut client, &[(RESOURCE_GROUP, "g1", &set)], false)?;
    ensure!(only(&response).0 == 0, "{response:?}");
    let r = &response.responses[0];
    ensure!((r.resource_type, r.resource_name.as_str()) == (RESOURCE_GROUP, "g1"));
    ensure!(
        described_group(&mut client, "g1", "share.auto.offset.reset")?
            == (Some("earliest".into()), config_source::GROUP_CONFIG, 11)
    );
    ensure!(
        described_group(&mut client, "g1", "share.isolation.level")?
            == (
                Some("read_uncommitted".into()),
                config_source::DEFAULT_CONFIG,
                11
            )
    );

    // Refused as Kafka refuses them, and nothing written.
    type Case<'a> = (&'a str, &'a [(&'a str, i8, Option<&'a str>)], i16, &'a str);
    let cases: &[Case<'_>] = &[
        (
            "g1",
            &[("share.auto.offset.rest", config_op::SET, Some("earliest"))],
            error::INVALID_CONFIG,
            "Unknown group config name: share.auto.offset.rest",
        ),
        (
            "g1",
            &[("share.auto.offset.reset", config_op::SET, Some("newest"))],
            error::INVALID_CONFIG,
            "Invalid value newest for configuration share.auto.offset.reset: Invalid value `newest` for configuration share.auto.offset.reset. The value must be either 'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'.",
        ),
        (
            "g1",
            &[(
                "share.record.lock.duration.ms",
                config_op::SET,
                Some("5000"),
            )],
            error::INVALID_CONFIG,
            "share.record.lock.duration.ms must be greater than or equal to group.share.min.record.lock.duration.ms",
        ),
        (
            "g1",
            &[(
                "share.isolation.level",
                config_op::APPEND,
                Some("read_committed"),
            )],
            error::INVALID_CONFIG,
            "Can't APPEND to key share.isolation.level because its type is not LIST.",
        ),
        (
            "",
            &[("share.auto.offset.reset", config_op::SET, Some("earliest"))],
            INVALID_REQUEST,
            "Default group resources are not allowed.",
        ),
    ];
    for (group, changes, code, message) in cases {
        let response = incremental(&mut client, &[(RESOURCE_GROUP, group, changes)], false)?;
        ensure!(
            only(&response) == (*code, Some(*message)),
            "{changes:?}: {response:?}"
        );
    }
    let raw = client.round_trip(&admin::describe_configs_request(
        7,
        &[(RESOURCE_GROUP, "", None)],
        false,
        false,
    ))?;
    let response = admin::decode_describe_configs_response(&raw)?;
    let result = &response.results[0];
    ensure!(
        (result.error_code, result.error_message.as_deref())
            == (INVALID_REQUEST, Some("Group name must not be empty")),
        "{result:?}"
    );
    let records = group_records(&broker, "g1")?;
    ensure!(
        records
            == [(
                "share.auto.offset.reset".to_string(),
                Some("earliest".to_string())
            )],
        "{records:?}"
    );

    // Kept across a restart.
    broker.restart()?;
    let mut client = broker.connect()?;
    ensure!(
        described_group(&mut client, "g1", "share.auto.offset.reset")?
            == (Some("earliest".into()), config_source::GROUP_CONFIG, 11)
    );

    // Legacy AlterConfigs takes GROUP too, as Kafka's controller does: the
    // keys given replace the group's overrides.
    let replace = [(
        "share.isolation.level",
        config_op::SET,
        Some("read_committed"),
    )];
    let response = legacy(&mut client, &[(RESOURCE_GROUP, "g1", &replace)])?;
    ensure!(only(&response).0 == 0, "{response:?}");
    ensure!(
        described_group(&mut client, "g1", "share.isolation.level")?
            == (
                Some("read_committed".into()),
                config_source::GROUP_CONFIG,
                11
            )
    );
    ensure!(
        described_group(&mut client, "g1", "share.auto.offset.reset")?
            == (Some("latest".into()), config_source::DEFAULT_CONFIG, 11)
    );
    Ok(())
}
