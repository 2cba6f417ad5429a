/** Operators > Standard Operators > default. */
import { OperatorError } from '../errors.js'
import { show } from '../json.js'
import type { PolicyOperator } from '../types.js'
import { ANY_VALUE, asParameterValue, sameOperand } from './common.js'

export const defaultOperator: PolicyOperator = Object.freeze({
  name: 'default',
  kind: 'modifier',
  parameterTypes: ANY_VALUE,
  // "Operator JSON values: string, number, boolean, array" (+ object, optional); null is not one.
  operatorValueTypes: ANY_VALUE,
  combinesWith: Object.freeze(['value', 'add', 'one_of', 'subset_of', 'superset_of', 'essential']),
  // "The operator values MUST be equal. If the values are not equal this MUST produce a policy error."
  merge(a: unknown, b: unknown, ctx) {
    if (sameOperand(a, b, ctx)) return a
    throw new OperatorError(`the values ${show(a)} and ${show(b)} differ; "default" merges only equal values`)
  },
  // "If the metadata parameter is absent, it MUST be set to the value of the operator. If the
  // metadata parameter is present, this operator has no effect."
  apply(state, v: unknown, ctx) {
    return state.present ? state : { present: true, value: asParameterValue(v, ctx) }
  },
} satisfies PolicyOperator)
