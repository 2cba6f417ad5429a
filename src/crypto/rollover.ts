/**
 * Scheduled key rollover (keys.rollover.interval_days; off by default), the steps of spec
 * "Key Rollover for a Trust Anchor" run by the clock instead of an operator:
 * 1. when the signing key has signed for the interval, stage the next key (published, not signing);
 * 2. when the propagation delay has passed since staging, activate it;
 * 3. when a superseded key can no longer be relied on by anything this deployment signed
 *    with it (the propagation delay again, since it stopped signing), retire it (superseded).
 * Each step is one audited key change (keystore.ts); a step that another instance sharing
 * the store took first is refused there and simply not repeated.
 */
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'

/** What rollover reads of a key (keystore.ts KeyInfo). */
export interface RolloverKey {
  kid: string
  state: string
  created_at: number
  activated_at?: number
  superseded_at?: number
  activatable_at?: number
}

/** The keystore operations rollover uses (keystore.ts Keystore). */
export interface RolloverKeys {
  readonly propagationDelay: number
  list(): Promise<RolloverKey[]>
  stage(alg: undefined, o: { actor: string }): Promise<{ kid: string }>
  activate(kid: string, o: { actor: string }): Promise<unknown>
  retire(kid: string, reason: 'superseded', o: { actor: string }): Promise<unknown>
}

export const ROLLOVER_ACTOR = 'anchorage (scheduled rollover)'

export interface RolloverOptions {
  keystore: RolloverKeys
  clock: Clock
  logger: Logger
  /** Seconds a key signs before the next one is staged. */
  intervalSeconds: number
}

export type RolloverAction = { action: 'stage' | 'activate' | 'retire'; kid: string }

/** Takes the steps that are due now; returns what it did. */
export async function rolloverStep(o: RolloverOptions): Promise<RolloverAction[]> {
  const now = o.clock.now()
  const keys = await o.keystore.list()
  const done: RolloverAction[] = []
  const actor = { actor: ROLLOVER_ACTOR }
  for (const k of keys) {
    if (k.state === 'published' && k.superseded_at !== undefined && k.superseded_at + o.keystore.propagationDelay <= now) {
      await o.keystore.retire(k.kid, 'superseded', actor)
      done.push({ action: 'retire', kid: k.kid })
    }
  }
  const staged = keys.find((k) => k.state === 'staged')
  if (staged && staged.activatable_at !== undefined && staged.activatable_at <= now) {
    await o.keystore.activate(staged.kid, actor)
    done.push({ action: 'activate', kid: staged.kid })
  } else if (!staged && due(keys, now, o.intervalSeconds)) {
    const key = await o.keystore.stage(undefined, actor)
    done.push({ action: 'stage', kid: key.kid })
  }
  if (done.length) o.logger.info('scheduled key rollover', { steps: done })
  return done
}

/** The signing key has signed for the interval. */
function due(keys: RolloverKey[], now: number, interval: number): boolean {
  const signing = keys.filter((k) => k.state === 'active').sort((a, b) => (b.activated_at ?? 0) - (a.activated_at ?? 0))[0]
  return signing !== undefined && (signing.activated_at ?? signing.created_at) + interval <= now
}

/**
 * Runs rolloverStep every `checkSeconds` (timer unref'd: it never keeps the process alive).
 * Returns the stop function. A failed step is logged and tried again at the next tick.
 */
export function scheduleRollover(o: RolloverOptions & { checkSeconds: number }): () => Promise<void> {
  let running: Promise<unknown> | undefined
  const timer = setInterval(() => {
    running ??= rolloverStep(o)
      .catch((err: unknown) => o.logger.warn('scheduled key rollover failed', { err: (err as Error).message }))
      .finally(() => {
        running = undefined
      })
  }, o.checkSeconds * 1000)
  timer.unref()
  return async () => {
    clearInterval(timer)
    await running
  }
}
