/**
 * What the trust mark services use of the deployment they run in: the few collaborators,
 * not the whole federation (the composition root hands its foundation, which has them).
 */
import type { Config } from '../config/load.js'
import type { Store } from '../storage/types.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { Fetcher } from '../net/fetch.js'
import type { Keystore } from '../crypto/keystore.js'
import type { AuditLog } from '../audit/audit.js'
import type { ChangeFeed } from '../changes.js'

export interface TrustMarkDeps {
  readonly entityId: string
  readonly config: Pick<Config, 'clock_skew' | 'resolver' | 'trust_mark_issuers' | 'trust_mark_owners'>
  readonly store: Store
  readonly clock: Clock
  readonly logger: Logger
  readonly fetcher: Fetcher
  readonly keystore: Keystore
  readonly audit: AuditLog
  readonly changes: ChangeFeed
}
