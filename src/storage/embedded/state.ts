/**
 * The embedded store's in-memory state: what replaying the snapshot and journal yields,
 * and what reads are served from. It only ever holds durable data: the store applies a
 * write here after its journal line is fsynced.
 */
import { COLLECTIONS, INDEXED_FIELDS, PRESENCE_FIELDS, type CollectionName } from '../types.js'
import { ExpiryHeap } from './expiry_heap.js'
import { FieldIndex } from './field_index.js'
import { isExpired, type Entry, type Op, type SeqEvent } from './format.js'
import { SortedIds, compareCodePoints } from './sorted_ids.js'

export interface ClaimEntry {
  scope: string
  key: string
  exp: number
}

/** A point-in-time copy (of references only: entries are immutable) for snapshots and dumps. */
export interface Image {
  collections: Array<{ collection: CollectionName; ids: string[]; entries: Entry[] }>
  claims: ClaimEntry[]
  /** Audit events are not in memory (audit_segments.ts): only the last seq handed out. */
  lastSeq: number
}

/** Where replayed audit events go (the audit segments, which keep those they lack). */
export type AuditSink = (event: { seq: number; json: string }) => void

/** Length-prefixed so that no (scope, key) pair can collide with another. */
export const claimKey = (scope: string, key: string): string => `${scope.length}:${scope}${key}`

export class MemoryState {
  private readonly records = new Map<CollectionName, Map<string, Entry>>()
  private readonly ids = new Map<CollectionName, SortedIds>()
  /** Secondary indexes of the collections that declare INDEXED_FIELDS. */
  private readonly indexes = new Map<CollectionName, FieldIndex>()
  readonly claims = new Map<string, ClaimEntry>()
  lastSeq = 0
  /** Set while replaying: receives each audit event of the snapshot and journals. */
  auditSink: AuditSink | undefined
  private readonly expiry = new ExpiryHeap()
  /** While replaying, sorted ids are rebuilt once at the end instead of per insert. */
  private bulk = false

  constructor() {
    for (const c of COLLECTIONS) {
      this.records.set(c, new Map())
      this.ids.set(c, new SortedIds())
      const fields = INDEXED_FIELDS[c] ?? []
      const presence = PRESENCE_FIELDS[c] ?? []
      if (fields.length || presence.length) this.indexes.set(c, new FieldIndex(fields, presence))
    }
  }

  beginBulk(): void {
    this.bulk = true
    for (const index of this.indexes.values()) index.beginBulk()
  }

  endBulk(): void {
    this.bulk = false
    for (const c of COLLECTIONS) this.idsOf(c).rebuild([...this.map(c).keys()])
    for (const index of this.indexes.values()) index.endBulk()
  }

  get(collection: CollectionName, id: string): Entry | undefined {
    return this.map(collection).get(id)
  }

  /** Live records (call sweep first: expired ones are dropped there). */
  size(collection: CollectionName): number {
    return this.map(collection).size
  }

  /** `record`: the entry's JSON parsed, when the caller has it (else parsed here if needed). */
  put(collection: CollectionName, id: string, entry: Entry, record?: Record<string, unknown>): void {
    const map = this.map(collection)
    if (!map.has(id) && !this.bulk) this.idsOf(collection).insert(id)
    map.set(id, entry)
    this.indexes.get(collection)?.set(id, record ?? (JSON.parse(entry.json) as Record<string, unknown>))
    if (entry.exp !== undefined) this.expiry.push({ exp: entry.exp, collection, key: id })
  }

  remove(collection: CollectionName, id: string): void {
    if (this.map(collection).delete(id) && !this.bulk) this.idsOf(collection).remove(id)
    this.indexes.get(collection)?.delete(id)
  }

  setClaim(claim: ClaimEntry): void {
    this.claims.set(claimKey(claim.scope, claim.key), claim)
    this.expiry.push({ exp: claim.exp, collection: '', key: claimKey(claim.scope, claim.key) })
  }

  /** Notes a replayed audit event: seqs only ever increase. */
  private replayAudit(event: SeqEvent): void {
    if (event.seq <= this.lastSeq) throw new Error(`audit seq ${event.seq} is not after ${this.lastSeq}`)
    this.lastSeq = event.seq
    // seq first, as the store writes it, so segment readers find it at the start of the line
    const { seq, ...rest } = event
    this.auditSink?.({ seq, json: JSON.stringify({ seq, ...rest }) })
  }

  /** Applies a replayed operation (headers and trailers are the caller's business). */
  apply(op: Op): void {
    switch (op.op) {
      case 'put':
        if (op.audit) this.replayAudit(op.audit)
        this.put(op.collection, op.record.id, { json: JSON.stringify(op.record), exp: op.record.expires_at }, op.record)
        break
      case 'remove':
        if (op.audit) this.replayAudit(op.audit)
        this.remove(op.collection, op.id)
        break
      case 'claim':
        this.setClaim({ scope: op.scope, key: op.key, exp: op.expires_at })
        break
      case 'audit':
        this.replayAudit(op.event)
        break
      default:
        throw new Error(`unexpected ${op.op} line`)
    }
  }

  /** Drops what expired by `now`. O(1) when nothing did. */
  sweep(now: number): void {
    for (let item = this.expiry.popExpired(now); item; item = this.expiry.popExpired(now)) {
      if (item.collection === '') {
        const claim = this.claims.get(item.key)
        if (claim && claim.exp <= now) this.claims.delete(item.key)
      } else {
        const c = item.collection as CollectionName
        if (isExpired(this.map(c).get(item.key)?.exp, now)) this.remove(c, item.key)
      }
    }
  }

  /** Visits live entries with id > after (>= with `inclusive`) in code-point order until `visit` returns false. */
  forEachAfter(collection: CollectionName, after: string | undefined, visit: (id: string, e: Entry) => boolean, inclusive = false): void {
    const map = this.map(collection)
    this.idsOf(collection).forEachAfter(after, (id) => visit(id, map.get(id)!), inclusive)
  }

  /**
   * Visits, in code-point order from `after` on, the live entries that can match the
   * equality filter `pairs` and own the fields `exists`: those in the smallest bucket of its
   * indexed (or presence) fields, or every
   * entry when none of its fields is indexed. The caller still checks each against the filter.
   */
  forEachCandidate(
    collection: CollectionName,
    pairs: ReadonlyArray<[string, unknown]>,
    after: string | undefined,
    visit: (id: string, e: Entry) => boolean,
    exists: readonly string[] = [],
    inclusive = false,
  ): void {
    const bucket = this.indexes.get(collection)?.smallest(pairs, exists)
    if (bucket === null) return
    if (bucket === undefined) return this.forEachAfter(collection, after, visit, inclusive)
    const map = this.map(collection)
    bucket.forEachAfter(after, (id) => visit(id, map.get(id)!), inclusive)
  }

  /** What a snapshot would hold: records and claims. */
  liveCount(): number {
    let n = this.claims.size
    for (const map of this.records.values()) n += map.size
    return n
  }

  isEmpty(): boolean {
    return this.claims.size === 0 && COLLECTIONS.every((c) => this.map(c).size === 0)
  }

  /** Everything unexpired at `now`, in dump order. O(n) reference copies, no serialization. */
  image(now: number): Image {
    this.sweep(now)
    const collections = COLLECTIONS.map((collection) => {
      const ids = this.idsOf(collection).toArray()
      const map = this.map(collection)
      return { collection, ids, entries: ids.map((id) => map.get(id)!) }
    })
    const claims = [...this.claims.values()].sort(
      (a, b) => compareCodePoints(a.scope, b.scope) || compareCodePoints(a.key, b.key),
    )
    return { collections, claims, lastSeq: this.lastSeq }
  }

  private map(c: CollectionName): Map<string, Entry> {
    return this.records.get(c)!
  }

  private idsOf(c: CollectionName): SortedIds {
    return this.ids.get(c)!
  }
}
