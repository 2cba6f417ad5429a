/**
 * The authorization server of one federation: its OAuth signing keys (stored beside the
 * federation keys, purpose 'oauth', published only at jwks_uri), the registrar, the
 * federation clients, the oidc-provider instance built over them (./provider.ts), and its
 * metadata (RFC 8414; spec "OAuth Authorization Server"), published both in the entity
 * configuration and at /.well-known/oauth-authorization-server.
 */
import type Provider from 'oidc-provider'
import type { FindAccount } from 'oidc-provider'
import type { RegistrationDeps } from '../registration/deps.js'
import type { TrustedAnchors } from '../trust_chain/anchors.js'
import type { LocalStatements } from '../trust_chain/source.js'
import type { AuthorizationServerConfig } from '../config/load.js'
import { Keystore } from '../crypto/keystore.js'
import type { SigningKey } from '../crypto/jwt.js'
import type { Jwks } from '../types.js'
import { Registrar } from '../registration/registrar.js'
import { AUTH_METHOD } from '../registration/client_metadata.js'
import { ClientAuthenticator, UsedAssertions, ASSERTION_ALGS } from './client_auth.js'
import { TokenService, GRANT_TYPES, clientCredentialsGrant } from './tokens.js'
import { FederationClients, type ClientSource } from './federation_clients.js'
import { randomBytes } from 'node:crypto'
import type { AdapterClass } from './provider.js'
import { requestContext } from './request_context.js'

/** Endpoint URLs, from the router (so they cannot drift from the routes). */
export interface Endpoints {
  token_endpoint: string
  introspection_endpoint: string
  jwks_uri: string
  federation_registration_endpoint: string
}

/** Seams other modules plug into the provider (accounts, the store adapter, more grants). */
export interface ProviderPlugins {
  /** The store adapter (adapter.ts), given the client source its Client model delegates to. */
  adapter?: (clients: ClientSource) => AdapterClass
  findAccount?: FindAccount
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
  /** Client assertions accepted by this process (replays refused before any work). */
  usedAssertions: UsedAssertions
  /** Seams for accounts, the store adapter and extra grants; set before the first request. */
  plugins: ProviderPlugins
  /** The oidc-provider instance, built on first use with the current `oauth` key (rebuilt when it rotates). */
  provider(): Promise<Provider>
  /** The published JWK Set of the OAuth keys (a key is created on first use). */
  jwks(): Promise<Jwks>
  /** The current OAuth signing key (a key is created on first use). */
  signingKey(): Promise<SigningKey>
  metadata(endpoints: Endpoints): Record<string, unknown>
}

export function createAuthorizationServer(
  f: RegistrationDeps, config: AuthorizationServerConfig, d: { statements: LocalStatements; anchors: TrustedAnchors },
): AuthorizationServer {
  const keys = new Keystore({
    store: f.store, clock: f.clock, logger: f.logger, alg: f.config.signing_alg, purpose: 'oauth',
    ...(f.config.kek ? { kek: f.config.kek } : {}),
  })
  let ready: Promise<void> | undefined
  // A key is created on first use, not at start, so a deployment that never issues a token has none.
  const ensureKey = () => (ready ??= keys.ensureKey().catch((err: unknown) => {
    ready = undefined
    throw err
  }))
  const signingKey = async () => {
    await ensureKey()
    return keys.signingKey()
  }
  const registrar = new Registrar(f, config, d)
  const clients = new FederationClients(f, registrar, { grantTypes: new Set<string>(GRANT_TYPES) })
  const plugins: ProviderPlugins = {}
  const prefix = new URL(f.entityId).pathname.replace(/\/+$/, '')
  // Secrets for oidc-provider's signed cookies (one set per process).
  const cookieKeys = [randomBytes(32).toString('base64url')]
  let built: { kid: string; provider: Promise<Provider> } | undefined
  const provider = async (): Promise<Provider> => {
    await ensureKey()
    const key = await keys.signingJwk()
    if (built?.kid !== key.kid) {
      built = {
        kid: key.kid,
        // oidc-provider is loaded only when the role serves its first request.
        provider: import('./provider.js').then(({ createOidcProvider }) => {
          const p = createOidcProvider({
            f, config, clients, key, cookieKeys, prefix, context: requestContext,
            ...(plugins.adapter ? { adapter: plugins.adapter(clients) } : {}),
            ...(plugins.findAccount ? { findAccount: plugins.findAccount } : {}),
          })
          p.registerGrantType('client_credentials', clientCredentialsGrant({ f, as: config, registrar, alg: key.alg }), ['scope', 'resource'], ['scope', 'resource'])
          for (const c of plugins.configure ?? []) c(p)
          return p
        }),
      }
    }
    return built.provider
  }
  return {
    config, registrar, keys, signingKey, clients, plugins, provider, usedAssertions: new UsedAssertions(f),
    auth: new ClientAuthenticator({ f, registrar, maxLifetime: config.assertion_max_lifetime }),
    tokens: new TokenService({ f, as: config, registrar }),
    async jwks() {
      await ensureKey()
      return keys.jwks()
    },
    metadata: (endpoints) => ({
      issuer: f.entityId,
      ...endpoints,
      token_endpoint_auth_methods_supported: [AUTH_METHOD],
      token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
      introspection_endpoint_auth_methods_supported: [AUTH_METHOD],
      introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
      grant_types_supported: [...GRANT_TYPES],
      // RFC 8414 makes it REQUIRED; this server has no authorization endpoint.
      response_types_supported: [],
      client_registration_types_supported: ['automatic', 'explicit'],
      ...(config.scopes_supported ? { scopes_supported: [...config.scopes_supported] } : {}),
    }),
  }
}
