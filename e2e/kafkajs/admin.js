// kafkajs's admin client: the topic admin scenario (create, describe,
// grow, delete) and the cluster's metadata as kafkajs sees it.

const { check } = require('./common')

module.exports = {
  async admin (client, topic) {
    const admin = client.admin()
    await admin.connect()
    check(await admin.createTopics({ topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] }), 'topic not created')
    check(!(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })), 'existing topic created again')
    let error = null
    try { await admin.createTopics({ topics: [{ topic: `${topic}-rf`, replicationFactor: 3 }] }) } catch (e) { error = e }
    check(error && JSON.stringify(error).includes('INVALID_REPLICATION_FACTOR'), `replication factor 3: ${error}`)
    check((await admin.listTopics()).includes(topic), 'topic not listed')
    const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false })
    const policy = configs.resources[0].configEntries.find(c => c.configName === 'cleanup.policy')
    check(policy.configValue === 'compact', `cleanup.policy ${policy.configValue}`)
    await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] })
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
    check(metadata.topics[0].partitions.length === 3, 'partitions not added')
    const cluster = await admin.describeCluster()
    check(cluster.brokers.length === 1 && cluster.controller === 1, `cluster ${JSON.stringify(cluster)}`)
    await admin.deleteTopics({ topics: [topic] })
    check(!(await admin.listTopics()).includes(topic), 'topic still listed after deletion')
    await admin.disconnect()
  },

  // The cluster as clients see it: this node alone, at the address they
  // bootstrapped from, leading every partition of `topic`.
  async metadata (client, topic, partitions, clusterId) {
    const admin = client.admin()
    await admin.connect()
    const cluster = await admin.describeCluster()
    const [host, port] = [client.bootstrap.slice(0, client.bootstrap.lastIndexOf(':')), Number(client.bootstrap.slice(client.bootstrap.lastIndexOf(':') + 1))]
    check(JSON.stringify(cluster.brokers) === JSON.stringify([{ nodeId: 1, host, port }]), `brokers ${JSON.stringify(cluster.brokers)}`)
    check(cluster.controller === 1 && cluster.clusterId === clusterId, `cluster ${JSON.stringify(cluster)}`)
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
    const found = metadata.topics[0].partitions.map(p => [p.partitionId, p.leader, p.replicas, p.isr]).sort((a, b) => a[0] - b[0])
    const expected = Array.from({ length: Number(partitions) }, (_, p) => [p, 1, [1], [1]])
    check(JSON.stringify(found) === JSON.stringify(expected), `partitions ${JSON.stringify(found)}`)
    await admin.disconnect()
  }
}
