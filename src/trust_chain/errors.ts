/**
 * Why a resolution failed. Inside the resolver a ChainError names the statement and the
 * rule; at the boundary, ResolveError is a FederationError (so the status comes from the
 * one STATUS table) that also carries every path tried, for the CLI and logs.
 */
import { brandError, FederationError, privateDetails, type FederationErrorCode } from '../errors.js'
import type { PathFailure } from './types.js'

export class ChainError extends Error {
  constructor(
    readonly statement: string,
    readonly rule: string,
    message: string,
    readonly stage: 'chain' | 'metadata' = 'chain',
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'ChainError'
  }
}

/** The subject's own entity configuration could not be used: there is no path to report. */
export class SubjectError extends ChainError {
  constructor(statement: string, rule: string, message: string, readonly code: 'not_found' | 'invalid_subject', options?: { cause?: unknown }) {
    super(statement, rule, message, 'chain', options)
    this.name = 'SubjectError'
  }
}

export class ResolveError extends FederationError {
  constructor(code: FederationErrorCode, description: string, readonly paths: PathFailure[], options: { cause?: unknown; detail?: unknown } = {}) {
    super(code, description, options)
    this.name = 'ResolveError'
  }
}
brandError(ResolveError, 'ResolveError')

/**
 * The log-only detail of a failure: the first `detail` string along the cause chain (a
 * FetchError's resolved addresses or socket text). Descriptions never carry it.
 */
export function privateDetail(err: unknown): string | undefined {
  return privateDetails(err)[0]
}

/** How many failures error_description spells out; the rest are counted (all are in `paths`). */
const DESCRIBED = 3

/** `[A > B > C] subordinate statement C -> B: "signature": the signature does not verify`. */
export function describeFailure(f: PathFailure): string {
  return `[${f.path.join(' > ')}] ${f.statement}: "${f.rule}": ${f.message}`
}

/**
 * The error for a resolution with no valid chain (spec "Error Responses"): invalid_metadata
 * when some chain was valid but its metadata was not, else invalid_trust_chain.
 */
export function noChainError(subject: string, anchors: readonly string[], failures: PathFailure[]): ResolveError {
  const metadata = failures.filter((f) => f.stage === 'metadata')
  const code = metadata.length ? 'invalid_metadata' : 'invalid_trust_chain'
  const shown = metadata.length ? metadata : failures
  const parts = shown.slice(0, DESCRIBED).map(describeFailure)
  if (shown.length > DESCRIBED) parts.push(`(${shown.length - DESCRIBED} more)`)
  const what = metadata.length ? 'no trust chain with valid metadata' : 'no valid trust chain'
  const detail = parts.length ? `: ${parts.join('; ')}` : ''
  const logOnly = failures.flatMap((f) => (f.detail ? [`[${f.path.join(' > ')}] ${f.detail}`] : []))
  return new ResolveError(code, `${what} from ${subject} to ${anchors.join(', ')}${detail}`, failures, logOnly.length ? { detail: logOnly } : {})
}

export function subjectError(subject: string, err: SubjectError): ResolveError {
  const detail = privateDetail(err)
  const failure: PathFailure = { path: [subject], statement: err.statement, rule: err.rule, message: err.message, stage: 'chain', ...(detail ? { detail } : {}) }
  return new ResolveError(err.code, `${err.statement}: "${err.rule}": ${err.message}`, [failure], { cause: err })
}
