/**
 * Checking a `metadata_policy` (and its `metadata_policy_crit`) before we publish it, e.g. when
 * a subordinate is onboarded: the JSON Schema for the structure and operator value types, then
 * the engine's own validation for combinations and critical operators - the same checks every
 * resolver applies (spec "Policy Resolution"), so we never sign a policy that breaks chains.
 *
 * The schemas are read once, when this module loads (schemas/ sits at the package root, two
 * levels above both src/metadata_policy/ and dist/metadata_policy/); validation does no I/O.
 */
import { createRequire } from 'node:module'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { PolicyError } from './errors.js'
import type { OperatorRegistry } from './registry.js'
import { collectCrit, validateMetadataPolicy } from './validate.js'

const require = createRequire(import.meta.url)
const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true })
const policySchema: ValidateFunction = ajv.compile(require('../../schemas/metadata_policy.schema.json') as object)
const critSchema: ValidateFunction = ajv.compile(require('../../schemas/metadata_policy_crit.schema.json') as object)

/**
 * Throws PolicyError (`invalid_policy`) naming the first problem: a structural or type error
 * (by JSON path), a forbidden operator combination, or a critical operator not understood.
 */
export function validatePolicyStructureWith(registry: OperatorRegistry, policy: unknown, crit?: readonly string[]): void {
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

/** `at "openid_relying_party.grant_types.subset_of": must be array`, or `<what> must be object` at the top. */
function describe(errors: ErrorObject[] | null | undefined, what: string): string {
  // For anyOf, ajv lists each branch's error before the anyOf one; the anyOf one says more.
  const e = errors?.find((x) => x.keyword === 'anyOf') ?? errors?.[0]
  if (!e) return `${what} is invalid`
  const path = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).join('.')
  const message = e.keyword === 'anyOf' ? 'must be an array of strings, of numbers or of objects' : e.message ?? 'is invalid'
  return path === '' ? `${what} ${message}` : `${what}, at "${path}": ${message}`
}
