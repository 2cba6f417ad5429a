/** Chooses the adapter named by the configuration: 'embedded' (DIR/data) or a mongodb:// URI. */
import { join } from 'node:path'
import type { Config } from '../config/load.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { Store } from './types.js'

export async function openStore(config: Pick<Config, 'store' | 'dir'> & Partial<Pick<Config, 'store_options' | 'audit'>>, deps: { clock: Clock; logger: Logger }): Promise<Store> {
  const spec = config.store
  // Retention applies to every adapter (pruning at open, then on a timer).
  const retention = config.audit
    ? { auditRetentionDays: config.audit.retention_days, auditPruneIntervalMs: config.audit.prune_interval_seconds * 1000 }
    : {}
  let store: Store
  if (spec === 'embedded' || spec.startsWith('embedded:')) {
    const { createEmbeddedStore } = await import('./embedded.js')
    const dir = spec === 'embedded' ? join(config.dir, 'data') : spec.slice('embedded:'.length)
    store = createEmbeddedStore({ dir, clock: deps.clock, logger: deps.logger, ...retention })
  } else if (/^mongodb(\+srv)?:\/\//.test(spec)) {
    const { createMongoStore } = await import('./mongodb.js')
    const o = config.store_options ?? {}
    store = createMongoStore({
      uri: spec, clock: deps.clock, logger: deps.logger, ...retention,
      ...(o.poll_interval_ms !== undefined ? { pollIntervalMs: o.poll_interval_ms } : {}),
      ...(o.change_streams ? { useChangeStreams: o.change_streams } : {}),
      ...(o.server_selection_timeout_ms !== undefined ? { serverSelectionTimeoutMS: o.server_selection_timeout_ms } : {}),
      ...(o.audit_recovery_interval_ms !== undefined ? { auditRecoveryIntervalMs: o.audit_recovery_interval_ms } : {}),
    })
  } else {
    throw new Error(`store: must be "embedded" or a mongodb:// URI, got ${JSON.stringify(spec)}`)
  }
  await store.open()
  return store
}
