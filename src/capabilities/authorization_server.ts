/**
 * The authorization server capability, when `authorization_server.enabled`: the token,
 * introspection, JWK Set and federation registration endpoints (named `as_*`: their URLs
 * belong in the oauth_authorization_server metadata, not in federation_entity), that
 * metadata in the entity configuration (spec "OAuth Authorization Server"), and the
 * clients admin API (its HTTP adapter).
 */
import type { Foundation } from '../federation.js'
import type { TrustedAnchors } from '../trust_chain/anchors.js'
import type { LocalStatements } from '../trust_chain/source.js'
import type { TrustMarkVerifier } from '../trust_chain/trust_mark_verifier.js'
import { createAuthorizationServer, type Endpoints } from '../authorization_server/service.js'
import { routeUrl, type AuthorizationServerCapability } from './types.js'
import { Accounts } from '../authorization_server/accounts.js'
import { UpstreamLogin } from '../authorization_server/upstream.js'
import { readUsersFile, readUpstreamKey } from '../config/files.js'
import type { AuthorizationServerConfig, UpstreamConfig } from '../config/load.js'

export const AS_ROUTES = {
  as_token_endpoint: '/oauth/token',
  as_introspection_endpoint: '/oauth/introspect',
  as_jwks_uri: '/oauth/jwks',
  as_federation_registration_endpoint: '/oauth/register',
} as const

/**
 * RFC 7591 registration with a software statement (dynamic_registration.ts), and RFC 7592
 * configuration at `/oauth/clients/{client_id}`: the path oidc-provider's own (disabled)
 * registration feature is given in provider.ts, beside the federation's `/oauth/register`.
 */
export const DYNAMIC_ROUTES = {
  as_registration_endpoint: '/oauth/clients',
} as const

/** The OpenID Provider role's routes (oidc-provider's, at the paths provider.ts gives it). */
export const OP_ROUTES = {
  as_authorization_endpoint: '/oauth/authorize',
  as_pushed_authorization_request_endpoint: '/oauth/par',
  as_userinfo_endpoint: '/oauth/userinfo',
  as_revocation_endpoint: '/oauth/revoke',
  /** OpenID Connect Discovery 1.0 section 4: the issuer's path + /.well-known/openid-configuration. */
  as_openid_configuration: '/.well-known/openid-configuration',
} as const

export function authorizationServerCapability(
  f: Foundation, d: { statements: LocalStatements; anchors: TrustedAnchors; verifier?: TrustMarkVerifier },
): AuthorizationServerCapability | undefined {
  const config = f.config.authorization_server
  if (!config?.enabled) return undefined
  if (!f.config.trust_anchors.length && f.config.authority_hints.length) {
    f.logger.warn('authorization server: no trust_anchors are configured, so every registration will be refused')
  }
  const server = createAuthorizationServer(f, config, d)
  const users = usersOf(f, config)
  server.plugins.findAccount = users.accounts.findAccount
  const url = (path: string) => routeUrl(f.entityId, path)
  const op = config.openid_provider
  const endpoints: Endpoints = {
    token_endpoint: url(AS_ROUTES.as_token_endpoint),
    introspection_endpoint: url(AS_ROUTES.as_introspection_endpoint),
    jwks_uri: url(AS_ROUTES.as_jwks_uri),
    federation_registration_endpoint: url(AS_ROUTES.as_federation_registration_endpoint),
    ...(config.dynamic_registration ? { registration_endpoint: url(DYNAMIC_ROUTES.as_registration_endpoint) } : {}),
    ...(op ? {
      authorization_endpoint: url(OP_ROUTES.as_authorization_endpoint),
      pushed_authorization_request_endpoint: url(OP_ROUTES.as_pushed_authorization_request_endpoint),
      userinfo_endpoint: url(OP_ROUTES.as_userinfo_endpoint),
      revocation_endpoint: url(OP_ROUTES.as_revocation_endpoint),
    } : {}),
  }
  const metadata = server.metadata(endpoints)
  return {
    kind: 'authorization_server',
    server,
    endpoints,
    users,
    routes: { ...AS_ROUTES, ...(op ? OP_ROUTES : {}), ...(config.dynamic_registration ? DYNAMIC_ROUTES : {}) },
    // The `oauth` keys of every algorithm the provider signs with, created now when missing (keys.json's seed first).
    start: () => server.start(),
    // The grant sweep's timer.
    stop: () => server.stop(),
    // Spec "OAuth Authorization Server" and "OpenID Connect OpenID Provider Metadata": issuer
    // is the entity id; configured extras are kept, ours win.
    claims: [(claims) => {
      claims.metadata = {
        ...claims.metadata,
        oauth_authorization_server: { ...claims.metadata?.oauth_authorization_server, ...metadata },
        ...(op ? { openid_provider: { ...claims.metadata?.openid_provider, ...metadata } } : {}),
      }
    }],
  }
}

/** The users file (read now; a configured file that does not exist yet holds no users) and the upstream OpenID Provider. */
function usersOf(f: Foundation, config: AuthorizationServerConfig): AuthorizationServerCapability['users'] {
  const usersFile = config.users_file ? readUsersFile(config.users_file) : undefined
  if (config.users_file && usersFile === undefined) f.logger.warn('authorization server: the users file does not exist (yet): nobody can sign in with a password', { users_file: config.users_file })
  const accounts = new Accounts({ store: f.store, clock: f.clock, audit: f.audit, config, ...(usersFile !== undefined ? { usersFile } : {}) })
  if (!config.upstream) return { accounts }
  const privateKey = readUpstreamKey(f.config)
  const upstream = new UpstreamLogin({
    store: f.store, clock: f.clock, fetcher: f.fetcher, config: config as AuthorizationServerConfig & { upstream: UpstreamConfig },
    ...(privateKey !== undefined ? { privateKey } : {}),
  })
  return { accounts, upstream }
}
