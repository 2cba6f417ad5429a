/**
 * What the trust mark services use of the deployment they run in: the foundation's
 * collaborators (the composition root hands its foundation), and of the configuration only
 * what they read.
 */
import type { Config } from '../config/load.js'
import type { Foundation } from '../foundation.js'

export type TrustMarkDeps = Omit<Foundation, 'config'> & {
  readonly config: Pick<Config, 'clock_skew' | 'resolver' | 'trust_mark_issuers' | 'trust_mark_owners'>
}
