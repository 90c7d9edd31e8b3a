"""kafka-python's KafkaAdminClient: the topic admin scenario (create,
describe, grow, delete) and AlterConfigs."""

import time

from common import TIMEOUT, check, fail


def kafka_python_admin(client, topic):
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
    from kafka.errors import InvalidReplicationFactorError, TopicAlreadyExistsError

    admin = client.admin()
    admin.create_topics([NewTopic(topic, 2, 1, topic_configs={"retention.ms": "1000"})])
    check(topic in admin.list_topics(), "topic not listed")
    for new, error in [(NewTopic(topic, 1, 1), TopicAlreadyExistsError), (NewTopic(f"{topic}-rf", 1, 3), InvalidReplicationFactorError)]:
        try:
            admin.create_topics([new], raise_errors=True) if "raise_errors" in admin.create_topics.__code__.co_varnames else admin.create_topics([new])
            fail(f"creating {new.name} succeeded")
        except error:
            pass
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    text = repr(described)
    check("retention.ms" in text and "1000" in text, f"describe_configs: {text[:300]}")
    admin.create_partitions({topic: NewPartitions(4)})
    described = admin.describe_topics([topic])
    check(len(described[0]["partitions"]) == 4, f"partitions: {described}")
    admin.delete_topics([topic])
    deadline = time.time() + TIMEOUT
    while topic in admin.list_topics() and time.time() < deadline:
        time.sleep(0.1)
    check(topic not in admin.list_topics(), "topic still listed after deletion")


def kafka_python_alter(client, topic, changes):
    from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType

    configs = {name: (AlterConfigOp.DELETE, None) if value is None else (AlterConfigOp.SET, value) for name, value in changes.items()}
    result = client.admin().alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)], raise_on_unknown=False)
    # Per resource: an error's text, or the result.
    errors = [r for by_name in result.values() for r in by_name.values() if isinstance(r, (Exception, str)) and "Error" in str(r)]
    if errors:
        raise RuntimeError(errors[0])


def kafka_python_partition_admin(client, topic):
    """Elections and reassignments on one node, through KafkaAdminClient:
    the preferred leader leads every partition (ELECTION_NOT_NEEDED), no
    reassignment is in progress, the replica set [node.id] is accepted as
    it is, and another broker, a cancellation with nothing to cancel and
    a partition that does not exist are refused with Kafka's errors."""
    from kafka import TopicPartition
    from kafka.admin import NewTopic
    from kafka.errors import (
        ElectionNotNeededError,
        InvalidReplicationAssignmentError,
        NoReassignmentInProgressError,
        UnknownTopicOrPartitionError,
    )

    admin = client.admin()
    admin.create_topics([NewTopic(topic, 2, 1)])
    node = admin.describe_cluster()["controller_id"]
    response = admin.elect_leaders(0, {topic: [0, 1]})
    codes = sorted((r.topic, p.partition_id, p.error_code) for r in response.replica_election_results for p in r.partition_result)
    check(codes == [(topic, 0, ElectionNotNeededError.errno), (topic, 1, ElectionNotNeededError.errno)],
          f"elect_leaders: {codes}")
    # Without partitions, kafka-python names every partition of every topic.
    everything = admin.elect_leaders(0)
    codes = {p.error_code for r in everything.replica_election_results for p in r.partition_result}
    check(codes == {ElectionNotNeededError.errno}, f"an election of every partition: {everything}")
    check(admin.list_partition_reassignments() == {}, "a reassignment listed")
    check(admin.list_partition_reassignments({topic: [0, 1]}) == {}, "a reassignment of the topic listed")
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    result = admin.alter_partition_reassignments({tp0: [node]})
    check(result == {tp0: None}, f"the replica set [{node}]: {result}")
    result = admin.alter_partition_reassignments({tp0: [node, node + 1], tp1: None, TopicPartition(topic, 7): [node]})
    check(result == {tp0: InvalidReplicationAssignmentError, tp1: NoReassignmentInProgressError,
                     TopicPartition(topic, 7): UnknownTopicOrPartitionError}, f"refused reassignments: {result}")
    check(admin.list_partition_reassignments() == {}, "a reassignment listed after the refused ones")
    admin.delete_topics([topic])


def kafka_python_delete_group_offsets(client, topic, consumer_of):
    """KafkaAdminClient.delete_group_offsets (OffsetDelete) on a group whose
    member `consumer_of(group, topic, offsets)` makes (a kafka-python consumer of the
    classic protocol, or a KIP-848 one): while the member subscribes to
    `topic` its offsets stay (GROUP_SUBSCRIBED_TO_TOPIC), another topic's
    go at once, and once the member has left `topic`'s go too."""
    from kafka import TopicPartition
    from kafka.admin import NewTopic
    from kafka.errors import (
        GroupIdNotFoundError,
        GroupSubscribedToTopicError,
        NoError,
        UnknownTopicOrPartitionError,
    )

    admin = client.admin()
    other = f"{topic}-other"
    admin.create_topics([NewTopic(topic, 2, 1), NewTopic(other, 1, 1)])
    group = f"{topic}-group"
    close = consumer_of(group, topic, {(topic, 0): 3, (other, 0): 1})
    tp, tp_other, tp_missing = TopicPartition(topic, 0), TopicPartition(other, 0), TopicPartition(topic, 9)

    def committed():
        offsets = admin.list_group_offsets(group)[group]
        return {(t.topic, t.partition): o.offset for t, o in offsets.items()}

    check(committed() == {(topic, 0): 3, (other, 0): 1}, f"committed offsets: {committed()}")
    result = admin.delete_group_offsets(group, [tp, tp_other, tp_missing])
    check(result == {tp: GroupSubscribedToTopicError, tp_other: NoError, tp_missing: UnknownTopicOrPartitionError},
          f"delete_group_offsets with a member: {result}")
    check(committed() == {(topic, 0): 3}, f"offsets after the first deletion: {committed()}")
    close()
    result = admin.delete_group_offsets(group, [tp])
    check(result == {tp: NoError}, f"delete_group_offsets once the member left: {result}")
    check(committed() == {}, f"offsets after the second deletion: {committed()}")
    try:
        admin.delete_group_offsets(f"{group}-nobody", [tp])
        check(False, "deleting the offsets of a group that does not exist succeeded")
    except GroupIdNotFoundError:
        pass
    admin.delete_topics([topic, other])


def kafka_python_classic_member(client):
    """A kafka-python consumer of `group` (the classic protocol) that has
    joined and committed `offsets`, for kafka_python_delete_group_offsets:
    returns what closes it."""
    from kafka import TopicPartition
    from kafka.structs import OffsetAndMetadata

    def member(group, topic, offsets):
        consumer = client.consumer(group)
        consumer.subscribe([topic])
        deadline = time.time() + TIMEOUT
        while not consumer.assignment() and time.time() < deadline:
            consumer.poll(timeout_ms=200)
        check(consumer.assignment(), "the consumer never got its partitions")
        consumer.commit({TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()})
        return consumer.close

    return member


def kafka_python_cluster_admin(client, topic):
    """The quorum, the features and the config resources through
    KafkaAdminClient: describe_metadata_quorum (this node the only voter,
    and its leader), describe_features and update_features (an upgrade to
    4.2-IV1, a safe metadata.version downgrade and back; a level this node
    does not support and a downgrade across a metadata change refused with
    INVALID_UPDATE_VERSION), list_config_resources
    (the topic, this broker, the group), describe_log_dirs and
    alter_replica_log_dirs (the one log directory)."""
    from kafka import TopicPartition
    from kafka.admin import NewTopic
    from kafka.errors import InvalidUpdateVersionError
    from kafka.structs import OffsetAndMetadata

    admin = client.admin()
    node = admin.describe_cluster()["controller_id"]
    quorum = admin.describe_metadata_quorum()
    (described,) = quorum["topics"]
    (partition,) = described["partitions"]
    check(described["topic_name"] == "__cluster_metadata" and partition["error"] is None, f"quorum: {quorum}")
    check(partition["leader_id"] == node and [v["replica_id"] for v in partition["current_voters"]] == [node]
          and partition["observers"] == [], f"quorum: {quorum}")
    check(partition["current_voters"][0]["log_end_offset"] == partition["high_watermark"], f"quorum: {quorum}")

    features = admin.describe_features()
    check(features["metadata.version"]["supported"] == (7, 29), f"features: {features}")
    level = features["metadata.version"]["finalized"][1]
    if level < 29:
        # Up to 4.2-IV1 first (the fixture's log is older).
        check(admin.update_features({"metadata.version": 29}) == {"metadata.version": "OK"}, "upgrading to 4.2-IV1")
    check(admin.update_features({"metadata.version": ("SAFE_DOWNGRADE", 23)}) == {"metadata.version": "OK"},
          "downgrading metadata.version to 4.0-IV1")
    check(admin.describe_features()["metadata.version"]["finalized"] == (23, 23), "metadata.version not downgraded")
    check(admin.update_features({"metadata.version": 29}) == {"metadata.version": "OK"}, "upgrading back")
    for refused in ({"streams.version": 1}, {"metadata.version": ("SAFE_DOWNGRADE", level)} if level < 23 else {"metadata.version": 30}):
        try:
            admin.update_features(refused)
            check(False, f"{refused} accepted")
        except InvalidUpdateVersionError:
            pass
    check(admin.describe_features()["metadata.version"]["finalized"] == (29, 29), "metadata.version changed")

    admin.create_topics([NewTopic(topic, 1, 1)])
    group = f"{topic}-group"
    admin.alter_group_offsets(group, {TopicPartition(topic, 0): OffsetAndMetadata(0, "", -1)})
    resources = admin.list_config_resources()
    check(topic in resources.get("topic", []), f"config resources: {resources}")
    check(resources.get("broker") == [str(node)], f"config resources: {resources}")
    check(group in resources.get("group", []), f"config resources: {resources}")
    check(list(admin.list_config_resources(["BROKER"])) == ["broker"], "a listing of brokers only")

    # The log directory: its disk space and the topic's partition, which
    # can be "moved" to the directory it is in, and nowhere else.
    from kafka import TopicPartitionReplica
    from kafka.errors import LogDirNotFoundError, NoError

    (described_dirs,) = admin.describe_log_dirs({topic: [0]})
    (log_dir,) = described_dirs["log_dirs"]
    check(described_dirs["broker"] == node and log_dir["error_code"] == 0, f"log dirs: {described_dirs}")
    check(log_dir["total_bytes"] > 0 and 0 <= log_dir["usable_bytes"] <= log_dir["total_bytes"], f"log dir: {log_dir}")
    partitions = [(t["name"], p["partition_index"], p["offset_lag"]) for t in log_dir["topics"] for p in t["partitions"]]
    check(partitions == [(topic, 0, 0)], f"log dir partitions: {partitions}")
    replica = TopicPartitionReplica(topic, 0, node)
    check(admin.alter_replica_log_dirs({replica: log_dir["log_dir"]}) == {replica: NoError}, "a move to the same directory")
    check(admin.alter_replica_log_dirs({replica: "/no/such/dir"}) == {replica: LogDirNotFoundError},
          "a move to a directory the broker does not have")
    admin.delete_topics([topic])


def kafka_python_log_dirs_admin(client, topic):
    """Two log directories through KafkaAdminClient: describe_log_dirs
    lists both, with their disk space, and a topic's partitions spread over
    them; alter_replica_log_dirs moves a partition into the other one while
    a producer (acks=all) writes to it, and a consumer then reads every
    acknowledged record once, at its offset; a directory the broker does
    not have is LogDirNotFoundError."""
    from kafka import TopicPartitionReplica
    from kafka.admin import NewTopic
    from kafka.errors import LogDirNotFoundError, NoError

    admin = client.admin()
    node = admin.describe_cluster()["controller_id"]
    admin.create_topics([NewTopic(topic, 4, 1)])

    def holders(partition):
        """(directory, is_future_key) of each copy of the partition."""
        (described,) = admin.describe_log_dirs({topic: [partition]})
        check(described["broker"] == node, f"log dirs: {described}")
        return [
            (d["log_dir"], p["is_future_key"])
            for d in described["log_dirs"]
            for t in d["topics"]
            for p in t["partitions"]
            if t["name"] == topic and p["partition_index"] == partition
        ]

    (described,) = admin.describe_log_dirs()
    dirs = described["log_dirs"]
    check(len(dirs) == 2 and all(d["error_code"] == 0 for d in dirs), f"log dirs: {dirs}")
    check(all(d["total_bytes"] > 0 and 0 <= d["usable_bytes"] <= d["total_bytes"] for d in dirs), f"log dirs: {dirs}")
    counts = [sum(len(t["partitions"]) for t in d["topics"] if t["name"] == topic) for d in dirs]
    check(counts == [2, 2], f"the topic's partitions by directory: {counts}")

    [(source, _)] = holders(0)
    (target,) = [d["log_dir"] for d in dirs if d["log_dir"] != source]
    producer = client.producer()
    acknowledged = {}
    for i in range(2000):
        acknowledged[producer.send(topic, value=f"before-{i}".encode(), partition=0).get(timeout=TIMEOUT).offset] = f"before-{i}"
    replica = TopicPartitionReplica(topic, 0, node)
    check(admin.alter_replica_log_dirs({replica: target}) == {replica: NoError}, "the move was refused")
    deadline = time.time() + TIMEOUT
    i = 0
    while holders(0) != [(target, False)]:
        check(time.time() < deadline, f"the partition did not move: {holders(0)}")
        for _ in range(20):
            value = f"during-{i}"
            acknowledged[producer.send(topic, value=value.encode(), partition=0).get(timeout=TIMEOUT).offset] = value
            i += 1
    for j in range(100):
        value = f"after-{j}"
        acknowledged[producer.send(topic, value=value.encode(), partition=0).get(timeout=TIMEOUT).offset] = value
    producer.close()
    last = max(acknowledged)
    read = client.read_from_start(topic, 0, last, time.time() + TIMEOUT)
    stored = {offset: value.decode() for _, value, _, _, _, offset in read}
    check(len(read) == len(stored) == len(acknowledged), f"read {len(read)} records, {len(acknowledged)} acknowledged")
    check(stored == acknowledged, "the records read are not those acknowledged, at their offsets")

    check(admin.alter_replica_log_dirs({replica: "/no/such/dir"}) == {replica: LogDirNotFoundError},
          "a move to a directory the broker does not have")
    admin.delete_topics([topic])


def kafka_python_abort_hanging_transaction(client, topic):
    """A hanging transaction found and aborted through KafkaAdminClient,
    as `kafka-transactions.sh find-hanging` and `abort` do it: the
    producer's transaction stays open (its records flushed, never
    committed), so a read_committed consumer stops at its first record;
    find_hanging_transactions lists it, describe_producers gives its
    producer and coordinator epochs, abort_transaction writes the ABORT
    marker (WriteTxnMarkers), and the consumer reads past it."""
    from kafka import TopicPartition
    from kafka.admin import AbortTransactionSpec, NewTopic

    admin = client.admin()
    admin.create_topics([NewTopic(topic, 1, 1)])
    tp = TopicPartition(topic, 0)
    transactional_id = f"{topic}-hanging"
    producer = client.producer(transactional_id=transactional_id, max_block_ms=int(TIMEOUT * 1000))
    producer.init_transactions()
    producer.begin_transaction()
    producer.send(topic, value=b"hanging", partition=0).get(timeout=TIMEOUT)
    producer.flush(timeout=TIMEOUT)
    client.produce(topic, [(None, b"after", [], None)], partition=0)

    def committed_values():
        consumer = client.consumer(None, isolation_level="read_committed", consumer_timeout_ms=2000)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        values = [m.value for m in consumer]
        end = consumer.position(tp)
        consumer.close()
        return values, end

    check(committed_values() == ([], 0), f"read_committed past an open transaction: {committed_values()}")
    # No slack: every open transaction is old enough to count as hanging.
    hanging = admin.find_hanging_transactions(max_transaction_timeout_ms=-5 * 60 * 1000)
    found = [h for h in hanging if h["transactional_id"] == transactional_id]
    check(len(found) == 1 and found[0]["topic_partitions"] == [tp], f"hanging transactions: {hanging}")
    (state,) = [p for p in admin.describe_producers([tp])[tp].active_producers if p.producer_id == found[0]["producer_id"]]
    check(state.current_transaction_start_offset == 0, f"producer state: {state}")
    admin.abort_transaction(AbortTransactionSpec(tp, state.producer_id, state.producer_epoch, state.coordinator_epoch))
    values, end = committed_values()
    check(values == [b"after"] and end == 3, f"read_committed after the abort: {values}, position {end}")
    admin.delete_topics([topic])
