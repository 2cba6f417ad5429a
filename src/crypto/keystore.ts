/**
 * The federation keys of one entity, kept in the store so that every instance sharing
 * a store signs with the same key.
 *
 * Staged rollover (spec "Key Rollover for a Trust Anchor"): `stage` publishes the next key
 * in `jwks` without signing with it; `activate` switches signing to it once the propagation
 * delay has passed since staging (everyone who cached a statement carrying or referencing
 * the old key set has had to re-fetch it); the superseded key stays published until
 * `retire` moves it to the historical keys (spec "Federation Historical Keys Endpoint").
 * `rotate` is stage + activate at once, for emergencies. Every step is audited with its write.
 */
import type { JWK, JSONWebKeySet } from 'jose'
import type { Store, StoredRecord } from '../storage/types.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import { FederationError, InvalidRequest, NotFound } from '../errors.js'
import { generateSigningKey, importPrivateJwk, sealKey, unsealKey, type KeyAlg, type SealedKey } from './keys.js'
import { Kek } from './kek.js'
import type { KekMaterial } from '../config/kek.js'
import { scheduleRollover } from './rollover.js'
import type { SigningKey } from './jwt.js'
import type { AuditEvent } from '../storage/types.js'

/** staged: published, not yet signing; active: signing; published: superseded, still in jwks; retired: historical. */
export type KeyState = 'staged' | 'active' | 'published' | 'retired'
/**
 * What a key signs. Federation keys sign entity statements and are published in `jwks`;
 * OAuth keys sign access tokens and are published at the authorization server's jwks_uri.
 * One `keys` collection holds both; each Keystore sees only its own purpose.
 */
export type KeyPurpose = 'federation' | 'oauth'
  // oidc-provider's cookie secrets (authorization_server/cookie_keys.ts): sealed like private keys, never a Keystore's.
  | 'cookie'
export type RevocationReason = 'unspecified' | 'compromised' | 'superseded'

export interface KeyRecord extends StoredRecord {
  id: string // kid
  alg: string
  public_jwk: JWK
  sealed: SealedKey
  state: KeyState
  created_at: number
  staged_at?: number
  activated_at?: number
  /** When it stopped signing (another key was activated). */
  superseded_at?: number
  retired_at?: number
  revoked?: { revoked_at: number; reason: RevocationReason }
  /** Absent on federation keys (records written before purposes existed are federation keys). */
  purpose?: KeyPurpose
}

/** Public view: what `keys list` and the admin API show. Never private material. */
export interface KeyInfo {
  kid: string
  alg: string
  state: KeyState
  created_at: number
  staged_at?: number
  /** A staged key: from when `activate` accepts it without `force`. */
  activatable_at?: number
  activated_at?: number
  superseded_at?: number
  retired_at?: number
  revoked?: { revoked_at: number; reason: RevocationReason }
}

/** Builds the audit event a key write carries (AuditLog.event). */
export type KeyAuditEvent = (actor: string, action: string, outcome: 'success', subject: string, detail?: Record<string, unknown>) => AuditEvent

/** Who asks, for the audit event of each write. */
export interface KeyChange {
  actor?: string
}

export interface KeystoreOptions {
  store: Store
  clock: Clock
  logger: Logger
  /** ANCHORAGE_KEK as configured: private keys are sealed under it (kek.ts). */
  kek?: KekMaterial
  alg: KeyAlg
  /** Default 'federation'. */
  purpose?: KeyPurpose
  /**
   * Seconds between staging a key and activating it without `force` (keys.propagation_delay_seconds,
   * by default the longest lifetime of what this deployment signs that carries or references its keys). Default 0.
   */
  propagationDelay?: number
  /** Audit events written with each key change; absent: not audited. */
  event?: KeyAuditEvent
  /** Scheduled rollover (rollover.ts), started by `scheduleRollover()`; absent or interval 0: off. */
  rollover?: { intervalSeconds: number; checkSeconds: number }
}

const purposeOf = (r: KeyRecord): KeyPurpose => r.purpose ?? 'federation'

export class Keystore {
  private signer: SigningKey | undefined
  private signerJwk: (JWK & { kid: string; alg: string }) | undefined
  private published: JSONWebKeySet = { keys: [] }
  private records: KeyRecord[] = []
  private loading: Promise<void> | undefined
  private stale = true
  private readonly purpose: KeyPurpose
  private readonly kek: Kek | undefined
  private readonly unsubscribe: () => void
  private stopRollover: (() => Promise<void>) | undefined

  constructor(private readonly o: KeystoreOptions) {
    this.purpose = o.purpose ?? 'federation'
    this.kek = o.kek && Kek.of(o.kek)
    this.unsubscribe = o.store.onChange((c) => {
      if (c.collection === 'keys') this.stale = true
    })
  }

  /** Stops following the store (shutdown); a load in flight is awaited. */
  async stop(): Promise<void> {
    await this.stopRollover?.()
    this.unsubscribe()
    await this.loading?.catch(() => undefined)
  }

  /** Starts the scheduled rollover when configured (keys.rollover.interval_days); stop() ends it. */
  scheduleRollover(): void {
    const r = this.o.rollover
    if (!r || r.intervalSeconds <= 0 || this.stopRollover) return
    this.stopRollover = scheduleRollover({ keystore: this, clock: this.o.clock, logger: this.o.logger, ...r })
  }

  /** Stores the seed keys of `anchorage init` when the store has no key yet. */
  async seed(keys: Array<{ kid: string; alg: string; public_jwk: JWK; sealed: SealedKey; created_at: number }>): Promise<void> {
    if ((await this.o.store.list<KeyRecord>('keys')).some((r) => purposeOf(r) === this.purpose)) return
    const now = this.o.clock.now()
    for (const k of keys) {
      const rec: KeyRecord = { id: k.kid, alg: k.alg, public_jwk: k.public_jwk, sealed: k.sealed, state: 'active', created_at: k.created_at, activated_at: now, ...this.purposeField() }
      await this.o.store.put('keys', rec).catch(() => undefined)
    }
    this.stale = true
  }

  /** Makes sure there is a signing key (creates one on an empty store). */
  async ensureKey(): Promise<void> {
    await this.refresh()
    if (!this.signer) await this.rotate(this.o.alg, { first: true })
  }

  private async refresh(): Promise<void> {
    if (!this.stale) return
    this.loading ??= this.load().finally(() => {
      this.loading = undefined
    })
    await this.loading
  }

  private async load(): Promise<void> {
    this.stale = false
    const records = (await this.o.store.list<KeyRecord>('keys')).filter((r) => purposeOf(r) === this.purpose)
    const active = records
      .filter((r) => r.state === 'active')
      .sort((a, b) => (b.activated_at ?? 0) - (a.activated_at ?? 0) || (a.id < b.id ? -1 : 1))
    const current = active[0]
    let signer: SigningKey | undefined
    let signerJwk: (JWK & { kid: string; alg: string }) | undefined
    if (current) {
      const jwk = await unsealKey(current.sealed, this.kek)
      signer = { kid: current.id, alg: current.alg, privateKey: await importPrivateJwk(jwk, current.alg) }
      signerJwk = { ...jwk, kid: current.id, alg: current.alg }
    }
    this.records = records
    this.signer = signer
    this.signerJwk = signerJwk
    this.published = {
      keys: records.filter((r) => r.state !== 'retired').map((r) => r.public_jwk),
    }
  }

  async signingKey(): Promise<SigningKey> {
    await this.refresh()
    if (!this.signer) throw new FederationError('server_error', 'no signing key', { detail: 'keystore empty' })
    return this.signer
  }

  /**
   * The current signing key as a private JWK (with kid and alg), for a signer that takes
   * JWKs (oidc-provider's keystore). Never published.
   */
  async signingJwk(): Promise<JWK & { kid: string; alg: string }> {
    await this.refresh()
    if (!this.signerJwk) throw new FederationError('server_error', 'no signing key', { detail: 'keystore empty' })
    return this.signerJwk
  }

  /** The published JWK Set (same object until keys change, so verifiers can cache by identity). */
  async jwks(): Promise<JSONWebKeySet> {
    await this.refresh()
    return this.published
  }

  async list(): Promise<KeyInfo[]> {
    await this.refresh()
    return this.records.map((r) => this.info(r))
  }

  async historical(): Promise<KeyRecord[]> {
    await this.refresh()
    return this.records.filter((r) => r.state === 'retired')
  }

  /** Seconds between staging and activation without `force`. */
  get propagationDelay(): number {
    return this.o.propagationDelay ?? 0
  }

  /**
   * Stage + activate in one step, for emergencies: parties that cached the old key set fail
   * until they re-fetch it. `compromised`: every previously signing or published key is
   * retired as revoked (reason compromised) in the same breath, so nobody may trust it again.
   */
  async rotate(alg: KeyAlg = this.o.alg, o: KeyChange & { compromised?: boolean; first?: boolean } = {}): Promise<KeyInfo> {
    const rec = await this.newRecord(alg, 'active')
    // Written first: a crash before the demotions below leaves two active keys, and
    // load() signs with the most recently activated one, which is the new key.
    await this.o.store.insert('keys', rec, this.audited(o, o.first ? 'key.create' : 'key.rotate', rec.id, { alg, ...(o.compromised ? { compromised: true } : {}) }))
    await this.demoteOthers(rec.id, o)
    if (o.compromised) {
      for (const old of this.records.filter((r) => r.id !== rec.id && r.state !== 'retired')) await this.retire(old.id, 'compromised', o)
    }
    this.o.logger.info(`${this.purpose} key rotated`, { kid: rec.id, alg, ...(o.compromised ? { compromised: true } : {}) })
    return this.infoOf(rec.id)
  }

  /** Publishes the next key in `jwks` without signing with it (one staged key at a time). */
  async stage(alg: KeyAlg = this.o.alg, o: KeyChange = {}): Promise<KeyInfo> {
    // Read afresh: another instance sharing the store may have staged one a moment ago.
    this.stale = true
    await this.refresh()
    const staged = this.records.find((r) => r.state === 'staged')
    if (staged) throw new InvalidRequest(`key "${staged.id}" is already staged: activate or retire it first`)
    const rec = await this.newRecord(alg, 'staged')
    await this.o.store.insert('keys', rec, this.audited(o, 'key.stage', rec.id, { alg, activatable_at: rec.staged_at! + this.propagationDelay }))
    this.stale = true
    this.o.logger.info(`${this.purpose} key staged`, { kid: rec.id, alg })
    return this.infoOf(rec.id)
  }

  /**
   * Switches signing to a staged key. Refused before the propagation delay has passed since
   * staging (parties may still hold a key set without it), unless `force`.
   */
  async activate(kid: string, o: KeyChange & { force?: boolean } = {}): Promise<KeyInfo> {
    await this.refresh()
    const rec = this.records.find((r) => r.id === kid)
    if (!rec) throw new NotFound(`no key with kid "${kid}"`)
    if (rec.state !== 'staged') throw new InvalidRequest(`key "${kid}" is ${rec.state}, not staged: only a staged key can be activated`)
    const now = this.o.clock.now()
    const from = (rec.staged_at ?? rec.created_at) + this.propagationDelay
    if (now < from && !o.force) {
      throw new InvalidRequest(`key "${kid}" can be activated from ${new Date(from * 1000).toISOString()} (propagation delay ${this.propagationDelay} s since staging; ${from - now} s left): use force to activate it now`)
    }
    const early = now < from ? { early_by_seconds: from - now } : {}
    const updated = await this.o.store.update<KeyRecord>('keys', kid, (cur) => (cur?.state === 'staged' ? { ...cur, state: 'active', activated_at: now } : undefined),
      this.audited(o, 'key.activate', kid, { ...early }))
    if (!updated) throw new InvalidRequest(`key "${kid}" is no longer staged`)
    await this.demoteOthers(kid, o)
    this.o.logger.info(`${this.purpose} key activated`, { kid, ...early })
    return this.infoOf(kid)
  }

  private async newRecord(alg: KeyAlg, state: 'active' | 'staged'): Promise<KeyRecord> {
    const key = await generateSigningKey(alg)
    const now = this.o.clock.now()
    return {
      id: key.kid, alg, public_jwk: key.publicJwk, sealed: await sealKey(key.privateJwk, this.kek),
      state, created_at: now, ...(state === 'active' ? { activated_at: now } : { staged_at: now }), ...this.purposeField(),
    }
  }

  /** Every other active key becomes published-only (superseded now). */
  private async demoteOthers(kid: string, o: KeyChange): Promise<void> {
    await this.refresh()
    const now = this.o.clock.now()
    for (const old of this.records.filter((r) => r.state === 'active' && r.id !== kid)) {
      await this.o.store.update<KeyRecord>('keys', old.id, (cur) => (cur?.state === 'active' ? { ...cur, state: 'published', superseded_at: now } : undefined),
        this.audited(o, 'key.supersede', old.id, { by: kid }))
    }
    this.stale = true
    await this.refresh()
  }

  private audited(o: KeyChange, action: string, kid: string, detail?: Record<string, unknown>): { audit?: AuditEvent } {
    if (!this.o.event) return {}
    const purpose = this.purpose === 'federation' ? {} : { purpose: this.purpose }
    return { audit: this.o.event(o.actor ?? 'anchorage', action, 'success', kid, { ...purpose, ...detail }) }
  }

  private async infoOf(kid: string): Promise<KeyInfo> {
    this.stale = true
    await this.refresh()
    const rec = this.records.find((r) => r.id === kid)
    if (!rec) throw new NotFound(`no key with kid "${kid}"`)
    return this.info(rec)
  }

  private purposeField(): { purpose?: KeyPurpose } {
    return this.purpose === 'federation' ? {} : { purpose: this.purpose }
  }

  /** Removes a key from the published set; it then appears in the historical keys. */
  async retire(kid: string, reason: RevocationReason | undefined, o: KeyChange = {}): Promise<KeyInfo> {
    await this.refresh()
    const rec = this.records.find((r) => r.id === kid)
    if (!rec) throw new NotFound(`no key with kid "${kid}"`)
    if (rec.state === 'retired') throw new InvalidRequest(`key "${kid}" is already retired`)
    if (this.signer?.kid === kid) throw new InvalidRequest(`key "${kid}" is the current signing key: rotate first`)
    const now = this.o.clock.now()
    await this.o.store.update<KeyRecord>('keys', kid, (cur) =>
      cur ? { ...cur, state: 'retired', retired_at: now, ...(reason ? { revoked: { revoked_at: now, reason } } : {}) } : undefined,
    this.audited(o, 'key.retire', kid, reason ? { reason } : undefined))
    return this.infoOf(kid)
  }

  private info(r: KeyRecord): KeyInfo {
    return {
      kid: r.id, alg: r.alg, state: r.state, created_at: r.created_at,
      ...(r.staged_at !== undefined ? { staged_at: r.staged_at } : {}),
      ...(r.state === 'staged' ? { activatable_at: (r.staged_at ?? r.created_at) + this.propagationDelay } : {}),
      ...(r.activated_at !== undefined ? { activated_at: r.activated_at } : {}),
      ...(r.superseded_at !== undefined ? { superseded_at: r.superseded_at } : {}),
      ...(r.retired_at !== undefined ? { retired_at: r.retired_at } : {}),
      ...(r.revoked ? { revoked: r.revoked } : {}),
    }
  }
}
