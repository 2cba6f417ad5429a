/**
 * What the trust anchor keeps of each software statement it issued (RFC 7591 section 2.3
 * "Software Statement"): one record per `jti`, with the SHA-256 of the exact JWT, so a
 * verifier can tell "issued by us and still active" from "revoked" and from "unknown" (a
 * token carrying a jti we issued but other content or another signature is unknown).
 */
import { createHash } from 'node:crypto'
import type { StoredRecord } from '../storage/types.js'

/** Revoked and expired records are kept this long after `exp`, so they answer "revoked"/"expired", not "unknown". */
export const RETENTION_AFTER_EXP = 90 * 86_400

/** RFC 7591 section 2 grant types a statement may allow (the authorization server's set). */
export const GRANT_TYPES = Object.freeze([
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:token-exchange',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
] as const)

/** The client metadata a statement vouches for (RFC 7591 section 2 names). */
export interface StatementMetadata {
  software_id: string
  software_version?: string
  client_name: string
  client_uri?: string
  jwks?: { keys: Array<Record<string, unknown>> }
  jwks_uri?: string
  grant_types: string[]
  scope?: string
  redirect_uris?: string[]
}

export type StatementStatus = 'active' | 'expired' | 'revoked'

export interface SoftwareStatementRecord extends StoredRecord, StatementMetadata {
  /** The jti. */
  id: string
  iss: string
  iat: number
  exp: number
  /** base64url SHA-256 of the compact JWT. */
  hash: string
  status: 'active' | 'revoked'
  revoked_at?: number
  reason?: string
  issued_by: string
  software_statement: string
}

/** What the admin API shows of a statement. */
export interface SoftwareStatementView extends StatementMetadata {
  jti: string
  iss: string
  iat: number
  exp: number
  status: StatementStatus
  revoked_at?: number
  reason?: string
  software_statement: string
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

export function statusOf(r: Pick<SoftwareStatementRecord, 'status' | 'exp'>, now: number): StatementStatus {
  // Revocation is an explicit act and the more useful answer, so it wins over expiry.
  if (r.status === 'revoked') return 'revoked'
  return r.exp <= now ? 'expired' : 'active'
}

export function view(r: SoftwareStatementRecord, now: number): SoftwareStatementView {
  return {
    jti: r.id, iss: r.iss, software_id: r.software_id,
    ...(r.software_version !== undefined ? { software_version: r.software_version } : {}),
    client_name: r.client_name,
    ...(r.client_uri !== undefined ? { client_uri: r.client_uri } : {}),
    ...(r.jwks !== undefined ? { jwks: r.jwks } : {}),
    ...(r.jwks_uri !== undefined ? { jwks_uri: r.jwks_uri } : {}),
    grant_types: r.grant_types,
    ...(r.scope !== undefined ? { scope: r.scope } : {}),
    ...(r.redirect_uris !== undefined ? { redirect_uris: r.redirect_uris } : {}),
    iat: r.iat, exp: r.exp, status: statusOf(r, now),
    ...(r.revoked_at !== undefined ? { revoked_at: r.revoked_at } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    software_statement: r.software_statement,
  }
}
