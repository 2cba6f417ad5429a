/** The consent page's view of a client: from its federation registration, outside input read defensively. */
import { strict as assert } from 'node:assert'
import { clientIdentity } from '../../../src/authorization_server/client_identity.js'
import type { Registration } from '../../../src/registration/records.js'

const RP = 'https://rp.example.org'

function registration(over: Partial<Registration> & Record<string, unknown> = {}): Registration {
  return {
    id: RP, entity_id: RP, client_id: RP, status: 'active', rid: 'r1', registered_at: 0, evaluated_at: 0,
    registration_type: 'automatic', entity_type: 'openid_relying_party', trust_anchor: 'https://ta.example.org',
    authority_hint: 'https://int.example.org', jwks: { keys: [] }, jwks_source: 'jwks', chain_exp: 1,
    metadata: { openid_relying_party: { redirect_uris: ['https://rp.example.org/cb', 'https://other.example.org:8443/cb', 'not a url'] }, federation_entity: { organization_name: 'Org', logo_uri: 'http://rp.example.org/logo.png' } },
    ...over,
  }
}

describe('client identity for the consent page', () => {
  it('falls back to client -> authority_hint -> anchor without a recorded chain', () => {
    const id = clientIdentity(RP, registration())
    assert.equal(id.federated, true)
    assert.deepEqual(id.chain, [RP, 'https://int.example.org', 'https://ta.example.org'])
    assert.equal(id.organization_name, 'Org')
    assert.deepEqual(id.redirect_hosts, ['rp.example.org', 'other.example.org:8443'])
    assert.deepEqual(clientIdentity(RP, registration({ authority_hint: 'https://ta.example.org' })).chain, [RP, 'https://ta.example.org'])
  })

  it('uses the recorded chain and verified marks, dropping malformed entries', () => {
    const id = clientIdentity(RP, registration({
      chain: [RP, 'https://a.example.org', 7, 'https://ta.example.org'] as never,
      trust_marks: [{ trust_mark_type: 'https://m.example.org/t', trust_mark_issuer: 'https://ta.example.org' }, { trust_mark_type: 5 }, null, 'x'] as never,
    }))
    assert.deepEqual(id.chain, [RP, 'https://a.example.org', 'https://ta.example.org'])
    assert.deepEqual(id.trust_marks, [{ trust_mark_type: 'https://m.example.org/t', trust_mark_issuer: 'https://ta.example.org' }])
  })

  it('shows a logo only from https (http only for development), and the entity type metadata first', () => {
    assert.equal(clientIdentity(RP, registration()).logo_uri, undefined)
    assert.equal(clientIdentity(RP, registration(), {}, { allowHttp: true }).logo_uri, 'http://rp.example.org/logo.png')
    const typed = registration({ metadata: { openid_relying_party: { logo_uri: 'https://rp.example.org/rp.png', organization_name: 'RP Org' }, federation_entity: { organization_name: 'Fed Org', logo_uri: 'https://rp.example.org/fed.png' } } })
    assert.equal(clientIdentity(RP, typed).logo_uri, 'https://rp.example.org/rp.png')
    assert.equal(clientIdentity(RP, typed).organization_name, 'RP Org')
    assert.equal(clientIdentity(RP, registration({ metadata: { federation_entity: { logo_uri: 'javascript:alert(1)' } } })).logo_uri, undefined)
  })

  it('reads no inherited member, and a revoked registration is not federated', () => {
    // What a polluted prototype would look like: the member is inherited, not the metadata's own.
    const polluted = { openid_relying_party: Object.create({ organization_name: 'inherited', logo_uri: 'https://evil.example/x.png' }) as Record<string, unknown> }
    assert.equal(clientIdentity(RP, registration({ metadata: polluted })).organization_name, undefined)
    assert.equal(clientIdentity(RP, registration({ metadata: polluted })).logo_uri, undefined)
    const revoked = clientIdentity(RP, registration({ status: 'revoked' }), { client_name: 'Static', redirect_uris: ['https://x.example.org/cb'] })
    assert.equal(revoked.federated, false)
    assert.deepEqual(revoked.chain, [RP])
    assert.equal(revoked.client_name, 'Static')
    assert.deepEqual(revoked.redirect_hosts, ['x.example.org'])
  })
})
