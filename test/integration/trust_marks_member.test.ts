/**
 * Topology:  TMI (Anchorage, own port, issues TYPE and SHORT)  ──mark──>  MEMBER (Anchorage, own port)
 * The member role: trust marks in this entity's own configuration, submitted or fetched
 * from the issuer's trust mark endpoint, refreshed before they expire, dropped once the
 * issuer no longer has them.
 */
import { strict as assert } from 'node:assert'
import { SignJWT } from 'jose'
import { startEntity, testKey, decode, type TestEntity } from '../support/entity.js'

const TYPE = 'https://federation.example.org/tm/certified'
const SHORT = 'https://federation.example.org/tm/short'
const enc = encodeURIComponent

describe('trust marks carried by this entity', () => {
  let tmi: TestEntity
  let member: TestEntity
  const trustMarks = async () => decode(await (await member.get('/.well-known/openid-federation')).text()).payload.trust_marks
  const issue = async (type: string, sub = member.entityId) => (await tmi.admin('POST', '/admin/trust-marks', { trust_mark_type: type, sub })).body.trust_mark as string
  const addOwn = (body: unknown) => member.admin('POST', '/admin/own-trust-marks', body)

  before(async () => {
    tmi = await startEntity()
    member = await startEntity({ clock: tmi.clock })
    await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: TYPE })
    await tmi.admin('POST', '/admin/trust-mark-types', { trust_mark_type: SHORT, lifetime: 800 })
  })
  after(async () => {
    await Promise.all([tmi?.stop(), member?.stop()])
  })

  describe('POST /admin/own-trust-marks {trust_mark}', () => {
    it('accepts a mark for this entity signed by its issuer, and publishes it at once', async () => {
      const token = await issue(TYPE)
      assert.equal(await trustMarks(), undefined)
      const r = await addOwn({ trust_mark: token })
      assert.equal(r.status, 201)
      assert.deepEqual([r.body.trust_mark_type, r.body.issuer, r.body.source], [TYPE, tmi.entityId, 'submitted'])
      assert.deepEqual(await trustMarks(), [{ trust_mark_type: TYPE, trust_mark: token }])
    })

    it('refuses a mark about another entity', async () => {
      const r = await addOwn({ trust_mark: await issue(TYPE, 'https://other.example.org') })
      assert.deepEqual([r.status, r.body], [400, { error: 'invalid_request', error_description: `trust_mark: sub "https://other.example.org" is not this entity (${member.entityId})` }])
    })

    it('refuses an expired mark', async () => {
      const token = await issue(SHORT)
      tmi.clock.advance(801)
      try {
        const r = await addOwn({ trust_mark: token })
        assert.deepEqual([r.status, r.body.error_description], [400, 'trust_mark: the JWT has expired'])
      } finally {
        tmi.clock.advance(-801)
      }
    })

    it('refuses a mark whose signature does not verify with the issuer\'s keys', async () => {
      const [h, p] = (await issue(TYPE)).split('.')
      const r = await addOwn({ trust_mark: `${h}.${p}.${Buffer.alloc(64, 1).toString('base64url')}` })
      assert.deepEqual([r.status, r.body.error_description], [400, 'trust_mark: the signature does not verify'])
    })

    it('refuses a mark signed with a key its issuer does not publish', async () => {
      const k = await testKey()
      const token = await new SignJWT({ iss: tmi.entityId, sub: member.entityId, trust_mark_type: TYPE, iat: tmi.clock.now() })
        .setProtectedHeader({ alg: 'ES256', kid: k.kid, typ: 'trust-mark+jwt' }).sign(k.privateKey)
      const r = await addOwn({ trust_mark: token })
      assert.deepEqual([r.status, r.body.error_description], [400, `trust_mark: no key with kid "${k.kid}" in the issuer's JWK set`])
    })

    it('refuses a mark with the wrong typ', async () => {
      const key = await tmi.federation.keystore.signingKey()
      const token = await new SignJWT({ iss: tmi.entityId, sub: member.entityId, trust_mark_type: TYPE, iat: tmi.clock.now() })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'jwt' }).sign(key.privateKey)
      const r = await addOwn({ trust_mark: token })
      assert.deepEqual([r.status, r.body.error_description], [400, 'trust_mark: JWS typ must be "trust-mark+jwt", got "jwt"'])
    })

    it('refuses a mark whose issuer cannot be reached, and audits the refusal', async () => {
      const k = await testKey()
      const token = await new SignJWT({ iss: 'http://127.0.0.1:1', sub: member.entityId, trust_mark_type: TYPE, iat: tmi.clock.now() })
        .setProtectedHeader({ alg: 'ES256', kid: k.kid, typ: 'trust-mark+jwt' }).sign(k.privateKey)
      const r = await addOwn({ trust_mark: token })
      assert.equal(r.status, 400)
      assert.match(r.body.error_description, /^cannot fetch http:\/\/127.0.0.1:1\/.well-known\/openid-federation: /)
      const audit = await member.admin('GET', '/admin/audit?action=own_trust_mark.add')
      assert.equal(audit.body.events.at(-1).outcome, 'failure')
    })

    const bad: Array<[string, unknown, string]> = [
      ['an empty body', {}, '(top level): must NOT have fewer than 1 properties'],
      ['a type without issuer', { trust_mark_type: TYPE }, 'issuer: is required (or give trust_mark)'],
      ['a mark and a type', { trust_mark: 'a.b.c', trust_mark_type: TYPE }, 'trust_mark: give either trust_mark, or trust_mark_type and issuer'],
      ['an issuer that is not an entity id', { trust_mark_type: TYPE, issuer: 'tmi' }, 'issuer: must match format "entity-id"'],
      ['a mark that is not a JWS', { trust_mark: 'nope' }, 'trust_mark: is not a compact JWS'],
    ]
    for (const [what, body, description] of bad) {
      it(`refuses ${what} with 400`, async () => {
        const r = await addOwn(body)
        assert.deepEqual([r.status, r.body], [400, { error: 'invalid_request', error_description: description }])
      })
    }
  })

  describe('POST /admin/own-trust-marks {trust_mark_type, issuer}', () => {
    it('fetches the mark from the issuer\'s trust mark endpoint found in its entity configuration', async () => {
      const issued = await issue(SHORT)
      const r = await addOwn({ trust_mark_type: SHORT, issuer: tmi.entityId })
      assert.equal(r.status, 201)
      assert.deepEqual([r.body.source, r.body.trust_mark], ['fetched', issued])
      assert.deepEqual((await trustMarks()).map((m: any) => m.trust_mark_type), [TYPE, SHORT])
      assert.deepEqual((await member.admin('GET', '/admin/own-trust-marks')).body.items.map((m: any) => m.trust_mark_type), [TYPE, SHORT])
    })

    it('refuses a type the issuer has not issued to this entity', async () => {
      const r = await addOwn({ trust_mark_type: 'https://federation.example.org/tm/none', issuer: tmi.entityId })
      assert.deepEqual([r.status, r.body.error_description], [400, `issuer: ${tmi.entityId}'s trust mark endpoint answered HTTP 404`])
    })

    it('fetches the mark again past three quarters of its lifetime', async () => {
      const before = (await member.admin('GET', '/admin/own-trust-marks')).body.items.find((m: any) => m.trust_mark_type === SHORT)
      tmi.clock.advance(100)
      assert.deepEqual((await member.admin('POST', '/admin/own-trust-marks/refresh')).body, { refreshed: [], dropped: [], failed: [] })
      tmi.clock.advance(520)
      await issue(SHORT)
      const r = await member.admin('POST', '/admin/own-trust-marks/refresh')
      assert.deepEqual(r.body, { refreshed: [`${SHORT} ${tmi.entityId}`], dropped: [], failed: [] })
      const after = (await trustMarks()).find((m: any) => m.trust_mark_type === SHORT)
      assert.notEqual(after.trust_mark, before.trust_mark)
      assert.equal(decode(after.trust_mark).payload.iat, tmi.clock.now())
    })

    it('drops the mark from the configuration when the issuer has revoked it', async () => {
      await tmi.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: SHORT, sub: member.entityId })
      tmi.clock.advance(700)
      const r = await member.admin('POST', '/admin/own-trust-marks/refresh')
      assert.deepEqual(r.body, { refreshed: [], dropped: [`${SHORT} ${tmi.entityId}`], failed: [] })
      assert.deepEqual((await trustMarks()).map((m: any) => m.trust_mark_type), [TYPE])
      const audit = await member.admin('GET', '/admin/audit?action=own_trust_mark.drop')
      assert.equal(audit.body.events.length, 1)
    })
  })

  describe('DELETE /admin/own-trust-marks', () => {
    it('removes a mark from the configuration at once; a second DELETE is 404', async () => {
      const path = `/admin/own-trust-marks?trust_mark_type=${enc(TYPE)}&issuer=${enc(tmi.entityId)}`
      assert.equal((await member.admin('DELETE', path)).status, 204)
      assert.equal(await trustMarks(), undefined)
      const again = await member.admin('DELETE', path)
      assert.deepEqual([again.status, again.body.error], [404, 'not_found'])
      const missing = await member.admin('DELETE', `/admin/own-trust-marks?trust_mark_type=${enc(TYPE)}`)
      assert.deepEqual([missing.status, missing.body.error_description], [400, 'issuer: is required'])
    })
  })
})
