/**
 * Topology:
 *
 *        TA  (Anchorage)
 *      /    \
 *    IA      AS  (Anchorage with the authorization server role, pinning TA)
 *     |
 *   agents
 *
 * The operator's side of the authorization server: its published metadata (spec "OAuth
 * Authorization Server", RFC 8414), its keys, and the clients admin API with revocation.
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { startEntity, onboard, pinned, decode, type TestEntity } from '../support/federation.js'
import { startAuthorizationServer, startAgent, tokenRequest, introspect, expectError, RESOURCE, type Agent } from '../support/agent.js'

describe('authorization server: metadata and clients administration', () => {
  const clock = new ManualClock()
  let ta: TestEntity, ia: TestEntity, as: TestEntity
  let agent: Agent
  const agents: Agent[] = []

  async function newAgent(): Promise<Agent> {
    const a = await startAgent({ clock, authority_hints: [ia.entityId] })
    agents.push(a)
    await onboard(ia, a.id)
    return a
  }

  before(async () => {
    ta = await startEntity({ clock })
    ia = await startEntity({ clock, authority_hints: [ta.entityId] })
    as = await startAuthorizationServer({ clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId], as: { resources: [RESOURCE], scopes_supported: ['mcp:tools', 'mcp:read', 'mcp:write'] } })
    await onboard(ta, ia.entityId, { intermediate: true })
    await onboard(ta, as.entityId)
    agent = await newAgent()
    assert.equal((await token(agent)).status, 200)
  })
  after(async () => {
    await Promise.all([ta, ia, as].map((e) => e?.stop()))
    await Promise.all(agents.map((a) => a.stop()))
  })

  const token = (a: Agent) => a.assertion(as.entityId).then((x) => tokenRequest(as, x, { resource: RESOURCE }))

  describe('the operator kill-switch (clients revoke)', () => {
    it('refuses the revoked client at once, reports its tokens inactive, and lets it back after reinstate', async () => {
      const a = await newAgent()
      const t = await token(a)
      assert.equal(t.status, 200)
      const self = async () => introspect(as, t.body.access_token, await a.assertion(as.entityId))
      assert.equal((await self()).body.active, true)
      const revoked = await as.admin('POST', `/admin/clients/${encodeURIComponent(a.id)}/revoke`, { reason: 'compromised key' })
      assert.equal(revoked.status, 200)
      assert.equal(revoked.body.status, 'revoked')
      expectError(await token(a), 401, 'invalid_client', 'revoked by the operator')
      // A revoked client cannot even authenticate at introspection.
      expectError(await self(), 401, 'invalid_client', 'revoked')
      // What the client held went with it, as its audit event says.
      const events = (await as.admin('GET', `/admin/audit?subject=${encodeURIComponent(a.id)}&action=client.revoke`)).body.events
      assert.deepEqual(events.map((e: any) => e.detail.revoked), [{ access_tokens: 1, refresh_tokens: 0, grants: 0, authorization_codes: 0, other: 0 }])
      assert.equal(await as.store.count('tokens', { client_id: a.id }), 0)
      const list = await as.admin('GET', '/admin/clients?status=revoked')
      assert.deepEqual(list.body.items.map((c: any) => c.client_id), [a.id])
      assert.equal((await as.admin('POST', `/admin/clients/${encodeURIComponent(a.id)}/reinstate`)).status, 204)
      assert.equal((await token(a)).status, 200)
    })
  })

  describe('metadata', () => {
    it('publishes oauth_authorization_server metadata in the entity configuration and at the RFC 8414 location', async () => {
      const ec = decode(await (await as.get('/.well-known/openid-federation')).text()).payload
      const md = ec.metadata.oauth_authorization_server
      assert.equal(md.issuer, as.entityId)
      assert.equal(md.token_endpoint, `${as.entityId}/oauth/token`)
      assert.equal(md.federation_registration_endpoint, `${as.entityId}/oauth/register`)
      assert.deepEqual(md.client_registration_types_supported, ['automatic', 'explicit'])
      assert.deepEqual(md.token_endpoint_auth_methods_supported, ['private_key_jwt'])
      assert.ok(!md.token_endpoint_auth_signing_alg_values_supported.some((a: string) => a === 'none' || a.startsWith('HS')))
      assert.deepEqual(md.grant_types_supported, ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'])
      assert.deepEqual(md.scopes_supported, ['mcp:tools', 'mcp:read', 'mcp:write'])
      assert.equal(ec.metadata.federation_entity.federation_registration_endpoint, undefined)
      const wellKnown = await (await fetch(`${as.entityId}/.well-known/oauth-authorization-server`)).json()
      assert.deepEqual(wellKnown, md)
    })

    it('keeps the token keys out of the federation keys and vice versa', async () => {
      const ec = decode(await (await as.get('/.well-known/openid-federation')).text()).payload
      const oauth = (await (await fetch(`${as.entityId}/oauth/jwks`)).json()) as any
      const fed = new Set(ec.jwks.keys.map((k: any) => k.kid))
      assert.ok(oauth.keys.length >= 1)
      assert.ok(oauth.keys.every((k: any) => !fed.has(k.kid)))
      const keys = await as.admin('GET', '/admin/keys')
      assert.ok(keys.body.keys.every((k: any) => !oauth.keys.some((o: any) => o.kid === k.kid)))
    })

    it('lists clients for the operator', async () => {
      const r = await as.admin('GET', '/admin/clients?status=active')
      assert.equal(r.status, 200)
      assert.ok(r.body.items.some((c: any) => c.client_id === agent.id && c.trust_anchor === ta.entityId))
      assert.ok(r.body.items.every((c: any) => c.jwks === undefined))
    })
  })

})
