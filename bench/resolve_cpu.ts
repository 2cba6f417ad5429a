/**
 * CPU time per resolution, for A/B comparisons on a busy machine: throughput moves with
 * whatever else runs, the process's CPU time per operation much less (it still moves with
 * cache and frequency effects: compare interleaved runs, several of each).
 *
 *     node --import tsx bench/resolve_cpu.ts [N] [--root DIR]
 *
 * `--root DIR` measures another checkout's code (its src/ and bench/resolve.ts), so an old
 * commit in a worktree is measured by this same script. Prints one JSON line, microseconds of
 * CPU (user + system, every thread of the process) per operation:
 * - cached_us: a /resolve answered from the signed answer cache (the listener's fast path),
 *   the load generator's own CPU included (it runs in this process);
 * - http_resolver_us / http_federation_us: a cold /resolve over HTTP (every cache cleared
 *   before it), in this process and in the federation's (TA <- IA <- LEAF, bench/resolve.ts);
 * - resolver_us / federation_us: a cold resolution in process (8 workers, statement caches
 *   cleared before each, plus the signing of the answer), and the federation's share.
 * docs/performance.md, "2026-12-02, session 5", has the figures of issue 14's bar.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const args = process.argv.slice(2)
const at = args.indexOf('--root')
const root = at >= 0 ? resolve(args[at + 1]!) : fileURLToPath(new URL('..', import.meta.url))
const n = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--root') ?? 2000)
const imp = (p: string): Promise<any> => import(pathToFileURL(join(root, p)).href)

const { startFederation } = await imp('bench/resolve.ts')
const { load } = await imp('bench/lib/load.ts')
const { initDeployment } = await imp('src/cli/init.ts')
const { startService } = await imp('src/cli/serve.ts')
const { createLogger, silentLogger } = await imp('src/logger.ts')
const { freePort } = await imp('src/demo/leaf.ts')
const { Resolver } = await imp('src/trust_chain/resolver.ts')
const { signJwt } = await imp('src/crypto/jwt.ts')
const { TYP } = await imp('src/constants.ts')
const { capabilityOf } = await imp('src/service.ts')

const { topology, child } = await startFederation()
const dir = await mkdtemp(join(tmpdir(), 'anchorage-bench-resolve-cpu-'))
const port = await freePort('127.0.0.1')
await initDeployment({
  dir: join(dir, 'r'), entityId: `http://127.0.0.1:${port}`, development: true,
  extra: { outbound: { allow_http: true, allow_private_network: true }, trust_anchors: [{ entity_id: topology.ta, jwks: topology.taJwks }], resolver: { discoveries_per_minute: 0 } },
})
const r = await startService(join(dir, 'r'), { port, host: '127.0.0.1', store: 'embedded' }, { env: {}, logger: createLogger({ level: 'error' }) })
const f = r.federation
const anchors = [{ entity_id: topology.ta, jwks: topology.taJwks }]
const key = await f.keystore.signingKey()
const url = `${f.entityId}/resolve?sub=${encodeURIComponent(topology.leaf)}&trust_anchor=${encodeURIComponent(topology.ta)}`
const service = capabilityOf(r.service, 'resolver').service

/** The federation process's CPU time so far, microseconds (/proc, clock ticks of 10 ms). */
function federationCpu(): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}
function cpu(): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

async function measure(count: number, run: (count: number) => Promise<unknown>): Promise<{ us: number; federation_us: number }> {
  await run(Math.max(100, Math.round(count / 10))) // warm-up: the JIT, the sockets
  const c0 = cpu()
  const k0 = federationCpu()
  const done = await run(count)
  const actual = typeof done === 'number' ? done : count
  return { us: Math.round((cpu() - c0) / actual * 10) / 10, federation_us: Math.round((federationCpu() - k0) / actual) }
}

try {
  const cached = await measure(n, async () => (await load({ url: () => url, connections: 50, durationMs: 4_000 })).requests)
  const coldHttp = await measure(n / 2, async (count) => {
    for (let i = 0; i < count; i++) {
      service.clearCaches()
      const res = await fetch(url)
      if (res.status !== 200) throw new Error(`cold resolve: ${res.status}`)
      await res.arrayBuffer()
    }
  })
  const resolvers = Array.from({ length: 8 }, () => new Resolver({ fetcher: f.fetcher, clock: f.clock, logger: silentLogger, skew: 60, limits: f.config.resolver, anchors: () => anchors }))
  const cold = await measure(n, async (count) => {
    let i = 0
    await Promise.all(resolvers.map(async (resolver) => {
      while (i++ < count) {
        resolver.clearCaches()
        const c = await resolver.resolve(topology.leaf, [topology.ta])
        await signJwt({ iss: f.entityId, sub: c.subject, iat: f.clock.now(), exp: c.exp, metadata: c.metadata, trust_chain: c.trust_chain }, key, TYP.resolveResponse)
      }
    }))
  })
  console.log(JSON.stringify({
    root, n, cached_us: cached.us,
    http_resolver_us: coldHttp.us, http_federation_us: coldHttp.federation_us,
    resolver_us: cold.us, federation_us: cold.federation_us,
  }))
} finally {
  await r.stop()
  await rm(dir, { recursive: true, force: true })
  child.stdin!.end()
}
