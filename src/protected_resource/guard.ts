/**
 * A protected-resource toolkit for MCP servers and other OAuth resource servers, independent
 * of any HTTP framework (docs/protected-resource.md):
 * - RFC 9728 "OAuth 2.0 Protected Resource Metadata": the document served at
 *   `/.well-known/oauth-protected-resource` (section 3) naming the authorization servers;
 * - RFC 6750 "Bearer Token Usage" section 3: 401 with `WWW-Authenticate: Bearer` carrying
 *   `resource_metadata` (RFC 9728 section 5.1), error `invalid_token`; 403
 *   `insufficient_scope`; 400 `invalid_request` for a malformed Authorization header;
 * - RFC 9068 "JWT Profile for OAuth 2.0 Access Tokens" section 4: `typ` at+jwt, signature by
 *   a key at the authorization server's `jwks_uri` (found through its RFC 8414 metadata,
 *   fetched with the hardened fetcher, cached, refetched at most every jwks_refresh_seconds
 *   on an unknown kid), `iss` one of the authorization servers, `aud` the resource, `exp`
 *   with skew, scopes;
 * - optional RFC 7662 introspection on every request, for an instant cut-off.
 * The MCP authorization specification builds on exactly these.
 */
import type { JSONWebKeySet } from 'jose'
import { systemClock, type Clock } from '../clock.js'
import { MEDIA, TYP } from '../constants.js'
import { verifyJwt, decodeUnverified, JwtError } from '../crypto/jwt.js'
import { isJwks } from '../crypto/jwks.js'
import type { Fetcher } from '../net/fetch.js'
import { isJsonObject, parseJson } from '../util/json.js'

export const WELL_KNOWN_PROTECTED_RESOURCE = '/.well-known/oauth-protected-resource'

/** Defaults of the toolkit's bounds (DEFAULTS has no section: this is a library, configured by its caller). */
export const RESOURCE_DEFAULTS = Object.freeze({
  /** Tolerated clock skew for exp/iat, seconds. */
  skew: 60,
  /** JWK Sets and AS metadata are reused this long, seconds. */
  jwks_cache_seconds: 300,
  /** Least time between two refetches on an unknown kid, seconds (tokens are attacker-controlled). */
  jwks_refresh_seconds: 30,
  /** Longest bearer token read, characters. */
  max_token_length: 8_192,
})

export interface IntrospectionOptions {
  /** Default: the authorization server metadata's introspection_endpoint. */
  endpoint?: string
  /** The resource server's client authentication as form parameters (e.g. client_assertion_type + client_assertion, RFC 7523). */
  credentials: (endpoint: string) => Promise<Record<string, string>>
}

export interface ResourceGuardOptions {
  /** The resource identifier (RFC 8707 / RFC 9728 `resource`): tokens must carry it in `aud`. */
  resource: string
  /** Issuer identifiers of the authorization servers whose tokens are accepted. */
  authorizationServers: string[]
  scopesSupported?: string[]
  /** Scopes every request needs (check() may ask for more). */
  requiredScopes?: string[]
  /** Where the metadata document is served; default per RFC 9728 section 3.1 from `resource`. */
  metadataUrl?: string
  resourceName?: string
  resourceDocumentation?: string
  fetcher: Fetcher
  clock?: Clock
  skew?: number
  jwksCacheSeconds?: number
  jwksRefreshSeconds?: number
  maxTokenLength?: number
  introspection?: IntrospectionOptions
}

export type GuardResult =
  | { ok: true; claims: Record<string, unknown>; scopes: string[] }
  | { ok: false; status: 400 | 401 | 403; headers: Record<string, string>; body: { error?: string; error_description?: string } }

export interface ResourceGuard {
  readonly metadataUrl: string
  /** Path of metadataUrl, to route on. */
  readonly metadataPath: string
  /** The RFC 9728 document (serve as application/json). */
  metadata(): Record<string, unknown>
  /** Checks the request's Authorization header value. */
  check(authorization: string | undefined, need?: { scopes?: string[] }): Promise<GuardResult>
}

/** RFC 9728 section 3.1: the well-known segment between the host and the resource's path. */
export function protectedResourceMetadataUrl(resource: string): string {
  const u = new URL(resource)
  return u.origin + WELL_KNOWN_PROTECTED_RESOURCE + u.pathname.replace(/\/+$/, '')
}

/** RFC 8414 section 3.1. */
function asMetadataUrl(issuer: string): string {
  const u = new URL(issuer)
  return u.origin + '/.well-known/oauth-authorization-server' + u.pathname.replace(/\/+$/, '')
}

/** RFC 6750 section 2.1: b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i

export function createResourceGuard(o: ResourceGuardOptions): ResourceGuard {
  if (o.authorizationServers.length === 0) throw new Error('authorizationServers: at least one is required')
  const clock = o.clock ?? systemClock
  const skew = o.skew ?? RESOURCE_DEFAULTS.skew
  const maxToken = o.maxTokenLength ?? RESOURCE_DEFAULTS.max_token_length
  const metadataUrl = o.metadataUrl ?? protectedResourceMetadataUrl(o.resource)
  const servers = new Map(o.authorizationServers.map((iss) => [iss, new ServerKeys(iss, o.fetcher, clock,
    o.jwksCacheSeconds ?? RESOURCE_DEFAULTS.jwks_cache_seconds, o.jwksRefreshSeconds ?? RESOURCE_DEFAULTS.jwks_refresh_seconds)]))
  const quote = (s: string) => s.replace(/[\\"]/g, "'").replace(/[^\x20-\x7e]/g, '?')
  const challenge = (error?: string, description?: string, scope?: string) =>
    ['Bearer ' + [
      ...(error ? [`error="${error}"`] : []),
      ...(description ? [`error_description="${quote(description)}"`] : []),
      ...(scope ? [`scope="${quote(scope)}"`] : []),
      `resource_metadata="${quote(metadataUrl)}"`,
    ].join(', ')].join('')
  const refuse = (status: 400 | 401 | 403, error: string | undefined, description: string | undefined, scope?: string): GuardResult => ({
    ok: false, status,
    headers: { 'www-authenticate': challenge(error, description, scope), 'cache-control': 'no-store' },
    body: { ...(error ? { error } : {}), ...(description ? { error_description: description } : {}) },
  })

  return {
    metadataUrl,
    metadataPath: new URL(metadataUrl).pathname,
    metadata: () => ({
      resource: o.resource,
      authorization_servers: [...o.authorizationServers],
      ...(o.scopesSupported ? { scopes_supported: [...o.scopesSupported] } : {}),
      bearer_methods_supported: ['header'],
      ...(o.resourceName ? { resource_name: o.resourceName } : {}),
      ...(o.resourceDocumentation ? { resource_documentation: o.resourceDocumentation } : {}),
    }),
    async check(authorization, need = {}) {
      // RFC 6750 section 3.1: no credentials -> 401 without an error code.
      // Another scheme is no bearer credentials either.
      if (authorization === undefined || !/^bearer(?: |$)/i.test(authorization)) return refuse(401, undefined, undefined)
      const m = authorization.length <= maxToken + 16 ? BEARER.exec(authorization) : null
      if (!m) return refuse(400, 'invalid_request', 'the Authorization header is not a Bearer token (RFC 6750 section 2.1)')
      const token = m[1]!
      const invalid = (d: string) => refuse(401, 'invalid_token', d)
      let decoded
      try {
        decoded = decodeUnverified(token)
      } catch {
        return invalid('the access token is not a JWT')
      }
      const iss = decoded.payload.iss
      const server = typeof iss === 'string' ? servers.get(iss) : undefined
      if (!server) return invalid('issued by an authorization server this resource does not accept')
      let payload: Record<string, unknown>
      try {
        const kid = typeof decoded.header.kid === 'string' ? decoded.header.kid : undefined
        payload = (await verifyJwt(token, await server.keys(kid), { typ: TYP.accessToken, clock, skew }, decoded)).payload
      } catch (err) {
        if (err instanceof JwtError) return invalid(err.message)
        return invalid('the authorization server keys could not be obtained')
      }
      const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud]
      if (!aud.includes(o.resource)) return invalid('not issued for this resource')
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : []
      const required = [...(o.requiredScopes ?? []), ...(need.scopes ?? [])]
      const missing = required.filter((s) => !scopes.includes(s))
      if (missing.length) return refuse(403, 'insufficient_scope', `scope ${missing.join(' ')} is required`, [...new Set(required)].join(' '))
      if (o.introspection) {
        let active: boolean
        try {
          active = await introspect(o.introspection, server, token, o.fetcher)
        } catch {
          return invalid('the token could not be introspected')
        }
        if (!active) return invalid('the token is not active')
      }
      return { ok: true, claims: payload, scopes }
    },
  }
}

async function introspect(i: IntrospectionOptions, server: ServerKeys, token: string, fetcher: Fetcher): Promise<boolean> {
  const endpoint = i.endpoint ?? (await server.introspectionEndpoint())
  if (!endpoint) throw new Error('no introspection endpoint')
  const form = new URLSearchParams({ ...(await i.credentials(endpoint)), token, token_type_hint: 'access_token' })
  const res = await fetcher.post(endpoint, form.toString(), 'application/x-www-form-urlencoded', MEDIA.json)
  if (res.status !== 200) throw new Error(`introspection answered ${res.status}`)
  const body = parseJson(res.body)
  // RFC 7662 section 2.2: `active` is the one required member.
  return isJsonObject(body) && Object.hasOwn(body, 'active') && body.active === true
}

/** One authorization server's metadata and keys, cached; refetched on an unknown kid at most every `refresh` seconds. */
class ServerKeys {
  private loaded: Promise<{ jwks: JSONWebKeySet; introspection?: string; at: number }> | undefined
  private lastFetch = -Infinity

  constructor(
    private readonly issuer: string,
    private readonly fetcher: Fetcher,
    private readonly clock: Clock,
    private readonly ttl: number,
    private readonly refresh: number,
  ) {}

  async keys(kid: string | undefined): Promise<JSONWebKeySet> {
    const now = this.clock.now()
    let cur = await this.current()
    const stale = now - cur.at >= this.ttl
    const unknownKid = kid !== undefined && !cur.jwks.keys.some((k) => k.kid === kid)
    if ((stale || unknownKid) && now - this.lastFetch >= this.refresh) {
      this.loaded = undefined
      cur = await this.current()
    }
    return cur.jwks
  }

  async introspectionEndpoint(): Promise<string | undefined> {
    return (await this.current()).introspection
  }

  private current() {
    this.loaded ??= this.load().catch((err: unknown) => {
      this.loaded = undefined
      throw err
    })
    return this.loaded
  }

  private async load(): Promise<{ jwks: JSONWebKeySet; introspection?: string; at: number }> {
    this.lastFetch = this.clock.now()
    const md = parseJson((await this.fetcher.get(asMetadataUrl(this.issuer), MEDIA.json)).body)
    // RFC 8414 section 3.3: the issuer in the metadata is the one it was fetched for.
    if (!isJsonObject(md) || md.issuer !== this.issuer) throw new Error('the authorization server metadata names another issuer')
    const jwksUri = Object.hasOwn(md, 'jwks_uri') ? md.jwks_uri : undefined
    if (typeof jwksUri !== 'string') throw new Error('no jwks_uri in the authorization server metadata')
    const jwks = parseJson((await this.fetcher.get(jwksUri, MEDIA.json)).body)
    if (!isJwks(jwks)) throw new Error('jwks_uri did not return a JWK Set of public keys')
    const introspection = Object.hasOwn(md, 'introspection_endpoint') && typeof md.introspection_endpoint === 'string' ? md.introspection_endpoint : undefined
    return { jwks, ...(introspection ? { introspection } : {}), at: this.clock.now() }
  }
}
