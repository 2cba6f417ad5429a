/** Helpers shared by the standard operators. */
import { cloneJson, isSubset, jsonEqual, setEqual, type ValueKind } from '../json.js'
import type { OperatorContext, ParameterState } from '../types.js'

/**
 * Metadata parameter types of `value`, `default` and `essential`: string, number, boolean and
 * array are mandatory to support; JSON objects are optional ("Notes on Operators") and we support them.
 */
export const ANY_VALUE: readonly ValueKind[] = Object.freeze(['string', 'number', 'boolean', 'array', 'object'] as const)

/**
 * Arrays of strings are mandatory for `add`, `one_of`, `subset_of`, `superset_of`; arrays of
 * objects and of numbers are optional and supported. Mixed or boolean arrays are not.
 */
export const VALUE_ARRAYS: readonly ValueKind[] = Object.freeze(['array of strings', 'array of numbers', 'array of objects'] as const)

/** `scope` is a space-separated string regarded as a string array ("Notes on Operators"). */
export function splitScope(s: string): string[] {
  const out: string[] = []
  for (const token of s.split(' ')) if (token !== '' && !out.includes(token)) out.push(token)
  return out
}

/** An operand as the parameter value it becomes: a copy, with `scope` strings split. */
export function asParameterValue(v: unknown, ctx: OperatorContext): unknown {
  return ctx.isScope && typeof v === 'string' ? splitScope(v) : cloneJson(v)
}

/** "The values of" an operand for the combination rules: its members, or the single value itself. */
export function valuesOf(v: unknown, ctx: OperatorContext): readonly unknown[] {
  if (ctx.isScope && typeof v === 'string') return splitScope(v)
  return Array.isArray(v) ? v : [v]
}

/** Equality for `value`/`default` merges; `scope` compares as a set of scope values. */
export function sameOperand(a: unknown, b: unknown, ctx: OperatorContext): boolean {
  if (ctx.isScope && (typeof a === 'string' || Array.isArray(a)) && (typeof b === 'string' || Array.isArray(b))) {
    return setEqual(valuesOf(a, ctx), valuesOf(b, ctx))
  }
  return jsonEqual(a, b)
}

/** The (already type-checked) array value of a present parameter. */
export function arrayOf(state: ParameterState): readonly unknown[] {
  return state.value as readonly unknown[]
}

export function subsetOfValues(a: unknown, b: unknown, ctx: OperatorContext): boolean {
  return isSubset(valuesOf(a, ctx), valuesOf(b, ctx))
}
