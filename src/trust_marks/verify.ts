/**
 * Trust mark verification for the resolver (implements trust_chain/trust_mark_verifier.ts): spec
 * "Validating a Trust Mark", "Validating a Trust Mark Delegation", and the federation
 * policy of "Trust Mark Policies" (which issuers the anchor recognizes).
 *
 * Cheap checks on the decoded mark run first; the issuer's keys (which may need a trust
 * chain) are asked for only when the mark could still be accepted.
 *
 * @example
 *   const verifier = createTrustMarkVerifier({ clock, skew: 60 })
 *   const ok = await verifier.verify(entry.trust_mark, entry.trust_mark_type, {
 *     subject, anchor: anchorTrustMarkPolicy(anchorEc), issuerKeys: (iss) => keysViaChain(iss),
 *   })
 */
import type { JWTPayload, JWTHeaderParameters } from 'jose'
import type { Clock } from '../clock.js'
import { SIGNING_ALGS, TYP } from '../constants.js'
import { decodeUnverified, verifyJwt, JwtError, type Decoded } from '../crypto/jwt.js'
import type { EntityStatement, Jwks } from '../types.js'
import { TrustMarkError, type TrustMarkFailure } from './errors.js'
import { ownView } from '../util/json.js'
import type { LocalTrustMarks } from './local_status.js'
import { createStatusChecker, type StatusCheckOptions } from './status_check.js'
import type { AnchorTrustMarkPolicy, TrustMarkVerifier, TrustMarkVerifyContext, VerifiedTrustMark } from '../trust_chain/trust_mark_verifier.js'

export { TrustMarkError } from './errors.js'
export type { TrustMarkFailure } from './errors.js'

export interface TrustMarkVerifierOptions {
  clock: Clock
  /** Tolerated clock skew for iat/exp, seconds (default 60). */
  skew?: number
  /** Accepted JWS algorithms (default: the asymmetric allow-list; never none or HMAC). */
  algorithms?: readonly string[]
  /**
   * Also ask the issuer's Trust Mark Status endpoint (spec "Trust Mark Status"). Off without
   * these options; with them, on by default for every mark (`when`).
   */
  status?: StatusCheckOptions
  /**
   * This deployment's own trust mark records: marks it issued are judged by them (revoked,
   * expired or unknown marks refused), whatever `status` says, and never asked over the network.
   */
  local?: LocalTrustMarks
}

interface MarkClaims {
  iss: string
  sub: string
  trust_mark_type: string
  iat: number
  exp?: number
  delegation?: string
}

export function createTrustMarkVerifier(options: TrustMarkVerifierOptions): TrustMarkVerifier {
  const skew = options.skew ?? 60
  const algorithms = options.algorithms ?? SIGNING_ALGS
  const checkStatus = options.status ? createStatusChecker(options.status, { clock: options.clock, skew, algorithms }) : undefined

  return {
    async verify(trustMark: string, expectedType: string, ctx: TrustMarkVerifyContext): Promise<VerifiedTrustMark> {
      const decoded = decode(trustMark, 'malformed', 'the trust mark')
      const { header, payload } = decoded
      checkHeader(header, TYP.trustMark, algorithms, '', 'the trust mark')
      const m = markClaims(payload)
      const what = `trust mark ${JSON.stringify(m.trust_mark_type)} from ${m.iss}`
      if (m.sub !== ctx.subject) fail('sub', `${what}: sub ${JSON.stringify(m.sub)} is not the subject ${ctx.subject}`)
      if (m.trust_mark_type !== expectedType) {
        fail('trust_mark_type', `${what}: the entry names trust_mark_type ${JSON.stringify(expectedType)}`)
      }
      checkTimes(m, options.clock.now(), skew, '', what)
      checkIssuerAllowed(m, ctx.anchor, what)
      const ours = options.local !== undefined && m.iss === options.local.entityId
      if (ours) await checkLocal(options.local!, trustMark, m, what)
      let jwks: Jwks
      try {
        jwks = await ctx.issuerKeys(m.iss)
      } catch (err) {
        fail('issuer_untrusted', `${what}: no trust in the issuer: ${(err as Error).message}`, err)
      }
      await checkSignature(trustMark, jwks, TYP.trustMark, options, '', what, decoded)
      // The type is the mark's claim: `constructor` or `__proto__` must not find an inherited owner.
      const owners = ctx.anchor.trust_mark_owners
      const owner = owners && Object.hasOwn(owners, m.trust_mark_type) ? owners[m.trust_mark_type] : undefined
      // "Validating a Trust Mark" steps 8 and 9.
      if (owner && m.delegation === undefined) {
        fail('delegation_missing', `${what}: the trust anchor names ${owner.sub} as owner of the type, but the mark has no delegation`)
      }
      if (m.delegation !== undefined) await verifyDelegation(m.delegation, { issuer: m.iss, type: m.trust_mark_type, owner }, options)
      const cacheUntil = checkStatus && !ours ? await checkStatus(trustMark, m, jwks, ctx.fetcher) : undefined
      return {
        trust_mark_type: m.trust_mark_type, trust_mark: trustMark, iss: m.iss, iat: m.iat,
        ...(m.exp !== undefined ? { exp: m.exp } : {}),
        ...(cacheUntil !== undefined ? { cacheUntil } : {}),
      }
    },
  }
}

/** The anchor's part of trust mark verification, from its (verified) entity configuration. */
export function anchorTrustMarkPolicy(ec: Pick<EntityStatement, 'iss' | 'jwks' | 'trust_mark_issuers' | 'trust_mark_owners'>): AnchorTrustMarkPolicy {
  return {
    entity_id: ec.iss, jwks: ec.jwks,
    ...(ec.trust_mark_issuers ? { trust_mark_issuers: ec.trust_mark_issuers } : {}),
    ...(ec.trust_mark_owners ? { trust_mark_owners: ec.trust_mark_owners } : {}),
  }
}

/**
 * Federation policy (spec "Trust Mark Policies"): no trust_mark_issuers claim = no
 * restriction; a listed type with [] = anyone; a listed type = only those issuers; a type
 * absent from a present claim is not recognized by the federation, unless the anchor
 * names its owner in trust_mark_owners (the owner's delegation is then the authority).
 */
export function checkIssuerAllowed(m: { iss: string; trust_mark_type: string }, anchor: AnchorTrustMarkPolicy, what: string): void {
  const issuers = anchor.trust_mark_issuers
  if (issuers === undefined) return
  const allowed = Object.hasOwn(issuers, m.trust_mark_type) ? issuers[m.trust_mark_type] : undefined
  if (allowed === undefined) {
    if (anchor.trust_mark_owners && Object.hasOwn(anchor.trust_mark_owners, m.trust_mark_type)) return
    fail('type_not_recognized', `${what}: the trust anchor ${anchor.entity_id} does not recognize this trust mark type (not in trust_mark_issuers)`)
  }
  if (allowed.length > 0 && !allowed.includes(m.iss)) {
    fail('issuer_not_allowed', `${what}: the trust anchor ${anchor.entity_id} does not list ${m.iss} in trust_mark_issuers for this type`)
  }
}

/** Spec "Validating a Trust Mark Delegation". */
export async function verifyDelegation(
  token: string,
  expect: { issuer: string; type: string; owner: { sub: string; jwks: Jwks } | undefined },
  options: Pick<TrustMarkVerifierOptions, 'clock' | 'skew' | 'algorithms'>,
): Promise<void> {
  const what = `delegation for ${JSON.stringify(expect.type)} to ${expect.issuer}`
  const decoded = decode(token, 'delegation_malformed', what)
  const { header, payload } = decoded
  checkHeader(header, TYP.trustMarkDelegation, options.algorithms ?? SIGNING_ALGS, 'delegation_', what)
  const iss = payload.iss
  const sub = payload.sub
  const type = (payload as { trust_mark_type?: unknown }).trust_mark_type
  if (typeof iss !== 'string' || typeof sub !== 'string' || typeof type !== 'string') {
    fail('delegation_malformed', `${what}: iss, sub and trust_mark_type must be strings`)
  }
  if (!expect.owner) fail('delegation_iss', `${what}: the trust anchor lists no owner for this type, so the delegation from ${iss} cannot be validated`)
  if (iss !== expect.owner.sub) fail('delegation_iss', `${what}: issued by ${iss}, but the trust anchor names ${expect.owner.sub} as owner`)
  if (sub !== expect.issuer) fail('delegation_sub', `${what}: delegates to ${sub}, not to the mark's issuer`)
  if (type !== expect.type) fail('delegation_type', `${what}: delegates trust_mark_type ${JSON.stringify(type)}`)
  const times = { iat: payload.iat, ...(payload.exp !== undefined ? { exp: payload.exp } : {}) }
  checkTimes(times, options.clock.now(), options.skew ?? 60, 'delegation_', what)
  await checkSignature(token, expect.owner.jwks, TYP.trustMarkDelegation, options, 'delegation_', what, decoded)
}

/** A mark this deployment issued: its own records decide, as its status endpoint would. */
async function checkLocal(local: LocalTrustMarks, token: string, m: MarkClaims, what: string): Promise<void> {
  const status = await local.status(token, m)
  if (status === 'unknown') fail('status', `${what}: this issuer has no record of issuing this mark`)
  if (status !== 'active') fail('status', `${what}: ${status} (this issuer's own records)`)
}

function decode(token: string, reason: TrustMarkFailure, what: string): { header: JWTHeaderParameters; payload: JWTPayload } {
  try {
    return decodeUnverified(token)
  } catch (err) {
    fail(reason, `${what} is not a compact JWS`, err)
  }
}

/** "Validating a Trust Mark" steps 2-3 (and the delegation's), before anything costly. */
function checkHeader(header: JWTHeaderParameters, typ: string, algorithms: readonly string[], prefix: '' | 'delegation_', what: string): void {
  if (header.typ !== typ) fail(`${prefix}typ`, `${what}: JWS typ must be "${typ}", got ${JSON.stringify(header.typ ?? null)}`)
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
    fail(`${prefix}alg`, `${what}: JWS alg ${JSON.stringify(header.alg ?? null)} is not allowed`)
  }
  if (typeof header.kid !== 'string' || header.kid === '') fail(`${prefix}kid`, `${what}: JWS header has no kid`)
}

function markClaims(p: JWTPayload): MarkClaims {
  // Own claims only (an inherited member is not a claim); the copy is what the verifier keeps.
  const c = ownView(p)
  for (const name of ['iss', 'sub', 'trust_mark_type'] as const) {
    if (typeof c[name] !== 'string' || c[name] === '') fail('malformed', `the trust mark's ${name} claim is missing or not a string`)
  }
  for (const name of ['logo_uri', 'ref', 'delegation'] as const) {
    if (c[name] !== undefined && typeof c[name] !== 'string') fail('malformed', `the trust mark's ${name} claim is not a string`)
  }
  if (c.exp !== undefined && typeof c.exp !== 'number') fail('malformed', "the trust mark's exp claim is not a number")
  return c as unknown as MarkClaims
}

/** iat REQUIRED and not in the future; exp optional ("does not expire") and not passed. */
function checkTimes(t: { iat?: unknown; exp?: unknown }, now: number, skew: number, prefix: '' | 'delegation_', what: string): void {
  if (typeof t.iat !== 'number') fail(`${prefix}iat`, `${what}: iat is missing or not a number`)
  if (t.iat > now + skew) fail(`${prefix}iat`, `${what}: iat is in the future`)
  if (t.exp !== undefined && (typeof t.exp !== 'number' || t.exp <= now - skew)) {
    fail(`${prefix}expired`, `${what}: expired at ${JSON.stringify(t.exp)}`)
  }
}

async function checkSignature(
  token: string,
  jwks: Jwks,
  typ: string,
  options: Pick<TrustMarkVerifierOptions, 'clock' | 'skew' | 'algorithms'>,
  prefix: '' | 'delegation_',
  what: string,
  decoded: Decoded,
): Promise<void> {
  try {
    await verifyJwt(token, jwks, {
      typ, clock: options.clock, skew: options.skew ?? 60, requireTimes: false,
      ...(options.algorithms ? { algorithms: options.algorithms } : {}),
    }, decoded)
  } catch (err) {
    if (!(err instanceof JwtError)) throw err
    const reason: TrustMarkFailure = err.reason === 'kid' ? `${prefix}kid`
      : err.reason === 'expired' ? `${prefix}expired`
      : err.reason === 'alg' ? `${prefix}alg`
      : err.reason === 'typ' ? `${prefix}typ`
      : err.reason === 'malformed' || err.reason === 'claims' ? (prefix ? 'delegation_malformed' : 'malformed')
      : `${prefix}signature`
    fail(reason, `${what}: ${err.message}`, err)
  }
}

function fail(reason: TrustMarkFailure, message: string, cause?: unknown): never {
  throw new TrustMarkError(reason, message, cause === undefined ? undefined : { cause })
}
