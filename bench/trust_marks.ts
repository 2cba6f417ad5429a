/**
 * Trust Mark Status endpoint throughput over loopback, next to what one ES256 signature
 * verification and one ES256 signature cost in the same process, so the figures can be
 * read against each other:
 *   node --import tsx bench/trust_marks.ts
 *
 * - status_cold_rps: first question about each of N freshly issued marks (verify the mark,
 *   look it up, sign an answer: two ES256 operations per request);
 * - status_warm_rps: the same marks asked again and again (answers come from the caches);
 * - es256_verify_us / es256_sign_us: one operation, through src/crypto/jwt.ts.
 */
import http from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { randomBytes } from 'node:crypto'
import { resolveConfig } from '../src/config/load.js'
import { systemClock } from '../src/clock.js'
import { silentLogger } from '../src/logger.js'
import { openStore } from '../src/storage/open.js'
import { createService } from '../src/service.js'
import { serve } from '../src/http/server.js'
import { tokenDigest } from '../src/http/admin/auth.js'
import { signJwt, verifyJwt } from '../src/crypto/jwt.js'
import { generateSigningKey, importPrivateJwk } from '../src/crypto/keys.js'
import { freePort } from '../src/demo/leaf.js'

const TYPE = 'https://federation.example.org/tm/bench'

export async function benchTrustMarks(o: { marks?: number; seconds?: number; concurrency?: number } = {}): Promise<Record<string, number>> {
  const marks = o.marks ?? 500
  const seconds = o.seconds ?? 3
  const concurrency = o.concurrency ?? 32
  const crypto = await cryptoCosts()
  const dir = await mkdtemp(join(tmpdir(), 'anchorage-bench-tm-'))
  const port = await freePort()
  const token = randomBytes(16).toString('base64url')
  const config = resolveConfig({
    entity_id: `http://127.0.0.1:${port}`, development: true, admin: { token_sha256: tokenDigest(token).toString('base64url') },
  }, dir, {}, {})
  const store = await openStore(config, { clock: systemClock, logger: silentLogger })
  const service = createService(config, { store, clock: systemClock, logger: silentLogger })
  await service.start()
  const server = await serve(service, { port, host: '127.0.0.1' })
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  try {
    const admin = (path: string, body: unknown) => request(agent, port, 'POST', path, JSON.stringify(body), 'application/json', { authorization: `Bearer ${token}` })
    await admin('/admin/trust-mark-types', { trust_mark_type: TYPE })
    const tokens: string[] = []
    for (let i = 0; i < marks; i++) {
      const r = await admin('/admin/trust-marks', { trust_mark_type: TYPE, sub: `https://member-${i}.example.org` })
      tokens.push((JSON.parse(r.body) as { trust_mark: string }).trust_mark)
    }
    const bodies = tokens.map((t) => new URLSearchParams({ trust_mark: t }).toString())
    const ask = async (i: number) => {
      const r = await request(agent, port, 'POST', '/trust-mark-status', bodies[i % bodies.length]!, 'application/x-www-form-urlencoded')
      if (r.status !== 200) throw new Error(`status endpoint answered ${r.status}: ${r.body}`)
    }
    // Cold: every mark once (each is new to the caches).
    let next = 0
    let t = performance.now()
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) await ask(next++)
    }))
    const coldMs = performance.now() - t
    // Warm: the same marks, for `seconds`.
    let done = 0
    t = performance.now()
    const until = t + seconds * 1000
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) await ask(done++)
    }))
    const warmMs = performance.now() - t
    return {
      status_cold_rps: Math.round((bodies.length / coldMs) * 1000),
      status_warm_rps: Math.round((done / warmMs) * 1000),
      status_warm_us_per_request: round((warmMs * 1000) / done),
      ...crypto,
      concurrency,
      marks,
    }
  } finally {
    agent.destroy()
    await server.close()
    await service.stop()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

async function cryptoCosts(iterations = 2000): Promise<Record<string, number>> {
  const k = await generateSigningKey('ES256')
  const key = { kid: k.kid, alg: 'ES256', privateKey: await importPrivateJwk(k.privateJwk, 'ES256') }
  const jwks = { keys: [k.publicJwk] }
  const claims = { iss: 'https://tmi.example.org', sub: 'https://rp.example.org', trust_mark_type: TYPE, iat: systemClock.now() }
  const jwt = await signJwt(claims, key, 'trust-mark+jwt')
  for (let i = 0; i < 200; i++) await verifyJwt(jwt, jwks, { typ: 'trust-mark+jwt', clock: systemClock, requireTimes: false })
  let t = performance.now()
  for (let i = 0; i < iterations; i++) await verifyJwt(jwt, jwks, { typ: 'trust-mark+jwt', clock: systemClock, requireTimes: false })
  const verifyUs = ((performance.now() - t) * 1000) / iterations
  t = performance.now()
  for (let i = 0; i < iterations; i++) await signJwt(claims, key, 'trust-mark-status-response+jwt')
  const signUs = ((performance.now() - t) * 1000) / iterations
  return { es256_verify_us: round(verifyUs), es256_sign_us: round(signUs), es256_verify_per_s: Math.round(1e6 / verifyUs), es256_sign_per_s: Math.round(1e6 / signUs) }
}

function request(agent: http.Agent, port: number, method: string, path: string, body: string, type: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers: { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}


const round = (n: number) => Math.round(n * 10) / 10

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchTrustMarks()
  console.log(`trust mark status, first ask per mark: ${r.status_cold_rps} req/s (verify + sign per request)`)
  console.log(`trust mark status, cached:             ${r.status_warm_rps} req/s, ${r.status_warm_us_per_request} us/request (concurrency ${r.concurrency})`)
  console.log(`ES256 verify: ${r.es256_verify_us} us (${r.es256_verify_per_s}/s)   ES256 sign: ${r.es256_sign_us} us (${r.es256_sign_per_s}/s)`)
}
