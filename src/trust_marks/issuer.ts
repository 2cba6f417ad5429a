/**
 * The trust mark issuer role: types, issuance, revocation, and the lookups the public
 * endpoints need (spec "Trust Marks", "Trust Mark Endpoint", "Trust Marked Entities
 * Listing"). Reads are served from memory, kept current by this instance's own writes at
 * once and by the store's change feed for other instances sharing the store.
 */
import { LRUCache } from 'lru-cache'
import type { TrustMarkDeps } from './deps.js'
import { TYP } from '../constants.js'
import { signJwt, decodeUnverified } from '../crypto/jwt.js'
import { InvalidRequest, NotFound } from '../errors.js'
import type { Jwks } from '../types.js'
import { validateBody } from './body.js'
import { verifyDelegation, TrustMarkError } from './verify.js'
import {
  DEFAULT_MARK_LIFETIME, markId, recordStatus, view, withIssued, withRevoked,
  type IssuedTrustMarkRecord, type IssuedTrustMarkView, type TrustMarkTypeRecord,
} from './records.js'

interface TypeInput { trust_mark_type: string; lifetime?: number; logo_uri?: string; ref?: string; delegation?: string }
interface MarkInput { trust_mark_type: string; sub: string }

export interface IssueResult { trust_mark: string; trust_mark_type: string; sub: string; iat: number; exp?: number }

export class TrustMarkIssuer {
  /** Issued records by id; `null` remembers absence. Bounded: misses read the store. */
  private readonly records = new LRUCache<string, { rec: IssuedTrustMarkRecord | null }>({ max: 50_000 })
  /** Active marks by subject -> type -> exp (null: none), for the /list filters (synchronous hook). */
  private readonly bySubject = new Map<string, Map<string, number | null>>()
  /** Trust marked entities listings by type, until a write or the earliest exp among them. */
  private readonly holdersCache = new LRUCache<string, { ids: string[]; until: number }>({ max: 1_000 })

  constructor(
    private readonly f: TrustMarkDeps,
    private readonly owners: () => Promise<Record<string, { sub: string; jwks: Jwks }> | undefined>,
  ) {
    f.changes.subscribe((c) => {
      if (c.type !== 'stored') return
      if (c.collection === 'trust_marks') this.changed(c.id)
      if (c.collection === 'trust_mark_types') this.holdersCache.clear()
    })
  }

  async loadIndex(): Promise<void> {
    this.bySubject.clear()
    for (const rec of await this.f.store.list<IssuedTrustMarkRecord>('trust_marks', { where: { status: 'active' } })) this.index(rec.id, rec)
  }

  async addType(input: unknown, actor: string): Promise<{ record: TrustMarkTypeRecord; created: boolean }> {
    const body = validateBody<TypeInput>('trust_mark_type', input)
    if (body.delegation !== undefined) await this.checkDelegation(body.delegation, body.trust_mark_type)
    const now = this.f.clock.now()
    let created = false
    const record = await this.f.store.update<TrustMarkTypeRecord>('trust_mark_types', body.trust_mark_type, (cur) => {
      created = !cur
      return {
        id: body.trust_mark_type, trust_mark_type: body.trust_mark_type, lifetime: body.lifetime ?? DEFAULT_MARK_LIFETIME,
        ...(body.logo_uri ? { logo_uri: body.logo_uri } : {}), ...(body.ref ? { ref: body.ref } : {}),
        ...(body.delegation ? { delegation: body.delegation } : {}),
        created_at: cur?.created_at ?? now, updated_at: now,
      }
    })
    await this.f.audit.record(actor, created ? 'trust_mark_type.add' : 'trust_mark_type.update', 'success', body.trust_mark_type, {
      lifetime: record!.lifetime, delegation: Boolean(body.delegation),
    })
    return { record: record!, created }
  }

  listTypes(): Promise<TrustMarkTypeRecord[]> {
    return this.f.store.list<TrustMarkTypeRecord>('trust_mark_types')
  }

  async removeType(type: string, actor: string): Promise<void> {
    const audit = this.f.audit.event(actor, 'trust_mark_type.remove', 'success', type)
    if (!(await this.f.store.remove('trust_mark_types', type, { audit }))) {
      throw new NotFound(`trust_mark_type: ${type} is not a trust mark type of this entity`)
    }
  }

  /** Spec "Trust Mark Claims"; signed with a federation entity key. */
  async issue(input: unknown, actor: string): Promise<IssueResult> {
    const body = validateBody<MarkInput>('trust_mark_request', input)
    const type = await this.f.store.get<TrustMarkTypeRecord>('trust_mark_types', body.trust_mark_type)
    if (!type) {
      await this.f.audit.record(actor, 'trust_mark.issue', 'failure', body.sub, { trust_mark_type: body.trust_mark_type, reason: 'unknown type' })
      throw new InvalidRequest(`trust_mark_type: ${body.trust_mark_type} is not a trust mark type this entity issues`)
    }
    const iat = this.f.clock.now()
    let exp = type.lifetime > 0 ? iat + type.lifetime : undefined
    if (type.delegation) {
      // A mark outliving its delegation would be refused by every verifier from then on.
      const dexp = decodeUnverified(type.delegation).payload.exp
      if (typeof dexp === 'number') {
        if (dexp <= iat) {
          await this.f.audit.record(actor, 'trust_mark.issue', 'failure', body.sub, { trust_mark_type: body.trust_mark_type, reason: 'delegation expired' })
          throw new InvalidRequest(`trust_mark_type: the delegation configured for ${body.trust_mark_type} expired at ${dexp}; configure a new one`)
        }
        exp = exp === undefined ? dexp : Math.min(exp, dexp)
      }
    }
    const claims = {
      iss: this.f.entityId, sub: body.sub, trust_mark_type: type.trust_mark_type, iat,
      ...(exp !== undefined ? { exp } : {}),
      ...(type.logo_uri ? { logo_uri: type.logo_uri } : {}), ...(type.ref ? { ref: type.ref } : {}),
      ...(type.delegation ? { delegation: type.delegation } : {}),
    }
    const token = await signJwt(claims, await this.f.keystore.signingKey(), TYP.trustMark)
    const id = markId(type.trust_mark_type, body.sub)
    // The record of the issued mark and its audit event: one atomic write.
    const audit = this.f.audit.event(actor, 'trust_mark.issue', 'success', body.sub, { trust_mark_type: type.trust_mark_type, iat, ...(exp !== undefined ? { exp } : {}) })
    const rec = await this.f.store.update<IssuedTrustMarkRecord>('trust_marks', id, (cur) =>
      withIssued(cur, { type: type.trust_mark_type, sub: body.sub, token, iat, ...(exp !== undefined ? { exp } : {}) }), { audit })
    this.wrote(id, rec!)
    return { trust_mark: token, trust_mark_type: type.trust_mark_type, sub: body.sub, iat, ...(exp !== undefined ? { exp } : {}) }
  }

  /** Revokes every instance of (type, sub) at once: status endpoint, mark endpoint and listings. */
  async revoke(input: unknown, actor: string): Promise<IssuedTrustMarkView> {
    const body = validateBody<MarkInput>('trust_mark_request', input)
    const id = markId(body.trust_mark_type, body.sub)
    const now = this.f.clock.now()
    const audit = this.f.audit.event(actor, 'trust_mark.revoke', 'success', body.sub, { trust_mark_type: body.trust_mark_type })
    const rec = await this.f.store.update<IssuedTrustMarkRecord>('trust_marks', id, (cur) => (cur ? withRevoked(cur, now) : undefined), { audit })
    if (!rec) {
      await this.f.audit.record(actor, 'trust_mark.revoke', 'failure', body.sub, { trust_mark_type: body.trust_mark_type, reason: 'never issued' })
      throw new NotFound(`no trust mark of type ${body.trust_mark_type} was issued to ${body.sub}`)
    }
    this.wrote(id, rec)
    return view(rec, now)
  }

  async list(filter: { trust_mark_type?: string; sub?: string }): Promise<IssuedTrustMarkView[]> {
    const where: Record<string, string> = {}
    if (filter.trust_mark_type) where.trust_mark_type = filter.trust_mark_type
    if (filter.sub) where.sub = filter.sub
    const now = this.f.clock.now()
    return (await this.f.store.list<IssuedTrustMarkRecord>('trust_marks', { where })).map((r) => view(r, now))
  }

  async record(type: string, sub: string): Promise<IssuedTrustMarkRecord | undefined> {
    const id = markId(type, sub)
    const hit = this.records.get(id)
    if (hit) return hit.rec ?? undefined
    const rec = await this.f.store.get<IssuedTrustMarkRecord>('trust_marks', id)
    this.records.set(id, { rec: rec ?? null })
    return rec
  }

  /** Spec "Trust Mark Endpoint": the current mark, or not_found (HTTP 404). */
  async current(type: string, sub: string): Promise<string> {
    const rec = await this.record(type, sub)
    if (!rec || recordStatus(rec, this.f.clock.now()) !== 'active') throw new NotFound(`${sub} has no active trust mark of type ${type} from this issuer`)
    return rec.trust_mark
  }

  /** Spec "Trust Marked Entities Listing": subjects holding an active mark of `type`. */
  async holders(type: string, sub?: string): Promise<string[]> {
    const now = this.f.clock.now()
    let hit = this.holdersCache.get(type)
    if (!hit || hit.until <= now) {
      if (!(await this.f.store.get('trust_mark_types', type)) && !(await this.f.store.count('trust_marks', { trust_mark_type: type }))) {
        throw new NotFound(`trust_mark_type: this entity does not issue ${type}`)
      }
      const active = (await this.f.store.list<IssuedTrustMarkRecord>('trust_marks', { where: { trust_mark_type: type, status: 'active' } }))
        .filter((r) => recordStatus(r, now) === 'active')
      const until = active.reduce((min, r) => Math.min(min, r.exp ?? Infinity), Infinity)
      hit = { ids: active.map((r) => r.sub).sort(), until }
      this.holdersCache.set(type, hit)
    }
    return sub === undefined ? hit.ids : hit.ids.filter((id) => id === sub)
  }

  /** Types of the active, unexpired marks this entity issued to `sub` (the /list filter hook). */
  typesFor(sub: string): string[] {
    const types = this.bySubject.get(sub)
    if (!types) return []
    const now = this.f.clock.now()
    return [...types].filter(([, exp]) => exp === null || exp > now).map(([t]) => t)
  }

  /** Drops expired marks from the /list index; true when the cached listings must go. */
  pruneExpired(): boolean {
    const now = this.f.clock.now()
    let pruned = false
    for (const [sub, types] of this.bySubject) {
      for (const [type, exp] of types) {
        if (exp !== null && exp <= now) {
          types.delete(type)
          pruned = true
        }
      }
      if (types.size === 0) this.bySubject.delete(sub)
    }
    return pruned
  }

  private async checkDelegation(token: string, type: string): Promise<void> {
    let payload
    try {
      payload = decodeUnverified(token).payload
    } catch {
      throw new InvalidRequest('delegation: is not a compact JWS')
    }
    // The owner's keys are the trust anchor's to publish: when this deployment lists the
    // owner the signature is checked too, otherwise everything but the signature.
    const owner = (await this.owners())?.[type]
    const as = owner ?? { sub: String(payload.iss), jwks: { keys: [] } }
    try {
      await verifyDelegation(token, { issuer: this.f.entityId, type, owner: as }, { clock: this.f.clock, skew: this.f.config.clock_skew })
    } catch (err) {
      if (!(err instanceof TrustMarkError)) throw err
      if (!owner && (err.reason === 'delegation_kid' || err.reason === 'delegation_signature')) return
      throw new InvalidRequest(`delegation: ${err.message}`, { cause: err })
    }
  }

  /** After this instance's own write: caches and the /list index are right at once. */
  private wrote(id: string, rec: IssuedTrustMarkRecord): void {
    this.records.set(id, { rec })
    this.holdersCache.clear()
    this.index(id, rec)
    this.f.changes.publish({ type: 'issued_marks_indexed', id })
  }

  private changed(id: string | undefined): void {
    this.holdersCache.clear()
    if (id === undefined) {
      this.records.clear()
      void this.loadIndex().then(() => this.f.changes.publish({ type: 'issued_marks_indexed' }), () => undefined)
      return
    }
    this.records.delete(id)
    void this.f.store.get<IssuedTrustMarkRecord>('trust_marks', id).then((rec) => {
      this.index(id, rec)
      this.f.changes.publish({ type: 'issued_marks_indexed', id })
    }, () => undefined)
  }

  private index(id: string, rec: IssuedTrustMarkRecord | undefined): void {
    const cut = id.indexOf(' ')
    const type = rec?.trust_mark_type ?? id.slice(0, cut)
    const sub = rec?.sub ?? id.slice(cut + 1)
    let types = this.bySubject.get(sub)
    if (rec && rec.status === 'active') {
      if (!types) this.bySubject.set(sub, (types = new Map<string, number | null>()))
      types.set(type, rec.exp ?? null)
    } else if (types) {
      types.delete(type)
      if (types.size === 0) this.bySubject.delete(sub)
    }
  }
}
