/**
 * The trust mark services of one federation (issuer, status, anchor settings, own marks),
 * wired into what the foundation publishes: entity configuration claims and the
 * subordinate listing's trust mark filters.
 */
import type { Federation } from '../federation.js'
import { TrustAnchorSettings } from './anchor.js'
import { TrustMarkIssuer } from './issuer.js'
import { OwnTrustMarks } from './own_marks.js'
import { TrustMarkStatusService } from './status.js'

export interface TrustMarkServices {
  issuer: TrustMarkIssuer
  status: TrustMarkStatusService
  anchor: TrustAnchorSettings
  own: OwnTrustMarks
  start(): Promise<void>
  stop(): Promise<void>
  /** One maintenance pass: refresh own marks, drop expired issued marks from the /list index. */
  tick(): Promise<void>
}

/** Real-time interval of the maintenance pass (decisions use the federation's clock). */
export const TICK_MS = 30_000

export function createTrustMarkServices(f: Federation): TrustMarkServices {
  const anchor = new TrustAnchorSettings(f)
  const issuer = new TrustMarkIssuer(f, () => anchor.owners())
  const status = new TrustMarkStatusService(f, issuer)
  const own = new OwnTrustMarks(f)

  f.publisher.addContributor(async (claims) => {
    const [issuers, owners, marks] = await Promise.all([anchor.issuers(), anchor.owners(), own.published()])
    if (issuers) claims.trust_mark_issuers = issuers
    if (owners) claims.trust_mark_owners = owners
    if (marks.length) claims.trust_marks = marks
  })
  // Spec "Subordinate Listing": trust_marked / trust_mark_type, from the marks seen in the
  // members' configurations at onboarding and the marks this entity issued to them.
  f.publisher.listFilters.add('trust_marked')
  f.publisher.listFilters.add('trust_mark_type')
  f.publisher.members.extraTrustMarkTypes = (id) => issuer.typesFor(id)

  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  const services: TrustMarkServices = {
    issuer, status, anchor, own,
    async start() {
      await issuer.loadIndex()
      f.publisher.invalidate({ collection: 'trust_marks' })
      timer ??= setInterval(() => {
        running ??= services.tick().catch((err: unknown) => f.logger.warn('trust marks maintenance failed', { err: String(err) }))
          .finally(() => (running = undefined))
      }, TICK_MS).unref()
    },
    async stop() {
      if (timer) clearInterval(timer)
      timer = undefined
      await running
    },
    async tick() {
      await own.refreshDue()
      if (issuer.pruneExpired()) f.publisher.invalidate({ collection: 'trust_marks' })
    },
  }
  return services
}
