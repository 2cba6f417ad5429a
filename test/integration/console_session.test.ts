/**
 * The operator console without a browser (docs/console.md): its pages and assets with their
 * security headers, the login and its rate limit, the session cookie's flags, sessions kept
 * hashed and ended by idleness, age, logout, a disabled or rotated operator; the admin API
 * taking the cookie, refusing a change without the session's CSRF token (403, audited), and
 * naming the session's operator as the audit actor.
 */
import { strict as assert } from 'node:assert'
import { startEntity, startLeaf, type TestEntity } from '../support/entity.js'
import { ManualClock } from '../../src/clock.js'
import { CONTENT_SECURITY_POLICY } from '../../src/http/console/routes.js'
import { DEFAULTS } from '../../src/config/defaults.js'
import type { AuditEvent } from '../../src/storage/types.js'

const enc = encodeURIComponent

interface Answer { status: number; headers: Headers; text: string; body: any }

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, { redirect: 'manual', ...init })
  const text = await res.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }
  return { status: res.status, headers: res.headers, text, body }
}

/** POST {console}/login with the form field token; the answer and the session cookie's value. */
async function login(base: string, token: string | undefined, headers: Record<string, string> = {}): Promise<Answer & { cookie?: string; setCookie?: string }> {
  const form = new URLSearchParams()
  if (token !== undefined) form.set('token', token)
  const r = await call(`${base}/console/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: form.toString() })
  const setCookie = r.headers.get('set-cookie') ?? undefined
  const cookie = setCookie ? /^anchorage_console=([^;]*)/.exec(setCookie)?.[1] : undefined
  return { ...r, ...(setCookie ? { setCookie } : {}), ...(cookie ? { cookie } : {}) }
}

async function withCookie(base: string, method: string, path: string, cookie: string, o: { csrf?: string; body?: unknown } = {}): Promise<Answer> {
  return call(`${base}${path}`, {
    method,
    headers: {
      cookie: `other=1; anchorage_console=${cookie}`,
      ...(o.csrf !== undefined ? { 'x-csrf-token': o.csrf } : {}),
      ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
  })
}

async function events(e: TestEntity, action: string): Promise<AuditEvent[]> {
  const r = await e.admin('GET', `/admin/audit?action=${enc(action)}&limit=1000`)
  assert.equal(r.status, 200)
  return r.body.events as AuditEvent[]
}

function assertSecurityHeaders(r: Answer, what: string): void {
  assert.equal(r.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, what)
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff', what)
  assert.equal(r.headers.get('referrer-policy'), 'no-referrer', what)
  assert.equal(r.headers.get('x-frame-options'), 'DENY', what)
}

describe('the operator console: pages, login, sessions and CSRF', function () {
  this.timeout(60_000)
  let e: TestEntity
  let base: string

  before(async () => {
    e = await startEntity({ adminListen: '127.0.0.1:0' })
    base = e.adminUrl!
  })
  after(() => e.stop())

  it('serves its pages with a strict CSP, never cached, and its assets immutable under their digest', async () => {
    assert.equal(CONTENT_SECURITY_POLICY, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    const redirect = await call(`${base}/console`)
    assert.equal(redirect.status, 303)
    assert.equal(redirect.headers.get('location'), '/console/')
    const index = await call(`${base}/console/`)
    assert.equal(index.status, 200)
    assert.match(index.headers.get('content-type')!, /^text\/html; charset=utf-8/)
    assert.equal(index.headers.get('cache-control'), 'no-store')
    assertSecurityHeaders(index, 'index')
    // No inline script or style: every script and stylesheet is a file of the console's own.
    assert.doesNotMatch(index.text, /<script(?![^>]*\bsrc=)/)
    assert.doesNotMatch(index.text, /<style|\sstyle=|\son[a-z]+=/i)
    const script = /<script type="module" src="(assets\/([0-9a-f]{16})\/app\.js)">/.exec(index.text)
    assert.ok(script, 'the entry script')
    const js = await call(`${base}/console/${script[1]}`)
    assert.equal(js.status, 200)
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8')
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assertSecurityHeaders(js, 'app.js')
    const css = await call(`${base}/console/assets/${script[2]}/console.css`)
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8')
    // Another digest (an older version) or a file that is not an asset: 404.
    assert.equal((await call(`${base}/console/assets/0000000000000000/app.js`)).status, 404)
    assert.equal((await call(`${base}/console/assets/${script[2]}/index.html`)).status, 404)
    assert.equal((await call(`${base}/console/assets/${script[2]}/..%2Fsessions.ts`)).status, 404)
    const page = await call(`${base}/console/login`)
    assert.equal(page.status, 200)
    assert.match(page.text, /<form method="post" action="login"/)
    assert.match(page.text, /name="token"/)
    assertSecurityHeaders(page, 'login')
    // Not on the public listener when the admin plane has its own.
    assert.equal((await call(`${e.entityId}/console/`)).status, 404)
    assert.equal((await call(`${e.entityId}/console/login`, { method: 'POST' })).status, 404)
    const wrongMethod = await call(`${base}/console/login`, { method: 'DELETE' })
    assert.equal(wrongMethod.status, 405)
  })

  it('exchanges an operator token for an HttpOnly, SameSite=Strict cookie scoped to the admin API, kept hashed', async () => {
    const revision = e.federation.changes.revision
    const r = await login(base, e.token)
    assert.equal(r.status, 303)
    assert.equal(r.headers.get('location'), '/console/')
    assert.ok(r.cookie && /^[A-Za-z0-9_-]{43}$/.test(r.cookie), r.setCookie)
    const flags = r.setCookie!.split('; ').slice(1)
    assert.deepEqual(flags.sort(), ['HttpOnly', `Max-Age=${DEFAULTS.console.session_absolute_seconds}`, 'Path=/admin', 'SameSite=Strict'].sort(), 'no Secure over plain http')
    // Only the SHA-256 of the session id is stored.
    const stored = await e.store.list('console_sessions')
    assert.ok(stored.length >= 1)
    assert.ok(!JSON.stringify(stored).includes(r.cookie), 'the session id is not stored')
    // A session's writes are no change of anything signed or cached.
    assert.equal(e.federation.changes.revision, revision)
    const s = await withCookie(base, 'GET', '/admin/session', r.cookie)
    assert.equal(s.status, 200)
    assert.equal(s.body.operator, 'admin')
    assert.equal(s.body.role, 'admin')
    assert.equal(s.body.via, 'session')
    assert.equal(s.body.entity_id, e.entityId)
    assert.match(s.body.csrf_token, /^[A-Za-z0-9_-]{43}$/)
    assert.ok(s.body.permissions.includes('POST /keys/rotate'))
    // Only routes this deployment serves: no authorization server here, so no client routes.
    assert.ok(!s.body.permissions.includes('GET /clients'))
    assert.ok(s.body.permissions.includes('GET /session') && s.body.permissions.includes('DELETE /session'))
    assert.equal((await events(e, 'console.login')).at(-1)?.actor, 'admin')
    // The bearer token still works, and says so.
    const bearer = await e.admin('GET', '/admin/session')
    assert.equal(bearer.body.via, 'bearer')
    assert.equal(bearer.body.csrf_token, undefined)
  })

  it('refuses a change made with the cookie but without the session\'s CSRF token: 403, audited; with it the actor is the operator', async () => {
    const leaf = await startLeaf({ clock: e.clock, authority_hints: [e.entityId] })
    try {
      e.clock.advance(3600) // a new refusal window: the first refusal is recorded at once
      const { cookie } = await login(base, e.token)
      const csrf = (await withCookie(base, 'GET', '/admin/session', cookie!)).body.csrf_token as string
      const other = await login(base, e.token)
      const otherCsrf = (await withCookie(base, 'GET', '/admin/session', other.cookie!)).body.csrf_token as string
      assert.notEqual(csrf, otherCsrf, 'one token per session')
      const before = (await events(e, 'admin.authenticate')).length
      const forged = await withCookie(base, 'POST', '/admin/subordinates', cookie!, { body: { entity_id: leaf.entityId } })
      assert.equal(forged.status, 403)
      assert.equal(forged.body.error, 'forbidden')
      assert.match(forged.body.error_description, /CSRF token/)
      const refused = (await events(e, 'admin.authenticate')).slice(before)
      assert.equal(refused.length, 1)
      assert.equal(refused[0]!.outcome, 'failure')
      assert.equal(refused[0]!.detail!.reason, 'no CSRF token')
      // Another session's token, or a token cut short: refused too.
      assert.equal((await withCookie(base, 'POST', '/admin/subordinates', cookie!, { csrf: otherCsrf, body: { entity_id: leaf.entityId } })).status, 403)
      assert.equal((await withCookie(base, 'POST', '/admin/subordinates', cookie!, { csrf: csrf.slice(1), body: { entity_id: leaf.entityId } })).status, 403)
      assert.equal((await withCookie(base, 'DELETE', '/admin/session', cookie!)).status, 403)
      assert.equal((await e.admin('GET', `/admin/subordinates/${enc(leaf.entityId)}`)).status, 404, 'nothing was onboarded')
      const done = await withCookie(base, 'POST', '/admin/subordinates', cookie!, { csrf, body: { entity_id: leaf.entityId } })
      assert.equal(done.status, 201, done.text)
      const added = (await events(e, 'subordinate.add')).find((ev) => ev.subject === leaf.entityId)
      assert.equal(added?.actor, 'admin')
      // A bearer token and a cookie: the Authorization header alone decides (no CSRF needed, none taken from the cookie).
      const both = await call(`${base}/admin/subordinates/${enc(leaf.entityId)}/suspend`, { method: 'POST', headers: { authorization: `Bearer ${e.token}`, cookie: `anchorage_console=${cookie!}` } })
      assert.equal(both.status, 200)
      const wrongBearer = await call(`${base}/admin/subordinates`, { headers: { authorization: 'Bearer nope', cookie: `anchorage_console=${cookie!}` } })
      assert.equal(wrongBearer.status, 401)
    } finally {
      await leaf.stop()
    }
  })

  it('applies the operator\'s role to a session as to its token', async () => {
    const added = await e.admin('POST', '/admin/operators', { name: 'audrey', role: 'auditor' })
    assert.equal(added.status, 201)
    const { cookie } = await login(base, added.body.token as string)
    const s = await withCookie(base, 'GET', '/admin/session', cookie!)
    assert.equal(s.body.role, 'auditor')
    assert.ok(!s.body.permissions.includes('POST /subordinates/:id/suspend'))
    assert.ok(s.body.permissions.includes('GET /audit'))
    const refused = await withCookie(base, 'POST', `/admin/subordinates/${enc('https://x.example')}/suspend`, cookie!, { csrf: s.body.csrf_token })
    assert.equal(refused.status, 403)
    assert.equal(refused.body.error, 'insufficient_scope')
    assert.equal((await withCookie(base, 'GET', '/admin/audit', cookie!)).status, 200)
  })

  it('ends a session after its idle time, after its absolute lifetime, on logout, and when its operator is disabled or rotated', async () => {
    const { session_idle_seconds: idle, session_absolute_seconds: absolute } = DEFAULTS.console
    const alive = async (cookie: string) => (await withCookie(base, 'GET', '/admin/session', cookie)).status === 200

    const idleOne = (await login(base, e.token)).cookie!
    e.clock.advance(idle - 1)
    assert.ok(await alive(idleOne), 'used within its idle time')
    e.clock.advance(idle - 1)
    assert.ok(await alive(idleOne), 'each use extends it')
    e.clock.advance(idle)
    const ended = await withCookie(base, 'GET', '/admin/subordinates', idleOne)
    assert.equal(ended.status, 401)
    assert.equal(ended.body.error, 'unauthorized')

    const busy = (await login(base, e.token)).cookie!
    for (let t = 0; t + idle - 1 < absolute; t += idle - 1) {
      e.clock.advance(idle - 1)
      if (t + idle - 1 < absolute) assert.ok(await alive(busy), `alive at ${t + idle - 1} s`)
    }
    e.clock.advance(idle - 1)
    assert.ok(!(await alive(busy)), 'ended at its absolute lifetime however busy')

    const out = (await login(base, e.token)).cookie!
    const csrf = (await withCookie(base, 'GET', '/admin/session', out)).body.csrf_token as string
    const bye = await withCookie(base, 'DELETE', '/admin/session', out, { csrf })
    assert.equal(bye.status, 204)
    assert.match(bye.headers.get('set-cookie')!, /^anchorage_console=; Path=\/admin; Max-Age=0; HttpOnly; SameSite=Strict$/)
    assert.ok(!(await alive(out)))
    assert.equal((await events(e, 'console.logout')).at(-1)?.actor, 'admin')

    const olga = await e.admin('POST', '/admin/operators', { name: 'olga', role: 'operator' })
    const olgaSession = (await login(base, olga.body.token as string)).cookie!
    assert.ok(await alive(olgaSession))
    assert.equal((await e.admin('POST', '/admin/operators/olga/rotate')).status, 200)
    assert.ok(!(await alive(olgaSession)), 'a rotated token ends its sessions')
    const rotated = (await e.admin('GET', '/admin/operators/olga')).body
    assert.equal(rotated.status, 'active')
    const again = await e.admin('POST', '/admin/operators/olga/rotate')
    const olgaAgain = (await login(base, again.body.token as string)).cookie!
    assert.ok(await alive(olgaAgain))
    assert.equal((await e.admin('POST', '/admin/operators/olga/disable')).status, 200)
    assert.ok(!(await alive(olgaAgain)), 'a disabled operator\'s sessions end')
    assert.equal((await login(base, again.body.token as string)).status, 401)

    // Garbage in the cookie is no session, and no error.
    for (const junk of ['', 'x', 'a'.repeat(43), '%00', 'é'.repeat(43)]) {
      assert.equal((await call(`${base}/admin/session`, { headers: { cookie: `anchorage_console=${encodeURIComponent(junk)}` } })).status, 401, junk)
    }
  })

  it('says when an unused session ends: idle_expires_at is the time it is refused, however recently it was used', async () => {
    const { session_idle_seconds: idle } = DEFAULTS.console
    const session = async (cookie: string) => withCookie(base, 'GET', '/admin/session', cookie)
    // A use less than a minute after the last recorded one is not written (TOUCH_SECONDS).
    const one = (await login(base, e.token)).cookie!
    e.clock.advance(30)
    const said = (await session(one)).body.idle_expires_at as number
    e.clock.advance(said - e.clock.now() - 1)
    assert.equal((await session(one)).status, 200, 'alive one second before the end it was told')
    const two = (await login(base, e.token)).cookie!
    e.clock.advance(30)
    const end = (await session(two)).body.idle_expires_at as number
    assert.ok(end > e.clock.now() + idle - 60, 'within a minute of the idle time from now')
    e.clock.advance(end - e.clock.now())
    assert.equal((await session(two)).status, 401, 'refused at the end it was told')
  })

  it('refuses bad logins with the login page, audits them, and rate-limits them per address (429 even for a good token)', async () => {
    const { login_failures: n, login_window_seconds: window } = DEFAULTS.console
    e.clock.advance(window + 3600)
    const before = (await events(e, 'admin.authenticate')).length
    const none = await login(base, undefined)
    assert.equal(none.status, 401)
    assert.match(none.text, /Enter an operator token/)
    assert.equal(none.setCookie, undefined)
    assertSecurityHeaders(none, 'refused login')
    const recorded = (await events(e, 'admin.authenticate')).slice(before)
    assert.equal(recorded.length, 1)
    assert.equal(recorded[0]!.detail!.path, '/console/login')
    assert.equal(recorded[0]!.detail!.reason, 'no token')
    for (let i = 1; i < n; i++) assert.equal((await login(base, `wrong-${i}`)).status, 401)
    const limited = await login(base, e.token)
    assert.equal(limited.status, 429)
    assert.equal(limited.setCookie, undefined)
    assert.ok(Number(limited.headers.get('retry-after')) > 0 && Number(limited.headers.get('retry-after')) <= window)
    assert.match(limited.text, /Too many failed logins/)
    e.clock.advance(window)
    assert.equal((await login(base, e.token)).status, 303)
    // Not form-encoded, the field twice, or from another site: refused.
    assert.equal((await call(`${base}/console/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: e.token }) })).status, 400)
    assert.equal((await call(`${base}/console/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${e.token}&token=${e.token}` })).status, 400)
    assert.equal((await login(base, e.token, { 'sec-fetch-site': 'cross-site' })).status, 403)
  })
})

describe('the operator console on the shared listener (development) and behind a proxy', function () {
  this.timeout(60_000)

  it('is served under the entity path where the admin API is, with the cookie scoped to it', async () => {
    const e = await startEntity({ path: '/fed' })
    try {
      assert.equal((await call(`${e.entityId}/console/`)).status, 200)
      const r = await login(e.entityId, e.token)
      assert.equal(r.status, 303)
      assert.equal(r.headers.get('location'), '/fed/console/')
      assert.match(r.setCookie!, /; Path=\/fed\/admin;/)
      assert.doesNotMatch(r.setCookie!, /Secure/)
      assert.equal((await withCookie(e.entityId, 'GET', '/admin/subordinates', r.cookie!)).status, 200)
    } finally {
      await e.stop()
    }
  })

  it('sets Secure behind a trusted proxy that says https, and only then', async () => {
    const clock = new ManualClock()
    const trusted = await startEntity({ clock, config: { server: { trust_proxy: true } } })
    const direct = await startEntity({ clock })
    try {
      const behind = await login(trusted.entityId, trusted.token, { 'x-forwarded-proto': 'https' })
      assert.match(behind.setCookie!, /; Secure$/)
      const plain = await login(trusted.entityId, trusted.token)
      assert.doesNotMatch(plain.setCookie!, /Secure/)
      const spoofed = await login(direct.entityId, direct.token, { 'x-forwarded-proto': 'https' })
      assert.doesNotMatch(spoofed.setCookie!, /Secure/, 'the header of an untrusted client is ignored')
    } finally {
      await trusted.stop()
      await direct.stop()
    }
  })
})
