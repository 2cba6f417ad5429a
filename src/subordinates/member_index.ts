/**
 * A compact in-memory index of the active members, for the subordinate listing: built
 * once from the store on first use, then kept current change by change, so /list never
 * re-reads (and re-parses) every member record.
 */
import type { Store } from '../storage/types.js'
import type { MemberEntry } from '../entity/publisher.js'
import type { SubordinateRecord } from './registry.js'

export class MemberIndex {
  private entries: Map<string, MemberEntry> | undefined
  /** Member ids in code-point order (may hold ids whose entry was dropped; skipped on read). */
  private sorted: string[] = []
  private building: Promise<void> | undefined
  private readonly pending = new Set<Promise<void>>()
  private stopped = false

  constructor(private readonly store: Store) {}

  /** Applies a store change: synchronously forgets the member, then re-reads it. */
  onChange(change: { collection: string; id?: string }): void {
    if (this.stopped || change.collection !== 'subordinates' || !this.entries) return
    if (!change.id) {
      this.entries = undefined
      return
    }
    const id = change.id
    this.entries.delete(id)
    const p = this.store.get<SubordinateRecord>('subordinates', id).then((rec) => {
      if (rec && rec.status === 'active' && this.entries) this.put(rec)
    }, () => {
      // The member could not be re-read (store unavailable or closing): forget the whole
      // index, so the next listing rebuilds it from the store instead of missing a member.
      this.entries = undefined
    }).finally(() => this.pending.delete(p))
    this.pending.add(p)
  }

  /** Stops following changes (shutdown): later changes are ignored; re-reads in flight are awaited. */
  async stop(): Promise<void> {
    this.stopped = true
    while (this.pending.size) await Promise.all(this.pending)
    await this.building?.catch(() => undefined)
  }

  /** Visits active members in id order. */
  async forEach(visit: (id: string, entry: MemberEntry) => void): Promise<void> {
    await this.ready()
    const entries = this.entries!
    let write = 0
    for (const id of this.sorted) {
      const e = entries.get(id)
      if (!e) continue
      this.sorted[write++] = id
      visit(id, e)
    }
    this.sorted.length = write
  }

  private async ready(): Promise<void> {
    while (this.pending.size) await Promise.all(this.pending)
    if (this.entries) return
    this.building ??= this.build().finally(() => {
      this.building = undefined
    })
    await this.building
  }

  private async build(): Promise<void> {
    const entries = new Map<string, MemberEntry>()
    this.entries = entries
    this.sorted = []
    const page = 5000
    let after: string | undefined
    for (;;) {
      const batch = await this.store.list<SubordinateRecord>('subordinates', { limit: page, ...(after !== undefined ? { after } : {}) })
      for (const rec of batch) if (rec.status === 'active') this.put(rec)
      if (batch.length < page) break
      after = batch[batch.length - 1]!.id
    }
  }

  private put(rec: SubordinateRecord): void {
    const entries = this.entries!
    const fresh = !entries.has(rec.id)
    entries.set(rec.id, {
      entity_types: rec.entity_types,
      intermediate: rec.intermediate,
      trust_mark_types: rec.trust_mark_types ?? [],
    })
    if (fresh) insertSorted(this.sorted, rec.id)
  }
}

function insertSorted(ids: string[], id: string): void {
  let lo = 0
  let hi = ids.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (ids[mid]! < id) lo = mid + 1
    else hi = mid
  }
  if (ids[lo] !== id) ids.splice(lo, 0, id)
}
