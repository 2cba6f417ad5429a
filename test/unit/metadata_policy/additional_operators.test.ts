/**
 * Additional operators and metadata_policy_crit (spec "Additional Operators", "Policy
 * Resolution", "Entity Statement Validation" step 18).
 */
import {
  OperatorError, applyPolicy, createPolicyEngine, resolvePolicies, type PolicyOperator,
} from '../../../src/metadata_policy/index.js'
import { assert, expectPolicyError } from './helpers.js'

/** Removes values (go-oidfed's "except", as a modifier). */
const except: PolicyOperator = {
  name: 'except',
  kind: 'modifier',
  parameterTypes: ['array of strings'],
  operatorValueTypes: ['array of strings'],
  combinesWith: ['value', 'add', 'default', 'subset_of', 'superset_of', 'essential', 'max_items'],
  merge: (a, b) => [...new Set([...(a as string[]), ...(b as string[])])],
  apply: (state, v) => state.present ? { present: true, value: (state.value as string[]).filter((x) => !(v as string[]).includes(x)) } : state,
}

/** At most N values. */
const maxItems: PolicyOperator = {
  name: 'max_items',
  kind: 'check',
  parameterTypes: ['array of strings'],
  operatorValueTypes: ['number'],
  validateValue: (v) => (Number.isInteger(v) && (v as number) >= 0 ? undefined : 'must be a non-negative integer'),
  merge: (a, b) => Math.min(a as number, b as number),
  check(state, v) {
    if (state.present && (state.value as unknown[]).length > (v as number)) throw new OperatorError(`more than ${String(v)} values`)
  },
}

describe('metadata policy: additional operators and metadata_policy_crit', () => {
  const engine = createPolicyEngine({ operators: [except, maxItems] })

  it('ignores an operator that is not understood and not critical, leaving it out of the result', () => {
    const out = resolvePolicies([{ policy: { t: { p: { add: ['a'], fancy: 1 }, q: { fancy: 2 } } } }])
    assert.deepEqual(out, { t: { p: { add: ['a'] } } })
    assert.deepEqual(applyPolicy({}, { p: { fancy: 1 } }), {})
  })

  it('makes the chain invalid when an operator in metadata_policy_crit is not understood', () => {
    expectPolicyError(() => resolvePolicies([
      { policy: { t: { p: { fancy: 1 } } }, issuer: 'https://ta', subject: 'https://ia', crit: ['fancy'] },
    ]), 'invalid_policy', 'statement #0 (https://ta -> https://ia)', 'operator "fancy"', 'metadata_policy_crit', 'not understood')
  })

  it('applies the critical names of any statement to the whole chain', () => {
    expectPolicyError(() => resolvePolicies([
      { policy: { t: { p: { fancy: 1 } } } },
      { policy: { t: { q: { add: ['a'] } } }, crit: ['fancy'] },
    ]), 'invalid_policy', 'statement #1', 'fancy')
    expectPolicyError(() => resolvePolicies([{ policy: { t: { p: { fancy: 1 } } } }], { crit: ['fancy'] }), 'invalid_policy', 'fancy')
  })

  it('rejects a critical operator that is not understood even where no policy uses it (step 18)', () => {
    expectPolicyError(() => resolvePolicies([{ policy: { t: { p: { add: ['a'] } } }, crit: ['fancy'] }]), 'invalid_policy', 'fancy')
  })

  it('rejects metadata_policy_crit that is empty, not an array, or names a standard operator', () => {
    expectPolicyError(() => resolvePolicies([{ policy: {}, crit: [] }]), 'invalid_policy', 'statement #0', 'must not be the empty array')
    expectPolicyError(() => resolvePolicies([{ policy: {}, crit: 'except' as never }]), 'invalid_policy', 'metadata_policy_crit')
    expectPolicyError(() => engine.resolvePolicies([{ policy: {}, crit: ['subset_of'] }]), 'invalid_policy', 'operator "subset_of"', 'only additional operators')
  })

  it('processes an understood operator, critical or not', () => {
    const policy = engine.resolvePolicies([{ policy: { t: { p: { except: ['b'] } } }, crit: ['except'] }])
    assert.deepEqual(engine.applyPolicy({ p: ['a', 'b'] }, policy.t ?? {}), { p: ['a'] })
    const plain = engine.resolvePolicies([{ policy: { t: { p: { max_items: 1 } } } }])
    expectPolicyError(() => engine.applyPolicy({ p: ['a', 'b'] }, plain.t ?? {}, { entityType: 't' }), 'invalid_metadata', 't.p', 'operator "max_items"', 'more than 1')
  })

  it('merges additional operators with their own rule', () => {
    const policy = engine.resolvePolicies([{ policy: { t: { p: { except: ['a'], max_items: 3 } } } }, { policy: { t: { p: { except: ['b'], max_items: 2 } } } }])
    assert.deepEqual(policy.t?.p, { except: ['a', 'b'], max_items: 2 })
  })

  it('validates additional operator values', () => {
    expectPolicyError(() => engine.resolvePolicies([{ policy: { t: { p: { max_items: -1 } } } }]), 'invalid_policy', 't.p', 'operator "max_items"', 'non-negative')
    expectPolicyError(() => engine.resolvePolicies([{ policy: { t: { p: { except: 'a' } } } }]), 'invalid_policy', 'operator "except"', 'array of strings')
  })

  it('runs additional modifiers after default and before the standard checks', () => {
    assert.deepEqual(engine.registry.ordered.map((o) => o.name),
      ['value', 'add', 'default', 'except', 'one_of', 'subset_of', 'superset_of', 'max_items', 'essential'])
    // default then except: the default is filtered; superset_of then sees the filtered value
    assert.deepEqual(engine.applyPolicy({}, { p: { default: ['a', 'b'], except: ['b'] } }), { p: ['a'] })
    expectPolicyError(() => engine.applyPolicy({ p: ['a', 'b'] }, { p: { except: ['b'], superset_of: ['b'] } }), 'invalid_metadata', 'superset_of')
  })

  it('runs additional checks after subset_of, on the narrowed value, and before essential', () => {
    assert.deepEqual(engine.applyPolicy({ p: ['a', 'b', 'c'] }, { p: { subset_of: ['a'], max_items: 1, essential: true } }), { p: ['a'] })
  })

  it('respects the combinations an additional operator declares', () => {
    expectPolicyError(() => engine.resolvePolicies([{ policy: { t: { p: { except: ['a'], one_of: ['b'] } } } }]),
      'invalid_policy', 't.p', '"except" and "one_of" cannot be combined')
    assert.ok(engine.resolvePolicies([{ policy: { t: { p: { max_items: 2, one_of: ['b'] } } } }]))
  })

  it('turns anything an additional operator throws into a PolicyError with the location', () => {
    const broken: PolicyOperator = { name: 'broken', kind: 'check', merge: (a) => a, check: () => { throw new RangeError('boom') } }
    const e = createPolicyEngine({ operators: [broken] })
    const err = expectPolicyError(() => e.applyPolicy({ p: 1 }, { p: { broken: true } }, { entityType: 't' }), 'invalid_metadata', 't.p', 'operator "broken"', 'boom')
    assert.ok(err.cause instanceof RangeError)
  })

  it('refuses an additional operator that returns null', () => {
    const nuller: PolicyOperator = { name: 'nuller', kind: 'modifier', merge: (a) => a, apply: () => ({ present: true, value: null }) }
    expectPolicyError(() => createPolicyEngine({ operators: [nuller] }).applyPolicy({ p: 1 }, { p: { nuller: 1 } }), 'invalid_metadata', 'p', 'null')
  })

  it('refuses misconfigured operators when the engine is created', () => {
    assert.throws(() => createPolicyEngine({ operators: [{ ...except, name: 'value' }] }), /defined twice/)
    assert.throws(() => createPolicyEngine({ operators: [except, except] }), /defined twice/)
    assert.throws(() => createPolicyEngine({ operators: [{ ...maxItems, check: undefined }] }), /needs check/)
    assert.throws(() => createPolicyEngine({ operators: [{ ...except, kind: 'other' as never }] }), /kind/)
  })

  it('accepts the operators per call too', () => {
    const out = resolvePolicies([{ policy: { t: { p: { except: ['x'] } } }, crit: ['except'] }], { operators: [except] })
    assert.deepEqual(out, { t: { p: { except: ['x'] } } })
    assert.deepEqual(applyPolicy({ p: ['x', 'y'] }, { p: { except: ['x'] } }, { operators: [except] }), { p: ['y'] })
  })
})
