/** Checks every adapter applies to a record or an audit event handed to the store (part of the contract). */
import type { AuditEvent, StoredRecord } from './types.js'

export function checkRecord(record: StoredRecord): void {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new TypeError('a record must be a JSON object')
  }
  if (typeof record.id !== 'string' || record.id === '') throw new TypeError('a record needs a non-empty string id')
  const exp = record.expires_at
  if (exp !== undefined && (typeof exp !== 'number' || !Number.isFinite(exp))) {
    throw new TypeError(`record ${JSON.stringify(record.id)}: expires_at must be a number of epoch seconds`)
  }
}

/** An audit event needs string time, actor and action (its seq is the store's to assign). */
export function checkAuditEvent(event: AuditEvent | undefined): void {
  if (event === undefined) return
  if (typeof event?.action !== 'string' || typeof event.actor !== 'string' || typeof event.time !== 'string') {
    throw new TypeError('an audit event needs string time, actor and action')
  }
}
