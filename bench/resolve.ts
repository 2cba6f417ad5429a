/**
 * Resolve throughput over loopback, next to ES256 signature verification measured in the
 * same run (the floor for a cold resolution: five statements to verify).
 *
 *     TA  <-  IA  <-  LEAF     (a child process: the federation being resolved)
 *     R                        (this process: a resolver pinning TA; every statement over HTTP)
 *
 * - cached: GET R/resolve answered from the signed answer cache (the listener's fast path),
 *   50 keep-alive connections (wrk when installed, else the node load generator).
 * - cold_http: one request at a time, every cache of R cleared before each (5 fetches,
 *   5 verifications, 1 signature, through koa).
 * - cold: 16 concurrent workers, each with its own resolver whose statement caches are
 *   cleared before every resolution, plus the signing of the answer (imported public keys
 *   are kept: they are not trust data).
 * Run directly: node --import tsx bench/resolve.ts
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { initDeployment } from '../src/cli/init.js'
import { startService, type RunningService as Service } from '../src/cli/serve.js'
import { createLogger, silentLogger } from '../src/logger.js'
import { systemClock } from '../src/clock.js'
import { TYP } from '../src/constants.js'
import { signJwt, verifyJwt } from '../src/crypto/jwt.js'
import { startDemoLeaf, freePort } from '../src/demo/leaf.js'
import { capabilityOf } from '../src/service.js'
import { Resolver } from '../src/trust_chain/resolver.js'
import type { ConfigFile } from '../src/config/load.js'
import type { Jwks } from '../src/types.js'
import { load, round } from './lib/load.js'
import { hasWrk, wrk } from './lib/wrk.js'

interface Topology {
  ta: string
  leaf: string
  taJwks: Jwks
}

async function deployment(root: string, name: string, hints: string[], extra: Partial<ConfigFile> = {}): Promise<Service> {
  const port = await freePort('127.0.0.1')
  const dir = join(root, name)
  const entityId = `http://127.0.0.1:${port}`
  await initDeployment({ dir, entityId, development: true, ...(hints.length ? { authorityHints: hints } : {}), extra: { outbound: { allow_http: true, allow_private_network: true }, ...extra } })
  return startService(dir, { port, host: '127.0.0.1', store: 'embedded' }, { env: {}, logger: createLogger({ level: 'error' }) })
}

/** TA <- IA <- LEAF in this process; prints the topology as one JSON line and runs until stdin closes. */
async function serveFederation(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'anchorage-bench-resolve-'))
  const ta = await deployment(root, 'ta', [])
  const ia = await deployment(root, 'ia', [ta.config.entity_id])
  const leaf = await startDemoLeaf({
    port: await freePort('127.0.0.1'), host: '127.0.0.1', authorityHints: [ia.config.entity_id], clock: systemClock,
    metadata: { openid_relying_party: { client_name: 'RP', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://rp.example/cb'] } },
  })
  await ta.federation.subordinates.add({ entity_id: ia.config.entity_id, intermediate: true, metadata_policy: { openid_relying_party: { grant_types: { subset_of: ['authorization_code'] } } } }, 'bench')
  await ia.federation.subordinates.add({ entity_id: leaf.entityId }, 'bench')
  const topology: Topology = { ta: ta.config.entity_id, leaf: leaf.entityId, taJwks: (await ta.federation.keystore.jwks()) }
  process.stdout.write(JSON.stringify(topology) + '\n')
  process.stdin.resume()
  await new Promise((r) => process.stdin.once('end', r))
  await Promise.allSettled([ta.stop(), ia.stop(), leaf.stop()])
  await rm(root, { recursive: true, force: true })
}

export function startFederation(): Promise<{ topology: Topology; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve-federation'], { stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve({ topology: JSON.parse(out.split('\n')[0]!) as Topology, child })
    })
    child.once('exit', (code) => reject(new Error(`federation process exited with ${code}`)))
  })
}

/** Bounded loop: `concurrency` workers until `ms` passes; per-second rate and latency percentiles. */
async function timed(ms: number, concurrency: number, one: (worker: number) => Promise<void>): Promise<{ rps: number; p50_ms: number; p99_ms: number }> {
  const lat: number[] = []
  const start = performance.now()
  const end = start + ms
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    while (performance.now() < end) {
      const t0 = performance.now()
      await one(worker)
      lat.push(performance.now() - t0)
    }
  }))
  lat.sort((a, b) => a - b)
  const pct = (p: number) => round(lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0)
  return { rps: Math.round(lat.length / ((performance.now() - start) / 1000)), p50_ms: pct(0.5), p99_ms: pct(0.99) }
}

export async function benchResolve(o: { seconds?: number } = {}): Promise<Record<string, number>> {
  const seconds = o.seconds ?? 3
  const { topology, child } = await startFederation()
  const root = await mkdtemp(join(tmpdir(), 'anchorage-bench-resolver-'))
  let r: Service | undefined
  try {
    // The cold-HTTP step measures discovery itself, one request after another from one address:
    // the per-address discovery rate limit (a defence, measured in bench/hostile.ts) is off (0).
    r = await deployment(root, 'r', [], {
      trust_anchors: [{ entity_id: topology.ta, jwks: topology.taJwks }],
      resolver: { discoveries_per_minute: 0 },
    })
    const f = r.federation
    const path = `/resolve?sub=${encodeURIComponent(topology.leaf)}&trust_anchor=${encodeURIComponent(topology.ta)}`
    const url = f.entityId + path
    const first = await fetch(url)
    if (first.status !== 200) throw new Error(`resolve failed: ${first.status} ${await first.text()}`)
    const chain = JSON.parse(Buffer.from((await first.text()).split('.')[1]!, 'base64url').toString()).trust_chain as string[]

    const useWrk = await hasWrk()
    const cached = useWrk ? await wrk(f.entityId, { path, connections: 50, seconds }) : await load({ url: () => url, connections: 50, durationMs: seconds * 1000 })

    const service = capabilityOf(r.service, 'resolver')!.service
    const coldHttp = await timed(2_000, 1, async () => {
      service.clearCaches()
      const res = await fetch(url)
      if (res.status !== 200) throw new Error(`cold resolve failed: ${res.status}`)
      await res.arrayBuffer()
    })

    const anchors = [{ entity_id: topology.ta, jwks: topology.taJwks }]
    const key = await f.keystore.signingKey()
    const resolvers = Array.from({ length: 16 }, () => new Resolver({ fetcher: f.fetcher, clock: f.clock, logger: silentLogger, skew: 60, limits: f.config.resolver, anchors: () => anchors }))
    const cold = await timed(2_000, 16, async (worker) => {
      const resolver = resolvers[worker]!
      resolver.clearCaches()
      const c = await resolver.resolve(topology.leaf, [topology.ta])
      await signJwt({ iss: f.entityId, sub: c.subject, iat: f.clock.now(), exp: c.exp, metadata: c.metadata, trust_chain: c.trust_chain }, key, TYP.resolveResponse)
    })

    // The chain's own statements, each verified with its signer's keys (imported once, as in the resolver).
    const claims = chain.map((jwt) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { jwks: Jwks })
    const signers = [claims[0]!.jwks, claims[2]!.jwks, topology.taJwks, topology.taJwks]
    let i = 0
    const verify = () => {
      const k = i++ % chain.length
      return verifyJwt(chain[k]!, signers[k]!, { typ: TYP.entityStatement, clock: f.clock }).then(() => undefined)
    }
    const verifySeq = await timed(1_000, 1, verify)
    const verifyConc = await timed(1_000, 16, verify)

    return {
      cached_rps: cached.rps, cached_p50_ms: cached.p50_ms, cached_p99_ms: cached.p99_ms, cached_errors: cached.errors,
      cold_http_rps: coldHttp.rps, cold_http_p50_ms: coldHttp.p50_ms, cold_http_p99_ms: coldHttp.p99_ms,
      cold_rps: cold.rps, cold_p50_ms: cold.p50_ms, cold_p99_ms: cold.p99_ms,
      es256_verify_per_s: verifyConc.rps, es256_verify_sequential_per_s: verifySeq.rps,
      statements_per_chain: 5,
      // What signature verification alone allows for a cold chain of five statements, and the target (half).
      cold_ceiling_rps: Math.round(verifyConc.rps / 5), cold_target_rps: Math.round(verifyConc.rps / 10),
      used_wrk: useWrk ? 1 : 0,
    }
  } finally {
    await r?.stop()
    await rm(root, { recursive: true, force: true })
    child.stdin!.end()
    await new Promise((res) => (child.exitCode === null ? child.once('exit', res) : res(undefined)))
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--serve-federation')) await serveFederation()
  else console.log(JSON.stringify(await benchResolve(), null, 2))
}
