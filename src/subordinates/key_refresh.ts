/**
 * Subordinate key refresh at the superior (README "Key rollover"): the superior re-reads a
 * member's entity configuration (spec "Obtaining Federation Entity Configuration
 * Information") and follows a change of its `jwks` only as far as it already trusts it.
 *
 * - The new configuration is signed by a key the superior vouches for (one of the stored
 *   `jwks`: the member staged its next key and signed with the current one, spec "Federation
 *   Key Rollover"): the stored `jwks` is replaced and the subordinate statement re-signed,
 *   the change and its audit event in one store write.
 * - It is signed only by a key the superior does not vouch for (a stolen domain, or an
 *   emergency rotation): nothing changes; the new keys are held on the record as
 *   `pending_keys` until an operator approves or rejects them (both audited). A rejected set
 *   is remembered, so the next refresh does not propose it again.
 *
 * The new keys pass the same checks as onboarding (validation.ts). Fetching uses the
 * hardened fetcher under the work budget; nothing is written when anything fails.
 */
import { createHash } from 'node:crypto'
import type { Store } from '../storage/types.js'
import type { Clock } from '../clock.js'
import type { AuditLog } from '../audit/audit.js'
import type { Fetcher } from '../net/fetch.js'
import { Conflict, InvalidRequest, NotFound } from '../errors.js'
import { BudgetExceeded, type Budget } from '../trust_chain/budget.js'
import { ChainError } from '../trust_chain/errors.js'
import { verifyStatement } from '../trust_chain/entity_statement.js'
import { directSource, fetchEntityConfiguration } from '../trust_chain/statements.js'
import type { Statement } from '../trust_chain/types.js'
import type { Jwks } from '../types.js'
import type { MemberChecks } from './validation.js'
import type { SubordinateRecord, SubordinateRegistry } from './registry.js'

/** A key change held for the operator (on the member's record). */
export interface PendingKeys {
  jwks: Jwks
  kids: string[]
  /** The kid the member's new entity configuration was signed with (not vouched for). */
  signed_with: string
  /** Epoch seconds. */
  seen_at: number
}

export type RefreshOutcome =
  | { entity_id: string; outcome: 'unchanged' | 'rejected_before' }
  | { entity_id: string; outcome: 'updated' | 'pending'; kids: string[]; signed_with: string }
  | { entity_id: string; outcome: 'failed'; error: string }

export interface KeyRefreshDeps {
  entityId: string
  store: Store
  clock: Clock
  audit: AuditLog
  fetcher: Fetcher
  skew: number
  checks: MemberChecks
  /** The members, read through their owner (the registry). */
  members: Pick<SubordinateRegistry, 'get' | 'all' | 'page'>
  budget?: (() => Budget) | undefined
  /** Members refreshed at once by refreshAll (subordinates.key_refresh_concurrency). */
  concurrency: number
}

/** What refresh() found at the member, before anything is written. */
interface Seen {
  jwks: Jwks
  kid: string
  vouched: boolean
}

export class KeyRefresh {
  constructor(private readonly d: KeyRefreshDeps) {}

  /** Re-reads one member's entity configuration; throws NotFound for a non-member. */
  async refresh(entityId: string, actor: string): Promise<RefreshOutcome> {
    const rec = await this.d.members.get(entityId)
    let seen: Seen
    try {
      seen = await this.read(rec)
    } catch (err) {
      if (!(err instanceof InvalidRequest)) throw err
      return { entity_id: entityId, outcome: 'failed', error: err.message }
    }
    if (sameKeys(seen.jwks, rec.jwks)) return { entity_id: entityId, outcome: 'unchanged' }
    if (!seen.vouched && rec.rejected_keys === keysDigest(seen.jwks)) return { entity_id: entityId, outcome: 'rejected_before' }
    const kids = kidsOf(seen.jwks)
    try {
      if (seen.vouched) await this.apply(entityId, rec.jwks, seen.jwks, actor, 'subordinate.keys_refresh', { signed_with: seen.kid })
      else await this.hold(entityId, rec.jwks, { jwks: seen.jwks, kids, signed_with: seen.kid, seen_at: this.d.clock.now() }, actor)
    } catch (err) {
      if (!(err instanceof Conflict || err instanceof InvalidRequest)) throw err
      return { entity_id: entityId, outcome: 'failed', error: err.message }
    }
    return { entity_id: entityId, outcome: seen.vouched ? 'updated' : 'pending', kids, signed_with: seen.kid }
  }

  /** Every member, `concurrency` at a time; one member's failure does not stop the others. */
  async refreshAll(actor: string): Promise<RefreshOutcome[]> {
    const ids: string[] = []
    for await (const r of this.d.members.all()) ids.push(r.id)
    const out: RefreshOutcome[] = []
    let next = 0
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++]!
        try {
          out.push(await this.refresh(id, actor))
        } catch (err) {
          // Removed meanwhile (NotFound), or the store failed: reported, the others go on.
          out.push({ entity_id: id, outcome: 'failed', error: (err as Error).message })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.d.concurrency, ids.length)) }, worker))
    return out.sort((a, b) => (a.entity_id < b.entity_id ? -1 : a.entity_id > b.entity_id ? 1 : 0))
  }

  /** Members with a key change waiting for the operator (a store index: no scan of the roster). */
  async pending(): Promise<Array<{ entity_id: string; kids: string[]; pending_keys: PendingKeys }>> {
    const out = []
    for (let after: string | undefined; ;) {
      const page = await this.d.members.page({ status: 'pending', limit: 500, ...(after !== undefined ? { after } : {}) })
      for (const r of page) if (r.pending_keys) out.push({ entity_id: r.entity_id, kids: kidsOf(r.jwks), pending_keys: r.pending_keys })
      if (page.length < 500) return out
      after = page.at(-1)!.id
    }
  }

  /** Takes the pending keys as the member's keys (re-signing its statement). */
  async approve(entityId: string, actor: string): Promise<SubordinateRecord> {
    const rec = await this.d.members.get(entityId)
    const p = this.pendingOf(rec)
    await this.d.checks.jwks(p.jwks, `the pending keys of ${entityId}`)
    return this.apply(entityId, rec.jwks, p.jwks, actor, 'subordinate.keys_approve', { signed_with: p.signed_with }, p)
  }

  /** Drops the pending keys; the same set is not proposed again by a later refresh. */
  async reject(entityId: string, actor: string): Promise<SubordinateRecord> {
    const p = this.pendingOf(await this.d.members.get(entityId))
    const audit = this.d.audit.event(actor, 'subordinate.keys_reject', 'success', entityId, { kids: p.kids, signed_with: p.signed_with })
    const updated = await this.d.store.update<SubordinateRecord>('subordinates', entityId, (cur) => {
      if (!cur?.pending_keys || !sameKeys(cur.pending_keys.jwks, p.jwks)) return undefined
      return { ...without(cur, 'pending_keys'), rejected_keys: keysDigest(p.jwks), updated_at: this.d.clock.now() }
    }, { audit })
    if (!updated) throw new Conflict(`${entityId}: its pending keys changed meanwhile; list them again`)
    return updated
  }

  private pendingOf(rec: SubordinateRecord): PendingKeys {
    if (!rec.pending_keys) throw new NotFound(`${rec.entity_id} has no pending key change`)
    return rec.pending_keys
  }

  /**
   * Replaces the member's keys, only if they are still `from` (and, for an approval, the
   * pending change is still `approved`); the statement check runs on the record written.
   */
  private async apply(entityId: string, from: Jwks, to: Jwks, actor: string, action: string, detail: Record<string, unknown>, approved?: PendingKeys): Promise<SubordinateRecord> {
    const now = this.d.clock.now()
    const audit = this.d.audit.event(actor, action, 'success', entityId, { ...detail, from: kidsOf(from), to: kidsOf(to) })
    let refusal: Error | undefined
    const updated = await this.d.store.update<SubordinateRecord>('subordinates', entityId, (cur) => {
      if (!cur || !sameKeys(cur.jwks, from) || (approved && !(cur.pending_keys && sameKeys(cur.pending_keys.jwks, approved.jwks)))) return undefined
      const next: SubordinateRecord = { ...without(cur, 'pending_keys', 'rejected_keys'), jwks: to, updated_at: now }
      try {
        this.d.checks.statement(next, now)
      } catch (err) {
        refusal = err as Error
        return undefined
      }
      return next
    }, { audit })
    if (refusal) throw refusal
    if (!updated) throw new Conflict(`${entityId}: its keys changed meanwhile; refresh again`)
    return updated
  }

  private async hold(entityId: string, from: Jwks, pending: PendingKeys, actor: string): Promise<void> {
    const audit = this.d.audit.event(actor, 'subordinate.keys_pending', 'success', entityId, { kids: pending.kids, signed_with: pending.signed_with, current: kidsOf(from) })
    // Written (with its event) only when it is news: the same pending set is not re-recorded.
    await this.d.store.update<SubordinateRecord>('subordinates', entityId, (cur) => {
      if (!cur || !sameKeys(cur.jwks, from) || (cur.pending_keys && sameKeys(cur.pending_keys.jwks, pending.jwks))) return undefined
      return { ...cur, pending_keys: pending, updated_at: this.d.clock.now() }
    }, { audit })
  }

  /** The member's entity configuration, self-signed, naming this entity, its keys checked as at onboarding. */
  private async read(rec: SubordinateRecord): Promise<Seen> {
    const id = rec.entity_id
    const budget = this.d.budget?.()
    const deps = { source: directSource(this.d.fetcher, this.d.clock), clock: this.d.clock, skew: this.d.skew }
    try {
      const get = () => fetchEntityConfiguration(id, deps, budget)
      const ec = await (budget ? budget.run(get) : get())
      if (!Array.isArray(ec.claims.authority_hints) || !ec.claims.authority_hints.includes(this.d.entityId)) {
        throw new InvalidRequest(`the entity configuration of ${id} does not name ${this.d.entityId} in authority_hints`)
      }
      await this.d.checks.jwks(ec.claims.jwks, `the entity configuration of ${id}`)
      return { jwks: ec.claims.jwks, kid: ec.header.kid, vouched: await this.vouched(ec, rec.jwks, budget) }
    } catch (err) {
      if (err instanceof InvalidRequest) throw err
      if (err instanceof ChainError || err instanceof BudgetExceeded) {
        // A status answer reads `answered HTTP 500`, as everywhere in the admin API.
        const what = err instanceof ChainError ? `${err.statement}: ${err.message.replace(/ answered (\d{3})\b/, ' answered HTTP $1')}` : err.message
        throw new InvalidRequest(`the entity configuration of ${id} could not be read: ${what}`, { cause: err })
      }
      throw err
    }
  }

  /** Whether the configuration's signature verifies with a key the superior currently vouches for. */
  private async vouched(ec: Statement, stored: Jwks, budget: Budget | undefined): Promise<boolean> {
    if (!stored.keys.some((k) => k.kid === ec.header.kid)) return false
    try {
      await verifyStatement(ec, stored, 'the keys this entity vouches for', { clock: this.d.clock, skew: this.d.skew, budget })
      return true
    } catch (err) {
      if (err instanceof BudgetExceeded) throw err
      return false
    }
  }
}

/** A copy of the record without the key-change fields named. */
function without(rec: SubordinateRecord, ...names: Array<'pending_keys' | 'rejected_keys'>): SubordinateRecord {
  const next = { ...rec }
  for (const n of names) delete next[n]
  return next
}

function kidsOf(jwks: Jwks): string[] {
  return jwks.keys.map((k) => String(k.kid))
}

/** The keys as a canonical string: member names sorted, keys sorted. */
function canonical(jwks: Jwks): string {
  return JSON.stringify(jwks.keys.map((k) => JSON.stringify(Object.keys(k).sort().map((m) => [m, (k as Record<string, unknown>)[m]]))).sort())
}

function sameKeys(a: Jwks, b: Jwks): boolean {
  return canonical(a) === canonical(b)
}

function keysDigest(jwks: Jwks): string {
  return createHash('sha256').update(canonical(jwks)).digest('base64url')
}
