/**
 * The authorization server of one federation: its OAuth signing keys (stored beside the
 * federation keys, purpose 'oauth', published only at jwks_uri), the registrar, client
 * authentication, tokens, and its metadata (RFC 8414; spec "OAuth Authorization Server"),
 * published both in the entity configuration and at /.well-known/oauth-authorization-server.
 */
import type { RegistrationDeps } from '../registration/deps.js'
import type { TrustedAnchors } from '../trust_chain/anchors.js'
import type { LocalStatements } from '../trust_chain/source.js'
import type { AuthorizationServerConfig } from '../config/load.js'
import { Keystore } from '../crypto/keystore.js'
import type { SigningKey } from '../crypto/jwt.js'
import type { Jwks } from '../types.js'
import { Registrar } from '../registration/registrar.js'
import { AUTH_METHOD } from '../registration/client_metadata.js'
import { ClientAuthenticator, ASSERTION_ALGS } from './client_auth.js'
import { TokenService, GRANT_TYPES } from './tokens.js'

/** Endpoint URLs, from the router (so they cannot drift from the routes). */
export interface Endpoints {
  token_endpoint: string
  introspection_endpoint: string
  jwks_uri: string
  federation_registration_endpoint: string
}

export interface AuthorizationServer {
  config: AuthorizationServerConfig
  registrar: Registrar
  keys: Keystore
  auth: ClientAuthenticator
  tokens: TokenService
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
  return {
    config, registrar, keys, signingKey,
    auth: new ClientAuthenticator({ f, registrar, maxLifetime: config.assertion_max_lifetime }),
    tokens: new TokenService({ f, as: config, signingKey, registrar }),
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
