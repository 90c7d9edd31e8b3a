"""Share groups (KIP-932) with confluent-kafka's ShareConsumer (librdkafka
2.16: ShareGroupHeartbeat, ShareFetch and ShareAcknowledge v1).

Every consumer acknowledges explicitly (share.acknowledgement.mode=
explicit) and commits its acknowledgements with commit_sync(), so each
scenario knows which records it accepted, released or rejected. The group
config share.auto.offset.reset=earliest (config resource GROUP, set with
the AdminClient) makes a new group read from the start. The broker of
these tests locks acquired records for 15 s
(group.share.record.lock.duration.ms)."""

import json
import threading
import time

from common import TIMEOUT, check, fail
from confluent.client import Confluent

PARTITIONS = 2


def share_consumer(client, group, **config):
    check(isinstance(client, Confluent), "the share group scenarios are written for confluent-kafka")
    consumer = client.ck.ShareConsumer({
        **client.settings,
        "bootstrap.servers": client.bootstrap,
        "group.id": group,
        "share.acknowledgement.mode": "explicit",
        **config,
    })
    return consumer


def read_from_start(client, group):
    """Sets the group's share.auto.offset.reset to earliest."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

    entry = ConfigEntry("share.auto.offset.reset", "earliest", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=[entry])
    admin = client.admin()
    for future in admin.incremental_alter_configs([resource]).values():
        future.result()


def produce(client, topic, count, start=0):
    """`count` records, round robin over the partitions; returns their
    values by (partition, offset) once the broker has them."""
    producer = client.producer()
    placed = {}

    def delivered(err, msg):
        if err is not None:
            fail(f"delivery failed: {err}")
        placed[(msg.partition(), msg.offset())] = msg.value()

    for i in range(start, start + count):
        producer.produce(topic, value=f"v-{i}".encode(), partition=i % PARTITIONS, on_delivery=delivered)
    check(producer.flush(TIMEOUT) == 0, "records left unsent")
    check(len(placed) == count, f"{len(placed)} of {count} records delivered")
    return placed


def setup(client, topic, group, count):
    client.create_topic(topic, PARTITIONS)
    read_from_start(client, group)
    return produce(client, topic, count)


def poll_records(consumer, timeout=1.0):
    """The records of one poll, errors failing the scenario."""
    records = []
    for msg in consumer.poll(timeout):
        if msg.error() is not None:
            fail(f"share consumer error: {msg.error()}")
        records.append(msg)
    return records


def commit(consumer):
    for tp, error in consumer.commit_sync(TIMEOUT).items():
        check(error is None, f"acknowledging {tp} failed: {error}")


class Reader(threading.Thread):
    """A share consumer on its own thread that accepts everything it gets
    until told to stop."""

    def __init__(self, client, topic, group, name):
        super().__init__(name=name, daemon=True)
        self.consumer = share_consumer(client, group)
        self.consumer.subscribe([topic])
        self.accepted = []  # (partition, offset, value, delivery count)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            records = poll_records(self.consumer, 0.5)
            for msg in records:
                self.consumer.acknowledge(msg)
                self.accepted.append((msg.partition(), msg.offset(), msg.value(), msg.delivery_count()))
            if records:
                commit(self.consumer)
        self.consumer.close()


def check_each_once(placed, accepted, what):
    seen = {}
    for partition, offset, value, _ in accepted:
        key = (partition, offset)
        check(key not in seen, f"{what}: {key} accepted twice")
        check(placed.get(key) == value, f"{what}: {key} is {value!r}, produced as {placed.get(key)!r}")
        seen[key] = value
    missing = sorted(set(placed) - set(seen))
    check(not missing, f"{what}: {len(missing)} records never accepted, the first {missing[:5]}")


def wait_until(condition, what):
    deadline = time.time() + TIMEOUT
    while not condition():
        if time.time() > deadline:
            fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def two_consumers(client, topic):
    """Two share consumers of one group on a 2-partition topic together
    accept each of 1 000 records once."""
    group = f"{topic}-queue"
    placed = setup(client, topic, group, 1000)
    readers = [Reader(client, topic, group, f"reader-{i}") for i in range(2)]
    for r in readers:
        r.start()
    wait_until(lambda: sum(len(r.accepted) for r in readers) >= len(placed), "1 000 records accepted")
    time.sleep(1.0)  # anything delivered twice would come now
    for r in readers:
        r.stop.set()
    for r in readers:
        r.join(TIMEOUT)
    accepted = [a for r in readers for a in r.accepted]
    check_each_once(placed, accepted, "two consumers")
    print(f"accepted {[len(r.accepted) for r in readers]} records")


def close_unacknowledged(client, topic):
    """A consumer that closes with records it did not acknowledge: they go
    to the other consumer, delivered a second time."""
    group = f"{topic}-queue"
    placed = setup(client, topic, group, 100)
    first = share_consumer(client, group)
    first.subscribe([topic])
    held = []
    deadline = time.time() + TIMEOUT
    while not held and time.time() < deadline:
        held = poll_records(first)
    check(held, "the first consumer got nothing")
    # Nothing acknowledged: close() releases them.
    held_keys = {(m.partition(), m.offset()) for m in held}
    first.close()
    reader = Reader(client, topic, group, "second")
    reader.start()
    wait_until(lambda: len(reader.accepted) >= len(placed), "the second consumer to accept all 100")
    reader.stop.set()
    reader.join(TIMEOUT)
    check_each_once(placed, reader.accepted, "after the close")
    counts = {(p, o): n for p, o, _, n in reader.accepted}
    again = [k for k in held_keys if counts.get(k) != 2]
    check(not again, f"records held at the close came back with delivery counts {[counts.get(k) for k in again][:5]}")


def release_and_reject(client, topic):
    """RELEASE → delivered again with a higher delivery count; REJECT →
    never again; ACCEPT → never again."""
    from confluent_kafka import AcknowledgeType

    group = f"{topic}-queue"
    placed = setup(client, topic, group, 30)
    consumer = share_consumer(client, group)
    consumer.subscribe([topic])
    verdicts = {}  # (partition, offset) → what was done at the first delivery
    deliveries = {}  # (partition, offset) → delivery counts seen
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        records = poll_records(consumer)
        for msg in records:
            key = (msg.partition(), msg.offset())
            deliveries.setdefault(key, []).append(msg.delivery_count())
            if key not in verdicts:
                kind = ("release", "reject", "accept")[msg.offset() % 3]
                verdicts[key] = kind
                ack = {"release": AcknowledgeType.RELEASE, "reject": AcknowledgeType.REJECT,
                       "accept": AcknowledgeType.ACCEPT}[kind]
            else:
                ack = AcknowledgeType.ACCEPT
            consumer.acknowledge(msg, ack)
        if records:
            commit(consumer)
        released = [k for k, v in verdicts.items() if v == "release"]
        if len(verdicts) == len(placed) and all(len(deliveries[k]) == 2 for k in released):
            break
    # A last look: nothing else may come.
    end = time.time() + 2.0
    while time.time() < end:
        for msg in poll_records(consumer, 0.5):
            fail(f"{(msg.partition(), msg.offset())} delivered again after {verdicts.get((msg.partition(), msg.offset()))}")
    consumer.close()
    check(len(verdicts) == len(placed), f"{len(verdicts)} of {len(placed)} records delivered")
    for key, kind in verdicts.items():
        expected = [1, 2] if kind == "release" else [1]
        check(deliveries[key] == expected, f"{key} ({kind}) delivered with counts {deliveries[key]}, expected {expected}")


def kill_first(client, topic, state):
    """Phase 1 of a broker kill: a consumer accepts (and commits) the first
    100 records it gets and holds the rest of that poll acquired, without
    acknowledging them; it writes what it accepted and held to `state` and
    ends without closing. The harness then kills the broker with SIGKILL."""
    group = f"{topic}-queue"
    placed = setup(client, topic, group, 200)
    consumer = share_consumer(client, group)
    consumer.subscribe([topic])
    accepted, held = [], []
    deadline = time.time() + TIMEOUT
    while len(accepted) < 100 and time.time() < deadline:
        records = poll_records(consumer)
        for msg in records:
            key = (msg.partition(), msg.offset())
            if len(accepted) < 100:
                consumer.acknowledge(msg)
                accepted.append(key)
            else:
                held.append(key)
        if records:
            commit(consumer)
    check(len(accepted) == 100, f"accepted {len(accepted)} records, expected 100")
    with open(state, "w") as f:
        json.dump({"accepted": accepted, "held": held,
                   "placed": [[p, o, v.decode()] for (p, o), v in placed.items()]}, f)
    print(f"accepted {len(accepted)}, holding {len(held)}")
    # No close(): the process ends as if it crashed.


def kill_second(client, topic, state):
    """Phase 2, after the restart: a new consumer of the group gets every
    record not accepted before the kill, and none that was."""
    group = f"{topic}-queue"
    with open(state) as f:
        saved = json.load(f)
    accepted_before = {tuple(k) for k in saved["accepted"]}
    held = {tuple(k) for k in saved["held"]}
    placed = {(p, o): v.encode() for p, o, v in saved["placed"]}
    rest = {k: v for k, v in placed.items() if k not in accepted_before}
    reader = Reader(client, topic, group, "after-restart")
    reader.start()
    wait_until(lambda: len(reader.accepted) >= len(rest), f"the {len(rest)} records not accepted before the kill")
    time.sleep(1.0)
    reader.stop.set()
    reader.join(TIMEOUT)
    again = [(p, o) for p, o, _, _ in reader.accepted if (p, o) in accepted_before]
    check(not again, f"records accepted before the kill delivered again: {again[:5]}")
    check_each_once(rest, reader.accepted, "after the restart")
    # What was acquired at the kill comes back with its delivery counted.
    counts = {(p, o): n for p, o, _, n in reader.accepted}
    wrong = [(k, counts.get(k)) for k in sorted(held) if counts.get(k) != 2]
    check(not wrong, f"records held at the kill came back with delivery counts {wrong[:5]}")


def with_consumer_group(client, topic):
    """A share group and a consumer group read the same topic independently:
    each gets every record."""
    group = f"{topic}-queue"
    placed = setup(client, topic, group, 200)
    reader = Reader(client, topic, group, "share")
    reader.start()
    consumer = client.consumer(f"{topic}-classic")
    consumer.subscribe([topic])
    got = client.poll(consumer, len(placed))
    consumer.close()
    wait_until(lambda: len(reader.accepted) >= len(placed), "the share group to accept all 200")
    reader.stop.set()
    reader.join(TIMEOUT)
    check_each_once(placed, reader.accepted, "the share group")
    check(sorted((p, o) for *_, p, o in got) == sorted(placed), "the consumer group did not read every record once")


SHARE_SCENARIOS = {
    "two-consumers": two_consumers,
    "close-unacknowledged": close_unacknowledged,
    "release-and-reject": release_and_reject,
    "kill-first": kill_first,
    "kill-second": kill_second,
    "with-consumer-group": with_consumer_group,
}


def share_groups(client, part, topic, *args):
    SHARE_SCENARIOS[part](client, topic, *args)
