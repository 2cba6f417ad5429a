/** Provenance: which statement contributed which operator value, and what each operator did. */
import { PolicyExplanation, applyMetadataPolicy, resolvePolicies } from '../../../src/metadata_policy/index.js'
import { assert, fixture } from './helpers.js'

describe('metadata policy: explanation', () => {
  const ex = fixture('spec_policy_example.json')
  const chain = [
    { policy: ex.trust_anchor_statement.metadata_policy, issuer: 'https://federation.example.org', subject: 'https://org.example.org' },
    { policy: { ...ex.intermediate_statement.metadata_policy, oauth_client: { p: { shiny: 1 } } }, issuer: 'https://org.example.org', subject: 'https://rp.example.org' },
  ]

  it('records each operator\'s contributions in chain order and the merged result', () => {
    const explain = new PolicyExplanation()
    resolvePolicies(chain, { explain })
    const grant = explain.resolution.find((p) => p.parameter === 'grant_types')
    const subset = grant?.operators.find((o) => o.operator === 'subset_of')
    assert.deepEqual(subset?.contributions, [
      { statement: 'statement #0 (https://federation.example.org -> https://org.example.org)', value: ['authorization_code', 'refresh_token'] },
      { statement: 'statement #1 (https://org.example.org -> https://rp.example.org)', value: ['authorization_code'] },
    ])
    assert.deepEqual(subset?.result, ['authorization_code'])
    const ignored = explain.resolution.find((p) => p.entityType === 'oauth_client')?.ignored
    assert.deepEqual(ignored, [{ statement: 'statement #1 (https://org.example.org -> https://rp.example.org)', operator: 'shiny' }])
  })

  it('records every application step and renders a readable account', () => {
    const explain = new PolicyExplanation()
    const policy = resolvePolicies(chain, { explain })
    applyMetadataPolicy(ex.leaf_metadata, { policy, superiorMetadata: ex.intermediate_statement.metadata, explain })
    const grant = explain.applications.find((a) => a.parameter === 'grant_types')
    assert.deepEqual(grant?.steps.map((s) => s.operator), ['default', 'subset_of', 'superset_of'])
    assert.deepEqual(grant?.after, { present: true, value: ['authorization_code'] })
    const text = explain.toText()
    for (const line of [
      'openid_relying_party.contacts',
      'add = ["helpdesk@federation.example.org","helpdesk@org.example.org"] (union of:)',
      'default ["authorization_code"]: set to ["authorization_code"]',
      'subject_type: absent in the metadata',
      'shiny ignored',
      'openid_relying_party.policy_uri = "https://org.example.org/policy.html" from the superior\'s metadata claim',
      'Result: ok',
    ]) assert.ok(text.includes(line), `missing "${line}" in\n${text}`)
  })

  it('records the failure and the failing step', () => {
    const explain = new PolicyExplanation()
    const policy = resolvePolicies(chain, { explain })
    try {
      applyMetadataPolicy({ openid_relying_party: {} }, { policy, explain })
      assert.fail('expected a failure')
    } catch (err) {
      explain.failed(err)
    }
    assert.equal(explain.failure?.error, 'invalid_metadata')
    const text = explain.toText()
    assert.ok(text.includes('essential true: FAILED - the parameter is essential but absent'), text)
    assert.ok(text.includes('Result: invalid_metadata'), text)
    assert.equal(JSON.parse(JSON.stringify(explain)).failure.error, 'invalid_metadata')
  })

  it('notes Entity Types removed by allowed_entity_types', () => {
    const explain = new PolicyExplanation()
    applyMetadataPolicy({ openid_provider: {}, federation_entity: {} }, { allowedEntityTypes: [], explain })
    assert.deepEqual(explain.removedEntityTypes, ['openid_provider'])
    assert.ok(explain.toText().includes('openid_provider removed: not in allowed_entity_types'))
  })
})
