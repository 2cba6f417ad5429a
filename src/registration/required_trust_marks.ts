/**
 * `registration.required_trust_marks`: the trust marks a client's resolved chain must carry
 * to be admitted, by the entity type it registers as. The marks are verified by the
 * resolver exactly as for a resolve answer (spec "Validating a Trust Mark": signature by the
 * issuer's keys through its own chain to the same anchor, the anchor's `trust_mark_issuers`
 * and `trust_mark_owners`, expiry, the issuer's status endpoint per
 * `trust_marks.status_check`); only the subject's marks of the required types are verified
 * (ResolveOptions.trustMarkTypes), so its other marks cost nothing.
 *
 * A missing mark refuses the client with invalid_client (spec "Error Responses": "The Client
 * cannot be authorized or is not a valid participant of the federation"), at automatic
 * registration, at explicit registration ("Explicit Client Registration Error Response"
 * allows the "Error Responses" codes) and at re-evaluation.
 */
import { decodeUnverified } from '../crypto/jwt.js'
import { InvalidClient } from '../errors.js'
import type { RegistrationConfig, RequiredTrustMark } from '../config/load.js'
import type { ResolvedChain } from '../trust_chain/types.js'

/** A verified trust mark as a registration records it (the consent page and the clients admin API show these). */
export interface AdmittedTrustMark {
  trust_mark_type: string
  trust_mark_issuer: string
}

export class RequiredTrustMarks {
  /** Every type some client type requires: the only marks the registrar has verified. */
  readonly types: ReadonlySet<string>

  constructor(private readonly config: RegistrationConfig['required_trust_marks']) {
    this.types = new Set(Object.values(config).flatMap((list) => (list ?? []).map((r) => r.trust_mark_type)))
  }

  /** What a client registered as `entityType` must carry: its own list, else `default`. */
  of(entityType: string): readonly RequiredTrustMark[] {
    const c = this.config as Record<string, RequiredTrustMark[] | undefined>
    return (Object.hasOwn(c, entityType) ? c[entityType] : c.default) ?? []
  }

  /**
   * The chain's verified marks of the required types, when each requirement of `entityType`
   * is met by one of them; otherwise InvalidClient naming the first requirement not met and
   * why (the refusals of the marks of that type the client presented).
   */
  admit(chain: ResolvedChain, entityType: string): AdmittedTrustMark[] {
    const verified = chain.trust_marks.flatMap((m) => {
      const iss = issuerOf(m.trust_mark)
      return iss === undefined || !this.types.has(m.trust_mark_type) ? [] : [{ trust_mark_type: m.trust_mark_type, trust_mark_issuer: iss }]
    })
    for (const r of this.of(entityType)) {
      const ofType = verified.filter((m) => m.trust_mark_type === r.trust_mark_type)
      if (ofType.some((m) => r.trust_mark_issuer === undefined || m.trust_mark_issuer === r.trust_mark_issuer)) continue
      const wanted = `a valid trust mark of type ${JSON.stringify(r.trust_mark_type)}${r.trust_mark_issuer ? ` issued by ${r.trust_mark_issuer}` : ''}`
      throw new InvalidClient(`${entityType} clients must carry ${wanted} (registration.required_trust_marks): ${why(chain, r, ofType)}`)
    }
    return dedupe(verified)
  }
}

function why(chain: ResolvedChain, r: RequiredTrustMark, ofType: AdmittedTrustMark[]): string {
  const refused = (chain.trust_mark_refusals ?? []).filter((f) => f.trust_mark_type === r.trust_mark_type).map((f) => f.reason)
  const others = ofType.map((m) => `one from ${m.trust_mark_issuer}`)
  const parts = [...others, ...refused.map((reason) => `refused: ${reason}`)]
  return parts.length ? `${chain.subject} carries ${parts.slice(0, 4).join('; ')}` : `${chain.subject} carries none`
}

/** The `iss` of a mark the resolver has verified (so its payload is known to be a JWT's). */
function issuerOf(jwt: string): string | undefined {
  try {
    const iss = decodeUnverified(jwt).payload.iss
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

function dedupe(marks: AdmittedTrustMark[]): AdmittedTrustMark[] {
  const seen = new Set<string>()
  return marks.filter((m) => {
    const key = JSON.stringify([m.trust_mark_type, m.trust_mark_issuer])
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
