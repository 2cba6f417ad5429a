/**
 * The trust anchor's and the owner's side of trust marks: `trust_mark_issuers` and
 * `trust_mark_owners` published in the entity configuration (spec "Claims that MUST or MAY
 * Appear in Entity Configurations but Not in Subordinate Statements"), and delegation
 * JWTs signed as a trust mark owner (spec "Trust Mark Delegation JWT").
 *
 * Values come from the configuration file until set through the admin API; from then on
 * the stored value (settings collection) wins, until it is deleted again.
 */
import type { TrustMarkDeps } from './deps.js'
import { TYP } from '../constants.js'
import { signJwt } from '../crypto/jwt.js'
import { NotFound } from '../errors.js'
import type { StoredRecord } from '../storage/types.js'
import type { Jwks } from '../types.js'
import { validateBody } from './body.js'
import { DEFAULT_DELEGATION_LIFETIME } from './records.js'

export type TrustMarkIssuers = Record<string, string[]>
export type TrustMarkOwners = Record<string, { sub: string; jwks: Jwks }>
export type AnchorSetting = 'trust_mark_issuers' | 'trust_mark_owners'

interface SettingRecord extends StoredRecord {
  id: AnchorSetting
  value: Record<string, unknown>
  updated_at: number
  updated_by: string
}

interface DelegationInput { trust_mark_type: string; issuer: string; lifetime?: number; ref?: string }

export interface DelegationResult {
  delegation: string
  trust_mark_type: string
  issuer: string
  iat: number
  exp?: number
}

export class TrustAnchorSettings {
  private cache: Promise<{ issuers?: TrustMarkIssuers; owners?: TrustMarkOwners }> | undefined

  constructor(private readonly f: TrustMarkDeps) {
    f.changes.subscribe((c) => {
      if (c.type === 'stored' && c.collection === 'settings') this.cache = undefined
    })
  }

  async issuers(): Promise<TrustMarkIssuers | undefined> {
    return (await this.load()).issuers
  }

  async owners(): Promise<TrustMarkOwners | undefined> {
    return (await this.load()).owners
  }

  /** Replaces the whole claim; the entity configuration is re-signed at once. */
  async set(name: AnchorSetting, input: unknown, actor: string): Promise<Record<string, unknown>> {
    const value = validateBody<Record<string, unknown>>(name, input)
    await this.f.store.put<SettingRecord>('settings', { id: name, value, updated_at: this.f.clock.now(), updated_by: actor })
    this.cache = undefined
    await this.f.audit.record(actor, `${name}.set`, 'success', undefined, { types: Object.keys(value) })
    return value
  }

  /** Forgets the stored value: the configuration file's (if any) is published again. */
  async clear(name: AnchorSetting, actor: string): Promise<void> {
    if (!(await this.f.store.remove('settings', name))) throw new NotFound(`${name}: nothing was set through the admin API`)
    this.cache = undefined
    await this.f.audit.record(actor, `${name}.clear`, 'success')
  }

  /** Spec "Trust Mark Delegation JWT": iss = this entity (the owner), sub = the issuer. */
  async delegate(input: unknown, actor: string): Promise<DelegationResult> {
    const body = validateBody<DelegationInput>('trust_mark_delegation', input)
    const iat = this.f.clock.now()
    const lifetime = body.lifetime ?? DEFAULT_DELEGATION_LIFETIME
    const exp = lifetime > 0 ? iat + lifetime : undefined
    const claims = {
      iss: this.f.entityId, sub: body.issuer, trust_mark_type: body.trust_mark_type, iat,
      ...(exp !== undefined ? { exp } : {}), ...(body.ref ? { ref: body.ref } : {}),
    }
    const delegation = await signJwt(claims, await this.f.keystore.signingKey(), TYP.trustMarkDelegation)
    await this.f.audit.record(actor, 'trust_mark_delegation.issue', 'success', body.issuer, {
      trust_mark_type: body.trust_mark_type, iat, ...(exp !== undefined ? { exp } : {}),
    })
    return { delegation, trust_mark_type: body.trust_mark_type, issuer: body.issuer, iat, ...(exp !== undefined ? { exp } : {}) }
  }

  private load(): Promise<{ issuers?: TrustMarkIssuers; owners?: TrustMarkOwners }> {
    this.cache ??= (async () => {
      const [issuers, owners] = await Promise.all([
        this.f.store.get<SettingRecord>('settings', 'trust_mark_issuers'),
        this.f.store.get<SettingRecord>('settings', 'trust_mark_owners'),
      ])
      const i = (issuers?.value as TrustMarkIssuers | undefined) ?? this.f.config.trust_mark_issuers
      const o = (owners?.value as TrustMarkOwners | undefined) ?? this.f.config.trust_mark_owners
      return { ...(i ? { issuers: i } : {}), ...(o ? { owners: o } : {}) }
    })().catch((err: unknown) => {
      this.cache = undefined
      throw err
    })
    return this.cache
  }
}
