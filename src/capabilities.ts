/**
 * The capabilities a running service is assembled from, beyond the foundation:
 * each contributes federation dependencies, HTTP routes, and start/stop hooks.
 */
import type { FederationDeps, Federation } from './federation.js'
import type { AppExtension } from './http/app.js'
import { validatePolicyStructure } from './metadata_policy/index.js'
import { trustMarksCapability } from './trust_marks/capability.js'

export interface Capabilities {
  federationDeps: Partial<FederationDeps>
  http: AppExtension[]
  start?(f: Federation): Promise<void>
  stop?(f: Federation): Promise<void>
}

export function capabilities(): Capabilities {
  const marks = trustMarksCapability()
  return {
    ...marks,
    // Malformed or inconsistent metadata policies are refused at onboarding.
    federationDeps: { checkPolicy: (policy, crit) => validatePolicyStructure(policy, crit) },
    http: [...(marks.http ?? [])],
  }
}
