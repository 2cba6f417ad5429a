/**
 * The trust mark services of one federation (issuer, status, anchor settings, own marks)
 * and their maintenance timer. What they add to what the foundation publishes (entity
 * configuration claims, the listing's trust mark filters) is declared by the trust marks
 * capability (capabilities/trust_marks.ts).
 */
import type { TrustMarkDeps } from './deps.js'
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

export function createTrustMarkServices(f: TrustMarkDeps): TrustMarkServices {
  const anchor = new TrustAnchorSettings(f)
  const issuer = new TrustMarkIssuer(f, () => anchor.owners())
  const status = new TrustMarkStatusService(f, issuer)
  const own = new OwnTrustMarks(f)

  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  const services: TrustMarkServices = {
    issuer, status, anchor, own,
    async start() {
      await issuer.loadIndex()
      f.changes.publish({ type: 'issued_marks_indexed' })
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
      if (issuer.pruneExpired()) f.changes.publish({ type: 'issued_marks_indexed' })
    },
  }
  return services
}
