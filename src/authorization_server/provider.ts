/**
 * The OAuth 2.0 / OpenID Connect server: one oidc-provider `Provider` (issuer = the entity
 * id), mounted by the HTTP layer under the entity id's path. Anchorage adds what no library
 * has: clients are federation entities found through their trust chains
 * (./federation_clients.ts, behind the adapter's Client model), and the client_credentials
 * grant is Anchorage's own (./tokens.ts: resource indicators, scope bounded by the resolved
 * metadata, RFC 9068 tokens recorded with the registration they were issued under).
 *
 * Client authentication is private_key_jwt only (spec "Automatic Registration":
 * asymmetric cryptography MUST be used; never `none`, never a shared secret). Tokens are
 * signed with the keystore's `oauth` keys, never with the federation keys.
 *
 * oidc-provider keeps its own time (the system clock) for what it issues and verifies;
 * Anchorage's clock drives registrations, re-evaluation and store expiry.
 */
import Provider, { errors, type Adapter, type Configuration, type FindAccount, type KoaContextWithOIDC } from 'oidc-provider'
import type { JWK } from 'jose'
import type { RegistrationDeps } from '../registration/deps.js'
import type { AuthorizationServerConfig } from '../config/load.js'
import { ASSERTION_ALGS } from './client_auth.js'
import type { RequestContext } from './request_context.js'
import { DEFAULT_CLAIMS } from './claims.js'
import { INTERACTION_LIFETIME } from './cookie_keys.js'
import { privateDetails } from '../errors.js'
import { tokenExchangeClaims } from './token_exchange.js'
import { matchesHash } from './dynamic_registration.js'

/** Client authentication of RFC 7591 clients without keys (RFC 7591 section 2, token_endpoint_auth_method). */
const SECRET_METHODS = ['client_secret_basic', 'client_secret_post'] as const

/** oidc-provider's routes, relative to the entity id's path. */
export const PROVIDER_ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  jwks: '/oauth/jwks',
  pushed_authorization_request: '/oauth/par',
  revocation: '/oauth/revoke',
  userinfo: '/oauth/userinfo',
  end_session: '/oauth/logout',
  introspection: '/oauth/introspect',
  registration: '/oauth/clients',
  code_verification: '/oauth/device',
  device_authorization: '/oauth/device/auth',
  backchannel_authentication: '/oauth/backchannel',
  challenge: '/oauth/challenge',
} as const

/** What an oidc-provider adapter factory looks like (adapter.ts provides the store's). */
export type AdapterClass = new (name: string) => Adapter

export interface ProviderDeps {
  f: RegistrationDeps
  config: AuthorizationServerConfig
  /**
   * The `oauth` keys, private (keystore purpose `oauth`, Keystore.signingJwks): the current key
   * of each algorithm first, then superseded ones; oidc-provider signs with the first key of
   * the algorithm it signs with.
   */
  jwks: Array<JWK & { kid: string; alg: string }>
  /** The access tokens' algorithm (`signing_alg`). */
  alg: string
  /** oidc-provider's storage: Anchorage's store (adapter.ts storeAdapter), its Client model delegating to `clients`. */
  adapter: AdapterClass
  /** Accounts (INTERACTIONS): the users who sign in. */
  findAccount?: FindAccount
  /** Secrets signing oidc-provider's cookies (interaction and session), newest first (cookie_keys.ts). */
  cookieKeys: string[]
  /** The entity id's path ('' at the root): the interaction pages live under it. */
  prefix: string
  /**
   * The current request's context (request_context.ts). Passed in, not imported: this module
   * is loaded dynamically, and a loader may give it its own instance of that module.
   */
  context: () => RequestContext | undefined
  /** The error page (INTERACTIONS: HTML with the error code as text); JSON when absent. */
  renderError?: Configuration['renderError']
  /** Claims by scope (OpenID Connect Core 5.4), for the OP role. */
  claims?: Configuration['claims']
  /** Extra members of /.well-known/openid-configuration (the federation's: registration types, endpoints). */
  discovery?: Record<string, unknown>
}


export function createOidcProvider(d: ProviderDeps): Provider {
  const { f, config } = d
  const op = config.openid_provider
  const configuration: Configuration = {
    adapter: d.adapter,
    clients: [],
    jwks: { keys: d.jwks.map((k) => ({ ...k, use: 'sig' })) },
    routes: { ...PROVIDER_ROUTES },
    // `none`: public clients identified by a metadata document (federation_clients.ts); a
    // federation client's registration always says private_key_jwt. A client registered through
    // RFC 7591 without keys authenticates with its secret (dynamic_registration.ts).
    clientAuthMethods: [
      'private_key_jwt', ...(config.client_id_metadata_documents ? ['none' as const] : []), ...(config.dynamic_registration ? SECRET_METHODS : []),
    ],
    enabledJWA: { clientAuthSigningAlgValues: [...ASSERTION_ALGS] as never },
    clockTolerance: f.config.clock_skew,
    clientDefaults: {
      grant_types: [], response_types: [], token_endpoint_auth_method: 'private_key_jwt',
      // OpenID Connect Core 2 / Registration 2: RS256 unless the client registered another (op: the first configured).
      id_token_signed_response_alg: (op ? config.id_token_signing_alg_values[0] : d.alg) as never,
    },
    // OpenID Connect Core 3.1.2.1: the authorization endpoint MUST support POST. A form posted
    // from the client's site carries the session cookie only when it is SameSite=None, so
    // oidc-provider requires that setting for POST (the cookies stay HttpOnly and signed).
    cookies: { keys: d.cookieKeys, long: { sameSite: 'none' } },
    enableHttpPostMethods: true,
    ...(d.findAccount ? { findAccount: d.findAccount } : {}),
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `${d.prefix}/oauth/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      // Client ID Metadata Documents are Anchorage's (registration/metadata_document.ts, through
      // the Client model's adapter): fetched with its hardened fetcher under the request's work
      // budget, admitted only through a trust chain, bounded by the federation's policy and
      // recorded as registrations (kill-switch, consent). oidc-provider's own feature fetches
      // with its own client and can only accept or refuse a document, not bound it.
      clientIdMetadataDocument: { enabled: false },
      // The client_credentials grant is Anchorage's (tokens.ts), registered on the provider.
      clientCredentials: { enabled: false },
      // Anchorage's introspection answers for its RFC 9068 tokens, which oidc-provider does not introspect.
      introspection: { enabled: false },
      revocation: { enabled: op },
      registration: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: op },
      pushedAuthorizationRequests: { enabled: op, requirePushedAuthorizationRequests: false },
      requestObjects: {
        enabled: op, requireSignedRequestObject: false,
        assertJwtClaimsAndHeader: op ? assertRequestObject(f.config.clock_skew, f.store) : undefined,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => (config.resources.length === 1 ? config.resources[0]! : undefined),
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (!config.resources.includes(resource)) throw new errors.InvalidTarget(`resource: ${resource} is not a resource of this authorization server`)
          return {
            audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: config.access_token_lifetime,
            jwt: { sign: { alg: d.alg as never } },
            scope: (config.scopes_supported ?? []).join(' '),
          }
        },
      },
    },
    ttl: {
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.access_token_lifetime,
      // No token outlives its client's chain (spec "Registration Validity and Trust Reevaluation").
      AccessToken: (_ctx, token) => withinChain(d, token.clientId, token.resourceServer?.accessTokenTTL ?? config.access_token_lifetime),
      AuthorizationCode: config.authorization_code_lifetime,
      IdToken: config.id_token_lifetime,
      RefreshToken: config.refresh_token_lifetime,
      Grant: config.refresh_token_lifetime,
      Session: config.refresh_token_lifetime,
      Interaction: INTERACTION_LIFETIME,
    },
    // RFC 9068 tokens name the anchor the client's registration resolved to.
    extraTokenClaims: (_ctx, token) => {
      const reg = d.context()?.registrations.get(token.clientId ?? '')
      // A token exchange's act (RFC 8693 section 4.1).
      const exchanged = tokenExchangeClaims(token)
      return reg || exchanged ? { ...(reg ? { trust_anchor: reg.trust_anchor } : {}), ...exchanged } : undefined
    },
    // An error page without the library's inline markup: the JSON error, as text.
    renderError: d.renderError ?? ((ctx, out) => {
      ctx.type = 'application/json'
      ctx.body = out
    }),
    ...(op ? opConfiguration(d) : {}),
  }
  const provider = new Provider(f.entityId, configuration)
  if (config.dynamic_registration) {
    // The store keeps a dynamic client's secret as its SHA-256 only (federation_clients.ts
    // gives it as client_secret): a presented secret is hashed before the comparison. No HS*
    // algorithm is enabled for these clients, so the value itself is never needed.
    ;(provider.Client.prototype as unknown as { compareClientSecret(this: { clientSecret?: string }, actual: string): Promise<boolean> })
      .compareClientSecret = async function (actual) {
        return matchesHash(actual, this.clientSecret)
      }
  }
  // The deployment's listener decides about proxies (server.trust_proxy); the provider runs in its app.
  provider.proxy = f.config.server.trust_proxy
  // oidc-provider's replay detection (a client assertion's jti used once, RFC 7523 section 3)
  // is a find then a save through the adapter: two instances given one assertion at the same
  // moment could both accept it. The store's claimOnce decides once for all instances.
  ;(provider.ReplayDetection as unknown as { unique: (iss: string, jti: string, exp: number) => Promise<boolean> }).unique =
    (iss, jti, exp) => f.store.claimOnce('replay', `${iss} ${jti}`, exp)
  // Why oidc-provider refused (error_detail, e.g. which check of a client assertion failed): for the audit trail.
  for (const event of ['grant.error', 'introspection.error', 'revocation.error', 'authorization.error', 'pushed_authorization_request.error', 'userinfo.error'] as const) {
    ;(provider as unknown as { on(e: string, l: (ctx: KoaContextWithOIDC, err: { error_detail?: unknown; error_description?: unknown; audited?: unknown; error?: unknown }) => void): void }).on(event, (ctx, err) => {
      // What the description must not say (errors.ts privateDetails), for the logs only, as errorMiddleware does.
      const detail = privateDetails(err)
      if (detail.length) f.logger.info('request refused', { request_id: ctx.state.requestId, method: ctx.method, path: ctx.path, error: err.error, detail })
      if (typeof err.error_detail === 'string' && err.error_detail !== err.error_description) ctx.state.refusalDetail = err.error_detail
      if (err.audited === true) ctx.state.refusalAudited = true
    })
  }
  // Tokens issued and refused at the token endpoint (metrics.ts); the grant type label only among the known ones.
  const on = provider as unknown as { on(e: string, l: (ctx: KoaContextWithOIDC) => void): void }
  const grant = (ctx: KoaContextWithOIDC) => {
    const g = ctx.oidc?.params?.grant_type
    return typeof g === 'string' && KNOWN_GRANTS.has(g) ? g : 'other'
  }
  on.on('grant.success', (ctx) => f.metrics.token('issued', grant(ctx)))
  on.on('grant.error', (ctx) => f.metrics.token('refused', grant(ctx)))
  return provider
}

/** `ttl` seconds, bounded by the expiry of the client's registration (its chain), as this request found it. */
function withinChain(d: ProviderDeps, clientId: string | undefined, ttl: number): number {
  const reg = d.context()?.registrations.get(clientId ?? '')
  return reg ? Math.max(1, Math.min(ttl, reg.chain_exp - d.f.clock.now())) : ttl
}

const KNOWN_GRANTS = new Set(['authorization_code', 'client_credentials', 'refresh_token', 'urn:ietf:params:oauth:grant-type:token-exchange'])

/** The OpenID Provider role: authorization code + PKCE (S256 only), ID tokens, JAR, PAR. */
function opConfiguration(d: ProviderDeps): Partial<Configuration> {
  const { config } = d
  return {
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', ...(config.scopes_supported ?? [])],
    claims: d.claims ?? DEFAULT_CLAIMS,
    enabledJWA: {
      clientAuthSigningAlgValues: [...ASSERTION_ALGS] as never,
      requestObjectSigningAlgValues: [...ASSERTION_ALGS] as never,
      // What service.ts opMetadata advertises; the keystore holds a key of each (service.ts oauthAlgs).
      idTokenSigningAlgValues: [...config.id_token_signing_alg_values] as never,
    },
    // RFC 7636 with S256 only (oidc-provider 9 knows no `plain`). Without require_pkce, a
    // request authenticated by its signature (a verified request object, or pushed by an
    // authenticated client) may omit it.
    pkce: {
      // A public client (a metadata document client with `none`) always needs it.
      required: (ctx) => config.require_pkce || ctx.oidc.client?.clientAuthMethod === 'none'
        || !(ctx.oidc.trusted?.length || 'PushedAuthorizationRequest' in ctx.oidc.entities),
    },
    discovery: {
      ...d.discovery,
      code_challenge_methods_supported: ['S256'],
      ...(config.client_id_metadata_documents ? { client_id_metadata_document_supported: true } : {}),
    },
  }
}

/**
 * Spec "Automatic Registration" / "Authentication Request": a request object carries `iss`
 * (the client), `aud` (this OP), `jti` and `exp`, and no `sub`; a jti is used once
 * (the store's claimOnce: atomic, so one request object is accepted once by all instances
 * together). A request pushed (PAR) was checked when pushed.
 */
function assertRequestObject(skew: number, store: Pick<RegistrationDeps['store'], 'claimOnce'>) {
  return async (ctx: KoaContextWithOIDC, claims: Record<string, unknown>): Promise<void> => {
    // A pushed request was checked when it was pushed (oidc-provider carries it as its own request object).
    if ('PushedAuthorizationRequest' in ctx.oidc.entities) return
    for (const c of ['iss', 'aud', 'jti', 'exp'] as const) {
      if (claims[c] === undefined) throw new errors.InvalidRequestObject(`Request Object is missing the '${c}' claim`)
    }
    if (claims.sub !== undefined) throw new errors.InvalidRequestObject("Request Object must not contain the 'sub' claim")
    if (typeof claims.jti !== 'string' || claims.jti === '' || claims.jti.length > 256) throw new errors.InvalidRequestObject('Request Object jti must be a non-empty string')
    if (typeof claims.exp !== 'number') throw new errors.InvalidRequestObject('Request Object exp must be a number')
    const unique = await store.claimOnce('request_object', `${String(claims.iss)} ${claims.jti}`, claims.exp + skew)
    if (!unique) throw new errors.InvalidRequestObject('Request Object jti was used before (replay)')
  }
}
