/**
 * Topology:
 *
 *          TA  (Anchorage)                       OTHER (Anchorage, not trusted by AS)
 *        /    \
 *      IA      AS  (Anchorage, authorization server role, pins TA)
 *      |
 *    AGENT  (publishes NO entity configuration: onboarded at IA with its keys, and
 *            registers by sending its entity configuration, or a trust chain, to AS)
 *
 * Spec "Explicit Registration": request, processing, response and error responses.
 */
import { strict as assert } from 'node:assert'
import { jwtVerify, createLocalJWKSet } from 'jose'
import { ManualClock } from '../../src/clock.js'
import { startEntity, onboard, pinned, decode, testKey, startLeaf, type TestEntity, type TestKey } from '../support/federation.js'
import { signStatement } from '../support/entity.js'
import { startAuthorizationServer, tokenRequest, introspect, expectError, clientMetadata, assertion, RESOURCE, type OAuthAnswer, realNow } from '../support/agent.js'

interface SilentAgent {
  id: string
  key: TestKey
  clientKey: TestKey
  stop(): Promise<void>
}

describe('explicit registration', () => {
  const clock = new ManualClock()
  let ta: TestEntity, ia: TestEntity, as: TestEntity, other: TestEntity
  const stops: Array<() => Promise<void>> = []

  /** An agent that answers 404 to /.well-known/openid-federation; IA vouches for its key. */
  async function silentAgent(superior = ia): Promise<SilentAgent> {
    const leaf = await startLeaf({ clock })
    leaf.respond = (_req, res) => (res.writeHead(404).end(), true)
    stops.push(() => leaf.stop())
    await onboard(superior, leaf.entityId, { jwks: { keys: [leaf.key.publicJwk] }, entity_types: ['oauth_client'] })
    return { id: leaf.entityId, key: leaf.key, clientKey: await testKey(), stop: () => leaf.stop() }
  }

  /** The registration request: the agent's entity configuration tailored for AS. */
  function request(a: SilentAgent, o: { aud?: unknown; hints?: string[]; client?: Record<string, unknown>; header?: Record<string, unknown>; key?: TestKey } = {}): Promise<string> {
    const now = clock.now()
    return signStatement({
      iss: a.id, sub: a.id, iat: now, exp: now + 3600, aud: o.aud ?? as.entityId, jwks: { keys: [a.key.publicJwk] },
      authority_hints: o.hints ?? [ia.entityId], metadata: { oauth_client: clientMetadata(a.clientKey, o.client) },
    }, o.key ?? a.key, o.header ?? {})
  }

  async function register(body: string, type = 'application/entity-statement+jwt'): Promise<{ status: number; type: string | null; text: string; body?: any }> {
    const res = await fetch(`${as.entityId}/oauth/register`, { method: 'POST', headers: { 'content-type': type }, body })
    const text = await res.text()
    return { status: res.status, type: res.headers.get('content-type'), text, ...(res.headers.get('content-type')?.startsWith('application/json') ? { body: JSON.parse(text) } : {}) }
  }

  const fetchStatement = async (superior: TestEntity, sub: string) => (await superior.get(`/fetch?sub=${encodeURIComponent(sub)}`)).text()
  const anchorEc = async () => (await ta.get('/.well-known/openid-federation')).text()
  const token = async (a: SilentAgent): Promise<OAuthAnswer> =>
    tokenRequest(as, await assertion(a.clientKey, { iss: a.id, aud: as.entityId, now: realNow() }), { resource: RESOURCE })

  before(async () => {
    ta = await startEntity({ clock })
    other = await startEntity({ clock })
    ia = await startEntity({ clock, authority_hints: [ta.entityId] })
    as = await startAuthorizationServer({ clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId] })
    await onboard(ta, ia.entityId, { intermediate: true })
    await onboard(ta, as.entityId)
  })
  after(async () => {
    await Promise.all([ta, ia, as, other].map((e) => e?.stop()))
    await Promise.all(stops.map((s) => s()))
  })

  it('answers an entity configuration with a signed explicit-registration-response+jwt', async () => {
    const a = await silentAgent()
    const req = await request(a)
    const r = await register(req)
    assert.equal(r.status, 200, r.text)
    assert.equal(r.type, 'application/explicit-registration-response+jwt')
    const asEc = decode(await (await as.get('/.well-known/openid-federation')).text()).payload
    const { payload, protectedHeader } = await jwtVerify(r.text, createLocalJWKSet(asEc.jwks), { typ: 'explicit-registration-response+jwt', currentDate: new Date(clock.now() * 1000) })
    assert.ok(protectedHeader.kid)
    assert.equal(payload.iss, as.entityId)
    assert.equal(payload.sub, a.id)
    assert.equal(payload.aud, a.id)
    assert.equal(payload.iat, clock.now())
    assert.equal(payload.trust_anchor, ta.entityId)
    assert.deepEqual(payload.authority_hints, [ia.entityId])
    assert.deepEqual(payload.jwks, decode(req).payload.jwks)
    const chainExp = Math.min(decode(req).payload.exp, ...[await fetchStatement(ia, a.id), await fetchStatement(ta, ia.entityId), await anchorEc()].map((j) => decode(j).payload.exp))
    assert.ok((payload.exp as number) <= chainExp)
    const md = (payload.metadata as any).oauth_client
    assert.equal(md.client_id, a.id)
    assert.equal(md.token_endpoint_auth_method, 'private_key_jwt')
    assert.deepEqual(md.jwks, { keys: [a.clientKey.publicJwk] })
    assert.deepEqual(Object.keys(payload.metadata as object), ['oauth_client'])
  })

  it('lets the explicitly registered agent, which publishes no entity configuration, obtain tokens', async () => {
    const a = await silentAgent()
    assert.equal((await register(await request(a))).status, 200)
    const t = await token(a)
    assert.equal(t.status, 200, JSON.stringify(t.body))
    const reg = await as.admin('GET', `/admin/clients/${encodeURIComponent(a.id)}`)
    assert.equal(reg.body.registration_type, 'explicit')
  })

  it('accepts a trust chain as the body (application/trust-chain+json)', async () => {
    const a = await silentAgent()
    const chain = [await request(a), await fetchStatement(ia, a.id), await fetchStatement(ta, ia.entityId), await anchorEc()]
    const r = await register(JSON.stringify(chain), 'application/trust-chain+json')
    assert.equal(r.status, 200, r.text)
    assert.equal(decode(r.text).payload.trust_anchor, ta.entityId)
  })

  it('accepts a trust_chain header in the request entity configuration', async () => {
    const a = await silentAgent()
    const published = await signStatement({ iss: a.id, sub: a.id, iat: clock.now(), exp: clock.now() + 3600, jwks: { keys: [a.key.publicJwk] }, authority_hints: [ia.entityId] }, a.key)
    const chain = [published, await fetchStatement(ia, a.id), await fetchStatement(ta, ia.entityId)]
    const r = await register(await request(a, { header: { trust_chain: chain } }))
    assert.equal(r.status, 200, r.text)
  })

  it('checks a peer_trust_chain header: it must be a chain about this server to the same anchor', async () => {
    const a = await silentAgent()
    const resolveChain = async (sub: string) => decode(await (await ta.get(`/resolve?sub=${encodeURIComponent(sub)}&trust_anchor=${encodeURIComponent(ta.entityId)}`)).text()).payload.trust_chain as string[]
    const published = await signStatement({ iss: a.id, sub: a.id, iat: clock.now(), exp: clock.now() + 3600, jwks: { keys: [a.key.publicJwk] }, authority_hints: [ia.entityId] }, a.key)
    const own = [published, await fetchStatement(ia, a.id), await fetchStatement(ta, ia.entityId)]
    const ok = await register(await request(a, { header: { trust_chain: own, peer_trust_chain: await resolveChain(as.entityId) } }))
    assert.equal(ok.status, 200, ok.text)
    const wrong = await register(await request(a, { header: { peer_trust_chain: await resolveChain(ia.entityId) } }))
    assert.equal(wrong.status, 400, wrong.text)
    assert.equal(wrong.body.error, 'invalid_trust_chain')
    assert.ok(wrong.body.error_description.includes(`expected ${as.entityId}`), wrong.body.error_description)
  })

  it('invalidates the previous registration and its tokens when the agent registers again', async () => {
    const a = await silentAgent()
    assert.equal((await register(await request(a))).status, 200)
    const first = (await token(a)).body.access_token
    const ask = async (t: string) => (await introspect(as, t, await assertion(a.clientKey, { iss: a.id, aud: as.entityId, now: realNow() }))).body
    assert.equal((await ask(first)).active, true)
    assert.equal((await register(await request(a))).status, 200)
    assert.deepEqual(await ask(first), { active: false })
    const second = (await token(a)).body.access_token
    assert.equal((await ask(second)).active, true)
  })

  describe('error responses', () => {
    it('refuses a request whose aud is not this server: 400 invalid_request', async () => {
      const a = await silentAgent()
      const r = await register(await request(a, { aud: 'https://someone-else.example' }))
      assert.equal(r.status, 400, r.text)
      assert.equal(r.body.error, 'invalid_request')
      assert.match(r.body.error_description, /aud must be http:\/\/127\.0\.0\.1:\d+ and nothing else/)
      const two = await register(await request(a, { aud: [as.entityId, 'https://someone-else.example'] }))
      assert.equal(two.body.error, 'invalid_request')
    })

    it('refuses a trust chain whose anchor is unknown: 404 invalid_trust_anchor', async () => {
      const a = await silentAgent(other)
      const chain = [await request(a, { hints: [other.entityId] }), await fetchStatement(other, a.id), await (await other.get('/.well-known/openid-federation')).text()]
      const r = await register(JSON.stringify(chain), 'application/trust-chain+json')
      assert.equal(r.status, 404, r.text)
      assert.equal(r.body.error, 'invalid_trust_anchor')
      assert.ok(r.body.error_description.includes(`ends at ${other.entityId}`))
    })

    it('refuses a trust chain whose statements do not link: 400 invalid_trust_chain', async () => {
      const a = await silentAgent()
      const chain = [await request(a), await fetchStatement(ta, ia.entityId), await anchorEc()]
      const r = await register(JSON.stringify(chain), 'application/trust-chain+json')
      assert.equal(r.status, 400, r.text)
      assert.equal(r.body.error, 'invalid_trust_chain')
      assert.ok(r.body.error_description.includes(`subordinate statement ${ta.entityId} -> ${a.id}`), r.body.error_description)
    })

    it('refuses an agent whose chain leads to an anchor it does not trust: 400 invalid_trust_chain', async () => {
      const a = await silentAgent(other)
      const r = await register(await request(a, { hints: [other.entityId] }))
      assert.equal(r.status, 400, r.text)
      assert.equal(r.body.error, 'invalid_trust_chain')
    })

    it('refuses a request not signed with a key of its jwks: 400 invalid_request', async () => {
      const a = await silentAgent()
      const r = await register(await request(a, { key: await testKey() }))
      assert.equal(r.status, 400, r.text)
      assert.equal(r.body.error, 'invalid_request')
    })

    it('refuses metadata it cannot serve: 400 invalid_client_metadata, 400 invalid_redirect_uri', async () => {
      const a = await silentAgent()
      const grants = await register(await request(a, { client: { grant_types: ['authorization_code'] } }))
      assert.equal(grants.status, 400, grants.text)
      assert.equal(grants.body.error, 'invalid_client_metadata')
      const method = await register(await request(a, { client: { token_endpoint_auth_method: 'client_secret_basic' } }))
      assert.equal(method.body.error, 'invalid_client_metadata')
      const uri = await register(await request(a, { client: { redirect_uris: ['https://agent.example/cb#frag'] } }))
      assert.equal(uri.status, 400)
      assert.equal(uri.body.error, 'invalid_redirect_uri')
    })

    it('refuses another content type: 400 invalid_request', async () => {
      const r = await register('{}', 'application/json')
      assert.equal(r.status, 400)
      assert.equal(r.body.error, 'invalid_request')
    })

    it('audits registrations and refusals', async () => {
      const { body } = await as.admin('GET', '/admin/audit?action=client.register&limit=1000')
      const outcomes = new Set(body.events.map((e: any) => `${e.outcome} ${e.detail.error ?? ''}`.trim()))
      for (const o of ['success', 'failure invalid_request', 'failure invalid_trust_anchor', 'failure invalid_trust_chain', 'failure invalid_client_metadata']) assert.ok(outcomes.has(o), o)
    })
  })

  it('re-evaluates an explicit registration from its request: removal at the intermediate ends it', async () => {
    const a = await silentAgent()
    assert.equal((await register(await request(a))).status, 200)
    assert.equal((await token(a)).status, 200)
    assert.equal((await ia.admin('DELETE', `/admin/subordinates/${encodeURIComponent(a.id)}`)).status, 204)
    assert.equal((await token(a)).status, 200, 'still registered until re-evaluation is due')
    clock.advance(301)
    expectError(await token(a), 401, 'invalid_client', 'invalidated at re-evaluation')
    const reg = await as.admin('GET', `/admin/clients/${encodeURIComponent(a.id)}`)
    assert.equal(reg.body.status, 'invalidated')
  })
})
