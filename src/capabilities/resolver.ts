/**
 * The resolver capability (spec "Resolve Entity"): one ResolveService per federation over
 * the trusted anchors, the resolve route, and its fast route (cached signed answers). Its
 * answers are dropped on every change except the issued-marks index catching up (the store
 * write before it already dropped them).
 */
import type { Foundation } from '../foundation.js'
import { MEDIA } from '../constants.js'
import { signJwt } from '../crypto/jwt.js'
import type { TrustMarkVerifier } from '../trust_chain/trust_mark_verifier.js'
import type { TrustedAnchors } from '../trust_chain/anchors.js'
import { Resolver } from '../trust_chain/resolver.js'
import type { LocalStatements } from '../trust_chain/source.js'
import { ResolveService } from '../trust_chain/service.js'
import type { ResolverCapability } from './types.js'

export interface ResolverDeps {
  /** What this deployment signs itself (never fetched over HTTP). */
  statements: LocalStatements
  anchors: TrustedAnchors
  /** Absent: no trust marks in answers. */
  verifier?: TrustMarkVerifier | undefined
}

export function resolverCapability(f: Foundation, d: ResolverDeps): ResolverCapability {
  const { config } = f
  const resolver = new Resolver({
    fetcher: f.fetcher, clock: f.clock, logger: f.logger.child({ component: 'resolver' }), skew: config.clock_skew, limits: config.resolver,
    json: { maxDepth: config.limits.json_depth },
    anchors: d.anchors.anchors,
    pins: d.anchors.pins,
    local: d.statements,
    verifier: d.verifier,
  })
  const service = new ResolveService({
    entityId: f.entityId, resolver, clock: f.clock, logger: f.logger, limits: config.resolver,
    anchorIds: d.anchors.ids,
    sign: async (claims, typ) => signJwt(claims, await f.keystore.signingKey(), typ),
    unauthenticated: config.resolver,
    cache: (outcome) => f.metrics.resolve(outcome),
  })
  const unsubscribe = f.changes.subscribe((c) => {
    if (c.type !== 'issued_marks_indexed') service.invalidate()
  })
  return {
    kind: 'resolver',
    service,
    routes: { federation_resolve_endpoint: '/resolve' },
    fastRoutes: [{ route: 'federation_resolve_endpoint', mediaType: MEDIA.resolveResponse, peek: (search) => service.peek(new URLSearchParams(search)) }],
    stop: async () => unsubscribe(),
  }
}
