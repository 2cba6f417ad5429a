/**
 * The member role: trust marks this entity carries in its own entity configuration
 * (`trust_marks`, spec "Claims that MUST or MAY Appear in Entity Configurations but Not in
 * Subordinate Statements"). A mark is accepted only when it verifies with the keys of
 * its issuer's entity configuration and names this entity. Marks obtained from an issuer's
 * Trust Mark Endpoint are fetched again before they expire; an issuer that no longer has
 * the mark (HTTP 404, e.g. revoked) makes it disappear from the configuration.
 */
import type { TrustMarkDeps } from './deps.js'
import { MEDIA, TYP } from '../constants.js'
import { decodeUnverified, verifyJwt, JwtError } from '../crypto/jwt.js'
import { InvalidRequest, NotFound } from '../errors.js'
import { FetchError } from '../net/fetch.js'
import { Budget, BudgetExceeded, budgetLimits } from '../trust_chain/budget.js'
import { ChainError } from '../trust_chain/errors.js'
import { entityConfigurationUrl } from '../trust_chain/source.js'
import { directSource, fetchEntityConfiguration, isUnobtainable } from '../trust_chain/statements.js'
import type { StoredRecord } from '../storage/types.js'
import type { EntityStatement, TrustMarkRef } from '../types.js'
import { validateBody } from './body.js'
import { markId } from './records.js'

export interface OwnTrustMarkRecord extends StoredRecord {
  id: string
  trust_mark_type: string
  issuer: string
  trust_mark: string
  iat: number
  exp?: number
  /** 'fetched' marks are refreshed from the issuer's trust mark endpoint. */
  source: 'submitted' | 'fetched'
  fetched_at?: number
  updated_at: number
}

/** Marks without exp are fetched again daily, so a revocation is noticed. */
export const NO_EXP_REFRESH = 86_400

class Refused extends Error {
  constructor(readonly status: number | undefined, message: string) {
    super(message)
  }
}

export class OwnTrustMarks {
  /** Earliest exp among the marks last put in the entity configuration. */
  private publishedUntil = Infinity

  constructor(private readonly f: TrustMarkDeps) {}

  async add(input: unknown, actor: string): Promise<OwnTrustMarkRecord> {
    const body = validateBody<{ trust_mark?: string; trust_mark_type?: string; issuer?: string }>('trust_mark_own', input)
    if (body.trust_mark !== undefined && (body.trust_mark_type !== undefined || body.issuer !== undefined)) {
      throw new InvalidRequest('trust_mark: give either trust_mark, or trust_mark_type and issuer')
    }
    if (body.trust_mark === undefined && (body.trust_mark_type === undefined || body.issuer === undefined)) {
      throw new InvalidRequest(`${body.trust_mark_type === undefined ? 'trust_mark_type' : 'issuer'}: is required (or give trust_mark)`)
    }
    let rec: OwnTrustMarkRecord
    try {
      const budget = this.budget()
      rec = await this.within(budget, () => body.trust_mark !== undefined
        ? this.accept(body.trust_mark, 'submitted', undefined, budget)
        : this.fetchMark(body.trust_mark_type!, body.issuer!, budget))
    } catch (err) {
      if (!(err instanceof Refused)) throw err
      await this.f.audit.record(actor, 'own_trust_mark.add', 'failure', body.issuer, { trust_mark_type: body.trust_mark_type, reason: err.message })
      throw new InvalidRequest(err.message)
    }
    await this.f.store.put('own_trust_marks', rec)
    await this.f.audit.record(actor, 'own_trust_mark.add', 'success', rec.issuer, { trust_mark_type: rec.trust_mark_type, source: rec.source })
    return rec
  }

  list(): Promise<OwnTrustMarkRecord[]> {
    return this.f.store.list<OwnTrustMarkRecord>('own_trust_marks')
  }

  async remove(type: string, issuer: string, actor: string): Promise<void> {
    if (!(await this.f.store.remove('own_trust_marks', markId(type, issuer)))) {
      throw new NotFound(`this entity carries no trust mark of type ${type} from ${issuer}`)
    }
    await this.f.audit.record(actor, 'own_trust_mark.remove', 'success', issuer, { trust_mark_type: type })
  }

  /** The entity configuration's `trust_marks`: every stored mark not expired. */
  async published(): Promise<TrustMarkRef[]> {
    const now = this.f.clock.now()
    const live = (await this.list()).filter((r) => r.exp === undefined || r.exp > now)
    this.publishedUntil = live.reduce((min, r) => Math.min(min, r.exp ?? Infinity), Infinity)
    return live.map((r) => ({ trust_mark_type: r.trust_mark_type, trust_mark: r.trust_mark }))
  }

  /** Fetches again every fetched mark past 3/4 of its lifetime (or a day old without exp). */
  async refreshDue(actor = 'system'): Promise<{ refreshed: string[]; dropped: string[]; failed: string[] }> {
    const now = this.f.clock.now()
    const out = { refreshed: [] as string[], dropped: [] as string[], failed: [] as string[] }
    if (now >= this.publishedUntil) this.f.changes.publish({ type: 'own_marks_expired' })
    for (const r of await this.list()) {
      if (r.source !== 'fetched' || now < refreshAt(r)) continue
      try {
        const budget = this.budget()
        const next = await this.within(budget, () => this.fetchMark(r.trust_mark_type, r.issuer, budget))
        await this.f.store.put('own_trust_marks', next)
        out.refreshed.push(r.id)
        await this.f.audit.record(actor, 'own_trust_mark.refresh', 'success', r.issuer, { trust_mark_type: r.trust_mark_type, exp: next.exp })
      } catch (err) {
        if (!(err instanceof Refused)) throw err
        if (err.status === 404) {
          await this.f.store.remove('own_trust_marks', r.id)
          out.dropped.push(r.id)
          await this.f.audit.record(actor, 'own_trust_mark.drop', 'success', r.issuer, { trust_mark_type: r.trust_mark_type, reason: err.message })
        } else {
          out.failed.push(r.id)
          this.f.logger.warn('trust mark refresh failed', { trust_mark_type: r.trust_mark_type, issuer: r.issuer, reason: err.message })
        }
      }
    }
    return out
  }

  /** Spec "Trust Mark Endpoint": the issuer's endpoint comes from its own entity configuration. */
  private async fetchMark(type: string, issuer: string, budget: Budget): Promise<OwnTrustMarkRecord> {
    const ec = await this.issuerConfiguration(issuer, budget)
    const endpoint = ec.metadata?.federation_entity?.federation_trust_mark_endpoint
    if (typeof endpoint !== 'string') throw new Refused(undefined, `issuer: ${issuer} publishes no federation_trust_mark_endpoint`)
    const url = new URL(endpoint)
    url.searchParams.set('trust_mark_type', type)
    url.searchParams.set('sub', this.f.entityId)
    const res = await this.get(url.toString(), MEDIA.trustMark, budget)
    if (res.status !== 200) throw new Refused(res.status, `issuer: ${issuer}'s trust mark endpoint answered HTTP ${res.status}`)
    const rec = await this.accept(res.body.trim(), 'fetched', ec, budget)
    if (rec.trust_mark_type !== type || rec.issuer !== issuer) throw new Refused(undefined, `issuer: ${issuer} returned a mark of another type or issuer`)
    return rec
  }

  /** Checks a mark for this entity against its issuer's keys (spec "Validating a Trust Mark" steps 1-7). */
  private async accept(token: string, source: OwnTrustMarkRecord['source'], issuerEc: Pick<EntityStatement, 'jwks'> | undefined, budget: Budget): Promise<OwnTrustMarkRecord> {
    let decoded
    try {
      decoded = decodeUnverified(token)
    } catch {
      throw new Refused(undefined, 'trust_mark: is not a compact JWS')
    }
    const { iss, sub, trust_mark_type: type } = decoded.payload as Record<string, unknown>
    if (typeof iss !== 'string' || typeof type !== 'string') throw new Refused(undefined, 'trust_mark: iss and trust_mark_type must be strings')
    if (sub !== this.f.entityId) throw new Refused(undefined, `trust_mark: sub ${JSON.stringify(sub)} is not this entity (${this.f.entityId})`)
    const ec = issuerEc ?? (await this.issuerConfiguration(iss, budget))
    let verified
    try {
      budget.verify()
      verified = await verifyJwt(token, ec.jwks, { typ: TYP.trustMark, clock: this.f.clock, skew: this.f.config.clock_skew, requireTimes: false }, decoded)
    } catch (err) {
      if (err instanceof JwtError) throw new Refused(undefined, `trust_mark: ${err.message}`)
      throw err
    }
    const { iat, exp } = verified.payload
    const now = this.f.clock.now()
    if (typeof iat !== 'number' || iat > now + this.f.config.clock_skew) throw new Refused(undefined, 'trust_mark: iat is missing or in the future')
    if (exp !== undefined && exp <= now) throw new Refused(undefined, 'trust_mark: the JWT has expired')
    return {
      id: markId(type, iss), trust_mark_type: type, issuer: iss, trust_mark: token, iat, ...(exp !== undefined ? { exp } : {}),
      source, ...(source === 'fetched' ? { fetched_at: now } : {}), updated_at: now,
    }
  }

  /** The issuer's entity configuration, self-signed (trust_chain/statements.ts), within this operation's budget. */
  private async issuerConfiguration(issuer: string, budget: Budget): Promise<EntityStatement> {
    const deps = { source: directSource(this.f.fetcher, this.f.clock), clock: this.f.clock, skew: this.f.config.clock_skew }
    try {
      return (await fetchEntityConfiguration(issuer, deps, budget)).claims
    } catch (err) {
      if (!(err instanceof ChainError)) throw err
      if (isUnobtainable(err)) throw new Refused(undefined, `cannot fetch ${entityConfigurationUrl(issuer)}: ${err.message}`)
      throw new Refused(undefined, `issuer: ${err.statement}: ${err.message}`)
    }
  }

  private async get(url: string, accept: string, budget: Budget) {
    try {
      budget.fetch(url)
      return await this.f.fetcher.get(url, accept)
    } catch (err) {
      if (err instanceof FetchError) throw new Refused(undefined, `cannot fetch ${url}: ${err.message}`)
      throw err
    }
  }

  /** One operation's work budget (resolver.budget_*): its fetches, verifications and time. */
  private budget(): Budget {
    return new Budget(budgetLimits(this.f.config.resolver), this.f.clock)
  }

  /** `work` within `budget`; running out is a refusal like any other. */
  private async within<T>(budget: Budget, work: () => Promise<T>): Promise<T> {
    try {
      return await budget.run(work)
    } catch (err) {
      if (err instanceof BudgetExceeded) throw new Refused(undefined, err.message)
      throw err
    }
  }
}

function refreshAt(r: OwnTrustMarkRecord): number {
  if (r.exp === undefined) return (r.fetched_at ?? r.updated_at) + NO_EXP_REFRESH
  return r.iat + Math.floor(((r.exp - r.iat) * 3) / 4)
}
