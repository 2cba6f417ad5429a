/**
 * Agents on behalf of users: OAuth 2.0 Token Exchange (RFC 8693) as an oidc-provider grant.
 *
 * The agent is a federation client: oidc-provider authenticates it (private_key_jwt, its
 * client_id its entity id; spec "Automatic Registration and Client Authentication") and finds
 * its registration through the federation before this handler runs, so an agent whose chain
 * no longer resolves never gets here (invalid_client). Its resolved metadata must list this
 * grant in `grant_types` (oidc-provider checks that too). The handler then:
 * - verifies the subject token (RFC 8693 section 2.1): an access token this server issued,
 *   active (its client still registered, not revoked), unexpired, and held by the agent (the
 *   agent is the token's client or one of its audiences);
 * - issues an RFC 9068 JWT access token for exactly one resource (RFC 8707), `sub` the user,
 *   `client_id` the agent, `act: { sub: <agent> }` naming the agent, nested over the subject
 *   token's own `act` (RFC 8693 section 4.1: the current actor outermost), a scope within the
 *   subject token's, the agent's resolved metadata's and the resource's, a lifetime within
 *   the subject token's remaining one and `access_token_lifetime`;
 * - answers per RFC 8693 section 2.2 (`issued_token_type`, no refresh token), and refuses per
 *   section 2.2.2: an invalid or unacceptable subject token is `invalid_request` (the RFC says
 *   MUST), a resource it will not serve `invalid_target`, a scope beyond the bounds
 *   `invalid_scope` (RFC 6749 section 5.2);
 * - audits every exchange issued and refused (`token.exchange`).
 *
 * The token is oidc-provider's own AccessToken (format jwt), so whatever the provider adds to
 * its access tokens (the registration's `rid`, the kill-switch at introspection) applies to
 * exchanged ones too; its `act` claim comes in through `tokenExchangeClaims`, which the
 * provider's `extraTokenClaims` merges.
 */
import type Provider from 'oidc-provider'
import { errors, type Client, type KoaContextWithOIDC, type ResourceServer, type TokenEndpointGrantContext } from 'oidc-provider'
import { SIGNING_ALGS } from '../constants.js'
import { decodeUnverified, verifyJwt } from '../crypto/jwt.js'
import type { Jwks } from '../types.js'

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** RFC 8693 section 3: the token type identifiers this server takes and issues. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'
/** RFC 8693 section 2.1 request parameters (besides grant_type; the client's authentication is oidc-provider's). */
export const TOKEN_EXCHANGE_PARAMETERS = [
  'resource', 'audience', 'scope', 'requested_token_type', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type',
] as const
/** RFC 9068 section 2.1: the JWS `typ` of a JWT access token. */
const AT_JWT = 'at+jwt'

/** RFC 8693 section 4.1: the actor, and the actors before it. */
export interface Act {
  sub: string
  act?: Act
}

/** A subject token as verified: an active, unexpired access token of this server. */
export interface SubjectToken {
  /** The user (the token's subject). */
  sub: string
  /** The client the token was issued to. */
  client_id: string
  scope?: string
  aud?: string | string[]
  /** Seconds since the epoch. */
  exp: number
  act?: Act
}

export interface AuditSink {
  record(actor: string, action: string, outcome: 'success' | 'failure', subject?: string, detail?: Record<string, unknown>): Promise<unknown>
}

export interface TokenExchangeDeps {
  audit: AuditSink
  /** `authorization_server.access_token_lifetime`, seconds. */
  accessTokenLifetime: number
  /** `authorization_server.token_exchange.max_delegation_depth`: how many actors a token's `act` may name. */
  maxDelegationDepth: number
  /**
   * The resource server a token may be for: the same function the provider has as
   * `features.resourceIndicators.getResourceServerInfo` (throws InvalidTarget for a resource
   * it does not serve).
   */
  resourceServer(ctx: KoaContextWithOIDC, resource: string, client: Client): Promise<ResourceServer>
  /** The subject token, verified; undefined when it is not an active access token of this server. */
  subjectToken(ctx: KoaContextWithOIDC, token: string): Promise<SubjectToken | undefined>
  /**
   * Now, in seconds: the provider's time (oidc-provider stamps its tokens with real time, not
   * the injected clock). Default: real time.
   */
  now?: () => number
}

/** The `act` claim of each exchanged token, until the provider signs it (tokenExchangeClaims). */
const acts = new WeakMap<object, Act>()

/**
 * Claims an exchanged token carries beyond oidc-provider's own: its `act`. The provider's
 * `extraTokenClaims(ctx, token)` merges this; undefined for any other token.
 */
export function tokenExchangeClaims(token: object): { act: Act } | undefined {
  const act = acts.get(token)
  return act ? { act } : undefined
}

/** Registers the grant; call it right after `new Provider(...)`, before any client is looked up. */
export function registerTokenExchange(provider: Provider, deps: TokenExchangeDeps): void {
  // `resource` may repeat in the request so that more than one is refused as invalid_target
  // (RFC 8707 section 2), not as a duplicated parameter.
  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, (ctx) => exchange(provider, deps, ctx), TOKEN_EXCHANGE_PARAMETERS, ['resource'])
}

const words = (s: unknown): string[] => (typeof s === 'string' ? s.split(' ').filter((w) => w !== '') : [])
const realNow = () => Math.floor(Date.now() / 1000)

async function exchange(provider: Provider, deps: TokenExchangeDeps, ctx: TokenEndpointGrantContext): Promise<void> {
  const { client, params } = ctx.oidc
  const agent = client.clientId
  const detail: Record<string, unknown> = {}
  let subject: string | undefined
  try {
    // RFC 8693 section 2.1: subject_token and subject_token_type are REQUIRED.
    const value = single(params.subject_token, 'subject_token')
    const type = single(params.subject_token_type, 'subject_token_type')
    if (value === undefined || value === '') throw new errors.InvalidRequest('subject_token is required')
    if (type === undefined) throw new errors.InvalidRequest('subject_token_type is required')
    if (type !== ACCESS_TOKEN_TYPE && type !== JWT_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type: only ${ACCESS_TOKEN_TYPE} (an access token of this server) is accepted`)
    }
    // The actor is the authenticated client itself; a separate actor token would name a second party.
    if (params.actor_token !== undefined || params.actor_token_type !== undefined) {
      throw new errors.InvalidRequest('actor_token is not supported: the authenticated client is the actor')
    }
    const requested = single(params.requested_token_type, 'requested_token_type')
    if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`requested_token_type: only ${ACCESS_TOKEN_TYPE} is issued`)
    }

    // RFC 8707: exactly one resource, and one this server issues tokens for.
    const resources = [params.resource ?? []].flat().filter((r): r is string => typeof r === 'string')
    if (resources.length !== 1) throw new errors.InvalidTarget(resources.length ? 'one resource per token exchange' : 'resource is required (one resource per token exchange)')
    const resource = resources[0]!
    detail.resource = resource
    const href = URL.parse(resource)?.href
    if (!href || href.includes('#')) throw new errors.InvalidTarget('resource must be an absolute URI without fragment')
    // RFC 8693 section 2.1: audience names the target too; here it may only repeat the resource.
    const audience = [params.audience ?? []].flat()
    if (audience.some((a) => a !== resource)) throw new errors.InvalidTarget('audience: only the resource itself may be named')

    const st = await deps.subjectToken(ctx, value)
    if (!st) throw new errors.InvalidRequest('subject_token is not an active access token of this authorization server')
    subject = st.sub
    detail.subject_client_id = st.client_id
    const holders = new Set([st.client_id, ...[st.aud ?? []].flat()])
    if (!holders.has(agent)) throw new errors.InvalidRequest('subject_token was not issued to this client nor for it')
    const depth = actDepth(st.act)
    if (depth >= deps.maxDelegationDepth) throw new errors.InvalidRequest(`subject_token already names ${depth} actors (at most ${deps.maxDelegationDepth} in a token)`)
    const now = (deps.now ?? realNow)()
    const remaining = st.exp - now
    if (remaining <= 0) throw new errors.InvalidRequest('subject_token has expired')

    const info = await deps.resourceServer(ctx, resource, client)
    // RFC 9068: the exchanged token is always a JWT access token.
    const rs = new provider.ResourceServer(resource, { ...info, accessTokenFormat: 'jwt' })

    // Least privilege: within the user's grant, the agent's resolved metadata and the resource.
    const bounds = [words(st.scope), words(client.scope), ...(info.scope ? [words(info.scope)] : [])]
    const allowed = bounds.reduce((acc, b) => acc.filter((s) => b.includes(s)))
    const asked = params.scope === undefined ? undefined : [...new Set(words(params.scope))]
    if (asked !== undefined) {
      const beyond = asked.filter((s) => !allowed.includes(s))
      if (beyond.length) throw new errors.InvalidScope(`scope ${beyond.join(' ')} is beyond what the subject token, the client's metadata and the resource allow (${allowed.join(' ') || 'none'})`, beyond.join(' '))
    }
    const scopes = asked ?? allowed
    if (!scopes.length) throw new errors.InvalidScope(`no scope is common to the subject token, the client's metadata and the resource`, '')
    const scope = scopes.join(' ')
    detail.scope = scope

    const token = new provider.AccessToken({
      accountId: st.sub, client, gty: 'token_exchange', scope, resourceServer: rs,
      grantId: undefined as unknown as string,
    })
    // The provider's lifetime for this token (its ttl policy: resource, registration), bounded.
    ;(token as unknown as { expiresIn: number }).expiresIn = Math.min(token.expiration, remaining, deps.accessTokenLifetime)
    const act: Act = { sub: agent, ...(st.act ? { act: st.act } : {}) }
    acts.set(token, act)
    ctx.oidc.entity('AccessToken', token)
    const accessToken = await token.save()
    detail.exp = token.exp
    detail.jti = token.jti
    await deps.audit.record(agent, 'token.exchange', 'success', st.sub, detail)
    ctx.body = {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: token.tokenType,
      expires_in: token.expiration,
      scope,
    }
  } catch (err) {
    if (err instanceof errors.OIDCProviderError) {
      await deps.audit.record(agent, 'token.exchange', 'failure', subject, { ...detail, error: err.error, error_description: err.error_description })
    }
    throw err
  }
}

/** One value of a parameter (oidc-provider refuses duplicates of all but `resource` already). */
function single(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw new errors.InvalidRequest(`${name} must be given once`)
  return v
}

function actDepth(act: Act | undefined): number {
  let n = 0
  for (let a = act; a; a = a.act) n++
  return n
}

/** Reads an `act` claim from outside: nested objects with a string `sub`, own properties only, bounded. */
export function readAct(v: unknown, limit: number): Act | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError('act must be an object')
  if (limit <= 0) throw new TypeError('act is nested too deeply')
  const sub = Object.hasOwn(v, 'sub') ? (v as Record<string, unknown>).sub : undefined
  if (typeof sub !== 'string' || sub === '') throw new TypeError('act.sub must be a string')
  const inner = Object.hasOwn(v, 'act') ? readAct((v as Record<string, unknown>).act, limit - 1) : undefined
  return { sub, ...(inner ? { act: inner } : {}) }
}

export interface ProviderSubjectTokenDeps {
  /** The provider's token signing keys (public JWK Set), to verify JWT access tokens with. */
  jwks(): Promise<Jwks>
  /** See TokenExchangeDeps.maxDelegationDepth. */
  maxDelegationDepth: number
  /** Clock skew tolerated, seconds. */
  skew: number
  now?: () => number
  /**
   * Extra activity check on a verified JWT access token's claims (the registration it was
   * issued under is still the client's, ...); default: none beyond the client being found.
   */
  active?(claims: Record<string, unknown>): Promise<boolean>
}

/**
 * Subject tokens as oidc-provider issues them: an opaque access token is looked up in the
 * provider's storage (expiry, its grant still there, i.e. not revoked); a JWT access token
 * (RFC 9068) is verified with the provider's keys (typ at+jwt, iss this issuer, exp). Either
 * way its client must still be found: through the federation, a client whose chain no longer
 * resolves is not, so a user's token issued to a client cut off by the kill-switch cannot be
 * exchanged either.
 */
export function providerSubjectTokens(provider: Provider, d: ProviderSubjectTokenDeps): TokenExchangeDeps['subjectToken'] {
  const now = d.now ?? realNow
  return async (_ctx, value) => {
    let claims: SubjectToken & Record<string, unknown>
    if (value.split('.').length === 3) {
      let payload: Record<string, unknown>
      try {
        decodeUnverified(value)
        payload = (await verifyJwt(value, await d.jwks(), { typ: AT_JWT, clock: { now }, skew: d.skew, algorithms: SIGNING_ALGS })).payload
      } catch {
        return undefined
      }
      const { iss, sub, client_id: clientId, exp, scope, aud } = payload
      if (iss !== provider.issuer || typeof sub !== 'string' || typeof clientId !== 'string' || typeof exp !== 'number') return undefined
      if (scope !== undefined && typeof scope !== 'string') return undefined
      if (aud !== undefined && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) return undefined
      let act: Act | undefined
      try {
        act = readAct(Object.hasOwn(payload, 'act') ? payload.act : undefined, d.maxDelegationDepth)
      } catch {
        return undefined
      }
      if (d.active && !(await d.active(payload))) return undefined
      claims = { ...payload, sub, client_id: clientId, exp, ...(scope !== undefined ? { scope } : {}), ...(aud !== undefined ? { aud } : {}), ...(act ? { act } : {}) }
    } else {
      const at = await provider.AccessToken.find(value)
      if (!at || at.isExpired || typeof at.exp !== 'number' || !at.clientId) return undefined
      if (!at.grantId || !(await provider.Grant.find(at.grantId))) return undefined
      let act: Act | undefined
      try {
        act = readAct(at.extra && Object.hasOwn(at.extra, 'act') ? at.extra.act : undefined, d.maxDelegationDepth)
      } catch {
        return undefined
      }
      claims = {
        sub: at.accountId, client_id: at.clientId, exp: at.exp,
        ...(at.scope ? { scope: at.scope } : {}), ...(at.aud !== undefined ? { aud: at.aud } : {}), ...(act ? { act } : {}),
      }
    }
    if (claims.exp <= now()) return undefined
    // Through the federation: undefined once the client's registration has ended.
    if (!(await provider.Client.find(claims.client_id))) return undefined
    return claims
  }
}

