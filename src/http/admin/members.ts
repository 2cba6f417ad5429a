/**
 * The roster as the operator console reads it (docs/admin-api.md, "Members"): the listing's
 * filters.
 */
import { InvalidRequest } from '../../errors.js'
import type { MemberQuery } from '../../subordinates/registry.js'
import { bool, single } from '../params.js'
import { pageRequest } from './respond.js'

/** The `status` filter of GET /subordinates: `pending` is a key change waiting for approval. */
export const MEMBER_STATUSES = ['active', 'suspended', 'pending'] as const
/** Longer than any entity id the roster takes (a URL), short enough to cost nothing. */
export const MAX_QUERY_TEXT = 2048

/** A text parameter: at most MAX_QUERY_TEXT characters, no control characters. */
export function text(params: URLSearchParams, name: string, max = MAX_QUERY_TEXT): string | undefined {
  const v = single(params, name)
  if (v === undefined) return undefined
  if (v.length > max) throw new InvalidRequest(`${name}: must be at most ${max} characters`)
  if (/[\u0000-\u001f\u007f-\u009f]/.test(v)) throw new InvalidRequest(`${name}: must not contain control characters`)
  return v
}

/**
 * `GET /admin/subordinates` parameters: `limit`, `after` (the cursor: the last entity id
 * seen), `status` (active, suspended, pending), `entity_type`, `intermediate` (true, false),
 * `q` (a prefix of the entity id; without a scheme, of the text after `https://` or
 * `http://`). Unknown parameters are ignored; a bad value is 400 naming it.
 */
export function memberQuery(params: URLSearchParams): MemberQuery {
  const page = pageRequest(params, MEMBER_STATUSES)
  const after = text(params, 'after')
  const q = text(params, 'q')
  const entityType = text(params, 'entity_type', 256)
  const intermediate = bool(params, 'intermediate')
  // 'http://' sorts before 'https://' (':' < 's'): the two ranges are listed in id order.
  const prefixes = q === undefined ? undefined : q.includes('://') ? [q] : [`http://${q}`, `https://${q}`]
  return {
    limit: page.limit,
    ...(after !== undefined ? { after } : {}),
    ...(page.status ? { status: page.status } : {}),
    ...(entityType !== undefined ? { entity_type: entityType } : {}),
    ...(intermediate !== undefined ? { intermediate } : {}),
    ...(prefixes ? { prefixes } : {}),
  }
}
