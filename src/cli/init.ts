/** `anchorage init`: a deployment directory with configuration, seed keys and an admin token. */
import { mkdir, writeFile, access } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { CONFIG_FILE, KEYS_FILE, ADMIN_TOKEN_FILE, checkConfigFile, defaultIdTokenAlgs, oauthAlgs, entityIdPort, type ConfigFile } from '../config/load.js'
import { DEFAULTS } from '../config/defaults.js'
import type { KeysFile } from '../types.js'
import { generateSigningKey, sealKey, KEY_ALGS, type KeyAlg } from '../crypto/keys.js'
import { Kek } from '../crypto/kek.js'
import type { KekMaterial } from '../config/kek.js'
import { tokenDigest, newToken } from '../http/admin/auth.js'

export interface InitOptions {
  dir: string
  entityId: string
  alg?: KeyAlg
  authorityHints?: string[]
  development?: boolean
  organizationName?: string
  /**
   * `admin.listen`: the admin plane's own listener. Default: 127.0.0.1:<port + 1> for an
   * https deployment, none (the admin API on the shared listener) for a development one;
   * null: none whatever the deployment.
   */
  adminListen?: string | null
  /**
   * The port `serve` will listen on, which the admin plane's default follows (the CLI passes
   * PORT; default: the port the entity id writes, else 8080, the port behind a TLS-terminating proxy).
   */
  port?: number
  /** Seals the first key (config/load reads ANCHORAGE_KEK: `kekFromEnv`). */
  kek?: KekMaterial
  extra?: Partial<ConfigFile>
}

export interface InitResult {
  dir: string
  configPath: string
  tokenPath: string
  adminToken: string
  kid: string
  /** The authorization server's `oauth` keys, one per algorithm it signs with (none without the role). */
  oauthKeys: Array<{ kid: string; alg: KeyAlg }>
  /** `admin.listen` as written (absent: the admin API shares the public listener). */
  adminListen?: string
}

export async function initDeployment(o: InitOptions): Promise<InitResult> {
  const dir = resolve(o.dir)
  const configPath = join(dir, CONFIG_FILE)
  if (await exists(configPath)) throw new Error(`${configPath} already exists; refusing to overwrite a deployment`)
  const alg = o.alg ?? 'ES256'
  if (!KEY_ALGS.includes(alg)) throw new Error(`--alg must be one of ${KEY_ALGS.join(', ')}`)
  // Not parsed here: checkConfigFile names what is wrong with the identifier.
  const development = o.development ?? o.entityId.startsWith('http:')
  const adminToken = newToken()
  // The admin plane on its own loopback listener, except in development (docs/operations.md, "The admin plane").
  const port = o.port ?? entityIdPort(o.entityId) ?? DEFAULTS.server.port
  const adminListen = o.adminListen === null ? undefined : (o.adminListen ?? (development ? undefined : `127.0.0.1:${port < 65535 ? port + 1 : port - 1}`))
  const config: ConfigFile = {
    entity_id: o.entityId,
    ...(development ? { development: true } : {}),
    signing_alg: alg,
    ...(o.authorityHints?.length ? { authority_hints: o.authorityHints } : {}),
    ...(o.organizationName ? { organization: { organization_name: o.organizationName } } : {}),
    admin: { token_sha256: tokenDigest(adminToken).toString('base64url'), ...(adminListen ? { listen: adminListen } : {}) },
    ...o.extra,
  }
  checkConfigFile(config, configPath)
  const kek = o.kek && Kek.of(o.kek)
  const createdAt = Math.floor(Date.now() / 1000)
  const key = await generateSigningKey(alg)
  const keys: KeysFile = {
    keys: [{ kid: key.kid, alg, public_jwk: key.publicJwk, sealed: await sealKey(key.privateJwk, kek), created_at: createdAt }],
  }
  // The authorization server's token keys (purpose oauth, never a federation key): one per
  // algorithm it signs with, stored at the first start like the federation key.
  const as = config.authorization_server
  const oauthKeys: InitResult['oauthKeys'] = []
  if (as && as.enabled !== false) {
    const algs = oauthAlgs(alg, { openid_provider: as.openid_provider ?? false, id_token_signing_alg_values: as.id_token_signing_alg_values ?? defaultIdTokenAlgs(alg) })
    for (const a of algs) {
      const k = await generateSigningKey(a)
      keys.keys.push({ kid: k.kid, alg: a, public_jwk: k.publicJwk, sealed: await sealKey(k.privateJwk, kek), created_at: createdAt, purpose: 'oauth' })
      oauthKeys.push({ kid: k.kid, alg: a })
    }
  }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFile(join(dir, KEYS_FILE), JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 })
  const tokenPath = join(dir, ADMIN_TOKEN_FILE)
  await writeFile(tokenPath, adminToken + '\n', { mode: 0o600 })
  await writeFile(configPath, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 })
  return { dir, configPath, tokenPath, adminToken, kid: key.kid, oauthKeys, ...(adminListen ? { adminListen } : {}) }
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p)
    return true
  } catch {
    return false
  }
}
