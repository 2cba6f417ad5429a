/** `scope` is a space-separated string that operators treat as a string array ("Notes on Operators"). */
import { applyPolicy, resolvePolicies, type ParameterPolicies } from '../../../src/metadata_policy/index.js'
import { assert, expectPolicyError } from './helpers.js'

const apply = (metadata: Record<string, unknown>, policy: ParameterPolicies) => applyPolicy(metadata, policy, { entityType: 'openid_relying_party' })

describe('metadata policy: scope', () => {
  it('subset_of narrows the scope values and joins them again', () => {
    assert.deepEqual(apply({ scope: 'openid profile email phone' }, { scope: { subset_of: ['openid', 'email'] } }), { scope: 'openid email' })
  })

  it('superset_of checks individual scope values', () => {
    assert.deepEqual(apply({ scope: 'profile openid' }, { scope: { superset_of: ['openid'] } }), { scope: 'profile openid' })
    expectPolicyError(() => apply({ scope: 'profile' }, { scope: { superset_of: ['openid'] } }), 'invalid_metadata',
      'openid_relying_party.scope', 'superset_of', 'does not contain ["openid"]')
  })

  it('add appends scope values not present', () => {
    assert.deepEqual(apply({ scope: 'openid' }, { scope: { add: ['openid', 'email'] } }), { scope: 'openid email' })
    assert.deepEqual(apply({}, { scope: { add: ['openid', 'email'] } }), { scope: 'openid email' })
  })

  it('default sets an absent scope from a string or an array', () => {
    assert.deepEqual(apply({}, { scope: { default: 'openid profile' } }), { scope: 'openid profile' })
    assert.deepEqual(apply({}, { scope: { default: ['openid', 'profile'] } }), { scope: 'openid profile' })
    assert.deepEqual(apply({ scope: 'email' }, { scope: { default: 'openid' } }), { scope: 'email' })
  })

  it('value given as a string or an array sets a space-separated string', () => {
    assert.deepEqual(apply({ scope: 'x' }, { scope: { value: 'openid email' } }), { scope: 'openid email' })
    assert.deepEqual(apply({ scope: 'x' }, { scope: { value: ['openid', 'email'] } }), { scope: 'openid email' })
  })

  it('a default scope goes through subset_of like any other value', () => {
    assert.deepEqual(apply({}, { scope: { default: 'openid offline_access', subset_of: ['openid', 'email'] } }), { scope: 'openid' })
  })

  it('an empty intersection leaves an empty scope string', () => {
    assert.deepEqual(apply({ scope: 'profile' }, { scope: { subset_of: ['openid'] } }), { scope: '' })
  })

  it('normalizes repeated and extra spaces', () => {
    assert.deepEqual(apply({ scope: ' openid  openid email ' }, { scope: { subset_of: ['openid', 'email'] } }), { scope: 'openid email' })
  })

  it('leaves scope alone where no policy applies to it', () => {
    assert.deepEqual(apply({ scope: 'b  a' }, {}), { scope: 'b  a' })
  })

  it('one_of cannot check scope, an array of values to the operators', () => {
    expectPolicyError(() => apply({ scope: 'openid' }, { scope: { one_of: ['openid'] } }), 'invalid_metadata', 'scope', 'one_of', 'array of strings')
  })

  it('combination rules see a string value of value as its scope values', () => {
    assert.ok(resolvePolicies([{ policy: { t: { scope: { value: 'openid email', subset_of: ['openid', 'email', 'profile'], superset_of: ['openid'] } } } }]))
    expectPolicyError(() => resolvePolicies([{ policy: { t: { scope: { value: 'openid phone', subset_of: ['openid', 'email'] } } } }]),
      'invalid_policy', 't.scope', 'subset_of')
  })

  it('merges value and default by scope values, whatever their order or form', () => {
    const out = resolvePolicies([{ policy: { t: { scope: { default: 'openid email' } } } }, { policy: { t: { scope: { default: ['email', 'openid'] } } } }])
    assert.deepEqual(out, { t: { scope: { default: 'openid email' } } })
    expectPolicyError(() => resolvePolicies([{ policy: { t: { scope: { value: 'openid' } } } }, { policy: { t: { scope: { value: 'openid email' } } } }]),
      'invalid_policy', 't.scope', 'value')
  })
})
