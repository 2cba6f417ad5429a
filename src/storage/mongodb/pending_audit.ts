/**
 * A record change and its audit event as one atomic write on a server without
 * transactions (mongo-java-server, a standalone mongod): the event travels inside the
 * record's document as a pending marker, written by the same single-document operation
 * as the change, and is then moved into the audit collection.
 *
 *   anchorage_<c>     { _id, _v, ...record, _audit: { op, event } }           change + pending event
 *                     { _id, _v, id, expires_at: 0, _tombstone: true, _audit } a removal, until settled
 *   anchorage_audit   { _id: seq, seq, ...event, _op: op }                     unique index on _op
 *
 * `settle` moves one marker: it inserts the event unless an event with that `op` exists
 * (the unique index makes a race between two settlers harmless: one wins, the other gets a
 * duplicate key), then clears the marker (a tombstone is deleted). Every step is
 * idempotent, so a crash anywhere is repaired by settling again: the writer itself, the
 * next writer of that document (no write ever overwrites a pending marker), and the
 * recovery pass at open and on a schedule. Crash analysis: docs/mongodb.md.
 */
import { randomBytes } from 'node:crypto'
import type { Collection, Db, Document } from 'mongodb'
import { COLLECTIONS, type AuditEvent } from '../types.js'
import { AUDIT, isDuplicateKey, newVersion, recordCollection, type RecordDoc } from './model.js'
import { nextAuditSeq } from './claims_audit.js'

export interface PendingAudit {
  op: string
  event: AuditEvent
}

/** The document of a change, carrying its event. */
export function withMarker(doc: RecordDoc, event: AuditEvent | undefined): RecordDoc {
  if (!event) return doc
  const { seq: _seq, ...rest } = event
  void _seq
  return { ...doc, _audit: { op: randomBytes(12).toString('base64url'), event: JSON.parse(JSON.stringify(rest)) as AuditEvent } }
}

/** A removal with its event: reads as absent (expired) until settled, then deleted. */
export function tombstone(key: string, id: string, event: AuditEvent): RecordDoc {
  return withMarker({ _id: key, _v: newVersion(), id, expires_at: 0, _tombstone: true }, event)
}

export const hasMarker = (doc: Document | null | undefined): boolean =>
  !!doc && typeof doc['_audit'] === 'object' && doc['_audit'] !== null

/** Documents without a pending marker: blind writes are conditioned on this. */
export const noMarker = { _audit: { $exists: false } } as const

/** Records the marker's event (once) and clears the marker. */
export async function settle(db: Db, col: Collection<RecordDoc>, doc: Document): Promise<void> {
  const marker = doc['_audit'] as PendingAudit
  const audit = db.collection<Document>(AUDIT)
  if (!(await audit.findOne({ _op: { $eq: marker.op } }, { projection: { _id: 1 } }))) {
    const seq = await nextAuditSeq(db)
    try {
      // Same shape as appendAudit (seq first), plus the op that makes this idempotent.
      await audit.insertOne({ _id: seq, seq, ...marker.event, _op: marker.op } as Document)
    } catch (err) {
      if (!isDuplicateKey(err)) throw err // another settler recorded it: seq stays a hole
    }
  }
  const filter = { _id: doc['_id'] as string, '_audit.op': marker.op }
  if (doc['_tombstone'] === true) await col.deleteOne(filter)
  else await col.updateOne(filter, { $unset: { _audit: '' } })
}

/** The recovery pass: settles every marker left by a writer that did not get to it. Returns how many. */
export async function settleAll(db: Db): Promise<number> {
  let n = 0
  for (const c of COLLECTIONS) {
    const col = db.collection<RecordDoc>(recordCollection(c))
    for await (const doc of col.find({ _audit: { $exists: true } })) {
      await settle(db, col, doc)
      n++
    }
  }
  return n
}
