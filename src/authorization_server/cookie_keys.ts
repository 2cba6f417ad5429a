/**
 * The secrets oidc-provider signs its cookies with (the interaction cookie, the session
 * cookie and their `.sig` companions: koa's keygrip, HMAC-SHA256), kept in the store so
 * that every instance sharing it, and the same instance after a restart, accept the cookies
 * any of them set: a browser in the middle of a login may reach another instance, or the
 * same one restarted.
 *
 * Each secret is one record of the `keys` collection (`purpose: 'cookie'`, id `cookie-<n>`,
 * n the generation), its value a `{ kty: 'oct', k }` JWK sealed under ANCHORAGE_KEK exactly
 * like a private signing key (crypto/keys.ts sealKey): `anchorage keys encrypt`, the start
 * check for keys in clear and KEK rotation treat it as one more private key, and
 * `anchorage store export` leaves it out unless --include-private-keys.
 *
 * Rotation keeps a list, newest first (keygrip signs with the first, verifies with all):
 * - the first secret is created on first use (insert of `cookie-1`: when several instances
 *   start at once, one insert wins and the others read it);
 * - every ROTATE_AFTER seconds the next generation is staged. It verifies at once on every
 *   instance that has seen it, and starts signing only STAGE_SECONDS later, by when every
 *   instance has (store changes reach other instances within seconds), so no instance is
 *   handed a cookie signed with a secret it does not know yet;
 * - a secret older than the signing one is deleted once the signing one has signed for
 *   `keepFor` seconds (the longest a cookie lives: the session's lifetime): no cookie it
 *   signed is still valid.
 */
import { randomBytes } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { KekMaterial } from '../config/kek.js'
import { Kek, type SealedKey } from '../crypto/kek.js'
import { sealKey, unsealKey } from '../crypto/keys.js'
import { FederationError, isFederationError } from '../errors.js'
import type { Store, StoredRecord } from '../storage/types.js'

/** Seconds between generations (30 days). */
export const ROTATE_AFTER = 30 * 86_400
/** Seconds a new generation verifies before it signs (every instance learns it meanwhile). */
export const STAGE_SECONDS = 300

/** Seconds an interaction (a login under way, and its cookie) lives: provider.ts ttl.Interaction. */
export const INTERACTION_LIFETIME = 600

const ID = /^cookie-([1-9][0-9]{0,8})$/

/** A cookie secret in the `keys` collection. */
export interface CookieKeyRecord extends StoredRecord {
  id: string
  purpose: 'cookie'
  generation: number
  /** `{ kty: 'oct', k: <32 random bytes, base64url> }`, sealed like a private key. */
  sealed: SealedKey
  created_at: number
}

export interface CookieKeysOptions {
  store: Store
  clock: Clock
  kek?: KekMaterial
  /** Seconds a cookie can live (the longest of the session's and the interaction's lifetimes). */
  keepFor: number
  /** Seconds between generations (default ROTATE_AFTER). */
  rotateAfter?: number
  /** Seconds a new generation verifies before it signs (default STAGE_SECONDS). */
  stageSeconds?: number
}

interface Loaded {
  /** Newest first by generation. */
  records: CookieKeyRecord[]
  /** Secrets by generation, opened. */
  secrets: Map<number, string>
}

export class CookieKeys {
  private loaded: Loaded | undefined
  private loading: Promise<Loaded> | undefined
  private stale = true
  private list: string[] | undefined
  private readonly kek: Kek | undefined
  private readonly rotateAfter: number
  private readonly stage: number
  private readonly unsubscribe: () => void

  constructor(private readonly o: CookieKeysOptions) {
    this.kek = o.kek && Kek.of(o.kek)
    this.rotateAfter = o.rotateAfter ?? ROTATE_AFTER
    this.stage = o.stageSeconds ?? STAGE_SECONDS
    this.unsubscribe = o.store.onChange((c) => {
      if (c.collection === 'keys') this.stale = true
    })
  }

  stop(): void {
    this.unsubscribe()
  }

  /**
   * The secrets for oidc-provider's `cookies.keys`: the one signing first, then every other
   * one still accepted. The same array until the list changes (so callers can compare by
   * identity). Creates the first secret, and stages the next one when due.
   */
  async secrets(): Promise<string[]> {
    let l = await this.load()
    const now = this.o.clock.now()
    if (l.records.length === 0) {
      await this.insert(1, now)
      l = await this.load(true)
    } else {
      const newest = l.records[0]!
      if (now >= newest.created_at + this.rotateAfter) {
        await this.insert(newest.generation + 1, now)
        l = await this.load(true)
      }
    }
    if (l.records.length === 0) throw new FederationError('server_error', 'no cookie key', { detail: 'the cookie key could not be created' })
    const signing = this.signingOf(l.records, now)
    if (await this.prune(l.records, signing, now)) l = await this.load()
    const order = [signing, ...l.records.filter((r) => r.generation !== signing.generation)].map((r) => l.secrets.get(r.generation)!)
    if (!this.list || this.list.length !== order.length || this.list.some((s, i) => s !== order[i])) this.list = order
    return this.list
  }

  /** Stages the next generation now (an operator's rotation); it signs STAGE_SECONDS later. */
  async rotate(): Promise<number> {
    const l = await this.load(true)
    const next = (l.records[0]?.generation ?? 0) + 1
    await this.insert(next, this.o.clock.now())
    await this.load(true)
    return next
  }

  /** The newest generation that has been staged long enough, else the oldest (nothing else can sign yet). */
  private signingOf(records: CookieKeyRecord[], now: number): CookieKeyRecord {
    // The first generation signs at once: there is nothing older.
    return records.find((r) => r.generation === 1 || now >= r.created_at + this.stage) ?? records[records.length - 1]!
  }

  /** Deletes the generations older than the signing one once no cookie they signed can be valid; whether any went. */
  private async prune(records: CookieKeyRecord[], signing: CookieKeyRecord, now: number): Promise<boolean> {
    const signingSince = signing.generation === 1 ? signing.created_at : signing.created_at + this.stage
    if (now < signingSince + this.o.keepFor) return false
    const old = records.filter((r) => r.generation < signing.generation)
    if (old.length === 0) return false
    for (const r of old) await this.o.store.remove('keys', r.id)
    await this.load(true)
    return true
  }

  private async insert(generation: number, now: number): Promise<void> {
    const jwk = { kty: 'oct', k: randomBytes(32).toString('base64url') }
    const record: CookieKeyRecord = {
      id: `cookie-${generation}`, purpose: 'cookie', generation, sealed: await sealKey(jwk, this.kek), created_at: now,
    }
    try {
      await this.o.store.insert('keys', record)
    } catch (err) {
      // Another instance created this generation first: its secret is the one.
      if (!(isFederationError(err) && err.error === 'conflict')) throw err
    }
  }

  private async load(force = false): Promise<Loaded> {
    if (force) {
      // A read already under way may have started before what the caller just wrote.
      await this.loading?.catch(() => undefined)
      this.stale = true
    }
    if (!this.stale && this.loaded) return this.loaded
    this.loading ??= this.read().finally(() => {
      this.loading = undefined
    })
    return (this.loaded = await this.loading)
  }

  private async read(): Promise<Loaded> {
    this.stale = false
    const records = (await this.o.store.list<CookieKeyRecord>('keys'))
      .filter((r) => r.purpose === 'cookie' && typeof r.generation === 'number' && ID.exec(r.id)?.[1] === String(r.generation))
      .sort((a, b) => b.generation - a.generation)
    const secrets = new Map<number, string>()
    for (const r of records) {
      const jwk = await unsealKey(r.sealed, this.kek)
      if (jwk.kty !== 'oct' || typeof jwk.k !== 'string' || jwk.k.length < 43) {
        throw new FederationError('server_error', 'invalid cookie key', { detail: `stored cookie key ${r.id} is not a 256-bit secret` })
      }
      secrets.set(r.generation, jwk.k)
    }
    return { records, secrets }
  }
}
