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
 *
 * A keystore with `algs` (the `oauth` purpose) keeps one signing key per algorithm: keys of
 * one algorithm are staged, activated, rotated and retired without touching the others (a
 * rotation of the RS256 ID token key leaves the ES256 access token key signing).
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
   * One signing key per algorithm, for each of these (`alg` is added last when missing, and is
   * the default of `signingKey()`, `rotate` and `stage`). Absent: one signing key of any algorithm
   * (federation keys, whose rollover may change the algorithm).
   */
  algs?: readonly KeyAlg[]
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

const purposeOf = (r: { purpose?: KeyPurpose | undefined }): KeyPurpose => r.purpose ?? 'federation'

/** One signing slot's current key: signer and its private JWK. */
interface Current {
  signer: SigningKey
  jwk: JWK & { kid: string; alg: string }
}

/** The slot of a single-slot keystore (any algorithm). */
const ANY = '*'

/** Of two active keys, whether `a` signs rather than `b` (load()'s order): the most recently activated, then the smaller kid. */
const signsBefore = (a: KeyRecord, b: KeyRecord): boolean =>
  (a.activated_at ?? 0) !== (b.activated_at ?? 0) ? (a.activated_at ?? 0) > (b.activated_at ?? 0) : a.id < b.id

export class Keystore {
  /** The current key of each slot (the algorithm, or ANY). */
  private current = new Map<string, Current>()
  private published: JSONWebKeySet = { keys: [] }
  private records: KeyRecord[] = []
  /** signingJwks() of the records loaded last (cleared by load). */
  private privateSet: Promise<Array<JWK & { kid: string; alg: string }>> | undefined
  /** The algorithms signed with, one key each; undefined: one key of any algorithm. */
  readonly algs: readonly KeyAlg[] | undefined
  private loading: Promise<void> | undefined
  private stale = true
  private readonly purpose: KeyPurpose
  private readonly kek: Kek | undefined
  private readonly unsubscribe: () => void
  private stopRollover: (() => Promise<void>) | undefined

  constructor(private readonly o: KeystoreOptions) {
    this.purpose = o.purpose ?? 'federation'
    this.algs = o.algs && [...new Set([...o.algs, o.alg])]
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

  /**
   * Stores the seed keys of `anchorage init` (those of this purpose) when the store has no key
   * of this purpose yet; with `algs`, when it has none of the seed key's algorithm.
   */
  async seed(keys: Array<{ kid: string; alg: string; public_jwk: JWK; sealed: SealedKey; created_at: number; purpose?: KeyPurpose }>): Promise<void> {
    const stored = (await this.o.store.list<KeyRecord>('keys')).filter((r) => purposeOf(r) === this.purpose)
    const now = this.o.clock.now()
    for (const k of keys) {
      if (purposeOf(k) !== this.purpose || stored.some((r) => this.slotOf(r.alg) === this.slotOf(k.alg))) continue
      const rec: KeyRecord = { id: k.kid, alg: k.alg, public_jwk: k.public_jwk, sealed: k.sealed, state: 'active', created_at: k.created_at, activated_at: now, ...this.purposeField() }
      await this.o.store.put('keys', rec).catch(() => undefined)
    }
    this.stale = true
  }

  /**
   * Makes sure there is a signing key (creates one on an empty store); with `algs`, one of each
   * algorithm (a deployment that gained an algorithm gets its key now).
   */
  async ensureKey(): Promise<void> {
    await this.refresh()
    for (const alg of this.algs ?? [this.o.alg]) {
      if (!this.current.has(this.slotOf(alg))) await this.rotate(alg, { first: true })
    }
  }

  /** Keys of one slot replace each other: the algorithm's with `algs`, otherwise all. */
  private slotOf(alg: string): string {
    return this.algs ? alg : ANY
  }

  /** An algorithm this keystore signs with (refused otherwise: it would never sign). */
  private checkAlg(alg: KeyAlg): void {
    if (this.algs && !this.algs.includes(alg)) {
      throw new InvalidRequest(`alg: ${this.purpose} keys are of ${this.algs.join(', ')}, not ${alg}`)
    }
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
    // The most recently activated active key of each slot signs.
    const active = records
      .filter((r) => r.state === 'active')
      .sort((a, b) => (b.activated_at ?? 0) - (a.activated_at ?? 0) || (a.id < b.id ? -1 : 1))
    const current = new Map<string, Current>()
    for (const r of active) {
      const slot = this.slotOf(r.alg)
      if (current.has(slot)) continue
      const jwk = await unsealKey(r.sealed, this.kek)
      current.set(slot, {
        signer: { kid: r.id, alg: r.alg, privateKey: await importPrivateJwk(jwk, r.alg) },
        jwk: { ...jwk, kid: r.id, alg: r.alg },
      })
    }
    this.records = records
    this.current = current
    this.privateSet = undefined
    this.published = {
      keys: records.filter((r) => r.state !== 'retired').map((r) => r.public_jwk),
    }
  }

  /** The current signing key (of `alg`, by default the keystore's algorithm, with `algs`). */
  async signingKey(alg: string = this.o.alg): Promise<SigningKey> {
    await this.refresh()
    const cur = this.current.get(this.slotOf(alg))
    if (!cur) throw new FederationError('server_error', 'no signing key', { detail: 'keystore empty' })
    return cur.signer
  }

  /**
   * Private JWKs (with kid and alg) for a signer that takes JWKs (oidc-provider's keystore),
   * never published: the current key of each algorithm first (in `algs` order), so a signer
   * taking the first key of an algorithm signs with the current one; then the other keys still
   * published and not staged (superseded ones), which verify what was signed before a rotation.
   */
  async signingJwks(): Promise<Array<JWK & { kid: string; alg: string }>> {
    await this.refresh()
    this.privateSet ??= this.loadPrivateSet(this.records, this.current)
    return this.privateSet
  }

  private async loadPrivateSet(records: KeyRecord[], current: Map<string, Current>): Promise<Array<JWK & { kid: string; alg: string }>> {
    const order = this.algs ?? [this.o.alg]
    const first = [...current.entries()]
      .sort(([a], [b]) => rank(order, a) - rank(order, b))
      .map(([, c]) => c.jwk)
    const kids = new Set(first.map((k) => k.kid))
    const rest: Array<JWK & { kid: string; alg: string }> = []
    for (const r of records) {
      if (kids.has(r.id) || r.state === 'retired' || r.state === 'staged') continue
      rest.push({ ...(await unsealKey(r.sealed, this.kek)), kid: r.id, alg: r.alg })
    }
    return [...first, ...rest]
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
    this.checkAlg(alg)
    const rec = await this.newRecord(alg, 'active')
    // Written first: a crash before the demotions below leaves two active keys, and
    // load() signs with the most recently activated one, which is the new key.
    await this.o.store.insert('keys', rec, this.audited(o, o.first ? 'key.create' : 'key.rotate', rec.id, { alg, ...(o.compromised ? { compromised: true } : {}) }))
    await this.demoteOthers(rec.id, o, o.first === true)
    if (o.compromised) {
      const slot = this.slotOf(alg)
      for (const old of this.records.filter((r) => r.id !== rec.id && r.state !== 'retired' && this.slotOf(r.alg) === slot)) await this.retire(old.id, 'compromised', o)
    }
    this.o.logger.info(`${this.purpose} key rotated`, { kid: rec.id, alg, ...(o.compromised ? { compromised: true } : {}) })
    return this.infoOf(rec.id)
  }

  /** `rotate` for every algorithm of the keystore (with `algs`; otherwise its one key). */
  async rotateAll(o: KeyChange & { compromised?: boolean } = {}): Promise<KeyInfo[]> {
    const out: KeyInfo[] = []
    for (const alg of this.algs ?? [this.o.alg]) out.push(await this.rotate(alg, o))
    return out
  }

  /** Publishes the next key in `jwks` without signing with it (one staged key at a time, per algorithm with `algs`). */
  async stage(alg: KeyAlg = this.o.alg, o: KeyChange = {}): Promise<KeyInfo> {
    this.checkAlg(alg)
    // Read afresh: another instance sharing the store may have staged one a moment ago.
    this.stale = true
    await this.refresh()
    const staged = this.stagedIn(this.slotOf(alg))
    if (staged) throw new InvalidRequest(`key "${staged.id}" is already staged: activate or retire it first`)
    const rec = await this.newRecord(alg, 'staged')
    await this.o.store.insert('keys', rec, this.audited(o, 'key.stage', rec.id, { alg, activatable_at: rec.staged_at! + this.propagationDelay }))
    this.stale = true
    this.o.logger.info(`${this.purpose} key staged`, { kid: rec.id, alg })
    return this.infoOf(rec.id)
  }

  /** `stage` for every algorithm of the keystore; refused, staging nothing, when one has a staged key. */
  async stageAll(o: KeyChange = {}): Promise<KeyInfo[]> {
    const algs = this.algs ?? [this.o.alg]
    this.stale = true
    await this.refresh()
    for (const alg of algs) {
      const staged = this.stagedIn(this.slotOf(alg))
      if (staged) throw new InvalidRequest(`key "${staged.id}" is already staged: activate or retire it first`)
    }
    const out: KeyInfo[] = []
    for (const alg of algs) out.push(await this.stage(alg, o))
    return out
  }

  private stagedIn(slot: string): KeyRecord | undefined {
    return this.records.find((r) => r.state === 'staged' && this.slotOf(r.alg) === slot)
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

  /** Every other active key of its slot becomes published-only (superseded now). */
  private async demoteOthers(kid: string, o: KeyChange, first = false): Promise<void> {
    this.stale = true
    await this.refresh()
    const now = this.o.clock.now()
    const rec = this.records.find((r) => r.id === kid)
    const slot = rec && this.slotOf(rec.alg)
    // The first key: instances sharing an empty store may each create one at the same moment
    // (the first request each serves). Each demoting the other's would leave no active key, so
    // only a key that signs after this one in load()'s order is demoted: all agree on one.
    const mine = first ? rec : undefined
    for (const old of this.records.filter((r) => r.state === 'active' && r.id !== kid && this.slotOf(r.alg) === slot && (!mine || signsBefore(mine, r)))) {
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
    if ([...this.current.values()].some((c) => c.signer.kid === kid)) throw new InvalidRequest(`key "${kid}" is the current signing key: rotate first`)
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

/** Position of a slot in the configured algorithms (others last). */
function rank(order: readonly string[], slot: string): number {
  const i = order.indexOf(slot)
  return i < 0 ? order.length : i
}
