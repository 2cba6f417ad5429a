/**
 * Spec "Validating a Trust Mark" and "Validating a Trust Mark Delegation", with real keys
 * and a frozen clock. Parties: TA (anchor policy), TMI (issuer), OWNER (type owner), RP (subject).
 */
import { strict as assert } from 'node:assert'
import { SignJWT } from 'jose'
import { ManualClock } from '../../../src/clock.js'
import { createTrustMarkVerifier, anchorTrustMarkPolicy, TrustMarkError, type TrustMarkFailure } from '../../../src/trust_marks/verify.js'
import type { AnchorTrustMarkPolicy, TrustMarkVerifyContext } from '../../../src/trust_chain/trust_mark_verifier.js'
import type { Fetcher, FetchResponse } from '../../../src/net/fetch.js'
import { BudgetExceeded } from '../../../src/trust_chain/budget.js'
import type { LocalTrustMarks } from '../../../src/trust_marks/local_status.js'
import { testKey, type TestKey } from '../../support/entity.js'

const TA = 'https://ta.example.org'
const TMI = 'https://tmi.example.org'
const OWNER = 'https://owner.example.org'
const RP = 'https://rp.example.org'
const TYPE = 'https://ta.example.org/tm/certified'
const NOW = 1_800_000_000

let tmiKey: TestKey
let ownerKey: TestKey
let otherKey: TestKey

async function sign(claims: Record<string, unknown>, key: TestKey, header: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey)
}
const mark = (claims: Record<string, unknown> = {}, key = tmiKey, header: Record<string, unknown> = { typ: 'trust-mark+jwt' }) =>
  sign({ iss: TMI, sub: RP, trust_mark_type: TYPE, iat: NOW - 10, exp: NOW + 3600, ...claims }, key, header)
const delegation = (claims: Record<string, unknown> = {}, key = ownerKey, header: Record<string, unknown> = { typ: 'trust-mark-delegation+jwt' }) =>
  sign({ iss: OWNER, sub: TMI, trust_mark_type: TYPE, iat: NOW - 100, exp: NOW + 86400, ...claims }, key, header)
const unsigned = (header: Record<string, unknown>, claims: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`

describe('trust mark verification', () => {
  const clock = new ManualClock(NOW)
  const verifier = createTrustMarkVerifier({ clock, skew: 60 })
  let anchor: AnchorTrustMarkPolicy
  let asked: string[]

  before(async () => {
    ;[tmiKey, ownerKey, otherKey] = await Promise.all([testKey(), testKey(), testKey()])
  })
  beforeEach(() => {
    clock.set(NOW)
    asked = []
    anchor = { entity_id: TA, jwks: { keys: [] }, trust_mark_issuers: { [TYPE]: [TMI] } }
  })

  const ctx = (over: Partial<TrustMarkVerifyContext> = {}): TrustMarkVerifyContext => ({
    subject: RP, anchor,
    issuerKeys: async (iss) => {
      asked.push(iss)
      if (iss !== TMI) throw new Error(`${iss} has no trust chain to ${TA}`)
      return { keys: [tmiKey.publicJwk] }
    },
    ...over,
  })

  async function rejects(token: string | Promise<string>, reason: TrustMarkFailure, message?: RegExp, c = ctx(), type = TYPE): Promise<TrustMarkError> {
    const err = await verifier.verify(await token, type, c).then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof TrustMarkError, `expected a TrustMarkError, got ${String(err)}`)
    assert.equal(err.reason, reason, err.message)
    if (message) assert.match(err.message, message)
    return err
  }

  it('accepts a mark signed by an allowed issuer for the subject, and says what it verified', async () => {
    const token = await mark({ logo_uri: 'https://ta.example.org/logo.svg' })
    const v = await verifier.verify(token, TYPE, ctx())
    assert.deepEqual(v, { trust_mark_type: TYPE, trust_mark: token, iss: TMI, iat: NOW - 10, exp: NOW + 3600 })
    assert.deepEqual(asked, [TMI])
  })

  it('accepts a mark without exp (it does not expire)', async () => {
    const v = await verifier.verify(await mark({ exp: undefined }), TYPE, ctx())
    assert.equal(v.exp, undefined)
  })

  it('builds the anchor policy from an entity configuration', () => {
    const p = anchorTrustMarkPolicy({ iss: TA, jwks: { keys: [] }, trust_mark_issuers: { [TYPE]: [] } })
    assert.deepEqual(p, { entity_id: TA, jwks: { keys: [] }, trust_mark_issuers: { [TYPE]: [] } })
  })

  describe('the mark itself', () => {
    it('rejects a mark about another entity', () => rejects(mark({ sub: 'https://other.example.org' }), 'sub', /sub "https:\/\/other.example.org" is not the subject https:\/\/rp.example.org/))
    it('rejects a mark whose trust_mark_type differs from the entry', () => rejects(mark(), 'trust_mark_type', /the entry names trust_mark_type "https:\/\/x.example"/, ctx(), 'https://x.example'))
    it('rejects an expired mark', async () => {
      clock.set(NOW + 3600 + 61)
      await rejects(mark(), 'expired', /expired at/)
    })
    it('tolerates the configured skew around exp', async () => {
      clock.set(NOW + 3600 + 59)
      await verifier.verify(await mark(), TYPE, ctx())
    })
    it('rejects a mark issued in the future', () => rejects(mark({ iat: NOW + 120 }), 'iat', /iat is in the future/))
    it('rejects a mark without iat', () => rejects(mark({ iat: undefined }), 'iat', /iat is missing/))
    it('rejects a mark without trust_mark_type', () => rejects(mark({ trust_mark_type: undefined }), 'malformed', /trust_mark_type claim is missing/))
    it('rejects something that is not a JWS', () => rejects('not.a-jwt', 'malformed', /not a compact JWS/))
    it('rejects a forged signature (right kid, wrong key)', () => rejects(mark({}, { ...otherKey, kid: tmiKey.kid }), 'signature', /signature/))
    it('rejects a mark signed by a key the issuer does not have', () => rejects(mark({}, otherKey), 'kid', /no key with kid/))
    it('rejects a mark without typ', () => rejects(mark({}, tmiKey, {}), 'typ', /typ must be "trust-mark\+jwt", got null/))
    it('rejects a mark with another typ', () => rejects(mark({}, tmiKey, { typ: 'entity-statement+jwt' }), 'typ', /got "entity-statement\+jwt"/))
    it('rejects alg none', () => rejects(unsigned({ alg: 'none', typ: 'trust-mark+jwt', kid: tmiKey.kid }, { iss: TMI, sub: RP, trust_mark_type: TYPE, iat: NOW }), 'alg', /alg "none" is not allowed/))
    it('rejects an HMAC mark', async () => {
      const token = await new SignJWT({ iss: TMI, sub: RP, trust_mark_type: TYPE, iat: NOW })
        .setProtectedHeader({ alg: 'HS256', typ: 'trust-mark+jwt', kid: 'k' }).sign(new Uint8Array(32))
      await rejects(token, 'alg', /alg "HS256" is not allowed/)
    })
    it('does not ask for the issuer keys when a cheap check fails', async () => {
      await rejects(mark({ sub: 'https://other.example.org' }), 'sub')
      assert.deepEqual(asked, [])
    })
  })

  describe('the anchor\'s trust_mark_issuers ("Trust Mark Policies")', () => {
    it('rejects an issuer the anchor does not list for the type', async () => {
      anchor.trust_mark_issuers = { [TYPE]: ['https://someone-else.example.org'] }
      await rejects(mark(), 'issuer_not_allowed', /does not list https:\/\/tmi.example.org in trust_mark_issuers/)
    })
    it('rejects a type absent from a present trust_mark_issuers', async () => {
      anchor.trust_mark_issuers = { 'https://other/type': [] }
      await rejects(mark(), 'type_not_recognized', /does not recognize this trust mark type/)
    })
    it('lets anyone issue a type listed with an empty array', async () => {
      anchor.trust_mark_issuers = { [TYPE]: [] }
      await verifier.verify(await mark(), TYPE, ctx())
    })
    it('puts no restriction when the anchor publishes no trust_mark_issuers', async () => {
      delete anchor.trust_mark_issuers
      await verifier.verify(await mark(), TYPE, ctx())
    })
    it('rejects a mark whose issuer has no trust chain to the anchor', async () => {
      anchor.trust_mark_issuers = { [TYPE]: [] }
      await rejects(mark({ iss: 'https://rogue.example.org' }), 'issuer_untrusted', /no trust in the issuer: https:\/\/rogue.example.org has no trust chain/)
    })
  })

  describe('delegation ("Validating a Trust Mark Delegation")', () => {
    beforeEach(() => {
      anchor.trust_mark_owners = { [TYPE]: { sub: OWNER, jwks: { keys: [ownerKey.publicJwk] } } }
    })
    it('accepts a mark carrying a valid delegation from the listed owner', async () => {
      await verifier.verify(await mark({ delegation: await delegation() }), TYPE, ctx())
    })
    it('recognizes a type listed only in trust_mark_owners', async () => {
      anchor.trust_mark_issuers = {}
      await verifier.verify(await mark({ delegation: await delegation() }), TYPE, ctx())
    })
    it('rejects a mark without delegation when the anchor names an owner', () => rejects(mark(), 'delegation_missing', /names https:\/\/owner.example.org as owner of the type, but the mark has no delegation/))
    it('rejects a delegation from an owner the anchor does not list', async () => {
      const d = await delegation({ iss: 'https://fake-owner.example.org' }, otherKey)
      await rejects(mark({ delegation: d }), 'delegation_iss', /issued by https:\/\/fake-owner.example.org, but the trust anchor names https:\/\/owner.example.org as owner/)
    })
    it('rejects a delegation in the owner\'s name signed with another key', async () => {
      await rejects(mark({ delegation: await delegation({}, otherKey) }), 'delegation_kid')
      await rejects(mark({ delegation: await delegation({}, { ...otherKey, kid: ownerKey.kid }) }), 'delegation_signature')
    })
    it('rejects an expired delegation', async () => {
      await rejects(mark({ delegation: await delegation({ exp: NOW - 61 }) }), 'delegation_expired', /delegation for .* expired at/)
    })
    it('rejects a delegation for a different type', async () => {
      await rejects(mark({ delegation: await delegation({ trust_mark_type: 'https://other/type' }) }), 'delegation_type', /delegates trust_mark_type "https:\/\/other\/type"/)
    })
    it('rejects a delegation to another issuer', async () => {
      await rejects(mark({ delegation: await delegation({ sub: 'https://other-tmi.example.org' }) }), 'delegation_sub', /delegates to https:\/\/other-tmi.example.org/)
    })
    it('rejects a delegation without the delegation typ', async () => {
      await rejects(mark({ delegation: await delegation({}, ownerKey, { typ: 'trust-mark+jwt' }) }), 'delegation_typ', /typ must be "trust-mark-delegation\+jwt"/)
    })
    it('rejects a delegation when the anchor lists no owner for the type', async () => {
      delete anchor.trust_mark_owners
      await rejects(mark({ delegation: await delegation() }), 'delegation_iss', /lists no owner for this type/)
    })
    it('rejects a delegation that is not a JWS', () => rejects(mark({ delegation: 'nope' }), 'delegation_malformed'))
  })

  describe('status endpoint check (optional, injected fetcher)', () => {
    const STATUS_URL = 'https://tmi.example.org/status'
    let status: string | number
    let posts: number
    let gets: number
    let fetcher: Fetcher
    let ecEndpoint: string | undefined

    beforeEach(() => {
      status = 'active'
      posts = 0
      gets = 0
      ecEndpoint = STATUS_URL
      const reply = (s: number, body: string, contentType: string, url: string): FetchResponse => ({ status: s, body, contentType, url })
      fetcher = {
        async get(url) {
          gets++
          const ec = await sign({ iss: TMI, sub: TMI, iat: NOW, exp: NOW + 3600, jwks: { keys: [tmiKey.publicJwk] },
            metadata: { federation_entity: ecEndpoint ? { federation_trust_mark_status_endpoint: ecEndpoint } : {} } }, tmiKey, { typ: 'entity-statement+jwt' })
          return reply(200, ec, 'application/entity-statement+jwt', url)
        },
        async post(url, body) {
          posts++
          if (typeof status === 'number') return reply(status, '{}', 'application/json', url)
          const token = new URLSearchParams(body).get('trust_mark')
          const jwt = await sign({ iss: TMI, iat: NOW, trust_mark: token, status }, tmiKey, { typ: 'trust-mark-status-response+jwt' })
          return reply(200, jwt, 'application/trust-mark-status-response+jwt', url)
        },
      }
    })
    const withStatus = (o: object = {}) => createTrustMarkVerifier({ clock, skew: 60, status: { fetcher, ...o } })

    it('accepts a mark without exp that the issuer says is active, and asks once per minute', async () => {
      const v = withStatus()
      const token = await mark({ exp: undefined })
      await v.verify(token, TYPE, ctx())
      await v.verify(token, TYPE, ctx())
      assert.equal(posts, 1)
      clock.advance(61)
      await v.verify(token, TYPE, ctx())
      assert.equal(posts, 2)
    })
    it('rejects a mark the issuer says is revoked', async () => {
      status = 'revoked'
      const err = await withStatus().verify(await mark({ exp: undefined }), TYPE, ctx()).catch((e: TrustMarkError) => e)
      assert.equal((err as TrustMarkError).reason, 'status')
      assert.match((err as TrustMarkError).message, /status endpoint says "revoked"/)
      assert.equal((err as TrustMarkError).cacheUntil, NOW + 60)
    })
    it('rejects a mark the issuer does not know (HTTP 404)', async () => {
      status = 404
      const err = await withStatus().verify(await mark({ exp: undefined }), TYPE, ctx()).catch((e: TrustMarkError) => e)
      assert.match((err as TrustMarkError).message, /says "unknown to the issuer"/)
    })
    it('fails closed when the status endpoint errs (for the cache time only), unless told to accept', async () => {
      status = 503
      const err = await withStatus().verify(await mark({ exp: undefined }), TYPE, ctx()).catch((e: TrustMarkError) => e)
      assert.match((err as TrustMarkError).message, /could not be checked: the status endpoint answered HTTP 503/)
      assert.equal((err as TrustMarkError).cacheUntil, NOW + 60)
      await withStatus({ onUnavailable: 'accept' }).verify(await mark({ exp: undefined }), TYPE, ctx())
    })
    it('asks about marks with exp too by default (when: always), so a revocation counts before exp', async () => {
      status = 'revoked'
      await assert.rejects(withStatus().verify(await mark(), TYPE, ctx()), /says "revoked"/)
      assert.equal(posts, 1)
    })
    it("asks only about marks without exp with when: 'no_exp', and about none with when: 'never'", async () => {
      status = 'revoked'
      await withStatus({ when: 'no_exp' }).verify(await mark(), TYPE, ctx())
      assert.equal(posts, 0)
      await assert.rejects(withStatus({ when: 'no_exp' }).verify(await mark({ exp: undefined }), TYPE, ctx()), /says "revoked"/)
      assert.equal(posts, 1)
      await withStatus({ when: 'never' }).verify(await mark({ exp: undefined }), TYPE, ctx())
      assert.equal(posts, 1)
    })
    it("says until when its verdict holds: the status answer's cache time (none when it asked nothing)", async () => {
      const v = withStatus({ cacheSeconds: 30 })
      const token = await mark()
      assert.equal((await v.verify(token, TYPE, ctx())).cacheUntil, NOW + 30)
      clock.advance(10)
      assert.equal((await v.verify(token, TYPE, ctx())).cacheUntil, NOW + 30, 'a cached answer keeps its own time')
      assert.equal(posts, 1)
      assert.equal((await withStatus({ when: 'never' }).verify(token, TYPE, ctx())).cacheUntil, undefined)
    })
    it('sends its requests through the fetcher of the verification context (the resolver\'s outbound path)', async () => {
      const through: string[] = []
      const own: Fetcher = {
        get: (url, accept) => (through.push(`GET ${url}`), fetcher.get(url, accept)),
        post: (url, body, type, accept) => (through.push(`POST ${url}`), fetcher.post(url, body, type, accept)),
      }
      await withStatus({ fetcher: { get: () => assert.fail('default fetcher used'), post: () => assert.fail('default fetcher used') } })
        .verify(await mark(), TYPE, ctx({ fetcher: own }))
      assert.deepEqual(through, [`GET ${TMI}/.well-known/openid-federation`, `POST ${STATUS_URL}`])
    })
    it('lets an error of the fetcher that is not about the issuer (e.g. a resolution budget running out) through, uncached', async () => {
      const v = withStatus()
      const token = await mark()
      const stop = new BudgetExceeded('fetches', { fetches: 0, verifications: 1, ms: 1 }, { fetches: 0, verifications: 0, ms: 0 })
      const failing: Fetcher = { get: () => Promise.reject(stop), post: () => Promise.reject(stop) }
      assert.equal(await v.verify(token, TYPE, ctx({ fetcher: failing })).catch((e: unknown) => e), stop)
      await v.verify(token, TYPE, ctx())
      assert.equal(posts, 1)
    })
    it("reads an issuer's entity configuration once for several of its marks verified side by side", async () => {
      const v = withStatus()
      const marks = await Promise.all([1, 2, 3].map((n) => mark({ iat: NOW - n })))
      await Promise.all(marks.map((m) => v.verify(m, TYPE, ctx())))
      assert.deepEqual([gets, posts], [1, 3])
    })
    it('accepts on the other checks when the issuer publishes no status endpoint', async () => {
      ecEndpoint = undefined
      await withStatus().verify(await mark({ exp: undefined }), TYPE, ctx())
      assert.equal(posts, 0)
    })
  })

  describe('marks this deployment issued (its own records, no request)', () => {
    let recorded: Record<string, 'active' | 'expired' | 'revoked' | 'unknown'>
    const local: LocalTrustMarks = {
      entityId: TMI,
      status: async (token) => recorded[token] ?? 'unknown',
    }
    const refusing: Fetcher = { get: () => assert.fail('asked over the network'), post: () => assert.fail('asked over the network') }
    const ours = (when: 'always' | 'no_exp' | 'never') => createTrustMarkVerifier({ clock, skew: 60, local, status: { fetcher: refusing, when } })
    beforeEach(() => {
      recorded = {}
    })

    it('accepts an active mark it issued without asking its status endpoint, and without a cache limit', async () => {
      const token = await mark()
      recorded[token] = 'active'
      const v = await ours('always').verify(token, TYPE, ctx())
      assert.equal(v.cacheUntil, undefined)
    })
    for (const when of ['always', 'no_exp', 'never'] as const) {
      it(`refuses a mark it revoked whatever status_check says (${when})`, async () => {
        const token = await mark()
        recorded[token] = 'revoked'
        const err = await ours(when).verify(token, TYPE, ctx()).catch((e: unknown) => e)
        assert.ok(err instanceof TrustMarkError)
        assert.equal(err.reason, 'status')
        assert.match(err.message, /: revoked \(this issuer's own records\)/)
      })
    }
    it('refuses a mark in its name that it has no record of issuing', async () => {
      const err = await ours('never').verify(await mark(), TYPE, ctx()).catch((e: unknown) => e)
      assert.ok(err instanceof TrustMarkError)
      assert.match(err.message, /this issuer has no record of issuing this mark/)
    })
    it('judges marks of other issuers by their status endpoint, not by its own records', async () => {
      const other: LocalTrustMarks = { entityId: 'https://elsewhere.example.org', status: async () => assert.fail('own records asked') }
      const v = createTrustMarkVerifier({ clock, skew: 60, local: other })
      await v.verify(await mark(), TYPE, ctx())
    })
  })
})
