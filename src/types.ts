/** Wire shapes, in the spec's snake_case. Remote data is validated before it is narrowed to these. */
import type { JWK } from 'jose'

export interface Jwks {
  keys: JWK[]
}

export type Metadata = Record<string, Record<string, unknown>>
export type MetadataPolicy = Record<string, Record<string, Record<string, unknown>>>

export interface NamingConstraints {
  permitted?: string[]
  excluded?: string[]
}

export interface Constraints {
  max_path_length?: number
  naming_constraints?: NamingConstraints
  allowed_entity_types?: string[]
  [extension: string]: unknown
}

export interface TrustMarkRef {
  trust_mark_type: string
  trust_mark: string
}

/** Claims of an entity configuration or a subordinate statement (spec "Entity Statement"). */
export interface EntityStatement {
  iss: string
  sub: string
  iat: number
  exp: number
  jwks: Jwks
  metadata?: Metadata
  crit?: string[]
  authority_hints?: string[]
  trust_anchor_hints?: string[]
  trust_marks?: TrustMarkRef[]
  trust_mark_issuers?: Record<string, string[]>
  trust_mark_owners?: Record<string, { sub: string; jwks: Jwks; [k: string]: unknown }>
  constraints?: Constraints
  metadata_policy?: MetadataPolicy
  metadata_policy_crit?: string[]
  source_endpoint?: string
  [claim: string]: unknown
}

/** Parameters of a passphrase KEK's derivation, recorded in each key it sealed (like PBES2's `p2s`). */
export interface KdfParams {
  alg: 'scrypt'
  /** base64url, 16 random bytes. */
  salt: string
  N: number
  r: number
  p: number
}

/** A private JWK at rest (the store's `keys`, keys.json): in clear (no KEK) or AES-256-GCM under the KEK (crypto/kek.ts). */
export type SealedKey =
  | { enc: 'none'; jwk: JWK }
  | { enc: 'A256GCM'; kek_id: string; iv: string; tag: string; ciphertext: string; kdf?: KdfParams }

/**
 * The seed keys written by `anchorage init` (DIR/keys.json; config/load.ts reads and writes it):
 * the first federation key, and with `--openid-provider` the `oauth` keys (`purpose`; absent:
 * a federation key).
 */
export interface KeysFile {
  keys: Array<{ kid: string; alg: string; public_jwk: JWK; sealed: SealedKey; created_at: number; purpose?: 'federation' | 'oauth' }>
}
