/**
 * The resolver over an in-memory federation (no sockets): collection limits, caching of
 * fetched statements and failures, shared in-flight fetches, the structured failure
 * report, and trust marks through an injected verifier.
 *
 *     TA <- IA <- LEAF   (chain3), variations per test
 */
import assert from 'node:assert/strict'
import { ResolveError } from '../../../src/trust_chain/errors.js'
import type { TrustMarkVerifier } from '../../../src/trust_chain/trust_mark_verifier.js'
import { DEFAULTS } from '../../../src/config/defaults.js'
import { chain3, MemFed, jwksOf } from './memfed.js'

const entityStatement = 'application/entity-statement+jwt'

async function rejects(p: Promise<unknown>): Promise<ResolveError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof ResolveError, String(err))
    return err
  }
  assert.fail('expected a ResolveError')
}

describe('trust_chain/resolver', () => {
  it('resolves TA <- IA <- LEAF with a policy from the anchor applied', async () => {
    const { fed, ta, ia, leaf } = await chain3()
    fed.vouch(ta, ia, { metadata_policy: { openid_relying_party: { grant_types: { subset_of: ['authorization_code'] } } } })
    const r = await fed.resolver([ta]).resolve(leaf.id, [ta.id])
    assert.equal(r.anchor, ta.id)
    assert.equal(r.trust_chain.length, 4)
    assert.deepEqual(r.metadata.openid_relying_party!.grant_types, ['authorization_code'])
    assert.deepEqual(r.links.map((l) => [l.iss, l.sub]), [[leaf.id, leaf.id], [ia.id, leaf.id], [ta.id, ia.id], [ta.id, ta.id]])
    assert.equal(r.exp, fed.clock.now() + 3600)
    assert.deepEqual(r.subject_jwks, jwksOf(leaf))
  })

  it('accepts a content type with parameters, and refuses another media type', async () => {
    const { fed, ta, leaf } = await chain3()
    const url = `${leaf.id}/.well-known/openid-federation`
    const body = (await fed.fetcher.get(url, entityStatement)).body
    fed.overrides.set(url, async () => ({ status: 200, contentType: 'Application/Entity-Statement+JWT; charset=utf-8', body }))
    await fed.resolver([ta]).resolve(leaf.id, [ta.id])
    fed.overrides.set(url, async () => ({ status: 200, contentType: 'application/jwt', body }))
    const err = await rejects(fed.resolver([ta]).resolve(leaf.id, [ta.id]))
    assert.equal(err.error, 'invalid_subject')
    assert.equal(err.paths[0]!.rule, 'content_type')
  })

  it('fetches each statement once for concurrent resolutions and caches it until its exp', async () => {
    const { fed, ta, leaf } = await chain3()
    const resolver = fed.resolver([ta])
    await Promise.all([1, 2, 3, 4, 5].map(() => resolver.resolve(leaf.id, [ta.id])))
    assert.equal(fed.calls.length, 5) // 3 entity configurations, 2 subordinate statements
    await resolver.resolve(leaf.id, [ta.id])
    assert.equal(fed.calls.length, 5)
    fed.clock.advance(3601)
    await resolver.resolve(leaf.id, [ta.id])
    assert.equal(fed.calls.length, 10)
  })

  it('caches a fetched statement at most statement_ttl_max whatever its exp, and no longer than cache_ttl_max', async () => {
    const { fed, ta, leaf } = await chain3()
    for (const [limits, ttl] of [[{ statement_ttl_max: 60 }, 60], [{ statement_ttl_max: 60, cache_ttl_max: 20 }, 20]] as const) {
      const resolver = fed.resolver([ta], { limits: { ...DEFAULTS.resolver, ...limits } })
      await resolver.resolve(leaf.id, [ta.id])
      const calls = fed.calls.length
      fed.clock.advance(ttl - 1)
      await resolver.resolve(leaf.id, [ta.id])
      assert.equal(fed.calls.length, calls)
      fed.clock.advance(1)
      await resolver.resolve(leaf.id, [ta.id])
      assert.equal(fed.calls.length, calls + 5)
    }
  })

  it('bounds caching by cache_ttl_max and remembers failures for failure_ttl', async () => {
    const { fed, ta, ia, leaf } = await chain3()
    const resolver = fed.resolver([ta], { limits: { ...DEFAULTS.resolver, cache_ttl_max: 100, failure_ttl: 5 } })
    ia.subs.delete(leaf.id)
    await rejects(resolver.resolve(leaf.id, [ta.id]))
    fed.vouch(ia, leaf)
    fed.clock.advance(4)
    assert.equal((await rejects(resolver.resolve(leaf.id, [ta.id]))).paths[0]!.rule, 'not_found')
    fed.clock.advance(2)
    await resolver.resolve(leaf.id, [ta.id])
    const calls = fed.calls.length
    fed.clock.advance(101)
    await resolver.resolve(leaf.id, [ta.id])
    assert.ok(fed.calls.length > calls)
  })

  it('reports every path tried with its statement and rule', async () => {
    const { fed, ta, ia, leaf } = await chain3()
    const ib = await fed.add('https://ib.example.com', { hints: [ta.id] })
    leaf.claims.authority_hints = [ia.id, ib.id, 'https://nowhere.example.com']
    fed.vouch(ib, leaf, { jwks: { keys: [(await (await import('../../support/entity.js')).testKey()).publicJwk] } })
    fed.vouch(ta, ib)
    ia.subs.delete(leaf.id)
    const err = await rejects(fed.resolver([ta]).resolve(leaf.id, [ta.id]))
    assert.equal(err.error, 'invalid_trust_chain')
    assert.equal(err.status, 400)
    const by = (statement: string) => err.paths.find((p) => p.statement === statement)
    assert.deepEqual(by(`subordinate statement ${ia.id} -> ${leaf.id}`), {
      path: [leaf.id, ia.id], statement: `subordinate statement ${ia.id} -> ${leaf.id}`, rule: 'not_found', stage: 'chain',
      message: `${ia.id}/fetch?sub=https%3A%2F%2Fleaf.example.com answered 404 (not_found: no such statement)`,
    })
    assert.equal(by(`subordinate statement ${ib.id} -> ${leaf.id}`)!.rule, 'subject_key')
    assert.deepEqual(by(`subordinate statement ${ib.id} -> ${leaf.id}`)!.path, [leaf.id, ib.id, ta.id])
    assert.equal(by('entity configuration of https://nowhere.example.com')!.rule, 'not_found')
    assert.equal(err.paths.length, 3)
    assert.match(err.message, /^no valid trust chain from https:\/\/leaf\.example\.com to https:\/\/ta\.example\.com: \[/)
  })

  it('inspects at most max_fan_out authority hints and explores at most max_chains paths', async () => {
    const fed = new MemFed()
    const ta = await fed.add('https://ta.example.com')
    const hints = ['a', 'b', 'c'].map((x) => `https://${x}.example.com`)
    const leaf = await fed.add('https://leaf.example.com', { hints })
    const limits = { ...DEFAULTS.resolver, max_fan_out: 2 }
    const err = await rejects(fed.resolver([ta], { limits }).resolve(leaf.id, [ta.id]))
    assert.ok(!fed.calls.some((u) => u.startsWith('https://c.example.com')))
    assert.ok(err.paths.some((p) => p.rule === 'max_fan_out' && p.path.at(-1) === 'https://c.example.com'))
    const few = await rejects(fed.resolver([ta], { limits: { ...DEFAULTS.resolver, max_chains: 1, max_fan_out: 1 } }).resolve(leaf.id, [ta.id]))
    assert.ok(few.paths.length >= 1)
  })

  it('refuses anchors it does not trust with invalid_trust_anchor', async () => {
    const { fed, ta, leaf } = await chain3()
    await assert.rejects(fed.resolver([ta]).resolve(leaf.id, ['https://other.example.com']), { error: 'invalid_trust_anchor', status: 404 })
  })

  it('includes only trust marks the injected verifier accepts, and bounds exp by them', async () => {
    const { fed, ta, ia, leaf } = await chain3()
    const tmi = await fed.add('https://tmi.example.com', { hints: [ta.id] })
    fed.vouch(ta, tmi)
    leaf.claims.trust_marks = [
      { trust_mark_type: 'https://marks.example/good', trust_mark: 'good.mark.jwt' },
      { trust_mark_type: 'https://marks.example/bad', trust_mark: 'bad.mark.jwt' },
    ]
    const seen: string[] = []
    const verifier: TrustMarkVerifier = {
      async verify(mark, type, ctx) {
        assert.equal(ctx.subject, leaf.id)
        assert.equal(ctx.anchor.entity_id, ta.id)
        const keys = await ctx.issuerKeys(tmi.id)
        assert.deepEqual(keys, jwksOf(tmi))
        seen.push(type)
        if (mark.startsWith('bad')) throw new Error('revoked')
        return { trust_mark_type: type, trust_mark: mark, iss: tmi.id, iat: fed.clock.now(), exp: fed.clock.now() + 60 }
      },
    }
    const r = await fed.resolver([ta], { verifier }).resolve(leaf.id, [ta.id])
    assert.deepEqual(seen.sort(), ['https://marks.example/bad', 'https://marks.example/good'])
    assert.deepEqual(r.trust_marks, [{ trust_mark_type: 'https://marks.example/good', trust_mark: 'good.mark.jwt' }])
    assert.equal(r.exp, fed.clock.now() + 60)
    void ia
  })

  it('bounds cacheUntil by the status answers the trust mark verdicts rest on (inclusion and refusal alike), not exp', async () => {
    const { fed, ta, leaf } = await chain3()
    const now = fed.clock.now()
    leaf.claims.trust_marks = [
      { trust_mark_type: 'https://marks.example/checked', trust_mark: 'checked.mark.jwt' },
      { trust_mark_type: 'https://marks.example/unchecked', trust_mark: 'unchecked.mark.jwt' },
      { trust_mark_type: 'https://marks.example/down', trust_mark: 'down.mark.jwt' },
    ]
    let downUntil = now + 30
    const verifier: TrustMarkVerifier = {
      async verify(mark, type) {
        if (mark.startsWith('down')) throw Object.assign(new Error('status endpoint unavailable'), { cacheUntil: downUntil })
        return { trust_mark_type: type, trust_mark: mark, iss: ta.id, iat: now, exp: now + 600, ...(mark.startsWith('checked') ? { cacheUntil: now + 60 } : {}) }
      },
    }
    const resolver = fed.resolver([ta], { verifier })
    const r = await resolver.resolve(leaf.id, [ta.id])
    assert.deepEqual(r.trust_marks.map((m) => m.trust_mark_type), ['https://marks.example/checked', 'https://marks.example/unchecked'])
    assert.equal(r.exp, now + 600)
    assert.equal(r.cacheUntil, now + 30)
    downUntil = now + 90
    assert.equal((await resolver.resolve(leaf.id, [ta.id])).cacheUntil, now + 60)
    leaf.claims.trust_marks = [{ trust_mark_type: 'https://marks.example/unchecked', trust_mark: 'unchecked.mark.jwt' }]
    resolver.clearCaches()
    assert.equal((await resolver.resolve(leaf.id, [ta.id])).cacheUntil, undefined)
  })

  it('returns no trust marks without a verifier', async () => {
    const { fed, ta, leaf } = await chain3()
    leaf.claims.trust_marks = [{ trust_mark_type: 'https://marks.example/good', trust_mark: 'a.b.c' }]
    assert.deepEqual((await fed.resolver([ta]).resolve(leaf.id, [ta.id])).trust_marks, [])
  })
})
