/**
 * 405 with `Allow` (RFC 9110 "405 Method Not Allowed": the origin server MUST generate an
 * Allow header field) and 501 for a method no route implements, with the usual
 * `{error, error_description}` body: the router sets the status and `Allow`, and the
 * error middleware writes the body (headers already set are kept).
 */
import type Router from '@koa/router'
import type { Context, Middleware, Next } from 'koa'
import { FederationError } from '../errors.js'

export function methodNotAllowed(router: Router): Middleware {
  const allowed = router.allowedMethods()
  return async (ctx: Context, next: Next) => {
    await allowed(ctx as Parameters<typeof allowed>[0], next)
    if (ctx.status === 405 && ctx.body === undefined) {
      throw new FederationError('method_not_allowed', `${ctx.method} is not allowed here (Allow: ${ctx.response.get('Allow')})`)
    }
    if (ctx.status === 501 && ctx.body === undefined) {
      throw new FederationError('not_implemented', `method ${ctx.method} is not implemented`)
    }
  }
}
