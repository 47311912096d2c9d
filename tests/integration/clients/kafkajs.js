// kafkajs 2.2.4 (pure JavaScript, its own wire code: ApiVersions v2->v1->v0,
// non-flexible versions only; InitProducerId goes to Metadata's ControllerId)
// against a cluster whose topics IN and OUT exist:
//   1. a producer with idempotent: true writes N keyed records to IN;
//   2. a group consumer (eachMessage, autoCommit off) reads all N from IN;
//      transaction 1 sends the first half transformed to OUT, sendOffsets
//      the consumer's positions for its group, and commits;
//   3. transaction 2 writes ABORTED-<p> to every partition of OUT and is
//      aborted; transaction 3 sends the second half like 1 and commits; the
//      group's offsets (admin fetchOffsets) are then IN's end offsets;
//   4. a read_committed group consumer (eachMessage) reads OUT: exactly the
//      N transformed records, no ABORTED one; a read_uncommitted one sees
//      the aborted records too.
// Against librdkafka's mock cluster step 1 already fails: the mock's Metadata
// names ControllerId 0, which is not a broker ("Broker 0 not found in the
// cached metadata"), unless KAFKAJS_MOCK=1 (below); the aborted-invisible
// and sendOffsets checks fail there too (no markers, TxnOffsetCommit dropped).
// Every step has a timeout (STEP_S, default 40 s).
// usage: node kafkajs.js BOOTSTRAP IN OUT [N]
'use strict'
const path = require('path')
const { Kafka, logLevel, Partitioners } = require(path.join(__dirname, 'node_modules', 'kafkajs'))

// KAFKAJS_MOCK=1 (set by the runner's mock mode only): librdkafka's mock
// cluster names ControllerId 0, which is no broker; let kafkajs send
// controller requests (InitProducerId) to any broker there, so the rest of
// the script can be exercised. Never set against weir.
if (process.env.KAFKAJS_MOCK === '1') {
  const Cluster = require(path.join(__dirname, 'node_modules', 'kafkajs', 'src', 'cluster'))
  const original = Cluster.prototype.findControllerBroker
  Cluster.prototype.findControllerBroker = async function () {
    try {
      return await original.call(this)
    } catch (e) {
      if (e.name !== 'KafkaJSBrokerNotFound') throw e
      return this.findBroker({ nodeId: String(this.brokerPool.metadata.brokers[0].nodeId) })
    }
  }
}

const [bs, IN, OUT] = process.argv.slice(2, 5)
const N = parseInt(process.argv[5] || '500', 10)
const STEP_MS = parseFloat(process.env.STEP_S || '40') * 1000
const t0 = Date.now()
const fails = []
const secs = () => ((Date.now() - t0) / 1000).toFixed(1)
const ok = (msg) => console.log(`ok: ${msg} (${secs()} s)`)
const bad = (step, msg) => { fails.push(step); console.log(`FAIL ${step}: ${msg} (${secs()} s)`) }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const levels = { ERROR: logLevel.ERROR, WARN: logLevel.WARN, INFO: logLevel.INFO, DEBUG: logLevel.DEBUG }
const kafka = new Kafka({
  clientId: 'weir-kafkajs',
  brokers: bs.split(','),
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 4, initialRetryTime: 200, maxRetryTime: 3000 },
  logLevel: levels[(process.env.KAFKAJS_LOG || 'WARN').toUpperCase()] || logLevel.WARN,
  logCreator: () => ({ namespace, level, log }) => {
    const { message, timestamp, logger, ...extra } = log
    const name = Object.keys(levels).find((k) => levels[k] === level) || level
    console.log(`  kafkajs ${name} ${namespace}: ${message} ${JSON.stringify(extra)}`)
  }
})

// Runs fn under a timeout; a failure or timeout is reported as FAIL <name>.
async function step (name, fn) {
  let timer
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${STEP_MS / 1000} s`)), STEP_MS)
  })
  try {
    return await Promise.race([fn(), timeout])
  } catch (e) {
    const api = e.apiName ? ` (${e.apiName}, key ${e.apiKey})` : ''
    bad(name, `${e.name || 'Error'}: ${e.message}${api}${e.type ? ` [${e.type}]` : ''}${e.cause ? ` (cause: ${e.cause.message || e.cause})` : ''}`)
    return undefined
  } finally {
    clearTimeout(timer)
  }
}

// Best-effort disconnect that cannot hang the script.
const quietly = (p) => Promise.race([p.catch(() => {}), sleep(5000)])

// A group consumer running eachMessage until `until(received)` is true and
// then `quietMs` have passed without a message.
async function consumeGroup ({ groupId, topic, readUncommitted, until, quietMs }) {
  const consumer = kafka.consumer({ groupId, readUncommitted, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 500 })
  const received = []
  let last = Date.now()
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        received.push({ partition, offset: message.offset, key: message.key.toString(), value: message.value.toString() })
        last = Date.now()
      }
    })
    const deadline = Date.now() + STEP_MS - 5000 // give up before the step's timeout, disconnecting
    for (;;) {
      await sleep(100)
      if (until(received) && Date.now() - last > quietMs) break
      if (Date.now() > deadline) break
    }
  } finally {
    await quietly(consumer.disconnect())
  }
  return received
}

async function main () {
  const admin = kafka.admin()
  let parts
  await step('metadata', async () => {
    await admin.connect()
    const md = await admin.fetchTopicMetadata({ topics: [IN, OUT] })
    parts = Object.fromEntries(md.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionId).sort()]))
    ok(`metadata: ${IN} has ${parts[IN].length} partitions, ${OUT} has ${parts[OUT].length}`)
  })
  if (!parts) return

  // ---- 1. idempotent producer ----
  await step('idempotent-produce', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    try {
      const messages = []
      for (let i = 0; i < N; i++) messages.push({ key: `k${i}`, value: `v${i}` })
      const res = await producer.send({ topic: IN, acks: -1, messages })
      ok(`idempotent producer: ${N} records acknowledged (${res.map((r) => `[${r.partition}] base ${r.baseOffset}`).join(', ')})`)
    } finally {
      await quietly(producer.disconnect())
    }
  })

  // ---- 2. group consumer + transaction with sendOffsets ----
  const eosGroup = `js-eos-${process.pid}`
  let input
  await step('group-consume', async () => {
    input = await consumeGroup({ groupId: eosGroup, topic: IN, readUncommitted: false, until: (r) => r.length >= N, quietMs: 1000 })
    const keys = new Set(input.map((m) => m.key))
    if (input.length !== N || keys.size !== N) throw new Error(`read ${input.length} records (${keys.size} distinct keys), expected ${N}`)
    ok(`group consumer ${eosGroup} (eachMessage) read all ${N}`)
  })
  if (!input) return

  const producer = kafka.producer({ transactionalId: `js-txn-${process.pid}`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner })
  // the input's first half, then an aborted transaction, then the second
  // half: the aborted records sit between committed ones, so only the abort
  // markers (not a last stable offset stuck before them) can hide them
  const half = Math.floor(input.length / 2)
  const transform = async (records, consumed, name) => { // consumed: the records whose offsets to commit
    const txn = await producer.transaction()
    await txn.send({ topic: OUT, messages: records.map((m) => ({ key: m.key, value: `T(${m.value})` })) })
    const next = {}
    for (const m of consumed) next[m.partition] = Math.max(next[m.partition] || 0, Number(m.offset) + 1)
    await txn.sendOffsets({
      consumerGroupId: eosGroup,
      topics: [{ topic: IN, partitions: Object.entries(next).map(([partition, offset]) => ({ partition: Number(partition), offset: String(offset) })) }]
    })
    await txn.commit()
    ok(`transaction ${name}: send ${records.length} transformed records + sendOffsets for ${eosGroup} + commit`)
  }
  let first = false
  let committed = false
  await step('transaction-commit', async () => {
    await producer.connect()
    await transform(input.slice(0, half), input.slice(0, half), '1')
    first = true
  })

  // ---- 3. an aborted transaction ----
  let aborted = false
  if (first) {
    await step('transaction-abort', async () => {
      const txn = await producer.transaction()
      await txn.send({ topic: OUT, messages: parts[OUT].map((p) => ({ partition: p, key: `ABORTED-${p}`, value: 'x' })) })
      await txn.abort()
      aborted = true
      ok(`transaction 2, writing ABORTED-<p> to all ${parts[OUT].length} partitions of ${OUT}, aborted`)
    })
    await step('transaction-commit-2', async () => {
      // sendOffsets: the positions after everything consumed, all partitions
      await transform(input.slice(half), input, '3 (second half)')
      committed = true
    })
  }
  await quietly(producer.disconnect())
  await step('txn-offsets', async () => {
    if (!committed) throw new Error('skipped: no committed transactions')
    const ends = await admin.fetchTopicOffsets(IN)
    const [group] = await admin.fetchOffsets({ groupId: eosGroup, topics: [IN] })
    const want = Object.fromEntries(ends.map((p) => [p.partition, p.high]))
    const have = Object.fromEntries(group.partitions.map((p) => [p.partition, p.offset]))
    if (JSON.stringify(Object.entries(have).sort()) !== JSON.stringify(Object.entries(want).sort())) {
      throw new Error(`group ${eosGroup} committed ${JSON.stringify(have)}, expected the end offsets ${JSON.stringify(want)}`)
    }
    ok(`the transactions committed ${eosGroup}'s offsets = end offsets ${JSON.stringify(want)}`)
  })

  // ---- 4. read_committed / read_uncommitted ----
  if (committed) {
    await step('read_committed', async () => {
      const got = await consumeGroup({ groupId: `js-rc-${process.pid}`, topic: OUT, readUncommitted: false, until: (r) => r.length >= N, quietMs: 2000 })
      const ab = got.filter((m) => m.key.startsWith('ABORTED'))
      const data = got.filter((m) => !m.key.startsWith('ABORTED'))
      const distinct = new Set(data.map((m) => `${m.key}=${m.value}`))
      let wrong = 0
      for (const m of data) if (m.value !== `T(v${m.key.slice(1)})`) wrong++
      if (data.length !== N || distinct.size !== N || wrong) {
        bad('read_committed', `read ${data.length} records (${distinct.size} distinct, ${wrong} wrong values), expected ${N}`)
      } else {
        ok(`read_committed group consumer (eachMessage): exactly the ${N} transformed records`)
      }
      if (ab.length) bad('read_committed-aborted', `${ab.length} aborted records visible: ${ab.map((m) => m.key).join(' ')}`)
      else if (aborted) ok('read_committed: the aborted records are invisible')
    })
  }
  if (aborted) {
    await step('read_uncommitted', async () => {
      const want = parts[OUT].length
      const got = await consumeGroup({
        groupId: `js-ru-${process.pid}`,
        topic: OUT,
        readUncommitted: true,
        until: (r) => r.filter((m) => m.key.startsWith('ABORTED')).length >= want,
        quietMs: 500
      })
      const seen = got.filter((m) => m.key.startsWith('ABORTED')).length
      if (seen !== want) throw new Error(`sees ${seen} of the ${want} aborted records (${got.length} records in all)`)
      ok(`read_uncommitted: sees the ${want} aborted records (${got.length} in all; the log holds them, only markers can hide them)`)
    })
  }
  await quietly(admin.disconnect())
}

const hard = setTimeout(() => { console.log('FAIL kafkajs: whole script timed out'); process.exit(3) }, STEP_MS * 10)
main().catch((e) => bad('kafkajs', e.stack || e)).finally(() => {
  clearTimeout(hard)
  if (fails.length) {
    console.log(`${fails.length} kafkajs check(s) failed: ${fails.join(' ')}`)
    process.exit(1)
  }
  console.log('all kafkajs checks passed')
  process.exit(0)
})
