/**
 * Topology (each entity on its own loopback port with its own keys):
 *
 *     TA   (Anchorage; no authority_hints, so it resolves with itself as trust anchor)
 *      |   statement TA -> IA carries a metadata policy for openid_relying_party
 *     IA   (Anchorage intermediate)
 *      |
 *    LEAF  (serves its own entity configuration; openid_relying_party)
 *
 * The resolve endpoint of TA: the response, its claims and signature, parameters, errors,
 * caching, and removal of a member at the anchor.
 */
import { strict as assert } from 'node:assert'
import { jwtVerify, createLocalJWKSet } from 'jose'
import { threeLevel, resolveAt, assertFailure, decode, startLeaf, type ThreeLevel } from '../support/federation.js'
import { captureLogs } from '../support/logs.js'

const POLICY = {
  openid_relying_party: {
    grant_types: { subset_of: ['authorization_code'] },
    contacts: { add: ['ops@ta.example'] },
  },
}

describe('resolve endpoint: anchor -> intermediate -> leaf', () => {
  let fed: ThreeLevel
  const logs = captureLogs()
  before(async () => {
    fed = await threeLevel({ iaPolicy: POLICY, taConfig: { log: { access: true } }, taLogger: logs.logger })
  })
  after(() => fed?.stop())

  const ask = (extra: Record<string, string | string[]> = {}) =>
    resolveAt(fed.ta, { sub: fed.leaf.entityId, trust_anchor: fed.ta.entityId, ...extra })

  it('is advertised in the entity configuration as federation_resolve_endpoint', async () => {
    const ec = decode(await (await fed.ta.get('/.well-known/openid-federation')).text()).payload
    assert.equal(ec.metadata.federation_entity.federation_resolve_endpoint, `${fed.ta.entityId}/resolve`)
  })

  it('answers a signed resolve-response+jwt with the resolved metadata and the whole chain', async () => {
    const r = await ask()
    assert.equal(r.status, 200, r.text)
    assert.equal(r.contentType, 'application/resolve-response+jwt')
    const ec = decode(await (await fed.ta.get('/.well-known/openid-federation')).text()).payload
    const { payload, protectedHeader } = await jwtVerify(r.text, createLocalJWKSet(ec.jwks), { typ: 'resolve-response+jwt' })
    assert.ok(protectedHeader.kid)
    assert.equal(payload.iss, fed.ta.entityId)
    assert.equal(payload.sub, fed.leaf.entityId)
    assert.equal(payload.iat, fed.clock.now())
    const chain = payload.trust_chain as string[]
    assert.equal(chain.length, 4)
    const [leafEc, iaSs, taSs, taEc] = chain.map((j) => decode(j).payload)
    assert.deepEqual([leafEc!.iss, leafEc!.sub], [fed.leaf.entityId, fed.leaf.entityId])
    assert.deepEqual([iaSs!.iss, iaSs!.sub], [fed.ia.entityId, fed.leaf.entityId])
    assert.deepEqual([taSs!.iss, taSs!.sub], [fed.ta.entityId, fed.ia.entityId])
    assert.deepEqual([taEc!.iss, taEc!.sub], [fed.ta.entityId, fed.ta.entityId])
    assert.equal(payload.exp, Math.min(...chain.map((j) => decode(j).payload.exp)))
    const rp = (payload.metadata as any).openid_relying_party
    assert.deepEqual(rp.grant_types, ['authorization_code'])
    assert.deepEqual(rp.contacts, ['ops@ta.example'])
    assert.equal(rp.client_name, 'RP')
    assert.deepEqual(payload.trust_marks, [])
  })

  it('returns only the requested entity types', async () => {
    const r = await ask({ entity_type: 'openid_relying_party' })
    assert.equal(r.status, 200)
    assert.deepEqual(Object.keys(r.payload!.metadata), ['openid_relying_party'])
    const both = await ask({ entity_type: ['federation_entity', 'openid_relying_party'] })
    assert.deepEqual(Object.keys(both.payload!.metadata).sort(), ['federation_entity', 'openid_relying_party'])
  })

  it('serves the same signed answer again from cache, parameters in any order', async () => {
    const a = await ask()
    fed.clock.advance(5)
    const q = `trust_anchor=${encodeURIComponent(fed.ta.entityId)}&sub=${encodeURIComponent(fed.leaf.entityId)}&x=1`
    const res = await fetch(`${fed.ta.entityId}/resolve?${q}`)
    assert.equal(await res.text(), a.text)
    assert.equal(res.headers.get('content-type'), 'application/resolve-response+jwt')
    // Answered by the listener's fast path: koa was not entered (the access log says which path answered).
    assert.equal(logs.via(res), 'fast')
  })

  it('ignores parameters the spec does not define', async () => {
    const r = await ask({ foo: 'bar', iss: 'x' })
    assert.equal(r.status, 200)
  })

  it('resolves the intermediate, and the anchor itself as a chain of one statement', async () => {
    const ia = await resolveAt(fed.ta, { sub: fed.ia.entityId, trust_anchor: fed.ta.entityId })
    assert.equal(ia.status, 200, ia.text)
    assert.equal(ia.payload!.trust_chain.length, 3)
    const ta = await resolveAt(fed.ta, { sub: fed.ta.entityId, trust_anchor: fed.ta.entityId })
    assert.equal(ta.status, 200, ta.text)
    assert.equal(ta.payload!.trust_chain.length, 1)
  })

  const requestErrors: Array<[string, Record<string, string | string[]>, number, string, string]> = [
    ['a missing sub', { trust_anchor: 'TA' }, 400, 'invalid_request', 'sub: is required'],
    ['a repeated sub', { sub: ['LEAF', 'LEAF'], trust_anchor: 'TA' }, 400, 'invalid_request', 'sub: must be given once'],
    ['a missing trust_anchor', { sub: 'LEAF' }, 400, 'invalid_request', 'trust_anchor: is required'],
    ['a sub that is not an entity identifier', { sub: 'not a url', trust_anchor: 'TA' }, 400, 'invalid_request', 'sub: must be an entity identifier (an https URL without query or fragment)'],
    ['an anchor it does not trust', { sub: 'LEAF', trust_anchor: 'https://unknown.example' }, 404, 'invalid_trust_anchor', 'https://unknown.example: not a trust anchor this resolver is configured to trust'],
  ]
  for (const [what, params, status, error, description] of requestErrors) {
    it(`answers ${what} with ${status} ${error}`, async () => {
      const p: Record<string, string | string[]> = {}
      for (const [k, v] of Object.entries(params)) {
        p[k] = [v].flat().map((x) => (x === 'TA' ? fed.ta.entityId : x === 'LEAF' ? fed.leaf.entityId : x))
      }
      const r = await resolveAt(fed.ta, p)
      assert.equal(r.status, status)
      assert.equal(r.contentType, 'application/json; charset=utf-8')
      assert.deepEqual(r.error, { error, error_description: description })
    })
  }

  it('uses a trusted anchor when other trust_anchor values are unknown', async () => {
    const r = await ask({ trust_anchor: ['https://unknown.example', fed.ta.entityId] })
    assert.equal(r.status, 200)
  })

  it('answers not_found for a subject whose entity configuration cannot be fetched', async () => {
    const r = await resolveAt(fed.ta, { sub: 'http://127.0.0.1:1', trust_anchor: fed.ta.entityId })
    assertFailure(r, 'not_found', 404, 'entity configuration of http://127.0.0.1:1', 'network')
  })

  it('answers invalid_trust_chain for an entity whose superiors cannot be reached', async () => {
    const stray = await startLeaf({ clock: fed.clock, authority_hints: ['http://127.0.0.1:1'] })
    try {
      const r = await resolveAt(fed.ta, { sub: stray.entityId, trust_anchor: fed.ta.entityId })
      assertFailure(r, 'invalid_trust_chain', 400, 'entity configuration of http://127.0.0.1:1', 'network')
    } finally {
      await stray.stop()
    }
  })

  it('stops resolving a member removed at the anchor on the next request, despite caches', async () => {
    assert.equal((await ask()).status, 200)
    const del = await fed.ta.admin('DELETE', `/admin/subordinates/${encodeURIComponent(fed.ia.entityId)}`)
    assert.equal(del.status, 204)
    const r = await ask()
    assertFailure(r, 'invalid_trust_chain', 400, `subordinate statement ${fed.ta.entityId} -> ${fed.ia.entityId}`, 'not_found')
  })
})
