/** Append-only audit trail of every change and every refused attempt (who, what, when, outcome). */
import type { Store, AuditEvent, AuditQuery } from '../storage/types.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'

export class AuditLog {
  constructor(private readonly store: Store, private readonly clock: Clock, private readonly logger: Logger) {}

  async record(
    actor: string,
    action: string,
    outcome: 'success' | 'failure',
    subject?: string,
    detail?: Record<string, unknown>,
  ): Promise<AuditEvent> {
    const event: AuditEvent = {
      time: new Date(this.clock.now() * 1000).toISOString(),
      actor,
      action,
      outcome,
      ...(subject !== undefined ? { subject } : {}),
      ...(detail ? { detail } : {}),
    }
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
}
