/**
 * Deep JSON in statements (issue 12, item 4): a member whose entity configuration (or an
 * intermediate's configuration, or a subordinate statement) nests 2,000 or 100,000 levels
 * is refused by the JSON reader before anything walks it, with its own rule ("depth"),
 * never a 5xx; a statement nested exactly to the limit (limits.json_depth, 64) resolves,
 * and the signed answer is no deeper than the limit.
 *
 *   TA --> hi-NAME --> leaf-NAME        (cases.ts; the deep statements are signed raw JSON text)
 */
import { strict as assert } from 'node:assert'
import { CompactSign } from 'jose'
import { assertFailure } from '../support/federation.js'
import type { HostileEntity } from '../support/hostile.js'
import { depthBeyond } from '../../src/util/json.js'
import { RP_METADATA, startFederation, type Federation } from './cases.js'
import { nested } from './raw_http.js'

/** Signs `claims` with `deep` (JSON text) added as metadata.openid_relying_party.deep, or as `member`. */
async function signDeep(e: HostileEntity, claims: Record<string, unknown>, deep: string, member?: string): Promise<string> {
  const base = JSON.stringify(claims)
  const text = member
    ? `${base.slice(0, -1)},${JSON.stringify(member)}:${deep}}`
    : `${base.slice(0, -1)},"metadata":{"federation_entity":{"federation_fetch_endpoint":"${e.id}/fetch"},"openid_relying_party":{"client_name":"RP","deep":${deep}}}}`
  return new CompactSign(new TextEncoder().encode(text)).setProtectedHeader({ alg: e.key.alg, kid: e.key.kid, typ: 'entity-statement+jwt' }).sign(e.key.privateKey)
}

/** Makes `e` answer its entity configuration (or, `fetch`, its statement about `sub`) with a deep one. */
function serveDeep(fed: Federation, e: HostileEntity, levels: number, o: { fetch?: HostileEntity; member?: string } = {}): void {
  e.respond = (req, res) => {
    const url = new URL(req.url ?? '/', fed.h.base)
    const now = fed.clock.now()
    let claims: Record<string, unknown>
    if (o.fetch) {
      if (!url.pathname.endsWith('/fetch')) return false
      claims = { iss: e.id, sub: o.fetch.id, iat: now, exp: now + 3600, jwks: o.fetch.jwks }
    } else {
      if (!url.pathname.endsWith('/.well-known/openid-federation')) return false
      claims = { iss: e.id, sub: e.id, iat: now, exp: now + 3600, jwks: e.jwks, authority_hints: e.authority_hints }
    }
    void signDeep(e, claims, nested(levels), o.member).then((jwt) => res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' }).end(jwt))
    return true
  }
}

describe('hostile: deeply nested JSON in statements', () => {
  let fed: Federation
  before(async () => {
    // Responses up to 1 MiB, so that 100,000 levels (266 kB as a JWT) reach the JSON reader.
    fed = await startFederation({ outbound: { allow_http: true, allow_private_network: true, timeout_ms: 2000, max_response_bytes: 1_048_576 } })
  })
  after(async () => {
    await fed?.stop()
  })

  for (const levels of [2_000, 100_000]) {
    it(`refuses a subject whose entity configuration nests ${levels} levels: invalid_subject, rule "depth"`, async () => {
      await fed.check(async () => {
        const { leaf } = await fed.add(`deep-ec-${levels}`)
        serveDeep(fed, leaf, levels)
        const r = await fed.resolve(leaf)
        assertFailure(r, 'invalid_subject', 404, `entity configuration of ${leaf.id}`, 'depth')
        assert.match(r.error!.error_description, /nests deeper than 64 levels/)
        // Remembered as a failure, and the same answer again (no 5xx on a second look).
        assert.equal((await fed.resolve(leaf)).status, 404)
      })
    })

    it(`refuses a path through an intermediate whose configuration nests ${levels} levels: invalid_trust_chain, rule "depth"`, async () => {
      await fed.check(async () => {
        const { hi, leaf } = await fed.add(`deep-hi-${levels}`)
        serveDeep(fed, hi, levels)
        const r = await fed.resolve(leaf)
        assertFailure(r, 'invalid_trust_chain', 400, `entity configuration of ${hi.id}`, 'depth')
      })
    })

    it(`refuses a subordinate statement whose metadata_policy nests ${levels} levels: invalid_trust_chain, rule "depth"`, async () => {
      await fed.check(async () => {
        const { hi, leaf } = await fed.add(`deep-ss-${levels}`)
        serveDeep(fed, hi, levels, { fetch: leaf, member: 'metadata_policy' })
        const r = await fed.resolve(leaf)
        assertFailure(r, 'invalid_trust_chain', 400, `subordinate statement ${hi.id} -> ${leaf.id}`, 'depth')
      })
    })
  }

  it('resolves a subject nested exactly to the limit, and signs an answer no deeper than it', async () => {
    await fed.check(async () => {
      // Payload 1, metadata 2, openid_relying_party 3, deep 4..64.
      const { leaf } = await fed.add('at-limit')
      serveDeep(fed, leaf, 61)
      const r = await fed.resolve(leaf)
      assert.equal(r.status, 200, r.text)
      assert.equal(r.payload!.metadata.openid_relying_party.client_name, RP_METADATA.openid_relying_party.client_name)
      assert.equal(depthBeyond(JSON.stringify(r.payload), 64), undefined)

      const { leaf: over } = await fed.add('over-limit')
      serveDeep(fed, over, 62)
      assertFailure(await fed.resolve(over), 'invalid_subject', 404, `entity configuration of ${over.id}`, 'depth')
    })
  })
})
