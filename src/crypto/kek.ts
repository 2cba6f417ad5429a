/**
 * The key-encryption key (KEK) that seals private keys at rest, read from ANCHORAGE_KEK:
 * either at least 32 random bytes (hex, base64 or base64url) used as an AES-256 key, or a
 * passphrase of at least 20 characters stretched with scrypt under a random salt. The salt
 * is generated per deployment process and recorded in every key it seals (like PBES2's
 * `p2s`), so two deployments with the same passphrase never share a derived key, and every
 * instance sharing a store can open every key.
 *
 * Deployments sealed before salts existed (a passphrase stretched under the fixed salt
 * "anchorage-kek-v1", or a base64 key that was then taken for a passphrase) still open:
 * `unseal` says so (`legacy`) and the caller re-seals them (key_encryption.ts).
 */
import { createHash, hkdfSync, randomBytes, scrypt as scryptCb, createCipheriv, createDecipheriv } from 'node:crypto'
import type { JWK } from 'jose'
import { KekMaterial, KEK_TOO_SHORT } from '../config/kek.js'
import type { KdfParams, SealedKey } from '../types.js'

export type { KdfParams, SealedKey } from '../types.js'
export { KEK_MIN_BYTES, KEK_MIN_PASSPHRASE } from '../config/kek.js'
/** scrypt cost of new passphrase derivations (2^15: ~0.1-0.3 s, 32 MiB). */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const
/** Bounds on recorded parameters, so a tampered record cannot make a derivation unbounded. */
const SCRYPT_MAX_N = 2 ** 20
/** Before salts: whatever was not hex-64 or base64url-43 was stretched under this fixed salt (scryptSync defaults). */
const LEGACY_SALT = 'anchorage-kek-v1'
const LEGACY_SCRYPT = { N: 2 ** 14, r: 8, p: 1 } as const

export class KekError extends Error {
  override name = 'KekError'
}

export const TOO_SHORT = KEK_TOO_SHORT

/** One Kek per configured material: every keystore of a deployment seals under one salt, and stretches each salt once. */
const built = new WeakMap<KekMaterial, Kek>()

/** A KEK as configured. The secret never leaves this object (private fields; not in JSON or inspect). */
export class Kek {
  readonly #text: string
  readonly #raw: Buffer | undefined
  /** Derived keys by salt ('' for the legacy derivation): scrypt runs once per salt. */
  readonly #derived = new Map<string, Promise<Buffer>>()
  /** The salt new seals use (passphrase KEKs), fixed for this object's life. */
  readonly #salt = randomBytes(16).toString('base64url')

  readonly kind: 'raw' | 'passphrase'

  private constructor(material: KekMaterial) {
    this.kind = material.kind
    this.#text = material.text()
    this.#raw = rawKey(material.bytes())
  }

  /** The KEK of configured material (config/kek.ts): the same object for the same material. */
  static of(material: KekMaterial): Kek {
    let kek = built.get(material)
    if (!kek) built.set(material, (kek = new Kek(material)))
    return kek
  }

  /**
   * Reads a KEK given as text; throws KekError (one line) when it is neither 32+ random bytes
   * nor a passphrase of 20+ characters. `lenient`: any non-empty secret (a previous KEK, only
   * ever used to open what it sealed).
   */
  static parse(text: string, options: { lenient?: boolean } = {}): Kek {
    const material = KekMaterial.parse(text, options)
    if (!material) throw new KekError(TOO_SHORT)
    return new Kek(material)
  }

  toJSON(): string {
    return `[KEK ${this.kind}]`
  }

  async seal(jwk: JWK): Promise<SealedKey> {
    const kdf: KdfParams | undefined = this.#raw ? undefined : { alg: 'scrypt', salt: this.#salt, ...SCRYPT }
    const key = kdf ? await this.derive(kdf) : this.#raw!
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()])
    return {
      enc: 'A256GCM', kek_id: keyId(key), iv: iv.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'), ciphertext: ciphertext.toString('base64url'),
      ...(kdf ? { kdf } : {}),
    }
  }

  /** The key that opens `sealed`, if this KEK has it; `legacy` when it is the pre-salt derivation. */
  async keyFor(sealed: SealedKey & { enc: 'A256GCM' }): Promise<{ key: Buffer; legacy: boolean } | undefined> {
    if (sealed.kdf) {
      const key = await this.derive(sealed.kdf)
      return keyId(key) === sealed.kek_id ? { key, legacy: false } : undefined
    }
    if (this.#raw && keyId(this.#raw) === sealed.kek_id) return { key: this.#raw, legacy: false }
    const legacy = await this.memo('', () => scrypt(this.#text, Buffer.from(LEGACY_SALT), LEGACY_SCRYPT))
    return keyId(legacy) === sealed.kek_id ? { key: legacy, legacy: true } : undefined
  }

  /** Opens `sealed`; `legacy` when it was sealed with the pre-salt derivation (re-seal it). */
  async unseal(sealed: SealedKey & { enc: 'A256GCM' }): Promise<{ jwk: JWK; legacy: boolean }> {
    const found = await this.keyFor(sealed)
    if (!found) throw new KekError('ANCHORAGE_KEK does not match the key that encrypted the private keys')
    const decipher = createDecipheriv('aes-256-gcm', found.key, Buffer.from(sealed.iv, 'base64url'))
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64url'))
    const plain = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64url')), decipher.final()])
    return { jwk: JSON.parse(plain.toString('utf8')) as JWK, legacy: found.legacy }
  }

  private derive(kdf: KdfParams): Promise<Buffer> {
    checkKdf(kdf)
    return this.memo(kdf.salt, () => scrypt(this.#text, Buffer.from(kdf.salt, 'base64url'), kdf))
  }

  private memo(salt: string, derive: () => Promise<Buffer>): Promise<Buffer> {
    let p = this.#derived.get(salt)
    if (!p) this.#derived.set(salt, (p = derive()))
    return p
  }
}

/** The AES-256 key of a raw KEK's random bytes: 32 as they are, longer ones condensed with HKDF. */
function rawKey(bytes: Buffer | undefined): Buffer | undefined {
  if (!bytes) return undefined
  return bytes.length === 32 ? bytes : Buffer.from(hkdfSync('sha256', bytes, Buffer.alloc(0), 'anchorage kek', 32))
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 16)
}

function checkKdf(kdf: KdfParams): void {
  const { N, r, p } = kdf
  const ok = kdf.alg === 'scrypt' && typeof kdf.salt === 'string' && kdf.salt.length >= 16
    && Number.isInteger(N) && N >= 2 ** 14 && N <= SCRYPT_MAX_N && (N & (N - 1)) === 0 && r === 8 && p === 1
  if (!ok) throw new KekError('a sealed private key names key derivation parameters this version does not accept')
}

function scrypt(secret: string, salt: Buffer, o: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(Buffer.from(secret, 'utf8'), salt, 32, { N: o.N, r: o.r, p: o.p, maxmem: 256 * o.N * o.r }, (err, key) => (err ? reject(err) : resolve(key))))
}
