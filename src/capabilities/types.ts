/**
 * What a capability declares, as data the composition root (service.ts) and the HTTP layer
 * read: its public routes (name -> path; `federation_*_endpoint` names are published in the
 * entity configuration), entity configuration claims, list filters, fast routes, an
 * onboarding policy check, and start/stop hooks. Handlers for the routes are the HTTP
 * layer's (src/http/capabilities.ts, by `kind`), so no capability imports koa.
 */
import type { ConfigurationContributor, ListFilter } from '../entity/publisher.js'
import type { MetadataPolicy } from '../types.js'
import type { TrustMarkServices } from '../trust_marks/services.js'
import type { ResolveService } from '../trust_chain/service.js'
import type { AuthorizationServer, Endpoints } from '../authorization_server/service.js'
import type { Accounts } from '../authorization_server/accounts.js'
import type { UpstreamLogin } from '../authorization_server/upstream.js'

/**
 * An answer the listener may give before koa sees the request: for a GET of the route's
 * path, the cached body for the query string (without `?`, '' when none), or undefined to
 * let koa answer (a miss, or anything unusual: koa gives the same answer or the exact error).
 */
export interface FastRoute {
  /** The route's name (its path comes from the same declaration). */
  route: string
  mediaType: string
  peek(search: string): string | Buffer | undefined
}

export type PolicyCheck = (policy: MetadataPolicy, crit: string[] | undefined) => void

export interface Declaration {
  /** Public routes: name -> path under the entity id's path. */
  routes?: Readonly<Record<string, string>>
  claims?: ConfigurationContributor[]
  listFilters?: ListFilter[]
  fastRoutes?: FastRoute[]
  /** Checked at onboarding for every subordinate's metadata_policy. */
  checkPolicy?: PolicyCheck
  start?(): Promise<void>
  stop?(): Promise<void>
}

/** The foundation's own endpoints (spec "Federation Endpoints"): served by every deployment. */
export interface FederationCapability extends Declaration { kind: 'federation' }
export interface PolicyCheckCapability extends Declaration { kind: 'policy_check' }
export interface TrustMarksCapability extends Declaration { kind: 'trust_marks'; services: TrustMarkServices }
export interface ResolverCapability extends Declaration { kind: 'resolver'; service: ResolveService }
export interface AuthorizationServerCapability extends Declaration {
  kind: 'authorization_server'
  server: AuthorizationServer
  endpoints: Endpoints
  /** The users who sign in (users file, the enterprise OpenID Provider), for the interaction pages. */
  users: { accounts: Accounts; upstream?: UpstreamLogin }
}

export type Capability =
  | FederationCapability | PolicyCheckCapability | TrustMarksCapability | ResolverCapability | AuthorizationServerCapability

/** The URL of a route declared at `path` (the router mounts every route under the entity id's path). */
export function routeUrl(entityId: string, path: string): string {
  const url = new URL(entityId)
  return url.origin + url.pathname.replace(/\/+$/, '') + path
}

/** `federation_*_endpoint` URLs, from the declared routes: what is published is what is routed. */
export function publishedEndpoints(entityId: string, capabilities: readonly Capability[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const c of capabilities) {
    for (const [name, path] of Object.entries(c.routes ?? {})) {
      if (/^federation_[a-z_]+_endpoint$/.test(name)) out[name] = routeUrl(entityId, path)
    }
  }
  return out
}
