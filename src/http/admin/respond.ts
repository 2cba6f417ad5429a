/** Small helpers shared by every admin route module. */
import type { Context } from 'koa'

/** The authenticated actor named in audit events. */
export const actorOf = (ctx: Context): string => String(ctx.state.actor)

export const queryOf = (ctx: Context): URLSearchParams => new URLSearchParams(ctx.querystring)

/** A JSON answer that no cache keeps. */
export function respond(ctx: Context, status: number, body: unknown): void {
  ctx.status = status
  ctx.set('Cache-Control', 'no-store')
  ctx.body = body
}
