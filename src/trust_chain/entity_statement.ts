/**
 * The one entity-statement module: reading a statement (spec "Entity Statement Validation",
 * the steps that need no other statement: syntax, typ, alg, kid, crit, the claims each kind
 * may carry) by profile, the time checks, and the signature check against a given key set,
 * remembered per key (spec "Validating a Trust Chain": signature results MAY be cached
 * until the statement expires). A statement is decoded once; the Statement carries the
 * decoded header and claims to every later step, the signature check included.
 */
import type { JWK } from 'jose'
import type { LRUCache } from 'lru-cache'
import { boundedLru } from '../util/lru.js'
import { TYP, SIGNING_ALGS } from '../constants.js'
import type { Clock } from '../clock.js'
import { decodeUnverified, verifyJwt, JwtError, type Decoded } from '../crypto/jwt.js'
import { isJwks } from '../crypto/jwks.js'
import { isEntityIdSyntax } from '../config/schemas.js'
import type { EntityStatement, Jwks } from '../types.js'
import { ChainError } from './errors.js'
import type { JsonLimits } from '../util/json.js'
import type { Statement, StatementKind } from './types.js'
import { claimSyntax } from './statement_claims.js'

export { isJwks } from '../crypto/jwks.js'

/**
 * What a statement is expected to be: an entity configuration, a subordinate statement, or
 * an Explicit Registration request (spec "Explicit Client Registration Request": an entity
 * configuration tailored for one OP, carrying `aud`).
 */
export type StatementProfile = StatementKind | 'registration_request'

export interface ParseOptions {
  understoodCrit?: ReadonlySet<string> | undefined
  /** Bounds on the header and payload (limits.json_depth); too deep is refused with rule `depth`. */
  json?: JsonLimits | undefined
  /** The token as decodeStatement read it already (the statement source does, for its cache time). */
  decoded?: Decoded | undefined
  /** registration_request: the one `aud` value accepted (this OP). */
  audience?: string
}

/** Claims the spec defines; `crit` must not list them (spec "crit" claim). */
export const SPEC_CLAIMS = new Set([
  'iss', 'sub', 'iat', 'exp', 'jwks', 'metadata', 'crit', 'authority_hints', 'trust_anchor_hints', 'trust_marks',
  'trust_mark_issuers', 'trust_mark_owners', 'constraints', 'metadata_policy', 'metadata_policy_crit',
  'source_endpoint', 'aud', 'trust_anchor',
])

/** Claims only an entity configuration may carry (spec "Claims that MUST or MAY Appear in Entity Configurations but Not in Subordinate Statements"). */
const EC_ONLY = ['authority_hints', 'trust_anchor_hints', 'trust_marks', 'trust_mark_issuers', 'trust_mark_owners'] as const
/** Claims only a subordinate statement may carry. */
const SS_ONLY = ['metadata_policy', 'metadata_policy_crit', 'constraints', 'source_endpoint'] as const
/** Explicit registration claims: not in ECs or SSs (steps 26 and 27). */
const REGISTRATION_ONLY = ['aud', 'trust_anchor'] as const
/** Claims that only subordinate statements, or only registration responses, may carry. */
const NOT_IN_REQUEST = [...SS_ONLY, 'trust_anchor'] as const

export function label(kind: StatementKind, iss: string, sub: string): string {
  return kind === 'entity_configuration' ? `entity configuration of ${sub}` : `subordinate statement ${iss} -> ${sub}`
}

/** Header and payload within `json`; a ChainError named `name` (rule `depth` or `malformed`) otherwise. */
export function decodeStatement(jwt: string, name: string, json?: JsonLimits): Decoded {
  try {
    return decodeUnverified(jwt, json)
  } catch (err) {
    // Too deep is its own rule (limits.json_depth): nothing deeper is walked, merged or signed.
    const rule = err instanceof JwtError && err.reason === 'depth' ? 'depth' : 'malformed'
    throw new ChainError(name, rule, (err as Error).message, 'chain', { cause: err })
  }
}

/**
 * Reads `jwt` as `profile` and checks everything that needs neither keys nor a clock.
 * `iss`/`sub` are the expected issuer and subject (step 4; step 6 for the kind); a
 * registration request names its own (iss == sub). Throws ChainError naming the rule.
 */
export function parseStatement(jwt: string, profile: StatementProfile, iss?: string, sub?: string, o: ParseOptions = {}): Statement {
  if (profile === 'registration_request') return parseRequest(jwt, o)
  const name = label(profile, iss ?? '', sub ?? '')
  const { header, payload } = o.decoded ?? decodeStatement(jwt, name, o.json)
  checkHeader(header, name)
  if (Object.hasOwn(header, 'trust_chain') || Object.hasOwn(header, 'peer_trust_chain')) fail(name, 'header', 'entity statements must not carry trust_chain or peer_trust_chain header parameters')
  checkStatementClaims(payload, profile, iss ?? '', sub ?? '', o.understoodCrit)
  return statement(jwt, profile, name, header, payload)
}

/**
 * Spec "Processing Explicit Client Registration Request by OP", step 2: an entity
 * configuration (iss == sub, jwks, crit, authority_hints, metadata) whose `aud` is exactly
 * the OP; the self-signature is verifyStatement's. trust_chain / peer_trust_chain header
 * parameters are allowed here (step 8) and stay in the Statement's header.
 */
function parseRequest(jwt: string, o: ParseOptions): Statement {
  const name = 'registration request'
  const { header, payload: c } = o.decoded ?? decodeStatement(jwt, name, o.json)
  checkHeader(header, name, false)
  if (typeof c.iss !== 'string' || !isEntityIdSyntax(c.iss) || c.sub !== c.iss) fail(name, 'iss', 'iss and sub must be the same entity identifier')
  const aud: unknown = Array.isArray(c.aud) && c.aud.length === 1 ? c.aud[0] : c.aud
  if (aud !== o.audience) fail(name, 'aud', `aud must be ${o.audience ?? '(none)'} and nothing else, got ${JSON.stringify(c.aud ?? null)}`)
  if (!isJwks(c.jwks)) fail(name, 'jwks', 'jwks is missing or not a valid public JWK Set')
  const hints = c.authority_hints
  if (!(Array.isArray(hints) && hints.length > 0 && hints.every((h) => typeof h === 'string' && isEntityIdSyntax(h)))) fail(name, 'authority_hints', 'authority_hints must be a non-empty array of entity identifiers')
  if (typeof c.metadata !== 'object' || c.metadata === null || Array.isArray(c.metadata)) fail(name, 'metadata', 'metadata is required')
  for (const claim of NOT_IN_REQUEST) if (c[claim] !== undefined) fail(name, 'claims', `the claim ${claim} is not allowed in a registration request`)
  checkCrit(c, o.understoodCrit, name)
  return statement(jwt, 'entity_configuration', `registration request of ${c.iss}`, header, c)
}

function statement(jwt: string, kind: StatementKind, name: string, header: Decoded['header'], claims: Record<string, unknown>): Statement {
  return { jwt, kind, label: name, verifiedWith: new Set(), header: header as Statement['header'], claims: claims as EntityStatement }
}

/** typ and alg (steps 2 and 3, before anything costly), and a kid to pick the key by. */
function checkHeader(header: Decoded['header'], name: string, kid = true): void {
  if (header.typ !== TYP.entityStatement) fail(name, 'typ', `typ must be "${TYP.entityStatement}", got ${JSON.stringify(header.typ ?? null)}`)
  if (typeof header.alg !== 'string' || !(SIGNING_ALGS as readonly string[]).includes(header.alg)) fail(name, 'alg', `alg ${JSON.stringify(header.alg ?? null)} is not an accepted asymmetric algorithm`)
  if (kid && (typeof header.kid !== 'string' || header.kid === '')) fail(name, 'kid', 'the JWS header has no kid')
}

function fail(name: string, rule: string, message: string): never {
  throw new ChainError(name, rule, message)
}

/**
 * The checks of parseStatement that concern the claims alone; throws ChainError naming the
 * rule (the claim). Also run on the claims of every subordinate statement this entity is
 * about to sign (subordinates/validation.ts), so that it never signs what it would refuse.
 */
export function checkStatementClaims(claims: Record<string, unknown>, kind: StatementKind, iss: string, sub: string, understoodCrit?: ReadonlySet<string>): void {
  const name = label(kind, iss, sub)
  if (claims.iss !== iss) fail(name, 'iss', `iss is ${JSON.stringify(claims.iss ?? null)}, expected ${iss}`)
  if (claims.sub !== sub) fail(name, 'sub', `sub is ${JSON.stringify(claims.sub ?? null)}, expected ${sub}`)
  if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) fail(name, 'iat', 'iat is missing or not a number')
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) fail(name, 'exp', 'exp is missing or not a number')
  if (!isJwks(claims.jwks)) fail(name, 'jwks', 'no valid public jwks: jwks must be a public JWK Set with unique kids')
  checkCrit(claims, understoodCrit, name)
  const forbidden = kind === 'entity_configuration' ? SS_ONLY : EC_ONLY
  for (const c of [...forbidden, ...REGISTRATION_ONLY]) {
    if (claims[c] !== undefined) fail(name, 'claims', `the claim ${c} is not allowed in ${kind === 'entity_configuration' ? 'an entity configuration' : 'a subordinate statement'}`)
  }
  const problem = claimSyntax(claims)
  if (problem) fail(name, problem[0], problem[1])
}

/** `crit` must be a non-empty array of non-spec claim names, all understood (rule `crit`). */
export function checkCrit(claims: Record<string, unknown>, understood: ReadonlySet<string> | undefined, name: string): void {
  if (claims.crit === undefined) return
  const crit = claims.crit
  if (!Array.isArray(crit) || crit.length === 0 || !crit.every((c) => typeof c === 'string')) fail(name, 'crit', 'crit must be a non-empty array of claim names')
  for (const c of crit) {
    if (SPEC_CLAIMS.has(c)) fail(name, 'crit', `crit must not list the spec claim "${c}"`)
    if (!understood?.has(c)) fail(name, 'crit', `critical claim "${c}" is not understood`)
  }
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

export interface VerifyContext {
  clock: Clock
  skew: number
  /** The resolver's imported keys (KeySets); without it, jose imports per key set object. */
  keySets?: KeySets | undefined
  /** Charged for each verification actually made (trust_chain/budget.ts). */
  budget?: { verify(): void } | undefined
}

/**
 * Steps 11 and 12: `kid` names a key of `jwks` and the signature verifies with it (jose's
 * key-resolver form, on the header and claims this Statement already carries).
 * `whose` names the key set in messages (e.g. "the pinned keys of https://ta").
 */
export async function verifyStatement(s: Statement, jwks: Jwks, whose: string, ctx: VerifyContext): Promise<void> {
  const key = keyFor(s, jwks)
  if (!key) throw new ChainError(s.label, 'kid', `kid "${s.header.kid}" is not among ${whose}`)
  const fingerprint = `${keyMaterial(key)}|${key.kid ?? ''}|${key.alg ?? ''}|${key.use ?? ''}`
  if (s.verifiedWith.has(fingerprint)) return
  // Only a verification actually made is work (trust_chain/budget.ts).
  ctx.budget?.verify()
  try {
    await verifyJwt(s.jwt, ctx.keySets ? ctx.keySets.of(key, fingerprint) : jwks, { typ: TYP.entityStatement, clock: ctx.clock, skew: ctx.skew }, { header: s.header, payload: s.claims })
  } catch (err) {
    if (err instanceof JwtError) {
      const rule = err.reason === 'expired' ? 'exp' : err.reason === 'claims' ? 'signature' : err.reason
      throw new ChainError(s.label, rule, `${err.message} (key "${s.header.kid}" of ${whose})`, 'chain', { cause: err })
    }
    throw err
  }
  s.verifiedWith.add(fingerprint)
}
