/**
 * The authorization server capability: when `authorization_server.enabled`, the token,
 * introspection, JWK Set and federation registration endpoints, the RFC 8414 metadata
 * document, the oauth_authorization_server metadata in the entity configuration (spec
 * "OAuth Authorization Server"), and the clients admin API. One service per federation;
 * composing the capability twice into one app adds its routes once.
 */
import type Router from '@koa/router'
import type { Capabilities } from '../capabilities.js'
import type { Federation } from '../federation.js'
import { authorizationServerAdminRoutes } from './admin.js'
import { authorizationServerRoutes } from './http.js'
import { createAuthorizationServer, type AuthorizationServer } from './service.js'

const services = new WeakMap<Federation, AuthorizationServer>()
/** Routers the routes were added to (weakly: nothing here outlives its app). */
const attached = new WeakSet<Router>()

/** The federation's authorization server, or undefined when the role is not enabled. */
export function authorizationServerFor(f: Federation): AuthorizationServer | undefined {
  const config = f.config.authorization_server
  if (!config?.enabled) return undefined
  let s = services.get(f)
  if (!s) {
    services.set(f, (s = createAuthorizationServer(f, config)))
    if (!f.config.trust_anchors.length && f.config.authority_hints.length) {
      f.logger.warn('authorization server: no trust_anchors are configured, so every registration will be refused')
    }
  }
  return s
}

export function authorizationServerCapability(): Partial<Capabilities> {
  return {
    http: [{
      routes(router, f) {
        const s = authorizationServerFor(f)
        if (!s || attached.has(router)) return
        attached.add(router)
        const endpoints = authorizationServerRoutes(router, f, s)
        const metadata = s.metadata(endpoints)
        // Spec "OAuth Authorization Server": issuer is the entity id; configured extras are kept, ours win.
        f.publisher.addContributor((claims) => {
          claims.metadata = { ...claims.metadata, oauth_authorization_server: { ...claims.metadata?.oauth_authorization_server, ...metadata } }
        })
      },
      admin(router, f) {
        const s = authorizationServerFor(f)
        if (!s || attached.has(router)) return
        attached.add(router)
        authorizationServerAdminRoutes(router, f, s)
      },
    }],
  }
}
