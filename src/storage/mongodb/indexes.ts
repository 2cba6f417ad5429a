/**
 * Indexes of the MongoDB store, created idempotently at every open(): createIndex with
 * the same name, keys and options is a no-op on the server, so instances starting
 * together or a new release starting against old data need no migration step.
 */
import type { Db } from 'mongodb'
import type { Logger } from '../../logger.js'
import { INDEXED_FIELDS, PRESENCE_FIELDS } from '../types.js'
import { ALL_COLLECTIONS, AUDIT, CHANGES, CLAIMS, collectionOf } from './model.js'

export interface IndexSpec {
  key: Record<string, 1 | -1>
  name: string
  unique?: boolean
  sparse?: boolean
  expireAfterSeconds?: number
}

/** TTL: MongoDB's monitor deletes a document once expires_at_date is past (about every 60 s). */
const ttl: IndexSpec = { key: { expires_at_date: 1 }, name: 'ttl_expires_at_date', expireAfterSeconds: 0 }

export function indexesFor(mongoName: string): IndexSpec[] {
  if (mongoName === AUDIT) {
    return [
      { key: { seq: 1 }, name: 'unique_seq', unique: true },
      { key: { action: 1, seq: 1 }, name: 'action_seq' },
      { key: { subject: 1, seq: 1 }, name: 'subject_seq', sparse: true },
      { key: { actor: 1, seq: 1 }, name: 'actor_seq' },
      // Retention prunes by time; a settled pending event is recorded once per op.
      { key: { time: 1 }, name: 'time' },
      { key: { _op: 1 }, name: 'unique_op', unique: true, sparse: true },
    ]
  }
  if (mongoName === CLAIMS) return [ttl, { key: { scope: 1, key: 1 }, name: 'scope_key' }]
  // Change entries are only needed until every instance has polled past them.
  if (mongoName === CHANGES) return [{ key: { at: 1 }, name: 'ttl_at', expireAfterSeconds: 3600 }]
  const c = collectionOf(mongoName)
  if (c === undefined) return []
  // Secondary indexes for the list filters domain code uses (types.ts INDEXED_FIELDS);
  // `_id` (the record id) is the identity and already unique; sparse so records without
  // the field cost nothing.
  // PRESENCE_FIELDS: a sparse index holds exactly the documents owning the field ($exists).
  const fields = [...new Set([...(INDEXED_FIELDS[c] ?? []), ...(PRESENCE_FIELDS[c] ?? [])])]
  const extra = fields.map((f): IndexSpec => ({ key: { [f]: 1 }, name: `by_${f}`, sparse: true }))
  // The recovery pass finds documents still carrying their audit event (pending_audit.ts).
  const pending: IndexSpec = { key: { '_audit.op': 1 }, name: 'pending_audit', sparse: true }
  return [ttl, ...extra, pending]
}

export async function ensureIndexes(db: Db, logger: Logger): Promise<void> {
  await Promise.all(ALL_COLLECTIONS.map(async (name) => {
    for (const spec of indexesFor(name)) {
      const { key, ...options } = spec
      try {
        await db.collection(name).createIndex(key, options)
      } catch (err) {
        // 85/86: an index of that name exists with other options (an older release made it).
        // Serving with it beats refusing to start; docs/mongodb.md says how to replace it.
        const code = (err as { code?: unknown }).code
        if (code !== 85 && code !== 86) throw err
        logger.warn('index exists with different options; leaving it', { collection: name, index: spec.name })
      }
    }
  }))
}
