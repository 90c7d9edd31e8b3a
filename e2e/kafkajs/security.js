// Security with kafkajs: SSL, mutual TLS, SASL_PLAINTEXT and SASL_SSL
// listeners as kafkajs is configured for them (`ssl: { ca, cert, key }`,
// `sasl: { mechanism, username, password }`; see secured() in common.js):
// records produced and consumed in a group over each, and a wrong
// password, an unknown SCRAM user, an untrusted CA and a missing client
// certificate refused. The SCRAM users are made beforehand (kafkajs has no
// API for them) by the driver, with confluent-kafka's scram-users (in
// scenarios/security.py).

const { Failure, check, produce, consume, text, describe, within, step, secured } = require('./common')

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

module.exports = {
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
