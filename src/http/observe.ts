/**
 * What the listener and koa share to observe requests (docs/operations.md, "Metrics" and
 * "Logs"): request ids, the access log, the request histogram, and the /metrics route.
 * The fast path (server.ts) calls `fastDone` once per answer: one histogram observe, and
 * an access log line only when the access log is on and the request is sampled.
 */
import { randomBytes } from 'node:crypto'
import type http from 'node:http'
import type Router from '@koa/router'
import type { Context } from 'koa'
import type { Federation } from '../federation.js'

/** An incoming X-Request-Id is kept only when short and made of these (no spaces, quotes, control characters). */
const SAFE_ID = /^[\w.:@-]{1,64}$/

export interface Observer {
  /** The request id: the caller's X-Request-Id when safe, else a new one. */
  requestId(incoming: string | string[] | undefined): string
  /** The fast route's observer (bound once at start). */
  fastRoute(route: string): FastObserver
  /** A koa answer: histogram by route name, access log when sampled (true when it logged). */
  koaDone(ctx: Context, start: number, id: string): boolean
}

export interface FastObserver {
  done(req: http.IncomingMessage, q: number, start: number, id: string): void
}

export function createObserver(f: Federation): Observer {
  const { metrics, logger, config } = f
  const rate = config.log.access
  const maxPath = config.audit.max_path_length
  const sampled = rate >= 1 ? () => true : rate <= 0 ? () => false : () => Math.random() < rate
  const prefix = randomBytes(4).toString('hex')
  let counter = 0

  const access = (method: string, url: string, q: number, status: number, ms: number, id: string, route: string, via: 'fast' | 'koa') => {
    const raw = q === -1 ? url : url.slice(0, q)
    const path = raw.length > maxPath ? `${raw.slice(0, maxPath)}…` : raw
    logger.info('access', { request_id: id, method, path, ...(q === -1 ? {} : { query: queryKeys(url.slice(q + 1)) }), status, ms: Math.round(ms * 10) / 10, route, via })
  }

  return {
    requestId(incoming) {
      return typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : `${prefix}-${(++counter).toString(36)}`
    },
    fastRoute(route) {
      const histogram = metrics.enabled ? metrics.route(route) : undefined
      return {
        done(req, q, start, id) {
          const ms = performance.now() - start
          histogram?.observe(ms / 1000)
          if (sampled()) access('GET', req.url!, q, 200, ms, id, route, 'fast')
        },
      }
    },
    koaDone(ctx, start, id) {
      const ms = performance.now() - start
      const route = routeOf(ctx)
      if (metrics.enabled) metrics.request(route, ctx.method, ctx.status, ms / 1000)
      if (!sampled()) return false
      const url = ctx.originalUrl
      access(ctx.method, url, url.indexOf('?'), ctx.status, ms, id, route, 'koa')
      return true
    },
  }
}

/**
 * The route label: the route's name, else the router's path pattern (bounded: the routes
 * declared), `unmatched` for a path no route has (never the request's own path).
 */
function routeOf(ctx: Context): string {
  const c = ctx as Context & { _matchedRouteName?: string; _matchedRoute?: string | RegExp }
  if (c._matchedRouteName) return c._matchedRouteName
  return typeof c._matchedRoute === 'string' ? c._matchedRoute : 'unmatched'
}

/** The query string's parameter names only (values can be codes, tokens or secrets), at most 16, each cut to 32 characters. */
export function queryKeys(search: string): string {
  const keys: string[] = []
  for (const part of search.split('&', 16)) {
    if (!part) continue
    const eq = part.indexOf('=')
    let key = eq === -1 ? part : part.slice(0, eq)
    try {
      key = decodeURIComponent(key.replace(/\+/g, ' '))
    } catch {
      // a malformed escape: logged as sent
    }
    keys.push(key.slice(0, 32))
  }
  return keys.join(',')
}

/**
 * GET {admin}/metrics: the deployment's metrics in Prometheus text format, behind the admin
 * authentication like every admin route (docs/operations.md, "Metrics").
 */
export function metricsRoute(admin: Router, f: Federation): void {
  if (!f.metrics.enabled) return
  admin.get('admin_metrics', '/metrics', async (ctx) => {
    const { contentType, body } = await f.metrics.text()
    ctx.set('Cache-Control', 'no-store')
    ctx.type = contentType
    ctx.body = body
  })
}
