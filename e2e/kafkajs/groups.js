// Consumer groups with kafkajs: a group commits, stops and resumes where it
// committed; two consumers share a group's partitions and one takes over
// when the other leaves.

const { TIMEOUT, check, produce, consume, text } = require('./common')

module.exports = {
  // A group commits, stops, and resumes exactly where it committed.
  async 'group-commit' (client, topic) {
    const records = (from, to) => Array.from({ length: to - from }, (_, i) => ({ key: 'k', value: `m${from + i}`, partition: 0 }))
    await produce(client, topic, records(0, 10))
    const { got, consumer } = await consume(client, topic, 'resumers', 6, { keepOpen: true })
    check(got.map(m => text(m.value)).join() === records(0, 6).map(r => r.value).join(), 'first consumer read the wrong records')
    await consumer.commitOffsets([{ topic, partition: 0, offset: '6' }])
    await consumer.disconnect()
    await produce(client, topic, records(10, 15))
    const resumed = await consume(client, topic, 'resumers', 9)
    check(resumed.map(m => m.offset).join() === '6,7,8,9,10,11,12,13,14', `resumed at ${resumed.map(m => m.offset)}`)
  },

  // Two consumers share a group's partitions; when one leaves, the other
  // takes over everything, and no record is lost or read twice.
  async share (client, topic) {
    const admin = client.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true })
    const group = `${topic}-sharers`
    const members = [0, 1].map(() => ({ consumer: client.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500 }), read: [], partitions: new Set() }))
    for (const m of members) {
      m.consumer.on(m.consumer.events.GROUP_JOIN, (e) => { m.partitions = new Set((e.payload.memberAssignment[topic] || [])) })
      await m.consumer.connect()
      await m.consumer.subscribe({ topic, fromBeginning: true })
      await m.consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => { m.read.push({ partition, offset: Number(message.offset), value: text(message.value) }) } })
    }
    const waitFor = async (condition, what) => {
      const deadline = Date.now() + TIMEOUT
      while (!condition()) {
        check(Date.now() < deadline, `timed out waiting for ${what}`)
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    }
    const [one, two] = members
    // While the group rebalances, the first member may still hold what it was
    // given alone; wait for the split of the stable group.
    const split = () => one.partitions.size > 0 && two.partitions.size > 0 &&
      new Set([...one.partitions, ...two.partitions]).size === 4 && one.partitions.size + two.partitions.size === 4
    await waitFor(split, 'both consumers to share the partitions')
    const first = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `a${i}`, partition: Math.floor(i / 10) }))
    await produce(client, topic, first)
    await waitFor(() => one.read.length + two.read.length >= 40, '40 records')
    const positions = one.read.concat(two.read).map(r => `${r.partition}/${r.offset}`).sort()
    check(positions.length === 40 && new Set(positions).size === 40, `read ${positions}`)
    check(one.read.every(r => one.partitions.has(r.partition)) && two.read.every(r => two.partitions.has(r.partition)), 'records from partitions not assigned')
    for (const m of members) {
      await m.consumer.commitOffsets([...m.partitions].map(partition => ({ topic, partition, offset: '10' })))
    }
    await one.consumer.disconnect()
    await waitFor(() => two.partitions.size === 4, 'the remaining consumer to get every partition')
    const before = two.read.length
    await produce(client, topic, first.map(r => ({ ...r, value: r.value.replace('a', 'b') })))
    await waitFor(() => two.read.length >= before + 40, '40 more records')
    const after = two.read.slice(before).map(r => `${r.partition}/${r.offset}`).sort()
    const expected = [0, 1, 2, 3].flatMap(p => Array.from({ length: 10 }, (_, i) => `${p}/${10 + i}`)).sort()
    check(JSON.stringify(after) === JSON.stringify(expected), `after the rebalance read ${after}`)
    check(two.read.slice(before).every(r => r.value.startsWith('b')), 'old records read again')
    await two.consumer.disconnect()
    await admin.disconnect()
  }
}
