/**
 * Embedded store at scale: n member-like records (~500 bytes each).
 *
 *   node --import tsx bench/storage.ts 100000
 *
 * Reports sequential and 100-concurrent insert rates (real fsync), replay time from the
 * journal and from a snapshot, list(all) and paged list times, and RSS.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createEmbeddedStore } from '../src/storage/embedded.js'
import { SortedIds } from '../src/storage/embedded/sorted_ids.js'

export interface StorageBenchResult {
  n: number
  sequentialInserts: number
  sequentialInsertsPerSec: number
  concurrentInsertsPerSec: number
  fsyncs: number
  journalMB: number
  replayFromJournalMs: number
  compactMs: number
  snapshotMB: number
  replayFromSnapshotMs: number
  listAllMs: number
  listPageMs: number
  countWhereMs: number
  /** 100k ids inserted one by one into the embedded store's sorted index (was a timed test). */
  sortedInsertsMs: number
  /** 1,000 pages of 100 ids after an id, in total. */
  sortedPagesMs: number
  rssMB: number
}

function member(i: number): Record<string, unknown> & { id: string } {
  const id = `https://member-${String((i * 7919) % 1_000_003).padStart(7, '0')}-${i}.example.org`
  return {
    id,
    status: i % 50 === 0 ? 'suspended' : 'active',
    entity_types: i % 3 === 0 ? ['openid_provider', 'federation_entity'] : ['openid_relying_party'],
    jwks: { keys: [{ kty: 'EC', crv: 'P-256', kid: `k${i}`, x: 'x'.repeat(43), y: 'y'.repeat(43) }] },
    metadata_policy: { openid_relying_party: { grant_types: { subset_of: ['authorization_code'] } } },
    created_at: 1_700_000_000 + i,
    note: 'n'.repeat(120),
  }
}

const ms = (t: number) => Math.round(performance.now() - t)
const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10

export async function benchEmbeddedStore(n: number): Promise<StorageBenchResult> {
  const base = await mkdtemp(join(tmpdir(), 'anchorage-bench-'))
  const dir = join(base, 'data')
  // The journal must hold all n records for the replay figure: no automatic compaction.
  const options = { dir, compactEvery: Number.MAX_SAFE_INTEGER }
  try {
    let store = createEmbeddedStore(options)
    await store.open()

    // Sequential: one fsync per write, the latency-bound case (capped: it is slow by design).
    const sequential = Math.min(n, 2000)
    let t = performance.now()
    for (let i = 0; i < sequential; i++) await store.insert('subordinates', member(i))
    const sequentialInsertsPerSec = Math.round(sequential / ((performance.now() - t) / 1000))

    // 100 concurrent writers: group commit shares each fsync among the waiting writes.
    let next = sequential
    t = performance.now()
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < n) await store.insert('subordinates', member(next++))
      }),
    )
    const concurrentInsertsPerSec = Math.round((n - sequential) / Math.max((performance.now() - t) / 1000, 1e-9))
    const fsyncs = store.stats().fsyncs
    await store.close()
    const journalMB = mb((await stat(join(dir, 'journal.jsonl'))).size)

    t = performance.now()
    store = createEmbeddedStore(options)
    await store.open()
    const replayFromJournalMs = ms(t)
    if ((await store.count('subordinates')) !== n) throw new Error('records missing after replay')

    t = performance.now()
    await store.compact()
    const compactMs = ms(t)
    await store.close()
    const snapshotMB = mb((await stat(join(dir, 'snapshot.jsonl'))).size)

    t = performance.now()
    store = createEmbeddedStore(options)
    await store.open()
    const replayFromSnapshotMs = ms(t)

    t = performance.now()
    const all = await store.list('subordinates')
    const listAllMs = ms(t)
    if (all.length !== n) throw new Error(`list returned ${all.length} of ${n}`)

    // 100 pages of 100 after ids spread over the collection.
    t = performance.now()
    for (let p = 0; p < 100; p++) {
      await store.list('subordinates', { after: all[Math.floor((p * n) / 100)]!.id, limit: 100 })
    }
    const listPageMs = Math.round(((performance.now() - t) / 100) * 1000) / 1000

    t = performance.now()
    await store.count('subordinates', { status: 'suspended' })
    const countWhereMs = ms(t)
    const ids = Array.from({ length: 100_000 }, (_, i) => `https://m${(i * 7919) % 100_003}.example/${'é😀ﬀ'[i % 3]}`)
    const sorted = new SortedIds()
    t = performance.now()
    for (const id of ids) sorted.insert(id)
    const sortedInsertsMs = ms(t)
    const sortedAll = sorted.toArray()
    t = performance.now()
    let seen = 0
    for (let i = 0; i < 1000; i++) sorted.forEachAfter(sortedAll[(i * 97) % sortedAll.length], () => ++seen % 100 !== 0)
    const sortedPagesMs = ms(t)
    const rssMB = mb(process.memoryUsage().rss)
    await store.close()
    return {
      n,
      sequentialInserts: sequential,
      sequentialInsertsPerSec,
      concurrentInsertsPerSec,
      fsyncs,
      journalMB,
      replayFromJournalMs,
      compactMs,
      snapshotMB,
      replayFromSnapshotMs,
      listAllMs,
      listPageMs,
      countWhereMs,
      sortedInsertsMs,
      sortedPagesMs,
      rssMB,
    }
  } finally {
    await rm(base, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? 100_000)
  const result = await benchEmbeddedStore(n)
  for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(24)} ${v}`)
}
