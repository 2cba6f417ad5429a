/**
 * Spec "Entity Statement Validation" on single statements (parseStatement, checkTimes,
 * verifyStatement) and the chain rules of "Validating a Trust Chain" (validatePath) on
 * hand-built paths.
 */
import assert from 'node:assert/strict'
import { ManualClock } from '../../../src/clock.js'
import { parseStatement, checkTimes, verifyStatement } from '../../../src/trust_chain/entity_statement.js'
import { validatePath } from '../../../src/trust_chain/validate.js'
import { ChainError } from '../../../src/trust_chain/errors.js'
import type { PathNode } from '../../../src/trust_chain/types.js'
import { testKey, signStatement, type TestKey } from '../../support/entity.js'

const T = 1_800_000_000
const A = 'https://a.example.com'
const B = 'https://b.example.com'
const clock = new ManualClock(T)

function rule(fn: () => unknown, expected: string, statement?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ChainError, String(err))
    assert.equal(err.rule, expected, err.message)
    if (statement) assert.equal(err.statement, statement)
    return true
  })
}

describe('trust_chain/validation', () => {
  let key: TestKey
  let jwks: { keys: unknown[] }
  before(async () => {
    key = await testKey()
    jwks = { keys: [key.publicJwk] }
  })
  const ec = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    signStatement({ iss: A, sub: A, iat: T, exp: T + 600, jwks, ...claims }, key, header)
  const ss = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    signStatement({ iss: B, sub: A, iat: T, exp: T + 600, jwks, ...claims }, key, header)

  describe('single statements', () => {
    it('accepts a well-formed entity configuration and subordinate statement', async () => {
      assert.equal(parseStatement(await ec(), 'entity_configuration', A, A).label, `entity configuration of ${A}`)
      assert.equal(parseStatement(await ss(), 'subordinate_statement', B, A).label, `subordinate statement ${B} -> ${A}`)
    })

    const cases: Array<[string, () => Promise<string>, 'entity_configuration' | 'subordinate_statement', string]> = [
      ['a missing typ', () => ec({}, { typ: undefined }), 'entity_configuration', 'typ'],
      ['typ JWT', () => ec({}, { typ: 'JWT' }), 'entity_configuration', 'typ'],
      ['no kid', () => ec({}, { kid: undefined }), 'entity_configuration', 'kid'],
      ['a trust_chain header', () => ec({}, { trust_chain: ['x'] }), 'entity_configuration', 'header'],
      ['sub of another entity', () => ss({ sub: 'https://c.example.com' }), 'subordinate_statement', 'sub'],
      ['iss of another entity', () => ss({ iss: 'https://c.example.com' }), 'subordinate_statement', 'iss'],
      ['exp missing', () => ec({ exp: undefined }), 'entity_configuration', 'exp'],
      ['iat as a string', () => ec({ iat: String(T) }), 'entity_configuration', 'iat'],
      ['no jwks', () => ec({ jwks: undefined }), 'entity_configuration', 'jwks'],
      ['a private key in jwks', () => ec({ jwks: { keys: [{ ...key.publicJwk, d: 'secret' }] } }), 'entity_configuration', 'jwks'],
      ['a critical claim not understood', () => ec({ crit: ['x_ext'], x_ext: 1 }), 'entity_configuration', 'crit'],
      ['a spec claim in crit', () => ec({ crit: ['jwks'] }), 'entity_configuration', 'crit'],
      ['an empty crit', () => ec({ crit: [] }), 'entity_configuration', 'crit'],
      ['metadata_policy in an entity configuration', () => ec({ metadata_policy: {} }), 'entity_configuration', 'claims'],
      ['constraints in an entity configuration', () => ec({ constraints: {} }), 'entity_configuration', 'claims'],
      ['authority_hints in a subordinate statement', () => ss({ authority_hints: [A] }), 'subordinate_statement', 'claims'],
      ['trust_marks in a subordinate statement', () => ss({ trust_marks: [] }), 'subordinate_statement', 'claims'],
      ['aud outside explicit registration', () => ec({ aud: B }), 'entity_configuration', 'claims'],
      ['empty authority_hints', () => ec({ authority_hints: [] }), 'entity_configuration', 'authority_hints'],
      ['an authority hint that is not an entity id', () => ec({ authority_hints: ['x?y'] }), 'entity_configuration', 'authority_hints'],
      ['null metadata values', () => ec({ metadata: { openid_provider: { issuer: null } } }), 'entity_configuration', 'metadata'],
      ['malformed trust_marks', () => ec({ trust_marks: [{ trust_mark_type: 'x' }] }), 'entity_configuration', 'trust_marks'],
      ['malformed constraints', () => ss({ constraints: { max_path_length: -1 } }), 'subordinate_statement', 'constraints'],
      ['empty metadata_policy_crit', () => ss({ metadata_policy_crit: [] }), 'subordinate_statement', 'metadata_policy_crit'],
      ['a source_endpoint that is not a URL', () => ss({ source_endpoint: 'fetch' }), 'subordinate_statement', 'source_endpoint'],
    ]
    for (const [what, make, kind, expected] of cases) {
      it(`rejects ${what} with rule "${expected}"`, async () => {
        const jwt = await make()
        rule(() => (kind === 'entity_configuration' ? parseStatement(jwt, kind, A, A) : parseStatement(jwt, kind, B, A)), expected)
      })
    }

    it('rejects alg none and HMAC before any key is looked at', () => {
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
      const body = enc({ iss: A, sub: A, iat: T, exp: T + 60, jwks })
      rule(() => parseStatement(`${enc({ alg: 'none', typ: 'entity-statement+jwt', kid: 'k' })}.${body}.`, 'entity_configuration', A, A), 'alg')
      rule(() => parseStatement(`${enc({ alg: 'HS256', typ: 'entity-statement+jwt', kid: 'k' })}.${body}.sig`, 'entity_configuration', A, A), 'alg')
      rule(() => parseStatement('not-a-jwt', 'entity_configuration', A, A), 'malformed')
    })

    it('accepts a critical claim it was told it understands', async () => {
      parseStatement(await ec({ crit: ['x_ext'], x_ext: 1 }), 'entity_configuration', A, A, { understoodCrit: new Set(['x_ext']) })
    })

    it('checks iat and exp with the skew', async () => {
      const s = parseStatement(await ec(), 'entity_configuration', A, A)
      checkTimes(s, T - 60, 60)
      rule(() => checkTimes(s, T - 61, 60), 'iat')
      checkTimes(s, T + 600 + 59, 60)
      rule(() => checkTimes(s, T + 600 + 60, 60), 'exp')
    })

    it('verifies the signature with the key named by kid, and remembers the result per key', async () => {
      const s = parseStatement(await ec(), 'entity_configuration', A, A)
      await verifyStatement(s, jwks as never, 'its own jwks', { clock, skew: 60 })
      assert.equal(s.verifiedWith.size, 1)
      const other = await testKey()
      await assert.rejects(verifyStatement(s, { keys: [{ ...other.publicJwk, kid: key.kid }] }, 'x', { clock, skew: 60 }), { rule: 'signature' })
      await assert.rejects(verifyStatement(s, { keys: [other.publicJwk] }, 'the keys of X', { clock, skew: 60 }), (err: ChainError) =>
        err.rule === 'kid' && /is not among the keys of X/.test(err.message))
    })
  })

  describe('chains', () => {
    // A (subject) <- B (anchor): [EC(A), SS(B -> A), EC(B)]
    let bKey: TestKey
    before(async () => {
      bKey = await testKey()
    })
    const node = async (o: { aHints?: string[]; ssJwks?: unknown; ssKey?: TestKey; ssExp?: number } = {}): Promise<PathNode[]> => {
      const aEc = parseStatement(await ec({ authority_hints: o.aHints ?? [B] }), 'entity_configuration', A, A)
      const bEc = parseStatement(await signStatement({ iss: B, sub: B, iat: T, exp: T + 900, jwks: { keys: [bKey.publicJwk] } }, bKey), 'entity_configuration', B, B)
      const bSs = parseStatement(await signStatement({ iss: B, sub: A, iat: T, exp: o.ssExp ?? T + 300, jwks: o.ssJwks ?? jwks }, o.ssKey ?? bKey), 'subordinate_statement', B, A)
      return [{ id: A, ec: aEc, hintIndex: 0 }, { id: B, ec: bEc, ss: bSs, hintIndex: 0 }]
    }
    const anchor = () => ({ entity_id: B, jwks: { keys: [bKey.publicJwk] } })
    const ssName = `subordinate statement ${B} -> ${A}`

    it('accepts a valid chain', async () => {
      await validatePath(await node(), anchor(), { clock, skew: 60 })
    })
    it('rejects a superior missing from the subject authority_hints', async () => {
      await assert.rejects(validatePath(await node({ aHints: ['https://c.example.com'] }), anchor(), { clock, skew: 60 }), { rule: 'authority_hints', statement: ssName })
    })
    it('rejects a statement that does not vouch for the key the subject signed with', async () => {
      const other = await testKey()
      await assert.rejects(validatePath(await node({ ssJwks: { keys: [{ ...other.publicJwk, kid: key.kid }] } }), anchor(), { clock, skew: 60 }), { rule: 'subject_key', statement: ssName })
    })
    it('rejects an anchor statement signed with a key that is not pinned', async () => {
      const rogue = await testKey()
      await assert.rejects(validatePath(await node({ ssKey: rogue }), anchor(), { clock, skew: 60 }), (err: ChainError) => err.rule === 'kid' || err.rule === 'anchor_key')
    })
    it('rejects an anchor whose pinned keys differ from the ones it signs with', async () => {
      const pinnedElsewhere = { entity_id: B, jwks: { keys: [(await testKey()).publicJwk] } }
      await assert.rejects(validatePath(await node(), pinnedElsewhere, { clock, skew: 60 }), { rule: 'anchor_key', statement: `entity configuration of ${B}` })
    })
    it('rejects an expired link', async () => {
      await assert.rejects(validatePath(await node({ ssExp: T - 61 }), anchor(), { clock, skew: 60 }), { rule: 'exp', statement: ssName })
    })
  })
})
