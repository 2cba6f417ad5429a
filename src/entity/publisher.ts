/**
 * Everything this entity publishes about itself and its subordinates, signed once and
 * served from cache until a write changes it: entity configuration, subordinate
 * statements, subordinate listings, historical keys.
 */
import type { Clock } from '../clock.js'
import type { Change, ChangeFeed } from '../changes.js'
import type { Keystore } from '../crypto/keystore.js'
import { signJwt } from '../crypto/jwt.js'
import { TYP } from '../constants.js'
import { InvalidRequest, NotFound, UnsupportedParameter } from '../errors.js'
import { LRUCache } from 'lru-cache'
import { SignedCache, type Signed } from '../util/signed_cache.js'
import type { EntityStatement } from '../types.js'

/** Adds claims to the entity configuration (trust marks, AS metadata, ...). */
export type ConfigurationContributor = (claims: EntityStatement) => Promise<void> | void

/** What the listing reads of an active member. */
export interface MemberEntry {
  entity_types: string[]
  intermediate: boolean
  trust_mark_types: string[]
}

/**
 * The members as the publisher sees them; their owner (subordinates/published.ts) keeps the
 * records, the publisher only signs what it is given.
 */
export interface MemberSource {
  /** Spec "Subordinate Statements": the statement's claims about an active member, or undefined. */
  statement(iss: string, sub: string, iat: number, lifetime: number): Promise<EntityStatement | undefined>
  /** Visits the active members in id order. */
  forEach(visit: (id: string, entry: MemberEntry) => void): Promise<void>
  /** A stored change of the members (`id` absent: any of them). */
  changed(change: { collection: string; id?: string }): void
  stop(): Promise<void>
}

export interface PublisherOptions {
  entityId: string
  members: MemberSource
  clock: Clock
  keystore: Keystore
  lifetimes: { entity_configuration: number; subordinate_statement: number; historical_keys: number }
  changes: ChangeFeed
  /** Base claims of the entity configuration other than iss/sub/iat/exp/jwks. */
  baseClaims: () => Partial<EntityStatement>
  /** Claims the capabilities add to the entity configuration, in order. */
  contributors?: ConfigurationContributor[]
  /** List filters beyond entity_type and intermediate, declared by the capabilities. */
  listFilters?: ListFilter[]
}

export interface ListFilters {
  entity_type?: string[]
  intermediate?: boolean
  trust_marked?: boolean
  trust_mark_type?: string
}

/** A filter of the subordinate listing: whether a member passes for the request's value. */
export interface ListFilter<K extends keyof ListFilters = keyof ListFilters> {
  name: K
  matches(id: string, member: MemberEntry, value: NonNullable<ListFilters[K]>): boolean
}

/** A list filter, typed by its name. */
export function listFilter<K extends keyof ListFilters>(name: K, matches: ListFilter<K>['matches']): ListFilter {
  return { name, matches }
}

/** Spec "Subordinate Listing": the filters every deployment answers. */
const FOUNDATION_FILTERS: ListFilter[] = [
  listFilter('entity_type', (_id, m, types) => types.some((t) => m.entity_types.includes(t))),
  listFilter('intermediate', (_id, m, value) => m.intermediate === value),
]

export class Publisher {
  private readonly ec: SignedCache<string>
  private readonly statements: SignedCache<string>
  /** Filter values come from callers: bounded so that odd filters cannot grow memory. */
  private readonly lists = new LRUCache<string, Promise<Buffer>>({ max: 1000 })
  /** The unfiltered listing once built, for the listener's fast path; dropped with the lists. */
  private listed: Buffer | undefined
  private listGeneration = 0
  private readonly members: MemberSource
  private readonly contributors: readonly ConfigurationContributor[]
  /** The list filters this deployment answers, by name. */
  private readonly listFilters: ReadonlyMap<keyof ListFilters, ListFilter>
  private readonly unsubscribe: () => void

  constructor(private readonly o: PublisherOptions) {
    this.ec = new SignedCache(o.clock, 8)
    this.statements = new SignedCache(o.clock, 200_000)
    this.members = o.members
    this.contributors = [...(o.contributors ?? [])]
    this.listFilters = new Map([...FOUNDATION_FILTERS, ...(o.listFilters ?? [])].map((f) => [f.name, f]))
    this.unsubscribe = o.changes.subscribe((c) => this.changed(c))
  }

  /** Stops following the store (shutdown): nothing here reads it once this resolves. */
  async stop(): Promise<void> {
    this.unsubscribe()
    await this.members.stop()
  }

  /** Re-sign whatever a change may affect. */
  private changed(change: Change): void {
    if (change.type === 'issued_marks_indexed') {
      // Issued marks feed the trust_marked / trust_mark_type list filters, not the entity configuration.
      this.clearLists()
    } else if (change.type === 'own_marks_expired') {
      this.ec.clear()
    } else if (change.collection === 'subordinates') {
      this.members.changed(change)
      if (change.id) this.statements.delete(change.id)
      else this.statements.clear()
      this.clearLists()
    } else if (change.collection === 'trust_marks') {
      this.clearLists()
    } else {
      this.ec.clear()
      if (change.collection === 'keys') this.statements.clear()
    }
  }

  private clearLists(): void {
    this.lists.clear()
    this.listed = undefined
    this.listGeneration++
  }

  /** Fast path: the unfiltered listing (a request without a query string) if built since the last change. */
  peekList(search: string): Buffer | undefined {
    return search === '' ? this.listed : undefined
  }

  /** Builds the member index and signs the entity configuration ahead of the first request. */
  async warm(): Promise<void> {
    await this.entityConfiguration()
    await this.list({})
  }

  /** Fast path: the signed entity configuration if cached and fresh. */
  peekEntityConfiguration(): string | undefined {
    return this.ec.peek('ec')
  }

  entityConfiguration(): Promise<string> {
    return this.ec.get('ec', async () => {
      const iat = this.o.clock.now()
      const lifetime = this.o.lifetimes.entity_configuration
      const claims: EntityStatement = {
        iss: this.o.entityId, sub: this.o.entityId, iat, exp: iat + lifetime,
        jwks: await this.o.keystore.jwks(), ...this.o.baseClaims(),
      }
      for (const c of this.contributors) await c(claims)
      return this.sign(claims, TYP.entityStatement, iat, lifetime)
    })
  }

  peekSubordinateStatement(sub: string): string | undefined {
    return this.statements.peek(sub)
  }

  /** Spec "Fetching a Subordinate Statement". */
  subordinateStatement(sub: string): Promise<string> {
    if (sub === this.o.entityId) {
      return Promise.reject(new InvalidRequest('sub: this endpoint issues statements about subordinates, not about the issuer itself'))
    }
    return this.statements.get(sub, async () => {
      const iat = this.o.clock.now()
      const lifetime = this.o.lifetimes.subordinate_statement
      const claims = await this.o.members.statement(this.o.entityId, sub, iat, lifetime)
      if (!claims) throw new NotFound(`${sub} is not a subordinate of this entity`)
      return this.sign(claims, TYP.entityStatement, iat, lifetime)
    })
  }

  /** Spec "Subordinate Listing": a JSON array of entity ids, cached per filter until a member changes. */
  list(filters: ListFilters): Promise<Buffer> {
    for (const k of Object.keys(filters) as Array<keyof ListFilters>) {
      if (!this.listFilters.has(k)) throw new UnsupportedParameter(`${k}: this filter is not supported`)
    }
    const key = JSON.stringify([filters.entity_type?.slice().sort(), filters.intermediate, filters.trust_marked, filters.trust_mark_type])
    let p = this.lists.get(key)
    if (!p) {
      const generation = this.listGeneration
      p = this.computeList(filters)
      this.lists.set(key, p)
      p.then((body) => {
        // A listing built before a change is never kept for the fast path.
        if (Object.keys(filters).length === 0 && generation === this.listGeneration) this.listed = body
      }, () => this.lists.delete(key))
    }
    return p
  }

  private async computeList(f: ListFilters): Promise<Buffer> {
    // The filters the request gives, each with its value, chosen once per listing.
    const active: Array<(id: string, m: MemberEntry) => boolean> = []
    for (const [name, filter] of this.listFilters) {
      const value = f[name]
      if (value !== undefined) active.push((id, m) => filter.matches(id, m, value))
    }
    const ids: string[] = []
    await this.members.forEach((id, m) => {
      for (const pass of active) if (!pass(id, m)) return
      ids.push(id)
    })
    return Buffer.from(JSON.stringify(ids))
  }

  /** Spec "Federation Historical Keys Endpoint". */
  historicalKeys(): Promise<string> {
    return this.ec.get('historical', async () => {
      const iat = this.o.clock.now()
      const keys = (await this.o.keystore.historical()).map((r) => ({
        ...r.public_jwk,
        iat: r.created_at,
        exp: r.retired_at ?? iat,
        ...(r.revoked ? { revoked: r.revoked } : {}),
      }))
      return this.sign({ iss: this.o.entityId, iat, keys }, TYP.jwkSet, iat, this.o.lifetimes.historical_keys)
    })
  }

  private async sign(claims: Record<string, unknown>, typ: string, iat: number, lifetime: number): Promise<Signed<string>> {
    const value = await signJwt(claims, await this.o.keystore.signingKey(), typ)
    // Re-sign at half-life so a cached statement never gets near its exp.
    return { value, refreshAt: iat + Math.max(1, Math.floor(lifetime / 2)) }
  }
}
