/** Operators > Standard Operators > essential. */
import { OperatorError } from '../errors.js'
import type { PolicyOperator } from '../types.js'
import { ANY_VALUE } from './common.js'

export const essential: PolicyOperator = Object.freeze({
  name: 'essential',
  kind: 'check',
  // "Metadata parameter JSON values: Mandatory to support: string, number, boolean, object, array"
  parameterTypes: ANY_VALUE,
  operatorValueTypes: Object.freeze(['boolean'] as const),
  // "MAY be combined with any other operator" (the value null / essential true rule is value's).
  combinesWith: '*',
  // "The result of merging the values of two essential operators is the logical disjunction (OR)."
  merge: (a: unknown, b: unknown) => a === true || b === true,
  // "If the value of this operator is true, then the metadata parameter MUST be present."
  // An empty array (e.g. from subset_of) is present.
  check(state, v: unknown) {
    if (v === true && !state.present) throw new OperatorError('the parameter is essential but absent')
  },
} satisfies PolicyOperator)
