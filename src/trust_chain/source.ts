/**
 * Where statements come from: this deployment's own statements from its Publisher (no
 * HTTP, same bytes as its endpoints serve), everyone else's through the hardened fetcher
 * (spec "Obtaining Federation Entity Configuration Information", "Fetching a Subordinate
 * Statement"). Fetched statements are cached per URL for at most `statement_ttl_max`
 * seconds from the start of their fetch, and never past their exp, whatever the exp (so a
 * removal at a remote superior is seen within a stated bound, docs/resolution.md,
 * "Propagation bound"); concurrent requests for one URL share one fetch, and failures are
 * remembered briefly so a dead or hostile server is not asked again at once.
 */
import type { LRUCache } from 'lru-cache'
import { boundedLru } from '../util/lru.js'
import { MEDIA, WELL_KNOWN_FEDERATION } from '../constants.js'
import type { Clock } from '../clock.js'
import { FetchError, type Fetcher } from '../net/fetch.js'
import { isFederationError } from '../errors.js'
import { parseJson, type JsonLimits } from '../util/json.js'
import { decodeUnverified, type Decoded } from '../crypto/jwt.js'
import type { ResolverLimits } from './types.js'
import { BudgetExceeded, NotCached, type Budget } from './budget.js'

/** The statements this deployment publishes, read without HTTP. */
export interface LocalStatements {
  entityId: string
  entityConfiguration(): Promise<string>
  subordinateStatement(sub: string): Promise<string>
}

/** Why a statement could not be obtained, besides the fetcher's own FetchError; `rule` names it. */
export class SourceError extends Error {
  constructor(readonly rule: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SourceError'
  }
}

/**
 * A statement as obtained: the token, and its header and payload when they were read here
 * (a fetched statement is read once, for its cache time; the parser takes the reading on).
 */
export interface Fetched {
  jwt: string
  decoded?: Decoded | undefined
}

interface Entry {
  promise: Promise<Fetched>
  /** Epoch seconds; Infinity while in flight. */
  expiresAt: number
}

export interface SourceDeps {
  fetcher: Fetcher
  clock: Clock
  limits: Pick<ResolverLimits, 'cache_ttl_max' | 'statement_ttl_max' | 'failure_ttl' | 'cache_entries'>
  local?: LocalStatements | undefined
  /** Bounds on the JSON of fetched statements (limits.json_depth). */
  json?: JsonLimits | undefined
}

export function entityConfigurationUrl(entityId: string): string {
  return entityId.replace(/\/+$/, '') + WELL_KNOWN_FEDERATION
}

export class StatementSource {
  private readonly cache: LRUCache<string, Entry>

  constructor(private readonly d: SourceDeps) {
    this.cache = boundedLru(d.limits.cache_entries)
  }

  /** `budget` is charged for a fetch over HTTP only (not for a cached or local statement). */
  entityConfiguration(entityId: string, budget?: Budget): Promise<Fetched> {
    if (entityId === this.d.local?.entityId) return local(() => this.d.local!.entityConfiguration(), budget)
    return this.cached(entityConfigurationUrl(entityId), budget)
  }

  /** The statement `issuer` makes about `sub`, from the fetch endpoint in the issuer's entity configuration. */
  subordinateStatement(issuer: string, fetchEndpoint: unknown, sub: string, budget?: Budget): Promise<Fetched> {
    if (issuer === this.d.local?.entityId) return local(() => this.d.local!.subordinateStatement(sub), budget)
    if (typeof fetchEndpoint !== 'string') {
      return Promise.reject(new SourceError('fetch_endpoint', `the entity configuration of ${issuer} has no federation_entity.federation_fetch_endpoint`))
    }
    let url: URL
    try {
      url = new URL(fetchEndpoint)
    } catch {
      return Promise.reject(new SourceError('fetch_endpoint', `federation_fetch_endpoint of ${issuer} is not a URL`))
    }
    url.searchParams.append('sub', sub)
    return this.cached(url.href, budget)
  }

  /** Forgets every fetched statement. */
  clear(): void {
    this.cache.clear()
  }

  private cached(url: string, budget: Budget | undefined): Promise<Fetched> {
    const { clock, limits } = this.d
    const hit = this.cache.get(url)
    try {
      budget?.check()
      // In flight for another resolution, or fetched before: no new outbound request.
      if (hit && hit.expiresAt > clock.now()) return hit.promise
      budget?.fetch(url)
    } catch (err) {
      // NotCached and BudgetExceeded go up as they are (statements.ts names the statement).
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
    const entry: Entry = { promise: Promise.resolve({ jwt: '' }), expiresAt: Infinity }
    // From the start of the fetch: the server may have answered just before a removal.
    const started = clock.now()
    const ttl = Math.min(limits.statement_ttl_max, limits.cache_ttl_max)
    entry.promise = this.download(url).then(
      (jwt) => {
        const now = clock.now()
        const decoded = readable(jwt, this.d.json)
        const exp = decoded?.payload.exp
        entry.expiresAt = Math.min(typeof exp === 'number' ? exp : now + limits.failure_ttl, started + ttl)
        return { jwt, decoded }
      },
      (err: unknown) => {
        entry.expiresAt = clock.now() + limits.failure_ttl
        throw err
      },
    )
    this.cache.set(url, entry)
    return entry.promise
  }

  private async download(url: string): Promise<string> {
    let res
    try {
      res = await this.d.fetcher.get(url, MEDIA.entityStatement)
    } catch (err) {
      // A FetchError goes up as it is: its reason is the rule (statements.ts), one hop fewer.
      // So does the resolution's own limit in a charged fetcher (budget.ts): not the server's doing.
      if (err instanceof FetchError || err instanceof BudgetExceeded || err instanceof NotCached) throw err
      throw new SourceError('network', `fetching ${url} failed: ${(err as Error).message}`, { cause: err })
    }
    if (res.status !== 200) {
      const rule = res.status === 404 ? 'not_found' : 'http_status'
      throw new SourceError(rule, `${url} answered ${res.status}${errorCode(res.body)}`)
    }
    // Spec "Fetch Subordinate Statement Response": the media type is exact; parameters are tolerated.
    const type = res.contentType.split(';')[0]!.trim().toLowerCase()
    if (type !== MEDIA.entityStatement) {
      throw new SourceError('content_type', `${url} answered with content type ${JSON.stringify(res.contentType)}, not ${MEDIA.entityStatement}`)
    }
    return res.body.trim()
  }
}

async function local(get: () => Promise<string>, budget: Budget | undefined): Promise<Fetched> {
  budget?.check()
  try {
    return { jwt: await get() }
  } catch (err) {
    if (isFederationError(err)) throw new SourceError(err.error === 'not_found' ? 'not_found' : err.error, err.message, { cause: err })
    throw err
  }
}

/** Header and payload within `json`, or undefined: the parser reads the token again and says what is wrong. */
function readable(jwt: string, json: JsonLimits | undefined): Decoded | undefined {
  try {
    return decodeUnverified(jwt, json)
  } catch {
    return undefined
  }
}

/** ` (not_found: ...)` from a spec error body, bounded; empty when the body is not one. */
function errorCode(body: string): string {
  try {
    const e = parseJson(body) as { error?: unknown; error_description?: unknown }
    if (typeof e.error !== 'string') return ''
    const d = typeof e.error_description === 'string' ? `: ${e.error_description.slice(0, 200)}` : ''
    return ` (${e.error.slice(0, 64)}${d})`
  } catch {
    return ''
  }
}
