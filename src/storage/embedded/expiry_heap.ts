/**
 * Min-heap of expiry times, so dropping expired records and claims from memory costs
 * O(log n) per expiry and nothing at all when nothing expired (the common case of a read).
 * Entries may be stale (the record was replaced or removed since): the consumer checks
 * the live value when an entry pops, which is cheaper than deleting from a heap.
 */
export interface Expiring {
  exp: number
  /** A collection name, or '' for a claim. */
  collection: string
  key: string
}

export class ExpiryHeap {
  private readonly items: Expiring[] = []

  get size(): number {
    return this.items.length
  }

  push(item: Expiring): void {
    const a = this.items
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (a[parent]!.exp <= item.exp) break
      a[i] = a[parent]!
      i = parent
    }
    a[i] = item
  }

  /** Removes and returns the earliest entry if it expired (exp <= now). */
  popExpired(now: number): Expiring | undefined {
    const a = this.items
    const top = a[0]
    if (!top || top.exp > now) return undefined
    const last = a.pop()!
    if (a.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= a.length) break
        const r = l + 1
        const c = r < a.length && a[r]!.exp < a[l]!.exp ? r : l
        if (a[c]!.exp >= last.exp) break
        a[i] = a[c]!
        i = c
      }
      a[i] = last
    }
    return top
  }
}
