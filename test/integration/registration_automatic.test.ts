/**
 * Topology (each entity on its own loopback port with its own keys):
 *
 *          TA  (Anchorage; statement TA -> IA limits oauth_client.scope)      OTHER (Anchorage, not trusted by AS)
 *        /    \                                                                 |
 *      IA      AS  (Anchorage with the authorization server role, pinning TA)  STRAY (agent under OTHER)
 *    / | \
 *  agents (leaves: oauth_client metadata with a client key of their own)
 *
 * Automatic registration at the token endpoint (spec "Automatic Registration", RFC 7523
 * private_key_jwt, RFC 9068 tokens): the happy path, and every refusal with its exact
 * error code and status.
 */
import { strict as assert } from 'node:assert'
import { jwtVerify, createLocalJWKSet, SignJWT } from 'jose'
import { ManualClock } from '../../src/clock.js'
import { startEntity, onboard, pinned, decode, testKey, type TestEntity } from '../support/federation.js'
import {
  startAuthorizationServer, startAgent, tokenRequest, expectError, weakAssertion, clientMetadata, realNow, RESOURCE, type Agent,
} from '../support/agent.js'

const POLICY = { oauth_client: { scope: { subset_of: ['mcp:tools', 'mcp:read', 'mcp:admin'] } } }

describe('automatic registration at the token endpoint', () => {
  const clock = new ManualClock()
  let ta: TestEntity, ia: TestEntity, as: TestEntity, other: TestEntity
  let agent: Agent
  const agents: Agent[] = []

  /** A new agent under `superior`, onboarded there. */
  async function newAgent(o: { superior?: TestEntity; oauthClient?: Record<string, unknown>; metadata?: Record<string, unknown> } = {}): Promise<Agent> {
    const superior = o.superior ?? ia
    const a = await startAgent({ clock, authority_hints: [superior.entityId], ...(o.oauthClient ? { oauthClient: o.oauthClient } : {}), ...(o.metadata ? { metadata: o.metadata } : {}) })
    agents.push(a)
    await onboard(superior, a.id)
    return a
  }

  before(async () => {
    ta = await startEntity({ clock })
    other = await startEntity({ clock })
    ia = await startEntity({ clock, authority_hints: [ta.entityId] })
    as = await startAuthorizationServer({ clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId], as: { resources: [RESOURCE, 'https://other.example/api'], scopes_supported: ['mcp:tools', 'mcp:read', 'mcp:write'] } })
    await onboard(ta, ia.entityId, { intermediate: true, metadata_policy: POLICY })
    await onboard(ta, as.entityId)
    agent = await newAgent()
  })
  after(async () => {
    await Promise.all([ta, ia, as, other].map((e) => e?.stop()))
    await Promise.all(agents.map((a) => a.stop()))
  })

  const token = (a: Agent, extra: Record<string, string> = {}, claims: Record<string, unknown> = {}) =>
    a.assertion(as.entityId, claims).then((x) => tokenRequest(as, x, { resource: RESOURCE, ...extra }))

  describe('first contact', () => {
    let issued: string
    it('registers the agent from its resolved metadata and issues an RFC 9068 access token', async () => {
      const r = await token(agent, { scope: 'mcp:tools' })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.equal(r.headers.get('cache-control'), 'no-store')
      assert.deepEqual(Object.keys(r.body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
      assert.equal(r.body.token_type, 'Bearer')
      assert.equal(r.body.expires_in, 300)
      issued = r.body.access_token
      const jwks = (await (await fetch(`${as.entityId}/oauth/jwks`)).json()) as any
      const { payload, protectedHeader } = await jwtVerify(issued, createLocalJWKSet(jwks), { typ: 'at+jwt', currentDate: new Date(clock.now() * 1000) })
      assert.ok(protectedHeader.kid)
      assert.equal(payload.iss, as.entityId)
      assert.equal(payload.sub, agent.id)
      assert.equal(payload.client_id, agent.id)
      assert.equal(payload.aud, RESOURCE)
      assert.equal(payload.scope, 'mcp:tools')
      assert.equal(payload.trust_anchor, ta.entityId)
      // oidc-provider stamps tokens with the system clock (docs/authorization-server.md "Clocks").
      assert.ok(Math.abs(payload.iat! - Math.floor(Date.now() / 1000)) <= 5)
      assert.equal(payload.exp, payload.iat! + 300)
      assert.equal(typeof payload.jti, 'string')
    })

    it('keeps the registration: resolved metadata, keys, anchor and superior', async () => {
      const r = await as.admin('GET', `/admin/clients/${encodeURIComponent(agent.id)}`)
      assert.equal(r.status, 200)
      assert.equal(r.body.status, 'active')
      assert.equal(r.body.registration_type, 'automatic')
      assert.equal(r.body.entity_type, 'oauth_client')
      assert.equal(r.body.trust_anchor, ta.entityId)
      assert.equal(r.body.authority_hint, ia.entityId)
      assert.deepEqual(r.body.jwks, { keys: [agent.clientKey.publicJwk] })
      assert.equal(r.body.metadata.oauth_client.scope, 'mcp:tools mcp:read')
      assert.ok(r.body.expires_at <= r.body.chain_exp)
    })

    it('audits the registration and the issuance', async () => {
      const { body } = await as.admin('GET', `/admin/audit?subject=${encodeURIComponent(agent.id)}`)
      const actions = body.events.map((e: any) => `${e.action} ${e.outcome}`)
      assert.deepEqual(actions, ['client.register success', 'token.issue success'])
      assert.equal(body.events[1].detail.scope, 'mcp:tools')
      assert.equal(body.events[1].detail.trust_anchor, ta.entityId)
    })

    it('grants every allowed scope when none is asked for, narrowed by the anchor\'s policy and scopes_supported', async () => {
      const a = await newAgent({ oauthClient: { scope: 'mcp:tools mcp:read mcp:write' } })
      // Policy (subset_of) drops mcp:write; scopes_supported has no mcp:admin.
      const r = await token(a)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.equal(r.body.scope, 'mcp:tools mcp:read')
    })

    it('fetches the client keys from jwks_uri, or from signed_jwks_uri signed with its federation key', async () => {
      for (const how of ['jwks_uri', 'signed_jwks_uri'] as const) {
        const a = await newAgent()
        const md = (a.leaf.claims.metadata as any).oauth_client
        const jwks = md.jwks
        delete md.jwks
        md[how] = `${a.id}/keys`
        a.leaf.respond = (req, res) => {
          if (req.url !== '/keys') return false
          if (how === 'jwks_uri') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks))
          else {
            void new SignJWT({ iss: a.id, sub: a.id, iat: clock.now(), keys: jwks.keys })
              .setProtectedHeader({ alg: 'ES256', kid: a.leaf.key.kid, typ: 'jwk-set+jwt' }).sign(a.leaf.key.privateKey)
              .then((jwt) => res.writeHead(200, { 'content-type': 'application/jwk-set+jwt' }).end(jwt))
          }
          return true
        }
        const r = await token(a)
        assert.equal(r.status, 200, `${how}: ${JSON.stringify(r.body)}`)
        assert.equal((await as.admin('GET', `/admin/clients/${encodeURIComponent(a.id)}`)).body.jwks_source, how)
      }
    })

    it('uses the trust_chain header of the assertion when it is a valid chain to a trusted anchor', async () => {
      const a = await newAgent()
      const chain = (await (await fetch(`${ta.entityId}/resolve?sub=${encodeURIComponent(a.id)}&trust_anchor=${encodeURIComponent(ta.entityId)}`)).text())
      const trustChain = decode(chain).payload.trust_chain
      const r = await tokenRequest(as, await a.assertion(as.entityId, {}, { trust_chain: trustChain }), { resource: RESOURCE })
      assert.equal(r.status, 200, JSON.stringify(r.body))
    })
  })

  describe('refusals', () => {
    it('refuses an agent whose chain leads to an anchor it does not trust: 401 invalid_client', async () => {
      const stray = await newAgent({ superior: other })
      expectError(await token(stray), 401, 'invalid_client', 'no valid trust chain')
    })

    it('refuses an agent whose chain cannot be resolved: 401 invalid_client', async () => {
      const a = await startAgent({ clock, authority_hints: ['http://127.0.0.1:1'] })
      agents.push(a)
      expectError(await token(a), 401, 'invalid_client', /no valid trust chain.*"network"/)
    })

    it('refuses an assertion signed by a key not in the resolved metadata (here: its federation key): 401 invalid_client', async () => {
      const r = await tokenRequest(as, await agent.assertion(as.entityId, {}, {}, agent.leaf.key), { resource: RESOURCE })
      // oidc-provider verifies the signature; its description is generic, the audit says why.
      expectError(r, 401, 'invalid_client', 'client authentication failed')
      const { body } = await as.admin('GET', `/admin/audit?action=token.refuse&subject=${encodeURIComponent(agent.id)}&limit=1000`)
      assert.ok(body.events.some((e: any) => /no applicable key/.test(e.detail.reason)), JSON.stringify(body.events.map((e: any) => e.detail.reason)))
    })

    it('refuses a wrong aud: 401 invalid_client', async () => {
      const r = await tokenRequest(as, await agent.assertion('https://other-as.example'), { resource: RESOURCE })
      expectError(r, 401, 'invalid_client', `client_assertion: aud must be ${as.entityId}`)
    })

    it('accepts the token endpoint URL as aud', async () => {
      const r = await tokenRequest(as, await agent.assertion(`${as.entityId}/oauth/token`), { resource: RESOURCE })
      assert.equal(r.status, 200, JSON.stringify(r.body))
    })

    it('refuses an expired assertion and one living longer than assertion_max_lifetime: 401 invalid_client', async () => {
      const now = realNow()
      expectError(await token(agent, {}, { iat: now - 400, exp: now - 100 }), 401, 'invalid_client', 'client_assertion: expired')
      expectError(await token(agent, {}, { iat: now, exp: now + 301 }), 401, 'invalid_client', 'lifetime (exp - iat) exceeds 300 seconds')
    })

    it('refuses a replayed assertion: 401 invalid_client', async () => {
      const x = await agent.assertion(as.entityId)
      assert.equal((await tokenRequest(as, x, { resource: RESOURCE })).status, 200)
      expectError(await tokenRequest(as, x, { resource: RESOURCE }), 401, 'invalid_client', 'client_assertion: replayed')
    })

    for (const alg of ['none', 'HS256'] as const) {
      it(`refuses an assertion with alg ${alg}: 401 invalid_client`, async () => {
        const x = await weakAssertion(alg, { iss: agent.id, aud: as.entityId, now: clock.now() })
        expectError(await tokenRequest(as, x, { resource: RESOURCE }), 401, 'invalid_client', `client_assertion: alg "${alg}" is not allowed`)
      })
    }

    it('refuses a scope outside the resolved metadata: 400 invalid_scope', async () => {
      expectError(await token(agent, { scope: 'mcp:write' }), 400, 'invalid_scope', 'none of mcp:write is allowed for this client')
    })

    it('refuses a grant type the resolved metadata does not allow: 400 unauthorized_client', async () => {
      const a = await newAgent({ oauthClient: { grant_types: ['authorization_code'] } })
      expectError(await token(a), 400, 'unauthorized_client', 'client_credentials is not among the grant_types')
    })

    it('refuses a grant type this server does not support: 400 unsupported_grant_type', async () => {
      expectError(await token(agent, { grant_type: 'password' }), 400, 'unsupported_grant_type')
    })

    it('refuses an unknown resource, and a missing one when several are served: 400 invalid_target', async () => {
      expectError(await token(agent, { resource: 'https://unknown.example/api' }), 400, 'invalid_target', 'is not a resource of this authorization server')
      const r = await tokenRequest(as, await agent.assertion(as.entityId))
      expectError(r, 400, 'invalid_target', 'resource: required')
    })

    it('refuses a request without client authentication: 401 invalid_client', async () => {
      const r = await tokenRequest(as, '', { client_assertion_type: undefined as unknown as string, resource: RESOURCE })
      expectError(r, 401, 'invalid_client', 'client authentication is required')
    })

    it('refuses a member removed by its intermediate: 401 invalid_client', async () => {
      const a = await newAgent()
      assert.equal((await ia.admin('DELETE', `/admin/subordinates/${encodeURIComponent(a.id)}`)).status, 204)
      expectError(await token(a), 401, 'invalid_client', /"not_found"/)
    })

    it('refuses agents under a suspended intermediate: 401 invalid_client', async () => {
      const ia2 = await startEntity({ clock, authority_hints: [ta.entityId] })
      try {
        await onboard(ta, ia2.entityId, { intermediate: true })
        const a = await newAgent({ superior: ia2 })
        assert.equal((await ta.admin('POST', `/admin/subordinates/${encodeURIComponent(ia2.entityId)}/suspend`)).status, 200)
        expectError(await token(a), 401, 'invalid_client', `subordinate statement ${ta.entityId} -> ${ia2.entityId}`)
      } finally {
        await ia2.stop()
      }
    })

    it('refuses metadata without keys or with another auth method: 401 invalid_client', async () => {
      const noKeys = await newAgent({ metadata: { oauth_client: { grant_types: ['client_credentials'] } } })
      expectError(await token(noKeys), 401, 'invalid_client', 'no jwks, jwks_uri or signed_jwks_uri')
      const secret = await newAgent({ oauthClient: { token_endpoint_auth_method: 'client_secret_basic' } })
      expectError(await token(secret), 401, 'invalid_client', 'only private_key_jwt is supported')
    })

    it('refuses a trust_chain header to an unknown anchor, or whose statements do not link: 401 invalid_client', async () => {
      const a = await newAgent()
      const otherChain = decode(await (await fetch(`${ta.entityId}/resolve?sub=${encodeURIComponent(a.id)}&trust_anchor=${encodeURIComponent(ta.entityId)}`)).text()).payload.trust_chain as string[]
      const fake = await testKey()
      const foreignAnchor = await new SignJWT({ iss: 'https://foreign.example', sub: ia.entityId, iat: clock.now(), exp: clock.now() + 60, jwks: { keys: [fake.publicJwk] } })
        .setProtectedHeader({ alg: 'ES256', kid: fake.kid, typ: 'entity-statement+jwt' }).sign(fake.privateKey)
      const unknown = [otherChain[0]!, otherChain[1]!, foreignAnchor]
      expectError(await tokenRequest(as, await a.assertion(as.entityId, {}, { trust_chain: unknown }), { resource: RESOURCE }), 401, 'invalid_client', 'not a trust anchor this deployment trusts')
      const unlinked = [otherChain[0]!, otherChain[2]!, otherChain[3]!]
      expectError(await tokenRequest(as, await a.assertion(as.entityId, {}, { trust_chain: unlinked }), { resource: RESOURCE }), 401, 'invalid_client', '"sub"')
    })

    it('audits every refusal with the error', async () => {
      const { body } = await as.admin('GET', '/admin/audit?action=token.refuse&limit=1000')
      const errors = new Set(body.events.map((e: any) => e.detail.error))
      for (const e of ['invalid_client', 'invalid_scope', 'unauthorized_client', 'unsupported_grant_type', 'invalid_target']) assert.ok(errors.has(e), e)
      const registrations = await as.admin('GET', '/admin/audit?action=client.register&limit=1000')
      assert.ok(registrations.body.events.some((e: any) => e.outcome === 'failure' && e.detail.error === 'invalid_client'))
    })
  })

  it('uses a client key distinct from the federation key in the tests', () => {
    assert.notEqual(agent.clientKey.kid, agent.leaf.key.kid)
    assert.ok(clientMetadata(agent.clientKey).jwks)
  })
})
