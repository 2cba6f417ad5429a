/**
 * Policy resolution: the merge of each operator ("Operator value merge") and the three-level
 * merge of "Policy Resolution", Trust Anchor first.
 *
 *   TA --statement #0--> IA1 --statement #1--> IA2 --statement #2--> leaf
 */
import { resolveEntityTypePolicies, resolvePolicies, type ParameterPolicy } from '../../../src/metadata_policy/index.js'
import { assert, expectPolicyError } from './helpers.js'

const chain = (...policies: ParameterPolicy[]) => resolvePolicies(policies.map((p) => ({ policy: { openid_relying_party: { p } } })))
const merged = (...policies: ParameterPolicy[]) => chain(...policies).openid_relying_party?.p

describe('metadata policy: merging', () => {
  describe('value', () => {
    it('merges equal values, null included', () => {
      assert.deepEqual(merged({ value: 'a' }, { value: 'a' }), { value: 'a' })
      assert.deepEqual(merged({ value: ['a', 'b'] }, { value: ['a', 'b'] }), { value: ['a', 'b'] })
      assert.deepEqual(merged({ value: { k: [1] } }, { value: { k: [1] } }), { value: { k: [1] } })
      assert.deepEqual(merged({ value: null }, { value: null }), { value: null })
    })
    it('refuses different values, naming both', () => {
      expectPolicyError(() => merged({ value: 'a' }, { value: 'b' }), 'invalid_policy',
        'statement #1', 'openid_relying_party.p', 'operator "value"', 'the values "a" and "b" differ')
      expectPolicyError(() => merged({ value: 'a' }, { value: null }), 'invalid_policy', 'value')
      expectPolicyError(() => merged({ value: 1 }, { value: '1' }), 'invalid_policy', 'value')
    })
    it('compares arrays as JSON (order matters)', () => {
      expectPolicyError(() => merged({ value: ['a', 'b'] }, { value: ['b', 'a'] }), 'invalid_policy', 'operator "value"')
    })
  })

  describe('add', () => {
    it('takes the union, superior values first, each once', () => {
      assert.deepEqual(merged({ add: ['a', 'b'] }, { add: ['b', 'c'] }, { add: ['d', 'a'] }), { add: ['a', 'b', 'c', 'd'] })
    })
  })

  describe('default', () => {
    it('merges equal values and refuses different ones', () => {
      assert.deepEqual(merged({ default: ['a'] }, { default: ['a'] }), { default: ['a'] })
      expectPolicyError(() => merged({ default: 'a' }, { default: 'b' }), 'invalid_policy', 'p', 'operator "default"', 'differ')
    })
  })

  describe('one_of', () => {
    it('takes the intersection', () => {
      assert.deepEqual(merged({ one_of: ['a', 'b', 'c'] }, { one_of: ['c', 'b', 'z'] }), { one_of: ['b', 'c'] })
    })
    it('refuses an empty intersection', () => {
      expectPolicyError(() => merged({ one_of: ['a'] }, { one_of: ['b'] }), 'invalid_policy',
        'statement #1', 'p', 'operator "one_of"', 'the intersection of ["a"] and ["b"] is empty')
    })
  })

  describe('subset_of', () => {
    it('takes the intersection', () => {
      assert.deepEqual(merged({ subset_of: ['a', 'b'] }, { subset_of: ['b', 'c'] }), { subset_of: ['b'] })
    })
    it('allows an empty intersection, which then empties the parameter', () => {
      const policy = chain({ subset_of: ['a'] }, { subset_of: ['b'] })
      assert.deepEqual(policy.openid_relying_party?.p, { subset_of: [] })
    })
  })

  describe('superset_of', () => {
    it('takes the union', () => {
      assert.deepEqual(merged({ superset_of: ['a'] }, { superset_of: ['b', 'a'] }), { superset_of: ['a', 'b'] })
    })
  })

  describe('essential', () => {
    it('takes the logical OR, so a subordinate can neither drop nor weaken it', () => {
      assert.deepEqual(merged({ essential: false }, { essential: true }), { essential: true })
      assert.deepEqual(merged({ essential: true }, { essential: false }), { essential: true })
      assert.deepEqual(merged({ essential: false }, { essential: false }), { essential: false })
    })
  })

  describe('levels', () => {
    it('copies Entity Types and parameters present on one side only', () => {
      const out = resolvePolicies([
        { policy: { openid_provider: { a: { value: 1 } }, openid_relying_party: { b: { add: ['x'] } } } },
        { policy: { openid_relying_party: { c: { default: 'y' } }, oauth_client: { d: { essential: true } } } },
      ])
      assert.deepEqual(out, {
        openid_provider: { a: { value: 1 } },
        openid_relying_party: { b: { add: ['x'] }, c: { default: 'y' } },
        oauth_client: { d: { essential: true } },
      })
    })
    it('skips statements without a metadata_policy claim', () => {
      const out = resolvePolicies([{ policy: undefined }, { policy: { t: { p: { add: ['a'] } } } }, { policy: null }, { policy: { t: { p: { add: ['b'] } } } }])
      assert.deepEqual(out, { t: { p: { add: ['a', 'b'] } } })
    })
    it('resolves no policy to the empty policy', () => {
      assert.deepEqual(resolvePolicies([]), {})
      assert.deepEqual(resolvePolicies([{}, { policy: null }]), {})
    })
    it('merges three statements in chain order', () => {
      assert.deepEqual(merged({ subset_of: ['a', 'b', 'c'] }, { subset_of: ['a', 'b'], superset_of: ['a'] }, { essential: true, default: ['a'] }),
        { default: ['a'], subset_of: ['a', 'b'], superset_of: ['a'], essential: true })
    })
    it('names the statement that introduced a conflict, by issuer and subject', () => {
      expectPolicyError(() => resolvePolicies([
        { policy: { t: { p: { one_of: ['a'] } } }, issuer: 'https://ta.example', subject: 'https://ia.example' },
        { policy: { t: { p: { one_of: ['a', 'b'] } } }, issuer: 'https://ia.example', subject: 'https://ia2.example' },
        { policy: { t: { p: { one_of: ['b'] } } }, issuer: 'https://ia2.example', subject: 'https://leaf.example' },
      ]), 'invalid_policy', 'statement #2 (https://ia2.example -> https://leaf.example)', 't.p', 'one_of')
    })
    it('does not modify or share the input policies', () => {
      const ta = { t: { p: { add: ['a'] } } }
      const out = resolvePolicies([{ policy: ta }, { policy: { t: { p: { add: ['b'] } } } }])
      assert.deepEqual(ta, { t: { p: { add: ['a'] } } })
      ;(out.t?.p?.add as string[]).push('z')
      assert.deepEqual(ta.t.p.add, ['a'])
    })
  })

  describe('structure errors', () => {
    it('rejects a metadata_policy that is not an object, naming the statement', () => {
      expectPolicyError(() => resolvePolicies([{ policy: [] as never, label: 'the TA statement' }]), 'invalid_policy', 'the TA statement', 'must be a JSON object')
    })
    it('rejects an Entity Type policy or parameter policy that is not an object', () => {
      expectPolicyError(() => resolvePolicies([{ policy: { t: 'x' } as never }]), 'invalid_policy', 't', 'JSON object of parameter policies')
      expectPolicyError(() => resolvePolicies([{ policy: { t: { p: ['one_of'] } } as never }]), 'invalid_policy', 't.p', 'JSON object of operators')
    })
  })

  describe('one Entity Type at a time', () => {
    it('resolves parameter policies without Entity Type level', () => {
      const out = resolveEntityTypePolicies([{ policy: { p: { add: ['a'] } } }, { policy: { p: { add: ['b'] } } }], { entityType: 'openid_provider' })
      assert.deepEqual(out, { p: { add: ['a', 'b'] } })
      expectPolicyError(() => resolveEntityTypePolicies([{ policy: { p: { one_of: ['a'] } } }, { policy: { p: { one_of: ['b'] } } }], { entityType: 'openid_provider' }),
        'invalid_policy', 'openid_provider.p', 'one_of')
    })
  })
})
