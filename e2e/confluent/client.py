"""The confluent-kafka client of the scenarios (Confluent): producers,
consumers and an AdminClient on librdkafka properties, and what
Library's scenarios call on them (produce, poll, commit, offsets...)."""

import time

from common import TIMEOUT, Library, check


class Confluent(Library):
    def __init__(self, bootstrap, settings=None):
        import confluent_kafka

        super().__init__(bootstrap, settings)  # librdkafka properties
        self.ck = confluent_kafka

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
