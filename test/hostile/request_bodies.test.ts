/**
 * Request bodies whatever the framing (issue 13, items 3 and 4; issue 12, deep JSON):
 * Content-Length and chunked bodies are read alike; one size limit answers 413 JSON for
 * both, also for a 100 MB chunked upload (read and discarded, never a reset); the nesting
 * limit (limits.json_depth, 64) refuses deep bodies with 400 before anything walks them,
 * so no member deeper than the limit is ever stored or signed.
 *
 *   E (Anchorage, server.max_body_bytes 1 MiB so that 100,000-level bodies reach the depth check)
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { startEntity, testKey, decode, type TestEntity } from '../support/federation.js'
import { depthBeyond } from '../../src/util/json.js'
import { assertIntrinsicsUnchanged, snapshotIntrinsics } from './intrinsics.js'
import { filler, nested, send, type Framing, type RawAnswer } from './raw_http.js'

const FRAMINGS: Framing[] = ['content-length', 'chunked']
const MEMBER = 'https://member.example'

describe('hostile: admin request bodies', () => {
  const clock = new ManualClock()
  let e: TestEntity
  let intrinsics: ReturnType<typeof snapshotIntrinsics>

  before(async () => {
    intrinsics = snapshotIntrinsics()
    e = await startEntity({ clock, config: { server: { max_body_bytes: 1_048_576 } } })
  })
  after(async () => {
    await e?.stop()
    assertIntrinsicsUnchanged(intrinsics)
  })

  const admin = (method: string, path: string, body: string | undefined, framing: Framing, type = 'application/json') =>
    send(`${e.entityId}${path}`, { method, framing, ...(body !== undefined ? { body } : {}), headers: { authorization: `Bearer ${e.token}`, ...(body !== undefined ? { 'content-type': type } : {}) } })

  const expectError = (r: RawAnswer, status: number, error: string, description: string | RegExp) => {
    assert.equal(r.status, status, r.text)
    assert.equal(r.body?.error, error, r.text)
    if (typeof description === 'string') assert.ok(String(r.body.error_description).includes(description), r.text)
    else assert.match(String(r.body.error_description), description)
    assert.equal(r.headers['cache-control'], 'no-store')
  }

  for (const framing of FRAMINGS) {
    describe(`framed by ${framing}`, () => {
      it('reads the body of POST /admin/keys/rotate: {"alg":"PS256"} makes a PS256 key', async () => {
        const r = await admin('POST', '/admin/keys/rotate', '{"alg":"PS256"}', framing)
        assert.equal(r.status, 201, r.text)
        assert.equal(r.body.alg, 'PS256')
      })

      it('reads the body of POST /admin/keys/{kid}/retire: the reason is recorded as a revocation', async () => {
        const rotated = await admin('POST', '/admin/keys/rotate', undefined, framing)
        assert.equal(rotated.status, 201, rotated.text)
        const published = (await e.admin('GET', '/admin/keys')).body.keys.find((k: { state: string }) => k.state === 'published')
        const r = await admin('POST', `/admin/keys/${published.kid}/retire`, '{"reason":"compromised"}', framing)
        assert.equal(r.status, 200, r.text)
        assert.equal(r.body.state, 'retired')
        assert.equal(r.body.revoked?.reason, 'compromised')
      })

      it('answers a malformed optional body with 400 naming the field, or the problem', async () => {
        expectError(await admin('POST', '/admin/keys/rotate', '{"alg":"XX256"}', framing), 400, 'invalid_request', /^alg: must be one of "ES256"/)
        expectError(await admin('POST', '/admin/keys/rotate', '{"alg":', framing), 400, 'invalid_request', 'the request body is not valid JSON')
        expectError(await admin('POST', '/admin/keys/rotate', '{"alg":"ES256"}', framing, 'text/plain'), 415, 'unsupported_media_type', 'Content-Type must be application/json')
      })

      for (const levels of [65, 2_000, 5_000, 100_000]) {
        it(`refuses a subordinate body nested ${levels} levels with 400 and stores nothing`, async () => {
          const body = `{"entity_id":"${MEMBER}/${framing}/${levels}","metadata":{"openid_relying_party":{"deep":${nested(levels)}}}}`
          const r = await admin('POST', '/admin/subordinates', body, framing)
          expectError(r, 400, 'invalid_request', 'the request body nests deeper than 64 levels (limits.json_depth)')
          const stored = await e.admin('GET', `/admin/subordinates/${encodeURIComponent(`${MEMBER}/${framing}/${levels}`)}`)
          assert.equal(stored.status, 404, JSON.stringify(stored.body))
        })
      }

      it('refuses deep PATCH, trust mark and optional bodies alike', async () => {
        const deep = `{"metadata":${nested(3_000)}}`
        expectError(await admin('PATCH', `/admin/subordinates/${encodeURIComponent(MEMBER)}`, deep, framing), 400, 'invalid_request', 'nests deeper than 64 levels')
        expectError(await admin('POST', '/admin/keys/rotate', `{"alg":${nested(4_000)}}`, framing), 400, 'invalid_request', 'nests deeper than 64 levels')
        expectError(await admin('POST', '/admin/trust-mark-types', `{"trust_mark_type":${nested(2_000)}}`, framing), 400, 'invalid_request', 'nests deeper than 64 levels')
      })

      it('answers 413 JSON for a body over server.max_body_bytes', async () => {
        const r = await admin('POST', '/admin/subordinates', `{"entity_id":"${MEMBER}","x":"${'a'.repeat(1_100_000)}"}`, framing)
        expectError(r, 413, 'payload_too_large', 'the request body is larger than 1048576 bytes (server.max_body_bytes)')
      })
    })
  }

  it('answers a 100 MB chunked upload with 413 JSON, not a connection reset, and keeps serving', async function () {
    this.timeout(60_000)
    const r = await send(`${e.entityId}/admin/subordinates`, {
      method: 'POST', framing: 'chunked', body: filler(100 * 1024 * 1024),
      headers: { authorization: `Bearer ${e.token}`, 'content-type': 'application/json' },
    })
    expectError(r, 413, 'payload_too_large', 'server.max_body_bytes')
    assert.equal(r.headers.connection, 'close')
    assert.equal(r.late, undefined, `the client saw ${r.late} after the answer`)
    const keys = await e.admin('GET', '/admin/keys')
    assert.equal(keys.status, 200)
  })

  it('accepts a body nested exactly to the limit, and signs a statement no deeper than it', async () => {
    // The body is level 1, metadata 2, the Entity Type 3, the parameter's value 4 to 64.
    const key = await testKey()
    const id = `${MEMBER}/at-limit`
    const body = `{"entity_id":"${id}","jwks":{"keys":[${JSON.stringify(key.publicJwk)}]},"metadata":{"openid_relying_party":{"deep":${nested(61)}}}}`
    const r = await admin('POST', '/admin/subordinates', body, 'chunked')
    assert.equal(r.status, 201, r.text)
    const fetched = await e.get(`/fetch?sub=${encodeURIComponent(id)}`)
    assert.equal(fetched.status, 200)
    const payload = decode(await fetched.text()).payload
    assert.equal(depthBeyond(JSON.stringify(payload), 64), undefined)
    assert.equal(depthBeyond(JSON.stringify(payload), 63), 64)
  })
})
