/**
 * Onboarding throughput: N members POSTed to the admin API of a real `anchorage serve`
 * process (embedded store unless --store is given), 32 at a time over keep-alive, each
 * acknowledged only once fsynced together with its subordinate.add audit event. The same
 * request bodies as bench/foundation.ts. Afterwards (not timed) the audit log is read back:
 * every member must have its one event.
 *
 *   node --import tsx bench/onboarding.ts [N=20000] [--connections 32] [--rounds 3] [--store URI]
 */
import { load, rssMiB, type LoadResult } from './lib/load.js'
import { startBenchServer } from './lib/server.js'

const JWKS = { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }] }
const member = (i: number) => `https://member${String(i).padStart(6, '0')}.example.org`

export interface OnboardingResult {
  members: number
  connections: number
  onboard: LoadResult
  /**
   * Server CPU time (user + system) per member, from /proc: less disturbed than
   * throughput by other work on a shared machine; 1000 / it is what one core could do.
   */
  server_cpu_ms_per_member: number
  add_events: number
  rss_mib: number
}

/** utime + stime of a process, milliseconds (Linux /proc; clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

async function countAddEvents(url: string, token: string): Promise<number> {
  let n = 0
  for (let after = 0; ; ) {
    const res = await fetch(`${url}/admin/audit?action=subordinate.add&limit=1000&after=${after}`, { headers: { authorization: `Bearer ${token}` } })
    const body = (await res.json()) as { events: Array<{ seq: number; outcome: string }>; next?: number }
    n += body.events.filter((e) => e.outcome === 'success').length
    if (body.next === undefined) return n
    after = body.next
  }
}

export async function benchOnboarding(n: number, o: { connections?: number; store?: string } = {}): Promise<OnboardingResult> {
  const connections = o.connections ?? 32
  const s = await startBenchServer(o.store ? { store: o.store } : {})
  try {
    const cpu0 = await cpuMs(s.pid)
    const onboard = await load({
      url: () => `${s.url}/admin/subordinates`, method: 'POST', connections, durationMs: 600_000, maxRequests: n, expectStatus: 201,
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      body: (i) => JSON.stringify({ entity_id: member(i), jwks: JWKS, entity_types: [i % 10 === 0 ? 'openid_provider' : 'openid_relying_party'], metadata_policy: { openid_relying_party: { grant_types: { subset_of: ['authorization_code', 'refresh_token'] } } } }),
    })
    const server_cpu_ms_per_member = Math.round(((await cpuMs(s.pid)) - cpu0) / n * 1000) / 1000
    const rss_mib = await rssMiB(s.pid)
    const add_events = await countAddEvents(s.url, s.token)
    if (onboard.errors > 0 || add_events !== n) throw new Error(`onboarding: ${onboard.errors} errors, ${add_events} add events for ${n} members`)
    return { members: n, connections, onboard, server_cpu_ms_per_member, add_events, rss_mib }
  } finally {
    await s.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 20_000)
  const rounds = Number(flag('--rounds') ?? 3)
  const store = flag('--store')
  for (let r = 0; r < rounds; r++) {
    console.log(JSON.stringify(await benchOnboarding(n, { connections: Number(flag('--connections') ?? 32), ...(store ? { store } : {}) })))
  }
}
