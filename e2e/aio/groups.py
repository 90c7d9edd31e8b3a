"""A consumer group (the classic protocol) of two aiokafka consumers: they
share a topic's partitions, each record is read once across them, their
commits are stored, and when one leaves the other takes over its
partitions from the committed offsets."""

import asyncio

from aiokafka import TopicPartition

from common import T0, check, fail

from aio.client import as_tuple, wait_until, within

PARTITIONS = 4


class Member:
    """A consumer of the group polling in a task of its own, as an
    application runs one; it keeps what it reads and is assigned."""

    def __init__(self, client, topic, group, name):
        self.client, self.topic, self.group, self.name = client, topic, group, name
        self.read = []
        self.partitions = set()

    async def start(self):
        self.consumer = await self.client.consumer(self.group)
        self.consumer.subscribe([self.topic])
        self.task = asyncio.create_task(self.run())

    async def run(self):
        try:
            while True:
                batches = await self.consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    self.read += [as_tuple(m) for m in records]
                self.partitions = {tp.partition for tp in self.consumer.assignment()}
        except asyncio.CancelledError:
            raise
        except Exception as e:
            fail(f"consumer {self.name} of {self.group}: {e!r}")

    async def commit(self, offset):
        offsets = {TopicPartition(self.topic, p): offset for p in self.partitions}
        await within(f"consumer {self.name} committing {offsets}", self.consumer.commit(offsets))

    async def stop(self):
        """Leaves the group (LeaveGroup, as consumer.stop() sends it)."""
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await within(f"stopping consumer {self.name}", self.consumer.stop())


def positions(records):
    return sorted((r[4], r[5]) for r in records)


async def produce_each(client, topic, prefix, count):
    """`count` records to each partition, values `prefix`0 and on."""
    for p in range(PARTITIONS):
        records = [(f"k{i}".encode(), f"{prefix}{p}-{i}".encode(), [], T0 + i) for i in range(count)]
        await client.produce(topic, records, partition=p)


async def share(client, topic):
    await client.create_topic(topic, PARTITIONS)
    group = f"{topic}-sharers"
    one, two = Member(client, topic, group, "one"), Member(client, topic, group, "two")
    await one.start()
    await two.start()
    every = set(range(PARTITIONS))

    # While the group rebalances one member may still hold what it was given
    # alone: wait for the split of the stable group.
    def split():
        return one.partitions and two.partitions and not one.partitions & two.partitions \
            and one.partitions | two.partitions == every

    await wait_until(split, "both consumers to share the partitions")
    mine, theirs = set(one.partitions), set(two.partitions)
    await produce_each(client, topic, "a", 10)
    await wait_until(lambda: len(one.read) + len(two.read) >= 40, f"40 records (read {len(one.read)} and {len(two.read)})")
    await asyncio.sleep(0.5)  # any record read twice would come by now
    check(positions(one.read + two.read) == [(p, o) for p in range(PARTITIONS) for o in range(10)],
          f"the two consumers read {positions(one.read + two.read)}, expected offsets 0..9 of each partition once")
    check({r[4] for r in one.read} <= mine and {r[4] for r in two.read} <= theirs,
          f"records from partitions not assigned: one has {mine}, read {positions(one.read)}; "
          f"two has {theirs}, read {positions(two.read)}")
    check(one.partitions == mine and two.partitions == theirs,
          f"assignments changed from {mine}/{theirs} to {one.partitions}/{two.partitions}")
    await one.commit(10)
    await two.commit(10)

    admin = await client.admin()
    committed = await within(f"the committed offsets of {group}", admin.list_consumer_group_offsets(group))
    await within("closing the admin client", admin.close())
    found = {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == topic}
    check(found == {p: 10 for p in every}, f"{group} has committed {found}, expected 10 on each partition")

    # The one left is rebalanced to every partition, from the committed offsets.
    await one.stop()
    await wait_until(lambda: two.partitions == every, "the remaining consumer to get every partition")
    before = len(two.read)
    check(before == len(theirs) * 10, f"consumer two read {positions(two.read[len(theirs) * 10:])} during the rebalance")
    await produce_each(client, topic, "b", 10)
    await wait_until(lambda: len(two.read) >= before + 40, f"40 more records (read {len(two.read) - before})")
    await asyncio.sleep(0.5)
    after = two.read[before:]
    check(positions(after) == [(p, o) for p in range(PARTITIONS) for o in range(10, 20)],
          f"after the rebalance consumer two read {positions(after)}, expected offsets 10..19 of each partition once")
    check(all(r[1].startswith(b"b") for r in after), "records of before the commit read again")
    await two.stop()
