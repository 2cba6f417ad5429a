/**
 * The HTTP adapter of each capability, by kind: its public routes (at the names and paths
 * the capability declares) and its admin routes. Adding a capability adds a case here.
 */
import type Router from '@koa/router'
import type { Capability } from '../capabilities/types.js'
import type { Federation } from '../federation.js'
import type { BodyLimits } from './body.js'
import { federationRoutes } from './endpoints/federation.js'
import { SoftwareStatements } from '../software_statements/service.js'
import { resolveRoutes, resolveAdminRoutes } from './endpoints/resolve.js'
import { trustMarkRoutes } from './endpoints/trust_marks.js'
import { authorizationServerRoutes } from './endpoints/authorization_server.js'
import { interactionRoutes, renderProviderError } from './endpoints/interactions.js'
import { trustMarkAdminRoutes } from './admin/trust_marks.js'
import { authorizationServerAdminRoutes } from './admin/clients.js'

export interface Mount {
  router: Router
  admin: Router
  federation: Federation
  max: BodyLimits
}

export function mountCapability(c: Capability, m: Mount): void {
  const { router, admin, federation: f, max } = m
  switch (c.kind) {
    case 'federation':
      federationRoutes(router, c, f.publisher, new SoftwareStatements(f), max)
      return
    case 'policy_check':
      return
    case 'trust_marks':
      trustMarkRoutes(router, c, max)
      trustMarkAdminRoutes(admin, c.services, max)
      return
    case 'resolver':
      resolveRoutes(router, c, f.config.server.trust_proxy)
      resolveAdminRoutes(admin, c.service, f.config.resolver.admin_concurrency)
      return
    case 'authorization_server':
      // The OpenID Provider role's login and consent pages first: oidc-provider's routes would answer their paths too.
      if (c.endpoints.authorization_endpoint) {
        interactionRoutes(router, {
          provider: () => c.server.provider(), accounts: c.users.accounts, ...(c.users.upstream ? { upstream: c.users.upstream } : {}),
          registration: (id) => c.server.registrar.records.get(id), audit: f.audit, logger: f.logger, entityId: f.entityId, max,
          development: f.config.development,
        })
        c.server.plugins.renderError = renderProviderError(f.entityId, f.config.development)
      }
      authorizationServerRoutes(router, c, f, max)
      authorizationServerAdminRoutes(admin, c.server, f.audit, max)
      return
    default: {
      // A new kind in the Capability union without an adapter here does not compile.
      const unmounted: never = c
      throw new Error(`no HTTP adapter for capability ${(unmounted as Capability).kind}`)
    }
  }
}
