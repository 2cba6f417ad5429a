/**
 * Sessions of the operator console (docs/console.md, "Security model"). A login exchanges an
 * operator's token for a session: 256 random bits handed to the browser in an HttpOnly,
 * SameSite=Strict cookie, of which the store keeps only the SHA-256 (collection
 * `console_sessions`), with the operator's name, a binding to the operator's token, and the
 * session's times. A session is valid while:
 *
 *   - it was used within `console.session_idle_seconds` (its `last_seen`, written at most
 *     once a minute) and is younger than `console.session_absolute_seconds` (its
 *     `expires_at`: the store reads it as absent afterwards, on every instance);
 *   - its operator is active and still has the token the session was opened with (a
 *     rotation or a disable ends every session of that operator at once).
 *
 * The role is read from the operator's record on every request, like a bearer token's.
 *
 * The CSRF token is a synchronizer token bound to the session: HMAC-SHA256 keyed with the
 * session id, so it is the same for the session's life, differs between sessions, and
 * cannot be computed from what the store holds. The console's script reads it from
 * `GET /admin/session` and sends it as `X-CSRF-Token` with every change.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Context } from 'koa'
import type { Clock } from '../../clock.js'
import type { ConsoleConfig } from '../../config/load.js'
import type { Store, StoredRecord } from '../../storage/types.js'
import type { AuditLog } from '../../audit/audit.js'
import { boundedLru } from '../../util/lru.js'
import type { Authenticated, OperatorRecord, Operators } from '../admin/operators.js'
import { isRole } from '../admin/operators.js'

export const SESSION_COOKIE = 'anchorage_console'
export const CSRF_HEADER = 'x-csrf-token'
/** 32 random bytes, base64url. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/
/** `last_seen` is written at most this often, seconds: a session's activity is not a write per request. */
const TOUCH_SECONDS = 60

export interface SessionRecord extends StoredRecord {
  operator: string
  /** base64url SHA-256 of the operator's token digest at login. */
  token_binding: string
  /** Epoch seconds. */
  created_at: number
  last_seen: number
  /** created_at + session_absolute_seconds. */
  expires_at: number
}

export interface ConsoleSession {
  operator: Authenticated
  created_at: number
  /** The absolute end, epoch seconds. */
  expires_at: number
  /** The end if unused from now on, epoch seconds: the recorded last use (written at most once a minute) plus the idle time. */
  idle_expires_at: number
  csrf_token: string
}

export type LoginResult =
  | { ok: true; cookie: string; session: ConsoleSession }
  | { ok: false; reason: 'no token' | 'wrong token' | 'disabled operator' }

export interface SessionsDeps {
  store: Store
  clock: Clock
  config: ConsoleConfig
  operators: Operators
  audit: AuditLog
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64url')

export class ConsoleSessions {
  constructor(private readonly d: SessionsDeps) {}

  get idleSeconds(): number {
    return this.d.config.session_idle_seconds
  }

  get absoluteSeconds(): number {
    return this.d.config.session_absolute_seconds
  }

  /** Exchanges an operator's token for a new session. */
  async login(token: string): Promise<LoginResult> {
    if (!token) return { ok: false, reason: 'no token' }
    const result = await this.d.operators.authenticate(token)
    if (!result.ok) return { ok: false, reason: result.reason === 'disabled operator' ? 'disabled operator' : 'wrong token' }
    const now = this.d.clock.now()
    const id = randomBytes(32).toString('base64url')
    const record: SessionRecord = {
      id: sha256(id),
      operator: result.operator.name,
      token_binding: sha256(createHash('sha256').update(token, 'utf8').digest('base64url')),
      created_at: now,
      last_seen: now,
      expires_at: now + this.absoluteSeconds,
    }
    const name = result.operator.name
    await this.d.store.insert('console_sessions', record, { audit: this.d.audit.event(name, 'console.login', 'success', name, { role: result.operator.role }) })
    return { ok: true, cookie: id, session: this.view(record, result.operator, id) }
  }

  /** The session of a cookie value, or undefined (unknown, expired, idle, operator disabled or rotated). */
  async resume(cookie: string): Promise<ConsoleSession | undefined> {
    if (!SESSION_ID.test(cookie)) return undefined
    const key = sha256(cookie)
    const record = await this.d.store.get<SessionRecord>('console_sessions', key)
    if (!record) return undefined
    const now = this.d.clock.now()
    if (now >= record.last_seen + this.idleSeconds || now >= record.expires_at) {
      await this.d.store.remove('console_sessions', key)
      return undefined
    }
    const op = await this.d.store.get<OperatorRecord>('operators', record.operator)
    if (!op || op.status !== 'active' || !isRole(op.role) || typeof op.token_sha256 !== 'string' || !same(sha256(op.token_sha256), record.token_binding)) {
      await this.d.store.remove('console_sessions', key)
      return undefined
    }
    let seen = record.last_seen
    if (now - record.last_seen >= TOUCH_SECONDS) {
      seen = now
      await this.d.store.update<SessionRecord>('console_sessions', key, (r) => (r && r.last_seen < now ? { ...r, last_seen: now } : undefined))
    }
    return this.view({ ...record, last_seen: seen }, { name: op.id, role: op.role }, cookie)
  }

  /** Ends a session; true when there was one. */
  async logout(cookie: string, operator: string): Promise<boolean> {
    if (!SESSION_ID.test(cookie)) return false
    return this.d.store.remove('console_sessions', sha256(cookie), { audit: this.d.audit.event(operator, 'console.logout', 'success', operator) })
  }

  /** Constant-time check of a presented CSRF token against the session's. */
  csrfMatches(cookie: string, presented: string): boolean {
    return presented !== '' && same(presented, csrfToken(cookie))
  }

  private view(r: SessionRecord, operator: Authenticated, cookie: string): ConsoleSession {
    return {
      operator,
      created_at: r.created_at,
      expires_at: r.expires_at,
      // From the recorded last use (written at most once a minute), as resume() judges it: not from now.
      idle_expires_at: Math.min(r.expires_at, r.last_seen + this.idleSeconds),
      csrf_token: csrfToken(cookie),
    }
  }
}

export function csrfToken(cookie: string): string {
  return createHmac('sha256', cookie).update('anchorage console csrf').digest('base64url')
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Two `anchorage_console` cookies with different values: see sessionCookie. */
export const AMBIGUOUS_COOKIE: unique symbol = Symbol('two console session cookies')

/**
 * The session cookie of a request: the value of the `anchorage_console` pair of the Cookie
 * header (RFC 6265 "Cookie"), undefined when absent. Read by hand: nothing else in the header
 * is looked at, and no object is keyed by the header's names.
 *
 * Two pairs with different values are AMBIGUOUS_COOKIE, never the first: this console sets one
 * cookie (one name, path and host), so a second was set by someone else, such as a sibling host
 * under the same parent domain ("cookie tossing", RFC 6265 "Weak Integrity") with a longer path
 * so that browsers send it first; taking it would run the operator's console, its CSRF token
 * included, in the other party's session.
 */
export function sessionCookie(ctx: Context): string | undefined | typeof AMBIGUOUS_COOKIE {
  const header = ctx.get('cookie')
  if (!header || header.length > 8192) return undefined
  let found: string | undefined
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1) continue
    if (pair.slice(0, eq).trim() !== SESSION_COOKIE) continue
    const value = pair.slice(eq + 1).trim()
    if (found !== undefined && found !== value) return AMBIGUOUS_COOKIE
    found = value
  }
  return found
}

/**
 * Whether the browser reached us over https: a TLS listener, or, only behind a trusted proxy
 * (`server.trust_proxy`), the proxy's `X-Forwarded-Proto: https` (its first value).
 */
export function overHttps(ctx: Context, trustProxy: boolean): boolean {
  if ((ctx.req.socket as { encrypted?: boolean }).encrypted) return true
  if (!trustProxy) return false
  return (ctx.get('x-forwarded-proto').split(',')[0] ?? '').trim().toLowerCase() === 'https'
}

/** The Set-Cookie value of a session (or of its removal, with `value` empty and `maxAge` 0). */
export function sessionSetCookie(value: string, o: { path: string; secure: boolean; maxAge: number }): string {
  return [`${SESSION_COOKIE}=${value}`, `Path=${o.path}`, `Max-Age=${o.maxAge}`, 'HttpOnly', 'SameSite=Strict', ...(o.secure ? ['Secure'] : [])].join('; ')
}

/**
 * Failed logins per source address: at most `failures` per `windowSeconds`, then refused
 * (429) until the window ends, without looking at the token. Addresses tracked in an LRU.
 */
export class LoginLimiter {
  private readonly windows = boundedLru<string, { start: number; failures: number }>(10_000)

  constructor(private readonly clock: Clock, private readonly o: { failures: number; windowSeconds: number }) {}

  /** Seconds until this address may try again; 0 when it may now. */
  retryAfter(address: string): number {
    const w = this.windows.get(key(address))
    const now = this.clock.now()
    if (!w || now >= w.start + this.o.windowSeconds) return 0
    return w.failures >= this.o.failures ? Math.max(1, Math.ceil(w.start + this.o.windowSeconds - now)) : 0
  }

  fail(address: string): void {
    const k = key(address)
    const now = this.clock.now()
    const w = this.windows.get(k)
    if (!w || now >= w.start + this.o.windowSeconds) this.windows.set(k, { start: now, failures: 1 })
    else w.failures++
  }
}

const key = (address: string) => (address || 'unknown').slice(0, 64)
