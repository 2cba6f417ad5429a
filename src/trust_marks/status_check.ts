/**
 * The verifier's second opinion: asking the issuer's Trust Mark Status endpoint (spec
 * "Trust Mark Status"), which "Validating a Trust Mark" RECOMMENDS for marks without exp
 * and allows for every mark. Asking about marks with exp too (`when: 'always'`) is what
 * lets a revocation reach a resolver before the mark expires. Answers are cached by mark
 * for `cacheSeconds`, so a busy resolver asks once per mark per cache time at most, and
 * the checker says until when its verdict holds so that answers built on it are cached
 * no longer.
 */
import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import { MEDIA, TYP } from '../constants.js'
import { directSource, fetchEntityConfiguration } from '../trust_chain/statements.js'
import { ChainError } from '../trust_chain/errors.js'
import { NotCached } from '../trust_chain/budget.js'
import { verifyJwt, JwtError } from '../crypto/jwt.js'
import { FetchError, type Fetcher } from '../net/fetch.js'
import type { Jwks } from '../types.js'
import { TrustMarkError } from './errors.js'
import { tokenHash } from './records.js'

export interface StatusCheckOptions {
  /** Used when the verification context brings no fetcher of its own (the resolver's). */
  fetcher: Fetcher
  /** Which marks to check: 'always' (default), 'no_exp' (only those without exp), or 'never'. */
  when?: 'no_exp' | 'always' | 'never'
  /** Seconds an answer (and an issuer's endpoint URL) is reused (default 60). */
  cacheSeconds?: number
  /**
   * An issuer that publishes a status endpoint which cannot be reached or answers with an
   * error: 'reject' (default, fail closed) or 'accept'. An issuer that publishes no status
   * endpoint offers no such mechanism, and its marks are accepted on the other checks.
   */
  onUnavailable?: 'reject' | 'accept'
}

type Answer = { status: string } | { unavailable: string }

/**
 * What counts as "the status could not be checked" (cached like an answer). The
 * resolution's own limits running out in its fetcher (BudgetExceeded, or NotCached when it
 * may not fetch: budget.ts), and anything else a fetcher throws besides FetchError, are not
 * about the issuer: they propagate and are not cached.
 */
const issuerSide = (err: unknown): boolean =>
  err instanceof FetchError || err instanceof JwtError || (err instanceof ChainError && !(err.cause instanceof NotCached))

/**
 * Resolves when the mark may be accepted, with the time until which that verdict holds
 * (undefined: no status was asked, it holds until the mark's exp); rejects with a
 * TrustMarkError (reason `status`, `cacheUntil` the same time) otherwise.
 */
export type StatusChecker = (token: string, m: { iss: string; exp?: number }, issuerJwks: Jwks, fetcher?: Fetcher) => Promise<number | undefined>

export function createStatusChecker(o: StatusCheckOptions, env: { clock: Clock; skew: number; algorithms: readonly string[] }): StatusChecker {
  const when = o.when ?? 'always'
  const ttl = o.cacheSeconds ?? 60
  const answers = new LRUCache<string, { answer: Answer; until: number }>({ max: 10_000 })
  const endpoints = new LRUCache<string, { url: string | null; until: number }>({ max: 1_000 })
  const verifyOptions = { clock: env.clock, skew: env.skew, algorithms: env.algorithms }

  /** Lookups under way by issuer: the marks of one issuer, verified side by side, read its configuration once. */
  const pending = new Map<string, Promise<string | null>>()

  async function endpointOf(iss: string, jwks: Jwks, fetcher: Fetcher): Promise<string | null> {
    const hit = endpoints.get(iss)
    if (hit && hit.until > env.clock.now()) return hit.url
    const joined = pending.get(iss)
    if (joined) {
      try {
        return await joined
      } catch (err) {
        // Another resolution's own limits: not an answer about the issuer, so look for ourselves.
        if (issuerSide(err)) throw err
      }
    }
    const p = lookup(iss, jwks, fetcher).finally(() => {
      if (pending.get(iss) === p) pending.delete(iss)
    })
    pending.set(iss, p)
    return p
  }

  async function lookup(iss: string, jwks: Jwks, fetcher: Fetcher): Promise<string | null> {
    // The issuer's keys come from its trust chain, so its configuration must verify with them.
    // The fetch goes through `fetcher` (the resolution's, which charges it), nothing else is charged.
    const ec = await fetchEntityConfiguration(iss, {
      source: directSource(fetcher, env.clock), clock: env.clock, skew: env.skew,
      keys: () => ({ jwks, whose: "the keys of the issuer's trust chain" }),
    })
    const url = own(own(ec.claims.metadata, 'federation_entity'), 'federation_trust_mark_status_endpoint')
    const value = typeof url === 'string' ? url : null
    endpoints.set(iss, { url: value, until: env.clock.now() + ttl })
    return value
  }

  async function ask(token: string, iss: string, jwks: Jwks, fetcher: Fetcher): Promise<Answer | undefined> {
    let url: string | null
    try {
      url = await endpointOf(iss, jwks, fetcher)
    } catch (err) {
      if (!issuerSide(err)) throw err
      return { unavailable: `cannot read the issuer's entity configuration: ${(err as Error).message}` }
    }
    if (url === null) return undefined
    try {
      const res = await fetcher.post(url, new URLSearchParams({ trust_mark: token }).toString(), 'application/x-www-form-urlencoded', MEDIA.trustMarkStatusResponse)
      // "Trust Mark Status Response": a mark the issuer does not know gets HTTP 404.
      if (res.status === 404) return { status: 'unknown to the issuer' }
      if (res.status !== 200) return { unavailable: `the status endpoint answered HTTP ${res.status}` }
      const { payload } = await verifyJwt(res.body.trim(), jwks, { ...verifyOptions, typ: TYP.trustMarkStatusResponse, requireTimes: false })
      if (own(payload, 'iss') !== iss) return { unavailable: 'the status response has another issuer' }
      if (own(payload, 'trust_mark') !== token) return { unavailable: 'the status response is about another trust mark' }
      const status = own(payload, 'status')
      if (typeof status !== 'string') return { unavailable: 'the status response has no status' }
      return { status }
    } catch (err) {
      if (!issuerSide(err)) throw err
      return { unavailable: (err as Error).message }
    }
  }

  return async (token, m, jwks, fetcher = o.fetcher) => {
    if (when === 'never' || (when === 'no_exp' && m.exp !== undefined)) return undefined
    const key = tokenHash(token)
    const now = env.clock.now()
    let hit = answers.get(key)
    if (!hit || hit.until <= now) {
      const answer = await ask(token, m.iss, jwks, fetcher)
      // The issuer publishes no status endpoint: it offers no such mechanism.
      if (answer === undefined) return undefined
      hit = { answer, until: now + ttl }
      answers.set(key, hit)
    }
    const a = hit.answer
    if ('status' in a) {
      if (a.status !== 'active') {
        throw new TrustMarkError('status', `trust mark from ${m.iss}: the issuer's status endpoint says ${JSON.stringify(a.status)}`, { cacheUntil: hit.until })
      }
    } else if ((o.onUnavailable ?? 'reject') === 'reject') {
      // Asked again after the cache time: an endpoint down for a moment does not drop the mark for longer.
      throw new TrustMarkError('status', `trust mark from ${m.iss}: its status could not be checked: ${a.unavailable}`, { cacheUntil: hit.until })
    }
    return hit.until
  }
}

/** An own member of outside JSON (never an inherited one), or undefined. */
function own(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null && Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined
}
