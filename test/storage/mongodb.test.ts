/**
 * The MongoDB adapter against a real wire-protocol server: mongo-java-server started by
 * test/support/mongo_server.ts (or the server named by MONGODB_URI). Runs the shared
 * contract suite plus what only a shared, networked store can get wrong: several
 * instances on one database, and a database that goes away and comes back.
 * Outside CI with no server available the suite skips; in CI (CI=true) it never does.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '../../src/clock.js'
import { FederationError } from '../../src/errors.js'
import { createEmbeddedStore } from '../../src/storage/embedded.js'
import { createMongoStore, type MongoStore, type MongoStoreOptions } from '../../src/storage/mongodb.js'
import type { DumpRecord, Store, StoreChange } from '../../src/storage/types.js'
import { mongoUriForTests, startMongoServer } from '../support/mongo_server.js'
import { storageContract } from './contract.js'


/** Stores opened by a test, closed (and their databases dropped) after it. */
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

async function freshDatabase(ctx: Mocha.Context): Promise<{ uri: string }> {
  const db = await mongoUriForTests()
  if (!db) return ctx.skip()
  cleanups.push(() => db.stop())
  return db
}

async function openStore(options: MongoStoreOptions): Promise<MongoStore> {
  const store = createMongoStore(options)
  await store.open()
  cleanups.push(() => store.close())
  return store
}

async function until(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function collect(store: Store): Promise<DumpRecord[]> {
  const out: DumpRecord[] = []
  for await (const line of store.dump()) out.push(line)
  return out
}

describe('mongodb store', function () {
  before(async function () {
    // Outside CI without java/mvn/MONGODB_URI: skip everything (mongoUriForTests says why).
    // In CI mongoUriForTests throws instead, failing the run.
    const probe = await mongoUriForTests()
    if (!probe) return this.skip()
    await probe.stop()
  })

  // One fresh database per contract test; reopen() is a second store over the same one.
  storageContract('mongodb', async () => {
    const db = await mongoUriForTests()
    if (!db) throw new Error('no MongoDB server (the before hook should have skipped)')
    const clock = new ManualClock(1_700_000_000)
    const opened: Store[] = []
    const make = async () => {
      const store = createMongoStore({ uri: db.uri, clock })
      await store.open()
      opened.push(store)
      return store
    }
    return {
      store: await make(),
      clock,
      reopen: make,
      cleanup: async () => {
        for (const s of opened) await s.close()
        await db.stop()
      },
    }
  })
})

describe('mongodb store: several instances on one database', function () {
  this.timeout(60_000)

  it('sees the other instance\'s changes by polling, within the interval', async function () {
    const { uri } = await freshDatabase(this)
    const clock = new ManualClock(1_700_000_000)
    const a = await openStore({ uri, clock, pollIntervalMs: 100 })
    const b = await openStore({ uri, clock, pollIntervalMs: 100, useChangeStreams: 'never' })
    assert.equal(b.changeMode, 'poll')
    if (!process.env['MONGODB_URI']) assert.equal(a.changeMode, 'poll', "mongo-java-server has no change streams: 'auto' falls back")
    const seen: StoreChange[] = []
    b.onChange((c) => seen.push(c))
    const local: StoreChange[] = []
    a.onChange((c) => local.push(c))

    const started = Date.now()
    await a.put('subordinates', { id: 'https://leaf.example', status: 'active' })
    assert.deepEqual(local, [{ collection: 'subordinates', id: 'https://leaf.example' }], 'own writes notify at once')
    await until('b to hear of the put', 1000, () => seen.some((c) => c.id === 'https://leaf.example'))
    assert.ok(Date.now() - started < 1000)
    assert.deepEqual(await b.get('subordinates', 'https://leaf.example'), { id: 'https://leaf.example', status: 'active' })

    seen.length = 0
    assert.equal(await a.remove('subordinates', 'https://leaf.example'), true)
    await until('b to hear of the remove', 1000, () => seen.some((c) => c.id === 'https://leaf.example'))
    assert.ok(!seen.some((c) => c.id === undefined), 'no gap, so no broad change')
    await new Promise((r) => setTimeout(r, 300)) // a few of a's own polls
    assert.equal(local.filter((c) => c.id !== undefined).length, 2, 'a hears its own writes once, not back from its poll')
  })

  it('announces "anything may have changed" when an instance (re)starts, covering a crash before its change was recorded', async function () {
    const { uri } = await freshDatabase(this)
    const a = await openStore({ uri, pollIntervalMs: 50 })
    const seen: StoreChange[] = []
    a.onChange((c) => seen.push(c))
    await openStore({ uri, pollIntervalMs: 50 })
    await until('a broad change per collection', 1000, () => seen.filter((c) => c.id === undefined).length >= 8)
    assert.ok(seen.some((c) => c.collection === 'tokens' && c.id === undefined))
  })

  it('refuses in one instance a claim made in the other, until it expires', async function () {
    const { uri } = await freshDatabase(this)
    const clock = new ManualClock(1_700_000_000)
    const a = await openStore({ uri, clock })
    const b = await openStore({ uri, clock })
    assert.equal(await a.claimOnce('jti', 'abc', clock.now() + 60), true)
    assert.equal(await b.claimOnce('jti', 'abc', clock.now() + 60), false)
    assert.equal(await a.claimOnce('jti', 'abc', clock.now() + 60), false)
    clock.advance(61)
    const results = await Promise.all([a.claimOnce('jti', 'abc', clock.now() + 60), b.claimOnce('jti', 'abc', clock.now() + 60)])
    assert.deepEqual(results.sort(), [false, true], 'exactly one instance takes over an expired claim')
  })

  it('loses no update when two instances update one record concurrently', async function () {
    const { uri } = await freshDatabase(this)
    const a = await openStore({ uri })
    const b = await openStore({ uri })
    type Counter = { id: string; n: number }
    const bump = (s: Store) => s.update<Counter>('settings', 'counter', (cur) => ({ id: 'counter', n: (cur?.n ?? 0) + 1 }))
    await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 === 0 ? a : b)))
    assert.deepEqual(await b.get('settings', 'counter'), { id: 'counter', n: 20 })
    const seqs = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? a : b).appendAudit({ time: '2024-01-01T00:00:00Z', actor: 't', action: 'x', outcome: 'success' })))
    assert.deepEqual(seqs.map((e) => e.seq).sort((x, y) => x! - y!), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  })
})

describe('mongodb store: the database goes away', function () {
  this.timeout(90_000)

  it('reports unavailable while the server is down and has every acknowledged write when it returns', async function () {
    if (!(await freshDatabase(this))) return // skips when there is no server at all
    if (process.env['MONGODB_URI']) this.skip() // needs a server this test can stop: mongo-java-server only
    const dir = await mkdtemp(join(tmpdir(), 'anchorage-mongo-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const h2File = join(dir, 'data.mv')
    let server = await startMongoServer({ h2File })
    cleanups.push(() => server.stop())
    const uri = `mongodb://127.0.0.1:${server.port}/anchorage_outage`
    const store = await openStore({ uri, pollIntervalMs: 100, serverSelectionTimeoutMS: 1000 })
    for (let i = 0; i < 20; i++) await store.put('subordinates', { id: `https://m${i}.example`, n: i })
    await store.appendAudit({ time: '2024-01-01T00:00:00Z', actor: 't', action: 'onboard', outcome: 'success' })
    assert.equal(await store.ready(), true)

    await server.stop()
    assert.equal(await store.ready(), false)
    const refused = await store.put('subordinates', { id: 'https://late.example' }).then(() => undefined, (e: unknown) => e)
    assert.ok(refused instanceof FederationError, `expected a FederationError, got ${String(refused)}`)
    assert.equal(refused.error, 'temporarily_unavailable')
    assert.equal(refused.status, 503)
    assert.ok(refused.cause, 'the driver error is kept as cause')
    await assert.rejects(store.get('subordinates', 'https://m1.example'), (e: unknown) => e instanceof FederationError && e.status === 503)

    server = await startMongoServer({ h2File, port: server.port })
    await until('ready() again', 30_000, () => store.ready())
    assert.equal(await store.count('subordinates'), 20)
    assert.deepEqual(await store.get('subordinates', 'https://m7.example'), { id: 'https://m7.example', n: 7 })
    assert.equal((await store.listAudit()).length, 1)
    await store.put('subordinates', { id: 'https://late.example' })
    assert.equal(await store.count('subordinates'), 21)
  })

  it('open() fails within a few seconds, with a one-line message, when nothing listens', async function () {
    await freshDatabase(this) // same skip rule as the rest of the file
    const port = await closedPort()
    const store = createMongoStore({ uri: `mongodb://127.0.0.1:${port}/x`, serverSelectionTimeoutMS: 1500 })
    const started = Date.now()
    const err = await store.open().then(() => undefined, (e: unknown) => e)
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`)
    assert.ok(err instanceof FederationError)
    assert.equal(err.error, 'temporarily_unavailable')
    assert.ok(!err.message.includes('\n'), err.message)
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`))
    assert.equal(await store.ready(), false)
  })
})

describe('mongodb store: dumps are byte-identical to the embedded store\'s', function () {
  it('dumps the same data in the same lines', async function () {
    const { uri } = await freshDatabase(this)
    const clock = new ManualClock(1_700_000_000)
    const dir = await mkdtemp(join(tmpdir(), 'anchorage-embedded-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const embedded = createEmbeddedStore({ dir, clock })
    await embedded.open()
    cleanups.push(() => embedded.close())
    const mongo = await openStore({ uri, clock })
    for (const store of [embedded, mongo] as Store[]) {
      await store.put('keys', { id: 'k2', use: 'sig', n: 1.5, nested: { b: [1, null, 'x'], a: true } })
      await store.put('subordinates', { id: 'https://b.example', entity_types: ['openid_provider'], status: 'active' })
      await store.put('subordinates', { id: 'https://a.example', expires_at: clock.now() + 100, z: undefined })
      await store.put('subordinates', { id: 'https://gone.example', expires_at: clock.now() + 5 })
      await store.insert('tokens', { id: 'jti-1', client_id: 'c' })
      await store.appendAudit({ time: '2024-01-01T00:00:00Z', actor: 'admin', action: 'onboard', subject: 's', outcome: 'success', detail: { x: 1 } })
      await store.appendAudit({ seq: 99, time: '2024-01-01T00:00:01Z', actor: 'admin', action: 'remove', outcome: 'failure' })
      await store.claimOnce('jti', 'b', clock.now() + 50)
      await store.claimOnce('jti', 'a', clock.now() + 50)
      await store.claimOnce('auth', 'z', clock.now() + 2)
    }
    clock.advance(10)
    const lines = async (s: Store) => (await collect(s)).map((l) => JSON.stringify(l)).join('\n')
    const fromEmbedded = await lines(embedded)
    assert.equal(await lines(mongo), fromEmbedded)

    // and a dump loads into an empty MongoDB database and dumps back the same
    const { uri: uri2 } = await freshDatabase(this)
    const copy = await openStore({ uri: uri2, clock })
    await copy.load(mongo.dump())
    assert.equal(await lines(copy), fromEmbedded)
    const next = await copy.appendAudit({ time: '2024-01-01T00:00:02Z', actor: 'a', action: 'x', outcome: 'success' })
    assert.equal(next.seq, 3, 'audit numbering continues after the loaded events')
    await assert.rejects(copy.load(mongo.dump()), (e: unknown) => e instanceof FederationError && e.error === 'conflict')
  })
})

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      const port = typeof address === 'object' && address ? address.port : 0
      srv.close(() => resolve(port))
    })
  })
}
