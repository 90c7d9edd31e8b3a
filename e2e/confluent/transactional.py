"""ConfluentTransactional: a confluent-kafka producer with a
transactional.id, the calls the transaction scenarios make."""

from common import TIMEOUT


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
