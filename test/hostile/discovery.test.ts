/**
 * Unauthenticated discovery at GET /resolve is bounded (spec "Denial-of-Service Attack
 * Prevention"): at most `max_concurrent_discoveries` at once, `discoveries_per_minute` per
 * client address (the forwarded one behind a trusted proxy), or none at all with
 * `unauthenticated: "cached"`, where only cached statements answer and the operator's
 * POST /admin/resolve discovers. Cached answers are never limited.
 *
 *   CONC (Anchorage anchor, max_concurrent_discoveries 2)
 *   RATE (Anchorage anchor, discoveries_per_minute 3, behind a trusted proxy)
 *   CACHED (Anchorage anchor, unauthenticated "cached")
 *   each with leaves on the hostile server onboarded under it; some answer 300 ms late
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { startEntity, onboard, resolveAt, type TestEntity } from '../support/federation.js'
import { startHostile, type HostileServer, type HostileEntity } from '../support/hostile.js'

const prototypeNames = () => Object.getOwnPropertyNames(Object.prototype).sort()

describe('hostile callers: unauthenticated discovery at /resolve is bounded', () => {
  const clock = new ManualClock()
  const protoBefore = prototypeNames()
  let conc: TestEntity, rate: TestEntity, cached: TestEntity
  let h: HostileServer
  let n = 0

  before(async () => {
    conc = await startEntity({ clock, config: { resolver: { max_concurrent_discoveries: 2, discoveries_per_minute: 0 } } })
    rate = await startEntity({ clock, config: { resolver: { discoveries_per_minute: 3 }, server: { trust_proxy: true } } })
    cached = await startEntity({ clock, config: { resolver: { unauthenticated: 'cached' } } })
    h = await startHostile({ clock })
  })
  after(async () => {
    await h?.stop()
    await Promise.all([conc, rate, cached].map((e) => e?.stop()))
    assert.deepEqual(prototypeNames(), protoBefore)
  })

  /** A leaf onboarded under `anchor`, answering `delayMs` late. */
  async function member(anchor: TestEntity, delayMs = 0): Promise<HostileEntity> {
    const e = h.add(`m${++n}`, { authority_hints: [anchor.entityId] })
    await onboard(anchor, e.id)
    if (delayMs) e.delayMs = delayMs
    return e
  }
  const resolve = (anchor: TestEntity, sub: string, headers: Record<string, string> = {}) =>
    fetch(`${anchor.entityId}/resolve?sub=${encodeURIComponent(sub)}&trust_anchor=${encodeURIComponent(anchor.entityId)}`, { headers })

  it('answers 503 temporarily_unavailable with Retry-After beyond max_concurrent_discoveries, and serves it once the others are done', async () => {
    const slow = await Promise.all([member(conc, 300), member(conc, 300), member(conc, 300)])
    const answers = await Promise.all(slow.map((e) => resolve(conc, e.id)))
    const statuses = answers.map((r) => r.status).sort()
    assert.deepEqual(statuses, [200, 200, 503])
    const refused = answers.find((r) => r.status === 503)!
    assert.equal(refused.headers.get('retry-after'), '1')
    assert.deepEqual(await refused.json(), {
      error: 'temporarily_unavailable',
      error_description: '2 discoveries are running already (resolver.max_concurrent_discoveries); retry later',
    })
    const late = slow[answers.indexOf(refused)]!
    assert.equal((await resolve(conc, late.id)).status, 200)
  })

  it('does not count a request joining a discovery of the same subject that is already running', async () => {
    const e = await member(conc, 300)
    const answers = await Promise.all([1, 2, 3, 4].map(() => resolve(conc, e.id)))
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200])
  })

  it('limits discoveries per forwarded client address (the entry the trusted proxy added), not per spoofable entry', async () => {
    const subjects = await Promise.all([1, 2, 3, 4, 5].map(() => member(rate)))
    const from = (sub: string, xff: string) => resolve(rate, sub, { 'x-forwarded-for': xff })
    for (const s of subjects.slice(0, 3)) assert.equal((await from(s.id, '198.51.100.7')).status, 200)
    const refused = await from(subjects[3]!.id, '203.0.113.1, 198.51.100.7')
    assert.equal(refused.status, 503)
    assert.equal(refused.headers.get('retry-after'), '20')
    assert.match(((await refused.json()) as { error_description: string }).error_description, /started 3 discoveries within a minute \(resolver\.discoveries_per_minute\); retry in 20 s/)
    // Another address has its own allowance; cached answers cost none.
    assert.equal((await from(subjects[3]!.id, '198.51.100.8')).status, 200)
    for (let i = 0; i < 5; i++) assert.equal((await from(subjects[0]!.id, '198.51.100.7')).status, 200)
    clock.advance(20)
    assert.equal((await from(subjects[4]!.id, '198.51.100.7')).status, 200)
  })

  it('"cached": answers a subject nothing has resolved yet with 404 invalid_subject, without any outbound request', async () => {
    const e = await member(cached)
    const t = h.tree({ prefix: 'ct', k: 5, depth: 5 })
    h.requests.reset()
    for (const sub of [e.id, t.leaf.id]) {
      const r = await resolveAt(cached, { sub, trust_anchor: cached.entityId })
      assert.equal(r.status, 404, r.text)
      assert.equal(r.error?.error, 'invalid_subject')
      assert.match(r.error.error_description, /"not_cached": .* is not in this resolver's cache, and unauthenticated requests are answered from cached information only/)
    }
    assert.equal(h.requests.total, 0)
  })

  it('"cached": after the operator\'s POST /admin/resolve, answers from cached statements, also once the answer cache is dropped', async () => {
    const e = await member(cached)
    assert.equal((await resolveAt(cached, { sub: e.id, trust_anchor: cached.entityId })).status, 404)
    const q = `sub=${encodeURIComponent(e.id)}&trust_anchor=${encodeURIComponent(cached.entityId)}`
    const unauthenticated = await fetch(`${cached.entityId}/admin/resolve?${q}`, { method: 'POST' })
    assert.equal(unauthenticated.status, 401)
    const warmed = await cached.admin('POST', `/admin/resolve?${q}`)
    assert.equal(warmed.status, 200, JSON.stringify(warmed.body))
    assert.equal(warmed.headers.get('content-type'), 'application/resolve-response+jwt')
    h.requests.reset()
    assert.equal((await resolveAt(cached, { sub: e.id, trust_anchor: cached.entityId })).status, 200)
    await member(cached) // a store change drops every answer
    h.requests.reset()
    const again = await resolveAt(cached, { sub: e.id, trust_anchor: cached.entityId })
    assert.equal(again.status, 200, again.text)
    assert.equal(again.payload?.sub, e.id)
    assert.equal(h.requests.total, 0)
  })
})
