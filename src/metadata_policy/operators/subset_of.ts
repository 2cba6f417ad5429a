/** Operators > Standard Operators > subset_of. */
import { intersect } from '../json.js'
import type { PolicyOperator } from '../types.js'
import { VALUE_ARRAYS, arrayOf } from './common.js'

export const subsetOf: PolicyOperator = Object.freeze({
  name: 'subset_of',
  // "subset_of is a potential value modifier in addition to it being a value check"; its place
  // in the order is fixed ("After one_of"), so `kind` only documents that it changes the value.
  kind: 'modifier',
  parameterTypes: VALUE_ARRAYS,
  operatorValueTypes: VALUE_ARRAYS,
  combinesWith: Object.freeze(['value', 'add', 'default', 'superset_of', 'essential']),
  // "... the intersection of the operator values. Note that the resulting intersection may thus
  // be an empty array []." (no error, unlike one_of)
  merge: (a: unknown, b: unknown) => intersect(a as unknown[], b as unknown[]),
  // "If the metadata parameter is present, it is assigned the intersection between the values of
  // the operator and the metadata parameter. Note that the resulting intersection may thus be an
  // empty array []." The parameter stays, as [], rather than being removed.
  apply(state, v: unknown) {
    return state.present ? { present: true, value: intersect(arrayOf(state), v as unknown[]) } : state
  },
} satisfies PolicyOperator)
