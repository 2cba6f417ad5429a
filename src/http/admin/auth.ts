/**
 * Admin API authentication: `Authorization: Bearer <token>`, compared as SHA-256 digests in
 * constant time. The scheme is case-insensitive (RFC 7235 "Challenge and Response"), the
 * token is not. Refusals are audited in aggregate, per source address (audit/refusals.ts).
 * The actor may be named with X-Anchorage-Actor.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context, Next } from 'koa'
import { Unauthorized } from '../../errors.js'
import type { Federation } from '../../federation.js'

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/** RFC 6750 "Authorization Request Header Field": `Bearer` 1*SP b64token, any case of the scheme. */
const BEARER = /^bearer +([\x21-\x7e]+)$/i

export function adminAuth(f: Federation) {
  const fromEnv = f.config.admin.token_from_env
  const expected = fromEnv ? tokenDigest(fromEnv) : f.config.admin.token_sha256 ? Buffer.from(f.config.admin.token_sha256, 'base64url') : undefined
  if (!expected) f.logger.warn('no admin token is configured: the admin API refuses every request')
  return async function auth(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization')
    const m = BEARER.exec(header)
    const ok = Boolean(m && expected && timingSafeEqual(tokenDigest(m[1]!), expected))
    if (!ok) {
      // Behind --trust-proxy koa's ctx.ip is the forwarded client address.
      ctx.state.authRefused = true
      await f.audit.refusals.refuse({ address: ctx.ip, method: ctx.method, path: ctx.path, reason: header ? 'wrong token' : 'no token' })
      throw new Unauthorized(header ? 'the admin token is not valid' : 'an admin token is required (Authorization: Bearer ...)')
    }
    const named = ctx.get('x-anchorage-actor').replace(/[^\w.@-]/g, '').slice(0, 64)
    ctx.state.actor = named ? `admin:${named}` : 'admin'
    await next()
  }
}
