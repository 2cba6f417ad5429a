/**
 * Sign once, serve many: a cache of signed artefacts that re-signs only when an entry is
 * invalidated (a write changed its inputs) or reaches its refresh time (well before `exp`).
 * Concurrent misses for one key share a single signing.
 */
import type { LRUCache } from 'lru-cache'
import { boundedLru } from './lru.js'
import type { Clock } from '../clock.js'

export interface Signed<T> {
  value: T
  /** Epoch seconds after which the entry is rebuilt on the next read. */
  refreshAt: number
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- any non-nullish value: undefined is how peek() says miss
export class SignedCache<T extends {}> {
  private readonly entries: LRUCache<string, Signed<T>>
  private readonly inflight = new Map<string, Promise<Signed<T>>>()
  /** Bumped by clear(): an in-flight build started before a clear is not cached. */
  private generation = 0

  constructor(private readonly clock: Clock, max = 100_000) {
    this.entries = boundedLru(max)
  }

  /** The cached value, or undefined when absent or due for refresh (fast path, no promise). */
  peek(key: string): T | undefined {
    const hit = this.entries.get(key)
    return hit && hit.refreshAt > this.clock.now() ? hit.value : undefined
  }

  async get(key: string, build: () => Promise<Signed<T>>): Promise<T> {
    const hit = this.peek(key)
    if (hit !== undefined) return hit
    let p = this.inflight.get(key)
    if (!p) {
      const gen = this.generation
      p = build().then(
        (signed) => {
          if (gen === this.generation && this.inflight.get(key) === p) this.entries.set(key, signed)
          if (this.inflight.get(key) === p) this.inflight.delete(key)
          return signed
        },
        (err: unknown) => {
          if (this.inflight.get(key) === p) this.inflight.delete(key)
          throw err
        },
      )
      this.inflight.set(key, p)
    }
    return (await p).value
  }

  delete(key: string): void {
    this.entries.delete(key)
    this.inflight.delete(key)
  }

  clear(): void {
    this.generation++
    this.entries.clear()
    this.inflight.clear()
  }

  get size(): number {
    return this.entries.size
  }
}
