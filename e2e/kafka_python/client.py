"""KafkaPython, kafka-python as the scenarios drive it: KafkaProducer,
KafkaConsumer and KafkaAdminClient made with keyword arguments, and the
calls of Library's interface on them."""

import time

from common import TIMEOUT, Library, check


class KafkaPython(Library):
    def __init__(self, bootstrap, settings=None):
        import kafka

        super().__init__(bootstrap, settings)  # keyword arguments
        self.kafka = kafka

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
