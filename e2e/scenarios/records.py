"""Records produced and consumed: the record set (also across clients),
a round trip, the idempotent producer, compression codecs, offsets by
time, and records and commits that survive a broker restart."""

from common import RECORDS, T0, check, same_record
from confluent.client import Confluent
from kcat import Kcat, kcat_codecs, kcat_list_offsets


def produce_set(client, topic):
    """The record set, in order, to partition 0."""
    client.produce(topic, RECORDS, partition=0)


def consume_set(client, topic, group="verify", timestamps="yes"):
    """Checks the record set, produced by any client, record by record
    (timestamps only when the producer could set them)."""
    got = client.consume(topic, group, len(RECORDS))
    for i, (record, expected) in enumerate(zip(got, RECORDS)):
        check(record[4] == 0 and record[5] == i, f"record {i} at partition {record[4]} offset {record[5]}")
        same_record(record[:4], expected, f"record {i}", timestamps == "yes")


def roundtrip(client, topic):
    produce_set(client, topic)
    consume_set(client, topic, timestamps="yes" if getattr(client, "sets_timestamps", True) else "no")


def idempotent(client, topic):
    records = [(f"k{i}".encode(), f"v{i}".encode(), [], T0 + i) for i in range(200)]
    if isinstance(client, Kcat):
        client.produce_lines(topic, [r[1] for r in records], config=["enable.idempotence=true"])
    elif isinstance(client, Confluent):
        client.produce(topic, records, partition=0, **{"enable.idempotence": True, "linger.ms": 5})
    else:
        client.produce(topic, records, partition=0, enable_idempotence=True)
    got = client.consume(topic, "exactly-once", 200)
    check([r[1] for r in got] == [r[1] for r in records], "records lost, reordered or duplicated")
    check([r[5] for r in got] == list(range(200)), "offsets not contiguous")


def codecs(client, topic, *names):
    if isinstance(client, Kcat):
        return kcat_codecs(client, topic, *names)
    for name in names:
        t = f"{topic}-{name}"
        if isinstance(client, Confluent):
            client.produce(t, RECORDS, partition=0, **{"compression.type": name, "linger.ms": 20})
        else:
            client.produce(t, RECORDS, partition=0, compression_type=name)
        consume_set(client, t, group=f"codec-{name}")


def list_offsets(client, topic):
    if isinstance(client, Kcat):
        return kcat_list_offsets(client, topic)
    client.produce(topic, [(b"k", f"v{i}".encode(), [], T0 + 1000 * i) for i in range(5)], partition=0)
    check(client.watermarks(topic, 0) == (0, 5), f"watermarks {client.watermarks(topic, 0)}")
    for timestamp, expected in [(T0 - 1, 0), (T0, 0), (T0 + 1, 1), (T0 + 2500, 3), (T0 + 4000, 4), (T0 + 4001, -1)]:
        found = client.offsets_at(topic, 0, timestamp)
        check(found == expected, f"offset for time {timestamp}: {found}, expected {expected}")


def restart_produce(client, topic, count):
    """Phase 1 of the restart scenario: acknowledged records."""
    if isinstance(client, Kcat):
        return client.produce_lines(topic, [f"r{i}".encode() for i in range(int(count))])
    client.produce(topic, [(b"k", f"r{i}".encode(), [], T0 + i) for i in range(int(count))], partition=0)


def restart_commit(client, topic, committed):
    if isinstance(client, Kcat):  # kcat commits what it read when it exits
        client.consume(topic, "survivors", int(committed))
        return
    got, consumer = client.consume(topic, "survivors", int(committed), close=False)
    client.commit(consumer, topic, 0, int(committed))
    consumer.close()


def restart_verify(client, topic, count, committed):
    count, committed = int(count), int(committed)
    got = client.consume(topic, "a-new-group", count)
    check([r[1] for r in got] == [f"r{i}".encode() for i in range(count)], "acknowledged records lost after the restart")
    got = client.consume(topic, "survivors", count - committed)
    check([r[5] for r in got] == list(range(committed, count)), f"the group resumed at {got[0][5] if got else None}")
