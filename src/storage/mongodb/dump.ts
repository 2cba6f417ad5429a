/**
 * `anchorage store export` / `import` for the MongoDB store. Same lines, same order as
 * the embedded store (records by collection in COLLECTIONS order then id, audit by seq,
 * unexpired claims by scope then key), helper fields stripped: the two adapters' dumps of
 * the same data are byte-identical.
 */
import type { Db, Document } from 'mongodb'
import { FederationError } from '../../errors.js'
import { COLLECTIONS, type DumpRecord } from '../types.js'
import { toEvent } from './claims_audit.js'
import {
  AUDIT, CLAIMS, META, aliveFilter, assertCollection, claimId, fromDoc, recordCollection, toDoc, translate,
} from './model.js'

export async function* dumpAll(db: Db, now: number): AsyncGenerator<DumpRecord> {
  try {
    for (const collection of COLLECTIONS) {
      // Streamed with a cursor: a large federation is never held in memory at once.
      const cursor = db.collection(recordCollection(collection)).find(aliveFilter(now)).sort({ _id: 1 })
      for await (const doc of cursor) yield { type: 'record', collection, record: fromDoc(doc) }
    }
    for await (const doc of db.collection(AUDIT).find({}).sort({ seq: 1 })) yield { type: 'audit', event: toEvent(doc) }
    const claims = db.collection(CLAIMS).find({ expires_at: { $gt: now } }).sort({ scope: 1, key: 1 })
    for await (const c of claims) {
      yield { type: 'claim', scope: String(c['scope']), key: String(c['key']), expires_at: Number(c['expires_at']) }
    }
  } catch (err) {
    throw translate(err, 'dump')
  }
}

const BATCH = 500

/** Loads a dump into an empty database (refuses otherwise: a merge would silently mix two states). */
export async function loadAll(db: Db, lines: AsyncIterable<DumpRecord>, now: number): Promise<void> {
  // Expired leftovers the TTL monitor has not removed yet do not make a store non-empty.
  const live: Array<[string, Document]> = [
    ...COLLECTIONS.map((c): [string, Document] => [recordCollection(c), aliveFilter(now)]),
    [AUDIT, {}],
    [CLAIMS, { expires_at: { $gt: now } }],
  ]
  for (const [name, filter] of live) {
    if (await db.collection(name).findOne(filter, { projection: { _id: 1 } })) {
      throw new FederationError('conflict', 'the store is not empty: a dump can only be loaded into an empty store')
    }
  }
  // Remove those leftovers, or inserting a loaded record of the same id would fail.
  for (const [name] of live) await db.collection(name).deleteMany({})
  const pending = new Map<string, Document[]>()
  const flush = async (name: string) => {
    const docs = pending.get(name)
    if (docs && docs.length > 0) await db.collection(name).insertMany(docs, { ordered: true })
    pending.delete(name)
  }
  const add = async (name: string, doc: Document) => {
    const docs = pending.get(name) ?? []
    docs.push(doc)
    pending.set(name, docs)
    if (docs.length >= BATCH) await flush(name)
  }
  let maxSeq = 0
  for await (const line of lines) {
    if (line.type === 'record') {
      assertCollection(line.collection)
      await add(recordCollection(line.collection), toDoc(line.record))
    } else if (line.type === 'audit') {
      const seq = line.event.seq
      if (!Number.isSafeInteger(seq) || seq! <= 0) throw new TypeError('an audit line needs a positive integer seq')
      maxSeq = Math.max(maxSeq, seq!)
      await add(AUDIT, { _id: seq, ...(JSON.parse(JSON.stringify(line.event)) as Document) })
    } else if (line.type === 'claim') {
      const { scope, key, expires_at } = line
      if (typeof scope !== 'string' || typeof key !== 'string' || !Number.isFinite(expires_at)) {
        throw new TypeError('a claim line needs a string scope and key and a number expires_at')
      }
      await add(CLAIMS, { _id: claimId(scope, key), scope, key, expires_at, expires_at_date: new Date(expires_at * 1000) })
    } else {
      throw new TypeError(`unknown dump line type ${JSON.stringify((line as { type?: unknown }).type)}`)
    }
  }
  for (const name of [...pending.keys()]) await flush(name)
  // New events continue after the loaded ones.
  await db.collection<Document>(META).updateOne({ _id: 'audit_seq' } as Document, { $max: { seq: maxSeq } }, { upsert: true })
}
