/**
 * The combination rules of every standard operator ("Combination with other operators in a
 * metadata parameter policy"), checked on one statement's policy and on the merged policy
 * (Trust Anchor has the first operator, the intermediate the second).
 */
import { CONDITIONAL_PAIRS, resolvePolicies, type ParameterPolicy } from '../../../src/metadata_policy/index.js'
import { assert, expectPolicyError } from './helpers.js'

type Case = [label: string, first: [string, unknown], second: [string, unknown], outcome: string] // 'ok', or the reason

const FORBIDDEN = 'cannot be combined'

// Every pair of the seven standard operators, in order of application.
const PAIRS: Case[] = [
  ['value/add: add within value', ['value', ['a', 'b']], ['add', ['a']], 'ok'],
  ['value/add: add outside value', ['value', ['a']], ['add', ['b']], 'must be a subset of the values of value'],
  ['value/add: value null', ['value', null], ['add', ['a']], 'value null'],
  ['value/default: value not null', ['value', 'x'], ['default', 'y'], 'ok'],
  ['value/default: value null', ['value', null], ['default', 'y'], 'default cannot be combined with value null'],
  ['value/one_of: value among one_of', ['value', 'a'], ['one_of', ['a', 'b']], 'ok'],
  ['value/one_of: value not among one_of', ['value', 'c'], ['one_of', ['a', 'b']], 'must be among the one_of values'],
  ['value/one_of: value null', ['value', null], ['one_of', ['a']], 'must be among the one_of values'],
  ['value/subset_of: value within', ['value', ['a']], ['subset_of', ['a', 'b']], 'ok'],
  ['value/subset_of: value outside', ['value', ['a', 'c']], ['subset_of', ['a', 'b']], 'must be a subset of the values of subset_of'],
  ['value/subset_of: value null', ['value', null], ['subset_of', ['a']], 'must be a subset of the values of subset_of'],
  ['value/superset_of: value contains', ['value', ['a', 'b']], ['superset_of', ['a']], 'ok'],
  ['value/superset_of: value lacks', ['value', ['a']], ['superset_of', ['a', 'b']], 'must be a superset of the values of superset_of'],
  ['value/superset_of: value null', ['value', null], ['superset_of', ['a']], 'must be a superset of the values of superset_of'],
  ['value/essential: value and essential true', ['value', 'x'], ['essential', true], 'ok'],
  ['value/essential: value null, essential false', ['value', null], ['essential', false], 'ok'],
  ['value/essential: value null, essential true', ['value', null], ['essential', true], 'value null cannot be combined with essential true'],
  ['add/default', ['add', ['a']], ['default', ['b']], 'ok'],
  ['add/one_of', ['add', ['a']], ['one_of', ['a']], FORBIDDEN],
  ['add/subset_of: add within', ['add', ['a']], ['subset_of', ['a', 'b']], 'ok'],
  ['add/subset_of: add outside', ['add', ['a', 'c']], ['subset_of', ['a', 'b']], 'must be a subset of the values of subset_of'],
  ['add/superset_of (unconditional)', ['add', ['a']], ['superset_of', ['b']], 'ok'],
  ['add/essential', ['add', ['a']], ['essential', true], 'ok'],
  ['default/one_of (unconditional)', ['default', 'z'], ['one_of', ['a']], 'ok'],
  ['default/subset_of (unconditional)', ['default', ['z']], ['subset_of', ['a']], 'ok'],
  ['default/superset_of (unconditional)', ['default', ['z']], ['superset_of', ['a']], 'ok'],
  ['default/essential', ['default', 'a'], ['essential', true], 'ok'],
  ['one_of/subset_of', ['one_of', ['a']], ['subset_of', ['a']], FORBIDDEN],
  ['one_of/superset_of', ['one_of', ['a']], ['superset_of', ['a']], FORBIDDEN],
  ['one_of/essential', ['one_of', ['a']], ['essential', true], 'ok'],
  ['subset_of/superset_of: subset_of contains superset_of', ['subset_of', ['a', 'b']], ['superset_of', ['a']], 'ok'],
  ['subset_of/superset_of: equal ("set equals")', ['subset_of', ['a', 'b']], ['superset_of', ['b', 'a']], 'ok'],
  ['subset_of/superset_of: subset_of lacks a superset_of value', ['subset_of', ['a']], ['superset_of', ['a', 'b']],
    'must be a superset of the values of superset_of'],
  ['subset_of/essential', ['subset_of', ['a']], ['essential', true], 'ok'],
  ['superset_of/essential', ['superset_of', ['a']], ['essential', false], 'ok'],
]

const single = (p: ParameterPolicy) => resolvePolicies([{ policy: { openid_relying_party: { p1: p } }, issuer: 'https://ta', subject: 'https://ia' }])
const merged = (a: ParameterPolicy, b: ParameterPolicy) => resolvePolicies([
  { policy: { openid_relying_party: { p1: a } }, issuer: 'https://ta', subject: 'https://ia' },
  { policy: { openid_relying_party: { p1: b } }, issuer: 'https://ia', subject: 'https://rp' },
])

describe('metadata policy: operator combinations', () => {
  it('covers all 21 pairs of standard operators', () => {
    const pairs = new Set(PAIRS.map(([, [a], [b]]) => `${a}+${b}`))
    assert.equal(pairs.size, 21)
  })

  it('lists exactly the conditional pairs of the spec', () => {
    assert.deepEqual([...CONDITIONAL_PAIRS].sort(), [
      'add+subset_of', 'subset_of+superset_of', 'value+add', 'value+default', 'value+essential',
      'value+one_of', 'value+subset_of', 'value+superset_of',
    ])
  })

  for (const [label, [a, av], [b, bv], outcome] of PAIRS) {
    describe(label, () => {
      if (outcome === 'ok') {
        it('is accepted in one statement', () => {
          assert.deepEqual(single({ [a]: av, [b]: bv }).openid_relying_party?.p1, { [a]: av, [b]: bv })
        })
        it('is accepted when the intermediate adds the second operator', () => {
          assert.deepEqual(merged({ [a]: av }, { [b]: bv }).openid_relying_party?.p1, { [a]: av, [b]: bv })
        })
        it('is accepted when the intermediate adds the first operator', () => {
          assert.deepEqual(merged({ [b]: bv }, { [a]: av }).openid_relying_party?.p1, { [a]: av, [b]: bv })
        })
      } else {
        it('is a policy error in one statement, naming the statement, parameter and operator', () => {
          const err = expectPolicyError(() => single({ [a]: av, [b]: bv }), 'invalid_policy',
            'statement #0 (https://ta -> https://ia)', 'openid_relying_party.p1', `operator "${b}"`, outcome)
          assert.equal(err.parameter, 'p1')
          assert.equal(err.operator, b)
        })
        it('is a policy error after merging, naming the intermediate\'s statement', () => {
          expectPolicyError(() => merged({ [a]: av }, { [b]: bv }), 'invalid_policy',
            'statement #1 (https://ia -> https://rp)', 'openid_relying_party.p1', 'after merging', outcome)
          expectPolicyError(() => merged({ [b]: bv }, { [a]: av }), 'invalid_policy', 'statement #1', outcome)
        })
      }
    })
  }

  it('orders operators by application order in the merged output', () => {
    const out = merged({ essential: true, one_of: ['a'] }, { default: 'a', value: 'a' })
    assert.deepEqual(Object.keys(out.openid_relying_party?.p1 ?? {}), ['value', 'default', 'one_of', 'essential'])
  })

  it('checks three operators at once: value within one_of, with essential', () => {
    assert.ok(single({ value: 'a', one_of: ['a', 'b'], essential: true }))
    expectPolicyError(() => single({ value: 'a', one_of: ['a'], subset_of: ['a'] }), 'invalid_policy', '"one_of" and "subset_of"')
  })

  it('compares values of value with subset_of/superset_of as sets', () => {
    assert.ok(single({ value: ['b', 'a'], subset_of: ['a', 'b'], superset_of: ['a', 'b'] }))
  })

  it('treats a single (non-array) value as one value in the conditions, leaving type checks to application', () => {
    assert.ok(single({ value: 'a', subset_of: ['a', 'b'] }))
    expectPolicyError(() => single({ value: 'c', superset_of: ['a'] }), 'invalid_policy', 'superset_of')
  })

  it('becomes invalid when a merge narrows subset_of below superset_of or add', () => {
    expectPolicyError(() => merged({ subset_of: ['a', 'b'], superset_of: ['b'] }, { subset_of: ['a'] }),
      'invalid_policy', 'after merging', 'must be a superset of the values of superset_of', 'operator "superset_of"')
    expectPolicyError(() => merged({ add: ['b'] }, { subset_of: ['a'] }),
      'invalid_policy', 'after merging', 'values of add ["b"] must be a subset of the values of subset_of')
    expectPolicyError(() => merged({ value: ['a', 'b'] }, { add: ['c'] }), 'invalid_policy', 'p1', 'add')
  })

  it('lets a subordinate narrow one_of around a superior\'s value', () => {
    assert.deepEqual(merged({ value: 'a' }, { one_of: ['a', 'b'] }).openid_relying_party?.p1, { value: 'a', one_of: ['a', 'b'] })
    expectPolicyError(() => merged({ one_of: ['a', 'b'] }, { value: 'c' }), 'invalid_policy', 'must be among the one_of values')
  })
})
