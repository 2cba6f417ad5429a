/**
 * Access tokens: the client_credentials grant (RFC 6749 section 4.4) bounded by the
 * client's resolved metadata (grant_types, scope), resource indicators (RFC 8707), JWT
 * access tokens (RFC 9068) signed with this server's OAuth keys, and introspection
 * (RFC 7662). Every token is recorded (collection `tokens`, expiring with the token) with
 * the registration it was issued under, so a registration that ends takes its tokens with it.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { RegistrationDeps } from '../registration/deps.js'
import { TYP } from '../constants.js'
import { signJwt, decodeUnverified, type SigningKey } from '../crypto/jwt.js'
import type { AuthorizationServerConfig } from '../config/load.js'
import { isAbsoluteUrl } from '../config/schemas.js'
import { FederationError } from '../errors.js'
import type { StoredRecord } from '../storage/types.js'
import type { Registrar } from '../registration/registrar.js'
import type { Registration } from '../registration/records.js'
import { CLIENT_TYPES, grantTypes } from '../registration/client_metadata.js'

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
  signingKey: () => Promise<SigningKey>
  registrar: Registrar
}

export class TokenService {
  constructor(private readonly d: TokenDeps) {}

  /** The client_credentials grant for an authenticated client. */
  async clientCredentials(reg: Registration, req: TokenRequest): Promise<TokenResponse> {
    const { f, as } = this.d
    if (!CLIENT_TYPES.includes(reg.entity_type)) throw new FederationError('unauthorized_client', `${reg.client_id} is registered as ${reg.entity_type}, not as a client`)
    const md = reg.metadata[reg.entity_type] ?? {}
    if (!grantTypes(md).includes('client_credentials')) {
      throw new FederationError('unauthorized_client', `grant_type client_credentials is not among the grant_types of ${reg.client_id}'s resolved metadata (${grantTypes(md).join(', ')})`)
    }
    const aud = targetResource(req.resource, as.resources)
    const requested = req.scope
    if (requested.length > 1) throw new FederationError('invalid_request', 'scope: must be given once')
    const scopes = grantedScopes(requested[0], md.scope, as.scopes_supported)
    const now = f.clock.now()
    // No token outlives its registration's chain (spec "Registration Validity and Trust Reevaluation").
    const exp = Math.min(now + as.access_token_lifetime, reg.chain_exp)
    const jti = randomBytes(16).toString('base64url')
    const scope = scopes.join(' ')
    const claims = {
      iss: f.entityId, sub: reg.client_id, client_id: reg.client_id, aud, iat: now, exp, jti,
      ...(scope ? { scope } : {}), trust_anchor: reg.trust_anchor,
    }
    const token = await signJwt(claims, await this.d.signingKey(), TYP.accessToken)
    const record: TokenRecord = {
      id: jti, client_id: reg.client_id, sub: reg.client_id, rid: reg.rid, aud, trust_anchor: reg.trust_anchor,
      iat: now, exp, expires_at: exp, hash: hash(token), ...(scope ? { scope } : {}),
    }
    // Independent writes: one commit round instead of two (each is fsynced by the embedded store).
    await Promise.all([
      f.store.put('tokens', record),
      f.audit.record(reg.client_id, 'token.issue', 'success', reg.client_id, { trust_anchor: reg.trust_anchor, aud, scope, jti, exp }),
    ])
    return { access_token: token, token_type: 'Bearer', expires_in: exp - now, ...(scope ? { scope } : {}) }
  }

  /**
   * RFC 7662 for an authenticated caller. Active only for a token this server issued,
   * unexpired, whose registration is still the client's active one (re-evaluated now when
   * due), and only to the token's client or to the resource it is for (RFC 7662 section 4:
   * the answer may depend on who asks).
   */
  async introspect(caller: Registration, token: string): Promise<Record<string, unknown>> {
    const inactive = { active: false }
    let jti: unknown
    try {
      jti = decodeUnverified(token).payload.jti
    } catch {
      return inactive
    }
    if (typeof jti !== 'string') return inactive
    const rec = await this.d.f.store.get<TokenRecord>('tokens', jti)
    if (!rec || rec.hash !== hash(token)) return inactive
    const resource = caller.metadata.oauth_resource?.resource
    if (caller.client_id !== rec.client_id && rec.aud !== caller.client_id && rec.aud !== resource) return inactive
    const reg = await this.d.registrar.active(rec.client_id)
    if (!reg || reg.rid !== rec.rid) return inactive
    return {
      active: true, iss: this.d.f.entityId, sub: rec.sub, client_id: rec.client_id, aud: rec.aud,
      ...(rec.scope ? { scope: rec.scope } : {}), iat: rec.iat, exp: rec.exp, jti: rec.id,
      token_type: 'Bearer', trust_anchor: rec.trust_anchor,
    }
  }
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}
