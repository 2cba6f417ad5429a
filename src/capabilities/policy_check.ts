/** Malformed or inconsistent metadata policies are refused at onboarding (the policy engine's structure check). */
import { validatePolicyStructure } from '../metadata_policy/index.js'
import type { PolicyCheckCapability } from './types.js'

export function policyCheckCapability(): PolicyCheckCapability {
  return { kind: 'policy_check', checkPolicy: (policy, crit) => validatePolicyStructure(policy, crit) }
}
