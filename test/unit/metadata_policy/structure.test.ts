/** Checking a policy before it is published (onboarding), with the JSON Schemas and the engine. */
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import {
  PolicyError, createPolicyEngine, policyStructureErrors, validatePolicyStructure, type PolicyOperator,
} from '../../../src/metadata_policy/index.js'
import { assert, expectPolicyError, fixture } from './helpers.js'

const schema = (name: string) => JSON.parse(readFileSync(new URL(`../../../schemas/${name}`, import.meta.url), 'utf8')) as object

describe('metadata policy: structure validation', () => {
  it('compiles both schemas with ajv in strict mode', () => {
    const ajv = new Ajv({ strict: true, allowUnionTypes: true })
    const policy = ajv.compile(schema('metadata_policy.schema.json'))
    const crit = ajv.compile(schema('metadata_policy_crit.schema.json'))
    assert.equal(policy(fixture('spec_policy_example.json').trust_anchor_statement.metadata_policy), true)
    assert.equal(crit(['regexp']), true)
    assert.equal(crit([]), false)
    assert.equal(crit(['one_of']), false)
  })

  it('accepts the spec\'s policies', () => {
    validatePolicyStructure(fixture('spec_policy_example.json').trust_anchor_statement.metadata_policy)
    for (const s of fixture('spec_appendix_op_umu.json').chain) validatePolicyStructure(s.metadata_policy)
  })

  const bad: Array<[string, unknown, string[]]> = [
    ['a non-object', ['x'], ['the policy must be object']],
    ['an empty policy', {}, ['must NOT have fewer than 1 properties']],
    ['an empty parameter policy', { openid_relying_party: { grant_types: {} } }, ['openid_relying_party.grant_types']],
    ['a non-array subset_of', { openid_relying_party: { grant_types: { subset_of: 'a' } } }, ['openid_relying_party.grant_types.subset_of', 'must be array']],
    ['a mixed one_of', { openid_relying_party: { alg: { one_of: ['a', 1] } } }, ['openid_relying_party.alg.one_of', 'array of strings, of numbers or of objects']],
    ['a non-boolean essential', { openid_relying_party: { p: { essential: 'true' } } }, ['openid_relying_party.p.essential', 'boolean']],
    ['a null default', { openid_relying_party: { p: { default: null } } }, ['openid_relying_party.p.default']],
    ['a forbidden combination', { openid_relying_party: { p: { one_of: ['a'], subset_of: ['a'] } } }, ['openid_relying_party.p', '"one_of" and "subset_of"']],
    ['a failed condition', { openid_relying_party: { p: { value: null, essential: true } } }, ['openid_relying_party.p', 'essential']],
  ]
  for (const [label, policy, fragments] of bad) {
    it(`rejects ${label}`, () => {
      expectPolicyError(() => validatePolicyStructure(policy), 'invalid_policy', ...fragments)
      assert.equal(policyStructureErrors(policy).length, 1)
    })
  }

  it('checks metadata_policy_crit', () => {
    const policy = { openid_relying_party: { p: { regexp: '^a' } } }
    expectPolicyError(() => validatePolicyStructure(policy, []), 'invalid_policy', 'metadata_policy_crit', 'fewer than 1')
    expectPolicyError(() => validatePolicyStructure(policy, ['regexp']), 'invalid_policy', 'regexp', 'not understood')
    const regexp: PolicyOperator = { name: 'regexp', kind: 'check', operatorValueTypes: ['string'], merge: (a) => a, check: () => undefined }
    createPolicyEngine({ operators: [regexp] }).validatePolicyStructure(policy, ['regexp'])
    validatePolicyStructure(policy, ['regexp'], { operators: [regexp] })
  })

  it('accepts additional operators that are not critical', () => {
    assert.deepEqual(policyStructureErrors({ openid_relying_party: { p: { fancy: [1], add: ['a'] } } }), [])
  })

  it('fits the app\'s checkPolicy(policy, crit) dependency', () => {
    const checkPolicy: (policy: Record<string, Record<string, Record<string, unknown>>>, crit: string[] | undefined) => void = validatePolicyStructure
    assert.throws(() => checkPolicy({ t: { p: { add: 'x' } } }, undefined), PolicyError)
  })
})
