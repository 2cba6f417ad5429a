/**
 * The scheduled subordinate key refresh (subordinates.key_refresh_seconds): every member's
 * entity configuration re-read on a timer, so a member's staged key is vouched for before
 * it signs with it (key_refresh.ts says what a refresh may change).
 */
import type { Logger } from '../logger.js'
import type { KeyRefresh } from './key_refresh.js'

export const KEY_REFRESH_ACTOR = 'anchorage (scheduled key refresh)'

/** Runs `tick` every `ms`; returns the stop function (injected in tests, setInterval otherwise). */
export type Every = (ms: number, tick: () => void) => () => void

const realEvery: Every = (ms, tick) => {
  // The first run lands at a random point of the interval's second half, so deployments
  // started together do not all refresh (and load their members' servers) at the same moment,
  // and none refreshes right at start.
  let timer: NodeJS.Timeout = setTimeout(() => {
    tick()
    timer = setInterval(tick, ms)
    timer.unref()
  }, Math.floor(ms / 2 + Math.random() * (ms / 2)))
  timer.unref()
  return () => clearTimeout(timer)
}

/**
 * Refreshes every member each `seconds` (subordinates.key_refresh_seconds; 0: never), at
 * most `concurrency` at once (KeyRefresh.refreshAll), one pass at a time. Changes taken or
 * held are logged; each is audited by the refresh. Returns the stop function, which waits
 * for a pass in progress.
 */
export function scheduleKeyRefresh(keys: KeyRefresh, o: { seconds: number; logger: Logger; every?: Every }): () => Promise<void> {
  if (o.seconds <= 0) return () => Promise.resolve()
  let running: Promise<void> | undefined
  const stop = (o.every ?? realEvery)(o.seconds * 1000, () => {
    running ??= keys.refreshAll(KEY_REFRESH_ACTOR).then((outcomes) => {
      const notable = outcomes.filter((x) => x.outcome !== 'unchanged' && x.outcome !== 'rejected_before')
      if (notable.length) o.logger.info('subordinate key refresh', { outcomes: notable })
    }, (err: unknown) => o.logger.warn('subordinate key refresh failed', { err: (err as Error).message })).finally(() => {
      running = undefined
    })
  })
  return async () => {
    stop()
    await running
  }
}
