// ACL authorization (Kafka's StandardAuthorizer, super.users=User:admin,
// allow.everyone.if.no.acl.found=false) as a kafkajs user meets it, everyone
// logged in over SASL_PLAINTEXT with PLAIN: alice refused a topic, then
// allowed it (WRITE on the topic's name, READ on its prefix, READ on her
// group) by admin's admin.createAcls, refused a group without an ACL and
// refused createAcls herself, and refused the topic again once admin's
// admin.deleteAcls with a filter has removed her ACLs. Clients that are to
// be refused retry nothing (`retry: { retries: 0 }`).

const { Kafka, logLevel, Failure, check, produce, consume, text, describe, errorTypes, step, createTopics, secured } = require('./common')

const ACL_USERS = { admin: 'admin-secret', alice: 'alice-secret' } // the listener's JAAS users
const ACL_RECORDS = 10
const ACL_REFUSAL_MS = 6000 // how long a refused client gets to report it

const aclName = (types, code) => Object.keys(types).find(name => types[name] === code) || String(code)

// An ACL as names: resource type, name, pattern type, principal, host,
// operation, permission (as the Python scenarios compare them).
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

module.exports = {
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
