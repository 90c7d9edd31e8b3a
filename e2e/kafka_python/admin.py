"""kafka-python's KafkaAdminClient: the topic admin scenario (create,
describe, grow, delete) and AlterConfigs."""

import time

from common import TIMEOUT, check, fail


def kafka_python_admin(client, topic):
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
    from kafka.errors import InvalidReplicationFactorError, TopicAlreadyExistsError

    admin = client.admin()
    admin.create_topics([NewTopic(topic, 2, 1, topic_configs={"retention.ms": "1000"})])
    check(topic in admin.list_topics(), "topic not listed")
    for new, error in [(NewTopic(topic, 1, 1), TopicAlreadyExistsError), (NewTopic(f"{topic}-rf", 1, 3), InvalidReplicationFactorError)]:
        try:
            admin.create_topics([new], raise_errors=True) if "raise_errors" in admin.create_topics.__code__.co_varnames else admin.create_topics([new])
            fail(f"creating {new.name} succeeded")
        except error:
            pass
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    text = repr(described)
    check("retention.ms" in text and "1000" in text, f"describe_configs: {text[:300]}")
    admin.create_partitions({topic: NewPartitions(4)})
    described = admin.describe_topics([topic])
    check(len(described[0]["partitions"]) == 4, f"partitions: {described}")
    admin.delete_topics([topic])
    deadline = time.time() + TIMEOUT
    while topic in admin.list_topics() and time.time() < deadline:
        time.sleep(0.1)
    check(topic not in admin.list_topics(), "topic still listed after deletion")


def kafka_python_alter(client, topic, changes):
    from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType

    configs = {name: (AlterConfigOp.DELETE, None) if value is None else (AlterConfigOp.SET, value) for name, value in changes.items()}
    result = client.admin().alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)], raise_on_unknown=False)
    # Per resource: an error's text, or the result.
    errors = [r for by_name in result.values() for r in by_name.values() if isinstance(r, (Exception, str)) and "Error" in str(r)]
    if errors:
        raise RuntimeError(errors[0])
