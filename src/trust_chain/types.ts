/**
 * Shapes shared by the trust chain modules: anchors, limits, the statements of a chain
 * and the result of a resolution (spec "Resolving the Trust Chain and Metadata").
 */
import type { EntityStatement, Jwks, Metadata, TrustMarkRef } from '../types.js'
import type { PolicyExplanation } from '../metadata_policy/index.js'

/** A trust anchor with its keys pinned out of band (configuration, not its entity configuration). */
export interface TrustAnchor {
  entity_id: string
  jwks: Jwks
}

export interface ResolverLimits {
  /** Most superiors above the subject in one path. */
  max_depth: number
  /** authority_hints inspected per entity. */
  max_fan_out: number
  /** Paths explored (valid or not) per resolution. */
  max_chains: number
  /** Upper bound of statement_ttl_max and answer_ttl_max, seconds (kept for older configurations). */
  cache_ttl_max: number
  /** Longest caching of a fetched statement from the start of its fetch, seconds (also bounded by its exp). */
  statement_ttl_max: number
  /** How long a resolve answer is fresh from the start of its resolution, seconds. */
  answer_ttl_max: number
  /** How long past fresh a resolve answer is still served while its background refresh runs, seconds. */
  answer_stale_seconds: number
  /** Background refreshes of stale answers running at once. */
  max_concurrent_refreshes: number
  /** Caching of a failure, seconds. */
  failure_ttl: number
  /** Most cached statements / answers. */
  cache_entries: number
  /** Outbound fetches per resolution, all branches together (budget.ts). */
  budget_fetches: number
  /** Signature verifications per resolution. */
  budget_verifications: number
  /** Wall time per resolution, milliseconds. */
  budget_ms: number
}

export type StatementKind = 'entity_configuration' | 'subordinate_statement'

/** A decoded entity statement whose syntax was checked; signature and times are checked separately. */
export interface Statement {
  jwt: string
  kind: StatementKind
  /** The JWS header as decoded (once, entity_statement.ts); alg, kid and typ checked. */
  header: { alg: string; kid: string; typ: string; [parameter: string]: unknown }
  claims: EntityStatement
  /** How this statement is named in failures, e.g. `subordinate statement A -> B`. */
  label: string
  /** Fingerprints of keys its signature verified with (spec "Validating a Trust Chain": results MAY be cached). */
  verifiedWith: Set<string>
}

/** One entity of a path: its entity configuration and the statement its superior issued about the entity below. */
export interface PathNode {
  id: string
  ec: Statement
  /** The subordinate statement this entity issued about the previous node (absent for the subject). */
  ss?: Statement
  /** The index of this node's hint among its subordinate's authority_hints (for a stable order). */
  hintIndex: number
}

/** The rule that failed, the statement it failed on and the path that led there. */
export interface PathFailure {
  /** Entity ids from the subject upwards. */
  path: string[]
  statement: string
  rule: string
  message: string
  /** `metadata` failures are reported as invalid_metadata, the others as invalid_trust_chain. */
  stage: 'chain' | 'metadata'
  /** For logs only (never in an answer): e.g. the address a host name resolved to. */
  detail?: string
}

/** One statement of a resolved chain, for people (CLI tree, logs). */
export interface ChainLink {
  kind: StatementKind
  iss: string
  sub: string
  kid: string
  exp: number
}

export interface ResolvedChain {
  subject: string
  anchor: string
  /** trust_chain: subject EC, subordinate statements upwards, anchor EC (one JWT when the subject is the anchor). */
  trust_chain: string[]
  links: ChainLink[]
  metadata: Metadata
  trust_marks: TrustMarkRef[]
  /** Minimum exp of every statement used (and of the included trust marks). */
  exp: number
  /**
   * Until when an answer built on this chain may be served from cache, when earlier than
   * `exp`: the freshness of the trust mark status answers it relies on (not part of `exp`,
   * which spec "Resolve Response" defines from the chain and the marks alone).
   */
  cacheUntil?: number
  /** The subject's federation keys, vouched for by its superior (or pinned, for an anchor). */
  subject_jwks: Jwks
  /** The subject's marks that were verified and refused, with why (never part of an answer; registration says why a required mark is missing). */
  trust_mark_refusals?: TrustMarkRefusal[]
  /** With ResolveOptions.explain: the metadata policy resolved and applied, step by step (never part of an answer). */
  explanation?: PolicyExplanation
}

/** A trust mark of the subject that did not pass "Validating a Trust Mark". */
export interface TrustMarkRefusal {
  trust_mark_type: string
  /** Which check failed (the verifier's message). */
  reason: string
}
