/**
 * Trust mark status requests are outbound work of the resolution that asks them: they are
 * charged to its work budget (resolver.budget_fetches), so a subject carrying many marks
 * cannot make one /resolve send more requests than the budget allows.
 *
 *              TA  (Anchorage anchor)
 *            /    \
 *         TMI      LEAF     (TMI issues MARKS marks of distinct types; LEAF carries them all)
 *
 *   TIGHT       resolver trusting TA, budget_fetches just above what the chains need; status_check "always"
 *   TIGHT_NEVER the same budget, status_check "never"
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { startEntity, onboard, pinned, resolveAt, type TestEntity } from '../support/federation.js'

const MARKS = 6
const TYPES = Array.from({ length: MARKS }, (_, i) => `https://federation.example.org/tm/m${i}`)
/** Chains: LEAF's configuration, TA's, TA's statement about LEAF, TMI's configuration and TA's statement about TMI. */
const CHAIN_FETCHES = 5
/** The status checks would add TMI's configuration and one POST per mark. */
const BUDGET = CHAIN_FETCHES + 2

describe('hostile: trust mark status requests count against the resolution budget', () => {
  const clock = new ManualClock()
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort()
  let ta: TestEntity, tmi: TestEntity, leaf: TestEntity, tight: TestEntity, tightNever: TestEntity

  before(async () => {
    ta = await startEntity({ clock })
    tmi = await startEntity({ clock, authority_hints: [ta.entityId] })
    leaf = await startEntity({ clock, authority_hints: [ta.entityId] })
    await onboard(ta, tmi.entityId)
    await onboard(ta, leaf.entityId)
    for (const type of TYPES) {
      assert.equal((await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: type })).status, 201)
      const issued = await tmi.admin('POST', '/admin/trust-marks', { trust_mark_type: type, sub: leaf.entityId })
      assert.equal((await leaf.admin('POST', '/admin/own-trust-marks', { trust_mark: issued.body.trust_mark })).status, 201)
    }
    const anchors = [await pinned(ta)]
    tight = await startEntity({ clock, config: { trust_anchors: anchors, resolver: { budget_fetches: BUDGET } } })
    tightNever = await startEntity({ clock, config: { trust_anchors: anchors, resolver: { budget_fetches: BUDGET }, trust_marks: { status_check: 'never' } } })
  })
  after(async () => {
    await Promise.all([ta, tmi, leaf, tight, tightNever].map((e) => e?.stop()))
  })
  afterEach(() => {
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore, 'Object.prototype gained a property')
  })

  it('resolves within the budget when no status is asked (the chains alone fit)', async () => {
    const r = await resolveAt(tightNever, { sub: leaf.entityId, trust_anchor: ta.entityId })
    assert.equal(r.status, 200, r.text)
    assert.equal(r.payload!.trust_marks.length, MARKS)
  })

  it('ends the resolution with the budget error when the status requests would exceed it', async () => {
    const r = await resolveAt(tight, { sub: leaf.entityId, trust_anchor: ta.entityId })
    assert.equal(r.status, 400, r.text)
    assert.equal(r.error?.error, 'invalid_trust_chain')
    assert.match(r.error?.error_description ?? '', new RegExp(`resolution work budget exceeded: ${BUDGET} outbound fetches \\(resolver\\.budget_fetches\\)`))
  })

  it('still resolves a good subject (one without marks) at the same deployment afterwards', async () => {
    const r = await resolveAt(tight, { sub: tmi.entityId, trust_anchor: ta.entityId })
    assert.equal(r.status, 200, r.text)
  })
})
