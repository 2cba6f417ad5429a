/**
 * Admin API authentication: `Authorization: Bearer <token>`, the token of a named operator
 * (operators.ts), compared as SHA-256 digests in constant time. The scheme is
 * case-insensitive (RFC 7235 "Challenge and Response"), the token is not. Refusals are
 * audited in aggregate, per source address (audit/refusals.ts).
 *
 * Instead of a bearer token, a request may carry the operator console's session cookie
 * (console/sessions.ts, docs/console.md): then every request but GET and HEAD must also carry
 * the session's CSRF token in `X-CSRF-Token`, or is refused 403 `forbidden` and audited as a
 * refused authentication. A request with an Authorization header is judged by it alone.
 *
 * The audit actor is the authenticated operator's name. A client cannot name it: the
 * `X-Anchorage-Actor` header that earlier versions read (and older CLIs still send) is
 * ignored.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Context, Next } from 'koa'
import { Forbidden, Unauthorized } from '../../errors.js'
import type { Federation } from '../../federation.js'
import type { Authenticated, Operators } from './operators.js'
import { AMBIGUOUS_COOKIE, CSRF_HEADER, sessionCookie, type ConsoleSessions } from '../console/sessions.js'

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/**
 * 256 random bits, base64url, never starting with '-': a token that did would be read as an
 * option by `anchorage ... --token TOKEN` (one token in 64 otherwise).
 */
export function newToken(): string {
  for (;;) {
    const token = randomBytes(32).toString('base64url')
    if (!token.startsWith('-')) return token
  }
}

/** RFC 6750 "Authorization Request Header Field": `Bearer` 1*SP b64token, any case of the scheme. */
const BEARER = /^bearer +([\x21-\x7e]+)$/i

/** The operator a request authenticated as (set by adminAuth before any admin route runs). */
export const operatorOf = (ctx: Context): Authenticated => ctx.state.operator as Authenticated

/** Methods that change nothing: a cookie-authenticated request needs no CSRF token for them. */
const SAFE = new Set(['GET', 'HEAD'])

export function adminAuth(f: Federation, operators: Operators, sessions?: ConsoleSessions) {
  const refuse = async (ctx: Context, reason: string) => {
    ctx.state.authRefused = true
    await f.audit.refusals.refuse({ address: ctx.ip, method: ctx.method, path: ctx.path, reason })
  }
  return async function auth(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization')
    const cookie = !header && sessions ? sessionCookie(ctx) : undefined
    if (cookie === AMBIGUOUS_COOKIE) {
      await refuse(ctx, 'two console session cookies')
      throw new Unauthorized('two console session cookies were sent (one was set by another site): clear this site\'s cookies, then log in again')
    }
    if (cookie !== undefined && sessions) {
      const session = await sessions.resume(cookie)
      if (!session) {
        await refuse(ctx, 'no console session')
        throw new Unauthorized('the console session has ended: log in again')
      }
      if (!SAFE.has(ctx.method) && !sessions.csrfMatches(cookie, ctx.get(CSRF_HEADER))) {
        await refuse(ctx, ctx.get(CSRF_HEADER) ? 'wrong CSRF token' : 'no CSRF token')
        throw new Forbidden(`a change made with the console session needs the session's CSRF token (${ctx.get(CSRF_HEADER) ? 'the X-CSRF-Token header does not match' : 'no X-CSRF-Token header'})`)
      }
      ctx.state.operator = session.operator
      ctx.state.actor = session.operator.name
      ctx.state.session = { cookie, session }
      await next()
      return
    }
    const m = BEARER.exec(header)
    const result = m ? await operators.authenticate(m[1]!) : undefined
    if (!result?.ok) {
      // Behind --trust-proxy koa's ctx.ip is the forwarded client address.
      ctx.state.authRefused = true
      const reason = !header ? 'no token' : result?.reason === 'disabled operator' ? 'disabled operator' : 'wrong token'
      await f.audit.refusals.refuse({ address: ctx.ip, method: ctx.method, path: ctx.path, reason })
      throw new Unauthorized(header ? 'the admin token is not valid' : 'an admin token is required (Authorization: Bearer ...)')
    }
    ctx.state.operator = result.operator
    ctx.state.actor = result.operator.name
    await next()
  }
}
