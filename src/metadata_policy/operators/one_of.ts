/** Operators > Standard Operators > one_of. */
import { OperatorError } from '../errors.js'
import { contains, intersect, show } from '../json.js'
import type { PolicyOperator } from '../types.js'
import { VALUE_ARRAYS } from './common.js'

export const oneOf: PolicyOperator = Object.freeze({
  name: 'one_of',
  kind: 'check',
  // "Mandatory to support: string. Optional to support: object, number" (both supported).
  parameterTypes: Object.freeze(['string', 'number', 'object'] as const),
  operatorValueTypes: VALUE_ARRAYS,
  combinesWith: Object.freeze(['value', 'default', 'essential']),
  // "The result of merging ... is the intersection of the operator values. If the intersection
  // is empty, this MUST result in a policy error."
  merge(a: unknown, b: unknown) {
    const both = intersect(a as unknown[], b as unknown[])
    if (both.length === 0) throw new OperatorError(`the intersection of ${show(a)} and ${show(b)} is empty`)
    return both
  },
  // "If the metadata parameter is present, its value MUST be one of those listed in the operator value."
  check(state, v: unknown) {
    if (state.present && !contains(v as unknown[], state.value)) {
      throw new OperatorError(`${show(state.value)} is not one of ${show(v)}`)
    }
  },
} satisfies PolicyOperator)
