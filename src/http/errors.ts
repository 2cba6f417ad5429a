/** The one error middleware: FederationError -> {error, error_description} with the table's status. */
import type { Context, Next } from 'koa'
import { FederationError, privateDetails } from '../errors.js'
import type { Logger } from '../logger.js'

export function errorMiddleware(logger: Logger) {
  return async function errors(ctx: Context, next: Next): Promise<void> {
    try {
      await next()
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new FederationError('not_found', `no such endpoint: ${ctx.method} ${ctx.path}`)
      }
    } catch (err) {
      const fe = toFederationError(err)
      // What the description must not say (e.g. the address an internal name resolved to), for the logs only.
      const detail = privateDetails(err)
      if (fe.status >= 500) {
        logger.error('request failed', { request_id: ctx.state.requestId, method: ctx.method, path: ctx.path, error: fe.error, ...(detail.length ? { detail } : {}), err: describe(err) })
      } else if (detail.length) {
        logger.info('request refused', { request_id: ctx.state.requestId, method: ctx.method, path: ctx.path, error: fe.error, detail })
      }
      ctx.status = fe.status
      ctx.set('Cache-Control', 'no-store')
      // RFC 6750 section 3: a bearer credential that is not valid says so in the challenge.
      if (fe.status === 401) ctx.set('WWW-Authenticate', fe.error === 'invalid_token' ? 'Bearer error="invalid_token"' : 'Bearer')
      ctx.type = 'application/json'
      ctx.body = fe.toJSON()
    }
  }
}

export function toFederationError(err: unknown): FederationError {
  if (err instanceof FederationError) return err
  const status = (err as { status?: number; expose?: boolean })?.status
  if (status === 405) return new FederationError('method_not_allowed', (err as Error).message)
  if (status === 501) return new FederationError('method_not_allowed', 'method not implemented')
  if (status && status >= 400 && status < 500 && (err as { expose?: boolean }).expose) {
    return new FederationError('invalid_request', (err as Error).message)
  }
  return new FederationError('server_error', 'internal error', { cause: err })
}

function describe(err: unknown): Record<string, unknown> {
  if (err instanceof FederationError) return { error: err.error, message: err.message, cause: describe(err.cause) }
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack }
  return { value: String(err) }
}
