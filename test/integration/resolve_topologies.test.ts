/**
 * Two topologies, each entity on its own loopback port with its own keys.
 *
 * A. Two intermediates with different policies:
 *
 *            TA                 TA -> IA1: client_name value "via IA1"
 *          /    \               TA -> IA2: client_name value "via IA2"
 *        IA1    IA2
 *          \    /
 *           LEAF                authority_hints [IA1, IA2]
 *
 * B. Two anchors, and a resolver R that pins both (and, having no superiors, itself):
 *
 *        TA1       TA2
 *         |       /   \
 *        IA      /     \
 *         \     /       \
 *          LEAF       LEAF2     LEAF: [IA, TA2]   LEAF2: [TA2, TA1] (TA1 also onboards LEAF2)
 *
 *        R  (trust_anchors: TA1, TA2 in that order)
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import {
  startEntity, startLeaf, onboard, pinned, resolveAt, assertFailure, decode, RP_METADATA,
  type TestEntity, type TestLeaf,
} from '../support/federation.js'

const named = (n: string) => ({ openid_relying_party: { client_name: { value: n } } })

describe('resolve: two intermediates with different policies', () => {
  const clock = new ManualClock()
  let ta: TestEntity, ia1: TestEntity, ia2: TestEntity, leaf: TestLeaf
  before(async () => {
    ta = await startEntity({ clock })
    ia1 = await startEntity({ clock, authority_hints: [ta.entityId] })
    ia2 = await startEntity({ clock, authority_hints: [ta.entityId] })
    leaf = await startLeaf({ clock, authority_hints: [ia1.entityId, ia2.entityId], metadata: RP_METADATA })
    await onboard(ta, ia1.entityId, { intermediate: true, metadata_policy: named('via IA1') })
    await onboard(ta, ia2.entityId, { intermediate: true, metadata_policy: named('via IA2') })
    await onboard(ia1, leaf.entityId)
    await onboard(ia2, leaf.entityId)
  })
  after(() => Promise.all([ta, ia1, ia2, leaf].map((e) => e?.stop())))

  const ask = () => resolveAt(ta, { sub: leaf.entityId, trust_anchor: ta.entityId })

  it('chooses the first of two equally short chains and applies its policy', async () => {
    const r = await ask()
    assert.equal(r.status, 200, r.text)
    assert.equal(r.payload!.metadata.openid_relying_party.client_name, 'via IA1')
    assert.equal(decode(r.payload!.trust_chain[1]).payload.iss, ia1.entityId)
  })

  it('falls back to the other chain once the first stops resolving (after the cache bound passes)', async () => {
    const del = await ia1.admin('DELETE', `/admin/subordinates/${encodeURIComponent(leaf.entityId)}`)
    assert.equal(del.status, 204)
    clock.advance(3_601) // well past the propagation bound (docs/resolution.md): remote statements and answers are fetched again
    const r = await ask()
    assert.equal(r.status, 200, r.text)
    assert.equal(r.payload!.metadata.openid_relying_party.client_name, 'via IA2')
    assert.equal(decode(r.payload!.trust_chain[1]).payload.iss, ia2.entityId)
  })
})

describe('resolve: two trust anchors', () => {
  const clock = new ManualClock()
  let ta1: TestEntity, ta2: TestEntity, ia: TestEntity, r: TestEntity, leaf: TestLeaf, leaf2: TestLeaf
  before(async () => {
    ta1 = await startEntity({ clock })
    ta2 = await startEntity({ clock })
    ia = await startEntity({ clock, authority_hints: [ta1.entityId] })
    leaf = await startLeaf({ clock, authority_hints: [ia.entityId, ta2.entityId], metadata: RP_METADATA })
    leaf2 = await startLeaf({ clock, authority_hints: [ta2.entityId, ta1.entityId], metadata: RP_METADATA })
    await onboard(ta1, ia.entityId, { intermediate: true })
    await onboard(ia, leaf.entityId)
    await onboard(ta2, leaf.entityId)
    await onboard(ta1, leaf2.entityId)
    await onboard(ta2, leaf2.entityId)
    r = await startEntity({ clock, config: { trust_anchors: [await pinned(ta1), await pinned(ta2)] } })
  })
  after(() => Promise.all([ta1, ta2, ia, r, leaf, leaf2].map((e) => e?.stop())))

  const anchorOf = (res: Awaited<ReturnType<typeof resolveAt>>) => decode(res.payload!.trust_chain.at(-1)).payload.iss

  it('resolves to the anchor asked for', async () => {
    const a = await resolveAt(r, { sub: leaf.entityId, trust_anchor: ta1.entityId })
    assert.equal(a.status, 200, a.text)
    assert.equal(a.payload!.trust_chain.length, 4)
    assert.equal(anchorOf(a), ta1.entityId)
    const b = await resolveAt(r, { sub: leaf.entityId, trust_anchor: ta2.entityId })
    assert.equal(b.payload!.trust_chain.length, 3)
    assert.equal(anchorOf(b), ta2.entityId)
  })

  it('prefers the shorter chain when several anchors are asked for', async () => {
    const a = await resolveAt(r, { sub: leaf.entityId, trust_anchor: [ta1.entityId, ta2.entityId] })
    assert.equal(anchorOf(a), ta2.entityId)
  })

  it('breaks a tie by configured anchor order, not by request or hint order', async () => {
    const a = await resolveAt(r, { sub: leaf2.entityId, trust_anchor: [ta2.entityId, ta1.entityId] })
    assert.equal(a.status, 200, a.text)
    assert.equal(anchorOf(a), ta1.entityId)
  })

  it('gives the same chain and metadata from the anchor (own statements, no HTTP) as from a remote resolver', async () => {
    const local = await resolveAt(ta1, { sub: leaf.entityId, trust_anchor: ta1.entityId })
    const remote = await resolveAt(r, { sub: leaf.entityId, trust_anchor: ta1.entityId })
    assert.equal(local.status, 200, local.text)
    // The leaf signs its configuration afresh on every request; everything the anchor signed is byte-identical.
    assert.deepEqual(local.payload!.trust_chain.slice(1), remote.payload!.trust_chain.slice(1))
    assert.deepEqual(decode(local.payload!.trust_chain[0]).payload, decode(remote.payload!.trust_chain[0]).payload)
    assert.deepEqual(local.payload!.metadata, remote.payload!.metadata)
    assert.equal(local.payload!.exp, remote.payload!.exp)
  })

  it('does not use anchor keys that are not pinned', async () => {
    const rotated = await ta1.admin('POST', '/admin/keys/rotate', {})
    assert.equal(rotated.status, 201)
    clock.advance(3_601) // past every cache of the earlier answers and statements
    const a = await resolveAt(r, { sub: leaf.entityId, trust_anchor: ta1.entityId })
    assertFailure(a, 'invalid_trust_chain', 400, `entity configuration of ${ta1.entityId}`, 'anchor_key')
    assert.match(a.error!.error_description, /only pinned keys are used/)
  })
})
