/** Resolve answers: cache keys, the fast-path peek, failure caching and invalidation on a revision change. */
import assert from 'node:assert/strict'
import { ManualClock } from '../../../src/clock.js'
import { silentLogger } from '../../../src/logger.js'
import { InvalidTrustChain } from '../../../src/errors.js'
import { ResolveService } from '../../../src/trust_chain/service.js'
import type { Resolver } from '../../../src/trust_chain/resolver.js'
import type { ResolvedChain } from '../../../src/trust_chain/types.js'

const TA = 'https://ta.example.com'
const TB = 'https://tb.example.com'
const SUB = 'https://leaf.example.com'

function setup(o: { fail?: boolean; exp?: number; cacheUntil?: number } = {}) {
  const clock = new ManualClock(1_000)
  let calls = 0
  const resolver = {
    async resolve(sub: string, anchors: readonly string[]): Promise<ResolvedChain> {
      calls++
      await new Promise<void>((r) => setImmediate(r))
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
    limits: { cache_ttl_max: 3_600, failure_ttl: 10, cache_entries: 100 },
    sign: async (claims) => `jwt-${++signed}-${JSON.stringify(claims.sub)}`,
  })
  return { clock, service, calls: () => calls }
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
})
