"""Consumer groups (the classic protocol): a group commits, stops and
resumes where it committed; two consumers share a group's partitions and
one takes over when the other leaves (Member, a consumer on its own
thread; KcatMember for kcat)."""

import threading

from common import T0, TIMEOUT, ConsumerThread, check, wait_for
from confluent.client import Confluent
from kcat import Kcat, KcatMember, kcat_group_commit


def group_commit(client, topic):
    """A group commits, stops, and resumes exactly where it committed."""
    if isinstance(client, Kcat):
        return kcat_group_commit(client, topic)
    records = [(b"k", f"m{i}".encode(), [], T0 + i) for i in range(10)]
    client.produce(topic, records, partition=0)
    got, consumer = client.consume(topic, "resumers", 6, close=False)
    check([r[1] for r in got] == [f"m{i}".encode() for i in range(6)], f"first consumer got {[r[1] for r in got]}")
    client.commit(consumer, topic, 0, 6)
    consumer.close()
    client.produce(topic, [(b"k", f"m{i}".encode(), [], T0 + i) for i in range(10, 15)], partition=0)
    got = client.consume(topic, "resumers", 9)
    offsets = [r[5] for r in got]
    check(offsets == list(range(6, 15)), f"resumed at offsets {offsets}, expected 6..14")
    check([r[1] for r in got] == [f"m{i}".encode() for i in range(6, 15)], "resumed records differ")


class Member(ConsumerThread):
    """A consumer on its own thread, as applications run them: it polls
    until told to stop and records what it reads and is assigned."""

    def __init__(self, client, topic, group):
        super().__init__(client, group)
        self.topic = topic
        self.commit_requests = []

    def run(self):
        try:
            consumer = self.client.consumer(self.group)
            consumer.subscribe([self.topic])
            while not self.stop_flag.is_set():
                records = poll_some(self.client, consumer)
                with self.lock:
                    self.read.extend(records)
                    self.partitions = assigned(self.client, consumer)
                    requests, self.commit_requests = self.commit_requests, []
                for partition, offset, done in requests:
                    self.client.commit(consumer, self.topic, partition, offset)
                    done.set()
            consumer.close()
        except BaseException as e:  # reported by the main thread
            self.error = e

    def commit(self, partition, offset):
        done = threading.Event()
        with self.lock:
            self.commit_requests.append((partition, offset, done))
        check(done.wait(TIMEOUT), "commit not done")


def share(client, topic):
    """Two consumers share a group's partitions; when one leaves, the other
    takes over everything, and no record is lost or read twice."""
    client.create_topic(topic, 4)
    group = f"{topic}-sharers"
    member = KcatMember if isinstance(client, Kcat) else Member
    one, two = member(client, topic, group), member(client, topic, group)
    one.start()
    two.start()
    # Produce once the group is stable with both members.
    # While the group rebalances, the first member may still hold what it was
    # given alone; wait for the split of the stable group.
    def split():
        mine, theirs = one.snapshot()[1], two.snapshot()[1]
        return mine and theirs and not (mine & theirs) and mine | theirs == {0, 1, 2, 3}

    wait_for(split, "both consumers to share the partitions")
    mine, theirs = one.snapshot()[1], two.snapshot()[1]

    first = [(f"k{i}".encode(), f"a{i}".encode(), [], T0 + i) for i in range(40)]
    for p in range(4):
        client.produce(topic, first[p * 10:(p + 1) * 10], partition=p)
    wait_for(lambda: len(one.snapshot()[0]) + len(two.snapshot()[0]) >= 40, "40 records")
    read_one, read_two = one.snapshot()[0], two.snapshot()[0]
    positions = [(r[4], r[5]) for r in read_one + read_two]
    check(sorted(positions) == [(p, o) for p in range(4) for o in range(10)], f"read {sorted(positions)}")
    check({r[4] for r in read_one} == mine and {r[4] for r in read_two} == theirs, "records from partitions not assigned")
    for member, partitions in ((one, mine), (two, theirs)):
        for p in partitions:
            member.commit(p, 10)
    one.stop()

    # The one left is rebalanced to every partition, from the committed offsets.
    wait_for(lambda: two.snapshot()[1] == {0, 1, 2, 3}, "the remaining consumer to get every partition")
    before = len(two.snapshot()[0])
    second = [(f"k{i}".encode(), f"b{i}".encode(), [], T0 + i) for i in range(40)]
    for p in range(4):
        client.produce(topic, second[p * 10:(p + 1) * 10], partition=p)
    wait_for(lambda: len(two.snapshot()[0]) >= before + 40, "40 more records")
    after = two.snapshot()[0][before:]
    check(before == len(read_two), "records read during the rebalance")
    check(sorted((r[4], r[5]) for r in after) == [(p, o) for p in range(4) for o in range(10, 20)],
          f"after the rebalance read {sorted((r[4], r[5]) for r in after)}")
    check(all(r[1].startswith(b"b") for r in after), "old records read again")
    two.stop()


def assigned(client, consumer):
    return {tp.partition for tp in consumer.assignment()}


def poll_some(client, consumer):
    if isinstance(client, Confluent):
        msg = consumer.poll(0.1)
        if msg is None:
            return []
        check(msg.error() is None, f"consumer error: {msg.error()}")
        return [(msg.key(), msg.value(), msg.headers() or [], msg.timestamp()[1], msg.partition(), msg.offset())]
    # kafka-python 3.0.12 can lose a completed rebalance when a poll times
    # out just as the group's SyncGroup answer arrives (the member then stops
    # heartbeating); polls long enough to outlast a join make that rare.
    return [
        (m.key, m.value, list(m.headers), m.timestamp, m.partition, m.offset)
        for records in consumer.poll(timeout_ms=1000).values()
        for m in records
    ]
