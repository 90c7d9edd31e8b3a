"""End-to-end scenarios with aiokafka, the asyncio client:

    python -m aio <scenario> <bootstrap> [args...]    (from e2e/)

Like clients.py, each scenario checks what a user of a real Kafka broker
would expect, record by record, and exits non-zero with a message on the
first difference; every wait is bounded (client.within), so a scenario
fails with a message rather than hangs. Run by
harness/tests/real_clients.rs against a broker it starts.

- client.py: the client (producers, consumers, the admin client) and within()
- records.py: the idempotent producer, compression codecs
- groups.py: two consumers sharing a group's partitions
- transactions.py: committed and aborted transactions
- admin.py: topics created, described and deleted

(The package is not named aiokafka: that would shadow the library.)
"""
