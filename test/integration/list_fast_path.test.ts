/**
 * The unfiltered subordinate listing (spec "Subordinate Listing") is answered by the
 * listener's fast path once built, and never outlives a change to the roster.
 */
import { strict as assert } from 'node:assert'
import { threeLevel, type ThreeLevel } from '../support/federation.js'
import { captureLogs } from '../support/logs.js'

describe('GET /list on the listener fast path', () => {
  let fed: ThreeLevel
  const logs = captureLogs()
  before(async () => {
    fed = await threeLevel({ taConfig: { log: { access: true } }, taLogger: logs.logger })
  })
  after(() => fed?.stop())

  const list = async (q = '') => {
    const res = await fetch(`${fed.ta.entityId}/list${q}`)
    return { res, ids: (await res.json()) as string[] }
  }

  it('answers the cached listing without entering koa, and a roster change at once', async () => {
    await list()
    const cached = await list()
    assert.ok(cached.ids.includes(fed.ia.entityId))
    assert.equal(cached.res.headers.get('content-type'), 'application/json')
    // koa was not entered (the access log says which path answered).
    assert.equal(logs.via(cached.res), 'fast')
    const added = 'https://new-member.example.org'
    const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1' }] }
    assert.equal((await fed.ta.admin('POST', '/admin/subordinates', { entity_id: added, jwks })).status, 201)
    assert.ok((await list()).ids.includes(added), 'the listing after the write names the new member')
    assert.equal((await fed.ta.admin('POST', `/admin/subordinates/${encodeURIComponent(added)}/suspend`)).status, 200)
    assert.ok(!(await list()).ids.includes(added), 'a suspended member leaves the listing at once')
  })

  it('leaves filtered listings to koa', async () => {
    const r = await list('?intermediate=true')
    assert.ok(r.ids.includes(fed.ia.entityId))
    assert.equal(logs.via(r.res), 'koa')
  })
})
