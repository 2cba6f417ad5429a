/**
 * Checks on entity statements that do not need a trust chain: a self-signed entity
 * configuration (spec "Entity Statement Validation", the steps that apply to an
 * entity configuration on its own).
 */
import type { JSONWebKeySet } from 'jose'
import { TYP } from '../constants.js'
import type { Clock } from '../clock.js'
import { verifyJwt, decodeUnverified, JwtError } from '../crypto/jwt.js'
import { privateJwkMember } from '../crypto/jwks.js'
import type { EntityStatement } from '../types.js'

export class StatementError extends Error {
  constructor(readonly rule: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StatementError'
  }
}

/** Claims the spec defines; `crit` must not list them (spec "crit" claim). */
export const SPEC_CLAIMS = new Set([
  'iss', 'sub', 'iat', 'exp', 'jwks', 'metadata', 'crit', 'authority_hints', 'trust_anchor_hints', 'trust_marks',
  'trust_mark_issuers', 'trust_mark_owners', 'constraints', 'metadata_policy', 'metadata_policy_crit',
  'source_endpoint', 'aud', 'trust_anchor',
])

export function isJwks(v: unknown): v is JSONWebKeySet {
  if (!v || typeof v !== 'object' || !Array.isArray((v as JSONWebKeySet).keys)) return false
  const keys = (v as JSONWebKeySet).keys
  const kids = new Set<string>()
  for (const k of keys) {
    if (!k || typeof k !== 'object' || typeof k.kty !== 'string') return false
    if (privateJwkMember(k)) return false // private or symmetric key material (the rule onboarding applies)
    if (typeof k.kid === 'string') {
      if (kids.has(k.kid)) return false
      kids.add(k.kid)
    }
  }
  return keys.length > 0
}

/** Verifies a self-signed entity configuration of `entityId` and returns its claims. */
export async function verifyEntityConfiguration(
  jwt: string,
  entityId: string,
  options: { clock: Clock; skew: number; understoodCrit?: ReadonlySet<string> },
): Promise<EntityStatement> {
  let unverified
  try {
    unverified = decodeUnverified(jwt)
  } catch (err) {
    throw new StatementError('malformed', `entity configuration of ${entityId} is not a JWT`, { cause: err })
  }
  const claims = unverified.payload as Partial<EntityStatement>
  if (claims.iss !== entityId || claims.sub !== entityId) {
    throw new StatementError('iss_sub', `entity configuration of ${entityId} has iss ${JSON.stringify(claims.iss)} and sub ${JSON.stringify(claims.sub)}; both must be the entity id`)
  }
  if (!isJwks(claims.jwks)) throw new StatementError('jwks', `entity configuration of ${entityId} has no valid public jwks`)
  try {
    const { payload } = await verifyJwt<EntityStatement>(jwt, claims.jwks, { typ: TYP.entityStatement, clock: options.clock, skew: options.skew })
    checkCrit(payload, options.understoodCrit, `entity configuration of ${entityId}`)
    return payload
  } catch (err) {
    if (err instanceof JwtError) throw new StatementError(err.reason, `entity configuration of ${entityId}: ${err.message}`, { cause: err })
    throw err
  }
}

/** `crit` must be a non-empty array of non-spec claim names, all understood. */
export function checkCrit(claims: Record<string, unknown>, understood: ReadonlySet<string> | undefined, what: string): void {
  if (claims.crit === undefined) return
  const crit = claims.crit
  if (!Array.isArray(crit) || crit.length === 0 || !crit.every((c) => typeof c === 'string')) {
    throw new StatementError('crit', `${what}: crit must be a non-empty array of claim names`)
  }
  for (const c of crit) {
    if (SPEC_CLAIMS.has(c)) throw new StatementError('crit', `${what}: crit must not list the spec claim "${c}"`)
    if (!understood?.has(c)) throw new StatementError('crit', `${what}: critical claim "${c}" is not understood`)
  }
}
