"""kcat, driven as a user would (messages on stdin, JSON on stdout): the
client (Kcat), a balanced consumer in a process of its own (KcatMember),
and kcat's versions of the scenarios it cannot run as the libraries do
(it sets no timestamps and commits by itself)."""

import json
import re
import signal
import subprocess
import threading
import time

from common import TIMEOUT, check


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


def kcat_group_commit(client, topic):
    """kcat's balanced consumer commits what it read when it exits; the next
    one in the group starts after it."""
    client.produce(topic, [(b"k", f"m{i}".encode(), [], 0) for i in range(10)], partition=0)
    got = client.consume(topic, "resumers", 10)
    check([r[1] for r in got] == [f"m{i}".encode() for i in range(10)], "first consumer read the wrong records")
    client.produce(topic, [(b"k", f"m{i}".encode(), [], 0) for i in range(10, 15)], partition=0)
    got = client.consume(topic, "resumers", 5)
    check([r[5] for r in got] == list(range(10, 15)), f"resumed at offsets {[r[5] for r in got]}, expected 10..14")


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
