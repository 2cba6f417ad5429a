/** The scheduled key refresh: its timer, one pass at a time, stop waiting for a pass, what it logs. */
import { strict as assert } from 'node:assert'
import { scheduleKeyRefresh, KEY_REFRESH_ACTOR, type Every } from '../../../src/subordinates/key_refresh_schedule.js'
import type { KeyRefresh, RefreshOutcome } from '../../../src/subordinates/key_refresh.js'
import type { Logger } from '../../../src/logger.js'

function setup(outcomes: RefreshOutcome[]) {
  const calls: string[] = []
  let release = () => {}
  const keys = {
    refreshAll: async (actor: string) => {
      calls.push(actor)
      await new Promise<void>((r) => { release = r })
      return outcomes
    },
  } as unknown as KeyRefresh
  const logged: unknown[] = []
  const logger = { info: (_m: string, d: unknown) => logged.push(d), warn: () => undefined } as unknown as Logger
  const timer: { ms?: number; tick?: () => void; stopped: boolean } = { stopped: false }
  const every: Every = (ms, tick) => {
    Object.assign(timer, { ms, tick })
    return () => { timer.stopped = true }
  }
  return { keys, logger, every, timer, calls, logged, release: () => release() }
}

describe('subordinates/key_refresh_schedule', () => {
  it('starts no timer when key_refresh_seconds is 0', async () => {
    const s = setup([])
    await scheduleKeyRefresh(s.keys, { seconds: 0, logger: s.logger, every: s.every })()
    assert.equal(s.timer.tick, undefined)
  })

  it('runs one pass per tick as the scheduled actor, never two at once, and stop waits for the pass', async () => {
    const s = setup([{ entity_id: 'https://a.example', outcome: 'unchanged' }, { entity_id: 'https://b.example', outcome: 'pending', kids: ['k'], signed_with: 'k' }])
    const stop = scheduleKeyRefresh(s.keys, { seconds: 3_600, logger: s.logger, every: s.every })
    assert.equal(s.timer.ms, 3_600_000)
    s.timer.tick!()
    s.timer.tick!()
    assert.deepEqual(s.calls, [KEY_REFRESH_ACTOR])
    let stopped = false
    const stopping = stop().then(() => { stopped = true })
    await new Promise<void>((r) => setImmediate(r))
    assert.equal(stopped, false)
    assert.equal(s.timer.stopped, true)
    s.release()
    await stopping
    assert.deepEqual(s.logged, [{ outcomes: [{ entity_id: 'https://b.example', outcome: 'pending', kids: ['k'], signed_with: 'k' }] }])
  })
})
