"""Transactions across a broker kill, with confluent-kafka: a transaction
left open when the broker is killed is aborted after the restart, and
consume-transform-produce stays exactly-once across a kill -9. Each
scenario is two phases, run before and after the harness restarts the
broker."""

import os
import sys
import time

from common import T0, TIMEOUT, attempt, check, fail
from confluent.client import Confluent
from scenarios.transactions import (
    check_read,
    isolated_consumer,
    poll_batch,
    read_isolated,
    run_transaction,
    shown,
    transactional,
    transform_in_transaction,
    values_of,
    wait_committed,
)


RESTART_TRANSACTION_TIMEOUT_MS = 5000


def transactions_restart_open(client, topic, committed, left_open):
    """Phase 1 of the transaction restart scenario (confluent-kafka): a
    committed transaction of `committed` records, then one of `left_open`
    records, flushed (in the log) and neither committed nor aborted. The
    process then ends at once, as if it crashed: nothing aborts the open
    transaction but the broker, when its timeout (5 s) expires."""
    check(isinstance(client, Confluent), "the transaction restart scenario is written for confluent-kafka")
    committed, left_open = int(committed), int(left_open)
    client.create_topic(topic, 1)
    config = {"transaction.timeout.ms": RESTART_TRANSACTION_TIMEOUT_MS}
    producer = transactional(client, f"{topic}-producer", **config)
    run_transaction(producer, "the committed transaction", topic, values_of("committed", committed))
    attempt("the open transaction: begin_transaction", producer.begin)
    attempt(f"the open transaction: producing {left_open} records", lambda: producer.send(topic, values_of("open", left_open)))
    attempt("the open transaction: flushing", producer.flush)
    print(f"ok: {sys.argv[1]} transactions-restart-open (a transaction left open)", flush=True)
    sys.stderr.flush()
    os._exit(0)  # no destructor, no abort


def transactions_restart_verify(client, topic, committed, left_open):
    """Phase 2, after the broker was killed and started again: the open
    transaction is aborted (the broker writes its abort marker once the
    transaction times out, within 30 s here) and the last stable offset
    moves to the end of the log; a read_committed consumer then sees the
    committed records alone, a read_uncommitted one those of the aborted
    transaction too. The transactional.id then works again: a new producer
    with it (a newer epoch) commits a transaction."""
    committed, left_open = int(committed), int(left_open)
    kept, opened = values_of("committed", committed), values_of("open", left_open)
    end_of_log = committed + 1 + left_open + 1  # each transaction's marker takes an offset
    deadline = time.time() + TIMEOUT
    while True:
        got, end = read_isolated(client, topic, "read_committed", committed, seconds=10)
        probe = client.consumer("high-watermark", **{"isolation.level": "read_uncommitted"})
        high = probe.get_watermark_offsets(client.ck.TopicPartition(topic, 0), timeout=TIMEOUT)[1]
        probe.close()
        if end is not None and end == high:
            break
        if time.time() >= deadline:
            fail(f"the transaction left open before the restart was not aborted within {TIMEOUT:.0f} s: a read_committed "
                 f"consumer stops at offset {end} (the last stable offset; None: not reached), the log ends at {high}; "
                 f"it read {shown(got)}")
        time.sleep(0.5)
    check_read(got, kept, list(range(committed)), "after the restart, a read_committed consumer")
    check(high == end_of_log, f"after the restart the log ends at {high}, expected {end_of_log}: {committed} committed records "
                              f"and their commit marker, {left_open} of the open transaction and its abort marker")
    got, end = read_isolated(client, topic, "read_uncommitted", committed + left_open)
    check_read(got, kept + opened, list(range(committed)) + list(range(committed + 1, committed + 1 + left_open)),
               "after the restart, a read_uncommitted consumer")
    check(end == end_of_log, f"a read_uncommitted consumer found the end at {end}, expected {end_of_log}")
    config = {"transaction.timeout.ms": RESTART_TRANSACTION_TIMEOUT_MS}
    producer = transactional(client, f"{topic}-producer", **config)
    extra = [(b"k", b"after-the-restart")]
    run_transaction(producer, "a transaction after the restart", topic, extra)
    producer.close()
    got, end = read_isolated(client, topic, "read_committed", committed + 1)
    check_read(got, kept + extra, list(range(committed)) + [end_of_log],
               "a read_committed consumer, after a transaction with the same transactional.id after the restart")
    check(end == end_of_log + 2, f"a read_committed consumer found the end at {end}, expected {end_of_log + 2}")


def eos_loop(client, consumer, producer, group, source, sink, until, outputs):
    """The consume-transform-produce loop of the exactly-once restart
    scenario: transactions of up to 10 inputs, each producing one output
    per input and sending the consumer's offsets, until `until` inputs
    are processed in all (counted by the group's committed offset).
    Returns the inputs processed."""
    processed = []
    deadline = time.time() + TIMEOUT
    while len(processed) < until and time.time() < deadline:
        batch = poll_batch(client, consumer, min(10, until - len(processed)), deadline)
        if not batch:
            continue
        what = f"the transaction for input offsets {batch[0][5]}..{batch[-1][5]}"
        outputs += transform_in_transaction(producer, consumer, source, sink, batch, what, b"out-")
        processed += batch
        deadline = time.time() + TIMEOUT
    return processed


def eos_restart_first(client, topic, count):
    """Phase 1 of exactly-once across a broker crash (confluent-kafka):
    `count` inputs; the loop processes half of them in committed
    transactions, then a transaction produces the next outputs and sends
    its offsets, flushed but not committed, and the process ends as if it
    crashed. The harness then kills the broker with SIGKILL."""
    check(isinstance(client, Confluent), "the exactly-once restart scenario is written for confluent-kafka")
    count = int(count)
    source, sink, group = f"{topic}-in", f"{topic}-out", f"{topic}-processors"
    client.create_topic(source, 1)
    client.create_topic(sink, 1)
    inputs = [(f"k{i}".encode(), f"in-{i}".encode(), [], T0 + i) for i in range(count)]
    client.produce(source, inputs, partition=0)
    consumer = isolated_consumer(client, group, "read_committed")
    consumer.subscribe([source])
    producer = transactional(client, f"{topic}-processor")
    processed = eos_loop(client, consumer, producer, group, source, sink, count // 2, [])
    check(len(processed) == count // 2, f"phase 1 processed {len(processed)} inputs, expected {count // 2}")
    batch = []
    deadline = time.time() + TIMEOUT
    while not batch and time.time() < deadline:
        batch = poll_batch(client, consumer, 10, deadline)
    check(batch, "no input came for the transaction left open")
    attempt("the open transaction: begin_transaction", producer.begin)
    attempt("the open transaction: producing", lambda: producer.send(sink, [(k, b"out-" + v) for k, v, *_ in batch]))
    attempt("the open transaction: send_offsets_to_transaction",
            lambda: producer.send_offsets(consumer, source, batch[-1][5] + 1))
    attempt("the open transaction: flushing", producer.flush)
    print(f"ok: {sys.argv[1]} eos-restart-first ({len(processed)} inputs committed, {len(batch)} in an open transaction)",
          flush=True)
    sys.stderr.flush()
    os._exit(0)  # no destructor, no abort


def eos_restart_second(client, topic, count):
    """Phase 2, after the broker was killed and started again: a new
    instance of the processor (same group, same transactional.id) fences
    the old one, whose open transaction is aborted (until then the
    group's offsets are unstable: KIP-447), resumes from the
    group's committed offset and processes the rest. Exactly once: a
    read_committed consumer of the outputs sees each input's output once,
    in order, and the group's committed offset is `count`."""
    count = int(count)
    source, sink, group = f"{topic}-in", f"{topic}-out", f"{topic}-processors"
    # The new instance first fences the old one: its open transaction is
    # aborted, so the group's offsets are stable again.
    producer = transactional(client, f"{topic}-processor")
    resumed = wait_committed(client, group, source, count // 2)
    check(resumed == count // 2, f"after the restart the group's committed offset is {resumed}, expected {count // 2}: "
                                 "the open transaction's offsets must not count")
    consumer = isolated_consumer(client, group, "read_committed")
    consumer.subscribe([source])
    processed = eos_loop(client, consumer, producer, group, source, sink, count - count // 2, [])
    consumer.close()
    producer.close()
    check([r[5] for r in processed] == list(range(count // 2, count)),
          f"after the restart the processor read input offsets {[r[5] for r in processed]}, expected {count // 2}..{count - 1}")
    committed = wait_committed(client, group, source, count)
    check(committed == count, f"the group's committed offset is {committed}, expected {count}")
    expected = [(f"k{i}".encode(), f"out-in-{i}".encode()) for i in range(count)]
    got, _ = read_isolated(client, sink, "read_committed", count)
    check_read(got, expected, None, "a read_committed consumer of the outputs across the crash (each input's once)")
