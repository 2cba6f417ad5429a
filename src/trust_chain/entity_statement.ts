/**
 * One entity statement on its own: the steps of spec "Entity Statement Validation" that
 * need no other statement (syntax, typ, alg, kid, crit, claims allowed only in entity
 * configurations or only in subordinate statements), the time checks, and the signature
 * check against a given key set, remembered per key (spec "Validating a Trust Chain":
 * signature results MAY be cached until the statement expires).
 */
import type { JWK } from 'jose'
import type { LRUCache } from 'lru-cache'
import { boundedLru } from '../util/lru.js'
import { TYP, SIGNING_ALGS } from '../constants.js'
import type { Clock } from '../clock.js'
import { decodeUnverified, verifyJwt, JwtError } from '../crypto/jwt.js'
import { checkCrit, isJwks, StatementError } from '../entity/statement.js'
import { isEntityIdSyntax, isAbsoluteUrl } from '../config/schemas.js'
import type { EntityStatement, Jwks } from '../types.js'
import { ChainError } from './errors.js'
import { ownView, type JsonLimits } from '../util/json.js'
import type { Statement, StatementKind } from './types.js'
import { checkConstraintsSyntax } from './constraints.js'

/** Claims only an entity configuration may carry (spec "Claims that MUST or MAY Appear in Entity Configurations but Not in Subordinate Statements"). */
const EC_ONLY = ['authority_hints', 'trust_anchor_hints', 'trust_marks', 'trust_mark_issuers', 'trust_mark_owners'] as const
/** Claims only a subordinate statement may carry. */
const SS_ONLY = ['metadata_policy', 'metadata_policy_crit', 'constraints', 'source_endpoint'] as const
/** Explicit registration claims: not in ECs or SSs (steps 26 and 27). */
const REGISTRATION_ONLY = ['aud', 'trust_anchor'] as const

export function label(kind: StatementKind, iss: string, sub: string): string {
  return kind === 'entity_configuration' ? `entity configuration of ${sub}` : `subordinate statement ${iss} -> ${sub}`
}

/**
 * Decodes `jwt` and checks everything that needs neither keys nor a clock. `iss`/`sub`
 * are the expected issuer and subject (step 4; step 6 for the kind).
 */
export function parseStatement(jwt: string, kind: StatementKind, iss: string, sub: string, understoodCrit?: ReadonlySet<string>, json?: JsonLimits): Statement {
  const name = label(kind, iss, sub)
  const fail = (rule: string, message: string): never => {
    throw new ChainError(name, rule, message)
  }
  let decoded
  try {
    decoded = decodeUnverified(jwt, json)
  } catch (err) {
    // Too deep is its own rule (limits.json_depth): nothing deeper is walked, merged or signed.
    const rule = err instanceof JwtError && err.reason === 'depth' ? 'depth' : 'malformed'
    throw new ChainError(name, rule, (err as Error).message, 'chain', { cause: err })
  }
  const { header } = decoded
  const claims = decoded.payload as Record<string, unknown>
  if (header.typ !== TYP.entityStatement) fail('typ', `typ must be "${TYP.entityStatement}", got ${JSON.stringify(header.typ ?? null)}`)
  if (typeof header.alg !== 'string' || !(SIGNING_ALGS as readonly string[]).includes(header.alg)) fail('alg', `alg ${JSON.stringify(header.alg ?? null)} is not an accepted asymmetric algorithm`)
  if (typeof header.kid !== 'string' || header.kid === '') fail('kid', 'the JWS header has no kid')
  if (Object.hasOwn(header, 'trust_chain') || Object.hasOwn(header, 'peer_trust_chain')) fail('header', 'entity statements must not carry trust_chain or peer_trust_chain header parameters')
  checkStatementClaims(claims, kind, iss, sub, understoodCrit)
  return {
    jwt, kind, label: name, verifiedWith: new Set(),
    header: { alg: header.alg, kid: header.kid as string, typ: header.typ as string },
    claims: claims as EntityStatement,
  }
}

/**
 * The checks of parseStatement that concern the claims alone; throws ChainError naming the
 * rule (the claim). Also run on the claims of every subordinate statement this entity is
 * about to sign (subordinates/validation.ts), so that it never signs what it would refuse.
 */
export function checkStatementClaims(claims: Record<string, unknown>, kind: StatementKind, iss: string, sub: string, understoodCrit?: ReadonlySet<string>): void {
  const name = label(kind, iss, sub)
  const fail = (rule: string, message: string): never => {
    throw new ChainError(name, rule, message)
  }
  if (claims.iss !== iss) fail('iss', `iss is ${JSON.stringify(claims.iss ?? null)}, expected ${iss}`)
  if (claims.sub !== sub) fail('sub', `sub is ${JSON.stringify(claims.sub ?? null)}, expected ${sub}`)
  if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) fail('iat', 'iat is missing or not a number')
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) fail('exp', 'exp is missing or not a number')
  if (!isJwks(claims.jwks)) fail('jwks', 'jwks is missing or not a valid public JWK Set with unique kids')
  try {
    checkCrit(claims, understoodCrit, name)
  } catch (err) {
    if (err instanceof StatementError) fail('crit', err.message.slice(name.length + 2))
    throw err
  }
  const forbidden = kind === 'entity_configuration' ? SS_ONLY : EC_ONLY
  for (const c of [...forbidden, ...REGISTRATION_ONLY]) {
    if (claims[c] !== undefined) fail('claims', `the claim ${c} is not allowed in ${kind === 'entity_configuration' ? 'an entity configuration' : 'a subordinate statement'}`)
  }
  const problem = claimSyntax(claims)
  if (problem) fail(problem[0], problem[1])
}

type Problem = [rule: string, message: string] | undefined

/** Steps 14-23: the syntax of each optional claim that is present. */
function claimSyntax(claims: Record<string, unknown>): Problem {
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

/** Steps 7 and 8, with the configured skew. */
export function checkTimes(s: Statement, now: number, skew: number): void {
  if (s.claims.iat > now + skew) throw new ChainError(s.label, 'iat', `iat ${s.claims.iat} is in the future (now ${now}, skew ${skew} s)`)
  if (s.claims.exp <= now - skew) throw new ChainError(s.label, 'exp', `expired at ${s.claims.exp} (now ${now}, skew ${skew} s)`)
}

/** The key with the statement's kid in `jwks`, or undefined. */
export function keyFor(s: Statement, jwks: Jwks): JWK | undefined {
  return jwks.keys.find((k) => k.kid === s.header.kid)
}

/** Public key material, for "the same key" comparisons across key sets. */
export function keyMaterial(k: JWK): string {
  return [k.kty, k.crv, k.x, k.y, k.n, k.e].map((v) => v ?? '').join('|')
}

/**
 * One JWK Set object per key (by material and alg), so that jose imports each public key
 * once per resolver rather than once per statement: crypto/jwt caches the imported key
 * per key set object. Owned by the resolver; bounded.
 */
export class KeySets {
  private readonly sets: LRUCache<string, Jwks>
  constructor(max: number) {
    this.sets = boundedLru(max)
  }
  of(key: JWK, fingerprint: string): Jwks {
    let set = this.sets.get(fingerprint)
    if (!set) this.sets.set(fingerprint, (set = { keys: [key] }))
    return set
  }
}

/**
 * Steps 11 and 12: `kid` names a key of `jwks` and the signature verifies with it.
 * `whose` names the key set in messages (e.g. "the pinned keys of https://ta").
 */
export async function verifySignature(s: Statement, jwks: Jwks, whose: string, clock: Clock, skew: number, keySets?: KeySets, budget?: { verify(): void }): Promise<void> {
  const key = keyFor(s, jwks)
  if (!key) throw new ChainError(s.label, 'kid', `kid "${s.header.kid}" is not among ${whose}`)
  const fingerprint = `${keyMaterial(key)}|${key.kid ?? ''}|${key.alg ?? ''}|${key.use ?? ''}`
  if (s.verifiedWith.has(fingerprint)) return
  // Only a verification actually made is work (trust_chain/budget.ts).
  budget?.verify()
  try {
    await verifyJwt(s.jwt, keySets ? keySets.of(key, fingerprint) : jwks, { typ: TYP.entityStatement, clock, skew })
  } catch (err) {
    if (err instanceof JwtError) {
      const rule = err.reason === 'expired' ? 'exp' : err.reason === 'claims' ? 'signature' : err.reason
      throw new ChainError(s.label, rule, `${err.message} (key "${s.header.kid}" of ${whose})`, 'chain', { cause: err })
    }
    throw err
  }
  s.verifiedWith.add(fingerprint)
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
