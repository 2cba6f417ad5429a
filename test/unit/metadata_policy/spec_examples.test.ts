/**
 * The examples of the spec's "Metadata Policy" section and appendix A.1, end to end.
 *
 *   Trust Anchor --policy--> Intermediate --policy + metadata--> Leaf (its Entity Configuration metadata)
 */
import {
  OperatorError, PolicyError, applyMetadataPolicy, applyPolicy, createPolicyEngine, resolvePolicies,
  validatePolicyStructure, type MetadataPolicy, type PolicyOperator,
} from '../../../src/metadata_policy/index.js'
import { assert, assertSetEqual, expectPolicyError, fixture } from './helpers.js'

interface ChainFixture {
  chain: Array<{ iss: string; sub: string; metadata_policy: MetadataPolicy }>
  leaf_metadata: Record<string, Record<string, unknown>>
  resolved: Record<string, unknown>
}

describe('metadata policy: the spec examples', () => {
  it('accepts the "Structure" example and applies its default and one_of', () => {
    const { metadata_policy } = fixture<{ metadata_policy: MetadataPolicy }>('spec_structure_example.json')
    validatePolicyStructure(metadata_policy)
    const policy = resolvePolicies([{ policy: metadata_policy }])
    assert.deepEqual(policy, metadata_policy)
    const rp = policy.openid_relying_party ?? {}
    assert.deepEqual(applyPolicy({}, rp), { id_token_signed_response_alg: 'ES256' })
    assert.deepEqual(applyPolicy({ id_token_signed_response_alg: 'ES512' }, rp), { id_token_signed_response_alg: 'ES512' })
    expectPolicyError(() => applyPolicy({ id_token_signed_response_alg: 'RS256' }, rp), 'invalid_metadata', 'id_token_signed_response_alg', 'one_of')
  })

  describe('"Metadata Policy Example" (Trust Anchor and intermediate policies for an RP)', () => {
    const ex = fixture('spec_policy_example.json')
    const chain = [
      { policy: ex.trust_anchor_statement.metadata_policy, issuer: 'https://federation.example.org', subject: 'https://org.example.org' },
      { policy: ex.intermediate_statement.metadata_policy, issuer: 'https://org.example.org', subject: 'https://rp.example.org' },
    ]

    it('merges the two policies into the spec\'s merged policy', () => {
      const merged = resolvePolicies(chain)
      assertSetEqual(merged.openid_relying_party, ex.merged)
    })

    it('resolves the RP metadata, the intermediate\'s metadata claim applied first', () => {
      const policy = resolvePolicies(chain)
      const out = applyMetadataPolicy(ex.leaf_metadata, { policy, superiorMetadata: ex.intermediate_statement.metadata })
      assertSetEqual(out.openid_relying_party, ex.resolved)
      assert.deepEqual(out.openid_relying_party?.contacts, [
        'rp_admins@rp.example.org', 'helpdesk@federation.example.org', 'helpdesk@org.example.org',
      ])
    })

    it('rejects the RP when the essential token_endpoint_auth_method is missing', () => {
      const policy = resolvePolicies(chain)
      const rest = { ...ex.leaf_metadata.openid_relying_party }
      delete rest.token_endpoint_auth_method
      expectPolicyError(() => applyMetadataPolicy({ openid_relying_party: rest }, { policy }), 'invalid_metadata',
        'openid_relying_party.token_endpoint_auth_method', 'essential')
    })

    it('rejects an auth method the intermediate narrowed away', () => {
      const policy = resolvePolicies(chain)
      const rp = { ...ex.leaf_metadata.openid_relying_party, token_endpoint_auth_method: 'private_key_jwt' }
      expectPolicyError(() => applyMetadataPolicy({ openid_relying_party: rp }, { policy }), 'invalid_metadata',
        'token_endpoint_auth_method', 'one_of', 'private_key_jwt')
    })
  })

  describe('appendix A.1.2: the LIGO Wiki resolves op.umu.se (edugain -> SWAMID -> umu.se)', () => {
    const ex = fixture<ChainFixture>('spec_appendix_op_umu.json')
    const chain = ex.chain.map((s) => ({ policy: s.metadata_policy, issuer: s.iss, subject: s.sub }))

    it('resolves the OP metadata of A.1.2.8', () => {
      const out = applyMetadataPolicy(ex.leaf_metadata, { policy: resolvePolicies(chain) })
      assertSetEqual(out.openid_provider, ex.resolved)
    })

    it('merges the subset_of values of SWAMID and umu.se and keeps the RP policy of edugain', () => {
      const policy = resolvePolicies(chain)
      assertSetEqual(policy.openid_provider?.token_endpoint_auth_methods_supported, {
        default: ['private_key_jwt'], subset_of: ['client_secret_jwt', 'private_key_jwt'], superset_of: ['private_key_jwt'],
      })
      assert.deepEqual(policy.openid_relying_party, { contacts: { add: ['ops@edugain.geant.org'] } })
    })

    it('is order-sensitive: the same statements in the wrong order give another policy', () => {
      const forward = resolvePolicies(chain)
      const backward = resolvePolicies([...chain].reverse())
      assert.deepEqual(forward.openid_provider?.contacts, { add: ['ops@edugain.geant.org', 'ops@swamid.se'] })
      assert.deepEqual(backward.openid_provider?.contacts, { add: ['ops@swamid.se', 'ops@edugain.geant.org'] })
    })
  })

  it('appendix A.1.3.1.2: the OP resolves the LIGO Wiki RP (edugain -> InCommon)', () => {
    const ex = fixture<ChainFixture>('spec_appendix_rp_ligo.json')
    const chain = ex.chain.map((s) => ({ policy: s.metadata_policy, issuer: s.iss, subject: s.sub }))
    const out = applyMetadataPolicy(ex.leaf_metadata, { policy: resolvePolicies(chain) })
    assertSetEqual(out, ex.resolved)
  })

  describe('"Entity Statement Example": the additional operator regexp declared critical', () => {
    const es = fixture('spec_entity_statement_example.json')
    const regexp: PolicyOperator = {
      name: 'regexp',
      kind: 'check',
      parameterTypes: ['string'],
      operatorValueTypes: ['string'],
      validateValue(v) {
        try {
          new RegExp(v as string, 'u')
          return undefined
        } catch {
          return 'not a valid regular expression'
        }
      },
      merge(a, b) {
        if (a !== b) throw new OperatorError('only equal patterns merge')
        return a
      },
      check(state, v) {
        if (state.present && !new RegExp(v as string, 'u').test(state.value as string)) {
          throw new OperatorError(`${JSON.stringify(state.value)} does not match ${String(v)}`)
        }
      },
    }

    it('makes the statement invalid where regexp is not understood', () => {
      const err = expectPolicyError(() => resolvePolicies([{ policy: es.metadata_policy, crit: es.metadata_policy_crit, issuer: es.iss, subject: es.sub }]),
        'invalid_policy', 'regexp', 'metadata_policy_crit', 'https://feide.no -> https://ntnu.no')
      assert.equal(err.operator, 'regexp')
      assert.equal(err.toWireCode(), 'invalid_trust_chain')
    })

    it('applies regexp where it is understood', () => {
      const engine = createPolicyEngine({ operators: [regexp] })
      const policy = engine.resolvePolicies([{ policy: es.metadata_policy, crit: es.metadata_policy_crit }])
      const op = { issuer: 'https://ntnu.no', op_policy_uri: 'https://www.example.com/policy.html', id_token_signing_alg_values_supported: ['RS256', 'ES256'] }
      assert.deepEqual(engine.applyMetadataPolicy({ openid_provider: op }, { policy }).openid_provider,
        { ...op, id_token_signing_alg_values_supported: ['RS256'] })
      expectPolicyError(() => engine.applyMetadataPolicy({ openid_provider: { op_policy_uri: 'http://evil.example/x.html' } }, { policy }),
        'invalid_metadata', 'openid_provider.op_policy_uri', 'regexp')
    })

    it('rejects the oauth_client one_of on an array grant_types as invalid metadata, not invalid policy', () => {
      const engine = createPolicyEngine({ operators: [regexp] })
      const policy = engine.resolvePolicies([{ policy: es.metadata_policy, crit: es.metadata_policy_crit }])
      const err = expectPolicyError(() => engine.applyMetadataPolicy({ oauth_client: { grant_types: ['authorization_code'] } }, { policy }),
        'invalid_metadata', 'oauth_client.grant_types', 'one_of', 'array of strings')
      assert.ok(err instanceof PolicyError)
    })
  })
})
