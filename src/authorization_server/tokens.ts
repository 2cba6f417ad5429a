/**
 * Access tokens: the client_credentials grant (RFC 6749 section 4.4) bounded by the
 * client's resolved metadata (grant_types, scope), resource indicators (RFC 8707), JWT
 * access tokens (RFC 9068) signed with this server's OAuth keys, and introspection
 * (RFC 7662). Every token is recorded (collection `tokens`, expiring with the token) with
 * the registration it was issued under, so a registration that ends takes its tokens with it.
 */
import { createHash } from 'node:crypto'
import type { RegistrationDeps } from '../registration/deps.js'
import { decodeUnverified } from '../crypto/jwt.js'
import type { TokenEndpointGrantContext } from 'oidc-provider'
import { requestContext } from './request_context.js'
import { providerError } from './federation_clients.js'
import type { AuthorizationServerConfig } from '../config/load.js'
import { isAbsoluteUrl } from '../config/schemas.js'
import { FederationError } from '../errors.js'
import type { StoredRecord } from '../storage/types.js'
import type { Registrar } from '../registration/registrar.js'
import type { Registration } from '../registration/records.js'
import type { Act } from './token_exchange.js'

export const GRANT_TYPES = ['client_credentials'] as const

export interface TokenRecord extends StoredRecord {
  id: string // jti
  client_id: string
  sub: string
  /** The registration the token was issued under. */
  rid: string
  aud: string
  scope?: string
  trust_anchor: string
  iat: number
  exp: number
  /** SHA-256 of the token: introspection answers for this exact token only. */
  hash: string
  /** A token exchange's actors (RFC 8693 section 4.1): the client acting for `sub`. */
  act?: Act
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
  constructor(private readonly d: Omit<TokenDeps, 'alg'>) {}

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
    if (caller.client_id !== rec.client_id && rec.aud !== caller.client_id && rec.aud !== resource) return { active: false }
    return {
      active: true, iss: this.d.f.entityId, sub: rec.sub, client_id: rec.client_id, aud: rec.aud,
      ...(rec.scope ? { scope: rec.scope } : {}), iat: rec.iat, exp: rec.exp, jti: rec.id,
      token_type: 'Bearer', trust_anchor: rec.trust_anchor, ...(rec.act ? { act: rec.act } : {}),
    }
  }

  /**
   * The record of an access token this server issued, while it is active: unexpired (the
   * record expires with it) and its registration still the client's active one (re-evaluated
   * now when due). Introspection and token exchange's subject tokens both ask this.
   */
  async active(token: string): Promise<TokenRecord | undefined> {
    let jti: unknown
    try {
      jti = decodeUnverified(token).payload.jti
    } catch {
      return undefined
    }
    if (typeof jti !== 'string') return undefined
    const rec = await this.d.f.store.get<TokenRecord>('tokens', jti)
    if (!rec || rec.hash !== hash(token)) return undefined
    const reg = await this.d.registrar.active(rec.client_id)
    if (!reg || reg.rid !== rec.rid) return undefined
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
    const record: TokenRecord = {
      id: jti, client_id: reg.client_id, sub: reg.client_id, rid: reg.rid, aud, trust_anchor: reg.trust_anchor,
      iat: token.iat, exp: token.exp!, expires_at: now + ttl, hash: hash(value), ...(scope ? { scope } : {}),
    }
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
