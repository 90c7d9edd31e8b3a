"""Topics with AIOKafkaAdminClient: created (also validate-only, and one
that exists), described, grown, deleted, and gone."""

import asyncio
import time

from aiokafka.admin import NewPartitions, NewTopic

from common import TIMEOUT, check

from aio.client import within

UNKNOWN_TOPIC_OR_PARTITION = 3
TOPIC_ALREADY_EXISTS = 36


def errors_of(pairs):
    return {topic: code for topic, code, *_ in pairs}


async def check_described(admin, wanted):
    """Each topic of `wanted` (name: partitions) is described with that many
    partitions, each led by node 1, its one replica and in-sync replica."""
    described = await within(f"describing {sorted(wanted)}", admin.describe_topics(list(wanted)))
    found = {t["topic"]: t for t in described}
    check(set(found) == set(wanted), f"described {sorted(found)}, expected {sorted(wanted)}")
    for name, count in wanted.items():
        topic = found[name]
        check(topic["error_code"] == 0, f"describing {name}: error {topic['error_code']}")
        partitions = sorted((p["partition"], p["error_code"], p["leader"], p["replicas"], p["isr"]) for p in topic["partitions"])
        check(partitions == [(p, 0, 1, [1], [1]) for p in range(count)],
              f"{name}: partitions (index, error, leader, replicas, isr) {partitions}, expected {count} led by node 1")


async def admin(client, prefix):
    admin = await client.admin()
    wanted = {f"{prefix}-three": 3, f"{prefix}-one": 1}
    response = await within(f"creating {wanted}", admin.create_topics([NewTopic(t, p, 1) for t, p in wanted.items()]))
    check(errors_of(response.topic_errors) == {t: 0 for t in wanted}, f"creating {wanted}: {response.topic_errors}")

    validated = f"{prefix}-validated"
    response = await within(f"validating {validated}", admin.create_topics([NewTopic(validated, 2, 1)], validate_only=True))
    check(errors_of(response.topic_errors) == {validated: 0}, f"validating {validated}: {response.topic_errors}")
    one = f"{prefix}-one"
    response = await within(f"creating {one} again", admin.create_topics([NewTopic(one, 1, 1)]))
    check(errors_of(response.topic_errors) == {one: TOPIC_ALREADY_EXISTS},
          f"creating {one} again: {response.topic_errors}, expected TOPIC_ALREADY_EXISTS")

    listed = set(await within("listing topics", admin.list_topics()))
    check(set(wanted) <= listed and validated not in listed, f"topics listed: {sorted(listed)}")
    await check_described(admin, wanted)
    # create_partitions raises on an error in its response.
    await within(f"growing {one} to 3 partitions", admin.create_partitions({one: NewPartitions(3)}))
    wanted[one] = 3
    await check_described(admin, wanted)

    response = await within(f"deleting {sorted(wanted)}", admin.delete_topics(list(wanted)))
    check(errors_of(response.topic_error_codes) == {t: 0 for t in wanted}, f"deleting: {response.topic_error_codes}")
    # Gone from the metadata: listed, not described (aiokafka's Metadata
    # request for named topics would create them).
    deadline = time.time() + TIMEOUT
    while True:
        remaining = set(wanted) & set(await within("listing topics", admin.list_topics()))
        if not remaining or time.time() >= deadline:
            break
        await asyncio.sleep(0.1)
    check(not remaining, f"deleted topics still listed after {TIMEOUT:.0f} s: {sorted(remaining)}")
    response = await within(f"deleting {one} again", admin.delete_topics([one]))
    check(errors_of(response.topic_error_codes) == {one: UNKNOWN_TOPIC_OR_PARTITION},
          f"deleting {one} again: {response.topic_error_codes}, expected UNKNOWN_TOPIC_OR_PARTITION")
    await within("closing the admin client", admin.close())
