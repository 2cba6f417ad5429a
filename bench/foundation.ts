/**
 * Onboards N subordinates through the admin API of a real `anchorage serve` process, then
 * measures fetch (first fetch signs; later fetches are served from the signed cache) and
 * list (computed once per change, then cached), and the server's memory.
 */
import { load, rssMiB, round, type LoadResult } from './lib/load.js'
import { startBenchServer } from './lib/server.js'
import { hasWrk, wrk } from './lib/wrk.js'

const JWKS = { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }] }

export interface FoundationResult {
  members: number
  onboard: LoadResult
  fetch_cold: LoadResult
  loadgen: string
  fetch_warm: LoadResult
  fetch_latency: LoadResult
  list_first_ms: number
  list_cached: LoadResult
  list_filtered_first_ms: number
  rss_mib: number
}

const member = (i: number) => `https://member${String(i).padStart(6, '0')}.example.org`

export async function benchFoundation(n: number, o: { store?: string } = {}): Promise<FoundationResult> {
  const s = await startBenchServer(o)
  try {
    const onboard = await load({
      url: () => `${s.url}/admin/subordinates`, method: 'POST', connections: 32, durationMs: 600_000, maxRequests: n, expectStatus: 201,
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      body: (i) => JSON.stringify({ entity_id: member(i), jwks: JWKS, entity_types: [i % 10 === 0 ? 'openid_provider' : 'openid_relying_party'], metadata_policy: { openid_relying_party: { grant_types: { subset_of: ['authorization_code', 'refresh_token'] } } } }),
    })
    const sample = Math.min(n, 20_000)
    const fetchUrl = (i: number) => `${s.url}/fetch?sub=${encodeURIComponent(member(i % sample))}`
    const fetch_cold = await load({ url: fetchUrl, connections: 32, durationMs: 120_000, maxRequests: sample })
    const useWrk = await hasWrk()
    const paths = Array.from({ length: sample }, (_, i) => new URL(fetchUrl(i)).pathname + new URL(fetchUrl(i)).search)
    // Warm-up pass, then the measured ones: throughput with 32 connections, latency with 4.
    if (useWrk) await wrk(s.url, { paths, seconds: 2 })
    const fetch_warm = useWrk ? await wrk(s.url, { paths, connections: 32, seconds: 5 }) : await load({ url: fetchUrl, connections: 32, durationMs: 5_000 })
    const fetch_latency = useWrk ? await wrk(s.url, { paths, connections: 4, seconds: 3 }) : await load({ url: fetchUrl, connections: 4, durationMs: 3_000 })
    const t0 = performance.now()
    const first = await fetch(`${s.url}/list`)
    const count = ((await first.json()) as unknown[]).length
    const list_first_ms = round(performance.now() - t0)
    if (count !== n) throw new Error(`list returned ${count}, expected ${n}`)
    const list_cached = useWrk ? await wrk(s.url, { path: '/list', connections: 8, seconds: 3 }) : await load({ url: () => `${s.url}/list`, connections: 8, durationMs: 3_000 })
    const t1 = performance.now()
    await (await fetch(`${s.url}/list?entity_type=openid_provider`)).arrayBuffer()
    const list_filtered_first_ms = round(performance.now() - t1)
    return { members: n, loadgen: useWrk ? 'wrk' : 'node', onboard, fetch_cold, fetch_warm, fetch_latency, list_first_ms, list_cached, list_filtered_first_ms, rss_mib: await rssMiB(s.pid) }
  } finally {
    await s.stop()
  }
}

/**
 * Fast-path fetch throughput under observation (docs/operations.md, "Metrics" and "Logs"):
 * metrics off, metrics on with the access log off (the default), metrics on with every
 * request access-logged (to /dev/null, at level info). `baselineRoot`: another checkout
 * (e.g. main before metrics) measured the same way first. Each variant is its own server,
 * run `rounds` times in turn (interleaved, so drift in the machine's load spreads evenly).
 */
export async function benchObservability(o: { members?: number; seconds?: number; rounds?: number; baselineRoot?: string } = {}): Promise<Record<string, unknown>> {
  const n = o.members ?? 1_000
  const seconds = o.seconds ?? 5
  const variants: Array<{ name: string; config?: Record<string, unknown>; env?: NodeJS.ProcessEnv; root?: string }> = [
    ...(o.baselineRoot ? [{ name: 'baseline', root: o.baselineRoot }] : []),
    { name: 'metrics_off', config: { metrics: { enabled: false } } },
    { name: 'metrics_on', config: {} },
    { name: 'metrics_on_access_log', config: { log: { access: true } }, env: { ANCHORAGE_LOG_LEVEL: 'info' } },
  ]
  const rps: Record<string, number[]> = {}
  const useWrk = await hasWrk()
  for (let round = 0; round < (o.rounds ?? 2); round++) {
    for (const v of variants) {
      const s = await startBenchServer({ stderr: 'ignore', ...(v.config ? { config: v.config } : {}), ...(v.env ? { env: v.env } : {}), ...(v.root ? { root: v.root } : {}) })
      try {
        await load({
          url: () => `${s.url}/admin/subordinates`, method: 'POST', connections: 16, durationMs: 120_000, maxRequests: n, expectStatus: 201,
          headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
          body: (i) => JSON.stringify({ entity_id: member(i), jwks: JWKS }),
        })
        const fetchUrl = (i: number) => `${s.url}/fetch?sub=${encodeURIComponent(member(i % n))}`
        await load({ url: fetchUrl, connections: 16, durationMs: 60_000, maxRequests: n }) // every statement signed and cached
        const paths = Array.from({ length: n }, (_, i) => new URL(fetchUrl(i)).pathname + new URL(fetchUrl(i)).search)
        if (useWrk) await wrk(s.url, { paths, seconds: 2 })
        else await load({ url: fetchUrl, connections: 32, durationMs: 2_000 })
        const r = useWrk ? await wrk(s.url, { paths, connections: 32, seconds }) : await load({ url: fetchUrl, connections: 32, durationMs: seconds * 1000 })
        if (r.errors) throw new Error(`${v.name}: ${r.errors} errors`)
        ;(rps[v.name] ??= []).push(r.rps)
        process.stderr.write(`  ${v.name} round ${round + 1}: ${r.rps} req/s\n`)
      } finally {
        await s.stop()
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const m = Object.fromEntries(Object.entries(rps).map(([k, xs]) => [k, median(xs)]))
  const ratio = (a: string, b: string) => (m[a] && m[b] ? round(m[a] / m[b]) : undefined)
  return {
    loadgen: useWrk ? 'wrk' : 'node', members: n, seconds, rps, median_rps: m,
    metrics_on_vs_off: ratio('metrics_on', 'metrics_off'),
    access_log_vs_metrics_on: ratio('metrics_on_access_log', 'metrics_on'),
    ...(o.baselineRoot ? { metrics_on_vs_baseline: ratio('metrics_on', 'baseline') } : {}),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  if (args[0] === '--observability') {
    // npx tsx bench/foundation.ts --observability [BASELINE_CHECKOUT]
    console.log(JSON.stringify(await benchObservability({ ...(args[1] ? { baselineRoot: args[1] } : {}) }), null, 2))
  } else {
    const sizes = args.map(Number).filter(Boolean)
    for (const n of sizes.length ? sizes : [10_000, 100_000]) console.log(JSON.stringify(await benchFoundation(n), null, 2))
  }
}
