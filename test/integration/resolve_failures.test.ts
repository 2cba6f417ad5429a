/**
 * Topology (fresh for every test; each entity on its own loopback port with its own keys):
 *
 *     TA   (Anchorage; resolves with itself as trust anchor)
 *      |
 *     FA   (a hand-made intermediate whose statements a test tampers with)
 *      |
 *    LEAF  (serves its own entity configuration; openid_relying_party)
 *
 * Every failure answers the exact error code and status, and its error_description names
 * the statement and the rule that failed.
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import {
  startEntity, startLeaf, startAuthority, testKey, onboard, resolveAt, assertFailure, jwksOf, RP_METADATA,
  type TestEntity, type TestLeaf, type FakeAuthority,
} from '../support/federation.js'

interface Setup {
  clock: ManualClock
  ta: TestEntity
  fa: FakeAuthority
  leaf: TestLeaf
  resolve(extra?: Record<string, string>): ReturnType<typeof resolveAt>
}

const OUTBOUND = { allow_http: true, allow_private_network: true, timeout_ms: 2000 }

describe('resolve endpoint: failures', () => {
  const running: Array<{ stop(): Promise<void> }> = []
  afterEach(async () => {
    await Promise.all(running.splice(0).map((e) => e.stop()))
  })

  async function setup(o: { taConfig?: Record<string, unknown>; faAtTa?: Record<string, unknown>; leafAtFa?: Record<string, unknown> } = {}): Promise<Setup> {
    const clock = new ManualClock()
    const ta = await startEntity({ clock, config: o.taConfig ?? {} })
    const fa = await startAuthority({ clock, authority_hints: [ta.entityId] })
    const leaf = await startLeaf({ clock, authority_hints: [fa.entityId], metadata: RP_METADATA })
    running.push(ta, fa, leaf)
    await onboard(ta, fa.entityId, { jwks: jwksOf(fa), intermediate: true, ...o.faAtTa })
    fa.subordinates.set(leaf.entityId, { jwks: jwksOf(leaf), ...o.leafAtFa })
    const resolve = (extra: Record<string, string> = {}) => resolveAt(ta, { sub: leaf.entityId, trust_anchor: ta.entityId, ...extra })
    return { clock, ta, fa, leaf, resolve }
  }
  const ss = (s: Setup) => `subordinate statement ${s.fa.entityId} -> ${s.leaf.entityId}`

  it('resolves when nothing is tampered with', async () => {
    const s = await setup()
    const r = await s.resolve()
    assert.equal(r.status, 200, r.text)
  })

  it('rejects a subordinate statement whose signature does not verify', async () => {
    const s = await setup()
    const other = await testKey()
    s.fa.tamper = (what, st) => {
      if (what === 'ss') st.key = { ...other, kid: s.fa.key.kid }
    }
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'signature')
  })

  it('rejects a subordinate statement signed with a kid its issuer does not publish', async () => {
    const s = await setup()
    s.fa.tamper = (what, st) => {
      if (what === 'ss') st.header.kid = 'unknown-kid'
    }
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'kid')
  })

  it('rejects an expired subordinate statement once the clock passes its exp', async () => {
    const s = await setup()
    const t0 = s.clock.now()
    s.fa.tamper = (what, st) => {
      if (what === 'ss') Object.assign(st.claims, { iat: t0, exp: t0 + 120 })
    }
    assert.equal((await s.resolve()).status, 200)
    s.clock.advance(120 + 60 + 1)
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'exp')
  })

  it('rejects a subordinate statement whose sub differs from the subject', async () => {
    const s = await setup()
    s.fa.tamper = (what, st) => {
      if (what === 'ss') st.claims.sub = 'https://someone-else.example'
    }
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'sub')
  })

  it('rejects a subordinate statement with a critical claim it does not understand', async () => {
    const s = await setup()
    s.fa.tamper = (what, st) => {
      if (what === 'ss') Object.assign(st.claims, { crit: ['x_unknown'], x_unknown: true })
    }
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'crit')
  })

  it('answers invalid_subject for a subject configuration with a critical claim it does not understand', async () => {
    const s = await setup()
    Object.assign(s.leaf.claims, { crit: ['x_unknown'], x_unknown: true })
    assertFailure(await s.resolve(), 'invalid_subject', 404, `entity configuration of ${s.leaf.entityId}`, 'crit')
  })

  it('answers invalid_subject for a subject configuration whose signature does not verify', async () => {
    const s = await setup()
    s.leaf.claims.jwks = { keys: [{ ...(await testKey()).publicJwk, kid: s.leaf.key.kid }] }
    assertFailure(await s.resolve(), 'invalid_subject', 404, `entity configuration of ${s.leaf.entityId}`, 'signature')
  })

  it('rejects a superior statement that does not list the key the subject signed with', async () => {
    const s = await setup({ leafAtFa: { jwks: { keys: [(await testKey()).publicJwk] } } })
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'subject_key')
  })

  it('does not use an authority hint that loops back onto the path', async () => {
    const s = await setup()
    const fb = await startAuthority({ clock: s.clock, authority_hints: [s.fa.entityId] })
    running.push(fb)
    fb.subordinates.set(s.fa.entityId, { jwks: jwksOf(s.fa) })
    s.fa.ecClaims.authority_hints = [fb.entityId]
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, `entity configuration of ${fb.entityId}`, 'loop')
  })

  it('still resolves through another hint when one loops', async () => {
    const s = await setup()
    const fb = await startAuthority({ clock: s.clock, authority_hints: [s.fa.entityId] })
    running.push(fb)
    fb.subordinates.set(s.fa.entityId, { jwks: jwksOf(s.fa) })
    s.fa.ecClaims.authority_hints = [fb.entityId, s.ta.entityId]
    const r = await s.resolve()
    assert.equal(r.status, 200, r.text)
    assert.equal(r.payload!.trust_chain.length, 4)
  })

  it('rejects a path longer than max_path_length allows', async () => {
    const s = await setup({ faAtTa: { constraints: { max_path_length: 0 } } })
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, `subordinate statement ${s.ta.entityId} -> ${s.fa.entityId}`, 'max_path_length')
  })

  it('rejects a path deeper than resolver.max_depth', async () => {
    const s = await setup({ taConfig: { resolver: { max_depth: 1 } } })
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, `entity configuration of ${s.fa.entityId}`, 'max_depth')
  })

  it('rejects an entity outside the permitted names', async () => {
    // In FA's statement: Anchorage refuses to sign constraints its own subject breaks (subordinates_validation).
    const s = await setup({ leafAtFa: { constraints: { naming_constraints: { permitted: ['.example.com'] } } } })
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'naming_constraints')
  })

  it('rejects an excluded name even below the constraining statement', async () => {
    const s = await setup({ leafAtFa: { constraints: { naming_constraints: { excluded: ['127.0.0.1'] } } } })
    const r = await s.resolve()
    assertFailure(r, 'invalid_trust_chain', 400, ss(s), 'naming_constraints')
    assert.match(r.error!.error_description, /host 127\.0\.0\.1 is excluded by "127\.0\.0\.1"/)
  })

  it('answers invalid_metadata for an entity type the chain does not allow, and strips it otherwise', async () => {
    const s = await setup({ faAtTa: { constraints: { allowed_entity_types: ['openid_provider'] } } })
    const r = await s.resolve({ entity_type: 'openid_relying_party' })
    assertFailure(r, 'invalid_metadata', 400, `subordinate statement ${s.ta.entityId} -> ${s.fa.entityId}`, 'allowed_entity_types')
    const all = await s.resolve()
    assert.equal(all.status, 200)
    assert.deepEqual(Object.keys(all.payload!.metadata), ['federation_entity'])
  })

  it('answers invalid_trust_chain when the policies of the chain cannot be combined', async () => {
    const s = await setup({
      faAtTa: { metadata_policy: { openid_relying_party: { client_name: { value: 'A' } } } },
      leafAtFa: { metadata_policy: { openid_relying_party: { client_name: { value: 'B' } } } },
    })
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'metadata_policy')
  })

  it('answers invalid_metadata when the metadata does not satisfy the policy', async () => {
    const s = await setup({ faAtTa: { metadata_policy: { openid_relying_party: { logo_uri: { essential: true } } } } })
    assertFailure(await s.resolve(), 'invalid_metadata', 400, `metadata of ${s.leaf.entityId}`, 'invalid_metadata')
  })

  it('rejects a statement answered with another content type', async () => {
    const s = await setup()
    s.fa.respond = (req, res) => {
      if (!req.url?.startsWith('/fetch')) return false
      res.writeHead(200, { 'content-type': 'text/plain' }).end('x.y.z')
      return true
    }
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'content_type')
  })

  it('rejects a statement larger than outbound.max_response_bytes', async () => {
    const s = await setup({ taConfig: { outbound: { ...OUTBOUND, max_response_bytes: 4096 } }, leafAtFa: { metadata: { openid_relying_party: { pad: 'x'.repeat(8000) } } } })
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'too_large')
  })

  it('gives up on a superior slower than outbound.timeout_ms', async () => {
    const s = await setup({ taConfig: { outbound: { ...OUTBOUND, timeout_ms: 100 } } })
    s.fa.respond = (req) => Boolean(req.url?.startsWith('/fetch')) // never answers
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'timeout')
  })

  it('refuses a subject on a private address without allow_private_network', async () => {
    const s = await setup({ taConfig: { outbound: { ...OUTBOUND, allow_private_network: false } } })
    const r = await s.resolve()
    assertFailure(r, 'invalid_subject', 404, `entity configuration of ${s.leaf.entityId}`, 'address')
    assert.match(r.error!.error_description, /refusing to connect to 127\.0\.0\.1: not a public address/)
  })

  it('refuses an http subject without allow_http', async () => {
    const s = await setup({ taConfig: { outbound: { ...OUTBOUND, allow_http: false } } })
    assertFailure(await s.resolve(), 'invalid_subject', 404, `entity configuration of ${s.leaf.entityId}`, 'scheme')
  })

  it('remembers a failure briefly, then tries again', async () => {
    const s = await setup()
    s.fa.subordinates.delete(s.leaf.entityId)
    assertFailure(await s.resolve(), 'invalid_trust_chain', 400, ss(s), 'not_found')
    s.fa.subordinates.set(s.leaf.entityId, { jwks: jwksOf(s.leaf) })
    assert.equal((await s.resolve()).status, 400)
    s.clock.advance(11)
    assert.equal((await s.resolve()).status, 200)
  })
})
