"""KafkaPythonTransactional: a kafka-python KafkaProducer with a
transactional_id, the calls the transaction scenarios make."""

from common import TIMEOUT, bounded


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
