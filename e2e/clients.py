"""End-to-end scenarios run with unmodified Python Kafka clients.

    python clients.py <client> <scenario> <bootstrap> [args...]

<client> is `confluent` (confluent-kafka, the newest librdkafka),
`kafka-python` or `kcat` (Debian's kcat 1.7.1, librdkafka 2.0.2). Each scenario checks what a user of a real Kafka broker
would expect, record by record, and exits non-zero with a message on the
first difference. Run by harness/tests/real_clients.rs against a broker it
starts; see that file for which scenarios run with which client.

This file only names the scenarios and runs one. They live in:

- common.py: what every scenario shares (fail, check, TIMEOUT, RECORDS...)
- kcat.py: the kcat client and its versions of the scenarios
- confluent/: the confluent-kafka client, its halves of the scenarios that
  differ by library, and what only it runs (KIP-848 consumer groups,
  transactions across a broker kill)
- kafka_python/: the kafka-python client and its halves of those scenarios
- scenarios/: the scenarios the clients share, by feature (records, groups,
  admin, cleanup, transactions, security, acls)
"""

import os
import sys

from common import fail
from confluent.consumer_protocol import consumer_protocol
from confluent.consumer_protocol_restart import cp_restart_first, cp_restart_second
from confluent.share_groups import share_groups
from confluent.client import Confluent
from confluent.transactions_restart import (
    eos_restart_first,
    eos_restart_second,
    transactions_restart_open,
    transactions_restart_verify,
)
from kafka_python.client import KafkaPython
from kcat import Kcat
from scenarios.acls import acls
from scenarios.admin import (
    abort_hanging,
    admin,
    cluster_admin,
    group_offsets_admin,
    log_dirs_admin,
    metadata,
    partition_admin,
)
from scenarios.cleanup import compaction, retention
from scenarios.groups import group_commit, share
from scenarios.records import (
    codecs,
    consume_set,
    idempotent,
    list_offsets,
    produce_set,
    restart_commit,
    restart_produce,
    restart_verify,
    roundtrip,
)
from scenarios.security import scram_users, security
from scenarios.transactions import transactions


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
    "partition-admin": partition_admin,
    "log-dirs-admin": log_dirs_admin,
    "group-offsets-admin": group_offsets_admin,
    "cluster-admin": cluster_admin,
    "abort-hanging": abort_hanging,
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
    "share-groups": share_groups,
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
