/**
 * Validation of one statement's `metadata_policy` during resolution (spec "Policy Resolution"):
 * "It MUST ensure the data structure is compliant and that every metadata parameter policy
 * contains only allowed operator combinations ... and in accordance with the specifications of
 * the operators." The result is an owned, normalized copy: operators in order of application,
 * additional operators that are not understood (and not critical) left out, as spec
 * "Additional Operators" says to ignore them.
 */
import { checkCombinations } from './combinations.js'
import { PolicyError, asPolicyError, type PolicyErrorLocation } from './errors.js'
import type { PolicyExplanation } from './explain.js'
import { cloneJson, describeKind, describeKinds, hasAnyKind, hasOwn, isObject, newObject, setMember, show } from './json.js'
import type { OperatorRegistry } from './registry.js'
import type { MetadataPolicy, OperatorContext, ParameterPolicies, ParameterPolicy, PolicyOperator } from './types.js'

export interface ValidationScope {
  readonly registry: OperatorRegistry
  /** The statement's name in errors, e.g. `statement #0 (https://ta.example -> https://ia.example)`. */
  readonly statement?: string | undefined
  readonly explain?: PolicyExplanation | undefined
}

export function operatorContext(parameter: string): OperatorContext {
  return { parameter, isScope: parameter === 'scope' }
}

export function validateMetadataPolicy(policy: unknown, scope: ValidationScope): MetadataPolicy {
  if (!isObject(policy)) {
    throw new PolicyError('invalid_policy', `metadata_policy must be a JSON object, not ${describeKind(policy)}`, { statement: scope.statement })
  }
  const out: MetadataPolicy = newObject()
  for (const entityType of Object.keys(policy)) setMember(out, entityType, validateEntityTypePolicy(policy[entityType], entityType, scope))
  return out
}

/** Validates the parameter policies of one Entity Type (`entityType` undefined when not known). */
export function validateEntityTypePolicy(policies: unknown, entityType: string | undefined, scope: ValidationScope): ParameterPolicies {
  if (!isObject(policies)) {
    throw new PolicyError('invalid_policy', `the policy of an Entity Type must be a JSON object of parameter policies, not ${describeKind(policies)}`,
      { statement: scope.statement, entityType })
  }
  const out: ParameterPolicies = newObject()
  for (const parameter of Object.keys(policies)) {
    const checked = validateParameterPolicy(policies[parameter], { statement: scope.statement, entityType, parameter }, scope)
    if (checked) setMember(out, parameter, checked)
  }
  return out
}

/** Returns the normalized parameter policy, or undefined when no understood operator is left. */
export function validateParameterPolicy(
  operators: unknown,
  where: PolicyErrorLocation & { parameter: string },
  scope: ValidationScope,
): ParameterPolicy | undefined {
  if (!isObject(operators)) {
    throw new PolicyError('invalid_policy', `a parameter policy must be a JSON object of operators, not ${describeKind(operators)}`, where)
  }
  const ctx = operatorContext(where.parameter)
  for (const name of Object.keys(operators)) {
    const op = scope.registry.get(name)
    if (op) checkOperand(op, operators[name], ctx, where)
    else scope.explain?.ignored(where, name)
  }
  const out: ParameterPolicy = newObject()
  for (const op of scope.registry.ordered) if (hasOwn(operators, op.name)) out[op.name] = cloneJson(operators[op.name])
  if (Object.keys(out).length === 0) return undefined
  assertCombinations(out, scope.registry, where)
  return out
}

/** Throws invalid_policy when the operators of `policy` may not be combined. */
export function assertCombinations(policy: ParameterPolicy, registry: OperatorRegistry, where: PolicyErrorLocation & { parameter: string }): void {
  const failure = checkCombinations(policy, registry, operatorContext(where.parameter))
  if (failure) throw new PolicyError('invalid_policy', failure.reason, { ...where, operator: failure.operator })
}

/**
 * Spec "Operators": "When the operator is configured with a JSON value type that is not
 * supported, the operator MUST produce a policy error."
 */
export function checkOperand(op: PolicyOperator, value: unknown, ctx: OperatorContext, where: PolicyErrorLocation): void {
  const kinds = op.operatorValueTypes
  if (kinds && !hasAnyKind(value, kinds)) {
    throw new PolicyError('invalid_policy',
      `the operator value must be ${describeKinds(kinds)}, not ${describeKind(value)} ${show(value)}`, { ...where, operator: op.name })
  }
  if (!op.validateValue) return
  let reason: string | undefined
  try {
    reason = op.validateValue(value, ctx)
  } catch (err) {
    throw asPolicyError(err, 'invalid_policy', { ...where, operator: op.name })
  }
  if (reason !== undefined) throw new PolicyError('invalid_policy', reason, { ...where, operator: op.name })
}

/**
 * Collects the critical operator names of the chain (spec "Policy Resolution": gathered from
 * every Subordinate Statement first). Spec "Entity Statement Validation", step 18: each
 * element "MUST be a string representing a Metadata Policy operator that is not defined by this
 * specification and that operator MUST be understood and be able to be processed"; and
 * `metadata_policy_crit` "MUST NOT be the empty array". A critical operator we do not
 * understand invalidates the statement even where no policy uses it.
 */
export function collectCrit(
  sources: ReadonlyArray<{ crit: unknown; statement?: string | undefined; allowEmpty?: boolean }>,
  registry: OperatorRegistry,
): Set<string> {
  const names = new Set<string>()
  for (const { crit, statement, allowEmpty } of sources) {
    if (crit === undefined || crit === null) continue
    if (!Array.isArray(crit) || !crit.every((c) => typeof c === 'string')) {
      throw new PolicyError('invalid_policy', `metadata_policy_crit must be an array of operator names, not ${show(crit)}`, { statement })
    }
    if (crit.length === 0 && allowEmpty !== true) {
      throw new PolicyError('invalid_policy', 'metadata_policy_crit must not be the empty array', { statement })
    }
    for (const name of crit) {
      if (registry.isStandard(name)) {
        throw new PolicyError('invalid_policy', 'metadata_policy_crit must list only additional operators, not standard ones', { statement, operator: name })
      }
      if (!registry.get(name)) {
        throw new PolicyError('invalid_policy', 'the operator is listed in metadata_policy_crit but is not understood', { statement, operator: name })
      }
      names.add(name)
    }
  }
  return names
}
