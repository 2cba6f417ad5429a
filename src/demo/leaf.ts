/**
 * A minimal leaf entity for the demo: its own key, and an HTTP server that publishes its
 * signed entity configuration (spec "Obtaining Federation Entity Configuration
 * Information") and nothing else. Leaves expose no fetch or list endpoint.
 */
import http from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import type { Clock } from '../clock.js'
import { MEDIA, TYP, WELL_KNOWN_FEDERATION } from '../constants.js'
import { signJwt, type SigningKey } from '../crypto/jwt.js'
import { generateSigningKey, importPrivateJwk } from '../crypto/keys.js'
import type { Jwks, Metadata } from '../types.js'

export interface DemoLeaf {
  entityId: string
  jwks: Jwks
  stop(): Promise<void>
}

export interface DemoLeafOptions {
  port: number
  host: string
  authorityHints: string[]
  metadata: Metadata
  clock: Clock
  /** Entity configuration lifetime, seconds. */
  lifetime?: number
  /** Further routes of this leaf (answered when it returns true). */
  handle?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean
}

export async function startDemoLeaf(o: DemoLeafOptions): Promise<DemoLeaf> {
  const entityId = `http://${o.host}:${o.port}`
  const generated = await generateSigningKey('ES256')
  const key: SigningKey = { kid: generated.kid, alg: 'ES256', privateKey: await importPrivateJwk(generated.privateJwk, 'ES256') }
  const jwks: Jwks = { keys: [generated.publicJwk] }
  const lifetime = o.lifetime ?? 3600
  let cached: { jwt: string; refreshAt: number } | undefined
  const configuration = async () => {
    const now = o.clock.now()
    if (!cached || cached.refreshAt <= now) {
      const claims = { iss: entityId, sub: entityId, iat: now, exp: now + lifetime, jwks, metadata: o.metadata, authority_hints: o.authorityHints }
      cached = { jwt: await signJwt(claims, key, TYP.entityStatement), refreshAt: now + Math.floor(lifetime / 2) }
    }
    return cached.jwt
  }
  const server = http.createServer((req, res) => {
    if (o.handle?.(req, res)) return
    if (req.method !== 'GET' || req.url !== WELL_KNOWN_FEDERATION) {
      res.writeHead(404, { 'content-type': MEDIA.json }).end(JSON.stringify({ error: 'not_found', error_description: 'a leaf publishes only its entity configuration' }))
      return
    }
    configuration().then(
      (jwt) => res.writeHead(200, { 'content-type': MEDIA.entityStatement }).end(jwt),
      () => res.writeHead(500, { 'content-type': MEDIA.json }).end(JSON.stringify({ error: 'server_error', error_description: 'signing failed' })),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve())
  })
  return {
    entityId, jwks,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

/** A free port on `host` (bound and released; the caller binds it right after). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const { port } = srv.address() as AddressInfo
      srv.close(() => resolve(port))
    })
  })
}
