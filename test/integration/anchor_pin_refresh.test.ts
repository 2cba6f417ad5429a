/**
 * Topology: TA (a test-controlled authority: which key signs what is up to the test) <- LEAF,
 * and R, an Anchorage resolver pinning TA's first key K1.
 *
 * A statement of the anchor signed by an unpinned kid makes R refresh the pin once: the
 * anchor's configuration, verified with a pinned key, vouches for the new key, and the
 * resolution succeeds. A configuration signed only by an unpinned key moves nothing.
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { startEntity, startLeaf, startAuthority, jwksOf, testKey, resolveAt, type TestEntity, type TestLeaf, type FakeAuthority, type TestKey } from '../support/federation.js'

describe('a resolver refreshes a pinned anchor when the anchor signs with a kid it has not pinned', () => {
  const clock = new ManualClock()
  let ta: FakeAuthority, leaf: TestLeaf, r: TestEntity
  let k1: TestKey, k2: TestKey
  beforeEach(async () => {
    k1 = await testKey()
    k2 = await testKey()
    ta = await startAuthority({ clock, key: k1 })
    leaf = await startLeaf({ clock, authority_hints: [ta.entityId] })
    ta.subordinates.set(leaf.entityId, { jwks: jwksOf(leaf) })
    r = await startEntity({ clock, config: { trust_anchors: [{ entity_id: ta.entityId, jwks: { keys: [k1.publicJwk] } }] } })
  })
  afterEach(async () => {
    await Promise.all([ta?.stop(), leaf?.stop(), r?.stop()])
  })

  const pinEvents = async () => (await r.admin('GET', '/admin/audit?action=anchor.pin')).body.events as Array<{ detail: { kids: string[]; signed_by: string } }>

  it('learns the new key from the configuration signed by the pinned key, then resolves', async () => {
    // The anchor's configuration (signed by K1) lists K1 and K2; its statements are signed by K2.
    ta.ecClaims.jwks = { keys: [k1.publicJwk, k2.publicJwk] }
    ta.tamper = (what, s) => {
      if (what === 'ss') s.key = k2
    }
    const res = await resolveAt(r, { sub: leaf.entityId, trust_anchor: ta.entityId })
    assert.equal(res.status, 200, res.text)
    const events = await pinEvents()
    assert.equal(events.length, 1)
    assert.deepEqual(events[0]!.detail.kids, [k1.kid, k2.kid])
    assert.equal(events[0]!.detail.signed_by, k1.kid)
  })

  it('refuses a new key from a configuration signed only by an unpinned key, and keeps the pin', async () => {
    ta.ecClaims.jwks = { keys: [k2.publicJwk] }
    ta.tamper = (_what, s) => {
      s.key = k2
    }
    const res = await resolveAt(r, { sub: leaf.entityId, trust_anchor: ta.entityId })
    assert.equal(res.status, 400, res.text)
    assert.equal(res.error!.error, 'invalid_trust_chain')
    assert.match(res.error!.error_description, new RegExp(`"anchor_key": kid "${k2.kid}" is not among the pinned keys`))
    assert.deepEqual(await pinEvents(), [])
    const refresh = await r.admin('POST', '/admin/anchors/refresh', { anchor: ta.entityId })
    assert.equal(refresh.body.error, 'invalid_trust_anchor')
    const anchors = (await r.admin('GET', '/admin/anchors')).body.anchors as Array<{ kids: string[] }>
    assert.deepEqual(anchors[0]!.kids, [k1.kid])
  })
})
