/**
 * Topology: TA alone (own port, ManualClock). Staged key rollover (spec "Key Rollover for a
 * Trust Anchor"): stage, activate after the propagation delay, emergency rotation with a
 * compromised key, and the scheduled rollover.
 */
import { strict as assert } from 'node:assert'
import { jwtVerify, createLocalJWKSet } from 'jose'
import { startEntity, decode, type TestEntity } from '../support/entity.js'
import { rolloverStep } from '../../src/crypto/rollover.js'

const DAY = 86_400
type Key = { kid: string; state: string; staged_at?: number; activatable_at?: number; superseded_at?: number; revoked?: { reason: string } }

describe('staged key rollover', () => {
  let ta: TestEntity
  beforeEach(async () => {
    ta = await startEntity()
  })
  afterEach(() => ta?.stop())

  const ec = async () => decode(await (await ta.get('/.well-known/openid-federation')).text())
  const keys = async (): Promise<Key[]> => (await ta.admin('GET', '/admin/keys')).body.keys as Key[]
  const kids = (s: { payload: Record<string, any> }) => (s.payload.jwks.keys as Array<{ kid: string }>).map((k) => k.kid).sort()

  it('stage publishes the next key in jwks and keeps signing with the current one', async () => {
    const old = (await ec()).header.kid
    const r = await ta.admin('POST', '/admin/keys/stage', {})
    assert.equal(r.status, 201)
    assert.equal(r.body.state, 'staged')
    assert.equal(r.body.staged_at, ta.clock.now())
    // The default delay: the longest of the entity configuration and subordinate statement lifetimes.
    assert.equal(r.body.activatable_at, ta.clock.now() + DAY)
    const after = await ec()
    assert.equal(after.header.kid, old)
    assert.deepEqual(kids(after), [old, r.body.kid].sort())
  })

  it('refuses a second staged key', async () => {
    const first = await ta.admin('POST', '/admin/keys/stage', {})
    const r = await ta.admin('POST', '/admin/keys/stage', { alg: 'PS256' })
    assert.equal(r.status, 400)
    assert.equal(r.body.error, 'invalid_request')
    assert.equal(r.body.error_description, `key "${first.body.kid}" is already staged: activate or retire it first`)
  })

  it('activate is refused before the propagation delay and switches signing after it', async () => {
    const old = (await ec()).header.kid
    const staged = (await ta.admin('POST', '/admin/keys/stage', {})).body
    ta.clock.advance(DAY - 1)
    const early = await ta.admin('POST', `/admin/keys/${staged.kid}/activate`, {})
    assert.equal(early.status, 400)
    assert.match(early.body.error_description, new RegExp(`^key "${staged.kid}" can be activated from .* \\(propagation delay 86400 s since staging; 1 s left\\): use force to activate it now$`))
    assert.equal((await ec()).header.kid, old)
    ta.clock.advance(1)
    const r = await ta.admin('POST', `/admin/keys/${staged.kid}/activate`, {})
    assert.equal(r.status, 200)
    assert.equal(r.body.state, 'active')
    const after = await ec()
    assert.equal(after.header.kid, staged.kid)
    assert.deepEqual(kids(after), [old, staged.kid].sort())
    const listed = await keys()
    assert.equal(listed.find((k) => k.kid === old)!.state, 'published')
    assert.equal(listed.find((k) => k.kid === old)!.superseded_at, ta.clock.now())
  })

  it('activate with force works at once and says how early in the audit', async () => {
    const staged = (await ta.admin('POST', '/admin/keys/stage', {})).body
    ta.clock.advance(100)
    const r = await ta.admin('POST', `/admin/keys/${staged.kid}/activate`, { force: true })
    assert.equal(r.status, 200)
    assert.equal((await ec()).header.kid, staged.kid)
    const events = (await ta.admin('GET', '/admin/audit?action=key.activate')).body.events
    assert.equal(events.length, 1)
    assert.equal(events[0].subject, staged.kid)
    assert.deepEqual(events[0].detail, { early_by_seconds: DAY - 100 })
  })

  it('only a staged key can be activated; an unknown kid is not_found', async () => {
    const current = (await ec()).header.kid
    const r = await ta.admin('POST', `/admin/keys/${current}/activate`, {})
    assert.equal(r.status, 400)
    assert.equal(r.body.error_description, `key "${current}" is active, not staged: only a staged key can be activated`)
    const missing = await ta.admin('POST', '/admin/keys/nope/activate', {})
    assert.equal(missing.status, 404)
    assert.equal(missing.body.error, 'not_found')
    const bad = await ta.admin('POST', `/admin/keys/${current}/activate`, { force: 'yes' })
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error_description, 'force: must be boolean')
  })

  it('audits stage, activate and supersede with the operator as actor', async () => {
    const old = (await ec()).header.kid
    const staged = (await ta.admin('POST', '/admin/keys/stage', {})).body
    ta.clock.advance(DAY)
    await ta.admin('POST', `/admin/keys/${staged.kid}/activate`, {})
    const events = (await ta.admin('GET', '/admin/audit')).body.events as Array<{ action: string; subject: string; actor: string }>
    const keyEvents = events.filter((e) => e.action.startsWith('key.') && e.action !== 'key.create').map((e) => [e.action, e.subject])
    assert.deepEqual(keyEvents, [['key.stage', staged.kid], ['key.activate', staged.kid], ['key.supersede', old]])
    assert.ok(events.filter((e) => e.action.startsWith('key.') && e.action !== 'key.create').every((e) => e.actor === 'admin'))
  })

  it('rotate --compromised signs with a new key and retires the old one as revoked at the historical keys endpoint', async () => {
    const old = (await ec()).header.kid
    const r = await ta.admin('POST', '/admin/keys/rotate', { compromised: true })
    assert.equal(r.status, 201)
    const after = await ec()
    assert.equal(after.header.kid, r.body.kid)
    assert.deepEqual(kids(after), [r.body.kid])
    const hist = await (await ta.get('/historical-keys')).text()
    const { payload } = await jwtVerify(hist, createLocalJWKSet(after.payload.jwks), { typ: 'jwk-set+jwt' })
    const revoked = (payload.keys as Array<{ kid: string; revoked?: { reason: string } }>).find((k) => k.kid === old)
    assert.equal(revoked?.revoked?.reason, 'compromised')
    const actions = ((await ta.admin('GET', '/admin/audit')).body.events as Array<{ action: string }>).map((e) => e.action).filter((a) => a.startsWith('key.') && a !== 'key.create')
    assert.deepEqual(actions, ['key.rotate', 'key.supersede', 'key.retire'])
  })
})

describe('scheduled key rollover', () => {
  let ta: TestEntity
  before(async () => {
    ta = await startEntity({ config: { keys: { propagation_delay_seconds: 3_600, rollover: { interval_days: 30 } } } })
  })
  after(() => ta?.stop())

  it('stages when due, activates after the delay and retires the superseded key after the delay again', async () => {
    const f = ta.federation
    const step = () => rolloverStep({ keystore: f.keystore, clock: ta.clock, logger: f.logger, intervalSeconds: 30 * DAY })
    const first = (await f.keystore.list())[0]!.kid
    assert.deepEqual(await step(), [])
    ta.clock.advance(30 * DAY)
    const [staged] = await step()
    assert.equal(staged?.action, 'stage')
    assert.deepEqual(await step(), [])
    ta.clock.advance(3_600)
    assert.deepEqual(await step(), [{ action: 'activate', kid: staged.kid }])
    assert.equal((await f.keystore.signingKey()).kid, staged.kid)
    ta.clock.advance(3_599)
    assert.deepEqual(await step(), [])
    ta.clock.advance(1)
    assert.deepEqual(await step(), [{ action: 'retire', kid: first }])
    const list = await f.keystore.list()
    assert.equal(list.find((k) => k.kid === first)!.revoked?.reason, 'superseded')
    const actors = ((await ta.admin('GET', '/admin/audit')).body.events as Array<{ action: string; actor: string }>).filter((e) => e.action.startsWith('key.') && e.action !== 'key.create')
    assert.deepEqual(actors.map((e) => e.action), ['key.stage', 'key.activate', 'key.supersede', 'key.retire'])
    assert.ok(actors.every((e) => e.actor === 'anchorage (scheduled rollover)'))
  })
})
