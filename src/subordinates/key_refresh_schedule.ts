/**
 * The scheduled subordinate key refresh (subordinates.key_refresh_seconds): every member's
 * entity configuration re-read on a timer, so a member's staged key is vouched for before
 * it signs with it (key_refresh.ts says what a refresh may change).
 */
import type { Logger } from '../logger.js'
import type { KeyRefresh } from './key_refresh.js'
import { realEvery, type Every } from '../util/every.js'

export type { Every }

export const KEY_REFRESH_ACTOR = 'anchorage (scheduled key refresh)'

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
