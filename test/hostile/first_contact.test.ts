/**
 * Hostile clients at the authorization server: a first contact at the token endpoint, and
 * an explicit registration, whose chains fan out; unsigned and replayed assertions; a
 * trust_chain header treated the same way for a registered client as at first contact.
 *
 *   TA (Anchorage)  <-  AS (Anchorage, authorization server, pins TA)
 *        ^
 *        +-- good (agent, onboarded at TA)
 *
 *   hostile server, nothing leading to TA: c<d>/r<d>: a client (oauth_client metadata, its
 *   own client key) with 5 authority_hints, each with 5 more, d levels up (d = 2..5)
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { DEFAULTS } from '../../src/config/defaults.js'
import { startEntity, onboard, pinned, decode, testKey, type TestEntity, type TestKey } from '../support/federation.js'
import { signStatement } from '../support/entity.js'
import { startAuthorizationServer, startAgent, tokenRequest, expectError, weakAssertion, assertion, clientMetadata, RESOURCE, type Agent, realNow } from '../support/agent.js'
import { startHostile, type HostileServer, type HostileEntity } from '../support/hostile.js'

const BUDGET = DEFAULTS.resolver.budget_fetches
const prototypeNames = () => Object.getOwnPropertyNames(Object.prototype).sort()

describe('hostile clients at the authorization server', () => {
  const clock = new ManualClock()
  const protoBefore = prototypeNames()
  let ta: TestEntity, as: TestEntity
  let h: HostileServer
  let good: Agent
  const agents: Agent[] = []

  before(async () => {
    ta = await startEntity({ clock })
    as = await startAuthorizationServer({ clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId] })
    await onboard(ta, as.entityId)
    h = await startHostile({ clock })
    good = await newAgent()
  })
  after(async () => {
    await h?.stop()
    await Promise.all([ta, as].map((e) => e?.stop()))
    await Promise.all(agents.map((a) => a.stop()))
  })

  async function newAgent(): Promise<Agent> {
    const a = await startAgent({ clock, authority_hints: [ta.entityId] })
    agents.push(a)
    await onboard(ta, a.id)
    return a
  }

  /** A hostile client at the leaf of a 5x5 tree of `depth`, with a client key of its own. */
  async function hostileClient(prefix: string, depth: number): Promise<{ leaf: HostileEntity; clientKey: TestKey }> {
    const clientKey = await testKey()
    const t = h.tree({ prefix, k: 5, depth, leaf: { metadata: { oauth_client: clientMetadata(clientKey) } } })
    return { leaf: t.leaf, clientKey }
  }

  async function stillHealthy(): Promise<void> {
    assert.deepEqual(prototypeNames(), protoBefore)
    const r = await tokenRequest(as, await good.assertion(as.entityId), { resource: RESOURCE })
    assert.equal(r.status, 200, JSON.stringify(r.body))
  }

  for (const depth of [2, 3, 4, 5]) {
    it(`first contact at the token endpoint, 5x5 tree of depth ${depth}: at most ${BUDGET} fetches, 401 invalid_client naming the budget; repeating it costs none`, async () => {
      const { leaf, clientKey } = await hostileClient(`c${depth}`, depth)
      h.requests.reset()
      const signed = () => assertion(clientKey, { iss: leaf.id, aud: as.entityId, now: realNow() })
      const first = await tokenRequest(as, await signed(), { resource: RESOURCE })
      expectError(first, 401, 'invalid_client', `${leaf.id}: resolution work budget exceeded: ${BUDGET} outbound fetches (resolver.budget_fetches); reached ${BUDGET} outbound fetches`)
      assert.equal(h.requests.total, BUDGET)
      // failure_cache_ttl: the same client again, within 10 s, is refused from memory.
      expectError(await tokenRequest(as, await signed(), { resource: RESOURCE }), 401, 'invalid_client', 'resolution work budget exceeded')
      assert.equal(h.requests.total, BUDGET)
      await stillHealthy()
    })
  }

  it('refuses an unsigned assertion, sent again and again, without any outbound fetch', async () => {
    const { leaf } = await hostileClient('unsigned', 5)
    h.requests.reset()
    const x = await weakAssertion('none', { iss: leaf.id, aud: as.entityId, now: clock.now() })
    for (let i = 0; i < 3; i++) expectError(await tokenRequest(as, x, { resource: RESOURCE }), 401, 'invalid_client', 'client_assertion: alg "none" is not allowed')
    const stale = await assertion((await hostileClient('stale', 5)).clientKey, { iss: h.idOf('stale'), aud: as.entityId, now: realNow() - 1000 })
    expectError(await tokenRequest(as, stale, { resource: RESOURCE }), 401, 'invalid_client', 'client_assertion: expired')
    assert.equal(h.requests.total, 0)
    await stillHealthy()
  })

  it('refuses a replayed assertion of a registered client before any other work', async () => {
    const x = await good.assertion(as.entityId)
    assert.equal((await tokenRequest(as, x, { resource: RESOURCE })).status, 200)
    expectError(await tokenRequest(as, x, { resource: RESOURCE }), 401, 'invalid_client', 'client_assertion: replayed')
  })

  it('tries a failed first contact again once failure_cache_ttl has passed, within the budget again', async () => {
    const { leaf, clientKey } = await hostileClient('again', 3)
    const signed = () => assertion(clientKey, { iss: leaf.id, aud: as.entityId, now: realNow() })
    expectError(await tokenRequest(as, await signed(), { resource: RESOURCE }), 401, 'invalid_client', 'resolution work budget exceeded')
    clock.advance(DEFAULTS.authorization_server.failure_cache_ttl + 1)
    h.requests.reset()
    expectError(await tokenRequest(as, await signed(), { resource: RESOURCE }), 401, 'invalid_client', 'resolution work budget exceeded')
    assert.ok(h.requests.total > 0 && h.requests.total <= BUDGET, `${h.requests.total} requests`)
  })

  it('charges fetching the client\'s keys (jwks_uri) to the request\'s budget: a silent key server is refused after budget_ms', async () => {
    const as2 = await startAuthorizationServer({
      clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId],
      config: { resolver: { budget_ms: 300 }, outbound: { allow_http: true, allow_private_network: true, timeout_ms: 5_000 } },
    })
    try {
      const keys = h.add('silent-keys')
      keys.silent = true
      const clientKey = await testKey()
      const a = await startAgent({ clock, authority_hints: [ta.entityId], oauthClient: { jwks: undefined, jwks_uri: `${keys.id}/.well-known/openid-federation` } })
      agents.push(a)
      await onboard(ta, a.id)
      const t0 = performance.now()
      const r = await tokenRequest(as2, await assertion(clientKey, { iss: a.id, aud: as2.entityId, now: realNow() }), { resource: RESOURCE })
      assert.ok(performance.now() - t0 < 3_000)
      expectError(r, 401, 'invalid_client', `fetching keys of ${a.id}: resolution work budget exceeded: 300 ms of wall time (resolver.budget_ms)`)
    } finally {
      await as2.stop()
    }
  })

  for (const depth of [2, 3, 4, 5]) {
    it(`explicit registration, 5x5 tree of depth ${depth}: at most ${BUDGET} fetches, 400 invalid_trust_chain naming the budget`, async () => {
      const { leaf, clientKey } = await hostileClient(`r${depth}`, depth)
      const now = clock.now()
      const body = await signStatement({
        iss: leaf.id, sub: leaf.id, iat: now, exp: now + 3600, aud: as.entityId, jwks: leaf.jwks,
        authority_hints: leaf.authority_hints, metadata: { oauth_client: clientMetadata(clientKey) },
      }, leaf.key)
      h.requests.reset()
      const res = await fetch(`${as.entityId}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/entity-statement+jwt' }, body })
      const answer = (await res.json()) as { error: string; error_description: string }
      assert.equal(res.status, 400, JSON.stringify(answer))
      assert.equal(answer.error, 'invalid_trust_chain')
      assert.match(answer.error_description, new RegExp(`^resolution work budget exceeded: ${BUDGET} outbound fetches \\(resolver\\.budget_fetches\\); reached ${BUDGET} outbound fetches`))
      // The request carries the client's entity configuration: it is not fetched.
      assert.equal(h.requests.of(`r${depth}`), 0)
      assert.equal(h.requests.total, BUDGET)
      await stillHealthy()
    })
  }

  describe('a trust_chain header gets the same answer every time (spec "Trust Chain Header Parameter")', () => {
    const garbage = ['not-a-jws']
    let chain: string[]
    before(async () => {
      const r = await fetch(`${ta.entityId}/resolve?sub=${encodeURIComponent(good.id)}&trust_anchor=${encodeURIComponent(ta.entityId)}`)
      chain = decode(await r.text()).payload.trust_chain as string[]
    })
    const withHeader = (a: Agent, trust_chain: unknown) => a.assertion(as.entityId, {}, { trust_chain }).then((x) => tokenRequest(as, x, { resource: RESOURCE }))

    it('refuses a header that is not a chain, for a registered client as at first contact: 401 invalid_client', async () => {
      const fresh = await newAgent()
      const text = 'client_assertion: trust_chain header: must be a JSON array of 2 to 12 compact JWS'
      expectError(await withHeader(fresh, garbage), 401, 'invalid_client', text)
      expectError(await withHeader(good, garbage), 401, 'invalid_client', text)
      expectError(await withHeader(good, garbage), 401, 'invalid_client', text)
    })

    it('refuses a chain whose statements do not link, for a registered client as at first contact: 401 invalid_client', async () => {
      const fresh = await newAgent()
      const unlinked = [chain[0]!, chain[2]!]
      const first = await withHeader(fresh, unlinked)
      expectError(first, 401, 'invalid_client', 'client_assertion: trust_chain header: trust chain:')
      const registered = await withHeader(good, unlinked)
      expectError(registered, 401, 'invalid_client', 'client_assertion: trust_chain header: trust chain:')
    })

    it('accepts the registered client\'s valid chain', async () => {
      const r = await withHeader(good, chain)
      assert.equal(r.status, 200, JSON.stringify(r.body))
    })
  })
})
