/** Resolve answers: cache keys, the fast-path peek, failure caching and invalidation on a revision change. */
import assert from 'node:assert/strict'
import { ManualClock } from '../../../src/clock.js'
import { silentLogger } from '../../../src/logger.js'
import { InvalidTrustChain } from '../../../src/errors.js'
import { ResolveService, type ResolveServiceOptions } from '../../../src/trust_chain/service.js'
import type { Resolver } from '../../../src/trust_chain/resolver.js'
import type { ResolvedChain, ResolverLimits } from '../../../src/trust_chain/types.js'

const TA = 'https://ta.example.com'
const TB = 'https://tb.example.com'
const SUB = 'https://leaf.example.com'

interface Setup {
  fail?: boolean
  /** While set, resolutions wait for it. */
  hold?: Promise<void>
  exp?: number
  cacheUntil?: number
  limits?: Partial<ResolverLimits>
  unauthenticated?: ResolveServiceOptions['unauthenticated']
}

function setup(o: Setup = {}) {
  const clock = new ManualClock(1_000)
  let calls = 0
  const cachedOnly: boolean[] = []
  const resolver = {
    async resolve(sub: string, anchors: readonly string[], _types: unknown, ro: { cachedOnly?: boolean } = {}): Promise<ResolvedChain> {
      calls++
      cachedOnly.push(ro.cachedOnly === true)
      await new Promise<void>((r) => setImmediate(r))
      await o.hold
      if (o.fail) throw new InvalidTrustChain('no valid trust chain')
      return {
        subject: sub, anchor: anchors[0]!, trust_chain: ['a.b.c'], links: [], metadata: {}, trust_marks: [], exp: o.exp ?? 5_000, subject_jwks: { keys: [] },
        ...(o.cacheUntil !== undefined ? { cacheUntil: o.cacheUntil } : {}),
      }
    },
  } as unknown as Resolver
  let signed = 0
  const service = new ResolveService({
    entityId: TA, resolver, clock, logger: silentLogger, anchorIds: [TA, TB],
    limits: { cache_ttl_max: 3_600, answer_ttl_max: 3_600, answer_stale_seconds: 0, max_concurrent_refreshes: 8, failure_ttl: 10, cache_entries: 100, ...o.limits },
    sign: async (claims) => `jwt-${++signed}-${JSON.stringify(claims.sub)}`,
    ...(o.unauthenticated ? { unauthenticated: o.unauthenticated } : {}),
  })
  return { o, clock, service, calls: () => calls, cachedOnly }
}

const params = (q: string) => new URLSearchParams(q)
const enc = encodeURIComponent

describe('trust_chain/service', () => {
  it('keys answers by subject, trusted anchors in configured order, and sorted entity types', () => {
    const { service } = setup()
    assert.equal(service.key(SUB, [TB, TA, 'https://x.example'], ['b', 'a', 'b']), JSON.stringify([SUB, [TA, TB], ['a', 'b']]))
    assert.equal(service.key(SUB, ['https://x.example'], undefined), undefined)
  })

  it('signs once and serves the cached answer, also through peek, until the chain expires', async () => {
    const s = setup({ exp: 2_000 })
    const a = await s.service.answer(SUB, [TA], undefined)
    assert.equal(await s.service.answer(SUB, [TA], undefined), a)
    assert.equal(s.calls(), 1)
    assert.equal(s.service.peek(params(`sub=${enc(SUB)}&trust_anchor=${enc(TA)}&unknown=1`)), a)
    s.clock.set(2_000)
    assert.equal(s.service.peek(params(`sub=${enc(SUB)}&trust_anchor=${enc(TA)}`)), undefined)
  })

  it("serves an answer no longer than the chain's cacheUntil (its trust marks' status), though the chain expires later", async () => {
    const s = setup({ exp: 5_000, cacheUntil: 1_060 })
    const a = await s.service.answer(SUB, [TA], undefined)
    s.clock.set(1_059)
    assert.equal(s.service.peek(params(`sub=${enc(SUB)}&trust_anchor=${enc(TA)}`)), a)
    s.clock.set(1_060)
    assert.equal(s.service.peek(params(`sub=${enc(SUB)}&trust_anchor=${enc(TA)}`)), undefined)
    await s.service.answer(SUB, [TA], undefined)
    assert.equal(s.calls(), 2)
  })

  it('peeks nothing for unusual requests, so koa answers them', async () => {
    const s = setup()
    await s.service.answer(SUB, [TA], undefined)
    for (const q of [`trust_anchor=${enc(TA)}`, `sub=${enc(SUB)}&sub=${enc(SUB)}&trust_anchor=${enc(TA)}`, `sub=${enc(SUB)}`, `sub=${enc(SUB)}&trust_anchor=x`]) {
      assert.equal(s.service.peek(params(q)), undefined, q)
    }
  })

  it('shares one resolution between concurrent requests', async () => {
    const s = setup()
    const [a, b] = await Promise.all([s.service.answer(SUB, [TA], undefined), s.service.answer(SUB, [TA], undefined)])
    assert.equal(a, b)
    assert.equal(s.calls(), 1)
  })

  it('remembers failures for failure_ttl, without peeking them', async () => {
    const s = setup({ fail: true })
    await assert.rejects(s.service.answer(SUB, [TA], undefined), { error: 'invalid_trust_chain' })
    await assert.rejects(s.service.answer(SUB, [TA], undefined), { error: 'invalid_trust_chain' })
    assert.equal(s.calls(), 1)
    assert.equal(s.service.peek(params(`sub=${enc(SUB)}&trust_anchor=${enc(TA)}`)), undefined)
    s.clock.advance(10)
    await assert.rejects(s.service.answer(SUB, [TA], undefined))
    assert.equal(s.calls(), 2)
  })

  it('drops every answer on invalidate, and does not keep one computed across it', async () => {
    const s = setup()
    await s.service.answer(SUB, [TA], undefined)
    s.service.invalidate()
    assert.equal(s.service.peek(params(`sub=${enc(SUB)}&trust_anchor=${enc(TA)}`)), undefined)
    const pending = s.service.answer(SUB, [TB], undefined)
    s.service.invalidate()
    await pending
    assert.equal(s.service.peek(params(`sub=${enc(SUB)}&trust_anchor=${enc(TB)}`)), undefined)
  })

  describe('stale-while-revalidate', () => {
    const swr = { answer_ttl_max: 60, answer_stale_seconds: 30 }
    const q = `sub=${enc(SUB)}&trust_anchor=${enc(TA)}`
    /** Lets the background refresh (a few promise turns and a setImmediate) finish. */
    const settle = () => new Promise<void>((r) => setTimeout(r, 5))

    it('serves a fresh answer without resolving, then the stale one while exactly one refresh runs, then the refreshed one', async () => {
      const s = setup({ limits: swr })
      const a = await s.service.answer(SUB, [TA], undefined)
      s.clock.advance(59)
      assert.equal(s.service.peek(params(q)), a)
      assert.equal(s.calls(), 1)
      s.clock.advance(1)
      assert.equal(s.service.peek(params(q)), a)
      assert.equal(s.service.peek(params(q)), a)
      assert.equal(await s.service.answer(SUB, [TA], undefined), a)
      assert.equal(s.calls(), 2)
      await settle()
      const b = s.service.peek(params(q))
      assert.ok(b && b !== a)
      assert.equal(s.calls(), 2)
    })

    it('drops the stale answer at once when the refresh finds the chain broken: the next request gets the error', async () => {
      const s = setup({ limits: swr })
      await s.service.answer(SUB, [TA], undefined)
      s.clock.advance(60)
      s.o.fail = true
      assert.ok(s.service.peek(params(q)))
      await settle()
      assert.equal(s.service.peek(params(q)), undefined)
      await assert.rejects(s.service.answer(SUB, [TA], undefined), { error: 'invalid_trust_chain' })
      assert.equal(s.calls(), 2)
    })

    it('never serves an answer past fresh + stale, even when no refresh could start', async () => {
      const s = setup({ limits: { ...swr, max_concurrent_refreshes: 1 } })
      const qb = `sub=${enc(SUB)}&trust_anchor=${enc(TB)}`
      await s.service.answer(SUB, [TA], undefined)
      const b = await s.service.answer(SUB, [TB], undefined)
      let release = () => {}
      s.o.hold = new Promise<void>((r) => { release = r })
      s.clock.advance(60)
      assert.ok(s.service.peek(params(q)))
      assert.equal(s.service.peek(params(qb)), b)
      await settle()
      assert.equal(s.calls(), 3) // one refresh at a time: the second stale answer gets none
      s.clock.advance(29)
      assert.equal(s.service.peek(params(qb)), b)
      s.clock.advance(1)
      assert.equal(s.service.peek(params(qb)), undefined)
      assert.equal(s.service.peek(params(q)), undefined)
      release()
      await settle()
    })

    it("never serves an answer past the chain's exp, stale or not", async () => {
      const s = setup({ limits: swr, exp: 1_070 })
      const a = await s.service.answer(SUB, [TA], undefined)
      s.clock.set(1_069)
      s.o.fail = true
      assert.equal(s.service.peek(params(q)), a)
      s.clock.set(1_070)
      assert.equal(s.service.peek(params(q)), undefined)
    })

    it('refreshes as the server (discovering) even for an unauthenticated caller limited to cached statements', async () => {
      const s = setup({ limits: swr, unauthenticated: { unauthenticated: 'cached', max_concurrent_discoveries: 1, discoveries_per_minute: 1 } })
      await s.service.answer(SUB, [TA], undefined)
      s.clock.advance(60)
      await s.service.answer(SUB, [TA], undefined, { address: '192.0.2.1' })
      await settle()
      assert.deepEqual(s.cachedOnly, [false, false])
    })

    it('caps freshness by cache_ttl_max (kept as an upper bound)', async () => {
      const s = setup({ limits: { ...swr, cache_ttl_max: 10, answer_stale_seconds: 0 } })
      await s.service.answer(SUB, [TA], undefined)
      s.clock.advance(10)
      assert.equal(s.service.peek(params(q)), undefined)
    })
  })
})
