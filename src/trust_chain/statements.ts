/**
 * Obtains statements and turns them into checked Statement objects: decoded and
 * syntax-checked once per JWT (remembered, with the signature results, in an LRU owned by
 * the resolver), while times are checked on every use because the clock moves.
 */
import type { LRUCache } from 'lru-cache'
import { boundedLru } from '../util/lru.js'
import type { Clock } from '../clock.js'
import { ChainError } from './errors.js'
import { parseStatement, checkTimes, verifySignature, label, KeySets } from './entity_statement.js'
import { SourceError, type StatementSource } from './source.js'
import { FetchError } from '../net/fetch.js'
import type { Statement, StatementKind } from './types.js'
import { NotCached, type Budget } from './budget.js'
import type { JsonLimits } from '../util/json.js'

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

export class Statements {
  private readonly parsed: LRUCache<string, Statement>
  /** Imported keys by material; not trust data, so clear() keeps them. */
  readonly keySets: KeySets

  constructor(private readonly d: StatementsDeps) {
    this.parsed = boundedLru(d.cacheEntries)
    this.keySets = new KeySets(Math.min(d.cacheEntries, 10_000))
  }

  /**
   * The entity configuration of `entityId`, valid now and self-signed (spec "Validating a
   * Trust Chain": ES[0] signed by a key in ES[0].jwks; the same holds for every entity
   * configuration we rely on for authority_hints and fetch endpoints). `budget` is charged
   * for the fetch and the verification, when they are not remembered.
   */
  async entityConfiguration(entityId: string, budget?: Budget): Promise<Statement> {
    const what = label('entity_configuration', entityId, entityId)
    const jwt = await this.obtain(what, () => this.d.source.entityConfiguration(entityId, budget))
    const ec = this.parse(jwt, 'entity_configuration', entityId, entityId)
    checkTimes(ec, this.d.clock.now(), this.d.skew)
    await verifySignature(ec, ec.claims.jwks, 'its own jwks', this.d.clock, this.d.skew, this.keySets, budget)
    return ec
  }

  /** The subordinate statement `superior` issues about `sub`; checked here for syntax only. */
  async subordinateStatement(superior: Statement, sub: string, budget?: Budget): Promise<Statement> {
    const issuer = superior.claims.sub
    const what = label('subordinate_statement', issuer, sub)
    const endpoint = superior.claims.metadata?.federation_entity?.federation_fetch_endpoint
    const jwt = await this.obtain(what, () => this.d.source.subordinateStatement(issuer, endpoint, sub, budget))
    return this.parse(jwt, 'subordinate_statement', issuer, sub)
  }

  clear(): void {
    this.parsed.clear()
  }

  private async obtain(what: string, get: () => Promise<string>): Promise<string> {
    try {
      return await get()
    } catch (err) {
      if (err instanceof SourceError) throw new ChainError(what, err.rule, err.message, 'chain', { cause: err })
      if (err instanceof FetchError) throw new ChainError(what, err.reason, err.message, 'chain', { cause: err })
      if (err instanceof NotCached) throw new ChainError(what, 'not_cached', err.message, 'chain', { cause: err })
      throw err
    }
  }

  private parse(jwt: string, kind: StatementKind, iss: string, sub: string): Statement {
    const hit = this.parsed.get(jwt)
    if (hit && hit.kind === kind && hit.claims.iss === iss && hit.claims.sub === sub) return hit
    const s = parseStatement(jwt, kind, iss, sub, this.d.understoodCrit, this.d.json)
    this.parsed.set(jwt, s)
    return s
  }
}
