/** Small helpers shared by every admin route module. */
import type { Context } from 'koa'
import { InvalidRequest } from '../../errors.js'
import { int, single } from '../params.js'

/** The authenticated actor named in audit events. */
export const actorOf = (ctx: Context): string => String(ctx.state.actor)

export const queryOf = (ctx: Context): URLSearchParams => new URLSearchParams(ctx.querystring)

/** A JSON answer that no cache keeps. */
export function respond(ctx: Context, status: number, body: unknown): void {
  ctx.status = status
  ctx.set('Cache-Control', 'no-store')
  ctx.body = body
}

/** `limit` of every admin listing (and of GET /audit): from 1 to 1000, 100 when absent. */
export const PAGE_LIMIT = Object.freeze({ min: 1, max: 1000, default: 100 })

/** The paging parameters of an admin listing: `limit` (1 to 1000, default 100), `after` (a cursor), `status` (one of `statuses`). */
export interface PageRequest<S extends string> {
  limit: number
  after?: string
  status?: S
}

export function pageRequest<S extends string>(params: URLSearchParams, statuses: readonly S[]): PageRequest<S> {
  const limit = int(params, 'limit', PAGE_LIMIT.min, PAGE_LIMIT.max) ?? PAGE_LIMIT.default
  const status = single(params, 'status')
  if (status !== undefined && !(statuses as readonly string[]).includes(status)) throw new InvalidRequest(`status: must be one of ${statuses.join(', ')}`)
  const after = single(params, 'after')
  return { limit, ...(after ? { after } : {}), ...(status ? { status: status as S } : {}) }
}

/**
 * Answers one page `{ items, next? }`: `next` (the last item's cursor) only when the page is
 * full, so a client pages with `after=next` until it is absent.
 */
export function respondPage<T>(ctx: Context, items: readonly T[], limit: number, cursor: (item: T) => string, show: (item: T) => unknown = (item) => item): void {
  const last = items.at(-1)
  respond(ctx, 200, { items: items.map(show), ...(items.length === limit && last !== undefined ? { next: cursor(last) } : {}) })
}
