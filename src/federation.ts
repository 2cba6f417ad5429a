/**
 * The foundation of one entity: configuration + store + clock + logger in; keys, audit,
 * the outbound fetcher and the change feed out. The composition root (service.ts) builds
 * the capabilities on it, then the subordinate registry and the publisher. No module-level
 * state: several federations can live in one process.
 */
import type { Config } from './config/load.js'
import { readKeysFile, writeKeysFile } from './config/load.js'
import { readOutboundCa } from './config/files.js'
import { checkKeysAtStart } from './crypto/key_encryption.js'
import { Kek } from './crypto/kek.js'
import type { Store } from './storage/types.js'
import type { Clock } from './clock.js'
import type { Logger } from './logger.js'
import { Keystore } from './crypto/keystore.js'
import { AuditLog } from './audit/audit.js'
import type { SubordinateRegistry } from './subordinates/registry.js'
import type { Publisher } from './entity/publisher.js'
import { createFetcher, type Fetcher } from './net/fetch.js'
import { ChangeFeed } from './changes.js'
import { Metrics, measuredFetcher, measuredStore } from './metrics.js'
import type { EntityStatement } from './types.js'
import type { Foundation } from './foundation.js'

export interface FederationDeps {
  store: Store
  clock: Clock
  logger: Logger
  fetcher?: Fetcher
}

/** What every capability may be built on (the type lives at the domain layer: foundation.ts). */
export type { Foundation } from './foundation.js'

/** The foundation with the subordinate registry and everything this entity publishes. */
export interface Federation extends Foundation {
  readonly subordinates: SubordinateRegistry
  readonly publisher: Publisher
}

export function createFoundation(config: Config, deps: FederationDeps): Foundation {
  const { clock, logger } = deps
  let keys: Keystore | undefined
  const metrics = new Metrics(config.metrics.enabled, {
    store: deps.store, keys: { list: () => keys!.list() }, now: () => clock.now(),
    rolloverIntervalSeconds: config.keys.rollover.interval_days * 86_400,
  })
  const store = config.metrics.enabled ? measuredStore(deps.store, metrics) : deps.store
  const ca = readOutboundCa(config)
  const unmeasured = deps.fetcher ?? createFetcher({
    allowHttp: config.outbound.allow_http,
    allowPrivateNetwork: config.outbound.allow_private_network,
    timeoutMs: config.outbound.timeout_ms,
    maxResponseBytes: config.outbound.max_response_bytes,
    ...(ca ? { ca } : {}),
  })
  const fetcher = config.metrics.enabled ? measuredFetcher(unmeasured, metrics) : unmeasured
  const audit = new AuditLog(store, clock, logger, {
    windowSeconds: config.audit.refusal_window_seconds,
    sources: config.audit.refusal_sources,
    eventsPerWindow: config.audit.refusal_events_per_window,
    maxPathLength: config.audit.max_path_length,
  })
  const keystore = (keys = new Keystore({
    store, clock, logger, alg: config.signing_alg, ...(config.kek ? { kek: config.kek } : {}),
    propagationDelay: config.keys.propagation_delay_seconds,
    event: (...a) => audit.event(...a),
    rollover: { intervalSeconds: config.keys.rollover.interval_days * 86_400, checkSeconds: config.keys.rollover.check_seconds },
  }))
  const changes = new ChangeFeed()
  changes.follow(store)
  return { config, entityId: config.entity_id, store, clock, logger, fetcher, keystore, audit, changes, metrics }
}

/** Keys at start: KEK checks, the keys file seeded into an empty store, a signing key ensured. */
export async function startFoundation(f: Foundation): Promise<void> {
  if (f.config.kek) await keysAtStart(f)
  const seed = await readKeysFile(f.config.dir)
  if (seed) await f.keystore.seed(seed.keys)
  await f.keystore.ensureKey()
  f.keystore.scheduleRollover()
}

/**
 * Stops following the store (shutdown): once this resolves, nothing of the foundation
 * reads or writes it, so the store can be closed. Capabilities stop first (their hooks).
 */
export async function stopFederation(f: Federation): Promise<void> {
  await f.audit.stop() // refusals still counted in memory are recorded
  f.changes.stop()
  await f.publisher.stop()
  await f.keystore.stop()
}

/** Private keys at rest against ANCHORAGE_KEK: keys in clear refuse the start; legacy seals are re-sealed (audited). */
async function keysAtStart(f: Foundation): Promise<void> {
  const { config, store, audit, logger } = f
  const resealed = await checkKeysAtStart({
    store, kek: Kek.of(config.kek!), dir: config.dir,
    event: (kid, from) => audit.event('anchorage', 'key.encrypt', 'success', kid, { from }),
    keysFile: { read: () => readKeysFile(config.dir), write: (file) => writeKeysFile(config.dir, file) },
  })
  if (resealed.length) logger.info('private keys re-sealed under ANCHORAGE_KEK with a per-deployment salt', { keys: resealed.map((k) => `${k.where}:${k.kid}`) })
}

/**
 * The entity configuration's claims other than iss/sub/iat/exp/jwks (spec "Entity
 * Configuration"); `endpoints` are the federation endpoints the capabilities declare.
 */
export function baseClaims(config: Config, endpoints: Readonly<Record<string, string>>): Partial<EntityStatement> {
  const metadata: Record<string, Record<string, unknown>> = {}
  for (const [type, values] of Object.entries(config.metadata)) metadata[type] = { ...values }
  metadata.federation_entity = { ...config.organization, ...metadata.federation_entity, ...endpoints }
  return {
    metadata,
    ...(config.authority_hints.length ? { authority_hints: [...config.authority_hints] } : {}),
    ...(config.trust_anchor_hints ? { trust_anchor_hints: [...config.trust_anchor_hints] } : {}),
  }
}
