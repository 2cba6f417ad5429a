/** Operators > Standard Operators > superset_of. */
import { OperatorError } from '../errors.js'
import { contains, show, union } from '../json.js'
import type { PolicyOperator } from '../types.js'
import { VALUE_ARRAYS, arrayOf } from './common.js'

export const supersetOf: PolicyOperator = Object.freeze({
  name: 'superset_of',
  kind: 'check',
  parameterTypes: VALUE_ARRAYS,
  operatorValueTypes: VALUE_ARRAYS,
  combinesWith: Object.freeze(['value', 'add', 'default', 'subset_of', 'essential']),
  // "The result of merging the values of two superset_of operators is the union of the operator values."
  merge: (a: unknown, b: unknown) => union(a as unknown[], b as unknown[]),
  // "If the metadata parameter is present, its values MUST contain those specified in the
  // operator value. By mathematically defining supersets, equality is included."
  check(state, v: unknown) {
    if (!state.present) return
    const current = arrayOf(state)
    const missing = (v as unknown[]).filter((x) => !contains(current, x))
    if (missing.length > 0) throw new OperatorError(`${show(current)} does not contain ${show(missing)}`)
  },
} satisfies PolicyOperator)
