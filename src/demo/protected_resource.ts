/**
 * A small MCP-server-like protected resource for demos and tests: it accepts the access
 * tokens of one Anchorage authorization server, checked locally (RFC 9068): signature by a
 * key at the server's jwks_uri (found through its RFC 8414 metadata), typ at+jwt, iss,
 * aud = this resource, exp, and the required scope. It publishes RFC 9728 protected
 * resource metadata naming the authorization server.
 *
 * Local checks cannot see a registration end before the token expires: that is what the
 * short token lifetime bounds, and what introspection at the authorization server answers.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { systemClock, type Clock } from '../clock.js'
import { MEDIA, TYP } from '../constants.js'
import { verifyJwt, decodeUnverified, JwtError } from '../crypto/jwt.js'
import { createFetcher, type Fetcher } from '../net/fetch.js'
import { metadataUrl } from '../authorization_server/well_known.js'
import type { Jwks } from '../types.js'

export interface ProtectedResourceOptions {
  /** 0 picks a free port. */
  port: number
  host?: string
  /** The authorization server whose tokens are accepted (its entity id). */
  asIssuer: string
  /** The resource indicator tokens must be issued for (their aud). */
  audience: string
  requiredScope: string
  /** Default: a fetcher that allows http and loopback (a local demo). */
  fetcher?: Fetcher
  clock?: Clock
}

export interface ProtectedResource {
  url: string
  port: number
  stop(): Promise<void>
}

const WELL_KNOWN_RESOURCE = '/.well-known/oauth-protected-resource'
/** Least time between two fetches of the JWK Set on an unknown kid (keys rotate seldom; tokens are attacker-controlled). */
const JWKS_REFRESH_MS = 30_000

export async function startProtectedResource(o: ProtectedResourceOptions): Promise<ProtectedResource> {
  const clock = o.clock ?? systemClock
  const fetcher = o.fetcher ?? createFetcher({ allowHttp: true, allowPrivateNetwork: true, timeoutMs: 5000, maxResponseBytes: 262_144 })
  const keys = new AuthorizationServerKeys(o.asIssuer, fetcher)
  const host = o.host ?? '127.0.0.1'
  let base = ''
  const server = http.createServer((req, res) => {
    void handle(req, res).catch(() => send(res, 500, { error: 'server_error' }))
  })
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.url === WELL_KNOWN_RESOURCE) {
      // RFC 9728: where clients learn which authorization server to ask.
      return send(res, 200, { resource: o.audience, authorization_servers: [o.asIssuer], scopes_supported: [o.requiredScope], bearer_methods_supported: ['header'] })
    }
    const m = /^Bearer ([\x21-\x7e]+)$/.exec(req.headers.authorization ?? '')
    const challenge = (error: string, description: string) =>
      `Bearer error="${error}", error_description="${description.replace(/"/g, "'")}", resource_metadata="${base}${WELL_KNOWN_RESOURCE}"`
    if (!m) return send(res, 401, { error: 'invalid_token', error_description: 'a bearer token is required' }, { 'www-authenticate': `Bearer resource_metadata="${base}${WELL_KNOWN_RESOURCE}"` })
    const checked = await check(m[1]!, keys, o, clock)
    if ('error' in checked) {
      const status = checked.error === 'insufficient_scope' ? 403 : 401
      return send(res, status, checked, { 'www-authenticate': challenge(checked.error, checked.error_description) })
    }
    const body = await readBody(req)
    send(res, 200, answer(body, checked))
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  base = `http://${host}:${port}`
  return {
    url: base, port,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

type Checked = { client_id: string; scope: string } | { error: 'invalid_token' | 'insufficient_scope'; error_description: string }

async function check(token: string, keys: AuthorizationServerKeys, o: ProtectedResourceOptions, clock: Clock): Promise<Checked> {
  const invalid = (d: string): Checked => ({ error: 'invalid_token', error_description: d })
  let payload: Record<string, unknown>
  try {
    payload = (await verifyJwt(token, await keys.get(token), { typ: TYP.accessToken, clock })).payload
  } catch (err) {
    if (err instanceof JwtError) return invalid(err.message)
    return invalid('the authorization server keys could not be obtained')
  }
  if (payload.iss !== o.asIssuer) return invalid('issued by another authorization server')
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud]
  if (!aud.includes(o.audience)) return invalid('not issued for this resource')
  const scope = typeof payload.scope === 'string' ? payload.scope : ''
  if (!scope.split(' ').includes(o.requiredScope)) return { error: 'insufficient_scope', error_description: `scope ${o.requiredScope} is required` }
  return { client_id: String(payload.client_id), scope }
}

/** What an MCP server would answer (JSON-RPC tools/list), or a plain greeting. */
function answer(body: string, who: { client_id: string; scope: string }): unknown {
  let rpc: { jsonrpc?: unknown; id?: unknown; method?: unknown } | undefined
  try {
    rpc = body ? (JSON.parse(body) as typeof rpc) : undefined
  } catch {
    rpc = undefined
  }
  if (rpc?.jsonrpc === '2.0') {
    const result = rpc.method === 'tools/list' ? { tools: [{ name: 'echo', description: 'Echoes its input' }] } : { client_id: who.client_id }
    return { jsonrpc: '2.0', id: rpc.id ?? null, result }
  }
  return { message: 'hello from the protected resource', client_id: who.client_id, scope: who.scope }
}

/** The authorization server's token keys, from its RFC 8414 metadata's jwks_uri; refetched (rate-limited) on an unknown kid. */
class AuthorizationServerKeys {
  private jwks: Promise<Jwks> | undefined
  private fetchedAt = 0
  constructor(private readonly issuer: string, private readonly fetcher: Fetcher) {}

  async get(token: string): Promise<Jwks> {
    const kid = kidOf(token)
    let jwks = await (this.jwks ??= this.load())
    if (kid && !jwks.keys.some((k) => k.kid === kid) && Date.now() - this.fetchedAt > JWKS_REFRESH_MS) {
      this.jwks = this.load()
      jwks = await this.jwks
    }
    return jwks
  }

  private async load(): Promise<Jwks> {
    this.fetchedAt = Date.now()
    try {
      const md = JSON.parse((await this.fetcher.get(metadataUrl(this.issuer), MEDIA.json)).body) as { jwks_uri?: unknown }
      if (typeof md.jwks_uri !== 'string') throw new Error('no jwks_uri in the authorization server metadata')
      const jwks = JSON.parse((await this.fetcher.get(md.jwks_uri, MEDIA.json)).body) as Jwks
      if (!Array.isArray(jwks.keys)) throw new Error('jwks_uri did not return a JWK Set')
      return jwks
    } catch (err) {
      this.jwks = undefined
      throw err
    }
  }
}

function kidOf(token: string): string | undefined {
  try {
    const { kid } = decodeUnverified(token).header
    return typeof kid === 'string' ? kid : undefined
  } catch {
    return undefined
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size <= 65_536) chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', () => resolve(''))
  })
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': MEDIA.json, 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body))
}
