/**
 * The OpenID Provider role end to end through its own pages: an RP (openid-client) registered
 * automatically through its trust chain (JAR), a user of the users file signing in on the
 * login page, the consent page showing the RP as the federation knows it, then the code,
 * tokens and userinfo. Driven like a browser (src/demo/browser.ts).
 *
 *          TA  (Anchorage)
 *        /    \
 *      IA      OP  (Anchorage, openid_provider, users_file)
 *      |
 *      RP  (leaf: openid_relying_party + federation_entity metadata; its organization name is hostile)
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as client from 'openid-client'
import { ManualClock } from '../../src/clock.js'
import { hashPassword } from '../../src/authorization_server/accounts.js'
import { startEntity, startLeaf, onboard, pinned, testKey, type TestEntity, type TestLeaf, type TestKey } from '../support/federation.js'
import { startAuthorizationServer, RESOURCE } from '../support/agent.js'
import { Browser, formAction } from '../../src/demo/browser.js'

describe('OpenID Provider: users sign in and consent on its pages', function () {
  this.timeout(60_000)
  const clock = new ManualClock()
  let ta: TestEntity, ia: TestEntity, op: TestEntity
  let rp: { leaf: TestLeaf; id: string; key: TestKey; redirect: string }
  let dir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anchorage-op-users-'))
    const usersFile = join(dir, 'users.json')
    await writeFile(usersFile, JSON.stringify({ users: { alice: { password: await hashPassword('alice pw'), claims: { name: 'Alice', email: 'alice@example.org', email_verified: true } } } }))
    ta = await startEntity({ clock })
    ia = await startEntity({ clock, authority_hints: [ta.entityId] })
    op = await startAuthorizationServer({ clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId], as: { resources: [RESOURCE], openid_provider: true, users_file: usersFile } })
    await onboard(ta, ia.entityId, { intermediate: true })
    await onboard(ta, op.entityId)
    const key = await testKey()
    const leaf = await startLeaf({
      clock, authority_hints: [ia.entityId],
      metadata: {
        federation_entity: { organization_name: 'Acme <b>Rockets</b>' },
        openid_relying_party: {
          client_name: 'Acme RP', response_types: ['code'], grant_types: ['authorization_code'],
          redirect_uris: ['https://rp.example/cb'], jwks: { keys: [key.publicJwk] },
        },
      },
    })
    await onboard(ia, leaf.entityId)
    rp = { leaf, id: leaf.entityId, key, redirect: 'https://rp.example/cb' }
  })
  after(async () => {
    await Promise.all([ta, ia, op].map((e) => e?.stop()))
    await rp?.leaf.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('logs alice in, shows the RP by its federation identity, and the RP gets her claims by scope', async () => {
    const config = await client.discovery(new URL(op.entityId), rp.id, { redirect_uris: [rp.redirect], response_types: ['code'] },
      client.PrivateKeyJwt({ key: rp.key.privateKey, kid: rp.key.kid }), { execute: [client.allowInsecureRequests] })
    const verifier = client.randomPKCECodeVerifier()
    const nonce = client.randomNonce()
    const url = await client.buildAuthorizationUrlWithJAR(config, {
      redirect_uri: rp.redirect, scope: 'openid email', nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }, { key: rp.key.privateKey, kid: rp.key.kid })
    const browser = new Browser()
    const login = await browser.go(url.href, rp.redirect)
    assert.equal(login.status, 200, login.body)
    assert.ok(new URL(login.url).pathname.startsWith('/oauth/interaction/'), login.url)
    assert.match(login.body, /to continue to <strong>Acme &lt;b&gt;Rockets&lt;\/b&gt;<\/strong>/)
    const wrong = await browser.submit(formAction(login, '/login'), { username: 'alice', password: 'nope' }, rp.redirect)
    assert.equal(wrong.status, 401)
    const consent = await browser.submit(formAction(login, '/login'), { username: 'alice', password: 'alice pw' }, rp.redirect)
    assert.equal(consent.status, 200, consent.body)
    assert.match(consent.body, /id="client-organization">Acme &lt;b&gt;Rockets&lt;\/b&gt;</)
    const chain = [.../<ol class="chain" id="trust-chain">(.*?)<\/ol>/s.exec(consent.body)![1]!.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1])
    assert.deepEqual(chain, [`${rp.id} (the client)`, ia.entityId, `${ta.entityId} (trust anchor)`])
    assert.match(consent.headers.get('content-security-policy')!, /form-action 'self' https:\/\/rp\.example(;|$)/)
    const back = await browser.submit(formAction(consent, '/consent'), { decision: 'approve' }, rp.redirect)
    assert.ok(back.url.startsWith(rp.redirect), back.url)
    const tokens = await client.authorizationCodeGrant(config, new URL(back.url), { pkceCodeVerifier: verifier, expectedNonce: nonce, idTokenExpected: true })
    assert.equal(tokens.claims()!.sub, 'alice')
    const logins = await op.admin('GET', '/admin/audit?action=login')
    assert.equal(logins.status, 200, JSON.stringify(logins.body))
  })

  it('shows errors it cannot send back to the RP as an HTML page naming the error', async () => {
    const page = await new Browser().request(`${op.entityId}/oauth/authorize?client_id=not-an-entity-id&response_type=code&scope=openid`)
    assert.ok(page.status >= 400 && page.status < 500, String(page.status))
    assert.match(page.headers.get('content-type')!, /^text\/html/)
    assert.match(page.body, /<p class="error" id="error">invalid_[a-z_]+<\/p>/)
  })
})
