/**
 * Topology:  TA (Anchorage, own port; also issues trust marks)
 *              ├── PLAIN   (leaf, own port, no trust marks in its configuration)
 *              └── MARKED  (leaf, own port, carries a trust mark of OTHER in its configuration)
 *            TA2 (Anchorage, own port; trust_mark_issuers/owners from its configuration file)
 * The trust anchor's trust_mark_issuers / trust_mark_owners, delegations as an owner,
 * the /list trust mark filters, and the CLI.
 */
import { strict as assert } from 'node:assert'
import { jwtVerify, createLocalJWKSet } from 'jose'
import { startEntity, startLeaf, testKey, decode, type TestEntity, type TestLeaf } from '../support/entity.js'
import { trustMarkCommand, trustMarkTypeCommand } from '../../src/cli/trust_marks.js'
import { UsageError } from '../../src/cli/args.js'

const TYPE = 'https://federation.example.org/tm/certified'
const OTHER = 'https://federation.example.org/tm/other'
const enc = encodeURIComponent

describe('trust marks at the trust anchor', () => {
  let ta: TestEntity
  let ta2: TestEntity
  let plain: TestLeaf
  let marked: TestLeaf
  const ec = async (e: TestEntity) => decode(await (await e.get('/.well-known/openid-federation')).text()).payload
  const owners = async () => ({ [TYPE]: { sub: 'https://owner.example.org', jwks: { keys: [(await testKey()).publicJwk] } } })

  before(async () => {
    ta = await startEntity()
    ta2 = await startEntity({ clock: ta.clock, config: { trust_mark_issuers: { [TYPE]: ['https://tmi.example.org'] } } })
    plain = await startLeaf({ clock: ta.clock, authority_hints: [ta.entityId] })
    marked = await startLeaf({ clock: ta.clock, authority_hints: [ta.entityId] })
    marked.claims.trust_marks = [{ trust_mark_type: OTHER, trust_mark: 'a.b.c' }]
  })
  after(async () => {
    await Promise.all([ta?.stop(), ta2?.stop(), plain?.stop(), marked?.stop()])
  })

  describe('trust_mark_issuers and trust_mark_owners', () => {
    it('publishes trust_mark_issuers set through the admin API at once', async () => {
      assert.equal((await ec(ta)).trust_mark_issuers, undefined)
      const body = { [TYPE]: ['https://tmi.example.org'], [OTHER]: [] }
      const r = await ta.admin('PUT', '/admin/trust-mark-issuers', body)
      assert.deepEqual([r.status, r.body], [200, body])
      assert.deepEqual((await ec(ta)).trust_mark_issuers, body)
      assert.deepEqual((await ta.admin('GET', '/admin/trust-mark-issuers')).body, body)
    })

    it('publishes trust_mark_owners set through the admin API at once', async () => {
      const body = await owners()
      assert.equal((await ta.admin('PUT', '/admin/trust-mark-owners', body)).status, 200)
      assert.deepEqual((await ec(ta)).trust_mark_owners, body)
    })

    const bad: Array<[string, string, unknown, string]> = [
      ['issuers that are not an array', '/admin/trust-mark-issuers', { [TYPE]: 'https://tmi.example.org' }, `["${TYPE}"]: must be array`],
      ['an issuer that is not an entity id', '/admin/trust-mark-issuers', { [TYPE]: ['tmi'] }, `["${TYPE}"][0]: must match format "entity-id"`],
      ['a type with white space', '/admin/trust-mark-issuers', { 'a b': [] }, '["a b"]: is not a valid trust mark type (must match pattern "^\\S+$")'],
      ['an owner without jwks', '/admin/trust-mark-owners', { [TYPE]: { sub: 'https://owner.example.org' } }, `["${TYPE}"].jwks: is required`],
      ['an owner with a private key', '/admin/trust-mark-owners', { [TYPE]: { sub: 'https://owner.example.org', jwks: { keys: [{ kty: 'EC', kid: 'k', d: 'x' }] } } }, `["${TYPE}"].jwks.keys[0]: must NOT be valid`],
      ['an array', '/admin/trust-mark-owners', [], '(top level): must be object'],
    ]
    for (const [what, path, body, description] of bad) {
      it(`refuses ${what} with 400 naming the field`, async () => {
        const r = await ta.admin('PUT', path, body)
        assert.deepEqual([r.status, r.body], [400, { error: 'invalid_request', error_description: description }])
      })
    }

    it('takes the configuration file\'s values until the admin API sets its own, and again after DELETE', async () => {
      assert.deepEqual((await ec(ta2)).trust_mark_issuers, { [TYPE]: ['https://tmi.example.org'] })
      await ta2.admin('PUT', '/admin/trust-mark-issuers', { [TYPE]: [] })
      assert.deepEqual((await ec(ta2)).trust_mark_issuers, { [TYPE]: [] })
      assert.equal((await ta2.admin('DELETE', '/admin/trust-mark-issuers')).status, 204)
      assert.deepEqual((await ec(ta2)).trust_mark_issuers, { [TYPE]: ['https://tmi.example.org'] })
      const again = await ta2.admin('DELETE', '/admin/trust-mark-issuers')
      assert.deepEqual([again.status, again.body.error], [404, 'not_found'])
    })

    it('audits every change', async () => {
      const { body } = await ta.admin('GET', '/admin/audit?action=trust_mark_issuers.set')
      assert.equal(body.events.length, 1)
      assert.deepEqual(body.events[0].detail, { types: [TYPE, OTHER] })
    })
  })

  describe('delegations (trust mark owner)', () => {
    it('signs a trust-mark-delegation+jwt naming the issuer, valid for a year by default', async () => {
      const r = await ta.admin('POST', '/admin/trust-mark-delegations', { trust_mark_type: TYPE, issuer: 'https://tmi.example.org', ref: 'https://federation.example.org/rules' })
      assert.equal(r.status, 201)
      const now = ta.clock.now()
      const { payload, protectedHeader } = await jwtVerify(r.body.delegation, createLocalJWKSet((await ec(ta)).jwks), { typ: 'trust-mark-delegation+jwt', currentDate: new Date(now * 1000) })
      assert.ok(protectedHeader.kid)
      assert.deepEqual(payload, { iss: ta.entityId, sub: 'https://tmi.example.org', trust_mark_type: TYPE, iat: now, exp: now + 31_536_000, ref: 'https://federation.example.org/rules' })
      assert.deepEqual({ ...r.body, delegation: undefined }, { delegation: undefined, trust_mark_type: TYPE, issuer: 'https://tmi.example.org', iat: now, exp: now + 31_536_000 })
    })

    it('signs a delegation without exp for lifetime 0', async () => {
      const r = await ta.admin('POST', '/admin/trust-mark-delegations', { trust_mark_type: TYPE, issuer: 'https://tmi.example.org', lifetime: 0 })
      assert.equal(decode(r.body.delegation).payload.exp, undefined)
    })

    it('refuses a body without issuer, naming the field', async () => {
      const r = await ta.admin('POST', '/admin/trust-mark-delegations', { trust_mark_type: TYPE })
      assert.deepEqual([r.status, r.body.error_description], [400, 'issuer: is required'])
    })
  })

  describe('/list trust_marked and trust_mark_type filters', () => {
    const list = async (q: string) => {
      const res = await fetch(`${ta.entityId}/list?${q}`)
      return res.json() as Promise<any>
    }
    before(async () => {
      for (const leaf of [plain, marked]) assert.equal((await ta.admin('POST', '/admin/subordinates', { entity_id: leaf.entityId })).status, 201)
      assert.equal((await ta.admin('POST', '/admin/trust-mark-types', { trust_mark_type: TYPE })).status, 201)
    })

    it('counts the marks seen in a member\'s configuration at onboarding', async () => {
      assert.deepEqual(await list('trust_marked=true'), [marked.entityId])
      assert.deepEqual(await list('trust_marked=false'), [plain.entityId])
      assert.deepEqual(await list(`trust_mark_type=${enc(OTHER)}`), [marked.entityId])
    })

    it('counts a mark this deployment issues at once, and forgets it at once when revoked', async () => {
      assert.deepEqual(await list(`trust_mark_type=${enc(TYPE)}`), [])
      await ta.admin('POST', '/admin/trust-marks', { trust_mark_type: TYPE, sub: plain.entityId })
      assert.deepEqual(await list(`trust_mark_type=${enc(TYPE)}`), [plain.entityId])
      assert.deepEqual((await list('trust_marked=true')).sort(), [plain.entityId, marked.entityId].sort())
      assert.deepEqual(await list('trust_marked=false'), [])
      await ta.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: TYPE, sub: plain.entityId })
      assert.deepEqual(await list(`trust_mark_type=${enc(TYPE)}`), [])
      assert.deepEqual(await list('trust_marked=false'), [plain.entityId])
    })

    it('combines with the other filters', async () => {
      assert.deepEqual(await list(`trust_marked=true&intermediate=true`), [])
      assert.deepEqual(await list(`trust_marked=true&entity_type=federation_entity`), [marked.entityId])
    })
  })

  describe('CLI', () => {
    const run = async (fn: typeof trustMarkCommand, argv: string[]) => {
      const out: string[] = []
      const err: string[] = []
      const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), readFile: async () => '', env: {} }
      const code = await fn([...argv, '--url', ta.entityId, '--token', ta.token], io)
      return { code, out: out.join('\n'), err: err.join('\n') }
    }
    const T = 'https://federation.example.org/tm/cli'
    const SUB = 'https://cli-subject.example.org'

    it('trust-mark-type add and list', async () => {
      const add = await run(trustMarkTypeCommand, ['add', T, '--lifetime', '0', '--ref', 'https://federation.example.org/cli'])
      assert.equal(add.code, 0, add.err)
      assert.equal(JSON.parse(add.out).lifetime, 0)
      const list = await run(trustMarkTypeCommand, ['list'])
      assert.match(list.out, new RegExp(`^${T}  lifetime=none$`, 'm'))
    })

    it('trust-mark issue prints the JWT; revoke and list show the status', async () => {
      const issued = await run(trustMarkCommand, ['issue', T, SUB])
      assert.equal(issued.code, 0, issued.err)
      assert.equal(decode(issued.out).payload.sub, SUB)
      assert.equal((await run(trustMarkCommand, ['revoke', T, SUB])).out, `revoked ${T} for ${SUB}`)
      assert.equal((await run(trustMarkCommand, ['list', '--type', T])).out, `revoked  ${T} ${SUB}`)
    })

    it('reports server errors with exit code 1 and usage errors as UsageError', async () => {
      const r = await run(trustMarkCommand, ['issue', 'https://unknown.example/tm', SUB])
      assert.equal(r.code, 1)
      assert.equal(r.err, 'error: HTTP 400 invalid_request: trust_mark_type: https://unknown.example/tm is not a trust mark type this entity issues')
      await assert.rejects(run(trustMarkCommand, ['issue', T]), (e: unknown) => e instanceof UsageError && /TYPE and SUB are required/.test(e.message))
      await assert.rejects(run(trustMarkTypeCommand, ['add', T, '--lifetime', '-5']), UsageError)
      assert.equal((await run(trustMarkCommand, ['--help'])).code, 0)
    })
  })
})
