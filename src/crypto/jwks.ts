/**
 * Public JWK Sets that this entity publishes about others (the `jwks` of its subordinate
 * statements): every key must be a real public signing key of its type and size, because
 * Anchorage republishes it to the world and signs it as the member's federation key.
 * RFC 7517 (JWK), RFC 7518 section 6 (parameters per key type), RFC 8037 (OKP).
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto'
import type { JSONWebKeySet } from 'jose'

/** RFC 7518 section 6: members that carry private or symmetric key material. */
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/** The first private-key member `key` carries as its own property, or undefined. */
export function privateJwkMember(key: object): string | undefined {
  return PRIVATE_JWK_MEMBERS.find((m) => Object.hasOwn(key, m))
}

/**
 * The shape every outside JWK Set must have before it is used to verify anything (an entity
 * statement's `jwks`, a pinned anchor, a client's keys): a non-empty `keys` array of objects
 * with a `kty`, no private or symmetric key material, no two keys with the same `kid`.
 */
export function isJwks(v: unknown): v is JSONWebKeySet {
  if (!v || typeof v !== 'object' || !Array.isArray((v as { keys?: unknown }).keys)) return false
  const keys = (v as { keys: unknown[] }).keys
  const kids = new Set<string>()
  for (const k of keys) {
    if (!k || typeof k !== 'object' || typeof (k as { kty?: unknown }).kty !== 'string') return false
    if (privateJwkMember(k)) return false // private or symmetric key material (the rule onboarding applies)
    const kid = (k as { kid?: unknown }).kid
    if (typeof kid === 'string') {
      if (kids.has(kid)) return false
      kids.add(kid)
    }
  }
  return keys.length > 0
}

/** Coordinate / key sizes in bytes per curve (RFC 7518 section 6.2.1.2: full length, RFC 8037 section 2). */
const CURVES: Readonly<Record<string, { kty: 'EC' | 'OKP'; bytes: number; algs: readonly string[] }>> = Object.freeze({
  'P-256': { kty: 'EC', bytes: 32, algs: ['ES256'] },
  'P-384': { kty: 'EC', bytes: 48, algs: ['ES384'] },
  'P-521': { kty: 'EC', bytes: 66, algs: ['ES512'] },
  Ed25519: { kty: 'OKP', bytes: 32, algs: ['EdDSA', 'Ed25519'] },
})
const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const
/** NIST SP 800-131A: RSA signature keys below 2048 bits are disallowed. */
export const MIN_RSA_BITS = 2048
/**
 * OpenSSL's OPENSSL_RSA_MAX_MODULUS_BITS: with a larger modulus no signature verifies (the
 * verification is refused), so such a key would be stored and published, and never verify.
 */
export const MAX_RSA_BITS = 16384

const BASE64URL = /^[A-Za-z0-9_-]+$/

/** Why a single key is not a public signing key (field: reason), before any import. */
function shapeProblem(k: Record<string, unknown>): [field: string, reason: string] | undefined {
  const priv = privateJwkMember(k)
  if (priv) return [priv, 'private key members are not allowed']
  if (!Object.hasOwn(k, 'kid')) return ['kid', 'is required']
  if (typeof k.kid !== 'string' || k.kid === '') return ['kid', 'must be a non-empty string']
  for (const m of ['alg', 'use', 'crv'] as const) {
    if (Object.hasOwn(k, m) && typeof k[m] !== 'string') return [m, 'must be a string']
  }
  if (k.kty === 'RSA') return rsaProblem(k)
  if (k.kty === 'EC' || k.kty === 'OKP') return curveProblem(k)
  return ['kty', 'must be "EC", "RSA" or "OKP"']
}

function rsaProblem(k: Record<string, unknown>): [string, string] | undefined {
  for (const m of ['n', 'e'] as const) {
    if (!Object.hasOwn(k, m)) return [m, 'is required (a key without key material)']
    const v = k[m]
    if (typeof v !== 'string' || !BASE64URL.test(v)) return [m, 'must be a base64url string']
  }
  const n = Buffer.from(k.n as string, 'base64url')
  const bits = bitLength(n)
  if (bits < MIN_RSA_BITS) return ['n', `the modulus has ${bits} bits; at least ${MIN_RSA_BITS} are required`]
  if (bits > MAX_RSA_BITS) return ['n', `the modulus has ${bits} bits; at most ${MAX_RSA_BITS} are accepted (no larger key verifies a signature)`]
  if (Object.hasOwn(k, 'alg') && !(RSA_ALGS as readonly string[]).includes(k.alg as string)) {
    return ['alg', `${JSON.stringify(k.alg)} is not a signing algorithm for an RSA key (${RSA_ALGS.join(', ')})`]
  }
  return undefined
}

function curveProblem(k: Record<string, unknown>): [string, string] | undefined {
  if (!Object.hasOwn(k, 'crv')) return ['crv', 'is required']
  const curve = Object.hasOwn(CURVES, k.crv as string) ? CURVES[k.crv as string] : undefined
  if (!curve || curve.kty !== k.kty) {
    const names = Object.keys(CURVES).filter((c) => CURVES[c]!.kty === k.kty)
    return ['crv', `must be one of ${names.join(', ')} for kty ${k.kty as string}`]
  }
  for (const m of k.kty === 'EC' ? (['x', 'y'] as const) : (['x'] as const)) {
    if (!Object.hasOwn(k, m)) return [m, 'is required (a key without key material)']
    const v = k[m]
    if (typeof v !== 'string' || !BASE64URL.test(v)) return [m, 'must be a base64url string']
    const len = Buffer.from(v, 'base64url').length
    if (len !== curve.bytes) return [m, `must encode ${curve.bytes} bytes for ${k.crv as string}, not ${len}`]
  }
  if (Object.hasOwn(k, 'alg') && !curve.algs.includes(k.alg as string)) {
    return ['alg', `${JSON.stringify(k.alg)} is not the signing algorithm of a ${k.crv as string} key (${curve.algs.join(', ')})`]
  }
  if (k.crv === 'Ed25519' && !isEd25519Point(Buffer.from(k.x as string, 'base64url'))) return ['x', 'is not a point of Ed25519']
  return undefined
}

/**
 * RFC 8032 section 5.1.3 (decoding a point): WebCrypto imports raw Ed25519 public keys without
 * decoding them, so a key that no signature can ever verify would pass the import.
 */
function isEd25519Point(bytes: Buffer): boolean {
  const P = 2n ** 255n - 19n
  const mod = (a: bigint) => ((a % P) + P) % P
  const pow = (b: bigint, e: bigint): bigint => {
    let r = 1n
    for (b = mod(b); e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P
    return r
  }
  const le = Buffer.from(bytes).reverse()
  const sign = (le[0]! & 0x80) !== 0
  le[0]! &= 0x7f
  const y = BigInt(`0x${le.toString('hex')}`)
  if (y >= P) return false
  const d = mod(-121665n * pow(121666n, P - 2n))
  const u = mod(y * y - 1n)
  const v = mod(d * y * y + 1n)
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n))
  const vx2 = mod(v * x * x)
  if (vx2 !== u) {
    if (vx2 !== mod(-u)) return false
    x = mod(x * pow(2n, (P - 1n) / 4n))
  }
  return !(x === 0n && sign)
}

function bitLength(b: Buffer): number {
  let i = 0
  while (i < b.length && b[i] === 0) i++
  if (i === b.length) return 0
  return (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]!))
}

/**
 * Why `jwks` is not a JWK Set of real, distinct public signing keys, as "keys[1].p: reason"
 * (the caller prefixes its own field name), or undefined. Each key is imported (node:crypto,
 * the same OpenSSL import jose's verification uses here, synchronous and half the cost of a
 * WebCrypto import: onboarding pays it per key), which proves EC points are on their curve;
 * the algorithm's fit to the key type and curve is checked above.
 */
export async function publicJwksProblem(jwks: unknown): Promise<string | undefined> {
  if (typeof jwks !== 'object' || jwks === null || Array.isArray(jwks)) return 'must be a JSON object'
  if (!Object.hasOwn(jwks, 'keys')) return 'keys: is required'
  const keys = (jwks as { keys: unknown }).keys
  if (!Array.isArray(keys) || keys.length === 0) return 'keys: must be a non-empty array'
  const kids = new Map<string, number>()
  for (const [i, key] of keys.entries()) {
    const at = `keys[${i}]`
    if (typeof key !== 'object' || key === null || Array.isArray(key)) return `${at}: must be a JSON object`
    const k = key as Record<string, unknown>
    const problem = shapeProblem(k)
    if (problem) return `${at}.${problem[0]}: ${problem[1]}`
    const earlier = kids.get(k.kid as string)
    if (earlier !== undefined) return `${at}.kid: duplicates the kid of keys[${earlier}]`
    kids.set(k.kid as string, i)
    try {
      createPublicKey({ key: k as JsonWebKey, format: 'jwk' })
    } catch (err) {
      return `${at}: not a valid ${k.kty as string}${k.crv ? ` ${k.crv as string}` : ''} public key (${(err as Error).message})`
    }
  }
  return undefined
}
