/**
 * The keys of a software statement that names them by reference (`jwks_uri`, RFC 7591
 * section 2): fetched through the hardened fetcher only (src/net/: https unless
 * outbound.allow_http, the SSRF guard, no redirects, the timeout), with a size cap of their
 * own, validated (a JWK Set of real public signing keys with distinct kids, at most
 * `maxKeys` of them; a key with private or symmetric material anywhere refuses the whole
 * set; keys marked `use: enc` are left out), and cached in a bounded LRU for as long as the
 * answer's HTTP caching headers say (RFC 9111), clamped to [cacheMin, cacheMax].
 *
 * Two ways to ask:
 * - `cached` (a registration): the cached set while it is fresh;
 * - `fresh` (a re-evaluation, or a client presenting a key id the registration does not
 *   know: a rotation at the jwks_uri): fetched again.
 * Either way not when the last attempt (good or failed) is younger than cacheMin: that is the
 * rate limit, one URL is fetched at most once per cacheMin however many clients rely on it and
 * whatever kids they present. Meanwhile the last good set stands, or the last failure is
 * repeated (a failure of the request's own work budget is not remembered).
 *
 * Concurrent requests for one URL share one fetch. Nothing here lets oidc-provider near the
 * URL: the keys it sees are the ones stored with the registration (federation_clients.ts).
 */
import type { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import { MEDIA } from '../constants.js'
import { privateJwkMember, publicJwksProblem } from '../crypto/jwks.js'
import { FetchError, type Fetcher } from '../net/fetch.js'
import { BudgetExceeded, chargedFetcher, type Budget } from '../trust_chain/budget.js'
import { freshness } from '../registration/metadata_document.js'
import type { Jwks } from '../types.js'
import { boundedLru } from '../util/lru.js'
import { JsonError, isJsonObject, own, parseJson } from '../util/json.js'

export interface KeySetOptions {
  fetcher: Fetcher
  clock: Clock
  maxBytes: number
  maxKeys: number
  cacheMin: number
  cacheMax: number
  /** Key sets cached at once (LRU). */
  entries: number
  jsonDepth: number
}

/** A key set as fetched. */
export interface FetchedKeySet {
  jwks: Jwks
  fetched_at: number
  /** Until when it may be reused (its HTTP caching lifetime, clamped). */
  fresh_until: number
}

/** Why a jwks_uri gave no usable key set (the message names the URL and the rule). */
export class KeySetError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'KeySetError'
  }
}

interface Entry {
  set?: FetchedKeySet
  /** Last fetch attempt, successful or not (the rate limit of fetches of the URL). */
  attempted_at: number
  /** Why the last attempt failed, when it did. */
  error?: string
}

export class StatementKeySets {
  private readonly cache: LRUCache<string, Entry>
  private readonly inflight = new Map<string, Promise<FetchedKeySet>>()

  constructor(private readonly o: KeySetOptions) {
    this.cache = boundedLru(o.entries)
  }

  /**
   * The key set at `url`. Without `fresh`, the cached set while it is fresh; with it, fetched
   * again. Either way the URL is not fetched again within cacheMin of the last attempt: the
   * last good set stands meanwhile, or the last failure is repeated. A fetch is charged to
   * `budget` when given. Throws KeySetError.
   */
  async get(url: string, o: { fresh?: boolean; budget?: Budget } = {}): Promise<FetchedKeySet> {
    const now = this.o.clock.now()
    const hit = this.cache.get(url)
    if (hit?.set && !o.fresh && now < hit.set.fresh_until) return hit.set
    const running = this.inflight.get(url)
    if (running) return running
    if (hit && now < hit.attempted_at + this.o.cacheMin) {
      if (hit.set) return hit.set
      throw new KeySetError(`${hit.error ?? `jwks_uri ${url}: no usable key set`} (not fetched again within ${this.o.cacheMin} seconds, dynamic_registration.jwks_uri_cache_min)`)
    }
    const p = this.fetch(url, o.budget).finally(() => this.inflight.delete(url))
    this.inflight.set(url, p)
    return p
  }

  private async fetch(url: string, budget: Budget | undefined): Promise<FetchedKeySet> {
    const started = this.o.clock.now()
    const prior = this.cache.get(url)
    const entry: Entry = { ...(prior?.set ? { set: prior.set } : {}), attempted_at: started }
    try {
      const set = await this.download(url, budget)
      this.cache.set(url, { set, attempted_at: started })
      return set
    } catch (err) {
      // The request's own work budget ran out: not the URL's doing, nothing remembered about it.
      if (err instanceof KeySetError && !(err.cause instanceof BudgetExceeded)) this.cache.set(url, { ...entry, error: err.message })
      throw err
    }
  }

  private async download(url: string, budget: Budget | undefined): Promise<FetchedKeySet> {
    let res
    try {
      const fetcher = budget ? chargedFetcher(this.o.fetcher, budget) : this.o.fetcher
      const get = () => fetcher.get(url, `${MEDIA.json}, application/jwk-set+json`, { maxResponseBytes: this.o.maxBytes })
      res = budget ? await budget.run(get) : await get()
    } catch (err) {
      if (err instanceof FetchError) {
        const why = err.reason === 'too_large' ? `the key set is larger than ${this.o.maxBytes} bytes (dynamic_registration.jwks_uri_max_bytes)` : err.message
        throw new KeySetError(`jwks_uri ${url}: ${why}`, { cause: err })
      }
      if (err instanceof BudgetExceeded) throw new KeySetError(`jwks_uri ${url}: ${err.message}`, { cause: err })
      throw err
    }
    if (res.status !== 200) throw new KeySetError(`jwks_uri ${url}: answered HTTP ${res.status}`)
    let parsed: unknown
    try {
      parsed = parseJson(res.body, { maxDepth: this.o.jsonDepth })
    } catch (err) {
      throw new KeySetError(`jwks_uri ${url}: not JSON${err instanceof JsonError && err.reason === 'depth' ? ` within the nesting limit (${err.message})` : ''}`, { cause: err })
    }
    const jwks = await this.validate(url, parsed)
    const now = this.o.clock.now()
    return { jwks, fetched_at: now, fresh_until: now + freshness(res.cache, now, this.o.cacheMin, this.o.cacheMax) }
  }

  /** A JWK Set of public signing keys, bounded; signing keys only are kept. */
  private async validate(url: string, v: unknown): Promise<Jwks> {
    const refuse = (why: string): never => {
      throw new KeySetError(`jwks_uri ${url}: ${why}`)
    }
    if (!isJsonObject(v)) return refuse('not a JWK Set (a JSON object with keys)')
    const keys = own(v, 'keys')
    if (!Array.isArray(keys) || keys.length === 0) return refuse('not a JWK Set: keys must be a non-empty array')
    if (keys.length > this.o.maxKeys) refuse(`${keys.length} keys; at most ${this.o.maxKeys} are accepted (dynamic_registration.jwks_uri_max_keys)`)
    for (const [i, k] of keys.entries()) {
      if (!isJsonObject(k)) refuse(`keys[${i}] is not a JSON object`)
      const priv = privateJwkMember(k as object)
      // Someone published private key material: nothing of that set is trusted.
      if (priv) refuse(`keys[${i}].${priv}: private or symmetric key material; a jwks_uri serves public keys only`)
    }
    // Where each signing key stands in the served set: a problem names the key by that place.
    const at = keys.flatMap((k, i) => (own(k as Record<string, unknown>, 'use') !== 'enc' ? [i] : []))
    const signing = at.map((i) => keys[i] as Record<string, unknown>)
    if (signing.length === 0) refuse('no signing key (every key is use "enc")')
    const problem = await publicJwksProblem({ keys: signing })
    if (problem) refuse(problem.replace(/keys\[(\d+)\]/g, (_, i: string) => `keys[${at[Number(i)]}]`))
    return { keys: signing.map(publicMembers) }
  }
}

/** The members a public JWK carries; nothing else of a stranger's key is kept. */
function publicMembers(k: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const m of ['kty', 'kid', 'use', 'alg', 'crv', 'x', 'y', 'n', 'e']) {
    if (Object.hasOwn(k, m)) out[m] = k[m]
  }
  return out
}
