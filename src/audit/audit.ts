/**
 * Append-only audit trail of every change and every refused attempt (who, what, when,
 * outcome). A change is recorded with its write, atomically (`event()` + the store's
 * `{ audit }` write option); refusals on their own (`record()`); refused admin
 * authentications aggregated per source address (`refusals`).
 */
import type { Store, AuditEvent, AuditQuery } from '../storage/types.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import { RefusedAuthentications, type RefusalOptions } from './refusals.js'

export class AuditLog {
  /** Refused admin authentications, aggregated (refusals.ts). */
  readonly refusals: RefusedAuthentications

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    refusals: Partial<RefusalOptions> = {},
  ) {
    this.refusals = new RefusedAuthentications(this, clock, logger, refusals)
  }

  /** An event stamped now, for a write that carries it (`store.put(c, r, { audit })`). */
  event(
    actor: string,
    action: string,
    outcome: 'success' | 'failure',
    subject?: string,
    detail?: Record<string, unknown>,
  ): AuditEvent {
    return {
      time: new Date(this.clock.now() * 1000).toISOString(),
      actor,
      action,
      outcome,
      ...(subject !== undefined ? { subject } : {}),
      ...(detail ? { detail } : {}),
    }
  }

  /** Records an event on its own: for refusals and anything that changes no record. */
  async record(
    actor: string,
    action: string,
    outcome: 'success' | 'failure',
    subject?: string,
    detail?: Record<string, unknown>,
  ): Promise<AuditEvent> {
    const event = this.event(actor, action, outcome, subject, detail)
    try {
      return await this.store.appendAudit(event)
    } catch (err) {
      // An audit write that fails must be visible: log the event itself.
      this.logger.error('audit write failed', { event, err: (err as Error).message })
      throw err
    }
  }

  list(query: AuditQuery): Promise<AuditEvent[]> {
    return this.store.listAudit(query)
  }

  /** Shutdown: writes the refusals still counted in memory. */
  async stop(): Promise<void> {
    await this.refusals.stop()
  }
}
