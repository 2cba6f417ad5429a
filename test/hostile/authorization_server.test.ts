/**
 * The authorization server's and OpenID Provider's endpoints against hostile input (issue 16):
 * prototype-pollution names (`__proto__`, `constructor`, `toString` …) in form bodies, query
 * strings, JSON bodies, JWT headers and payloads; bodies over server.max_body_bytes whatever the
 * framing; JSON nested past limits.json_depth; wrong media types; repeated parameters; other
 * methods. Each gets its exact 4xx (never a 5xx), and no intrinsic gains or loses a member.
 *
 *          TA  (Anchorage trust anchor)
 *        /  |  \
 *      OP  RP  AGENT    OP: Anchorage, authorization server + OpenID Provider, users file (alice)
 *                       RP: openid_relying_party leaf (PAR, request objects)
 *                       AGENT: oauth_client leaf (client_credentials, token exchange)
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { ManualClock } from '../../src/clock.js'
import { hashPassword } from '../../src/authorization_server/accounts.js'
import { TOKEN_EXCHANGE_GRANT, ACCESS_TOKEN_TYPE } from '../../src/authorization_server/token_exchange.js'
import { startEntity, startLeaf, onboard, pinned, testKey, type TestEntity, type TestLeaf, type TestKey } from '../support/federation.js'
import { startAuthorizationServer, startAgent, assertion, postForm, realNow, RESOURCE, ASSERTION_TYPE, type Agent, type OAuthAnswer } from '../support/agent.js'
import { Browser, formAction, type Page } from '../../src/demo/browser.js'
import { assertIntrinsicsUnchanged, snapshotIntrinsics } from './intrinsics.js'
import { filler, nested, send, type Framing, type RawAnswer } from './raw_http.js'

const REDIRECT = 'https://rp.example/cb'
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_TYPE = { 'content-type': 'application/json' }
/** Names a lookup or merge could resolve to an inherited member, as a form body or query string. */
const POLLUTING_FORM = '__proto__=x&__proto__[polluted]=1&constructor[prototype][polluted]=1&constructor=y&prototype=z&toString=1&hasOwnProperty=2&valueOf=3'
const POLLUTING_JSON = '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"toString":1}'
const FORM_ONLY = 'Content-Type must be application/x-www-form-urlencoded'
const REGISTER_TYPES = 'Content-Type must be application/entity-statement+jwt or application/trust-chain+json'
/** JSON text -> value: the only way to make a member named `__proto__` (a literal sets the prototype). */
const raw = (json: string): Record<string, string> => JSON.parse(json) as Record<string, string>
const enc = (s: string) => Buffer.from(s).toString('base64url')
/** A JWT (not validly signed) whose header and payload carry polluting members. */
const POLLUTING_JWT = `${enc('{"alg":"ES256","typ":"at+jwt","kid":"k","__proto__":{"x":1}}')}.${enc('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"iss":"x","sub":"s"}')}.c2ln`
/** A JWT whose payload nests 5,000 levels. */
const DEEP_JWT = `${enc('{"alg":"ES256"}')}.${enc(`{"x":${nested(5_000)}}`)}.c2ln`

/** What an answer must be: status, and the error code (JSON `error`, or an HTML page's `id="error"`; `page` for an interaction error page). */
interface Expect { status: number; error?: string; description?: string | RegExp }

interface Case extends Expect { method: string; path: string; headers?: Record<string, string>; body?: string }

describe('hostile: the authorization server and OpenID Provider endpoints', function () {
  this.timeout(120_000)
  const clock = new ManualClock()
  let ta: TestEntity, op: TestEntity, rp: TestLeaf, agent: Agent
  let rpKey: TestKey
  let dir: string
  let intrinsics: ReturnType<typeof snapshotIntrinsics>

  before(async () => {
    clock.set(realNow())
    intrinsics = snapshotIntrinsics()
    dir = await mkdtemp(join(tmpdir(), 'anchorage-hostile-op-'))
    const usersFile = join(dir, 'users.json')
    await writeFile(usersFile, JSON.stringify({ users: { alice: { password: await hashPassword('alice pw'), claims: { name: 'Alice' } } } }))
    ta = await startEntity({ clock })
    op = await startAuthorizationServer({
      clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId],
      as: { resources: [RESOURCE], openid_provider: true, users_file: usersFile, scopes_supported: ['mcp:tools', 'mcp:read'] },
    })
    rpKey = await testKey()
    rp = await startLeaf({ clock, authority_hints: [ta.entityId], metadata: { openid_relying_party: { client_name: 'RP', response_types: ['code'], grant_types: ['authorization_code'], redirect_uris: [REDIRECT], jwks: { keys: [rpKey.publicJwk] } } } })
    agent = await startAgent({ clock, authority_hints: [ta.entityId], oauthClient: { grant_types: ['client_credentials', TOKEN_EXCHANGE_GRANT] } })
    for (const id of [op.entityId, rp.entityId, agent.id]) await onboard(ta, id)
  })
  after(async () => {
    await Promise.all([ta?.stop(), op?.stop(), rp?.stop(), agent?.stop()])
    await rm(dir, { recursive: true, force: true })
  })
  afterEach(() => assertIntrinsicsUnchanged(intrinsics))

  const expectAnswer = (label: string, r: RawAnswer | OAuthAnswer | Page, e: Expect): void => {
    const text = 'text' in r ? r.text : 'body' in r && typeof r.body === 'string' ? r.body : JSON.stringify(r.body)
    assert.equal(r.status, e.status, `${label}: ${text.slice(0, 300)}`)
    if (e.error === undefined) return
    const json = typeof (r as { body?: unknown }).body === 'object' ? (r as { body: { error?: string; error_description?: string } }).body : undefined
    const code = json?.error ?? /id="error">([^<]*)</.exec(text)?.[1]
    assert.equal(code, e.error, `${label}: ${text.slice(0, 300)}`)
    if (e.description !== undefined) {
      const d = String(json?.error_description)
      assert.ok(typeof e.description === 'string' ? d.includes(e.description) : e.description.test(d), `${label}: description ${d}`)
    }
  }
  const run = async (c: Case) => {
    const r = await send(op.entityId + c.path, { method: c.method, ...(c.headers ? { headers: c.headers } : {}), ...(c.body !== undefined ? { body: c.body } : {}) })
    expectAnswer(`${c.method} ${c.path.slice(0, 60)} ${(c.body ?? '').slice(0, 40)}`, r, c)
    return r
  }
  const rpAssertion = () => assertion(rpKey, { iss: rp.entityId, aud: op.entityId, now: realNow() })
  const par = async (extra: Record<string, string | string[]>) => postForm(`${op.entityId}/oauth/par`, {
    client_id: rp.entityId, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid', code_challenge: CHALLENGE, code_challenge_method: 'S256',
    client_assertion_type: ASSERTION_TYPE, client_assertion: await rpAssertion(), ...extra,
  })
  /** A request object of the RP: `claims` over valid ones, signed; or `raw` JSON text as the payload, with a bad signature. */
  const requestObject = async (claims: Record<string, unknown>, o: { raw?: string; header?: Record<string, unknown> } = {}) => {
    const now = realNow()
    const base = { iss: rp.entityId, aud: op.entityId, client_id: rp.entityId, jti: Math.random().toString(36).slice(2), iat: now, exp: now + 60, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid', code_challenge: CHALLENGE, code_challenge_method: 'S256' }
    if (o.raw !== undefined) return `${enc(JSON.stringify({ alg: 'ES256', kid: rpKey.kid }))}.${enc(o.raw.replace('BASE', JSON.stringify(base).slice(1, -1)))}.c2ln`
    return new SignJWT({ ...base, ...claims }).setProtectedHeader({ alg: 'ES256', kid: rpKey.kid, ...o.header }).sign(rpKey.privateKey)
  }
  const tokenRequest = async (extra: Record<string, string>) => postForm(`${op.entityId}/oauth/token`, {
    grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: await agent.assertion(op.entityId), ...extra,
  })
  /** A login page of a fresh interaction (pushed by the RP), in its own browser. */
  const openLogin = async (): Promise<{ browser: Browser; login: Page; path: string }> => {
    const pushed = await par({})
    assert.equal(pushed.status, 201, JSON.stringify(pushed.body))
    const browser = new Browser()
    const login = await browser.go(`${op.entityId}/oauth/authorize?${new URLSearchParams({ client_id: rp.entityId, request_uri: pushed.body.request_uri }).toString()}`)
    assert.equal(login.status, 200, login.body)
    return { browser, login, path: new URL(login.url).pathname }
  }

  it('answers polluting form bodies, JSON bodies, wrong media types and repeated parameters at every POST endpoint with the exact 4xx', async () => {
    const posts: Array<{ path: string; polluted: Expect; repeated: [string, Expect]; json: Expect; none: Expect }> = [
      { path: '/oauth/token', polluted: { status: 401, error: 'invalid_client', description: 'client authentication is required' }, repeated: ['grant_type=client_credentials&grant_type=authorization_code', { status: 400, error: 'invalid_request', description: 'grant_type: must be given once' }], json: { status: 400, error: 'invalid_request', description: FORM_ONLY }, none: { status: 400, error: 'invalid_request', description: FORM_ONLY } },
      { path: '/oauth/par', polluted: { status: 401, error: 'invalid_client', description: 'client authentication is required' }, repeated: ['client_id=a&client_id=b', { status: 400, error: 'invalid_request', description: 'client_id: must be given once' }], json: { status: 400, error: 'invalid_request', description: FORM_ONLY }, none: { status: 400, error: 'invalid_request', description: FORM_ONLY } },
      { path: '/oauth/revoke', polluted: { status: 401, error: 'invalid_client', description: 'client authentication is required' }, repeated: ['client_id=a&client_id=b', { status: 400, error: 'invalid_request', description: 'client_id: must be given once' }], json: { status: 400, error: 'invalid_request', description: FORM_ONLY }, none: { status: 400, error: 'invalid_request', description: FORM_ONLY } },
      { path: '/oauth/introspect', polluted: { status: 401, error: 'invalid_client', description: 'client authentication is required' }, repeated: ['client_id=a&client_id=b', { status: 400, error: 'invalid_request', description: 'client_id: must be given once' }], json: { status: 400, error: 'invalid_request', description: FORM_ONLY }, none: { status: 400, error: 'invalid_request', description: FORM_ONLY } },
      { path: '/oauth/authorize', polluted: { status: 400, error: 'invalid_request' }, repeated: ['client_id=a&client_id=b', { status: 400, error: 'invalid_request' }], json: { status: 400, error: 'invalid_request', description: FORM_ONLY }, none: { status: 400, error: 'invalid_request', description: FORM_ONLY } },
      { path: '/oauth/userinfo', polluted: { status: 401, error: 'invalid_token' }, repeated: ['access_token=a&access_token=b', { status: 400, error: 'invalid_request', description: 'must not be provided twice' }], json: { status: 400, error: 'invalid_request', description: FORM_ONLY }, none: { status: 400, error: 'invalid_request', description: FORM_ONLY } },
      { path: '/oauth/register', polluted: { status: 400, error: 'invalid_request', description: REGISTER_TYPES }, repeated: ['a=1&a=2', { status: 400, error: 'invalid_request', description: REGISTER_TYPES }], json: { status: 400, error: 'invalid_request', description: REGISTER_TYPES }, none: { status: 400, error: 'invalid_request', description: REGISTER_TYPES } },
    ]
    for (const p of posts) {
      await run({ method: 'POST', path: p.path, headers: FORM, body: POLLUTING_FORM, ...p.polluted })
      await run({ method: 'POST', path: p.path, headers: FORM, body: `${POLLUTING_FORM}&${p.repeated[0]}`, ...p.repeated[1] })
      await run({ method: 'POST', path: p.path, headers: JSON_TYPE, body: POLLUTING_JSON, ...p.json })
      await run({ method: 'POST', path: p.path, headers: JSON_TYPE, body: nested(5_000), ...p.json })
      await run({ method: 'POST', path: p.path, headers: { 'content-type': 'text/plain' }, body: 'x', ...p.json })
      await run({ method: 'POST', path: p.path, body: 'x=1', ...p.none })
      // Malformed percent-encoding is data, not a crash.
      await run({ method: 'POST', path: p.path, headers: FORM, body: '%zz=%%&a=%E0%A4%A', ...p.polluted })
    }
    // Explicit registration: JSON written by strangers, deep or polluting.
    await run({ method: 'POST', path: '/oauth/register', headers: { 'content-type': 'application/trust-chain+json' }, body: POLLUTING_JSON, status: 400, error: 'invalid_request', description: 'must be a JSON array' })
    await run({ method: 'POST', path: '/oauth/register', headers: { 'content-type': 'application/trust-chain+json' }, body: '["__proto__","constructor"]', status: 400, error: 'invalid_request', description: 'not a compact JWS' })
    await run({ method: 'POST', path: '/oauth/register', headers: { 'content-type': 'application/trust-chain+json' }, body: nested(5_000), status: 400, error: 'invalid_request', description: 'nests deeper than 64 levels' })
    await run({ method: 'POST', path: '/oauth/register', headers: { 'content-type': 'application/entity-statement+jwt' }, body: POLLUTING_JWT, status: 400, error: 'invalid_request', description: 'typ must be "entity-statement+jwt"' })
    await run({ method: 'POST', path: '/oauth/register', headers: { 'content-type': 'application/entity-statement+jwt' }, body: DEEP_JWT, status: 400, error: 'invalid_request', description: 'nests deeper than 64 levels' })
  })

  it('answers polluting and repeated query parameters at every GET endpoint with the exact answer', async () => {
    const q = `?${POLLUTING_FORM}`
    await run({ method: 'GET', path: `/oauth/authorize${q}`, status: 400, error: 'invalid_request' })
    await run({ method: 'GET', path: `/oauth/authorize${q}&client_id=a&client_id=b&response_type=code&response_type=code`, status: 400, error: 'invalid_request' })
    await run({ method: 'GET', path: '/oauth/authorize?%zz=%&q=%E0%A4%A', status: 400, error: 'invalid_request' })
    for (const id of ['__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
      await run({ method: 'GET', path: `/oauth/authorize?${new URLSearchParams({ client_id: id, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT }).toString()}`, status: 400, error: 'invalid_client' })
    }
    await run({ method: 'GET', path: `/oauth/authorize/not-an-interaction${q}`, status: 400, error: 'invalid_request' })
    await run({ method: 'GET', path: `/oauth/userinfo${q}`, status: 401, error: 'invalid_token', description: 'no access token provided' })
    await run({ method: 'GET', path: '/oauth/userinfo?access_token=x&access_token=y', status: 400, error: 'invalid_request', description: 'must not be provided twice' })
    for (const token of ['__proto__', POLLUTING_JWT, DEEP_JWT]) await run({ method: 'GET', path: '/oauth/userinfo', headers: { authorization: `Bearer ${token}` }, status: 401, error: 'invalid_token' })
    await run({ method: 'GET', path: '/oauth/userinfo?access_token=x', headers: { authorization: 'Bearer x' }, status: 400, error: 'invalid_request', description: 'only be provided using one mechanism' })
    for (const path of ['/oauth/jwks', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/.well-known/openid-federation', '/oauth/assets/interaction.css']) {
      await run({ method: 'GET', path: path + q, status: 200 })
    }
    // The interaction pages without their cookie: an HTML error page, never the interaction.
    for (const path of ['/oauth/interaction/__proto__', '/oauth/interaction/constructor/upstream', '/oauth/interaction/x/upstream/start', '/oauth/upstream/callback']) {
      const r = await run({ method: 'GET', path: path + q, status: 400 })
      assert.match(String(r.headers['content-type']), /^text\/html/)
    }
  })

  it('answers a body over server.max_body_bytes with 413 at every POST endpoint, whatever the framing', async () => {
    const { path: interaction, browser, login } = await openLogin()
    const cookie = { cookie: browser.cookieHeader(new URL(login.url)) }
    for (const framing of ['content-length', 'chunked'] as Framing[]) {
      for (const path of ['/oauth/token', '/oauth/par', '/oauth/revoke', '/oauth/introspect', '/oauth/authorize', '/oauth/userinfo', '/oauth/register', `${interaction}/login`, `${interaction}/consent`]) {
        const body = framing === 'chunked' ? filler(5 * 1024 * 1024, 'x=') : `x=${'a'.repeat(70_000)}`
        const r = await send(op.entityId + path, { method: 'POST', framing, body, headers: { ...FORM, ...(path.startsWith(interaction) ? cookie : {}) } })
        // The consent step is refused before its body is read (the interaction is at login).
        if (path.endsWith('/consent')) expectAnswer(`${framing} ${path}`, r, { status: 400 })
        else expectAnswer(`${framing} ${path}`, r, { status: 413, error: 'payload_too_large', description: 'larger than 65536 bytes (server.max_body_bytes)' })
      }
    }
  })

  it('answers other methods with 405 and Allow, and a method nothing implements with 501 (RFC 9110 15.6.2)', async () => {
    const allow: Array<[string, string]> = [
      ['/oauth/token', 'POST'], ['/oauth/par', 'POST'], ['/oauth/revoke', 'POST'], ['/oauth/introspect', 'POST'], ['/oauth/register', 'POST'],
      ['/oauth/authorize', 'HEAD, GET, POST'], ['/oauth/userinfo', 'HEAD, GET, POST'], ['/oauth/jwks', 'HEAD, GET'],
      ['/.well-known/openid-configuration', 'HEAD, GET'], ['/.well-known/oauth-authorization-server', 'HEAD, GET'],
    ]
    for (const [path, methods] of allow) {
      for (const method of ['PUT', 'DELETE', 'PATCH', ...(methods === 'POST' ? ['GET'] : [])]) {
        const r = await run({ method, path, status: 405, error: 'method_not_allowed' })
        assert.equal(r.headers.allow, methods, `${method} ${path}`)
      }
      await run({ method: 'PROPFIND', path, status: 501, error: 'not_implemented' })
    }
  })

  it('keeps hostile values of authenticated requests data: the exact OAuth error, nothing polluted', async () => {
    const expect = async (label: string, r: Promise<OAuthAnswer>, e: Expect) => expectAnswer(label, await r, e)
    await expect('token', tokenRequest({ resource: RESOURCE }), { status: 200 })
    await expect('polluting parameters', tokenRequest(raw(`{"resource":"${RESOURCE}","__proto__":"x","constructor":"y","toString":"z"}`)), { status: 200 })
    await expect('resource', tokenRequest({ resource: '__proto__' }), { status: 400, error: 'invalid_target' })
    await expect('scope', tokenRequest({ resource: RESOURCE, scope: 'constructor __proto__' }), { status: 400, error: 'invalid_scope' })
    for (const grant of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) await expect(`grant ${grant}`, tokenRequest({ grant_type: grant }), { status: 400, error: 'unsupported_grant_type' })
    for (const subject of [POLLUTING_JWT, DEEP_JWT, '__proto__']) {
      await expect('exchange', tokenRequest({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, resource: RESOURCE }), { status: 400, error: 'invalid_request', description: 'not an active access token' })
    }
    await expect('exchange type', tokenRequest({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: 'x', subject_token_type: '__proto__', resource: RESOURCE }), { status: 400, error: 'invalid_request', description: 'subject_token_type' })
    const noAuth = (a: string, type = ASSERTION_TYPE) => postForm(`${op.entityId}/oauth/token`, { grant_type: 'client_credentials', client_assertion_type: type, client_assertion: a })
    await expect('assertion typ', noAuth(POLLUTING_JWT), { status: 401, error: 'invalid_client', description: 'is not a client assertion type' })
    await expect('assertion depth', noAuth(DEEP_JWT), { status: 401, error: 'invalid_client', description: 'nests deeper than 64 levels' })
    await expect('assertion type', noAuth(POLLUTING_JWT, '__proto__'), { status: 401, error: 'invalid_client', description: 'client_assertion_type must be' })
    for (const chain of [raw('{"__proto__":1}'), ['__proto__', 'constructor'], JSON.parse(`[${nested(60)}]`)]) {
      await expect('assertion trust_chain', noAuth(await agent.assertion(op.entityId, {}, { trust_chain: chain })), { status: 401, error: 'invalid_client', description: 'trust_chain header: must be a JSON array' })
    }
    const caller = async () => ({ client_assertion_type: ASSERTION_TYPE, client_assertion: await agent.assertion(op.entityId) })
    for (const token of [POLLUTING_JWT, DEEP_JWT, '__proto__']) {
      const r = await postForm(`${op.entityId}/oauth/introspect`, { token, token_type_hint: 'constructor', ...(await caller()) })
      expectAnswer('introspection', r, { status: 200 })
      assert.deepEqual(r.body, { active: false })
    }
    await expect('revocation', postForm(`${op.entityId}/oauth/revoke`, { token: POLLUTING_JWT, token_type_hint: '__proto__', client_assertion_type: ASSERTION_TYPE, client_assertion: await rpAssertion() }), { status: 400, error: 'unsupported_token_type' })
  })

  it('refuses pushed and passed request objects with polluting or deep members with the exact error (a deep one was a 500)', async () => {
    expectAnswer('par', await par({}), { status: 201 })
    expectAnswer('claims', await par({ claims: '{"__proto__":{"x":1},"userinfo":{"__proto__":{"essential":true},"constructor":null},"id_token":{"toString":{"value":"x"}}}' }), { status: 201 })
    expectAnswer('scope', await par({ scope: 'openid __proto__ constructor' }), { status: 201 })
    expectAnswer('response_type', await par({ response_type: '__proto__' }), { status: 400, error: 'unsupported_response_type' })
    expectAnswer('response_mode', await par({ response_mode: '__proto__' }), { status: 400, error: 'unsupported_response_mode' })
    expectAnswer('prompt', await par({ prompt: '__proto__' }), { status: 400, error: 'invalid_request' })
    expectAnswer('resource', await par({ resource: '__proto__' }), { status: 400, error: 'invalid_target' })
    expectAnswer('max_age', await par({ max_age: '__proto__' }), { status: 400, error: 'invalid_request' })
    expectAnswer('repeated', await par({ redirect_uri: [REDIRECT, 'https://elsewhere.example/cb'] }), { status: 400, error: 'invalid_request' })
    // A deeply nested claims parameter is a string to oidc-provider (claims_parameter_supported false): pushed, then the login.
    const deepClaims = await par({ claims: `{"userinfo":${'{"a":'.repeat(3_000)}1${'}'.repeat(3_000)}}` })
    expectAnswer('deep claims', deepClaims, { status: 201 })
    const login = await new Browser().go(`${op.entityId}/oauth/authorize?${new URLSearchParams({ client_id: rp.entityId, request_uri: deepClaims.body.request_uri }).toString()}`)
    assert.equal(login.status, 200, login.body)

    const pushObject = async (request: string) => postForm(`${op.entityId}/oauth/par`, { client_id: rp.entityId, request, client_assertion_type: ASSERTION_TYPE, client_assertion: await rpAssertion() })
    expectAnswer('signed, polluting', await pushObject(await requestObject(JSON.parse(POLLUTING_JSON))), { status: 201 })
    expectAnswer('unsigned, polluting', await pushObject(await requestObject({}, { raw: '{BASE,"__proto__":{"polluted":1}}' })), { status: 400, error: 'invalid_request_object' })
    expectAnswer('deep', await pushObject(await requestObject({}, { raw: `{BASE,"x":${nested(5_000)}}` })), { status: 400, error: 'invalid_request_object', description: 'nests deeper than 64 levels' })
    expectAnswer('trust_chain', await pushObject(await requestObject({}, { header: { trust_chain: raw('{"__proto__":1}') } })), { status: 401, error: 'invalid_client', description: 'trust_chain' })

    const authorize = (request: string, clientId = rp.entityId) => send(`${op.entityId}/oauth/authorize?${new URLSearchParams({ client_id: clientId, request }).toString()}`, { method: 'GET' })
    const signed = await authorize(await requestObject(JSON.parse(POLLUTING_JSON)))
    expectAnswer('authorize signed, polluting', signed, { status: 303 })
    assert.match(String(signed.headers.location), /\/oauth\/interaction\//)
    const unsigned = await authorize(await requestObject({}, { raw: '{BASE,"__proto__":{"polluted":1}}' }))
    expectAnswer('authorize unsigned', unsigned, { status: 303 })
    assert.match(String(unsigned.headers.location), /^https:\/\/rp\.example\/cb\?error=invalid_request_object/)
    expectAnswer('authorize deep', await authorize(await requestObject({}, { raw: `{BASE,"x":${nested(5_000)}}` })), { status: 400, error: 'invalid_request_object', description: 'nests deeper than 64 levels' })
    for (const chain of [raw('{"__proto__":1}'), ['__proto__', 'constructor']]) {
      expectAnswer('authorize trust_chain', await authorize(await requestObject({}, { header: { trust_chain: chain } })), { status: 401, error: 'invalid_client' })
    }
    expectAnswer('authorize client_id', await authorize(await requestObject({ client_id: '__proto__', iss: '__proto__' }), '__proto__'), { status: 400, error: 'invalid_client' })
  })

  it('keeps hostile names at the login and consent pages data, and refuses a step of another interaction', async () => {
    const { browser, login, path } = await openLogin()
    for (const username of ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf']) {
      const r = await browser.request(formAction(login, '/login'), { form: raw(`{"username":${JSON.stringify(username)},"password":"x","__proto__":"y"}`) })
      assert.equal(r.status, 401, `${username}: ${r.body.slice(0, 300)}`)
      assert.match(r.body, /Wrong user name or password/)
    }
    const cookie = browser.cookieHeader(new URL(login.url))
    // Repeated names: the first counts (as any browser form would send one).
    const twice = await send(`${op.entityId}${path}/login`, { method: 'POST', headers: { ...FORM, cookie }, body: 'username=alice&username=__proto__&password=x&password=alice%20pw' })
    expectAnswer('repeated login fields', twice, { status: 401 })
    const consent = await browser.submit(formAction(login, '/login'), { username: 'alice', password: 'alice pw' })
    assert.equal(consent.status, 200, consent.body)
    // Another interaction's step, with this interaction's cookie: refused.
    expectAnswer('other uid', await send(`${op.entityId}/oauth/interaction/__proto__/consent`, { method: 'POST', headers: { ...FORM, cookie }, body: 'decision=approve' }), { status: 400 })
    // A decision that is not "approve" denies.
    const denied = await browser.request(formAction(consent, '/consent'), { form: raw('{"decision":"__proto__","__proto__":"approve","constructor":"approve"}') })
    assert.equal(denied.status, 303)
    const back = await browser.follow(denied, REDIRECT)
    assert.match(back.url, /^https:\/\/rp\.example\/cb\?error=access_denied/)
  })
})
