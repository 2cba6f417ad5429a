/**
 * The one error of the metadata policy engine. Spec "Metadata Policy > Enforcement": any
 * policy error during resolution or application makes the Trust Chain invalid; we keep the
 * two phases apart so callers can answer with the right wire code.
 */
import { FederationError } from '../errors.js'

/** `invalid_policy`: resolution (combining) failed; `invalid_metadata`: application failed. */
export type PolicyErrorCode = 'invalid_policy' | 'invalid_metadata'

/** Where a policy error happened; every member is optional because not every failure has all of them. */
export interface PolicyErrorLocation {
  /** The Subordinate Statement, e.g. `statement #1 (https://ia.example -> https://rp.example)`. */
  statement?: string
  entityType?: string
  parameter?: string
  operator?: string
}

/**
 * Thrown by resolvePolicies (`invalid_policy`) and applyPolicy / applyMetadataPolicy
 * (`invalid_metadata`, or `invalid_policy` when the policy given to them is itself malformed).
 *
 * @example
 * try { resolvePolicies(chain) } catch (err) {
 *   if (err instanceof PolicyError) throw err.toFederationError() // -> invalid_trust_chain, 400
 * }
 */
export class PolicyError extends Error {
  readonly error: PolicyErrorCode
  /** The failure without the location prefix, e.g. `the intersection of ["a"] and ["b"] is empty`. */
  readonly reason: string
  readonly statement: string | undefined
  readonly entityType: string | undefined
  readonly parameter: string | undefined
  readonly operator: string | undefined

  constructor(error: PolicyErrorCode, reason: string, where: PolicyErrorLocation = {}, options: { cause?: unknown } = {}) {
    super(formatMessage(reason, where), options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'PolicyError'
    this.error = error
    this.reason = reason
    this.statement = where.statement
    this.entityType = where.entityType
    this.parameter = where.parameter
    this.operator = where.operator
  }

  /**
   * The error code of the spec's "Error Responses" section: a policy that cannot be resolved
   * makes the chain invalid (`invalid_trust_chain`); metadata the policy rejects is `invalid_metadata`.
   */
  toWireCode(): 'invalid_trust_chain' | 'invalid_metadata' {
    return this.error === 'invalid_policy' ? 'invalid_trust_chain' : 'invalid_metadata'
  }

  /** The same failure as the app's HTTP-facing error, keeping this one as `cause`. */
  toFederationError(): FederationError {
    return new FederationError(this.toWireCode(), this.message, { cause: this })
  }

  toJSON(): { error: PolicyErrorCode; error_description: string } {
    return { error: this.error, error_description: this.message }
  }
}

/**
 * What an operator throws from merge/apply/check. It carries only the reason; the engine
 * adds the statement, entity type, parameter and operator and turns it into a PolicyError.
 * Additional operators may throw it too (anything else they throw is wrapped the same way).
 */
export class OperatorError extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = 'OperatorError'
  }
}

function formatMessage(reason: string, where: PolicyErrorLocation): string {
  const parts: string[] = []
  if (where.statement !== undefined) parts.push(`metadata_policy of ${where.statement}`)
  const path = [where.entityType, where.parameter].filter((p): p is string => p !== undefined).join('.')
  if (path) parts.push(where.entityType === undefined ? `parameter "${path}"` : `"${path}"`)
  if (where.operator !== undefined) parts.push(`operator "${where.operator}"`)
  return parts.length > 0 ? `${parts.join(', ')}: ${reason}` : reason
}

/** Rewraps whatever an operator threw as a PolicyError at `where`. */
export function asPolicyError(err: unknown, code: PolicyErrorCode, where: PolicyErrorLocation): PolicyError {
  if (err instanceof PolicyError) return err
  if (err instanceof OperatorError) return new PolicyError(code, err.message, where)
  const reason = err instanceof Error ? err.message : String(err)
  return new PolicyError(code, `operator failed: ${reason}`, where, { cause: err })
}
