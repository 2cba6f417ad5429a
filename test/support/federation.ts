/**
 * Topologies for resolver tests: real Anchorage entities (startEntity), leaves (startLeaf)
 * and hand-made authorities whose statements a test can tamper with (bad signature,
 * unknown kid, wrong sub, crit, slow or oversized answers). Each on its own loopback port
 * with its own keys.
 */
import http from 'node:http'
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import type { Jwks } from '../../src/types.js'
import type { Logger } from '../../src/logger.js'
import { startEntity, startLeaf, testKey, signStatement, decode, type TestEntity, type TestLeaf, type TestKey } from './entity.js'
import { freePort } from './net.js'

export { startEntity, startLeaf, testKey, decode, type TestEntity, type TestLeaf, type TestKey }

/** Onboards `sub` at `superior` through the admin API (keys from the member's own configuration unless given). */
export async function onboard(superior: TestEntity, sub: string, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await superior.admin('POST', '/admin/subordinates', { entity_id: sub, ...extra })
  assert.equal(r.status, 201, `onboarding ${sub} at ${superior.entityId}: ${JSON.stringify(r.body)}`)
}

/** The anchor as a resolver pins it: entity id and its current federation keys. */
export async function pinned(e: TestEntity): Promise<{ entity_id: string; jwks: Jwks }> {
  return { entity_id: e.entityId, jwks: structuredClone<Jwks>(await e.federation.keystore.jwks()) }
}

export interface ResolveResult {
  status: number
  contentType: string | null
  text: string
  /** The error body, when the answer is JSON. */
  error?: { error: string; error_description: string }
  /** The decoded resolve response, when the answer is a JWT. */
  header?: Record<string, any>
  payload?: Record<string, any>
}

/** GET {resolver}/resolve with repeated parameters as given. */
export async function resolveAt(resolver: TestEntity, params: Record<string, string | string[] | undefined>): Promise<ResolveResult> {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) for (const one of [v ?? []].flat()) q.append(k, one)
  const res = await fetch(`${resolver.entityId}/resolve?${q.toString()}`)
  const text = await res.text()
  const out: ResolveResult = { status: res.status, contentType: res.headers.get('content-type'), text }
  if (out.contentType?.startsWith('application/json')) out.error = JSON.parse(text)
  else if (res.status === 200) Object.assign(out, decode(text))
  return out
}

/** Asserts an error answer: code, status, and that the description names the statement and the rule. */
export function assertFailure(r: ResolveResult, error: string, status: number, statement: string | RegExp, rule: string): void {
  assert.equal(r.status, status, r.text)
  assert.equal(r.error?.error, error, r.text)
  const d = r.error.error_description
  if (typeof statement === 'string') assert.ok(d.includes(statement), `"${statement}" not in: ${d}`)
  else assert.match(d, statement)
  assert.ok(d.includes(`"${rule}"`), `rule "${rule}" not in: ${d}`)
}

/** A superior whose statements a test controls. */
export interface FakeAuthority {
  entityId: string
  key: TestKey
  /** Extra claims of its entity configuration (authority_hints, metadata, ...). */
  ecClaims: Record<string, unknown>
  /** Claims of its subordinate statements by subject (merged over iss/sub/iat/exp). */
  subordinates: Map<string, Record<string, unknown>>
  /** Changes a statement before it is signed: its header, claims and signing key. */
  tamper?: (what: 'ec' | 'ss', s: { header: Record<string, unknown>; claims: Record<string, unknown>; key: TestKey }) => void
  /** Answers a request itself when it returns true (slow, oversized, wrong type). */
  respond?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean
  stop(): Promise<void>
}

export async function startAuthority(o: { clock: ManualClock; authority_hints?: string[]; key?: TestKey }): Promise<FakeAuthority> {
  const port = await freePort()
  const entityId = `http://127.0.0.1:${port}`
  const a: FakeAuthority = {
    entityId, key: o.key ?? (await testKey()), subordinates: new Map(),
    ecClaims: o.authority_hints ? { authority_hints: o.authority_hints } : {},
    stop: async () => undefined,
  }
  const sign = async (what: 'ec' | 'ss', claims: Record<string, unknown>) => {
    const s = { header: {} as Record<string, unknown>, claims, key: a.key }
    a.tamper?.(what, s)
    return signStatement(s.claims, s.key, s.header)
  }
  const server = http.createServer((req, res) => {
    if (a.respond?.(req, res)) return
    const url = new URL(req.url ?? '/', entityId)
    const now = o.clock.now()
    const base = { iss: entityId, iat: now, exp: now + 3600 }
    let p: Promise<string> | undefined
    if (url.pathname === '/.well-known/openid-federation') {
      p = sign('ec', {
        ...base, sub: entityId, jwks: { keys: [a.key.publicJwk] },
        metadata: { federation_entity: { federation_fetch_endpoint: `${entityId}/fetch` } }, ...a.ecClaims,
      })
    } else if (url.pathname === '/fetch' && a.subordinates.has(url.searchParams.get('sub') ?? '')) {
      const sub = url.searchParams.get('sub')!
      p = sign('ss', { ...base, sub, ...a.subordinates.get(sub) })
    }
    if (!p) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_found', error_description: 'unknown' }))
      return
    }
    void p.then((jwt) => res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' }).end(jwt))
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  a.stop = () => new Promise<void>((r) => {
    server.close(() => r())
    server.closeAllConnections()
  })
  return a
}

/** A leaf's or authority's published keys, for a superior's statement about it. */
export function jwksOf(x: { key: TestKey }): Jwks {
  return { keys: [x.key.publicJwk] }
}

/**
 * TA (Anchorage, resolves as its own anchor)  <-  IA (Anchorage)  <-  LEAF (startLeaf)
 * with a metadata policy in TA's statement about IA.
 */
export interface ThreeLevel {
  clock: ManualClock
  ta: TestEntity
  ia: TestEntity
  leaf: TestLeaf
  stop(): Promise<void>
}

export const RP_METADATA = {
  federation_entity: { organization_name: 'Leaf' },
  openid_relying_party: { client_name: 'RP', redirect_uris: ['https://rp.example/cb'], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'private_key_jwt' },
}

export async function threeLevel(o: { clock?: ManualClock; taConfig?: Record<string, unknown>; taLogger?: Logger; iaPolicy?: Record<string, unknown>; leafMetadata?: Record<string, unknown> } = {}): Promise<ThreeLevel> {
  const clock = o.clock ?? new ManualClock()
  const ta = await startEntity({ clock, config: o.taConfig ?? {}, ...(o.taLogger ? { logger: o.taLogger } : {}) })
  const ia = await startEntity({ clock, authority_hints: [ta.entityId] })
  const leaf = await startLeaf({ clock, authority_hints: [ia.entityId], metadata: o.leafMetadata ?? RP_METADATA })
  await onboard(ta, ia.entityId, { intermediate: true, ...(o.iaPolicy ? { metadata_policy: o.iaPolicy } : {}) })
  await onboard(ia, leaf.entityId)
  return {
    clock, ta, ia, leaf,
    async stop() {
      await Promise.all([ta.stop(), ia.stop(), leaf.stop()])
    },
  }
}
