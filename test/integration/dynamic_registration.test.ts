/**
 * RFC 7591 registration gated by software statements, RFC 7592 client configuration, and the
 * kill-switch, over real HTTP on loopback:
 *
 *        TA   Anchorage trust anchor with the authorization server role and dynamic
 *        |    registration (its own statements are trusted by default); it issues the
 *        RS   software statements through its admin API.
 *             RS: a resource server member (oauth_resource) that introspects with its key.
 *
 * A partner that speaks only DCR registers with the statement (the request signed by the
 * statement's key), then does client_credentials with private_key_jwt; a keyless partner
 * gets a secret. Every refusal is checked with its exact error. Revoking the statement ends
 * every client registered with it once trust_reevaluation has passed (ManualClock, no sleeps).
 */
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { SignJWT, decodeJwt, jwtVerify, createLocalJWKSet } from 'jose'
import * as client from 'openid-client'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashPassword } from '../../src/authorization_server/accounts.js'
import type { AuthorizationServerCapability } from '../../src/capabilities/types.js'
import { ManualClock } from '../../src/clock.js'
import { signJwt } from '../../src/crypto/jwt.js'
import { TYP } from '../../src/constants.js'
import { startEntity, onboard, pinned, startLeaf, testKey, type TestEntity, type TestLeaf, type TestKey } from '../support/federation.js'
import { clientsCommand } from '../../src/cli/clients.js'
import type { IO } from '../../src/cli/args.js'
import { startAuthorizationServer, tokenRequest, introspect, expectError, assertion, postForm, realNow, RESOURCE, type OAuthAnswer } from '../support/agent.js'

const REEVALUATION = 120

async function answer(res: Response): Promise<OAuthAnswer> {
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
}

/** POST to the registration endpoint: JSON metadata, or a signed request (application/jwt). */
async function register(as: TestEntity, body: Record<string, unknown> | string, bearer?: string): Promise<OAuthAnswer> {
  const signed = typeof body === 'string'
  return answer(await fetch(`${as.entityId}/oauth/clients`, {
    method: 'POST',
    headers: { 'content-type': signed ? 'application/jwt' : 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: signed ? body : JSON.stringify(body),
  }))
}

/** The open-banking style request: a JWS by the client's key whose payload is the metadata with the statement. */
function signedRequest(key: TestKey, softwareId: string, aud: string, metadata: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const now = realNow()
  return new SignJWT({ iss: softwareId, aud, iat: now, exp: now + 60, jti: randomBytes(12).toString('base64url'), ...metadata })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey)
}

describe('dynamic client registration (RFC 7591) gated by software statements', () => {
  const clock = new ManualClock()
  let ta: TestEntity, rs: TestLeaf, rsKey: TestKey, agentKey: TestKey

  before(async () => {
    clock.set(realNow())
    ta = await startAuthorizationServer({
      clock, anchors: [],
      as: { resources: [RESOURCE], scopes_supported: ['mcp:tools', 'mcp:read', 'admin'], trust_reevaluation: REEVALUATION, dynamic_registration: {} },
    })
    rsKey = await testKey()
    rs = await startLeaf({ clock, authority_hints: [ta.entityId], metadata: { oauth_resource: { resource: RESOURCE, jwks: { keys: [rsKey.publicJwk] } } } })
    await onboard(ta, rs.entityId)
    agentKey = await testKey()
  })
  after(async () => {
    await Promise.all([ta?.stop(), rs?.stop()])
  })

  const issue = async (body: Record<string, unknown>, at: TestEntity = ta) => {
    const r = await at.admin('POST', '/admin/software-statements', body)
    assert.equal(r.status, 201, JSON.stringify(r.body))
    return r.body as { software_statement: string; jti: string }
  }
  const agentStatement = () => issue({ software_id: 'research-agent', client_name: 'Research agent', jwks: { keys: [agentKey.publicJwk] }, grant_types: ['client_credentials'], scope: 'mcp:tools mcp:read' })
  const introspectAsResource = async (token: string) => (await introspect(ta, token, await assertion(rsKey, { iss: rs.entityId, aud: ta.entityId, now: realNow() }))).body
  const clientToken = async (clientId: string, key: TestKey = agentKey, extra: Record<string, string> = {}) =>
    tokenRequest(ta, await assertion(key, { iss: clientId, aud: ta.entityId, now: realNow() }), extra)

  let agent: { client_id: string; registration_access_token: string; registration_client_uri: string; software_statement: string }
  let agentJti: string
  let firstToken: string

  it('advertises the registration endpoint in its RFC 8414 metadata, beside the federation registration endpoint', async () => {
    const md = await (await ta.get('/.well-known/oauth-authorization-server')).json() as Record<string, unknown>
    assert.equal(md.registration_endpoint, `${ta.entityId}/oauth/clients`)
    assert.equal(md.federation_registration_endpoint, `${ta.entityId}/oauth/register`)
    assert.deepEqual(md.token_endpoint_auth_methods_supported, ['private_key_jwt', 'client_secret_basic', 'client_secret_post'])
  })

  it('registers a partner whose statement carries keys from a request signed with one of them; the statement bounds, the request narrows', async () => {
    const s = await agentStatement()
    agentJti = s.jti
    const r = await register(ta, await signedRequest(agentKey, 'research-agent', ta.entityId, { software_statement: s.software_statement, scope: 'mcp:tools', client_name: 'Another name' }))
    assert.equal(r.status, 201, JSON.stringify(r.body))
    assert.equal(r.headers.get('cache-control'), 'no-store')
    assert.match(r.body.client_id, /^dcr_[A-Za-z0-9_-]{22}$/)
    assert.equal(typeof r.body.client_id_issued_at, 'number')
    assert.equal(r.body.client_secret, undefined, 'no secret for a client with keys')
    assert.equal(r.body.client_name, 'Research agent', 'the statement takes precedence')
    assert.equal(r.body.scope, 'mcp:tools')
    assert.deepEqual(r.body.grant_types, ['client_credentials'])
    assert.equal(r.body.token_endpoint_auth_method, 'private_key_jwt')
    assert.deepEqual(r.body.jwks.keys.map((k: { kid: string }) => k.kid), [agentKey.kid])
    assert.equal(r.body.software_id, 'research-agent')
    assert.equal(r.body.software_statement, s.software_statement, 'RFC 7591 section 3.2.1: returned unmodified')
    assert.equal(r.body.registration_client_uri, `${ta.entityId}/oauth/clients/${r.body.client_id}`)
    assert.equal(typeof r.body.registration_access_token, 'string')
    agent = r.body
    // Only hashes of the credentials are stored.
    const stored = JSON.stringify(await ta.store.get('registrations', agent.client_id))
    assert.ok(!stored.includes(agent.registration_access_token))
  })

  it('the partner does client_credentials with private_key_jwt; the resource introspects its token', async () => {
    const r = await clientToken(agent.client_id)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body.scope, 'mcp:tools')
    firstToken = r.body.access_token
    const claims = decodeJwt(firstToken)
    assert.equal(claims.client_id, agent.client_id)
    assert.equal(claims.aud, RESOURCE)
    const i = await introspectAsResource(firstToken)
    assert.equal(i.active, true)
    assert.equal(i.client_id, agent.client_id)
    // Beyond the registered scope (the statement allowed mcp:read, the registration narrowed it away).
    expectError(await clientToken(agent.client_id, agentKey, { scope: 'mcp:read' }), 400, 'invalid_scope')
    // Another key than the registered ones.
    expectError(await clientToken(agent.client_id, await testKey()), 401, 'invalid_client')
  })

  describe('refusals', () => {
    it('no software statement: invalid_software_statement', async () => {
      expectError(await register(ta, { client_name: 'x', grant_types: ['client_credentials'] }), 400, 'invalid_software_statement', 'software_statement: required')
    })

    it('a statement from an issuer that is not trusted: unapproved_software_statement', async () => {
      const other = await startEntity({ clock })
      try {
        const s = await issue({ software_id: 'stranger', client_name: 'Stranger' }, other)
        expectError(await register(ta, { software_statement: s.software_statement }), 400, 'unapproved_software_statement', 'is not a trusted issuer')
      } finally {
        await other.stop()
      }
    })

    it('a forged signature: invalid_software_statement', async () => {
      const forger = await testKey()
      const kid = (await ta.federation.keystore.jwks()).keys[0]!.kid!
      const now = clock.now()
      const forged = await new SignJWT({ iss: ta.entityId, sub: 'forged', software_id: 'forged', client_name: 'Forged', grant_types: ['client_credentials'], iat: now, exp: now + 600, jti: 'forged-1' })
        .setProtectedHeader({ alg: forger.alg, kid, typ: TYP.softwareStatement }).sign(forger.privateKey)
      expectError(await register(ta, { software_statement: forged }), 400, 'invalid_software_statement', /signature/)
    })

    it('an expired statement: invalid_software_statement', async () => {
      const s = await issue({ software_id: 'short-lived', client_name: 'Short', lifetime: 60 })
      clock.advance(200)
      try {
        expectError(await register(ta, { software_statement: s.software_statement }), 400, 'invalid_software_statement', 'expired')
      } finally {
        clock.advance(-200)
      }
    })

    it('a revoked statement: unapproved_software_statement', async () => {
      const s = await issue({ software_id: 'revoked-one', client_name: 'Revoked' })
      assert.equal((await ta.admin('POST', '/admin/software-statements/revoke', { jti: s.jti })).status, 200)
      expectError(await register(ta, { software_statement: s.software_statement }), 400, 'unapproved_software_statement', 'was revoked')
    })

    it('a replayed jti with another key (re-signed by the anchor key, not on record as such): unapproved_software_statement', async () => {
      const s = await agentStatement()
      const thief = await testKey()
      const payload = { ...decodeJwt(s.software_statement), jwks: { keys: [thief.publicJwk] } }
      const replayed = await signJwt(payload, await ta.federation.keystore.signingKey(), TYP.softwareStatement)
      expectError(await register(ta, await signedRequest(thief, 'research-agent', ta.entityId, { software_statement: replayed })), 400, 'unapproved_software_statement', 'has no record')
    })

    it('a request widening scope, grant types, redirect URIs or keys: invalid_client_metadata / invalid_redirect_uri', async () => {
      const s = await agentStatement()
      const req = (md: Record<string, unknown>) => signedRequest(agentKey, 'research-agent', ta.entityId, { software_statement: s.software_statement, ...md })
      expectError(await register(ta, await req({ scope: 'mcp:tools admin' })), 400, 'invalid_client_metadata', 'scope: admin not allowed by the software statement')
      expectError(await register(ta, await req({ grant_types: ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'] })), 400, 'invalid_client_metadata', /grant_types: .*token-exchange not allowed/)
      expectError(await register(ta, await req({ redirect_uris: ['https://evil.example/cb'] })), 400, 'invalid_redirect_uri')
      expectError(await register(ta, await req({ jwks: { keys: [(await testKey()).publicJwk] } })), 400, 'invalid_client_metadata', 'jwks.keys[0]: not a key of the software statement')
      expectError(await register(ta, await req({ token_endpoint_auth_method: 'client_secret_basic' })), 400, 'invalid_client_metadata', 'token_endpoint_auth_method')
    })

    it('a bare JSON request where the statement carries keys (a stolen statement alone registers nothing): invalid_request', async () => {
      const s = await agentStatement()
      expectError(await register(ta, { software_statement: s.software_statement }), 400, 'invalid_request', 'must be a JWS signed with one of them')
    })

    it('a signed request by a key not in the statement, for another audience, or replayed: invalid_request', async () => {
      const s = await agentStatement()
      const md = { software_statement: s.software_statement }
      expectError(await register(ta, await signedRequest(await testKey(), 'research-agent', ta.entityId, md)), 400, 'invalid_request', 'not a key of the software statement')
      expectError(await register(ta, await signedRequest(agentKey, 'research-agent', 'https://other-as.example', md)), 400, 'invalid_request', 'aud must be')
      const once = await signedRequest(agentKey, 'research-agent', ta.entityId, md)
      assert.equal((await register(ta, once)).status, 201)
      expectError(await register(ta, once), 400, 'invalid_request', 'replayed')
    })

    it('a body that is neither JSON nor a JWS, or not an object: invalid_request / invalid_client_metadata, never a 5xx', async () => {
      const post = (type: string, body: string) => fetch(`${ta.entityId}/oauth/clients`, { method: 'POST', headers: { 'content-type': type }, body }).then(answer)
      expectError(await post('text/plain', 'x'), 400, 'invalid_request', 'Content-Type')
      expectError(await post('application/json', '{'), 400, 'invalid_request')
      expectError(await post('application/json', '[1]'), 400, 'invalid_client_metadata')
      expectError(await post('application/jwt', 'a.b'), 400, 'invalid_request')
      expectError(await post('application/json', JSON.stringify({ software_statement: 42 })), 400, 'invalid_software_statement')
      expectError(await post('application/json', JSON.stringify({ ['__proto__']: { software_statement: 'x' } })), 400, 'invalid_software_statement')
    })
  })

  describe('a partner without keys', () => {
    let secretClient: { client_id: string; client_secret: string; registration_access_token: string }

    it('gets a client_secret (stored hashed) and authenticates with client_secret_basic and _post', async () => {
      const s = await issue({ software_id: 'batch-job', client_name: 'Batch job', scope: 'mcp:read' })
      const r = await register(ta, { software_statement: s.software_statement })
      assert.equal(r.status, 201, JSON.stringify(r.body))
      assert.equal(r.body.token_endpoint_auth_method, 'client_secret_basic')
      assert.equal(typeof r.body.client_secret, 'string')
      assert.equal(r.body.client_secret_expires_at, 0)
      secretClient = r.body
      const stored = JSON.stringify(await ta.store.get('registrations', secretClient.client_id))
      assert.ok(!stored.includes(secretClient.client_secret), 'never the plaintext secret in the store')
      const basic = `Basic ${Buffer.from(`${secretClient.client_id}:${secretClient.client_secret}`).toString('base64')}`
      const ok = await answer(await fetch(`${ta.entityId}/oauth/token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic }, body: 'grant_type=client_credentials',
      }))
      assert.equal(ok.status, 200, JSON.stringify(ok.body))
      assert.equal(ok.body.scope, 'mcp:read')
      const post = await postForm(`${ta.entityId}/oauth/token`, { grant_type: 'client_credentials', client_id: secretClient.client_id, client_secret: secretClient.client_secret })
      assert.equal(post.status, 200, JSON.stringify(post.body))
      expectError(await postForm(`${ta.entityId}/oauth/token`, { grant_type: 'client_credentials', client_id: secretClient.client_id, client_secret: 'wrong' }), 401, 'invalid_client')
    })

    it('a keyless statement with a signed request, or asking for private_key_jwt: refused', async () => {
      const s = await issue({ software_id: 'batch-job', client_name: 'Batch job' })
      expectError(await register(ta, await signedRequest(agentKey, 'batch-job', ta.entityId, { software_statement: s.software_statement })), 400, 'invalid_request', 'carries no keys')
      expectError(await register(ta, { software_statement: s.software_statement, token_endpoint_auth_method: 'private_key_jwt' }), 400, 'invalid_client_metadata')
    })
  })

  describe('client configuration (RFC 7592)', () => {
    const configuration = (method: string, token: string | undefined, body?: unknown, uri = agent.registration_client_uri) => fetch(uri, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }).then(answer)

    it('reads the registration with the registration access token; anything else is invalid_token', async () => {
      const r = await configuration('GET', agent.registration_access_token)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.equal(r.body.client_id, agent.client_id)
      assert.equal(r.body.scope, 'mcp:tools')
      assert.equal(r.body.registration_access_token, undefined)
      for (const bad of [undefined, 'wrong']) {
        const refused = await configuration('GET', bad)
        expectError(refused, 401, 'invalid_token')
        if (bad) assert.equal(refused.headers.get('www-authenticate'), 'Bearer error="invalid_token"')
      }
      // The token of one client opens no other.
      expectError(await configuration('GET', agent.registration_access_token, undefined, `${ta.entityId}/oauth/clients/dcr_${'A'.repeat(22)}`), 401, 'invalid_token')
    })

    it('updates within the statement\'s limits, and refuses beyond them', async () => {
      const r = await configuration('PUT', agent.registration_access_token, { client_id: agent.client_id, scope: 'mcp:tools mcp:read' })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.equal(r.body.scope, 'mcp:tools mcp:read')
      const t = await clientToken(agent.client_id, agentKey, { scope: 'mcp:read' })
      assert.equal(t.status, 200, JSON.stringify(t.body))
      expectError(await configuration('PUT', agent.registration_access_token, { client_id: agent.client_id, scope: 'admin' }), 400, 'invalid_client_metadata')
      expectError(await configuration('PUT', agent.registration_access_token, { client_id: agent.client_id, grant_types: ['authorization_code'] }), 400, 'invalid_client_metadata')
      expectError(await configuration('PUT', agent.registration_access_token, { client_id: 'dcr_other', scope: 'mcp:tools' }), 400, 'invalid_request')
      expectError(await configuration('PUT', agent.registration_access_token, { client_id: agent.client_id, registration_access_token: 'x' }), 400, 'invalid_request')
      // The token issued before the update is still active (the registration kept its rid).
      assert.equal((await introspectAsResource(firstToken)).active, true)
    })

    it('deletes: the client is refused at once, its tokens introspect inactive, its token opens nothing', async () => {
      const s = await agentStatement()
      const r = await register(ta, await signedRequest(agentKey, 'research-agent', ta.entityId, { software_statement: s.software_statement }))
      assert.equal(r.status, 201)
      const t = await clientToken(r.body.client_id)
      assert.equal(t.status, 200)
      const del = await configuration('DELETE', r.body.registration_access_token, undefined, r.body.registration_client_uri)
      assert.equal(del.status, 204)
      expectError(await clientToken(r.body.client_id), 401, 'invalid_client')
      assert.deepEqual(await introspectAsResource(t.body.access_token), { active: false })
      expectError(await configuration('GET', r.body.registration_access_token, undefined, r.body.registration_client_uri), 401, 'invalid_token')
    })
  })

  describe('the clients admin API', () => {
    it('lists dynamic clients with their software, and shows no credential hash', async () => {
      const list = await ta.admin('GET', '/admin/clients?limit=1000')
      const item = list.body.items.find((i: { client_id: string }) => i.client_id === agent.client_id)
      assert.equal(item.registration_type, 'dynamic')
      assert.equal(item.software_id, 'research-agent')
      assert.equal(item.statement_jti, agentJti)
      assert.equal(item.trust_anchor, ta.entityId)
      const shown = await ta.admin('GET', `/admin/clients/${agent.client_id}`)
      assert.equal(shown.status, 200)
      assert.equal(shown.body.dynamic.registration_access_token_hash, undefined)
      assert.equal(shown.body.dynamic.client_secret, false)
    })
  })

  describe('kill-switch: revoking the statement', () => {
    let late: string

    it('until re-evaluation, the client keeps working', async () => {
      assert.equal((await ta.admin('POST', '/admin/software-statements/revoke', { jti: agentJti, reason: 'partner offboarded' })).status, 200)
      clock.advance(REEVALUATION - 10)
      const r = await clientToken(agent.client_id)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      late = r.body.access_token
    })

    it('after trust_reevaluation: tokens introspect inactive, the next token request is invalid_client, the configuration endpoint says invalid_token', async () => {
      clock.advance(11)
      assert.deepEqual(await introspectAsResource(late), { active: false })
      assert.deepEqual(await introspectAsResource(firstToken), { active: false })
      expectError(await clientToken(agent.client_id), 401, 'invalid_client', /registration has ended \(invalidated\): .*was revoked/)
      const r = await fetch(agent.registration_client_uri, { headers: { authorization: `Bearer ${agent.registration_access_token}` } }).then(answer)
      expectError(r, 401, 'invalid_token')
    })

    it('the audit trail tells the story', async () => {
      const { body } = await ta.admin('GET', `/admin/audit?subject=${encodeURIComponent(agent.client_id)}`)
      const story = body.events.map((e: any) => `${e.action} ${e.outcome}`)
      assert.deepEqual(story.slice(0, 2), ['client.register success', 'token.issue success'])
      assert.ok(story.includes('client.update success'), story.join(', '))
      assert.ok(story.includes('client.reevaluate failure'), story.join(', '))
      const reg = body.events.find((e: any) => e.action === 'client.register')
      assert.equal(reg.detail.registration_type, 'dynamic')
      assert.equal(reg.detail.software_id, 'research-agent')
      assert.equal(reg.detail.jti, agentJti)
    })
  })
})

describe('dynamic client registration: statements of a member, trusted through its chain; initial access tokens', () => {
  const clock = new ManualClock()
  let ta: TestEntity, org: TestEntity, as: TestEntity

  before(async () => {
    clock.set(realNow())
    ta = await startEntity({ clock })
    org = await startEntity({ clock, authority_hints: [ta.entityId] })
    await onboard(ta, org.entityId, { intermediate: true })
    as = await startAuthorizationServer({
      clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId],
      as: { resources: [RESOURCE], scopes_supported: ['mcp:read'], trust_reevaluation: REEVALUATION, dynamic_registration: { trusted_issuers: [{ issuer: org.entityId }], initial_access_token: true } },
    })
    await onboard(ta, as.entityId)
  })
  after(async () => {
    await Promise.all([ta, org, as].map((e) => e?.stop()))
  })

  const orgStatement = async () => {
    const r = await org.admin('POST', '/admin/software-statements', { software_id: 'org-batch', client_name: 'Org batch', scope: 'mcp:read' })
    assert.equal(r.status, 201, JSON.stringify(r.body))
    return r.body.software_statement as string
  }
  const initialAccessToken = async (uses?: number) => {
    const r = await as.admin('POST', '/admin/initial-access-tokens', uses ? { uses } : {})
    assert.equal(r.status, 201, JSON.stringify(r.body))
    return r.body as { initial_access_token: string; id: string; uses: number }
  }
  const secretToken = (c: { client_id: string; client_secret: string }) =>
    postForm(`${as.entityId}/oauth/token`, { grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret })

  let client: { client_id: string; client_secret: string }

  it('needs an initial access token: none, unknown, or used up is invalid_token', async () => {
    const statement = await orgStatement()
    const none = await register(as, { software_statement: statement })
    expectError(none, 401, 'invalid_token', 'initial access token is required')
    assert.equal(none.headers.get('www-authenticate'), 'Bearer error="invalid_token"')
    expectError(await register(as, { software_statement: statement }, 'not-a-token'), 401, 'invalid_token')
    const iat = await initialAccessToken()
    assert.equal(iat.uses, 1)
    // A refused registration does not spend it.
    expectError(await register(as, { client_name: 'no statement' }, iat.initial_access_token), 400, 'invalid_software_statement')
    const r = await register(as, { software_statement: statement }, iat.initial_access_token)
    assert.equal(r.status, 201, JSON.stringify(r.body))
    client = r.body
    expectError(await register(as, { software_statement: statement }, iat.initial_access_token), 401, 'invalid_token', 'used up')
    const listed = await as.admin('GET', '/admin/initial-access-tokens')
    const rec = listed.body.items.find((i: { id: string }) => i.id === iat.id)
    assert.equal(rec.uses_left, 0)
    assert.deepEqual(rec.clients, [client.client_id])
    assert.ok(!JSON.stringify(listed.body).includes(iat.initial_access_token))
  })

  it('a counted token registers that many clients; a revoked one none', async () => {
    const statement = await orgStatement()
    const iat = await initialAccessToken(2)
    assert.equal((await register(as, { software_statement: statement }, iat.initial_access_token)).status, 201)
    assert.equal((await as.admin('POST', '/admin/initial-access-tokens/revoke', { id: iat.id })).status, 204)
    expectError(await register(as, { software_statement: statement }, iat.initial_access_token), 401, 'invalid_token')
  })

  it('the client registered with the member\'s statement gets tokens; its trust anchor is the anchor the issuer resolved to', async () => {
    const t = await secretToken(client)
    assert.equal(t.status, 200, JSON.stringify(t.body))
    const reg = await as.admin('GET', `/admin/clients/${client.client_id}`)
    assert.equal(reg.body.trust_anchor, ta.entityId)
    assert.deepEqual(reg.body.chain, [client.client_id, org.entityId, ta.entityId])
  })

  it('an issuer not configured, even a member of the federation: unapproved_software_statement', async () => {
    const r = await ta.admin('POST', '/admin/software-statements', { software_id: 'ta-batch', client_name: 'TA batch' })
    const iat = await initialAccessToken()
    expectError(await register(as, { software_statement: r.body.software_statement }, iat.initial_access_token), 400, 'unapproved_software_statement')
  })

  it('the CLI issues an initial access token and lists the dynamic clients with their software', async () => {
    const out: string[] = []
    const io: IO = { stdout: (s) => out.push(s), stderr: (s) => out.push(s), readFile: async () => '', env: {} }
    const conn = ['--url', as.entityId, '--token', as.token]
    assert.equal(await clientsCommand(['initial-token', 'issue', '--uses', '1', '--note', 'org-batch vetted', ...conn], io), 0)
    const token = out.at(-1)!
    const r = await register(as, { software_statement: await orgStatement() }, token)
    assert.equal(r.status, 201, JSON.stringify(r.body))
    assert.equal(await clientsCommand(['initial-token', 'list', ...conn], io), 0)
    assert.match(out.at(-1)!, /uses_left=0\/1 .*org-batch vetted/)
    assert.equal(await clientsCommand(['list', ...conn], io), 0)
    const line = out.at(-1)!.split('\n').find((l) => l.includes(r.body.client_id))
    assert.match(line ?? '', /^active +dynamic +dcr_\S+ +anchor=\S+ +software=org-batch$/)
  })

  it('a statement revoked at the member is refused, and its clients end at re-evaluation (the member\'s status endpoint)', async () => {
    const issued = await org.admin('POST', '/admin/software-statements', { software_id: 'org-revoked', client_name: 'Org revoked', scope: 'mcp:read' })
    const r = await register(as, { software_statement: issued.body.software_statement }, (await initialAccessToken()).initial_access_token)
    assert.equal(r.status, 201, JSON.stringify(r.body))
    assert.equal((await secretToken(r.body)).status, 200)
    assert.equal((await org.admin('POST', '/admin/software-statements/revoke', { jti: issued.body.jti })).status, 200)
    expectError(await register(as, { software_statement: issued.body.software_statement }, (await initialAccessToken()).initial_access_token), 400, 'unapproved_software_statement', `says the statement ${issued.body.jti} is revoked`)
    clock.advance(REEVALUATION + 1)
    expectError(await secretToken(r.body), 401, 'invalid_client', /invalidated at re-evaluation: .*is revoked/)
    assert.equal((await secretToken(client)).status, 200, 'the other clients of the member stand')
  })

  it('the member\'s status endpoint: a signed answer for its own statements, 404 for anything else, 405 for GET', async () => {
    const issued = await org.admin('POST', '/admin/software-statements', { software_id: 'org-status', client_name: 'Org status' })
    const ask = (statement: string) => fetch(`${org.entityId}/software-statement-status`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ software_statement: statement }) })
    const ok = await ask(issued.body.software_statement)
    assert.equal(ok.status, 200)
    assert.equal(ok.headers.get('content-type'), 'application/software-statement-status-response+jwt')
    const text = await ok.text()
    const { payload, protectedHeader } = await jwtVerify(text, createLocalJWKSet(await org.federation.keystore.jwks()), { typ: 'software-statement-status-response+jwt' })
    assert.equal(protectedHeader.typ, 'software-statement-status-response+jwt')
    assert.deepEqual([payload.iss, payload.jti, payload.status], [org.entityId, issued.body.jti, 'active'])
    const other = await ta.admin('POST', '/admin/software-statements', { software_id: 'ta-x', client_name: 'TA x' })
    assert.equal((await ask(other.body.software_statement)).status, 404)
    assert.equal((await ask('not-a-jwt')).status, 400)
    assert.equal((await fetch(`${org.entityId}/software-statement-status`)).status, 405)
  })

  it('kill-switch: the member is removed at the anchor; after trust_reevaluation the client is invalid_client', async () => {
    assert.equal((await ta.admin('DELETE', `/admin/subordinates/${encodeURIComponent(org.entityId)}`)).status, 204)
    clock.advance(REEVALUATION + 1)
    expectError(await secretToken(client), 401, 'invalid_client', /invalidated at re-evaluation/)
    // And no new registration with its statements.
    const iat = await initialAccessToken()
    expectError(await register(as, { software_statement: await orgStatement() }, iat.initial_access_token), 400, 'unapproved_software_statement', 'is not a trusted issuer')
  })
})

describe('dynamic client registration: the configured trust anchor\'s statements, by default', () => {
  const clock = new ManualClock()
  let ta: TestEntity, as: TestEntity

  before(async () => {
    clock.set(realNow())
    ta = await startEntity({ clock })
    as = await startAuthorizationServer({
      clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId],
      as: { resources: [RESOURCE], scopes_supported: ['mcp:read'], trust_reevaluation: REEVALUATION, dynamic_registration: {} },
    })
    await onboard(ta, as.entityId)
  })
  after(async () => {
    await Promise.all([ta, as].map((e) => e?.stop()))
  })

  it('registers with a statement of the anchor it pins; revoking it at the anchor ends the client within trust_reevaluation', async () => {
    const issued = await ta.admin('POST', '/admin/software-statements', { software_id: 'ta-partner', client_name: 'TA partner', scope: 'mcp:read' })
    const r = await register(as, { software_statement: issued.body.software_statement })
    assert.equal(r.status, 201, JSON.stringify(r.body))
    const token = () => postForm(`${as.entityId}/oauth/token`, { grant_type: 'client_credentials', client_id: r.body.client_id, client_secret: r.body.client_secret })
    assert.equal((await token()).status, 200)
    assert.equal((await ta.admin('POST', '/admin/software-statements/revoke', { jti: issued.body.jti })).status, 200)
    clock.advance(REEVALUATION - 10)
    assert.equal((await token()).status, 200, 'until re-evaluation')
    clock.advance(11)
    expectError(await token(), 401, 'invalid_client', /is revoked/)
  })
})

describe('dynamic client registration: a relying party of the OpenID Provider role (code flow with a secret)', () => {
  const clock = new ManualClock()
  let op: TestEntity, usersDir: string
  const REDIRECT = 'https://partner-rp.example/cb'

  before(async () => {
    clock.set(realNow())
    usersDir = await mkdtemp(join(tmpdir(), 'anchorage-dcr-op-'))
    await writeFile(join(usersDir, 'users.json'), JSON.stringify({ users: { alice: { password: await hashPassword(randomBytes(8).toString('hex')) } } }))
    op = await startAuthorizationServer({
      clock, anchors: [],
      as: { resources: [RESOURCE], openid_provider: true, users_file: join(usersDir, 'users.json'), dynamic_registration: {} },
    })
  })
  after(async () => {
    await op?.stop()
    if (usersDir) await rm(usersDir, { recursive: true, force: true })
  })

  it('registers with the statement\'s redirect URIs, then does the code flow with PKCE and client_secret_basic', async () => {
    const s = await op.admin('POST', '/admin/software-statements', {
      software_id: 'partner-rp', client_name: 'Partner RP', grant_types: ['authorization_code'], redirect_uris: [REDIRECT], scope: 'openid',
    })
    assert.equal(s.status, 201, JSON.stringify(s.body))
    const r = await register(op, { software_statement: s.body.software_statement })
    assert.equal(r.status, 201, JSON.stringify(r.body))
    assert.deepEqual(r.body.redirect_uris, [REDIRECT])
    assert.deepEqual(r.body.response_types, ['code'])
    const config = await client.discovery(new URL(op.entityId), r.body.client_id, { redirect_uris: [REDIRECT], response_types: ['code'] },
      client.ClientSecretBasic(r.body.client_secret), { execute: [client.allowInsecureRequests] })
    const verifier = client.randomPKCECodeVerifier()
    const nonce = client.randomNonce()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid', nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    })
    // Another redirect URI than the statement's is refused.
    const bad = new URL(url)
    bad.searchParams.set('redirect_uri', 'https://evil.example/cb')
    assert.equal((await fetch(bad, { redirect: 'manual' })).status, 400)
    const first = await fetch(url, { redirect: 'manual' })
    const location = first.headers.get('location') ?? ''
    assert.equal(first.status, 303, await first.text())
    // Login through oidc-provider's models (the interaction pages have their own tests).
    const cookies = first.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
    const server = (op.service.capabilities.find((c) => c.kind === 'authorization_server') as AuthorizationServerCapability).server
    const p = await server.provider()
    const interaction = (await p.Interaction.find(location.split('/').pop()!))!
    const grant = new p.Grant({ accountId: 'alice', clientId: r.body.client_id })
    grant.addOIDCScope('openid')
    interaction.result = { login: { accountId: 'alice' }, consent: { grantId: await grant.save() } }
    await interaction.save(interaction.exp - Math.floor(Date.now() / 1000))
    const resumed = await fetch(new URL(interaction.returnTo, op.entityId), { redirect: 'manual', headers: { cookie: cookies } })
    const back = resumed.headers.get('location') ?? ''
    assert.ok(back.startsWith(REDIRECT), back)
    const tokens = await client.authorizationCodeGrant(config, new URL(back), { pkceCodeVerifier: verifier, expectedNonce: nonce, idTokenExpected: true })
    assert.equal(tokens.claims()!.aud, r.body.client_id)
    assert.equal(tokens.claims()!.sub, 'alice')
  })
})
