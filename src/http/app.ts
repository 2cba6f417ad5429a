/**
 * The koa application of one entity. Routes live under the entity id's path; names of
 * federation routes are metadata parameter names, and their URLs are published from here.
 */
import Koa from 'koa'
import Router from '@koa/router'
import { randomBytes } from 'node:crypto'
import type { Federation } from '../federation.js'
import { errorMiddleware } from './errors.js'
import { federationRoutes } from './endpoints/federation.js'
import { adminRoutes } from './admin/routes.js'
import { adminAuth } from './admin/auth.js'
import { FederationError } from '../errors.js'

export interface AppExtension {
  /** Public routes (named `federation_*_endpoint` to be advertised). */
  routes?(router: Router, f: Federation): void
  /** Authenticated admin routes. */
  admin?(router: Router, f: Federation): void
}

export function createApp(f: Federation, extensions: AppExtension[] = []): { app: Koa; router: Router } {
  const app = new Koa({ proxy: f.config.server.trust_proxy })
  const prefix = new URL(f.entityId).pathname.replace(/\/+$/, '')
  const router = new Router(prefix ? { prefix } : {})
  federationRoutes(router, f)
  for (const e of extensions) e.routes?.(router, f)

  // Admin routes are relative to {entity path}/admin; every one is authenticated.
  const admin = new Router({ prefix: `${prefix}/admin` })
  admin.use(adminAuth(f))
  adminRoutes(admin, f)
  for (const e of extensions) e.admin?.(admin, f)

  const health = new Router()
  health.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' }
  })
  health.get('/readyz', async (ctx) => {
    const ready = await f.store.ready().catch(() => false)
    ctx.status = ready ? 200 : 503
    ctx.body = { status: ready ? 'ready' : 'unavailable', store: f.store.kind }
  })

  const maxPath = f.config.audit.max_path_length
  const reqPrefix = randomBytes(4).toString('hex')
  let counter = 0
  app.use(async (ctx, next) => {
    const id = ctx.get('x-request-id').slice(0, 64) || `${reqPrefix}-${(++counter).toString(36)}`
    ctx.state.requestId = id
    ctx.set('X-Request-Id', id)
    const start = performance.now()
    await next()
    // Hot GETs are logged at debug level only: logging each would halve throughput.
    // Refused admin authentications too: the audit log aggregates them (audit/refusals.ts).
    const level = (ctx.method === 'GET' && ctx.status < 400) || ctx.state.authRefused ? 'debug' : 'info'
    const path = ctx.path.length > maxPath ? `${ctx.path.slice(0, maxPath)}…` : ctx.path
    f.logger[level]('request', { request_id: id, method: ctx.method, path, status: ctx.status, ms: Math.round(performance.now() - start) })
  })
  app.use(errorMiddleware(f.logger))
  app.use(health.routes())
  app.use(router.routes())
  app.use(router.allowedMethods({ throw: true, methodNotAllowed: () => new FederationError('method_not_allowed', 'method not allowed') }))
  app.use(admin.routes())
  app.use(admin.allowedMethods({ throw: true, methodNotAllowed: () => new FederationError('method_not_allowed', 'method not allowed') }))

  f.endpoints = publishedEndpoints(router, f.entityId)
  return { app, router }
}

/** `federation_*_endpoint` URLs of the entity configuration, from the named routes. */
export function publishedEndpoints(router: Router, entityId: string): Record<string, string> {
  const origin = new URL(entityId).origin
  const out: Record<string, string> = {}
  for (const layer of router.stack) {
    const name = layer.name
    if (name && /^federation_[a-z_]+_endpoint$/.test(name)) out[name] = origin + String(router.url(name, {}))
  }
  return out
}
