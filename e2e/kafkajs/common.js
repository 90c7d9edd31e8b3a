// What every kafkajs scenario shares: the client (kafkajs with the snappy
// codec), the timeout, failing and checking (a Failure ends the scenario
// with its message), the record set of the round trips, producing and
// consuming, and naming a failing step (step, within, describe).

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

async function createTopics (client, ...topics) {
  const admin = client.admin()
  await admin.connect()
  await step(`creating ${topics}`, admin.createTopics({ topics: topics.map(topic => ({ topic, numPartitions: 1 })), waitForLeaders: true }))
  await admin.disconnect()
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

module.exports = {
  Kafka,
  logLevel,
  CompressionTypes,
  TIMEOUT,
  T0,
  Failure,
  check,
  RECORDS,
  kafka,
  produce,
  consume,
  text,
  sameRecord,
  describe,
  errorTypes,
  within,
  step,
  createTopics,
  secured
}
