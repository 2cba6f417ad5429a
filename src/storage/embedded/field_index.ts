/**
 * Secondary indexes of the embedded store: for each field a collection declares in
 * INDEXED_FIELDS (types.ts), buckets of ids keyed by (field, value), each kept in
 * code-point order (SortedIds), so `list({ where, after, limit })` on an indexed field
 * visits only the matching records, in order, from `after` on: O(log n + visited)
 * instead of a scan of the collection.
 *
 * A record is in the bucket of each scalar value of an indexed top-level field it owns,
 * and, for an array field, of each scalar element (the contract's array membership).
 * Values keep their JSON type: 1, "1" and true are three buckets, as `===` decides.
 */
import { SortedIds } from './sorted_ids.js'

type Scalar = string | number | boolean

/** Length-prefixed field, then the value's type: no two (field, value) pairs share a key. */
export function bucketKey(field: string, value: Scalar): string {
  return `${field.length}:${field}${(typeof value)[0]}${String(value)}`
}

/** The bucket of the records owning `field` (PRESENCE_FIELDS): no value key has a `?` there. */
export function presenceKey(field: string): string {
  return `${field.length}:${field}?`
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
}

export class FieldIndex {
  private readonly buckets = new Map<string, SortedIds>()
  /** The bucket keys each indexed id is in (to take it out again without its old record). */
  private readonly keysOf = new Map<string, readonly string[]>()
  /** While replaying, buckets are filled once at the end (see rebuild). */
  private bulk = false

  constructor(readonly fields: readonly string[], readonly presence: readonly string[] = []) {}

  /** The keys of a record (as parsed from its JSON): own fields only. */
  keysFor(record: Record<string, unknown>): string[] {
    const keys = new Set<string>()
    for (const field of this.presence) if (Object.hasOwn(record, field)) keys.add(presenceKey(field))
    for (const field of this.fields) {
      if (!Object.hasOwn(record, field)) continue
      const v = record[field]
      if (isScalar(v)) keys.add(bucketKey(field, v))
      else if (Array.isArray(v)) for (const x of v as unknown[]) if (isScalar(x)) keys.add(bucketKey(field, x))
    }
    return [...keys]
  }

  beginBulk(): void {
    this.bulk = true
  }

  /** Fills every bucket from the keys noted during the replay: one sort per bucket. */
  endBulk(): void {
    this.bulk = false
    const members = new Map<string, string[]>()
    for (const [id, keys] of this.keysOf) {
      for (const key of keys) {
        let ids = members.get(key)
        if (!ids) members.set(key, (ids = []))
        ids.push(id)
      }
    }
    this.buckets.clear()
    for (const [key, ids] of members) {
      const bucket = new SortedIds()
      bucket.rebuild(ids)
      this.buckets.set(key, bucket)
    }
  }

  set(id: string, record: Record<string, unknown>): void {
    const next = this.keysFor(record)
    const previous = this.keysOf.get(id)
    if (next.length === 0) this.keysOf.delete(id)
    else this.keysOf.set(id, next)
    if (this.bulk) return
    if (previous) for (const key of previous) if (!next.includes(key)) this.leave(key, id)
    for (const key of next) if (!previous?.includes(key)) this.join(key, id)
  }

  delete(id: string): void {
    const previous = this.keysOf.get(id)
    if (!previous) return
    this.keysOf.delete(id)
    if (!this.bulk) for (const key of previous) this.leave(key, id)
  }

  /**
   * The smallest bucket among the filter's indexed fields and presence fields (null: such a
   * bucket is empty, so nothing matches), or undefined when no field of the filter is indexed.
   */
  smallest(pairs: ReadonlyArray<[string, unknown]>, exists: readonly string[] = []): SortedIds | null | undefined {
    let best: SortedIds | null | undefined
    const keys = [
      ...pairs.flatMap(([field, value]) => (this.fields.includes(field) && isScalar(value) ? [bucketKey(field, value)] : [])),
      ...exists.flatMap((field) => (this.presence.includes(field) ? [presenceKey(field)] : [])),
    ]
    for (const key of keys) {
      const bucket = this.buckets.get(key)
      if (!bucket) return null
      if (best === undefined || best === null || bucket.size < best.size) best = bucket
    }
    return best
  }

  private join(key: string, id: string): void {
    let bucket = this.buckets.get(key)
    if (!bucket) this.buckets.set(key, (bucket = new SortedIds()))
    bucket.insert(id)
  }

  private leave(key: string, id: string): void {
    const bucket = this.buckets.get(key)
    if (!bucket) return
    bucket.remove(id)
    if (bucket.size === 0) this.buckets.delete(key)
  }
}
