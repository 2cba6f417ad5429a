/**
 * The authorization server of one federation: its OAuth signing keys (stored beside the
 * federation keys, purpose 'oauth', published only at jwks_uri), the registrar, the
 * federation clients, the oidc-provider instance built over them (./provider.ts), and its
 * metadata (RFC 8414; spec "OAuth Authorization Server"), published both in the entity
 * configuration and at /.well-known/oauth-authorization-server.
 */
import { GrantSweep, scheduleGrantSweep } from './grant_sweep.js'
import type { Every } from '../util/every.js'
import type Provider from 'oidc-provider'
import type { FindAccount, KoaContextWithOIDC, CanBePromise } from 'oidc-provider'
import type { RegistrationDeps } from '../registration/deps.js'
import type { TrustedAnchors } from '../trust_chain/anchors.js'
import type { LocalStatements } from '../trust_chain/source.js'
import type { TrustMarkVerifier } from '../trust_chain/trust_mark_verifier.js'
import type { AuthorizationServerConfig } from '../config/load.js'
import { Keystore } from '../crypto/keystore.js'
import type { KeyAlg } from '../crypto/keys.js'
import { readKeysFile, oauthAlgs } from '../config/load.js'
import type { SigningKey } from '../crypto/jwt.js'
import type { Jwks } from '../types.js'
import { Registrar } from '../registration/registrar.js'
import { AUTH_METHOD } from '../registration/client_metadata.js'
import { ClientAuthenticator, UsedAssertions, ASSERTION_ALGS } from './client_auth.js'
import { TokenService, GRANT_TYPES, clientCredentialsGrant, recordProviderTokens } from './tokens.js'
import { FederationClients } from './federation_clients.js'
import { storeAdapter } from './adapter.js'
import { CookieKeys, INTERACTION_LIFETIME } from './cookie_keys.js'
import { DEFAULT_CLAIMS } from './claims.js'
import { requestContext } from './request_context.js'
import { registerTokenExchange, TOKEN_EXCHANGE_GRANT } from './token_exchange.js'
import { DynamicRegistration } from './dynamic_registration.js'
import { InitialAccessTokens } from './initial_access_tokens.js'

/** Client authentication of RFC 7591 clients without keys (provider.ts enables them with dynamic registration). */
const SECRET_METHODS = ['client_secret_basic', 'client_secret_post'] as const

/** Endpoint URLs, from the router (so they cannot drift from the routes). */
export interface Endpoints {
  token_endpoint: string
  introspection_endpoint: string
  jwks_uri: string
  federation_registration_endpoint: string
  /** RFC 7591 registration with a software statement, when dynamic_registration is enabled. */
  registration_endpoint?: string
  /** The OpenID Provider role's. */
  authorization_endpoint?: string
  pushed_authorization_request_endpoint?: string
  userinfo_endpoint?: string
  revocation_endpoint?: string
}

/** Grant types of the OpenID Provider role, beside client_credentials. */
export const OP_GRANT_TYPES = ['authorization_code', 'refresh_token'] as const

/** Seams other modules plug into the provider (accounts, error pages, more grants). */
export interface ProviderPlugins {
  findAccount?: FindAccount
  /** Claims by scope (accounts.ts CLAIMS_BY_SCOPE); provider.ts DEFAULT_CLAIMS when absent. */
  claims?: Record<string, string[]>
  /** The error page oidc-provider renders for browsers (interactions.ts). */
  renderError?: (ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }, error: Error) => CanBePromise<void>
  /** Called on each provider built: e.g. registerTokenExchange(provider, deps). */
  configure?: Array<(provider: Provider) => void>
}

export interface AuthorizationServer {
  config: AuthorizationServerConfig
  registrar: Registrar
  keys: Keystore
  auth: ClientAuthenticator
  tokens: TokenService
  clients: FederationClients
  /** RFC 7591/7592 registration gated by software statements, when `dynamic_registration` is enabled. */
  dynamic?: DynamicRegistration
  /** Initial access tokens (RFC 7591 section 3) the operator issues. */
  initialAccessTokens: InitialAccessTokens
  /** Client assertions accepted by this process (replays refused before any work). */
  usedAssertions: UsedAssertions
  /** Seams for accounts, error pages and extra grants; set before the first request. */
  plugins: ProviderPlugins
  /**
   * The kill-switch's revocation: removes every grant, refresh token and code of the client
   * and the records of its access tokens; how many of each (for the audit event).
   */
  cutOff(clientId: string): Promise<Record<string, number>>
  /** The oidc-provider instance, built on first use with the current `oauth` keys (rebuilt when they rotate). */
  provider(): Promise<Provider>
  /** The published JWK Set of the OAuth keys: current, staged and superseded, not retired. */
  jwks(): Promise<Jwks>
  /** The current OAuth signing key of `alg` (default the deployment's `signing_alg`, which signs access tokens). */
  signingKey(alg?: KeyAlg): Promise<SigningKey>
  /** The kill-switch for clients that make no request (grant_sweep.ts): one bounded pass per `grant_sweep_seconds`. */
  sweep: GrantSweep
  /**
   * At start: `oauth` seed keys of keys.json stored, then a key of every algorithm it signs
   * with (oauthAlgs) ensured; the grant sweep scheduled (`every`: its timer, injected in tests).
   */
  start(o?: { every?: Every }): Promise<void>
  /** Stops the grant sweep (waits for a pass in progress). */
  stop(): Promise<void>
  metadata(endpoints: Endpoints): Record<string, unknown>
}

export function createAuthorizationServer(
  f: RegistrationDeps, config: AuthorizationServerConfig, d: { statements: LocalStatements; anchors: TrustedAnchors; verifier?: TrustMarkVerifier | undefined },
): AuthorizationServer {
  const keys = new Keystore({
    store: f.store, clock: f.clock, logger: f.logger, alg: f.config.signing_alg, purpose: 'oauth', algs: oauthAlgs(f.config.signing_alg, config),
    ...(f.config.kek ? { kek: f.config.kek } : {}),
    propagationDelay: f.config.keys.propagation_delay_seconds,
    event: (...a) => f.audit.event(...a),
  })
  let ready: Promise<void> | undefined
  // At start (start()), or at first use where nothing started the role (a library embedding it): a key of every algorithm.
  const ensureKey = () => (ready ??= keys.ensureKey().catch((err: unknown) => {
    ready = undefined
    throw err
  }))
  const signingKey = async (alg?: KeyAlg) => {
    await ensureKey()
    return keys.signingKey(alg)
  }
  const op = config.openid_provider
  const grantTypes: string[] = [...GRANT_TYPES, TOKEN_EXCHANGE_GRANT, ...(op ? OP_GRANT_TYPES : [])]
  // The kill-switch (spec "Registration Validity and Trust Reevaluation"): a registration that
  // ends takes everything of its client with it (cutOff below).
  const registrar = new Registrar(f, config, { ...d, grantTypes, cutOff: (clientId) => cutOff(clientId) })
  const scopes = op ? new Set(['openid', 'offline_access', ...(config.scopes_supported ?? [])]) : undefined
  const clients = new FederationClients(f, registrar, { grantTypes: new Set(grantTypes), ...(scopes ? { scopes } : {}) })
  const initialAccessTokens = new InitialAccessTokens(f)
  const dynamic = config.dynamic_registration ? new DynamicRegistration({
    f, config: config.dynamic_registration, registrar, grantTypes: new Set(grantTypes), initialAccessTokens,
    maxRequestLifetime: config.assertion_max_lifetime, reevaluation: config.trust_reevaluation,
  }) : undefined
  let endpointUrls: Endpoints | undefined
  const tokens = new TokenService({
    f, as: config, registrar,
    grantAlive: async (grantId) => (await (await provider()).Grant.find(grantId)) !== undefined,
  })
  const plugins: ProviderPlugins = {}
  const prefix = new URL(f.entityId).pathname.replace(/\/+$/, '')
  // oidc-provider's models (codes, tokens, grants, sessions, interactions) live in the store,
  // shared by every instance and kept across restarts; its Client model asks the federation clients.
  // A grant revoked (RFC 7009, a code or refresh token replayed) takes the records of its access tokens along.
  const adapter = storeAdapter({ store: f.store, clock: f.clock, clients, grantRevoked: (grantId) => tokens.revokeGrant(grantId) })
  // Its cookie secrets too (cookie_keys.ts): a login begun at one instance ends at any other.
  const cookies = new CookieKeys({
    store: f.store, clock: f.clock, keepFor: Math.max(config.refresh_token_lifetime, INTERACTION_LIFETIME),
    ...(f.config.kek ? { kek: f.config.kek } : {}),
  })
  // The access tokens' algorithm: the deployment's (RFC 9068 tokens; ID tokens take the client's or RS256).
  const alg = f.config.signing_alg
  let built: { kids: string; cookieKeys: string[]; provider: Promise<Provider> } | undefined
  const provider = async (): Promise<Provider> => {
    await ensureKey()
    // Rebuilt when the set of oauth keys changes (a rotation) or the cookie secrets do.
    const jwks = await keys.signingJwks()
    const kids = jwks.map((k) => k.kid).join(' ')
    const cookieKeys = await cookies.secrets()
    if (built?.kids !== kids || built.cookieKeys !== cookieKeys) {
      built = {
        kids, cookieKeys,
        // oidc-provider is loaded only when the role serves its first request.
        provider: import('./provider.js').then(({ createOidcProvider }) => {
          const p = createOidcProvider({
            f, config, adapter, jwks, alg, cookieKeys, prefix, context: requestContext,
            ...(plugins.findAccount ? { findAccount: plugins.findAccount } : {}),
            ...(plugins.claims ? { claims: plugins.claims } : {}),
            ...(plugins.renderError ? { renderError: plugins.renderError } : {}),
            ...(endpointUrls ? { discovery: federationDiscovery(endpointUrls) } : {}),
          })
          p.registerGrantType('client_credentials', clientCredentialsGrant({ f, as: config, registrar, alg }), ['scope', 'resource'], ['scope', 'resource'])
          // Agents on behalf of users (RFC 8693), for agents whose resolved grant_types list it.
          registerTokenExchange(p, {
            config, clock: f.clock, store: f.store, audit: f.audit, alg,
            registration: (clientId) => requestContext()?.registrations.get(clientId),
            subjectToken: async (value) => {
              const rec = await tokens.active(value)
              return rec && {
                sub: rec.sub, client_id: rec.client_id, aud: rec.aud, expires_at: rec.expires_at ?? rec.exp, exp: rec.exp,
                ...(rec.scope ? { scope: rec.scope } : {}), ...(rec.act ? { act: rec.act } : {}),
              }
            },
          })
          // Access tokens of oidc-provider's own grants (authorization_code, refresh_token) are
          // recorded like Anchorage's, for introspection and token exchange.
          p.use(recordProviderTokens({ tokens, clock: f.clock, context: requestContext }))
          for (const c of plugins.configure ?? []) c(p)
          return p
        }),
      }
    }
    return built.provider
  }
  // Everything the client holds goes: oidc-provider's grants, refresh tokens, codes (in the
  // store, through its adapter) and the records of its access tokens (introspection answers inactive).
  async function cutOff(clientId: string): Promise<Record<string, number>> {
    const models = await adapter.revokeClient(clientId)
    const access = await tokens.revokeClient(clientId)
    return {
      access_tokens: access, refresh_tokens: models.RefreshToken ?? 0, grants: models.Grant ?? 0,
      authorization_codes: models.AuthorizationCode ?? 0,
      other: Object.entries(models).reduce((n, [m, c]) => (['RefreshToken', 'Grant', 'AuthorizationCode'].includes(m) ? n : n + c), 0),
    }
  }
  const sweep = new GrantSweep({ store: f.store, audit: f.audit, logger: f.logger, registrar, cutOff, batch: config.grant_sweep_batch })
  let stopSweep = (): Promise<void> => Promise.resolve()
  return {
    config, registrar, keys, signingKey, clients, plugins, provider, cutOff, usedAssertions: new UsedAssertions(f), sweep,
    async start(o = {}) {
      const seed = await readKeysFile(f.config.dir)
      if (seed) await keys.seed(seed.keys)
      await ensureKey()
      await stopSweep()
      stopSweep = scheduleGrantSweep(sweep, { seconds: config.grant_sweep_seconds, logger: f.logger, ...(o.every ? { every: o.every } : {}) })
    },
    stop: () => stopSweep(),
    ...(dynamic ? { dynamic } : {}), initialAccessTokens,
    auth: new ClientAuthenticator({ f, registrar, maxLifetime: config.assertion_max_lifetime }),
    tokens,
    async jwks() {
      await ensureKey()
      return keys.jwks()
    },
    metadata: (endpoints) => {
      endpointUrls = endpoints
      return {
        issuer: f.entityId,
        ...endpoints,
        // `none`: public metadata document clients (docs/authorization-server.md); secrets: RFC 7591 clients without keys.
        token_endpoint_auth_methods_supported: [AUTH_METHOD, ...(config.client_id_metadata_documents ? ['none'] : []), ...(dynamic ? SECRET_METHODS : [])],
        token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
        introspection_endpoint_auth_methods_supported: [AUTH_METHOD],
        introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
        grant_types_supported: grantTypes,
        // RFC 8414 makes it REQUIRED; without the OP role this server has no authorization endpoint.
        response_types_supported: op ? ['code'] : [],
        client_registration_types_supported: ['automatic', 'explicit'],
        // draft-ietf-oauth-client-id-metadata-document section 5: admitted through a trust chain only.
        ...(config.client_id_metadata_documents ? { client_id_metadata_document_supported: true } : {}),
        ...(scopes ? { scopes_supported: [...scopes] } : config.scopes_supported ? { scopes_supported: [...config.scopes_supported] } : {}),
        ...(op ? opMetadata(config.id_token_signing_alg_values, scopes!, plugins.claims ?? DEFAULT_CLAIMS) : {}),
      }
    },
  }
}

/** Federation members of the OP's discovery document (spec "OpenID Connect OpenID Provider Metadata"). */
function federationDiscovery(e: Endpoints): Record<string, unknown> {
  return {
    client_registration_types_supported: ['automatic', 'explicit'],
    federation_registration_endpoint: e.federation_registration_endpoint,
    introspection_endpoint: e.introspection_endpoint,
    request_authentication_methods_supported: REQUEST_AUTHENTICATION_METHODS,
    request_authentication_signing_alg_values_supported: [...ASSERTION_ALGS],
  }
}

/** Spec "OpenID Connect OpenID Provider Metadata": how a request authenticates its client, by endpoint. */
const REQUEST_AUTHENTICATION_METHODS = {
  authorization_endpoint: ['request_object'],
  pushed_authorization_request_endpoint: ['request_object', 'private_key_jwt'],
}

/**
 * The openid_provider metadata beyond RFC 8414's (OpenID Connect Discovery; spec "OpenID
 * Connect OpenID Provider Metadata"). The ID token algorithms are those provider.ts enables,
 * each with an `oauth` key: what is advertised is what is served.
 */
function opMetadata(idTokenAlgs: readonly string[], scopes: ReadonlySet<string>, claims: Record<string, string[]>): Record<string, unknown> {
  return {
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...idTokenAlgs],
    // No userinfo_signing_alg_values_supported: userinfo answers are plain JSON (oidc-provider's jwtUserinfo is off).
    request_object_signing_alg_values_supported: [...ASSERTION_ALGS],
    request_parameter_supported: true,
    request_uri_parameter_supported: false,
    require_pushed_authorization_requests: false,
    code_challenge_methods_supported: ['S256'],
    response_modes_supported: ['query', 'form_post'],
    authorization_response_iss_parameter_supported: true,
    claims_supported: [...new Set(Object.entries(claims).filter(([s]) => scopes.has(s) || s === 'openid').flatMap(([, c]) => c))],
    revocation_endpoint_auth_methods_supported: [AUTH_METHOD],
    request_authentication_methods_supported: REQUEST_AUTHENTICATION_METHODS,
    request_authentication_signing_alg_values_supported: [...ASSERTION_ALGS],
  }
}
