/**
 * Trust marks in resolution, end to end, with a delegated issuer that is not the anchor:
 *
 *            TA  (owner of TYPE; trust_mark_owners, trust_mark_issuers; resolves)
 *           /  \
 *         TMI   LEAF        both subordinates of TA, each an Anchorage deployment on its own port
 *   (issues TYPE with        (carries TMI's mark in its entity configuration)
 *    TA's delegation)
 *
 * /resolve at TA includes the mark only while it passes "Validating a Trust Mark" against TA.
 */
import { strict as assert } from 'node:assert'
import { startEntity, decode, type TestEntity } from '../support/entity.js'

const TYPE = 'https://federation.example.org/tm/agent-provider'
const enc = encodeURIComponent

describe('trust marks in resolve answers', () => {
  let ta: TestEntity
  let tmi: TestEntity
  let leaf: TestEntity
  const ec = async (e: TestEntity) => decode(await (await e.get('/.well-known/openid-federation')).text()).payload
  const resolve = async () => {
    const res = await ta.get(`/resolve?sub=${enc(leaf.entityId)}&trust_anchor=${enc(ta.entityId)}`)
    assert.equal(res.status, 200, await res.clone().text())
    return decode(await res.text()).payload
  }

  before(async () => {
    ta = await startEntity()
    tmi = await startEntity({ clock: ta.clock, authority_hints: [ta.entityId] })
    leaf = await startEntity({ clock: ta.clock, authority_hints: [ta.entityId] })
    for (const e of [tmi, leaf]) assert.equal((await ta.admin('POST', '/admin/subordinates', { entity_id: e.entityId })).status, 201)
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-owners', { [TYPE]: { sub: ta.entityId, jwks: (await ec(ta)).jwks } })).status, 200)
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-issuers', { [TYPE]: [tmi.entityId] })).status, 200)
    const d = await ta.admin('POST', '/admin/trust-mark-delegations', { trust_mark_type: TYPE, issuer: tmi.entityId })
    assert.equal((await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: TYPE, lifetime: 86_400, delegation: d.body.delegation })).status, 201)
    assert.equal((await tmi.admin('POST', '/admin/trust-marks', { trust_mark_type: TYPE, sub: leaf.entityId })).status, 201)
    assert.equal((await leaf.admin('POST', '/admin/own-trust-marks', { trust_mark_type: TYPE, issuer: tmi.entityId })).status, 201)
  })
  after(async () => {
    await Promise.all([ta?.stop(), tmi?.stop(), leaf?.stop()])
  })

  it('includes a mark from a delegated issuer allowed by the anchor, and bounds exp by it', async () => {
    const answer = await resolve()
    assert.equal(answer.trust_marks.length, 1)
    const mark = answer.trust_marks[0]
    assert.equal(mark.trust_mark_type, TYPE)
    const claims = decode(mark.trust_mark).payload
    assert.equal(claims.iss, tmi.entityId)
    assert.equal(claims.sub, leaf.entityId)
    assert.ok(answer.exp <= claims.exp)
  })

  it('drops the mark at once when the anchor no longer allows its issuer', async () => {
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-issuers', { [TYPE]: ['https://someone-else.example.org'] })).status, 200)
    try {
      assert.deepEqual((await resolve()).trust_marks, [])
    } finally {
      await ta.admin('PUT', '/admin/trust-mark-issuers', { [TYPE]: [tmi.entityId] })
    }
    assert.equal((await resolve()).trust_marks.length, 1)
  })

  it('drops the mark when the issuer leaves the federation (its keys no longer resolve)', async () => {
    assert.equal((await ta.admin('POST', `/admin/subordinates/${enc(tmi.entityId)}/suspend`)).status, 200)
    try {
      assert.deepEqual((await resolve()).trust_marks, [])
    } finally {
      await ta.admin('POST', `/admin/subordinates/${enc(tmi.entityId)}/reinstate`)
    }
  })

  it('drops the mark when the anchor names an owner whose delegation the mark lacks', async () => {
    const other = { sub: 'https://other-owner.example.org', jwks: (await ec(tmi)).jwks }
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-owners', { [TYPE]: other })).status, 200)
    assert.deepEqual((await resolve()).trust_marks, [])
  })
})
