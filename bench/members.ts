/**
 * The admin roster listing at scale (GET /admin/subordinates, docs/admin-api.md "Members"):
 * N members onboarded through the admin API of a real `anchorage serve` process (embedded
 * store unless --store is given), some suspended, then each filtered page fetched one
 * request at a time over keep-alive: latency of a page of 100 for each filter, searches by
 * entity id prefix, combinations, and a cursor deep in the roster.
 *
 *   node --import tsx bench/members.ts [N=100000] [--requests 200] [--store URI]
 */
import { load, rssMiB, type LoadResult } from './lib/load.js'
import { startBenchServer } from './lib/server.js'

const JWKS = { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }] }
const member = (i: number) => `https://member${String(i).padStart(6, '0')}.example.org`
/** 10 % OpenID Providers, 2 % intermediates, 1 % suspended (below). */
const types = (i: number) => ['federation_entity', i % 10 === 0 ? 'openid_provider' : 'openid_relying_party']
const SUSPENDED = (i: number) => i % 100 === 7

export interface MembersBenchResult {
  members: number
  onboard_per_sec: number
  /** Per query: the items of its page, and the latency of fetching it (one connection). */
  pages: Record<string, { items: number; p50_ms: number; p99_ms: number; rps: number }>
  rss_mib: number
}

export async function benchMembers(n: number, o: { requests?: number; store?: string } = {}): Promise<MembersBenchResult> {
  const requests = o.requests ?? 200
  const s = await startBenchServer(o.store ? { store: o.store } : {})
  const headers = { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }
  try {
    const onboard = await load({
      url: () => `${s.url}/admin/subordinates`, method: 'POST', connections: 32, durationMs: 900_000, maxRequests: n, expectStatus: 201, headers,
      body: (i) => JSON.stringify({ entity_id: member(i), jwks: JWKS, entity_types: types(i), ...(i % 50 === 3 ? { intermediate: true } : {}) }),
    })
    if (onboard.errors) throw new Error(`onboarding: ${onboard.errors} errors`)
    const suspended = Array.from({ length: n }, (_, i) => i).filter(SUSPENDED)
    const suspend = await load({
      url: (i) => `${s.url}/admin/subordinates/${encodeURIComponent(member(suspended[i]!))}/suspend`, method: 'POST', connections: 8,
      durationMs: 300_000, maxRequests: suspended.length, headers: { authorization: headers.authorization },
    })
    if (suspend.errors) throw new Error(`suspending: ${suspend.errors} errors`)
    const deep = encodeURIComponent(member(Math.floor(n * 0.9)))
    const queries: Record<string, string> = {
      'no filter': 'limit=100',
      'status=suspended (1 %)': 'status=suspended&limit=100',
      'entity_type=openid_provider (10 %)': 'entity_type=openid_provider&limit=100',
      'intermediate=true (2 %)': 'intermediate=true&limit=100',
      'status=pending (none)': 'status=pending&limit=100',
      'q=member05 (prefix, 10 % of 100k)': 'q=member05&limit=100',
      'q=member0500 (prefix, 100 members)': 'q=member0500&limit=100',
      'q=member05 + status=suspended + entity_type=openid_relying_party': 'q=member05&status=suspended&entity_type=openid_relying_party&limit=100',
      'entity_type=openid_provider + intermediate=true (no match: the 2,000 intermediates visited)': 'entity_type=openid_provider&intermediate=true&limit=100',
      'cursor at 90 %': `after=${deep}&limit=100`,
      'cursor at 90 % + entity_type=openid_provider': `after=${deep}&entity_type=openid_provider&limit=100`,
      'limit=1000, no filter': 'limit=1000',
    }
    const pages: MembersBenchResult['pages'] = {}
    for (const [name, query] of Object.entries(queries)) {
      const url = `${s.url}/admin/subordinates?${query}`
      const res = await fetch(url, { headers })
      const items = ((await res.json()) as { items: unknown[] }).items.length
      const r: LoadResult = await load({ url: () => url, connections: 1, durationMs: 60_000, maxRequests: requests, headers })
      if (r.errors) throw new Error(`${name}: ${r.errors} errors`)
      pages[name] = { items, p50_ms: r.p50_ms, p99_ms: r.p99_ms, rps: r.rps }
    }
    return { members: n, onboard_per_sec: onboard.rps, pages, rss_mib: await rssMiB(s.pid) }
  } finally {
    await s.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000)
  const store = flag('--store')
  console.log(JSON.stringify(await benchMembers(n, { requests: Number(flag('--requests') ?? 200), ...(store ? { store } : {}) }), null, 2))
}
