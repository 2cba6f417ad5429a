/**
 * A delegated trust mark issuer, end to end:
 *
 *            TA  (Anchorage, own port; owner of TYPE, trust_mark_owners + trust_mark_issuers)
 *           /  \
 *   delegation  \ authority_hints
 *         v      \
 *   TMI (Anchorage, own port; issues TYPE with the TA's delegation)
 *         │ mark (fetched from TMI's trust mark endpoint)
 *         v
 *   LEAF (Anchorage, own port; carries the mark in its entity configuration)
 *
 * The leaf's mark is verified with createTrustMarkVerifier, the anchor policy read from
 * the TA's configuration and issuerKeys returning TMI's keys (as the resolver will).
 */
import { strict as assert } from 'node:assert'
import { startEntity, decode, testKey, type TestEntity } from '../support/entity.js'
import { createTrustMarkVerifier, anchorTrustMarkPolicy, TrustMarkError } from '../../src/trust_marks/verify.js'
import type { TrustMarkVerifyContext } from '../../src/trust_chain/trust_mark_verifier.js'
import { createFetcher } from '../../src/net/fetch.js'
import type { EntityStatement } from '../../src/types.js'

const TYPE = 'https://federation.example.org/tm/delegated'

describe('delegated trust mark issuer, end to end', () => {
  let ta: TestEntity
  let tmi: TestEntity
  let leaf: TestEntity
  const ec = async (e: TestEntity) => decode(await (await e.get('/.well-known/openid-federation')).text()).payload

  /** The leaf's mark of TYPE and a verification context built from the live configurations. */
  async function current(): Promise<{ token: string; ctx: TrustMarkVerifyContext }> {
    const entry = (await ec(leaf)).trust_marks?.find((m: { trust_mark_type: string }) => m.trust_mark_type === TYPE)
    assert.ok(entry, 'the leaf publishes the mark')
    const anchor = anchorTrustMarkPolicy((await ec(ta)) as EntityStatement)
    const tmiKeys = (await ec(tmi)).jwks
    return { token: entry.trust_mark, ctx: { subject: leaf.entityId, anchor, issuerKeys: async (iss) => {
      if (iss !== tmi.entityId) throw new Error(`no trust chain for ${iss}`)
      return tmiKeys
    } } }
  }
  const verifier = () => createTrustMarkVerifier({ clock: ta.clock, skew: 60 })
  const reason = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof TrustMarkError ? e.reason : String(e)))

  before(async () => {
    ta = await startEntity()
    tmi = await startEntity({ clock: ta.clock, authority_hints: [ta.entityId] })
    leaf = await startEntity({ clock: ta.clock, authority_hints: [ta.entityId] })
    const taKeys = (await ec(ta)).jwks
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-owners', { [TYPE]: { sub: ta.entityId, jwks: taKeys } })).status, 200)
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-issuers', { [TYPE]: [tmi.entityId] })).status, 200)
    const d = await ta.admin('POST', '/admin/trust-mark-delegations', { trust_mark_type: TYPE, issuer: tmi.entityId, lifetime: 7200 })
    assert.equal(d.status, 201)
    const t = await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: TYPE, lifetime: 86_400, delegation: d.body.delegation })
    assert.equal(t.status, 201, JSON.stringify(t.body))
    assert.equal((await tmi.admin('POST', '/admin/trust-marks', { trust_mark_type: TYPE, sub: leaf.entityId })).status, 201)
    const own = await leaf.admin('POST', '/admin/own-trust-marks', { trust_mark_type: TYPE, issuer: tmi.entityId })
    assert.equal(own.status, 201, JSON.stringify(own.body))
  })
  after(async () => {
    await Promise.all([ta?.stop(), tmi?.stop(), leaf?.stop()])
  })

  it('the leaf publishes a mark from TMI that embeds the TA\'s delegation, and it verifies', async () => {
    const { token, ctx } = await current()
    const claims = decode(token).payload
    assert.equal(claims.iss, tmi.entityId)
    const delegation = decode(claims.delegation)
    assert.equal(delegation.header.typ, 'trust-mark-delegation+jwt')
    assert.deepEqual([delegation.payload.iss, delegation.payload.sub, delegation.payload.trust_mark_type], [ta.entityId, tmi.entityId, TYPE])
    const v = await verifier().verify(token, TYPE, ctx)
    assert.deepEqual([v.iss, v.trust_mark_type], [tmi.entityId, TYPE])
  })

  it('caps the mark\'s exp at the delegation\'s exp', async () => {
    const { token } = await current()
    const claims = decode(token).payload
    assert.equal(claims.exp, decode(claims.delegation).payload.exp)
  })

  it('the status check (real HTTP to TMI) sees a revocation, and the listing drops the leaf', async () => {
    const fetcher = createFetcher({ allowHttp: true, allowPrivateNetwork: true, timeoutMs: 2000, maxResponseBytes: 65536 })
    const checked = createTrustMarkVerifier({ clock: ta.clock, skew: 60, status: { fetcher, when: 'always', cacheSeconds: 0 } })
    const { token, ctx } = await current()
    assert.equal(await reason(checked.verify(token, TYPE, ctx)), 'accepted')
    await tmi.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: TYPE, sub: leaf.entityId })
    assert.equal(await reason(checked.verify(token, TYPE, ctx)), 'status')
    const listed = await (await fetch(`${tmi.entityId}/trust-marked-entities?trust_mark_type=${encodeURIComponent(TYPE)}`)).json()
    assert.deepEqual(listed, [])
    // Issue again for the tests below.
    await tmi.admin('POST', '/admin/trust-marks', { trust_mark_type: TYPE, sub: leaf.entityId })
    await leaf.admin('POST', '/admin/own-trust-marks', { trust_mark_type: TYPE, issuer: tmi.entityId })
  })

  it('fails when the anchor names another owner for the type', async () => {
    const { token, ctx } = await current()
    const other = { sub: 'https://other-owner.example.org', jwks: { keys: [(await testKey()).publicJwk] } }
    assert.equal(await reason(verifier().verify(token, TYPE, { ...ctx, anchor: { ...ctx.anchor, trust_mark_owners: { [TYPE]: other } } })), 'delegation_iss')
  })

  it('fails when the anchor does not list TMI as an issuer of the type', async () => {
    await ta.admin('PUT', '/admin/trust-mark-issuers', { [TYPE]: ['https://someone-else.example.org'] })
    try {
      const { token, ctx } = await current()
      assert.equal(await reason(verifier().verify(token, TYPE, ctx)), 'issuer_not_allowed')
    } finally {
      await ta.admin('PUT', '/admin/trust-mark-issuers', { [TYPE]: [tmi.entityId] })
    }
  })

  it('fails for a mark TMI issues without the delegation while the anchor names an owner', async () => {
    await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: TYPE, lifetime: 86_400 })
    const issued = await tmi.admin('POST', '/admin/trust-marks', { trust_mark_type: TYPE, sub: leaf.entityId })
    const { ctx } = await current()
    assert.equal(await reason(verifier().verify(issued.body.trust_mark, TYPE, ctx)), 'delegation_missing')
  })

  it('TMI refuses a delegation for another type, and refuses to issue once its delegation has expired', async () => {
    const wrong = await ta.admin('POST', '/admin/trust-mark-delegations', { trust_mark_type: `${TYPE}/other`, issuer: tmi.entityId })
    const r = await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: TYPE, delegation: wrong.body.delegation })
    assert.equal(r.status, 400)
    assert.match(r.body.error_description, /^delegation: .* delegates trust_mark_type "https:\/\/federation.example.org\/tm\/delegated\/other"$/)
    const short = await ta.admin('POST', '/admin/trust-mark-delegations', { trust_mark_type: TYPE, issuer: tmi.entityId, lifetime: 100 })
    assert.equal((await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: TYPE, delegation: short.body.delegation })).status, 200)
    ta.clock.advance(101)
    const refused = await tmi.admin('POST', '/admin/trust-marks', { trust_mark_type: TYPE, sub: leaf.entityId })
    assert.equal(refused.status, 400)
    assert.match(refused.body.error_description, /^trust_mark_type: the delegation configured for .* expired at \d+; configure a new one$/)
  })
})
