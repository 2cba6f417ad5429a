/**
 * The audit log for operators (docs/admin-api.md, "Audit"): pages with filters (action,
 * subject, actor, a time range) and an export of everything matching, streamed as NDJSON or
 * CSV a page at a time, so neither side holds the log in memory.
 */
import { Readable } from 'node:stream'
import type Router from '@koa/router'
import type { Context } from 'koa'
import { InvalidRequest } from '../../errors.js'
import type { AuditLog } from '../../audit/audit.js'
import type { Clock } from '../../clock.js'
import type { AuditEvent, AuditQuery } from '../../storage/types.js'
import { int, single } from '../params.js'
import { queryOf, respond, PAGE_LIMIT } from './respond.js'
import { text } from './members.js'

/** Events read from the store per page of an export (the store's own cap). */
export const EXPORT_PAGE = PAGE_LIMIT.max

/** RFC 3339 date-time (or a date: midnight UTC), as `since`/`until` take it. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-](\d{2}):(\d{2})))?$/

/**
 * Whether the fields of a DATE_TIME match name a real instant (RFC 3339 "Restrictions"): a
 * day its month has, hour 00-23, minute 00-59, second 00-59 (no leap second), an offset within
 * ±23:59. Date.parse alone takes 2026-02-31 as March 3rd and 24:00 as the next day.
 */
function realInstant(m: RegExpExecArray): boolean {
  const [, y, mo, d, h = '0', mi = '0', s = '0', oh = '0', om = '0'] = m.map((x) => x ?? undefined)
  const month = Number(mo)
  const day = Number(d)
  if (month < 1 || month > 12 || day < 1) return false
  if (day > new Date(Date.UTC(Number(y), month, 0)).getUTCDate()) return false
  return Number(h) <= 23 && Number(mi) <= 59 && Number(s) <= 59 && Number(oh) <= 23 && Number(om) <= 59
}

function instant(params: URLSearchParams, name: string): string | undefined {
  const v = single(params, name)
  if (v === undefined) return undefined
  const m = DATE_TIME.exec(v)
  const ms = m && realInstant(m) ? Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v.replace(' ', 'T')) : NaN
  if (!Number.isFinite(ms)) throw new InvalidRequest(`${name}: must be an RFC 3339 date-time such as 2026-12-01T10:00:00Z (or a date, 2026-12-01)`)
  // The form AuditLog writes (toISOString), so text order is time order.
  return new Date(ms).toISOString()
}

/** The filters shared by the page and the export: action, subject, actor, since, until. */
export function auditFilters(params: URLSearchParams): Omit<AuditQuery, 'after' | 'limit'> {
  const action = text(params, 'action', 256)
  const subject = text(params, 'subject')
  const actor = text(params, 'actor', 256)
  const since = instant(params, 'since')
  const until = instant(params, 'until')
  if (since !== undefined && until !== undefined && since > until) throw new InvalidRequest('since: must not be after until')
  return {
    ...(action !== undefined ? { action } : {}),
    ...(subject !== undefined ? { subject } : {}),
    ...(actor !== undefined ? { actor } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  }
}

const CSV_COLUMNS = ['seq', 'time', 'actor', 'action', 'subject', 'outcome', 'detail'] as const

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. A cell a
 * spreadsheet would read as a formula (starting with = + - @, or a tab or carriage return)
 * gets a leading apostrophe first (OWASP "CSV Injection"); so does one starting with a line
 * feed or the fullwidth ＝ ＋ － ＠, which some spreadsheets read as their ASCII forms.
 */
export function csvCell(value: unknown): string {
  let s = typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value)
  if (/^[=+\-@\t\r\n\uff1d\uff0b\uff0d\uff20]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function csvLine(e: AuditEvent): string {
  return CSV_COLUMNS.map((c) => csvCell(e[c])).join(',') + '\r\n'
}

export function auditRoutes(router: Router, audit: AuditLog, clock: Clock): void {
  router.get('/audit', async (ctx) => {
    const params = queryOf(ctx)
    const after = int(params, 'after', 0, Number.MAX_SAFE_INTEGER)
    const limit = int(params, 'limit', PAGE_LIMIT.min, PAGE_LIMIT.max) ?? PAGE_LIMIT.default
    const events = await audit.list({ limit, ...(after !== undefined ? { after } : {}), ...auditFilters(params) })
    respond(ctx, 200, { events, ...(events.length === limit ? { next: events.at(-1)!.seq } : {}) })
  })

  router.get('/audit/export', async (ctx) => {
    const params = queryOf(ctx)
    const format = single(params, 'format') ?? 'ndjson'
    if (format !== 'ndjson' && format !== 'csv') throw new InvalidRequest('format: must be ndjson or csv')
    const after = int(params, 'after', 0, Number.MAX_SAFE_INTEGER) ?? 0
    const filters = auditFilters(params)
    // The first page before the answer starts: a store that cannot be read is a proper error status.
    const first = await audit.list({ ...filters, after, limit: EXPORT_PAGE })
    exportBody(ctx, format, first, (from) => audit.list({ ...filters, after: from, limit: EXPORT_PAGE }), clock.now())
  })
}

/** `now`: epoch seconds of the deployment's clock, for the file name. */
function exportBody(ctx: Context, format: 'ndjson' | 'csv', first: AuditEvent[], next: (after: number) => Promise<AuditEvent[]>, now: number): void {
  const line = format === 'csv' ? csvLine : (e: AuditEvent) => JSON.stringify(e) + '\n'
  async function* lines(): AsyncGenerator<string> {
    if (format === 'csv') yield CSV_COLUMNS.join(',') + '\r\n'
    for (let page = first; ;) {
      // One chunk per page: a thousand events a write.
      if (page.length) yield page.map(line).join('')
      if (page.length < EXPORT_PAGE) return
      page = await next(page.at(-1)!.seq!)
    }
  }
  const stamp = new Date(now * 1000).toISOString().replace(/[:.]/g, '-')
  ctx.status = 200
  ctx.set('Cache-Control', 'no-store')
  ctx.set('Content-Disposition', `attachment; filename="audit-${stamp}.${format}"`)
  ctx.type = format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson'
  ctx.body = Readable.from(lines())
}
