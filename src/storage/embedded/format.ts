/**
 * Line formats of the embedded store. The journal and the snapshot are both JSON lines
 * using the same operations, so one replay routine reads both:
 *
 *   {"op":"journal","format":"anchorage-embedded","version":1,"generation":3}   first line of a journal
 *   {"op":"snapshot","format":"anchorage-embedded","version":1,"covers":2,"last_seq":41}
 *   {"op":"put","collection":"keys","record":{"id":"k1",...}}
 *   {"op":"put","collection":"subordinates","record":{...},"audit":{"seq":43,...}}   change + its event, one line
 *   {"op":"remove","collection":"keys","id":"k1"}
 *   {"op":"remove","collection":"subordinates","id":"https://x","audit":{"seq":44,...}}
 *   {"op":"claim","scope":"jti","key":"abc","expires_at":1700000000}
 *   {"op":"audit","event":{"seq":42,"time":"...","actor":"...","action":"...","outcome":"success"}}
 *   {"op":"end","lines":1234}                                                   last line of a snapshot
 *
 * A line is the unit of atomicity (a torn line is dropped whole), so a record change and
 * its audit event on one line are both replayed or neither. Audit events live in the
 * journal only until they reach the audit segments (audit_segments.ts); snapshots keep
 * just `last_seq` (snapshots of version 1 stores may still hold audit lines: replayed).
 */
import { COLLECTIONS, type AuditEvent, type CollectionName, type StoredRecord } from '../types.js'
import { checkRecord } from '../record.js'

export const FORMAT = 'anchorage-embedded'
export const VERSION = 1

export type Op =
  | { op: 'journal'; generation: number }
  | { op: 'snapshot'; covers: number; last_seq: number }
  | { op: 'put'; collection: CollectionName; record: StoredRecord; audit?: SeqEvent }
  | { op: 'remove'; collection: CollectionName; id: string; audit?: SeqEvent }
  | { op: 'claim'; scope: string; key: string; expires_at: number }
  | { op: 'audit'; event: SeqEvent }
  | { op: 'end'; lines: number }

export type SeqEvent = AuditEvent & { seq: number }

/** A record as held in memory: its JSON (reads parse it, so callers always get a copy). */
export interface Entry {
  readonly json: string
  readonly exp: number | undefined
}

const collectionSet: ReadonlySet<string> = new Set(COLLECTIONS)

export function isCollection(name: unknown): name is CollectionName {
  return typeof name === 'string' && collectionSet.has(name)
}

export function assertCollection(name: unknown): asserts name is CollectionName {
  if (!isCollection(name)) throw new TypeError(`unknown collection ${JSON.stringify(name)}`)
}

/** Validates a record handed to the store and serializes it once. */
export function toEntry(record: StoredRecord): Entry {
  checkRecord(record)
  const exp = record.expires_at
  return { json: JSON.stringify(record), exp }
}

export const isExpired = (exp: number | undefined, now: number): boolean => exp !== undefined && exp <= now

export function encodePut(collection: CollectionName, entry: Entry, auditJson?: string): string {
  // Concatenated rather than re-stringified: the record's JSON is already at hand.
  const audit = auditJson === undefined ? '' : `,"audit":${auditJson}`
  return `{"op":"put","collection":"${collection}","record":${entry.json}${audit}}`
}

export function encodeRemove(collection: CollectionName, id: string, auditJson?: string): string {
  const line = JSON.stringify({ op: 'remove', collection, id })
  return auditJson === undefined ? line : `${line.slice(0, -1)},"audit":${auditJson}}`
}

export const encodeClaim = (scope: string, key: string, expires_at: number): string =>
  JSON.stringify({ op: 'claim', scope, key, expires_at })

export const encodeAudit = (eventJson: string): string => `{"op":"audit","event":${eventJson}}`

export const encodeJournalHeader = (generation: number): string =>
  JSON.stringify({ op: 'journal', format: FORMAT, version: VERSION, generation })

export const encodeSnapshotHeader = (covers: number, lastSeq: number): string =>
  JSON.stringify({ op: 'snapshot', format: FORMAT, version: VERSION, covers, last_seq: lastSeq })

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

const isEvent = (v: unknown): v is SeqEvent => isObject(v) && isCount(v.seq) && v.seq > 0
const isOptionalEvent = (v: unknown): boolean => v === undefined || isEvent(v)
const withAudit = (v: unknown): { audit?: SeqEvent } => (isEvent(v) ? { audit: v } : {})

/** Parses and validates one line; throws an Error saying what is wrong with it. */
export function decodeLine(text: string): Op {
  const v: unknown = JSON.parse(text)
  if (!isObject(v)) throw new Error('not a JSON object')
  switch (v.op) {
    case 'journal':
    case 'snapshot':
      if (v.format !== FORMAT || v.version !== VERSION) {
        throw new Error(`unsupported format ${JSON.stringify(v.format)} version ${JSON.stringify(v.version)}`)
      }
      if (v.op === 'journal' && isCount(v.generation)) return { op: 'journal', generation: v.generation }
      if (v.op === 'snapshot' && isCount(v.covers) && isCount(v.last_seq)) {
        return { op: 'snapshot', covers: v.covers, last_seq: v.last_seq }
      }
      break
    case 'put':
      if (isCollection(v.collection) && isObject(v.record) && typeof v.record.id === 'string') {
        const exp = v.record.expires_at
        if ((exp === undefined || typeof exp === 'number') && isOptionalEvent(v.audit)) {
          return { op: 'put', collection: v.collection, record: v.record as StoredRecord, ...withAudit(v.audit) }
        }
      }
      break
    case 'remove':
      if (isCollection(v.collection) && typeof v.id === 'string' && isOptionalEvent(v.audit)) {
        return { op: 'remove', collection: v.collection, id: v.id, ...withAudit(v.audit) }
      }
      break
    case 'claim':
      if (typeof v.scope === 'string' && typeof v.key === 'string' && typeof v.expires_at === 'number') {
        return { op: 'claim', scope: v.scope, key: v.key, expires_at: v.expires_at }
      }
      break
    case 'audit':
      if (isEvent(v.event)) return { op: 'audit', event: v.event }
      break
    case 'end':
      if (isCount(v.lines)) return { op: 'end', lines: v.lines }
      break
  }
  throw new Error(`invalid ${JSON.stringify(v.op)} operation`)
}
