/**
 * Topology:  TA (127.0.0.1:p1), one Anchorage deployment composed by createService.
 * What the composition root and the HTTP layer promise as a whole: 405 with Allow, 501 for
 * a method no route implements, endpoints published where they are routed, and one change
 * feed on which a trust mark write is one event for the resolver's answers.
 */
import { strict as assert } from 'node:assert'
import { startEntity, decode, type TestEntity } from '../support/entity.js'
import type { Change } from '../../src/changes.js'
import { capabilityOf } from '../../src/service.js'

describe('composition: createService and the HTTP layer', () => {
  let ta: TestEntity

  before(async () => {
    ta = await startEntity()
  })
  after(async () => {
    await ta?.stop()
  })

  it('answers a method a route does not take with 405, Allow and the error JSON', async () => {
    for (const [method, path, allow] of [
      ['POST', '/.well-known/openid-federation', 'GET'],
      ['DELETE', '/fetch?sub=x', 'GET'],
      ['PUT', '/resolve', 'GET'],
    ] as const) {
      const res = await fetch(`${ta.entityId}${path}`, { method })
      assert.equal(res.status, 405, `${method} ${path}`)
      assert.ok(res.headers.get('allow')?.split(/,\s*/).includes(allow), `${method} ${path}: Allow ${res.headers.get('allow')}`)
      const body = await res.json() as { error: string; error_description: string }
      assert.equal(body.error, 'method_not_allowed')
      assert.match(body.error_description, new RegExp(`^${method} is not allowed here`))
      assert.equal(res.headers.get('cache-control'), 'no-store')
    }
  })

  it('answers a method no route implements with 501 and the error JSON, not 405', async () => {
    const res = await fetch(`${ta.entityId}/.well-known/openid-federation`, { method: 'PURGE' })
    assert.equal(res.status, 501)
    assert.equal((await res.json() as { error: string }).error, 'not_implemented')
  })

  it('answers an admin route with the wrong method with 405 and Allow', async () => {
    const res = await ta.admin('PUT', '/admin/subordinates')
    assert.equal(res.status, 405)
    assert.deepEqual(res.headers.get('allow')?.split(/,\s*/).sort(), ['GET', 'HEAD', 'POST'])
    assert.equal(res.body.error, 'method_not_allowed')
  })

  it('publishes in the entity configuration exactly the federation endpoints it routes', async () => {
    const { payload } = decode(await (await ta.get('/.well-known/openid-federation')).text())
    const fe = payload.metadata.federation_entity as Record<string, string>
    const published = Object.keys(fe).filter((k) => /^federation_[a-z_]+_endpoint$/.test(k)).sort()
    assert.deepEqual(published, [
      'federation_fetch_endpoint', 'federation_historical_keys_endpoint', 'federation_list_endpoint', 'federation_resolve_endpoint',
      'federation_software_statement_status_endpoint', 'federation_trust_mark_endpoint', 'federation_trust_mark_list_endpoint', 'federation_trust_mark_status_endpoint',
    ])
    assert.deepEqual(published, Object.keys(ta.service.endpoints).sort())
    for (const name of published) {
      // Routed: a GET or a POST there is never "no such endpoint".
      const res = await fetch(fe[name]!)
      assert.notEqual((await res.json().catch(() => ({})) as { error?: string }).error, 'not_found', name)
    }
  })

  it('declares each capability once, with the resolver answering from its fast route', () => {
    const kinds = ta.service.capabilities.map((c) => c.kind)
    assert.deepEqual(kinds, ['policy_check', 'trust_marks', 'resolver', 'federation'])
    assert.deepEqual(capabilityOf(ta.service, 'resolver')?.fastRoutes?.map((r) => r.route), ['federation_resolve_endpoint'])
  })

  it('carries a trust mark write to the resolver as one change, and the listing index after it', async () => {
    const type = 'https://ta.example/marks/composition'
    assert.equal((await ta.admin('POST', '/admin/trust-mark-types', { trust_mark_type: type })).status, 201)
    const seen: Change[] = []
    const unsubscribe = ta.federation.changes.subscribe((c) => seen.push(c))
    const before = ta.federation.changes.revision
    try {
      assert.equal((await ta.admin('POST', '/admin/trust-marks', { trust_mark_type: type, sub: 'https://member.example' })).status, 201)
      await new Promise((r) => setImmediate(r))
    } finally {
      unsubscribe()
    }
    // The resolver drops its answers on every change but the index catching up: once here.
    const forResolver = seen.filter((c) => c.type !== 'issued_marks_indexed' && !(c.type === 'stored' && c.collection === 'audit'))
    assert.deepEqual(forResolver, [{ type: 'stored', collection: 'trust_marks', id: `${type} https://member.example` }])
    assert.ok(seen.some((c) => c.type === 'issued_marks_indexed'))
    assert.equal(ta.federation.changes.revision, before + seen.length)
  })
})
