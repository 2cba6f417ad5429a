/**
 * Applying a resolved policy to one Entity Type's metadata (spec "Metadata Policy >
 * Enforcement > Applying Metadata Policies"): for every parameter with a policy, "the operators
 * MUST be applied to the metadata parameter in a sequence that is determined by the absolute or
 * relative order specified for each operator" - the registry's order.
 */
import { OperatorError, PolicyError, asPolicyError, type PolicyErrorLocation } from './errors.js'
import type { PolicyExplanation } from './explain.js'
import { copyMembers, describeKind, describeKinds, hasAnyKind, hasOwn, isObject, setMember } from './json.js'
import { splitScope } from './operators/common.js'
import type { OperatorRegistry } from './registry.js'
import { ABSENT, type EntityTypeMetadata, type OperatorContext, type ParameterState, type PolicyOperator } from './types.js'
import { checkOperand, operatorContext } from './validate.js'

export interface ApplyOptions {
  /** Named in errors and explanations. */
  entityType?: string | undefined
  explain?: PolicyExplanation | undefined
}

/**
 * Returns a new metadata object; the input is not modified. Operators that are not understood
 * are ignored here (criticality is enforced during resolution); operator values are type-checked
 * again because callers may hand in a policy that did not come from resolution.
 */
export function applyWith(registry: OperatorRegistry, metadata: unknown, policy: unknown, options: ApplyOptions = {}): EntityTypeMetadata {
  const entityType = options.entityType
  if (!isObject(metadata)) {
    throw new PolicyError('invalid_metadata', `the metadata must be a JSON object, not ${describeKind(metadata)}`, { entityType })
  }
  if (!isObject(policy)) {
    throw new PolicyError('invalid_policy', `the policy must be a JSON object of parameter policies, not ${describeKind(policy)}`, { entityType })
  }
  const out: EntityTypeMetadata = copyMembers(metadata)
  for (const parameter of Object.keys(policy)) {
    applyParameter(registry, out, policy[parameter], { entityType, parameter }, options.explain)
  }
  return out
}

function applyParameter(
  registry: OperatorRegistry,
  out: EntityTypeMetadata,
  operators: unknown,
  where: PolicyErrorLocation & { parameter: string },
  explain: PolicyExplanation | undefined,
): void {
  if (!isObject(operators)) {
    throw new PolicyError('invalid_policy', `a parameter policy must be a JSON object of operators, not ${describeKind(operators)}`, where)
  }
  const ctx = operatorContext(where.parameter)
  let state = initialState(out, ctx, where)
  explain?.begin(where, state.present ? { present: true, value: out[where.parameter] } : ABSENT)
  for (const op of registry.ordered) {
    if (!hasOwn(operators, op.name)) continue
    const operand = operators[op.name]
    checkOperand(op, operand, ctx, where)
    const before = state
    try {
      state = step(op, state, operand, ctx)
    } catch (err) {
      const e = asPolicyError(err, 'invalid_metadata', { ...where, operator: op.name })
      explain?.step(where, op.name, operand, before, before, e.reason)
      throw e
    }
    explain?.step(where, op.name, operand, before, state)
  }
  if (state.present) {
    // "The resulting scope metadata parameter is a space-separated string" (Notes on Operators).
    const value = ctx.isScope && Array.isArray(state.value) ? state.value.join(' ') : state.value
    setMember(out, where.parameter, value)
    explain?.end(where, { present: true, value })
  } else {
    delete out[where.parameter]
    explain?.end(where, ABSENT)
  }
}

function initialState(metadata: EntityTypeMetadata, ctx: OperatorContext, where: PolicyErrorLocation): ParameterState {
  if (!hasOwn(metadata, ctx.parameter)) return ABSENT
  const value = metadata[ctx.parameter]
  // Spec "Entity Statement Validation": metadata does not use null values; no operator supports it.
  if (value === null || value === undefined) {
    throw new PolicyError('invalid_metadata', 'the parameter is null, which no operator supports', where)
  }
  return { present: true, value: ctx.isScope && typeof value === 'string' ? splitScope(value) : value }
}

/**
 * One operator on the parameter. Spec "Operators": "When the metadata parameter has a JSON value
 * type that is not supported, the operator MUST produce a policy error", and "An operator MUST
 * NOT output a metadata parameter with the null value".
 */
function step(op: PolicyOperator, state: ParameterState, operand: unknown, ctx: OperatorContext): ParameterState {
  const kinds = op.parameterTypes
  if (state.present && kinds && !hasAnyKind(state.value, kinds)) {
    throw new OperatorError(`the parameter is ${article(describeKind(state.value))}, which the operator does not support (it supports ${describeKinds(kinds)})`)
  }
  if (op.apply) {
    const next = op.apply(state, operand, ctx)
    if (next.present && (next.value === null || next.value === undefined)) {
      throw new OperatorError('the operator produced a null parameter value')
    }
    return next
  }
  op.check?.(state, operand, ctx)
  return state
}

function article(noun: string): string {
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`
}
