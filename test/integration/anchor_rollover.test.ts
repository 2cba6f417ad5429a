/**
 * Key rollover across a real federation on loopback (ManualClock, no sleeps):
 *
 *            TA  (Anchorage trust anchor)          R:  Anchorage resolver pinning TA's keys
 *          /    \                                  AS: Anchorage authorization server pinning TA's keys
 *        IA      AS
 *        |
 *      AGENT (oauth_client, private_key_jwt)
 *
 * Staged rollover at TA and at IA: resolution at R and token requests at AS succeed at every
 * step; R and AS learn TA's staged key from its configuration (signed by the pinned key) and
 * store the new pin. An emergency rotation breaks the pinned parties until an operator
 * refreshes the pin; a configuration signed only by an unpinned key never moves the pin.
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { startEntity, onboard, pinned, resolveAt, type TestEntity } from '../support/federation.js'
import { startAuthorizationServer, startAgent, tokenRequest, type Agent } from '../support/agent.js'

const DAY = 86_400
/** Past every statement and answer cache of the resolvers (resolver.statement_ttl_max and friends). */
const CACHES = 3_601

interface World { clock: ManualClock; ta: TestEntity; ia: TestEntity; r: TestEntity; as: TestEntity; agent: Agent; stop(): Promise<void> }

async function world(): Promise<World> {
  const clock = new ManualClock()
  const ta = await startEntity({ clock })
  const ia = await startEntity({ clock, authority_hints: [ta.entityId] })
  const r = await startEntity({ clock, config: { trust_anchors: [await pinned(ta)] } })
  const as = await startAuthorizationServer({ clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId] })
  const agent = await startAgent({ clock, authority_hints: [ia.entityId] })
  await onboard(ta, ia.entityId, { intermediate: true })
  await onboard(ta, as.entityId)
  await onboard(ia, agent.id)
  return {
    clock, ta, ia, r, as, agent,
    async stop() {
      await Promise.all([ta, ia, r, as].map((e) => e.stop()))
      await agent.stop()
    },
  }
}

/** Resolution at R and a token request at AS both succeed now. */
async function works(w: World, step: string): Promise<void> {
  const res = await resolveAt(w.r, { sub: w.agent.id, trust_anchor: w.ta.entityId })
  assert.equal(res.status, 200, `${step}: resolve ${res.text}`)
  const token = await tokenRequest(w.as, await w.agent.assertion(w.as.entityId), { scope: 'mcp:tools' })
  assert.equal(token.status, 200, `${step}: token ${JSON.stringify(token.body)}`)
}

const pinKids = async (e: TestEntity): Promise<string[]> => ((await e.admin('GET', '/admin/anchors')).body.anchors[0].kids as string[]).slice().sort()
const signingKid = async (e: TestEntity): Promise<string> => (await e.federation.keystore.signingKey()).kid

describe('staged rollover at the trust anchor breaks nothing for pinned parties', () => {
  let w: World
  before(async () => {
    w = await world()
  })
  after(() => w?.stop())

  it('resolves and issues tokens at every step, and the pinned parties store the new pin', async () => {
    const k1 = await signingKid(w.ta)
    await works(w, 'before')
    const k2 = (await w.ta.admin('POST', '/admin/keys/stage', {})).body.kid as string
    await works(w, 'staged, caches warm')
    w.clock.advance(CACHES)
    await works(w, 'staged, caches expired')
    assert.deepEqual(await pinKids(w.r), [k1, k2].sort())
    assert.deepEqual(await pinKids(w.as), [k1, k2].sort())
    const early = await w.ta.admin('POST', `/admin/keys/${k2}/activate`, {})
    assert.equal(early.status, 400)
    w.clock.advance(DAY - CACHES)
    await works(w, 'staged, delay passed')
    assert.equal((await w.ta.admin('POST', `/admin/keys/${k2}/activate`, {})).status, 200)
    await works(w, 'activated, caches warm')
    w.clock.advance(CACHES)
    await works(w, 'activated, caches expired')
    assert.equal((await w.ta.admin('POST', `/admin/keys/${k1}/retire`, { reason: 'superseded' })).status, 200)
    w.clock.advance(CACHES)
    await works(w, 'old key retired')
    assert.deepEqual(await pinKids(w.r), [k2])
    const events = (await w.r.admin('GET', '/admin/audit?action=anchor.pin')).body.events as Array<{ subject: string; detail: { kids: string[]; signed_by: string } }>
    assert.equal(events.length, 2)
    assert.equal(events[0]!.subject, w.ta.entityId)
    assert.deepEqual(events[0]!.detail.kids.slice().sort(), [k1, k2].sort())
    assert.equal(events[0]!.detail.signed_by, k1)
  })

  it('keeps the configuration file pin as the bootstrap and the learned pin in the store', async () => {
    assert.equal(w.r.federation.config.trust_anchors[0]!.jwks.keys.length, 1)
    const stored = await w.r.store.get<{ id: string; jwks: { keys: unknown[] } }>('settings', `anchor_pin ${w.ta.entityId}`)
    assert.equal(stored?.jwks.keys.length, 1)
  })
})

describe('staged rollover at an intermediate breaks nothing', () => {
  let w: World
  before(async () => {
    w = await world()
  })
  after(() => w?.stop())

  it('resolves and issues tokens at every step when the superior learns the new key before it is used', async () => {
    const k1 = await signingKid(w.ia)
    await works(w, 'before')
    const k2 = (await w.ia.admin('POST', '/admin/keys/stage', {})).body.kid as string
    await works(w, 'staged')
    // Spec "Key Rollover": the superior must know the new key before it signs anything.
    const jwks = await w.ia.federation.keystore.jwks()
    assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [k1, k2].sort())
    assert.equal((await w.ta.admin('PATCH', `/admin/subordinates/${encodeURIComponent(w.ia.entityId)}`, { jwks })).status, 200)
    w.clock.advance(CACHES)
    await works(w, 'staged, superior updated')
    w.clock.advance(DAY)
    assert.equal((await w.ia.admin('POST', `/admin/keys/${k2}/activate`, {})).status, 200)
    await works(w, 'activated, caches warm')
    w.clock.advance(CACHES)
    await works(w, 'activated, caches expired')
  })
})

describe('emergency rotation at the trust anchor', () => {
  let w: World
  beforeEach(async () => {
    w = await world()
  })
  afterEach(() => w?.stop())

  it('breaks pinned parties until an operator refreshes the pin with the key confirmed out of band', async () => {
    const k1 = await signingKid(w.ta)
    await works(w, 'before')
    const k2 = (await w.ta.admin('POST', '/admin/keys/rotate', {})).body.kid as string
    w.clock.advance(CACHES)
    const broken = await resolveAt(w.r, { sub: w.agent.id, trust_anchor: w.ta.entityId })
    assert.equal(broken.status, 400, broken.text)
    assert.equal(broken.error!.error, 'invalid_trust_chain')
    assert.match(broken.error!.error_description, new RegExp(`kid "${k2}" is not among the pinned keys`))
    // The old key is still published, but the configuration is signed by the new one only.
    const refused = await w.r.admin('POST', '/admin/anchors/refresh', { anchor: w.ta.entityId })
    assert.equal(refused.status, 404)
    assert.equal(refused.body.error, 'invalid_trust_anchor')
    assert.match(refused.body.error_description, new RegExp(`signed by kid "${k2}", which is not among its pinned keys \\(${k1}\\): the pin is unchanged`))
    assert.deepEqual(await pinKids(w.r), [k1])
    const accepted = await w.r.admin('POST', '/admin/anchors/refresh', { anchor: w.ta.entityId, accept_kid: k2 })
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body))
    const { kids, ...rest } = accepted.body.anchors[0] as { kids: string[] }
    assert.deepEqual(rest, { entity_id: w.ta.entityId, changed: true, signed_by: k2 })
    assert.deepEqual(kids.slice().sort(), [k1, k2].sort())
    assert.equal((await w.as.admin('POST', '/admin/anchors/refresh', { anchor: w.ta.entityId, accept_kid: k2 })).status, 200)
    w.clock.advance(CACHES)
    await works(w, 'after refresh')
  })

  it('with --compromised, the refreshed pin no longer holds the old key', async () => {
    const k1 = await signingKid(w.ta)
    const k2 = (await w.ta.admin('POST', '/admin/keys/rotate', { compromised: true })).body.kid as string
    w.clock.advance(CACHES)
    const all = await w.r.admin('POST', '/admin/anchors/refresh', {})
    assert.equal(all.status, 200)
    assert.equal(all.body.anchors[0].error, 'invalid_trust_anchor')
    const accepted = await w.r.admin('POST', '/admin/anchors/refresh', { anchor: w.ta.entityId, accept_kid: k2 })
    assert.deepEqual(accepted.body.anchors[0].kids, [k2])
    assert.deepEqual(await pinKids(w.r), [k2])
    assert.ok(!(await pinKids(w.r)).includes(k1))
    const res = await resolveAt(w.r, { sub: w.agent.id, trust_anchor: w.ta.entityId })
    assert.equal(res.status, 200, res.text)
  })

  it('refresh answers an anchor that is not pinned with not_found and a bad body with invalid_request', async () => {
    const r = await w.r.admin('POST', '/admin/anchors/refresh', { anchor: 'https://other.example' })
    assert.equal(r.status, 404)
    assert.equal(r.body.error_description, 'https://other.example is not a trust anchor pinned in this deployment\'s configuration')
    const bad = await w.r.admin('POST', '/admin/anchors/refresh', { accept_kid: 'x' })
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error_description, 'accept_kid: only with anchor (a key is accepted for one anchor)')
    const extra = await w.r.admin('POST', '/admin/anchors/refresh', '{"__proto__": {"anchor": "x"}}')
    assert.equal(extra.status, 400)
    assert.equal(extra.body.error, 'invalid_request')
  })
})
