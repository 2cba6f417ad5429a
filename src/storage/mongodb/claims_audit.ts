/**
 * Replay claims and the audit log of the MongoDB store: both single-document writes
 * whose atomicity comes from a unique `_id`, with no transaction needed.
 */
import type { Db, Document } from 'mongodb'
import type { Clock } from '../../clock.js'
import type { AuditEvent, AuditQuery } from '../types.js'
import { AUDIT, CLAIMS, META, claimId, expiredFilter, isDuplicateKey, pause } from './model.js'

interface ClaimDoc {
  _id: string
  scope: string
  key: string
  expires_at: number
  expires_at_date: Date
}

/** True the first time; false while an unexpired claim of (scope, key) exists, in any instance. */
export async function claimOnce(db: Db, clock: Clock, scope: string, key: string, expiresAt: number): Promise<boolean> {
  const _id = claimId(scope, key)
  const doc: ClaimDoc = { _id, scope, key, expires_at: expiresAt, expires_at_date: new Date(expiresAt * 1000) }
  const claims = db.collection<ClaimDoc>(CLAIMS)
  for (let attempt = 0; ; attempt++) {
    try {
      await claims.insertOne(doc)
      return true
    } catch (err) {
      if (!isDuplicateKey(err)) throw err
    }
    // The unique _id refused us. An expired claim no longer counts (the TTL monitor may
    // not have removed it yet): replace it, but only while it is still expired, so two
    // instances racing for it cannot both win.
    if ((await claims.replaceOne({ _id, ...expiredFilter(clock.now()) }, doc)).matchedCount === 1) return true
    if (await claims.findOne({ _id }, { projection: { _id: 1 } })) return false
    await pause(attempt) // removed (TTL) in between: claim again
  }
}

/**
 * seq comes from a counter document ($inc is atomic), then the event is inserted with
 * _id = seq. A crash in between only leaves a hole in the sequence, which the contract
 * allows (increasing and unique, not dense).
 */
export async function appendAudit(db: Db, event: AuditEvent): Promise<AuditEvent> {
  const seq = await nextAuditSeq(db)
  const { seq: _ignored, ...rest } = event
  void _ignored
  // Same shape as the embedded store: seq first, JSON round trip.
  const stored = JSON.parse(JSON.stringify({ seq, ...rest })) as AuditEvent
  await db.collection<Document>(AUDIT).insertOne({ _id: seq, ...stored } as Document)
  return stored
}

export async function nextAuditSeq(db: Db): Promise<number> {
  for (;;) {
    try {
      const doc = await db.collection<Document>(META).findOneAndUpdate(
        { _id: 'audit_seq' } as Document, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'after' })
      return Number(doc?.['seq'])
    } catch (err) {
      if (!isDuplicateKey(err)) throw err // two first-ever upserts raced: increment the winner's
    }
  }
}

const AUDIT_DEFAULT_LIMIT = 100
const AUDIT_MAX_LIMIT = 1000

/** Oldest first, seq > after, at most `limit` (default 100, capped at 1000, as in the embedded store). */
export async function listAudit(db: Db, query: AuditQuery): Promise<AuditEvent[]> {
  const after = query.after ?? 0
  if (typeof after !== 'number' || Number.isNaN(after)) throw new TypeError('listAudit: after must be a number')
  const requested = query.limit ?? AUDIT_DEFAULT_LIMIT
  if (typeof requested !== 'number' || Number.isNaN(requested)) throw new TypeError('listAudit: limit must be a number')
  const limit = Math.max(0, Math.min(Math.floor(requested), AUDIT_MAX_LIMIT))
  if (limit === 0) return []
  const filter: Document = { seq: { $gt: after } }
  for (const k of ['action', 'subject', 'actor', 'since', 'until'] as const) {
    if (query[k] !== undefined && typeof query[k] !== 'string') throw new TypeError(`listAudit: ${k} must be a string`)
  }
  if (query.action !== undefined) filter['action'] = { $eq: query.action }
  if (query.subject !== undefined) filter['subject'] = { $eq: query.subject }
  if (query.actor !== undefined) filter['actor'] = { $eq: query.actor }
  // `time` is toISOString() text: its text order is time order (as retention uses).
  const time: Document = {}
  if (query.since !== undefined) time['$gte'] = query.since
  if (query.until !== undefined) time['$lt'] = query.until
  if (Object.keys(time).length) filter['time'] = time
  const cursor = db.collection<Document>(AUDIT).find(filter).sort({ seq: 1 }).limit(limit)
  return (await cursor.toArray()).map(toEvent)
}

/** An audit document as an event: helper fields (_id, the settling op) removed. */
export function toEvent(doc: Document): AuditEvent {
  const event: Document = { ...doc }
  delete event['_id']
  delete event['_op']
  return event as AuditEvent
}

/**
 * Retention. `time` is the ISO 8601 text AuditLog writes (toISOString), whose text order
 * is time order, so a range query on it (indexed) finds the old events.
 */
export async function pruneAudit(db: Db, before: number): Promise<number> {
  const cutoff = new Date(before * 1000).toISOString()
  return (await db.collection<Document>(AUDIT).deleteMany({ time: { $lt: cutoff } })).deletedCount
}
