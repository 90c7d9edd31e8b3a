"""Transactions with confluent-kafka and kafka-python (kcat has none):
the helpers (a transactional producer, one transaction, isolated reads,
committed offsets) and the scenarios: committed and aborted transactions,
exactly-once consume-transform-produce, zombie fencing: KIP-98
transactions and KIP-447 exactly-once processing, as an application using
each library's transactional producer sees them."""

import os
import time
import uuid

from common import T0, TIMEOUT, attempt, check, fail
from confluent.client import Confluent
from confluent.transactional import ConfluentTransactional
from kafka_python.client import KafkaPython
from kafka_python.transactional import KafkaPythonTransactional
from kcat import Kcat


def unique_id(name):
    """A transactional.id of this run alone."""
    return f"{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def shown(records):
    """(offset, value) of each record read, shortened when there are many."""
    pairs = [(r[5], r[1][:24] if r[1] else r[1]) for r in records]
    return pairs if len(pairs) <= 24 else pairs[:16] + ["..."] + pairs[-6:]


def values_of(prefix, count):
    """(key, value) pairs: k0, prefix-0 and on."""
    return [(f"k{i}".encode(), f"{prefix}-{i}".encode()) for i in range(count)]


def transactional(client, transactional_id, **config):
    """A transactional producer of `client`'s library, initialized
    (init_transactions: its producer id and epoch, from the transaction
    coordinator)."""
    kind = {Confluent: ConfluentTransactional, KafkaPython: KafkaPythonTransactional}.get(type(client))
    if kind is None:
        fail(f"{type(client).__name__} has no transactional producer")
    producer = kind(client, transactional_id, **config)
    attempt(f"init_transactions (transactional.id {transactional_id})", producer.init)
    return producer


def run_transaction(producer, what, topic, records, end="commit", before_end=None):
    """One transaction of `producer`: `records` to partition 0 of `topic`,
    then `before_end()` if given, then commit or abort. Records of an
    aborted transaction are flushed first, so that they are in the log."""
    attempt(f"{what}: begin_transaction", producer.begin)
    attempt(f"{what}: producing {len(records)} records", lambda: producer.send(topic, records))
    if before_end is not None:
        before_end()
    if end == "commit":
        attempt(f"{what}: commit_transaction", producer.commit)
    else:
        attempt(f"{what}: flushing before the abort", producer.flush)
        attempt(f"{what}: abort_transaction", producer.abort)


def transform_in_transaction(producer, consumer, source, sink, batch, what, prefix, end="commit"):
    """One transaction of a consume-transform-produce loop: an output
    (key, `prefix` + value) to `sink` for each input record of `batch`,
    the consumer's offset after the batch sent with the transaction
    (send_offsets_to_transaction), then commit or abort. The outputs."""
    offset = batch[-1][5] + 1
    outputs = [(key, prefix + value) for key, value, *_ in batch]
    run_transaction(producer, what, sink, outputs, end=end,
                    before_end=lambda: attempt(f"{what}: send_offsets_to_transaction (offset {offset} of {source})",
                                               lambda: producer.send_offsets(consumer, source, offset)))
    return outputs


def isolated_consumer(client, group, isolation):
    """A consumer of `group` with isolation level `isolation`
    (read_committed or read_uncommitted), auto-commit off."""
    if isinstance(client, Confluent):
        return client.consumer(group, **{"isolation.level": isolation})
    return client.consumer(group, isolation_level=isolation)


def read_isolated(client, topic, isolation, count, seconds=TIMEOUT):
    """What a fresh consumer with `isolation`, assigned partition 0 of
    `topic` from its start, reads, as (key, value, headers, timestamp,
    partition, offset), and where it found the end of the partition.

    librdkafka tells the end (with enable.partition.eof; for read_committed
    it is the last stable offset): this reads at least `count` records and
    on to the end, and gives the end's offset (None when it was not reached
    within `seconds`). kafka-python does not: this reads until it has
    `count` records (or `seconds` have passed), and the end is None."""
    got = []
    deadline = time.time() + seconds
    if isinstance(client, Confluent):
        ck = client.ck
        consumer = client.consumer(f"{topic}-{isolation}", **{"isolation.level": isolation, "enable.partition.eof": True})
        consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
        end = None
        while time.time() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error() is not None and msg.error().code() == ck.KafkaError._PARTITION_EOF:
                # An end before `count` records can be a last stable offset
                # that has not moved past a just-committed transaction yet.
                if len(got) >= count:
                    end = msg.offset()
                    break
                continue
            check(msg.error() is None, f"{isolation} consumer of {topic}: {msg.error()}")
            got.append((msg.key(), msg.value(), msg.headers() or [], msg.timestamp()[1], msg.partition(), msg.offset()))
        consumer.close()
        return got, end
    consumer = isolated_consumer(client, None, isolation)
    tp = client.kafka.TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    while len(got) < count and time.time() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            for m in records:
                got.append((m.key, m.value, list(m.headers), m.timestamp, m.partition, m.offset))
    consumer.close()
    return got, None


def check_read(got, expected, offsets, what):
    """The records `what` read are the (key, value) pairs `expected`, in
    order, at `offsets` (unless None)."""
    check([(r[0], r[1]) for r in got] == expected,
          f"{what} read {len(got)} records {shown(got)}, expected {len(expected)}: "
          f"{[v for _, v in expected][:16]}{'...' if len(expected) > 16 else ''}")
    if offsets is not None:
        check([r[5] for r in got] == offsets, f"{what} read at offsets {[r[5] for r in got]}, expected {offsets}")


def poll_batch(client, consumer, most, deadline):
    """Up to `most` records a subscribed consumer returns in one poll."""
    if isinstance(client, Confluent):
        msgs = consumer.consume(num_messages=most, timeout=0.5)
        for msg in msgs:
            check(msg.error() is None, f"consumer error: {msg.error()}")
        return [(m.key(), m.value(), m.headers() or [], m.timestamp()[1], m.partition(), m.offset()) for m in msgs]
    # One poll for as long as is left (see KafkaPython.poll): it returns as
    # soon as records arrive.
    left_ms = max(1, int((deadline - time.time()) * 1000))
    return [
        (m.key, m.value, list(m.headers), m.timestamp, m.partition, m.offset)
        for records in consumer.poll(timeout_ms=left_ms, max_records=most).values()
        for m in records
    ]


def committed_offset(client, group, topic):
    """The offset `group` has committed on partition 0 of `topic` (None
    when none), asked by a consumer of the group that does not join it.
    Both libraries ask for stable offsets (KIP-447 RequireStable) as
    read_committed consumers: the broker holds back offsets of a
    transaction still being completed."""
    consumer = isolated_consumer(client, group, "read_committed")
    if isinstance(client, Confluent):
        (tp,) = attempt(f"the committed offset of {group} on {topic}",
                        lambda: consumer.committed([client.ck.TopicPartition(topic, 0)], timeout=TIMEOUT))
        consumer.close()
        check(tp.error is None, f"the committed offset of {group} on {topic}: {tp.error}")
        return tp.offset if tp.offset >= 0 else None
    offset = attempt(f"the committed offset of {group} on {topic}",
                     lambda: consumer.committed(client.kafka.TopicPartition(topic, 0), timeout_ms=int(TIMEOUT * 1000)))
    consumer.close()
    return offset


def wait_committed(client, group, topic, expected):
    """committed_offset() once it is `expected`, or at the deadline."""
    deadline = time.time() + TIMEOUT
    while True:
        offset = committed_offset(client, group, topic)
        if offset == expected or time.time() >= deadline:
            return offset
        time.sleep(0.2)


def txn_commit_abort(client, topic):
    """Three transactions of one producer: `first` committed, `aborted`
    aborted (after its records are in the log), `last` committed. A
    read_committed consumer sees the committed records alone, in order; a
    read_uncommitted one sees every record. Each transaction's marker (a
    control record, which no consumer sees) takes an offset after its
    records."""
    client.create_topic(topic, 1)
    first, aborted, last = values_of("committed-a", 10), values_of("aborted", 7), values_of("committed-b", 5)
    n, m, k = len(first), len(aborted), len(last)
    producer = transactional(client, unique_id(topic))
    run_transaction(producer, "the first transaction", topic, first)
    run_transaction(producer, "the transaction to abort", topic, aborted, end="abort")
    run_transaction(producer, "the last transaction", topic, last)
    producer.close()

    committed_offsets = list(range(n)) + list(range(n + m + 2, n + m + 2 + k))
    got, end = read_isolated(client, topic, "read_committed", n + k)
    check_read(got, first + last, committed_offsets,
               f"a read_committed consumer (after {n} committed, {m} aborted and {k} committed records)")
    if isinstance(client, Confluent):
        # The end of the log: the last transaction's marker is at n+m+k+2.
        check(end == n + m + k + 3,
              f"a read_committed consumer found the end of {topic} at {end}, expected the end of the log, {n + m + k + 3} "
              "(the last stable offset did not pass every completed transaction)")
    got, end = read_isolated(client, topic, "read_uncommitted", n + m + k)
    every_offset = list(range(n)) + list(range(n + 1, n + 1 + m)) + list(range(n + m + 2, n + m + 2 + k))
    check_read(got, first + aborted + last, every_offset, "a read_uncommitted consumer")
    if isinstance(client, Confluent):
        check(end == n + m + k + 3, f"a read_uncommitted consumer found the end of {topic} at {end}, expected {n + m + k + 3}")


EXACTLY_ONCE_INPUTS = 100


def txn_exactly_once(client, topic):
    """Consume-transform-produce, exactly once (KIP-447): a consumer of a
    group (read_committed, no auto-commit) reads input records, and for
    each batch a transaction produces one output per input and sends the
    consumer's offsets (send_offsets_to_transaction) before it commits.
    A read_committed consumer of the outputs sees each input's output once,
    in order, and the group's committed offset is the end of the input.
    With confluent-kafka one transaction is also aborted midway (outputs
    produced and flushed, offsets sent): it leaves no output visible and
    the committed offset where it was, and the loop goes on from there."""
    count = EXACTLY_ONCE_INPUTS
    source, sink = f"{topic}-in", f"{topic}-out"
    client.create_topic(source, 1)
    client.create_topic(sink, 1)
    inputs = [(f"k{i}".encode(), f"in-{i}".encode(), [], T0 + i) for i in range(count)]
    client.produce(source, inputs, partition=0)
    group = f"{topic}-processors"
    consumer = isolated_consumer(client, group, "read_committed")
    consumer.subscribe([source])
    producer = transactional(client, unique_id(topic))
    abort_once = isinstance(client, Confluent)
    processed = []  # input records whose transaction committed
    sink_log = []  # (key, value) of every output produced, as in the output log
    deadline = time.time() + TIMEOUT  # for each batch
    while len(processed) < count and time.time() < deadline:
        batch = poll_batch(client, consumer, 20, deadline)
        if not batch:
            continue
        check(all(r[4] == 0 for r in batch), f"input records from partitions {sorted({r[4] for r in batch})}")
        offset = batch[-1][5] + 1
        what = f"the transaction for input offsets {batch[0][5]}..{batch[-1][5]}"
        if abort_once and processed:
            abort_once = False
            before = wait_committed(client, group, source, len(processed))
            check(before == len(processed), f"before the aborted transaction the group's committed offset is {before}, expected {len(processed)}")
            sink_log += transform_in_transaction(producer, consumer, source, sink, batch, f"{what} (to abort)", b"aborted-",
                                                 end="abort")
            after = committed_offset(client, group, source)
            check(after == before, f"after a transaction that sent offset {offset} and was aborted, the group's committed offset is {after}, expected {before} as before it")
            # As an application does after an abort: back to the committed offset.
            consumer.seek(client.ck.TopicPartition(source, 0, before))
            continue
        sink_log += transform_in_transaction(producer, consumer, source, sink, batch, what, b"out-")
        processed += batch
        deadline = time.time() + TIMEOUT
    consumer.close()
    producer.close()
    check(len(processed) == count, f"the loop processed {len(processed)} of {count} input records (none came within {TIMEOUT} s)")
    check([r[5] for r in processed] == list(range(count)),
          f"the loop processed input offsets {[r[5] for r in processed]}, expected 0..{count - 1} once each")
    committed = wait_committed(client, group, source, count)
    check(committed == count, f"the group's committed offset on {source} is {committed}, expected {count} (sent with the transactions)")
    expected = [(key, b"out-" + value) for key, value, *_ in inputs]
    got, _ = read_isolated(client, sink, "read_committed", count)
    check_read(got, expected, None, "a read_committed consumer of the outputs (one for each input, once)")
    got, _ = read_isolated(client, sink, "read_uncommitted", len(sink_log))
    check_read(got, sink_log, None, "a read_uncommitted consumer of the outputs (every output produced, aborted ones too)")


def txn_fencing(client, topic):
    """Zombie fencing: once a second producer with the same
    transactional.id has called init_transactions (which bumps the
    producer epoch), the first one's next transaction fails with a fatal
    fenced error (INVALID_PRODUCER_EPOCH or PRODUCER_FENCED from the
    broker) and writes nothing; the second one's transaction commits."""
    client.create_topic(topic, 1)
    transactional_id = unique_id(topic)
    before, zombie, after = values_of("first", 5), values_of("zombie", 3), values_of("second", 4)
    first = transactional(client, transactional_id)
    run_transaction(first, "the first producer's transaction", topic, before)
    second = transactional(client, transactional_id)
    error = None
    try:
        first.begin()
        first.send(topic, zombie)
        first.commit()
    except Exception as e:
        error = e
    check(error is not None, "the first producer committed a transaction after a second one with its transactional.id initialized: it was not fenced")
    check(first.fenced(error), f"the fenced producer's transaction failed with {error!r}, expected a fatal fenced error "
                               "(librdkafka _FENCED; INVALID_PRODUCER_EPOCH or PRODUCER_FENCED from the broker)")
    first.close()
    run_transaction(second, "the second producer's transaction", topic, after)
    second.close()
    got, _ = read_isolated(client, topic, "read_committed", len(before) + len(after))
    check_read(got, before + after, None, "a read_committed consumer (the first producer's transaction, then the second's)")
    # The zombie's records never reached the log: its AddPartitionsToTxn
    # (or Produce) was refused.
    got, _ = read_isolated(client, topic, "read_uncommitted", len(before) + len(after))
    check_read(got, before + after, None, "a read_uncommitted consumer (nothing of the fenced producer)")


TRANSACTION_PARTS = {
    "commit-abort": txn_commit_abort,
    "exactly-once": txn_exactly_once,
    "fencing": txn_fencing,
}


def transactions(client, prefix, *parts):
    """The transaction scenarios (all, or those named), each on topics of
    its own named after `prefix`."""
    check(not isinstance(client, Kcat), "kcat has no transactional producer")
    for part in parts or TRANSACTION_PARTS:
        check(part in TRANSACTION_PARTS, f"no transaction scenario {part}: {'|'.join(TRANSACTION_PARTS)}")
        TRANSACTION_PARTS[part](client, f"{prefix}-{part}")
        print(f"ok: {part}", flush=True)
