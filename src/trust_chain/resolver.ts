/**
 * The resolver (spec "Resolving the Trust Chain and Metadata"): collect the paths from a
 * subject to the requested anchors, validate them in order of preference, and return the
 * first valid one with its resolved metadata and verified trust marks. When none is
 * valid, the ResolveError lists every path tried with the statement and rule that failed.
 *
 * The resolver owns its caches (fetched statements, parsed statements with their
 * signature results); there is no module-level state.
 */
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { Fetcher } from '../net/fetch.js'
import { InvalidTrustAnchor } from '../errors.js'
import { createPolicyEngine, type PolicyEngine, type PolicyOperator } from '../metadata_policy/index.js'
import type { TrustMarkVerifier, TrustMarkVerifyContext } from '../trust_marks/verify_contract.js'
import type { Jwks, TrustMarkRef } from '../types.js'
import { ChainError, SubjectError, noChainError, subjectError, ResolveError } from './errors.js'
import { StatementSource, type LocalStatements } from './source.js'
import { Statements, withSubject } from './statements.js'
import { collect, byPreference } from './collect.js'
import { validatePath, trustChainOf, expiryOf, linksOf, ssOf } from './validate.js'
import { resolvedMetadata } from './metadata.js'
import type { PathFailure, PathNode, ResolvedChain, ResolverLimits, Statement, TrustAnchor } from './types.js'

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
  /** Additional metadata policy operators (spec "Additional Operators"). */
  policyOperators?: readonly PolicyOperator[] | undefined
}

export interface ResolveOptions {
  /** Verify and include trust marks (off when resolving a trust mark issuer's own chain). */
  trustMarks?: boolean
  /**
   * The subject's entity configuration, already verified by the caller (explicit
   * registration: the client sends it, and may publish none); not fetched.
   */
  subjectStatement?: Statement
}

export class Resolver {
  private readonly source: StatementSource
  private readonly statements: Statements
  private readonly engine: PolicyEngine

  constructor(private readonly o: ResolverOptions) {
    this.source = new StatementSource({ fetcher: o.fetcher, clock: o.clock, limits: o.limits, local: o.local })
    this.statements = new Statements({ source: this.source, clock: o.clock, skew: o.skew, understoodCrit: o.understoodCrit, cacheEntries: o.limits.cache_entries })
    this.engine = createPolicyEngine(o.policyOperators ? { operators: o.policyOperators } : {})
  }

  /** Entity ids of the trusted anchors, in configured order. */
  async anchorIds(): Promise<string[]> {
    return (await this.o.anchors()).map((a) => a.entity_id)
  }

  /**
   * Resolves `subject` to one of `anchorIds` (spec "Resolve Entity": any of them may be
   * used; ids this resolver does not trust are ignored, and if none is left the error is
   * invalid_trust_anchor). Throws ResolveError or InvalidTrustAnchor.
   */
  async resolve(subject: string, anchorIds: readonly string[], entityTypes?: readonly string[], options: ResolveOptions = {}): Promise<ResolvedChain> {
    const trusted = (await this.o.anchors()).filter((a) => anchorIds.includes(a.entity_id))
    if (!trusted.length) throw new InvalidTrustAnchor(`${anchorIds.join(', ')}: not a trust anchor this resolver is configured to trust`)
    const byId = new Map(trusted.map((a) => [a.entity_id, a]))
    let collected
    try {
      const statements = options.subjectStatement ? withSubject(this.statements, options.subjectStatement) : this.statements
      collected = await collect(statements, this.o.limits, subject, new Set(byId.keys()))
    } catch (err) {
      if (err instanceof SubjectError) throw subjectError(subject, err)
      throw err
    }
    const failures = collected.failures
    for (const nodes of collected.candidates.sort(byPreference(trusted.map((a) => a.entity_id)))) {
      const anchor = byId.get(nodes.at(-1)!.id)!
      try {
        return await this.accept(nodes, anchor, entityTypes, options)
      } catch (err) {
        if (!(err instanceof ChainError)) throw err
        failures.push({ path: nodes.map((n) => n.id), statement: err.statement, rule: err.rule, message: err.message, stage: err.stage })
      }
    }
    throw noChainError(subject, trusted.map((a) => a.entity_id), sortFailures(failures))
  }

  /** Forgets every fetched and parsed statement (benchmarks, tests, operators). */
  clearCaches(): void {
    this.source.clear()
    this.statements.clear()
  }

  private async accept(nodes: PathNode[], anchor: TrustAnchor, entityTypes: readonly string[] | undefined, options: ResolveOptions): Promise<ResolvedChain> {
    await validatePath(nodes, anchor, { clock: this.o.clock, skew: this.o.skew, keySets: this.statements.keySets })
    const metadata = resolvedMetadata(this.engine, nodes, entityTypes)
    const marks = options.trustMarks === false ? { refs: [], exp: Infinity, cacheUntil: Infinity } : await this.trustMarks(nodes, anchor)
    return {
      subject: nodes[0]!.id,
      anchor: anchor.entity_id,
      trust_chain: trustChainOf(nodes).map((s) => s.jwt),
      links: linksOf(nodes),
      metadata,
      trust_marks: marks.refs,
      exp: Math.min(expiryOf(nodes), marks.exp),
      ...(marks.cacheUntil < Infinity ? { cacheUntil: marks.cacheUntil } : {}),
      subject_jwks: nodes.length > 1 ? ssOf(nodes, 1).claims.jwks : anchor.jwks,
    }
  }

  /** Spec "Resolve Entity": only trust marks verified against the chosen anchor are returned. */
  private async trustMarks(nodes: PathNode[], anchor: TrustAnchor): Promise<{ refs: TrustMarkRef[]; exp: number; cacheUntil: number }> {
    const marks = nodes[0]!.ec.claims.trust_marks ?? []
    const verifier = this.o.verifier
    if (!verifier || !marks.length) return { refs: [], exp: Infinity, cacheUntil: Infinity }
    const anchorEc = nodes.at(-1)!.ec.claims
    const ctx: TrustMarkVerifyContext = {
      subject: nodes[0]!.id,
      anchor: {
        entity_id: anchor.entity_id, jwks: anchor.jwks,
        ...(anchorEc.trust_mark_issuers ? { trust_mark_issuers: anchorEc.trust_mark_issuers } : {}),
        ...(anchorEc.trust_mark_owners ? { trust_mark_owners: anchorEc.trust_mark_owners } : {}),
      },
      issuerKeys: (issuer) => this.issuerKeys(issuer, anchor),
      // Status requests are outbound work of this resolution.
      fetcher: this.o.fetcher,
    }
    const results = await Promise.allSettled(marks.map((m) => verifier.verify(m.trust_mark, m.trust_mark_type, ctx)))
    const refs: TrustMarkRef[] = []
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
        this.o.logger.debug('trust mark not included', { subject: ctx.subject, trust_mark_type: m.trust_mark_type, reason: (r.reason as Error)?.message })
      }
    })
    return { refs, exp, cacheUntil }
  }

  /** The trust mark issuer's keys, through its own chain to the same anchor (without its trust marks). */
  private async issuerKeys(issuer: string, anchor: TrustAnchor): Promise<Jwks> {
    if (issuer === anchor.entity_id) return anchor.jwks
    try {
      return (await this.resolve(issuer, [anchor.entity_id], undefined, { trustMarks: false })).subject_jwks
    } catch (err) {
      const why = err instanceof ResolveError ? err.message : (err as Error).message
      throw new Error(`trust mark issuer ${issuer} has no valid trust chain to ${anchor.entity_id}: ${why}`, { cause: err })
    }
  }
}

function sortFailures(failures: PathFailure[]): PathFailure[] {
  const key = (f: PathFailure) => `${f.path.length.toString().padStart(3, '0')} ${f.path.join(' ')}`
  return failures.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}
