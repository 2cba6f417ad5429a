/**
 * The standard operators in their order of application (each operator's "Order of
 * application": value First; add after value; default after add; one_of after default;
 * subset_of after one_of; superset_of after subset_of; essential Last).
 */
import { value } from './value.js'
import { add } from './add.js'
import { defaultOperator } from './default.js'
import { oneOf } from './one_of.js'
import { subsetOf } from './subset_of.js'
import { supersetOf } from './superset_of.js'
import { essential } from './essential.js'
import type { PolicyOperator } from '../types.js'

export const STANDARD_OPERATORS: readonly PolicyOperator[] = Object.freeze([
  value,
  add,
  defaultOperator,
  oneOf,
  subsetOf,
  supersetOf,
  essential,
])

export const STANDARD_OPERATOR_NAMES: readonly string[] = Object.freeze(STANDARD_OPERATORS.map((o) => o.name))

export { value, add, defaultOperator, oneOf, subsetOf, supersetOf, essential }
