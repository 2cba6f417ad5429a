/**
 * The one change feed of a deployment: a revision counter and typed events that caches
 * subscribe to (signed statements, listings, resolve answers, registration failures).
 * Store writes (this instance's or another's on the same store) enter once, as `stored`;
 * in-memory indexes that catch up with stored state, and time passing, are their own
 * events, so a subscriber reacts to what concerns it and nothing else.
 */
import type { Store } from './storage/types.js'

export type Change =
  /** A record was written or removed (`id` absent: the whole collection may have changed). */
  | { type: 'stored'; collection: string; id?: string }
  /** The issued-marks index behind the listing's trust mark filters caught up with the store. */
  | { type: 'issued_marks_indexed'; id?: string }
  /** Marks published in the entity configuration reached their exp (re-sign without them). */
  | { type: 'own_marks_expired' }

/**
 * Collections nothing signed or cached depends on, written often: their writes are not
 * events, so a console login or a session's activity does not drop the resolve answers.
 */
const UNPUBLISHED: ReadonlySet<string> = new Set(['console_sessions'])

export type ChangeListener = (change: Change, revision: number) => void

export class ChangeFeed {
  /** Bumped once per event: the key that invalidates everything derived from stored state. */
  revision = 0
  private readonly listeners: ChangeListener[] = []
  private unfollow: (() => void) | undefined

  /** Publishes every write of `store` as a `stored` event, until stop(). */
  follow(store: Store): void {
    this.unfollow?.()
    this.unfollow = store.onChange((c) => {
      if (UNPUBLISHED.has(c.collection)) return
      this.publish({ type: 'stored', collection: c.collection, ...(c.id !== undefined ? { id: c.id } : {}) })
    })
  }

  publish(change: Change): void {
    const revision = ++this.revision
    for (const l of this.listeners) l(change, revision)
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.push(listener)
    return () => {
      const i = this.listeners.indexOf(listener)
      if (i !== -1) this.listeners.splice(i, 1)
    }
  }

  /** Stops following the store (shutdown). */
  stop(): void {
    this.unfollow?.()
    this.unfollow = undefined
  }
}
