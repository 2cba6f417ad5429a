/**
 * Hostile federations against one Anchorage trust anchor (TA, this process), loopback only.
 * The hostile federation (test/support/hostile.ts) runs in a child process, so its signing
 * is not counted as Anchorage's work; it counts every request it receives.
 *
 *   TA  <-  b0 .. b1999         (members of TA, never resolved before: the burst)
 *   t2 .. t5                    (5x5 trees: every entity lists 5 authority_hints, 2..5 levels;
 *                                nothing leads to TA)
 *
 * - fan_out[d]: one GET /resolve of the leaf of the tree of depth d: outbound requests the
 *   hostile server received, wall time, peak heap and RSS growth, the slowest GET /healthz
 *   answered while it ran (polled back to back), the answer.
 * - burst: 2,000 GET /resolve of the distinct members, 200 in flight: answers by status, wall
 *   time, outbound requests, peak memory, slowest /healthz. Where the code has discovery
 *   bounds, also `burst_unbounded`: the same with them lifted (another TA), to show the cost
 *   of the resolutions themselves.
 *
 * Run directly: node --import tsx bench/hostile.ts   (or npm run bench -- --only hostile)
 */
import http from 'node:http'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { ManualClock } from '../src/clock.js'
import { DEFAULTS } from '../src/config/defaults.js'
import type { Jwks } from '../src/types.js'
import { startEntity, type TestEntity } from '../test/support/entity.js'
import { round } from './lib/load.js'

const DEPTHS = [2, 3, 4, 5]
const BURST = 2_000
const IN_FLIGHT = 200

interface Topology {
  trees: Record<number, string>
  burst: Array<{ id: string; jwks: Jwks }>
}

/** Child: the hostile federation, trees and burst members under TA; answers count/reset over IPC. */
async function serveHostile(taId: string): Promise<void> {
  const { startHostile } = await import('../test/support/hostile.js')
  const h = await startHostile({ clock: new ManualClock() })
  const trees: Record<number, string> = {}
  for (const d of DEPTHS) trees[d] = h.tree({ prefix: `t${d}`, k: 5, depth: d }).leaf.id
  const burst = Array.from({ length: BURST }, (_, i) => {
    const e = h.add(`b${i}`, { authority_hints: [taId] })
    return { id: e.id, jwks: e.jwks }
  })
  process.on('message', (m) => {
    if (m === 'reset') h.requests.reset()
    process.send!({ total: h.requests.total })
  })
  process.send!({ trees, burst } satisfies Topology)
  process.on('disconnect', () => void h.stop().then(() => process.exit(0)))
}

function startChild(taId: string): Promise<{ child: ChildProcess; topology: Topology; ask: (m: 'count' | 'reset') => Promise<number> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve-hostile', taId], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ask = (m: 'count' | 'reset') => new Promise<number>((resolve) => {
    child.once('message', (r) => resolve((r as { total: number }).total))
    child.send(m)
  })
  return new Promise((resolve, reject) => {
    child.once('message', (topology) => resolve({ child, topology: topology as Topology, ask }))
    child.once('exit', (code) => reject(new Error(`hostile federation exited with ${code}`)))
  })
}

/** Runs `work` while sampling memory and polling /healthz back to back. */
async function observed<T>(base: string, work: () => Promise<T>): Promise<{ value: T; ms: number; heap_mb: number; rss_mb: number; healthz_max_ms: number }> {
  const m0 = process.memoryUsage()
  let heap = m0.heapUsed
  let rss = m0.rss
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    heap = Math.max(heap, m.heapUsed)
    rss = Math.max(rss, m.rss)
  }, 10)
  let done = false
  let healthz = 0
  const poll = (async () => {
    while (!done) {
      const t = performance.now()
      await (await fetch(`${base}/healthz`)).arrayBuffer()
      healthz = Math.max(healthz, performance.now() - t)
    }
  })()
  const t0 = performance.now()
  const value = await work()
  const ms = performance.now() - t0
  done = true
  await poll
  clearInterval(sampler)
  return { value, ms: round(ms), heap_mb: round((heap - m0.heapUsed) / 2 ** 20), rss_mb: round((rss - m0.rss) / 2 ** 20), healthz_max_ms: round(healthz) }
}

async function get(url: string, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    http.get(url, { agent }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', (err) => resolve({ status: 0, body: err.message }))
  })
}

/** `200`, or the status and error code, and for a 503 which bound refused it. */
function outcome(r: { status: number; body: string }): string {
  if (r.status === 200) return '200'
  let e: { error?: string; error_description?: string } = {}
  try {
    e = JSON.parse(r.body) as typeof e
  } catch {
    return String(r.status)
  }
  const bound = /\((resolver\.[a-z_]+)\)/.exec(e.error_description ?? '')?.[1]
  return `${r.status} ${e.error ?? ''}${r.status === 503 && bound ? ` (${bound})` : ''}`
}

const resolveUrl = (ta: TestEntity, sub: string) => `${ta.entityId}/resolve?sub=${encodeURIComponent(sub)}&trust_anchor=${encodeURIComponent(ta.entityId)}`

async function fanOut(ta: TestEntity, leaf: string, ask: (m: 'count' | 'reset') => Promise<number>) {
  await ask('reset')
  const o = await observed(ta.entityId, () => get(resolveUrl(ta, leaf)))
  const answer = o.value.status === 200 ? 'resolved' : `${o.value.status} ${(JSON.parse(o.value.body) as { error: string }).error}`
  return { outbound_requests: await ask('count'), ms: o.ms, heap_mb: o.heap_mb, rss_mb: o.rss_mb, healthz_max_ms: o.healthz_max_ms, answer }
}

async function burst(ta: TestEntity, subjects: string[], ask: (m: 'count' | 'reset') => Promise<number>) {
  await ask('reset')
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT })
  const statuses: Record<string, number> = {}
  const lat: number[] = []
  let next = 0
  const o = await observed(ta.entityId, () => Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < subjects.length) {
      const sub = subjects[next++]!
      const t = performance.now()
      const r = await get(resolveUrl(ta, sub), agent)
      lat.push(performance.now() - t)
      statuses[outcome(r)] = (statuses[outcome(r)] ?? 0) + 1
    }
  })))
  agent.destroy()
  lat.sort((a, b) => a - b)
  const pct = (p: number) => round(lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0)
  return { requests: subjects.length, statuses, outbound_requests: await ask('count'), ms: o.ms, p50_ms: pct(0.5), p99_ms: pct(0.99), heap_mb: o.heap_mb, rss_mb: o.rss_mb, healthz_max_ms: o.healthz_max_ms }
}

async function onboardAll(ta: TestEntity, members: Topology['burst']): Promise<void> {
  for (let i = 0; i < members.length; i += 50) {
    await Promise.all(members.slice(i, i + 50).map((m) => ta.federation.subordinates.add({ entity_id: m.id, jwks: m.jwks }, 'bench')))
  }
}

/** A TA (config `resolver` where given) and the hostile federation under it, members onboarded. */
async function setUp(clock: ManualClock, resolver?: Record<string, unknown>) {
  // The TA's id must exist before the hostile members can name it: start it, then onboard.
  const ta = await startEntity({ clock, ...(resolver ? { config: { resolver } } : {}) })
  const hostile = await startChild(ta.entityId)
  await onboardAll(ta, hostile.topology.burst)
  return {
    ta, ...hostile,
    async stop() {
      hostile.child.disconnect()
      await ta.stop()
    },
  }
}

export async function benchHostile(): Promise<Record<string, unknown>> {
  const clock = new ManualClock()
  const bounded = 'max_concurrent_discoveries' in DEFAULTS.resolver
  const out: Record<string, unknown> = {}
  const r = DEFAULTS.resolver as Record<string, unknown>
  out.limits = bounded
    ? { budget_fetches: r.budget_fetches, budget_verifications: r.budget_verifications, budget_ms: r.budget_ms, max_concurrent_discoveries: r.max_concurrent_discoveries, discoveries_per_minute: r.discoveries_per_minute }
    : { max_fan_out: r.max_fan_out, max_depth: r.max_depth, max_chains: r.max_chains }
  // Each measure on an anchor of its own: no cache, and no per-address allowance, shared.
  const a = await setUp(clock)
  try {
    // Warm-up (JIT, key import): one member resolved before the trees.
    await get(resolveUrl(a.ta, a.topology.burst[0]!.id))
    const fan: Record<string, unknown> = {}
    for (const d of DEPTHS) fan[`depth_${d}`] = await fanOut(a.ta, a.topology.trees[d]!, a.ask)
    out.fan_out = fan
  } finally {
    await a.stop()
  }
  const b = await setUp(clock)
  try {
    out.burst = await burst(b.ta, b.topology.burst.map((m) => m.id), b.ask)
  } finally {
    await b.stop()
  }
  if (bounded) {
    const c = await setUp(clock, { max_concurrent_discoveries: 100_000, discoveries_per_minute: 0 })
    try {
      out.burst_unbounded = await burst(c.ta, c.topology.burst.map((m) => m.id), c.ask)
    } finally {
      await c.stop()
    }
  }
  return out
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--serve-hostile')
  if (at >= 0) await serveHostile(process.argv[at + 1]!)
  else {
    console.log(JSON.stringify(await benchHostile(), null, 2))
    process.exit(0)
  }
}
