/**
 * From resolved metadata to what a registration needs: which entity type the client is
 * registered as, whether this authorization server can serve it, and the keys that
 * authenticate it (spec "Parameters for JWK Sets in Entity Metadata": `jwks`, `jwks_uri`
 * or `signed_jwks_uri`, the latter signed with a Federation Entity Key of the client).
 */
import type { Clock } from '../clock.js'
import { MEDIA, TYP } from '../constants.js'
import { verifyJwt, JwtError } from '../crypto/jwt.js'
import { isJwks } from '../crypto/jwks.js'
import { isAbsoluteUrl } from '../config/schemas.js'
import { FederationError, InvalidClient } from '../errors.js'
import { FetchError, type Fetcher } from '../net/fetch.js'
import type { Jwks, Metadata } from '../types.js'
import type { Registration } from './records.js'
import { JsonError, parseJson } from '../util/json.js'

/**
 * Entity types a registration can be made for, in order of preference: OAuth clients
 * (spec "OAuth Client"), OpenID relying parties, and protected resources, which
 * authenticate only at the introspection endpoint.
 */
export const REGISTRABLE_TYPES = ['oauth_client', 'openid_relying_party', 'oauth_resource'] as const
export const CLIENT_TYPES: readonly string[] = ['oauth_client', 'openid_relying_party']

/** Only client authentication this server supports (spec "Automatic Registration": asymmetric cryptography MUST be used). */
export const AUTH_METHOD = 'private_key_jwt'

export interface ClientKeys {
  jwks: Jwks
  jwks_source: Registration['jwks_source']
  /** exp of a signed JWK Set, which bounds the registration. */
  exp?: number
}

/** The first registrable entity type in `metadata`, or undefined. */
export function registeredType(metadata: Metadata): string | undefined {
  return REGISTRABLE_TYPES.find((t) => metadata[t] !== undefined)
}

/** The metadata of the registrable types only (other types are not part of a client registration). */
export function registrableMetadata(metadata: Metadata): Metadata {
  const out: Metadata = {}
  for (const t of REGISTRABLE_TYPES) if (metadata[t]) out[t] = metadata[t]
  return out
}

/**
 * Why this client metadata cannot be registered here, as [error, description], or
 * undefined. The error is RFC 7591's (invalid_client_metadata, invalid_redirect_uri);
 * the token endpoint reports these as invalid_client.
 */
export function metadataProblem(md: Record<string, unknown>, entityType: string): [code: 'invalid_client_metadata' | 'invalid_redirect_uri', description: string] | undefined {
  const method = md.token_endpoint_auth_method
  if (method !== undefined && method !== AUTH_METHOD) return ['invalid_client_metadata', `${entityType}.token_endpoint_auth_method: only ${AUTH_METHOD} is supported, got ${JSON.stringify(method)}`]
  const sources = ['jwks', 'jwks_uri', 'signed_jwks_uri'].filter((k) => md[k] !== undefined)
  if (sources.length === 0) return ['invalid_client_metadata', `${entityType}: no jwks, jwks_uri or signed_jwks_uri to authenticate the client with`]
  if (md.jwks !== undefined && md.jwks_uri !== undefined) return ['invalid_client_metadata', `${entityType}: jwks and jwks_uri must not both be present (RFC 7591)`]
  if (md.scope !== undefined && typeof md.scope !== 'string') return ['invalid_client_metadata', `${entityType}.scope: must be a space-separated string`]
  const grants = md.grant_types
  if (grants !== undefined && !(Array.isArray(grants) && grants.every((g) => typeof g === 'string'))) return ['invalid_client_metadata', `${entityType}.grant_types: must be an array of strings`]
  const uris = md.redirect_uris
  if (uris !== undefined) {
    const bad: unknown = Array.isArray(uris) ? uris.find((u) => typeof u !== 'string' || !isAbsoluteUrl(u) || u.includes('#')) : uris
    if (!Array.isArray(uris) || bad !== undefined) return ['invalid_redirect_uri', `${entityType}.redirect_uris: ${JSON.stringify(bad ?? uris)} is not an absolute URI without fragment`]
  }
  return undefined
}

/** Grant types of client metadata, with RFC 7591's default. */
export function grantTypes(md: Record<string, unknown>): string[] {
  return Array.isArray(md.grant_types) ? (md.grant_types as string[]) : ['authorization_code']
}

export interface KeyDeps {
  fetcher: Fetcher
  clock: Clock
  skew: number
}

/**
 * The client's authentication keys, fetched now when given by reference. `federationJwks`
 * are the client's Federation Entity Keys as its superior vouches for them: they verify a
 * signed JWK Set. Throws InvalidClient.
 */
export async function clientKeys(clientId: string, md: Record<string, unknown>, federationJwks: Jwks, d: KeyDeps): Promise<ClientKeys> {
  if (md.jwks !== undefined) {
    if (!isJwks(md.jwks)) throw new InvalidClient(`metadata jwks of ${clientId} is not a public JWK Set`)
    return { jwks: md.jwks, jwks_source: 'jwks' }
  }
  if (typeof md.signed_jwks_uri === 'string') {
    const jwt = await download(md.signed_jwks_uri, MEDIA.jwkSet, d.fetcher, clientId)
    try {
      const { payload } = await verifyJwt<{ keys?: unknown; iss?: unknown }>(jwt.trim(), federationJwks, { typ: TYP.jwkSet, clock: d.clock, skew: d.skew, requireTimes: false })
      if (payload.iss !== clientId) throw new InvalidClient(`signed_jwks_uri of ${clientId}: iss is ${JSON.stringify(payload.iss ?? null)}`)
      if (typeof payload.exp === 'number' && payload.exp <= d.clock.now() - d.skew) throw new InvalidClient(`signed_jwks_uri of ${clientId}: the signed JWK Set has expired`)
      const jwks = { keys: payload.keys } as Jwks
      if (!isJwks(jwks)) throw new InvalidClient(`signed_jwks_uri of ${clientId}: keys is not a public JWK Set`)
      return { jwks, jwks_source: 'signed_jwks_uri', ...(typeof payload.exp === 'number' ? { exp: payload.exp } : {}) }
    } catch (err) {
      if (err instanceof JwtError) throw new InvalidClient(`signed_jwks_uri of ${clientId}: ${err.message}`, { cause: err })
      throw err
    }
  }
  if (typeof md.jwks_uri === 'string') {
    let jwks: unknown
    try {
      jwks = parseJson(await download(md.jwks_uri, MEDIA.json, d.fetcher, clientId))
    } catch (err) {
      if (err instanceof FederationError) throw err
      throw new InvalidClient(`jwks_uri of ${clientId} did not return JSON${err instanceof JsonError && err.reason === 'depth' ? ` within the nesting limit: ${err.message}` : ''}`)
    }
    if (!isJwks(jwks)) throw new InvalidClient(`jwks_uri of ${clientId} did not return a public JWK Set`)
    return { jwks, jwks_source: 'jwks_uri' }
  }
  throw new InvalidClient(`the metadata of ${clientId} has no usable jwks, jwks_uri or signed_jwks_uri`)
}

async function download(url: string, accept: string, fetcher: Fetcher, clientId: string): Promise<string> {
  try {
    const res = await fetcher.get(url, accept)
    if (res.status !== 200) throw new InvalidClient(`fetching keys of ${clientId} from ${url}: HTTP ${res.status}`)
    return res.body
  } catch (err) {
    if (err instanceof FetchError) throw new InvalidClient(`fetching keys of ${clientId} from ${url}: ${err.message}`, { cause: err })
    throw err
  }
}
