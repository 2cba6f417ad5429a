/**
 * Key material: generation with RFC 7638 thumbprint `kid`s, public-only export, and
 * private keys sealed at rest under the key-encryption key (kek.ts).
 */
import {
  generateKeyPair,
  exportJWK,
  importJWK,
  calculateJwkThumbprint,
  type JWK,
} from 'jose'
import type { PrivateKeyLike } from './jwt.js'
import { KekError, type Kek, type SealedKey } from './kek.js'

export type { SealedKey } from './kek.js'

export const KEY_ALGS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const
export type KeyAlg = (typeof KEY_ALGS)[number]

/** Members a public JWK may carry; everything else (d, p, q, dp, dq, qi, k, oth) is dropped. */
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'use', 'alg', 'key_ops', 'x5c', 'x5t', 'x5t#S256', 'x5u'] as const

export function toPublicJwk(jwk: JWK): JWK {
  const out: Record<string, unknown> = {}
  for (const m of PUBLIC_MEMBERS) if (jwk[m] !== undefined) out[m] = jwk[m]
  return out
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

/**
 * Seals a private JWK for storage: AES-256-GCM under the KEK (kek.ts), or in clear when no
 * KEK is configured (the server then warns at start).
 */
export async function sealKey(jwk: JWK, kek: Kek | undefined): Promise<SealedKey> {
  return kek ? kek.seal(jwk) : { enc: 'none', jwk }
}

export async function unsealKey(sealed: SealedKey, kek: Kek | undefined): Promise<JWK> {
  if (sealed.enc === 'none') return sealed.jwk
  if (!kek) throw new KekError('a private key is encrypted but ANCHORAGE_KEK is not set')
  return (await kek.unseal(sealed)).jwk
}
