/** Read queries over the in-memory state: list/count with filters (audit pages: audit_segments.ts). */
import type { CollectionName, ListOptions, StoredRecord } from '../types.js'
import type { MemoryState } from './state.js'

type Where = NonNullable<ListOptions['where']>

/** Equality on a top-level field; an array field matches when it contains the value. */
function matches(record: Record<string, unknown>, where: ReadonlyArray<[string, unknown]>): boolean {
  for (const [field, value] of where) {
    const v = record[field]
    if (v === value) continue
    if (Array.isArray(v) && v.includes(value)) continue
    return false
  }
  return true
}

interface Filter {
  pairs: Array<[string, unknown]>
  /**
   * Serialized values: a record can only match if its JSON contains each of them
   * (JSON.stringify escapes a value the same way wherever it appears), so most
   * non-matching records are skipped without being parsed.
   */
  needles: string[]
}

function compile(where: Where | undefined): Filter | undefined {
  if (where === undefined) return undefined
  const pairs = Object.entries(where)
  for (const [field, value] of pairs) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new TypeError(`where.${field} must be a string, number or boolean`)
    }
  }
  return pairs.length === 0 ? undefined : { pairs, needles: pairs.map(([, v]) => JSON.stringify(v)) }
}

function candidate(json: string, filter: Filter): boolean {
  for (const needle of filter.needles) if (!json.includes(needle)) return false
  return true
}

/**
 * Sorted by id in code-point order, O(log n + visited) thanks to the sorted index; with a
 * filter on an indexed field (INDEXED_FIELDS), only that field's bucket is visited.
 */
export function listPage<T extends StoredRecord>(state: MemoryState, collection: CollectionName, options: ListOptions): T[] {
  const { after, limit } = options
  if (after !== undefined && typeof after !== 'string') throw new TypeError('list: after must be a string')
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new TypeError('list: limit must be a non-negative integer')
  }
  const filter = compile(options.where)
  const max = limit ?? Infinity
  const out: T[] = []
  if (max === 0) return out
  const visit = (_id: string, entry: { json: string }): boolean => {
    if (filter && !candidate(entry.json, filter)) return true
    const record = JSON.parse(entry.json) as T
    if (!filter || matches(record, filter.pairs)) out.push(record)
    return out.length < max
  }
  if (filter) state.forEachCandidate(collection, filter.pairs, after, visit)
  else state.forEachAfter(collection, after, visit)
  return out
}

export function whereCount(state: MemoryState, collection: CollectionName, where: Where): number {
  const filter = compile(where)
  if (!filter) return state.size(collection)
  let n = 0
  state.forEachCandidate(collection, filter.pairs, undefined, (_id, entry) => {
    if (candidate(entry.json, filter) && matches(JSON.parse(entry.json) as Record<string, unknown>, filter.pairs)) n++
    return true
  })
  return n
}
