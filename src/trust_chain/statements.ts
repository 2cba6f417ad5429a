/**
 * Obtains statements and turns them into checked Statement objects: decoded and
 * syntax-checked once per JWT (remembered, with the signature results, in an LRU owned by
 * the resolver), while times are checked on every use because the clock moves.
 */
import type { LRUCache } from 'lru-cache'
import { boundedLru } from '../util/lru.js'
import type { Clock } from '../clock.js'
import { ChainError } from './errors.js'
import { parseStatement, checkTimes, verifyStatement, label, KeySets } from './entity_statement.js'
import { SourceError, StatementSource, type Fetched } from './source.js'
import { FetchError, type Fetcher } from '../net/fetch.js'
import type { Statement, StatementKind } from './types.js'
import { BudgetExceeded, NotCached, type Budget } from './budget.js'
import type { JsonLimits } from '../util/json.js'
import type { Jwks } from '../types.js'

export interface StatementsDeps {
  source: StatementSource
  clock: Clock
  skew: number
  understoodCrit?: ReadonlySet<string> | undefined
  cacheEntries: number
  /** Bounds on each statement's JSON (limits.json_depth); too deep is refused with rule `depth`. */
  json?: JsonLimits | undefined
}

/** What chain collection reads: entity configurations and subordinate statements. */
export type StatementReader = Pick<Statements, 'entityConfiguration' | 'subordinateStatement'>

/** `base`, except that the subject's entity configuration is the given (already verified) one. */
export function withSubject(base: StatementReader, subject: Statement): StatementReader {
  return {
    entityConfiguration: (id, budget) => (id === subject.claims.sub ? Promise.resolve(subject) : base.entityConfiguration(id, budget)),
    subordinateStatement: (superior, sub, budget) => base.subordinateStatement(superior, sub, budget),
  }
}

export interface ConfigurationDeps {
  /** Where the token comes from: the resolver's StatementSource (cache, hardened fetcher, budget charges). */
  source: Pick<StatementSource, 'entityConfiguration'>
  clock: Clock
  skew: number
  understoodCrit?: ReadonlySet<string> | undefined
  json?: JsonLimits | undefined
  keySets?: KeySets | undefined
  /** Parses the token (the resolver's remembers each parsed statement by token). */
  parse?: (fetched: Fetched, entityId: string) => Statement
  /**
   * The keys the configuration must verify with when they are not its own jwks, chosen from
   * the parsed configuration (may throw to refuse it): a trust mark issuer's come from its
   * trust chain, a pinned trust anchor's from its pins.
   */
  keys?: ((ec: Statement) => { jwks: Jwks; whose: string }) | undefined
}

/**
 * The entity configuration of `entityId`, valid now and self-signed (spec "Obtaining
 * Federation Entity Configuration Information"; "Validating a Trust Chain": ES[0] signed by a
 * key in ES[0].jwks, which holds for every entity configuration relied on; `d.keys` names
 * other keys where the caller already holds them). The one way every part of Anchorage
 * reads someone's entity configuration: the resolver, onboarding without jwks, trust mark
 * issuers and their status endpoints, the subordinate key refresh, the trust anchor pinned
 * at init and the pins that follow its rollover. `budget` is charged
 * for the fetch and the verification, when they are not remembered. Throws ChainError
 * (a SourceError as its cause when the configuration could not be obtained at all).
 */
export async function fetchEntityConfiguration(entityId: string, d: ConfigurationDeps, budget?: Budget): Promise<Statement> {
  const what = label('entity_configuration', entityId, entityId)
  const fetched = await obtain(what, () => d.source.entityConfiguration(entityId, budget))
  const ec = d.parse
    ? d.parse(fetched, entityId)
    : parseStatement(fetched.jwt, 'entity_configuration', entityId, entityId, { understoodCrit: d.understoodCrit, json: d.json, decoded: fetched.decoded })
  checkTimes(ec, d.clock.now(), d.skew)
  const keys = d.keys ? d.keys(ec) : { jwks: ec.claims.jwks, whose: 'its own jwks' }
  await verifyStatement(ec, keys.jwks, keys.whose, { clock: d.clock, skew: d.skew, keySets: d.keySets, budget })
  return ec
}

/**
 * A source for a one-off read (onboarding without jwks, a trust mark issuer, the anchor
 * pinned at init): the hardened fetcher, the media type and status checks, the budget
 * charge; nothing is remembered (an operator who fixes a configuration retries at once).
 */
export function directSource(fetcher: Fetcher, clock: Clock, json?: JsonLimits): StatementSource {
  return new StatementSource({ fetcher, clock, json, limits: { cache_ttl_max: 0, statement_ttl_max: 0, failure_ttl: 0, cache_entries: 1 } })
}

/** A fetchEntityConfiguration failure that is about getting the configuration at all (not about its content). */
export function isUnobtainable(err: unknown): boolean {
  return err instanceof BudgetExceeded || (err instanceof ChainError && (err.cause instanceof SourceError || err.cause instanceof FetchError))
}

async function obtain(what: string, get: () => Promise<Fetched>): Promise<Fetched> {
  try {
    return await get()
  } catch (err) {
    if (err instanceof SourceError) throw new ChainError(what, err.rule, err.message, 'chain', { cause: err })
    if (err instanceof FetchError) throw new ChainError(what, err.reason, err.message, 'chain', { cause: err })
    if (err instanceof NotCached) throw new ChainError(what, 'not_cached', err.message, 'chain', { cause: err })
    throw err
  }
}

export class Statements {
  private readonly parsed: LRUCache<string, Statement>
  /** Imported keys by material; not trust data, so clear() keeps them. */
  readonly keySets: KeySets
  private readonly configuration: ConfigurationDeps

  constructor(private readonly d: StatementsDeps) {
    this.parsed = boundedLru(d.cacheEntries)
    this.keySets = new KeySets(Math.min(d.cacheEntries, 10_000))
    this.configuration = { ...d, keySets: this.keySets, parse: (f, id) => this.parse(f, 'entity_configuration', id, id) }
  }

  /** fetchEntityConfiguration through this resolver's source and caches. */
  entityConfiguration(entityId: string, budget?: Budget): Promise<Statement> {
    return fetchEntityConfiguration(entityId, this.configuration, budget)
  }

  /** The subordinate statement `superior` issues about `sub`; checked here for syntax only. */
  async subordinateStatement(superior: Statement, sub: string, budget?: Budget): Promise<Statement> {
    const issuer = superior.claims.sub
    const what = label('subordinate_statement', issuer, sub)
    const endpoint = superior.claims.metadata?.federation_entity?.federation_fetch_endpoint
    const fetched = await obtain(what, () => this.d.source.subordinateStatement(issuer, endpoint, sub, budget))
    return this.parse(fetched, 'subordinate_statement', issuer, sub)
  }

  clear(): void {
    this.parsed.clear()
  }

  private parse(f: Fetched, kind: StatementKind, iss: string, sub: string): Statement {
    const hit = this.parsed.get(f.jwt)
    if (hit && hit.kind === kind && hit.claims.iss === iss && hit.claims.sub === sub) return hit
    const s = parseStatement(f.jwt, kind, iss, sub, { understoodCrit: this.d.understoodCrit, json: this.d.json, decoded: f.decoded })
    this.parsed.set(f.jwt, s)
    return s
  }
}
