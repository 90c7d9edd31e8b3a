"""End-to-end scenarios run with unmodified Python Kafka clients.

    python clients.py <client> <scenario> <bootstrap> [args...]

<client> is `confluent` (confluent-kafka, the newest librdkafka),
`kafka-python` or `kcat` (Debian's kcat 1.7.1, librdkafka 2.0.2). Each scenario checks what a user of a real Kafka broker
would expect, record by record, and exits non-zero with a message on the
first difference. Run by harness/tests/real_clients.rs against a broker it
starts; see that file for which scenarios run with which client.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

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


# ------------------------------------------------------------ confluent-kafka

class Confluent(Library):
    def __init__(self, bootstrap, settings=None):
        import confluent_kafka

        self.ck = confluent_kafka
        self.bootstrap = bootstrap
        # librdkafka properties of every producer, consumer and admin client
        # (security.protocol, ssl.*, sasl.*).
        self.settings = dict(settings or {})

    def producer(self, **config):
        return self.ck.Producer({**self.settings, "bootstrap.servers": self.bootstrap, "acks": "all", **config})

    def consumer(self, group, **config):
        return self.ck.Consumer({
            **self.settings,
            "bootstrap.servers": self.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            **config,
        })

    def admin(self, **config):
        from confluent_kafka.admin import AdminClient

        return AdminClient({**self.settings, "bootstrap.servers": self.bootstrap, **config})

    def produce(self, topic, records, partition=None, **config):
        producer = self.producer(**config)
        errors = []
        for key, value, headers, timestamp in records:
            kwargs = {"key": key, "value": value, "headers": headers, "timestamp": timestamp}
            if partition is not None:
                kwargs["partition"] = partition
            producer.produce(topic, on_delivery=lambda err, msg: errors.append(err) if err else None, **kwargs)
        check(producer.flush(TIMEOUT) == 0, "messages left unsent")
        check(not errors, f"delivery errors: {errors}")

    def poll(self, consumer, count):
        """`count` messages as (key, value, headers, timestamp, partition, offset)."""
        got = []
        deadline = time.time() + TIMEOUT
        while len(got) < count and time.time() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            check(msg.error() is None, f"consumer error: {msg.error()}")
            got.append((msg.key(), msg.value(), msg.headers() or [], msg.timestamp()[1], msg.partition(), msg.offset()))
        check(len(got) == count, f"consumed {len(got)} records, expected {count}")
        return got

    def produce_at(self, topic, records, partition, **config):
        """(key, value) pairs sent in order to `partition`; their offsets."""
        producer = self.producer(**config)
        offsets = [None] * len(records)
        errors = []

        def delivered(i):
            return lambda err, msg: errors.append(err) if err else offsets.__setitem__(i, msg.offset())

        for i, (key, value) in enumerate(records):
            producer.produce(topic, key=key, value=value, partition=partition, on_delivery=delivered(i))
            producer.poll(0)
        check(producer.flush(TIMEOUT) == 0, "messages left unsent")
        check(not errors, f"delivery errors: {errors}")
        return offsets

    def read_from_start(self, topic, partition, last, deadline):
        """What a fresh consumer assigned `partition` reads from its start
        up to offset `last` (or until `deadline`), as in poll()."""
        consumer = self.consumer(f"{topic}-reader")
        consumer.assign([self.ck.TopicPartition(topic, partition, self.ck.OFFSET_BEGINNING)])
        got = []
        while (not got or got[-1][5] < last) and time.time() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            check(msg.error() is None, f"consumer error: {msg.error()}")
            got.append((msg.key(), msg.value(), msg.headers() or [], msg.timestamp()[1], msg.partition(), msg.offset()))
        consumer.close()
        return got

    def commit(self, consumer, topic, partition, offset):
        tp = self.ck.TopicPartition(topic, partition, offset)
        result = consumer.commit(offsets=[tp], asynchronous=False)
        check(all(t.error is None for t in result), f"commit failed: {result}")

    def create_topic(self, name, partitions, **configs):
        from confluent_kafka.admin import NewTopic

        admin = self.admin()  # kept alive until the result is in
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=configs)])
        futures[name].result(TIMEOUT)

    def offsets_at(self, topic, partition, timestamp):
        consumer = self.consumer("offsets-at")
        result = consumer.offsets_for_times([self.ck.TopicPartition(topic, partition, timestamp)], timeout=TIMEOUT)
        consumer.close()
        return result[0].offset

    def watermarks(self, topic, partition):
        consumer = self.consumer("watermarks")
        low, high = consumer.get_watermark_offsets(self.ck.TopicPartition(topic, partition), timeout=TIMEOUT)
        consumer.close()
        return low, high


# --------------------------------------------------------------- kafka-python

class KafkaPython(Library):
    def __init__(self, bootstrap, settings=None):
        import kafka

        self.kafka = kafka
        self.bootstrap = bootstrap
        # Keyword arguments of every producer, consumer and admin client
        # (security_protocol, ssl_*, sasl_*).
        self.settings = dict(settings or {})

    def producer(self, **config):
        return self.kafka.KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", **{**self.settings, **config})

    def consumer(self, group, **config):
        return self.kafka.KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            **self.settings,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=6000,
            heartbeat_interval_ms=500,
            **config,
        )

    def admin(self, **config):
        return self.kafka.KafkaAdminClient(bootstrap_servers=self.bootstrap, **{**self.settings, **config})

    def produce(self, topic, records, partition=None, **config):
        producer = self.producer(**config)
        futures = [
            producer.send(topic, key=key, value=value, headers=headers, timestamp_ms=timestamp, partition=partition)
            for key, value, headers, timestamp in records
        ]
        for future in futures:
            future.get(timeout=TIMEOUT)
        producer.close()

    def poll(self, consumer, count):
        # One poll for as long as is left, not short polls in a loop: poll()
        # returns as soon as records arrive, and kafka-python 3.0.12 drops a
        # JoinGroup/SyncGroup round trip that completes between two polls
        # (the next poll starts a new join and discards the finished one's
        # assignment; under load the member can end up neither joining nor
        # heartbeating, and consumes nothing). A poll that outlasts the join
        # never leaves that gap.
        got = []
        deadline = time.time() + TIMEOUT
        while len(got) < count and time.time() < deadline:
            left_ms = max(1, int((deadline - time.time()) * 1000))
            for records in consumer.poll(timeout_ms=left_ms, max_records=count - len(got)).values():
                for m in records:
                    got.append((m.key, m.value, list(m.headers), m.timestamp, m.partition, m.offset))
        check(len(got) == count, f"consumed {len(got)} records, expected {count}")
        return got

    def produce_at(self, topic, records, partition, **config):
        """(key, value) pairs sent in order to `partition`; their offsets."""
        producer = self.producer(**config)
        futures = [producer.send(topic, key=key, value=value, partition=partition) for key, value in records]
        offsets = [future.get(timeout=TIMEOUT).offset for future in futures]
        producer.close()
        return offsets

    def read_from_start(self, topic, partition, last, deadline):
        """What a fresh consumer (in no group) assigned `partition` reads
        from its start up to offset `last` (or until `deadline`)."""
        consumer = self.consumer(None)
        tp = self.kafka.TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got = []
        while (not got or got[-1][5] < last) and time.time() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                for m in records:
                    got.append((m.key, m.value, list(m.headers), m.timestamp, m.partition, m.offset))
        consumer.close()
        return got

    def commit(self, consumer, topic, partition, offset):
        from kafka.structs import OffsetAndMetadata

        consumer.commit({self.kafka.TopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)})

    def create_topic(self, name, partitions, **configs):
        from kafka.admin import NewTopic

        self.admin().create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])

    def offsets_at(self, topic, partition, timestamp):
        consumer = self.consumer(None)
        tp = self.kafka.TopicPartition(topic, partition)
        found = consumer.offsets_for_times({tp: timestamp})[tp]
        consumer.close()
        return -1 if found is None else found.offset

    def watermarks(self, topic, partition):
        consumer = self.consumer(None)
        tp = self.kafka.TopicPartition(topic, partition)
        low, high = consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp]
        consumer.close()
        return low, high


# ----------------------------------------------------------------------- kcat

class Kcat:
    """kcat (librdkafka 2.0.2 as packaged in Debian 12), driven as a user
    would: messages on stdin, JSON envelopes (-J) on stdout. It cannot set
    record timestamps, so records it produces carry the time of sending."""

    sets_timestamps = False

    def __init__(self, bootstrap, settings=None):
        self.bootstrap = bootstrap
        # librdkafka properties (-X) of every run (security.protocol, ssl.*,
        # sasl.*).
        self.settings = dict(settings or {})

    def command(self, args):
        settings = [arg for key, value in self.settings.items() for arg in ("-X", f"{key}={value}")]
        return ["kcat", "-b", self.bootstrap, *settings, *args]

    def run(self, args, stdin=b""):
        result = subprocess.run(self.command(args), input=stdin, capture_output=True, timeout=TIMEOUT)
        check(result.returncode == 0, f"kcat {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
        return result.stdout

    def produce(self, topic, records, partition=None):
        for key, value, headers, _ in records:
            args = ["-P", "-t", topic, "-Z"]
            if partition is not None:
                args += ["-p", str(partition)]
            for name, header in headers:
                args += ["-H", f"{name}={header.decode()}"]
            line = value or b""
            if key is not None:
                args += ["-K", "\t"]
                line = key + b"\t" + line
            self.run(args, line)

    def produce_lines(self, topic, values, partition=0, config=()):
        """Values as lines of one kcat run, as a user would pipe a file."""
        args = ["-P", "-t", topic, "-p", str(partition)]
        for setting in config:
            args += ["-X", setting]
        self.run(args, b"".join(v + b"\n" for v in values))

    def metadata(self, topic):
        return json.loads(self.run(["-L", "-J", "-t", topic]))

    def create_topic(self, name, partitions):
        """kcat cannot create topics: the driver creates them beforehand (in
        the broker's fixture); this checks they are there as expected."""
        topics = self.metadata(name)["topics"]
        check(len(topics) == 1 and len(topics[0]["partitions"]) == int(partitions), f"topic {name}: {topics}")

    def query_offset(self, topic, partition, timestamp):
        """kcat -Q: the offset for a timestamp, or -1 (latest) / -2 (earliest)."""
        output = json.loads(self.run(["-Q", "-J", "-t", f"{topic}:{partition}:{timestamp}"]))
        return output[topic][str(partition)]["offset"]

    @staticmethod
    def parse(output):
        records = []
        for line in output.decode().splitlines():
            m = json.loads(line)
            flat = m.get("headers") or []
            headers = [(flat[i], flat[i + 1].encode()) for i in range(0, len(flat), 2)]
            encode = lambda v: None if v is None else v.encode()
            records.append((encode(m["key"]), encode(m["payload"]), headers, m["ts"], m["partition"], m["offset"]))
        return records

    def consume(self, topic, group, count, close=True):
        if group is None:
            output = self.run(["-C", "-t", topic, "-J", "-e", "-q", "-o", "beginning", "-c", str(count)])
        else:
            # In a group, -o would override committed offsets; a new group
            # starts at the beginning through auto.offset.reset instead.
            output = self.run(["-G", group, "-J", "-e", "-q", "-X", "auto.offset.reset=earliest", "-c", str(count), topic])
        got = self.parse(output)
        check(len(got) == count, f"consumed {len(got)} records, expected {count}")
        return got


# ------------------------------------------------------------------ scenarios

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


def kcat_group_commit(client, topic):
    """kcat's balanced consumer commits what it read when it exits; the next
    one in the group starts after it."""
    client.produce(topic, [(b"k", f"m{i}".encode(), [], 0) for i in range(10)], partition=0)
    got = client.consume(topic, "resumers", 10)
    check([r[1] for r in got] == [f"m{i}".encode() for i in range(10)], "first consumer read the wrong records")
    client.produce(topic, [(b"k", f"m{i}".encode(), [], 0) for i in range(10, 15)], partition=0)
    got = client.consume(topic, "resumers", 5)
    check([r[5] for r in got] == list(range(10, 15)), f"resumed at offsets {[r[5] for r in got]}, expected 10..14")


def group_commit(client, topic):
    """A group commits, stops, and resumes exactly where it committed."""
    if isinstance(client, Kcat):
        return kcat_group_commit(client, topic)
    records = [(b"k", f"m{i}".encode(), [], T0 + i) for i in range(10)]
    client.produce(topic, records, partition=0)
    got, consumer = client.consume(topic, "resumers", 6, close=False)
    check([r[1] for r in got] == [f"m{i}".encode() for i in range(6)], f"first consumer got {[r[1] for r in got]}")
    client.commit(consumer, topic, 0, 6)
    consumer.close()
    client.produce(topic, [(b"k", f"m{i}".encode(), [], T0 + i) for i in range(10, 15)], partition=0)
    got = client.consume(topic, "resumers", 9)
    offsets = [r[5] for r in got]
    check(offsets == list(range(6, 15)), f"resumed at offsets {offsets}, expected 6..14")
    check([r[1] for r in got] == [f"m{i}".encode() for i in range(6, 15)], "resumed records differ")


class Member(threading.Thread):
    """A consumer on its own thread, as applications run them: it polls
    until told to stop and records what it reads and is assigned."""

    def __init__(self, client, topic, group):
        super().__init__(daemon=True)
        self.client, self.topic, self.group = client, topic, group
        self.lock = threading.Lock()
        self.read = []
        self.partitions = set()
        self.stop_flag = threading.Event()
        self.commit_requests = []
        self.error = None

    def run(self):
        try:
            consumer = self.client.consumer(self.group)
            consumer.subscribe([self.topic])
            while not self.stop_flag.is_set():
                records = poll_some(self.client, consumer)
                with self.lock:
                    self.read.extend(records)
                    self.partitions = assigned(self.client, consumer)
                    requests, self.commit_requests = self.commit_requests, []
                for partition, offset, done in requests:
                    self.client.commit(consumer, self.topic, partition, offset)
                    done.set()
            consumer.close()
        except BaseException as e:  # reported by the main thread
            self.error = e

    def snapshot(self):
        with self.lock:
            return list(self.read), set(self.partitions)

    def commit(self, partition, offset):
        done = threading.Event()
        with self.lock:
            self.commit_requests.append((partition, offset, done))
        check(done.wait(TIMEOUT), "commit not done")

    def stop(self):
        self.stop_flag.set()
        self.join(TIMEOUT)
        check(self.error is None, f"consumer failed: {self.error!r}")


class KcatMember:
    """A kcat balanced consumer (-G) in its own process, with Member's
    interface: it reports its assignment on stderr and what it reads as
    JSON on stdout. kcat commits what it has read by itself (when partitions
    are revoked and when it exits), so commit() has nothing to do."""

    ASSIGNED = re.compile(r"rebalanced \(memberid [^)]*\): (assigned|revoked): (.*)$")

    def __init__(self, client, topic, group):
        self.args = ["kcat", "-b", client.bootstrap, "-G", group, "-J", "-u", "-X", "auto.offset.reset=earliest", topic]
        self.lock = threading.Lock()
        self.read = []
        self.partitions = set()
        self.errors = []

    def start(self):
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self.read_stdout, self.read_stderr)]
        for thread in self.threads:
            thread.start()

    def read_stdout(self):
        for line in self.process.stdout:
            with self.lock:
                self.read.extend(Kcat.parse(line))

    def read_stderr(self):
        for line in self.process.stderr:
            text = line.decode(errors="replace").rstrip()
            match = self.ASSIGNED.search(text)
            with self.lock:
                if match:
                    assigned_now = {int(p) for p in re.findall(r"\[(\d+)\]", match.group(2))}
                    self.partitions = assigned_now if match.group(1) == "assigned" else set()
                elif "ERROR" in text or "FAIL" in text:
                    self.errors.append(text)

    def snapshot(self):
        with self.lock:
            return list(self.read), set(self.partitions)

    def commit(self, partition, offset):
        pass

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(TIMEOUT)
        for thread in self.threads:
            thread.join(TIMEOUT)
        check(code == 0 and not self.errors, f"kcat exited with {code}: {self.errors}")


def wait_for(condition, what):
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    fail(f"timed out waiting for {what}")


def share(client, topic):
    """Two consumers share a group's partitions; when one leaves, the other
    takes over everything, and no record is lost or read twice."""
    client.create_topic(topic, 4)
    group = f"{topic}-sharers"
    member = KcatMember if isinstance(client, Kcat) else Member
    one, two = member(client, topic, group), member(client, topic, group)
    one.start()
    two.start()
    # Produce once the group is stable with both members.
    # While the group rebalances, the first member may still hold what it was
    # given alone; wait for the split of the stable group.
    def split():
        mine, theirs = one.snapshot()[1], two.snapshot()[1]
        return mine and theirs and not (mine & theirs) and mine | theirs == {0, 1, 2, 3}

    wait_for(split, "both consumers to share the partitions")
    mine, theirs = one.snapshot()[1], two.snapshot()[1]

    first = [(f"k{i}".encode(), f"a{i}".encode(), [], T0 + i) for i in range(40)]
    for p in range(4):
        client.produce(topic, first[p * 10:(p + 1) * 10], partition=p)
    wait_for(lambda: len(one.snapshot()[0]) + len(two.snapshot()[0]) >= 40, "40 records")
    read_one, read_two = one.snapshot()[0], two.snapshot()[0]
    positions = [(r[4], r[5]) for r in read_one + read_two]
    check(sorted(positions) == [(p, o) for p in range(4) for o in range(10)], f"read {sorted(positions)}")
    check({r[4] for r in read_one} == mine and {r[4] for r in read_two} == theirs, "records from partitions not assigned")
    for member, partitions in ((one, mine), (two, theirs)):
        for p in partitions:
            member.commit(p, 10)
    one.stop()

    # The one left is rebalanced to every partition, from the committed offsets.
    wait_for(lambda: two.snapshot()[1] == {0, 1, 2, 3}, "the remaining consumer to get every partition")
    before = len(two.snapshot()[0])
    second = [(f"k{i}".encode(), f"b{i}".encode(), [], T0 + i) for i in range(40)]
    for p in range(4):
        client.produce(topic, second[p * 10:(p + 1) * 10], partition=p)
    wait_for(lambda: len(two.snapshot()[0]) >= before + 40, "40 more records")
    after = two.snapshot()[0][before:]
    check(before == len(read_two), "records read during the rebalance")
    check(sorted((r[4], r[5]) for r in after) == [(p, o) for p in range(4) for o in range(10, 20)],
          f"after the rebalance read {sorted((r[4], r[5]) for r in after)}")
    check(all(r[1].startswith(b"b") for r in after), "old records read again")
    two.stop()


def assigned(client, consumer):
    return {tp.partition for tp in consumer.assignment()}


def poll_some(client, consumer):
    if isinstance(client, Confluent):
        msg = consumer.poll(0.1)
        if msg is None:
            return []
        check(msg.error() is None, f"consumer error: {msg.error()}")
        return [(msg.key(), msg.value(), msg.headers() or [], msg.timestamp()[1], msg.partition(), msg.offset())]
    # kafka-python 3.0.12 can lose a completed rebalance when a poll times
    # out just as the group's SyncGroup answer arrives (the member then stops
    # heartbeating); polls long enough to outlast a join make that rare.
    return [
        (m.key, m.value, list(m.headers), m.timestamp, m.partition, m.offset)
        for records in consumer.poll(timeout_ms=1000).values()
        for m in records
    ]


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


def kcat_codecs(client, topic, *names):
    """kcat sends what it reads in one run; single records (as the record
    set is sent, one run each for their own headers) are too small for
    librdkafka to compress, so this is a keyed file of 100 lines."""
    lines = [f"key-{i}\tvalue-{i} {'x' * (i % 50)}".encode() for i in range(100)]
    for name in names:
        t = f"{topic}-{name}"
        client.run(["-P", "-t", t, "-p", "0", "-z", name, "-K", "\t"], b"".join(line + b"\n" for line in lines))
        got = client.consume(t, f"codec-{name}", len(lines))
        for i, record in enumerate(got):
            check((record[4], record[5]) == (0, i), f"record {i} at partition {record[4]} offset {record[5]}")
            check(record[0] + b"\t" + record[1] == lines[i], f"record {i}: {record[:2]}, expected {lines[i]!r}")


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


def kcat_list_offsets(client, topic):
    """kcat sets no timestamps: records are sent apart in time and the
    expected offsets come from the timestamps the broker stored."""
    for i in range(5):
        client.produce_lines(topic, [f"v{i}".encode()])
        time.sleep(0.01)
    stamps = [r[3] for r in client.consume(topic, None, 5)]
    check(stamps == sorted(stamps), f"timestamps out of order: {stamps}")
    check(client.query_offset(topic, 0, -2) == 0, "earliest offset")
    check(client.query_offset(topic, 0, -1) == 5, "latest offset")
    for timestamp in [stamps[0] - 1, stamps[0], stamps[0] + 1, stamps[2], stamps[4], stamps[4] + 1]:
        expected = next((i for i, t in enumerate(stamps) if t >= timestamp), -1)
        found = client.query_offset(topic, 0, timestamp)
        check(found == expected, f"offset for time {timestamp}: {found}, expected {expected} (timestamps {stamps})")


def admin(client, topic):
    if isinstance(client, Confluent):
        confluent_admin(client, topic)
    else:
        kafka_python_admin(client, topic)


def confluent_admin(client, topic):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic, ResourceType

    admin = client.admin()
    admin.create_topics([NewTopic(topic, 2, 1)], validate_only=True)[topic].result(TIMEOUT)
    check(topic not in admin.list_topics(timeout=TIMEOUT).topics, "validate_only created the topic")
    admin.create_topics([NewTopic(topic, 2, 1, config={"cleanup.policy": "compact"})])[topic].result(TIMEOUT)
    failures = {
        topic: "TOPIC_ALREADY_EXISTS",
        f"{topic}-rf": "INVALID_REPLICATION_FACTOR",
        "bad name!": "TOPIC_EXCEPTION",
    }
    futures = admin.create_topics([
        NewTopic(topic, 1, 1), NewTopic(f"{topic}-rf", 1, 3), NewTopic("bad name!", 1, 1),
    ])
    for name, expected in failures.items():
        try:
            futures[name].result(TIMEOUT)
            fail(f"creating {name} succeeded")
        except KafkaException as e:
            check(e.args[0].name() == expected, f"creating {name}: {e.args[0].name()}, expected {expected}")
    described = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)])
    configs = list(described.values())[0].result(TIMEOUT)
    check(configs["cleanup.policy"].value == "compact", f"cleanup.policy {configs['cleanup.policy'].value}")
    check(configs["retention.ms"].value == "604800000", f"retention.ms {configs['retention.ms'].value}")
    admin.create_partitions([NewPartitions(topic, 3)])[topic].result(TIMEOUT)
    metadata = admin.list_topics(timeout=TIMEOUT)
    check(len(metadata.topics[topic].partitions) == 3, "partitions not added")
    cluster = admin.describe_cluster().result(TIMEOUT)
    check(len(cluster.nodes) == 1 and cluster.controller.id == 1, f"cluster {cluster}")
    client.produce(topic, [RECORDS[0], RECORDS[2]], partition=0)
    # The topic is compacted: a record without a key is refused.
    producer = client.producer()
    errors = []
    producer.produce(topic, value=b"no key", partition=0, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(TIMEOUT)
    check(len(errors) == 1 and errors[0] is not None and errors[0].name() == "INVALID_RECORD",
          f"a record without a key on a compacted topic: {errors}")
    admin.delete_topics([topic])[topic].result(TIMEOUT)
    check(topic not in admin.list_topics(timeout=TIMEOUT).topics, "topic still listed after deletion")
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(TIMEOUT)
    check(client.watermarks(topic, 0) == (0, 0), "a recreated topic is not empty")


def kafka_python_admin(client, topic):
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
    from kafka.errors import InvalidReplicationFactorError, TopicAlreadyExistsError

    admin = client.admin()
    admin.create_topics([NewTopic(topic, 2, 1, topic_configs={"retention.ms": "1000"})])
    check(topic in admin.list_topics(), "topic not listed")
    for new, error in [(NewTopic(topic, 1, 1), TopicAlreadyExistsError), (NewTopic(f"{topic}-rf", 1, 3), InvalidReplicationFactorError)]:
        try:
            admin.create_topics([new], raise_errors=True) if "raise_errors" in admin.create_topics.__code__.co_varnames else admin.create_topics([new])
            fail(f"creating {new.name} succeeded")
        except error:
            pass
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    text = repr(described)
    check("retention.ms" in text and "1000" in text, f"describe_configs: {text[:300]}")
    admin.create_partitions({topic: NewPartitions(4)})
    described = admin.describe_topics([topic])
    check(len(described[0]["partitions"]) == 4, f"partitions: {described}")
    admin.delete_topics([topic])
    deadline = time.time() + TIMEOUT
    while topic in admin.list_topics() and time.time() < deadline:
        time.sleep(0.1)
    check(topic not in admin.list_topics(), "topic still listed after deletion")


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


def confluent_alter(client, topic, changes):
    """IncrementalAlterConfigs: SET each value, DELETE each None."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

    entries = [
        ConfigEntry(name, value, incremental_operation=AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET)
        for name, value in changes.items()
    ]
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
    admin = client.admin()
    admin.incremental_alter_configs([resource])[resource].result(TIMEOUT)


def kafka_python_alter(client, topic, changes):
    from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType

    configs = {name: (AlterConfigOp.DELETE, None) if value is None else (AlterConfigOp.SET, value) for name, value in changes.items()}
    result = client.admin().alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)], raise_on_unknown=False)
    # Per resource: an error's text, or the result.
    errors = [r for by_name in result.values() for r in by_name.values() if isinstance(r, (Exception, str)) and "Error" in str(r)]
    if errors:
        raise RuntimeError(errors[0])


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


def metadata(client, topic, partitions, cluster_id):
    """The cluster as clients see it: this node alone, at the address they
    bootstrapped from, leading every partition of `topic`."""
    host, port = client.bootstrap.rsplit(":", 1)
    partitions = int(partitions)
    if isinstance(client, Kcat):
        listing = client.metadata(topic)
        brokers = [(b["id"], b["name"]) for b in listing["brokers"]]
        controller, cluster = listing["controllerid"], cluster_id  # kcat does not show the cluster id
        (described,) = listing["topics"]
        found = [(p["partition"], p["leader"], [r["id"] for r in p["replicas"]], [r["id"] for r in p["isrs"]])
                 for p in described["partitions"]]
    elif isinstance(client, Confluent):
        listing = client.admin().list_topics(topic, timeout=TIMEOUT)
        brokers = [(b.id, f"{b.host}:{b.port}") for b in listing.brokers.values()]
        controller, cluster = listing.controller_id, listing.cluster_id
        found = [(p.id, p.leader, p.replicas, p.isrs) for p in listing.topics[topic].partitions.values()]
    else:
        admin = client.admin()
        described_cluster = admin.describe_cluster()
        brokers = [(b["broker_id"], f"{b['host']}:{b['port']}") for b in described_cluster["brokers"]]
        controller, cluster = described_cluster["controller_id"], described_cluster["cluster_id"]
        (described,) = admin.describe_topics([topic])
        found = [(p["partition_index"], p["leader_id"], p["replica_nodes"], p["isr_nodes"]) for p in described["partitions"]]
    check(brokers == [(1, f"{host}:{port}")], f"brokers {brokers}")
    check(controller == 1, f"controller {controller}")
    check(cluster == cluster_id, f"cluster id {cluster}, expected {cluster_id}")
    check(sorted(found) == [(p, 1, [1], [1]) for p in range(partitions)], f"partitions {sorted(found)}")


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


# --------------------------------------------------------------- transactions
# KIP-98 transactions and KIP-447 exactly-once processing, as an application
# using each library's transactional producer sees them (kcat has none).

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


class ConfluentTransactional:
    """A confluent-kafka producer with a transactional.id: the calls the
    scenarios make, each raising what librdkafka reports."""

    def __init__(self, client, transactional_id, **config):
        self.errors = []
        self.producer = client.producer(**{"transactional.id": transactional_id, **config})

    def init(self):
        self.producer.init_transactions(TIMEOUT)

    def begin(self):
        self.producer.begin_transaction()

    def send(self, topic, records):
        for key, value in records:
            self.producer.produce(topic, key=key, value=value, partition=0, on_delivery=self.delivered)
            self.producer.poll(0)

    def delivered(self, err, msg):
        if err is not None:
            self.errors.append(err)

    def flush(self):
        left = self.producer.flush(TIMEOUT)
        if left or self.errors:
            raise RuntimeError(f"{left} records left unsent, delivery errors {self.errors}")

    def send_offsets(self, consumer, topic, offset):
        # The consumer's positions and group metadata (KIP-447), as an
        # application passes them; `offset` is what they should say.
        positions = consumer.position(consumer.assignment())
        if [(tp.topic, tp.partition, tp.offset) for tp in positions] != [(topic, 0, offset)]:
            raise RuntimeError(f"consumer positions {positions}, expected {topic} [0] at {offset}")
        self.producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), TIMEOUT)

    def commit(self):
        self.producer.commit_transaction(TIMEOUT)

    def abort(self):
        self.producer.abort_transaction(TIMEOUT)

    def close(self):
        self.producer = None  # librdkafka's destroy; nothing is left to send

    @staticmethod
    def fenced(error):
        """Whether `error` is librdkafka's fatal error for a producer
        fenced by a newer one with its transactional.id."""
        from confluent_kafka import KafkaException

        if not isinstance(error, KafkaException) or not error.args:
            return False
        err = error.args[0]
        return err.fatal() and err.name() in ("_FENCED", "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH")


class KafkaPythonTransactional:
    """A kafka-python KafkaProducer with a transactional_id, as
    ConfluentTransactional. Its calls that wait without a timeout are
    bounded here."""

    def __init__(self, client, transactional_id, **config):
        self.kafka = client.kafka
        self.futures = []
        # init_transactions() waits for max_block_ms.
        self.producer = client.producer(transactional_id=transactional_id, max_block_ms=int(TIMEOUT * 1000), **config)

    def init(self):
        self.producer.init_transactions()

    def begin(self):
        self.producer.begin_transaction()

    def send(self, topic, records):
        self.futures = [self.producer.send(topic, key=key, value=value, partition=0) for key, value in records]

    def flush(self):
        self.producer.flush(timeout=TIMEOUT)
        for future in self.futures:
            future.get(timeout=TIMEOUT)

    def send_offsets(self, consumer, topic, offset):
        from kafka.structs import OffsetAndMetadata

        offsets = {self.kafka.TopicPartition(topic, 0): OffsetAndMetadata(offset, "", -1)}
        bounded(lambda: self.producer.send_offsets_to_transaction(offsets, consumer.group_metadata()))

    def commit(self):
        bounded(self.producer.commit_transaction)

    def abort(self):
        bounded(self.producer.abort_transaction)

    def close(self):
        self.producer.close(timeout=5)

    @staticmethod
    def fenced(error):
        """ProducerFencedError (kafka-python turns INVALID_PRODUCER_EPOCH
        into it), or the error that says the producer is in that state."""
        from kafka.errors import InvalidProducerEpochError, ProducerFencedError

        if isinstance(error, (ProducerFencedError, InvalidProducerEpochError)):
            return True
        return "ProducerFencedError" in repr(error) or "InvalidProducerEpochError" in repr(error)


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
            outputs = [(key, b"aborted-" + value) for key, value, *_ in batch]
            run_transaction(producer, f"{what} (to abort)", sink, outputs, end="abort",
                            before_end=lambda: attempt(f"{what}: send_offsets_to_transaction (offset {offset} of {source})",
                                                       lambda: producer.send_offsets(consumer, source, offset)))
            sink_log += outputs
            after = committed_offset(client, group, source)
            check(after == before, f"after a transaction that sent offset {offset} and was aborted, the group's committed offset is {after}, expected {before} as before it")
            # As an application does after an abort: back to the committed offset.
            consumer.seek(client.ck.TopicPartition(source, 0, before))
            continue
        outputs = [(key, b"out-" + value) for key, value, *_ in batch]
        run_transaction(producer, what, sink, outputs,
                        before_end=lambda: attempt(f"{what}: send_offsets_to_transaction (offset {offset} of {source})",
                                                   lambda: producer.send_offsets(consumer, source, offset)))
        processed += batch
        sink_log += outputs
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
        offset = batch[-1][5] + 1
        what = f"the transaction for input offsets {batch[0][5]}..{batch[-1][5]}"
        records = [(key, b"out-" + value) for key, value, *_ in batch]
        run_transaction(producer, what, sink, records,
                        before_end=lambda: attempt(f"{what}: send_offsets_to_transaction (offset {offset})",
                                                   lambda: producer.send_offsets(consumer, source, offset)))
        outputs += records
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


# ----------------------------------------------------- KIP-848 consumer groups
# The new rebalance protocol (KIP-848) as confluent-kafka's consumer speaks
# it with group.protocol=consumer: ConsumerGroupHeartbeat to join, stay and
# leave, assignments computed by the broker's assignor, offsets committed
# with the member's epoch; ListGroups v5 and ConsumerGroupDescribe through
# its AdminClient. The broker of these tests sets a heartbeat interval of
# 500 ms and a session timeout of 6 s (group.consumer.*).

CP_PARTITIONS = 4
CGRP_LOG_LOCK = threading.Lock()  # consumers made on several threads share one log


def kip848_consumer(client, group, **config):
    """A confluent-kafka consumer of `group` with the new protocol. The
    session timeout and heartbeat interval are the broker's: librdkafka
    refuses session.timeout.ms and heartbeat.interval.ms with
    group.protocol=consumer. $E2E_CGRP_DEBUG names a file for librdkafka's
    `debug=cgrp` log (the protocol exchange), for diagnosis."""
    check(isinstance(client, Confluent), "the consumer protocol scenarios are written for confluent-kafka")
    settings = {
        **client.settings,
        "bootstrap.servers": client.bootstrap,
        "group.id": group,
        "group.protocol": "consumer",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **config,
    }
    path = os.environ.get("E2E_CGRP_DEBUG")
    if path:
        import logging

        logger = logging.getLogger("librdkafka-cgrp")
        with CGRP_LOG_LOCK:
            if not logger.handlers:
                handler = logging.FileHandler(path)
                handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
                logger.addHandler(handler)
                logger.setLevel(logging.DEBUG)
        settings.update({"debug": "cgrp", "logger": logger})
    return client.ck.Consumer(settings)


def cp_record(msg):
    """A record as poll() returns them, with its topic last."""
    check(msg.error() is None, f"consumer error: {msg.error()}")
    return (msg.key(), msg.value(), msg.headers() or [], msg.timestamp()[1], msg.partition(), msg.offset(), msg.topic())


def cp_poll(consumer, count, seconds, on_record=None):
    """Records polled until there are `count` (None: no limit) or `seconds`
    have passed; on_record(msg) after each (a synchronous commit)."""
    got = []
    deadline = time.time() + seconds
    while (count is None or len(got) < count) and time.time() < deadline:
        msg = consumer.poll(0.1)
        if msg is None:
            continue
        got.append(cp_record(msg))
        if on_record:
            on_record(msg)
    return got


def commit_sync(client, consumer, msg):
    """Commits the offset after `msg`, synchronously; that offset."""
    tp = client.ck.TopicPartition(msg.topic(), msg.partition(), msg.offset() + 1)
    result = consumer.commit(offsets=[tp], asynchronous=False)
    check(all(t.error is None for t in result), f"commit of {msg.topic()}[{msg.partition()}]@{msg.offset() + 1} failed: {result}")
    return msg.offset() + 1


def produce_numbered(client, topic, prefix, start, count, expected, partitions=CP_PARTITIONS):
    """`count` records to each partition p of `topic`, valued
    prefix-p-start and on, with one producer; each added to `expected`
    ((topic, partition) -> [(offset, value)]) at the offset it got."""
    producer = client.producer()
    errors, delivered = [], []

    def report(err, msg):
        if err:
            errors.append(err)
        else:
            delivered.append((msg.partition(), msg.offset(), msg.value()))

    for p in range(partitions):
        for i in range(start, start + count):
            producer.produce(topic, key=f"p{p}".encode(), value=f"{prefix}-{p}-{i}".encode(), partition=p, on_delivery=report)
            producer.poll(0)
    check(producer.flush(TIMEOUT) == 0, "messages left unsent")
    check(not errors, f"delivery errors: {errors}")
    for p, offset, value in sorted(delivered):
        expected.setdefault((topic, p), []).append((offset, value))


def check_each_once(got, expected, what):
    """`got` holds each record of `expected` ((topic, partition) ->
    [(offset, value)]) once, in offset order within each partition, and
    nothing else."""
    from collections import Counter

    by_partition = {}
    for r in got:
        by_partition.setdefault((r[6], r[4]), []).append((r[5], r[1]))
    for tp in sorted(set(by_partition) | set(expected)):
        have, want = by_partition.get(tp, []), expected.get(tp, [])
        if have == want:
            continue
        seen = [o for o, _ in have]
        twice = sorted(o for o, n in Counter(seen).items() if n > 1)
        missing = sorted({o for o, _ in want} - set(seen))
        unexpected = sorted(set(seen) - {o for o, _ in want})
        fail(f"{what}: {tp[0]}[{tp[1]}]: read {len(have)} records, expected {len(want)}; read twice: {twice[:20]}, "
             f"missing: {missing[:20]}, not expected: {unexpected[:20]}, in order: {seen == sorted(seen)}, "
             f"offsets read: {seen[:12]}{'...' if len(seen) > 12 else ''}")


class Kip848Member(threading.Thread):
    """A consumer of the new protocol on its own thread, as applications
    run them: it polls until told to stop, commits each record's offset
    synchronously once it has recorded it (processing), and keeps what it
    read, what it is assigned ((topic, partition)s), what it committed and
    its member id. stop() closes it, which leaves the group."""

    def __init__(self, client, topics, group):
        super().__init__(daemon=True)
        self.client, self.topics, self.group = client, topics, group
        self.lock = threading.Lock()
        self.read = []
        self.partitions = set()
        self.committed = {}
        self.member_id = None
        self.stop_flag = threading.Event()
        self.error = None

    def run(self):
        try:
            consumer = kip848_consumer(self.client, self.group)
            consumer.subscribe(self.topics)
            while not self.stop_flag.is_set():
                msg = consumer.poll(0.1)
                if msg is not None:
                    record = cp_record(msg)
                    with self.lock:
                        self.read.append(record)
                    offset = commit_sync(self.client, consumer, msg)
                    with self.lock:
                        self.committed[(msg.topic(), msg.partition())] = offset
                partitions = {(tp.topic, tp.partition) for tp in consumer.assignment()}
                with self.lock:
                    self.partitions = partitions
                    self.member_id = consumer.memberid()
            consumer.close()
            with self.lock:
                self.partitions = set()
        except BaseException as e:  # reported by the main thread
            self.error = e

    def snapshot(self):
        with self.lock:
            return list(self.read), set(self.partitions)

    def stop(self):
        self.stop_flag.set()
        self.join(TIMEOUT)
        check(not self.is_alive(), "a consumer did not close")
        check(self.error is None, f"consumer failed: {self.error!r}")


def members_wait(members, condition, what):
    """wait_for(condition), failing at once when a member has failed."""
    def done():
        for m in members:
            check(m.error is None, f"{what}: a consumer failed: {m.error!r}")
        return condition()

    wait_for(done, what)


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
    one.start()
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
    check_each_once(read_one + read_two, expected, "before the hand-over, the two consumers")

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
    check_each_once(read_one + read_two, expected, "across both consumers (one left, the other took over)")
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


# ------------------------------------------------------------------ security
# SSL, mutual TLS, SASL_PLAINTEXT and SASL_SSL listeners as each client is
# configured for them: records produced and consumed (in a group, so the
# coordinator's endpoint is the listener's too) over each, and a wrong
# password, an untrusted CA and a missing client certificate refused.

PLAIN_USER, PLAIN_PASSWORD = "alice", "alice-secret"  # the listeners' JAAS users
SCRAM_USER, SCRAM_PASSWORD = "scram-bob", "bob-secret"  # made with AlterUserScramCredentials
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
SECURITY_RECORDS = 5


def security_options(args):
    """The scenario's key=value arguments: certificate paths (ca, cert, key,
    other_ca) and listener addresses (ssl, mtls, sasl_plaintext, sasl_ssl)."""
    options = dict(arg.split("=", 1) for arg in args)
    needed = ["ca", "cert", "key", "other_ca", "ssl", "mtls", "sasl_plaintext", "sasl_ssl"]
    missing = [name for name in needed if name not in options]
    check(not missing, f"security: missing arguments {missing} (give key=value pairs)")
    return options


def security_cases(o):
    """(what, listener address, settings) of each connection that must work;
    settings are neutral names each client translates."""
    tls = {"ca": o["ca"]}
    return [
        ("SSL listener (server certificate)", o["ssl"], {"protocol": "SSL", **tls}),
        ("MTLS listener (client certificate required)", o["mtls"],
         {"protocol": "SSL", **tls, "cert": o["cert"], "key": o["key"]}),
        ("SASL_PLAINTEXT listener with PLAIN", o["sasl_plaintext"],
         {"protocol": "SASL_PLAINTEXT", "mechanism": "PLAIN", "user": PLAIN_USER, "password": PLAIN_PASSWORD}),
        ("SASL_PLAINTEXT listener with SCRAM-SHA-256", o["sasl_plaintext"],
         {"protocol": "SASL_PLAINTEXT", "mechanism": "SCRAM-SHA-256", "user": SCRAM_USER, "password": SCRAM_PASSWORD}),
        ("SASL_SSL listener with PLAIN", o["sasl_ssl"],
         {"protocol": "SASL_SSL", **tls, "mechanism": "PLAIN", "user": PLAIN_USER, "password": PLAIN_PASSWORD}),
        ("SASL_SSL listener with SCRAM-SHA-512", o["sasl_ssl"],
         {"protocol": "SASL_SSL", **tls, "mechanism": "SCRAM-SHA-512", "user": SCRAM_USER, "password": SCRAM_PASSWORD}),
    ]


def refused_cases(o):
    """(what, listener address, settings, what the refusal is about) of each
    connection that must fail."""
    return [
        ("SASL_PLAINTEXT listener with PLAIN and a wrong password", o["sasl_plaintext"],
         {"protocol": "SASL_PLAINTEXT", "mechanism": "PLAIN", "user": PLAIN_USER, "password": "wrong"}, "sasl"),
        ("SASL_SSL listener with SCRAM-SHA-512 and a wrong password", o["sasl_ssl"],
         {"protocol": "SASL_SSL", "ca": o["ca"], "mechanism": "SCRAM-SHA-512", "user": SCRAM_USER, "password": "wrong"}, "sasl"),
        ("SASL_PLAINTEXT listener with SCRAM-SHA-256 and an unknown user", o["sasl_plaintext"],
         {"protocol": "SASL_PLAINTEXT", "mechanism": "SCRAM-SHA-256", "user": "nobody", "password": SCRAM_PASSWORD}, "sasl"),
        ("SSL listener trusting another CA", o["ssl"], {"protocol": "SSL", "ca": o["other_ca"]}, "tls"),
        ("MTLS listener without a client certificate", o["mtls"], {"protocol": "SSL", "ca": o["ca"]}, "tls"),
    ]


def librdkafka_settings(s):
    settings = {"security.protocol": s["protocol"]}
    if "ca" in s:
        settings["ssl.ca.location"] = s["ca"]
    if "cert" in s:
        settings["ssl.certificate.location"] = s["cert"]
        settings["ssl.key.location"] = s["key"]
    if "mechanism" in s:
        settings.update({"sasl.mechanisms": s["mechanism"], "sasl.username": s["user"], "sasl.password": s["password"]})
    return settings


def kafka_python_settings(s):
    settings = {"security_protocol": s["protocol"]}
    if "ca" in s:
        settings["ssl_cafile"] = s["ca"]
    if "cert" in s:
        settings["ssl_certfile"] = s["cert"]
        settings["ssl_keyfile"] = s["key"]
    if "mechanism" in s:
        settings.update({"sasl_mechanism": s["mechanism"], "sasl_plain_username": s["user"], "sasl_plain_password": s["password"]})
    return settings


def client_name(client):
    return {Confluent: "confluent-kafka", KafkaPython: "kafka-python", Kcat: "kcat"}[type(client)]


def scram_users(client, *_):
    """Creates SCRAM_USER for both SCRAM mechanisms with the client's admin
    API over PLAINTEXT (for kcat and kafkajs, which have none, the driver
    runs this with confluent-kafka first), and checks they are described."""
    CONTEXT.append(f"{client_name(client)} creating SCRAM users over PLAINTEXT")
    if isinstance(client, Confluent):
        from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

        admin = client.admin()
        # One request per mechanism: Kafka (KRaft) refuses a user altered
        # twice in one request (DUPLICATE_RESOURCE), mechanisms apart or not.
        for m in SCRAM_MECHANISMS:
            info = ScramCredentialInfo(getattr(ScramMechanism, m.replace("-", "_")), 4096)
            upsertion = UserScramCredentialUpsertion(SCRAM_USER, info, SCRAM_PASSWORD.encode(), os.urandom(16))
            future = admin.alter_user_scram_credentials([upsertion])[SCRAM_USER]
            attempt(f"AlterUserScramCredentials for {SCRAM_USER} with {m}", lambda: future.result(TIMEOUT))
        described = attempt("DescribeUserScramCredentials",
                            lambda: admin.describe_user_scram_credentials([SCRAM_USER])[SCRAM_USER].result(TIMEOUT))
        mechanisms = sorted(str(info.mechanism).split(".")[-1].replace("_", "-") for info in described.scram_credential_infos)
    else:
        from kafka.admin import UserScramCredentialUpsertion

        admin = client.admin()
        for m in SCRAM_MECHANISMS:  # one request each, as above
            results = attempt(f"AlterUserScramCredentials with {m}",
                              lambda: bounded(lambda: admin.alter_user_scram_credentials(
                                  [UserScramCredentialUpsertion(SCRAM_USER, m, SCRAM_PASSWORD)])))
            check(results == {SCRAM_USER: None}, f"AlterUserScramCredentials with {m}: {results}")
        described = attempt("DescribeUserScramCredentials",
                            lambda: bounded(lambda: admin.describe_user_scram_credentials([SCRAM_USER])))
        print(f"described: {described}")
        mechanisms = sorted(m for m in SCRAM_MECHANISMS if m.replace("-", "_") in str(described) or m in str(described))
        admin.close()
    check(mechanisms == list(SCRAM_MECHANISMS), f"{SCRAM_USER} described with {mechanisms}, expected {list(SCRAM_MECHANISMS)}")
    CONTEXT.pop()


def secured(client, address, settings):
    """A client of the same library on `address` with `settings`."""
    if isinstance(client, KafkaPython):
        return KafkaPython(address, kafka_python_settings(settings))
    return type(client)(address, librdkafka_settings(settings))


def security_roundtrip(client, topic):
    """SECURITY_RECORDS records produced to `topic` and consumed in a group."""
    records = [(f"k{i}".encode(), f"{topic}-{i}".encode(), [], T0 + i) for i in range(SECURITY_RECORDS)]
    if isinstance(client, Kcat):
        client.produce_lines(topic, [value for _, value, _, _ in records])
    else:
        try:
            client.produce(topic, records, partition=0)
        except Exception as e:
            fail(f"producing: {e!r}")
    try:
        got = client.consume(topic, f"{topic}-group", SECURITY_RECORDS)
    except Exception as e:
        fail(f"consuming: {e!r}")
    values = [r[1] for r in got]
    check(values == [r[1] for r in records], f"consumed {values}, expected {[r[1] for r in records]}")
    check([r[5] for r in got] == list(range(SECURITY_RECORDS)), f"offsets {[r[5] for r in got]}")


REFUSAL_SECONDS = 8  # how long a refused client gets to give up


def refused(client, kind):
    """The client fails to fetch metadata; the reason it gives."""
    if isinstance(client, Kcat):
        result = subprocess.run(client.command(["-L", "-J", "-m", "5"]), capture_output=True, timeout=TIMEOUT)
        output = (result.stdout + result.stderr).decode(errors="replace")
        check(result.returncode != 0, f"kcat -L succeeded: {output[:500]}")
        return output.strip()
    if isinstance(client, Confluent):
        # librdkafka retries for ever: the refusal is the first error it
        # reports (error_cb) while metadata cannot be fetched.
        errors = []
        admin = client.admin(error_cb=errors.append)
        deadline = time.time() + REFUSAL_SECONDS
        while time.time() < deadline:
            try:
                metadata = admin.list_topics(timeout=1)
            except client.ck.KafkaException as e:
                admin.poll(0.1)  # serves error_cb
                if errors:
                    return f"{e}; errors {[str(err) for err in errors]}"
                continue
            fail(f"metadata fetched: brokers {list(metadata.brokers)}; errors {[str(err) for err in errors]}")
        fail(f"neither metadata nor an error within {REFUSAL_SECONDS} s")
    # kafka-python retries until bootstrap_timeout_ms and then raises a
    # timeout; the reason is in what it logs for each failed connection.
    import logging

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__(logging.ERROR)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    collect = Collect()
    logging.getLogger("kafka").addHandler(collect)
    try:
        admin = bounded(lambda: client.admin(bootstrap_timeout_ms=REFUSAL_SECONDS * 1000,
                                              request_timeout_ms=REFUSAL_SECONDS * 1000), REFUSAL_SECONDS + 5)
        topics = bounded(admin.list_topics, REFUSAL_SECONDS + 5)
    except Exception as e:
        failures = [m for m in dict.fromkeys(collect.messages) if m.startswith("Connection failed")]
        return f"{e!r}; logged {failures or list(dict.fromkeys(collect.messages))}"
    finally:
        logging.getLogger("kafka").removeHandler(collect)
    fail(f"metadata fetched: topics {topics}")


# What a refusal names, by kind (for a clear failure when a client fails
# for some other reason, such as a broker that closes the connection).
REFUSAL_WORDS = {
    "sasl": ["authentication", "sasl"],
    "tls": ["certificate", "ssl", "tls", "handshake", "transport", "connection", "broker"],
}


def security(client, topic, *args):
    options = security_options(args)
    name = client_name(client)
    if not isinstance(client, Kcat):
        scram_users(client)
    for what, address, settings in security_cases(options):
        CONTEXT.append(f"{name} over the {what} at {address}")
        slug = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")
        security_roundtrip(secured(client, address, settings), f"{topic}-{slug}"[:200])
        print(f"ok: {what}")
        CONTEXT.pop()
    for what, address, settings, kind in refused_cases(options):
        CONTEXT.append(f"{name} over the {what} at {address}")
        reason = refused(secured(client, address, settings), kind)
        check(any(word in reason.lower() for word in REFUSAL_WORDS[kind]), f"refused, but not for {kind}: {reason}")
        print(f"ok: refused, {what}: {reason[:300]}")
        CONTEXT.pop()


# ----------------------------------------------------------------------- acls
# ACL authorization (Kafka's StandardAuthorizer, super.users=User:admin,
# allow.everyone.if.no.acl.found=false) as a user of each library's admin
# API and clients meets it, everyone logged in over SASL_PLAINTEXT with
# PLAIN: alice refused a topic, then allowed it (WRITE on the topic's name,
# READ on its prefix, READ on her group) by admin's CreateAcls, refused a
# group without an ACL and refused CreateAcls herself, and refused the topic
# again once admin's DeleteAcls with a filter has removed her ACLs.

ACL_USERS = {"admin": "admin-secret", "alice": "alice-secret"}  # the listener's JAAS users
ACL_RECORDS = 10
ACL_REFUSAL_SECONDS = 6  # how long a refused client gets to report it


def acl_options(args):
    """The scenario's key=value arguments: the SASL_PLAINTEXT listener's
    address (sasl_plaintext)."""
    options = dict(arg.split("=", 1) for arg in args)
    check("sasl_plaintext" in options, "acls: missing argument sasl_plaintext=<address>")
    return options


def logged_in(client, address, user):
    """A client of the same library on `address` logged in as `user`."""
    return secured(client, address, {"protocol": "SASL_PLAINTEXT", "mechanism": "PLAIN",
                                     "user": user, "password": ACL_USERS[user]})


def acl_tuple(resource_type, name, pattern_type, principal, host, operation, permission):
    """An ACL as names, comparable across libraries."""
    names = [str(getattr(v, "name", v)).split(".")[-1] for v in (resource_type, pattern_type, operation, permission)]
    return (names[0], name, names[1], principal, host, names[2], names[3])


def alice_acls(topic, prefix, group):
    """What admin allows alice, as acl_tuple()s."""
    return {
        ("TOPIC", topic, "LITERAL", "User:alice", "*", "WRITE", "ALLOW"),
        ("TOPIC", prefix, "PREFIXED", "User:alice", "*", "READ", "ALLOW"),
        ("GROUP", group, "LITERAL", "User:alice", "*", "READ", "ALLOW"),
    }


class ConfluentAcls:
    """ACLs with confluent-kafka's AdminClient (create_acls, describe_acls,
    delete_acls with AclBinding and AclBindingFilter)."""

    def __init__(self, client):
        from confluent_kafka import admin

        self.a = admin
        self.client = client
        self.admin = client.admin()

    def binding(self, t):
        a = self.a
        return a.AclBinding(a.ResourceType[t[0]], t[1], a.ResourcePatternType[t[2]], t[3], t[4],
                            a.AclOperation[t[5]], a.AclPermissionType[t[6]])

    @staticmethod
    def shown(b):
        return acl_tuple(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type)

    def filter(self, principal):
        a = self.a
        return a.AclBindingFilter(a.ResourceType.ANY, None, a.ResourcePatternType.ANY, principal, None,
                                  a.AclOperation.ANY, a.AclPermissionType.ANY)

    def create(self, acls):
        """None, or the error of the first ACL refused."""
        bindings = [self.binding(t) for t in sorted(acls)]
        futures = self.admin.create_acls(bindings, request_timeout=TIMEOUT)
        for binding in bindings:
            try:
                futures[binding].result(TIMEOUT)
            except self.client.ck.KafkaException as e:
                return e.args[0]
        return None

    def describe(self):
        return {self.shown(b) for b in self.admin.describe_acls(self.filter(None), request_timeout=TIMEOUT).result(TIMEOUT)}

    def delete(self, principal):
        f = self.filter(principal)
        return {self.shown(b) for b in self.admin.delete_acls([f], request_timeout=TIMEOUT)[f].result(TIMEOUT)}

    @staticmethod
    def code(error):
        return error.name() if error is not None else None


class KafkaPythonAcls:
    """ACLs with kafka-python's KafkaAdminClient (create_acls, describe_acls,
    delete_acls with ACL, ACLFilter and ResourcePattern)."""

    def __init__(self, client):
        import kafka.admin

        self.a = kafka.admin
        self.admin = bounded(client.admin)

    def acl(self, t):
        a = self.a
        return a.ACL(principal=t[3], host=t[4], operation=a.ACLOperation[t[5]], permission_type=a.ACLPermissionType[t[6]],
                     resource_pattern=a.ResourcePattern(a.ResourceType[t[0]], t[1], a.ACLResourcePatternType[t[2]]))

    @staticmethod
    def shown(acl):
        p = acl.resource_pattern
        return acl_tuple(p.resource_type, p.resource_name, p.pattern_type, acl.principal, acl.host, acl.operation, acl.permission_type)

    def filter(self, principal):
        a = self.a
        return a.ACLFilter(principal=principal, host=None, operation=a.ACLOperation.ANY,
                           permission_type=a.ACLPermissionType.ANY,
                           resource_pattern=a.ResourcePatternFilter(a.ResourceType.ANY, None, a.ACLResourcePatternType.ANY))

    def create(self, acls):
        result = bounded(lambda: self.admin.create_acls([self.acl(t) for t in sorted(acls)]))
        check(len(result["succeeded"]) + len(result["failed"]) == len(acls), f"create_acls answered {result}")
        return result["failed"][0]() if result["failed"] else None  # an error class: made an error

    def describe(self):
        found, _ = bounded(lambda: self.admin.describe_acls(self.filter(None)))  # raises on an error
        return {self.shown(acl) for acl in found}

    def delete(self, principal):
        ((_, deleted, error),) = bounded(lambda: self.admin.delete_acls([self.filter(principal)]))
        check(error.errno == 0, f"delete_acls: {error.__name__}")
        return {self.shown(acl) for acl in deleted}

    @staticmethod
    def code(error):
        return None if error is None else type(error).__name__


def produce_refused(client, topic):
    """The error with which the library refuses a record for `topic`, as
    (name, text); fails when it is delivered or nothing is said in time."""
    if isinstance(client, Confluent):
        producer = client.producer(**{"message.timeout.ms": ACL_REFUSAL_SECONDS * 1000})
        errors = []
        producer.produce(topic, key=b"k", value=b"refused", on_delivery=lambda err, msg: errors.append(err))
        producer.flush(ACL_REFUSAL_SECONDS + 2)
        check(errors, f"no delivery report within {ACL_REFUSAL_SECONDS + 2} s")
        check(errors[0] is not None, "the record was delivered")
        return errors[0].name(), str(errors[0])
    producer = bounded(lambda: client.producer(max_block_ms=ACL_REFUSAL_SECONDS * 1000,
                                               request_timeout_ms=ACL_REFUSAL_SECONDS * 1000))
    try:
        bounded(lambda: producer.send(topic, key=b"k", value=b"refused").get(timeout=ACL_REFUSAL_SECONDS),
                ACL_REFUSAL_SECONDS + 2)
    except Exception as e:
        return type(e).__name__, repr(e)
    finally:
        producer.close(timeout=2)
    fail("the record was delivered")


def group_refused(client, topic, group):
    """The error with which the library refuses a consumer in `group`, as
    (name, text)."""
    consumer = client.consumer(group)
    consumer.subscribe([topic])
    deadline = time.time() + ACL_REFUSAL_SECONDS
    try:
        while time.time() < deadline:
            if isinstance(client, Confluent):
                msg = consumer.poll(0.2)
                if msg is None:
                    continue
                check(msg.error() is not None, f"consumed {msg.value()!r} at offset {msg.offset()}")
                return msg.error().name(), str(msg.error())
            try:
                records = consumer.poll(timeout_ms=500)
            except Exception as e:
                return type(e).__name__, repr(e)
            check(not records, f"consumed {records}")
        fail(f"no error within {ACL_REFUSAL_SECONDS} s")
    finally:
        consumer.close()


def refused_as(what, got, expected):
    name, text = got
    check(name == expected, f"{what}: refused with {text}, expected {expected}")
    print(f"ok: {what}: {text[:200]}")


def acls(client, topic, *args):
    check(not isinstance(client, Kcat), "acls: kcat has no admin API")
    address = acl_options(args)["sasl_plaintext"]
    name = client_name(client)
    kafka_python = isinstance(client, KafkaPython)
    topic_error = "TopicAuthorizationFailedError" if kafka_python else "TOPIC_AUTHORIZATION_FAILED"
    group_error = "GroupAuthorizationFailedError" if kafka_python else "GROUP_AUTHORIZATION_FAILED"
    cluster_error = "ClusterAuthorizationFailedError" if kafka_python else "CLUSTER_AUTHORIZATION_FAILED"
    admin, alice = logged_in(client, address, "admin"), logged_in(client, address, "alice")
    Acls = KafkaPythonAcls if kafka_python else ConfluentAcls
    prefix, orders, group = f"{topic}-", f"{topic}-orders", f"{topic}-group"

    CONTEXT.append(f"{name} as admin (super user) at {address}")
    attempt(f"creating {orders}", lambda: admin.create_topic(orders, 1))
    as_admin = attempt("the admin client", lambda: Acls(admin))
    found = attempt("DescribeAcls", as_admin.describe)
    check(found == set(), f"ACLs before any were made: {found}")
    CONTEXT[-1] = f"{name} as alice at {address}"
    refused_as(f"producing to {orders} without an ACL", produce_refused(alice, orders), topic_error)

    CONTEXT[-1] = f"{name} as admin (super user) at {address}"
    wanted = alice_acls(orders, prefix, group)
    error = attempt("CreateAcls", lambda: as_admin.create(wanted))
    check(error is None, f"CreateAcls refused: {error}")
    found = attempt("DescribeAcls", as_admin.describe)
    check(found == wanted, f"described {sorted(found)}, expected {sorted(wanted)}")
    print(f"ok: created and described {sorted(found)}")

    CONTEXT[-1] = f"{name} as alice at {address}"
    records = [(f"k{i}".encode(), f"{orders}-{i}".encode(), [], T0 + i) for i in range(ACL_RECORDS)]
    attempt(f"producing to {orders}", lambda: alice.produce(orders, records, partition=0))
    got = attempt(f"consuming {orders} in {group}", lambda: alice.consume(orders, group, ACL_RECORDS))
    check([r[1] for r in got] == [r[1] for r in records], f"consumed {[r[1] for r in got]}")
    check([r[5] for r in got] == list(range(ACL_RECORDS)), f"offsets {[r[5] for r in got]}")
    print(f"ok: produced and consumed {ACL_RECORDS} records in {group}")
    refused_as(f"consuming in {topic}-other-group (no ACL)", group_refused(alice, orders, f"{topic}-other-group"),
               group_error)
    as_alice = attempt("alice's admin client", lambda: Acls(alice))
    error = attempt("CreateAcls as alice", lambda: as_alice.create({("TOPIC", prefix, "PREFIXED", "User:alice", "*", "ALL", "ALLOW")}))
    check(error is not None, "alice created an ACL")
    refused_as("CreateAcls as alice", (Acls.code(error), str(error)), cluster_error)

    CONTEXT[-1] = f"{name} as admin (super user) at {address}"
    deleted = attempt("DeleteAcls", lambda: as_admin.delete("User:alice"))
    check(deleted == wanted, f"deleted {sorted(deleted)}, expected {sorted(wanted)}")
    found = attempt("DescribeAcls", as_admin.describe)
    check(found == set(), f"ACLs left after DeleteAcls: {found}")
    print("ok: deleted alice's ACLs")
    CONTEXT[-1] = f"{name} as alice at {address}"
    refused_as(f"producing to {orders} after DeleteAcls", produce_refused(alice, orders), topic_error)
    CONTEXT.pop()


SCENARIOS = {
    "produce-set": produce_set,
    "consume-set": consume_set,
    "roundtrip": roundtrip,
    "group-commit": group_commit,
    "share": share,
    "idempotent": idempotent,
    "codecs": codecs,
    "list-offsets": list_offsets,
    "admin": admin,
    "retention": retention,
    "compaction": compaction,
    "metadata": metadata,
    "restart-produce": restart_produce,
    "restart-commit": restart_commit,
    "restart-verify": restart_verify,
    "transactions": transactions,
    "transactions-restart-open": transactions_restart_open,
    "eos-restart-first": eos_restart_first,
    "eos-restart-second": eos_restart_second,
    "transactions-restart-verify": transactions_restart_verify,
    "security": security,
    "scram-users": scram_users,
    "acls": acls,
    "consumer-protocol": consumer_protocol,
    "consumer-protocol-restart-first": cp_restart_first,
    "consumer-protocol-restart-second": cp_restart_second,
}


def main():
    if os.environ.get("E2E_DEBUG"):  # the clients' own logs, for diagnosis
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(threadName)s %(name)s %(message)s")
    if len(sys.argv) < 4 or sys.argv[2] not in SCENARIOS:
        fail(f"usage: clients.py confluent|kafka-python|kcat {'|'.join(SCENARIOS)} <bootstrap> [args]")
    client = {"confluent": Confluent, "kafka-python": KafkaPython, "kcat": Kcat}[sys.argv[1]](sys.argv[3])
    SCENARIOS[sys.argv[2]](client, *sys.argv[4:])
    print(f"ok: {sys.argv[1]} {sys.argv[2]}")


if __name__ == "__main__":
    main()
