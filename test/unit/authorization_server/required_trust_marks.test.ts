/** registration.required_trust_marks: configuration (schema, normalization, refusals) and the admission rule on a resolved chain. */
import { strict as assert } from 'node:assert'
import { resolveConfig, checkConfigFile, ConfigError, type ConfigFile } from '../../../src/config/load.js'
import { RequiredTrustMarks } from '../../../src/registration/required_trust_marks.js'
import type { ResolvedChain } from '../../../src/trust_chain/types.js'

const BASE: ConfigFile = { entity_id: 'https://op.example.com', authorization_server: { resources: ['https://r.example.com/api'] } }
const TA = 'https://ta.example.org'
const TYPE = 'https://ta.example.org/tm/certified'
const OTHER = 'https://ta.example.org/tm/other'

/** A verified mark as the resolver returns it (the payload is all the rule reads). */
const mark = (type: string, iss: string) => {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  return { trust_mark_type: type, trust_mark: `${enc({ alg: 'ES256', kid: 'k', typ: 'trust-mark+jwt' })}.${enc({ iss, sub: 'https://rp.example.org', trust_mark_type: type, iat: 1 })}.c2ln` }
}
const chain = (marks: Array<{ trust_mark_type: string; trust_mark: string }>, refusals: ResolvedChain['trust_mark_refusals'] = undefined): ResolvedChain => ({
  subject: 'https://rp.example.org', anchor: TA, trust_chain: [], links: [], metadata: {}, trust_marks: marks, exp: 2, subject_jwks: { keys: [] },
  ...(refusals ? { trust_mark_refusals: refusals } : {}),
})

describe('registration.required_trust_marks', () => {
  describe('configuration', () => {
    it('normalizes string entries to {trust_mark_type} and keeps issuers', () => {
      const c = resolveConfig(checkConfigFile({ ...BASE, registration: { required_trust_marks: { openid_relying_party: [TYPE], oauth_client: [{ trust_mark_type: TYPE, trust_mark_issuer: TA }] } } }), '/d', {}, {})
      assert.deepEqual(JSON.parse(JSON.stringify(c.registration)), {
        required_trust_marks: { openid_relying_party: [{ trust_mark_type: TYPE }], oauth_client: [{ trust_mark_type: TYPE, trust_mark_issuer: TA }] },
      })
    })

    it('is empty when not configured', () => {
      assert.deepEqual(JSON.parse(JSON.stringify(resolveConfig(BASE, '/d', {}, {}).registration)), { required_trust_marks: {} })
    })

    it('refuses unknown client types, unknown entry members, an issuer that is not an entity id, and an empty type', () => {
      const with_ = (r: unknown) => ({ ...BASE, registration: { required_trust_marks: r } }) as unknown as ConfigFile
      assert.throws(() => checkConfigFile(with_({ federation_entity: [TYPE] })), /registration\.required_trust_marks\.federation_entity: unknown property/)
      assert.throws(() => checkConfigFile(with_({ oauth_client: [{ trust_mark_type: TYPE, issuer: TA }] })), ConfigError)
      assert.throws(() => checkConfigFile(with_({ oauth_client: [{ trust_mark_type: TYPE, trust_mark_issuer: 'not a url' }] })), ConfigError)
      assert.throws(() => checkConfigFile(with_({ oauth_client: [''] })), ConfigError)
      // As JSON.parse reads the file: an own member named __proto__.
      assert.throws(() => checkConfigFile(with_(JSON.parse(`{"__proto__": ["${TYPE}"]}`))), /required_trust_marks\.__proto__: unknown property/)
    })

    it('refuses requirements without an authorization_server section, naming the field', () => {
      const file: ConfigFile = { entity_id: 'https://ta.example.org', registration: { required_trust_marks: { default: [TYPE] } } }
      assert.throws(() => resolveConfig(checkConfigFile(file), '/d', {}, {}), /registration\.required_trust_marks: applies to the authorization server role/)
    })
  })

  describe('admission', () => {
    const rule = new RequiredTrustMarks({ openid_relying_party: [{ trust_mark_type: TYPE }], oauth_client: [{ trust_mark_type: TYPE, trust_mark_issuer: TA }], default: [{ trust_mark_type: OTHER }] })

    it('verifies only the required types', () => {
      assert.deepEqual([...rule.types].sort(), [OTHER, TYPE].sort())
    })

    it('admits a chain carrying each required mark, and returns the verified marks of the required types', () => {
      assert.deepEqual(rule.admit(chain([mark(TYPE, 'https://tmi.example.org'), mark('https://unrelated', TA)]), 'openid_relying_party'), [
        { trust_mark_type: TYPE, trust_mark_issuer: 'https://tmi.example.org' },
      ])
      assert.deepEqual(rule.admit(chain([mark(TYPE, TA), mark(TYPE, TA)]), 'oauth_client'), [{ trust_mark_type: TYPE, trust_mark_issuer: TA }])
    })

    it('refuses a chain without the mark with invalid_client, saying why the marks it carried were refused', () => {
      assert.throws(() => rule.admit(chain([]), 'openid_relying_party'), (e: any) => e.error === 'invalid_client' && e.status === 401 &&
        /openid_relying_party clients must carry a valid trust mark of type "https:\/\/ta\.example\.org\/tm\/certified".*carries none/.test(e.message))
      assert.throws(() => rule.admit(chain([], [{ trust_mark_type: TYPE, reason: 'trust mark expired at 5' }]), 'openid_relying_party'), /refused: trust mark expired at 5/)
    })

    it('refuses a mark from another issuer than the required one', () => {
      assert.throws(() => rule.admit(chain([mark(TYPE, 'https://tmi.example.org')]), 'oauth_client'), /issued by https:\/\/ta\.example\.org .*carries one from https:\/\/tmi\.example\.org/)
    })

    it('applies default to the types without their own list', () => {
      assert.throws(() => rule.admit(chain([mark(TYPE, TA)]), 'oauth_resource'), /oauth_resource clients must carry a valid trust mark of type "https:\/\/ta\.example\.org\/tm\/other"/)
      assert.deepEqual(new RequiredTrustMarks({}).admit(chain([]), 'oauth_client'), [])
      assert.deepEqual(new RequiredTrustMarks({}).types.size, 0)
    })

    it('reads the client type as an own member only', () => {
      const r = new RequiredTrustMarks({ default: [] })
      for (const t of ['__proto__', 'constructor', 'toString']) assert.deepEqual(r.of(t), [])
    })
  })
})
