/** Topology: TA alone (own port). Key rotation, retirement and the historical keys endpoint. */
import { strict as assert } from 'node:assert'
import { jwtVerify, createLocalJWKSet } from 'jose'
import { startEntity, decode, type TestEntity } from '../support/entity.js'

describe('federation keys', () => {
  let ta: TestEntity
  before(async () => {
    ta = await startEntity()
  })
  after(() => ta?.stop())

  const ec = async () => decode(await (await ta.get('/.well-known/openid-federation')).text())

  it('rotation publishes the new key next to the old one and signs with the new one at once', async () => {
    const before = await ec()
    const oldKid = before.header.kid
    const r = await ta.admin('POST', '/admin/keys/rotate', {})
    assert.equal(r.status, 201)
    assert.notEqual(r.body.kid, oldKid)
    assert.equal(r.body.state, 'active')
    assert.equal(r.body.d, undefined)
    const after = await ec()
    assert.equal(after.header.kid, r.body.kid)
    assert.deepEqual(after.payload.jwks.keys.map((k: { kid: string }) => k.kid).sort(), [oldKid, r.body.kid].sort())
    const list = await ta.admin('GET', '/admin/keys')
    assert.deepEqual(list.body.keys.map((k: { state: string }) => k.state).sort(), ['active', 'published'])
    assert.ok(!JSON.stringify(list.body).includes('"d"'))
  })

  it('rotation to another algorithm works and refuses an unknown one', async () => {
    const r = await ta.admin('POST', '/admin/keys/rotate', { alg: 'PS256' })
    assert.equal(r.status, 201)
    assert.equal((await ec()).header.alg, 'PS256')
    const bad = await ta.admin('POST', '/admin/keys/rotate', { alg: 'HS256' })
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error_description, 'alg: must be one of "ES256", "ES384", "PS256", "RS256", "EdDSA"')
  })

  it('refuses to retire the current signing key', async () => {
    const kid = (await ec()).header.kid
    const r = await ta.admin('POST', `/admin/keys/${kid}/retire`, {})
    assert.equal(r.status, 400)
    assert.equal(r.body.error_description, `key "${kid}" is the current signing key: rotate first`)
  })

  it('retiring removes a key from jwks and publishes it at the historical keys endpoint', async () => {
    const keys = (await ta.admin('GET', '/admin/keys')).body.keys
    const old = keys.find((k: { state: string }) => k.state === 'published')
    const r = await ta.admin('POST', `/admin/keys/${old.kid}/retire`, { reason: 'superseded' })
    assert.equal(r.status, 200)
    assert.equal(r.body.state, 'retired')
    const now = await ec()
    assert.ok(!now.payload.jwks.keys.some((k: { kid: string }) => k.kid === old.kid))
    const res = await ta.get('/historical-keys')
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/jwk-set+jwt')
    const jwt = await res.text()
    const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(now.payload.jwks), { typ: 'jwk-set+jwt' })
    assert.ok(protectedHeader.kid)
    assert.equal(payload.iss, ta.entityId)
    const hist = (payload.keys as Array<Record<string, any>>).find((k) => k.kid === old.kid)!
    assert.equal(typeof hist.exp, 'number')
    assert.equal(typeof hist.iat, 'number')
    assert.equal(hist.d, undefined)
    assert.deepEqual(hist.revoked, { revoked_at: ta.clock.now(), reason: 'superseded' })
  })

  it('answers an unknown kid with not_found and a bad reason with invalid_request', async () => {
    assert.equal((await ta.admin('POST', '/admin/keys/nope/retire', {})).status, 404)
    const kid = (await ec()).header.kid
    const r = await ta.admin('POST', `/admin/keys/${kid}/retire`, { reason: 'lost' })
    assert.equal(r.body.error_description, 'reason: must be one of "unspecified", "compromised", "superseded"')
  })

  it('re-signs subordinate statements with the new key after rotation', async () => {
    const jwks = (await ec()).payload.jwks
    await ta.admin('POST', '/admin/subordinates', { entity_id: 'https://m.example.org', jwks: { keys: [jwks.keys[0]] } })
    const before = decode(await (await ta.get('/fetch?sub=https%3A%2F%2Fm.example.org')).text())
    const r = await ta.admin('POST', '/admin/keys/rotate', {})
    const after = decode(await (await ta.get('/fetch?sub=https%3A%2F%2Fm.example.org')).text())
    assert.notEqual(before.header.kid, after.header.kid)
    assert.equal(after.header.kid, r.body.kid)
  })

  it('audits rotation and retirement', async () => {
    const { body } = await ta.admin('GET', '/admin/audit?action=key.rotate')
    assert.equal(body.events.length, 3)
  })
})
