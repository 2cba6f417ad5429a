/**
 * Key material: generation with RFC 7638 thumbprint `kid`s, public-only export, and
 * private keys encrypted at rest with AES-256-GCM under a key-encryption key (KEK).
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync, createHash } from 'node:crypto'
import {
  generateKeyPair,
  exportJWK,
  importJWK,
  calculateJwkThumbprint,
  type JWK,
} from 'jose'
import type { PrivateKeyLike } from './jwt.js'

export const KEY_ALGS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const
export type KeyAlg = (typeof KEY_ALGS)[number]

/** Members a public JWK may carry; everything else (d, p, q, dp, dq, qi, k, oth) is dropped. */
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'use', 'alg', 'key_ops', 'x5c', 'x5t', 'x5t#S256', 'x5u'] as const

export function toPublicJwk(jwk: JWK): JWK {
  const out: Record<string, unknown> = {}
  for (const m of PUBLIC_MEMBERS) if (jwk[m] !== undefined) out[m] = jwk[m]
  return out as JWK
}

export interface GeneratedKey {
  kid: string
  alg: KeyAlg
  publicJwk: JWK
  privateJwk: JWK
}

export async function generateSigningKey(alg: KeyAlg): Promise<GeneratedKey> {
  const opts = alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : alg.startsWith('ES') ? { extractable: true } : { modulusLength: 2048, extractable: true }
  const { privateKey } = await generateKeyPair(alg, opts)
  const privateJwk = await exportJWK(privateKey)
  const kid = await calculateJwkThumbprint(privateJwk, 'sha256')
  const base = { kid, alg, use: 'sig' }
  return { kid, alg, privateJwk: { ...privateJwk, ...base }, publicJwk: toPublicJwk({ ...privateJwk, ...base }) }
}

export async function importPrivateJwk(jwk: JWK, alg: string): Promise<PrivateKeyLike> {
  return (await importJWK(jwk, alg)) as PrivateKeyLike
}

/** Sealed private key as stored: plain (no KEK configured) or AES-256-GCM. */
export type SealedKey =
  | { enc: 'none'; jwk: JWK }
  | { enc: 'A256GCM'; kek_id: string; iv: string; tag: string; ciphertext: string }

/**
 * The key-encryption key from ANCHORAGE_KEK: 64 hex digits or 43/44 base64url chars are
 * used as raw 256-bit keys, anything else is a passphrase stretched with scrypt.
 */
export function deriveKek(secret: string): { key: Buffer; id: string } {
  let key: Buffer
  if (/^[0-9a-fA-F]{64}$/.test(secret)) key = Buffer.from(secret, 'hex')
  else if (/^[A-Za-z0-9_-]{43}=?$/.test(secret)) key = Buffer.from(secret, 'base64url')
  else key = scryptSync(secret, 'anchorage-kek-v1', 32)
  const id = createHash('sha256').update(key).digest('base64url').slice(0, 16)
  return { key, id }
}

export function sealKey(jwk: JWK, kek: { key: Buffer; id: string } | undefined): SealedKey {
  if (!kek) return { enc: 'none', jwk }
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', kek.key, iv)
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()])
  return {
    enc: 'A256GCM',
    kek_id: kek.id,
    iv: iv.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
    ciphertext: ciphertext.toString('base64url'),
  }
}

export function unsealKey(sealed: SealedKey, kek: { key: Buffer; id: string } | undefined): JWK {
  if (sealed.enc === 'none') return sealed.jwk
  if (!kek) throw new Error('a private key is encrypted but ANCHORAGE_KEK is not set')
  if (kek.id !== sealed.kek_id) throw new Error('ANCHORAGE_KEK does not match the key that encrypted the private keys')
  const decipher = createDecipheriv('aes-256-gcm', kek.key, Buffer.from(sealed.iv, 'base64url'))
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64url'))
  const plain = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64url')), decipher.final()])
  return JSON.parse(plain.toString('utf8')) as JWK
}
