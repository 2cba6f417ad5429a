/**
 * The authorization server's public endpoints (the capability's HTTP adapter), at the
 * paths the capability declares. Route names start with `as_`, not `federation_`: these
 * URLs belong in the oauth_authorization_server metadata, not in federation_entity.
 */
import type Router from '@koa/router'
import type { Context } from 'koa'
import type { Foundation } from '../../federation.js'
import { MEDIA } from '../../constants.js'
import { decodeUnverified, JwtError } from '../../crypto/jwt.js'
import { FederationError, InvalidRequest, InvalidRequestObject } from '../../errors.js'
import { parseJson } from '../../util/json.js'
import { readForm, readRaw, mediaType, type BodyLimits } from '../body.js'
import { single, type Params } from '../params.js'
import { RegistrationRefused } from '../../registration/registrar.js'
import { registerExplicitly } from '../../registration/explicit.js'
import { metadataPath } from '../../authorization_server/well_known.js'
import { clientAuthenticationOf } from './oauth_requests.js'
import { inspectAssertion, ASSERTION_CLOCK } from '../../authorization_server/client_auth.js'
import { isDocumentUrl } from '../../registration/metadata_document.js'
import { newRequestContext, withRequestContext, type RequestContext } from '../../authorization_server/request_context.js'
import type { AuthorizationServerCapability } from '../../capabilities/types.js'
import { isDynamicClientId } from '../../authorization_server/dynamic_client_id.js'

export function authorizationServerRoutes(router: Router, c: AuthorizationServerCapability, f: Foundation, max: BodyLimits): void {
  const { server: s, endpoints } = c
  const path = (name: string) => c.routes![name]!
  const json = (ctx: Context, body: unknown) => {
    // RFC 6749 section 5.1: token responses (and everything carrying token data) are not cached.
    ctx.set('Cache-Control', 'no-store')
    ctx.set('Pragma', 'no-cache')
    ctx.type = MEDIA.json
    ctx.body = body
  }

  // The token, PAR and revocation endpoints are oidc-provider's; the checks that need no key
  // come first (spec "Denial-of-Service Attack Prevention"), so a malformed, unsigned or stale
  // assertion costs no trust chain work, and their descriptions stay exact.
  const authenticated = (endpoint: string, action: string, success: number) => async (ctx: Context) => {
    let form: Params | undefined
    try {
      const raw = await readRaw(ctx, max)
      if (mediaType(ctx) !== 'application/x-www-form-urlencoded') throw new InvalidRequest('Content-Type must be application/x-www-form-urlencoded')
      form = new URLSearchParams(raw)
      const grant = single(form, 'grant_type')
      if (s.dynamic && secretClient(ctx, form)) {
        // An RFC 7591 client without keys: oidc-provider checks its secret (client_secret_basic or _post).
        ;(ctx.request as { body?: unknown }).body = raw
        await withRequestContext(newRequestContext(grant !== undefined ? { grantType: grant } : {}), () => delegate(ctx, s))
        await refusedBy(f, action, form, ctx)
        return
      }
      const auth = clientAuthenticationOf(form)
      // A public client (token_endpoint_auth_method none) can only be one identified by a
      // metadata document; oidc-provider then checks that its registration says none.
      const publicClient = s.config.client_id_metadata_documents === true && auth.client_assertion === undefined
        && auth.client_assertion_type === undefined && auth.client_id !== undefined && isDocumentUrl(auth.client_id)
      const assertion = publicClient ? undefined : inspectAssertion(auth, {
        audiences: [f.entityId, endpoint], now: ASSERTION_CLOCK.now(), skew: f.config.clock_skew, maxLifetime: s.config.assertion_max_lifetime,
      })
      if (assertion) s.usedAssertions.check(assertion)
      const context = newRequestContext({
        ...(assertion ? { assertion } : {}), ...(grant !== undefined ? { grantType: grant } : {}),
        ...(assertion?.trustChain !== undefined ? { trustChain: { clientId: assertion.clientId, value: assertion.trustChain, where: 'client_assertion: trust_chain header' } } : {}),
      })
      const request = single(form, 'request')
      if (request !== undefined) requestObjectInto(context, request, assertion?.clientId ?? auth.client_id)
      // oidc-provider reads the body already read here.
      ;(ctx.request as { body?: unknown }).body = raw
      await withRequestContext(context, () => delegate(ctx, s))
      if (assertion && ctx.status === success) s.usedAssertions.accepted(assertion)
    } catch (err) {
      await refused(f, action, form, err)
      throw err
    }
    await refusedBy(f, action, form, ctx)
  }
  router.post('as_token_endpoint', path('as_token_endpoint'), authenticated(endpoints.token_endpoint, 'token.refuse', 200))

  if (endpoints.authorization_endpoint) {
    // Spec "Automatic Registration" at the authorization endpoint: the request object (JAR)
    // names the client and may carry its trust chain; a first contact is stored only once
    // the request object verifies with a key of the client's resolved metadata.
    const authorize = async (ctx: Context) => {
      let params: Params | undefined
      try {
        if (ctx.method === 'POST') {
          const raw = await readRaw(ctx, max)
          if (mediaType(ctx) !== 'application/x-www-form-urlencoded') throw new InvalidRequest('Content-Type must be application/x-www-form-urlencoded')
          params = new URLSearchParams(raw)
          ;(ctx.request as { body?: unknown }).body = raw
        } else {
          params = new URLSearchParams(ctx.querystring)
        }
        const context = newRequestContext({ requireProof: true })
        const request = params.get('request')
        if (request !== null) requestObjectInto(context, request, params.get('client_id') ?? undefined)
        await withRequestContext(context, () => delegate(ctx, s))
      } catch (err) {
        await refused(f, 'authorization.refuse', params, err)
        throw err
      }
      await refusedBy(f, 'authorization.refuse', params, ctx)
    }
    router.get('as_authorization_endpoint', path('as_authorization_endpoint'), authorize)
    router.post('as_authorization_endpoint', path('as_authorization_endpoint'), authorize)
    // oidc-provider's resume route after an interaction (unnamed: it has a parameter).
    router.get(`${path('as_authorization_endpoint')}/:uid`, (ctx) => withRequestContext(newRequestContext(), () => delegate(ctx, s)))
    router.post('as_pushed_authorization_request_endpoint', path('as_pushed_authorization_request_endpoint'), authenticated(endpoints.pushed_authorization_request_endpoint!, 'par.refuse', 201))
    router.post('as_revocation_endpoint', path('as_revocation_endpoint'), authenticated(endpoints.revocation_endpoint!, 'revocation.refuse', 200))
    const provider = (ctx: Context) => withRequestContext(newRequestContext(), () => delegate(ctx, s))
    router.get('as_userinfo_endpoint', path('as_userinfo_endpoint'), provider)
    // A POST body (OpenID Connect Core 5.3.1: form-encoded, RFC 6750 2.2) is read with the
    // deployment's limits like every other body (413 over server.max_body_bytes), then handed on.
    router.post('as_userinfo_endpoint', path('as_userinfo_endpoint'), async (ctx) => {
      const raw = await readRaw(ctx, max)
      if (raw !== '' && mediaType(ctx) !== 'application/x-www-form-urlencoded') throw new InvalidRequest('Content-Type must be application/x-www-form-urlencoded')
      ;(ctx.request as { body?: unknown }).body = raw
      await provider(ctx)
    })
    router.get('as_openid_configuration', path('as_openid_configuration'), provider)
  }

  router.post('as_introspection_endpoint', path('as_introspection_endpoint'), async (ctx) => {
    let form: Params | undefined
    try {
      form = await readForm(ctx, max)
      const caller = await s.auth.authenticate(clientAuthenticationOf(form), endpoints.introspection_endpoint)
      json(ctx, await s.tokens.introspect(caller, single(form, 'token', true)))
    } catch (err) {
      await refused(f, 'introspection.refuse', form, err)
      throw err
    }
  })

  router.get('as_jwks_uri', path('as_jwks_uri'), async (ctx) => {
    ctx.set('Cache-Control', 'max-age=60')
    ctx.type = MEDIA.json
    ctx.body = await s.jwks()
  })

  // Spec "Explicit Registration": the entity configuration or trust chain is the whole body.
  router.post('as_federation_registration_endpoint', path('as_federation_registration_endpoint'), async (ctx) => {
    let body: string | undefined
    try {
      body = await readRaw(ctx, max)
      const jwt = await registerExplicitly(body, mediaType(ctx), { f, registrar: s.registrar })
      ctx.set('Cache-Control', 'no-store')
      ctx.type = MEDIA.explicitRegistrationResponse
      ctx.body = jwt
    } catch (err) {
      if (err instanceof FederationError && err.status < 500 && !(err instanceof RegistrationRefused)) {
        await f.audit.record('anonymous', 'client.register', 'failure', requester(body), { registration_type: 'explicit', error: err.error, reason: err.message })
      }
      throw err
    }
  })

  const dynamic = s.dynamic
  if (dynamic && endpoints.registration_endpoint) {
    // RFC 7591 registration with a software statement; RFC 7592 client configuration at
    // {registration_endpoint}/{client_id} (the registration access token authenticates).
    const registrationUri = (clientId: string) => `${endpoints.registration_endpoint}/${encodeURIComponent(clientId)}`
    const answer = (ctx: Context, status: number, body: unknown) => {
      json(ctx, body)
      ctx.status = status
    }
    router.post('as_registration_endpoint', path('as_registration_endpoint'), async (ctx) => {
      const body = await readRaw(ctx, max)
      answer(ctx, 201, await dynamic.register({ body, mediaType: mediaType(ctx), authorization: ctx.get('authorization') || undefined }, registrationUri, endpoints.registration_endpoint!))
    })
    const configuration = `${path('as_registration_endpoint')}/:client_id`
    router.get(configuration, async (ctx) => {
      const id = ctx.params.client_id!
      answer(ctx, 200, await dynamic.read(id, ctx.get('authorization') || undefined, registrationUri(id)))
    })
    router.put(configuration, async (ctx) => {
      const id = ctx.params.client_id!
      const body = await readRaw(ctx, max)
      answer(ctx, 200, await dynamic.update(id, ctx.get('authorization') || undefined, body, mediaType(ctx), registrationUri(id)))
    })
    router.delete(configuration, async (ctx) => {
      await dynamic.delete(ctx.params.client_id!, ctx.get('authorization') || undefined)
      ctx.set('Cache-Control', 'no-store')
      ctx.status = 204
    })
  }

  // A RegExp path is not prefixed by the router: RFC 8414 puts this document at the host's root.
  const wellKnown = new RegExp(`^${metadataPath(f.entityId).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
  router.get('as_metadata', wellKnown, (ctx) => {
    ctx.set('Cache-Control', 'max-age=300')
    ctx.type = MEDIA.json
    ctx.body = s.metadata(endpoints)
  })
}

/**
 * Whether the request authenticates a client registered through RFC 7591 with a secret
 * (client_secret_basic or client_secret_post, RFC 6749 section 2.3.1): no client assertion,
 * and the client id one this server gave at dynamic registration.
 */
function secretClient(ctx: Context, form: Params): boolean {
  if (form.has('client_assertion') || form.has('client_assertion_type')) return false
  const basic = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(ctx.get('authorization'))
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
    const user = decoded.slice(0, Math.max(0, decoded.indexOf(':')))
    let id: string
    try {
      id = decodeURIComponent(user.replace(/\+/g, ' '))
    } catch {
      return false
    }
    return isDynamicClientId(id)
  }
  return form.has('client_secret') && isDynamicClientId(form.get('client_id'))
}

/**
 * A request object (JAR) of the request, unverified: which client it is for, and the trust
 * chain it carries (spec "Trust Chain Header Parameter"; a `trust_chain` claim too). One that
 * does not decode is left to oidc-provider, which refuses it.
 */
function requestObjectInto(context: RequestContext, jwt: string, clientId: string | undefined): void {
  let decoded
  try {
    decoded = decodeUnverified(jwt)
  } catch (err) {
    // Nested past the JSON depth limit: refused here, never handed on (oidc-provider copies a
    // request object's payload with structuredClone, whose recursion overflowed: a 500).
    if (err instanceof JwtError && err.reason === 'depth') throw new InvalidRequestObject(`request: ${err.message}`)
    return
  }
  const { header, payload } = decoded
  const named = typeof payload.client_id === 'string' ? payload.client_id : typeof payload.iss === 'string' ? payload.iss : undefined
  const id = clientId ?? named
  if (id === undefined) return
  context.requestObject = { jwt, clientId: id, ...(typeof header.typ === 'string' ? { typ: header.typ } : {}) }
  const chain = header.trust_chain ?? (payload as { trust_chain?: unknown }).trust_chain
  if (chain !== undefined && !context.trustChain) context.trustChain = { clientId: id, value: chain, where: 'request object: trust_chain' }
}

/**
 * Hands the request to oidc-provider, mounted at the entity id's path (its routes are
 * relative to it; ctx.mountPath makes the URLs it builds absolute ones under it).
 */
export async function delegate(ctx: Context, s: AuthorizationServerCapability['server']): Promise<void> {
  const provider = await s.provider()
  const prefix = new URL(provider.issuer).pathname.replace(/\/+$/, '')
  const original = ctx.path
  const mountPath = (ctx as { mountPath?: string }).mountPath
  ctx.path = original.slice(prefix.length) || '/'
  ;(ctx as { mountPath?: string }).mountPath = prefix
  // oidc-provider's cookies (interaction, resume, session) are signed with its keys: the same
  // ones provider.interactionDetails() checks them with (http/endpoints/interactions.ts).
  const cookies = ctx.cookies
  ctx.cookies = provider.createContext(ctx.req, ctx.res).cookies
  try {
    await compose(provider.middleware as Middleware[])(ctx)
  } finally {
    ctx.path = original
    ;(ctx as { mountPath?: string }).mountPath = mountPath
    ctx.cookies = cookies
  }
}

type Middleware = (ctx: Context, next: () => Promise<void>) => unknown

function compose(stack: readonly Middleware[]): (ctx: Context) => Promise<void> {
  return async (ctx) => {
    const run = async (i: number): Promise<void> => {
      const m = stack[i]
      if (m) await m(ctx, () => run(i + 1))
    }
    await run(0)
  }
}

/** The refusal oidc-provider answered with, audited like Anchorage's own. */
async function refusedBy(f: Foundation, action: string, form: Params | undefined, ctx: Context): Promise<void> {
  // An error page (renderProviderError) keeps the error it shows in ctx.state.renderedError.
  const body = (ctx.state.renderedError ?? ctx.body) as { error?: unknown; error_description?: unknown } | undefined
  if (ctx.status < 400 || ctx.status >= 500 || typeof body?.error !== 'string' || ctx.state.refusalAudited === true) return
  const detail = typeof ctx.state.refusalDetail === 'string' ? `: ${ctx.state.refusalDetail}` : ''
  const err = new FederationError(body.error as never, (typeof body.error_description === 'string' ? body.error_description : body.error) + detail)
  await refused(f, action, form, err)
}

/** One audit event per refused request (registration refusals are audited by the registrar). */
async function refused(f: Foundation, action: string, form: Params | undefined, err: unknown): Promise<void> {
  if (!(err instanceof FederationError) || err.status >= 500 || err instanceof RegistrationRefused) return
  const detail: Record<string, unknown> = { error: err.error, reason: err.message }
  for (const p of ['grant_type', 'scope', 'resource'] as const) {
    const v = form?.get(p)
    if (v) detail[p] = v.slice(0, 512)
  }
  await f.audit.record('anonymous', action, 'failure', clientOf(form), detail)
}

/** Who the request says it is (unverified; for the audit trail only). */
function clientOf(form: Params | undefined): string | undefined {
  const assertion = form?.get('client_assertion')
  let iss: unknown
  try {
    iss = assertion ? decodeUnverified(assertion).payload.iss : undefined
  } catch {
    iss = undefined
  }
  const id = typeof iss === 'string' ? iss : form?.get('client_id') ?? undefined
  return id?.slice(0, 512)
}

function requester(body: string | undefined): string | undefined {
  if (!body) return undefined
  const first = body.trim().startsWith('[') ? (() => {
    try {
      return (parseJson(body) as unknown[])[0]
    } catch {
      return undefined
    }
  })() : body.trim()
  try {
    const iss = typeof first === 'string' ? decodeUnverified(first).payload.iss : undefined
    return typeof iss === 'string' ? iss.slice(0, 512) : undefined
  } catch {
    return undefined
  }
}
