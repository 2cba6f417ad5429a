/**
 * The OpenID Provider's login and consent pages (src/http/endpoints/interactions.ts) driven
 * like a browser over real HTTP on 127.0.0.1: an oidc-provider under test with the pages
 * mounted in front of it, an openid-client relying party, users from a users file, and a
 * second oidc-provider playing the enterprise OpenID Provider for the upstream login.
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import Koa from 'koa'
import Router from '@koa/router'
import Provider, { type Configuration } from 'oidc-provider'
import * as oidc from 'openid-client'
import { generateKeyPair, exportJWK } from 'jose'
import { ManualClock } from '../../src/clock.js'
import { silentLogger } from '../../src/logger.js'
import { createEmbeddedStore } from '../../src/storage/embedded.js'
import type { Store } from '../../src/storage/types.js'
import { AuditLog } from '../../src/audit/audit.js'
import { DEFAULTS } from '../../src/config/defaults.js'
import type { AuthorizationServerConfig } from '../../src/config/load.js'
import { RegistrationStore, type RegistrationFields } from '../../src/registration/records.js'
import { Accounts, CLAIMS_BY_SCOPE, hashPassword, upstreamSubject } from '../../src/authorization_server/accounts.js'
import { UpstreamLogin } from '../../src/authorization_server/upstream.js'
import { storeAdapter } from '../../src/authorization_server/adapter.js'
import { createFetcher } from '../../src/net/fetch.js'
import { interactionRoutes, interactionPath, upstreamCallbackUrl, renderProviderError } from '../../src/http/endpoints/interactions.js'
import { freePort } from '../support/net.js'
import { Browser, formAction, linkById, type Page } from '../../src/demo/browser.js'

const RP = 'https://rp.example.org'
const RP_SECRET = 'rp-secret-that-is-long-enough-for-hs256-0123456789'
const HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'

async function signingJwks() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  return { keys: [{ ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }
}

function listen(app: Koa, port: number): Promise<Server> {
  return new Promise((resolve) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s))
  })
}

function providerApp(provider: Provider, routes?: (r: Router) => void): Koa {
  const app = new Koa()
  if (routes) {
    const router = new Router()
    routes(router)
    app.use(router.routes())
  }
  const handler = provider.callback()
  app.use(async (ctx) => {
    ctx.respond = false
    await handler(ctx.req, ctx.res)
  })
  return app
}

interface Op {
  issuer: string
  redirectUri: string
  server: Server
  provider: Provider
  rp: oidc.Configuration
}

describe('OpenID Provider interactions: login and consent pages', function () {
  this.timeout(60_000)
  let dir: string
  let store: Store
  let clock: ManualClock
  let audit: AuditLog
  let idp: { server: Server; issuer: string }
  let op: Op
  let upstreamKey: Record<string, unknown>
  let fetcher: ReturnType<typeof createFetcher>
  const servers: Server[] = []

  const config = (over: Partial<AuthorizationServerConfig> = {}): AuthorizationServerConfig => ({
    ...DEFAULTS.authorization_server, enabled: true, resources: [], max_failed_logins: 3, ...over,
  })

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anchorage-interactions-'))
    clock = new ManualClock()
    store = createEmbeddedStore({ dir, clock, logger: silentLogger, fsync: false })
    await store.open()
    audit = new AuditLog(store, clock, silentLogger)

    // The enterprise OpenID Provider: oidc-provider with its development login (any password).
    const idpPort = await freePort()
    const opPort = await freePort()
    const opIssuer = `http://127.0.0.1:${opPort}`
    idp = { issuer: `http://127.0.0.1:${idpPort}`, server: undefined as unknown as Server }
    const pk = await generateKeyPair('ES256', { extractable: true })
    upstreamKey = { ...(await exportJWK(pk.privateKey)), alg: 'ES256', kid: 'anchorage-1' }
    const idpProvider = new Provider(idp.issuer, {
      clients: [
        { client_id: 'anchorage-pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(pk.publicKey)), alg: 'ES256', kid: 'anchorage-1' }] }, redirect_uris: [upstreamCallbackUrl(opIssuer)], response_types: ['code'], grant_types: ['authorization_code'] },
{ client_id: 'anchorage', client_secret: 'upstream-secret-0123456789abcdef', token_endpoint_auth_method: 'client_secret_post', redirect_uris: [upstreamCallbackUrl(opIssuer)], response_types: ['code'], grant_types: ['authorization_code'] }],
      jwks: await signingJwks(),
      cookies: { keys: [randomBytes(16).toString('hex')] },
      features: { claimsParameter: { enabled: true } },
      claims: { ...CLAIMS_BY_SCOPE },
      findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, email: `${sub}@corp.example`, email_verified: true, name: `Corp ${sub}` }) }),
    })
    idp.server = await listen(providerApp(idpProvider), idpPort)
    servers.push(idp.server)

    // The provider under test, with the pages in front of it.
    const usersFile = { users: {
      alice: { password: await hashPassword('correct horse'), claims: { name: 'Alice Liddell', email: 'alice@example.org', email_verified: true, phone_number: '+1 555' } },
      mallory: { password: await hashPassword('x'), sub: 'mallory-sub', claims: { name: HOSTILE } },
    } }
    const asConfig = config({ upstream: { issuer: idp.issuer, client_id: 'anchorage', client_secret: 'upstream-secret-0123456789abcdef', scopes: ['openid', 'profile', 'email'], name: 'Corp SSO' } })
    const accounts = new Accounts({ store, clock, audit, config: asConfig, usersFile })
    fetcher = createFetcher({ allowHttp: true, allowPrivateNetwork: true, timeoutMs: 5_000, maxResponseBytes: 262_144 })
    const upstream = new UpstreamLogin({ store, clock, fetcher, config: asConfig as AuthorizationServerConfig & { upstream: NonNullable<AuthorizationServerConfig['upstream']> } })
    const redirectUri = 'http://127.0.0.1:1/cb'
    const provider = new Provider(opIssuer, {
      clients: [{ client_id: RP, client_secret: RP_SECRET, token_endpoint_auth_method: 'client_secret_post', redirect_uris: [redirectUri], response_types: ['code'], grant_types: ['authorization_code'], logo_uri: 'https://not-from-the-federation.example/logo.png' }],
      jwks: await signingJwks(),
      cookies: { keys: [randomBytes(16).toString('hex')] },
      // Interactions, sessions, grants and codes in Anchorage's store (the adapter the server uses).
      adapter: storeAdapter({ store, clock, clients: { find: () => Promise.resolve(undefined) } }),
      routes: { authorization: '/oauth/authorize', token: '/oauth/token', userinfo: '/oauth/userinfo', jwks: '/oauth/jwks' },
      features: { devInteractions: { enabled: false } },
      pkce: { required: () => true },
      claims: { ...CLAIMS_BY_SCOPE },
      interactions: { url: (_ctx, interaction) => interactionPath(opIssuer, interaction.uid) },
      findAccount: accounts.findAccount as unknown as Configuration['findAccount'],
      renderError: renderProviderError(opIssuer, true) as unknown as Configuration['renderError'],
    })
    const registrations = new RegistrationStore(store, clock)
    // The client's registration through the federation, as CORE's registrar stores it; its metadata is hostile.
    const fields = {
      registration_type: 'automatic', entity_type: 'openid_relying_party', trust_anchor: 'https://ta.example.org', authority_hint: 'https://int.example.org',
      metadata: {
        openid_relying_party: { redirect_uris: [redirectUri], client_name: `RP ${HOSTILE}`, logo_uri: 'https://rp.example.org/logo.png?a="><script>' },
        federation_entity: { organization_name: `Org ${HOSTILE}` },
      },
      jwks: { keys: [] }, jwks_source: 'jwks', chain_exp: clock.now() + 86_400,
      chain: [RP, 'https://int.example.org', 'https://ta.example.org'],
      trust_marks: [{ trust_mark_type: `https://marks.example.org/${HOSTILE}`, trust_mark_issuer: 'https://ta.example.org' }],
    } as RegistrationFields
    await registrations.save(RP, fields, false)
    const app = providerApp(provider, (router) => interactionRoutes(router, {
      provider: () => Promise.resolve(provider), accounts, upstream, registration: (id) => registrations.get(id), audit, logger: silentLogger,
      entityId: opIssuer, max: { maxBytes: 65_536, maxDepth: 64, maxDrainBytes: 1 << 20 }, development: true,
    }))
    const server = await listen(app, opPort)
    servers.push(server)
    const rp = await oidc.discovery(new URL(opIssuer), RP, RP_SECRET, undefined, { execute: [oidc.allowInsecureRequests] })
    op = { issuer: opIssuer, redirectUri, server, provider, rp }
  })

  after(async () => {
    for (const s of servers) s.closeAllConnections?.()
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** Starts an authorization request in `browser`; returns the first page and the RP's checks. */
  async function authorize(browser: Browser, scope = 'openid profile email') {
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const url = oidc.buildAuthorizationUrl(op.rp, {
      redirect_uri: op.redirectUri, scope, state, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    })
    const page = await browser.go(url.href, op.redirectUri)
    return { page, verifier, state }
  }

  async function login(browser: Browser, page: Page, username: string, password: string): Promise<Page> {
    return browser.submit(formAction(page, '/login'), { username, password }, op.redirectUri)
  }

  async function redeem(final: Page, verifier: string, state: string) {
    const tokens = await oidc.authorizationCodeGrant(op.rp, new URL(final.url), { pkceCodeVerifier: verifier, expectedState: state })
    const claims = tokens.claims()!
    const userinfo = await oidc.fetchUserInfo(op.rp, tokens.access_token, claims.sub)
    return { claims, userinfo }
  }

  it('logs a users-file user in, shows consent, and the client gets a code whose tokens carry the user by scope', async () => {
    const browser = new Browser()
    const { page, verifier, state } = await authorize(browser)
    assert.equal(page.status, 200)
    assert.match(page.body, /<input type="text" id="username" name="username"/)
    assert.match(page.body, /<input type="password" id="password" name="password"/)
    assert.match(page.body, /<button type="submit" id="login"/)
    const consent = await login(browser, page, 'alice', 'correct horse')
    assert.equal(consent.status, 200, consent.body)
    assert.match(consent.body, /id="approve"/)
    assert.match(consent.body, /id="deny"/)
    assert.match(consent.body, /Alice Liddell/)
    const final = await browser.submit(formAction(consent, '/consent'), { decision: 'approve' }, op.redirectUri)
    assert.ok(final.url.startsWith(op.redirectUri), final.body)
    assert.ok(new URL(final.url).searchParams.get('code'))
    const { claims, userinfo } = await redeem(final, verifier, state)
    assert.equal(claims.sub, 'alice')
    assert.equal(userinfo.email, 'alice@example.org')
    assert.equal(userinfo.name, 'Alice Liddell')
    assert.equal(userinfo.phone_number, undefined, 'phone scope not granted')
    const events = await audit.list({ action: 'login' })
    assert.ok(events.some((e) => e.actor === 'alice' && e.outcome === 'success' && e.subject === RP))
    const consents = await audit.list({ action: 'consent' })
    assert.ok(consents.some((e) => e.actor === 'alice' && e.outcome === 'success' && (e.detail?.scope as string).includes('email')))
  })

  it('refuses a wrong password and an unknown user alike, and locks a name after max_failed_logins', async () => {
    const browser = new Browser()
    const { page } = await authorize(browser)
    const wrong = await login(browser, page, 'alice', 'wrong')
    assert.equal(wrong.status, 401)
    assert.match(wrong.body, /id="error"[^>]*>Wrong user name or password\./)
    const unknown = await login(browser, page, 'nobody', 'whatever')
    assert.equal(unknown.status, 401)
    assert.match(unknown.body, /Wrong user name or password\./)
    // Two more failures for alice reach max_failed_logins (3): the right password is refused then.
    await login(browser, page, 'alice', 'wrong')
    await login(browser, page, 'alice', 'wrong')
    const locked = await login(browser, page, 'alice', 'correct horse')
    assert.equal(locked.status, 429)
    assert.match(locked.body, /Too many failed attempts/)
    const failures = (await audit.list({ action: 'login', limit: 1000 })).filter((e) => e.outcome === 'failure')
    assert.ok(failures.some((e) => e.actor === 'nobody' && e.detail?.reason === 'unknown user'))
    assert.ok(failures.some((e) => e.actor === 'alice' && e.detail?.reason === 'locked'))
    // After the lockout (counted from the first failure, on the injected clock) the right password works.
    clock.advance(DEFAULTS.authorization_server.login_lockout_seconds)
    const ok = await login(browser, page, 'alice', 'correct horse')
    assert.equal(ok.status, 200, ok.body)
    assert.match(ok.body, /id="approve"/)
  })

  it('shows who the client is according to the federation, escaped, under a strict CSP', async () => {
    const browser = new Browser()
    const { page } = await authorize(browser)
    const consent = await login(browser, page, 'mallory', 'x')
    assert.equal(consent.status, 200, consent.body)
    const b = consent.body
    assert.ok(!b.includes('<script'), 'no script element')
    assert.ok(!b.includes('<img src=x'), 'no injected element')
    assert.ok(!b.includes('not-from-the-federation'), 'the logo comes from the federation metadata, not the provider-side client')
    assert.match(b, /id="client-organization">Org &lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;&gt;&lt;img src&#61;x onerror&#61;alert\(2\)&gt;</)
    assert.match(b, /id="client-name">RP &lt;script&gt;/)
    assert.match(b, /<img src="https:\/\/rp\.example\.org\/logo\.png\?a&#61;%22%3E%3Cscript%3E" alt="" id="client-logo"/)
    const chain = /<ol class="chain" id="trust-chain">(.*?)<\/ol>/s.exec(b)![1]!
    assert.deepEqual([...chain.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1]), [
      'https://rp.example.org (the client)', 'https://int.example.org', 'https://ta.example.org (trust anchor)',
    ])
    assert.match(b, /id="trust-marks"><li>https:\/\/marks\.example\.org\/&lt;script&gt;/)
    assert.match(b, /issued by https:\/\/ta\.example\.org/)
    assert.match(b, /<ul id="scopes"><li>openid<\/li><li>profile<\/li><li>email<\/li><\/ul>/)
    assert.match(b, /id="redirect-hosts">You will be sent back to 127\.0\.0\.1:1\./)
    // The signed-in user's own claims are escaped too.
    assert.match(b, /your account <strong>&lt;script&gt;/)
    const csp = consent.headers.get('content-security-policy')!
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /style-src 'self'(;|$)/)
    assert.match(csp, /form-action 'self' http:\/\/127\.0\.0\.1:1(;|$)/)
    assert.match(csp, /frame-ancestors 'none'/)
    assert.ok(!/unsafe-inline|script-src/.test(csp))
    assert.equal(consent.headers.get('x-frame-options'), 'DENY')
    assert.equal(consent.headers.get('cache-control'), 'no-store')
    assert.ok(!/ style=| on[a-z]+=/i.test(b.replace(/&[^;]+;/g, '')), 'no inline style or handler attribute')
    // The style sheet is served from the path the page links to.
    const css = await browser.request(new URL(/<link rel="stylesheet" href="([^"]+)"/.exec(b)![1]!, op.issuer).href)
    assert.equal(css.status, 200)
    assert.match(css.headers.get('content-type')!, /^text\/css/)
  })

  it('deny sends access_denied to the client', async () => {
    const browser = new Browser()
    const { page, state } = await authorize(browser)
    const consent = await login(browser, page, 'alice', 'correct horse')
    const final = await browser.submit(formAction(consent, '/consent'), { decision: 'deny' }, op.redirectUri)
    const params = new URL(final.url).searchParams
    assert.equal(params.get('error'), 'access_denied')
    assert.equal(params.get('state'), state)
    assert.equal(params.get('code'), null)
    assert.ok((await audit.list({ action: 'consent' })).some((e) => e.outcome === 'failure' && e.detail?.decision === 'deny'))
  })

  it('refuses a form posted from another site, and a step without the interaction cookie', async () => {
    const browser = new Browser()
    const { page } = await authorize(browser)
    const action = formAction(page, '/login')
    const cross = await browser.request(action, { form: { username: 'alice', password: 'correct horse' }, headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } })
    assert.equal(cross.status, 403)
    assert.match(cross.headers.get('content-security-policy')!, /default-src 'none'/)
    const stranger = await new Browser().request(action, { form: { username: 'alice', password: 'correct horse' } })
    assert.equal(stranger.status, 400)
    assert.match(stranger.body, /expired or is not open in this browser/)
  })

  it('shows errors it cannot send to the client as an HTML page naming the error code', async () => {
    const url = new URL('/oauth/authorize', op.issuer)
    url.search = new URLSearchParams({ client_id: 'https://unknown.example.org', response_type: 'code', scope: 'openid', redirect_uri: op.redirectUri }).toString()
    const page = await new Browser().request(url.href)
    assert.equal(page.status, 400)
    assert.match(page.headers.get('content-type')!, /^text\/html/)
    assert.match(page.body, /<p class="error" id="error">invalid_client<\/p>/)
    assert.match(page.headers.get('content-security-policy')!, /default-src 'none'/)
    assert.ok(!page.body.includes('<style'))
  })

  it('logs in through the upstream enterprise OpenID Provider (offered first), its sub mapped to a local subject', async () => {
    const browser = new Browser()
    const { page, verifier, state } = await authorize(browser)
    assert.ok(page.body.indexOf('id="upstream"') < page.body.indexOf('id="username"'), 'SSO comes first')
    assert.match(page.body, /Sign in with Corp SSO/)
    // The link: 303 to the enterprise provider, whose development login accepts any password.
    const idpLogin = await browser.go(linkById(page, 'upstream'))
    assert.ok(idpLogin.url.startsWith(idp.issuer), idpLogin.url)
    const idpConsent = await browser.submit(formAction(idpLogin, ''), { prompt: 'login', login: 'bob', password: 'any' })
    const consent = await browser.submit(formAction(idpConsent, ''), { prompt: 'consent' }, op.redirectUri)
    assert.equal(consent.status, 200, consent.body)
    assert.ok(consent.url.startsWith(op.issuer))
    assert.match(consent.body, /Corp bob/)
    const final = await browser.submit(formAction(consent, '/consent'), { decision: 'approve' }, op.redirectUri)
    const { claims, userinfo } = await redeem(final, verifier, state)
    assert.equal(claims.sub, upstreamSubject(idp.issuer, 'bob'))
    assert.equal(userinfo.email, 'bob@corp.example')
    assert.ok((await audit.list({ action: 'login' })).some((e) => e.detail?.source === 'upstream' && e.outcome === 'success'))
    // The pending upstream login was used up.
    assert.equal(await store.count('upstream_logins'), 0)
  })

  it('authenticates to the enterprise provider with private_key_jwt when configured with a key', async () => {
    const config = { ...DEFAULTS.authorization_server, enabled: true, resources: [], upstream: { issuer: idp.issuer, client_id: 'anchorage-pkjwt', private_key_file: '/unused', scopes: ['openid', 'email'], name: 'Corp' } }
    const upstream = new UpstreamLogin({ store, clock, fetcher, config, privateKey: upstreamKey })
    const callback = upstreamCallbackUrl(op.issuer)
    const browser = new Browser()
    const idpLogin = await browser.go(await upstream.begin('uid-pkjwt', callback))
    const idpConsent = await browser.submit(formAction(idpLogin, ''), { prompt: 'login', login: 'carol', password: 'any' })
    const back = await browser.submit(formAction(idpConsent, ''), { prompt: 'consent' }, callback)
    assert.ok(back.url.startsWith(callback), back.body)
    const result = await upstream.finish('uid-pkjwt', new URL(back.url).search)
    assert.equal(result.sub, 'carol')
    assert.equal(result.claims.email, 'carol@corp.example')
    // Used once.
    await assert.rejects(upstream.finish('uid-pkjwt', new URL(back.url).search), /no upstream login is under way/)
  })

  it('refuses an upstream answer whose state does not match the login under way', async () => {
    const browser = new Browser()
    const { page } = await authorize(browser)
    const start = await browser.request(linkById(page, 'upstream'))
    const upstreamUrl = new URL(start.headers.get('location')!)
    const uid = upstreamUrl.searchParams.get('state')!.split('.')[0]!
    // A forged answer: right interaction, wrong state, a code from nowhere.
    const forged = await browser.go(`${upstreamCallbackUrl(op.issuer)}?code=forged&state=${uid}.not-the-state&iss=${encodeURIComponent(idp.issuer)}`, op.redirectUri)
    assert.equal(forged.status, 401)
    assert.match(forged.body, /Sign-in with Corp SSO failed\./)
    assert.ok((await audit.list({ action: 'login', limit: 1000 })).some((e) => e.detail?.source === 'upstream' && e.outcome === 'failure'))
  })
})
