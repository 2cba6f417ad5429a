/** Operators > Standard Operators > value. */
import { OperatorError } from '../errors.js'
import { show } from '../json.js'
import { ABSENT, type PolicyOperator } from '../types.js'
import { ANY_VALUE, asParameterValue, sameOperand } from './common.js'

export const value: PolicyOperator = Object.freeze({
  name: 'value',
  kind: 'modifier',
  parameterTypes: ANY_VALUE,
  // "Operator JSON values: string, number, boolean, array, null" (+ object, optional).
  operatorValueTypes: Object.freeze([...ANY_VALUE, 'null'] as const),
  combinesWith: Object.freeze(['add', 'default', 'one_of', 'subset_of', 'superset_of', 'essential']),
  // "Operator value merge: Allowed only when the operator values are equal."
  merge(a: unknown, b: unknown, ctx) {
    if (sameOperand(a, b, ctx)) return a
    throw new OperatorError(`the values ${show(a)} and ${show(b)} differ; "value" merges only equal values`)
  },
  // "The metadata parameter MUST be assigned the value of the operator. When the value of the
  // operator is null, the metadata parameter MUST be removed."
  apply(_state, v: unknown, ctx) {
    return v === null ? ABSENT : { present: true, value: asParameterValue(v, ctx) }
  },
} satisfies PolicyOperator)
