/**
 * The whole "Applying Metadata Policies" sequence: the Immediate Superior's metadata claim,
 * then allowed_entity_types, then the resolved policy per Entity Type.
 *
 *   TA --(constraints, policy)--> IA --(metadata, policy)--> leaf {federation_entity, openid_relying_party, openid_provider}
 */
import { applyMetadataPolicy, intersectAllowedEntityTypes, resolvePolicies } from '../../../src/metadata_policy/index.js'
import { assert, expectPolicyError } from './helpers.js'

const leaf = () => ({
  federation_entity: { organization_name: 'Leaf Org' },
  openid_relying_party: { client_name: 'RP', grant_types: ['authorization_code', 'implicit'], contacts: ['rp@leaf'] },
  openid_provider: { issuer: 'https://leaf.example' },
})

describe('metadata policy: applying to all Entity Types', () => {
  it('applies each Entity Type\'s policy to that Entity Type only', () => {
    const policy = resolvePolicies([{ policy: {
      openid_relying_party: { contacts: { add: ['ops@ta'] } },
      openid_provider: { contacts: { add: ['ops@ta'] } },
      oauth_client: { client_name: { essential: true } },
    } }])
    assert.deepEqual(applyMetadataPolicy(leaf(), { policy }), {
      federation_entity: { organization_name: 'Leaf Org' },
      openid_relying_party: { client_name: 'RP', grant_types: ['authorization_code', 'implicit'], contacts: ['rp@leaf', 'ops@ta'] },
      openid_provider: { issuer: 'https://leaf.example', contacts: ['ops@ta'] },
    })
  })

  it('returns the metadata unchanged when the chain has no policy', () => {
    assert.deepEqual(applyMetadataPolicy(leaf(), {}), leaf())
    assert.deepEqual(applyMetadataPolicy(leaf(), { policy: resolvePolicies([]) }), leaf())
  })

  describe('the superior\'s metadata claim', () => {
    it('overrides identically named parameters and adds new ones, before the policy', () => {
      const policy = resolvePolicies([{ policy: { openid_relying_party: { grant_types: { subset_of: ['authorization_code', 'refresh_token'] } } } }])
      const out = applyMetadataPolicy(leaf(), {
        policy,
        superiorMetadata: { openid_relying_party: { grant_types: ['refresh_token', 'client_credentials'], policy_uri: 'https://ia/policy' } },
      })
      assert.deepEqual(out.openid_relying_party, {
        client_name: 'RP', grant_types: ['refresh_token'], contacts: ['rp@leaf'], policy_uri: 'https://ia/policy',
      })
    })

    it('satisfies an essential parameter the leaf does not publish', () => {
      const policy = resolvePolicies([{ policy: { openid_relying_party: { sector_identifier_uri: { essential: true } } } }])
      expectPolicyError(() => applyMetadataPolicy(leaf(), { policy }), 'invalid_metadata', 'openid_relying_party.sector_identifier_uri')
      const out = applyMetadataPolicy(leaf(), { policy, superiorMetadata: { openid_relying_party: { sector_identifier_uri: 'https://ia/s.json' } } })
      assert.equal(out.openid_relying_party?.sector_identifier_uri, 'https://ia/s.json')
    })

    it('applies only to Entity Types the leaf has', () => {
      const out = applyMetadataPolicy(leaf(), { superiorMetadata: { oauth_client: { client_name: 'x' } } })
      assert.deepEqual(Object.keys(out), ['federation_entity', 'openid_relying_party', 'openid_provider'])
    })

    it('must be made of JSON objects', () => {
      expectPolicyError(() => applyMetadataPolicy(leaf(), { superiorMetadata: { openid_relying_party: 'x' } as never }), 'invalid_metadata', 'openid_relying_party', 'superior')
    })
  })

  describe('allowed_entity_types', () => {
    it('removes Entity Types not listed but never federation_entity', () => {
      const out = applyMetadataPolicy(leaf(), { allowedEntityTypes: ['openid_provider'] })
      assert.deepEqual(Object.keys(out), ['federation_entity', 'openid_provider'])
    })

    it('keeps only federation_entity when empty', () => {
      assert.deepEqual(Object.keys(applyMetadataPolicy(leaf(), { allowedEntityTypes: [] })), ['federation_entity'])
    })

    it('is applied after the superior\'s metadata and before the policy', () => {
      // A policy that would fail on the removed RP metadata is not applied to it.
      const policy = resolvePolicies([{ policy: { openid_relying_party: { jwks_uri: { essential: true } } } }])
      const out = applyMetadataPolicy(leaf(), {
        policy, allowedEntityTypes: ['openid_provider'], superiorMetadata: { openid_relying_party: { jwks_uri: 'https://x' } },
      })
      assert.deepEqual(Object.keys(out), ['federation_entity', 'openid_provider'])
    })

    it('intersects the constraints of several statements', () => {
      assert.deepEqual(intersectAllowedEntityTypes([['openid_provider', 'openid_relying_party'], undefined, ['openid_relying_party']]), ['openid_relying_party'])
      assert.equal(intersectAllowedEntityTypes([undefined, undefined]), undefined)
    })
  })

  it('names the Entity Type in errors', () => {
    const policy = resolvePolicies([{ policy: { openid_provider: { issuer: { one_of: ['https://other'] } } } }])
    const err = expectPolicyError(() => applyMetadataPolicy(leaf(), { policy }), 'invalid_metadata', 'openid_provider.issuer', 'one_of')
    assert.equal(err.entityType, 'openid_provider')
    assert.equal(err.toWireCode(), 'invalid_metadata')
  })

  it('rejects metadata that is not an object of objects', () => {
    expectPolicyError(() => applyMetadataPolicy([] as never, {}), 'invalid_metadata', 'JSON object')
    expectPolicyError(() => applyMetadataPolicy({ openid_provider: 3 } as never, {}), 'invalid_metadata', 'openid_provider')
  })

  it('does not modify its inputs', () => {
    const md = leaf()
    const sup = { openid_relying_party: { client_name: 'Forced' } }
    const policy = resolvePolicies([{ policy: { openid_relying_party: { contacts: { add: ['x'] } } } }])
    applyMetadataPolicy(md, { policy, superiorMetadata: sup, allowedEntityTypes: [] })
    assert.deepEqual(md, leaf())
    assert.deepEqual(sup, { openid_relying_party: { client_name: 'Forced' } })
  })
})
