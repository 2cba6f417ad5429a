/**
 * Errors of the federation, one class per error code of the spec's "Error Responses"
 * section, plus the few extra codes OAuth endpoints need. The STATUS table is the only
 * place an HTTP status is chosen.
 */
export type FederationErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_issuer'
  | 'invalid_subject'
  | 'invalid_trust_anchor'
  | 'invalid_trust_chain'
  | 'invalid_metadata'
  | 'not_found'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'unsupported_parameter'
  // OAuth 2.0 (RFC 6749, RFC 7591, RFC 8707) codes used by the authorization server role
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_client_metadata'
  | 'invalid_redirect_uri'
  // RFC 9101 (JAR) section 6.3, OpenID Connect Core 6.4
  | 'invalid_request_object'
  | 'invalid_software_statement'
  | 'unapproved_software_statement'
  // RFC 6750 section 3.1: a bearer credential (initial or registration access token) that is not valid
  | 'invalid_token'
  // Admin API only
  | 'unauthorized'
  // RFC 6750 "Error Codes": the token is valid but its operator's role is below the route's
  | 'insufficient_scope'
  // The operator console (docs/console.md): a cookie-authenticated change without its CSRF token
  | 'forbidden'
  // Too many failed console logins from one address (RFC 6585 "429 Too Many Requests")
  | 'too_many_requests'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'method_not_allowed'
  // A method no route implements (RFC 9110 "501 Not Implemented")
  | 'not_implemented'

export const STATUS: Readonly<Record<FederationErrorCode, number>> = Object.freeze({
  invalid_request: 400,
  invalid_client: 401,
  invalid_issuer: 404,
  invalid_subject: 404,
  invalid_trust_anchor: 404,
  invalid_trust_chain: 400,
  invalid_metadata: 400,
  not_found: 404,
  server_error: 500,
  temporarily_unavailable: 503,
  unsupported_parameter: 400,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  invalid_client_metadata: 400,
  invalid_redirect_uri: 400,
  invalid_request_object: 400,
  invalid_software_statement: 400,
  unapproved_software_statement: 400,
  invalid_token: 401,
  unauthorized: 401,
  insufficient_scope: 403,
  forbidden: 403,
  too_many_requests: 429,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  method_not_allowed: 405,
  not_implemented: 501,
})

/**
 * Each error class's key, an own property of its prototype under a registered symbol, so
 * that `instanceof` holds across copies of a class: two copies of this module are what a
 * process has when a module graph is loaded twice (a CommonJS translation whose `import()`
 * loads the ESM graph again, as tsx's require hook does: the store adapters and the OpenID
 * Provider are imported dynamically; a bundle that inlines a module twice).
 */
const CLASS_KEY = Symbol.for('anchorage.errors.class')

/**
 * Gives an error class (FederationError or a subclass) its key: `instanceof Class` then
 * also holds for an instance of another copy of the class with the same key. A subclass
 * without a key is recognised by its prototype chain only.
 */
export function brandError(Class: abstract new (...args: never[]) => FederationError, key: string): void {
  Object.defineProperty(Class.prototype, CLASS_KEY, { value: `anchorage:${key}` })
}

/** Whether the prototype chain of `value` holds a prototype with the key of `proto` (bounded). */
function keyedAs(proto: unknown, value: unknown): boolean {
  if (typeof proto !== 'object' || proto === null || !Object.hasOwn(proto, CLASS_KEY)) return false
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false
  const key = (proto as Record<symbol, unknown>)[CLASS_KEY]
  for (let p: unknown = Object.getPrototypeOf(value), n = 0; typeof p === 'object' && p !== null && n < 32; p = Object.getPrototypeOf(p), n++) {
    if (Object.hasOwn(p, CLASS_KEY) && (p as Record<symbol, unknown>)[CLASS_KEY] === key) return true
  }
  return false
}

/**
 * The base error. Satisfies koa's `status`/`expose` contract: 4xx descriptions are
 * shown to the caller, 5xx descriptions are replaced by a generic text.
 * `detail` is for logs only and never leaves the process.
 */
export class FederationError extends Error {
  readonly error: FederationErrorCode
  readonly status: number
  readonly expose: boolean
  readonly detail: unknown

  /** The prototype chain first; then the class keys (brandError), across copies of the class. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value) || keyedAs(this.prototype, value)
  }

  constructor(error: FederationErrorCode, description: string, options: { cause?: unknown; detail?: unknown } = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'FederationError'
    this.error = error
    this.status = STATUS[error]
    this.expose = this.status < 500
    this.detail = options.detail
  }

  /** The JSON body of the spec's error response. */
  toJSON(): { error: FederationErrorCode; error_description: string } {
    return {
      error: this.error,
      error_description: this.expose ? this.message : 'the server could not complete the request',
    }
  }
}

brandError(FederationError, 'FederationError')

export type FederationErrorOptions = { cause?: unknown; detail?: unknown }

/** One named class per code, so that a log line or a stack says which error it is. */
const make = (code: FederationErrorCode, name: string) => {
  const Named = class extends FederationError {
    constructor(description: string, options?: FederationErrorOptions) {
      super(code, description, options)
      this.name = name
    }
  }
  Object.defineProperty(Named, 'name', { value: name })
  brandError(Named, name)
  return Named
}

// The spec's "Error Responses".
export const InvalidRequest = make('invalid_request', 'InvalidRequest')
export const InvalidClient = make('invalid_client', 'InvalidClient')
export const InvalidIssuer = make('invalid_issuer', 'InvalidIssuer')
export const InvalidSubject = make('invalid_subject', 'InvalidSubject')
export const InvalidTrustAnchor = make('invalid_trust_anchor', 'InvalidTrustAnchor')
export const InvalidTrustChain = make('invalid_trust_chain', 'InvalidTrustChain')
export const InvalidMetadata = make('invalid_metadata', 'InvalidMetadata')
export const NotFound = make('not_found', 'NotFound')
export const ServerError = make('server_error', 'ServerError')
export const TemporarilyUnavailable = make('temporarily_unavailable', 'TemporarilyUnavailable')
export const UnsupportedParameter = make('unsupported_parameter', 'UnsupportedParameter')
// OAuth 2.0 (RFC 6749, RFC 7591, RFC 8707).
export const InvalidGrant = make('invalid_grant', 'InvalidGrant')
export const UnauthorizedClient = make('unauthorized_client', 'UnauthorizedClient')
export const UnsupportedGrantType = make('unsupported_grant_type', 'UnsupportedGrantType')
export const InvalidScope = make('invalid_scope', 'InvalidScope')
export const InvalidTarget = make('invalid_target', 'InvalidTarget')
export const InvalidClientMetadata = make('invalid_client_metadata', 'InvalidClientMetadata')
export const InvalidRedirectUri = make('invalid_redirect_uri', 'InvalidRedirectUri')
// RFC 9101 (JAR).
export const InvalidRequestObject = make('invalid_request_object', 'InvalidRequestObject')
export const InvalidSoftwareStatement = make('invalid_software_statement', 'InvalidSoftwareStatement')
export const UnapprovedSoftwareStatement = make('unapproved_software_statement', 'UnapprovedSoftwareStatement')
// RFC 6750 section 3.1.
export const InvalidToken = make('invalid_token', 'InvalidToken')
// Admin API and HTTP.
export const Unauthorized = make('unauthorized', 'Unauthorized')
export const InsufficientScope = make('insufficient_scope', 'InsufficientScope')
export const Forbidden = make('forbidden', 'Forbidden')
export const TooManyRequests = make('too_many_requests', 'TooManyRequests')
export const Conflict = make('conflict', 'Conflict')
export const PayloadTooLarge = make('payload_too_large', 'PayloadTooLarge')
export const UnsupportedMediaType = make('unsupported_media_type', 'UnsupportedMediaType')
export const MethodNotAllowed = make('method_not_allowed', 'MethodNotAllowed')

export function isFederationError(err: unknown): err is FederationError {
  return err instanceof FederationError
}

/** Log-only `detail` members along the cause chain (FederationError, FetchError), bounded. */
export function privateDetails(err: unknown): string[] {
  const out: string[] = []
  let e = err
  for (let depth = 0; depth < 8 && e instanceof Error; depth++, e = e.cause) {
    for (const d of [(e as { detail?: unknown }).detail].flat()) {
      const text = typeof d === 'string' || d === undefined ? d : safeJson(d)
      if (text && !out.includes(text) && out.length < 20) out.push(text.slice(0, 1000))
    }
  }
  return out
}

/** A non-string detail as JSON; one that cannot be serialised (a cycle, a BigInt) by its type. */
function safeJson(d: unknown): string {
  try {
    return JSON.stringify(d) ?? typeof d
  } catch {
    return typeof d
  }
}
