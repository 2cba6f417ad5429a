/**
 * Spec "Entity Statement Validation", steps 14-23: the syntax of each optional claim an
 * entity statement carries (entity_statement.ts runs it for every profile of statement).
 */
import { isEntityIdSyntax, isAbsoluteUrl } from '../config/schemas.js'
import { isJwks } from '../crypto/jwks.js'
import { ownView } from '../util/json.js'
import { checkConstraintsSyntax } from './constraints.js'

export type Problem = [rule: string, message: string] | undefined

/** The first claim whose syntax is wrong, as [rule, message], or undefined. */
export function claimSyntax(claims: Record<string, unknown>): Problem {
  // Own members only: an inherited member (a polluted prototype, or `constructor`) is not a claim.
  const c = ownView(claims)
  if (c.metadata !== undefined && !isMetadata(c.metadata)) return ['metadata', 'metadata must be an object of entity type objects without null values']
  for (const h of ['authority_hints', 'trust_anchor_hints'] as const) {
    const v = c[h]
    if (v !== undefined && !(Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === 'string' && isEntityIdSyntax(e)))) {
      return [h, `${h} must be a non-empty array of entity identifiers`]
    }
  }
  if (c.trust_marks !== undefined && !(Array.isArray(c.trust_marks) && c.trust_marks.every(isTrustMarkRef))) {
    return ['trust_marks', 'trust_marks must be an array of {trust_mark_type, trust_mark} strings']
  }
  if (c.trust_mark_issuers !== undefined && !isObjectOf(c.trust_mark_issuers, (v) => Array.isArray(v) && v.every((e) => typeof e === 'string'))) {
    return ['trust_mark_issuers', 'trust_mark_issuers must map trust mark types to arrays of entity identifiers']
  }
  if (c.trust_mark_owners !== undefined && !isObjectOf(c.trust_mark_owners, (v) => isObject(v) && typeof v.sub === 'string' && isJwks(v.jwks))) {
    return ['trust_mark_owners', 'trust_mark_owners must map trust mark types to {sub, jwks}']
  }
  if (c.constraints !== undefined) {
    const why = checkConstraintsSyntax(c.constraints)
    if (why) return ['constraints', why]
  }
  if (c.metadata_policy !== undefined && !isObject(c.metadata_policy)) return ['metadata_policy', 'metadata_policy must be a JSON object']
  const mpc = c.metadata_policy_crit
  if (mpc !== undefined && !(Array.isArray(mpc) && mpc.length > 0 && mpc.every((e) => typeof e === 'string'))) {
    return ['metadata_policy_crit', 'metadata_policy_crit must be a non-empty array of operator names']
  }
  if (c.source_endpoint !== undefined && !(typeof c.source_endpoint === 'string' && isAbsoluteUrl(c.source_endpoint))) {
    return ['source_endpoint', 'source_endpoint must be a URL']
  }
  return undefined
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isObjectOf(v: unknown, member: (m: unknown) => boolean): boolean {
  return isObject(v) && Object.values(v).every(member)
}

function isMetadata(v: unknown): boolean {
  return isObjectOf(v, (typeMetadata) => isObject(typeMetadata) && Object.values(typeMetadata).every((p) => p !== null))
}

function isTrustMarkRef(v: unknown): boolean {
  return isObject(v) && typeof v.trust_mark_type === 'string' && typeof v.trust_mark === 'string'
}
