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
  type FlattenedJWSInput,
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

/**
 * Signatures made and verifications by outcome, by `typ` (always one of ours: the typ asked
 * for, never the token's), process-wide; metrics.ts reads them at scrape time.
 */
export const jwtCounts = { signed: new Map<string, number>(), verified: new Map<string, number>(), refused: new Map<string, number>() }

function count(m: Map<string, number>, typ: string): void {
  m.set(typ, (m.get(typ) ?? 0) + 1)
}

export async function signJwt(
  payload: Record<string, unknown>,
  key: SigningKey,
  typ: string,
  extraHeader: Record<string, unknown> = {},
): Promise<string> {
  const jwt = await new SignJWT(payload)
    .setProtectedHeader({ ...extraHeader, alg: key.alg, kid: key.kid, typ })
    .sign(key.privateKey)
  count(jwtCounts.signed, typ)
  return jwt
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
/** jose's key set for `jwks`, one per key set object: it imports each public key once. */
function localKeySet(jwks: JSONWebKeySet) {
  let set = keySets.get(jwks)
  if (!set) {
    set = createLocalJWKSet(jwks)
    keySets.set(jwks, set)
  }
  return set
}

/** A JWT already read by decodeUnverified (its header and payload within the JSON limits). */
export type Decoded = ReturnType<typeof decodeUnverified>

/**
 * Verifies the signature with the key `kid` names in `jwks`, through jose's key-resolver
 * form: jose decodes the header once, checks `crit`, the `alg` allow-list, `typ`, `exp`
 * (with `skew`) and the presence of `iat`/`exp`; the resolver adds what jose has no option
 * for: `typ` compared exactly (jose tolerates an `application/` prefix and any case) and
 * before the signature is computed, a `kid` naming a key of the set, and `iat` not in the
 * future. `decoded`: the caller read the token already (depth-limited); otherwise it is
 * read here first, so that jose never parses JSON nested deeper than `options.json`.
 */
export async function verifyJwt<T = Record<string, unknown>>(
  token: string,
  jwks: JSONWebKeySet,
  options: VerifyOptions,
  decoded?: Decoded,
): Promise<Verified<T>> {
  try {
    const verified = await verify<T>(token, jwks, options, decoded)
    count(jwtCounts.verified, options.typ)
    return verified
  } catch (err) {
    count(jwtCounts.refused, options.typ)
    throw err
  }
}

async function verify<T>(token: string, jwks: JSONWebKeySet, options: VerifyOptions, decoded: Decoded | undefined): Promise<Verified<T>> {
  if (!decoded) decodeUnverified(token, options.json)
  const requireTimes = options.requireTimes !== false
  let result
  try {
    result = await jwtVerify<T>(token, (header, jws) => keyFor(header, jws, jwks, options.typ), {
      typ: options.typ,
      algorithms: [...(options.algorithms ?? SIGNING_ALGS)],
      currentDate: new Date(options.clock.now() * 1000),
      clockTolerance: options.skew ?? 60,
      crit: options.critHeaders ?? {},
      ...(requireTimes ? { requiredClaims: ['iat', 'exp'] } : {}),
    })
  } catch (err) {
    throw translateJoseError(err)
  }
  if (requireTimes) checkIat(result.payload, options)
  return { payload: result.payload, header: result.protectedHeader }
}

function keyFor(header: JWTHeaderParameters, jws: FlattenedJWSInput, jwks: JSONWebKeySet, typ: string) {
  if (header.typ !== typ) throw new JwtError('typ', `JWS typ must be "${typ}", got ${JSON.stringify(header.typ ?? null)}`)
  if (typeof header.kid !== 'string' || header.kid === '') throw new JwtError('kid', 'JWS header has no kid')
  if (!jwks.keys.some((k) => k.kid === header.kid)) throw new JwtError('kid', `no key with kid "${header.kid}" in the issuer's JWK set`)
  return localKeySet(jwks)(header, jws)
}

/** jose checks `iat` only against a maximum token age; a token from the future is refused here. */
function checkIat(payload: JWTPayload, options: VerifyOptions): void {
  const skew = options.skew ?? 60
  if (typeof payload.iat !== 'number') throw new JwtError('claims', 'iat is missing or not a number')
  if (payload.iat > options.clock.now() + skew) throw new JwtError('iat', 'iat is in the future')
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
    if (err.claim === 'typ') return new JwtError('typ', 'JWS typ is not the expected one', { cause: err })
    const missing = err.reason === 'missing' && (err.claim === 'iat' || err.claim === 'exp')
    return new JwtError('claims', missing ? `${err.claim} is missing or not a number` : `claim check failed: ${err.message}`, { cause: err })
  }
  // A header without alg is jose's JWSInvalid; it is an alg failure like any other.
  if (err instanceof joseErrors.JWSInvalid && err.message.includes('"alg"')) return new JwtError('alg', 'JWS alg is missing', { cause: err })
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) {
    return new JwtError('malformed', `malformed JWT: ${err.message}`, { cause: err })
  }
  if (err instanceof joseErrors.JOSENotSupported) return new JwtError('alg', err.message, { cause: err })
  return new JwtError('signature', err instanceof Error ? err.message : String(err), { cause: err })
}
