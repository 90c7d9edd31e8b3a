"""Log cleanup as a user of each library's admin API sees it: retention
altered at runtime (and DeleteRecords), and a compacted topic. Both need a
broker that checks often (log.retention.check.interval.ms,
log.cleaner.backoff.ms)."""

import time

from common import TIMEOUT, check, fail
from confluent.admin import confluent_alter
from confluent.client import Confluent
from kafka_python.admin import kafka_python_alter


def retention(client, topic):
    """A topic's retention altered at runtime, as an operator would: once
    `retention.bytes` is set, the oldest segments go, the earliest offset
    moves up and a new group reading from the start begins there; the
    override is described, refused when invalid, and reset; DeleteRecords
    moves the start further. Needs a broker that checks retention often."""
    now = int(time.time() * 1000)
    client.create_topic(topic, 1, **{"segment.bytes": "65536"})
    # Batches below the segment size (the broker refuses larger ones).
    small_batches = {"batch.size": 16384} if isinstance(client, Confluent) else {}
    records = [(f"k{i}".encode(), bytes([97 + i % 26]) * 1000, [], now + i) for i in range(300)]
    client.produce(topic, records, partition=0, **small_batches)
    check(client.watermarks(topic, 0) == (0, 300), f"watermarks {client.watermarks(topic, 0)}")
    alter = confluent_alter if isinstance(client, Confluent) else kafka_python_alter
    alter(client, topic, {"retention.bytes": "150000"})
    deadline = time.time() + TIMEOUT
    while client.watermarks(topic, 0)[0] == 0 and time.time() < deadline:
        time.sleep(0.2)
    low, high = client.watermarks(topic, 0)
    # Whole segments go while what is left is at least retention.bytes.
    check(high == 300 and 140 <= high - low < 230, f"after retention.bytes=150000: watermarks {(low, high)}")
    got = client.consume(topic, "from-the-start", high - low)
    check([r[5] for r in got] == list(range(low, high)), f"read offsets {[r[5] for r in got][:3]}..., expected {low}..")
    check(got[0][1] == bytes([97 + low % 26]) * 1000, "the first record kept is not the one at the log start")
    check(described(client, topic, "retention.bytes") == "150000", "retention.bytes not described")
    try:
        alter(client, topic, {"retention.ms": "soon"})
        fail("retention.ms=soon was accepted")
    except Exception as e:  # each library raises its own error type
        check("INVALID_CONFIG" in repr(e).upper() or "InvalidConfig" in repr(e), f"retention.ms=soon: {e!r}")
    alter(client, topic, {"retention.bytes": None})
    check(described(client, topic, "retention.bytes") == "-1", "retention.bytes not reset")
    check(described(client, topic, "segment.bytes") == "65536", "segment.bytes lost by the reset")
    delete_records(client, topic, high - 5)
    check(client.watermarks(topic, 0) == (high - 5, high), f"after DeleteRecords: {client.watermarks(topic, 0)}")


COMPACTED_KEYS = 20
COMPACTED_VERSIONS = 15


def padded(text):
    """A value of about 100 bytes that starts with `text`."""
    return (text + ":").ljust(100, "-").encode()


def compaction(client, topic):
    """A compacted topic, as a user of Kafka's LogCleaner sees it: after
    many versions of a few keys, a tombstone and enough other records that
    the last versions are out of the active segment, a consumer from the
    start reads each key once, with its last value, at the offset it was
    produced at; the deleted key is gone (or, until a later pass removes
    it, only its tombstone is left). Needs a broker whose cleaner backs off
    briefly (log.cleaner.backoff.ms)."""
    configs = {
        "cleanup.policy": "compact",
        "segment.bytes": "4096",
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": "0",
    }
    client.create_topic(topic, 1, **configs)
    records = [
        (f"key-{k}".encode(), padded(f"key-{k}:v{v}"))
        for v in range(COMPACTED_VERSIONS) for k in range(COMPACTED_KEYS)
    ]
    records.append((b"key-0", None))
    records += [(f"filler-{n % 3}".encode(), padded(f"filler-{n % 3}:{n}")) for n in range(60)]
    # Batches well below the segment size (the broker refuses larger ones).
    small_batches = {"batch.size": 2048} if isinstance(client, Confluent) else {"batch_size": 2048}
    offsets = client.produce_at(topic, records, 0, **small_batches)
    check(offsets == list(range(len(records))), f"produced at offsets {offsets[:5]}..{offsets[-5:]}, expected 0..{len(records) - 1}")
    check(client.watermarks(topic, 0)[1] == len(records), f"watermarks {client.watermarks(topic, 0)}")
    produced = {offset: record for offset, record in zip(offsets, records)}
    last = {}  # key-N: the offset of its last record
    for offset, (key, _) in zip(offsets, records):
        if key.startswith(b"key-"):
            last[key] = offset
    tombstone = last.pop(b"key-0")
    deadline = time.time() + TIMEOUT
    while True:
        # Each read has time of its own, so the last one is a whole read.
        got = client.read_from_start(topic, 0, offsets[-1], time.time() + 10)
        problem = compaction_problem(got, produced, last, tombstone, offsets[-1])
        if problem is None:
            break
        if time.time() >= deadline:
            fail(f"not compacted within {TIMEOUT} s: {problem}")
        time.sleep(0.5)
    check(described(client, topic, "cleanup.policy") == "compact", "cleanup.policy not described")
    ratio = described(client, topic, "min.cleanable.dirty.ratio")
    check(ratio == "0.01", f"min.cleanable.dirty.ratio described as {ratio}")


def compaction_problem(got, produced, last, tombstone, end):
    """What is wrong with `got` as a read of the compacted log, or None."""
    seen = [(r[5], r[0], r[1][:12] if r[1] else r[1]) for r in got if r[0] and r[0].startswith(b"key-")]
    shown = seen if len(seen) <= 40 else seen[:20] + ["..."] + seen[-20:]
    where = f"read {len(got)} records, up to offset {got[-1][5] if got else None}; {len(seen)} key-N records {shown}"
    if not got or got[-1][5] != end:
        return f"the read did not reach offset {end}: {where}"
    offsets = [r[5] for r in got]
    if any(a >= b for a, b in zip(offsets, offsets[1:])):
        return f"offsets not increasing: {offsets}"
    for r in got:
        if r[4] != 0 or (r[0], r[1]) != produced.get(r[5]):
            return f"record at partition {r[4]} offset {r[5]} ({r[0]!r}, {r[1]!r}) is not the one produced there"
    kept = {}
    for offset, key, _ in seen:
        kept.setdefault(key, []).append(offset)
    deleted = kept.pop(b"key-0", [])
    if deleted not in ([], [tombstone]):
        return f"key-0 at offsets {deleted}, expected only its tombstone at {tombstone} or nothing: {where}"
    expected = {key: [offset] for key, offset in last.items()}
    if kept != expected:
        return f"keys kept at {sorted(kept.items())}, expected {sorted(expected.items())}: {where}"
    return None


def described(client, topic, name):
    if isinstance(client, Confluent):
        from confluent_kafka.admin import ConfigResource, ResourceType

        admin = client.admin()
        configs = list(admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)]).values())[0].result(TIMEOUT)
        return configs[name].value
    from kafka.admin import ConfigResource, ConfigResourceType

    result = client.admin().describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
    return result["topic"][topic][name]["value"]


def delete_records(client, topic, offset):
    if isinstance(client, Confluent):
        admin = client.admin()
        futures = admin.delete_records([client.ck.TopicPartition(topic, 0, offset)])
        for future in futures.values():
            future.result(TIMEOUT)
        return
    client.admin().delete_records({client.kafka.TopicPartition(topic, 0): offset})
