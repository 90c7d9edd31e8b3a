// Records produced and consumed with kafkajs: the record set (also across
// clients), a round trip, the idempotent producer, compression codecs,
// offsets by time, and records and commits that survive a broker restart.

const { CompressionTypes, T0, check, RECORDS, produce, consume, text, sameRecord } = require('./common')

const scenarios = {
  async 'produce-set' (client, topic) {
    await produce(client, topic, RECORDS.map(r => ({ ...r, partition: 0 })))
  },

  // Checks the record set, produced by any client, record by record
  // (timestamps only when the producer could set them).
  async 'consume-set' (client, topic, group = 'verify', timestamps = 'yes') {
    const got = await consume(client, topic, group, RECORDS.length)
    got.forEach((record, i) => {
      check(record.partition === 0 && record.offset === String(i), `record ${i} at ${record.partition}/${record.offset}`)
      sameRecord(record, RECORDS[i], `record ${i}`, timestamps === 'yes')
    })
  },

  async roundtrip (client, topic) {
    await scenarios['produce-set'](client, topic)
    await scenarios['consume-set'](client, topic)
  },

  async idempotent (client, topic) {
    const records = Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: 0 }))
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    for (let i = 0; i < 200; i += 20) await producer.send({ topic, acks: -1, messages: records.slice(i, i + 20) })
    await producer.disconnect()
    const got = await consume(client, topic, 'exactly-once', 200)
    check(got.map(m => text(m.value)).join() === records.map(r => r.value).join(), 'records lost, reordered or duplicated')
    check(got.every((m, i) => m.offset === String(i)), 'offsets not contiguous')
  },

  async codecs (client, topic, ...names) {
    const types = { gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy }
    for (const name of names) {
      check(types[name] !== undefined, `no ${name} codec for kafkajs`)
      await produce(client, `${topic}-${name}`, RECORDS.map(r => ({ ...r, partition: 0 })), { compression: types[name] })
      await scenarios['consume-set'](client, `${topic}-${name}`, `codec-${name}`)
    }
  },

  async 'list-offsets' (client, topic) {
    await produce(client, topic, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `v${i}`, partition: 0, timestamp: String(T0 + 1000 * i) })))
    const admin = client.admin()
    await admin.connect()
    const [offsets] = await admin.fetchTopicOffsets(topic)
    check(offsets.low === '0' && offsets.high === '5', `watermarks ${JSON.stringify(offsets)}`)
    for (const [timestamp, expected] of [[T0, '0'], [T0 + 1, '1'], [T0 + 2500, '3'], [T0 + 4000, '4']]) {
      const [found] = await admin.fetchTopicOffsetsByTimestamp(topic, timestamp)
      check(found.offset === expected, `offset for ${timestamp}: ${found.offset}, expected ${expected}`)
    }
    // After the last record: kafkajs reports the end of the log.
    const [after] = await admin.fetchTopicOffsetsByTimestamp(topic, T0 + 4001)
    check(after.offset === '5', `offset after the last record: ${after.offset}`)
    await admin.disconnect()
  },

  // The broker restart scenario, in three runs: acknowledged records, a
  // commit, and (after the restart) both still there.
  async 'restart-produce' (client, topic, count) {
    await produce(client, topic, Array.from({ length: Number(count) }, (_, i) => ({ key: 'k', value: `r${i}`, partition: 0 })))
  },

  async 'restart-commit' (client, topic, committed) {
    const { consumer } = await consume(client, topic, 'survivors', Number(committed), { keepOpen: true })
    await consumer.commitOffsets([{ topic, partition: 0, offset: String(committed) }])
    await consumer.disconnect()
  },

  async 'restart-verify' (client, topic, count, committed) {
    count = Number(count)
    committed = Number(committed)
    const all = await consume(client, topic, 'a-new-group', count)
    check(all.map(m => text(m.value)).join() === Array.from({ length: count }, (_, i) => `r${i}`).join(), 'acknowledged records lost after the restart')
    const resumed = await consume(client, topic, 'survivors', count - committed)
    check(resumed.every((m, i) => m.offset === String(committed + i)), `the group resumed at ${resumed.length ? resumed[0].offset : null}`)
  }
}

module.exports = scenarios
