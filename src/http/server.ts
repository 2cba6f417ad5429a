/**
 * The listener: plain HTTP or TLS, with a fast path for the hot GETs (entity
 * configuration, fetch, cached resolve answers) that answers straight from the signed cache without entering
 * koa, and graceful shutdown.
 */
import http from 'node:http'
import https from 'node:https'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type Koa from 'koa'
import type { Federation } from '../federation.js'
import { MEDIA, WELL_KNOWN_FEDERATION } from '../constants.js'
import { peekResolve } from '../trust_chain/capability.js'
import { Drain, type CloseOutcome } from './drain.js'

export interface RunningServer {
  server: http.Server
  port: number
  url: string
  /**
   * Stops accepting, closes idle keep-alive connections, lets in-flight requests finish
   * (their connections close after the response) for up to `timeoutMs` (default
   * `server.shutdown_timeout_seconds`), then drops the connections left.
   */
  close(timeoutMs?: number): Promise<CloseOutcome>
}

export async function listen(f: Federation, app: Koa, options: { port?: number; host?: string } = {}): Promise<RunningServer> {
  const { server: s } = f.config
  const handler = app.callback()
  const fast = fastPath(f)
  const onRequest: http.RequestListener = (req, res) => {
    drain.mark(res)
    if (!fast(req, res)) drain.run(res, () => handler(req, res))
  }
  const server = s.tls_cert && s.tls_key
    ? https.createServer({ cert: readFileSync(s.tls_cert), key: readFileSync(s.tls_key) }, onRequest)
    : http.createServer(onRequest)
  const drain = new Drain(server)
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  server.requestTimeout = 30_000
  const port = options.port ?? s.port
  const host = options.host ?? s.host
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const actual = (server.address() as AddressInfo).port
  const scheme = s.tls_cert ? 'https' : 'http'
  return {
    server,
    port: actual,
    url: `${scheme}://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${actual}`,
    close: (timeoutMs = s.shutdown_timeout_seconds * 1000) => drain.close(timeoutMs),
  }
}

/**
 * Serves a cached entity configuration, subordinate statement or resolve answer with one
 * header write. Anything unusual (other methods, a cache miss, duplicate or missing
 * parameters) falls through to koa, which gives the exact same answer or the exact error.
 */
function fastPath(f: Federation): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const prefix = new URL(f.entityId).pathname.replace(/\/+$/, '')
  const ecPath = prefix + WELL_KNOWN_FEDERATION
  const pathOf = (name: string) => (f.endpoints[name] ? new URL(f.endpoints[name]).pathname : undefined)
  const fetchPath = pathOf('federation_fetch_endpoint')
  const resolvePath = pathOf('federation_resolve_endpoint')
  const resolved = peekResolve(f)
  return (req, res) => {
    if (req.method !== 'GET' || !req.url) return false
    const q = req.url.indexOf('?')
    const path = q === -1 ? req.url : req.url.slice(0, q)
    let body: string | undefined
    let type: string = MEDIA.entityStatement
    if (path === ecPath) {
      body = f.publisher.peekEntityConfiguration()
    } else if (path === fetchPath && q !== -1) {
      const params = new URLSearchParams(req.url.slice(q + 1))
      const subs = params.getAll('sub')
      if (subs.length === 1 && subs[0]) body = f.publisher.peekSubordinateStatement(subs[0])
    } else if (path === resolvePath && q !== -1 && resolved) {
      body = resolved(new URLSearchParams(req.url.slice(q + 1)))
      type = MEDIA.resolveResponse
    }
    if (body === undefined) return false
    res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
    res.end(body)
    return true
  }
}
