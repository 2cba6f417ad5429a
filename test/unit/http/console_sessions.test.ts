/**
 * The console's session helpers (src/http/console/sessions.ts) on their own: the cookie read
 * from a hostile Cookie header, the Set-Cookie flags, https behind a proxy only when trusted,
 * the CSRF token bound to its session, and the login limiter's window.
 */
import { strict as assert } from 'node:assert'
import type { Context } from 'koa'
import { ManualClock } from '../../../src/clock.js'
import { AMBIGUOUS_COOKIE, LoginLimiter, csrfToken, overHttps, sessionCookie, sessionSetCookie } from '../../../src/http/console/sessions.js'

function ctx(headers: Record<string, string>, encrypted = false): Context {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
  return { get: (name: string) => lower.get(name.toLowerCase()) ?? '', req: { socket: { encrypted } } } as unknown as Context
}

describe('console sessions: cookies, CSRF tokens, the login limiter', () => {
  it('reads the session cookie by its exact name, the first one, and nothing from an oversized header', () => {
    const id = 'a'.repeat(43)
    assert.equal(sessionCookie(ctx({ cookie: `anchorage_console=${id}` })), id)
    assert.equal(sessionCookie(ctx({ cookie: `x=1;  anchorage_console = ${id} ; y=2` })), id)
    // Two different values: one was set by someone else (cookie tossing); the same value twice is one cookie.
    assert.equal(sessionCookie(ctx({ cookie: `anchorage_console=first; anchorage_console=second` })), AMBIGUOUS_COOKIE)
    assert.equal(sessionCookie(ctx({ cookie: `anchorage_console=${id}; x=1; anchorage_console=${id}` })), id)
    assert.equal(sessionCookie(ctx({ cookie: `xanchorage_console=${id}; anchorage_consolex=${id}` })), undefined)
    assert.equal(sessionCookie(ctx({ cookie: '__proto__=1; constructor=2' })), undefined)
    assert.equal(sessionCookie(ctx({})), undefined)
    assert.equal(sessionCookie(ctx({ cookie: `${'z=1; '.repeat(2000)}anchorage_console=${id}` })), undefined)
  })

  it('writes HttpOnly, SameSite=Strict, the path and lifetime, and Secure only when asked', () => {
    assert.equal(sessionSetCookie('v', { path: '/admin', secure: false, maxAge: 60 }), 'anchorage_console=v; Path=/admin; Max-Age=60; HttpOnly; SameSite=Strict')
    assert.equal(sessionSetCookie('v', { path: '/fed/admin', secure: true, maxAge: 60 }), 'anchorage_console=v; Path=/fed/admin; Max-Age=60; HttpOnly; SameSite=Strict; Secure')
  })

  it('tells https by the socket, or by X-Forwarded-Proto only behind a trusted proxy', () => {
    assert.equal(overHttps(ctx({}, true), false), true)
    assert.equal(overHttps(ctx({ 'x-forwarded-proto': 'https' }), false), false)
    assert.equal(overHttps(ctx({ 'x-forwarded-proto': 'https' }), true), true)
    assert.equal(overHttps(ctx({ 'x-forwarded-proto': 'HTTPS, http' }), true), true)
    assert.equal(overHttps(ctx({ 'x-forwarded-proto': 'http, https' }), true), false)
    assert.equal(overHttps(ctx({}), true), false)
  })

  it('derives one CSRF token per session, not the session id', () => {
    const a = 'A'.repeat(43)
    const b = 'B'.repeat(43)
    assert.equal(csrfToken(a), csrfToken(a))
    assert.notEqual(csrfToken(a), csrfToken(b))
    assert.notEqual(csrfToken(a), a)
    assert.match(csrfToken(a), /^[A-Za-z0-9_-]{43}$/)
  })

  it('refuses an address after its failures in a window, until the window ends, and counts addresses apart', () => {
    const clock = new ManualClock()
    const limiter = new LoginLimiter(clock, { failures: 3, windowSeconds: 100 })
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.retryAfter('192.0.2.1'), 0)
      limiter.fail('192.0.2.1')
    }
    assert.equal(limiter.retryAfter('192.0.2.1'), 100)
    assert.equal(limiter.retryAfter('192.0.2.2'), 0)
    clock.advance(60)
    assert.equal(limiter.retryAfter('192.0.2.1'), 40)
    clock.advance(40)
    assert.equal(limiter.retryAfter('192.0.2.1'), 0)
    limiter.fail('192.0.2.1')
    assert.equal(limiter.retryAfter('192.0.2.1'), 0, 'a new window counts from one')
  })
})
