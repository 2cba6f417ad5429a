/**
 * Topology:  TMI (Anchorage on its own port, issues trust marks)  ->  subjects (entity ids only)
 * Types, issuance, revocation, and the three public endpoints of a trust mark issuer:
 * trust mark, trust mark status, trust marked entities listing.
 */
import { strict as assert } from 'node:assert'
import { jwtVerify, createLocalJWKSet, SignJWT, type JSONWebKeySet } from 'jose'
import { startEntity, testKey, decode, type TestEntity } from '../support/entity.js'

const TYPE = 'https://federation.example.org/tm/certified'
const SHORT = 'https://federation.example.org/tm/short'
const FOREVER = 'https://federation.example.org/tm/forever'
const RP = 'https://rp.example.org'
const OP = 'https://op.example.org'
const enc = encodeURIComponent

describe('trust mark issuer', () => {
  let tmi: TestEntity
  let jwks: JSONWebKeySet

  before(async () => {
    tmi = await startEntity()
    jwks = decode(await (await tmi.get('/.well-known/openid-federation')).text()).payload.jwks
  })
  after(() => tmi?.stop())

  const status = async (token: string, init: RequestInit = {}) => {
    const res = await fetch(`${tmi.entityId}/trust-mark-status`, { method: 'POST', body: new URLSearchParams({ trust_mark: token }), ...init })
    const text = await res.text()
    return { status: res.status, type: res.headers.get('content-type'), text, json: () => JSON.parse(text) }
  }
  const statusOf = async (token: string) => {
    const r = await status(token)
    assert.equal(r.status, 200, r.text)
    const { payload, protectedHeader } = await jwtVerify(r.text, createLocalJWKSet(jwks), { typ: 'trust-mark-status-response+jwt', currentDate: new Date(tmi.clock.now() * 1000) })
    assert.ok(protectedHeader.kid)
    assert.equal(r.type, 'application/trust-mark-status-response+jwt')
    assert.equal(payload.iss, tmi.entityId)
    assert.equal(payload.trust_mark, token)
    assert.equal(typeof payload.iat, 'number')
    return payload.status
  }
  const issue = async (type: string, sub: string) => {
    const r = await tmi.admin('POST', '/admin/trust-marks', { trust_mark_type: type, sub })
    assert.equal(r.status, 201, JSON.stringify(r.body))
    return r.body.trust_mark as string
  }
  const listing = async (q: string) => {
    const res = await fetch(`${tmi.entityId}/trust-marked-entities?${q}`)
    return { status: res.status, type: res.headers.get('content-type'), body: await res.json() as any }
  }

  describe('trust mark types', () => {
    it('configures a type (201), reconfigures it (200) and lists them', async () => {
      const created = await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: TYPE, logo_uri: 'https://federation.example.org/logo.svg', ref: 'https://federation.example.org/tm' })
      assert.equal(created.status, 201)
      assert.equal(created.body.lifetime, 2_592_000, 'absent lifetime: 30 days')
      assert.equal((await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: SHORT, lifetime: 60 })).status, 201)
      assert.equal((await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: SHORT, lifetime: 600 })).status, 200)
      assert.equal((await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: FOREVER, lifetime: 0 })).status, 201)
      const list = await tmi.admin('GET', '/admin/trust-mark-types')
      assert.deepEqual(list.body.items.map((t: any) => [t.trust_mark_type, t.lifetime]), [[TYPE, 2_592_000], [FOREVER, 0], [SHORT, 600]])
    })

    const bad: Array<[string, unknown, string]> = [
      ['no trust_mark_type', { lifetime: 5 }, 'trust_mark_type: is required'],
      ['a negative lifetime', { trust_mark_type: TYPE, lifetime: -1 }, 'lifetime: must be >= 0'],
      ['an unknown property', { trust_mark_type: TYPE, colour: 'red' }, 'colour: unknown property'],
      ['a logo_uri that is not a URL', { trust_mark_type: TYPE, logo_uri: 'logo' }, 'logo_uri: must match format "uri"'],
      ['a delegation that is not a JWS', { trust_mark_type: TYPE, delegation: 'x' }, 'delegation: must match pattern "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$"'],
      ['a type with white space', { trust_mark_type: 'a b' }, 'trust_mark_type: must match pattern "^\\S+$"'],
    ]
    for (const [what, body, description] of bad) {
      it(`refuses ${what} with 400 naming the field`, async () => {
        const r = await tmi.admin('POST', '/admin/trust-mark-types', body)
        assert.equal(r.status, 400)
        assert.deepEqual(r.body, { error: 'invalid_request', error_description: description })
      })
    }

    it('refuses a delegation that names another entity as issuer', async () => {
      const owner = await testKey()
      const d = await new SignJWT({ iss: 'https://owner.example.org', sub: 'https://other.example.org', trust_mark_type: TYPE, iat: tmi.clock.now() })
        .setProtectedHeader({ alg: 'ES256', kid: owner.kid, typ: 'trust-mark-delegation+jwt' }).sign(owner.privateKey)
      const r = await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: TYPE, delegation: d })
      assert.equal(r.status, 400)
      assert.match(r.body.error_description, /^delegation: delegation for .* delegates to https:\/\/other.example.org, not to the mark's issuer$/)
    })
  })

  describe('issuing', () => {
    it('issues a signed trust-mark+jwt with the type\'s claims and its lifetime', async () => {
      const r = await tmi.admin('POST', '/admin/trust-marks', { trust_mark_type: TYPE, sub: RP })
      assert.equal(r.status, 201)
      const { trust_mark, ...rest } = r.body
      const now = tmi.clock.now()
      assert.deepEqual(rest, { trust_mark_type: TYPE, sub: RP, iat: now, exp: now + 2_592_000 })
      const { payload, protectedHeader } = await jwtVerify(trust_mark, createLocalJWKSet(jwks), { typ: 'trust-mark+jwt', currentDate: new Date(now * 1000) })
      assert.ok(protectedHeader.kid)
      assert.deepEqual(payload, { iss: tmi.entityId, sub: RP, trust_mark_type: TYPE, iat: now, exp: now + 2_592_000, logo_uri: 'https://federation.example.org/logo.svg', ref: 'https://federation.example.org/tm' })
    })

    it('issues marks without exp for a type with lifetime 0', async () => {
      const token = await issue(FOREVER, RP)
      assert.equal(decode(token).payload.exp, undefined)
      assert.equal(await statusOf(token), 'active')
    })

    it('refuses an unconfigured type with invalid_request, and audits the refusal', async () => {
      const r = await tmi.admin('POST', '/admin/trust-marks', { trust_mark_type: 'https://nope.example/tm', sub: RP })
      assert.equal(r.status, 400)
      assert.deepEqual(r.body, { error: 'invalid_request', error_description: 'trust_mark_type: https://nope.example/tm is not a trust mark type this entity issues' })
      const audit = await tmi.admin('GET', `/admin/audit?action=trust_mark.issue&subject=${enc(RP)}`)
      const last = audit.body.events.at(-1)
      assert.equal(last.outcome, 'failure')
      assert.equal(last.detail.reason, 'unknown type')
    })

    it('refuses a sub that is not an entity id, naming the field', async () => {
      const r = await tmi.admin('POST', '/admin/trust-marks', { trust_mark_type: TYPE, sub: 'rp' })
      assert.deepEqual([r.status, r.body.error_description], [400, 'sub: must match format "entity-id"'])
    })
  })

  describe('trust mark endpoint', () => {
    it('returns the current mark as application/trust-mark+jwt', async () => {
      const token = await issue(TYPE, OP)
      const res = await fetch(`${tmi.entityId}/trust-mark?trust_mark_type=${enc(TYPE)}&sub=${enc(OP)}`)
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-type'), 'application/trust-mark+jwt')
      assert.equal(await res.text(), token)
    })

    const cases: Array<[string, string, number, string, string]> = [
      ['an entity without the mark', `trust_mark_type=${enc(TYPE)}&sub=${enc('https://none.example.org')}`, 404, 'not_found', `https://none.example.org has no active trust mark of type ${TYPE} from this issuer`],
      ['an unknown type', `trust_mark_type=x&sub=${enc(RP)}`, 404, 'not_found', `${RP} has no active trust mark of type x from this issuer`],
      ['a missing sub', `trust_mark_type=${enc(TYPE)}`, 400, 'invalid_request', 'sub: is required'],
      ['a missing trust_mark_type', `sub=${enc(RP)}`, 400, 'invalid_request', 'trust_mark_type: is required'],
    ]
    for (const [what, q, code, error, description] of cases) {
      it(`answers ${what} with ${code} ${error}`, async () => {
        const res = await fetch(`${tmi.entityId}/trust-mark?${q}`)
        assert.equal(res.status, code)
        assert.deepEqual(await res.json(), { error, error_description: description })
      })
    }
  })

  describe('trust mark status endpoint', () => {
    it('is advertised in the entity configuration with the other trust mark endpoints', async () => {
      const fe = decode(await (await tmi.get('/.well-known/openid-federation')).text()).payload.metadata.federation_entity
      assert.equal(fe.federation_trust_mark_status_endpoint, `${tmi.entityId}/trust-mark-status`)
      assert.equal(fe.federation_trust_mark_endpoint, `${tmi.entityId}/trust-mark`)
      assert.equal(fe.federation_trust_mark_list_endpoint, `${tmi.entityId}/trust-marked-entities`)
    })

    it('answers active, then expired once exp has passed', async () => {
      const token = await issue(SHORT, RP)
      assert.equal(await statusOf(token), 'active')
      tmi.clock.advance(601)
      try {
        assert.equal(await statusOf(token), 'expired')
      } finally {
        tmi.clock.advance(-601)
      }
    })

    it('answers revoked at once after revocation, for every instance, and active for a mark re-issued later', async () => {
      const first = await issue(SHORT, 'https://revoked.example.org')
      const second = await issue(SHORT, 'https://revoked.example.org')
      assert.equal(await statusOf(first), 'active')
      const r = await tmi.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: SHORT, sub: 'https://revoked.example.org' })
      assert.equal(r.status, 200)
      assert.equal(r.body.status, 'revoked')
      assert.equal(await statusOf(first), 'revoked')
      assert.equal(await statusOf(second), 'revoked')
      const third = await issue(SHORT, 'https://revoked.example.org')
      assert.equal(await statusOf(third), 'active')
      assert.equal(await statusOf(first), 'revoked')
    })

    it('answers invalid for a mark naming this issuer whose signature does not verify', async () => {
      const token = await issue(TYPE, RP)
      const [h, p] = token.split('.')
      const forged = `${h}.${p}.${Buffer.alloc(64, 7).toString('base64url')}`
      assert.equal(await statusOf(forged), 'invalid')
    })

    it('answers invalid for a mark naming this issuer with a wrong or missing typ, or alg none', async () => {
      const key = await tmi.federation.keystore.signingKey()
      const claims = { iss: tmi.entityId, sub: RP, trust_mark_type: TYPE, iat: tmi.clock.now() }
      for (const typ of ['entity-statement+jwt', undefined]) {
        const token = await new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...(typ ? { typ } : {}) }).sign(key.privateKey)
        assert.equal(await statusOf(token), 'invalid', String(typ))
      }
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'trust-mark+jwt', kid: key.kid })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`
      assert.equal(await statusOf(none), 'invalid')
    })

    it('answers 404 for a mark of another issuer and for a mark it signed but never issued', async () => {
      const other = await testKey()
      const foreign = await new SignJWT({ iss: 'https://other.example.org', sub: RP, trust_mark_type: TYPE, iat: tmi.clock.now() })
        .setProtectedHeader({ alg: 'ES256', kid: other.kid, typ: 'trust-mark+jwt' }).sign(other.privateKey)
      let r = await status(foreign)
      assert.equal(r.status, 404)
      assert.deepEqual(r.json(), { error: 'not_found', error_description: 'trust_mark: not issued by this trust mark issuer' })
      const key = await tmi.federation.keystore.signingKey()
      const unknown = await new SignJWT({ iss: tmi.entityId, sub: 'https://ghost.example.org', trust_mark_type: TYPE, iat: tmi.clock.now() })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'trust-mark+jwt' }).sign(key.privateKey)
      r = await status(unknown)
      assert.equal(r.status, 404)
      assert.deepEqual(r.json(), { error: 'not_found', error_description: 'trust_mark: unknown to this trust mark issuer' })
    })

    it('answers GET with 405 and Allow: POST', async () => {
      const res = await fetch(`${tmi.entityId}/trust-mark-status?trust_mark=x`)
      assert.equal(res.status, 405)
      assert.equal(res.headers.get('allow'), 'POST')
      assert.deepEqual(await res.json(), { error: 'method_not_allowed', error_description: 'the trust mark status endpoint takes POST with the trust mark in a form body' })
    })

    it('answers a malformed request with 400 invalid_request', async () => {
      let r = await status('x', { headers: { 'content-type': 'application/json' }, body: '{}' })
      assert.deepEqual([r.status, r.json()], [400, { error: 'invalid_request', error_description: 'Content-Type must be application/x-www-form-urlencoded' }])
      r = await status('x', { body: new URLSearchParams({ other: '1' }) })
      assert.deepEqual([r.status, r.json()], [400, { error: 'invalid_request', error_description: 'trust_mark: is required' }])
      r = await status('not-a-jwt')
      assert.deepEqual([r.status, r.json()], [400, { error: 'invalid_request', error_description: 'trust_mark: is not a compact JWS' }])
    })
  })

  describe('trust marked entities listing', () => {
    it('lists the entities holding an active mark of the type, filtered by sub, as application/json', async () => {
      const r = await listing(`trust_mark_type=${enc(TYPE)}`)
      assert.equal(r.status, 200)
      assert.match(r.type!, /^application\/json/)
      assert.deepEqual(r.body, [OP, RP])
      assert.deepEqual((await listing(`trust_mark_type=${enc(TYPE)}&sub=${enc(OP)}`)).body, [OP])
      assert.deepEqual((await listing(`trust_mark_type=${enc(TYPE)}&sub=${enc('https://none.example.org')}`)).body, [])
    })

    it('drops a revoked entity at once', async () => {
      await tmi.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: TYPE, sub: OP })
      assert.deepEqual((await listing(`trust_mark_type=${enc(TYPE)}`)).body, [RP])
      assert.equal((await fetch(`${tmi.entityId}/trust-mark?trust_mark_type=${enc(TYPE)}&sub=${enc(OP)}`)).status, 404)
    })

    it('drops an entity whose mark has expired', async () => {
      await issue(SHORT, 'https://expiring.example.org')
      assert.ok((await listing(`trust_mark_type=${enc(SHORT)}`)).body.includes('https://expiring.example.org'))
      tmi.clock.advance(601)
      try {
        assert.ok(!(await listing(`trust_mark_type=${enc(SHORT)}`)).body.includes('https://expiring.example.org'))
      } finally {
        tmi.clock.advance(-601)
      }
    })

    it('answers an unknown type with 404 and a missing type with 400', async () => {
      assert.deepEqual(await listing('trust_mark_type=https%3A%2F%2Fnope'), { status: 404, type: 'application/json; charset=utf-8', body: { error: 'not_found', error_description: 'trust_mark_type: this entity does not issue https://nope' } })
      assert.deepEqual((await listing('')).body, { error: 'invalid_request', error_description: 'trust_mark_type: is required' })
    })
  })

  describe('admin list, revocation and audit', () => {
    it('lists issued marks with their status, filtered by type and sub', async () => {
      const r = await tmi.admin('GET', `/admin/trust-marks?trust_mark_type=${enc(TYPE)}`)
      assert.deepEqual(r.body.items.map((m: any) => [m.sub, m.status]), [[OP, 'revoked'], [RP, 'active']])
      const one = await tmi.admin('GET', `/admin/trust-marks?sub=${enc(OP)}`)
      assert.equal(one.body.items.length, 1)
      assert.equal(typeof one.body.items[0].revoked_at, 'number')
    })

    it('answers revocation of a mark never issued with 404, and audits it', async () => {
      const r = await tmi.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: TYPE, sub: 'https://never.example.org' })
      assert.deepEqual([r.status, r.body.error], [404, 'not_found'])
      const audit = await tmi.admin('GET', `/admin/audit?action=trust_mark.revoke&subject=${enc('https://never.example.org')}`)
      assert.equal(audit.body.events[0].outcome, 'failure')
    })

    it('audits every issuance and revocation with actor and type', async () => {
      const { body } = await tmi.admin('GET', `/admin/audit?subject=${enc(OP)}`)
      assert.deepEqual(body.events.map((e: any) => [e.action, e.outcome, e.detail.trust_mark_type]), [['trust_mark.issue', 'success', TYPE], ['trust_mark.revoke', 'success', TYPE]])
      assert.ok(body.events.every((e: any) => e.actor === 'admin'))
    })
  })

  describe('keys and restarts', () => {
    it('keeps answering for marks signed by a rotated key, and invalid once that key is retired as compromised', async () => {
      const token = await issue(TYPE, 'https://rotation.example.org')
      const oldKid = decode(token).header.kid
      assert.equal((await tmi.admin('POST', '/admin/keys/rotate', {})).status, 201)
      jwks = decode(await (await tmi.get('/.well-known/openid-federation')).text()).payload.jwks
      assert.equal(await statusOf(token), 'active')
      assert.equal((await tmi.admin('POST', `/admin/keys/${enc(oldKid)}/retire`, { reason: 'superseded' })).status, 200)
      assert.equal(await statusOf(token), 'active', 'retired as superseded: still verifiable')
      await tmi.store.update('keys', oldKid, (k: any) => ({ ...k, revoked: { revoked_at: tmi.clock.now(), reason: 'compromised' } }))
      assert.equal(await statusOf(token), 'invalid')
    })

    it('knows what it issued after a restart, at every endpoint and in the subordinate listing', async () => {
      const sub = 'https://restart.example.org'
      const token = await issue(TYPE, sub)
      await tmi.admin('POST', '/admin/subordinates', { entity_id: sub, jwks: { keys: [(await testKey()).publicJwk] } })
      const { dir, port, clock } = tmi
      await tmi.stop({ keepDir: true })
      tmi = await startEntity({ dir, port, clock })
      assert.equal(await statusOf(token), 'active')
      assert.deepEqual((await listing(`trust_mark_type=${enc(TYPE)}&sub=${enc(sub)}`)).body, [sub])
      assert.ok((await (await fetch(`${tmi.entityId}/list?trust_mark_type=${enc(TYPE)}`)).json() as string[]).includes(sub))
      await tmi.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: TYPE, sub })
      assert.ok(!(await (await fetch(`${tmi.entityId}/list?trust_mark_type=${enc(TYPE)}`)).json() as string[]).includes(sub))
    })
  })
})
