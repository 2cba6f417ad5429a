/**
 * Prototype pollution through the metadata policy merge (issue 12, item 1): a hostile
 * intermediate's subordinate statement names `__proto__`, `constructor`, `prototype`,
 * `toString`, `hasOwnProperty` as Entity Types, parameters and operators, one level below
 * a statement with a policy. Each is an ordinary name: a policy for a type the subject
 * lacks does nothing, a parameter policy makes an ordinary member, an unknown operator is
 * ignored (or refused when critical). Nothing reaches Object.prototype, and the good
 * subject still resolves.
 *
 *   TA --TA_POLICY--> hi-NAME --hostile metadata_policy--> leaf-NAME      (see cases.ts)
 */
import { strict as assert } from 'node:assert'
import { assertFailure } from '../support/federation.js'
import { HOSTILE_NAMES, RP_METADATA, TA_POLICY, member, raw, startFederation, type Federation } from './cases.js'

describe('hostile: member names of Object.prototype in metadata policies', () => {
  let fed: Federation
  before(async () => {
    fed = await startFederation()
  })
  after(async () => {
    await fed?.stop()
  })

  const withTaPolicy = { ...RP_METADATA.openid_relying_party, contacts: ['ops@ta.example'] }

  for (const name of HOSTILE_NAMES) {
    it(`ignores a policy for the Entity Type "${name}" the subject does not have (resolves, nothing polluted)`, async () => {
      await fed.check(async () => {
        const { leaf } = await fed.add(`type-${name}`, { ss: { metadata_policy: raw(`{"${name}": {"trust_chain": {"value": "x"}}}`) } })
        const r = await fed.resolve(leaf)
        assert.equal(r.status, 200, r.text)
        assert.deepEqual(Object.keys(r.payload!.metadata).sort(), ['federation_entity', 'openid_relying_party'])
        assert.deepEqual(r.payload!.metadata.openid_relying_party, withTaPolicy)
        assert.ok(!r.text.includes('trust_chain":"x'))
      })
    })
  }

  it('makes a parameter policy for each hostile name an ordinary member of the resolved metadata', async () => {
    await fed.check(async () => {
      const { leaf } = await fed.add('parameters', {
        ss: { metadata_policy: raw('{"openid_relying_party": {"__proto__": {"value": "p"}, "constructor": {"value": "c"}, "prototype": {"default": "d"}, "toString": {"add": ["t"]}, "hasOwnProperty": {"value": "h"}, "valueOf": {"essential": false}}}') },
      })
      const r = await fed.resolve(leaf)
      assert.equal(r.status, 200, r.text)
      const rp = r.payload!.metadata.openid_relying_party
      assert.deepEqual(Object.keys(rp).sort(), ['__proto__', 'client_name', 'constructor', 'contacts', 'hasOwnProperty', 'prototype', 'redirect_uris', 'toString'])
      assert.deepEqual(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'].map((k) => member(rp, k)), ['p', 'c', 'd', ['t'], 'h'])
    })
  })

  it('merges hostile parameter names with the superior policy as ordinary names: a conflict names the parameter and operator', async () => {
    await fed.check(async () => {
      const { hi, leaf } = await fed.add('merge', {
        taPolicy: { openid_relying_party: { toString: { value: 'a' } } },
        ss: { metadata_policy: { openid_relying_party: { toString: { value: 'b' } } } },
      })
      const r = await fed.resolve(leaf)
      assertFailure(r, 'invalid_trust_chain', 400, `subordinate statement ${hi.id} -> ${leaf.id}`, 'metadata_policy')
      assert.match(r.error!.error_description, /"openid_relying_party\.toString", operator "value": cannot be merged with the superiors' policy: the values "a" and "b" differ/)
    })
  })

  it('ignores operators named after Object.prototype members, and refuses them when critical', async () => {
    await fed.check(async () => {
      const operators = '{"__proto__": {"value": "x"}, "constructor": "y", "prototype": [], "toString": 1, "hasOwnProperty": true, "valueOf": null}'
      const { leaf } = await fed.add('operators', { ss: { metadata_policy: raw(`{"openid_relying_party": {"client_name": ${operators}}}`) } })
      const ok = await fed.resolve(leaf)
      assert.equal(ok.status, 200, ok.text)
      assert.deepEqual(ok.payload!.metadata.openid_relying_party, withTaPolicy)

      for (const crit of ['__proto__', 'constructor', 'toString']) {
        const { hi, leaf: critical } = await fed.add(`crit-${crit}`, {
          ss: { metadata_policy: raw(`{"openid_relying_party": {"client_name": ${operators}}}`), metadata_policy_crit: [crit] },
        })
        const r = await fed.resolve(critical)
        assertFailure(r, 'invalid_trust_chain', 400, `subordinate statement ${hi.id} -> ${critical.id}`, 'metadata_policy')
        assert.ok(r.error!.error_description.includes(`operator "${crit}": the operator is listed in metadata_policy_crit but is not understood`), r.text)
      }
    })
  })

  it('keeps a hostile policy one level above the subject from reaching other resolutions (TA policy with the same names)', async () => {
    await fed.check(async () => {
      const taPolicy = raw('{"__proto__": {"client_name": {"value": "owned"}}, "openid_relying_party": {"contacts": {"add": ["ops@ta.example"]}}}')
      const { leaf } = await fed.add('ta-proto', { taPolicy, ss: { metadata_policy: raw('{"__proto__": {"client_name": {"value": "owned"}}, "openid_relying_party": {}}') } })
      const r = await fed.resolve(leaf)
      assert.equal(r.status, 200, r.text)
      assert.deepEqual(r.payload!.metadata.openid_relying_party, withTaPolicy)
    })
  })

  it('still applies the ordinary policy of the chain after every hostile case (TA_POLICY on a clean leaf)', async () => {
    await fed.check(async () => {
      const { leaf } = await fed.add('clean', { taPolicy: TA_POLICY })
      const r = await fed.resolve(leaf)
      assert.equal(r.status, 200, r.text)
      assert.deepEqual(r.payload!.metadata.openid_relying_party, withTaPolicy)
    })
  })
})
