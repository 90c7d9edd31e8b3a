// Log cleanup as a kafkajs user sees it: retention altered at runtime (and
// DeleteRecords), and a compacted topic. Both need a broker that checks
// often (log.retention.check.interval.ms, log.cleaner.backoff.ms).

const { TIMEOUT, check, produce, consume, text } = require('./common')

module.exports = {
  // A topic's retention altered at runtime (kafkajs has the legacy
  // AlterConfigs, which replaces every override): once retention.bytes is
  // set the oldest segments go, the earliest offset moves up and a group
  // reading from the start begins there; the override is described,
  // refused when invalid and dropped again; DeleteRecords moves the start.
  async retention (client, topic) {
    const admin = client.admin()
    await admin.connect()
    const segment = { name: 'segment.bytes', value: '65536' }
    check(await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [segment] }] }), 'topic not created')
    const now = Date.now()
    const records = Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: String.fromCharCode(97 + i % 26).repeat(1000), partition: 0, timestamp: String(now + i) }))
    // Sent in parts, so that no batch exceeds the segment size.
    for (let i = 0; i < records.length; i += 10) await produce(client, topic, records.slice(i, i + 10))
    const offsets = async () => (await admin.fetchTopicOffsets(topic))[0]
    const alter = async (entries) => admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: entries }] })
    const described = async (name) => {
      const result = await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false })
      return result.resources[0].configEntries.find(c => c.configName === name).configValue
    }
    await alter([segment, { name: 'retention.bytes', value: '150000' }])
    const deadline = Date.now() + TIMEOUT
    while (Number((await offsets()).low) === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 200))
    const { low, high } = await offsets()
    const kept = Number(high) - Number(low)
    check(Number(high) === 300 && kept >= 140 && kept < 230, `after retention.bytes=150000: low ${low} high ${high}`)
    const got = await consume(client, topic, `${topic}-from-start`, kept)
    check(got[0].offset === low && got[kept - 1].offset === String(Number(high) - 1), `read ${got[0].offset}..${got[kept - 1].offset}, expected ${low}..`)
    check(await described('retention.bytes') === '150000', 'retention.bytes not described')
    let error = null
    try { await alter([segment, { name: 'retention.ms', value: 'soon' }]) } catch (e) { error = e }
    check(error && JSON.stringify(error).includes('INVALID_CONFIG'), `retention.ms=soon: ${error}`)
    await alter([segment])
    check(await described('retention.bytes') === '-1', 'retention.bytes not dropped')
    check(await described('segment.bytes') === '65536', 'segment.bytes lost')
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(Number(high) - 5) }] })
    const after = await offsets()
    check(Number(after.low) === Number(high) - 5 && Number(after.high) === 300, `after DeleteRecords: ${JSON.stringify(after)}`)
    await admin.disconnect()
  },

  // A compacted topic, as a user of Kafka's LogCleaner sees it: after many
  // versions of a few keys, a tombstone and enough other records that the
  // last versions are out of the active segment, a consumer from the start
  // reads each key once, with its last value, at the offset it was
  // produced at; the deleted key is gone (or, until a later pass removes
  // it, only its tombstone is left). Needs a broker whose cleaner backs off
  // briefly (log.cleaner.backoff.ms).
  async compaction (client, topic) {
    const admin = client.admin()
    await admin.connect()
    const configEntries = [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'segment.bytes', value: '4096' },
      { name: 'min.cleanable.dirty.ratio', value: '0.01' },
      { name: 'delete.retention.ms', value: '0' }
    ]
    check(await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries }], waitForLeaders: true }), 'topic not created')
    const padded = (value) => `${value}:`.padEnd(100, '-')
    const records = []
    for (let v = 0; v < 15; v++) for (let k = 0; k < 20; k++) records.push({ key: `key-${k}`, value: padded(`key-${k}:v${v}`) })
    records.push({ key: 'key-0', value: null })
    for (let n = 0; n < 60; n++) records.push({ key: `filler-${n % 3}`, value: padded(`filler-${n % 3}:${n}`) })
    // Sent in parts, so that no batch comes near the segment size; each
    // part is one batch, its records at the base offset and on.
    const producer = client.producer()
    await producer.connect()
    const offsets = []
    for (let i = 0; i < records.length; i += 10) {
      const part = records.slice(i, i + 10)
      const [result] = await producer.send({ topic, acks: -1, messages: part.map(r => ({ ...r, partition: 0 })) })
      check(result.errorCode === 0, `produce: ${JSON.stringify(result)}`)
      part.forEach((_, j) => offsets.push(Number(result.baseOffset) + j))
    }
    await producer.disconnect()
    check(offsets.every((o, i) => o === i), `produced at offsets ${offsets.slice(0, 5)}..${offsets.slice(-5)}, expected 0..${records.length - 1}`)
    const [watermarks] = await admin.fetchTopicOffsets(topic)
    check(Number(watermarks.high) === records.length, `watermarks ${JSON.stringify(watermarks)}`)
    const produced = new Map(offsets.map((o, i) => [o, records[i]]))
    const lastOf = new Map()
    offsets.forEach((o, i) => { if (records[i].key.startsWith('key-')) lastOf.set(records[i].key, o) })
    const tombstone = lastOf.get('key-0')
    lastOf.delete('key-0')
    const end = offsets[offsets.length - 1]

    // One read from the start with a consumer of a new group, up to `end`
    // or for 10 s (time of its own, so the last read is a whole one).
    const deadline = Date.now() + TIMEOUT
    const read = async (attempt) => {
      const consumer = client.consumer({ groupId: `${topic}-reader-${attempt}`, sessionTimeout: 6000, heartbeatInterval: 500 })
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      const got = []
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 10000)
        consumer.run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            got.push({ partition, offset: Number(message.offset), key: text(message.key), value: text(message.value) })
            if (Number(message.offset) >= end) { clearTimeout(timer); resolve() }
          }
        })
      })
      await consumer.disconnect()
      return got
    }
    const problem = (got) => {
      const seen = got.filter(r => r.key !== null && r.key.startsWith('key-')).map(r => [r.offset, r.key, r.value === null ? null : r.value.slice(0, 12)])
      const shown = seen.length <= 40 ? seen : seen.slice(0, 20).concat(['...'], seen.slice(-20))
      const where = `read ${got.length} records, up to offset ${got.length ? got[got.length - 1].offset : null}; ${seen.length} key-N records ${JSON.stringify(shown)}`
      if (!got.length || got[got.length - 1].offset !== end) return `the read did not reach offset ${end}: ${where}`
      for (let i = 1; i < got.length; i++) if (got[i - 1].offset >= got[i].offset) return `offsets not increasing: ${got.map(r => r.offset)}`
      for (const r of got) {
        const p = produced.get(r.offset)
        if (r.partition !== 0 || !p || p.key !== r.key || p.value !== r.value) return `record at partition ${r.partition} offset ${r.offset} (${r.key}, ${r.value}) is not the one produced there`
      }
      const kept = new Map()
      for (const [offset, key] of seen) kept.set(key, (kept.get(key) || []).concat([offset]))
      const deleted = JSON.stringify(kept.get('key-0') || [])
      kept.delete('key-0')
      if (deleted !== '[]' && deleted !== JSON.stringify([tombstone])) return `key-0 at offsets ${deleted}, expected only its tombstone at ${tombstone} or nothing: ${where}`
      const sorted = (map) => JSON.stringify([...map.entries()].sort())
      const expected = new Map([...lastOf.entries()].map(([k, o]) => [k, [o]]))
      if (sorted(kept) !== sorted(expected)) return `keys kept at ${sorted(kept)}, expected ${sorted(expected)}: ${where}`
      return null
    }
    for (let attempt = 0; ; attempt++) {
      const found = problem(await read(attempt))
      if (found === null) break
      check(Date.now() < deadline, `not compacted within ${TIMEOUT / 1000} s: ${found}`)
      await new Promise(resolve => setTimeout(resolve, 500))
    }
    const described = await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false })
    const value = (name) => described.resources[0].configEntries.find(c => c.configName === name).configValue
    check(value('cleanup.policy') === 'compact', `cleanup.policy ${value('cleanup.policy')}`)
    check(value('min.cleanable.dirty.ratio') === '0.01', `min.cleanable.dirty.ratio ${value('min.cleanable.dirty.ratio')}`)
    await admin.disconnect()
  }
}
