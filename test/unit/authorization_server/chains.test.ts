/**
 * The trust chain pieces registration adds to trust_chain/: a chain presented by its
 * subject (spec "Trust Chain", "Trust Chain Header Parameter"), the registration request
 * entity configuration (spec "Processing Explicit Client Registration Request by OP",
 * step 2), and resolution starting from it (step 3), on hand-signed statements.
 *
 *   TA  <-  IA  <-  LEAF       (https://*.example.com; LEAF publishes nothing in the resolver test)
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../../src/clock.js'
import { silentLogger } from '../../../src/logger.js'
import { DEFAULTS } from '../../../src/config/defaults.js'
import { FederationError } from '../../../src/errors.js'
import { verifyPresentedChain } from '../../../src/trust_chain/presented_chain.js'
import { parseRequestConfiguration } from '../../../src/trust_chain/from_configuration.js'
import { Resolver } from '../../../src/trust_chain/resolver.js'
import type { Statement } from '../../../src/trust_chain/types.js'
import { ResolveError } from '../../../src/trust_chain/errors.js'
import { testKey, signStatement, type TestKey } from '../../support/entity.js'
import { chain3, jwksOf } from '../trust_chain/memfed.js'

const T = 1_800_000_000
const TA = 'https://ta.example.com'
const IA = 'https://ia.example.com'
const LEAF = 'https://leaf.example.com'
const OP = 'https://as.example.com'

async function rejects(p: Promise<unknown>, error: string, description: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof FederationError, String(err))
    assert.equal(err.error, error, err.message)
    if (typeof description === 'string') assert.ok(err.message.includes(description), err.message)
    else assert.match(err.message, description)
    return true
  })
}

describe('trust_chain/presented_chain: verifyPresentedChain', () => {
  const clock = new ManualClock(T)
  let ta: TestKey, ia: TestKey, leaf: TestKey
  let leafEc: string, iaSs: string, taSs: string, taEc: string
  const jwks = (k: TestKey) => ({ keys: [k.publicJwk] })
  const base = { iat: T - 10, exp: T + 3600 }
  const anchors = () => [{ entity_id: TA, jwks: jwks(ta) }]
  const verify = (chain: unknown, extra: Record<string, unknown> = {}) => verifyPresentedChain(chain, { anchors: anchors(), clock, skew: 60, ...extra })

  before(async () => {
    ;[ta, ia, leaf] = await Promise.all([testKey(), testKey(), testKey()])
    leafEc = await signStatement({ ...base, iss: LEAF, sub: LEAF, jwks: jwks(leaf), authority_hints: [IA] }, leaf)
    iaSs = await signStatement({ ...base, iss: IA, sub: LEAF, jwks: jwks(leaf), exp: T + 1800 }, ia)
    taSs = await signStatement({ ...base, iss: TA, sub: IA, jwks: jwks(ia) }, ta)
    taEc = await signStatement({ ...base, iss: TA, sub: TA, jwks: jwks(ta) }, ta)
  })

  it('verifies a complete chain: anchor, immediate superior, earliest exp', async () => {
    const c = await verify([leafEc, iaSs, taSs, taEc], { expectedSubject: LEAF })
    assert.equal(c.subject, LEAF)
    assert.equal(c.anchor, TA)
    assert.equal(c.superior, IA)
    assert.equal(c.exp, T + 1800)
    assert.equal(c.statements.length, 4)
  })

  it('verifies a chain without the anchor\'s entity configuration', async () => {
    assert.equal((await verify([leafEc, iaSs, taSs])).anchor, TA)
  })

  it('refuses a chain that ends at an anchor not configured: invalid_trust_anchor', async () => {
    const other = await testKey()
    await rejects(verifyPresentedChain([leafEc, iaSs, taSs, taEc], { anchors: [{ entity_id: 'https://other.example.com', jwks: jwks(other) }], clock, skew: 60 }), 'invalid_trust_anchor', `ends at ${TA}`)
  })

  it('refuses statements that do not link (ES[j].iss != ES[j+1].sub): invalid_trust_chain', async () => {
    await rejects(verify([leafEc, taSs, taEc]), 'invalid_trust_chain', `subordinate statement ${TA} -> ${LEAF}: "sub"`)
  })

  it('refuses a statement not signed by a key of the next one: invalid_trust_chain', async () => {
    const forged = await signStatement({ ...base, iss: IA, sub: LEAF, jwks: jwks(leaf) }, leaf)
    await rejects(verify([leafEc, forged, taSs, taEc]), 'invalid_trust_chain', /subordinate statement .* -> .*: "kid"/)
  })

  it('verifies the anchor\'s statements with its pinned keys only', async () => {
    const rogue = await testKey()
    const rogueEc = await signStatement({ ...base, iss: TA, sub: TA, jwks: jwks(rogue) }, rogue)
    const rogueSs = await signStatement({ ...base, iss: TA, sub: IA, jwks: jwks(ia) }, rogue)
    await rejects(verify([leafEc, iaSs, rogueSs, rogueEc]), 'invalid_trust_chain', `the pinned keys of trust anchor ${TA}`)
  })

  it('refuses a subject configuration whose key its superior does not vouch for', async () => {
    const other = await testKey()
    const ec = await signStatement({ ...base, iss: LEAF, sub: LEAF, jwks: jwks(other), authority_hints: [IA] }, other)
    await rejects(verify([ec, iaSs, taSs]), 'invalid_trust_chain', `entity configuration of ${LEAF}: "kid"`)
  })

  it('refuses expired statements, the wrong subject, and malformed chains', async () => {
    clock.set(T + 1900)
    await rejects(verify([leafEc, iaSs, taSs]), 'invalid_trust_chain', `subordinate statement ${IA} -> ${LEAF}: "exp"`)
    clock.set(T)
    await rejects(verify([leafEc, iaSs, taSs], { expectedSubject: 'https://someone.example.com' }), 'invalid_trust_chain', 'expected https://someone.example.com')
    await rejects(verify('nope'), 'invalid_trust_chain', 'must be a JSON array')
    await rejects(verify([leafEc]), 'invalid_trust_chain', 'must be a JSON array of 2 to 12')
    await rejects(verify(Array.from({ length: 13 }, () => leafEc)), 'invalid_trust_chain', 'must be a JSON array of 2 to 12')
    await rejects(verify([leafEc, leafEc]), 'invalid_trust_chain', '"order"')
  })

  it('applies the constraints of the statements in the chain', async () => {
    const constrained = await signStatement({ ...base, iss: TA, sub: IA, jwks: jwks(ia), constraints: { max_path_length: 0 } }, ta)
    await rejects(verify([leafEc, iaSs, constrained]), 'invalid_trust_chain', '"max_path_length"')
  })
})

describe('trust_chain/from_configuration', () => {
  const clock = new ManualClock(T)
  let key: TestKey
  const request = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, k = key) =>
    signStatement({ iss: LEAF, sub: LEAF, iat: T, exp: T + 600, aud: OP, jwks: { keys: [key.publicJwk] }, authority_hints: [IA], metadata: { oauth_client: { client_name: 'agent' } }, ...claims }, k, header)
  const parse = async (jwt: string) => parseRequestConfiguration(jwt, { audience: OP, clock, skew: 60 })

  before(async () => {
    key = await testKey()
  })

  it('parses a registration request and passes its trust_chain header on', async () => {
    const r = await parse(await request({}, { trust_chain: ['x'] }))
    assert.equal(r.statement.claims.sub, LEAF)
    assert.equal(r.statement.kind, 'entity_configuration')
    assert.deepEqual(r.trust_chain, ['x'])
    assert.equal((await parse(await request({ aud: [OP] }))).statement.claims.iss, LEAF)
  })

  const refusals: Array<[string, Record<string, unknown>, string]> = [
    ['without aud', { aud: undefined }, 'aud must be https://as.example.com and nothing else'],
    ['with another aud', { aud: 'https://x.example.com' }, 'aud must be'],
    ['with an extra audience', { aud: [OP, 'https://x.example.com'] }, 'aud must be'],
    ['whose sub is not its iss', { sub: IA }, 'iss and sub must be the same entity identifier'],
    ['without authority_hints', { authority_hints: undefined }, 'authority_hints must be a non-empty array'],
    ['without metadata', { metadata: undefined }, 'metadata is required'],
    ['with a metadata_policy', { metadata_policy: {} }, 'the claim metadata_policy is not allowed'],
    ['that has expired', { iat: T - 1000, exp: T - 100 }, 'expired'],
    ['with an unknown critical claim', { crit: ['x'], x: 1 }, 'critical claim "x" is not understood'],
  ]
  for (const [what, claims, description] of refusals) {
    it(`refuses a request ${what}: invalid_request`, async () => {
      await rejects(parse(await request(claims)), 'invalid_request', description)
    })
  }

  it('refuses a request not signed by a key of its jwks, or of another typ: invalid_request', async () => {
    await rejects(parse(await request({}, {}, await testKey())), 'invalid_request', 'no key with kid')
    await rejects(parse(await request({}, { typ: 'JWT' })), 'invalid_request', 'typ must be "entity-statement+jwt"')
    await rejects(parse('x.y'), 'invalid_request', 'not a compact JWS')
  })

  it('resolves from the request when the subject publishes no entity configuration', async () => {
    const { fed, ta, ia, leaf } = await chain3()
    fed.clock.set(T)
    fed.entities.delete(leaf.id)
    fed.vouch(ta, ia, { metadata_policy: { oauth_client: { scope: { subset_of: ['a', 'b'] } } } })
    const jwt = await signStatement({
      iss: leaf.id, sub: leaf.id, iat: T, exp: T + 600, aud: OP, jwks: jwksOf(leaf), authority_hints: [ia.id],
      metadata: { oauth_client: { scope: 'a c' } },
    }, leaf.key)
    const subject = (await parseRequestConfiguration(jwt, { audience: OP, clock: fed.clock, skew: 60 })).statement
    const base = new Resolver({ fetcher: fed.fetcher, clock: fed.clock, logger: silentLogger, skew: 60, limits: { ...DEFAULTS.resolver, cache_ttl_max: 0 }, anchors: () => [{ entity_id: ta.id, jwks: jwksOf(ta) }] })
    // Resolution from a given (request) entity configuration, as the registrar runs it.
    const resolver = { resolve: (s: Statement, anchors: string[], types?: string[]) => base.resolve(s.claims.sub, anchors, types, { trustMarks: false, subjectStatement: s }) }
    const chain = await resolver.resolve(subject, [ta.id], ['oauth_client'])
    assert.equal(chain.anchor, ta.id)
    assert.equal(chain.trust_chain[0], jwt)
    assert.equal(chain.links[1]!.iss, ia.id)
    // Resolved metadata is built without prototypes (outside member names); compare its JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(chain.metadata)), { oauth_client: { scope: 'a' } })
    assert.equal(chain.exp, T + 600)
    assert.ok(!fed.calls.some((u) => u.startsWith(leaf.id)), 'the subject was never fetched')

    // Without a statement cache (as the registrar runs it), the superior's change shows at once.
    fed.vouch(ia, leaf, { jwks: { keys: [(await testKey()).publicJwk] } })
    await assert.rejects(resolver.resolve(subject, [ta.id], ['oauth_client']), (err: unknown) => err instanceof ResolveError && err.error === 'invalid_trust_chain' && /"subject_key"|"kid"/.test(err.message))
    await rejects(resolver.resolve(subject, ['https://unknown.example.com']), 'invalid_trust_anchor', 'not a trust anchor')
  })
})
