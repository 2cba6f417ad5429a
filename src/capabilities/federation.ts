/**
 * The foundation's endpoints (spec "Federation Endpoints"), served by every deployment
 * from the publisher's signed caches; the entity configuration, subordinate statements and
 * the unfiltered listing are answered by the listener's fast path when cached.
 */
import { MEDIA, WELL_KNOWN_FEDERATION } from '../constants.js'
import type { Publisher } from '../entity/publisher.js'
import type { FederationCapability } from './types.js'

export const FEDERATION_ROUTES = {
  entity_configuration: WELL_KNOWN_FEDERATION,
  federation_fetch_endpoint: '/fetch',
  federation_list_endpoint: '/list',
  federation_historical_keys_endpoint: '/historical-keys',
  /** Anchorage's extension: whether a software statement this entity issued is still active (docs/software-statements.md, "Status"). */
  federation_software_statement_status_endpoint: '/software-statement-status',
} as const

export function federationCapability(publisher: Publisher): FederationCapability {
  return {
    kind: 'federation',
    routes: FEDERATION_ROUTES,
    fastRoutes: [
      { route: 'entity_configuration', mediaType: MEDIA.entityStatement, peek: () => publisher.peekEntityConfiguration() },
      { route: 'federation_list_endpoint', mediaType: MEDIA.json, peek: (search) => publisher.peekList(search) },
      {
        route: 'federation_fetch_endpoint',
        mediaType: MEDIA.entityStatement,
        peek(search) {
          const subs = new URLSearchParams(search).getAll('sub')
          return subs.length === 1 && subs[0] ? publisher.peekSubordinateStatement(subs[0]) : undefined
        },
      },
    ],
  }
}
