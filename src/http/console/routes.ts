/**
 * The operator console (docs/console.md): its pages and assets at `{entity path}/console`,
 * its login, and the session routes of the admin API (`GET` and `DELETE {admin}/session`).
 * Served wherever the admin API is: on the admin plane with `admin.listen`, else on the
 * shared listener (development deployments).
 *
 *   GET  /console            303 to /console/
 *   GET  /console/           the console (index.html): a script that reads everything through the admin API
 *   GET  /console/login      the login form
 *   POST /console/login      form field `token`: 303 to /console/ with the session cookie;
 *                            401 (the form again) for a token that is not valid, 429 after too many
 *   GET  /console/assets/<digest>/<file>   scripts, styles, the icon
 *
 * Every answer carries a strict Content-Security-Policy (no inline script or style, nothing
 * from another origin, no framing), `X-Content-Type-Options: nosniff`, `Referrer-Policy:
 * no-referrer`. The pages are `no-store`; the assets immutable under their digest.
 */
import Router from '@koa/router'
import type { Context } from 'koa'
import type { RefusedAuthentications } from '../../audit/refusals.js'
import { Forbidden, InvalidRequest, NotFound } from '../../errors.js'
import type { Logger } from '../../logger.js'
import { type BodyLimits, readForm } from '../body.js'
import { operatorOf } from '../admin/auth.js'
import type { AdminRoute } from '../admin/roles.js'
import { roleAtLeast } from '../admin/operators.js'
import { respond } from '../admin/respond.js'
import { consoleAssets, type Assets } from './assets.js'
import { type ConsoleSession, type ConsoleSessions, type LoginLimiter, overHttps, sessionSetCookie } from './sessions.js'

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
  "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
].join('; ')

export interface ConsoleOptions {
  /** The entity id's path ('' at the root). */
  prefix: string
  sessions: ConsoleSessions
  limiter: LoginLimiter
  refusals: RefusedAuthentications
  trustProxy: boolean
  max: BodyLimits
  logger: Logger
  assets?: Assets
}

/** The security headers of every console answer (each handler sets them first). */
function secured(ctx: Context): void {
  ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  ctx.set('X-Content-Type-Options', 'nosniff')
  ctx.set('Referrer-Policy', 'no-referrer')
  ctx.set('X-Frame-Options', 'DENY')
  ctx.set('Cross-Origin-Opener-Policy', 'same-origin')
  ctx.set('Cross-Origin-Resource-Policy', 'same-origin')
}

/**
 * Whether a login was posted by a page of this origin (login CSRF; the Fetch Metadata
 * "Sec-Fetch-Site" header, else the Origin header): a browser that sends Sec-Fetch-Site says
 * `same-origin` for the console's own form and `none` for a user's own navigation; `same-site`
 * (a sibling host under the same registrable domain) and `cross-site` are refused. A browser
 * too old for Fetch Metadata still sends Origin with a form POST: its host must be the Host
 * this request came to ('null', a sandboxed or privacy-hidden origin, is refused). A request
 * with neither header is no browser's cross-origin form: allowed.
 */
export function fromConsole(ctx: Context): boolean {
  const site = ctx.get('sec-fetch-site')
  if (site) return site === 'same-origin' || site === 'none'
  const origin = ctx.get('origin')
  if (!origin) return true
  let host: string
  try {
    const u = new URL(origin)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false
    host = u.host
  } catch {
    return false
  }
  return host === (ctx.get('host') ?? '').toLowerCase()
}

/**
 * The console's security headers on every answer below `{entity path}/console`, an unrouted
 * path's 404 and a 405 included (each handler sets them too).
 */
export function consoleHeaders(prefix: string) {
  const base = `${prefix}/console`
  return async function headers(ctx: Context, next: () => Promise<unknown>): Promise<void> {
    if (ctx.path === base || ctx.path.startsWith(`${base}/`)) secured(ctx)
    await next()
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export function consoleRouter(o: ConsoleOptions): Router {
  const assets = o.assets ?? consoleAssets()
  const base = `${o.prefix}/console`
  const cookiePath = `${o.prefix}/admin`
  // No router.use(): a router's middleware would run for the other routers' paths too.
  // strict: /console and /console/ are two routes (the pages' relative URLs need the slash).
  const router = new Router({ strict: true })

  const page = (ctx: Context, name: string, status = 200, message = '') => {
    const text = assets.pages.get(name)
    if (text === undefined) throw new NotFound(`no console page ${name}`)
    secured(ctx)
    ctx.status = status
    ctx.set('Cache-Control', 'no-store')
    ctx.type = 'text/html; charset=utf-8'
    ctx.body = text.replace('{{message}}', message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : '')
  }

  router.get(base, (ctx) => {
    secured(ctx)
    ctx.status = 303
    ctx.set('Cache-Control', 'no-store')
    ctx.redirect(`${base}/`)
  })
  router.get(`${base}/`, (ctx) => page(ctx, 'index'))
  router.get(`${base}/login`, (ctx) => page(ctx, 'login'))
  router.post(`${base}/login`, async (ctx) => {
    secured(ctx)
    // A login posted from another site would sign this browser in as someone else (login CSRF).
    if (!fromConsole(ctx)) throw new Forbidden('a console login must come from the console itself')
    const address = ctx.ip
    const wait = o.limiter.retryAfter(address)
    if (wait > 0) {
      ctx.state.authRefused = true
      await o.refusals.refuse({ address, method: ctx.method, path: ctx.path, reason: 'too many failed console logins' })
      ctx.set('Retry-After', String(wait))
      page(ctx, 'login', 429, `Too many failed logins from this address: try again in ${wait} seconds.`)
      return
    }
    const form = await readForm(ctx, o.max)
    const tokens = form.getAll('token')
    if (tokens.length > 1) throw new InvalidRequest('token: must be given once')
    const result = await o.sessions.login(tokens[0] ?? '')
    if (!result.ok) {
      o.limiter.fail(address)
      ctx.state.authRefused = true
      await o.refusals.refuse({ address, method: ctx.method, path: ctx.path, reason: result.reason })
      page(ctx, 'login', 401, result.reason === 'no token' ? 'Enter an operator token.' : 'This token is not the token of an active operator.')
      return
    }
    ctx.set('Set-Cookie', sessionSetCookie(result.cookie, { path: cookiePath, secure: overHttps(ctx, o.trustProxy), maxAge: o.sessions.absoluteSeconds }))
    ctx.set('Cache-Control', 'no-store')
    ctx.status = 303
    ctx.redirect(`${base}/`)
  })
  router.get(`${base}/assets/:digest/:file`, (ctx) => {
    secured(ctx)
    const asset = ctx.params.digest === assets.digest ? assets.files.get(ctx.params.file!) : undefined
    if (!asset) throw new NotFound(`no such console asset: ${ctx.path}`)
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable')
    ctx.type = asset.type
    ctx.body = asset.body
  })
  return router
}

/**
 * The admin API's session routes: who the request is authenticated as, what its role lets
 * it call (the console shows only those actions; the API enforces them anyway), and, for a
 * console session, its CSRF token and expiry; and logout.
 */
export function sessionRoutes(admin: Router, o: {
  entityId: string
  prefix: string
  sessions: ConsoleSessions
  trustProxy: boolean
  /** The admin routes this deployment serves, with their roles (known once every route is mounted: roles.ts applyRoles). */
  routes: () => readonly AdminRoute[]
}): void {
  const cookiePath = `${o.prefix}/admin`
  admin.get('/session', (ctx) => {
    const op = operatorOf(ctx)
    const state = ctx.state.session as { session: ConsoleSession } | undefined
    const permissions = o.routes().filter((r) => roleAtLeast(op.role, r.role)).map((r) => `${r.method} ${r.path}`)
    respond(ctx, 200, {
      operator: op.name, role: op.role, via: state ? 'session' : 'bearer', entity_id: o.entityId, permissions,
      ...(state ? {
        csrf_token: state.session.csrf_token,
        expires_at: state.session.expires_at,
        idle_expires_at: state.session.idle_expires_at,
        idle_seconds: o.sessions.idleSeconds,
      } : {}),
    })
  })
  admin.delete('/session', async (ctx) => {
    const state = ctx.state.session as { cookie: string } | undefined
    if (!state) throw new InvalidRequest('no console session: this request authenticated with a bearer token')
    await o.sessions.logout(state.cookie, operatorOf(ctx).name)
    ctx.set('Set-Cookie', sessionSetCookie('', { path: cookiePath, secure: overHttps(ctx, o.trustProxy), maxAge: 0 }))
    ctx.status = 204
  })
}
