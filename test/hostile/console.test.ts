/**
 * The operator console and its session as an attacker meets them (docs/console.md, "Security
 * model"): the login from another origin, a fixed session, hostile Cookie headers, CSRF on
 * every state-changing admin route (from the roles table), a session after logout, another
 * session's CSRF token, assets by traversal, the security headers on refusals too. Real
 * deployment on 127.0.0.1, raw HTTP where a client would normalise what we send.
 */
import { strict as assert } from 'node:assert'
import net from 'node:net'
import { startEntity, type TestEntity } from '../support/entity.js'
import { CONTENT_SECURITY_POLICY } from '../../src/http/console/routes.js'
import { REQUIRED_ROLE } from '../../src/http/admin/roles.js'
import { send, type RawAnswer } from './raw_http.js'

/** GET of a request target exactly as written (a URL parser would resolve its dot segments). */
function literal(base: string, target: string): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  const { hostname, port } = new URL(base)
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(`GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`))
    let raw = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => (raw += d))
    socket.on('error', reject)
    socket.on('end', () => {
      const [head = '', ...rest] = raw.split('\r\n\r\n')
      const [line = '', ...fields] = head.split('\r\n')
      const headers: Record<string, string> = {}
      for (const f of fields) headers[f.slice(0, f.indexOf(':')).toLowerCase()] = f.slice(f.indexOf(':') + 1).trim()
      resolve({ status: Number(line.split(' ')[1]), headers, text: rest.join('\r\n\r\n') })
    })
  })
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

describe('hostile: the operator console and its sessions', function () {
  this.timeout(120_000)
  let e: TestEntity
  let base: string

  const login = async (token: string, headers: Record<string, string> = {}): Promise<RawAnswer & { cookie?: string }> => {
    const r = await send(`${base}/console/login`, { method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams({ token }).toString() })
    const set = r.headers['set-cookie']?.[0]
    const cookie = set ? /^anchorage_console=([^;]*)/.exec(set)?.[1] : undefined
    return { ...r, ...(cookie ? { cookie } : {}) }
  }
  const session = async (cookie: string) => send(`${base}/admin/session`, { method: 'GET', headers: { cookie: `anchorage_console=${cookie}` } })
  const revision = () => e.federation.changes.revision

  before(async () => {
    e = await startEntity({ adminListen: '127.0.0.1:0' })
    base = e.adminUrl!
  })
  after(() => e.stop())

  it('refuses a login posted from another origin (login CSRF), by Origin as well as Sec-Fetch-Site', async () => {
    for (const headers of <Array<Record<string, string>>>[
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { origin: `${base}.evil.example` },
      { origin: base.replace('127.0.0.1', 'localhost') },
      { origin: 'not a url' },
      { origin: `file://${new URL(base).host}` },
      // Fetch Metadata decides when the browser sends it.
      { origin: base, 'sec-fetch-site': 'cross-site' },
    ]) {
      const r = await login(e.token, headers)
      assert.equal(r.status, 403, `${JSON.stringify(headers)}: ${r.status} ${r.text}`)
      assert.equal(r.body?.error, 'forbidden', JSON.stringify(headers))
      assert.equal(r.headers['set-cookie'], undefined, JSON.stringify(headers))
      assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY, JSON.stringify(headers))
    }
    // The console's own form: same origin, or a client that sends neither header.
    assert.equal((await login(e.token, { origin: base, 'sec-fetch-site': 'same-origin' })).status, 303)
    assert.equal((await login(e.token, { 'sec-fetch-site': 'none' })).status, 303)
    assert.equal((await login(e.token)).status, 303)
    assert.equal((await login(e.token, { origin: base })).status, 303)
    // Refused before the token is looked at: no failure counted, nothing audited as a login.
    const wrong = await login('not-a-token', { 'sec-fetch-site': 'same-site' })
    assert.equal(wrong.status, 403)
  })

  it('answers malformed logins with 4xx and no cookie: duplicated, missing, huge, JSON, query string, non-UTF-8', async () => {
    const cases: Array<[string, { headers?: Record<string, string>; body?: string; path?: string }, number]> = [
      ['duplicated', { headers: FORM, body: `token=${e.token}&token=${e.token}` }, 400],
      ['missing', { headers: FORM, body: 'other=1' }, 401],
      ['empty', { headers: FORM, body: 'token=' }, 401],
      ['json', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: e.token }) }, 400],
      ['no content type', { body: `token=${e.token}` }, 400],
      ['multipart', { headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: `--x\r\nContent-Disposition: form-data; name="token"\r\n\r\n${e.token}\r\n--x--\r\n` }, 400],
      ['in the query string', { headers: FORM, body: '', path: `/console/login?token=${encodeURIComponent(e.token)}` }, 401],
      ['non-UTF-8', { headers: FORM, body: 'token=%FF%FE%C0%AF' }, 401],
      ['huge', { headers: FORM, body: `token=${'a'.repeat(2_000_000)}` }, 413],
      ['token with a NUL', { headers: FORM, body: `token=${encodeURIComponent(e.token)}%00` }, 401],
    ]
    for (const [what, o, status] of cases) {
      const r = await send(`${base}${o.path ?? '/console/login'}`, { method: 'POST', headers: o.headers ?? {}, body: o.body ?? '' })
      assert.equal(r.status, status, `${what}: ${r.status} ${r.text.slice(0, 200)}`)
      assert.equal(r.headers['set-cookie'], undefined, what)
      assert.ok(!r.text.includes(e.token), `${what}: the token is not echoed`)
      assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY, `${what}: CSP on the refusal`)
    }
  })

  it('never adopts a session id chosen before the login (fixation)', async () => {
    const chosen = 'A'.repeat(43)
    const r = await login(e.token, { cookie: `anchorage_console=${chosen}` })
    assert.equal(r.status, 303)
    assert.ok(r.cookie && r.cookie !== chosen)
    assert.equal((await session(chosen)).status, 401)
    assert.equal((await session(r.cookie)).status, 200)
  })

  it('reads hostile Cookie headers without 5xx: huge, duplicated, malformed, many', async () => {
    const good = (await login(e.token)).cookie!
    const other = (await login(e.token)).cookie!
    const cases: Array<[string, string, number]> = [
      ['huge value', `anchorage_console=${'a'.repeat(7000)}`, 401],
      ['huge header with the session', `x=${'a'.repeat(9000)}; anchorage_console=${good}`, 401],
      ['duplicated, garbage first', `anchorage_console=nope; anchorage_console=${good}`, 401],
      // A second cookie set by a sibling host (cookie tossing), sent first or last: neither is taken.
      ['duplicated, session first', `anchorage_console=${good}; anchorage_console=nope`, 401],
      ['another session tossed in first', `anchorage_console=${other}; anchorage_console=${good}`, 401],
      ['the same cookie twice', `anchorage_console=${good}; anchorage_console=${good}`, 200],
      ['no equals sign', 'anchorage_console', 401],
      ['empty', 'anchorage_console=', 401],
      ['quoted', `anchorage_console="${good}"`, 401],
      ['__proto__ names', `__proto__=1; constructor=2; anchorage_console=${good}`, 200],
      ['many cookies', `${Array.from({ length: 500 }, (_, i) => `c${i}=1`).join('; ')}; anchorage_console=${good}`, 200],
      ['percent-encoded', `anchorage_console=%${good.charCodeAt(0).toString(16).toUpperCase()}${good.slice(1)}`, 401],
      ['control characters', `anchorage_console=${good}\u0001`, 401],
    ]
    for (const [what, cookie, status] of cases) {
      let r: RawAnswer
      try {
        r = await send(`${base}/admin/session`, { method: 'GET', headers: { cookie } })
      } catch (err) {
        // Node refuses to send a header with control characters: nothing to test there.
        if (what === 'control characters') continue
        throw err
      }
      assert.equal(r.status, status, `${what}: ${r.status} ${r.text.slice(0, 200)}`)
      if (status === 401) assert.equal(r.body.error, 'unauthorized', what)
      if (what.startsWith('another session tossed')) assert.match(r.body.error_description, /two console session cookies were sent/)
    }
  })

  it('a session of a disabled operator stays ended when the operator is enabled again (with a new token)', async () => {
    const add = await e.admin('POST', '/admin/operators', { name: 'rita', role: 'operator' })
    assert.equal(add.status, 201, JSON.stringify(add.body))
    const old = (await login(add.body.token as string)).cookie!
    assert.equal((await session(old)).status, 200)
    assert.equal((await e.admin('POST', '/admin/operators/rita/disable')).status, 200)
    // The session is not looked at meanwhile: enabling must not revive it.
    const enabled = await e.admin('POST', '/admin/operators/rita/enable')
    assert.equal(enabled.status, 200, JSON.stringify(enabled.body))
    assert.equal((await session(old)).status, 401)
    assert.equal((await login(add.body.token as string)).status, 401)
    const fresh = (await login(enabled.body.token as string)).cookie!
    assert.equal((await session(fresh)).body.operator, 'rita')
  })

  it('ends a session at logout; another session\'s CSRF token is refused; Authorization is judged alone', async () => {
    const a = (await login(e.token)).cookie!
    const b = (await login(e.token)).cookie!
    const csrfB = (await session(b)).body.csrf_token as string
    const before = revision()
    const wrong = await send(`${base}/admin/trust-mark-types`, { method: 'POST', headers: { cookie: `anchorage_console=${a}`, 'x-csrf-token': csrfB, 'content-type': 'application/json' }, body: '{"trust_mark_type":"https://tm.example/x"}' })
    assert.equal(wrong.status, 403)
    assert.equal(wrong.body.error, 'forbidden')
    assert.equal(revision(), before)
    // A wrong bearer token beside a good cookie: the bearer token decides.
    const both = await send(`${base}/admin/session`, { method: 'GET', headers: { cookie: `anchorage_console=${a}`, authorization: 'Bearer nope' } })
    assert.equal(both.status, 401)
    const csrfA = (await session(a)).body.csrf_token as string
    const out = await send(`${base}/admin/session`, { method: 'DELETE', headers: { cookie: `anchorage_console=${a}`, 'x-csrf-token': csrfA } })
    assert.equal(out.status, 204)
    assert.equal((await session(a)).status, 401)
    const replay = await send(`${base}/admin/session`, { method: 'DELETE', headers: { cookie: `anchorage_console=${a}`, 'x-csrf-token': csrfA } })
    assert.equal(replay.status, 401)
    assert.equal((await session(b)).status, 200)
  })

  it('refuses every state-changing admin route called with the session cookie but no or a wrong CSRF token, writing nothing', async () => {
    const cookie = (await login(e.token)).cookie!
    const other = (await login(e.token)).cookie!
    const otherCsrf = (await session(other)).body.csrf_token as string
    // Every route of the roles table this deployment serves (GET /admin/session lists them).
    const served = new Set((await e.admin('GET', '/admin/session')).body.permissions as string[])
    const changing = [...REQUIRED_ROLE.keys()].filter((k) => !/^(GET|HEAD) /.test(k) && served.has(k))
    assert.ok(changing.length > 20, `${changing.length} state-changing routes of ${served.size}: ${[...served].slice(0, 3).join(", ")}`)
    const before = revision()
    for (const route of changing) {
      const [method, path] = route.split(' ') as [string, string]
      const url = `${base}/admin${path.replace(/:[a-z_]+/g, 'x')}`
      for (const csrf of [undefined, '', 'x', otherCsrf]) {
        const r = await send(url, { method, headers: { cookie: `anchorage_console=${cookie}`, 'content-type': 'application/json', ...(csrf !== undefined ? { 'x-csrf-token': csrf } : {}) }, body: '{}' })
        assert.equal(r.status, 403, `${route} csrf=${csrf}: ${r.status} ${r.text.slice(0, 200)}`)
        assert.equal(r.body.error, 'forbidden', route)
      }
    }
    assert.equal(revision(), before)
  })

  it('serves no file but its assets: traversal, encodings, backslashes, NUL, unknown digests; headers on every answer', async () => {
    const index = await send(`${base}/console/`, { method: 'GET' })
    const digest = /assets\/([0-9a-f]{16})\//.exec(index.text)![1]!
    const paths = [
      `/console/assets/${digest}/../../../package.json`,
      `/console/assets/${digest}/..%2F..%2Fpackage.json`,
      `/console/assets/${digest}/%2e%2e%2fpackage.json`,
      `/console/assets/${digest}/%252e%252e%252fpackage.json`,
      `/console/assets/${digest}/..%5C..%5Cpackage.json`,
      `/console/assets/${digest}/..\\..\\package.json`,
      `/console/assets/${digest}/app.js%00.css`,
      `/console/assets/${digest}/app.js%00`,
      `/console/assets/${digest}/__proto__`,
      `/console/assets/${digest}/constructor`,
      `/console/assets/${digest}/%E0%A4%A`,
      `/console/assets/${digest}/login.html`,
      `/console/assets/${'0'.repeat(16)}/app.js`,
      `/console/assets/__proto__/app.js`,
      `/console/assets/${digest}/`,
      `/console/assets/${digest}/app.js/x`,
      '/console/nothing',
      '/console/%2e%2e/admin/session',
      '/console/login/',
      '/console/index.html',
    ]
    for (const p of paths) {
      const r = await literal(base, p)
      assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`)
      assert.ok(!r.text.includes('"name": "anchorage"') && !r.text.includes('"dependencies"'), p)
      assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY, `${p}: CSP on the refusal`)
      assert.equal(r.headers['x-content-type-options'], 'nosniff', p)
    }
    const head = await send(`${base}/console/assets/${digest}/app.js`, { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(head.headers['cache-control'], 'public, max-age=31536000, immutable')
    assert.equal(head.headers['content-security-policy'], CONTENT_SECURITY_POLICY)
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await send(`${base}/console/assets/${digest}/app.js`, { method, body: '' })
      assert.equal(r.status, 405, method)
      assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY, `${method}: CSP`)
    }
    const options = await send(`${base}/console/assets/${digest}/app.js`, { method: 'OPTIONS' })
    assert.ok(options.status < 500, `OPTIONS ${options.status}`)
    assert.equal(options.headers['access-control-allow-origin'], undefined)
  })
})

describe('hostile: the console login limiter behind a trusted proxy', function () {
  this.timeout(60_000)
  let e: TestEntity

  before(async () => {
    // The console on the shared listener, behind a proxy that appends the client's address.
    e = await startEntity({ config: { server: { trust_proxy: true } } })
  })
  after(() => e.stop())

  it('counts failed logins against the address the proxy appended, not one the client wrote before it', async () => {
    const failures = e.federation.config.console.login_failures
    const attempt = (spoofed: string, token = 'wrong') => send(`${e.entityId}/console/login`, {
      method: 'POST', headers: { ...FORM, 'x-forwarded-for': `${spoofed}, 203.0.113.7` }, body: new URLSearchParams({ token }).toString(),
    })
    for (let i = 0; i < failures; i++) assert.equal((await attempt(`198.51.100.${i}`)).status, 401)
    const limited = await attempt('198.51.100.250', e.token)
    assert.equal(limited.status, 429, `a fresh X-Forwarded-For entry before the proxy's must not reset the count: ${limited.status}`)
    assert.equal(limited.headers['set-cookie'], undefined)
    // Another client behind the same proxy is not limited.
    const other = await send(`${e.entityId}/console/login`, { method: 'POST', headers: { ...FORM, 'x-forwarded-for': '203.0.113.8' }, body: new URLSearchParams({ token: e.token }).toString() })
    assert.equal(other.status, 303)
  })
})
