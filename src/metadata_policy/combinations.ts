/**
 * Which operators may share one metadata parameter policy, and on what condition. Each
 * standard operator's "Combination with other operators in a metadata parameter policy" list;
 * spec "Operators": "applies to both individual as well as merged metadata parameter
 * policies ... Combinations that are not allowed MUST produce a policy error."
 */
import { contains, show } from './json.js'
import { subsetOfValues } from './operators/common.js'
import type { OperatorRegistry } from './registry.js'
import type { OperatorContext, ParameterPolicy, PolicyOperator } from './types.js'

export interface CombinationFailure {
  readonly operator: string
  readonly reason: string
}

type Condition = (a: unknown, b: unknown, ctx: OperatorContext) => string | undefined

/** Conditional pairs, keyed `first+second` in order of application. Unlisted allowed pairs are unconditional. */
const CONDITIONS: ReadonlyMap<string, Condition> = new Map<string, Condition>([
  // value: "MAY be combined with add, in which case the values of add MUST be a subset of the values of value."
  ['value+add', (v, add, ctx) => v === null
    ? 'value null removes the parameter, so it cannot be combined with add (the values of add must be a subset of the values of value)'
    : subsetOfValues(add, v, ctx) ? undefined : `the values of add ${show(add)} must be a subset of the values of value ${show(v)}`],
  // value: "MAY be combined with default if the value of value is not null."
  ['value+default', (v) => v === null ? 'default cannot be combined with value null' : undefined],
  // value: "MAY be combined with one_of, in which case the value of value MUST be among the one_of values."
  ['value+one_of', (v, oneOf) => v !== null && contains(oneOf as unknown[], v)
    ? undefined : `the value of value ${show(v)} must be among the one_of values ${show(oneOf)}`],
  // value: "MAY be combined with subset_of, in which case the values of value MUST be a subset of the values of subset_of."
  ['value+subset_of', (v, sub, ctx) => v !== null && subsetOfValues(v, sub, ctx)
    ? undefined : `the values of value ${show(v)} must be a subset of the values of subset_of ${show(sub)}`],
  // value: "MAY be combined with superset_of, in which case the values of value MUST be a superset of the values of superset_of."
  ['value+superset_of', (v, sup, ctx) => v !== null && subsetOfValues(sup, v, ctx)
    ? undefined : `the values of value ${show(v)} must be a superset of the values of superset_of ${show(sup)}`],
  // value: "MAY be combined with essential, except when value is null and essential is true."
  ['value+essential', (v, e) => v === null && e === true ? 'value null cannot be combined with essential true' : undefined],
  // add: "MAY be combined with subset_of, in which case the values of add MUST be a subset of the values of subset_of."
  ['add+subset_of', (add, sub, ctx) => subsetOfValues(add, sub, ctx)
    ? undefined : `the values of add ${show(add)} must be a subset of the values of subset_of ${show(sub)}`],
  // subset_of: "MAY be combined with superset_of, in which case the values of subset_of MUST be a superset of the values of superset_of."
  ['subset_of+superset_of', (sub, sup, ctx) => subsetOfValues(sup, sub, ctx)
    ? undefined : `the values of subset_of ${show(sub)} must be a superset of the values of superset_of ${show(sup)}`],
])

function allows(isStandard: (name: string) => boolean, op: PolicyOperator, other: PolicyOperator): boolean {
  const list = op.combinesWith ?? '*'
  if (list === '*' || list.includes(other.name)) return true
  // Standard operators cannot name additional ones; the additional operator's own list decides.
  return isStandard(op.name) && !isStandard(other.name)
}

/** For operators i < j in order of application: false (forbidden), true (allowed) or the condition. */
export type PairTable = ReadonlyArray<ReadonlyArray<boolean | Condition>>

export function buildPairTable(ordered: readonly PolicyOperator[], isStandard: (name: string) => boolean): PairTable {
  return ordered.map((a, i) => ordered.map((b, j) => {
    if (j <= i) return true
    if (!allows(isStandard, a, b) || !allows(isStandard, b, a)) return false
    return CONDITIONS.get(`${a.name}+${b.name}`) ?? true
  }))
}

/**
 * Checks every pair of understood operators in `policy` (unknown ones must have been removed).
 * Returns the first failure in order of application, or undefined.
 */
export function checkCombinations(
  policy: ParameterPolicy,
  registry: OperatorRegistry,
  ctx: OperatorContext,
): CombinationFailure | undefined {
  const { ordered, pairs } = registry
  const present: number[] = []
  for (let i = 0; i < ordered.length; i++) if (Object.hasOwn(policy, (ordered[i] as PolicyOperator).name)) present.push(i)
  for (let x = 0; x < present.length; x++) {
    const i = present[x] as number
    const a = ordered[i] as PolicyOperator
    for (let y = x + 1; y < present.length; y++) {
      const j = present[y] as number
      const b = ordered[j] as PolicyOperator
      const rule = pairs[i]?.[j]
      if (rule === false) {
        return { operator: b.name, reason: `"${a.name}" and "${b.name}" cannot be combined in one parameter policy` }
      }
      if (typeof rule === 'function') {
        const reason = rule(policy[a.name], policy[b.name], ctx)
        if (reason !== undefined) return { operator: b.name, reason }
      }
    }
  }
  return undefined
}

/** The conditional pairs, for documentation and tests. */
export const CONDITIONAL_PAIRS: readonly string[] = Object.freeze([...CONDITIONS.keys()])
