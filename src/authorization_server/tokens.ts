/**
 * Access tokens: the client_credentials grant (RFC 6749 section 4.4) bounded by the
 * client's resolved metadata (grant_types, scope), resource indicators (RFC 8707), JWT
 * access tokens (RFC 9068) signed with this server's OAuth keys, and introspection
 * (RFC 7662). Every access token this server issues, whatever the grant, is recorded in one
 * format (TokenRecord, collection `tokens`, expiring with the token) with the registration it
 * was issued under, so a registration that ends takes its tokens with it: client_credentials
 * and token exchange record theirs in their handlers, the grants of oidc-provider itself
 * (authorization_code, refresh_token) through `recordProviderTokens`, a provider middleware
 * that sees the token response. Introspection and token exchange read these records only.
 */
import { createHash } from 'node:crypto'
import type { RegistrationDeps } from '../registration/deps.js'
import { decodeUnverified } from '../crypto/jwt.js'
import type { KoaContextWithOIDC, TokenEndpointGrantContext } from 'oidc-provider'
import { requestContext, type RequestContext } from './request_context.js'
import { providerError } from './federation_clients.js'
import type { AuthorizationServerConfig } from '../config/load.js'
import { isAbsoluteUrl } from '../config/schemas.js'
import { FederationError } from '../errors.js'
import type { StoredRecord } from '../storage/types.js'
import type { Registrar } from '../registration/registrar.js'
import type { Registration } from '../registration/records.js'
import type { Act } from './token_exchange.js'

export const GRANT_TYPES = ['client_credentials'] as const

/** An access token as recorded (collection `tokens`), whichever grant issued it. */
export interface TokenRecord extends StoredRecord {
  /** Its jti (a JWT's `jti` claim; an opaque token's value is its jti). */
  id: string
  client_id: string
  /** The user (authorization_code, refresh_token, token exchange), or the client itself (client_credentials). */
  sub: string
  /** The registration the token was issued under. */
  rid: string
  /** The resource it is for (RFC 8707); none for an opaque token for userinfo only. */
  aud?: string
  scope?: string
  trust_anchor: string
  /** `iat` and `exp` as signed (the provider's clock); `expires_at`, the record's expiry, is on Anchorage's. */
  iat: number
  exp: number
  /** SHA-256 of the token: introspection answers for this exact token only. */
  hash: string
  /** The grant that issued it: client_credentials, authorization_code, refresh_token, token_exchange. */
  gty?: string
  /** The user's grant (oidc-provider's) it belongs to, if any. */
  grantId?: string
  /** A token exchange's actors (RFC 8693 section 4.1): the client acting for `sub`. */
  act?: Act
}

/**
 * The one record of an issued access token. `ttl`: its lifetime in seconds, so the record
 * expires with it on Anchorage's clock (`iat`/`exp` are the provider's, real time).
 */
export function tokenRecord(o: {
  value: string; jti: string; reg: Registration; sub: string; aud?: string; scope?: string
  iat: number; exp: number; ttl: number; now: number; gty: string; grantId?: string; act?: Act
}): TokenRecord {
  return {
    id: o.jti, client_id: o.reg.client_id, sub: o.sub, rid: o.reg.rid, trust_anchor: o.reg.trust_anchor,
    iat: o.iat, exp: o.exp, expires_at: o.now + o.ttl, hash: hash(o.value), gty: o.gty,
    ...(o.aud !== undefined ? { aud: o.aud } : {}), ...(o.scope ? { scope: o.scope } : {}),
    ...(o.grantId !== undefined ? { grantId: o.grantId } : {}), ...(o.act ? { act: o.act } : {}),
  }
}

export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  scope?: string
}

/** RFC 6749 scope-token: %x21 / %x23-5B / %x5D-7E. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

const split = (s: unknown): string[] => (typeof s === 'string' ? s.split(' ').filter((t) => t !== '') : [])

/**
 * The scopes granted: the requested ones the client's resolved metadata allows (and this
 * server supports, when it lists scopes_supported); all allowed ones when none is asked for.
 */
export function grantedScopes(requested: string | undefined, metadataScope: unknown, supported: readonly string[] | undefined): string[] {
  let allowed = [...new Set(split(metadataScope))]
  if (supported) allowed = allowed.filter((s) => supported.includes(s))
  if (requested === undefined) return allowed
  const asked = split(requested)
  const invalid = asked.find((s) => !SCOPE_TOKEN.test(s))
  if (invalid !== undefined || asked.length === 0) throw new FederationError('invalid_scope', 'scope: not a space-separated list of scope tokens')
  const granted = [...new Set(asked.filter((s) => allowed.includes(s)))]
  if (!granted.length) throw new FederationError('invalid_scope', `scope: none of ${asked.join(' ')} is allowed for this client (allowed: ${allowed.join(' ') || 'none'})`)
  return granted
}

/** RFC 8707: the one resource the token is for; it must be one this server serves. */
export function targetResource(requested: readonly string[], resources: readonly string[]): string {
  const asked = requested.filter((r) => r !== '')
  if (asked.length > 1) throw new FederationError('invalid_target', 'resource: one resource per token request')
  const r = asked[0]
  if (r === undefined) {
    if (resources.length === 1) return resources[0]!
    throw new FederationError('invalid_target', `resource: required, one of ${resources.join(', ')}`)
  }
  if (!isAbsoluteUrl(r) || r.includes('#')) throw new FederationError('invalid_target', 'resource: must be an absolute URI without fragment')
  if (!resources.includes(r)) throw new FederationError('invalid_target', `resource: ${r} is not a resource of this authorization server`)
  return r
}

/** A client_credentials token request (RFC 6749 section 4.4.2; RFC 8707 resource): every value given, in order. */
export interface TokenRequest {
  grant_type: 'client_credentials'
  scope: string[]
  resource: string[]
}

export interface TokenDeps {
  f: RegistrationDeps
  as: AuthorizationServerConfig
  registrar: Registrar
  /** The algorithm of the `oauth` signing key. */
  alg: string
}

export class TokenService {
  constructor(private readonly d: Omit<TokenDeps, 'alg'> & {
    /**
     * Whether oidc-provider still has the user's grant (`grantId`) a token belongs to: revoking
     * a refresh token ends its grant, and RFC 7009 section 2.1 says its access tokens SHOULD go too.
     */
    grantAlive?: (grantId: string) => Promise<boolean>
  }) {}

  /**
   * RFC 7662 for an authenticated caller. Active only for a token this server issued,
   * unexpired, whose registration is still the client's active one (re-evaluated now when
   * due), and only to the token's client or to the resource it is for (RFC 7662 section 4:
   * the answer may depend on who asks).
   */
  async introspect(caller: Registration, token: string): Promise<Record<string, unknown>> {
    const rec = await this.active(token)
    if (!rec) return { active: false }
    const resource = caller.metadata.oauth_resource?.resource
    const audience = rec.aud !== undefined && (rec.aud === caller.client_id || rec.aud === resource)
    if (caller.client_id !== rec.client_id && !audience) return { active: false }
    return {
      active: true, iss: this.d.f.entityId, sub: rec.sub, client_id: rec.client_id, ...(rec.aud !== undefined ? { aud: rec.aud } : {}),
      ...(rec.scope ? { scope: rec.scope } : {}), iat: rec.iat, exp: rec.exp, jti: rec.id,
      token_type: 'Bearer', trust_anchor: rec.trust_anchor, ...(rec.act ? { act: rec.act } : {}),
    }
  }

  /** Records an issued access token (tokenRecord). */
  async record(rec: TokenRecord): Promise<void> {
    await this.d.f.store.put('tokens', rec)
  }

  /** The kill-switch: removes the records of every access token of the client; how many. */
  revokeClient(clientId: string): Promise<number> {
    return this.removeWhere({ client_id: clientId })
  }

  /** A user's grant revoked (oidc-provider's revokeByGrantId): removes the records of its access tokens; how many. */
  revokeGrant(grantId: string): Promise<number> {
    return this.removeWhere({ grantId })
  }

  /** Removes the records matching `where` (indexed fields: INDEXED_FIELDS.tokens), page by page. */
  private async removeWhere(where: Record<string, string>): Promise<number> {
    let removed = 0
    for (let after: string | undefined; ;) {
      const page = await this.d.f.store.list<TokenRecord>('tokens', { where, limit: 500, ...(after !== undefined ? { after } : {}) })
      for (const r of page) if (await this.d.f.store.remove('tokens', r.id)) removed++
      if (page.length < 500) return removed
      after = page[page.length - 1]!.id
    }
  }

  /**
   * The record of an access token this server issued, while it is active: unexpired (the
   * record expires with it), its registration still the client's active one (re-evaluated
   * now when due) and, for a token of a user's grant, that grant not revoked. Introspection
   * and token exchange's subject tokens both ask this.
   */
  async active(token: string): Promise<TokenRecord | undefined> {
    let jti: unknown
    try {
      jti = decodeUnverified(token).payload.jti
    } catch {
      // An opaque token (oidc-provider's, for userinfo) is its own jti.
      jti = OPAQUE.test(token) ? token : undefined
    }
    if (typeof jti !== 'string' || jti === '') return undefined
    const rec = await this.d.f.store.get<TokenRecord>('tokens', jti)
    if (!rec || rec.hash !== hash(token)) return undefined
    const reg = await this.d.registrar.active(rec.client_id)
    if (!reg || reg.rid !== rec.rid) return undefined
    if (rec.grantId !== undefined && this.d.grantAlive && !(await this.d.grantAlive(rec.grantId))) return undefined
    return rec
  }
}

/**
 * The client_credentials grant (RFC 6749 section 4.4) as an oidc-provider grant handler:
 * the client was authenticated by oidc-provider (private_key_jwt) and found through its
 * federation registration (federation_clients.ts), which this request's context holds.
 */
export function clientCredentialsGrant(d: TokenDeps) {
  return async (ctx: TokenEndpointGrantContext): Promise<void> => {
    try {
      await issue(ctx)
    } catch (err) {
      throw providerError(err)
    }
  }
  async function issue(ctx: TokenEndpointGrantContext): Promise<void> {
    const { f, as } = d
    const clientId = ctx.oidc.client.clientId
    const reg = requestContext()?.registrations.get(clientId)
    if (!reg) throw new FederationError('server_error', 'the client was authenticated without its registration')
    // unauthorized_client (entity type, grant_types) was said by the client lookup.
    const md = reg.metadata[reg.entity_type] ?? {}
    const params = ctx.oidc.params
    const aud = targetResource([params.resource ?? []].flat(), as.resources)
    const scopes = [params.scope ?? []].flat()
    if (scopes.length > 1) throw new FederationError('invalid_request', 'scope: must be given once')
    const granted = grantedScopes(scopes[0], md.scope, as.scopes_supported)
    const now = f.clock.now()
    // No token outlives its registration's chain (spec "Registration Validity and Trust Reevaluation").
    const ttl = Math.max(1, Math.min(as.access_token_lifetime, reg.chain_exp - now))
    const scope = granted.join(' ')
    const provider = ctx.oidc.provider
    const token = new provider.ClientCredentials({ client: ctx.oidc.client, ...(scope ? { scope } : {}) })
    token.resourceServer = new provider.ResourceServer(aud, {
      audience: aud, accessTokenFormat: 'jwt', accessTokenTTL: ttl, jwt: { sign: { alg: d.alg as never } },
      scope,
    })
    const value = await token.save()
    const jti = decodeUnverified(value).payload.jti as string
    const record = tokenRecord({
      value, jti, reg, sub: reg.client_id, aud, scope, iat: token.iat, exp: token.exp!, ttl, now, gty: 'client_credentials',
    })
    // Independent writes: one commit round instead of two (each is fsynced by the embedded store).
    await Promise.all([
      f.store.put('tokens', record),
      f.audit.record(reg.client_id, 'token.issue', 'success', reg.client_id, { trust_anchor: reg.trust_anchor, aud, scope, jti, exp: record.exp }),
    ])
    const body: TokenResponse = { access_token: value, token_type: 'Bearer', expires_in: ttl, ...(scope ? { scope } : {}) }
    ctx.body = body
  }
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/** What an opaque token of oidc-provider looks like (base64url, its jti). */
const OPAQUE = /^[A-Za-z0-9_-]{16,256}$/

/** The grants whose handlers record their tokens themselves (client_credentials above; token_exchange.ts). */
const SELF_RECORDED = new Set(['client_credentials', 'token_exchange'])

/**
 * A provider middleware (`provider.use`) recording the access token of every successful
 * token response of oidc-provider's own grants (authorization_code, refresh_token), under
 * the registration the request's client lookup found. It runs after the response is built
 * and before it is sent: if the record cannot be written the request fails (a token that
 * introspection would not know is never handed out).
 */
export function recordProviderTokens(d: { tokens: TokenService; clock: { now(): number }; context: () => RequestContext | undefined }) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next()
    const oidc = (ctx as { oidc?: KoaContextWithOIDC['oidc'] }).oidc
    if (oidc?.route !== 'token' || ctx.status !== 200) return
    const at = oidc.entities.AccessToken
    const value = (ctx.body as { access_token?: unknown } | undefined)?.access_token
    if (!at || typeof value !== 'string' || SELF_RECORDED.has(String(at.gty))) return
    const clientId = String(at.clientId)
    const reg = d.context()?.registrations.get(clientId)
    if (!reg) throw new Error(`token response for ${clientId} without its registration`)
    let claims: Record<string, unknown>
    try {
      claims = decodeUnverified(value).payload
    } catch {
      // Opaque: the token is its jti; its claims are the model's.
      claims = { jti: at.jti, iat: at.iat, exp: at.exp, sub: at.accountId, ...(typeof at.aud === 'string' ? { aud: at.aud } : {}) }
    }
    const { jti, iat, exp } = claims
    if (typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') throw new Error('issued access token without jti, iat or exp')
    await d.tokens.record(tokenRecord({
      value, jti, reg, sub: typeof claims.sub === 'string' ? claims.sub : String(at.accountId),
      ...(typeof claims.aud === 'string' ? { aud: claims.aud } : {}),
      ...(at.scope ? { scope: at.scope } : {}),
      iat, exp, ttl: exp - iat, now: d.clock.now(), gty: String(at.gty),
      ...(typeof at.grantId === 'string' ? { grantId: at.grantId } : {}),
    }))
  }
}
