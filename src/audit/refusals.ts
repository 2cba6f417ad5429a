/**
 * Refused admin authentications, aggregated. Recording each one (fsynced, with the path
 * as sent) let anonymous requests fill the disk and the log; instead, per source address
 * at most one event per window, carrying the count of refusals it stands for:
 *
 *   - the first refusal of a window is recorded at once, with the refusals counted since
 *     the previous event of that address (count = 1 + those);
 *   - later ones in the window are only counted; a timer (and shutdown) records what is
 *     still counted once its window has closed;
 *   - addresses are tracked in an LRU of `sources`; the counts of an address pushed out,
 *     and of every refusal beyond `eventsPerWindow` events in a window overall, go to the
 *     address "*", itself recorded at most once per window.
 *
 * So the audit log grows by at most eventsPerWindow + 1 events per window, whatever the
 * number of requests or addresses, and each event is bounded (path cut to maxPathLength).
 */
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import { boundedLru } from '../util/lru.js'
import type { AuditLog } from './audit.js'

export interface RefusalOptions {
  windowSeconds: number
  /** Addresses tracked at once. */
  sources: number
  /** Events recorded per window overall (beyond: counted under "*"). */
  eventsPerWindow: number
  maxPathLength: number
}

const DEFAULTS: RefusalOptions = { windowSeconds: 60, sources: 10_000, eventsPerWindow: 100, maxPathLength: 256 }

export interface Refusal {
  /** The client address (the forwarded one behind a trusted proxy). */
  address: string
  method: string
  path: string
  reason: string
  /**
   * The authenticated operator whose role is below the route's (403): the event is then
   * `admin.authorize` with this operator as actor, instead of `admin.authenticate` by anonymous.
   */
  operator?: string
}

interface Window {
  start: number
  /** Refusals counted since the last event of this address. */
  counted: number
  since?: number
  last?: Omit<Refusal, 'address'>
}

export const OTHER_SOURCES = '*'

export class RefusedAuthentications {
  private readonly o: RefusalOptions
  private readonly windows
  private readonly other: Window = { start: -Infinity, counted: 0 }
  private budget = { start: -Infinity, events: 0 }
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: Partial<RefusalOptions> = {},
  ) {
    this.o = { ...DEFAULTS, ...options }
    this.windows = boundedLru<string, Window>(this.o.sources)
  }

  /** Counts a refusal; records an event when it opens a new window for its address. */
  async refuse(r: Refusal): Promise<void> {
    const now = this.clock.now()
    const sample = { method: r.method.slice(0, 16), path: cut(r.path, this.o.maxPathLength), reason: r.reason, ...(r.operator !== undefined ? { operator: r.operator } : {}) }
    const key = address(r.address)
    const w = this.windows.get(key)
    if (w && now < w.start + this.o.windowSeconds) return this.count(w, now, sample)
    if (!this.spend(now)) {
      if (w) this.merge(w) // its own count moves to "*" with this one
      this.windows.delete(key)
      return this.count(this.other, now, sample)
    }
    if (!w && this.windows.size >= this.o.sources) {
      const evicted = this.windows.rvalues().next().value
      if (evicted) this.merge(evicted)
    }
    this.windows.set(key, { start: now, counted: 0 })
    await this.write(key, 1 + (w?.counted ?? 0), sample, w?.since)
  }

  /** Records what is still counted: of closed windows only, or of all (shutdown). */
  async flush(all = false): Promise<void> {
    const now = this.clock.now()
    const due = (w: Window) => w.counted > 0 && (all || now >= w.start + this.o.windowSeconds)
    for (const [addr, w] of [...this.windows.entries()]) {
      if (!due(w)) continue
      if (!this.spend(now)) {
        this.merge(w)
        this.windows.delete(addr)
        continue
      }
      const { counted, since, last } = w
      this.windows.set(addr, { start: now, counted: 0 })
      await this.write(addr, counted, last!, since)
    }
    if (due(this.other)) {
      const { counted, since, last } = this.other
      Object.assign(this.other, { start: now, counted: 0, since: undefined })
      await this.write(OTHER_SOURCES, counted, last!, since)
    }
    if (![...this.windows.values()].some((w) => w.counted > 0) && this.other.counted === 0) this.stopTimer()
  }

  async stop(): Promise<void> {
    this.stopTimer()
    await this.flush(true)
  }

  private count(w: Window, now: number, sample: Window['last']): void {
    if (w.counted === 0) w.since = now
    w.counted++
    w.last = sample
    if (w === this.other && w.start === -Infinity) w.start = now
    this.startTimer()
  }

  /** The count of an address leaving the LRU (or over the budget) continues under "*". */
  private merge(w: Window): void {
    if (w.counted === 0) return
    if (this.other.counted === 0) {
      this.other.since = w.since
      if (this.other.start === -Infinity) this.other.start = this.clock.now()
    }
    this.other.counted += w.counted
    this.other.last = w.last
    this.startTimer()
  }

  /** True while this window's budget of events overall is not spent. */
  private spend(now: number): boolean {
    if (now >= this.budget.start + this.o.windowSeconds) this.budget = { start: now, events: 0 }
    if (this.budget.events >= this.o.eventsPerWindow) return false
    this.budget.events++
    return true
  }

  private async write(ip: string, count: number, sample: NonNullable<Window['last']>, since: number | undefined): Promise<void> {
    const { operator, ...rest } = sample
    const detail = { ip, count, ...rest, ...(count > 1 && since !== undefined ? { since: iso(since) } : {}) }
    this.logger.info(operator !== undefined ? 'admin authorization refused' : 'admin authentication refused', { ...detail, ...(operator !== undefined ? { operator } : {}) })
    try {
      await this.audit.record(operator ?? 'anonymous', operator !== undefined ? 'admin.authorize' : 'admin.authenticate', 'failure', undefined, detail)
    } catch {
      // logged by AuditLog.record; a refused request is answered 401 whatever happens here
    }
  }

  private startTimer(): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.logger.warn('recording refused authentications failed', { error: String(err) }))
    }, this.o.windowSeconds * 1000)
    this.timer.unref()
  }

  private stopTimer(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }
}

const iso = (t: number) => new Date(t * 1000).toISOString()
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s)
/** Addresses come from the socket or a trusted proxy's header: bounded all the same. */
const address = (a: string) => cut(a || 'unknown', 64)
