/**
 * What a trust mark issuer keeps: the types it issues and, per (type, subject), the
 * marks it issued. Every issued JWT is remembered by its SHA-256 so that the status
 * endpoint can tell "issued by us" from "unknown" (spec "Trust Mark Status": unknown
 * marks get HTTP 404) and can revoke each instance, not only the latest.
 */
import { createHash } from 'node:crypto'
import type { StoredRecord } from '../storage/types.js'

/** `lifetime` absent: marks expire after 30 days. 0 means "no exp" and must be asked for. */
export const DEFAULT_MARK_LIFETIME = 30 * 86_400
/** `lifetime` absent on a delegation: one year. */
export const DEFAULT_DELEGATION_LIFETIME = 365 * 86_400
/** Instances remembered per (type, subject): enough for re-issuance, bounded for memory. */
export const MAX_INSTANCES = 50
/** Expired instances are still answered as `expired` (not 404) for this long. */
export const EXPIRED_RETENTION = 90 * 86_400

export interface TrustMarkTypeRecord extends StoredRecord {
  id: string
  trust_mark_type: string
  /** Seconds from iat to exp; 0: issued marks carry no exp. */
  lifetime: number
  logo_uri?: string
  ref?: string
  delegation?: string
  created_at: number
  updated_at: number
}

export interface MarkInstance {
  /** base64url SHA-256 of the compact JWT. */
  hash: string
  iat: number
  exp?: number
  revoked_at?: number
}

export type MarkStatus = 'active' | 'expired' | 'revoked'

export interface IssuedTrustMarkRecord extends StoredRecord {
  id: string
  trust_mark_type: string
  sub: string
  /** Of the latest instance (revocation revokes every instance). */
  status: 'active' | 'revoked'
  trust_mark: string
  iat: number
  exp?: number
  revoked_at?: number
  instances: MarkInstance[]
  updated_at: number
}

/** The admin API's view of an issued mark. */
export interface IssuedTrustMarkView {
  trust_mark_type: string
  sub: string
  status: MarkStatus
  iat: number
  exp?: number
  revoked_at?: number
  trust_mark: string
}

export const markId = (type: string, sub: string): string => `${type} ${sub}`

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

export function instanceStatus(i: { exp?: number; revoked_at?: number }, now: number): MarkStatus {
  // Revocation is an explicit act and the more useful answer, so it wins over expiry.
  if (i.revoked_at !== undefined) return 'revoked'
  if (i.exp !== undefined && i.exp <= now) return 'expired'
  return 'active'
}

export function recordStatus(r: IssuedTrustMarkRecord, now: number): MarkStatus {
  return instanceStatus({ ...(r.exp !== undefined ? { exp: r.exp } : {}), ...(r.status === 'revoked' ? { revoked_at: r.revoked_at ?? 0 } : {}) }, now)
}

export function view(r: IssuedTrustMarkRecord, now: number): IssuedTrustMarkView {
  return {
    trust_mark_type: r.trust_mark_type, sub: r.sub, status: recordStatus(r, now), iat: r.iat,
    ...(r.exp !== undefined ? { exp: r.exp } : {}),
    ...(r.revoked_at !== undefined && r.status === 'revoked' ? { revoked_at: r.revoked_at } : {}),
    trust_mark: r.trust_mark,
  }
}

/** The record after issuing `token`: a new active instance, old expired ones pruned. */
export function withIssued(
  cur: IssuedTrustMarkRecord | undefined,
  m: { type: string; sub: string; token: string; iat: number; exp?: number },
): IssuedTrustMarkRecord {
  const instance: MarkInstance = { hash: tokenHash(m.token), iat: m.iat, ...(m.exp !== undefined ? { exp: m.exp } : {}) }
  const kept = (cur?.instances ?? [])
    .filter((i) => i.hash !== instance.hash && (i.exp === undefined || i.exp > m.iat - EXPIRED_RETENTION))
    .slice(-(MAX_INSTANCES - 1))
  return {
    id: markId(m.type, m.sub), trust_mark_type: m.type, sub: m.sub, status: 'active', trust_mark: m.token,
    iat: m.iat, ...(m.exp !== undefined ? { exp: m.exp } : {}), instances: [...kept, instance], updated_at: m.iat,
  }
}

/** The record after revocation at `now`: every instance not yet revoked is revoked. */
export function withRevoked(cur: IssuedTrustMarkRecord, now: number): IssuedTrustMarkRecord {
  if (cur.status === 'revoked' && cur.instances.every((i) => i.revoked_at !== undefined)) return cur
  return {
    ...cur, status: 'revoked', revoked_at: now, updated_at: now,
    instances: cur.instances.map((i) => (i.revoked_at === undefined ? { ...i, revoked_at: now } : i)),
  }
}
