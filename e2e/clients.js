// End-to-end scenarios run with unmodified kafkajs.
//
//     node clients.js <scenario> <bootstrap> [args...]
//
// Each scenario checks what a user of a real Kafka broker would expect,
// record by record, and exits non-zero with a message on the first
// difference. Run by harness/tests/real_clients.rs.

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = require('kafkajs')
// kafkajs ships gzip; snappy comes from its pure-JavaScript plugin (lz4 and
// zstd plugins need native builds and are left out).
CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy')

const TIMEOUT = 30000
const T0 = 1700000000000

class Failure extends Error {}

function check (condition, message) {
  if (!condition) throw new Failure(message)
}

// The record set of round trips: keys, values and headers of every kind.
const RECORDS = [
  { key: 'k0', value: 'hello', headers: { h1: 'v1' } },
  { key: null, value: 'no key', headers: {} },
  { key: 'tombstone', value: null, headers: {} },
  { key: 'big', value: 'x'.repeat(100000), headers: { a: '1', b: '' } },
  { key: 'ünï', value: 'välue', headers: { ü: 'ß' } }
].concat(Array.from({ length: 20 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}`, headers: { n: String(i) } })))
  .map((r, i) => ({ ...r, timestamp: String(T0 + i) }))

function kafka (bootstrap) {
  return Object.assign(new Kafka({ clientId: 'e2e', brokers: [bootstrap], logLevel: logLevel.ERROR, retry: { retries: 8 } }), { bootstrap })
}

async function produce (client, topic, records, options = {}) {
  const producer = client.producer(options.producer || {})
  await producer.connect()
  const result = await producer.send({ topic, acks: -1, messages: records, compression: options.compression })
  await producer.disconnect()
  return result
}

// Reads `count` messages of `topic` as `group`, then stops.
async function consume (client, topic, group, count, options = {}) {
  const consumer = client.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, ...(options.consumer || {}) })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Failure(`consumed ${got.length} records, expected ${count}`)), TIMEOUT)
    consumer.run({
      autoCommit: options.autoCommit || false,
      eachMessage: async ({ partition, message }) => {
        if (got.length < count) got.push({ partition, ...message })
        if (got.length === count) { clearTimeout(timer); resolve() }
      }
    })
  })
  if (options.keepOpen) return { got, consumer }
  await consumer.disconnect()
  return got
}

const text = (buffer) => buffer === null ? null : buffer.toString()

function sameRecord (got, expected, where, timestamps = true) {
  check(text(got.key) === expected.key, `${where}: key ${text(got.key)}, expected ${expected.key}`)
  check(text(got.value) === expected.value, `${where}: value differs`)
  const headers = Object.fromEntries(Object.entries(got.headers).map(([k, v]) => [k, text(v)]))
  check(JSON.stringify(headers) === JSON.stringify(expected.headers), `${where}: headers ${JSON.stringify(headers)}`)
  if (timestamps) check(got.timestamp === expected.timestamp, `${where}: timestamp ${got.timestamp}, expected ${expected.timestamp}`)
}

// ---------------------------------------------------------- transactions
// KIP-98 transactions and KIP-447 exactly-once processing, as an
// application using kafkajs's transactional producer sees them. kafkajs
// speaks InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and
// TxnOffsetCommit v0-v1 (TxnOffsetCommit without KIP-447's group
// generation and member id: it takes the group id alone).

const FENCED = ['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']

// An error and its causes, as one line.
function describe (error) {
  const parts = []
  for (let e = error, depth = 0; e && depth < 5; e = e.cause || e.originalError, depth++) {
    parts.push(`${e.name || 'Error'}${e.type ? ` [${e.type}]` : ''}: ${e.message}`)
    if (e.cause === e || e.originalError === e) break
  }
  return parts.join(' <- ')
}

// The kafkajs error types (protocol error names) of an error and its causes.
function errorTypes (error) {
  const types = []
  for (let e = error, depth = 0; e && depth < 5; e = e.cause || e.originalError, depth++) {
    if (e.type) types.push(e.type)
    if (e.cause === e || e.originalError === e) break
  }
  return types
}

// `promise`'s value, or a Failure naming `what` once TIMEOUT has passed; a
// rejection is passed on as it is.
async function within (what, promise) {
  let timer
  const late = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Failure(`${what}: no answer within ${TIMEOUT / 1000} s`)), TIMEOUT)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

// As within(), with a rejection turned into a Failure that names `what`.
async function step (what, promise) {
  try {
    return await within(what, promise)
  } catch (e) {
    if (e instanceof Failure) throw e
    throw new Failure(`${what}: ${describe(e)}`)
  }
}

const uniqueId = (name) => `${name}-${process.pid}-${Date.now()}`

// (key, value) pairs: k0, prefix-0 and on.
const valuesOf = (prefix, count) => Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}` }))

async function createTopics (client, ...topics) {
  const admin = client.admin()
  await admin.connect()
  await step(`creating ${topics}`, admin.createTopics({ topics: topics.map(topic => ({ topic, numPartitions: 1 })), waitForLeaders: true }))
  await admin.disconnect()
}

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

// ---------------------------------------------------------------- security
// SSL, mutual TLS, SASL_PLAINTEXT and SASL_SSL listeners as kafkajs is
// configured for them (`ssl: { ca, cert, key }`, `sasl: { mechanism,
// username, password }`): records produced and consumed in a group over
// each, and a wrong password, an unknown SCRAM user, an untrusted CA and a
// missing client certificate refused. The SCRAM users are made beforehand
// (kafkajs has no API for them) by the driver, as clients.py does.

const PLAIN = { username: 'alice', password: 'alice-secret' } // the listeners' JAAS users
const SCRAM = { username: 'scram-bob', password: 'bob-secret' } // made with AlterUserScramCredentials
const SECURITY_RECORDS = 5
const REFUSAL_WORDS = {
  sasl: ['authentication', 'sasl'],
  tls: ['certificate', 'ssl', 'tls', 'handshake', 'socket', 'connection', 'econnreset', 'closed']
}

function securityOptions (args) {
  const options = Object.fromEntries(args.map(arg => { const i = arg.indexOf('='); return [arg.slice(0, i), arg.slice(i + 1)] }))
  const missing = ['ca', 'cert', 'key', 'other_ca', 'ssl', 'mtls', 'sasl_plaintext', 'sasl_ssl'].filter(name => !(name in options))
  check(!missing.length, `security: missing arguments ${missing} (give key=value pairs)`)
  return options
}

// A kafkajs client of `address` with TLS trusting `ca` (a file), the
// client certificate and key (files) and SASL as given.
function secured (address, { ca, cert, key, sasl, retries = 8 }) {
  const fs = require('fs')
  const config = { clientId: 'e2e-security', brokers: [address], logLevel: logLevel.NOTHING, connectionTimeout: 5000, retry: { retries } }
  if (ca) {
    config.ssl = { ca: [fs.readFileSync(ca, 'utf8')] }
    if (cert) Object.assign(config.ssl, { cert: fs.readFileSync(cert, 'utf8'), key: fs.readFileSync(key, 'utf8') })
  }
  if (sasl) config.sasl = sasl
  return Object.assign(new Kafka(config), { bootstrap: address })
}

const securityScenarios = {
  async security (client, topic, ...args) {
    const o = securityOptions(args)
    const cases = [
      ['SSL listener (server certificate)', o.ssl, { ca: o.ca }],
      ['MTLS listener (client certificate required)', o.mtls, { ca: o.ca, cert: o.cert, key: o.key }],
      ['SASL_PLAINTEXT listener with PLAIN', o.sasl_plaintext, { sasl: { mechanism: 'plain', ...PLAIN } }],
      ['SASL_PLAINTEXT listener with SCRAM-SHA-256', o.sasl_plaintext, { sasl: { mechanism: 'scram-sha-256', ...SCRAM } }],
      ['SASL_SSL listener with PLAIN', o.sasl_ssl, { ca: o.ca, sasl: { mechanism: 'plain', ...PLAIN } }],
      ['SASL_SSL listener with SCRAM-SHA-512', o.sasl_ssl, { ca: o.ca, sasl: { mechanism: 'scram-sha-512', ...SCRAM } }]
    ]
    for (const [what, address, settings] of cases) {
      const where = `kafkajs over the ${what} at ${address}`
      const name = `${topic}-${what.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`
      const secure = secured(address, settings)
      const records = Array.from({ length: SECURITY_RECORDS }, (_, i) => ({ key: `k${i}`, value: `${name}-${i}`, partition: 0 }))
      await step(`${where}: producing`, produce(secure, name, records))
      let got
      try {
        got = await consume(secure, name, `${name}-group`, SECURITY_RECORDS)
      } catch (e) {
        throw new Failure(`${where}: consuming: ${e instanceof Failure ? e.message : describe(e)}`)
      }
      const values = got.map(m => text(m.value))
      check(values.join() === records.map(r => r.value).join(), `${where}: consumed ${values}, expected ${records.map(r => r.value)}`)
      check(got.every((m, i) => m.offset === String(i)), `${where}: offsets ${got.map(m => m.offset)}`)
      console.log(`ok: ${what}`)
    }
    const refusals = [
      ['SASL_PLAINTEXT listener with PLAIN and a wrong password', o.sasl_plaintext, { sasl: { mechanism: 'plain', ...PLAIN, password: 'wrong' } }, 'sasl'],
      ['SASL_SSL listener with SCRAM-SHA-512 and a wrong password', o.sasl_ssl, { ca: o.ca, sasl: { mechanism: 'scram-sha-512', ...SCRAM, password: 'wrong' } }, 'sasl'],
      ['SASL_PLAINTEXT listener with SCRAM-SHA-256 and an unknown user', o.sasl_plaintext, { sasl: { mechanism: 'scram-sha-256', ...SCRAM, username: 'nobody' } }, 'sasl'],
      ['SSL listener trusting another CA', o.ssl, { ca: o.other_ca }, 'tls'],
      ['MTLS listener without a client certificate', o.mtls, { ca: o.ca }, 'tls']
    ]
    for (const [what, address, settings, kind] of refusals) {
      const where = `kafkajs over the ${what} at ${address}`
      const admin = secured(address, { ...settings, retries: 0 }).admin()
      let error = null
      try {
        await within(`${where}: connecting and fetching metadata`, (async () => { await admin.connect(); await admin.fetchTopicMetadata() })())
      } catch (e) {
        if (e instanceof Failure) throw e
        error = e
      }
      await admin.disconnect().catch(() => {})
      check(error, `${where}: connected and fetched metadata`)
      const reason = describe(error)
      check(REFUSAL_WORDS[kind].some(word => reason.toLowerCase().includes(word)), `${where}: refused, but not for ${kind}: ${reason}`)
      console.log(`ok: refused, ${what}: ${reason.slice(0, 300)}`)
    }
  }
}

// -------------------------------------------------------------------- acls
// ACL authorization (Kafka's StandardAuthorizer, super.users=User:admin,
// allow.everyone.if.no.acl.found=false) as a kafkajs user meets it, everyone
// logged in over SASL_PLAINTEXT with PLAIN: alice refused a topic, then
// allowed it (WRITE on the topic's name, READ on its prefix, READ on her
// group) by admin's admin.createAcls, refused a group without an ACL and
// refused createAcls herself, and refused the topic again once admin's
// admin.deleteAcls with a filter has removed her ACLs. Clients that are to
// be refused retry nothing (`retry: { retries: 0 }`).

const ACL_USERS = { admin: 'admin-secret', alice: 'alice-secret' } // the listener's JAAS users
const ACL_RECORDS = 10
const ACL_REFUSAL_MS = 6000 // how long a refused client gets to report it

const aclName = (types, code) => Object.keys(types).find(name => types[name] === code) || String(code)

// An ACL as names: resource type, name, pattern type, principal, host,
// operation, permission (as clients.py compares them).
function aclShown ({ resourceType, resourceName, resourcePatternType, principal, host, operation, permissionType }) {
  const { AclResourceTypes, ResourcePatternTypes, AclOperationTypes, AclPermissionTypes } = require('kafkajs')
  return [aclName(AclResourceTypes, resourceType), resourceName, aclName(ResourcePatternTypes, resourcePatternType), principal, host,
    aclName(AclOperationTypes, operation), aclName(AclPermissionTypes, permissionType)].join(' ')
}

function aclEntry ([resourceType, resourceName, resourcePatternType, principal, host, operation, permissionType]) {
  const { AclResourceTypes, ResourcePatternTypes, AclOperationTypes, AclPermissionTypes } = require('kafkajs')
  return {
    resourceType: AclResourceTypes[resourceType],
    resourceName,
    resourcePatternType: ResourcePatternTypes[resourcePatternType],
    principal,
    host,
    operation: AclOperationTypes[operation],
    permissionType: AclPermissionTypes[permissionType]
  }
}

// A filter of every ACL of `principal` (of everyone's when undefined).
function aclFilter (principal) {
  const { AclResourceTypes, ResourcePatternTypes, AclOperationTypes, AclPermissionTypes } = require('kafkajs')
  return {
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    principal,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY
  }
}

async function describedAcls (admin) {
  const { resources } = await step('describeAcls', admin.describeAcls(aclFilter(undefined)))
  return resources.flatMap(r => r.acls.map(acl => aclShown({ ...r, ...acl }))).sort()
}

// The error a refused `action` rejects with, checked to be of `type`
// within ACL_REFUSAL_MS.
async function refusedWith (what, type, action) {
  let error = null
  let timer
  const late = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Failure(`${what}: no answer within ${ACL_REFUSAL_MS / 1000} s`)), ACL_REFUSAL_MS) })
  try {
    await Promise.race([action(), late])
  } catch (e) {
    if (e instanceof Failure) throw e
    error = e
  } finally {
    clearTimeout(timer)
  }
  check(error, `${what}: succeeded`)
  check(errorTypes(error).includes(type), `${what}: refused with ${describe(error)}, expected ${type}`)
  console.log(`ok: ${what}: ${describe(error).slice(0, 200)}`)
}

// Rejects with the error a consumer in `group` crashes with. kafkajs 2.2.4
// drops FindCoordinator's error (BrokerPool.withBroker tries each broker
// and, when all fail, throws KafkaJSGroupCoordinatorNotFound without a
// cause), so the error its debug log gives for FindCoordinator is made the
// cause of that one.
async function consumerCrash (address, sasl, topic, group) {
  const logged = []
  const logCreator = () => ({ log }) => { if (log.message === 'Tried to find group coordinator' && log.error) logged.push(log.error) }
  const client = new Kafka({ clientId: 'e2e-acls', brokers: [address], sasl, logLevel: logLevel.DEBUG, logCreator, connectionTimeout: 5000, retry: { retries: 0 } })
  try {
    await refusedConsumer(client, topic, group)
  } catch (e) {
    if (e.name === 'KafkaJSGroupCoordinatorNotFound' && !e.cause && logged.length) e.cause = logged[logged.length - 1]
    throw e
  }
}

async function refusedConsumer (client, topic, group) {
  const consumer = client.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, retry: { retries: 0 } })
  try {
    const crashed = new Promise((resolve, reject) => consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error)))
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => { throw new Failure(`consumed ${text(message.value)} at offset ${message.offset}`) } })
    await crashed
  } finally {
    await consumer.disconnect().catch(() => {})
  }
}

const aclScenarios = {
  async acls (client, topic, ...args) {
    const options = Object.fromEntries(args.map(arg => { const i = arg.indexOf('='); return [arg.slice(0, i), arg.slice(i + 1)] }))
    const address = options.sasl_plaintext
    check(address, 'acls: missing argument sasl_plaintext=<address>')
    const user = (name, retries = 8) => secured(address, { sasl: { mechanism: 'plain', username: name, password: ACL_USERS[name] }, retries })
    const admin = user('admin')
    const alice = user('alice')
    const refusedAlice = user('alice', 0)
    const prefix = `${topic}-`
    const orders = `${topic}-orders`
    const group = `${topic}-group`
    let where = `kafkajs as admin (super user) at ${address}`

    await createTopics(admin, orders)
    const asAdmin = admin.admin()
    await step(`${where}: connecting the admin client`, asAdmin.connect())
    const before = await describedAcls(asAdmin)
    check(!before.length, `${where}: ACLs before any were made: ${before}`)
    where = `kafkajs as alice at ${address}`
    await refusedWith(`${where}: producing to ${orders} without an ACL`, 'TOPIC_AUTHORIZATION_FAILED',
      () => produce(refusedAlice, orders, [{ key: 'k', value: 'refused', partition: 0 }]))

    where = `kafkajs as admin (super user) at ${address}`
    const wanted = [
      ['TOPIC', orders, 'LITERAL', 'User:alice', '*', 'WRITE', 'ALLOW'],
      ['TOPIC', prefix, 'PREFIXED', 'User:alice', '*', 'READ', 'ALLOW'],
      ['GROUP', group, 'LITERAL', 'User:alice', '*', 'READ', 'ALLOW']
    ].map(aclEntry)
    await step(`${where}: createAcls`, asAdmin.createAcls({ acl: wanted }))
    const expected = wanted.map(aclShown).sort()
    const found = await describedAcls(asAdmin)
    check(found.join() === expected.join(), `${where}: described ${found}, expected ${expected}`)
    console.log(`ok: created and described ${found.join('; ')}`)

    where = `kafkajs as alice at ${address}`
    const records = Array.from({ length: ACL_RECORDS }, (_, i) => ({ key: `k${i}`, value: `${orders}-${i}`, partition: 0 }))
    await step(`${where}: producing to ${orders}`, produce(alice, orders, records))
    let got
    try {
      got = await consume(alice, orders, group, ACL_RECORDS)
    } catch (e) {
      throw new Failure(`${where}: consuming in ${group}: ${e instanceof Failure ? e.message : describe(e)}`)
    }
    const values = got.map(m => text(m.value))
    check(values.join() === records.map(r => r.value).join(), `${where}: consumed ${values}`)
    check(got.every((m, i) => m.offset === String(i)), `${where}: offsets ${got.map(m => m.offset)}`)
    console.log(`ok: produced and consumed ${ACL_RECORDS} records in ${group}`)
    await refusedWith(`${where}: consuming in ${topic}-other-group (no ACL)`, 'GROUP_AUTHORIZATION_FAILED',
      () => consumerCrash(address, { mechanism: 'plain', username: 'alice', password: ACL_USERS.alice }, orders, `${topic}-other-group`))
    const asAlice = refusedAlice.admin()
    await step(`${where}: connecting the admin client`, asAlice.connect())
    await refusedWith(`${where}: createAcls as alice`, 'CLUSTER_AUTHORIZATION_FAILED',
      () => asAlice.createAcls({ acl: [aclEntry(['TOPIC', prefix, 'PREFIXED', 'User:alice', '*', 'ALL', 'ALLOW'])] }))
    await asAlice.disconnect()

    where = `kafkajs as admin (super user) at ${address}`
    const { filterResponses } = await step(`${where}: deleteAcls`, asAdmin.deleteAcls({ filters: [aclFilter('User:alice')] }))
    check(filterResponses.length === 1 && filterResponses[0].errorCode === 0, `${where}: deleteAcls answered ${JSON.stringify(filterResponses)}`)
    const deleted = filterResponses[0].matchingAcls.map(aclShown).sort()
    check(deleted.join() === expected.join(), `${where}: deleted ${deleted}, expected ${expected}`)
    const left = await describedAcls(asAdmin)
    check(!left.length, `${where}: ACLs left after deleteAcls: ${left}`)
    console.log('ok: deleted alice\'s ACLs')
    await asAdmin.disconnect()
    where = `kafkajs as alice at ${address}`
    await refusedWith(`${where}: producing to ${orders} after deleteAcls`, 'TOPIC_AUTHORIZATION_FAILED',
      () => produce(refusedAlice, orders, [{ key: 'k', value: 'refused', partition: 0 }]))
  }
}

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
  },

  // The transaction scenarios (all, or those named), each on topics of its
  // own named after `prefix`.
  async transactions (client, prefix, ...parts) {
    for (const part of parts.length ? parts : Object.keys(transactionScenarios)) {
      check(transactionScenarios[part], `no transaction scenario ${part}: ${Object.keys(transactionScenarios).join('|')}`)
      await transactionScenarios[part](client, `${prefix}-${part}`)
      console.log(`ok: ${part}`)
    }
  },

  ...securityScenarios,
  ...aclScenarios
}

async function main () {
  const [name, bootstrap, ...args] = process.argv.slice(2)
  if (!scenarios[name] || !bootstrap) throw new Failure(`usage: clients.js ${Object.keys(scenarios).join('|')} <bootstrap> [args]`)
  await scenarios[name](kafka(bootstrap), ...args)
  console.log(`ok: kafkajs ${name}`)
}

main().then(() => process.exit(0), (e) => { console.error(`FAILED: ${e instanceof Failure ? e.message : e.stack || e}`); process.exit(1) })
