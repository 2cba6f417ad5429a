/**
 * The Foundation type: what every capability, and every domain service that takes the
 * deployment's shared collaborators, may be handed. Types only, at the domain layer (it
 * names the audit log), so domain deps are written as narrowings of it rather than
 * restatements; federation.ts builds the value (createFoundation).
 */
import type { Config } from './config/load.js'
import type { Store } from './storage/types.js'
import type { Clock } from './clock.js'
import type { Logger } from './logger.js'
import type { Fetcher } from './net/fetch.js'
import type { Keystore } from './crypto/keystore.js'
import type { AuditLog } from './audit/audit.js'
import type { ChangeFeed } from './changes.js'
import type { Metrics } from './metrics.js'

export interface Foundation {
  readonly config: Config
  readonly entityId: string
  readonly store: Store
  readonly clock: Clock
  readonly logger: Logger
  readonly fetcher: Fetcher
  readonly keystore: Keystore
  readonly audit: AuditLog
  /** Revision + typed events: every cache subscribes here. */
  readonly changes: ChangeFeed
  /** Prometheus metrics of this deployment (metrics.ts; served with the admin routes when metrics.enabled). */
  readonly metrics: Metrics
}
