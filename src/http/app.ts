/**
 * The koa application of one service. Routes live under the entity id's path, mounted from
 * the capabilities' declarations by their HTTP adapters (./capabilities.ts); names of
 * federation routes are metadata parameter names, and the entity configuration publishes
 * the URLs of the same declarations, so nothing is advertised that is not routed.
 */
import Koa from 'koa'
import Router from '@koa/router'
import type { Service } from '../service.js'
import { errorMiddleware } from './errors.js'
import { adminRoutes } from './admin/routes.js'
import { adminAuth, tokenDigest } from './admin/auth.js'
import { Operators } from './admin/operators.js'
import { operatorRoutes } from './admin/operators_routes.js'
import { applyRoles, type AdminRoute } from './admin/roles.js'
import { openApiDocument, openApiRoute } from './admin/openapi.js'
import { bodyLimits } from './body.js'
import { mountCapability } from './capabilities.js'
import { methodNotAllowed } from './allowed.js'
import { createObserver, metricsRoute } from './observe.js'
import { ConsoleSessions, LoginLimiter } from './console/sessions.js'
import { consoleHeaders, consoleRouter, sessionRoutes } from './console/routes.js'

export interface App {
  /** The public listener's application (with the admin API too when there is no admin plane). */
  app: Koa
  /** The admin plane's application when `admin.listen` is set: the admin API only, and health. */
  admin?: Koa
  router: Router
  /** Path of every public route, by name (for the listener's fast routes). */
  paths: ReadonlyMap<string, string>
  /** The named operators (bootstrap() before listening: the configured token becomes operator admin). */
  operators: Operators
  /** Every admin route with the role it requires (roles.ts). */
  adminRoutes: readonly AdminRoute[]
}

export function createApp(service: Service): App {
  const f = service.federation
  const prefix = new URL(f.entityId).pathname.replace(/\/+$/, '')
  const router = new Router(prefix ? { prefix } : {})
  // Admin routes are relative to {entity path}/admin; every one is authenticated, and each needs its role (roles.ts).
  const adminPrefix = `${prefix}/admin`
  const admin = new Router({ prefix: adminPrefix })
  const { token_from_env: fromEnv, token_sha256: sha } = f.config.admin
  const operators = new Operators({
    store: f.store, audit: f.audit, clock: f.clock, logger: f.logger,
    ...(fromEnv ? { configured: tokenDigest(fromEnv) } : sha ? { configured: Buffer.from(sha, 'base64url') } : {}),
  })
  const trustProxy = f.config.server.trust_proxy
  const sessions = new ConsoleSessions({ store: f.store, clock: f.clock, config: f.config.console, operators, audit: f.audit })
  admin.use(adminAuth(f, operators, sessions))
  let roles: readonly AdminRoute[] = []
  sessionRoutes(admin, { entityId: f.entityId, prefix, sessions, trustProxy, routes: () => roles })
  const authz = service.capabilities.find((c) => c.kind === 'authorization_server')
  adminRoutes(admin, f, authz?.kind === 'authorization_server' ? { oauth: authz.server.keys } : {})
  metricsRoute(admin, f)
  const max = bodyLimits(f.config)
  operatorRoutes(admin, operators, max)
  // The admin API's OpenAPI contract: built below, once every admin route is routed and has its role.
  const setContract = openApiRoute(admin)
  // The foundation's endpoints first, then each capability's, in composition order.
  const ordered = [...service.capabilities].sort((a, b) => Number(b.kind === 'federation') - Number(a.kind === 'federation'))
  for (const c of ordered) mountCapability(c, { router, admin, federation: f, max })
  roles = applyRoles(admin, adminPrefix, f.audit.refusals)
  setContract(openApiDocument({ routes: roles, adminPath: adminPrefix }))
  // The operator console (docs/console.md): served where the admin API is.
  const consoleRoutes = consoleRouter({
    prefix, sessions, refusals: f.audit.refusals, trustProxy, max, logger: f.logger,
    limiter: new LoginLimiter(f.clock, { failures: f.config.console.login_failures, windowSeconds: f.config.console.login_window_seconds }),
  })
  const paths = routedPaths(router, service)

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
  const observer = createObserver(f)
  const requestLog: Koa.Middleware = async (ctx, next) => {
    const id = observer.requestId(ctx.req.headers['x-request-id'])
    ctx.state.requestId = id
    ctx.set('X-Request-Id', id)
    const start = performance.now()
    await next()
    // Metrics, and the access log line when log.access samples this request (observe.ts).
    if (observer.koaDone(ctx, start, id)) return
    // Hot GETs are logged at debug level only: logging each would halve throughput.
    // Refused admin authentications too: the audit log aggregates them (audit/refusals.ts).
    const level = (ctx.method === 'GET' && ctx.status < 400) || ctx.state.authRefused ? 'debug' : 'info'
    const path = ctx.path.length > maxPath ? `${ctx.path.slice(0, maxPath)}…` : ctx.path
    f.logger[level]('request', { request_id: id, method: ctx.method, path, status: ctx.status, ms: Math.round(performance.now() - start) })
  }
  const base = (proxy: boolean): Koa => {
    // Behind a trusted proxy the client's address is the LAST X-Forwarded-For entry, the one
    // that proxy appended; earlier ones are whatever the client wrote (koa's ctx.ip would take
    // the first: a fresh one per request escaped the console's login limiter and named any
    // address in the audit's refusals).
    const app = new Koa({ proxy, ...(proxy ? { maxIpsCount: 1 } : {}) })
    // What koa reports after an answer started (a client that went away mid-download, such as
    // an aborted audit export): into the log, never koa's default stack trace on stderr, which
    // any client could fill by closing connections.
    app.on('error', (err: NodeJS.ErrnoException, ctx?: Koa.Context) => {
      const gone = err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNABORTED'
      f.logger[gone ? 'debug' : 'error'](gone ? 'client went away during the answer' : 'answer failed after it started', {
        request_id: ctx?.state.requestId, method: ctx?.method, path: ctx?.path.slice(0, maxPath), error: err.code ?? err.name, message: err.message,
      })
    })
    app.use(requestLog)
    app.use(errorMiddleware(f.logger))
    app.use(health.routes())
    return app
  }
  const app = base(f.config.server.trust_proxy)
  app.use(router.routes())
  app.use(methodNotAllowed(router))
  // The admin plane (docs/operations.md, "The admin plane"): with admin.listen, the public
  // listener has no admin route at all, so /admin/... is 404 there like any unknown path.
  // Its own listener trusts no forwarding header: it is reached directly, on a private address.
  let adminApp: Koa | undefined
  if (f.config.admin.listen) {
    adminApp = base(false)
    adminApp.use(consoleHeaders(prefix))
    adminApp.use(consoleRoutes.routes())
    adminApp.use(methodNotAllowed(consoleRoutes))
    adminApp.use(admin.routes())
    adminApp.use(methodNotAllowed(admin))
  } else {
    app.use(consoleHeaders(prefix))
    app.use(consoleRoutes.routes())
    app.use(methodNotAllowed(consoleRoutes))
    app.use(admin.routes())
    app.use(methodNotAllowed(admin))
  }
  return { app, ...(adminApp ? { admin: adminApp } : {}), router, paths, operators, adminRoutes: [...roles] }
}

/**
 * The path of every named public route; throws when a published endpoint's URL is not the
 * routed one (a capability declared a route its adapter did not mount where declared).
 */
function routedPaths(router: Router, service: Service): Map<string, string> {
  const origin = new URL(service.config.entity_id).origin
  const paths = new Map<string, string>()
  for (const layer of router.stack) {
    if (layer.name && typeof layer.path === 'string' && !paths.has(layer.name)) paths.set(layer.name, String(router.url(layer.name, {})))
  }
  for (const [name, url] of Object.entries(service.endpoints)) {
    if (paths.get(name) === undefined || origin + paths.get(name)! !== url) throw new Error(`${name}: published as ${url} but not routed there`)
  }
  return paths
}
