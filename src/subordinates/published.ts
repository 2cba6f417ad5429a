/**
 * The members as the publisher sees them (entity/publisher.ts's MemberSource): the
 * subordinates collection is read here, by its owner, and the publisher signs what it is
 * given. The listing's compact index (member_index.ts) is kept current change by change.
 */
import type { Store } from '../storage/types.js'
import type { EntityStatement } from '../types.js'
import type { MemberSource } from '../entity/publisher.js'
import { MemberIndex } from './member_index.js'
import type { SubordinateRecord } from './registry.js'

export function publishedMembers(store: Store): MemberSource {
  const index = new MemberIndex(store)
  return {
    async statement(iss, sub, iat, lifetime) {
      const rec = await store.get<SubordinateRecord>('subordinates', sub)
      return rec && rec.status === 'active' ? subordinateClaims(iss, rec, iat, lifetime) : undefined
    },
    forEach: (visit) => index.forEach(visit),
    changed: (change) => index.onChange(change),
    stop: () => index.stop(),
  }
}

/** Spec "Subordinate Statements": the claims of the statement about `rec`. */
export function subordinateClaims(iss: string, rec: SubordinateRecord, iat: number, lifetime: number): EntityStatement {
  const claims: EntityStatement = { iss, sub: rec.entity_id, iat, exp: iat + lifetime, jwks: rec.jwks }
  if (rec.metadata) claims.metadata = rec.metadata
  if (rec.metadata_policy) claims.metadata_policy = rec.metadata_policy
  if (rec.constraints) claims.constraints = rec.constraints
  if (rec.crit) claims.crit = rec.crit
  if (rec.metadata_policy_crit) claims.metadata_policy_crit = rec.metadata_policy_crit
  if (rec.source_endpoint) claims.source_endpoint = rec.source_endpoint
  return claims
}
