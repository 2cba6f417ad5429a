/**
 * The contract between trust chain resolution and trust mark verification (spec
 * "Validating a Trust Mark"). The resolver calls `TrustMarkVerifier.verify` for each
 * entry of the subject's `trust_marks`, with the chosen trust anchor's configuration.
 * Implemented in src/trust_marks/verify.ts; declared here, beside its caller, so that the
 * resolver depends on no trust mark module.
 */
import type { Fetcher } from '../net/fetch.js'
import type { Jwks } from '../types.js'

export interface AnchorTrustMarkPolicy {
  /** The trust anchor's entity id. */
  entity_id: string
  /** The anchor's federation keys (pinned). */
  jwks: Jwks
  /** `trust_mark_issuers` from the anchor's entity configuration (absent: no restriction recorded). */
  trust_mark_issuers?: Record<string, string[]>
  /** `trust_mark_owners` from the anchor's entity configuration. */
  trust_mark_owners?: Record<string, { sub: string; jwks: Jwks }>
}

export interface VerifiedTrustMark {
  trust_mark_type: string
  trust_mark: string
  iss: string
  iat: number
  exp?: number
  /**
   * Until when this verdict may be reused, when it rests on an answer of the issuer's Trust
   * Mark Status endpoint (that answer's cache time); absent: it holds until `exp`.
   */
  cacheUntil?: number
}

export interface TrustMarkVerifyContext {
  /** The entity the mark must be about. */
  subject: string
  anchor: AnchorTrustMarkPolicy
  /**
   * The issuer's federation keys, established through a trust chain to the same anchor
   * (the resolver supplies this; it returns the anchor's keys when the issuer is the anchor).
   * Rejects when the issuer's chain does not resolve.
   */
  issuerKeys(issuer: string): Promise<Jwks>
  /**
   * The resolver's outbound fetch path for this resolution: status requests are outbound
   * work of the resolution and go through it (and count against its limits).
   */
  fetcher?: Fetcher
}

export interface TrustMarkVerifier {
  /**
   * Resolves with the verified mark, or rejects with an Error whose message says which check
   * failed; a numeric `cacheUntil` on that Error says the refusal rests on a status answer
   * and holds only until then.
   */
  verify(trustMark: string, expectedType: string, ctx: TrustMarkVerifyContext): Promise<VerifiedTrustMark>
}
