/** Read queries over the in-memory state: list/count with filters (audit pages: audit_segments.ts). */
import type { CollectionName, ListOptions, StoredRecord } from '../types.js'
import type { MemoryState } from './state.js'
import { compareCodePoints } from './sorted_ids.js'

type Where = NonNullable<ListOptions['where']>

/** Equality on a top-level field (an array field matches when it contains the value); own fields for `exists`. */
function matches(record: Record<string, unknown>, filter: Filter): boolean {
  for (const field of filter.exists) if (!Object.hasOwn(record, field)) return false
  for (const [field, value] of filter.pairs) {
    const v = record[field]
    if (v === value) continue
    if (Array.isArray(v) && v.includes(value)) continue
    return false
  }
  return true
}

interface Filter {
  pairs: Array<[string, unknown]>
  /** Fields a record must own. */
  exists: readonly string[]
  /**
   * Serialized values: a record can only match if its JSON contains each of them
   * (JSON.stringify escapes a value the same way wherever it appears), so most
   * non-matching records are skipped without being parsed.
   */
  needles: string[]
}

function compile(where: Where | undefined, exists: readonly string[] = []): Filter | undefined {
  const pairs = Object.entries(where ?? {})
  for (const [field, value] of pairs) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new TypeError(`where.${field} must be a string, number or boolean`)
    }
  }
  if (pairs.length === 0 && exists.length === 0) return undefined
  // An owned field's name appears in the record's JSON as a member name.
  return { pairs, exists, needles: [...pairs.map(([, v]) => JSON.stringify(v)), ...exists.map((f) => `${JSON.stringify(f)}:`)] }
}

function candidate(json: string, filter: Filter): boolean {
  for (const needle of filter.needles) if (!json.includes(needle)) return false
  return true
}

/**
 * Sorted by id in code-point order, O(log n + visited) thanks to the sorted index; with a
 * filter on an indexed field (INDEXED_FIELDS, PRESENCE_FIELDS), only that field's bucket is
 * visited; with a `prefix`, only the range of ids starting with it.
 */
export function listPage<T extends StoredRecord>(state: MemoryState, collection: CollectionName, options: ListOptions): T[] {
  const { after, limit, prefix } = options
  if (after !== undefined && typeof after !== 'string') throw new TypeError('list: after must be a string')
  if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError('list: prefix must be a string')
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new TypeError('list: limit must be a non-negative integer')
  }
  const exists = checkExists(options.exists)
  const filter = compile(options.where, exists)
  const max = limit ?? Infinity
  const out: T[] = []
  if (max === 0) return out
  // Ids starting with `prefix` are one range of the code-point order: start at its beginning
  // (unless `after` is further on) and stop at the first id past it.
  const fromPrefix = prefix !== undefined && prefix !== '' && (after === undefined || compareCodePoints(after, prefix) < 0)
  const start = fromPrefix ? prefix : after
  const visit = (id: string, entry: { json: string }): boolean => {
    if (prefix !== undefined && !id.startsWith(prefix)) return false
    if (filter && !candidate(entry.json, filter)) return true
    const record = JSON.parse(entry.json) as T
    if (!filter || matches(record, filter)) out.push(record)
    return out.length < max
  }
  if (filter) state.forEachCandidate(collection, filter.pairs, start, visit, exists, fromPrefix)
  else state.forEachAfter(collection, start, visit, fromPrefix)
  return out
}

function checkExists(exists: unknown): readonly string[] {
  if (exists === undefined) return []
  if (!Array.isArray(exists) || !exists.every((f) => typeof f === 'string')) throw new TypeError('list: exists must be an array of field names')
  return exists
}

export function whereCount(state: MemoryState, collection: CollectionName, where: Where): number {
  const filter = compile(where)
  if (!filter) return state.size(collection)
  let n = 0
  state.forEachCandidate(collection, filter.pairs, undefined, (_id, entry) => {
    if (candidate(entry.json, filter) && matches(JSON.parse(entry.json) as Record<string, unknown>, filter)) n++
    return true
  })
  return n
}
