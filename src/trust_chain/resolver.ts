/**
 * The resolver (spec "Resolving the Trust Chain and Metadata"): collect the paths from a
 * subject to the requested anchors, validate them in order of preference, and return the
 * first valid one with its resolved metadata and verified trust marks. When none is
 * valid, the ResolveError lists every path tried with the statement and rule that failed.
 *
 * Every resolution runs under a work budget (budget.ts: outbound fetches, signature
 * verifications, wall time), shared with the resolutions it leads to; running out ends it
 * with invalid_trust_chain naming the limit and the figures reached.
 *
 * The resolver owns its caches (fetched statements, parsed statements with their
 * signature results); there is no module-level state.
 */
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { Fetcher } from '../net/fetch.js'
import type { JsonLimits } from '../util/json.js'
import { InvalidTrustAnchor } from '../errors.js'
import { createPolicyEngine, PolicyExplanation, type PolicyEngine, type PolicyOperator } from '../metadata_policy/index.js'
import type { TrustMarkVerifier, TrustMarkVerifyContext } from './trust_mark_verifier.js'
import type { Jwks, TrustMarkRef } from '../types.js'
import { ChainError, SubjectError, noChainError, subjectError, ResolveError } from './errors.js'
import { StatementSource, type LocalStatements } from './source.js'
import { Statements, withSubject } from './statements.js'
import { Walk, byPreference } from './collect.js'
import { Budget, BudgetExceeded, budgetLimits, chargedFetcher } from './budget.js'
import { validatePath, trustChainOf, expiryOf, linksOf, ssOf } from './validate.js'
import { resolvedMetadata } from './metadata.js'
import type { PathFailure, PathNode, ResolvedChain, ResolverLimits, Statement, TrustAnchor, TrustMarkRefusal } from './types.js'

export interface ResolverOptions {
  fetcher: Fetcher
  clock: Clock
  logger: Logger
  /** Tolerated clock skew for iat/exp, seconds. */
  skew: number
  limits: ResolverLimits
  /** The trusted anchors in configured order (the order breaks ties), keys pinned. */
  anchors: () => Promise<TrustAnchor[]> | TrustAnchor[]
  /** This deployment's own statements, served without HTTP. */
  local?: LocalStatements | undefined
  /** Verifies the subject's trust marks; without one, no trust mark is included. */
  verifier?: TrustMarkVerifier | undefined
  /** Non-spec claims this deployment understands when a statement lists them in `crit`. */
  understoodCrit?: ReadonlySet<string> | undefined
  /**
   * Pinned anchor keys that follow the anchor's rollover (anchor_pins.ts): told of every
   * anchor configuration a valid chain ended in, and asked to refresh once per anchor and
   * resolution when a statement of the anchor is signed by a kid not pinned. Absent: pins never move.
   */
  pins?: AnchorPinFollower | undefined
  /** Additional metadata policy operators (spec "Additional Operators"). */
  policyOperators?: readonly PolicyOperator[] | undefined
  /** Bounds on each statement's JSON (limits.json_depth; default DEFAULT_JSON_LIMITS). */
  json?: JsonLimits | undefined
}

/** What the resolver needs of anchor_pins.ts (AnchorPins). */
export interface AnchorPinFollower {
  anchors(): Promise<TrustAnchor[]>
  seen(anchor: TrustAnchor, ec: Statement): Promise<unknown>
  refresh(entityId: string, o: { fetcher: Fetcher; budget: Budget }): Promise<{ changed: boolean }>
}

/** One resolution's options as they travel through the walk. */
type Run = ResolveOptions & { budget: Budget; pinRefreshed?: Set<string> }

export interface ResolveOptions {
  /** Verify and include trust marks (off when resolving a trust mark issuer's own chain). */
  trustMarks?: boolean
  /**
   * Verify only the subject's marks of these types (registration: the types it requires),
   * so that the others cost no verification. Default: every mark.
   */
  trustMarkTypes?: ReadonlySet<string>
  /**
   * The subject's entity configuration, already verified by the caller (explicit
   * registration: the client sends it, and may publish none); not fetched.
   */
  subjectStatement?: Statement
  /** The budget to run under, shared with work done before (a presented chain); default a new one. */
  budget?: Budget
  /**
   * Answer from cached information only (spec "Denial-of-Service Attack Prevention"): a
   * statement neither cached nor this deployment's own fails its path with rule
   * `not_cached`, and if no chain resolves because of it the error is invalid_subject.
   * Ignored when `budget` is given (the budget says whether it may fetch).
   */
  cachedOnly?: boolean
  /** Record how the metadata policy of the chain chosen was resolved and applied (`ResolvedChain.explanation`). */
  explain?: boolean
}

export class Resolver {
  private readonly source: StatementSource
  private readonly statements: Statements
  private readonly engine: PolicyEngine

  constructor(private readonly o: ResolverOptions) {
    this.source = new StatementSource({ fetcher: o.fetcher, clock: o.clock, limits: o.limits, local: o.local, json: o.json })
    this.statements = new Statements({ source: this.source, clock: o.clock, skew: o.skew, understoodCrit: o.understoodCrit, cacheEntries: o.limits.cache_entries, json: o.json })
    this.engine = createPolicyEngine(o.policyOperators ? { operators: o.policyOperators } : {})
  }

  /** Entity ids of the trusted anchors, in configured order. */
  async anchorIds(): Promise<string[]> {
    return (await this.o.anchors()).map((a) => a.entity_id)
  }

  /** A fresh budget with this resolver's limits. */
  budget(cachedOnly = false): Budget {
    return new Budget(budgetLimits(this.o.limits), this.o.clock, cachedOnly)
  }

  /**
   * Resolves `subject` to one of `anchorIds` (spec "Resolve Entity": any of them may be
   * used; ids this resolver does not trust are ignored, and if none is left the error is
   * invalid_trust_anchor). Throws ResolveError or InvalidTrustAnchor.
   */
  async resolve(subject: string, anchorIds: readonly string[], entityTypes?: readonly string[], options: ResolveOptions = {}): Promise<ResolvedChain> {
    const trusted = (await this.o.anchors()).filter((a) => anchorIds.includes(a.entity_id))
    if (!trusted.length) throw new InvalidTrustAnchor(`${anchorIds.join(', ')}: not a trust anchor this resolver is configured to trust`)
    const budget = options.budget ?? this.budget(options.cachedOnly)
    const failures: PathFailure[] = []
    try {
      return await budget.run(() => this.walk(subject, trusted, entityTypes, { ...options, budget, pinRefreshed: new Set() }, failures))
    } catch (err) {
      if (err instanceof BudgetExceeded) throw budgetError(subject, trusted, err, failures)
      throw err
    }
  }

  /** Breadth-first (collect.ts): each level's paths are validated before the next is fetched. */
  private async walk(subject: string, trusted: TrustAnchor[], entityTypes: readonly string[] | undefined, options: Run, failures: PathFailure[]): Promise<ResolvedChain> {
    const byId = new Map(trusted.map((a) => [a.entity_id, a]))
    const statements = options.subjectStatement ? withSubject(this.statements, options.subjectStatement) : this.statements
    const walk = new Walk(statements, this.o.limits, new Set(byId.keys()), options.budget)
    let start: PathNode
    try {
      start = await walk.subject(subject)
    } catch (err) {
      if (err instanceof SubjectError) throw subjectError(subject, err)
      throw err
    }
    const order = byPreference(trusted.map((a) => a.entity_id))
    try {
      for await (const level of walk.levels(start)) {
        for (const nodes of level.sort(order)) {
          try {
            return await this.accept(nodes, byId.get(nodes.at(-1)!.id)!, entityTypes, options)
          } catch (err) {
            if (!(err instanceof ChainError)) throw err
            walk.failures.push({ path: nodes.map((n) => n.id), statement: err.statement, rule: err.rule, message: err.message, stage: err.stage })
          }
        }
      }
    } finally {
      failures.push(...walk.failures)
    }
    const ids = trusted.map((a) => a.entity_id)
    if (options.budget.cachedOnly && failures.some((f) => f.rule === 'not_cached')) throw notCachedError(subject, ids, sortFailures(failures))
    throw noChainError(subject, ids, sortFailures(failures))
  }

  /** Forgets every fetched and parsed statement (benchmarks, tests, operators). */
  clearCaches(): void {
    this.source.clear()
    this.statements.clear()
  }

  private async accept(nodes: PathNode[], pinned: TrustAnchor, entityTypes: readonly string[] | undefined, options: Run): Promise<ResolvedChain> {
    const validate = (a: TrustAnchor) => validatePath(nodes, a, { clock: this.o.clock, skew: this.o.skew, keySets: this.statements.keySets, budget: options.budget })
    let anchor = pinned
    try {
      await validate(anchor)
    } catch (err) {
      const fresh = await this.followRollover(err, anchor, options)
      if (!fresh) throw err
      anchor = fresh
      await validate(anchor)
    }
    await this.o.pins?.seen(anchor, nodes.at(-1)!.ec)
    // One explanation per path tried: only the accepted chain's is kept.
    const explanation = options.explain ? new PolicyExplanation() : undefined
    const metadata = resolvedMetadata(this.engine, nodes, entityTypes, explanation)
    const marks = options.trustMarks === false ? { refs: [], refused: [], exp: Infinity, cacheUntil: Infinity } : await this.trustMarks(nodes, anchor, options)
    return {
      subject: nodes[0]!.id,
      anchor: anchor.entity_id,
      trust_chain: trustChainOf(nodes).map((s) => s.jwt),
      links: linksOf(nodes),
      metadata,
      trust_marks: marks.refs,
      ...(marks.refused.length ? { trust_mark_refusals: marks.refused } : {}),
      exp: Math.min(expiryOf(nodes), marks.exp),
      ...(marks.cacheUntil < Infinity ? { cacheUntil: marks.cacheUntil } : {}),
      subject_jwks: nodes.length > 1 ? ssOf(nodes, 1).claims.jwks : anchor.jwks,
      ...(explanation ? { explanation } : {}),
    }
  }

  /**
   * A statement of the anchor signed by a kid not pinned: the anchor may have rolled over.
   * Refresh the pin once per anchor and resolution (its configuration must verify with a
   * pinned key; the fetch is charged to this resolution's budget) and return the anchor
   * with its new pin, or undefined when nothing changed.
   */
  private async followRollover(err: unknown, anchor: TrustAnchor, options: Run): Promise<TrustAnchor | undefined> {
    const pins = this.o.pins
    if (!pins || !(err instanceof ChainError) || err.rule !== 'anchor_key' || options.pinRefreshed?.has(anchor.entity_id)) return undefined
    options.pinRefreshed?.add(anchor.entity_id)
    try {
      const { changed } = await pins.refresh(anchor.entity_id, { fetcher: this.o.fetcher, budget: options.budget })
      if (!changed) return undefined
    } catch (refreshErr) {
      if (refreshErr instanceof BudgetExceeded) throw refreshErr
      this.o.logger.debug('trust anchor pin not refreshed', { anchor: anchor.entity_id, reason: (refreshErr as Error).message })
      return undefined
    }
    return (await pins.anchors()).find((a) => a.entity_id === anchor.entity_id)
  }

  /** Spec "Resolve Entity": only trust marks verified against the chosen anchor are returned. */
  private async trustMarks(nodes: PathNode[], anchor: TrustAnchor, options: Run): Promise<{ refs: TrustMarkRef[]; refused: TrustMarkRefusal[]; exp: number; cacheUntil: number }> {
    const { budget, trustMarkTypes: types } = options
    const marks = (nodes[0]!.ec.claims.trust_marks ?? []).filter((m) => !types || types.has(m.trust_mark_type))
    const verifier = this.o.verifier
    if (!verifier || !marks.length) return { refs: [], refused: [], exp: Infinity, cacheUntil: Infinity }
    const anchorEc = nodes.at(-1)!.ec.claims
    const ctx: TrustMarkVerifyContext = {
      subject: nodes[0]!.id,
      anchor: {
        entity_id: anchor.entity_id, jwks: anchor.jwks,
        ...(anchorEc.trust_mark_issuers ? { trust_mark_issuers: anchorEc.trust_mark_issuers } : {}),
        ...(anchorEc.trust_mark_owners ? { trust_mark_owners: anchorEc.trust_mark_owners } : {}),
      },
      issuerKeys: (issuer) => this.issuerKeys(issuer, anchor, budget),
      // Status requests are outbound work of this resolution.
      fetcher: chargedFetcher(this.o.fetcher, budget),
    }
    const results = await Promise.allSettled(marks.map((m) => verifier.verify(m.trust_mark, m.trust_mark_type, ctx)))
    // An issuer's chain that ran out of budget ends this resolution too, not just that mark.
    budget.check()
    const refs: TrustMarkRef[] = []
    const refused: TrustMarkRefusal[] = []
    let exp = Infinity
    let cacheUntil = Infinity
    results.forEach((r, i) => {
      const m = marks[i]!
      // Inclusion and refusal alike hold no longer than the status answers they rest on.
      const until = r.status === 'fulfilled' ? r.value.cacheUntil : (r.reason as { cacheUntil?: unknown } | undefined)?.cacheUntil
      if (typeof until === 'number') cacheUntil = Math.min(cacheUntil, until)
      if (r.status === 'fulfilled') {
        refs.push({ trust_mark_type: m.trust_mark_type, trust_mark: m.trust_mark })
        if (r.value.exp !== undefined) exp = Math.min(exp, r.value.exp)
      } else {
        const reason = String((r.reason as Error | undefined)?.message ?? r.reason)
        refused.push({ trust_mark_type: m.trust_mark_type, reason })
        this.o.logger.debug('trust mark not included', { subject: ctx.subject, trust_mark_type: m.trust_mark_type, reason })
      }
    })
    return { refs, refused, exp, cacheUntil }
  }

  /** The trust mark issuer's keys, through its own chain to the same anchor (without its trust marks). */
  private async issuerKeys(issuer: string, anchor: TrustAnchor, budget: Budget): Promise<Jwks> {
    if (issuer === anchor.entity_id) return anchor.jwks
    try {
      return (await this.resolve(issuer, [anchor.entity_id], undefined, { trustMarks: false, budget })).subject_jwks
    } catch (err) {
      const why = err instanceof ResolveError ? err.message : (err as Error).message
      throw new Error(`trust mark issuer ${issuer} has no valid trust chain to ${anchor.entity_id}: ${why}`, { cause: err })
    }
  }
}

/** The budget ran out: invalid_trust_chain ("the Trust Chain cannot be validated" within this resolver's limits). */
function budgetError(subject: string, trusted: TrustAnchor[], err: BudgetExceeded, failures: PathFailure[]): ResolveError {
  const to = trusted.map((a) => a.entity_id).join(', ')
  return new ResolveError('invalid_trust_chain', `${err.message}, resolving ${subject} to ${to}`, sortFailures(failures), { cause: err })
}

/** Cached-only resolution that needed a statement it does not hold: the endpoint cannot serve this subject now. */
function notCachedError(subject: string, anchors: string[], failures: PathFailure[]): ResolveError {
  const base = noChainError(subject, anchors, failures)
  return new ResolveError('invalid_subject', `${subject} cannot be resolved from cached information (this resolver does not discover for unauthenticated requests): ${base.message}`, failures)
}

function sortFailures(failures: PathFailure[]): PathFailure[] {
  const key = (f: PathFailure) => `${f.path.length.toString().padStart(3, '0')} ${f.path.join(' ')}`
  return failures.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}
