/**
 * The trust marks capability: issuer, trust anchor / owner and member roles. Declares the
 * three trust mark endpoints, the trust_mark_issuers / trust_mark_owners / trust_marks
 * claims of the entity configuration, the listing's trust_marked / trust_mark_type
 * filters, and the maintenance timer (started and stopped with the service).
 */
import type { Foundation } from '../foundation.js'
import { listFilter } from '../entity/publisher.js'
import { createTrustMarkServices } from '../trust_marks/services.js'
import type { TrustMarksCapability } from './types.js'

export function trustMarksCapability(f: Foundation): TrustMarksCapability {
  const services = createTrustMarkServices(f)
  const { issuer, anchor, own } = services
  // Spec "Subordinate Listing": the marks seen in a member's configuration at onboarding and the marks this entity issued to it.
  const marked = (id: string, seen: string[], type?: string) => {
    if (type === undefined) return seen.length > 0 || issuer.typesFor(id).length > 0
    return seen.includes(type) || issuer.typesFor(id).includes(type)
  }
  return {
    kind: 'trust_marks',
    services,
    routes: {
      federation_trust_mark_endpoint: '/trust-mark',
      federation_trust_mark_status_endpoint: '/trust-mark-status',
      federation_trust_mark_list_endpoint: '/trust-marked-entities',
    },
    claims: [async (claims) => {
      const [issuers, owners, marks] = await Promise.all([anchor.issuers(), anchor.owners(), own.published()])
      if (issuers) claims.trust_mark_issuers = issuers
      if (owners) claims.trust_mark_owners = owners
      if (marks.length) claims.trust_marks = marks
    }],
    listFilters: [
      listFilter('trust_marked', (id, m, value) => marked(id, m.trust_mark_types) === value),
      listFilter('trust_mark_type', (id, m, type) => marked(id, m.trust_mark_types, type)),
    ],
    start: () => services.start(),
    stop: () => services.stop(),
  }
}
