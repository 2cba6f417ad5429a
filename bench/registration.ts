/**
 * Registration and token throughput of the authorization server role over loopback, next
 * to this machine's ES256 sign and verify rates measured in the same run:
 *   node --import tsx bench/registration.ts
 *   node --import tsx bench/registration.ts --code-only [SECONDS]   (the round trips alone)
 *
 *     TA  <-  IA  <-  N agents     (a child process: Anchorage TA and IA, one small server
 *                                   publishing the N agents' entity configurations)
 *     AS                           (this process: Anchorage with the authorization server
 *                                   role pinning TA; embedded store)
 *
 * - registrations_per_s: first contact of N distinct agents (token requests that resolve
 *   the agent's chain: 5 statements fetched, validated, metadata policy applied, client
 *   assertion verified, registration stored, token signed and stored, 3 audit events).
 * - tokens_per_s: token requests of agents already registered (assertion verified, jti
 *   claimed, token signed and stored, 1 audit event).
 * - exchanges_per_s: token exchanges (RFC 8693) of registered agents, each for a user's token
 *   issued to it (assertion verified, subject token's record and registration checked, token
 *   with act signed and stored, 1 audit event).
 * Assertions are signed before the clock starts, so only the server's work is measured.
 * - code_round_trips_per_s: authorization-code round trips of registered relying parties at a
 *   second deployment, the OpenID Provider (OP: the authorization server role with
 *   openid_provider and a users file), each a whole sign-in (src/demo/code_flow.ts): PAR with
 *   private_key_jwt and PKCE, authorize, the login page, the login (one scrypt hash check,
 *   N = 2^15), the consent page, the consent, the code redeemed for an ID token and an access
 *   token: 9 HTTP requests. The RPs (M leaves under IA) register at a round trip before the
 *   clock starts. Client and browser work (2 assertions signed, pages parsed) runs in this
 *   process too, as does the OP.
 * Bounded: N agents, M relying parties, at most `seconds` per phase, 16 concurrent requests
 * (8 concurrent users for the round trips).
 */
import http from 'node:http'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { randomBytes } from 'node:crypto'
import { initDeployment } from '../src/cli/init.js'
import { startService, type RunningService as Service } from '../src/cli/serve.js'
import { loadConfig } from '../src/config/load.js'
import { createLogger, silentLogger } from '../src/logger.js'
import { systemClock } from '../src/clock.js'
import { MEDIA, TYP, WELL_KNOWN_FEDERATION } from '../src/constants.js'
import { signJwt, verifyJwt, type SigningKey } from '../src/crypto/jwt.js'
import { generateSigningKey, importPrivateJwk } from '../src/crypto/keys.js'
import { freePort } from '../src/demo/leaf.js'
import { openStore } from '../src/storage/open.js'
import { createService } from '../src/service.js'
import { serve } from '../src/http/server.js'
import type { JWK } from 'jose'
import type { Jwks } from '../src/types.js'
import { round } from './lib/load.js'
import { TOKEN_EXCHANGE_GRANT, ACCESS_TOKEN_TYPE } from '../src/authorization_server/token_exchange.js'
import type { TokenRecord } from '../src/authorization_server/tokens.js'
import type { AuthorizationServerCapability } from '../src/capabilities/types.js'
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { hashPassword } from '../src/authorization_server/accounts.js'
import { authorizationCodeFlow, discoverOp } from '../src/demo/code_flow.js'

const RESOURCE = 'https://mcp.bench.example/mcp'
const RP_REDIRECT = 'https://rp.bench.example/cb'
const USER = { username: 'alice', password: 'bench password' }
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

interface Topology {
  ta: string
  taJwks: Jwks
  /** Agent entity ids and their client keys (private: the bench signs their assertions). */
  agents: Array<{ id: string; clientJwk: JWK; kid: string }>
  /** Relying parties (openid_relying_party leaves) and their client keys. */
  rps: Array<{ id: string; clientJwk: JWK; kid: string }>
}

async function deployment(root: string, name: string, hints: string[]): Promise<Service> {
  const port = await freePort('127.0.0.1')
  const dir = join(root, name)
  await initDeployment({ dir, entityId: `http://127.0.0.1:${port}`, development: true, ...(hints.length ? { authorityHints: hints } : {}), extra: { outbound: { allow_http: true, allow_private_network: true } } })
  return startService(dir, { port, host: '127.0.0.1', store: 'embedded' }, { env: {}, logger: createLogger({ level: 'error' }) })
}

/** Child process: TA <- IA <- N agents and M relying parties; prints the topology as one JSON line; runs until stdin closes. */
async function serveFederation(n: number, m: number): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'anchorage-bench-reg-fed-'))
  const ta = await deployment(root, 'ta', [])
  const ia = await deployment(root, 'ia', [ta.config.entity_id])
  await ta.federation.subordinates.add({ entity_id: ia.config.entity_id, intermediate: true, metadata_policy: { oauth_client: { grant_types: { subset_of: ['client_credentials', TOKEN_EXCHANGE_GRANT] } } } }, 'bench')
  const port = await freePort('127.0.0.1')
  const ecs = new Map<string, string>()
  const now = Math.floor(Date.now() / 1000)
  const leaves = async (path: string, count: number, entityType: 'oauth_client' | 'openid_relying_party', md: (jwk: JWK) => Record<string, unknown>) => {
    const out: Topology['agents'] = []
    for (let i = 0; i < count; i++) {
      const id = `http://127.0.0.1:${port}/${path}/${i}`
      const [fed, client] = await Promise.all([generateSigningKey('ES256'), generateSigningKey('ES256')])
      const key: SigningKey = { kid: fed.kid, alg: 'ES256', privateKey: await importPrivateJwk(fed.privateJwk, 'ES256') }
      const metadata = { [entityType]: md(client.publicJwk) }
      ecs.set(`/${path}/${i}${WELL_KNOWN_FEDERATION}`, await signJwt({ iss: id, sub: id, iat: now, exp: now + 3600, jwks: { keys: [fed.publicJwk] }, metadata, authority_hints: [ia.config.entity_id] }, key, TYP.entityStatement))
      await ia.federation.subordinates.add({ entity_id: id, jwks: { keys: [fed.publicJwk] }, entity_types: [entityType] }, 'bench')
      out.push({ id, clientJwk: client.privateJwk, kid: client.kid })
    }
    return out
  }
  const agents = await leaves('agents', n, 'oauth_client', (jwk) => ({ grant_types: ['client_credentials', TOKEN_EXCHANGE_GRANT], token_endpoint_auth_method: 'private_key_jwt', scope: 'mcp:tools', jwks: { keys: [jwk] } }))
  const rps = await leaves('rps', m, 'openid_relying_party', (jwk) => ({
    client_name: 'Bench RP', grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: [RP_REDIRECT],
    token_endpoint_auth_method: 'private_key_jwt', scope: 'openid mcp:tools', jwks: { keys: [jwk] },
  }))
  const server = http.createServer((req, res) => {
    const ec = ecs.get(req.url ?? '')
    if (ec) res.writeHead(200, { 'content-type': MEDIA.entityStatement }).end(ec)
    else res.writeHead(404).end()
  })
  server.keepAliveTimeout = 65_000
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  const topology: Topology = { ta: ta.config.entity_id, taJwks: (await ta.federation.keystore.jwks()), agents, rps }
  process.stdout.write(JSON.stringify(topology) + '\n')
  process.stdin.resume()
  await new Promise((r) => process.stdin.once('end', r))
  server.closeAllConnections()
  server.close()
  await Promise.allSettled([ta.stop(), ia.stop()])
  await rm(root, { recursive: true, force: true })
}

function startFederation(n: number, m: number): Promise<{ topology: Topology; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve-federation', String(n), String(m)], { stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve({ topology: JSON.parse(out.split('\n')[0]!) as Topology, child })
    })
    child.once('exit', (code) => reject(new Error(`federation process exited with ${code}`)))
  })
}

/**
 * An authorization server in this process (`name`: its directory); `openIdProvider`: the OP
 * role too, with one user (USER) in a users file.
 */
async function startAuthorizationServer(root: string, topology: Topology, name = 'as', openIdProvider = false) {
  const port = await freePort('127.0.0.1')
  const dir = join(root, name)
  const usersFile = join(root, `${name}-users.json`)
  if (openIdProvider) await writeFile(usersFile, JSON.stringify({ users: { [USER.username]: { password: await hashPassword(USER.password), claims: { name: 'Alice' } } } }))
  await initDeployment({
    dir, entityId: `http://127.0.0.1:${port}`, development: true,
    extra: {
      outbound: { allow_http: true, allow_private_network: true }, trust_anchors: [{ entity_id: topology.ta, jwks: topology.taJwks }],
      authorization_server: { resources: [RESOURCE], ...(openIdProvider ? { openid_provider: true, users_file: usersFile, scopes_supported: ['mcp:tools'] } : {}) },
    },
  })
  const config = await loadConfig(dir, { port, host: '127.0.0.1', store: 'embedded' }, {})
  const store = await openStore(config, { clock: systemClock, logger: silentLogger })
  const service = createService(config, { store, clock: systemClock, logger: silentLogger })
  await service.start()
  const server = await serve(service, { port, host: '127.0.0.1' })
  const as = (service.capabilities.find((c) => c.kind === 'authorization_server') as AuthorizationServerCapability).server
  /** A user's access token issued to `clientId` and recorded, as the server issues them (the code flow's stand-in). */
  const userToken = async (clientId: string, sub: string): Promise<string> => {
    const p = await as.provider()
    const reg = await as.registrar.active(clientId)
    const client = await p.Client.find(clientId)
    if (!reg || !client) throw new Error(`${clientId} is not registered`)
    const t = new p.AccessToken({ accountId: sub, client, grantId: 'bench', gty: 'authorization_code', scope: 'mcp:tools' })
    t.resourceServer = new p.ResourceServer(RESOURCE, { audience: RESOURCE, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'ES256' } }, scope: 'mcp:tools' })
    const value = await t.save()
    const { jti, iat, exp } = JSON.parse(Buffer.from(value.split('.')[1]!, 'base64url').toString()) as { jti: string; iat: number; exp: number }
    const record: TokenRecord = {
      id: jti, client_id: clientId, sub, rid: reg.rid, aud: RESOURCE, trust_anchor: reg.trust_anchor, iat, exp,
      expires_at: systemClock.now() + 300, hash: createHash('sha256').update(value).digest('base64url'), scope: 'mcp:tools',
    }
    await store.put('tokens', record)
    return value
  }
  return { url: config.entity_id, userToken, stop: async () => (await server.close(), await service.stop(), await store.close()) }
}

/** `requests` (pre-built bodies) with `concurrency` workers, at most `ms`; rate and latency percentiles. */
async function run(url: string, bodies: string[], concurrency: number, ms: number): Promise<{ per_s: number; done: number; errors: number; p50_ms: number; p99_ms: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const lat: number[] = []
  let next = 0
  let errors = 0
  const start = performance.now()
  const post = (body: string) => new Promise<void>((resolve) => {
    const t0 = performance.now()
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.on('end', () => {
        if (res.statusCode !== 200) errors++
        lat.push(performance.now() - t0)
        resolve()
      })
    })
    req.on('error', () => (errors++, resolve()))
    req.end(body)
  })
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < bodies.length && performance.now() - start < ms) await post(bodies[next++]!)
  }))
  const seconds = (performance.now() - start) / 1000
  agent.destroy()
  lat.sort((a, b) => a - b)
  const pct = (p: number) => round(lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0)
  return { per_s: Math.round(lat.length / seconds), done: lat.length, errors, p50_ms: pct(0.5), p99_ms: pct(0.99) }
}

/**
 * Authorization-code round trips (src/demo/code_flow.ts) of the relying parties at `op`,
 * `concurrency` users at once, for at most `ms`, after one untimed round trip per RP (its
 * registration at first contact).
 */
async function codeRoundTrips(op: string, rps: Array<{ id: string; key: SigningKey }>, concurrency: number, ms: number): Promise<{ per_s: number; done: number; errors: number; p50_ms: number; p99_ms: number; first_error?: string }> {
  const endpoints = await discoverOp(op)
  const once = (i: number) => authorizationCodeFlow({
    op: endpoints, client: { id: rps[i % rps.length]!.id, key: rps[i % rps.length]!.key, redirectUri: RP_REDIRECT },
    user: USER, scope: 'openid mcp:tools', resource: RESOURCE,
  })
  for (let i = 0; i < rps.length; i++) await once(i)
  const lat: number[] = []
  let errors = 0
  let firstError: string | undefined
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() - start < ms) {
      const t0 = performance.now()
      try {
        await once(next++)
        lat.push(performance.now() - t0)
      } catch (err) {
        errors++
        firstError ??= (err as Error).message.slice(0, 300)
      }
    }
  }))
  const seconds = (performance.now() - start) / 1000
  lat.sort((a, b) => a - b)
  const pct = (p: number) => round(lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0)
  return { per_s: round(lat.length / seconds), done: lat.length, errors, p50_ms: pct(0.5), p99_ms: pct(0.99), ...(firstError ? { first_error: firstError } : {}) }
}

/** ES256 sign and verify, sequentially, through src/crypto/jwt.ts, for `ms` each. */
async function es256(ms: number): Promise<{ sign_per_s: number; verify_per_s: number }> {
  const g = await generateSigningKey('ES256')
  const key: SigningKey = { kid: g.kid, alg: 'ES256', privateKey: await importPrivateJwk(g.privateJwk, 'ES256') }
  const jwks = { keys: [g.publicJwk] }
  const claims = { iss: 'https://a.example', sub: 'https://a.example', aud: 'https://as.example', iat: systemClock.now(), exp: systemClock.now() + 60, jti: 'x' }
  let n = 0
  let t0 = performance.now()
  let jwt = ''
  while (performance.now() - t0 < ms) {
    jwt = await signJwt(claims, key, 'JWT')
    n++
  }
  const sign = n / ((performance.now() - t0) / 1000)
  n = 0
  t0 = performance.now()
  while (performance.now() - t0 < ms) {
    await verifyJwt(jwt, jwks, { typ: 'JWT', clock: systemClock })
    n++
  }
  return { sign_per_s: Math.round(sign), verify_per_s: Math.round(n / ((performance.now() - t0) / 1000)) }
}

export async function benchRegistration(o: { agents?: number; tokens?: number; seconds?: number; rps?: number; codeOnly?: boolean } = {}): Promise<Record<string, number | string>> {
  const n = o.agents ?? 300
  const m = o.rps ?? 20
  const tokenCount = o.tokens ?? 3000
  const ms = (o.seconds ?? 5) * 1000
  const crypto = await es256(1000)
  const { topology, child } = await startFederation(n, m)
  const root = await mkdtemp(join(tmpdir(), 'anchorage-bench-reg-'))
  let as: Awaited<ReturnType<typeof startAuthorizationServer>> | undefined
  let op: Awaited<ReturnType<typeof startAuthorizationServer>> | undefined
  try {
    if (o.codeOnly) {
      op = await startAuthorizationServer(root, topology, 'op', true)
      const rps = await Promise.all(topology.rps.map(async (r) => ({ id: r.id, key: { kid: r.kid, alg: 'ES256', privateKey: await importPrivateJwk(r.clientJwk, 'ES256') } })))
      const code = await codeRoundTrips(op.url, rps, 8, ms)
      return {
        relying_parties: m, code_round_trips_per_s: code.per_s, code_round_trips_done: code.done, code_round_trip_errors: code.errors,
        code_round_trip_p50_ms: code.p50_ms, code_round_trip_p99_ms: code.p99_ms, ...(code.first_error ? { code_round_trip_first_error: code.first_error } : {}),
      }
    }
    as = await startAuthorizationServer(root, topology)
    const keys = await Promise.all(topology.agents.map(async (a) => ({ id: a.id, key: { kid: a.kid, alg: 'ES256', privateKey: await importPrivateJwk(a.clientJwk, 'ES256') } })))
    const body = async (a: { id: string; key: SigningKey }, grant: Record<string, string> = { grant_type: 'client_credentials' }) => {
      const now = systemClock.now()
      const assertion = await signJwt({ iss: a.id, sub: a.id, aud: as!.url, jti: randomBytes(12).toString('base64url'), iat: now, exp: now + 120 }, a.key, 'JWT')
      return new URLSearchParams({ ...grant, client_assertion_type: ASSERTION_TYPE, client_assertion: assertion, resource: RESOURCE }).toString()
    }
    const tokenUrl = `${as.url}/oauth/token`
    const first = await run(tokenUrl, await Promise.all(keys.map((k) => body(k))), 16, ms)
    const again = await run(tokenUrl, await Promise.all(Array.from({ length: tokenCount }, (_, i) => body(keys[i % keys.length]!))), 16, ms)
    const users = await Promise.all(keys.map((a, i) => as!.userToken(a.id, `user-${i}`)))
    const exchange = (i: number) => body(keys[i % keys.length]!, {
      grant_type: TOKEN_EXCHANGE_GRANT, subject_token: users[i % keys.length]!, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'mcp:tools',
    })
    const exchanged = await run(tokenUrl, await Promise.all(Array.from({ length: tokenCount }, (_, i) => exchange(i))), 16, ms)
    await as.stop()
    as = undefined
    op = await startAuthorizationServer(root, topology, 'op', true)
    const rps = await Promise.all(topology.rps.map(async (r) => ({ id: r.id, key: { kid: r.kid, alg: 'ES256', privateKey: await importPrivateJwk(r.clientJwk, 'ES256') } })))
    const code = await codeRoundTrips(op.url, rps, 8, ms)
    return {
      agents: n,
      registrations_per_s: first.per_s, registrations_done: first.done, registration_errors: first.errors, registration_p50_ms: first.p50_ms, registration_p99_ms: first.p99_ms,
      tokens_per_s: again.per_s, tokens_done: again.done, token_errors: again.errors, token_p50_ms: again.p50_ms, token_p99_ms: again.p99_ms,
      exchanges_per_s: exchanged.per_s, exchanges_done: exchanged.done, exchange_errors: exchanged.errors, exchange_p50_ms: exchanged.p50_ms, exchange_p99_ms: exchanged.p99_ms,
      relying_parties: m, code_round_trips_per_s: code.per_s, code_round_trips_done: code.done, code_round_trip_errors: code.errors,
      code_round_trip_p50_ms: code.p50_ms, code_round_trip_p99_ms: code.p99_ms, ...(code.first_error ? { code_round_trip_first_error: code.first_error } : {}),
      es256_sign_per_s: crypto.sign_per_s, es256_verify_per_s: crypto.verify_per_s,
    }
  } finally {
    await as?.stop()
    await op?.stop()
    await rm(root, { recursive: true, force: true })
    child.stdin!.end()
    await new Promise((res) => (child.exitCode === null ? child.once('exit', res) : res(undefined)))
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--serve-federation')
  if (at >= 0) await serveFederation(Number(process.argv[at + 1]), Number(process.argv[at + 2]))
  // --code-only [SECONDS]: the authorization-code round trips alone (e.g. under node --cpu-prof).
  else if (process.argv.includes('--code-only')) {
    const s = Number(process.argv[process.argv.indexOf('--code-only') + 1])
    console.log(JSON.stringify(await benchRegistration({ codeOnly: true, agents: 10, ...(s > 0 ? { seconds: s } : {}) }), null, 2))
  } else console.log(JSON.stringify(await benchRegistration(), null, 2))
}
