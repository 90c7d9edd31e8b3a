"""A transactional producer (KIP-98): a committed transaction, an aborted
one (its records in the log), and another committed one, as
read_committed and read_uncommitted consumers see them."""

import os
import uuid

from aiokafka import TopicPartition

from common import check

from aio.client import within


def values_of(prefix, count):
    return [(f"k{i}".encode(), f"{prefix}-{i}".encode()) for i in range(count)]


async def send(producer, topic, pairs, what):
    futures = [await within(f"{what}: sending", producer.send(topic, value=v, key=k, partition=0)) for k, v in pairs]
    for future in futures:
        await within(f"{what}: a record acknowledged", future)


def check_read(got, expected, offsets, what):
    check([(r[0], r[1]) for r in got] == expected and [r[5] for r in got] == offsets,
          f"{what} read {[(r[5], r[1]) for r in got]}, expected values {[v for _, v in expected]} at offsets {offsets}")


async def transactions(client, topic):
    await client.create_topic(topic, 1)
    tp = TopicPartition(topic, 0)
    first, aborted, last = values_of("committed-a", 10), values_of("aborted", 7), values_of("committed-b", 5)
    n, m, k = len(first), len(aborted), len(last)
    producer = await client.producer(transactional_id=f"{topic}-{os.getpid()}-{uuid.uuid4().hex[:8]}")

    await within("the first transaction: begin", producer.begin_transaction())
    await send(producer, topic, first, "the first transaction")
    await within("the first transaction: commit", producer.commit_transaction())

    await within("the transaction to abort: begin", producer.begin_transaction())
    await send(producer, topic, aborted, "the transaction to abort")  # in the log before the abort
    await within("the transaction to abort: abort", producer.abort_transaction())

    # Each transaction's marker takes an offset after its records.
    await within("the last transaction: begin", producer.begin_transaction())
    await send(producer, topic, last, "the last transaction")
    # Open, it is not read_committed yet: the last stable offset is its start.
    got, consumer = await client.read(topic, n + 1, seconds=2, isolation_level="read_committed")
    lso = consumer.last_stable_offset(tp)
    await within("stopping a consumer", consumer.stop())
    check_read(got, first, list(range(n)), "with the last transaction open, a read_committed consumer")
    check(lso == n + m + 2, f"with the last transaction open at offset {n + m + 2}, the last stable offset is {lso}")
    await within("the last transaction: commit", producer.commit_transaction())
    await within("stopping the transactional producer", producer.stop())

    end = n + m + k + 3
    got, consumer = await client.read(topic, n + k + 1, seconds=3, isolation_level="read_committed")  # none past n + k
    lso, high = consumer.last_stable_offset(tp), consumer.highwater(tp)
    ends = await within("the end offset for read_committed", consumer.end_offsets([tp]))
    await within("stopping a consumer", consumer.stop())
    check_read(got, first + last, list(range(n)) + list(range(n + m + 2, n + m + 2 + k)),
               f"a read_committed consumer (after {n} committed, {m} aborted and {k} committed records)")
    check((lso, high, ends[tp]) == (end, end, end),
          f"read_committed: last stable offset {lso}, high watermark {high}, end offset {ends[tp]}; expected {end}")

    got, consumer = await client.read(topic, n + m + k + 1, seconds=3)
    await within("stopping a consumer", consumer.stop())
    check_read(got, first + aborted + last,
               list(range(n)) + list(range(n + 1, n + 1 + m)) + list(range(n + m + 2, n + m + 2 + k)),
               "a read_uncommitted consumer")
