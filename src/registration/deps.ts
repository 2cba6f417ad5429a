/**
 * What registration (and the authorization server built on it) uses of the deployment it
 * runs in: the few collaborators, not the whole federation. What this deployment signs
 * itself and the anchors it trusts come as ports (trust_chain/source.ts, anchors.ts).
 */
import type { Config } from '../config/load.js'
import type { Store } from '../storage/types.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { Fetcher } from '../net/fetch.js'
import type { Keystore } from '../crypto/keystore.js'
import type { AuditLog } from '../audit/audit.js'
import type { ChangeFeed } from '../changes.js'

export interface RegistrationDeps {
  readonly entityId: string
  readonly config: Config
  readonly store: Store
  readonly clock: Clock
  readonly logger: Logger
  readonly fetcher: Fetcher
  readonly keystore: Keystore
  readonly audit: AuditLog
  readonly changes: ChangeFeed
}
