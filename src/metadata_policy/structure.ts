/**
 * Checking a `metadata_policy` (and its `metadata_policy_crit`) before we publish it, e.g. when
 * a subordinate is onboarded: the JSON Schema for the structure and operator value types, then
 * the engine's own validation for combinations and critical operators - the same checks every
 * resolver applies (spec "Policy Resolution"), so we never sign a policy that breaks chains.
 *
 * The schemas are compiled once, with every other schema (config/schemas.ts); validation
 * does no I/O.
 */
import type { ErrorObject } from 'ajv'
import { validator, schemaProblem } from '../config/schemas.js'
import { PolicyError } from './errors.js'
import type { OperatorRegistry } from './registry.js'
import { collectCrit, validateMetadataPolicy } from './validate.js'

/**
 * Throws PolicyError (`invalid_policy`) naming the first problem: a structural or type error
 * (by JSON path), a forbidden operator combination, or a critical operator not understood.
 */
export function validatePolicyStructureWith(registry: OperatorRegistry, policy: unknown, crit?: readonly string[]): void {
  const policySchema = validator('metadata_policy')
  const critSchema = validator('metadata_policy_crit')
  if (!policySchema(policy)) throw new PolicyError('invalid_policy', describe(policySchema.errors, 'the policy'))
  if (crit !== undefined && !critSchema(crit)) throw new PolicyError('invalid_policy', describe(critSchema.errors, 'metadata_policy_crit'))
  collectCrit([{ crit, statement: undefined }], registry)
  validateMetadataPolicy(policy, { registry })
}

/** The same checks, returning the problem as a list (empty when the policy is acceptable). */
export function policyStructureErrors(registry: OperatorRegistry, policy: unknown, crit?: readonly string[]): string[] {
  try {
    validatePolicyStructureWith(registry, policy, crit)
    return []
  } catch (err) {
    if (err instanceof PolicyError) return [err.message]
    throw err
  }
}

/** `the policy, at "openid_relying_party.grant_types.subset_of": must be array`, or `<what> must be object` at the top. */
function describe(errors: readonly ErrorObject[] | null | undefined, what: string): string {
  // For anyOf, ajv lists each branch's error before the anyOf one; the anyOf one says more.
  const anyOf = errors?.find((x) => x.keyword === 'anyOf')
  const p = schemaProblem(anyOf ? [anyOf] : errors)
  if (!p) return `${what} is invalid`
  const message = p.keyword === 'anyOf' ? 'must be an array of strings, of numbers or of objects' : p.message
  return p.path.length === 0 ? `${what} ${message}` : `${what}, at "${p.path.join('.')}": ${message}`
}
