/**
 * The OpenID Provider role (issue 16): relying parties registered automatically through
 * their trust chains, an RP written with openid-client (v6).
 *
 *          TA  (Anchorage)
 *        /    \
 *      IA      OP  (Anchorage, authorization_server.openid_provider, pinning TA)
 *      |
 *      RP  (leaf: openid_relying_party metadata with a client key of its own)
 *
 * Login uses the interaction seam directly (a test-only shortcut: the interaction is
 * completed through oidc-provider's models), so this test is about the federation part:
 * automatic registration by JAR and by PAR, the code flow with PKCE, and the refusals.
 */
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { SignJWT } from 'jose'
import * as client from 'openid-client'
import { ManualClock } from '../../src/clock.js'
import { startEntity, pinned, onboard, decode, type TestEntity } from '../support/federation.js'
import { startAuthorizationServer, RESOURCE } from '../support/agent.js'
import { startRp, rpConfig, usersFile, login as loginAt, authorizationRefusal, type Rp } from '../support/relying_party.js'

describe('OpenID Provider: relying parties registered through their trust chains', () => {
  const clock = new ManualClock()
  let ta: TestEntity, ia: TestEntity, op: TestEntity, other: TestEntity
  let users: Awaited<ReturnType<typeof usersFile>>
  const rps: Rp[] = []

  async function newRp(o: { superior?: TestEntity; metadata?: Record<string, unknown> } = {}): Promise<Rp> {
    const rp = await startRp({ clock, superior: o.superior ?? ia, ...(o.metadata ? { metadata: o.metadata } : {}) })
    rps.push(rp)
    return rp
  }

  before(async () => {
    ta = await startEntity({ clock })
    other = await startEntity({ clock })
    ia = await startEntity({ clock, authority_hints: [ta.entityId] })
    // alice, whom the login seam signs in, is a user of the users file (findAccount knows only its users).
    users = await usersFile()
    op = await startAuthorizationServer({ clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId], as: { resources: [RESOURCE], openid_provider: true, users_file: users.path } })
    await onboard(ta, ia.entityId, { intermediate: true })
    await onboard(ta, op.entityId)
  })
  after(async () => {
    await Promise.all([ta, ia, op, other].map((e) => e?.stop()))
    await Promise.all(rps.map((r) => r.stop()))
    await users?.remove()
  })

  const configFor = (rp: Rp) => rpConfig(op, rp)
  const login = (url: URL | string, init: RequestInit = {}) => loginAt(op, url, init)

  it('publishes openid_provider metadata in the entity configuration and at the discovery URL', async () => {
    const ec = decode(await (await fetch(`${op.entityId}/.well-known/openid-federation`)).text()).payload
    const md = ec.metadata.openid_provider
    assert.equal(md.issuer, op.entityId)
    assert.equal(md.authorization_endpoint, `${op.entityId}/oauth/authorize`)
    assert.equal(md.pushed_authorization_request_endpoint, `${op.entityId}/oauth/par`)
    assert.deepEqual(md.client_registration_types_supported, ['automatic', 'explicit'])
    assert.equal(md.federation_registration_endpoint, `${op.entityId}/oauth/register`)
    assert.deepEqual(md.request_authentication_methods_supported.authorization_endpoint, ['request_object'])
    assert.ok(md.request_authentication_signing_alg_values_supported.includes('ES256'))
    assert.deepEqual(md.code_challenge_methods_supported, ['S256'])
    const discovery = await (await fetch(`${op.entityId}/.well-known/openid-configuration`)).json() as any
    assert.equal(discovery.issuer, op.entityId)
    assert.deepEqual(discovery.client_registration_types_supported, ['automatic', 'explicit'])
    assert.equal(discovery.federation_registration_endpoint, md.federation_registration_endpoint)
    assert.deepEqual(discovery.code_challenge_methods_supported, ['S256'])
  })

  it('code flow with PKCE and a signed request object (JAR): registers the RP automatically and issues an ID token', async () => {
    const rp = await newRp()
    const config = await configFor(rp)
    const verifier = client.randomPKCECodeVerifier()
    const nonce = client.randomNonce()
    const url = await client.buildAuthorizationUrlWithJAR(config, {
      redirect_uri: rp.redirect, scope: 'openid', nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }, { key: rp.key.privateKey, kid: rp.key.kid })
    const r = await login(url)
    assert.equal(r.status, 303, JSON.stringify(r))
    assert.ok(r.location?.startsWith(rp.redirect), r.location)
    const tokens = await client.authorizationCodeGrant(config, new URL(r.location!), { pkceCodeVerifier: verifier, expectedNonce: nonce, idTokenExpected: true })
    const claims = tokens.claims()!
    assert.equal(claims.iss, op.entityId)
    assert.equal(claims.aud, rp.id)
    assert.equal(claims.sub, 'alice')
    const reg = await op.admin('GET', `/admin/clients/${encodeURIComponent(rp.id)}`)
    assert.equal(reg.body.registration_type, 'automatic')
    assert.equal(reg.body.entity_type, 'openid_relying_party')
    assert.deepEqual(reg.body.chain, [rp.id, ia.entityId, ta.entityId])
  })

  it('code flow with the signed request object POSTed to the authorization endpoint (OpenID Connect Core 3.1.2.1)', async () => {
    const rp = await newRp()
    const config = await configFor(rp)
    const verifier = client.randomPKCECodeVerifier()
    const url = await client.buildAuthorizationUrlWithJAR(config, {
      redirect_uri: rp.redirect, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }, { key: rp.key.privateKey, kid: rp.key.kid })
    const r = await login(`${url.origin}${url.pathname}`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: url.searchParams.toString(),
    })
    assert.equal(r.status, 303, JSON.stringify(r))
    assert.ok(r.location?.startsWith(rp.redirect), r.location)
    const tokens = await client.authorizationCodeGrant(config, new URL(r.location!), { pkceCodeVerifier: verifier, idTokenExpected: true })
    assert.equal(tokens.claims()!.aud, rp.id)
  })

  it('code flow through PAR with private_key_jwt', async () => {
    const rp = await newRp()
    const config = await configFor(rp)
    const verifier = client.randomPKCECodeVerifier()
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: rp.redirect, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    })
    const r = await login(url)
    assert.equal(r.status, 303, JSON.stringify(r))
    assert.doesNotMatch(r.location!, /error=/, r.location)
    const tokens = await client.authorizationCodeGrant(config, new URL(r.location!), { pkceCodeVerifier: verifier, idTokenExpected: true })
    assert.equal(tokens.claims()!.aud, rp.id)
  })

  /** A request object for `rp`, signed with `key` (default its client key). */
  async function requestObject(rp: Rp, claims: Record<string, unknown> = {}, key = rp.key): Promise<string> {
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({
      iss: rp.id, aud: op.entityId, client_id: rp.id, jti: randomBytes(12).toString('base64url'), exp: now + 60, iat: now,
      response_type: 'code', scope: 'openid', redirect_uri: rp.redirect, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...claims,
    }).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'oauth-authz-req+jwt' }).sign(key.privateKey)
  }
  const authorize = (rp: Rp, request: string, clientId = rp.id) => fetch(`${op.entityId}/oauth/authorize?${new URLSearchParams({ client_id: clientId, request, response_type: 'code', scope: 'openid' }).toString()}`, { redirect: 'manual' })
  const refusal = authorizationRefusal

  describe('refusals', () => {
    it('refuses a request object signed with a key outside the resolved metadata, and registers nothing', async () => {
      const rp = await newRp()
      const r = await refusal(await authorize(rp, await requestObject(rp, {}, rp.leaf.key)))
      assert.equal(r.error, 'invalid_request_object', JSON.stringify(r))
      assert.equal((await op.admin('GET', `/admin/clients/${encodeURIComponent(rp.id)}`)).status, 404)
    })

    it('refuses a client_id that is not an entity id', async () => {
      const rp = await newRp()
      const r = await refusal(await authorize(rp, await requestObject(rp, { client_id: 'not-an-entity-id', iss: 'not-an-entity-id' }), 'not-an-entity-id'))
      assert.equal(r.error, 'invalid_client', JSON.stringify(r))
    })

    it('refuses an RP whose chain leads to an anchor the OP does not trust', async () => {
      const rp = await newRp({ superior: other })
      const r = await refusal(await authorize(rp, await requestObject(rp)))
      assert.equal(r.error, 'invalid_client', JSON.stringify(r))
      assert.match(r.description ?? '', /no valid trust chain/)
    })

    it('refuses an automatic registration without a request object or PAR', async () => {
      const rp = await newRp()
      const res = await fetch(`${op.entityId}/oauth/authorize?${new URLSearchParams({ client_id: rp.id, response_type: 'code', scope: 'openid', redirect_uri: rp.redirect, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString()}`, { redirect: 'manual' })
      const r = await refusal(res)
      assert.equal(r.error, 'invalid_request', JSON.stringify(r))
    })

    it('refuses PKCE missing, and plain', async () => {
      const rp = await newRp()
      const missing = await refusal(await authorize(rp, await requestObject(rp, { code_challenge: undefined, code_challenge_method: undefined })))
      assert.equal(missing.error, 'invalid_request', JSON.stringify(missing))
      assert.match(missing.description ?? '', /PKCE/)
      const plain = await refusal(await authorize(rp, await requestObject(rp, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' })))
      assert.equal(plain.error, 'invalid_request', JSON.stringify(plain))
    })

    it('refuses a redirect_uri outside the resolved metadata', async () => {
      const rp = await newRp()
      const r = await refusal(await authorize(rp, await requestObject(rp, { redirect_uri: 'https://evil.example/cb' })))
      assert.equal(r.error, 'invalid_redirect_uri', JSON.stringify(r))
    })

    it('refuses a replayed request object, and one without jti or with sub', async () => {
      const rp = await newRp()
      const ro = await requestObject(rp)
      const first = await authorize(rp, ro)
      assert.equal(first.status, 303)
      assert.match(first.headers.get('location') ?? '', /\/oauth\/interaction\//)
      const again = await refusal(await authorize(rp, ro))
      assert.equal(again.error, 'invalid_request_object', JSON.stringify(again))
      assert.match(again.description ?? '', /replay/)
      assert.equal((await refusal(await authorize(rp, await requestObject(rp, { jti: undefined })))).error, 'invalid_request_object')
      assert.equal((await refusal(await authorize(rp, await requestObject(rp, { sub: rp.id })))).error, 'invalid_request_object')
    })
  })
})

