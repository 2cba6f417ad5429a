/**
 * An LRU bounded by entry count whose storage grows with use: lru-cache preallocates
 * `max` slots and clear() walks all of them, which makes clearing a mostly empty cache of
 * a large capacity slow (an answer-cache invalidation on every membership change, a cold
 * benchmark). Bounding by `maxSize` with every entry of size 1 keeps the same bound
 * without the preallocation.
 */
import { LRUCache } from 'lru-cache'

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- lru-cache's own constraint (LRUCache<K extends {}, V extends {}>)
export function boundedLru<K extends {}, V extends {}>(entries: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: Math.max(1, entries), sizeCalculation: () => 1 })
}
