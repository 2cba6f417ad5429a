/**
 * Verifying a software statement (RFC 7591 section 2.3 "Software Statement", section 3.1.1
 * "Client Registration Error Response": invalid_software_statement /
 * unapproved_software_statement). Usable by any registration endpoint: the statement must
 * be a compact JWS with `typ` exactly `software-statement+jwt` (RFC 8725 section 3.11,
 * explicit typing), from an issuer the caller trusts, signed by one of that issuer's keys,
 * unexpired, with the claims Anchorage issues; when the issuer's records are at hand
 * (statements this deployment issued), the exact token must be on record and not revoked.
 */
import type { JSONWebKeySet } from 'jose'
import { TYP } from '../constants.js'
import type { Clock } from '../clock.js'
import { decodeUnverified, verifyJwt, JwtError } from '../crypto/jwt.js'
import { isJwks } from '../crypto/jwks.js'
import type { JsonLimits } from '../util/json.js'
import { tokenHash, type SoftwareStatementRecord, type StatementMetadata } from './records.js'

export type StatementRefusal =
  | 'malformed' | 'typ' | 'untrusted_issuer' | 'signature' | 'expired' | 'revoked' | 'unknown' | 'claims'

/**
 * Why a statement was refused; `reason` is stable for callers and tests. RFC 7591 section
 * 3.2.2: `error` is invalid_software_statement for a statement that is not valid, and
 * unapproved_software_statement for a valid one this server does not accept.
 */
export class SoftwareStatementError extends Error {
  constructor(readonly reason: StatementRefusal, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SoftwareStatementError'
  }

  get error(): 'invalid_software_statement' | 'unapproved_software_statement' {
    return this.reason === 'untrusted_issuer' || this.reason === 'revoked' || this.reason === 'unknown'
      ? 'unapproved_software_statement'
      : 'invalid_software_statement'
  }
}

export interface TrustedIssuer {
  /** The issuer's entity identifier, compared exactly with `iss`. */
  iss: string
  /** Its signing keys (pinned, or from its resolved trust chain). */
  jwks: JSONWebKeySet
  /**
   * The issuer's records, when at hand (this deployment's own statements): a statement whose
   * jti is not on record, or whose record is of another token, is unknown; a revoked one is revoked.
   */
  lookup?: (jti: string) => Promise<Pick<SoftwareStatementRecord, 'hash' | 'status' | 'iss'> | undefined>
}

export interface VerifyStatementOptions {
  /** The issuers accepted: a list, or a lookup by `iss` (undefined: not trusted). */
  trustedIssuers: readonly TrustedIssuer[] | ((iss: string) => Promise<TrustedIssuer | undefined>)
  clock: Clock
  /** Tolerated clock skew, seconds (default 60). */
  skew?: number
  json?: JsonLimits
}

export interface SoftwareStatementClaims extends StatementMetadata {
  iss: string
  sub: string
  iat: number
  exp: number
  jti: string
}

export async function verifySoftwareStatement(token: unknown, o: VerifyStatementOptions): Promise<SoftwareStatementClaims> {
  if (typeof token !== 'string') throw new SoftwareStatementError('malformed', 'software_statement: must be a string (a compact JWS)')
  let decoded
  try {
    decoded = decodeUnverified(token, o.json)
  } catch (err) {
    throw new SoftwareStatementError('malformed', `software_statement: ${(err as Error).message}`, { cause: err })
  }
  if (decoded.header.typ !== TYP.softwareStatement) {
    throw new SoftwareStatementError('typ', `software_statement: typ must be "${TYP.softwareStatement}", got ${JSON.stringify(decoded.header.typ ?? null)}`)
  }
  const iss = decoded.payload.iss
  if (typeof iss !== 'string' || iss === '') throw new SoftwareStatementError('claims', 'software_statement: iss is missing')
  const issuer = typeof o.trustedIssuers === 'function'
    ? await o.trustedIssuers(iss)
    : o.trustedIssuers.find((t) => t.iss === iss)
  if (!issuer || issuer.iss !== iss) throw new SoftwareStatementError('untrusted_issuer', `software_statement: ${iss} is not a trusted issuer of software statements`)
  let payload: Record<string, unknown>
  try {
    payload = (await verifyJwt(token, issuer.jwks, { typ: TYP.softwareStatement, clock: o.clock, skew: o.skew ?? 60, ...(o.json ? { json: o.json } : {}) }, decoded)).payload
  } catch (err) {
    if (!(err instanceof JwtError)) throw err
    const reason: StatementRefusal = err.reason === 'expired' ? 'expired'
      : err.reason === 'typ' ? 'typ'
        : err.reason === 'malformed' || err.reason === 'depth' ? 'malformed'
          : err.reason === 'claims' || err.reason === 'iat' ? 'claims'
            : 'signature'
    throw new SoftwareStatementError(reason, `software_statement: ${err.message}`, { cause: err })
  }
  const claims = checkClaims(payload)
  if (issuer.lookup) {
    const rec = await issuer.lookup(claims.jti)
    if (!rec || rec.iss !== iss || rec.hash !== tokenHash(token)) {
      throw new SoftwareStatementError('unknown', `software_statement: ${iss} has no record of the statement ${claims.jti}`)
    }
    if (rec.status === 'revoked') throw new SoftwareStatementError('revoked', `software_statement: the statement ${claims.jti} was revoked`)
  }
  return claims
}

const own = (o: Record<string, unknown>, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined)
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s !== '')

/** The claims Anchorage issues, each of its type (own properties only). */
function checkClaims(p: Record<string, unknown>): SoftwareStatementClaims {
  const bad = (m: string): never => {
    throw new SoftwareStatementError('claims', `software_statement: ${m}`)
  }
  const str = (k: string, required: boolean): string | undefined => {
    const v = own(p, k)
    if (v === undefined && !required) return undefined
    if (typeof v !== 'string' || v === '') return bad(`${k} must be a non-empty string`)
    return v
  }
  const sub = str('sub', true)!
  const softwareId = str('software_id', true)!
  if (softwareId !== sub) bad('software_id must equal sub')
  const jti = str('jti', true)!
  const clientName = str('client_name', true)!
  const grantTypes = own(p, 'grant_types')
  if (!isStrings(grantTypes)) bad('grant_types must be a non-empty array of strings')
  const jwks = own(p, 'jwks')
  if (jwks !== undefined && !isJwks(jwks)) bad('jwks must be a JWK Set of public keys')
  const jwksUri = str('jwks_uri', false)
  if (jwks !== undefined && jwksUri !== undefined) bad('jwks and jwks_uri must not both be present')
  const redirectUris = own(p, 'redirect_uris')
  if (redirectUris !== undefined && !isStrings(redirectUris)) bad('redirect_uris must be a non-empty array of strings')
  const scope = str('scope', false)
  const version = str('software_version', false)
  const clientUri = str('client_uri', false)
  return {
    iss: p.iss as string, sub, iat: p.iat as number, exp: p.exp as number, jti,
    software_id: softwareId, client_name: clientName, grant_types: [...(grantTypes as string[])],
    ...(version !== undefined ? { software_version: version } : {}),
    ...(clientUri !== undefined ? { client_uri: clientUri } : {}),
    ...(jwks !== undefined ? { jwks: jwks as StatementMetadata['jwks'] & object } : {}),
    ...(jwksUri !== undefined ? { jwks_uri: jwksUri } : {}),
    ...(scope !== undefined ? { scope } : {}),
    ...(redirectUris !== undefined ? { redirect_uris: [...(redirectUris as string[])] } : {}),
  }
}
