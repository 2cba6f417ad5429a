/**
 * The grant sweep (authorization_server.grant_sweep_seconds, grant_sweep_batch): the
 * kill-switch for clients that make no request. The kill-switch runs when a request meets a
 * registration (registrar.ts), so a client cut off at the anchor that never comes back kept
 * its refresh tokens, grants and codes in the store until they expired. The sweep visits the
 * registrations a batch at a time, in id order, one pass per interval, resuming after the last
 * one visited (from the start once at the end), and for each one whose client still holds
 * something in the store (`oauth` records by clientId, `tokens` records by client_id: two
 * indexed counts, no outbound request):
 *
 * - active: re-evaluated when due, as a request would (registrar.active): a chain that no
 *   longer resolves invalidates it and removes what the client holds (the `client.reevaluate`
 *   failure event says why and what went). Not due: nothing happens.
 * - ended (invalidated, revoked) and still holding something (a cut-off that failed, or raced
 *   with a token request of the old registration): the removal runs again, and a
 *   `client.sweep` event says what went.
 *
 * Bounds: at most `batch` registrations per pass, one at a time, so at most `batch` chain
 * resolutions (each within the resolver's own budget) per `grant_sweep_seconds`.
 */
import type { AuditLog } from '../audit/audit.js'
import type { Logger } from '../logger.js'
import type { Registrar } from '../registration/registrar.js'
import type { Store } from '../storage/types.js'
import { OAUTH_COLLECTION } from './adapter.js'
import { realEvery, type Every } from '../util/every.js'

export const SWEEP_ACTOR = 'authorization_server'

export interface GrantSweepDeps {
  store: Store
  audit: AuditLog
  logger: Logger
  registrar: Pick<Registrar, 'active' | 'records'>
  /** The kill-switch's removal (service.ts cutOff): how many of each kind went. */
  cutOff(clientId: string): Promise<Record<string, number>>
  /** Registrations visited per pass. */
  batch: number
}

/** What one pass did. */
export interface SweepPass {
  visited: number
  /** Clients holding something whose registration was re-evaluated when due and ended now. */
  cut_off: string[]
  /** Clients of ended registrations whose leftovers were removed. */
  cleared: string[]
  /** Clients whose visit failed (logged; visited again next round). */
  failed: string[]
  /** The pass reached the last registration: the next one starts from the first. */
  wrapped: boolean
}

export class GrantSweep {
  private after: string | undefined

  constructor(private readonly d: GrantSweepDeps) {}

  /** One bounded batch, from where the previous pass stopped. */
  async pass(): Promise<SweepPass> {
    const page = await this.d.registrar.records.page({ limit: this.d.batch, ...(this.after !== undefined ? { after: this.after } : {}) })
    const wrapped = page.length < this.d.batch
    this.after = wrapped ? undefined : page.at(-1)!.id
    const out: SweepPass = { visited: page.length, cut_off: [], cleared: [], failed: [], wrapped }
    for (const reg of page) {
      try {
        if (!(await this.holds(reg.id))) continue
        if (reg.status === 'active') {
          if ((await this.d.registrar.active(reg.id)) === undefined) out.cut_off.push(reg.id)
          continue
        }
        const revoked = await this.d.cutOff(reg.id)
        if (Object.values(revoked).some((n) => n > 0)) {
          await this.d.audit.record(SWEEP_ACTOR, 'client.sweep', 'success', reg.id, { status: reg.status, revoked })
          out.cleared.push(reg.id)
        }
      } catch (err) {
        // A resolution that could not be completed (5xx) or a store failure: next round.
        this.d.logger.warn('grant sweep: a client could not be visited', { client_id: reg.id, err: (err as Error).message })
        out.failed.push(reg.id)
      }
    }
    return out
  }

  private async holds(clientId: string): Promise<boolean> {
    return (await this.d.store.count(OAUTH_COLLECTION, { clientId })) > 0 || (await this.d.store.count('tokens', { client_id: clientId })) > 0
  }
}

/**
 * Runs a pass every `seconds` (0: never), one at a time; what it ended is logged. Returns the
 * stop function, which waits for a pass in progress.
 */
export function scheduleGrantSweep(sweep: GrantSweep, o: { seconds: number; logger: Logger; every?: Every }): () => Promise<void> {
  if (o.seconds <= 0) return () => Promise.resolve()
  let running: Promise<void> | undefined
  const stop = (o.every ?? realEvery)(o.seconds * 1000, () => {
    running ??= sweep.pass().then((p) => {
      if (p.cut_off.length || p.cleared.length) o.logger.info('grant sweep', { visited: p.visited, cut_off: p.cut_off, cleared: p.cleared })
    }, (err: unknown) => o.logger.warn('grant sweep failed', { err: (err as Error).message })).finally(() => {
      running = undefined
    })
  })
  return async () => {
    stop()
    await running
  }
}
