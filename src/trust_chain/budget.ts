/**
 * The work budget of one resolution (spec "Denial-of-Service Attack Prevention"): outbound
 * fetches, signature verifications and wall time, shared by every branch of the walk and by
 * every resolution it leads to (a trust mark issuer's chain, a presented chain checked
 * first). `max_fan_out` and `max_depth` bound the shape of one path; only a budget bounds
 * the sum over all of them: a tree with 5 authority_hints per node is 5^d paths deep at d.
 *
 * What counts: a statement fetched over HTTP (not one served from cache or joined while
 * another resolution fetches it, nor this deployment's own statements, which need no
 * HTTP); a signature actually verified (not one remembered from an earlier verification).
 * Time is checked against the injected clock at every unit of work, and by a real timer
 * that ends the resolution when it runs out while a fetch is still pending.
 */
import type { Clock } from '../clock.js'
import type { Fetcher } from '../net/fetch.js'

export interface BudgetLimits {
  /** Outbound fetches. */
  fetches: number
  /** Signature verifications. */
  verifications: number
  /** Wall time, milliseconds. */
  ms: number
}

export type BudgetLimit = 'fetches' | 'verifications' | 'time'

/** The configuration key that sets each limit, named in errors so an operator knows what to raise. */
export const BUDGET_KEYS: Readonly<Record<BudgetLimit, string>> = Object.freeze({
  fetches: 'resolver.budget_fetches',
  verifications: 'resolver.budget_verifications',
  time: 'resolver.budget_ms',
})

/** Work figures at the moment a budget ran out. */
export interface BudgetFigures {
  fetches: number
  verifications: number
  ms: number
}

/** The budget ran out. Not a ChainError: it ends the whole resolution, not one path. */
export class BudgetExceeded extends Error {
  constructor(readonly limit: BudgetLimit, readonly limits: BudgetLimits, readonly figures: BudgetFigures) {
    const what = limit === 'time' ? `${limits.ms} ms of wall time` : `${limits[limit]} ${limit === 'fetches' ? 'outbound fetches' : 'signature verifications'}`
    super(`resolution work budget exceeded: ${what} (${BUDGET_KEYS[limit]}); reached ${describe(figures)}`)
    this.name = 'BudgetExceeded'
  }
}

/**
 * A statement was needed that is not cached, and this resolution may not fetch
 * (`resolver.unauthenticated: "cached"`, spec "Denial-of-Service Attack Prevention").
 */
export class NotCached extends Error {
  constructor(readonly url: string) {
    super(`${url} is not in this resolver's cache, and unauthenticated requests are answered from cached information only`)
    this.name = 'NotCached'
  }
}

function describe(f: BudgetFigures): string {
  return `${f.fetches} outbound fetches, ${f.verifications} signature verifications, ${f.ms} ms`
}

export class Budget {
  private fetched = 0
  private verified = 0
  private readonly startClock: number
  private readonly startMs = performance.now()
  private failure: BudgetExceeded | undefined
  private running = 0

  /** `cachedOnly`: any fetch throws NotCached instead of being made. */
  constructor(readonly limits: BudgetLimits, private readonly clock: Clock, readonly cachedOnly = false) {
    this.startClock = clock.now()
  }

  /** Charges one outbound fetch of `url`; throws BudgetExceeded or NotCached instead of going over. */
  fetch(url: string): void {
    this.check()
    if (this.cachedOnly) throw new NotCached(url)
    if (this.fetched >= this.limits.fetches) this.exceed('fetches')
    this.fetched++
  }

  /** Charges one signature verification. */
  verify(): void {
    this.check()
    if (this.verified >= this.limits.verifications) this.exceed('verifications')
    this.verified++
  }

  /** Throws when the budget has already run out or its time is up. */
  check(): void {
    if (this.failure) throw this.failure
    if (this.elapsedMs() > this.limits.ms) this.exceed('time')
  }

  /** The failure, once the budget has run out. */
  get exceeded(): BudgetExceeded | undefined {
    return this.failure
  }

  figures(): BudgetFigures {
    return { fetches: this.fetched, verifications: this.verified, ms: Math.round(this.elapsedMs()) }
  }

  /**
   * Runs `work`, ending it with BudgetExceeded when the time is up even if it is waiting
   * on the network. Nested runs (a resolution inside a resolution) share the outer timer.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running > 0) return work()
    this.running++
    const p = work()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.failure ??= new BudgetExceeded('time', this.limits, this.figures())
        reject(this.failure)
      }, Math.max(0, this.limits.ms - this.elapsedMs()) + 1)
    })
    // The work may settle after the deadline: nothing waits for it then.
    p.catch(() => undefined)
    try {
      return await Promise.race([p, deadline])
    } finally {
      clearTimeout(timer)
      this.running--
    }
  }

  /**
   * Elapsed time: the larger of the real one and what the injected clock proves has passed
   * (it counts whole seconds, so one second less than it shows).
   */
  private elapsedMs(): number {
    return Math.max((this.clock.now() - this.startClock - 1) * 1000, performance.now() - this.startMs)
  }

  private exceed(limit: BudgetLimit): never {
    this.failure ??= new BudgetExceeded(limit, this.limits, this.figures())
    throw this.failure
  }
}

/**
 * `fetcher`, with every request charged to `budget` first (a refused charge is a rejected
 * promise, never a request). For outbound work outside the walk: trust mark status
 * requests of a resolution, an onboarding's or a trust mark's own fetches.
 */
export function chargedFetcher(fetcher: Fetcher, budget: Budget): Fetcher {
  const charged = <T>(url: string, go: () => Promise<T>): Promise<T> => {
    try {
      budget.fetch(url)
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
    return go()
  }
  return {
    get: (url, accept, o) => charged(url, () => fetcher.get(url, accept, o)),
    post: (url, body, type, accept) => charged(url, () => fetcher.post(url, body, type, accept)),
  }
}

/** The budget limits of `resolver.budget_*`. */
export function budgetLimits(r: { budget_fetches: number; budget_verifications: number; budget_ms: number }): BudgetLimits {
  return { fetches: r.budget_fetches, verifications: r.budget_verifications, ms: r.budget_ms }
}
