/**
 * Sign-in through an upstream enterprise OpenID Provider (`authorization_server.upstream`),
 * with openid-client: Discovery (OpenID Connect Discovery 1.0), the authorization code flow
 * with PKCE S256, `state` and `nonce` checked (OpenID Connect Core 1.0, 3.1), the client
 * authenticated with client_secret_post or private_key_jwt. Every request goes through
 * Anchorage's hardened fetcher (net/fetch.ts: timeouts, size caps, the SSRF guard), which
 * sends GET and POST with a body only, so no method needs an Authorization header: the
 * user's claims come from the ID token (requested there with the `claims` parameter when the
 * provider supports it, OpenID Connect Core 1.0, 5.5).
 *
 * A login under way (state, nonce, PKCE verifier) is kept in the store (collection
 * `upstream_logins`, id = the interaction uid, expiring), so any instance sharing the store
 * can finish it, and it is used once. The `state` starts with the interaction uid: the
 * upstream redirects to one fixed callback URL, which sends the browser on to its
 * interaction (whose cookie is scoped to the interaction's path).
 */
import * as oidc from 'openid-client'
import { importJWK, type JWK } from 'jose'
import type { Store, StoredRecord } from '../storage/types.js'
import type { Clock } from '../clock.js'
import type { Fetcher } from '../net/fetch.js'
import type { AuthorizationServerConfig, UpstreamConfig } from '../config/load.js'
import { isJsonObject, own } from '../util/json.js'
import { CLAIMS_BY_SCOPE } from './accounts.js'

/** Interaction uids (oidc-provider's ids): what may appear before the '.' of a state. */
const UID = /^[A-Za-z0-9_-]{1,64}$/

interface PendingLogin extends StoredRecord {
  id: string
  state: string
  nonce: string
  code_verifier: string
  redirect_uri: string
}

export class UpstreamLoginError extends Error {
  override name = 'UpstreamLoginError'
}

export interface UpstreamDeps {
  store: Store
  clock: Clock
  fetcher: Fetcher
  config: AuthorizationServerConfig & { upstream: UpstreamConfig }
  /** private_key_jwt: the client's private JWK (config/files.ts readUpstreamKey), unchecked. */
  privateKey?: unknown
}

/** The interaction uid a callback's `state` names, or undefined when it names none. */
export function uidOfState(state: string | null | undefined): string | undefined {
  const uid = state?.split('.', 1)[0]
  return uid && UID.test(uid) ? uid : undefined
}

export class UpstreamLogin {
  private configuration: Promise<oidc.Configuration> | undefined
  readonly issuer: string
  readonly name: string

  constructor(private readonly d: UpstreamDeps) {
    this.issuer = d.config.upstream.issuer
    this.name = d.config.upstream.name
  }

  /** Discovery, once (again after a failure). */
  private discover(): Promise<oidc.Configuration> {
    this.configuration ??= this.discoverNow().catch((err: unknown) => {
      this.configuration = undefined
      throw err
    })
    return this.configuration
  }

  private async discoverNow(): Promise<oidc.Configuration> {
    const u = this.d.config.upstream
    const issuer = new URL(u.issuer)
    const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : []
    const config = await oidc.discovery(issuer, u.client_id, undefined, await this.clientAuth(), {
      execute, [oidc.customFetch]: this.viaFetcher, timeout: 30,
    })
    // The ID token's signature is checked too (its keys from the provider's jwks_uri), not only TLS.
    oidc.enableNonRepudiationChecks(config)
    return config
  }

  private async clientAuth(): Promise<oidc.ClientAuth> {
    const u = this.d.config.upstream
    if (u.client_secret) return oidc.ClientSecretPost(u.client_secret)
    const jwk = this.d.privateKey
    const alg = own(jwk, 'alg')
    if (!isJsonObject(jwk) || typeof alg !== 'string' || typeof own(jwk, 'd') !== 'string') {
      throw new UpstreamLoginError('authorization_server.upstream.private_key_file: expected a private JWK with its alg')
    }
    const key = await importJWK(jwk as JWK, alg)
    if (key instanceof Uint8Array) throw new UpstreamLoginError('authorization_server.upstream.private_key_file: not an asymmetric key')
    const kid = own(jwk, 'kid')
    return oidc.PrivateKeyJwt({ key, ...(typeof kid === 'string' ? { kid } : {}) })
  }

  /** openid-client's requests, through the hardened fetcher (GET, or POST with a form body; no other header is sent). */
  private readonly viaFetcher = async (url: string, options: oidc.CustomFetchOptions): Promise<Response> => {
    const headers = new Headers(options.headers)
    if (headers.has('authorization') || headers.has('dpop')) throw new UpstreamLoginError('upstream request needs an Authorization header, which is not sent')
    const accept = headers.get('accept') ?? 'application/json'
    let r
    if (options.method === 'GET') r = await this.d.fetcher.get(url, accept)
    else if (options.method === 'POST') r = await this.d.fetcher.post(url, formBody(options.body), headers.get('content-type') ?? 'application/x-www-form-urlencoded', accept)
    else throw new UpstreamLoginError(`upstream request method ${options.method} is not supported`)
    const empty = r.status === 204 || r.status === 205 || r.status === 304
    return new Response(empty ? null : r.body, { status: r.status < 200 || r.status > 599 ? 502 : r.status, headers: { 'content-type': r.contentType } })
  }

  /**
   * Starts a login for interaction `uid`: stores state, nonce and PKCE verifier, and returns
   * the upstream authorization URL to send the browser to. `redirectUri` is the fixed callback.
   */
  async begin(uid: string, redirectUri: string): Promise<string> {
    if (!UID.test(uid)) throw new UpstreamLoginError('not an interaction id')
    const config = await this.discover()
    const codeVerifier = oidc.randomPKCECodeVerifier()
    const state = `${uid}.${oidc.randomState()}`
    const nonce = oidc.randomNonce()
    const scope = this.d.config.upstream.scopes.join(' ')
    await this.d.store.put<PendingLogin>('upstream_logins', {
      id: uid, state, nonce, code_verifier: codeVerifier, redirect_uri: redirectUri,
      expires_at: this.d.clock.now() + this.d.config.upstream_login_lifetime,
    })
    const params: Record<string, string> = {
      redirect_uri: redirectUri, scope, state, nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    }
    if (config.serverMetadata().claims_parameter_supported) params.claims = JSON.stringify({ id_token: idTokenClaims(scope) })
    return oidc.buildAuthorizationUrl(config, params).href
  }

  /**
   * Finishes interaction `uid`'s login with the callback's query (`search`, with its `?`):
   * the code exchanged (the stored verifier, state and nonce checked); the pending login is
   * used up whatever the outcome. Returns the upstream subject and the ID token's claims.
   */
  async finish(uid: string, search: string): Promise<{ issuer: string; sub: string; claims: Record<string, unknown> }> {
    const pending = await this.d.store.get<PendingLogin>('upstream_logins', uid)
    if (!pending) throw new UpstreamLoginError('no upstream login is under way for this interaction (expired or already used)')
    await this.d.store.remove('upstream_logins', uid)
    const config = await this.discover()
    const current = new URL(pending.redirect_uri)
    current.search = search
    const tokens = await oidc.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: pending.code_verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true,
    })
    const claims = tokens.claims()
    if (!claims) throw new UpstreamLoginError('the upstream provider returned no ID token')
    return { issuer: config.serverMetadata().issuer, sub: claims.sub, claims: { ...claims } }
  }
}

function formBody(body: oidc.CustomFetchOptions['body']): string {
  if (body === undefined || body === null) return ''
  if (typeof body === 'string') return body
  if (body instanceof URLSearchParams) return body.toString()
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8')
  throw new UpstreamLoginError('upstream request body of an unsupported kind')
}

/** The claims request for the ID token: the standard claims of the scopes asked for (OpenID Connect Core 1.0, 5.5). */
function idTokenClaims(scope: string): Record<string, null> {
  const out: Record<string, null> = {}
  for (const s of scope.split(' ')) {
    if (s === 'openid') continue
    for (const c of (Object.hasOwn(CLAIMS_BY_SCOPE, s) ? CLAIMS_BY_SCOPE[s] : undefined) ?? []) out[c] = null
  }
  return out
}
