/** What each standard operator does to a metadata parameter, present or absent, and the order they run in. */
import { STANDARD_OPERATORS, applyPolicy, resolvePolicies, type ParameterPolicies } from '../../../src/metadata_policy/index.js'
import { assert, expectPolicyError } from './helpers.js'

const apply = (metadata: Record<string, unknown>, policy: ParameterPolicies) => applyPolicy(metadata, policy, { entityType: 'openid_relying_party' })

describe('metadata policy: operators', () => {
  it('applies in the spec order value, add, default, one_of, subset_of, superset_of, essential', () => {
    assert.deepEqual(STANDARD_OPERATORS.map((o) => o.name), ['value', 'add', 'default', 'one_of', 'subset_of', 'superset_of', 'essential'])
  })

  describe('value', () => {
    it('sets a present or absent parameter to a string, number, boolean, array or object', () => {
      for (const v of ['ES256', 42, false, ['a', 'b'], { k: 'v' }]) {
        assert.deepEqual(apply({ p: 'old' }, { p: { value: v } }), { p: v })
        assert.deepEqual(apply({}, { p: { value: v } }), { p: v })
      }
    })
    it('removes the parameter when null, and is a no-op on an absent one', () => {
      assert.deepEqual(apply({ p: 'x', q: 1 }, { p: { value: null } }), { q: 1 })
      assert.deepEqual(apply({ q: 1 }, { p: { value: null } }), { q: 1 })
    })
    it('does not share the operator value with the output', () => {
      const policy = { p: { value: ['a'] } }
      const out = apply({}, policy)
      ;(out.p as string[]).push('b')
      assert.deepEqual(policy.p.value, ['a'])
    })
  })

  describe('add', () => {
    it('adds values not yet present, once', () => {
      assert.deepEqual(apply({ contacts: ['a@x', 'b@x'] }, { contacts: { add: ['b@x', 'c@x', 'c@x'] } }), { contacts: ['a@x', 'b@x', 'c@x'] })
    })
    it('initializes an absent parameter with its value', () => {
      assert.deepEqual(apply({}, { contacts: { add: ['a@x'] } }), { contacts: ['a@x'] })
    })
    it('supports arrays of numbers and of objects (optional types)', () => {
      assert.deepEqual(apply({ n: [1] }, { n: { add: [1, 2] } }), { n: [1, 2] })
      assert.deepEqual(apply({ o: [{ a: 1, b: 2 }] }, { o: { add: [{ b: 2, a: 1 }, { c: 3 }] } }), { o: [{ a: 1, b: 2 }, { c: 3 }] })
    })
    it('rejects a string parameter as invalid metadata', () => {
      expectPolicyError(() => apply({ contacts: 'a@x' }, { contacts: { add: ['b@x'] } }), 'invalid_metadata',
        'openid_relying_party.contacts', 'operator "add"', 'a string')
    })
    it('rejects an array of booleans', () => {
      expectPolicyError(() => apply({ flags: [true] }, { flags: { add: ['x'] } }), 'invalid_metadata', 'flags', 'add', 'array of booleans')
    })
  })

  describe('default', () => {
    it('sets an absent parameter', () => {
      assert.deepEqual(apply({}, { p: { default: ['x'] } }), { p: ['x'] })
    })
    it('has no effect on a present parameter, even an empty one', () => {
      assert.deepEqual(apply({ p: 'y' }, { p: { default: 'x' } }), { p: 'y' })
      assert.deepEqual(apply({ p: [] }, { p: { default: ['x'] } }), { p: [] })
      assert.deepEqual(apply({ p: '' }, { p: { default: 'x' } }), { p: '' })
    })
  })

  describe('one_of', () => {
    it('accepts a present value listed in the operator', () => {
      assert.deepEqual(apply({ alg: 'ES256' }, { alg: { one_of: ['ES256', 'PS256'] } }), { alg: 'ES256' })
      assert.deepEqual(apply({ n: 2 }, { n: { one_of: [1, 2] } }), { n: 2 })
      assert.deepEqual(apply({ o: { a: 1 } }, { o: { one_of: [{ a: 1 }] } }), { o: { a: 1 } })
    })
    it('rejects a value not listed, naming parameter and operator', () => {
      expectPolicyError(() => apply({ alg: 'RS256' }, { alg: { one_of: ['ES256'] } }), 'invalid_metadata',
        'openid_relying_party.alg', 'operator "one_of"', '"RS256" is not one of ["ES256"]')
    })
    it('does not confuse 1 and "1"', () => {
      expectPolicyError(() => apply({ n: '1' }, { n: { one_of: [1] } }), 'invalid_metadata', 'n', 'one_of')
    })
    it('ignores an absent parameter', () => {
      assert.deepEqual(apply({}, { alg: { one_of: ['ES256'] } }), {})
    })
    it('rejects array and boolean parameters as unsupported types', () => {
      expectPolicyError(() => apply({ alg: ['ES256'] }, { alg: { one_of: ['ES256'] } }), 'invalid_metadata', 'alg', 'one_of', 'an array of strings')
      expectPolicyError(() => apply({ b: true }, { b: { one_of: ['true'] } }), 'invalid_metadata', 'b', 'one_of', 'a boolean')
    })
  })

  describe('subset_of', () => {
    it('assigns the intersection, in the parameter\'s order', () => {
      assert.deepEqual(apply({ g: ['refresh_token', 'implicit', 'authorization_code'] }, { g: { subset_of: ['authorization_code', 'refresh_token'] } }),
        { g: ['refresh_token', 'authorization_code'] })
    })
    it('leaves an empty intersection as [] (the parameter is not removed)', () => {
      assert.deepEqual(apply({ g: ['implicit'] }, { g: { subset_of: ['authorization_code'] } }), { g: [] })
    })
    it('leaves [] present for essential', () => {
      assert.deepEqual(apply({ g: ['implicit'] }, { g: { subset_of: ['authorization_code'], essential: true } }), { g: [] })
    })
    it('ignores an absent parameter, which essential then rejects', () => {
      assert.deepEqual(apply({}, { g: { subset_of: ['a'] } }), {})
      expectPolicyError(() => apply({}, { g: { subset_of: ['a'], essential: true } }), 'invalid_metadata', 'g', 'essential', 'absent')
    })
    it('rejects a string parameter', () => {
      expectPolicyError(() => apply({ g: 'authorization_code' }, { g: { subset_of: ['authorization_code'] } }), 'invalid_metadata',
        'openid_relying_party.g', 'operator "subset_of"', 'a string')
    })
  })

  describe('superset_of', () => {
    it('accepts a parameter containing every operator value, equality included', () => {
      assert.deepEqual(apply({ g: ['a', 'b', 'c'] }, { g: { superset_of: ['b', 'a'] } }), { g: ['a', 'b', 'c'] })
      assert.deepEqual(apply({ g: ['a'] }, { g: { superset_of: ['a'] } }), { g: ['a'] })
    })
    it('rejects a parameter missing a value, naming it', () => {
      expectPolicyError(() => apply({ g: ['a'] }, { g: { superset_of: ['a', 'b'] } }), 'invalid_metadata',
        'openid_relying_party.g', 'operator "superset_of"', 'does not contain ["b"]')
    })
    it('ignores an absent parameter', () => {
      assert.deepEqual(apply({}, { g: { superset_of: ['a'] } }), {})
    })
    it('rejects a number parameter', () => {
      expectPolicyError(() => apply({ g: 3 }, { g: { superset_of: ['a'] } }), 'invalid_metadata', 'g', 'superset_of', 'a number')
    })
  })

  describe('essential', () => {
    it('requires the parameter when true', () => {
      expectPolicyError(() => apply({}, { client_name: { essential: true } }), 'invalid_metadata',
        'openid_relying_party.client_name', 'operator "essential"', 'essential but absent')
      assert.deepEqual(apply({ client_name: 'x' }, { client_name: { essential: true } }), { client_name: 'x' })
    })
    it('accepts any present type, including objects', () => {
      assert.deepEqual(apply({ jwks: { keys: [] } }, { jwks: { essential: true } }), { jwks: { keys: [] } })
    })
    it('lets the parameter be absent when false', () => {
      assert.deepEqual(apply({}, { client_name: { essential: false } }), {})
    })
  })

  describe('order of application', () => {
    it('add before default: add initializes an absent parameter, default then has no effect', () => {
      assert.deepEqual(apply({}, { p: { add: ['a'], default: ['b'] } }), { p: ['a'] })
    })
    it('value before add', () => {
      assert.deepEqual(apply({ p: ['z'] }, { p: { value: ['a', 'b'], add: ['a'] } }), { p: ['a', 'b'] })
    })
    it('default before one_of and subset_of: the default is checked too', () => {
      assert.deepEqual(apply({}, { p: { default: 'a', one_of: ['a'] } }), { p: 'a' })
      expectPolicyError(() => apply({}, { p: { default: 'z', one_of: ['a'] } }), 'invalid_metadata', 'p', 'one_of')
      assert.deepEqual(apply({}, { p: { default: ['a', 'c'], subset_of: ['a', 'b'] } }), { p: ['a'] })
    })
    it('subset_of before superset_of: superset_of checks the narrowed value', () => {
      assert.deepEqual(apply({ p: ['a', 'b', 'c'] }, { p: { subset_of: ['a', 'b'], superset_of: ['a', 'b'] } }), { p: ['a', 'b'] })
      expectPolicyError(() => apply({ p: ['a', 'c'] }, { p: { subset_of: ['a', 'b'], superset_of: ['a', 'b'] } }),
        'invalid_metadata', 'p', 'superset_of', 'does not contain ["b"]')
    })
    it('value is type-checked by the operators after it', () => {
      expectPolicyError(() => apply({}, { p: { value: 'a', subset_of: ['a'] } }), 'invalid_metadata', 'p', 'subset_of', 'a string')
    })
  })

  describe('missing and other parameters', () => {
    it('keeps parameters without a policy and ignores policies for parameters nobody creates', () => {
      assert.deepEqual(apply({ a: 1, b: 'x' }, { c: { one_of: ['q'] }, d: { subset_of: ['q'] }, e: { superset_of: ['q'] } }), { a: 1, b: 'x' })
    })
    it('treats language-tagged names as distinct parameters', () => {
      assert.deepEqual(apply({ 'client_name#ja': 'x', client_name: 'y' }, { 'client_name#ja': { value: 'z' } }), { 'client_name#ja': 'z', client_name: 'y' })
    })
    it('handles a parameter named __proto__ as an ordinary member', () => {
      const policy = resolvePolicies([{ policy: JSON.parse('{"t": {"__proto__": {"value": "x"}}}') }])
      assert.deepEqual(Object.keys(policy.t ?? {}), ['__proto__'])
      const out = applyPolicy(JSON.parse('{"__proto__": "y"}'), policy.t ?? {})
      // Built without a prototype: the member is data, and nothing is inherited.
      assert.equal(Object.getPrototypeOf(out), null)
      assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, 'x')
    })
    it('does not modify the input metadata', () => {
      const md = { contacts: ['a'], grant_types: ['x', 'y'] }
      apply(md, { contacts: { add: ['b'] }, grant_types: { subset_of: ['x'] } })
      assert.deepEqual(md, { contacts: ['a'], grant_types: ['x', 'y'] })
    })
  })

  describe('null', () => {
    it('rejects a null parameter that a policy applies to', () => {
      expectPolicyError(() => apply({ p: null }, { p: { default: 'x' } }), 'invalid_metadata', 'openid_relying_party.p', 'null')
      expectPolicyError(() => apply({ p: null }, { p: { value: 'x' } }), 'invalid_metadata', 'p', 'null')
    })
    it('never outputs null: value null removes, default null is refused', () => {
      assert.deepEqual(apply({ p: 1 }, { p: { value: null } }), {})
      expectPolicyError(() => resolvePolicies([{ policy: { t: { p: { default: null } } } }]), 'invalid_policy', 't.p', 'operator "default"', 'not null')
    })
  })

  describe('operator value types (a policy error during resolution)', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['subset_of with a string', { subset_of: 'a' }, 'subset_of'],
      ['superset_of with an object', { superset_of: { a: 1 } }, 'superset_of'],
      ['add with a non-array', { add: 'a@x' }, 'add'],
      ['add with booleans', { add: [true] }, 'add'],
      ['one_of with a non-array', { one_of: 'ES256' }, 'one_of'],
      ['one_of with mixed values', { one_of: ['a', 1] }, 'one_of'],
      ['one_of with nested arrays', { one_of: [['a']] }, 'one_of'],
      ['essential with a string', { essential: 'yes' }, 'essential'],
      ['essential with null', { essential: null }, 'essential'],
      ['default with null', { default: null }, 'default'],
    ]
    for (const [label, ops, op] of cases) {
      it(`rejects ${label}`, () => {
        const err = expectPolicyError(() => resolvePolicies([{ policy: { openid_relying_party: { p: ops } } }]), 'invalid_policy',
          'statement #0', 'openid_relying_party.p', `operator "${op}"`, 'the operator value must be')
        assert.equal(err.operator, op)
      })
    }
    it('rejects the same operand types when a policy is applied directly', () => {
      expectPolicyError(() => apply({ p: ['a'] }, { p: { subset_of: 'a' } }), 'invalid_policy', 'p', 'subset_of')
    })
    it('accepts empty arrays and the optional types', () => {
      assert.ok(resolvePolicies([{ policy: { t: { a: { add: [] }, b: { subset_of: [] }, c: { one_of: [1, 2] }, d: { value: { x: 1 } }, e: { default: { y: 2 } } } } }]))
    })
  })
})
