/**
 * Line formats of the embedded store. The journal and the snapshot are both JSON lines
 * using the same operations, so one replay routine reads both:
 *
 *   {"op":"journal","format":"anchorage-embedded","version":1,"generation":3}   first line of a journal
 *   {"op":"snapshot","format":"anchorage-embedded","version":1,"covers":2,"last_seq":41}
 *   {"op":"put","collection":"keys","record":{"id":"k1",...}}
 *   {"op":"remove","collection":"keys","id":"k1"}
 *   {"op":"claim","scope":"jti","key":"abc","expires_at":1700000000}
 *   {"op":"audit","event":{"seq":42,"time":"...","actor":"...","action":"...","outcome":"success"}}
 *   {"op":"end","lines":1234}                                                   last line of a snapshot
 */
import { COLLECTIONS, type AuditEvent, type CollectionName, type StoredRecord } from '../types.js'
import { checkRecord } from '../record.js'

export const FORMAT = 'anchorage-embedded'
export const VERSION = 1

export type Op =
  | { op: 'journal'; generation: number }
  | { op: 'snapshot'; covers: number; last_seq: number }
  | { op: 'put'; collection: CollectionName; record: StoredRecord }
  | { op: 'remove'; collection: CollectionName; id: string }
  | { op: 'claim'; scope: string; key: string; expires_at: number }
  | { op: 'audit'; event: AuditEvent & { seq: number } }
  | { op: 'end'; lines: number }

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

export function encodePut(collection: CollectionName, entry: Entry): string {
  // Concatenated rather than re-stringified: the record's JSON is already at hand.
  return `{"op":"put","collection":"${collection}","record":${entry.json}}`
}

export const encodeRemove = (collection: CollectionName, id: string): string =>
  JSON.stringify({ op: 'remove', collection, id })

export const encodeClaim = (scope: string, key: string, expires_at: number): string =>
  JSON.stringify({ op: 'claim', scope, key, expires_at })

export const encodeAudit = (eventJson: string): string => `{"op":"audit","event":${eventJson}}`

export const encodeJournalHeader = (generation: number): string =>
  JSON.stringify({ op: 'journal', format: FORMAT, version: VERSION, generation })

export const encodeSnapshotHeader = (covers: number, lastSeq: number): string =>
  JSON.stringify({ op: 'snapshot', format: FORMAT, version: VERSION, covers, last_seq: lastSeq })

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

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
        if (exp === undefined || typeof exp === 'number') {
          return { op: 'put', collection: v.collection, record: v.record as StoredRecord }
        }
      }
      break
    case 'remove':
      if (isCollection(v.collection) && typeof v.id === 'string') return { op: 'remove', collection: v.collection, id: v.id }
      break
    case 'claim':
      if (typeof v.scope === 'string' && typeof v.key === 'string' && typeof v.expires_at === 'number') {
        return { op: 'claim', scope: v.scope, key: v.key, expires_at: v.expires_at }
      }
      break
    case 'audit':
      if (isObject(v.event) && isCount(v.event.seq) && v.event.seq > 0) {
        return { op: 'audit', event: v.event as unknown as AuditEvent & { seq: number } }
      }
      break
    case 'end':
      if (isCount(v.lines)) return { op: 'end', lines: v.lines }
      break
  }
  throw new Error(`invalid ${JSON.stringify(v.op)} operation`)
}
