/**
 * Signing and verifying compact JWS with explicit typing: the only place (with keys.ts)
 * that imports jose. Every federation JWT carries `typ` and `kid`; `none` and HMAC
 * algorithms are never accepted (spec "Entity Statement", RFC 8725).
 */
import {
  SignJWT,
  jwtVerify,
  createLocalJWKSet,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTHeaderParameters,
  type CryptoKey,
  type KeyObject,
} from 'jose'
import { SIGNING_ALGS } from '../constants.js'
import type { Clock } from '../clock.js'
import { DEFAULT_JSON_LIMITS, JsonError, isJsonObject, parseJson, type JsonLimits } from '../util/json.js'

export type PrivateKeyLike = CryptoKey | KeyObject

export interface SigningKey {
  kid: string
  alg: string
  privateKey: PrivateKeyLike
}

export interface VerifyOptions {
  /** Expected JWS `typ`; anything else is rejected. */
  typ: string
  clock: Clock
  /** Tolerated clock skew in seconds. */
  skew?: number
  algorithms?: readonly string[]
  /** Require `iat`/`exp` (default true). */
  requireTimes?: boolean
  /** Extensions in `crit` header parameters we understand (default none). */
  critHeaders?: Record<string, boolean>
  /** Bounds on the decoded header and payload (default: DEFAULT_JSON_LIMITS). */
  json?: JsonLimits
}

export interface Verified<T> {
  payload: T & JWTPayload
  header: JWTHeaderParameters
}

/** Why a JWT failed; `reason` is stable for tests and callers. */
export class JwtError extends Error {
  constructor(
    readonly reason:
      | 'malformed'
      | 'depth'
      | 'typ'
      | 'alg'
      | 'kid'
      | 'signature'
      | 'expired'
      | 'iat'
      | 'claims',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'JwtError'
  }
}

export async function signJwt(
  payload: Record<string, unknown>,
  key: SigningKey,
  typ: string,
  extraHeader: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ ...extraHeader, alg: key.alg, kid: key.kid, typ })
    .sign(key.privateKey)
}

/**
 * Header and payload without verification, each read by the one JSON reader within
 * `limits` (util/json.ts): throws JwtError('malformed'), or JwtError('depth') for a header
 * or payload nested deeper than the limit.
 */
export function decodeUnverified(token: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): { header: JWTHeaderParameters; payload: JWTPayload } {
  const parts = typeof token === 'string' ? token.split('.') : []
  if (parts.length !== 3) throw new JwtError('malformed', 'not a compact JWS (three dot-separated parts expected)')
  return {
    header: decodePart(parts[0]!, 'header', limits) as JWTHeaderParameters,
    payload: decodePart(parts[1]!, 'payload', limits),
  }
}

const BASE64URL = /^[A-Za-z0-9_-]+$/

function decodePart(segment: string, what: 'header' | 'payload', limits: JsonLimits): Record<string, unknown> {
  if (!BASE64URL.test(segment)) throw new JwtError('malformed', `the JWT ${what} is not base64url`)
  let value: unknown
  try {
    value = parseJson(Buffer.from(segment, 'base64url').toString('utf8'), limits)
  } catch (err) {
    const deep = err instanceof JsonError && err.reason === 'depth'
    throw new JwtError(deep ? 'depth' : 'malformed', deep ? `the JWT ${what}: ${err.message}` : `the JWT ${what} is not valid JSON`, { cause: err })
  }
  if (!isJsonObject(value)) throw new JwtError('malformed', `the JWT ${what} is not a JSON object`)
  return value
}

const keySets = new WeakMap<JSONWebKeySet, ReturnType<typeof createLocalJWKSet>>()
function localKeySet(jwks: JSONWebKeySet) {
  let set = keySets.get(jwks)
  if (!set) {
    set = createLocalJWKSet(jwks)
    keySets.set(jwks, set)
  }
  return set
}

/**
 * Verifies signature (key chosen by `kid` in `jwks`), `typ`, `alg` allow-list, `iat`
 * (not in the future) and `exp` (in the future), both with `skew`.
 */
export async function verifyJwt<T = Record<string, unknown>>(
  token: string,
  jwks: JSONWebKeySet,
  options: VerifyOptions,
): Promise<Verified<T>> {
  const { header } = decodeUnverified(token, options.json)
  const algorithms = options.algorithms ?? SIGNING_ALGS
  if (header.typ !== options.typ) {
    throw new JwtError('typ', `JWS typ must be "${options.typ}", got ${JSON.stringify(header.typ ?? null)}`)
  }
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
    throw new JwtError('alg', `JWS alg ${JSON.stringify(header.alg ?? null)} is not allowed`)
  }
  if (typeof header.kid !== 'string' || header.kid === '') {
    throw new JwtError('kid', 'JWS header has no kid')
  }
  if (!jwks.keys.some((k) => k.kid === header.kid)) {
    throw new JwtError('kid', `no key with kid "${header.kid}" in the issuer's JWK set`)
  }
  const skew = options.skew ?? 60
  let result
  try {
    result = await jwtVerify<T>(token, localKeySet(jwks), {
      typ: options.typ,
      algorithms: [...algorithms],
      currentDate: new Date(options.clock.now() * 1000),
      clockTolerance: skew,
      crit: options.critHeaders ?? {},
    })
  } catch (err) {
    throw translateJoseError(err)
  }
  checkTimes(result.payload, options)
  return { payload: result.payload, header: result.protectedHeader }
}

function checkTimes(payload: JWTPayload, options: VerifyOptions): void {
  const now = options.clock.now()
  const skew = options.skew ?? 60
  if (options.requireTimes === false) return
  if (typeof payload.iat !== 'number') throw new JwtError('claims', 'iat is missing or not a number')
  if (typeof payload.exp !== 'number') throw new JwtError('claims', 'exp is missing or not a number')
  if (payload.iat > now + skew) throw new JwtError('iat', 'iat is in the future')
  if (payload.exp <= now - skew) throw new JwtError('expired', 'the JWT has expired')
}

function translateJoseError(err: unknown): JwtError {
  if (err instanceof JwtError) return err
  if (err instanceof joseErrors.JWTExpired) return new JwtError('expired', 'the JWT has expired', { cause: err })
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new JwtError('signature', 'the signature does not verify', { cause: err })
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return new JwtError('kid', 'no single key in the JWK set matches the JWS header', { cause: err })
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new JwtError('alg', 'algorithm not allowed', { cause: err })
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return new JwtError('claims', `claim check failed: ${err.message}`, { cause: err })
  }
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) {
    return new JwtError('malformed', `malformed JWT: ${err.message}`, { cause: err })
  }
  if (err instanceof joseErrors.JOSENotSupported) return new JwtError('alg', err.message, { cause: err })
  return new JwtError('signature', err instanceof Error ? err.message : String(err), { cause: err })
}
