/**
 * Agents on behalf of users: token exchange (RFC 8693) over real HTTP on loopback.
 *
 *          TA  (Anchorage trust anchor; its statement about ORG carries a metadata policy:
 *        /  |  \                oauth_client scope subset_of mcp:tools mcp:read)
 *     ORG   AS   RS    ORG: the agents' organisation (Anchorage intermediate)
 *    /   \             AS: Anchorage, authorization server role, pinning TA
 *  AGENT  OTHER        RS: the resource's federation entity (it introspects)
 *
 * AGENT's metadata lists the token-exchange grant and asks for mcp:admin too, which TA's
 * policy takes away; OTHER may not exchange at all. The user's token (alice) is an access
 * token of the AS issued to AGENT for the resource, issued here through the provider and
 * recorded as the server does (tokenRecord), so its lifetime and claims can be chosen; the code
 * flow's own tokens as subject tokens: killswitch_grants.test.ts.
 */
import { strict as assert } from 'node:assert'
import { createLocalJWKSet, jwtVerify, decodeJwt, decodeProtectedHeader, SignJWT } from 'jose'
import { ManualClock } from '../../src/clock.js'
import type { AuthorizationServerCapability } from '../../src/capabilities/types.js'
import { tokenRecord } from '../../src/authorization_server/tokens.js'
import { TOKEN_EXCHANGE_GRANT, ACCESS_TOKEN_TYPE } from '../../src/authorization_server/token_exchange.js'
import { testKey, type TestEntity } from '../support/federation.js'
import { startAgentFederation, tokenRequest, expectError, postForm, ASSERTION_TYPE, type Agent, type AgentFederation } from '../support/agent.js'

const RESOURCE = 'https://mcp.demo.example/mcp'
const OTHER_RESOURCE = 'https://files.demo.example/api'
const REEVALUATION = 600

describe('token exchange (RFC 8693): an agent acts for a user with a down-scoped token', () => {
  const clock = new ManualClock()
  let fed: AgentFederation
  let ta: TestEntity, org: TestEntity, as: TestEntity
  let agent: Agent, other: Agent

  before(async () => {
    fed = await startAgentFederation({
      clock, resource: RESOURCE, orgPolicy: { oauth_client: { scope: { subset_of: ['mcp:tools', 'mcp:read'] } } },
      as: { resources: [RESOURCE, OTHER_RESOURCE], trust_reevaluation: REEVALUATION, token_exchange_max_actors: 2 },
      agents: [{ grant_types: ['client_credentials', TOKEN_EXCHANGE_GRANT], scope: 'mcp:tools mcp:read mcp:admin' }, { scope: 'mcp:tools mcp:read' }],
    })
    ;({ ta, org, as } = fed)
    agent = fed.agents[0]!
    other = fed.agents[1]!
    // Both register automatically at first contact.
    for (const a of [agent, other]) {
      const r = await tokenRequest(as, await a.assertion(as.entityId), { resource: RESOURCE })
      assert.equal(r.status, 200, JSON.stringify(r.body))
    }
  })
  after(async () => {
    await fed?.stop()
  })

  const server = () => (as.service.capabilities.find((c) => c.kind === 'authorization_server') as AuthorizationServerCapability).server

  /**
   * A user's access token as the authorization server issues it (RFC 9068, recorded under the
   * client's registration): the stand-in for the code flow's.
   */
  async function userToken(o: { sub: string; client: Agent; scope: string; aud: string; ttl: number }): Promise<string> {
    const s = server()
    const p = await s.provider()
    const reg = await s.registrar.active(o.client.id)
    const client = await p.Client.find(o.client.id)
    assert.ok(reg && client)
    const t = new p.AccessToken({ accountId: o.sub, client, grantId: 'test-grant', gty: 'authorization_code', scope: o.scope })
    t.resourceServer = new p.ResourceServer(o.aud, { audience: o.aud, accessTokenFormat: 'jwt', accessTokenTTL: o.ttl, jwt: { sign: { alg: 'ES256' } }, scope: o.scope })
    const value = await t.save()
    const now = clock.now()
    const { jti, iat, exp } = decodeJwt(value)
    // No grantId: 'test-grant' is no grant oidc-provider has (a token of a revoked grant is inactive).
    const record = tokenRecord({ value, jti: jti!, reg, sub: o.sub, aud: o.aud, scope: o.scope, iat: iat!, exp: exp!, ttl: o.ttl, now, gty: 'authorization_code' })
    await as.store.put('tokens', record)
    return value
  }

  const exchange = async (a: Agent, form: Record<string, string | string[] | undefined>) => postForm(`${as.entityId}/oauth/token`, {
    grant_type: TOKEN_EXCHANGE_GRANT, client_assertion_type: ASSERTION_TYPE, client_assertion: await a.assertion(as.entityId),
    subject_token_type: ACCESS_TOKEN_TYPE, ...form,
  })
  const introspectAsResource = (token: string) => fed.introspectAsResource(token)
  const verifyAtAs = async (token: string) => {
    const jwks = await (await fetch(`${as.entityId}/oauth/jwks`)).json() as { keys: [] }
    return jwtVerify(token, createLocalJWKSet(jwks), { issuer: as.entityId, typ: 'at+jwt', currentDate: new Date(decodeJwt(token).iat! * 1000) })
  }

  let alice: string
  let exchanged: string

  it('advertises the grant in the authorization server metadata', async () => {
    const md = await (await as.get('/.well-known/oauth-authorization-server')).json() as { grant_types_supported: string[] }
    assert.ok(md.grant_types_supported.includes(TOKEN_EXCHANGE_GRANT), JSON.stringify(md.grant_types_supported))
  })

  it('exchanges the user\'s token for a token for one resource, down-scoped, naming the agent in act', async () => {
    alice = await userToken({ sub: 'alice', client: agent, scope: 'mcp:tools mcp:read mcp:admin', aud: RESOURCE, ttl: 200 })
    const r = await exchange(agent, { subject_token: alice, resource: RESOURCE, scope: 'mcp:read' })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.headers.get('cache-control'), 'no-store')
    assert.equal(r.body.issued_token_type, ACCESS_TOKEN_TYPE)
    assert.equal(r.body.token_type, 'Bearer')
    assert.equal(r.body.scope, 'mcp:read')
    assert.equal(r.body.refresh_token, undefined)
    // Time-bound: no longer than what is left of the user's token (200 s < access_token_lifetime 300 s).
    assert.ok(r.body.expires_in <= 200 && r.body.expires_in > 190, String(r.body.expires_in))
    exchanged = r.body.access_token
    assert.equal(decodeProtectedHeader(exchanged).typ, 'at+jwt')
    const { payload } = await verifyAtAs(exchanged)
    assert.equal(payload.sub, 'alice')
    assert.equal(payload.client_id, agent.id)
    assert.equal(payload.aud, RESOURCE)
    assert.equal(payload.scope, 'mcp:read')
    assert.deepEqual(payload.act, { sub: agent.id })
    assert.ok(payload.exp! <= decodeJwt(alice).exp!)
  })

  it('the resource introspects the exchanged token: active, for alice, acted by the agent', async () => {
    const body = await introspectAsResource(exchanged)
    assert.equal(body.active, true, JSON.stringify(body))
    assert.equal(body.sub, 'alice')
    assert.equal(body.client_id, agent.id)
    assert.equal(body.aud, RESOURCE)
    assert.equal(body.scope, 'mcp:read')
    assert.deepEqual(body.act, { sub: agent.id })
  })

  it('an exchanged token exchanged again nests the actors, within its scope and life, up to token_exchange_max_actors', async () => {
    const r = await exchange(agent, { subject_token: exchanged, resource: RESOURCE })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body.scope, 'mcp:read')
    const { payload } = await verifyAtAs(r.body.access_token)
    assert.deepEqual(payload.act, { sub: agent.id, act: { sub: agent.id } })
    assert.ok(payload.exp! <= decodeJwt(exchanged).exp!)
    // token_exchange_max_actors: 2 bounds the delegation chain.
    expectError(await exchange(agent, { subject_token: r.body.access_token, resource: RESOURCE }), 400, 'invalid_request', 'already names 2 actors')
    expectError(await exchange(agent, { subject_token: exchanged, resource: RESOURCE, scope: 'mcp:tools' }), 400, 'invalid_scope', 'mcp:tools')
  })

  it('refuses a scope the federation\'s policy takes from the agent, even though the user has it: invalid_scope', async () => {
    const r = await exchange(agent, { subject_token: alice, resource: RESOURCE, scope: 'mcp:tools mcp:admin' })
    expectError(r, 400, 'invalid_scope', 'mcp:admin')
  })

  it('refuses a resource it does not serve, none, or two: invalid_target', async () => {
    expectError(await exchange(agent, { subject_token: alice, resource: 'https://elsewhere.example/api' }), 400, 'invalid_target', 'not a resource of this authorization server')
    expectError(await exchange(agent, { subject_token: alice }), 400, 'invalid_target', 'resource is required')
    expectError(await exchange(agent, { subject_token: alice, resource: [RESOURCE, OTHER_RESOURCE] }), 400, 'invalid_target', 'one resource')
    expectError(await exchange(agent, { subject_token: alice, resource: RESOURCE, audience: 'https://elsewhere.example' }), 400, 'invalid_target', 'audience')
  })

  it('refuses a subject token that is not an active token of this server: invalid_request (RFC 8693 section 2.2.2)', async () => {
    // Foreign: same shape, signed by someone else, never recorded here.
    const k = await testKey()
    const now = clock.now()
    const foreign = await new SignJWT({ iss: as.entityId, sub: 'alice', client_id: agent.id, aud: RESOURCE, scope: 'mcp:read', jti: 'foreign', iat: now, exp: now + 100 })
      .setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'at+jwt' }).sign(k.privateKey)
    expectError(await exchange(agent, { subject_token: foreign, resource: RESOURCE }), 400, 'invalid_request', 'not an active access token')
    // Tampered: a recorded token's payload changed.
    const [h, , s] = alice.split('.')
    const body = Buffer.from(JSON.stringify({ ...decodeJwt(alice), scope: 'mcp:tools mcp:read mcp:admin mcp:root' })).toString('base64url')
    expectError(await exchange(agent, { subject_token: `${h}.${body}.${s}`, resource: RESOURCE }), 400, 'invalid_request', 'not an active access token')
    expectError(await exchange(agent, { subject_token: 'not-a-token', resource: RESOURCE }), 400, 'invalid_request', 'not an active access token')
    expectError(await exchange(agent, { resource: RESOURCE }), 400, 'invalid_request', 'subject_token')
    expectError(await exchange(agent, { subject_token: alice, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token', resource: RESOURCE }), 400, 'invalid_request', 'subject_token_type')
    expectError(await exchange(agent, { subject_token: alice, resource: RESOURCE, actor_token: alice, actor_token_type: ACCESS_TOKEN_TYPE }), 400, 'invalid_request', 'actor_token')
  })

  it('refuses an expired subject token (moved clock): invalid_request', async () => {
    const brief = await userToken({ sub: 'alice', client: agent, scope: 'mcp:read', aud: RESOURCE, ttl: 30 })
    const ok = await exchange(agent, { subject_token: brief, resource: RESOURCE })
    assert.equal(ok.status, 200, JSON.stringify(ok.body))
    assert.ok(ok.body.expires_in <= 30)
    clock.advance(31)
    expectError(await exchange(agent, { subject_token: brief, resource: RESOURCE }), 400, 'invalid_request', 'not an active access token')
    assert.deepEqual(await introspectAsResource(ok.body.access_token), { active: false })
  })

  it('refuses a user token the agent does not hold (issued to another client, for another resource)', async () => {
    const bobs = await userToken({ sub: 'bob', client: other, scope: 'mcp:read', aud: OTHER_RESOURCE, ttl: 200 })
    expectError(await exchange(agent, { subject_token: bobs, resource: RESOURCE }), 400, 'invalid_request', 'neither to this client nor for it')
  })

  it('refuses an agent whose resolved metadata does not list the grant: unauthorized_client', async () => {
    const bobs = await userToken({ sub: 'bob', client: other, scope: 'mcp:read', aud: RESOURCE, ttl: 200 })
    expectError(await exchange(other, { subject_token: bobs, resource: RESOURCE }), 400, 'unauthorized_client', TOKEN_EXCHANGE_GRANT)
  })

  it('kill-switch: once the agent\'s organisation leaves, its exchanged tokens introspect inactive and it can exchange no more', async () => {
    const fresh = await exchange(agent, { subject_token: alice, resource: RESOURCE, scope: 'mcp:tools' })
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body))
    assert.equal((await introspectAsResource(fresh.body.access_token)).active, true)
    const del = await ta.admin('DELETE', `/admin/subordinates/${encodeURIComponent(org.entityId)}`)
    assert.equal(del.status, 204)
    clock.advance(REEVALUATION + 1)
    assert.deepEqual(await introspectAsResource(fresh.body.access_token), { active: false })
    expectError(await exchange(agent, { subject_token: alice, resource: RESOURCE }), 401, 'invalid_client')
  })

  it('audits every exchange, issued and refused', async () => {
    const { body } = await as.admin('GET', `/admin/audit?action=token.exchange`)
    const events = (body.events as Array<{ actor: string; outcome: string; subject?: string; detail: Record<string, unknown> }>).filter((e) => e.actor === agent.id)
    const ok = events.filter((e) => e.outcome === 'success')
    const refused = events.filter((e) => e.outcome === 'failure')
    assert.equal(ok.length, 4, JSON.stringify(ok))
    assert.deepEqual(ok[0]!.detail.act, { sub: agent.id })
    assert.equal(ok[0]!.subject, 'alice')
    assert.equal(ok[0]!.detail.resource, RESOURCE)
    const codes = refused.map((e) => e.detail.error)
    for (const code of ['invalid_scope', 'invalid_target', 'invalid_request']) assert.ok(codes.includes(code), JSON.stringify(codes))
  })
})
