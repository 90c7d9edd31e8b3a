// Transactions with kafkajs: the helpers (a transactional producer, one
// transaction, isolated reads, committed offsets) and the scenarios:
// committed and aborted transactions, exactly-once
// consume-transform-produce, zombie fencing.
//
// KIP-98 transactions and KIP-447 exactly-once processing, as an
// application using kafkajs's transactional producer sees them. kafkajs
// speaks InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and
// TxnOffsetCommit v0-v1 (TxnOffsetCommit without KIP-447's group
// generation and member id: it takes the group id alone).

const { TIMEOUT, Failure, check, produce, text, describe, errorTypes, within, step, createTopics } = require('./common')

const FENCED = ['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']

const uniqueId = (name) => `${name}-${process.pid}-${Date.now()}`

// (key, value) pairs: k0, prefix-0 and on.
const valuesOf = (prefix, count) => Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}` }))

// A connected transactional producer. kafkajs initializes it (InitProducerId
// with its transactional id) on its first transaction().
async function transactionalProducer (client, transactionalId, options = {}) {
  const producer = client.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, ...options })
  await step('connecting a transactional producer', producer.connect())
  return producer
}

// One transaction of `producer`: `records` to partition 0 of `topic` (sent
// and acknowledged, so in the log even when aborted), then `beforeEnd()`
// if given, then 'commit' or 'abort'.
async function inTransaction (producer, what, topic, records, end = 'commit', beforeEnd = null) {
  const transaction = await step(`${what}: transaction() (the first initializes transactions)`, producer.transaction())
  const messages = records.map(r => ({ key: r.key, value: r.value, partition: 0 }))
  await step(`${what}: sending ${records.length} records`, transaction.send({ topic, acks: -1, messages }))
  if (beforeEnd) await beforeEnd(transaction)
  await step(`${what}: ${end}`, transaction[end]())
}

let readers = 0

// What a consumer of a new group with `isolation` (read_committed or
// read_uncommitted) reads of `topic` from its start: `count` records, or
// what came within TIMEOUT. kafkajs does not tell the end of a partition:
// the scenarios place records that must not be seen before the last one
// that must, so that seeing them shows as a difference.
async function readIsolated (client, topic, isolation, count) {
  const consumer = client.consumer({
    groupId: `${topic}-${isolation}-${readers++}`,
    readUncommitted: isolation === 'read_uncommitted',
    sessionTimeout: 6000,
    heartbeatInterval: 500
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, TIMEOUT)
    consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (got.length < count) got.push({ partition, offset: Number(message.offset), key: text(message.key), value: text(message.value) })
        if (got.length === count) { clearTimeout(timer); resolve() }
      }
    })
  })
  await consumer.disconnect()
  return got
}

// (offset, value) of each record read, shortened when there are many.
function shown (got) {
  const pairs = got.map(r => [r.offset, r.value])
  return JSON.stringify(pairs.length <= 24 ? pairs : pairs.slice(0, 16).concat(['...'], pairs.slice(-6)))
}

// The records `what` read are `expected`, in order, at `offsets` (unless null).
function checkRead (got, expected, offsets, what) {
  const pairs = (records) => JSON.stringify(records.map(r => [r.key, r.value]))
  const values = expected.map(r => r.value)
  check(pairs(got) === pairs(expected),
    `${what} read ${got.length} records ${shown(got)}, expected ${expected.length}: ${JSON.stringify(values.slice(0, 16))}${values.length > 16 ? '...' : ''}`)
  if (offsets) check(JSON.stringify(got.map(r => r.offset)) === JSON.stringify(offsets), `${what} read at offsets ${got.map(r => r.offset)}, expected ${offsets}`)
}

// The offset `groupId` has committed on partition 0 of `topic` once it is
// `expected` (kafkajs's OffsetFetch cannot ask for stable offsets, so a
// just-committed transaction's can show a moment later), or at the deadline.
async function waitCommitted (client, groupId, topic, expected) {
  const admin = client.admin()
  await admin.connect()
  const deadline = Date.now() + TIMEOUT
  let offset
  for (;;) {
    const [fetched] = await step(`fetching ${groupId}'s offsets`, admin.fetchOffsets({ groupId, topics: [topic] }))
    offset = fetched.partitions.find(p => p.partition === 0).offset
    if (offset === String(expected) || Date.now() >= deadline) break
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  await admin.disconnect()
  return offset
}

const transactionScenarios = {
  // Three transactions of one producer: `first` committed, `aborted`
  // aborted (its records in the log), `last` committed. A read_committed
  // consumer sees the committed records alone, in order; a
  // read_uncommitted one sees every record. Each transaction's marker (a
  // control record, which no consumer sees) takes an offset after its
  // records.
  async 'commit-abort' (client, topic) {
    await createTopics(client, topic)
    const [first, aborted, last] = [valuesOf('committed-a', 10), valuesOf('aborted', 7), valuesOf('committed-b', 5)]
    const [n, m, k] = [first.length, aborted.length, last.length]
    const producer = await transactionalProducer(client, uniqueId(topic))
    await inTransaction(producer, 'the first transaction', topic, first)
    await inTransaction(producer, 'the transaction to abort', topic, aborted, 'abort')
    await inTransaction(producer, 'the last transaction', topic, last)
    await producer.disconnect()
    const range = (from, count) => Array.from({ length: count }, (_, i) => from + i)
    const committed = await readIsolated(client, topic, 'read_committed', n + k)
    checkRead(committed, first.concat(last), range(0, n).concat(range(n + m + 2, k)),
      `a read_committed consumer (after ${n} committed, ${m} aborted and ${k} committed records)`)
    const every = await readIsolated(client, topic, 'read_uncommitted', n + m + k)
    checkRead(every, first.concat(aborted, last), range(0, n).concat(range(n + 1, m), range(n + m + 2, k)), 'a read_uncommitted consumer')
  },

  // Consume-transform-produce, exactly once: a consumer of a group
  // (read_committed, no auto-commit) reads 100 input records, and for each
  // part of a batch a transaction produces one output per input and sends
  // the offset after it (sendOffsets) before it commits. A read_committed
  // consumer of the outputs sees each input's output once, in order, and
  // the group's committed offset is the end of the input.
  async 'exactly-once' (client, topic) {
    const count = 100
    const [source, sink] = [`${topic}-in`, `${topic}-out`]
    await createTopics(client, source, sink)
    const inputs = valuesOf('in', count)
    await produce(client, source, inputs.map(r => ({ ...r, partition: 0 })))
    const groupId = `${topic}-processors`
    const producer = await transactionalProducer(client, uniqueId(topic))
    const consumer = client.consumer({ groupId, readUncommitted: false, sessionTimeout: 6000, heartbeatInterval: 500 })
    await consumer.connect()
    await consumer.subscribe({ topic: source, fromBeginning: true })
    const processed = [] // input offsets whose transaction committed
    await new Promise((resolve, reject) => {
      // A batch is awaited for TIMEOUT at most.
      let timer
      const wait = () => {
        clearTimeout(timer)
        timer = setTimeout(() => reject(new Failure(`the loop processed ${processed.length} of ${count} input records (none came within ${TIMEOUT / 1000} s)`)), TIMEOUT)
      }
      wait()
      let failed = false
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat }) => {
          if (failed) return
          try {
            for (let i = 0; i < batch.messages.length; i += 20) {
              const part = batch.messages.slice(i, i + 20)
              const [from, to] = [part[0].offset, part[part.length - 1].offset]
              const next = String(Number(to) + 1)
              const what = `the transaction for input offsets ${from}..${to}`
              const outputs = part.map(message => ({ key: text(message.key), value: `out-${text(message.value)}` }))
              await inTransaction(producer, what, sink, outputs, 'commit', (transaction) => step(
                `${what}: sendOffsets (offset ${next} of ${source})`,
                transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: source, partitions: [{ partition: batch.partition, offset: next }] }] })))
              processed.push(...part.map(message => Number(message.offset)))
              wait()
              await heartbeat()
            }
            if (processed.length >= count) { clearTimeout(timer); resolve() }
          } catch (e) {
            failed = true
            clearTimeout(timer)
            reject(e)
          }
        }
      })
    })
    await consumer.disconnect()
    await producer.disconnect()
    check(JSON.stringify(processed) === JSON.stringify(Array.from({ length: count }, (_, i) => i)),
      `the loop processed input offsets ${processed}, expected 0..${count - 1} once each`)
    const committed = await waitCommitted(client, groupId, source, count)
    check(committed === String(count), `the group's committed offset on ${source} is ${committed}, expected ${count} (sent with the transactions)`)
    const expected = inputs.map(r => ({ key: r.key, value: `out-${r.value}` }))
    checkRead(await readIsolated(client, sink, 'read_committed', count), expected, null,
      'a read_committed consumer of the outputs (one for each input, once)')
    checkRead(await readIsolated(client, sink, 'read_uncommitted', count), expected, null,
      'a read_uncommitted consumer of the outputs (every output produced)')
  },

  // Zombie fencing: once a second producer with the same transactional id
  // has initialized (InitProducerId bumps the producer epoch), the first
  // one's next transaction fails with INVALID_PRODUCER_EPOCH (what Kafka
  // answers kafkajs's AddPartitionsToTxn v0-v1; PRODUCER_FENCED is taken
  // too) and writes nothing; the second one's transaction commits.
  async fencing (client, topic) {
    await createTopics(client, topic)
    const transactionalId = uniqueId(topic)
    const [before, zombie, after] = [valuesOf('first', 5), valuesOf('zombie', 3), valuesOf('second', 4)]
    const first = await transactionalProducer(client, transactionalId)
    await inTransaction(first, 'the first producer\'s transaction', topic, before)
    const second = await transactionalProducer(client, transactionalId)
    const next = await step('the second producer: transaction() (it initializes transactions)', second.transaction())
    let error = null
    try {
      const transaction = await within('the first producer: transaction()', first.transaction())
      await within('the first producer: send', transaction.send({ topic, acks: -1, messages: zombie.map(r => ({ ...r, partition: 0 })) }))
      await within('the first producer: commit', transaction.commit())
    } catch (e) {
      error = e
    }
    check(error !== null, 'the first producer committed a transaction after a second one with its transactional id initialized: it was not fenced')
    check(errorTypes(error).some(type => FENCED.includes(type)),
      `the fenced producer's transaction failed with ${describe(error)}, expected ${FENCED.join(' or ')}`)
    await first.disconnect()
    await step('the second producer: sending', next.send({ topic, acks: -1, messages: after.map(r => ({ ...r, partition: 0 })) }))
    await step('the second producer: commit', next.commit())
    await second.disconnect()
    checkRead(await readIsolated(client, topic, 'read_committed', before.length + after.length), before.concat(after), null,
      'a read_committed consumer (the first producer\'s transaction, then the second\'s)')
    // The zombie's records never reached the log: its AddPartitionsToTxn
    // was refused.
    checkRead(await readIsolated(client, topic, 'read_uncommitted', before.length + after.length), before.concat(after), null,
      'a read_uncommitted consumer (nothing of the fenced producer)')
  }
}

module.exports = {
  // The transaction scenarios (all, or those named), each on topics of its
  // own named after `prefix`.
  async transactions (client, prefix, ...parts) {
    for (const part of parts.length ? parts : Object.keys(transactionScenarios)) {
      check(transactionScenarios[part], `no transaction scenario ${part}: ${Object.keys(transactionScenarios).join('|')}`)
      await transactionScenarios[part](client, `${prefix}-${part}`)
      console.log(`ok: ${part}`)
    }
  }
}
