"""Security with each Python client: SSL, mutual TLS, SASL_PLAINTEXT and
SASL_SSL listeners (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) as each client is
configured for them: records produced and consumed (in a group, so the
coordinator's endpoint is the listener's too) over each, and a wrong
password, an unknown SCRAM user, an untrusted CA and a missing client
certificate refused. Also the SCRAM users, made with the admin API."""

import os
import re
import subprocess
import time

from common import CONTEXT, T0, TIMEOUT, attempt, bounded, check, fail
from confluent.client import Confluent
from kafka_python.client import KafkaPython
from kcat import Kcat


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


# The neutral names of the cases' settings, as librdkafka (confluent-kafka,
# kcat) and kafka-python call them.
SETTING_NAMES = {
    "protocol": ("security.protocol", "security_protocol"),
    "ca": ("ssl.ca.location", "ssl_cafile"),
    "cert": ("ssl.certificate.location", "ssl_certfile"),
    "key": ("ssl.key.location", "ssl_keyfile"),
    "mechanism": ("sasl.mechanisms", "sasl_mechanism"),
    "user": ("sasl.username", "sasl_plain_username"),
    "password": ("sasl.password", "sasl_plain_password"),
}


def librdkafka_settings(s):
    return {SETTING_NAMES[name][0]: value for name, value in s.items()}


def kafka_python_settings(s):
    return {SETTING_NAMES[name][1]: value for name, value in s.items()}


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
