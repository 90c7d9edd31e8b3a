"""A KIP-848 consumer group across a broker kill, with confluent-kafka:
phase 1 commits part of each partition and ends without leaving; after
the restart, phase 2 finds the committed offsets and a new member reads
the rest, each record once."""

import json
import os
import sys
import time

from common import TIMEOUT, check
from confluent.kip848 import CP_PARTITIONS, check_each_once, commit_sync, cp_poll, cp_record, kip848_consumer, produce_numbered


# Phase 1 processes (and commits) offsets below these of each partition,
# 220 of its 400 records; those it reads past them it leaves unprocessed.
CP_RESTART_CUTOFFS = {0: 40, 1: 50, 2: 60, 3: 70}


def cp_restart_first(client, topic, state):
    """Phase 1 of the consumer protocol across a broker crash: a consumer
    of the group processes part of each partition of a 4-partition topic
    of 400 records (offsets below CP_RESTART_CUTOFFS, 220 records),
    committing each synchronously, and leaves what it fetched past them
    unprocessed; it writes what it committed and its member id to the file
    `state`, and ends as if it crashed (no leave). The harness describes
    the group, kills the broker with SIGKILL, starts it again and
    describes the group again."""
    client.create_topic(topic, CP_PARTITIONS)
    expected = {}
    produce_numbered(client, topic, "r", 0, 100, expected)
    check(all(expected[(topic, p)] == [(i, f"r-{p}-{i}".encode()) for i in range(100)] for p in range(CP_PARTITIONS)),
          "records not at the offsets they were produced in order to")
    consumer = kip848_consumer(client, f"{topic}-readers")
    consumer.subscribe([topic])
    committed, got, skipped = {}, [], 0
    deadline = time.time() + TIMEOUT
    while committed != CP_RESTART_CUTOFFS and time.time() < deadline:
        msg = consumer.poll(0.1)
        if msg is None:
            continue
        record = cp_record(msg)
        if msg.offset() >= CP_RESTART_CUTOFFS[msg.partition()]:
            skipped += 1  # fetched, never processed nor committed
            continue
        got.append(record)
        committed[msg.partition()] = commit_sync(client, consumer, msg)
    check(committed == CP_RESTART_CUTOFFS, f"before the restart committed {committed}, expected {CP_RESTART_CUTOFFS}")
    check_each_once(got, {(topic, p): expected[(topic, p)][:n] for p, n in CP_RESTART_CUTOFFS.items()}, "before the restart")
    member = consumer.memberid()
    with open(state, "w") as f:
        json.dump({"member_id": member, "committed": committed}, f)
    print(f"ok: consumer-protocol-restart-first: committed {dict(sorted(committed.items()))} as member {member} "
          f"({skipped} records fetched past them left unprocessed)", flush=True)
    sys.stderr.flush()
    os._exit(0)  # no close: the member stays in the group, as after a crash


def cp_restart_second(client, topic, state):
    """Phase 2, after the broker was killed and started again: the group's
    committed offsets are those of phase 1; a new consumer of the group
    (once the member of phase 1 has timed out: it never comes back) reads
    the rest, from those offsets on: nothing lost, nothing read twice.
    Once it has, it is the group's only member."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    with open(state) as f:
        saved = json.load(f)
    committed = {int(p): offset for p, offset in saved["committed"].items()}
    group = f"{topic}-readers"
    admin = client.admin()
    request = [ConsumerGroupTopicPartitions(group, [client.ck.TopicPartition(topic, p) for p in range(CP_PARTITIONS)])]
    found = admin.list_consumer_group_offsets(request, request_timeout=TIMEOUT)[group].result(TIMEOUT)
    offsets = {tp.partition: tp.offset for tp in found.topic_partitions if tp.offset >= 0}
    check(offsets == committed, f"after the restart the group's committed offsets are {offsets}, expected {committed}")
    consumer = kip848_consumer(client, group)
    consumer.subscribe([topic])
    started = time.time()
    rest = 400 - sum(committed.values())
    got = cp_poll(consumer, rest, TIMEOUT, on_record=lambda msg: commit_sync(client, consumer, msg))
    took = time.time() - started
    got += cp_poll(consumer, None, 1.0)
    expected = {(topic, p): [(i, f"r-{p}-{i}".encode()) for i in range(committed.get(p, 0), 100)] for p in range(CP_PARTITIONS)}
    check_each_once(got, expected, "after the restart, the group's new consumer")
    member = consumer.memberid()
    check(member != saved["member_id"], "the new consumer has the member id of phase 1")
    d = admin.describe_consumer_groups([group], request_timeout=TIMEOUT)[group].result(TIMEOUT)
    check([m.member_id for m in d.members] == [member],
          f"after the restart the group's members are {[m.member_id for m in d.members]}, expected only {member} "
          f"(phase 1's {saved['member_id']} timed out)")
    consumer.close()
    print(f"ok: consumer-protocol-restart-second: {rest} records read in {took:.1f} s (the member of phase 1 timing out "
          "first)", flush=True)
