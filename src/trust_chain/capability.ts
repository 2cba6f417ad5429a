/**
 * The resolver capability: one Resolver and ResolveService per Federation, built from
 * its configuration, publisher, fetcher, clock, logger and keystore, and the resolve route.
 *
 * Anchors: `config.trust_anchors` (keys pinned in configuration) in configured order, and,
 * when this deployment has no authority_hints (it is a trust anchor), itself, last, with
 * its own keystore keys (read per resolution, so a rotation applies at once).
 */
import type { Capabilities } from '../capabilities.js'
import type { Federation } from '../federation.js'
import type { TrustMarkVerifier } from '../trust_marks/verify_contract.js'
import { signJwt } from '../crypto/jwt.js'
import { resolveRoutes, resolveAdminRoutes } from '../http/endpoints/resolve.js'
import { Resolver } from './resolver.js'
import { createAnchorPins } from './anchor_pins.js'
import { ResolveService } from './service.js'
import type { TrustAnchor } from './types.js'

export interface ResolverCapabilityOptions {
  /** The trust mark verifier, or a factory given the federation; absent: no trust marks in answers. */
  verifier?: TrustMarkVerifier | ((f: Federation) => TrustMarkVerifier | undefined)
}

/**
 * Services by federation, so the listener's fast path can find the resolve cache. Keyed
 * by instance (weakly): several federations in one process never share one.
 */
const services = new WeakMap<Federation, ResolveService>()

export function resolverCapability(options: ResolverCapabilityOptions = {}): Partial<Capabilities> {
  return {
    http: [{
      routes(router, f) {
        resolveRoutes(router, serviceFor(f, options), f.config.server.trust_proxy)
      },
      admin(router, f) {
        resolveAdminRoutes(router, serviceFor(f, options))
      },
    }],
  }
}

/** The fast-path lookup for the listener: a cached signed answer, or undefined. */
export function peekResolve(f: Federation): ((params: URLSearchParams) => string | undefined) | undefined {
  const s = services.get(f)
  return s ? (params) => s.peek(params) : undefined
}

/** The federation's resolve service, created on first use. */
export function serviceFor(f: Federation, options: ResolverCapabilityOptions = {}): ResolveService {
  let s = services.get(f)
  if (!s) {
    s = createResolveService(f, options)
    services.set(f, s)
  }
  return s
}

export function createResolveService(f: Federation, options: ResolverCapabilityOptions = {}): ResolveService {
  const { config } = f
  const selfAnchor = config.authority_hints.length === 0 && !config.trust_anchors.some((a) => a.entity_id === f.entityId)
  const configured: TrustAnchor[] = config.trust_anchors.map((a) => ({ entity_id: a.entity_id, jwks: a.jwks }))
  // Pins follow the anchors' key rollover (anchor_pins.ts); configured order kept.
  const pins = createAnchorPins(f)
  const verifier = typeof options.verifier === 'function' ? options.verifier(f) : options.verifier
  const resolver = new Resolver({
    fetcher: f.fetcher, clock: f.clock, logger: f.logger.child({ component: 'resolver' }), skew: config.clock_skew, limits: config.resolver,
    json: { maxDepth: config.limits.json_depth },
    anchors: async () => (selfAnchor ? [...await pins.anchors(), { entity_id: f.entityId, jwks: await f.keystore.jwks() }] : pins.anchors()),
    pins,
    local: {
      entityId: f.entityId,
      entityConfiguration: () => f.publisher.entityConfiguration(),
      subordinateStatement: (sub) => f.publisher.subordinateStatement(sub),
    },
    verifier,
  })
  const service = new ResolveService({
    entityId: f.entityId, resolver, clock: f.clock, logger: f.logger, limits: config.resolver,
    anchorIds: [...configured.map((a) => a.entity_id), ...(selfAnchor ? [f.entityId] : [])],
    sign: async (claims, typ) => signJwt(claims, await f.keystore.signingKey(), typ),
    unauthenticated: config.resolver,
  })
  f.publisher.onRevision(() => service.invalidate())
  return service
}
