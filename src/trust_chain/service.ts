/**
 * Resolve answers (spec "Resolve Response"): signed once and cached, keyed by (sub, trusted
 * anchors asked for, entity types). An answer is fresh for `answer_ttl_max` seconds from
 * the start of its resolution; after that it is stale: still served, for at most
 * `answer_stale_seconds` more, while one background refresh per key re-resolves it (the
 * server's own work: under the work budget, outside the unauthenticated discovery limits,
 * at most `max_concurrent_refreshes` at once). The refresh replaces it when it succeeds and
 * drops it at once when the chain is broken (the next request gets the error). No answer is
 * served past the chain's exp (or the freshness of its trust marks' status). Failures are
 * remembered briefly. Everything is dropped at once when this deployment's Publisher
 * revision changes (a member, key or policy changed), and an answer computed across such
 * a change is not kept. docs/resolution.md, "Propagation bound", states the resulting bound.
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
import type { PathFailure, ResolvedChain, ResolverLimits } from './types.js'
import { ResolveError } from './errors.js'
import { DiscoveryGate, type DiscoveryLimits } from './discovery.js'

export interface ResolveServiceOptions {
  entityId: string
  resolver: Resolver
  clock: Clock
  logger: Logger
  limits: Pick<ResolverLimits, 'cache_ttl_max' | 'answer_ttl_max' | 'answer_stale_seconds' | 'max_concurrent_refreshes' | 'failure_ttl' | 'cache_entries'>
  /** Trusted anchor ids in configured order; fixed for the life of the service. */
  anchorIds: readonly string[]
  /** Signs a resolve response with this entity's federation key, typ resolve-response+jwt. */
  sign(claims: Record<string, unknown>, typ: string): Promise<string>
  /** How unauthenticated callers are served; absent: they discover without limits. */
  unauthenticated?: DiscoveryLimits & { unauthenticated: 'discover' | 'cached' }
  /** Counts answers served from the cache (fast path included) and those resolved (metrics.ts). */
  cache?: (outcome: 'hit' | 'miss') => void
}

/** Who asks. */
export interface Caller {
  /** The operator (admin API) or code in this process: discovers, outside the unauthenticated bounds. */
  authenticated?: boolean
  /** The client address (behind a trusted proxy, the one the proxy saw). */
  address?: string | undefined
}

interface Query {
  sub: string
  anchors: readonly string[]
  entityTypes: readonly string[] | undefined
}

/**
 * `fresh`: served as is until then; `until`: never served from then on (a success is stale
 * between the two). `cachedOnly`: a failure of a resolution from cached statements only,
 * which a caller that may discover does not accept.
 */
type Answer =
  | { ok: true; jwt: string; fresh: number; until: number; query: Query }
  | { ok: false; error: FederationError; until: number; cachedOnly: boolean }

export class ResolveService {
  private readonly answers: LRUCache<string, Answer>
  private readonly inflight = new Map<string, Promise<Answer>>()
  /** Bumped by invalidate(): an answer computed before is not cached. */
  private generation = 0
  private readonly gate: DiscoveryGate | undefined
  /** Background refreshes of stale answers running now. */
  private refreshing = 0

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
    const jwt = key === undefined ? undefined : this.cached(key)?.jwt
    // A miss here is counted by answer(), which koa then calls.
    if (jwt !== undefined) this.o.cache?.('hit')
    return jwt
  }

  /** The usable successful answer for `key`, starting its background refresh when stale. */
  private cached(key: string): { jwt: string } | undefined {
    const hit = this.answers.get(key)
    if (!hit?.ok) return undefined
    const now = this.o.clock.now()
    if (hit.until <= now) return undefined
    if (hit.fresh <= now) this.refresh(key, hit.query)
    return hit
  }

  /**
   * One background re-resolution of a stale answer per key (a request's resolution already
   * running for the key counts), at most max_concurrent_refreshes at once; when none can
   * start, the stale answer is still served until its hard limit and then dropped.
   */
  private refresh(key: string, q: Query): void {
    if (this.inflight.has(key) || this.refreshing >= this.o.limits.max_concurrent_refreshes) return
    this.refreshing++
    this.shared(key, q, { authenticated: true }).then(
      () => undefined,
      // Ours (a 5xx): the answer is not kept past a refresh that could not confirm it.
      (err: unknown) => {
        this.o.logger.warn('resolve refresh failed', { sub: q.sub, error: (err as Error).message })
        this.answers.delete(key)
      },
    ).finally(() => this.refreshing--)
  }

  /**
   * The signed resolve response; throws the FederationError of the failure, or
   * DiscoveryRefused (503) when an unauthenticated discovery is not admitted now.
   */
  async answer(sub: string, anchors: readonly string[], entityTypes: readonly string[] | undefined, caller: Caller = { authenticated: true }): Promise<string> {
    const key = this.key(sub, anchors, entityTypes)
    if (key === undefined) throw new InvalidTrustAnchor(`${anchors.join(', ')}: not a trust anchor this resolver is configured to trust`)
    const served = this.cached(key)
    if (served) {
      this.o.cache?.('hit')
      return served.jwt
    }
    const hit = this.answers.get(key)
    const usable = hit && !hit.ok && hit.until > this.o.clock.now() && (!hit.cachedOnly || this.mode(caller) === 'cached')
    // A failure remembered (failure_ttl) is a hit too: nothing is resolved for it.
    this.o.cache?.(usable ? 'hit' : 'miss')
    const a = usable ? hit : await this.shared(key, { sub, anchors, entityTypes }, caller)
    if (a.ok) return a.jwt
    throw a.error
  }

  private mode(caller: Caller): 'discover' | 'cached' {
    return caller.authenticated || !this.o.unauthenticated ? 'discover' : this.o.unauthenticated.unauthenticated
  }

  /**
   * The operator's explanation of a resolution (POST {admin}/resolve/explain): resolved
   * afresh (discovery allowed, no answer cached or served from cache), with the metadata
   * policy recorded step by step; a failure comes back with every path tried. Only errors of
   * this deployment (5xx) are thrown.
   */
  async explain(sub: string, anchors: readonly string[], entityTypes: readonly string[] | undefined): Promise<{ ok: true; chain: ResolvedChain } | { ok: false; error: FederationError; paths: PathFailure[] }> {
    try {
      return { ok: true, chain: await this.o.resolver.resolve(sub, anchors, entityTypes?.length ? entityTypes : undefined, { explain: true }) }
    } catch (err) {
      if (!(err instanceof FederationError) || err.status >= 500) throw err
      return { ok: false, error: err, paths: err instanceof ResolveError ? err.paths : [] }
    }
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

  private shared(key: string, q: Query, caller: Caller): Promise<Answer> {
    const mode = this.mode(caller)
    // A cached-only resolution is not joined by a caller that may discover, nor the reverse.
    const flight = mode === 'cached' ? `${key} cached` : key
    let p = this.inflight.get(flight)
    if (p) return p
    const release = mode === 'discover' && !caller.authenticated ? this.gate?.admit(caller.address) : undefined
    const gen = this.generation
    p = this.compute(q, mode === 'cached').finally(() => {
      release?.()
      if (this.inflight.get(flight) === p) this.inflight.delete(flight)
    })
    p.then((a) => {
      if (gen === this.generation) this.answers.set(key, a)
    }, () => undefined)
    this.inflight.set(flight, p)
    return p
  }

  private async compute(query: Query, cachedOnly: boolean): Promise<Answer> {
    const { sub, anchors, entityTypes } = query
    // Freshness counts from the start: a statement read now may have been fetched just before a removal.
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
    const { answer_ttl_max, cache_ttl_max, answer_stale_seconds } = this.o.limits
    const ttl = Math.min(answer_ttl_max, cache_ttl_max)
    // A revoked trust mark leaves the answer within its status cache time (docs/trust-marks.md).
    const until = Math.min(chain.exp, now + ttl + answer_stale_seconds, chain.cacheUntil ?? Infinity)
    return { ok: true, jwt, fresh: Math.min(now + ttl, until), until, query }
  }
}
