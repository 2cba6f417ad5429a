/**
 * The MongoDB store's atomic change + audit event without transactions
 * (src/storage/mongodb/pending_audit.ts): every state a crash can leave between the steps
 * of a write is produced for real in the database (as the dead writer left it), then a
 * store is opened over it, or another writer comes along, and each member must end with
 * exactly one event and each event with its change. Also retention at open.
 *
 *   write doc + marker  ->  insert event (unique _op)  ->  clear marker / delete tombstone
 *                       ^ crash 1                      ^ crash 2
 */
import assert from 'node:assert/strict'
import { MongoClient, type Db, type Document } from 'mongodb'
import { ManualClock } from '../../src/clock.js'
import { createMongoStore, type MongoStore, type MongoStoreOptions } from '../../src/storage/mongodb.js'
import { AUDIT, idKey, recordCollection, toDoc, type RecordDoc } from '../../src/storage/mongodb/model.js'
import { tombstone, withMarker } from '../../src/storage/mongodb/pending_audit.js'
import type { AuditEvent } from '../../src/storage/types.js'
import { mongoUriForTests } from '../support/mongo_server.js'

const T0 = 1_700_000_000
const M = 'https://member.example'

describe('mongodb store: audit events of interrupted writes', function () {
  this.timeout(60_000)
  const cleanups: Array<() => Promise<void>> = []
  let uri: string
  let db: Db
  let clock: ManualClock

  beforeEach(async function () {
    const fresh = await mongoUriForTests()
    if (!fresh) return this.skip()
    uri = fresh.uri
    const client = new MongoClient(uri)
    await client.connect()
    db = client.db(fresh.dbName)
    clock = new ManualClock(T0)
    cleanups.push(() => fresh.stop(), () => client.close())
  })
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
  })

  async function openStore(options: Partial<MongoStoreOptions> = {}): Promise<MongoStore> {
    const store = createMongoStore({ uri, clock, ...options })
    await store.open()
    cleanups.push(() => store.close())
    return store
  }
  const event = (action: string, subject = M): AuditEvent => ({
    time: new Date(clock.now() * 1000).toISOString(), actor: 'admin', action, subject, outcome: 'success',
  })
  const members = () => db.collection<RecordDoc>(recordCollection('subordinates'))
  const actions = async (store: MongoStore) => (await store.listAudit()).map((e) => `${e.action} ${e.subject}`)

  /** What a writer that died right after its single-document write (crash 1) leaves. */
  async function leftPending(action: string, record = { id: M, status: 'active' }): Promise<RecordDoc> {
    const doc = withMarker(toDoc(record), event(action))
    await members().insertOne(doc)
    return doc
  }

  it('records the event a writer left pending (crash 1) exactly once, at open', async () => {
    await openStore() // indexes
    await leftPending('subordinate.add')
    const store = await openStore()
    assert.deepEqual(await actions(store), [`subordinate.add ${M}`])
    assert.deepEqual(await store.get('subordinates', M), { id: M, status: 'active' })
    assert.equal(await members().countDocuments({ _audit: { $exists: true } }), 0, 'the marker is cleared')
    await openStore()
    assert.deepEqual(await actions(store), [`subordinate.add ${M}`], 'a second pass adds nothing')
  })

  it('does not record twice an event inserted before the marker was cleared (crash 2)', async () => {
    await openStore()
    const doc = await leftPending('subordinate.add')
    const op = (doc['_audit'] as { op: string }).op
    const { seq: _s, ...rest } = event('subordinate.add')
    void _s
    await db.collection<Document>(AUDIT).insertOne({ _id: 7, seq: 7, ...rest, _op: op } as Document)
    const store = await openStore()
    const events = await store.listAudit()
    assert.deepEqual(events, [{ seq: 7, ...rest }], 'one event, and its helper field is not shown')
    assert.equal(await members().countDocuments({ _audit: { $exists: true } }), 0)
  })

  it('finishes a removal left as a pending tombstone: absent at once, event recorded, tombstone deleted', async () => {
    const store = await openStore()
    await store.insert('subordinates', { id: M }, { audit: event('subordinate.add') })
    await members().replaceOne({ _id: idKey(M) }, tombstone(idKey(M), M, event('subordinate.remove')))
    assert.equal(await store.get('subordinates', M), undefined, 'a pending removal already reads as absent')
    assert.equal(await store.count('subordinates'), 0)
    // the next writer of that id settles the removal before its own change
    await store.insert('subordinates', { id: M, again: true }, { audit: event('subordinate.add') })
    assert.deepEqual(await actions(store), [`subordinate.add ${M}`, `subordinate.remove ${M}`, `subordinate.add ${M}`])
    assert.deepEqual(await store.get('subordinates', M), { id: M, again: true })
  })

  for (const [name, write] of [
    ['put', (s: MongoStore) => s.put('subordinates', { id: M, v: 2 }, { audit: event('subordinate.put') })],
    ['update', (s: MongoStore) => s.update('subordinates', M, (c) => c && { ...c, v: 2 }, { audit: event('subordinate.put') })],
    ['remove', (s: MongoStore) => s.remove('subordinates', M, { audit: event('subordinate.put') })],
    ['put without event', (s: MongoStore) => s.put('subordinates', { id: M, v: 2 })],
  ] as const) {
    it(`settles a pending event first when a ${name} of that member comes along, losing nothing`, async () => {
      const store = await openStore({ auditRecoveryIntervalMs: 3_600_000 })
      await leftPending('subordinate.add')
      await write(store)
      const expected = [`subordinate.add ${M}`, ...(name === 'put without event' ? [] : [`subordinate.put ${M}`])]
      assert.deepEqual(await actions(store), expected)
      assert.equal(await members().countDocuments({ _audit: { $exists: true } }), 0)
    })
  }

  it('an insert over a member with a pending event is refused as a conflict, and the event is recorded', async () => {
    const store = await openStore({ auditRecoveryIntervalMs: 3_600_000 })
    await leftPending('subordinate.add')
    await assert.rejects(store.insert('subordinates', { id: M }, { audit: event('subordinate.add') }), { error: 'conflict' })
    assert.deepEqual(await actions(store), [`subordinate.add ${M}`])
  })

  it('the scheduled pass records events another instance left pending while this one runs', async () => {
    const store = await openStore({ auditRecoveryIntervalMs: 50 })
    await leftPending('subordinate.add')
    const end = Date.now() + 5_000
    while ((await store.listAudit()).length === 0) {
      assert.ok(Date.now() < end, 'the scheduled pass never ran')
      await new Promise((r) => setTimeout(r, 20))
    }
    assert.deepEqual(await actions(store), [`subordinate.add ${M}`])
  })

  it('prunes events older than the retention at open, with the store clock', async () => {
    const first = await openStore({ auditRetentionDays: 30 })
    await first.appendAudit(event('old'))
    clock.advance(31 * 86_400)
    const recent = await first.appendAudit(event('recent'))
    await first.close()
    const store = await openStore({ auditRetentionDays: 30 })
    assert.deepEqual(await store.listAudit(), [recent])
  })
})
