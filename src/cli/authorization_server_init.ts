/**
 * `anchorage init --authorization-server --trust-anchor URL [--trust-anchor-jwks FILE]
 * --resource URI`: the configuration of the authorization server role, with the trust
 * anchors' keys pinned (spec "Trust Chain": anchor keys are distributed out of band). A
 * JWKS file is the out-of-band channel; without one, the anchor's entity configuration is
 * fetched now (trust on first use) and its key thumbprints printed, for the operator to
 * compare with the ones the federation publishes elsewhere.
 */
import { createHash } from 'node:crypto'
import type { ConfigFile } from '../config/load.js'
import { isEntityIdSyntax, isAbsoluteUrl } from '../config/schemas.js'
import { systemClock } from '../clock.js'
import { isJwks } from '../crypto/jwks.js'
import { createFetcher, type Fetcher } from '../net/fetch.js'
import { entityConfigurationUrl } from '../trust_chain/source.js'
import { ChainError } from '../trust_chain/errors.js'
import { directSource, fetchEntityConfiguration, isUnobtainable } from '../trust_chain/statements.js'
import type { JWK } from 'jose'
import type { Jwks } from '../types.js'

export interface PinnedAnchor {
  entity_id: string
  jwks: Jwks
  source: 'fetched' | 'file'
  /** RFC 7638 SHA-256 thumbprints of the pinned keys. */
  thumbprints: string[]
}

export interface AuthorizationServerInit {
  anchors: string[]
  /** JWKS files, paired with `anchors` by position (none, or one per anchor). */
  jwksFiles: string[]
  resources: string[]
  enabled: boolean
  /** The OpenID Provider role too (`--openid-provider`). */
  openidProvider?: boolean
  readFile(path: string): Promise<string>
  /** Outbound fetches may use http and loopback/private addresses (development deployments). */
  development: boolean
  /**
   * Outbound fetches may reach loopback/private addresses (--allow-private-network,
   * ANCHORAGE_ALLOW_PRIVATE_NETWORK): an https anchor on such an address can then be pinned.
   * Written to the configuration too, so the deployment can refresh the pin later.
   */
  allowPrivateNetwork?: boolean
  /** Extra CA certificates (PEM) for the anchor's TLS certificate (--ca-file; NODE_EXTRA_CA_CERTS works too); written as outbound.ca_file. */
  caFile?: { path: string; pem: string }
  fetcher?: Fetcher
}

/** The `extra` configuration for initDeployment and the lines to print. Throws Error with a one-line message. */
export async function authorizationServerInit(o: AuthorizationServerInit): Promise<{ extra: Partial<ConfigFile>; lines: string[] }> {
  if (o.jwksFiles.length && o.jwksFiles.length !== o.anchors.length) {
    throw new Error('--trust-anchor-jwks: give one per --trust-anchor (in the same order), or none to fetch the anchors\' keys')
  }
  if (o.enabled && !o.anchors.length) throw new Error('--authorization-server: at least one --trust-anchor is required')
  if (o.enabled && !o.resources.length) throw new Error('--authorization-server: at least one --resource is required')
  for (const r of o.resources) if (!isAbsoluteUrl(r) || r.includes('#')) throw new Error(`--resource: not an absolute URI without fragment: ${r}`)
  const fetcher = o.fetcher ?? createFetcher({
    allowHttp: o.development, allowPrivateNetwork: o.development || o.allowPrivateNetwork === true, timeoutMs: 10_000, maxResponseBytes: 262_144,
    ...(o.caFile ? { ca: o.caFile.pem } : {}),
  })
  const pinned: PinnedAnchor[] = []
  for (const [i, id] of o.anchors.entries()) {
    if (!isEntityIdSyntax(id)) throw new Error(`--trust-anchor: not an entity identifier: ${id}`)
    const file = o.jwksFiles[i]
    pinned.push(file ? await fromFile(id, file, (p) => o.readFile(p)) : await fetched(id, fetcher))
  }
  const lines = pinned.map((a) => `trust anchor ${a.entity_id} (${a.source === 'file' ? 'keys from file' : 'keys fetched now: compare these thumbprints out of band'}):\n${a.thumbprints.map((t) => `  ${t}`).join('\n')}`)
  return {
    extra: {
      ...(pinned.length ? { trust_anchors: pinned.map((a) => ({ entity_id: a.entity_id, jwks: a.jwks })) } : {}),
      ...(o.allowPrivateNetwork || o.caFile ? { outbound: { ...(o.allowPrivateNetwork ? { allow_private_network: true } : {}), ...(o.caFile ? { ca_file: o.caFile.path } : {}) } } : {}),
      ...(o.enabled ? { authorization_server: { enabled: true, ...(o.openidProvider ? { openid_provider: true } : {}), resources: o.resources } } : {}),
    },
    lines,
  }
}

async function fromFile(id: string, path: string, readFile: (p: string) => Promise<string>): Promise<PinnedAnchor> {
  let jwks: unknown
  try {
    jwks = JSON.parse(await readFile(path))
  } catch (err) {
    throw new Error(`--trust-anchor-jwks ${path}: ${(err as Error).message}`)
  }
  if (!isJwks(jwks)) throw new Error(`--trust-anchor-jwks ${path}: not a public JWK Set`)
  return { entity_id: id, jwks, source: 'file', thumbprints: jwks.keys.map(thumbprint) }
}

async function fetched(id: string, fetcher: Fetcher): Promise<PinnedAnchor> {
  let claims
  try {
    claims = (await fetchEntityConfiguration(id, { source: directSource(fetcher, systemClock), clock: systemClock, skew: 60 })).claims
  } catch (err) {
    if (!(err instanceof ChainError)) throw err
    const why = isUnobtainable(err) ? `cannot fetch ${entityConfigurationUrl(id)}: ${err.message}` : `${err.statement}: ${err.message}`
    throw new Error(`--trust-anchor ${id}: ${why}`)
  }
  return { entity_id: id, jwks: claims.jwks, source: 'fetched', thumbprints: claims.jwks.keys.map(thumbprint) }
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) over the key type's required members. */
export function thumbprint(jwk: JWK): string {
  const members: Record<string, string[]> = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] }
  const names = members[jwk.kty ?? ''] ?? ['kty']
  const canonical = `{${names.map((n) => `${JSON.stringify(n)}:${JSON.stringify((jwk as Record<string, unknown>)[n])}`).join(',')}}`
  return createHash('sha256').update(canonical).digest('base64url')
}
