/**
 * Shapes of the `metadata_policy` claim (spec "Metadata Policy > Structure") and of the
 * operator contract (spec "Metadata Policy > Operators").
 */
import type { ValueKind } from './json.js'

/** Level 3: operator name -> operator value. */
export type ParameterPolicy = Record<string, unknown>
/** Level 2: metadata parameter name (may carry a language tag) -> its operators; one Entity Type. */
export type ParameterPolicies = Record<string, ParameterPolicy>
/** Level 1: Entity Type Identifier -> parameter policies; the whole `metadata_policy` claim. */
export type MetadataPolicy = Record<string, ParameterPolicies>

/** One Entity Type's metadata, e.g. the value of `metadata.openid_relying_party`. */
export type EntityTypeMetadata = Record<string, unknown>
/** The `metadata` claim: Entity Type Identifier -> metadata. */
export type Metadata = Record<string, EntityTypeMetadata>

/** A metadata parameter while operators work on it: absent, or present with a (non-null) value. */
export interface ParameterState {
  readonly present: boolean
  readonly value: unknown
}

export const ABSENT: ParameterState = Object.freeze({ present: false, value: undefined })

export interface OperatorContext {
  /** The metadata parameter name the operator acts on. */
  readonly parameter: string
  /**
   * True for `scope`: "regarded and processed as a string array by policy operators"
   * (Operators > Notes on Operators). The engine hands operators the split array and joins
   * the result again; `value`/`default` operands given as strings are split by the operator.
   */
  readonly isScope: boolean
}

/**
 * A metadata policy operator. The seven standard ones implement it, and so do additional
 * operators a federation defines (spec "Additional Operators"), passed as `operators` options.
 *
 * @example
 * // An additional check: every string value must start with https://
 * const httpsOnly: PolicyOperator = {
 *   name: 'https_only', kind: 'check', parameterTypes: ['string', 'array of strings'],
 *   operatorValueTypes: ['boolean'],
 *   merge: (a, b) => a === true || b === true,
 *   check(state, on) {
 *     const values = Array.isArray(state.value) ? state.value : [state.value]
 *     if (on === true && state.present && !values.every((v) => String(v).startsWith('https://')))
 *       throw new OperatorError('not every value is an https URL')
 *   },
 * }
 */
export interface PolicyOperator {
  /** Unique, case-sensitive name. */
  readonly name: string
  /**
   * `modifier` operators run after `value` (we run them after `default`, before the standard
   * checks); `check` operators run before `essential` (we run them after `superset_of`).
   */
  readonly kind: 'modifier' | 'check'
  /** Metadata parameter JSON types the operator supports; anything else is a policy error. Omitted: any non-null. */
  readonly parameterTypes?: readonly ValueKind[]
  /** Operator value JSON types the operator supports; anything else is a policy error. Omitted: any. */
  readonly operatorValueTypes?: readonly ValueKind[]
  /** Further checks of an operator value; returns the reason it is not acceptable. */
  validateValue?(value: unknown, ctx: OperatorContext): string | undefined
  /**
   * Operators this one may be combined with in one parameter policy, or '*' for any
   * (default '*'). A pair is allowed only when both operators allow it; standard operators
   * defer to an additional operator's declaration.
   */
  readonly combinesWith?: readonly string[] | '*'
  /** Merges the superior's value with the subordinate's; throws OperatorError when that is not allowed. */
  merge(superior: unknown, subordinate: unknown, ctx: OperatorContext): unknown
  /** Modifiers: the parameter after the operator. Must never return a present null value. */
  apply?(state: ParameterState, value: unknown, ctx: OperatorContext): ParameterState
  /** Checks: throws OperatorError when the parameter does not satisfy the operator. */
  check?(state: ParameterState, value: unknown, ctx: OperatorContext): void
}

/** A Subordinate Statement's contribution to policy resolution. */
export interface PolicyStatement<P = MetadataPolicy> {
  /** The statement's `metadata_policy` claim; undefined or null when it has none. */
  policy?: P | null | undefined
  /** The statement's `metadata_policy_crit` claim, if any. */
  crit?: readonly string[] | undefined
  /** The statement's `iss`. */
  issuer?: string | undefined
  /** The statement's `sub`. */
  subject?: string | undefined
  /** Overrides the name used in errors and explanations. */
  label?: string | undefined
}

export interface EngineOptions {
  /** Additional operators this deployment understands (spec "Additional Operators"). */
  operators?: readonly PolicyOperator[] | undefined
}
