/**
 * The listener: plain HTTP or TLS, with the capabilities' fast routes (entity
 * configuration, fetch, cached resolve answers) answered straight from their caches
 * without entering koa, and graceful shutdown.
 */
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Service } from '../service.js'
import { readServerTls, readAdminTls } from '../config/files.js'
import { Drain, type CloseOutcome } from './drain.js'
import { createApp, type App } from './app.js'
import { createObserver, type Observer, type FastObserver } from './observe.js'

export interface RunningServer {
  server: http.Server
  port: number
  url: string
  /** The admin plane's own listener, when `admin.listen` is set (TLS with admin.tls_cert/tls_key; docs/operations.md, "The admin plane"). */
  admin?: { server: http.Server; port: number; url: string }
  /** Every admin route with the role it requires (src/http/admin/roles.ts). */
  adminRoutes: App['adminRoutes']
  /**
   * Stops accepting on every listener, closes idle keep-alive connections, lets in-flight
   * requests finish (their connections close after the response) for up to `timeoutMs`
   * (default `server.shutdown_timeout_seconds`), then drops the connections left.
   */
  close(timeoutMs?: number): Promise<CloseOutcome>
}

/** The service's app on a listener (and the admin plane's on its own): `createApp` + `listen`. */
export function serve(service: Service, options: { port?: number; host?: string } = {}): Promise<RunningServer> {
  return listen(service, createApp(service), options)
}

export async function listen(service: Service, built: App, options: { port?: number; host?: string } = {}): Promise<RunningServer> {
  const { server: s } = service.config
  // Before anything is served: the configured admin token becomes (or stays) operator admin.
  await built.operators.bootstrap()
  const handler = built.app.callback()
  const fast = fastRoutes(service, built.paths, createObserver(service.federation))
  const onRequest: http.RequestListener = (req, res) => {
    drain.mark(res)
    if (!fast(req, res)) drain.run(res, () => handler(req, res))
  }
  const tls = readServerTls(service.config)
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest)
  const drain = new Drain(server)
  const host = options.host ?? s.host
  const port = options.port ?? s.port
  await bind(server, port, host).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot listen on ${hostForUrl(host)}:${port}: ${bindProblem(err, port)}`, { cause: err })
  })
  let admin: { server: http.Server; port: number; url: string; drain: Drain } | undefined
  const at = service.config.admin.listen
  if (built.admin && at) {
    const adminHandler = built.admin.callback()
    const onAdminRequest: http.RequestListener = (req, res) => {
      adminDrain.mark(res)
      adminDrain.run(res, () => adminHandler(req, res))
    }
    const adminTls = readAdminTls(service.config)
    const adminServer = adminTls ? https.createServer(adminTls, onAdminRequest) : http.createServer(onAdminRequest)
    const adminDrain = new Drain(adminServer)
    try {
      await bind(adminServer, at.port, at.host)
    } catch (err) {
      server.close()
      throw new Error(`admin.listen ${at.host}:${at.port}: ${bindProblem(err as NodeJS.ErrnoException, at.port)}`, { cause: err })
    }
    const adminPort = (adminServer.address() as AddressInfo).port
    admin = { server: adminServer, port: adminPort, url: `${adminTls ? 'https' : 'http'}://${hostForUrl(at.host)}:${adminPort}`, drain: adminDrain }
  }
  const actual = (server.address() as AddressInfo).port
  const scheme = tls ? 'https' : 'http'
  return {
    server,
    port: actual,
    url: `${scheme}://${hostForUrl(host)}:${actual}`,
    ...(admin ? { admin: { server: admin.server, port: admin.port, url: admin.url } } : {}),
    adminRoutes: built.adminRoutes,
    close: async (timeoutMs = s.shutdown_timeout_seconds * 1000) => {
      const outcomes = await Promise.all([drain.close(timeoutMs), ...(admin ? [admin.drain.close(timeoutMs)] : [])])
      return { abandoned: outcomes.reduce((n, o) => n + o.abandoned, 0) }
    },
  }
}

function bind(server: http.Server, port: number, host: string): Promise<void> {
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  server.requestTimeout = 30_000
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** Why a listener could not bind, for people: the two causes operators meet say what to do. */
function bindProblem(err: NodeJS.ErrnoException, port: number): string {
  if (err.code === 'EACCES' && port < 1024) {
    return `permission denied: ports below 1024 need privileges (CAP_NET_BIND_SERVICE); or listen on a higher port (--port, PORT or server.port) behind a proxy that forwards ${port} to it`
  }
  if (err.code === 'EADDRINUSE') return 'the address is already in use (another server, or another deployment on the same port)'
  return err.message
}

/** A listening address as a URL's host: the wildcard addresses as localhost, IPv6 in brackets. */
function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost'
  return host.includes(':') ? `[${host}]` : host
}

interface Routed { route: string; mediaType: string; peek(search: string): string | Buffer | undefined }

/**
 * The declared fast routes by path: a GET whose path has one is answered with one header
 * write when it peeks a body. Anything else (other methods, a miss, duplicate or missing
 * parameters) falls through to koa, which gives the exact same answer or the exact error.
 * Each answer carries X-Request-Id and is observed (histogram, sampled access log: observe.ts).
 */
function fastRoutes(service: Service, paths: ReadonlyMap<string, string>, observer: Observer): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const byPath = new Map<string, { r: Routed; seen: FastObserver }>()
  for (const c of service.capabilities) {
    for (const r of c.fastRoutes ?? []) {
      const path = paths.get(r.route)
      if (path === undefined) throw new Error(`fast route ${r.route}: no such route`)
      byPath.set(path, { r, seen: observer.fastRoute(r.route) })
    }
  }
  return (req, res) => {
    if (req.method !== 'GET' || !req.url) return false
    const start = performance.now()
    const q = req.url.indexOf('?')
    const fast = byPath.get(q === -1 ? req.url : req.url.slice(0, q))
    if (!fast) return false
    const body = fast.r.peek(q === -1 ? '' : req.url.slice(q + 1))
    if (body === undefined) return false
    const id = observer.requestId(req.headers['x-request-id'])
    res.writeHead(200, { 'content-type': fast.r.mediaType, 'content-length': Buffer.byteLength(body), 'x-request-id': id })
    res.end(body)
    fast.seen.done(req, q, start, id)
    return true
  }
}
