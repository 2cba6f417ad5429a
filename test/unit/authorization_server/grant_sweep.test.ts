/**
 * The grant sweep's bounds (src/authorization_server/grant_sweep.ts), on a real embedded
 * store: a pass visits at most `batch` registrations, resumes after the last one, wraps at the
 * end; only clients holding something are re-evaluated (active) or cleared (ended); a visit that
 * fails is reported and the pass goes on; the schedule runs one pass at a time and none at 0.
 * The registrar and the removal are the sweep's collaborators, recorded here (the real ones,
 * over a real federation, are in test/integration/killswitch_grants.test.ts).
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '../../../src/clock.js'
import { silentLogger } from '../../../src/logger.js'
import { AuditLog } from '../../../src/audit/audit.js'
import { createEmbeddedStore } from '../../../src/storage/embedded.js'
import type { Store } from '../../../src/storage/types.js'
import type { Registration } from '../../../src/registration/records.js'
import { RegistrationStore } from '../../../src/registration/records.js'
import { GrantSweep, scheduleGrantSweep } from '../../../src/authorization_server/grant_sweep.js'

describe('grant sweep: bounded passes over the registrations', () => {
  let dir: string
  let store: Store
  const clock = new ManualClock(1_700_000_000)
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anchorage-sweep-'))
    store = createEmbeddedStore({ dir, clock, fsync: false })
    await store.open()
  })
  afterEach(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  const registration = (id: string, status: Registration['status']): Registration => ({
    id, client_id: id, entity_id: id, status, rid: `rid-${id}`, registered_at: 0, evaluated_at: 0,
  } as unknown as Registration)

  async function setUp(o: { failOn?: string } = {}) {
    // a, c, e hold something (c an access token record only); b and d hold nothing; c and d ended.
    const regs = [registration('a', 'active'), registration('b', 'active'), registration('c', 'invalidated'), registration('d', 'revoked'), registration('e', 'active')]
    for (const r of regs) await store.put('registrations', r)
    await store.put('oauth', { id: 'RefreshToken:1', model: 'RefreshToken', clientId: 'a', payload: '{}' })
    await store.put('tokens', { id: 'jti-c', client_id: 'c' })
    await store.put('oauth', { id: 'Grant:1', model: 'Grant', clientId: 'e', payload: '{}' })
    const asked: string[] = []
    const cut: string[] = []
    const sweep = new GrantSweep({
      store, audit: new AuditLog(store, clock, silentLogger), logger: silentLogger, batch: 2,
      registrar: {
        records: new RegistrationStore(store, clock),
        active: async (id: string) => {
          asked.push(id)
          if (id === o.failOn) throw new Error('resolution failed')
          return id === 'a' ? undefined : regs.find((r) => r.id === id) // a: its chain no longer resolves
        },
      },
      cutOff: async (id: string) => {
        cut.push(id)
        const removed = await store.remove('tokens', `jti-${id}`)
        return { access_tokens: removed ? 1 : 0, refresh_tokens: 0, grants: 0, authorization_codes: 0, other: 0 }
      },
    })
    return { sweep, asked, cut }
  }

  it('visits batch registrations per pass, resumes, wraps; re-evaluates active holders only, clears ended holders once', async () => {
    const { sweep, asked, cut } = await setUp()
    const p1 = await sweep.pass()
    assert.deepEqual([p1.visited, p1.cut_off, p1.cleared, p1.wrapped], [2, ['a'], [], false])
    assert.deepEqual(asked, ['a'], 'b holds nothing: not re-evaluated')
    const p2 = await sweep.pass()
    assert.deepEqual([p2.visited, p2.cut_off, p2.cleared, p2.wrapped], [2, [], ['c'], false])
    assert.deepEqual(cut, ['c'], 'd holds nothing: no removal')
    const p3 = await sweep.pass()
    assert.deepEqual([p3.visited, p3.cut_off, p3.cleared, p3.wrapped], [1, [], [], true])
    assert.deepEqual(asked, ['a', 'e'])
    const p4 = await sweep.pass()
    assert.equal(p4.visited, 2, 'from the first again')
    const events = await store.listAudit({ action: 'client.sweep' })
    assert.deepEqual(events.map((e) => [e.subject, e.detail]), [['c', { status: 'invalidated', revoked: { access_tokens: 1, refresh_tokens: 0, grants: 0, authorization_codes: 0, other: 0 } }]])
  })

  it('a visit that fails is reported and logged, and the pass goes on', async () => {
    const { sweep, asked } = await setUp({ failOn: 'a' })
    await sweep.pass()
    await sweep.pass()
    const p = await sweep.pass()
    assert.deepEqual(asked, ['a', 'e'])
    assert.deepEqual(p.failed, [])
    const again = await sweep.pass()
    assert.deepEqual(again.failed, ['a'])
  })

  it('the schedule: one pass at a time, stop waits for it; 0 seconds schedules nothing', async () => {
    const { sweep } = await setUp()
    let tick: (() => void) | undefined
    let stopped = false
    const stop = scheduleGrantSweep(sweep, { seconds: 60, logger: silentLogger, every: (ms, t) => { assert.equal(ms, 60_000); tick = t; return () => { stopped = true } } })
    let passes = 0
    const original = sweep.pass.bind(sweep)
    sweep.pass = async () => { passes++; return original() }
    tick!()
    tick!() // while the first is running: not a second one
    await stop()
    assert.equal(passes, 1)
    assert.ok(stopped)
    let scheduled = false
    await scheduleGrantSweep(sweep, { seconds: 0, logger: silentLogger, every: () => { scheduled = true; return () => undefined } })()
    assert.equal(scheduled, false)
  })
})
