"""aiokafka's producers, consumers and admin client as the scenarios make
them, and within(), which bounds every wait of a scenario."""

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from common import TIMEOUT, check, fail


async def within(what, awaitable, seconds=TIMEOUT):
    """The awaitable's result; a failure naming `what` when it raises or
    takes longer than `seconds`."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except asyncio.TimeoutError:
        fail(f"{what}: no answer within {seconds:.0f} s")
    except Exception as e:  # aiokafka's errors, or a failed check's
        fail(f"{what}: {e!r}")


async def wait_until(condition, what, seconds=TIMEOUT):
    """Returns once condition() holds; fails after `seconds`."""
    deadline = time.time() + seconds
    while not condition():
        if time.time() >= deadline:
            fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def as_tuple(m):
    """A consumer record as the Python scenarios compare them: (key, value,
    headers, timestamp, partition, offset)."""
    return (m.key, m.value, [tuple(h) for h in m.headers], m.timestamp, m.partition, m.offset)


class Aio:
    def __init__(self, bootstrap):
        self.bootstrap = bootstrap

    async def producer(self, **config):
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", request_timeout_ms=int(TIMEOUT * 1000),
                                    **config)
        await within(f"starting a producer {config}", producer.start())
        return producer

    async def consumer(self, group=None, **config):
        """A consumer (of `group`, not yet subscribed) from the earliest
        offset, committing only when told."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=group, auto_offset_reset="earliest",
                                    enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500,
                                    request_timeout_ms=int(TIMEOUT * 1000), **config)
        await within(f"starting a consumer of group {group}", consumer.start())
        return consumer

    async def admin(self):
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=int(TIMEOUT * 1000))
        await within("starting an admin client", admin.start())
        return admin

    async def send(self, producer, topic, records, partition=0):
        """(key, value, headers, timestamp) records sent in order to
        `partition`, all before the first acknowledgement; their offsets."""
        futures = []
        for key, value, headers, timestamp in records:
            futures.append(await within(f"sending to {topic}", producer.send(
                topic, value=value, key=key, partition=partition, timestamp_ms=timestamp, headers=headers)))
        sent = await within(f"{len(records)} records acknowledged by {topic}", asyncio.gather(*futures))
        return [m.offset for m in sent]

    async def produce(self, topic, records, partition=0, **config):
        """send() with a producer of its own (`config`); the offsets."""
        producer = await self.producer(**config)
        offsets = await self.send(producer, topic, records, partition)
        await within("stopping a producer", producer.stop())
        return offsets

    async def read(self, topic, count, partition=0, seconds=TIMEOUT, **config):
        """What a consumer without a group (`config`), assigned `partition`
        from its start, reads until it has `count` records or `seconds`
        have passed; and the consumer, still open."""
        consumer = await self.consumer(None, **config)
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        await within(f"seeking to the start of {topic}", consumer.seek_to_beginning(tp))
        got = []
        deadline = time.time() + seconds
        while len(got) < count and time.time() < deadline:
            batches = await within(f"fetching {topic}", consumer.getmany(tp, timeout_ms=200))
            got += [as_tuple(m) for m in batches.get(tp, [])]
        return got, consumer

    async def consume(self, topic, count, partition=0, **config):
        """Exactly `count` records from the start of `partition`."""
        got, consumer = await self.read(topic, count, partition, **config)
        await within("stopping a consumer", consumer.stop())
        check(len(got) == count, f"read {len(got)} records of {topic} partition {partition}, expected {count}")
        return got

    async def create_topic(self, name, partitions):
        admin = await self.admin()
        response = await within(f"creating {name}", admin.create_topics([NewTopic(name, partitions, 1)]))
        errors = [(t[0], t[1]) for t in response.topic_errors if t[1] != 0]
        check(not errors, f"creating {name}: {errors}")
        await within("closing the admin client", admin.close())
