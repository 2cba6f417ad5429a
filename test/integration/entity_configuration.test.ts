/**
 * Topology:  TA (127.0.0.1:p1)  and  INT (127.0.0.1:p2/intermediate, authority_hints -> TA)
 * Real keys, real HTTP, the embedded store.
 */
import { strict as assert } from 'node:assert'
import { jwtVerify, createLocalJWKSet } from 'jose'
import { startEntity, decode, type TestEntity } from '../support/entity.js'

describe('entity configuration (/.well-known/openid-federation)', () => {
  let ta: TestEntity
  let int: TestEntity

  before(async () => {
    ta = await startEntity({ config: { organization: { organization_name: 'Example Trust Anchor', contacts: ['ops@example.org'] } } })
    int = await startEntity({ path: '/intermediate', authority_hints: [ta.entityId] })
  })
  after(async () => {
    await ta?.stop()
    await int?.stop()
  })

  it('is served with the entity-statement media type, typ and kid', async () => {
    const res = await ta.get('/.well-known/openid-federation')
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/entity-statement+jwt')
    const jwt = await res.text()
    const { header } = decode(jwt)
    assert.equal(header.typ, 'entity-statement+jwt')
    assert.equal(header.alg, 'ES256')
    assert.ok(header.kid)
  })

  it('is self-signed with iss = sub = entity id, iat, exp and public keys only', async () => {
    const jwt = await (await ta.get('/.well-known/openid-federation')).text()
    const { payload } = decode(jwt)
    const verified = await jwtVerify(jwt, createLocalJWKSet(payload.jwks), { typ: 'entity-statement+jwt' })
    assert.equal(verified.payload.iss, ta.entityId)
    assert.equal(verified.payload.sub, ta.entityId)
    assert.equal(payload.exp - payload.iat, 86400)
    for (const k of payload.jwks.keys) {
      assert.equal(k.d, undefined)
      assert.ok(k.kid)
    }
    assert.equal(payload.authority_hints, undefined, 'a trust anchor has no authority_hints')
  })

  it('publishes the federation endpoints from the routes, and the organization fields', async () => {
    const { payload } = decode(await (await ta.get('/.well-known/openid-federation')).text())
    const fe = payload.metadata.federation_entity
    assert.equal(fe.federation_fetch_endpoint, `${ta.entityId}/fetch`)
    assert.equal(fe.federation_list_endpoint, `${ta.entityId}/list`)
    assert.equal(fe.federation_historical_keys_endpoint, `${ta.entityId}/historical-keys`)
    assert.equal(fe.organization_name, 'Example Trust Anchor')
    assert.deepEqual(fe.contacts, ['ops@example.org'])
    for (const url of [fe.federation_fetch_endpoint, fe.federation_list_endpoint]) {
      const r = await fetch(url + (url.endsWith('/fetch') ? '?sub=x' : ''))
      assert.notEqual(r.status, 405)
      assert.ok(r.status === 200 || r.status === 404, `${url} answers`)
    }
  })

  it('appends the well-known path to an entity id that has a path, and carries authority_hints', async () => {
    const res = await int.get('/.well-known/openid-federation')
    assert.equal(res.status, 200)
    const { payload } = decode(await res.text())
    assert.equal(payload.iss, int.entityId)
    assert.ok(int.entityId.endsWith('/intermediate'))
    assert.deepEqual(payload.authority_hints, [ta.entityId])
    assert.equal(payload.metadata.federation_entity.federation_fetch_endpoint, `${int.entityId}/fetch`)
  })

  it('is signed once and served from cache until it is due for refresh', async () => {
    const a = await (await ta.get('/.well-known/openid-federation')).text()
    const b = await (await ta.get('/.well-known/openid-federation')).text()
    assert.equal(a, b)
    ta.clock.advance(86400 / 2 + 1)
    const c = await (await ta.get('/.well-known/openid-federation')).text()
    assert.notEqual(c, a)
    assert.equal(decode(c).payload.iat, ta.clock.now())
  })

  it('answers 405 with the error JSON for a POST', async () => {
    const res = await fetch(`${ta.entityId}/.well-known/openid-federation`, { method: 'POST' })
    assert.equal(res.status, 405)
    assert.equal((await res.json() as any).error, 'method_not_allowed')
  })

  it('answers /healthz and /readyz', async () => {
    assert.deepEqual(await (await ta.get('/healthz')).json(), { status: 'ok' })
    const r = await ta.get('/readyz')
    assert.equal(r.status, 200)
    assert.equal((await r.json() as any).store, 'embedded')
  })

  it('answers an unknown path with not_found JSON', async () => {
    const res = await ta.get('/nope')
    assert.equal(res.status, 404)
    assert.deepEqual(await res.json(), { error: 'not_found', error_description: 'no such endpoint: GET /nope' })
  })
})
