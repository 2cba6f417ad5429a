/**
 * The hostile federation server itself (test/support/hostile.ts): what it serves is really
 * signed and resolvable by Anchorage, trees have the advertised shape, and every request
 * is counted.
 *
 *   TA (Anchorage)  <-  ia (hostile server)  <-  leaf (hostile server)
 *   tree t: leaf with 3 hints, each with 3 hints (depth 2): 1 + 3 + 9 nodes
 */
import { strict as assert } from 'node:assert'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { ManualClock } from '../../src/clock.js'
import { startEntity, onboard, resolveAt, decode, type TestEntity } from '../support/federation.js'
import { startHostile, type HostileServer } from '../support/hostile.js'

describe('hostile federation server (test support)', () => {
  const clock = new ManualClock()
  let ta: TestEntity
  let h: HostileServer

  before(async () => {
    ta = await startEntity({ clock })
    h = await startHostile({ clock })
  })
  after(async () => {
    await h?.stop()
    await ta?.stop()
  })

  it('serves really signed statements that Anchorage resolves, and counts each request per entity', async () => {
    const ia = h.add('ia', { authority_hints: [ta.entityId], intermediate: true })
    const leaf = h.add('leaf', { authority_hints: [ia.id], metadata: { federation_entity: { organization_name: 'Leaf' } } })
    h.subordinate(ia, leaf)
    await onboard(ta, ia.id, { intermediate: true })
    h.requests.reset()
    const r = await resolveAt(ta, { sub: leaf.id, trust_anchor: ta.entityId })
    assert.equal(r.status, 200, r.text)
    assert.equal(r.payload?.trust_chain.length, 4)
    assert.deepEqual([h.requests.total, h.requests.ec, h.requests.fetch, h.requests.of('ia'), h.requests.of('leaf')], [3, 2, 1, 2, 1])
  })

  it('builds trees whose every node hints k superiors that each issue a statement about it', async () => {
    const t = h.tree({ prefix: 't', k: 3, depth: 2 })
    assert.equal(t.nodes, 13)
    assert.deepEqual(t.levels.map((l) => l.length), [1, 3, 9])
    const ec = await (await fetch(`${t.leaf.id}/.well-known/openid-federation`)).text()
    const { payload } = await jwtVerify(ec, createLocalJWKSet(t.leaf.jwks as never), { currentDate: new Date(clock.now() * 1000) })
    assert.deepEqual(payload.authority_hints, t.levels[1]!.map((e) => e.id))
    const up = t.levels[1]![2]!
    const ss = await (await fetch(`${up.id}/fetch?sub=${encodeURIComponent(t.leaf.id)}`)).text()
    assert.deepEqual(decode(ss).payload.jwks, t.leaf.jwks)
    assert.equal((await fetch(`${up.id}/fetch?sub=${encodeURIComponent(up.id)}`)).status, 404)
  })

  it('answers late, never, or as tampered when told to', async () => {
    const slow = h.add('slow', { intermediate: true })
    slow.onRequest = () => clock.advance(7)
    const t0 = clock.now()
    await (await fetch(`${slow.id}/.well-known/openid-federation`)).text()
    assert.equal(clock.now() - t0, 7)
    const silent = h.add('silent')
    silent.silent = true
    const ctl = new AbortController()
    const pending = fetch(`${silent.id}/.well-known/openid-federation`, { signal: ctl.signal })
    setTimeout(() => ctl.abort(), 50)
    await assert.rejects(pending)
    const odd = h.add('odd', { claims: { iss: 'https://elsewhere.example' } })
    odd.tamper = (_, s) => void (s.header.kid = 'unknown')
    const { header, payload } = decode(await (await fetch(`${odd.id}/.well-known/openid-federation`)).text())
    assert.equal(header.kid, 'unknown')
    assert.equal(payload.iss, 'https://elsewhere.example')
  })
})
