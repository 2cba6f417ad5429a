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
import { MEDIA } from '../constants.js'
import { createFetcher, type Fetcher } from '../net/fetch.js'
import { createResourceGuard, WELL_KNOWN_PROTECTED_RESOURCE, type ResourceGuard } from '../protected_resource/guard.js'

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

export async function startProtectedResource(o: ProtectedResourceOptions): Promise<ProtectedResource> {
  const clock = o.clock ?? systemClock
  const fetcher = o.fetcher ?? createFetcher({ allowHttp: true, allowPrivateNetwork: true, timeoutMs: 5000, maxResponseBytes: 262_144 })
  const host = o.host ?? '127.0.0.1'
  // Built once listening: the metadata URL names the port.
  const state: { guard?: ResourceGuard } = {}
  const server = http.createServer((req, res) => {
    void handle(req, res).catch(() => send(res, 500, { error: 'server_error' }))
  })
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const g = state.guard!
    // RFC 9728: where clients learn which authorization server to ask.
    if (req.url === g.metadataPath) return send(res, 200, g.metadata())
    const checked = await g.check(req.headers.authorization)
    if (!checked.ok) return send(res, checked.status, checked.body, checked.headers)
    const body = await readBody(req)
    send(res, 200, answer(body, { client_id: String(checked.claims.client_id), scope: checked.scopes.join(' ') }))
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const base = `http://${host}:${port}`
  state.guard = createResourceGuard({
    resource: o.audience, authorizationServers: [o.asIssuer], scopesSupported: [o.requiredScope], requiredScopes: [o.requiredScope],
    // Served at the root whatever the resource's path (the demo's one resource).
    metadataUrl: base + WELL_KNOWN_PROTECTED_RESOURCE, fetcher, clock,
  })
  return {
    url: base, port,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
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
