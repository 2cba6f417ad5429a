/**
 * How the contract's data maps onto MongoDB documents, and how driver errors map onto
 * FederationErrors. Pure functions: no connection, no driver import (errors are
 * recognized by name/code/labels so this module stays testable without a server).
 *
 *   anchorage_<collection>  { _id: idKey(id), _v: <version>, ...record, expires_at_date?: Date, _audit?: pending event }
 *   anchorage_audit         { _id: seq, seq, ...event }
 *   anchorage_claims        { _id: "<len>:<scope><key>", scope, key, expires_at, expires_at_date }
 *   anchorage_meta          { _id: 'revision', rev }  { _id: 'audit_seq', seq }
 *   anchorage_changes       { _id: rev, collection, id, src, at: Date }
 */
import { randomBytes } from 'node:crypto'
import { FederationError } from '../../errors.js'
import { COLLECTIONS, type CollectionName, type ListOptions, type StoredRecord } from '../types.js'
import { checkRecord } from '../record.js'

export const PREFIX = 'anchorage_'
export const AUDIT = `${PREFIX}audit`
export const CLAIMS = `${PREFIX}claims`
export const META = `${PREFIX}meta`
export const CHANGES = `${PREFIX}changes`
export const recordCollection = (c: CollectionName): string => `${PREFIX}${c}`

const byMongoName = new Map<string, CollectionName>(COLLECTIONS.map((c) => [recordCollection(c), c]))
export const collectionOf = (mongoName: string): CollectionName | undefined => byMongoName.get(mongoName)

/** Fields the adapter adds to a record's document; a record may not use them itself. */
const HELPER_FIELDS = ['_id', '_v', 'expires_at_date', '_audit', '_tombstone'] as const

export type RecordDoc = { _id: string; _v: string; expires_at_date?: Date } & Record<string, unknown>

/**
 * Same validation and the same JSON round trip as the embedded store, so both adapters
 * hand back byte-identical records (undefined fields dropped, -0 as 0, Dates as strings)
 * and the caller's object is never aliased by what is stored.
 */
export function toDoc(record: StoredRecord): RecordDoc {
  checkRecord(record)
  const exp = record.expires_at
  for (const f of HELPER_FIELDS) {
    if (f in record) throw new TypeError(`record ${JSON.stringify(record.id)}: field ${f} is reserved by the MongoDB store`)
  }
  const clean = JSON.parse(JSON.stringify(record)) as Record<string, unknown>
  // A fresh random version per write (not a counter): a record deleted and re-created
  // never gets a version an in-flight update() read earlier, so no ABA.
  const doc: RecordDoc = { _id: idKey(record.id), _v: newVersion(), ...clean }
  if (exp !== undefined) doc.expires_at_date = new Date(exp * 1000)
  return doc
}

/**
 * The `_id` of a record: its id, except that code points from U+E000 up (rare in ids:
 * private use, presentation forms, emoji) become two characters in U+E000..U+E081 +
 * U+E000..U+FFFF. The result has no surrogates, so UTF-8 byte order (MongoDB) and UTF-16
 * order (mongo-java-server, which compares Java strings) agree, and both equal the code-point
 * order of the ids (the contract's list order). For every other id, _id === id.
 */
export function idKey(id: string): string {
  if (!/[\uD800-\uFFFF]/.test(id)) return id
  let out = ''
  for (const ch of id) {
    const cp = ch.codePointAt(0)!
    if (cp < 0xd800) {
      out += ch
      continue
    }
    const n = cp - 0xd800 // a lone surrogate (ill-formed input) also gets a distinct, ordered key
    out += String.fromCharCode(0xe000 + (n >> 13), 0xe000 + (n & 0x1fff))
  }
  return out
}

/** The id an `_id` was made from (change stream events carry only the `_id`). */
export function idFromKey(key: string): string {
  if (!/[\uE000-\uFFFF]/.test(key)) return key
  let out = ''
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c < 0xd800) out += key[i]
    else out += String.fromCodePoint(0xd800 + (((c - 0xe000) << 13) | (key.charCodeAt(++i) - 0xe000)))
  }
  return out
}

export const newVersion = (): string => randomBytes(9).toString('base64url')

/** The record as the caller stored it (helper fields removed, field order kept). */
export function fromDoc<T extends StoredRecord>(doc: Record<string, unknown>): T {
  const record: Record<string, unknown> = { ...doc }
  for (const f of HELPER_FIELDS) delete record[f]
  return record as T
}

/** Same rule as the embedded store: expired when expires_at <= now. */
export function isAlive(doc: object | null | undefined, now: number): boolean {
  const exp = (doc as { expires_at?: unknown } | null | undefined)?.expires_at
  return !!doc && (typeof exp !== 'number' || exp > now)
}

/** Matches unexpired documents (`null` matches a missing field). */
export const aliveFilter = (now: number) => ({ $or: [{ expires_at: null }, { expires_at: { $gt: now } }] })
export const expiredFilter = (now: number) => ({ expires_at: { $lte: now } })

/** Length-prefixed (as in the embedded store) so no (scope, key) pair collides with another. */
export const claimId = (scope: string, key: string): string => `${scope.length}:${scope}${key}`

/**
 * Field names go into the query as they are: refuse operators, paths, the adapter's own fields
 * and `__proto__` (assigning it would set the query object's prototype, not a clause).
 */
function checkField(field: string): void {
  if (field.startsWith('$') || field.includes('.') || field === '__proto__' || (HELPER_FIELDS as readonly string[]).includes(field)) {
    throw new TypeError(`cannot filter on field ${JSON.stringify(field)}`)
  }
}

/**
 * The query of list()/count(): unexpired, equality on top-level fields, owned fields
 * (`exists`), ids after `after` and starting with `prefix`.
 */
export function listFilter(
  where: ListOptions['where'], after: string | undefined, now: number, more: Pick<ListOptions, 'exists' | 'prefix'> = {},
): Record<string, unknown> {
  const filter: Record<string, unknown> = aliveFilter(now)
  for (const [field, value] of Object.entries(where ?? {})) {
    checkField(field)
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new TypeError(`where.${field} must be a string, number or boolean`)
    }
    // $eq keeps a value from being read as an operator; it also matches array elements.
    filter[field] = { $eq: value }
  }
  const { exists, prefix } = more
  if (exists !== undefined) {
    if (!Array.isArray(exists) || !exists.every((f) => typeof f === 'string')) throw new TypeError('list: exists must be an array of field names')
    for (const field of exists) {
      checkField(field)
      if (!Object.hasOwn(filter, field)) filter[field] = { $exists: true }
    }
  }
  if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError('list: prefix must be a string')
  if (after !== undefined) filter['_id'] = { $gt: idKey(after) }
  // idKey maps code point by code point, so the key of an id starting with `prefix` starts
  // with the key of `prefix`: an anchored, escaped regular expression (a range scan of _id).
  // Its own clause: not every server combines $gt and $regex in one operator document.
  if (prefix) filter['$and'] = [{ _id: { $regex: `^${escapeRegExp(idKey(prefix))}` } }]
  return filter
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
}

export const ALL_COLLECTIONS = [...COLLECTIONS.map(recordCollection), AUDIT, CLAIMS, META, CHANGES]

interface MaybeMongoError {
  name?: unknown
  code?: unknown
  message?: unknown
  errorLabels?: unknown
  hasErrorLabel?: (label: string) => boolean
}

export const isDuplicateKey = (err: unknown): boolean => (err as MaybeMongoError | null)?.code === 11000

/** Driver errors meaning "the server is not there right now" (as opposed to a bad request). */
const UNAVAILABLE_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoOperationTimeoutError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
  'MongoWaitQueueTimeoutError',
])
/** Server codes for a node that is stepping down, shutting down or unreachable. */
const UNAVAILABLE_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436])

export function isUnavailable(err: unknown): boolean {
  const e = err as MaybeMongoError | null
  if (!e || typeof e !== 'object') return false
  if (typeof e.name === 'string' && UNAVAILABLE_NAMES.has(e.name)) return true
  if (typeof e.code === 'number' && UNAVAILABLE_CODES.has(e.code)) return true
  return typeof e.hasErrorLabel === 'function' && (e.hasErrorLabel('RetryableWriteError') || e.hasErrorLabel('ResetPool'))
}

export const firstLine = (err: unknown): string => String((err as MaybeMongoError | null)?.message ?? err).split('\n')[0]!

/**
 * Driver errors become FederationErrors: 503 when the server is unreachable (so the HTTP
 * layer answers "try again"), else 500. Anything else (a FederationError, a TypeError for a
 * caller mistake, whatever an update()'s mutate threw) passes through unchanged.
 */
export function translate(err: unknown, what: string): unknown {
  if (isUnavailable(err)) {
    return new FederationError('temporarily_unavailable', `MongoDB is unreachable (${what}): ${firstLine(err)}`, { cause: err })
  }
  const name = (err as MaybeMongoError | null)?.name
  if (typeof name === 'string' && /^(Mongo|BSON)/.test(name)) {
    return new FederationError('server_error', `MongoDB ${what} failed: ${firstLine(err)}`, { cause: err })
  }
  return err
}

/** The URI without credentials, for messages and logs. */
export function redactUri(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/)[^@/]*@/, '$1***@').replace(/\?.*$/, '')
}

/** The database named in the URI's path, if any (`mongodb://h1,h2/name?opts`). */
export function databaseFromUri(uri: string): string | undefined {
  const rest = uri.replace(/^mongodb(?:\+srv)?:\/\//, '').split('?')[0]!
  const slash = rest.indexOf('/')
  const name = slash < 0 ? '' : decodeURIComponent(rest.slice(slash + 1))
  return name === '' ? undefined : name
}

/** Backs off after a lost race: nothing the first few times, then a short random wait. */
export function pause(attempt: number): Promise<void> {
  if (attempt < 3) return Promise.resolve()
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)))
}

export function assertCollection(name: unknown): asserts name is CollectionName {
  if (!(COLLECTIONS as readonly unknown[]).includes(name)) throw new TypeError(`unknown collection ${JSON.stringify(name)}`)
}
