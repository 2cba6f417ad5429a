/**
 * Ids of one collection kept in code-point order, so `list({ after, limit })` costs
 * O(log n + limit) instead of sorting the whole collection on every call.
 *
 * A flat sorted array would make each insertion an O(n) memmove (100k random inserts
 * move gigabytes); a chunked array ("sqrt decomposition", a B-tree of height two) keeps
 * every insertion and removal O(log n + CHUNK) with far less code than a real tree.
 */

/**
 * Code-point order (what the contract promises and what MongoDB's binary string order
 * gives). JavaScript's `<` compares UTF-16 code units instead, which puts astral
 * characters (surrogate pairs, e.g. emoji) before U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    // Only when both units are >= U+D800 can UTF-16 order differ from code-point order:
    // move the surrogates (D800-DFFF) above E000-FFFF.
    if (x >= 0xd800 && y >= 0xd800) return fixup(x) - fixup(y)
    return x - y
  }
  return a.length - b.length
}

function fixup(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000
}

const CHUNK = 512

export class SortedIds {
  /** Non-empty chunks, each sorted, every id of chunk i < every id of chunk i+1. */
  private chunks: string[][] = []
  private count = 0

  /** How many ids. */
  get size(): number {
    return this.count
  }

  /** Replaces the content with `ids` (any order, no duplicates): one sort, used after replay. */
  rebuild(ids: string[]): void {
    ids.sort(compareCodePoints)
    this.count = ids.length
    this.chunks = []
    for (let i = 0; i < ids.length; i += CHUNK) this.chunks.push(ids.slice(i, i + CHUNK))
  }

  /** Adds `id` if absent. */
  insert(id: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([id])
      this.count = 1
      return
    }
    const ci = Math.min(this.chunkFor(id), this.chunks.length - 1)
    const chunk = this.chunks[ci]!
    const at = lowerBound(chunk, id)
    if (at < chunk.length && chunk[at] === id) return
    chunk.splice(at, 0, id)
    this.count++
    if (chunk.length > 2 * CHUNK) this.chunks.splice(ci + 1, 0, chunk.splice(CHUNK))
  }

  remove(id: string): void {
    const ci = this.chunkFor(id)
    const chunk = this.chunks[ci]
    if (!chunk) return
    const at = lowerBound(chunk, id)
    if (chunk[at] !== id) return
    chunk.splice(at, 1)
    this.count--
    if (chunk.length === 0) this.chunks.splice(ci, 1)
  }

  /**
   * Calls `visit` for each id sorting strictly after `after` (all when undefined; with
   * `inclusive`, `after` itself too), in order, until it returns false. Callers must not
   * mutate the set meanwhile.
   */
  forEachAfter(after: string | undefined, visit: (id: string) => boolean, inclusive = false): void {
    let ci = 0
    let at = 0
    if (after !== undefined) {
      ci = this.chunkFor(after)
      const chunk = this.chunks[ci]
      if (!chunk) return
      at = lowerBound(chunk, after)
      if (chunk[at] === after && !inclusive) at++
    }
    for (; ci < this.chunks.length; ci++, at = 0) {
      const chunk = this.chunks[ci]!
      for (; at < chunk.length; at++) if (!visit(chunk[at]!)) return
    }
  }

  toArray(): string[] {
    return this.chunks.flat()
  }

  /** First chunk whose last id is >= id (chunks.length when id is past them all). */
  private chunkFor(id: string): number {
    let lo = 0
    let hi = this.chunks.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const chunk = this.chunks[mid]!
      if (compareCodePoints(chunk[chunk.length - 1]!, id) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

function lowerBound(arr: readonly string[], id: string): number {
  let lo = 0
  let hi = arr.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareCodePoints(arr[mid]!, id) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}
