/**
 * Resolve answers (spec "Resolve Response"): signed once and served from cache until the
 * chain's expiry (bounded by configuration), keyed by (sub, trusted anchors asked for,
 * entity types). Failures are remembered briefly. Everything is dropped at once when this
 * deployment's Publisher revision changes (a member, key or policy changed), and an
 * answer computed across such a change is not kept.
 *
 * Unauthenticated callers (spec "Denial-of-Service Attack Prevention"): with
 * `unauthenticated: 'cached'` a miss is resolved from cached statements only (no outbound
 * request); with 'discover' it is a discovery, admitted by the DiscoveryGate (concurrency,
 * per-address rate). Cached answers, and joining a resolution already running, are free.
 */
import type { LRUCache } from 'lru-cache'
import { boundedLru } from '../util/lru.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import { TYP } from '../constants.js'
import { FederationError, InvalidTrustAnchor } from '../errors.js'
import type { Resolver } from './resolver.js'
import type { ResolvedChain, ResolverLimits } from './types.js'
import { DiscoveryGate, type DiscoveryLimits } from './discovery.js'

export interface ResolveServiceOptions {
  entityId: string
  resolver: Resolver
  clock: Clock
  logger: Logger
  limits: Pick<ResolverLimits, 'cache_ttl_max' | 'failure_ttl' | 'cache_entries'>
  /** Trusted anchor ids in configured order; fixed for the life of the service. */
  anchorIds: readonly string[]
  /** Signs a resolve response with this entity's federation key, typ resolve-response+jwt. */
  sign(claims: Record<string, unknown>, typ: string): Promise<string>
  /** How unauthenticated callers are served; absent: they discover without limits. */
  unauthenticated?: DiscoveryLimits & { unauthenticated: 'discover' | 'cached' }
}

/** Who asks. */
export interface Caller {
  /** The operator (admin API) or code in this process: discovers, outside the unauthenticated bounds. */
  authenticated?: boolean
  /** The client address (behind a trusted proxy, the one the proxy saw). */
  address?: string | undefined
}

/** `cachedOnly`: a failure of a resolution from cached statements only, which a caller that may discover does not accept. */
type Answer = { ok: true; jwt: string; until: number } | { ok: false; error: FederationError; until: number; cachedOnly: boolean }

export class ResolveService {
  private readonly answers: LRUCache<string, Answer>
  private readonly inflight = new Map<string, Promise<Answer>>()
  /** Bumped by invalidate(): an answer computed before is not cached. */
  private generation = 0
  private readonly gate: DiscoveryGate | undefined

  constructor(private readonly o: ResolveServiceOptions) {
    this.answers = boundedLru(o.limits.cache_entries)
    this.gate = o.unauthenticated && new DiscoveryGate(o.unauthenticated, o.clock)
  }

  /** The cache key, or undefined when none of the anchors asked for is trusted. */
  key(sub: string, anchors: readonly string[], entityTypes: readonly string[] | undefined): string | undefined {
    const trusted = this.o.anchorIds.filter((a) => anchors.includes(a))
    if (!trusted.length) return undefined
    const types = entityTypes?.length ? [...new Set(entityTypes)].sort() : null
    return JSON.stringify([sub, trusted, types])
  }

  /**
   * Fast path: the cached signed answer for a query string's parameters, or undefined
   * when anything is unusual or not cached (koa then answers, identically or with the error).
   */
  peek(params: URLSearchParams): string | undefined {
    const subs = params.getAll('sub')
    if (subs.length !== 1 || !subs[0]) return undefined
    const anchors = params.getAll('trust_anchor').filter((a) => a !== '')
    if (!anchors.length) return undefined
    const key = this.key(subs[0], anchors, params.getAll('entity_type').filter((t) => t !== ''))
    const hit = key === undefined ? undefined : this.answers.get(key)
    return hit?.ok && hit.until > this.o.clock.now() ? hit.jwt : undefined
  }

  /**
   * The signed resolve response; throws the FederationError of the failure, or
   * DiscoveryRefused (503) when an unauthenticated discovery is not admitted now.
   */
  async answer(sub: string, anchors: readonly string[], entityTypes: readonly string[] | undefined, caller: Caller = { authenticated: true }): Promise<string> {
    const key = this.key(sub, anchors, entityTypes)
    if (key === undefined) throw new InvalidTrustAnchor(`${anchors.join(', ')}: not a trust anchor this resolver is configured to trust`)
    const hit = this.answers.get(key)
    const usable = hit && hit.until > this.o.clock.now() && (hit.ok || !hit.cachedOnly || this.mode(caller) === 'cached')
    const a = usable ? hit : await this.shared(key, sub, anchors, entityTypes, caller)
    if (a.ok) return a.jwt
    throw a.error
  }

  private mode(caller: Caller): 'discover' | 'cached' {
    return caller.authenticated || !this.o.unauthenticated ? 'discover' : this.o.unauthenticated.unauthenticated
  }

  invalidate(): void {
    this.generation++
    this.answers.clear()
    this.inflight.clear()
  }

  /** invalidate(), and the resolver forgets every fetched statement too (benchmarks, operators). */
  clearCaches(): void {
    this.invalidate()
    this.o.resolver.clearCaches()
  }

  private shared(key: string, sub: string, anchors: readonly string[], entityTypes: readonly string[] | undefined, caller: Caller): Promise<Answer> {
    const mode = this.mode(caller)
    // A cached-only resolution is not joined by a caller that may discover, nor the reverse.
    const flight = mode === 'cached' ? `${key} cached` : key
    let p = this.inflight.get(flight)
    if (p) return p
    const release = mode === 'discover' && !caller.authenticated ? this.gate?.admit(caller.address) : undefined
    const gen = this.generation
    p = this.compute(sub, anchors, entityTypes, mode === 'cached').finally(() => {
      release?.()
      if (this.inflight.get(flight) === p) this.inflight.delete(flight)
    })
    p.then((a) => {
      if (gen === this.generation) this.answers.set(key, a)
    }, () => undefined)
    this.inflight.set(flight, p)
    return p
  }

  private async compute(sub: string, anchors: readonly string[], entityTypes: readonly string[] | undefined, cachedOnly: boolean): Promise<Answer> {
    const now = this.o.clock.now()
    let chain: ResolvedChain
    try {
      chain = await this.o.resolver.resolve(sub, anchors, entityTypes?.length ? entityTypes : undefined, { cachedOnly })
    } catch (err) {
      // 5xx are not remembered: they are ours, not the subject's.
      if (!(err instanceof FederationError) || err.status >= 500) throw err
      this.o.logger.debug('resolve failed', { sub, error: err.error, description: err.message })
      return { ok: false, error: err, until: now + this.o.limits.failure_ttl, cachedOnly }
    }
    const jwt = await this.o.sign({
      iss: this.o.entityId, sub, iat: now, exp: chain.exp,
      metadata: chain.metadata, trust_marks: chain.trust_marks, trust_chain: chain.trust_chain,
    }, TYP.resolveResponse)
    // A revoked trust mark leaves the answer within its status cache time (docs/trust-marks.md).
    return { ok: true, jwt, until: Math.min(chain.exp, now + this.o.limits.cache_ttl_max, chain.cacheUntil ?? Infinity) }
  }
}
