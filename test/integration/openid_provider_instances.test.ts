/**
 * oidc-provider's state lives in Anchorage's store (issue 16): codes, tokens, grants,
 * sessions and interactions (src/authorization_server/adapter.ts) and the cookie secrets
 * (cookie_keys.ts). A login begun at one instance ends at another, a code issued by one is
 * redeemed at another (once), a refresh token outlives a restart, and a browser's session
 * cookie still opens its session afterwards. Real HTTP, real federation, real stores:
 *
 *          TA  (Anchorage)
 *        /    \
 *      IA      OP  = balancer (127.0.0.1:P, the entity id) -> instance A | instance B
 *      |                MongoDB: A and B run side by side over one database
 *      RP               embedded: one instance at a time over one directory (each switch is a restart)
 *
 * The balancer is a plain HTTP forwarder the test points at one instance or the other.
 */
import { strict as assert } from 'node:assert'
import http from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as client from 'openid-client'
import { ManualClock } from '../../src/clock.js'
import { hashPassword } from '../../src/authorization_server/accounts.js'
import { OAUTH_COLLECTION, revokeByClientId, type OAuthRecord } from '../../src/authorization_server/adapter.js'
import type { CookieKeyRecord } from '../../src/authorization_server/cookie_keys.js'
import { startEntity, startLeaf, onboard, pinned, testKey, type TestEntity, type TestLeaf, type TestKey } from '../support/federation.js'
import { startAuthorizationServer, RESOURCE, ASSERTION_TYPE, assertion, postForm, realNow, type OAuthAnswer } from '../support/agent.js'
import { Browser, formAction, type Page } from '../../src/demo/browser.js'
import { freePort } from '../support/net.js'
import { mongoUriForTests } from '../support/mongo_server.js'

interface Balancer { entityId: string; to(port: number): void; stop(): Promise<void> }

/** Forwards every request, as it came (Host included), to the instance it points at. */
async function balancer(): Promise<Balancer> {
  const port = await freePort()
  let target = 0
  const server = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders)
      answer.pipe(res)
    })
    up.on('error', () => res.headersSent ? res.destroy() : res.writeHead(502).end())
    req.pipe(up)
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  return {
    entityId: `http://127.0.0.1:${port}`,
    to: (p) => (target = p),
    stop: () => new Promise<void>((r) => {
      server.close(() => r())
      server.closeAllConnections()
    }),
  }
}

const REDIRECT = 'https://rp.example/cb'

function suite(kind: 'embedded' | 'MongoDB'): void {
  describe(`OpenID Provider over one ${kind} store: state shared by instances and kept across restarts`, function () {
    this.timeout(120_000)
    const clock = new ManualClock()
    let ta: TestEntity, ia: TestEntity
    let rp: { leaf: TestLeaf; id: string; key: TestKey }
    let lb: Balancer
    let dir: string
    let usersFile: string
    let storeUri: string | undefined
    let dropDb: (() => Promise<void>) | undefined
    /** The instances running now; `current` is the one the balancer points at. */
    const running: TestEntity[] = []
    let current: TestEntity
    let started = 0

    async function instance(): Promise<TestEntity> {
      const name = kind === 'embedded' ? 'op' : `op-${started}` // embedded: the same directory each time
      started++
      const e = await startAuthorizationServer({
        clock, entityId: lb.entityId, dir: join(dir, name), anchors: [await pinned(ta)], authority_hints: [ta.entityId],
        as: { resources: [RESOURCE], openid_provider: true, users_file: usersFile },
        ...(storeUri ? { config: { store: storeUri } } : {}),
      })
      running.push(e)
      return e
    }

    /**
     * Points the balancer at another instance. MongoDB: the other one of two running side by
     * side (B is started on the first switch). Embedded: the instance stops and a new one
     * starts over the same directory (a restart; nothing of the old process is left).
     */
    async function other(): Promise<void> {
      if (kind === 'embedded') {
        await current.stop()
        running.splice(running.indexOf(current), 1)
        current = await instance()
      } else {
        if (running.length < 2) await instance()
        current = running.find((e) => e !== current)!
      }
      lb.to(current.port)
    }

    /** Stops the current instance and starts a fresh one in its place (a restart, for both kinds). */
    async function restart(): Promise<void> {
      await current.stop()
      running.splice(running.indexOf(current), 1)
      current = await instance()
      lb.to(current.port)
    }

    before(async function () {
      if (kind === 'MongoDB') {
        const db = await mongoUriForTests()
        if (!db) return this.skip() // outside CI with no java/mvn/MONGODB_URI only; in CI it throws
        storeUri = db.uri
        dropDb = () => db.stop()
      }
      dir = await mkdtemp(join(tmpdir(), 'anchorage-op-instances-'))
      usersFile = join(dir, 'users.json')
      await writeFile(usersFile, JSON.stringify({ users: { alice: { password: await hashPassword('alice pw'), claims: { email: 'alice@example.org', email_verified: true } } } }))
      ta = await startEntity({ clock })
      ia = await startEntity({ clock, authority_hints: [ta.entityId] })
      lb = await balancer()
      current = await instance()
      lb.to(current.port)
      await onboard(ta, ia.entityId, { intermediate: true })
      await onboard(ta, lb.entityId)
      const key = await testKey()
      const leaf = await startLeaf({
        clock, authority_hints: [ia.entityId],
        metadata: {
          federation_entity: { organization_name: 'RP' },
          openid_relying_party: {
            client_name: 'RP', response_types: ['code'], grant_types: ['authorization_code', 'refresh_token'],
            redirect_uris: [REDIRECT], jwks: { keys: [key.publicJwk] },
          },
        },
      })
      await onboard(ia, leaf.entityId)
      rp = { leaf, id: leaf.entityId, key }
    })
    after(async () => {
      for (const e of running.splice(0)) await e.stop()
      await Promise.all([ta, ia].map((e) => e?.stop()))
      await rp?.leaf.stop()
      await lb?.stop()
      if (dir) await rm(dir, { recursive: true, force: true })
      await dropDb?.()
    })

    const discover = () => client.discovery(new URL(lb.entityId), rp.id, { redirect_uris: [REDIRECT], response_types: ['code'] },
      client.PrivateKeyJwt({ key: rp.key.privateKey, kid: rp.key.kid }), { execute: [client.allowInsecureRequests] })

    /** A signed request object (JAR); offline_access with prompt=consent unless `params` say otherwise (prompt: undefined for none). */
    async function authorizationUrl(config: client.Configuration, params: Record<string, string | undefined> = {}): Promise<{ url: URL; verifier: string }> {
      const verifier = client.randomPKCECodeVerifier()
      const all: Record<string, string | undefined> = {
        redirect_uri: REDIRECT, scope: 'openid offline_access', prompt: 'consent',
        code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...params,
      }
      const defined = Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined))
      const url = await client.buildAuthorizationUrlWithJAR(config, defined, { key: rp.key.privateKey, kid: rp.key.kid })
      return { url, verifier }
    }

    const oauth = async (model: string) => (await current.store.list<OAuthRecord>(OAUTH_COLLECTION)).filter((r) => r.model === model)

    it('a login begun at one instance ends at another, whose code the first redeems once; a replay at the other revokes the grant', async () => {
      const config = await discover()
      const { url, verifier } = await authorizationUrl(config)
      const browser = new Browser()
      const login = await browser.go(url.href, REDIRECT)
      assert.equal(login.status, 200, login.body)
      assert.ok(new URL(login.url).pathname.startsWith('/oauth/interaction/'), login.url)
      const first = current

      // The login form is posted to the other instance: it reads the interaction from the store
      // and the interaction cookie with the stored secret.
      await other()
      assert.notEqual(current, first)
      const consent = await browser.submit(formAction(login, '/login'), { username: 'alice', password: 'alice pw' }, REDIRECT)
      assert.equal(consent.status, 200, consent.body)
      assert.match(consent.body, /id="approve"/)
      const back = await browser.submit(formAction(consent, '/consent'), { decision: 'approve' }, REDIRECT)
      assert.ok(back.url.startsWith(REDIRECT), back.url)
      const [code] = await oauth('AuthorizationCode')
      assert.ok(code, 'the code is in the store')
      assert.equal(code.clientId, rp.id)

      // Redeemed at yet another instance (the first one again, or a restart).
      await other()
      const tokens = await client.authorizationCodeGrant(config, new URL(back.url), { pkceCodeVerifier: verifier, idTokenExpected: true })
      assert.equal(tokens.claims()!.sub, 'alice')
      assert.ok(tokens.refresh_token, 'offline_access gives a refresh token')
      assert.equal((await oauth('AuthorizationCode'))[0]?.consumed !== undefined, true, 'the code is marked consumed in the store')

      // The same code again, at the other instance: refused, and the grant's tokens go with it
      // (oidc-provider's revokeByGrantId, through the store).
      await other()
      await assert.rejects(
        client.authorizationCodeGrant(config, new URL(back.url), { pkceCodeVerifier: verifier }),
        (err: client.ResponseBodyError) => err.error === 'invalid_grant',
      )
      assert.equal((await oauth('RefreshToken')).length, 0)
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (err: client.ResponseBodyError) => err.error === 'invalid_grant')
    })

    it('a refresh token and the browser\'s session outlive a restart; revocation and the kill-switch\'s revokeByClientId end them', async () => {
      const config = await discover()
      const { url, verifier } = await authorizationUrl(config)
      const browser = new Browser()
      const login = await browser.go(url.href, REDIRECT)
      const consent = await browser.submit(formAction(login, '/login'), { username: 'alice', password: 'alice pw' }, REDIRECT)
      const back = await browser.submit(formAction(consent, '/consent'), { decision: 'approve' }, REDIRECT)
      const tokens = await client.authorizationCodeGrant(config, new URL(back.url), { pkceCodeVerifier: verifier, idTokenExpected: true })
      const cookieKeys = (await current.store.list<CookieKeyRecord>('keys')).filter((r) => r.purpose === 'cookie')
      assert.equal(cookieKeys.length, 1)

      await restart()
      assert.deepEqual((await current.store.list<CookieKeyRecord>('keys')).filter((r) => r.purpose === 'cookie').map((r) => r.id), cookieKeys.map((r) => r.id), 'no new cookie secret')
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!)
      assert.ok(refreshed.access_token)
      assert.equal(refreshed.claims()?.sub ?? 'alice', 'alice')
      const refresh = refreshed.refresh_token ?? tokens.refresh_token!

      // The session cookie set before the restart still opens alice's session: no login page,
      // and her grant covers openid, so the RP gets a code at once.
      const again = await authorizationUrl(config, { scope: 'openid', prompt: undefined })
      const page: Page = await browser.go(again.url.href, REDIRECT)
      assert.ok(page.url.startsWith(REDIRECT), `expected the RP's redirect, got ${page.status} ${page.url}`)
      assert.ok(new URL(page.url).searchParams.get('code'))

      // Revocation (RFC 7009) at the other instance removes the refresh token from the store.
      await other()
      const spare = await client.refreshTokenGrant(config, refresh)
      await client.tokenRevocation(config, spare.refresh_token ?? refresh)
      await assert.rejects(client.refreshTokenGrant(config, spare.refresh_token ?? refresh), (err: client.ResponseBodyError) => err.error === 'invalid_grant')

      // The kill-switch's half in the store: every token and grant of the client goes.
      const fresh = await authorizationUrl(config)
      const login2 = await browser.go(fresh.url.href, REDIRECT)
      const back2 = login2.url.startsWith(REDIRECT) ? login2 : await browser.submit(formAction(login2, '/consent'), { decision: 'approve' }, REDIRECT)
      const t2 = await client.authorizationCodeGrant(config, new URL(back2.url), { pkceCodeVerifier: fresh.verifier, idTokenExpected: true })
      assert.ok(t2.refresh_token)
      assert.ok(await revokeByClientId(current.store, rp.id) > 0)
      await other()
      await assert.rejects(client.refreshTokenGrant(config, t2.refresh_token), (err: client.ResponseBodyError) => err.error === 'invalid_grant')
    })

    it('a client assertion is accepted once by all instances together (the store\'s claimOnce, not a find then a save)', async () => {
      const form = async () => ({
        grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token', client_id: rp.id, client_assertion_type: ASSERTION_TYPE,
        client_assertion: await assertion(rp.key, { iss: rp.id, aud: lb.entityId, now: realNow() }),
      })
      // Authenticated, the request fails on its grant; replayed, on its client authentication.
      const outcome = (r: OAuthAnswer) => String(r.body?.error)
      if (kind === 'MongoDB') {
        if (running.length < 2) await instance()
        for (let i = 0; i < 5; i++) {
          const f = await form()
          const answers = await Promise.all(running.map((e) => postForm(`http://127.0.0.1:${e.port}/oauth/token`, f)))
          assert.deepEqual(answers.map(outcome).sort(), ['invalid_client', 'invalid_grant'], JSON.stringify(answers.map((r) => r.body)))
        }
      } else {
        const f = await form()
        assert.equal(outcome(await postForm(`${lb.entityId}/oauth/token`, f)), 'invalid_grant')
        await restart()
        const replay = await postForm(`${lb.entityId}/oauth/token`, f)
        assert.equal(outcome(replay), 'invalid_client')
        assert.equal(replay.status, 401)
      }
    })

    it('a code expires by the store\'s clock at every instance', async () => {
      const config = await discover()
      const browser = new Browser()
      const first = await authorizationUrl(config, { scope: 'openid' })
      const login = await browser.go(first.url.href, REDIRECT)
      const consent = await browser.submit(formAction(login, '/login'), { username: 'alice', password: 'alice pw' }, REDIRECT)
      const back1 = await browser.submit(formAction(consent, '/consent'), { decision: 'approve' }, REDIRECT)
      assert.ok(back1.url.startsWith(REDIRECT), back1.url)
      // A second code at once: alice's session and grant cover it.
      const second = await authorizationUrl(config, { scope: 'openid', prompt: undefined })
      const back2 = await browser.go(second.url.href, REDIRECT)
      assert.ok(back2.url.startsWith(REDIRECT), back2.url)
      await other()
      clock.advance(59) // within authorization_code_lifetime (60 s): the other instance redeems one
      await client.authorizationCodeGrant(config, new URL(back1.url), { pkceCodeVerifier: first.verifier, idTokenExpected: true })
      clock.advance(1) // now the other has expired in the store (oidc-provider's own exp, on the system clock, has not)
      await assert.rejects(
        client.authorizationCodeGrant(config, new URL(back2.url), { pkceCodeVerifier: second.verifier }),
        (err: client.ResponseBodyError) => err.error === 'invalid_grant',
      )
    })
  })
}

suite('embedded')
suite('MongoDB')
