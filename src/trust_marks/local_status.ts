/**
 * Marks this deployment issued, judged against its own trust mark records: the verdict its
 * Trust Mark Status endpoint would give (spec "Trust Mark Status"), without a request.
 * A revocation writes the record through the store, whose change feed also drops every
 * cached resolve answer, so a mark revoked here is absent from the very next answer.
 */
import type { Clock } from '../clock.js'
import type { TrustMarkIssuer } from './issuer.js'
import { instanceStatus, tokenHash, type MarkStatus } from './records.js'

export interface LocalTrustMarks {
  /** This deployment's entity id: marks with this `iss` are judged here, never over the network. */
  entityId: string
  /** The status of exactly this JWT (matched by hash) in the records; 'unknown' when it has none. */
  status(token: string, m: { trust_mark_type: string; sub: string }): Promise<MarkStatus | 'unknown'>
}

export function localTrustMarks(entityId: string, issuer: Pick<TrustMarkIssuer, 'record'>, clock: Clock): LocalTrustMarks {
  return {
    entityId,
    async status(token, m) {
      const rec = await issuer.record(m.trust_mark_type, m.sub)
      const hash = tokenHash(token)
      const instance = rec?.instances.find((i) => i.hash === hash)
      return instance ? instanceStatus(instance, clock.now()) : 'unknown'
    },
  }
}
