/**
 * Agents and authorization servers for registration tests: an Anchorage deployment with
 * the authorization server role, agents (leaves with oauth_client metadata and a client key
 * of their own, distinct from their federation key), and their requests.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { SignJWT } from 'jose'
import { resolveConfig, type ConfigFile } from '../../src/config/load.js'
import type { ManualClock } from '../../src/clock.js'
import { silentLogger, type Logger } from '../../src/logger.js'
import { createService } from '../../src/service.js'
import { serve } from '../../src/http/server.js'
import { openStore } from '../../src/storage/open.js'
import { tokenDigest } from '../../src/http/admin/auth.js'
import { startEntity, startLeaf, testKey, type TestEntity, type TestKey, type TestLeaf } from './entity.js'
import { onboard, pinned } from './federation.js'
import { freePort } from './net.js'
import type { Jwks } from '../../src/types.js'

export const RESOURCE = 'https://mcp.example/api'

/** An Anchorage deployment with the authorization server role, trusting `anchors`. */
export async function startAuthorizationServer(o: {
  clock: ManualClock
  anchors: Array<{ entity_id: string; jwks: Jwks }>
  authority_hints?: string[]
  as?: NonNullable<ConfigFile['authorization_server']>
  config?: Partial<ConfigFile>
  /** Receives the deployment's logs (default: silent). */
  logger?: Logger
  /** The entity id when the instance is reached through something else (a balancer in front of several); default its own address. */
  entityId?: string
  /** The deployment directory (kept at stop: a restart opens it again); default a fresh one, removed at stop. */
  dir?: string
  /** The port to listen on (a test that must know the entity id before the configuration); default a free one. */
  port?: number
}): Promise<TestEntity> {
  const port = o.port ?? await freePort()
  const entityId = o.entityId ?? `http://127.0.0.1:${port}`
  const token = randomBytes(16).toString('hex') // hex: a token never starts with '-' (read as an option by the CLI)
  const dir = o.dir ?? await mkdtemp(join(tmpdir(), 'anchorage-as-test-'))
  const file: ConfigFile = {
    entity_id: entityId, development: true,
    ...(o.authority_hints ? { authority_hints: o.authority_hints } : {}),
    admin: { token_sha256: tokenDigest(token).toString('base64url') },
    outbound: { allow_http: true, allow_private_network: true, timeout_ms: 2000 },
    trust_anchors: o.anchors,
    authorization_server: { resources: [RESOURCE], ...o.as },
    ...o.config,
  }
  const config = resolveConfig(file, dir, {}, {})
  const logger = o.logger ?? silentLogger
  const store = await openStore(config, { clock: o.clock, logger })
  const service = createService(config, { store, clock: o.clock, logger })
  await service.start()
  const server = await serve(service, { port, host: '127.0.0.1' })
  const { federation } = service
  return {
    entityId, port, service, federation, store, clock: o.clock, token, dir, server,
    get: (path, headers) => fetch(entityId + path, { headers: headers ?? {} }),
    async admin(method, path, body, headers = {}) {
      const res = await fetch(entityId + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
      const text = await res.text()
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
    },
    async stop() {
      await server.close()
      await service.stop()
      await store.close()
      if (!o.dir) await rm(dir, { recursive: true, force: true })
    },
  }
}

/** An agent: a leaf whose oauth_client metadata carries its own client key. */
export interface Agent {
  leaf: TestLeaf
  id: string
  clientKey: TestKey
  /** A fresh, valid client assertion for `aud` (claims and header overridable). */
  assertion(aud: string, claims?: Record<string, unknown>, header?: Record<string, unknown>, key?: TestKey): Promise<string>
  stop(): Promise<void>
}

export function clientMetadata(clientKey: TestKey, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_name: 'Research agent', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt',
    scope: 'mcp:tools mcp:read', jwks: { keys: [clientKey.publicJwk] }, ...extra,
  }
}

export async function startAgent(o: { clock: ManualClock; authority_hints: string[]; oauthClient?: Record<string, unknown>; metadata?: Record<string, unknown> }): Promise<Agent> {
  const clientKey = await testKey()
  const leaf = await startLeaf({
    clock: o.clock, authority_hints: o.authority_hints,
    metadata: o.metadata ?? { federation_entity: { organization_name: 'Agent' }, oauth_client: clientMetadata(clientKey, o.oauthClient) },
  })
  return {
    leaf, id: leaf.entityId, clientKey,
    assertion: (aud, claims = {}, header = {}, key = clientKey) => assertion(key, { iss: leaf.entityId, aud, now: realNow(), claims, header }),
    stop: () => leaf.stop(),
  }
}

/**
 * Now on the system clock: client assertions are checked with it (oidc-provider's clock, not
 * the injected one: docs/authorization-server.md "Clocks").
 */
export const realNow = (): number => Math.floor(Date.now() / 1000)

/** An RFC 7523 client assertion signed with `key`. */
export function assertion(key: TestKey, o: { iss: string; aud: string; now: number; claims?: Record<string, unknown>; header?: Record<string, unknown> }): Promise<string> {
  const claims = { iss: o.iss, sub: o.iss, aud: o.aud, jti: randomBytes(12).toString('base64url'), iat: o.now, exp: o.now + 60, ...o.claims }
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...o.header }).sign(key.privateKey)
}

/** An unsigned (alg none) or HMAC-signed assertion: what must never be accepted. */
export async function weakAssertion(alg: 'none' | 'HS256', o: { iss: string; aud: string; now: number }): Promise<string> {
  const claims = { iss: o.iss, sub: o.iss, aud: o.aud, jti: randomBytes(12).toString('base64url'), iat: o.now, exp: o.now + 60 }
  if (alg === 'HS256') return new SignJWT(claims).setProtectedHeader({ alg, kid: 'k' }).sign(randomBytes(32))
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  return `${enc({ alg: 'none', kid: 'k' })}.${enc(claims)}.`
}

export interface OAuthAnswer {
  status: number
  body: any
  headers: Headers
}

/** POST a form to `url`. */
export async function postForm(url: string, form: Record<string, string | string[] | undefined>): Promise<OAuthAnswer> {
  const body = new URLSearchParams()
  for (const [k, v] of Object.entries(form)) for (const one of [v ?? []].flat()) body.append(k, one)
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
}

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** A client_credentials token request authenticated with `clientAssertion`. */
export function tokenRequest(as: TestEntity, clientAssertion: string, extra: Record<string, string | string[] | undefined> = {}): Promise<OAuthAnswer> {
  return postForm(`${as.entityId}/oauth/token`, { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: clientAssertion, ...extra })
}

export function introspect(as: TestEntity, token: string, callerAssertion: string): Promise<OAuthAnswer> {
  return postForm(`${as.entityId}/oauth/introspect`, { token, client_assertion_type: ASSERTION_TYPE, client_assertion: callerAssertion })
}

/** Asserts an OAuth error answer: status, code and (part of) the description. */
export function expectError(r: OAuthAnswer, status: number, error: string, description?: string | RegExp): void {
  const text = JSON.stringify(r.body)
  if (r.status !== status || r.body?.error !== error) throw new Error(`expected ${status} ${error}, got ${r.status} ${text}`)
  if (description === undefined) return
  const d = String(r.body.error_description)
  const ok = typeof description === 'string' ? d.includes(description) : description.test(d)
  if (!ok) throw new Error(`description ${JSON.stringify(d)} does not match ${String(description)}`)
}

/**
 * The agents' federation of the authorization server's tests, over real HTTP on loopback:
 *
 *          TA  (Anchorage trust anchor; its statement about ORG carries `orgPolicy`)
 *        /  |  \
 *     ORG   AS   RS    ORG: the agents' organisation (Anchorage intermediate)
 *      |               AS: Anchorage with the authorization server role, pinning TA
 *    agents            RS: the resource's federation entity (oauth_resource for `resource`;
 *                          it introspects with its own key)
 *
 * The clock starts at real time: oidc-provider stamps tokens and checks client assertions with
 * the system clock (docs/authorization-server.md "Clocks"); moving it ages registrations and records.
 */
export interface AgentFederation {
  ta: TestEntity
  org: TestEntity
  as: TestEntity
  rs: TestLeaf
  rsKey: TestKey
  /** One per entry of `agents`, in order, onboarded under ORG. */
  agents: Agent[]
  /** RFC 7662 introspection at AS, authenticated as RS: the answer's body. */
  introspectAsResource(token: string): Promise<any>
  stop(): Promise<void>
}

export async function startAgentFederation(o: {
  clock: ManualClock
  resource: string
  as?: NonNullable<ConfigFile['authorization_server']>
  orgPolicy?: Record<string, unknown>
  /** Each agent's oauth_client metadata over clientMetadata()'s. */
  agents: Array<Record<string, unknown>>
}): Promise<AgentFederation> {
  o.clock.set(realNow())
  const ta = await startEntity({ clock: o.clock })
  const org = await startEntity({ clock: o.clock, authority_hints: [ta.entityId] })
  const as = await startAuthorizationServer({ clock: o.clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId], as: { resources: [o.resource], ...o.as } })
  const agents: Agent[] = []
  for (const oauthClient of o.agents) agents.push(await startAgent({ clock: o.clock, authority_hints: [org.entityId], oauthClient }))
  const rsKey = await testKey()
  const rs = await startLeaf({ clock: o.clock, authority_hints: [ta.entityId], metadata: { oauth_resource: { resource: o.resource, jwks: { keys: [rsKey.publicJwk] } } } })
  await onboard(ta, org.entityId, { intermediate: true, ...(o.orgPolicy ? { metadata_policy: o.orgPolicy } : {}) })
  for (const id of [as.entityId, rs.entityId]) await onboard(ta, id)
  for (const a of agents) await onboard(org, a.id)
  return {
    ta, org, as, rs, rsKey, agents,
    introspectAsResource: async (token) => (await introspect(as, token, await assertion(rsKey, { iss: rs.entityId, aud: as.entityId, now: realNow() }))).body,
    async stop() {
      await Promise.all([ta, org, as].map((e) => e.stop()))
      await Promise.all([...agents.map((a) => a.stop()), rs.stop()])
    },
  }
}
