/**
 * The record writes of the MongoDB store, each one single-document atomic operation that
 * also carries the write's audit event when there is one (pending_audit.ts). No write
 * overwrites a document holding a pending event: it settles that event first and retries.
 */
import type { Collection, Db } from 'mongodb'
import type { Clock } from '../../clock.js'
import { FederationError } from '../../errors.js'
import type { AuditEvent, CollectionName, StoredRecord } from '../types.js'
import { expiredFilter, fromDoc, idKey, isAlive, isDuplicateKey, pause, toDoc, type RecordDoc } from './model.js'
import { hasMarker, noMarker, settle, tombstone, withMarker } from './pending_audit.js'

/** Optimistic writes retry this often before giving up (only under pathological contention). */
const MAX_ATTEMPTS = 10_000

export interface WriteTarget {
  db: Db
  col: Collection<RecordDoc>
  collection: CollectionName
  clock: Clock
}

/** Settles a pending event on the document with this _id, if there is one. */
async function settleExisting(t: WriteTarget, key: string): Promise<void> {
  const doc = await t.col.findOne({ _id: key })
  if (hasMarker(doc)) await settle(t.db, t.col, doc!)
}

/** Creates; 409 when a live record has the id. An expired one (or a settled tombstone) is taken over. */
export async function insertRecord(t: WriteTarget, record: StoredRecord, event: AuditEvent | undefined): Promise<void> {
  const doc = withMarker(toDoc(record), event)
  for (let attempt = 0; ; attempt++) {
    try {
      await t.col.insertOne(doc)
      break
    } catch (err) {
      if (!isDuplicateKey(err)) throw err
    }
    // An expired record reads as absent: take its place, but only while it is still
    // expired and carries no pending event.
    const now = t.clock.now()
    if ((await t.col.replaceOne({ _id: doc._id, ...expiredFilter(now), ...noMarker }, doc)).matchedCount === 1) break
    const existing = await t.col.findOne({ _id: doc._id })
    if (hasMarker(existing)) await settle(t.db, t.col, existing!)
    else if (existing && isAlive(existing, now)) {
      throw new FederationError('conflict', `${t.collection}: ${JSON.stringify(record.id)} already exists`)
    }
    await pause(attempt) // removed or settled in between: insert again
  }
  if (event) await settle(t.db, t.col, doc)
}

/** Creates or replaces. */
export async function putRecord(t: WriteTarget, record: StoredRecord, event: AuditEvent | undefined): Promise<void> {
  const doc = withMarker(toDoc(record), event)
  for (let attempt = 0; ; attempt++) {
    try {
      // A document with a pending event does not match, so the upsert's insert fails
      // with a duplicate key: settle that event, then replace.
      await t.col.replaceOne({ _id: doc._id, ...noMarker }, doc, { upsert: true })
      break
    } catch (err) {
      // Also two concurrent upserts of a new id: one inserts, the other must replace it.
      if (!isDuplicateKey(err) || attempt >= MAX_ATTEMPTS) throw err
    }
    await settleExisting(t, doc._id)
  }
  if (event) await settle(t.db, t.col, doc)
}

/** Read, mutate, replace conditioned on the version read; retried on a lost race. */
export async function updateRecord<T extends StoredRecord>(
  t: WriteTarget,
  id: string,
  mutate: (current: T | undefined) => T | undefined,
  event: AuditEvent | undefined,
): Promise<{ record: T | undefined; changed: boolean }> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const old = await t.col.findOne({ _id: idKey(id) })
    if (hasMarker(old)) {
      await settle(t.db, t.col, old!)
      continue
    }
    const current = old && isAlive(old, t.clock.now()) ? fromDoc<T>(old) : undefined
    const next = mutate(current)
    if (next === undefined) return { record: current, changed: false }
    if (next.id !== id) throw new TypeError(`update(${t.collection}, ${JSON.stringify(id)}) must keep the record's id`)
    const doc = withMarker(toDoc(next), event)
    try {
      // Conditioned on the version read: a concurrent writer makes this match nothing.
      const stored = old
        ? (await t.col.replaceOne({ _id: doc._id, _v: old._v ?? null }, doc)).matchedCount === 1
        : (await t.col.insertOne(doc), true)
      if (stored) {
        if (event) await settle(t.db, t.col, doc)
        return { record: fromDoc<T>(doc), changed: true }
      }
    } catch (err) {
      if (!isDuplicateKey(err)) throw err // duplicate: another instance created it first
    }
    await pause(attempt)
  }
  throw new FederationError('server_error', `update of ${t.collection} ${JSON.stringify(id)} kept conflicting`)
}

/** Deletes; true when a live record was there. With an event, through a tombstone. */
export async function removeRecord(t: WriteTarget, id: string, event: AuditEvent | undefined): Promise<boolean> {
  const key = idKey(id)
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const old = await t.col.findOne({ _id: key }, { projection: { _v: 1, expires_at: 1, _audit: 1, _tombstone: 1 } })
    if (!old) return false
    if (hasMarker(old)) {
      await settle(t.db, t.col, old)
      continue
    }
    const alive = isAlive(old, t.clock.now())
    const version = { _id: key, _v: old._v ?? null }
    if (alive && event) {
      const stone = tombstone(key, id, event)
      if ((await t.col.replaceOne(version, stone)).matchedCount === 1) {
        await settle(t.db, t.col, stone)
        return true
      }
    } else if ((await t.col.deleteOne(version)).deletedCount === 1) {
      return alive // an expired leftover is cleaned up, and was absent all along
    }
    await pause(attempt)
  }
  throw new FederationError('server_error', `remove of ${t.collection} ${JSON.stringify(id)} kept conflicting`)
}
