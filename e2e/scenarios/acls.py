"""ACL authorization with confluent-kafka and kafka-python (kcat has no
admin API).

ACL authorization (Kafka's StandardAuthorizer, super.users=User:admin,
allow.everyone.if.no.acl.found=false) as a user of each library's admin
API and clients meets it, everyone logged in over SASL_PLAINTEXT with
PLAIN: alice refused a topic, then allowed it (WRITE on the topic's name,
READ on its prefix, READ on her group) by admin's CreateAcls, refused a
group without an ACL and refused CreateAcls herself, and refused the topic
again once admin's DeleteAcls with a filter has removed her ACLs."""

import time

from common import CONTEXT, T0, attempt, bounded, check, fail
from confluent.acls import ConfluentAcls
from confluent.client import Confluent
from kafka_python.acls import KafkaPythonAcls
from kafka_python.client import KafkaPython
from kcat import Kcat
from scenarios.security import client_name, secured


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


def alice_acls(topic, prefix, group):
    """What admin allows alice, as acl_tuple()s."""
    return {
        ("TOPIC", topic, "LITERAL", "User:alice", "*", "WRITE", "ALLOW"),
        ("TOPIC", prefix, "PREFIXED", "User:alice", "*", "READ", "ALLOW"),
        ("GROUP", group, "LITERAL", "User:alice", "*", "READ", "ALLOW"),
    }


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
