/**
 * Topology (each entity on its own loopback port with its own keys):
 *
 *   TA     (Anchorage, development: http allowed)     <- members onboarded through POST/PATCH
 *   PROD   (Anchorage, entity id https://prod.example, production: http refused)
 *   TA2 <- FA <- LEAF  (a hand-made intermediate, for what the resolver refuses)
 *
 * Publish only what validates: onboarding and every PATCH check the record as it would be
 * stored (keys, metadata, policy, identifiers) and answer 400 invalid_request naming the field;
 * nothing refused reaches /fetch.
 */
import { strict as assert } from 'node:assert'
import { generateKeyPair, exportJWK, type JWK } from 'jose'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '../../src/clock.js'
import { cli } from '../support/cli.js'
import {
  startEntity, startLeaf, startAuthority, onboard, resolveAt, assertFailure, jwksOf, decode, RP_METADATA,
  type TestEntity,
} from '../support/federation.js'

const enc = encodeURIComponent

interface Keys {
  ec: JWK
  rsa: JWK
  rsaPrivate: JWK
}

async function keys(): Promise<Keys> {
  const a = await generateKeyPair('ES256', { extractable: true })
  const b = await generateKeyPair('PS256', { extractable: true })
  return {
    ec: { ...(await exportJWK(a.publicKey)), kid: 'ec', alg: 'ES256' },
    rsa: { ...(await exportJWK(b.publicKey)), kid: 'rsa', alg: 'PS256' },
    rsaPrivate: { ...(await exportJWK(b.privateKey)), kid: 'rsa', alg: 'PS256' },
  }
}

async function refused(ta: TestEntity, method: string, path: string, body: unknown, description: string | RegExp): Promise<void> {
  const r = await ta.admin(method, path, body)
  assert.equal(r.status, 400, JSON.stringify(r.body))
  assert.equal(r.body.error, 'invalid_request')
  if (typeof description === 'string') assert.equal(r.body.error_description, description)
  else assert.match(r.body.error_description, description)
}

describe('onboarding publishes only what validates', () => {
  let ta: TestEntity
  let prod: TestEntity
  let k: Keys
  const member = 'https://member.example'

  before(async () => {
    k = await keys()
    ta = await startEntity()
    prod = await startEntity({ config: { entity_id: 'https://prod.example', development: false, outbound: { allow_http: false, allow_private_network: true, timeout_ms: 2000 } } })
  })
  after(async () => {
    await ta?.stop()
    await prod?.stop()
  })

  const post = (body: Record<string, unknown>) => ({ entity_id: member, jwks: { keys: [k.ec] }, ...body })
  const notStored = async (id = member) => assert.equal((await fetch(`${ta.entityId}/fetch?sub=${enc(id)}`)).status, 404)

  describe('jwks: public signing keys only', () => {
    for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
      it(`refuses an RSA key carrying the private member ${m}, and publishes nothing`, async () => {
        await refused(ta, 'POST', '/admin/subordinates', post({ jwks: { keys: [k.ec, { ...k.rsa, [m]: k.rsaPrivate[m] }] } }), `jwks.keys[1].${m}: private key members are not allowed`)
        await notStored()
      })
    }

    it('refuses oth and symmetric k', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({ jwks: { keys: [{ ...k.rsa, oth: [{ r: 'AQAB', d: 'AQAB', t: 'AQAB' }] }] } }), 'jwks.keys[0].oth: private key members are not allowed')
      await refused(ta, 'POST', '/admin/subordinates', post({ jwks: { keys: [{ kty: 'oct', kid: 's', k: 'c2VjcmV0' }] } }), 'jwks.keys[0].k: private key members are not allowed')
    })

    it('refuses duplicate kids', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({ jwks: { keys: [k.ec, { ...k.rsa, kid: 'ec' }] } }), 'jwks.keys[1].kid: duplicates the kid of keys[0]')
    })

    it('refuses a key without kid', async () => {
      const noKid = { ...k.ec }
      delete noKid.kid
      await refused(ta, 'POST', '/admin/subordinates', post({ jwks: { keys: [noKid] } }), 'jwks.keys[0].kid: is required')
    })

    it('refuses keys with no key material', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({ jwks: { keys: [{ kty: 'EC', kid: 'k', crv: 'P-256' }] } }), 'jwks.keys[0].x: is required (a key without key material)')
      await refused(ta, 'POST', '/admin/subordinates', post({ jwks: { keys: [{ kty: 'RSA', kid: 'k' }] } }), 'jwks.keys[0].n: is required (a key without key material)')
    })

    it('refuses EC coordinates that are not points ("!!!", off the curve)', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({ jwks: { keys: [{ ...k.ec, x: '!!!', y: '!!!' }] } }), 'jwks.keys[0].x: must be a base64url string')
      await refused(ta, 'POST', '/admin/subordinates', post({ jwks: { keys: [{ ...k.ec, y: k.ec.x }] } }), /^jwks\.keys\[0\]: not a valid EC P-256 public key/)
    })

    it('refuses an EC key with alg HS256', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({ jwks: { keys: [{ ...k.ec, alg: 'HS256' }] } }), 'jwks.keys[0].alg: "HS256" is not the signing algorithm of a P-256 key (ES256)')
    })

    it('refuses an RSA key under 2048 bits', async () => {
      const n = Buffer.from(k.rsa.n!, 'base64url').subarray(0, 128).toString('base64url')
      await refused(ta, 'POST', '/admin/subordinates', post({ jwks: { keys: [{ kty: 'RSA', kid: 'r', n, e: 'AQAB' }] } }), 'jwks.keys[0].n: the modulus has 1024 bits; at least 2048 are required')
    })

    it('refuses private members in the keys of a member\'s own entity configuration', async () => {
      const leaf = await startLeaf({ clock: ta.clock, authority_hints: [ta.entityId] })
      try {
        leaf.claims.jwks = { keys: [leaf.key.publicJwk, { ...k.rsa, p: k.rsaPrivate.p }] }
        const r = await ta.admin('POST', '/admin/subordinates', { entity_id: leaf.entityId })
        assert.equal(r.status, 400)
        // The resolver's own rule (isJwks) refuses that configuration before onboarding looks at the keys.
        assert.match(r.body.error_description, /^jwks: not given, and the entity configuration is not acceptable: .*no valid public jwks/)
      } finally {
        await leaf.stop()
      }
    })
  })

  describe('metadata, crit and source_endpoint', () => {
    it('refuses null metadata values, naming the parameter', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({ metadata: { openid_relying_party: { client_name: 'RP', contacts: null } } }), 'metadata.openid_relying_party.contacts: must not be null')
      await refused(ta, 'POST', '/admin/subordinates', post({ metadata: { openid_relying_party: null } }), 'metadata.openid_relying_party: must be object')
    })

    it('refuses a javascript: source_endpoint', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({ source_endpoint: 'javascript:alert(1)' }), 'source_endpoint: must be an https URL (or http) with a host')
    })

    it('refuses an http source_endpoint in a production deployment', async () => {
      await refused(prod, 'POST', '/admin/subordinates', post({ source_endpoint: 'http://prod.example/fetch' }), 'source_endpoint: must be an https URL with a host')
    })

    it('refuses crit naming a claim the statement does not carry', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({ crit: ['x_extension'] }), /^crit: "x_extension" is not a claim of this statement/)
    })

    it('refuses metadata that its own metadata_policy rejects', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({
        metadata: { openid_relying_party: { token_endpoint_auth_method: 'client_secret_basic' } },
        metadata_policy: { openid_relying_party: { token_endpoint_auth_method: { one_of: ['private_key_jwt'] } } },
      }), /^metadata\.openid_relying_party\.token_endpoint_auth_method: refused by this statement's own metadata_policy: .*one_of/)
    })

    it('refuses a policy whose "value" the other operators of that parameter reject (every subject would fail)', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({
        metadata_policy: { openid_relying_party: { response_types: { value: 'code', subset_of: ['code', 'token'] } } },
      }), /^metadata_policy: the result of "value" is refused by the other operators: "openid_relying_party\.response_types", operator "subset_of"/)
    })

    it('refuses naming_constraints that exclude the statement\'s own subject', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({ constraints: { naming_constraints: { excluded: ['.example'] } } }),
        'constraints.naming_constraints: the statement\'s own subject breaks them: https://member.example: host member.example is excluded by ".example"')
      await refused(ta, 'POST', '/admin/subordinates', post({ constraints: { naming_constraints: { permitted: ['.example.org'] } } }),
        /^constraints\.naming_constraints: the statement's own subject breaks them: .*not within the permitted names/)
    })

    it('refuses metadata_policy_crit naming an operator this deployment does not understand', async () => {
      await refused(ta, 'POST', '/admin/subordinates', post({ metadata_policy_crit: ['regexp'] }), /^metadata_policy_crit: operator "regexp": .*not understood/)
    })
  })

  describe('PATCH checks the merged record', () => {
    const id = 'https://patched.example'
    const path = `/admin/subordinates/${enc(id)}`
    before(async () => {
      await onboard(ta, id, {
        jwks: { keys: [k.ec] },
        metadata: { openid_relying_party: { client_name: 'RP' } },
        metadata_policy: { openid_relying_party: { client_name: { regexp: '^R' }, grant_types: { subset_of: ['authorization_code'] } } },
      })
    })

    it('refuses metadata_policy_crit for an operator the stored policy uses, as POST does', async () => {
      await refused(ta, 'PATCH', path, { metadata_policy_crit: ['regexp'] }, /^metadata_policy_crit: operator "regexp": .*not understood/)
      const stored = await ta.admin('GET', path)
      assert.equal(stored.body.metadata_policy_crit, undefined)
    })

    it('refuses metadata that the stored policy rejects, and leaves the statement as it was', async () => {
      const before = decode(await (await fetch(`${ta.entityId}/fetch?sub=${enc(id)}`)).text()).payload
      await refused(ta, 'PATCH', path, { metadata: { openid_relying_party: { grant_types: 'implicit' } } }, /^metadata\.openid_relying_party\.grant_types: refused by this statement's own metadata_policy/)
      const after = decode(await (await fetch(`${ta.entityId}/fetch?sub=${enc(id)}`)).text()).payload
      assert.deepEqual(after.metadata, before.metadata)
    })

    it('refuses private key members and null metadata values', async () => {
      await refused(ta, 'PATCH', path, { jwks: { keys: [{ ...k.rsa, qi: k.rsaPrivate.qi }] } }, 'jwks.keys[0].qi: private key members are not allowed')
      await refused(ta, 'PATCH', path, { metadata: { openid_relying_party: { client_name: null } } }, 'metadata.openid_relying_party.client_name: must not be null')
    })

    it('refuses to keep a stored record that no longer validates (keys stored before these checks)', async () => {
      const legacy = 'https://legacy.example'
      const now = ta.clock.now()
      await ta.store.put('subordinates', {
        id: legacy, entity_id: legacy, status: 'active', jwks: { keys: [{ ...k.rsa, p: k.rsaPrivate.p }] },
        entity_types: [], intermediate: false, created_at: now, updated_at: now,
      })
      await refused(ta, 'PATCH', `/admin/subordinates/${enc(legacy)}`, { metadata: { openid_relying_party: { client_name: 'x' } } }, 'jwks.keys[0].p: private key members are not allowed')
      const ok = await ta.admin('PATCH', `/admin/subordinates/${enc(legacy)}`, { jwks: { keys: [k.rsa] } })
      assert.equal(ok.status, 200, JSON.stringify(ok.body))
    })

    it('applies a patch that keeps the record valid', async () => {
      const r = await ta.admin('PATCH', path, { metadata: { openid_relying_party: { client_name: 'Renamed', grant_types: ['authorization_code'] } } })
      assert.equal(r.status, 200, JSON.stringify(r.body))
    })

    it('answers 404 for a member that does not exist, before checking anything', async () => {
      const r = await ta.admin('PATCH', `/admin/subordinates/${enc('https://nobody.example')}`, { metadata_policy_crit: ['regexp'] })
      assert.equal(r.status, 404)
    })
  })

  describe('entity identifiers are stored exactly as typed, in canonical form', () => {
    const jwks = () => ({ keys: [k.ec] })
    const suggest: Array<[string, string]> = [
      ['https://x.example/', 'https://x.example'],
      ['https://x.example:443', 'https://x.example'],
      ['https://X.example', 'https://x.example'],
      ['https://bücher.example', 'https://xn--bcher-kva.example'],
      ['https://x.example.', 'https://x.example'],
    ]
    for (const [id, canonical] of suggest) {
      it(`refuses ${id} and suggests ${canonical}`, async () => {
        await refused(ta, 'POST', '/admin/subordinates', { entity_id: id, jwks: jwks() }, new RegExp(`^entity_id: .*did you mean ${canonical.replace(/\./g, '\\.')}$`))
      })
    }

    const bad: Array<[string, string, RegExp]> = [
      ['a space', 'https://x.example/a b', /whitespace/],
      ['a tab', 'https://x.exa\tmple', /whitespace/],
      ['a newline', 'https://x.example/a\n', /whitespace/],
      ['a backslash', 'https://x.example\\a', /backslashes/],
      ['a NUL', 'https://x.example/\u0000', /control characters/],
      ['a ".." segment', 'https://x.example/a/../b', /path segments/],
      ['a "%2e%2e" segment', 'https://x.example/%2e%2e/b', /path segments/],
      ['a 5,000-character host label', `https://${'a'.repeat(5000)}.example`, /host labels must not be longer than 63 characters/],
      ['userinfo', 'https://user@x.example', /userinfo|format/],
    ]
    for (const [what, id, why] of bad) {
      it(`refuses an identifier with ${what}`, async () => {
        const r = await ta.admin('POST', '/admin/subordinates', { entity_id: id, jwks: jwks() })
        assert.equal(r.status, 400, JSON.stringify(r.body))
        assert.match(r.body.error_description, /^entity_id: /)
        assert.match(r.body.error_description, why)
      })
    }

    it('keeps one member for https://x.example however it is written', async () => {
      await onboard(ta, 'https://x.example', { jwks: jwks() })
      const list = (await (await fetch(`${ta.entityId}/list`)).json()) as string[]
      assert.deepEqual(list.filter((e) => e.includes('x.example')), ['https://x.example'])
    })

    it('a production (https) deployment refuses http members', async () => {
      await refused(prod, 'POST', '/admin/subordinates', { entity_id: 'http://member.example', jwks: jwks() }, /^entity_id: must be an https URL \(http is allowed only in a development deployment or with outbound\.allow_http\)$/)
      const ok = await prod.admin('POST', '/admin/subordinates', { entity_id: 'https://member.example', jwks: jwks() })
      assert.equal(ok.status, 201, JSON.stringify(ok.body))
    })

    it('anchorage init refuses a non-canonical --entity-id, naming the canonical form', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'anchorage-init-'))
      try {
        const r = await cli(['init', '--dir', join(dir, 'd'), '--entity-id', 'https://TA.example/'])
        assert.equal(r.code, 2, r.stderr)
        assert.match(r.stderr, /entity_id: must be written in canonical form: did you mean https:\/\/ta\.example/)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('a development deployment accepts http members', async () => {
      const r = await ta.admin('POST', '/admin/subordinates', { entity_id: 'http://dev-member.example', jwks: jwks() })
      assert.equal(r.status, 201, JSON.stringify(r.body))
    })
  })
})

/**
 *   TA2 (Anchorage)  <-  FA (hand-made, its statement about LEAF carries an RSA key with "p")  <-  LEAF
 */
describe('the resolver refuses statements carrying private key members', () => {
  it('answers invalid_trust_chain naming the statement and the jwks rule', async () => {
    const clock = new ManualClock()
    const ta = await startEntity({ clock })
    const fa = await startAuthority({ clock, authority_hints: [ta.entityId] })
    const leaf = await startLeaf({ clock, authority_hints: [fa.entityId], metadata: RP_METADATA })
    try {
      await onboard(ta, fa.entityId, { jwks: jwksOf(fa), intermediate: true })
      const rsa = await generateKeyPair('PS256', { extractable: true })
      const priv = await exportJWK(rsa.privateKey)
      fa.subordinates.set(leaf.entityId, { jwks: { keys: [leaf.key.publicJwk, { ...(await exportJWK(rsa.publicKey)), kid: 'r', p: priv.p }] } })
      const r = await resolveAt(ta, { sub: leaf.entityId, trust_anchor: ta.entityId })
      assertFailure(r, 'invalid_trust_chain', 400, `subordinate statement ${fa.entityId} -> ${leaf.entityId}`, 'jwks')
    } finally {
      await Promise.all([ta.stop(), fa.stop(), leaf.stop()])
    }
  })
})
