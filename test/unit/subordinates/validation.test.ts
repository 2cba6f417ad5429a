/** The PATCH check that runs inside the store's atomic update, on the record actually written. */
import { strict as assert } from 'node:assert'
import { generateKeyPair, exportJWK, type JWK } from 'jose'
import { MemberChecks, type MemberStatement } from '../../../src/subordinates/validation.js'
import { validatePolicyStructure } from '../../../src/metadata_policy/index.js'

describe('MemberChecks.forUpdate', () => {
  const checks = new MemberChecks({ entityId: 'https://ta.example', allowHttp: false, checkPolicy: (p, c) => validatePolicyStructure(p, c) })
  let a: JWK
  let b: JWK
  before(async () => {
    a = { ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'a' }
    b = { ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'b' }
  })
  const member = (extra: Partial<MemberStatement> = {}): MemberStatement => ({ entity_id: 'https://rp.example', jwks: { keys: [a] }, ...extra })

  it('accepts the record it checked', async () => {
    const check = await checks.forUpdate(member(), 0)
    assert.equal(check(member()), undefined)
  })

  it('refuses, with the field named, a record that another write made invalid meanwhile', async () => {
    const check = await checks.forUpdate(member({ metadata_policy: { openid_relying_party: { client_name: { regexp: '^a' } } } }), 0)
    const err = check(member({ metadata_policy: { openid_relying_party: { client_name: { regexp: '^a' } } }, metadata_policy_crit: ['regexp'] }))
    assert.equal(err?.status, 400)
    assert.match(err?.message ?? "", /^metadata_policy_crit: operator "regexp"/)
  })

  it('answers 409 when another write changed the keys it imported', async () => {
    const check = await checks.forUpdate(member(), 0)
    const err = check(member({ jwks: { keys: [b] } }))
    assert.equal(err?.status, 409)
    assert.equal(err?.message ?? "", 'jwks: the keys of https://rp.example changed during this update; retry')
  })

  it('refuses at once a merged record whose keys are not public', async () => {
    await assert.rejects(checks.forUpdate(member({ jwks: { keys: [{ ...a, d: 'AAAA' }] } }), 0), /jwks\.keys\[0\]\.d: private key members are not allowed/)
  })
})
