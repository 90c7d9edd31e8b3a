"""Admin APIs: the topic admin scenario of each library (kcat has none),
and the cluster's metadata as each client sees it."""

from common import TIMEOUT, check
from confluent.admin import confluent_admin, confluent_partition_admin
from confluent.client import Confluent
from confluent.kip848 import kip848_member
from kafka_python.admin import (
    kafka_python_abort_hanging_transaction,
    kafka_python_admin,
    kafka_python_classic_member,
    kafka_python_cluster_admin,
    kafka_python_delete_group_offsets,
    kafka_python_log_dirs_admin,
    kafka_python_partition_admin,
)
from kafka_python.client import KafkaPython
from kcat import Kcat


def admin(client, topic):
    if isinstance(client, Confluent):
        confluent_admin(client, topic)
    else:
        kafka_python_admin(client, topic)



def partition_admin(client, topic):
    """Leader elections and partition reassignments (kafka-python's
    KafkaAdminClient, confluent-kafka's elect_leaders)."""
    if isinstance(client, Confluent):
        confluent_partition_admin(client, topic)
    else:
        kafka_python_partition_admin(client, topic)


def group_offsets_admin(client, topic):
    """OffsetDelete through kafka-python's delete_group_offsets, on a group
    of the classic protocol (a kafka-python member) or, run with
    confluent-kafka, of KIP-848's (a librdkafka member)."""
    if isinstance(client, Confluent):
        kafka_python_delete_group_offsets(KafkaPython(client.bootstrap), topic, kip848_member(client))
    else:
        kafka_python_delete_group_offsets(client, topic, kafka_python_classic_member(client))


def cluster_admin(client, topic):
    """The metadata quorum, feature levels and config resources, through
    kafka-python's KafkaAdminClient (the only library here with them)."""
    kafka_python_cluster_admin(client, topic)


def log_dirs_admin(client, topic):
    """Two log directories and a move between them, through kafka-python's
    describe_log_dirs and alter_replica_log_dirs."""
    kafka_python_log_dirs_admin(client, topic)


def abort_hanging(client, topic):
    """A hanging transaction found and aborted through kafka-python's
    find_hanging_transactions and abort_transaction (WriteTxnMarkers)."""
    kafka_python_abort_hanging_transaction(client, topic)


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
