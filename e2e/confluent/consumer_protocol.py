"""The KIP-848 consumer group scenarios (group.protocol=consumer) with
confluent-kafka: one consumer reads everything, two share and hand over,
a regex subscription picks up a new topic, and the AdminClient lists and
describes the group. See kip848 for the consumer and its helpers."""

import threading
import time

from common import CONTEXT, TIMEOUT, check
from confluent.kip848 import (
    CP_PARTITIONS,
    Kip848Member,
    check_each_once,
    cp_poll,
    kip848_consumer,
    members_wait,
    produce_numbered,
)


def cp_read_all(client, topic):
    """One consumer of the group reads all 400 records of a 4-partition
    topic, each once and in order within its partition, and commits the
    end of each partition."""
    client.create_topic(topic, CP_PARTITIONS)
    expected = {}
    produce_numbered(client, topic, "r", 0, 100, expected)
    consumer = kip848_consumer(client, f"{topic}-readers")
    consumer.subscribe([topic])
    started = time.time()
    got = cp_poll(consumer, 400, TIMEOUT)
    took = time.time() - started
    got += cp_poll(consumer, None, 1.0)  # anything more (read twice) shows by then
    check_each_once(got, expected, "one consumer of the group")
    assignment = {tp.partition for tp in consumer.assignment()}
    check(assignment == set(range(CP_PARTITIONS)), f"assigned {sorted(assignment)}, expected every partition")
    result = consumer.commit(asynchronous=False)
    check(all(t.error is None for t in result), f"commit failed: {result}")
    committed = consumer.committed([client.ck.TopicPartition(topic, p) for p in range(CP_PARTITIONS)], timeout=TIMEOUT)
    check([t.offset for t in committed] == [100] * CP_PARTITIONS, f"committed {[(t.partition, t.offset) for t in committed]}")
    member = consumer.memberid()
    consumer.close()
    print(f"ok: read-all: 400 records in {took:.1f} s as member {member}", flush=True)


def cp_share(client, topic):
    """Two consumers of the group share the 4 partitions 2/2; one leaves
    (close()) while records keep coming, and the other takes over its
    partitions from the offsets it committed: across both, every record
    read once, nothing lost."""
    client.create_topic(topic, CP_PARTITIONS)
    group = f"{topic}-sharers"
    one, two = Kip848Member(client, [topic], group), Kip848Member(client, [topic], group)
    members = [one, two]
    everything = {(topic, p) for p in range(CP_PARTITIONS)}
    started = time.time()
    # `one` holds every partition before `two` joins, so that no partition
    # comes back to a consumer that lost it: librdkafka (2.16) can resume
    # such a partition for one fetch at the offset it stopped at before
    # seeking to the committed one (the stale next-fetch-start of
    # librdkafka#4637), which reads a committed record twice whatever the
    # broker answers.
    one.start()
    members_wait([one], lambda: one.snapshot()[1] == everything, "the first consumer to hold every partition")
    two.start()

    def split():
        mine, theirs = one.snapshot()[1], two.snapshot()[1]
        return len(mine) == 2 and len(theirs) == 2 and mine | theirs == everything

    members_wait(members, split, "both consumers to hold two partitions each")
    formed = time.time() - started
    mine, theirs = one.snapshot()[1], two.snapshot()[1]
    expected = {}
    produce_numbered(client, topic, "a", 0, 50, expected)
    total = lambda: len(one.snapshot()[0]) + len(two.snapshot()[0])  # noqa: E731
    members_wait(members, lambda: total() >= 200, "200 records read by the two consumers")
    read_one, read_two = one.snapshot()[0], two.snapshot()[0]
    check({(r[6], r[4]) for r in read_one} <= mine and {(r[6], r[4]) for r in read_two} <= theirs,
          "records read from partitions the consumer was not assigned")
    check_each_once(read_one + read_two, expected, "before the hand-over, the two consumers",
                    [("one", one), ("two", two)])

    # Records keep coming while `one` leaves; more once `two` holds all.
    def keep_producing():
        for i in range(5):
            produce_numbered(client, topic, "b", 50 + 5 * i, 5, expected)
            time.sleep(0.1)

    producing = threading.Thread(target=keep_producing, daemon=True)
    producing.start()
    time.sleep(0.2)
    leaving = time.time()
    one.stop()
    members_wait([two], lambda: two.snapshot()[1] == everything, "the remaining consumer to take over every partition")
    took_over = time.time() - leaving
    producing.join(TIMEOUT)
    produce_numbered(client, topic, "c", 75, 25, expected)
    members_wait([two], lambda: total() >= 400, "all 400 records read across both consumers")
    time.sleep(1.0)  # anything read twice shows by then
    read_one, read_two = one.snapshot()[0], two.snapshot()[0]
    check_each_once(read_one + read_two, expected, "across both consumers (one left, the other took over)",
                    [("one", one), ("two", two)])
    for tp in sorted(mine):
        taken = [r[5] for r in read_two if (r[6], r[4]) == tp]
        left_at = one.committed.get(tp)
        check(taken and taken[0] == left_at,
              f"{tp[0]}[{tp[1]}]: the consumer that left committed {left_at}; the one that took over began at "
              f"{taken[0] if taken else None}")
    check(two.committed == {tp: 100 for tp in everything}, f"committed at the end: {sorted(two.committed.items())}")
    two.stop()
    handed = {tp[1]: one.committed.get(tp) for tp in sorted(mine)}
    print(f"ok: share: group of two in {formed:.1f} s ({sorted(p for _, p in mine)} / {sorted(p for _, p in theirs)}); "
          f"partitions {handed} (committed offsets) taken over {took_over:.1f} s after close(); "
          f"{len(read_one)} + {len(read_two)} records, each once", flush=True)


def cp_regex(client, topic):
    """A subscription to the regular expression ^regex-.* (sent to the
    broker, which resolves it): the matching topic's records, then those
    of a matching topic created after the consumer subscribed; nothing of
    a topic that does not match."""
    first, later, unmatched = "regex-first", "regex-later", f"{topic}-unmatched"
    client.create_topic(first, 2)
    client.create_topic(unmatched, 2)
    expected, ignored = {}, {}
    produce_numbered(client, first, "f", 0, 10, expected, partitions=2)
    produce_numbered(client, unmatched, "u", 0, 10, ignored, partitions=2)
    member = Kip848Member(client, ["^regex-.*"], f"{topic}-readers")
    member.start()
    members_wait([member], lambda: len(member.snapshot()[0]) >= 20, f"the 20 records of {first}")
    check(member.snapshot()[1] == {(first, 0), (first, 1)}, f"assigned {sorted(member.snapshot()[1])}, expected {first}'s partitions")
    created = time.time()
    client.create_topic(later, 2)
    produce_numbered(client, later, "l", 0, 10, expected, partitions=2)
    produce_numbered(client, unmatched, "u", 10, 10, ignored, partitions=2)
    members_wait([member], lambda: {(later, 0), (later, 1)} <= member.snapshot()[1],
                 f"{later}, created after the subscription, to be assigned")
    picked_up = time.time() - created
    members_wait([member], lambda: len(member.snapshot()[0]) >= 40, f"the 20 records of {later}")
    time.sleep(1.0)
    read, partitions = member.snapshot()
    check(partitions == {(first, 0), (first, 1), (later, 0), (later, 1)}, f"assigned {sorted(partitions)}")
    check_each_once(read, expected, "the regex subscriber")
    member.stop()
    print(f"ok: regex: {later} assigned {picked_up:.1f} s after it was created", flush=True)


def cp_admin(client, topic):
    """The AdminClient's view of a consumer group (next to a classic
    group): list_consumer_groups (ListGroups v5) gives its type CONSUMER
    and state STABLE, and filters by type; describe_consumer_groups
    (ConsumerGroupDescribe) gives its type, state, assignor, and each member
    with its client id, host and assignment, as the members have them;
    after a member leaves, the other alone with every partition; once
    both are gone, the group is EMPTY."""
    from confluent_kafka import ConsumerGroupState, ConsumerGroupType

    client.create_topic(topic, CP_PARTITIONS)
    group, classic = f"{topic}-new", f"{topic}-classic"
    one, two = Kip848Member(client, [topic], group), Kip848Member(client, [topic], group)
    members = [one, two]
    one.start()
    two.start()
    everything = {(topic, p) for p in range(CP_PARTITIONS)}

    def split():
        mine, theirs = one.snapshot()[1], two.snapshot()[1]
        return len(mine) == 2 and len(theirs) == 2 and mine | theirs == everything

    members_wait(members, split, "both consumers to hold two partitions each")
    old = client.consumer(classic)
    old.subscribe([topic])
    deadline = time.time() + TIMEOUT
    while not old.assignment() and time.time() < deadline:
        old.poll(0.1)
    check(old.assignment(), "the classic consumer got no assignment")
    admin = client.admin()

    def listed(**kwargs):
        result = admin.list_consumer_groups(request_timeout=TIMEOUT, **kwargs).result(TIMEOUT)
        check(not result.errors, f"list_consumer_groups errors: {result.errors}")
        return {g.group_id: g for g in result.valid}

    groups = listed()
    for g in groups.values():
        print(f"listed: {g.group_id} type={g.type} state={g.state} simple={g.is_simple_consumer_group}", flush=True)
    check(group in groups and classic in groups, f"listed {sorted(groups)}, expected {group} and {classic}")
    check(groups[group].type == ConsumerGroupType.CONSUMER, f"{group} listed with type {groups[group].type}")
    check(groups[group].state == ConsumerGroupState.STABLE, f"{group} listed as {groups[group].state}")
    check(not groups[group].is_simple_consumer_group, f"{group} listed as a simple group")
    check(groups[classic].type == ConsumerGroupType.CLASSIC, f"{classic} listed with type {groups[classic].type}")
    ours = {group, classic}  # of the groups on the broker
    only = listed(types={ConsumerGroupType.CONSUMER})
    check(set(only) & ours == {group}, f"listed with types=CONSUMER: {sorted(only)}")
    only = listed(types={ConsumerGroupType.CLASSIC})
    check(set(only) & ours == {classic}, f"listed with types=CLASSIC: {sorted(only)}")
    only = listed(types={ConsumerGroupType.CONSUMER}, states={ConsumerGroupState.STABLE})
    check(set(only) & ours == {group}, f"listed with types=CONSUMER, states=STABLE: {sorted(only)}")

    def describe(group_id):
        return admin.describe_consumer_groups([group_id], request_timeout=TIMEOUT)[group_id].result(TIMEOUT)

    def show(d):
        print(f"described: {d.group_id} type={d.type} state={d.state} assignor={d.partition_assignor!r} "
              f"coordinator={d.coordinator.id} simple={d.is_simple_consumer_group}", flush=True)
        for m in d.members:
            parts = lambda a: sorted((tp.topic, tp.partition) for tp in a.topic_partitions) if a else None  # noqa: E731
            print(f"  member {m.member_id} client_id={m.client_id!r} host={m.host!r} instance={m.group_instance_id} "
                  f"assignment={parts(m.assignment)} target={parts(m.target_assignment)}", flush=True)

    def members_of(d):
        return {m.member_id: ({(tp.topic, tp.partition) for tp in m.assignment.topic_partitions},
                              {(tp.topic, tp.partition) for tp in m.target_assignment.topic_partitions}
                              if m.target_assignment else None) for m in d.members}

    def describe_until(want):
        """The group described once its members are `want`, or at the deadline."""
        deadline = time.time() + TIMEOUT
        while True:
            d = describe(group)
            if members_of(d) == want or time.time() >= deadline:
                return d
            time.sleep(0.2)

    want = {m.member_id: (m.snapshot()[1], m.snapshot()[1]) for m in members}
    d = describe_until(want)
    show(d)
    check(d.type == ConsumerGroupType.CONSUMER, f"{group} described with type {d.type}")
    check(d.state == ConsumerGroupState.STABLE, f"{group} described as {d.state}")
    check(d.partition_assignor == "uniform", f"{group} described with assignor {d.partition_assignor!r}")
    check(not d.is_simple_consumer_group, f"{group} described as a simple group")
    check(members_of(d) == want, f"{group} described with members {members_of(d)}, the members have {want}")
    for m in d.members:
        check(m.client_id == "rdkafka" and m.host, f"member {m.member_id}: client id {m.client_id!r}, host {m.host!r}")
    c = describe(classic)
    show(c)
    check(c.type == ConsumerGroupType.CLASSIC, f"{classic} described with type {c.type}")
    check(len(c.members) == 1 and c.state == ConsumerGroupState.STABLE, f"{classic}: {len(c.members)} members, {c.state}")

    one.stop()
    members_wait([two], lambda: two.snapshot()[1] == everything, "the remaining consumer to take over every partition")
    d = describe_until({two.member_id: (everything, everything)})
    show(d)
    check(members_of(d) == {two.member_id: (everything, everything)},
          f"after one left, {group} described with members {members_of(d)}")
    two.stop()
    old.close()
    groups = listed()
    check(groups.get(group) and groups[group].state == ConsumerGroupState.EMPTY,
          f"once its members left, {group} is listed as {groups[group].state if group in groups else 'missing'}")
    d = describe(group)
    show(d)
    check(d.state == ConsumerGroupState.EMPTY and not d.members, f"{group} described as {d.state} with {len(d.members)} members")


CONSUMER_PROTOCOL_PARTS = {
    "read-all": cp_read_all,
    "share": cp_share,
    "regex": cp_regex,
    "admin": cp_admin,
}


def consumer_protocol(client, prefix, *parts):
    """The consumer protocol scenarios (all, or those named), each on
    topics of its own named after `prefix`."""
    for part in parts or CONSUMER_PROTOCOL_PARTS:
        check(part in CONSUMER_PROTOCOL_PARTS, f"no consumer protocol scenario {part}: {'|'.join(CONSUMER_PROTOCOL_PARTS)}")
        CONTEXT[:] = [part]
        CONSUMER_PROTOCOL_PARTS[part](client, f"{prefix}-{part}")
    CONTEXT[:] = []
