/**
 * Exponential fan-out, loops, slow and silent servers at GET /resolve: one resolution does
 * at most the work its budget allows (resolver.budget_fetches / _verifications / _ms), all
 * branches together, and ends with invalid_trust_chain naming the limit.
 *
 *   TA (Anchorage, resolves as its own anchor)  <-  good (hostile server, onboarded at TA)
 *
 *   hostile server, nothing leading to TA:
 *     t<d>:  a leaf with 5 authority_hints, each with 5 more, d levels up (5x5 trees, d = 2..5)
 *     loop:  leaf -> r0 -> r1 -> r2 -> r0
 *     slow:  leaf -> slow (answers 12 s later by the injected clock) -> ...
 *     mixed: leaf with hints [4 superiors each under a 5x5 tree of depth 3, TA]: the short chain is found within budget
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { DEFAULTS } from '../../src/config/defaults.js'
import { startEntity, onboard, resolveAt, assertFailure, type TestEntity } from '../support/federation.js'
import { startHostile, type HostileServer } from '../support/hostile.js'

const BUDGET = DEFAULTS.resolver.budget_fetches
const prototypeNames = () => Object.getOwnPropertyNames(Object.prototype).sort()

describe('hostile federations: fan-out, loops, slow and silent servers at /resolve', () => {
  const clock = new ManualClock()
  const protoBefore = prototypeNames()
  let ta: TestEntity
  let h: HostileServer
  let goodId: string

  before(async () => {
    ta = await startEntity({ clock })
    h = await startHostile({ clock })
    const good = h.add('good', { authority_hints: [ta.entityId], metadata: { federation_entity: { organization_name: 'Good' } } })
    await onboard(ta, good.id)
    goodId = good.id
  })
  after(async () => {
    await h?.stop()
    await ta?.stop()
  })

  /** The checks every hostile case ends with: nothing added to Object.prototype, and a good subject still resolves. */
  async function stillHealthy(): Promise<void> {
    assert.deepEqual(prototypeNames(), protoBefore)
    const r = await resolveAt(ta, { sub: goodId, trust_anchor: ta.entityId })
    assert.equal(r.status, 200, r.text)
    assert.equal(r.payload?.sub, goodId)
  }

  for (const depth of [2, 3, 4, 5]) {
    it(`ends a 5x5 tree of depth ${depth} (${(5 ** (depth + 1) - 1) / 4} entities) at ${BUDGET} outbound fetches: 400 invalid_trust_chain naming the budget`, async () => {
      const t = h.tree({ prefix: `t${depth}`, k: 5, depth })
      h.requests.reset()
      const r = await resolveAt(ta, { sub: t.leaf.id, trust_anchor: ta.entityId })
      assert.equal(r.status, 400, r.text)
      assert.equal(r.error?.error, 'invalid_trust_chain')
      assert.match(r.error.error_description, new RegExp(`^resolution work budget exceeded: ${BUDGET} outbound fetches \\(resolver\\.budget_fetches\\); reached ${BUDGET} outbound fetches, \\d+ signature verifications, \\d+ ms, resolving ${t.leaf.id} to ${ta.entityId}$`))
      assert.ok(h.requests.total <= BUDGET, `${h.requests.total} requests`)
      // Every fetch the budget allowed was made: the bound is the budget, not an accident of the walk.
      assert.equal(h.requests.total, BUDGET)
      // The failure is remembered (failure_ttl): asking again costs nothing.
      assert.equal((await resolveAt(ta, { sub: t.leaf.id, trust_anchor: ta.entityId })).status, 400)
      assert.equal(h.requests.total, BUDGET)
      await stillHealthy()
    })
  }

  it('finds a short chain beside a hostile fan-out: anchor hints are walked first, within budget', async () => {
    const t = h.tree({ prefix: 'm', k: 5, depth: 4 })
    const hostile = t.levels[1]!.slice(0, 4)
    const leaf = h.add('mixed', { authority_hints: [...hostile.map((e) => e.id), ta.entityId] })
    for (const e of hostile) h.subordinate(e, leaf)
    await onboard(ta, leaf.id)
    h.requests.reset()
    const r = await resolveAt(ta, { sub: leaf.id, trust_anchor: ta.entityId })
    assert.equal(r.status, 200, r.text)
    assert.equal(r.payload?.trust_chain.length, 3)
    assert.ok(h.requests.total <= BUDGET, `${h.requests.total} requests`)
    await stillHealthy()
  })

  it('reports a loop of authority_hints and fetches each entity once: 400 invalid_trust_chain "loop"', async () => {
    const { leaf } = h.loop('loop', 3)
    h.requests.reset()
    const r = await resolveAt(ta, { sub: leaf.id, trust_anchor: ta.entityId })
    assertFailure(r, 'invalid_trust_chain', 400, `entity configuration of ${h.idOf('loop.r2')}`, 'loop')
    assert.equal(h.requests.total, 7)
    await stillHealthy()
  })

  it('ends a resolution whose servers answer slowly (by the injected clock) at budget_ms: 400 invalid_trust_chain', async () => {
    const slow = h.add('slow', { intermediate: true, authority_hints: [h.add('slow-up', { intermediate: true }).id] })
    const leaf = h.add('slow-leaf', { authority_hints: [slow.id] })
    h.subordinate(slow, leaf)
    slow.onRequest = () => clock.advance(12)
    h.requests.reset()
    const r = await resolveAt(ta, { sub: leaf.id, trust_anchor: ta.entityId })
    assert.equal(r.status, 400, r.text)
    assert.equal(r.error?.error, 'invalid_trust_chain')
    assert.match(r.error.error_description, /^resolution work budget exceeded: 10000 ms of wall time \(resolver\.budget_ms\); reached \d+ outbound fetches, \d+ signature verifications, \d+ ms/)
    assert.ok(h.requests.total <= 3, `${h.requests.total} requests`)
    await stillHealthy()
  })
})

describe('hostile federations: silent servers (real time: budget_ms 300, outbound timeout 5 s)', () => {
  const clock = new ManualClock()
  const protoBefore = prototypeNames()
  let ta: TestEntity
  let h: HostileServer

  before(async () => {
    ta = await startEntity({ clock, config: { resolver: { budget_ms: 300 }, outbound: { allow_http: true, allow_private_network: true, timeout_ms: 5_000 } } })
    h = await startHostile({ clock })
  })
  after(async () => {
    await h?.stop()
    await ta?.stop()
  })

  it('ends the resolution when its time is up although a fetch is still pending', async () => {
    const silent = h.add('silent', { intermediate: true })
    silent.silent = true
    const leaf = h.add('leaf', { authority_hints: [silent.id] })
    const t0 = performance.now()
    const r = await resolveAt(ta, { sub: leaf.id, trust_anchor: ta.entityId })
    const ms = performance.now() - t0
    assert.equal(r.status, 400, r.text)
    assert.equal(r.error?.error, 'invalid_trust_chain')
    assert.match(r.error.error_description, /^resolution work budget exceeded: 300 ms of wall time \(resolver\.budget_ms\); reached 2 outbound fetches/)
    assert.ok(ms < 3_000, `answered after ${Math.round(ms)} ms`)
    assert.equal(h.requests.of('silent'), 1)
    assert.deepEqual(prototypeNames(), protoBefore)
    const good = h.add('good', { authority_hints: [ta.entityId] })
    await onboard(ta, good.id)
    assert.equal((await resolveAt(ta, { sub: good.id, trust_anchor: ta.entityId })).status, 200)
  })

  it('bounds onboarding without jwks by the same budget: a silent member is refused after budget_ms, 400 invalid_request', async () => {
    const member = h.add('silent-member', { authority_hints: [ta.entityId] })
    member.silent = true
    const t0 = performance.now()
    const r = await ta.admin('POST', '/admin/subordinates', { entity_id: member.id })
    assert.ok(performance.now() - t0 < 3_000)
    assert.equal(r.status, 400, JSON.stringify(r.body))
    assert.equal(r.body.error, 'invalid_request')
    assert.match(r.body.error_description, /could not be fetched: resolution work budget exceeded: 300 ms of wall time \(resolver\.budget_ms\)/)
  })

  it('bounds fetching one of its own trust marks by the same budget: a silent issuer is refused after budget_ms, 400 invalid_request', async () => {
    const issuer = h.add('silent-issuer')
    issuer.silent = true
    const t0 = performance.now()
    const r = await ta.admin('POST', '/admin/own-trust-marks', { trust_mark_type: 'https://tm.example/member', issuer: issuer.id })
    assert.ok(performance.now() - t0 < 3_000)
    assert.equal(r.status, 400, JSON.stringify(r.body))
    assert.equal(r.body.error, 'invalid_request')
    assert.match(r.body.error_description, /resolution work budget exceeded: 300 ms of wall time \(resolver\.budget_ms\)/)
    assert.deepEqual(prototypeNames(), protoBefore)
  })
})
