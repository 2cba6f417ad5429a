/**
 * Subordinate key refresh at the superior (src/subordinates/key_refresh.ts), on a real
 * federation on loopback:
 *
 *     TA <- IA <- LEAF      the leaf publishes whatever jwks the test sets, signed by the key it picks
 *
 * A staged rollover (next key published, signed with the current one) is followed by the IA
 * on refresh, and the leaf keeps resolving at the TA at every step. A key swap signed only by
 * a key the IA does not vouch for stays pending: the IA keeps vouching for the old key until
 * the operator approves; a rejected swap is dropped and not proposed again.
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { signStatement } from '../support/entity.js'
import { cli } from '../support/cli.js'
import { startEntity, startLeaf, onboard, resolveAt, assertFailure, testKey, decode, RP_METADATA, type TestEntity, type TestLeaf, type TestKey } from '../support/federation.js'

/** statement_ttl_max + answer_ttl_max + answer_stale_seconds (defaults): past it, the TA has re-fetched everything. */
const BOUND = 120

describe('subordinate key refresh at the superior', () => {
  const clock = new ManualClock()
  let ta: TestEntity, ia: TestEntity, leaf: TestLeaf
  let k1: TestKey, k2: TestKey

  /** The leaf publishes `keys` in its entity configuration, signed with `signer`. */
  function publish(keys: TestKey[], signer: TestKey): void {
    leaf.respond = (req, res) => {
      if (req.url !== '/.well-known/openid-federation') return false
      const now = clock.now()
      void signStatement({ iat: now, exp: now + 3_600, ...leaf.claims, jwks: { keys: keys.map((k) => k.publicJwk) } }, signer).then((jwt) => {
        res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' })
        res.end(jwt)
      })
      return true
    }
  }

  const leafId = () => encodeURIComponent(leaf.entityId)
  const refresh = () => ia.admin('POST', '/admin/subordinates/refresh', { entity_id: leaf.entityId })
  const vouched = async () => ((await ia.admin('GET', `/admin/subordinates/${leafId()}`)).body.jwks.keys as Array<{ kid: string }>).map((k) => k.kid).sort()
  /** Resolves at the TA after the propagation bound, so every statement is fetched again. */
  async function resolvesAfterBound(): Promise<void> {
    clock.advance(BOUND + 1)
    const r = await resolveAt(ta, { sub: leaf.entityId, trust_anchor: ta.entityId })
    assert.equal(r.status, 200, r.text)
  }

  before(async () => {
    k1 = await testKey()
    k2 = await testKey()
    ta = await startEntity({ clock })
    ia = await startEntity({ clock, authority_hints: [ta.entityId] })
    leaf = await startLeaf({ clock, authority_hints: [ia.entityId], metadata: RP_METADATA, key: k1 })
    await onboard(ta, ia.entityId, { intermediate: true })
    await onboard(ia, leaf.entityId)
  })
  after(() => Promise.all([ta, ia, leaf].map((e) => e?.stop())))

  it('follows a staged rollover (stage, activate, drop the old key) with the leaf resolving at every step', async () => {
    await resolvesAfterBound()
    publish([k1, k2], k1) // staged: published, not signing
    assert.deepEqual((await refresh()).body, { entity_id: leaf.entityId, outcome: 'updated', kids: [k1.kid, k2.kid], signed_with: k1.kid })
    assert.deepEqual(await vouched(), [k1.kid, k2.kid].sort())
    await resolvesAfterBound()
    publish([k1, k2], k2) // activated
    assert.equal((await refresh()).body.outcome, 'unchanged')
    await resolvesAfterBound()
    publish([k2], k2) // old key dropped: signed by k2, which the IA now vouches for
    assert.equal((await refresh()).body.outcome, 'updated')
    assert.deepEqual(await vouched(), [k2.kid])
    await resolvesAfterBound()
    const events = await ia.admin('GET', `/admin/audit?action=subordinate.keys_refresh&subject=${leafId()}`)
    assert.deepEqual(events.body.events.map((e: { detail: { to: string[] } }) => e.detail.to), [[k1.kid, k2.kid], [k2.kid]])
  })

  it('holds a swap signed only by an unknown key as pending; the IA keeps vouching for the old key until approved', async () => {
    const k3 = await testKey()
    publish([k3], k3)
    assert.deepEqual((await refresh()).body, { entity_id: leaf.entityId, outcome: 'pending', kids: [k3.kid], signed_with: k3.kid })
    assert.deepEqual(await vouched(), [k2.kid])
    // The IA's statement still names only the old key: the swapped configuration does not resolve.
    const ss = await ia.get(`/fetch?sub=${leafId()}`)
    assert.deepEqual(decode(await ss.text()).payload.jwks.keys.map((k: { kid: string }) => k.kid), [k2.kid])
    clock.advance(BOUND + 1)
    const refused = await resolveAt(ta, { sub: leaf.entityId, trust_anchor: ta.entityId })
    assertFailure(refused, 'invalid_trust_chain', 400, `subordinate statement ${ia.entityId} -> ${leaf.entityId}`, 'subject_key')
    const pending = await ia.admin('GET', '/admin/subordinates/pending')
    assert.deepEqual(pending.body.items.map((p: { entity_id: string; pending_keys: { kids: string[] } }) => [p.entity_id, p.pending_keys.kids]), [[leaf.entityId, [k3.kid]]])
    // A second refresh records nothing new.
    const before = (await ia.admin('GET', '/admin/audit?action=subordinate.keys_pending')).body.events.length
    await refresh()
    assert.equal((await ia.admin('GET', '/admin/audit?action=subordinate.keys_pending')).body.events.length, before)

    const approved = await ia.admin('POST', `/admin/subordinates/${leafId()}/approve`)
    assert.equal(approved.status, 200, JSON.stringify(approved.body))
    assert.deepEqual(await vouched(), [k3.kid])
    assert.equal(approved.body.pending_keys, undefined)
    assert.equal((await ia.admin('GET', '/admin/subordinates/pending')).body.items.length, 0)
    await resolvesAfterBound()
    const audit = await ia.admin('GET', `/admin/audit?action=subordinate.keys_approve&subject=${leafId()}`)
    assert.deepEqual(audit.body.events.map((e: { detail: { from: string[]; to: string[] } }) => [e.detail.from, e.detail.to]), [[[k2.kid], [k3.kid]]])
    k2 = k3
  })

  it('drops a rejected swap, keeps the old keys, and does not propose the same keys again', async () => {
    const k4 = await testKey()
    publish([k4], k4)
    assert.equal((await refresh()).body.outcome, 'pending')
    const rejected = await ia.admin('POST', `/admin/subordinates/${leafId()}/reject`)
    assert.equal(rejected.status, 200, JSON.stringify(rejected.body))
    assert.equal(rejected.body.pending_keys, undefined)
    assert.deepEqual(await vouched(), [k2.kid])
    assert.equal((await refresh()).body.outcome, 'rejected_before')
    assert.equal((await ia.admin('GET', '/admin/subordinates/pending')).body.items.length, 0)
    assert.equal((await ia.admin('GET', `/admin/audit?action=subordinate.keys_reject&subject=${leafId()}`)).body.events.length, 1)
    // Approving or rejecting with nothing pending: 404, and nothing changes.
    assert.equal((await ia.admin('POST', `/admin/subordinates/${leafId()}/approve`)).status, 404)
    assert.equal((await ia.admin('POST', `/admin/subordinates/${leafId()}/reject`)).status, 404)
    publish([k2], k2)
    await resolvesAfterBound()
  })

  it('refreshes every member with {all: true}, and refuses a body naming neither or both', async () => {
    const all = await ia.admin('POST', '/admin/subordinates/refresh', { all: true })
    assert.deepEqual(all.body, { items: [{ entity_id: leaf.entityId, outcome: 'unchanged' }] })
    for (const body of [{}, { all: true, entity_id: leaf.entityId }, { all: false }, { entity_id: 'not a url' }]) {
      const r = await ia.admin('POST', '/admin/subordinates/refresh', body)
      assert.equal(r.status, 400, JSON.stringify(body))
      assert.equal(r.body.error, 'invalid_request')
    }
    assert.equal((await ia.admin('POST', '/admin/subordinates/refresh', { entity_id: 'https://nobody.example' })).status, 404)
  })

  it('reports a member whose configuration cannot be read, and changes nothing', async () => {
    leaf.respond = (_req, res) => {
      res.writeHead(500).end()
      return true
    }
    const r = await refresh()
    assert.equal(r.body.outcome, 'failed')
    assert.match(r.body.error, /HTTP 500/)
    assert.deepEqual(await vouched(), [k2.kid])
    publish([k2], k2)
  })

  it('does the same from the command line: subordinate refresh, pending, approve', async () => {
    const k5 = await testKey()
    publish([k5], k5)
    const conn = ['--url', ia.entityId, '--token', ia.token]
    const refreshed = await cli(['subordinate', 'refresh', leaf.entityId, ...conn])
    assert.equal(refreshed.code, 0, refreshed.stderr)
    assert.match(refreshed.stdout, new RegExp(`^pending +${leaf.entityId} \\["${k5.kid}"\\]`))
    const pending = await cli(['subordinate', 'pending', ...conn])
    assert.match(pending.stdout, new RegExp(`current \\["${k2.kid}"\\] +pending \\["${k5.kid}"\\]`))
    const approved = await cli(['subordinate', 'approve', leaf.entityId, ...conn])
    assert.equal(approved.code, 0, approved.stderr)
    assert.deepEqual(await vouched(), [k5.kid])
    const usage = await cli(['subordinate', 'refresh', ...conn])
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /ENTITY_ID or --all/)
    await resolvesAfterBound()
  })
})

describe('an Anchorage intermediate rolls its federation key, followed by its superior', () => {
  const clock = new ManualClock()
  let ta: TestEntity, ia: TestEntity, leaf: TestLeaf
  before(async () => {
    ta = await startEntity({ clock })
    ia = await startEntity({ clock, authority_hints: [ta.entityId] })
    leaf = await startLeaf({ clock, authority_hints: [ia.entityId], metadata: RP_METADATA })
    await onboard(ta, ia.entityId, { intermediate: true })
    await onboard(ia, leaf.entityId)
  })
  after(() => Promise.all([ta, ia, leaf].map((e) => e?.stop())))

  const refresh = () => ta.admin('POST', '/admin/subordinates/refresh', { entity_id: ia.entityId })
  /** The leaf resolves at the TA with every statement fetched again. */
  async function resolves(): Promise<void> {
    clock.advance(BOUND + 1)
    const r = await resolveAt(ta, { sub: leaf.entityId, trust_anchor: ta.entityId })
    assert.equal(r.status, 200, r.text)
  }

  it('keys stage, refresh at the TA, keys activate after the propagation delay: the leaf resolves at every step', async () => {
    await resolves()
    const staged = await ia.admin('POST', '/admin/keys/stage', {})
    assert.equal(staged.status, 201, JSON.stringify(staged.body))
    await resolves()
    const r = await refresh()
    assert.equal(r.body.outcome, 'updated', JSON.stringify(r.body))
    assert.ok(r.body.kids.includes(staged.body.kid))
    await resolves()
    clock.advance(ia.service.config.keys.propagation_delay_seconds)
    const activated = await ia.admin('POST', `/admin/keys/${encodeURIComponent(staged.body.kid)}/activate`, {})
    assert.equal(activated.status, 200, JSON.stringify(activated.body))
    await resolves()
    assert.equal((await refresh()).body.outcome, 'unchanged')
  })

  it('an emergency rotation is signed by a key the TA does not vouch for: held pending, resolving again once approved', async () => {
    const rotated = await ia.admin('POST', '/admin/keys/rotate', {})
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body))
    clock.advance(BOUND + 1)
    const broken = await resolveAt(ta, { sub: leaf.entityId, trust_anchor: ta.entityId })
    assert.equal(broken.status, 400, broken.text)
    assert.equal((await refresh()).body.outcome, 'pending')
    const approved = await ta.admin('POST', `/admin/subordinates/${encodeURIComponent(ia.entityId)}/approve`)
    assert.equal(approved.status, 200, JSON.stringify(approved.body))
    await resolves()
  })
})
