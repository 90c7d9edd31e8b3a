// End-to-end scenarios run with unmodified kafkajs.
//
//     node clients.js <scenario> <bootstrap> [args...]
//
// Each scenario checks what a user of a real Kafka broker would expect,
// record by record, and exits non-zero with a message on the first
// difference. Run by harness/tests/real_clients.rs.
//
// This file only names the scenarios and runs one. They live in kafkajs/,
// by feature: common.js (what they all share: the client, check, TIMEOUT,
// RECORDS...), records.js, groups.js, admin.js, cleanup.js (retention and
// compaction), transactions.js, security.js and acls.js.

const { Failure, kafka } = require('./kafkajs/common')

const scenarios = {
  ...require('./kafkajs/records'),
  ...require('./kafkajs/groups'),
  ...require('./kafkajs/admin'),
  ...require('./kafkajs/cleanup'),
  ...require('./kafkajs/transactions'),
  ...require('./kafkajs/security'),
  ...require('./kafkajs/acls')
}

async function main () {
  const [name, bootstrap, ...args] = process.argv.slice(2)
  if (!scenarios[name] || !bootstrap) throw new Failure(`usage: clients.js ${Object.keys(scenarios).join('|')} <bootstrap> [args]`)
  await scenarios[name](kafka(bootstrap), ...args)
  console.log(`ok: kafkajs ${name}`)
}

main().then(() => process.exit(0), (e) => { console.error(`FAILED: ${e instanceof Failure ? e.message : e.stack || e}`); process.exit(1) })
