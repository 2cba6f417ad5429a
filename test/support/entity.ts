/**
 * Real entities for integration tests: an Anchorage deployment (anchor or intermediate)
 * on its own loopback port with its own keys and store, and a minimal leaf that
 * publishes a signed entity configuration.
 */
import http from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { generateKeyPair, exportJWK, calculateJwkThumbprint, SignJWT, type JWK, type CryptoKey } from 'jose'
import { resolveConfig, type ConfigFile } from '../../src/config/load.js'
import { ManualClock } from '../../src/clock.js'
import { silentLogger, createLogger, type Logger } from '../../src/logger.js'

const testLogger = process.env.TEST_LOG ? createLogger({ level: 'debug' }) : silentLogger
import type { Federation } from '../../src/federation.js'
import { createService, type Service } from '../../src/service.js'
import { serve, type RunningServer } from '../../src/http/server.js'
import { openStore } from '../../src/storage/open.js'
import { tokenDigest } from '../../src/http/admin/auth.js'
import type { Store } from '../../src/storage/types.js'
import { freePort } from './net.js'

export interface TestEntity {
  entityId: string
  port: number
  service: Service
  federation: Federation
  store: Store
  clock: ManualClock
  token: string
  dir: string
  server: RunningServer
  /** Where the admin API is: the admin plane's listener (adminListen) or the entity id. */
  adminUrl?: string
  get(path: string, headers?: Record<string, string>): Promise<Response>
  admin(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>
  stop(options?: { keepDir?: boolean }): Promise<void>
}

export async function startEntity(o: {
  clock?: ManualClock
  path?: string
  authority_hints?: string[]
  config?: Partial<ConfigFile>
  dir?: string
  port?: number
  /** Receives the deployment's logs (default: silent, or stderr with TEST_LOG). */
  logger?: Logger
  /** `admin.listen`: the admin API on its own listener (e.g. 127.0.0.1:0), where admin() goes. */
  adminListen?: string
} = {}): Promise<TestEntity> {
  const port = o.port ?? (await freePort())
  const entityId = `http://127.0.0.1:${port}${o.path ?? ''}`
  const token = randomBytes(16).toString('hex') // hex: a token never starts with '-' (read as an option by the CLI)
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'anchorage-test-')))
  const clock = o.clock ?? new ManualClock()
  const file: ConfigFile = {
    entity_id: entityId,
    development: true,
    ...(o.authority_hints ? { authority_hints: o.authority_hints } : {}),
    admin: { token_sha256: tokenDigest(token).toString('base64url'), ...(o.adminListen ? { listen: o.adminListen } : {}) },
    outbound: { allow_http: true, allow_private_network: true, timeout_ms: 2000 },
    ...o.config,
  }
  const config = resolveConfig(file, dir, {}, {})
  const logger = o.logger ?? testLogger
  const store = await openStore(config, { clock, logger })
  const service = createService(config, { store, clock, logger })
  await service.start()
  const server = await serve(service, { port, host: '127.0.0.1' })
  const { federation } = service
  const base = `http://127.0.0.1:${port}${o.path ?? ''}`
  const adminUrl = server.admin ? `${server.admin.url}${o.path ?? ''}` : base
  return {
    entityId, port, service, federation, store, clock, token, dir, server, adminUrl,
    get: (path, headers) => fetch(base + path, { headers: headers ?? {} }),
    async admin(method, path, body, headers = {}) {
      const res = await fetch(adminUrl + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      })
      const text = await res.text()
      let parsed: unknown = text
      try {
        parsed = text ? JSON.parse(text) : undefined
      } catch {
        /* keep text */
      }
      return { status: res.status, body: parsed, headers: res.headers }
    },
    async stop(options = {}) {
      await server.close()
      await service.stop()
      await store.close()
      if (!options.keepDir && !o.dir) await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface TestKey {
  kid: string
  alg: string
  privateKey: CryptoKey
  publicJwk: JWK
}

export async function testKey(alg = 'ES256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk)
  return { kid, alg, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } }
}

export async function signStatement(claims: Record<string, unknown>, key: TestKey, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'entity-statement+jwt', ...header }).sign(key.privateKey)
}

/** A leaf: serves a signed entity configuration (and nothing else) on its own port. */
export interface TestLeaf {
  entityId: string
  key: TestKey
  /** Replace the claims (re-signed on each request) or the raw response. */
  claims: Record<string, unknown>
  respond?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean
  stop(): Promise<void>
}

export async function startLeaf(o: { clock: ManualClock; authority_hints?: string[]; metadata?: Record<string, unknown>; path?: string; key?: TestKey }): Promise<TestLeaf> {
  const port = await freePort()
  const entityId = `http://127.0.0.1:${port}${o.path ?? ''}`
  const key = o.key ?? (await testKey())
  const leaf: TestLeaf = {
    entityId, key,
    claims: {
      iss: entityId, sub: entityId, jwks: { keys: [key.publicJwk] },
      metadata: o.metadata ?? { federation_entity: { organization_name: 'Leaf' } },
      ...(o.authority_hints ? { authority_hints: o.authority_hints } : {}),
    },
    stop: async () => undefined,
  }
  const server = http.createServer((req, res) => {
    if (leaf.respond?.(req, res)) return
    if (req.url === `${o.path ?? ''}/.well-known/openid-federation`) {
      const now = o.clock.now()
      void signStatement({ iat: now, exp: now + 3600, ...leaf.claims }, key).then((jwt) => {
        res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' })
        res.end(jwt)
      })
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  leaf.stop = () => new Promise<void>((r) => {
    server.close(() => r())
    server.closeAllConnections()
  })
  return leaf
}

/** Decodes a compact JWS without verifying (for assertions). */
export function decode(jwt: string): { header: Record<string, any>; payload: Record<string, any> } {
  const [h, p] = jwt.split('.')
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) }
}
