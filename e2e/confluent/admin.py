"""confluent-kafka's AdminClient: the topic admin scenario (create, also
validate-only, describe, grow, delete) and IncrementalAlterConfigs."""

from common import RECORDS, TIMEOUT, check, fail


def confluent_admin(client, topic):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic, ResourceType

    admin = client.admin()
    admin.create_topics([NewTopic(topic, 2, 1)], validate_only=True)[topic].result(TIMEOUT)
    check(topic not in admin.list_topics(timeout=TIMEOUT).topics, "validate_only created the topic")
    admin.create_topics([NewTopic(topic, 2, 1, config={"cleanup.policy": "compact"})])[topic].result(TIMEOUT)
    failures = {
        topic: "TOPIC_ALREADY_EXISTS",
        f"{topic}-rf": "INVALID_REPLICATION_FACTOR",
        "bad name!": "TOPIC_EXCEPTION",
    }
    futures = admin.create_topics([
        NewTopic(topic, 1, 1), NewTopic(f"{topic}-rf", 1, 3), NewTopic("bad name!", 1, 1),
    ])
    for name, expected in failures.items():
        try:
            futures[name].result(TIMEOUT)
            fail(f"creating {name} succeeded")
        except KafkaException as e:
            check(e.args[0].name() == expected, f"creating {name}: {e.args[0].name()}, expected {expected}")
    described = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)])
    configs = list(described.values())[0].result(TIMEOUT)
    check(configs["cleanup.policy"].value == "compact", f"cleanup.policy {configs['cleanup.policy'].value}")
    check(configs["retention.ms"].value == "604800000", f"retention.ms {configs['retention.ms'].value}")
    admin.create_partitions([NewPartitions(topic, 3)])[topic].result(TIMEOUT)
    metadata = admin.list_topics(timeout=TIMEOUT)
    check(len(metadata.topics[topic].partitions) == 3, "partitions not added")
    cluster = admin.describe_cluster().result(TIMEOUT)
    check(len(cluster.nodes) == 1 and cluster.controller.id == 1, f"cluster {cluster}")
    client.produce(topic, [RECORDS[0], RECORDS[2]], partition=0)
    # The topic is compacted: a record without a key is refused.
    producer = client.producer()
    errors = []
    producer.produce(topic, value=b"no key", partition=0, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(TIMEOUT)
    check(len(errors) == 1 and errors[0] is not None and errors[0].name() == "INVALID_RECORD",
          f"a record without a key on a compacted topic: {errors}")
    admin.delete_topics([topic])[topic].result(TIMEOUT)
    check(topic not in admin.list_topics(timeout=TIMEOUT).topics, "topic still listed after deletion")
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(TIMEOUT)
    check(client.watermarks(topic, 0) == (0, 0), "a recreated topic is not empty")


def confluent_alter(client, topic, changes):
    """IncrementalAlterConfigs: SET each value, DELETE each None."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

    entries = [
        ConfigEntry(name, value, incremental_operation=AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET)
        for name, value in changes.items()
    ]
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
    admin = client.admin()
    admin.incremental_alter_configs([resource])[resource].result(TIMEOUT)


def confluent_partition_admin(client, topic):
    """AdminClient.elect_leaders: the preferred leader already leads each
    partition (ELECTION_NOT_NEEDED), an unknown partition is refused, and
    an election of every partition has nothing to report."""
    from confluent_kafka import ElectionType, KafkaError, TopicPartition
    from confluent_kafka.admin import NewTopic

    admin = client.admin()
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(TIMEOUT)
    partitions = [TopicPartition(topic, 0), TopicPartition(topic, 1), TopicPartition(topic, 7)]
    result = admin.elect_leaders(ElectionType.PREFERRED, partitions).result(TIMEOUT)
    codes = sorted((tp.partition, e.code() if e else None) for tp, e in result.items())
    check(codes == [(0, KafkaError.ELECTION_NOT_NEEDED), (1, KafkaError.ELECTION_NOT_NEEDED),
                    (7, KafkaError.UNKNOWN_TOPIC_OR_PART)], f"elect_leaders: {codes}")
    everything = admin.elect_leaders(ElectionType.PREFERRED, None).result(TIMEOUT)
    check(everything == {}, f"an election of every partition: {everything}")
    admin.delete_topics([topic])[topic].result(TIMEOUT)
