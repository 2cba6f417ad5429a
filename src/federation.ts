/**
 * The domain composition of one entity: configuration + store + clock + logger in,
 * the capabilities out. No module-level state: several federations can live in one process.
 */
import { readFileSync } from 'node:fs'
import type { Config } from './config/load.js'
import { readKeysFile, writeKeysFile } from './config/load.js'
import { checkKeysAtStart } from './crypto/key_encryption.js'
import type { Store } from './storage/types.js'
import type { Clock } from './clock.js'
import type { Logger } from './logger.js'
import { Keystore } from './crypto/keystore.js'
import { AuditLog } from './audit/audit.js'
import { SubordinateRegistry } from './subordinates/registry.js'
import { Publisher } from './entity/publisher.js'
import { createFetcher, type Fetcher } from './net/fetch.js'
import { Budget, budgetLimits } from './trust_chain/budget.js'
import type { EntityStatement, MetadataPolicy } from './types.js'

export interface FederationDeps {
  config: Config
  store: Store
  clock: Clock
  logger: Logger
  fetcher?: Fetcher
  /** Metadata policy check used at onboarding (the policy engine). */
  checkPolicy?: (policy: MetadataPolicy, crit: string[] | undefined) => void
}

export interface Federation {
  readonly config: Config
  readonly entityId: string
  readonly store: Store
  readonly clock: Clock
  readonly logger: Logger
  readonly fetcher: Fetcher
  readonly keystore: Keystore
  readonly audit: AuditLog
  readonly subordinates: SubordinateRegistry
  readonly publisher: Publisher
  /** Endpoint URLs by metadata parameter name, set by the HTTP layer from its routes. */
  endpoints: Record<string, string>
  start(): Promise<void>
  /**
   * Stops following the store (shutdown): once this resolves, nothing of the foundation
   * reads or writes it, so the store can be closed. Capabilities stop first (their hooks).
   */
  stop(): Promise<void>
}

export function createFederation(deps: FederationDeps): Federation {
  const { config, store, clock, logger } = deps
  const fetcher = deps.fetcher ?? createFetcher({
    allowHttp: config.outbound.allow_http,
    allowPrivateNetwork: config.outbound.allow_private_network,
    timeoutMs: config.outbound.timeout_ms,
    maxResponseBytes: config.outbound.max_response_bytes,
    ...(config.outbound.ca_file ? { ca: readFileSync(config.outbound.ca_file) } : {}),
  })
  const audit = new AuditLog(store, clock, logger, {
    windowSeconds: config.audit.refusal_window_seconds,
    sources: config.audit.refusal_sources,
    eventsPerWindow: config.audit.refusal_events_per_window,
    maxPathLength: config.audit.max_path_length,
  })
  const keystore = new Keystore({
    store, clock, logger, alg: config.signing_alg, ...(config.kek ? { kek: config.kek } : {}),
    propagationDelay: config.keys.propagation_delay_seconds,
    event: (...a) => audit.event(...a),
    rollover: { intervalSeconds: config.keys.rollover.interval_days * 86_400, checkSeconds: config.keys.rollover.check_seconds },
  })
  const subordinates = new SubordinateRegistry({
    entityId: config.entity_id, store, clock, audit, fetcher, skew: config.clock_skew,
    // Onboarding without jwks fetches the member's configuration: within a resolution's budget.
    budget: () => new Budget(budgetLimits(config.resolver), clock),
    // http members only where this deployment itself may use http.
    allowHttp: config.development || config.outbound.allow_http,
    ...(deps.checkPolicy ? { checkPolicy: deps.checkPolicy } : {}),
  })
  const federation: Federation = {
    config, entityId: config.entity_id, store, clock, logger, fetcher, keystore, audit, subordinates,
    endpoints: {},
    publisher: undefined as unknown as Publisher,
    async start() {
      if (config.kek) await keysAtStart(federation)
      const seed = await readKeysFile(config.dir)
      if (seed) await keystore.seed(seed.keys)
      await keystore.ensureKey()
      keystore.scheduleRollover()
    },
    async stop() {
      await audit.stop() // refusals still counted in memory are recorded
      await publisher.stop()
      await keystore.stop()
    },
  }
  const publisher = new Publisher({
    entityId: config.entity_id, store, clock, keystore, lifetimes: config.lifetimes,
    baseClaims: () => baseClaims(federation),
  })
  ;(federation as { publisher: Publisher }).publisher = publisher
  return federation
}

/** Private keys at rest against ANCHORAGE_KEK: keys in clear refuse the start; legacy seals are re-sealed (audited). */
async function keysAtStart(f: Federation): Promise<void> {
  const { config, store, audit, logger } = f
  const resealed = await checkKeysAtStart({
    store, kek: config.kek!, dir: config.dir,
    event: (kid, from) => audit.event('anchorage', 'key.encrypt', 'success', kid, { from }),
    keysFile: { read: () => readKeysFile(config.dir), write: (file) => writeKeysFile(config.dir, file) },
  })
  if (resealed.length) logger.info('private keys re-sealed under ANCHORAGE_KEK with a per-deployment salt', { keys: resealed.map((k) => `${k.where}:${k.kid}`) })
}

/** The entity configuration's claims other than iss/sub/iat/exp/jwks (spec "Entity Configuration"). */
function baseClaims(f: Federation): Partial<EntityStatement> {
  const { config } = f
  const metadata: Record<string, Record<string, unknown>> = {}
  for (const [type, values] of Object.entries(config.metadata)) metadata[type] = { ...values }
  metadata.federation_entity = { ...config.organization, ...metadata.federation_entity, ...f.endpoints }
  return {
    metadata,
    ...(config.authority_hints.length ? { authority_hints: [...config.authority_hints] } : {}),
    ...(config.trust_anchor_hints ? { trust_anchor_hints: [...config.trust_anchor_hints] } : {}),
  }
}
