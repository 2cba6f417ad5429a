/**
 * Admin API authentication: `Authorization: Bearer <token>`, compared as SHA-256 digests in
 * constant time. Failures are audited. The actor may be named with X-Anchorage-Actor.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context, Next } from 'koa'
import { Unauthorized } from '../../errors.js'
import type { Federation } from '../../federation.js'

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

export function adminAuth(f: Federation) {
  const fromEnv = f.config.admin.token_from_env
  const expected = fromEnv ? tokenDigest(fromEnv) : f.config.admin.token_sha256 ? Buffer.from(f.config.admin.token_sha256, 'base64url') : undefined
  if (!expected) f.logger.warn('no admin token is configured: the admin API refuses every request')
  return async function auth(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization')
    const m = /^Bearer ([\x21-\x7e]+)$/.exec(header)
    const ok = Boolean(m && expected && timingSafeEqual(tokenDigest(m[1]!), expected))
    if (!ok) {
      await f.audit.record('anonymous', 'admin.authenticate', 'failure', undefined, {
        method: ctx.method, path: ctx.path, ip: ctx.ip, reason: header ? 'wrong token' : 'no token',
      })
      throw new Unauthorized(header ? 'the admin token is not valid' : 'an admin token is required (Authorization: Bearer ...)')
    }
    const named = ctx.get('x-anchorage-actor').replace(/[^\w.@-]/g, '').slice(0, 64)
    ctx.state.actor = named ? `admin:${named}` : 'admin'
    await next()
  }
}
