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
 * The token is oidc-provider's own AccessToken (format jwt, signed with the `oauth` key), its
 * `act` claim brought in through `tokenExchangeClaims` (the provider's `extraTokenClaims`).
 * It is recorded like every access token of this server (collection `tokens`) under the
 * agent's registration (`rid`): introspection answers for it, and once the agent's chain no
 * longer resolves (the kill-switch) it introspects inactive.
 *
 * Times: the subject token's remaining life and the agent's registration are read on
 * Anchorage's clock (the records' `expires_at`, `chain_exp`), like every other token's; the
 * subject token's `exp` bounds the new one's on the provider's clock (real time) as well.
 */
import type Provider from 'oidc-provider'
import type { TokenEndpointGrantContext } from 'oidc-provider'
import type { Clock } from '../clock.js'
import type { AuthorizationServerConfig } from '../config/load.js'
import { decodeUnverified } from '../crypto/jwt.js'
import type { Store } from '../storage/types.js'
import type { Registration } from '../registration/records.js'
import { tokenRecord } from './tokens.js'
import { ProviderError } from './federation_clients.js'

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** RFC 8693 section 3: the token type identifiers this server takes and issues. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'
/** RFC 8693 section 2.1 request parameters (besides grant_type; the client's authentication is oidc-provider's). */
export const TOKEN_EXCHANGE_PARAMETERS = [
  'resource', 'audience', 'scope', 'requested_token_type', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type',
] as const

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
  /** When it expires, seconds on Anchorage's clock (its record's expiry). */
  expires_at: number
  /** Its `exp` claim: seconds on the provider's clock (oidc-provider stamps tokens with real time). */
  exp: number
  act?: Act
}

export interface AuditSink {
  record(actor: string, action: string, outcome: 'success' | 'failure', subject?: string, detail?: Record<string, unknown>): Promise<unknown>
}

/** What the grant reads of `authorization_server` (defaults.ts documents each). */
export type TokenExchangeConfig = Pick<AuthorizationServerConfig, 'resources' | 'scopes_supported' | 'access_token_lifetime' | 'token_exchange_max_actors'>

export interface TokenExchangeDeps {
  config: TokenExchangeConfig
  clock: Clock
  store: Store
  audit: AuditSink
  /** The algorithm of the `oauth` signing key. */
  alg: string
  /** The authenticated client's registration, as this request's client lookup found it. */
  registration(clientId: string): Registration | undefined
  /** The subject token, verified; undefined unless it is an active access token of this server. */
  subjectToken(token: string): Promise<SubjectToken | undefined>
}

/**
 * Where an exchanged token (the model instance) holds its `act` claim until the provider signs
 * it (tokenExchangeClaims). A registry symbol: the provider module is loaded lazily, and the
 * key must be the same whichever instance of this module reads it.
 */
const ACT = Symbol.for('anchorage.token_exchange.act')

/**
 * Claims an exchanged token carries beyond oidc-provider's own: its `act`. The provider's
 * `extraTokenClaims(ctx, token)` merges this; undefined for any other token.
 */
export function tokenExchangeClaims(token: object): { act: Act } | undefined {
  const act = (token as { [ACT]?: Act })[ACT]
  return act ? { act } : undefined
}

/** Registers the grant; call it right after `new Provider(...)`, before any client is looked up. */
export function registerTokenExchange(provider: Provider, deps: TokenExchangeDeps): void {
  // `resource` may repeat in the request so that more than one is refused as invalid_target
  // (RFC 8707 section 2), not as a duplicated parameter.
  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, (ctx) => exchange(deps, ctx), TOKEN_EXCHANGE_PARAMETERS, ['resource'])
}

const words = (s: unknown): string[] => (typeof s === 'string' ? s.split(' ').filter((w) => w !== '') : [])

async function exchange(deps: TokenExchangeDeps, ctx: TokenEndpointGrantContext): Promise<void> {
  const { client, params, provider } = ctx.oidc
  const { config, clock } = deps
  const agent = client.clientId
  const detail: Record<string, unknown> = {}
  let subject: string | undefined
  try {
    const reg = deps.registration(agent)
    if (!reg) throw refuse('invalid_client', 'the client was authenticated without its registration')
    // RFC 8693 section 2.1: subject_token and subject_token_type are REQUIRED.
    const value = single(params.subject_token, 'subject_token')
    const type = single(params.subject_token_type, 'subject_token_type')
    if (value === undefined || value === '') throw refuse('invalid_request', 'subject_token is required')
    if (type === undefined) throw refuse('invalid_request', 'subject_token_type is required')
    if (type !== ACCESS_TOKEN_TYPE && type !== JWT_TOKEN_TYPE) {
      throw refuse('invalid_request', `subject_token_type: only ${ACCESS_TOKEN_TYPE} (an access token of this server) is accepted`)
    }
    // The actor is the authenticated client itself; a separate actor token would name a second party.
    if (params.actor_token !== undefined || params.actor_token_type !== undefined) {
      throw refuse('invalid_request', 'actor_token is not supported: the authenticated client is the actor')
    }
    const requested = single(params.requested_token_type, 'requested_token_type')
    if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
      throw refuse('invalid_request', `requested_token_type: only ${ACCESS_TOKEN_TYPE} is issued`)
    }

    // RFC 8707: exactly one resource, named, and one this server issues tokens for.
    const resources = [params.resource ?? []].flat().filter((r): r is string => typeof r === 'string')
    if (resources.length !== 1) throw refuse('invalid_target', resources.length ? 'one resource per token exchange' : 'resource is required (one resource per token exchange)')
    const resource = resources[0]!
    detail.resource = resource
    const href = URL.parse(resource)?.href
    if (!href || resource.includes('#')) throw refuse('invalid_target', 'resource must be an absolute URI without fragment')
    if (!config.resources.includes(resource)) throw refuse('invalid_target', `resource: ${resource} is not a resource of this authorization server`)
    // RFC 8693 section 2.1: audience names the target too; here it may only repeat the resource.
    const audience = [params.audience ?? []].flat()
    if (audience.some((a) => a !== resource)) throw refuse('invalid_target', 'audience: only the resource itself may be named')

    const st = await deps.subjectToken(value)
    if (!st) throw refuse('invalid_request', 'subject_token is not an active access token of this authorization server')
    subject = st.sub
    detail.subject_client_id = st.client_id
    // Only a party the token was given to may exchange it: its client, or the resource it is for.
    const holders = new Set([st.client_id, ...[st.aud ?? []].flat()])
    if (!holders.has(agent)) throw refuse('invalid_request', 'subject_token was issued neither to this client nor for it')
    const depth = actDepth(st.act)
    if (depth >= config.token_exchange_max_actors) throw refuse('invalid_request', `subject_token already names ${depth} actors (at most ${config.token_exchange_max_actors} in a token)`)
    const now = clock.now()
    // Time-bound: within the subject token's life, access_token_lifetime and the agent's chain
    // (spec "Registration Validity and Trust Reevaluation").
    // The provider stamps `exp` with real time: the token's exp stays within the subject token's on that clock too.
    const ttl = Math.min(st.expires_at - now, st.exp - Math.floor(Date.now() / 1000), config.access_token_lifetime, reg.chain_exp - now)
    if (!(ttl > 0)) throw refuse('invalid_request', 'subject_token has expired')

    // Least privilege: within the user's grant, the agent's resolved metadata and what this server supports.
    const md = reg.metadata[reg.entity_type] ?? {}
    const bounds = [words(st.scope), words(Object.hasOwn(md, 'scope') ? md.scope : undefined), ...(config.scopes_supported ? [[...config.scopes_supported]] : [])]
    const allowed = bounds.reduce((acc, b) => acc.filter((s) => b.includes(s)))
    const asked = params.scope === undefined ? undefined : [...new Set(words(params.scope))]
    if (asked !== undefined) {
      const beyond = asked.filter((s) => !allowed.includes(s))
      if (beyond.length) throw refuse('invalid_scope', `scope ${beyond.join(' ')} is beyond what the subject token, the client's resolved metadata and this server allow (${allowed.join(' ') || 'none'})`)
    }
    const scopes = asked ?? allowed
    if (!scopes.length) throw refuse('invalid_scope', 'no scope is common to the subject token, the client\'s resolved metadata and this server')
    const scope = scopes.join(' ')
    detail.scope = scope

    const token = new provider.AccessToken({
      accountId: st.sub, client, gty: 'token_exchange', scope,
      // Exchanged tokens belong to no grant of the user's: they end with their record.
      grantId: undefined as unknown as string,
    })
    // RFC 9068: a JWT access token for the one resource, signed with the oauth key.
    token.resourceServer = new provider.ResourceServer(resource, {
      audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: ttl, jwt: { sign: { alg: deps.alg as never } }, scope,
    })
    const act: Act = { sub: agent, ...(st.act ? { act: st.act } : {}) }
    ;(token as unknown as { [ACT]: Act })[ACT] = act
    ctx.oidc.entity('AccessToken', token)
    const accessToken = await token.save()
    // The model keeps no iat/exp of a JWT-format token: they are read from what was signed.
    const { jti, iat, exp } = decodeUnverified(accessToken).payload as { jti: string; iat: number; exp: number }
    const record = tokenRecord({
      value: accessToken, jti, reg, sub: st.sub, aud: resource, scope, iat, exp, ttl, now, gty: 'token_exchange', act,
    })
    Object.assign(detail, { jti, exp: record.exp, act, trust_anchor: reg.trust_anchor })
    await Promise.all([
      deps.store.put('tokens', record),
      deps.audit.record(agent, 'token.exchange', 'success', st.sub, detail),
    ])
    // RFC 8693 section 2.2.1; no refresh token: the agent exchanges again while the user's token lives.
    ctx.body = { access_token: accessToken, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: ttl, scope }
  } catch (err) {
    if (err instanceof ProviderError) {
      await deps.audit.record(agent, 'token.exchange', 'failure', subject, { ...detail, error: err.error, error_description: err.error_description })
      // Audited here, with what was exchanged: the token endpoint need not audit it again.
      throw new ProviderError(err.status, err.error, err.error_description, true, err)
    }
    throw err
  }
}

/** An OAuth error the provider renders (RFC 6749 section 5.2; invalid_client is 401). */
function refuse(error: string, description: string): ProviderError {
  return new ProviderError(error === 'invalid_client' ? 401 : 400, error, description)
}

/** One value of a parameter (oidc-provider refuses duplicates of all but `resource` already). */
function single(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw refuse('invalid_request', `${name} must be given once`)
  return v
}

function actDepth(act: Act | undefined): number {
  let n = 0
  for (let a = act; a; a = a.act) n++
  return n
}

