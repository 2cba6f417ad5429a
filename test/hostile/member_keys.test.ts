/**
 * Object.prototype member names outside metadata policies (issue 12, items 1 and 2): in the
 * subject's metadata, the superior's metadata claim, constraints, jwks members, trust mark
 * claims and query parameters. Each is an ordinary name, read as an own member only; what is
 * data stays data in the signed answer, and nothing reaches the intrinsics.
 *
 *   TA (trust_mark_owners set, so an owner lookup by type name happens; status_check never)
 *    --> hi-NAME --> leaf-NAME        (cases.ts)
 */
import { strict as assert } from 'node:assert'
import { SignJWT } from 'jose'
import { testKey, type TestKey } from '../support/federation.js'
import { HOSTILE_NAMES, RP_METADATA, member, raw, startFederation, type Federation } from './cases.js'

const OWNED_TYPE = 'https://tm.example/owned'

describe('hostile: member names of Object.prototype in metadata, constraints, jwks, trust marks and queries', () => {
  let fed: Federation
  let owner: TestKey
  before(async () => {
    owner = await testKey()
    fed = await startFederation({
      trust_marks: { status_check: 'never' },
      trust_mark_owners: { [OWNED_TYPE]: { sub: 'https://owner.example', jwks: { keys: [owner.publicJwk] } } },
    })
  })
  after(async () => {
    await fed?.stop()
  })

  it("keeps hostile Entity Type and parameter names of the subject's metadata as data, and selects them by entity_type", async () => {
    await fed.check(async () => {
      const metadata = raw('{"federation_entity": {"organization_name": "Leaf"}, "openid_relying_party": {"client_name": "RP", "__proto__": "p", "toString": "t"}, "__proto__": {"a": 1}, "constructor": {"b": 2}}')
      const { leaf } = await fed.add('metadata', { metadata })
      const all = await fed.resolve(leaf)
      assert.equal(all.status, 200, all.text)
      assert.deepEqual(Object.keys(all.payload!.metadata).sort(), ['__proto__', 'constructor', 'federation_entity', 'openid_relying_party'])
      assert.deepEqual(member(all.payload!.metadata, '__proto__'), { a: 1 })
      const rp = all.payload!.metadata.openid_relying_party
      assert.deepEqual([member(rp, '__proto__'), member(rp, 'toString'), rp.contacts], ['p', 't', ['ops@ta.example']])
      for (const [type, value] of [['__proto__', { a: 1 }], ['constructor', { b: 2 }]] as const) {
        const one = await fed.resolve(leaf, { entity_type: type })
        assert.equal(one.status, 200, one.text)
        assert.deepEqual(Object.keys(one.payload!.metadata), [type])
        assert.deepEqual(member(one.payload!.metadata, type), value)
      }
    })
  })

  it("applies the superior's metadata claim only to types the subject has, hostile names included", async () => {
    await fed.check(async () => {
      const { leaf } = await fed.add('superior-metadata', {
        ss: { metadata: raw('{"__proto__": {"trust_chain": "x"}, "constructor": {"y": 1}, "openid_relying_party": {"toString": "forced", "__proto__": "forced"}}') },
      })
      const r = await fed.resolve(leaf)
      assert.equal(r.status, 200, r.text)
      assert.deepEqual(Object.keys(r.payload!.metadata).sort(), ['federation_entity', 'openid_relying_party'])
      const rp = r.payload!.metadata.openid_relying_party
      assert.deepEqual([member(rp, 'toString'), member(rp, '__proto__'), rp.client_name], ['forced', 'forced', 'RP'])
    })
  })

  it('ignores constraint members named after Object.prototype members', async () => {
    await fed.check(async () => {
      const constraints = raw('{"__proto__": {"max_path_length": 0}, "constructor": {"naming_constraints": {"permitted": ["x.example"]}}, "toString": 1, "naming_constraints": {"__proto__": {"permitted": ["x.example"]}, "hasOwnProperty": []}}')
      const { leaf } = await fed.add('constraints', { ss: { constraints } })
      const r = await fed.resolve(leaf)
      assert.equal(r.status, 200, r.text)
    })
  })

  it('verifies with keys whose JWK and JWK Set carry members named after Object.prototype members', async () => {
    await fed.check(async () => {
      const { hi, leaf } = await fed.add('jwks')
      const jwk = JSON.stringify(leaf.key.publicJwk).slice(0, -1)
      const jwks = raw(`{"keys": [${jwk}, "__proto__": {"kty": "oct", "k": "AAAA"}, "constructor": "x", "toString": "y", "valueOf": "z", "hasOwnProperty": "w"}], "__proto__": {"keys": []}, "constructor": 1}`)
      leaf.claims = { jwks }
      fed.h.subordinate(hi, leaf, { jwks })
      const r = await fed.resolve(leaf)
      assert.equal(r.status, 200, r.text)
    })
  })

  it('verifies trust marks whose type and claims are Object.prototype member names, with no inherited owner', async () => {
    await fed.check(async () => {
      const { hi, leaf } = await fed.add('trust-marks')
      const now = fed.clock.now()
      const mark = (type: string) => new SignJWT(raw(`{"iss": "${hi.id}", "sub": "${leaf.id}", "trust_mark_type": "${type}", "iat": ${now}, "__proto__": {"delegation": "x"}, "toString": "t", "valueOf": 1, "hasOwnProperty": "h"}`))
        .setProtectedHeader({ alg: hi.key.alg, kid: hi.key.kid, typ: 'trust-mark+jwt' }).sign(hi.key.privateKey)
      const types = ['constructor', '__proto__', 'toString']
      leaf.claims = { trust_marks: await Promise.all(types.map(async (t) => ({ trust_mark_type: t, trust_mark: await mark(t) }))) }
      const r = await fed.resolve(leaf)
      assert.equal(r.status, 200, r.text)
      assert.deepEqual((r.payload!.trust_marks as Array<{ trust_mark_type: string }>).map((m) => m.trust_mark_type).sort(), [...types].sort())
    })
  })

  it('answers an entity_type the subject lacks exactly like any other absent type, for every hostile name', async () => {
    await fed.check(async () => {
      const ordinary = await fed.resolve(fed.good, { entity_type: 'not_a_type' })
      assert.equal(ordinary.status, 400, ordinary.text)
      assert.equal(ordinary.error?.error, 'invalid_metadata')
      for (const name of HOSTILE_NAMES) {
        const r = await fed.resolve(fed.good, { entity_type: name })
        assert.equal(r.status, ordinary.status, r.text)
        assert.equal(r.error?.error, ordinary.error?.error, r.text)
        assert.equal(r.error?.error_description, ordinary.error?.error_description.replaceAll('not_a_type', name))
      }
    })
  })

  it('ignores query parameters named after Object.prototype members, and treats such anchors and subjects as unknown', async () => {
    await fed.check(async () => {
      const extra = Object.fromEntries(HOSTILE_NAMES.map((n) => [n, 'x']))
      const r = await fed.resolve(fed.good, extra)
      assert.equal(r.status, 200, r.text)
      assert.deepEqual(r.payload!.metadata, RP_METADATA)

      const unknownAnchor = await fed.resolve(fed.good, { trust_anchor: 'https://unknown.example' })
      const unknownSub = await fed.ta.get(`/fetch?sub=${encodeURIComponent('https://unknown.example')}`)
      for (const name of HOSTILE_NAMES) {
        const a = await fed.resolve(fed.good, { trust_anchor: name })
        assert.deepEqual([a.status, a.error?.error], [unknownAnchor.status, unknownAnchor.error?.error], a.text)
        const f = await fed.ta.get(`/fetch?sub=${name}`)
        assert.equal(f.status, unknownSub.status, await f.text())
        for (const filter of ['entity_type', 'trust_mark_type']) {
          const l = await fed.ta.get(`/list?${filter}=${name}`)
          assert.equal(l.status, 200, filter)
          assert.deepEqual(await l.json(), [])
        }
      }
    })
  })
})
