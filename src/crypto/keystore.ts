/**
 * The federation keys of one entity, kept in the store so that every instance sharing
 * a store signs with the same key. Rotation publishes the new key next to the old one and
 * signs with the new one at once; retiring removes a key from `jwks` and moves it to the
 * historical keys (spec "Federation Historical Keys Endpoint").
 */
import type { JWK, JSONWebKeySet } from 'jose'
import type { Store, StoredRecord } from '../storage/types.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import { FederationError, InvalidRequest, NotFound } from '../errors.js'
import { generateSigningKey, importPrivateJwk, sealKey, unsealKey, type KeyAlg, type SealedKey } from './keys.js'
import type { Kek } from './kek.js'
import type { SigningKey } from './jwt.js'

export type KeyState = 'active' | 'published' | 'retired'
/**
 * What a key signs. Federation keys sign entity statements and are published in `jwks`;
 * OAuth keys sign access tokens and are published at the authorization server's jwks_uri.
 * One `keys` collection holds both; each Keystore sees only its own purpose.
 */
export type KeyPurpose = 'federation' | 'oauth'
export type RevocationReason = 'unspecified' | 'compromised' | 'superseded'

export interface KeyRecord extends StoredRecord {
  id: string // kid
  alg: string
  public_jwk: JWK
  sealed: SealedKey
  state: KeyState
  created_at: number
  activated_at?: number
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
  activated_at?: number
  retired_at?: number
  revoked?: { revoked_at: number; reason: RevocationReason }
}

export interface KeystoreOptions {
  store: Store
  clock: Clock
  logger: Logger
  kek?: Kek
  alg: KeyAlg
  /** Default 'federation'. */
  purpose?: KeyPurpose
}

const purposeOf = (r: KeyRecord): KeyPurpose => r.purpose ?? 'federation'

export class Keystore {
  private signer: SigningKey | undefined
  private published: JSONWebKeySet = { keys: [] }
  private records: KeyRecord[] = []
  private loading: Promise<void> | undefined
  private stale = true
  private readonly purpose: KeyPurpose
  private readonly unsubscribe: () => void

  constructor(private readonly o: KeystoreOptions) {
    this.purpose = o.purpose ?? 'federation'
    this.unsubscribe = o.store.onChange((c) => {
      if (c.collection === 'keys') this.stale = true
    })
  }

  /** Stops following the store (shutdown); a load in flight is awaited. */
  async stop(): Promise<void> {
    this.unsubscribe()
    await this.loading?.catch(() => undefined)
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
    if (!this.signer) await this.rotate()
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
    if (current) {
      const jwk = await unsealKey(current.sealed, this.o.kek)
      signer = { kid: current.id, alg: current.alg, privateKey: await importPrivateJwk(jwk, current.alg) }
    }
    this.records = records
    this.signer = signer
    this.published = {
      keys: records.filter((r) => r.state === 'active' || r.state === 'published').map((r) => r.public_jwk),
    }
  }

  async signingKey(): Promise<SigningKey> {
    await this.refresh()
    if (!this.signer) throw new FederationError('server_error', 'no signing key', { detail: 'keystore empty' })
    return this.signer
  }

  /** The published JWK Set (same object until keys change, so verifiers can cache by identity). */
  async jwks(): Promise<JSONWebKeySet> {
    await this.refresh()
    return this.published
  }

  async list(): Promise<KeyInfo[]> {
    await this.refresh()
    return this.records.map(info)
  }

  async historical(): Promise<KeyRecord[]> {
    await this.refresh()
    return this.records.filter((r) => r.state === 'retired')
  }

  /** New key: stored as active, previous active keys become published-only. */
  async rotate(alg: KeyAlg = this.o.alg): Promise<KeyInfo> {
    const key = await generateSigningKey(alg)
    const now = this.o.clock.now()
    const rec: KeyRecord = {
      id: key.kid, alg, public_jwk: key.publicJwk, sealed: await sealKey(key.privateJwk, this.o.kek),
      state: 'active', created_at: now, activated_at: now, ...this.purposeField(),
    }
    // Written first: a crash before the demotions below leaves two active keys, and
    // load() signs with the most recently activated one, which is the new key.
    await this.o.store.insert('keys', rec)
    for (const old of this.records.filter((r) => r.state === 'active' && r.id !== rec.id)) {
      await this.o.store.update<KeyRecord>('keys', old.id, (cur) => (cur && cur.state === 'active' ? { ...cur, state: 'published' } : undefined))
    }
    this.stale = true
    await this.refresh()
    this.o.logger.info(`${this.purpose} key rotated`, { kid: rec.id, alg })
    return info(rec)
  }

  private purposeField(): { purpose?: KeyPurpose } {
    return this.purpose === 'federation' ? {} : { purpose: this.purpose }
  }

  /** Removes a key from the published set; it then appears in the historical keys. */
  async retire(kid: string, reason: RevocationReason | undefined): Promise<KeyInfo> {
    await this.refresh()
    const rec = this.records.find((r) => r.id === kid)
    if (!rec) throw new NotFound(`no key with kid "${kid}"`)
    if (rec.state === 'retired') throw new InvalidRequest(`key "${kid}" is already retired`)
    if (this.signer?.kid === kid) throw new InvalidRequest(`key "${kid}" is the current signing key: rotate first`)
    const now = this.o.clock.now()
    const updated = await this.o.store.update<KeyRecord>('keys', kid, (cur) =>
      cur ? { ...cur, state: 'retired', retired_at: now, ...(reason ? { revoked: { revoked_at: now, reason } } : {}) } : undefined,
    )
    this.stale = true
    await this.refresh()
    return info(updated ?? rec)
  }
}

function info(r: KeyRecord): KeyInfo {
  return {
    kid: r.id, alg: r.alg, state: r.state, created_at: r.created_at,
    ...(r.activated_at !== undefined ? { activated_at: r.activated_at } : {}),
    ...(r.retired_at !== undefined ? { retired_at: r.retired_at } : {}),
    ...(r.revoked ? { revoked: r.revoked } : {}),
  }
}
