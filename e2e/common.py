"""What every Python scenario shares: the timeout, failing and checking
(fail() ends the process at once, from any thread), the record set of the
round trips, Library (what confluent-kafka and kafka-python share),
ConsumerThread (a group member on a thread of its own), helpers for
waiting (wait_for, bounded) and for naming a failing step (attempt), and
acl_tuple (an ACL as names, comparable across libraries)."""

import os
import sys
import threading
import time

TIMEOUT = 30.0  # seconds for anything a scenario waits for


# What a scenario is checking, named in front of a failure's message (the
# security scenario names the client, the listener and the mechanism).
CONTEXT = []


def fail(message):
    """Reports the failure and ends the process at once: from any thread,
    and without the clients' destructors, which can wait on a group or a
    broker for as long as the scenario's timeout."""
    prefix = "".join(f"{c}: " for c in CONTEXT)
    print(f"FAILED: {prefix}{message}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(1)


def check(condition, message):
    if not condition:
        fail(message)


# The record set used by round trips: keys, values and headers of every kind.
# (key, value, headers, timestamp ms)
T0 = 1_700_000_000_000
RECORDS = [
    (b"k0", b"hello", [("h1", b"v1")], T0),
    (None, b"no key", [], T0 + 1),
    (b"tombstone", None, [], T0 + 2),
    (b"big", b"x" * 100_000, [("a", b"1"), ("b", b"")], T0 + 3),
    ("ünï".encode(), "välue".encode(), [("ü", "ß".encode())], T0 + 4),
] + [(f"key-{i}".encode(), f"value-{i}".encode(), [("n", str(i).encode())], T0 + 5 + i) for i in range(20)]


def same_record(got, expected, where, timestamps=True):
    key, value, headers, timestamp = expected
    check(got[0] == key, f"{where}: key {got[0]!r}, expected {key!r}")
    check(got[1] == value, f"{where}: value {got[1][:40] if got[1] else got[1]!r}, expected {value[:40] if value else value!r}")
    check(list(got[2]) == headers, f"{where}: headers {got[2]!r}, expected {headers!r}")
    if timestamps:
        check(got[3] == timestamp, f"{where}: timestamp {got[3]}, expected {timestamp}")


class Library:
    """What the two Python libraries share; each provides consumer() and
    poll()."""

    def __init__(self, bootstrap, settings=None):
        self.bootstrap = bootstrap
        # The library's settings of every producer, consumer and admin
        # client (security.protocol, ssl.*, sasl.* as it names them).
        self.settings = dict(settings or {})

    def consume(self, topic, group, count, close=True):
        """`count` records of `topic` read as `group` (and the consumer, still
        in the group, unless `close`)."""
        consumer = self.consumer(group)
        consumer.subscribe([topic])
        got = self.poll(consumer, count)
        if close:
            consumer.close()
            return got
        return got, consumer


class ConsumerThread(threading.Thread):
    """A consumer on its own thread, as applications run them (what the
    scenarios' group members share): run() polls until stop() and keeps,
    under the lock, what it reads and is assigned; an error it meets is
    reported by stop(), on the main thread."""

    def __init__(self, client, group):
        super().__init__(daemon=True)
        self.client, self.group = client, group
        self.lock = threading.Lock()
        self.read = []
        self.partitions = set()
        self.stop_flag = threading.Event()
        self.error = None

    def snapshot(self):
        with self.lock:
            return list(self.read), set(self.partitions)

    def stop(self):
        self.stop_flag.set()
        self.join(TIMEOUT)
        check(self.error is None, f"consumer failed: {self.error!r}")


def wait_for(condition, what):
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    fail(f"timed out waiting for {what}")


def attempt(what, action):
    """action()'s result; a failure that names `what` when it raises."""
    try:
        return action()
    except Exception as e:  # each library raises its own error types
        fail(f"{what}: {e!r}")


def bounded(action, seconds=TIMEOUT):
    """action() on a thread of its own, for a library call that takes no
    timeout (kafka-python's commit_transaction waits for ever): its result
    or exception, or TimeoutError once `seconds` have passed."""
    outcome = {}

    def run():
        try:
            outcome["value"] = action()
        except BaseException as e:
            outcome["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def acl_tuple(resource_type, name, pattern_type, principal, host, operation, permission):
    """An ACL as names, comparable across libraries."""
    names = [str(getattr(v, "name", v)).split(".")[-1] for v in (resource_type, pattern_type, operation, permission)]
    return (names[0], name, names[1], principal, host, names[2], names[3])
