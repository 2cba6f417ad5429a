/**
 * The composition root: `createService(config, deps)` builds the foundation once, each
 * capability for it, then the subordinate registry (with the capabilities' policy checks)
 * and the publisher (with their claims and list filters). Everything that serves the
 * deployment (cli/serve.ts, the demo, tests, benches) starts it through here; the HTTP
 * layer reads the declarations (src/http/app.ts, src/http/server.ts).
 *
 *   foundation (keys, audit, fetcher, change feed)
 *     -> capabilities (policy check, trust marks, resolver, authorization server)
 *     -> subordinate registry, publisher -> the federation capability (its endpoints)
 */
import type { Config } from './config/load.js'
import { compileSchemas } from './config/schemas.js'
import { createFoundation, startFoundation, stopFederation, baseClaims, type Federation, type FederationDeps } from './federation.js'
import { SubordinateRegistry } from './subordinates/registry.js'
import { scheduleKeyRefresh } from './subordinates/key_refresh_schedule.js'
import { Publisher } from './entity/publisher.js'
import { publishedMembers } from './subordinates/published.js'
import { Budget, budgetLimits } from './trust_chain/budget.js'
import { trustedAnchors } from './trust_chain/anchors.js'
import { createAnchorPins } from './trust_chain/anchor_pins.js'
import type { LocalStatements } from './trust_chain/source.js'
import { createTrustMarkVerifier } from './trust_marks/verify.js'
import { localTrustMarks } from './trust_marks/local_status.js'
import { policyCheckCapability } from './capabilities/policy_check.js'
import { trustMarksCapability } from './capabilities/trust_marks.js'
import { resolverCapability } from './capabilities/resolver.js'
import { authorizationServerCapability } from './capabilities/authorization_server.js'
import { federationCapability, FEDERATION_ROUTES } from './capabilities/federation.js'
import { publishedEndpoints, type Capability } from './capabilities/types.js'

export interface Service {
  readonly config: Config
  readonly federation: Federation
  /** In composition order; the federation capability (the foundation's endpoints) last. */
  readonly capabilities: readonly Capability[]
  /** `federation_*_endpoint` URLs published in the entity configuration. */
  readonly endpoints: Readonly<Record<string, string>>
  /** Keys at start, then the capabilities' start hooks in order. */
  start(): Promise<void>
  /**
   * The capabilities' stop hooks in reverse order, then the foundation stops following the
   * store: once this resolves nothing reads or writes it, so the store can be closed.
   */
  stop(): Promise<void>
}

export function createService(config: Config, deps: FederationDeps): Service {
  // Every JSON Schema is compiled now, at start-up, not by the first request that needs one.
  compileSchemas()
  const foundation = createFoundation(config, deps)
  const { clock } = foundation
  // Pinned anchors follow their key rollover (trust_chain/anchor_pins.ts).
  const anchors = trustedAnchors(config, () => foundation.keystore.jwks(), createAnchorPins(foundation))
  // The resolver and the registrar read what this deployment signs; the publisher, which
  // signs it, takes the capabilities' claims and filters, so it is built after them and
  // reached through this port (called per resolution, never during construction).
  const statements: LocalStatements = {
    entityId: config.entity_id,
    entityConfiguration: () => publisher.entityConfiguration(),
    subordinateStatement: (sub) => publisher.subordinateStatement(sub),
  }
  const trustMarks = trustMarksCapability(foundation)
  // Marks this deployment issued: its own records; other issuers: their status endpoint (docs/trust-marks.md).
  // One verifier for resolve answers and registration (registration.required_trust_marks): one status cache.
  const verifier = createTrustMarkVerifier({
    clock, skew: config.clock_skew, local: localTrustMarks(config.entity_id, trustMarks.services.issuer, clock),
    status: { fetcher: foundation.fetcher, when: config.trust_marks.status_check, cacheSeconds: config.trust_marks.status_cache_seconds },
  })
  const as = authorizationServerCapability(foundation, { statements, anchors, verifier })
  const declared: Capability[] = [
    policyCheckCapability(),
    trustMarks,
    resolverCapability(foundation, { statements, anchors, verifier }),
    ...(as ? [as] : []),
  ]
  const checks = declared.flatMap((c) => (c.checkPolicy ? [c.checkPolicy] : []))
  const subordinates = new SubordinateRegistry({
    entityId: config.entity_id, store: foundation.store, clock, audit: foundation.audit, fetcher: foundation.fetcher, skew: config.clock_skew,
    // Onboarding without jwks fetches the member's configuration: within a resolution's budget.
    budget: () => new Budget(budgetLimits(config.resolver), clock),
    // http members only where this deployment itself may use http.
    allowHttp: config.development || config.outbound.allow_http,
    ...(checks.length ? { checkPolicy: (policy, crit) => checks.forEach((check) => check(policy, crit)) } : {}),
    keyRefreshConcurrency: config.subordinates.key_refresh_concurrency,
    previewConcurrency: config.subordinates.preview_concurrency,
  })
  const endpoints = publishedEndpoints(config.entity_id, [...declared, { kind: 'federation', routes: FEDERATION_ROUTES }])
  const publisher = new Publisher({
    entityId: config.entity_id, members: publishedMembers(foundation.store), clock, keystore: foundation.keystore, lifetimes: config.lifetimes,
    changes: foundation.changes,
    baseClaims: () => baseClaims(config, endpoints),
    contributors: declared.flatMap((c) => c.claims ?? []),
    listFilters: declared.flatMap((c) => c.listFilters ?? []),
  })
  const federation: Federation = { ...foundation, subordinates, publisher }
  const capabilities: Capability[] = [...declared, federationCapability(publisher)]
  let stopKeyRefresh = (): Promise<void> => Promise.resolve()
  return {
    config, federation, capabilities, endpoints,
    async start() {
      await startFoundation(foundation)
      for (const c of capabilities) await c.start?.()
      // Members' key rollover followed on a schedule (docs/admin-api.md, "Subordinate key refresh").
      stopKeyRefresh = scheduleKeyRefresh(subordinates.keys, { seconds: config.subordinates.key_refresh_seconds, logger: foundation.logger })
    },
    async stop() {
      await stopKeyRefresh()
      for (const c of [...capabilities].reverse()) await c.stop?.()
      await stopFederation(federation)
    },
  }
}

/** The service's capability of one kind (e.g. the resolver, for its cache), if composed. */
export function capabilityOf<K extends Capability['kind']>(service: Service, kind: K): Extract<Capability, { kind: K }> | undefined {
  return service.capabilities.find((c): c is Extract<Capability, { kind: K }> => c.kind === kind)
}
