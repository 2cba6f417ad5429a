/** Operators > Standard Operators > add. */
import { cloneJson, contains, union } from '../json.js'
import type { PolicyOperator } from '../types.js'
import { VALUE_ARRAYS, arrayOf } from './common.js'

export const add: PolicyOperator = Object.freeze({
  name: 'add',
  kind: 'modifier',
  parameterTypes: VALUE_ARRAYS,
  operatorValueTypes: VALUE_ARRAYS,
  combinesWith: Object.freeze(['value', 'default', 'subset_of', 'superset_of', 'essential']),
  // "The result of merging the values of two add operators is the union of the values."
  merge: (a: unknown, b: unknown) => union(a as unknown[], b as unknown[]),
  // "Values that are already present in the metadata parameter MUST NOT be added another time.
  // If the metadata parameter is absent, it MUST be initialized with the value of this operator."
  apply(state, v: unknown) {
    if (!state.present) return { present: true, value: cloneJson(v) }
    const current = arrayOf(state)
    const added: unknown[] = []
    for (const x of v as unknown[]) if (!contains(current, x) && !contains(added, x)) added.push(cloneJson(x))
    return added.length === 0 ? state : { present: true, value: [...current, ...added] }
  },
} satisfies PolicyOperator)
