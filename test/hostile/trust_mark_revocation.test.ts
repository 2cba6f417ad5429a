/**
 * Trust mark revocation reaches /resolve (issue 12, item 5). A leaf keeps publishing marks
 * after they were revoked (a hostile or careless member does); resolvers must stop
 * including them:
 *
 *              TA  (Anchorage: anchor, resolver, issues LOCAL; trust_marks.status_check default "always", 60 s)
 *            /    \
 *         TMI      LEAF      (Anchorage, subordinates of TA; TMI issues the REMOTE_* types,
 *                             LEAF carries every mark in its entity configuration)
 *
 *   NEVER   (Anchorage resolver trusting TA, status_check "never")
 *   NO_EXP  (Anchorage resolver trusting TA, status_check "no_exp")
 *
 * - a mark TA issued and revoked is gone from TA's next answer at once, with no request;
 * - a mark TMI revoked is gone from TA's answers within status_cache_seconds;
 * - "never" keeps it (until the mark's exp); "no_exp" drops only marks without exp.
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { createLogger } from '../../src/logger.js'
import { startEntity, onboard, pinned, resolveAt, decode, type TestEntity } from '../support/federation.js'

const T = 'https://federation.example.org/tm'
const LOCAL = `${T}/local`
const REMOTE_ALWAYS = `${T}/remote-always`
const REMOTE_NEVER = `${T}/remote-never`
const REMOTE_EXP = `${T}/remote-exp`
const REMOTE_NO_EXP = `${T}/remote-no-exp`
const STATUS_CACHE = 60

describe('hostile: revoked trust marks leave resolve answers', () => {
  const clock = new ManualClock()
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort()
  /** POST /trust-mark-status requests each deployment answered (from its request log). */
  const statusRequests = new Map<string, number>()
  const counting = (name: string) => createLogger({
    level: 'info',
    write: (line) => {
      const l = JSON.parse(line) as { msg?: string; method?: string; path?: string }
      if (l.msg === 'request' && l.method === 'POST' && l.path === '/trust-mark-status') statusRequests.set(name, (statusRequests.get(name) ?? 0) + 1)
    },
  })
  let ta: TestEntity, tmi: TestEntity, leaf: TestEntity, never: TestEntity, noExp: TestEntity

  const marksAt = async (resolver: TestEntity): Promise<string[]> => {
    const r = await resolveAt(resolver, { sub: leaf.entityId, trust_anchor: ta.entityId })
    assert.equal(r.status, 200, r.text)
    return (r.payload!.trust_marks as Array<{ trust_mark_type: string }>).map((m) => m.trust_mark_type).sort()
  }
  const revoke = async (issuer: TestEntity, type: string) => {
    const r = await issuer.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: type, sub: leaf.entityId })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body.status, 'revoked')
  }

  before(async () => {
    ta = await startEntity({ clock, logger: counting('ta') })
    tmi = await startEntity({ clock, authority_hints: [ta.entityId], logger: counting('tmi') })
    leaf = await startEntity({ clock, authority_hints: [ta.entityId] })
    await onboard(ta, tmi.entityId)
    await onboard(ta, leaf.entityId)
    const anchors = [await pinned(ta)]
    never = await startEntity({ clock, config: { trust_anchors: anchors, trust_marks: { status_check: 'never' } } })
    noExp = await startEntity({ clock, config: { trust_anchors: anchors, trust_marks: { status_check: 'no_exp' } } })
    const give = async (issuer: TestEntity, type: string, lifetime?: number) => {
      assert.equal((await issuer.admin('POST', '/admin/trust-mark-types', { trust_mark_type: type, ...(lifetime !== undefined ? { lifetime } : {}) })).status, 201)
      const issued = await issuer.admin('POST', '/admin/trust-marks', { trust_mark_type: type, sub: leaf.entityId })
      assert.equal(issued.status, 201, JSON.stringify(issued.body))
      assert.equal((await leaf.admin('POST', '/admin/own-trust-marks', { trust_mark: issued.body.trust_mark })).status, 201)
    }
    await give(ta, LOCAL)
    for (const type of [REMOTE_ALWAYS, REMOTE_NEVER, REMOTE_EXP]) await give(tmi, type)
    await give(tmi, REMOTE_NO_EXP, 0)
  })
  after(async () => {
    await Promise.all([ta, tmi, leaf, never, noExp].map((e) => e?.stop()))
  })
  afterEach(() => {
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore, 'Object.prototype gained a property')
  })

  it('includes every mark while none is revoked (each resolver)', async () => {
    const all = [LOCAL, REMOTE_ALWAYS, REMOTE_EXP, REMOTE_NEVER, REMOTE_NO_EXP].sort()
    for (const resolver of [ta, never, noExp]) assert.deepEqual(await marksAt(resolver), all)
    const ec = decode(await (await leaf.get('/.well-known/openid-federation')).text()).payload
    assert.equal(ec.trust_marks.length, 5)
  })

  it('drops a mark this deployment issued from its very next answer once it revokes it, without a status request', async () => {
    assert.ok((await marksAt(ta)).includes(LOCAL))
    const asked = statusRequests.get('ta') ?? 0
    await revoke(ta, LOCAL)
    assert.ok(!(await marksAt(ta)).includes(LOCAL), 'the revoked mark is still in the answer')
    assert.equal(statusRequests.get('ta') ?? 0, asked, 'TA asked a status endpoint about its own mark')
    // The leaf still publishes it: the answer changed because of TA's own records.
    const ec = decode(await (await leaf.get('/.well-known/openid-federation')).text()).payload
    assert.ok(ec.trust_marks.some((m: { trust_mark_type: string }) => m.trust_mark_type === LOCAL))
  })

  it(`drops a mark another issuer revoked at its status endpoint within status_cache_seconds (${STATUS_CACHE} s)`, async () => {
    assert.ok((await marksAt(ta)).includes(REMOTE_ALWAYS))
    await revoke(tmi, REMOTE_ALWAYS)
    clock.advance(STATUS_CACHE)
    assert.ok(!(await marksAt(ta)).includes(REMOTE_ALWAYS), `still included ${STATUS_CACHE} s after the revocation`)
  })

  it('status_check "never": keeps a mark its issuer revoked (until the mark expires), and asks no status endpoint', async () => {
    assert.ok((await marksAt(never)).includes(REMOTE_NEVER))
    await revoke(tmi, REMOTE_NEVER)
    const asked = statusRequests.get('tmi') ?? 0
    clock.advance(STATUS_CACHE * 10)
    assert.ok((await marksAt(never)).includes(REMOTE_NEVER))
    assert.equal(statusRequests.get('tmi') ?? 0, asked)
    assert.ok(!(await marksAt(ta)).includes(REMOTE_NEVER), 'TA ("always") drops it')
  })

  it('status_check "no_exp": drops a revoked mark without exp within the cache time, keeps a revoked mark with exp', async () => {
    const before = await marksAt(noExp)
    assert.ok(before.includes(REMOTE_EXP) && before.includes(REMOTE_NO_EXP))
    await revoke(tmi, REMOTE_EXP)
    await revoke(tmi, REMOTE_NO_EXP)
    clock.advance(STATUS_CACHE)
    const after = await marksAt(noExp)
    assert.ok(after.includes(REMOTE_EXP), 'a mark with exp was checked')
    assert.ok(!after.includes(REMOTE_NO_EXP), 'a revoked mark without exp is still included')
    const atTa = await marksAt(ta)
    assert.ok(!atTa.includes(REMOTE_EXP) && !atTa.includes(REMOTE_NO_EXP), 'TA ("always") drops both')
  })
})
