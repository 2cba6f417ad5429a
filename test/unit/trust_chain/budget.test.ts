/**
 * The work budget of one resolution (trust_chain/budget.ts) and how the resolver spends it,
 * over an in-memory federation:  TA <- IA <- LEAF  (chain3), TMI (a trust mark issuer) <- TA.
 */
import assert from 'node:assert/strict'
import { ManualClock } from '../../../src/clock.js'
import { DEFAULTS } from '../../../src/config/defaults.js'
import { Budget, chargedFetcher, type BudgetExceeded } from '../../../src/trust_chain/budget.js'
import type { ResolveError } from '../../../src/trust_chain/errors.js'
import type { TrustMarkVerifier } from '../../../src/trust_chain/trust_mark_verifier.js'
import { chain3 } from './memfed.js'

const LIMITS = { fetches: 2, verifications: 1, ms: 10_000 }

describe('trust_chain/budget', () => {
  it('charges fetches and verifications up to their limits, then throws naming the limit, its key and the figures', () => {
    const b = new Budget(LIMITS, new ManualClock(1_000))
    b.fetch('https://a.example')
    b.fetch('https://b.example')
    b.verify()
    assert.throws(() => b.fetch('https://c.example'), (err: BudgetExceeded) => {
      assert.equal(err.limit, 'fetches')
      assert.match(err.message, /^resolution work budget exceeded: 2 outbound fetches \(resolver\.budget_fetches\); reached 2 outbound fetches, 1 signature verifications, \d+ ms$/)
      return true
    })
    // Once exceeded, every further charge fails the same way.
    assert.throws(() => b.verify(), /2 outbound fetches \(resolver.budget_fetches\)/)
  })

  it('runs out of time by the injected clock (whole seconds: one less than it shows)', () => {
    const clock = new ManualClock(1_000)
    const b = new Budget(LIMITS, clock)
    clock.advance(11)
    b.check()
    clock.advance(1)
    assert.throws(() => b.check(), /10000 ms of wall time \(resolver\.budget_ms\)/)
  })

  it('ends work still waiting when the real time is up, and nested runs share the outer deadline', async () => {
    const b = new Budget({ ...LIMITS, ms: 50 }, new ManualClock(1_000))
    const never = new Promise<string>(() => undefined)
    await assert.rejects(b.run(() => b.run(() => never)), (err: BudgetExceeded) => err.limit === 'time')
  })

  it('refuses a fetch in cached-only mode without making it', async () => {
    const b = new Budget(LIMITS, new ManualClock(1_000), true)
    let made = 0
    const f = chargedFetcher({ get: async () => (made++, { status: 200, contentType: '', body: '', url: '' }), post: async () => assert.fail() }, b)
    await assert.rejects(f.get('https://a.example', 'x'), /not in this resolver's cache/)
    assert.equal(made, 0)
  })

  describe('the resolver spends one budget per resolution', () => {
    it('counts 5 fetches and 5 verifications for TA <- IA <- LEAF cold, none for the same chain warm', async () => {
      const { fed, ta, leaf } = await chain3()
      const resolver = fed.resolver([ta])
      const cold = resolver.budget()
      await resolver.resolve(leaf.id, [ta.id], undefined, { budget: cold })
      assert.deepEqual([cold.figures().fetches, cold.figures().verifications], [5, 5])
      const warm = resolver.budget()
      await resolver.resolve(leaf.id, [ta.id], undefined, { budget: warm })
      assert.deepEqual([warm.figures().fetches, warm.figures().verifications], [0, 0])
    })

    it('ends with invalid_trust_chain naming budget_verifications when verifications run out', async () => {
      const { fed, ta, leaf } = await chain3()
      const resolver = fed.resolver([ta], { limits: { ...DEFAULTS.resolver, budget_verifications: 4 } })
      await assert.rejects(resolver.resolve(leaf.id, [ta.id]), (err: ResolveError) => {
        assert.equal(err.error, 'invalid_trust_chain')
        assert.match(err.message, /^resolution work budget exceeded: 4 signature verifications \(resolver\.budget_verifications\); reached 5 outbound fetches, 4 signature verifications, \d+ ms, resolving https:\/\/leaf\.example\.com to https:\/\/ta\.example\.com$/)
        return true
      })
    })

    it('charges a trust mark issuer\'s chain and its status requests to the subject\'s budget', async () => {
      const { fed, ta, leaf } = await chain3()
      const tmi = await fed.add('https://tmi.example.com', { hints: [ta.id] })
      fed.vouch(ta, tmi)
      leaf.claims.trust_marks = [{ trust_mark_type: 'https://tm.example/t', trust_mark: 'a.b.c' }]
      const verifier: TrustMarkVerifier = {
        async verify(trustMark, type, ctx) {
          await ctx.issuerKeys(tmi.id)
          await ctx.fetcher!.get('https://tmi.example.com/status', 'application/json')
          return { trust_mark_type: type, trust_mark: trustMark, iss: tmi.id, iat: 0 }
        },
      }
      const resolver = fed.resolver([ta], { verifier })
      const budget = resolver.budget()
      const r = await resolver.resolve(leaf.id, [ta.id], undefined, { budget })
      assert.equal(r.trust_marks.length, 1)
      // 5 for the subject's chain; TMI's configuration and TA's statement about it; one status request.
      assert.equal(budget.figures().fetches, 8)
      const tight = fed.resolver([ta], { verifier, limits: { ...DEFAULTS.resolver, budget_fetches: 6 } })
      await assert.rejects(tight.resolve(leaf.id, [ta.id]), /resolution work budget exceeded: 6 outbound fetches/)
    })
  })
})
