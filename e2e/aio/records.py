"""Records produced and read back: the idempotent producer, and each
compression codec (the harness then looks for batches of that codec in the
partition's log)."""

from common import RECORDS, T0, check, same_record

from aio.client import within

# The round trips' record set (keys, values and headers of every kind), then
# 200 small records: several batches in flight at once.
MANY = RECORDS + [(f"k{i}".encode(), f"v{i}".encode(), [("i", str(i).encode())], T0 + 100 + i) for i in range(200)]


def same_records(got, expected, topic):
    """Record by record: keys, values, headers, timestamps, all in order
    on partition 0 at offsets 0, 1, 2..."""
    check(len(got) == len(expected), f"{topic}: read {len(got)} records, expected {len(expected)}")
    for i, (record, wanted) in enumerate(zip(got, expected)):
        check(record[4:] == (0, i), f"{topic}: record {i} at partition {record[4]} offset {record[5]}")
        same_record(record[:4], wanted, f"{topic} record {i}")


async def idempotent(client, topic):
    """An idempotent producer (enable_idempotence: a producer id from
    InitProducerId, sequence numbers on its batches) sends MANY without
    waiting; it gets consecutive offsets, and a consumer reads exactly those
    records, once each, in order."""
    producer = await client.producer(enable_idempotence=True, linger_ms=5)
    offsets = await client.send(producer, topic, MANY)
    # aiokafka keeps the producer id the broker gave it here (no public API).
    producer_id = producer._txn_manager.producer_id if producer._txn_manager else None
    await within("stopping the idempotent producer", producer.stop())
    check(producer_id is not None and producer_id >= 0, f"the idempotent producer has producer id {producer_id}")
    check(offsets == list(range(len(MANY))), f"acknowledged at offsets {offsets[:10]}..., expected 0..{len(MANY) - 1}")
    got, consumer = await client.read(topic, len(MANY) + 1, seconds=3)  # one more than sent: none comes
    await within("stopping the consumer", consumer.stop())
    same_records(got, MANY, topic)


async def codecs(client, prefix, *names):
    """For each codec `name`, the record set produced compressed with it to
    `<prefix>-<name>`, and read back."""
    check(names, "no codec named")
    for name in names:
        topic = f"{prefix}-{name}"
        offsets = await client.produce(topic, RECORDS, compression_type=name, linger_ms=20)
        check(offsets == list(range(len(RECORDS))), f"{topic}: acknowledged at offsets {offsets}")
        same_records(await client.consume(topic, len(RECORDS)), RECORDS, topic)
        print(f"ok: {name}", flush=True)
