/** Keys sealed the way Anchorage sealed them before per-deployment salts (for migration tests). */
import { createCipheriv, randomBytes, scryptSync, createHash } from 'node:crypto'
import type { SealedKey } from '../../src/crypto/kek.js'

/** How keys were sealed before salts existed: AES-256-GCM under the secret or its fixed-salt scrypt. */
export function legacySeal(jwk: object, secret: string): SealedKey & { enc: 'A256GCM' } {
  const key = /^[0-9a-fA-F]{64}$/.test(secret) ? Buffer.from(secret, 'hex')
    : /^[A-Za-z0-9_-]{43}=?$/.test(secret) ? Buffer.from(secret, 'base64url')
    : scryptSync(secret, 'anchorage-kek-v1', 32)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()])
  return {
    enc: 'A256GCM', kek_id: createHash('sha256').update(key).digest('base64url').slice(0, 16),
    iv: iv.toString('base64url'), tag: cipher.getAuthTag().toString('base64url'), ciphertext: ciphertext.toString('base64url'),
  }
}
