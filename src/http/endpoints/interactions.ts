/**
 * oidc-provider's user interactions (OpenID Connect Core 1.0, 3.1.2.3 and 3.1.2.4): the
 * login page (the enterprise OpenID Provider first when configured, then the users file)
 * and the consent page, which shows who the client is according to the federation
 * (authorization_server/client_identity.ts).
 *
 * Routes (under the entity id's path; mount them before the provider's own routes):
 *   GET  /oauth/interaction/:uid                 the login or consent page, by the prompt
 *   POST /oauth/interaction/:uid/login           username + password
 *   POST /oauth/interaction/:uid/consent         decision=approve|deny
 *   POST /oauth/interaction/:uid/abort           the user cancels: access_denied to the client
 *   GET  /oauth/interaction/:uid/upstream/start  303 to the enterprise OpenID Provider
 *   GET  /oauth/upstream/callback                its fixed redirect_uri: 303 on to ...
 *   GET  /oauth/interaction/:uid/upstream        ... here, below the interaction cookie's path
 *   GET  /oauth/assets/interaction.css           the pages' style sheet
 * oidc-provider scopes its interaction cookie to the interaction's path, so every step that
 * needs it sits below `/oauth/interaction/:uid`; a step is refused unless the cookie names
 * the uid of the path. The routes are unnamed: they are not endpoints published anywhere
 * (app.ts maps named routes to the URLs the entity publishes).
 *
 * Pages: no scripts, no inline styles, a strict Content-Security-Policy (form-action lets the
 * browser follow the redirects after a form POST back to the client's registered redirect
 * origins), X-Frame-Options DENY, no-store. Forms are CSRF-safe: oidc-provider's interaction
 * cookie is SameSite=Lax (not sent on a cross-site POST), and a POST whose Origin or
 * Sec-Fetch-Site says another site is refused. Logins and consents are audited (accounts.ts
 * audits logins).
 */
import type Router from '@koa/router'
import type { Context } from 'koa'
import type Provider from 'oidc-provider'
import type { AuditLog } from '../../audit/audit.js'
import type { Accounts } from '../../authorization_server/accounts.js'
import type { UpstreamLogin } from '../../authorization_server/upstream.js'
import { uidOfState } from '../../authorization_server/upstream.js'
import { clientIdentity, type ClientIdentity } from '../../authorization_server/client_identity.js'
import type { Registration } from '../../registration/records.js'
import type { Logger } from '../../logger.js'
import { readForm, type BodyLimits } from '../body.js'
import { loginPage, consentPage, errorPage, providerErrorPage } from '../views/pages.js'
import { INTERACTION_CSS } from '../views/style.js'

export const INTERACTION_ROUTES = {
  interaction: '/oauth/interaction/:uid',
  upstream_callback: '/oauth/upstream/callback',
  interaction_css: '/oauth/assets/interaction.css',
} as const

/** oidc-provider's `interactions.url`: the path of interaction `uid` under the entity id's path. */
export function interactionPath(entityId: string, uid: string): string {
  return `${entityPath(entityId)}/oauth/interaction/${encodeURIComponent(uid)}`
}

/** The fixed redirect_uri to register at the upstream OpenID Provider. */
export function upstreamCallbackUrl(entityId: string): string {
  return new URL(entityId).origin + entityPath(entityId) + INTERACTION_ROUTES.upstream_callback
}

const entityPath = (entityId: string) => new URL(entityId).pathname.replace(/\/+$/, '')

/** Security headers of an interaction page; `formTargets`: origins a form POST may end up redirected to. */
function pageHeaders(ctx: Context, development: boolean, formTargets: string[] = []): void {
  const img = development ? "'self' https: http:" : "'self' https:"
  ctx.set('Content-Security-Policy', [
    "default-src 'none'", "style-src 'self'", `img-src ${img}`,
    `form-action 'self'${formTargets.map((t) => ` ${t}`).join('')}`,
    "frame-ancestors 'none'", "base-uri 'none'",
  ].join('; '))
  ctx.set('X-Frame-Options', 'DENY')
  ctx.set('X-Content-Type-Options', 'nosniff')
  ctx.set('Referrer-Policy', 'same-origin')
  ctx.set('Cache-Control', 'no-store')
  ctx.set('Pragma', 'no-cache')
}

/**
 * oidc-provider's `renderError` (an error it cannot send back to the client's redirect_uri:
 * unknown client, bad redirect_uri, refused request object): an HTML page under the same
 * headers as the interaction pages, the error code as literal text (the conformance suite's
 * browser matches it), the status oidc-provider set.
 */
export function renderProviderError(entityId: string, development: boolean) {
  const css = entityPath(entityId) + INTERACTION_ROUTES.interaction_css
  return (ctx: Context, out: { error?: unknown; error_description?: unknown }): void => {
    pageHeaders(ctx, development)
    // For the refusal audit (endpoints/authorization_server.ts refusedBy), which cannot read the page.
    ctx.state.renderedError = { error: out.error, error_description: out.error_description }
    ctx.type = 'text/html; charset=utf-8'
    ctx.body = providerErrorPage({ css }, out)
  }
}

export interface InteractionDeps {
  /** The oidc-provider instance (built lazily by the authorization server). */
  provider(): Promise<Provider>
  accounts: Accounts
  upstream?: UpstreamLogin
  /** The client's registration (registration/records.ts), for the consent page. */
  registration(clientId: string): Promise<Registration | undefined>
  audit: AuditLog
  logger: Logger
  entityId: string
  max: BodyLimits
  /** A development deployment: http logos are shown too. */
  development: boolean
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>

class PageError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

const MAX_SCOPES = 50

export function interactionRoutes(router: Router, d: InteractionDeps): void {
  const origin = new URL(d.entityId).origin
  const css = entityPath(d.entityId) + INTERACTION_ROUTES.interaction_css
  const base = (uid: string) => interactionPath(d.entityId, uid)

  const secure = (ctx: Context, formTargets: string[] = []) => pageHeaders(ctx, d.development, formTargets)

  const page = (ctx: Context, body: string, status = 200, formTargets: string[] = []) => {
    secure(ctx, formTargets)
    ctx.status = status
    ctx.type = 'text/html; charset=utf-8'
    ctx.body = body
  }

  /** Runs a step of interaction `:uid`; a missing/expired interaction or a refused step is an HTML error page. */
  const step = (handler: (ctx: Context, details: Details) => Promise<void>) => async (ctx: Context) => {
    try {
      if (ctx.method === 'POST') checkSameOrigin(ctx, origin)
      let details: Details
      try {
        details = await (await d.provider()).interactionDetails(ctx.req, ctx.res)
      } catch (err) {
        d.logger.debug('interaction not found', { err: (err as Error).message })
        throw new PageError(400, 'This sign-in has expired or is not open in this browser.')
      }
      if (details.uid !== (ctx.params as Record<string, string>).uid) throw new PageError(400, 'This sign-in is not the one open in this browser.')
      await handler(ctx, details)
    } catch (err) {
      if (!(err instanceof PageError)) throw err
      page(ctx, errorPage({ css }, err.message), err.status)
    }
  }

  const done = (ctx: Context, to: string) => {
    secure(ctx)
    ctx.status = 303
    ctx.redirect(to)
  }

  const clientOf = async (details: Details): Promise<{ identity: ClientIdentity; redirectOrigins: string[] }> => {
    const clientId = String(details.params.client_id)
    const client = await (await d.provider()).Client.find(clientId)
    const registration = await d.registration(clientId)
    const redirectOrigins = formTargetsOf(client?.redirectUris ?? [])
    return { identity: clientIdentity(clientId, registration, client ? { ...client.metadata() } : {}, { allowHttp: d.development }), redirectOrigins }
  }

  const showLogin = async (ctx: Context, details: Details, error?: string, username?: string, status = 200) => {
    const { identity, redirectOrigins } = await clientOf(details)
    const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint.slice(0, 64) : undefined
    page(ctx, loginPage({
      action: base(details.uid), css, client: identity, passwords: d.accounts.hasUsers,
      ...(d.upstream ? { upstream: d.upstream.name } : {}),
      ...(error ? { error } : {}),
      ...((username ?? hint) !== undefined ? { username: username ?? hint } : {}),
    }), status, redirectOrigins)
  }

  const requirePrompt = (details: Details, name: string) => {
    if (details.prompt.name !== name) throw new PageError(400, `This step does not apply now (the sign-in is at ${details.prompt.name}).`)
  }

  router.get(INTERACTION_ROUTES.interaction_css, (ctx) => {
    ctx.type = 'text/css; charset=utf-8'
    ctx.set('Cache-Control', 'public, max-age=3600')
    ctx.set('X-Content-Type-Options', 'nosniff')
    ctx.body = INTERACTION_CSS
  })

  router.get(INTERACTION_ROUTES.upstream_callback, (ctx) => {
    const uid = uidOfState(typeof ctx.query.state === 'string' ? ctx.query.state : undefined)
    if (!d.upstream || !uid) return page(ctx, errorPage({ css }, 'This sign-in answer does not belong to a sign-in under way.'), 400)
    secure(ctx)
    ctx.status = 303
    ctx.redirect(`${base(uid)}/upstream?${ctx.querystring}`)
  })

  router.get(INTERACTION_ROUTES.interaction, step(async (ctx, details) => {
    if (details.prompt.name === 'login') return showLogin(ctx, details)
    if (details.prompt.name !== 'consent') throw new PageError(400, `Unsupported sign-in step ${details.prompt.name}.`)
    const { identity, redirectOrigins } = await clientOf(details)
    const sub = details.session?.accountId
    if (!sub) throw new PageError(400, 'Nobody is signed in.')
    const claims = await d.accounts.claimsOf(sub)
    const user = [claims?.name, claims?.email].find((v): v is string => typeof v === 'string') ?? sub
    const missing = details.prompt.details
    const scopes = new Set(typeof details.params.scope === 'string' ? details.params.scope.split(' ').filter(Boolean) : [])
    const resources = Object.keys(isRecord(missing.missingResourceScopes) ? missing.missingResourceScopes : {})
    for (const r of resources) for (const s of stringsOf((missing.missingResourceScopes as Record<string, unknown>)[r])) scopes.add(s)
    page(ctx, consentPage({
      action: base(details.uid), css, client: identity, user,
      scopes: [...scopes].slice(0, MAX_SCOPES), resources: resources.slice(0, MAX_SCOPES),
    }), 200, redirectOrigins)
  }))

  router.post(`${INTERACTION_ROUTES.interaction}/login`, step(async (ctx, details) => {
    requirePrompt(details, 'login')
    if (!d.accounts.hasUsers) throw new PageError(400, 'Signing in with a password is not enabled.')
    const form = await readForm(ctx, d.max)
    const username = (form.get('username') ?? '').trim()
    const password = form.get('password') ?? ''
    const clientId = String(details.params.client_id)
    const result = username.length > 64 || password.length > 1024
      ? { ok: false as const, reason: 'invalid_credentials' as const }
      : await d.accounts.login(username, password, { client_id: clientId })
    if (!result.ok && result.reason === 'busy') {
      ctx.set('Retry-After', '1')
      return showLogin(ctx, details, 'Too many sign-ins are being checked right now. Try again in a moment.', username.slice(0, 64), 503)
    }
    if (!result.ok) {
      const message = result.reason === 'locked' ? 'Too many failed attempts for this user name. Try again later.' : 'Wrong user name or password.'
      return showLogin(ctx, details, message, username.slice(0, 64), result.reason === 'locked' ? 429 : 401)
    }
    done(ctx, await (await d.provider()).interactionResult(ctx.req, ctx.res, { login: { accountId: result.sub, amr: ['pwd'] } }, { mergeWithLastSubmission: false }))
  }))

  router.post(`${INTERACTION_ROUTES.interaction}/abort`, step(async (ctx, details) => {
    await d.audit.record(details.session?.accountId ?? '-', details.prompt.name === 'consent' ? 'consent' : 'login', 'failure', String(details.params.client_id), { reason: 'cancelled by the user' })
    done(ctx, await (await d.provider()).interactionResult(ctx.req, ctx.res, { error: 'access_denied', error_description: 'End-User cancelled the sign-in' }, { mergeWithLastSubmission: false }))
  }))

  router.post(`${INTERACTION_ROUTES.interaction}/consent`, step(async (ctx, details) => {
    requirePrompt(details, 'consent')
    const form = await readForm(ctx, d.max)
    const decision = form.get('decision')
    const accountId = details.session?.accountId
    const clientId = String(details.params.client_id)
    if (!accountId) throw new PageError(400, 'Nobody is signed in.')
    const missing = details.prompt.details
    const scope = [...new Set([...stringsOf(missing.missingOIDCScope)])].join(' ')
    if (decision !== 'approve') {
      await d.audit.record(accountId, 'consent', 'failure', clientId, { decision: 'deny', scope })
      return done(ctx, await (await d.provider()).interactionResult(ctx.req, ctx.res, { error: 'access_denied', error_description: 'End-User denied the authorization request' }, { mergeWithLastSubmission: false }))
    }
    const provider = await d.provider()
    const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ accountId, clientId })
    if (scope) grant.addOIDCScope(scope)
    const claims = stringsOf(missing.missingOIDCClaims)
    if (claims.length) grant.addOIDCClaims(claims)
    const resources = isRecord(missing.missingResourceScopes) ? missing.missingResourceScopes : {}
    for (const r of Object.keys(resources)) grant.addResourceScope(r, stringsOf(resources[r]).join(' '))
    const grantId = await grant.save()
    await d.audit.record(accountId, 'consent', 'success', clientId, { decision: 'approve', scope, ...(Object.keys(resources).length ? { resources: Object.keys(resources) } : {}) })
    done(ctx, await (await d.provider()).interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true }))
  }))

  router.get(`${INTERACTION_ROUTES.interaction}/upstream/start`, step(async (ctx, details) => {
    requirePrompt(details, 'login')
    if (!d.upstream) throw new PageError(400, 'No enterprise sign-in is configured.')
    let to: string
    try {
      to = await d.upstream.begin(details.uid, upstreamCallbackUrl(d.entityId))
    } catch (err) {
      d.logger.warn('upstream sign-in could not start', { err: (err as Error).message })
      return showLogin(ctx, details, `Sign-in with ${d.upstream.name} is not available now.`, undefined, 502)
    }
    secure(ctx)
    ctx.status = 303
    ctx.redirect(to)
  }))

  router.get(`${INTERACTION_ROUTES.interaction}/upstream`, step(async (ctx, details) => {
    requirePrompt(details, 'login')
    if (!d.upstream) throw new PageError(400, 'No enterprise sign-in is configured.')
    const clientId = String(details.params.client_id)
    let sub: string
    try {
      const r = await d.upstream.finish(details.uid, ctx.search)
      sub = await d.accounts.rememberUpstream(r.issuer, r.sub, r.claims, { client_id: clientId })
    } catch (err) {
      const reason = (err as Error).message.slice(0, 300)
      await d.audit.record('-', 'login', 'failure', clientId, { source: 'upstream', issuer: d.upstream.issuer, reason })
      return showLogin(ctx, details, `Sign-in with ${d.upstream.name} failed.`, undefined, 401)
    }
    done(ctx, await (await d.provider()).interactionResult(ctx.req, ctx.res, { login: { accountId: sub } }, { mergeWithLastSubmission: false }))
  }))
}

/**
 * A form POST from another site is refused (CSRF): browsers say where it comes from in
 * Sec-Fetch-Site and Origin (the pages' Referrer-Policy same-origin keeps Origin set).
 */
function checkSameOrigin(ctx: Context, origin: string): void {
  const site = ctx.get('sec-fetch-site')
  const from = ctx.get('origin')
  if ((site && site !== 'same-origin' && site !== 'none') || (from && from !== origin)) {
    throw new PageError(403, 'This form was sent from another site.')
  }
}

/** CSP form-action sources for redirect URIs: their origins (custom schemes as `scheme:`). */
function formTargetsOf(uris: readonly string[]): string[] {
  const out = new Set<string>()
  for (const u of uris.slice(0, 20)) {
    try {
      const url = new URL(u)
      if (url.protocol === 'https:' || url.protocol === 'http:') out.add(url.origin)
      else if (/^[a-z][a-z0-9+.-]*:$/.test(url.protocol)) out.add(url.protocol)
    } catch { /* not a URL: no source */ }
  }
  return [...out]
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const stringsOf = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
