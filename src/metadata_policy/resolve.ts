/**
 * Policy resolution (spec "Metadata Policy > Enforcement > Policy Resolution"): validate each
 * Subordinate Statement's `metadata_policy`, from the one issued by the most superior entity
 * (the Trust Anchor) down to the one issued by the subject's Immediate Superior, and merge it
 * into the current policy level by level (Entity Types, parameters, operators).
 */
import { PolicyError, asPolicyError, type PolicyErrorLocation } from './errors.js'
import type { PolicyExplanation } from './explain.js'
import { hasOwn, newObject, own, setMember } from './json.js'
import type { OperatorRegistry } from './registry.js'
import type { MetadataPolicy, ParameterPolicies, ParameterPolicy, PolicyStatement } from './types.js'
import {
  assertCombinations, collectCrit, operatorContext, validateEntityTypePolicy, validateMetadataPolicy,
  type ValidationScope,
} from './validate.js'

export interface ResolveOptions {
  /**
   * Critical operator names gathered from the chain's `metadata_policy_crit` claims; the
   * statements' own `crit` members are gathered too. Every name must be an understood
   * additional operator.
   */
  crit?: readonly string[] | undefined
  /** Records where every operator value came from (see PolicyExplanation). */
  explain?: PolicyExplanation | undefined
}

/** `statement #1 (https://ia.example -> https://rp.example)`, or the statement's own label. */
export function statementLabel(s: PolicyStatement<unknown>, index: number): string {
  if (s.label !== undefined) return s.label
  if (s.issuer !== undefined && s.subject !== undefined) return `statement #${index} (${s.issuer} -> ${s.subject})`
  if (s.issuer !== undefined) return `statement #${index} (issued by ${s.issuer})`
  return `statement #${index}`
}

/** Resolves whole `metadata_policy` claims; index 0 is the Trust Anchor's Subordinate Statement. */
export function resolveWith(registry: OperatorRegistry, statements: readonly PolicyStatement[], options: ResolveOptions = {}): MetadataPolicy {
  const labels = prepare(registry, statements, options)
  let current: MetadataPolicy | undefined
  statements.forEach((s, i) => {
    const scope: ValidationScope = { registry, statement: labels[i], explain: options.explain }
    options.explain?.statement(labels[i] as string, s.policy !== undefined && s.policy !== null)
    if (s.policy === undefined || s.policy === null) return
    const next = validateMetadataPolicy(s.policy, scope)
    if (current === undefined) {
      for (const entityType of Object.keys(next)) record(next[entityType] as ParameterPolicies, entityType, scope)
      current = next
      return
    }
    for (const entityType of Object.keys(next)) {
      const sub = next[entityType] as ParameterPolicies
      // Own members only: an inherited current["__proto__"] is Object.prototype, and merging into it pollutes every object.
      const cur = own(current, entityType) as ParameterPolicies | undefined
      if (cur === undefined) {
        record(sub, entityType, scope)
        setMember(current, entityType, sub)
      } else {
        mergeParameterPolicies(cur, sub, entityType, scope)
      }
    }
  })
  return current ?? {}
}

/** Resolves the policies of one Entity Type (each statement's `metadata_policy[type]`). */
export function resolveEntityTypeWith(
  registry: OperatorRegistry,
  statements: readonly PolicyStatement<ParameterPolicies>[],
  options: ResolveOptions & { entityType?: string | undefined } = {},
): ParameterPolicies {
  const labels = prepare(registry, statements, options)
  let current: ParameterPolicies | undefined
  statements.forEach((s, i) => {
    const scope: ValidationScope = { registry, statement: labels[i], explain: options.explain }
    options.explain?.statement(labels[i] as string, s.policy !== undefined && s.policy !== null)
    if (s.policy === undefined || s.policy === null) return
    const next = validateEntityTypePolicy(s.policy, options.entityType, scope)
    if (current === undefined) {
      record(next, options.entityType, scope)
      current = next
    } else {
      mergeParameterPolicies(current, next, options.entityType, scope)
    }
  })
  return current ?? {}
}

function prepare(registry: OperatorRegistry, statements: readonly PolicyStatement<unknown>[], options: ResolveOptions): string[] {
  // Callers may be untyped (JavaScript); checked through `unknown` to keep the element type after the check.
  const given: unknown = statements
  if (!Array.isArray(given)) throw new PolicyError('invalid_policy', 'the statements to resolve must be an array')
  const labels = statements.map(statementLabel)
  collectCrit([
    { crit: options.crit, allowEmpty: true },
    ...statements.map((s, i) => ({ crit: s.crit, statement: labels[i] })),
  ], registry)
  return labels
}

/** Level 2 of the merge; `current` is owned by the resolver and updated in place. */
function mergeParameterPolicies(current: ParameterPolicies, next: ParameterPolicies, entityType: string | undefined, scope: ValidationScope): void {
  for (const parameter of Object.keys(next)) {
    const sub = next[parameter] as ParameterPolicy
    const cur = own(current, parameter) as ParameterPolicy | undefined
    if (cur === undefined) {
      recordParameter(sub, { statement: scope.statement, entityType, parameter }, scope)
      setMember(current, parameter, sub)
    } else {
      setMember(current, parameter, mergeOperators(cur, sub, { statement: scope.statement, entityType, parameter }, scope))
    }
  }
}

/**
 * Level 3: "If an operator is already present in the current metadata parameter policy, the
 * values of the subordinate operator MUST be merged ... Subordinate operators that are not
 * present in the current metadata parameter policy MUST be copied to it." Then the merged
 * parameter policy must again contain only allowed combinations.
 */
function mergeOperators(
  cur: ParameterPolicy,
  sub: ParameterPolicy,
  where: PolicyErrorLocation & { parameter: string },
  scope: ValidationScope,
): ParameterPolicy {
  const ctx = operatorContext(where.parameter)
  const out: ParameterPolicy = newObject()
  for (const op of scope.registry.ordered) {
    const inCur = hasOwn(cur, op.name)
    const inSub = hasOwn(sub, op.name)
    if (!inCur && !inSub) continue
    if (inCur && inSub) {
      try {
        out[op.name] = op.merge(cur[op.name], sub[op.name], ctx)
      } catch (err) {
        const e = asPolicyError(err, 'invalid_policy', { ...where, operator: op.name })
        throw new PolicyError('invalid_policy', `cannot be merged with the superiors' policy: ${e.reason}`, { ...where, operator: op.name }, { cause: err })
      }
    } else {
      out[op.name] = inCur ? cur[op.name] : sub[op.name]
    }
    if (inSub) scope.explain?.contributed(where, op.name, sub[op.name], out[op.name])
  }
  try {
    assertCombinations(out, scope.registry, where)
  } catch (err) {
    const e = err as PolicyError
    throw new PolicyError('invalid_policy', `after merging with the superiors' policy, ${e.reason}`, { ...where, operator: e.operator })
  }
  return out
}

function record(policies: ParameterPolicies, entityType: string | undefined, scope: ValidationScope): void {
  if (!scope.explain) return
  for (const parameter of Object.keys(policies)) {
    recordParameter(policies[parameter] as ParameterPolicy, { statement: scope.statement, entityType, parameter }, scope)
  }
}

function recordParameter(policy: ParameterPolicy, where: PolicyErrorLocation & { parameter: string }, scope: ValidationScope): void {
  if (!scope.explain) return
  for (const op of Object.keys(policy)) scope.explain.contributed(where, op, policy[op], policy[op])
}
