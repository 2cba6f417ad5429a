/**
 * Audit retention, shared by the adapters: prune at open and then every interval, with
 * the store's injected clock deciding what is old. The timer never keeps the process alive.
 */
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'

export interface RetentionOptions {
  /** Audit events older than this many days are deleted; undefined keeps everything. */
  auditRetentionDays?: number
  /** How often to prune after the pass at open, milliseconds (default one hour). */
  auditPruneIntervalMs?: number
}

export interface Retention {
  /** Prunes now; resolves to the number of events deleted. */
  run(): Promise<number>
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>
}

export function startRetention(
  o: RetentionOptions & { clock: Clock; logger: Logger; prune: (before: number) => Promise<number> },
): Retention | undefined {
  const days = o.auditRetentionDays
  if (days === undefined) return undefined
  let running: Promise<number> | undefined
  const run = (): Promise<number> => {
    running ??= o
      .prune(o.clock.now() - days * 86_400)
      .then((n) => {
        if (n > 0) o.logger.info('audit events pruned', { count: n, retention_days: days })
        return n
      })
      .finally(() => (running = undefined))
    return running
  }
  const timer = setInterval(() => {
    run().catch((err: unknown) => o.logger.warn('audit pruning failed', { error: String(err) }))
  }, o.auditPruneIntervalMs ?? 3_600_000)
  timer.unref()
  return {
    run,
    async stop() {
      clearInterval(timer)
      await running?.catch(() => undefined)
    },
  }
}
