"""KIP-848 consumer groups with confluent-kafka: a consumer of the new
protocol, a member on its own thread (Kip848Member), and the helpers the
consumer protocol scenarios share (numbered records, each read once).

The new rebalance protocol (KIP-848) as confluent-kafka's consumer speaks
it with group.protocol=consumer: ConsumerGroupHeartbeat to join, stay and
leave, assignments computed by the broker's assignor, offsets committed
with the member's epoch; ListGroups v5 and ConsumerGroupDescribe through
its AdminClient. The broker of these tests sets a heartbeat interval of
500 ms and a session timeout of 6 s (group.consumer.*)."""

import os
import threading
import time

from common import TIMEOUT, ConsumerThread, check, fail, wait_for
from confluent.client import Confluent

STARTED = time.time()  # the times of the members' assignment histories


CP_PARTITIONS = 4
CGRP_LOG_LOCK = threading.Lock()  # consumers made on several threads share one log


def kip848_consumer(client, group, **config):
    """A confluent-kafka consumer of `group` with the new protocol. The
    session timeout and heartbeat interval are the broker's: librdkafka
    refuses session.timeout.ms and heartbeat.interval.ms with
    group.protocol=consumer. $E2E_CGRP_DEBUG names a file for librdkafka's
    `debug` log (the protocol exchange), for diagnosis; its contexts are
    $E2E_CGRP_DEBUG_CONTEXTS (by default `cgrp`; `cgrp,fetch,topic` shows
    where each partition's fetching starts)."""
    check(isinstance(client, Confluent), "the consumer protocol scenarios are written for confluent-kafka")
    settings = {
        **client.settings,
        "bootstrap.servers": client.bootstrap,
        "group.id": group,
        "group.protocol": "consumer",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **config,
    }
    path = os.environ.get("E2E_CGRP_DEBUG")
    if path:
        import logging

        logger = logging.getLogger("librdkafka-cgrp")
        with CGRP_LOG_LOCK:
            if not logger.handlers:
                handler = logging.FileHandler(path)
                handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
                logger.addHandler(handler)
                logger.setLevel(logging.DEBUG)
        settings.update({"debug": os.environ.get("E2E_CGRP_DEBUG_CONTEXTS", "cgrp"), "logger": logger})
    return client.ck.Consumer(settings)


def cp_record(msg):
    """A record as poll() returns them, with its topic last."""
    check(msg.error() is None, f"consumer error: {msg.error()}")
    return (msg.key(), msg.value(), msg.headers() or [], msg.timestamp()[1], msg.partition(), msg.offset(), msg.topic())


def cp_poll(consumer, count, seconds, on_record=None):
    """Records polled until there are `count` (None: no limit) or `seconds`
    have passed; on_record(msg) after each (a synchronous commit)."""
    got = []
    deadline = time.time() + seconds
    while (count is None or len(got) < count) and time.time() < deadline:
        msg = consumer.poll(0.1)
        if msg is None:
            continue
        got.append(cp_record(msg))
        if on_record:
            on_record(msg)
    return got


def commit_sync(client, consumer, msg):
    """Commits the offset after `msg`, synchronously; that offset."""
    tp = client.ck.TopicPartition(msg.topic(), msg.partition(), msg.offset() + 1)
    result = consumer.commit(offsets=[tp], asynchronous=False)
    check(all(t.error is None for t in result), f"commit of {msg.topic()}[{msg.partition()}]@{msg.offset() + 1} failed: {result}")
    return msg.offset() + 1


def produce_numbered(client, topic, prefix, start, count, expected, partitions=CP_PARTITIONS):
    """`count` records to each partition p of `topic`, valued
    prefix-p-start and on, with one producer; each added to `expected`
    ((topic, partition) -> [(offset, value)]) at the offset it got."""
    producer = client.producer()
    errors, delivered = [], []

    def report(err, msg):
        if err:
            errors.append(err)
        else:
            delivered.append((msg.partition(), msg.offset(), msg.value()))

    for p in range(partitions):
        for i in range(start, start + count):
            producer.produce(topic, key=f"p{p}".encode(), value=f"{prefix}-{p}-{i}".encode(), partition=p, on_delivery=report)
            producer.poll(0)
    check(producer.flush(TIMEOUT) == 0, "messages left unsent")
    check(not errors, f"delivery errors: {errors}")
    for p, offset, value in sorted(delivered):
        expected.setdefault((topic, p), []).append((offset, value))


def check_each_once(got, expected, what, members=()):
    """`got` holds each record of `expected` ((topic, partition) ->
    [(offset, value)]) once, in offset order within each partition, and
    nothing else. On a failure, each of `members` ((name, Kip848Member))
    is shown: the offsets of that partition it read, and when its
    assignment changed."""
    from collections import Counter

    by_partition = {}
    for r in got:
        by_partition.setdefault((r[6], r[4]), []).append((r[5], r[1]))
    for tp in sorted(set(by_partition) | set(expected)):
        have, want = by_partition.get(tp, []), expected.get(tp, [])
        if have == want:
            continue
        seen = [o for o, _ in have]
        twice = sorted(o for o, n in Counter(seen).items() if n > 1)
        missing = sorted({o for o, _ in want} - set(seen))
        unexpected = sorted(set(seen) - {o for o, _ in want})
        fail(f"{what}: {tp[0]}[{tp[1]}]: read {len(have)} records, expected {len(want)}; read twice: {twice[:20]}, "
             f"missing: {missing[:20]}, not expected: {unexpected[:20]}, in order: {seen == sorted(seen)}, "
             f"offsets read: {seen[:12]}{'...' if len(seen) > 12 else ''}"
             + "".join(f"; {name} read {[r[5] for r in m.snapshot()[0] if (r[6], r[4]) == tp][:12]}, "
                       f"assigned {m.history[-8:]}" for name, m in members))


class Kip848Member(ConsumerThread):
    """A consumer of the new protocol on its own thread, as applications
    run them: it polls until told to stop, commits each record's offset
    synchronously once it has recorded it (processing), and keeps what it
    read, what it is assigned ((topic, partition)s), what it committed and
    its member id. stop() closes it, which leaves the group."""

    def __init__(self, client, topics, group):
        super().__init__(client, group)
        self.topics = topics
        self.committed = {}
        self.member_id = None
        self.history = []  # (seconds since start, partitions) at each change

    def run(self):
        try:
            consumer = kip848_consumer(self.client, self.group)
            consumer.subscribe(self.topics)
            while not self.stop_flag.is_set():
                msg = consumer.poll(0.1)
                if msg is not None:
                    record = cp_record(msg)
                    with self.lock:
                        self.read.append(record)
                    offset = commit_sync(self.client, consumer, msg)
                    with self.lock:
                        self.committed[(msg.topic(), msg.partition())] = offset
                partitions = {(tp.topic, tp.partition) for tp in consumer.assignment()}
                with self.lock:
                    if partitions != self.partitions:
                        self.history.append((round(time.time() - STARTED, 2), sorted(p for _, p in partitions)))
                    self.partitions = partitions
                    self.member_id = consumer.memberid()
            consumer.close()
            with self.lock:
                self.partitions = set()
        except BaseException as e:  # reported by the main thread
            self.error = e

    def stop(self):
        super().stop()
        check(not self.is_alive(), "a consumer did not close")


def members_wait(members, condition, what):
    """wait_for(condition), failing at once when a member has failed."""
    def done():
        for m in members:
            check(m.error is None, f"{what}: a consumer failed: {m.error!r}")
        return condition()

    wait_for(done, what)


def kip848_member(client):
    """A KIP-848 consumer of `group` subscribed to `topic` that has its
    partitions and committed `offsets` ({(topic, partition): offset}), for
    kafka-python's delete_group_offsets scenario: returns what closes it."""

    def member(group, topic, offsets):
        consumer = kip848_consumer(client, group)
        consumer.subscribe([topic])
        deadline = time.time() + TIMEOUT
        while not consumer.assignment() and time.time() < deadline:
            consumer.poll(0.2)
        check(consumer.assignment(), "the consumer never got its partitions")
        result = consumer.commit(
            offsets=[client.ck.TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
        check(all(t.error is None for t in result), f"commit failed: {result}")
        return consumer.close

    return member
