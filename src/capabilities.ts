/**
 * The capabilities a running service is assembled from, beyond the foundation: each
 * contributes federation dependencies, HTTP routes, and start/stop hooks. `merge` composes
 * them so that none overwrites another's routes or hooks.
 */
import type { FederationDeps, Federation } from './federation.js'
import type { AppExtension } from './http/app.js'
import { validatePolicyStructure } from './metadata_policy/index.js'
import { trustMarksCapability } from './trust_marks/capability.js'
import { createTrustMarkVerifier } from './trust_marks/verify.js'
import { resolverCapability } from './trust_chain/capability.js'
import { authorizationServerCapability } from './authorization_server/capability.js'

export interface Capabilities {
  federationDeps: Partial<FederationDeps>
  http: AppExtension[]
  start?(f: Federation): Promise<void>
  stop?(f: Federation): Promise<void>
}

export function capabilities(): Capabilities {
  const trustMarks = trustMarksCapability()
  return merge([
    // Malformed or inconsistent metadata policies are refused at onboarding.
    { federationDeps: { checkPolicy: (policy, crit) => validatePolicyStructure(policy, crit) } },
    trustMarks,
    resolverCapability({
      // Marks this deployment issued: its own records; other issuers: their status endpoint (docs/trust-marks.md).
      verifier: (f) => createTrustMarkVerifier({
        clock: f.clock, skew: f.config.clock_skew, local: trustMarks.local(f),
        status: { fetcher: f.fetcher, when: f.config.trust_marks.status_check, cacheSeconds: f.config.trust_marks.status_cache_seconds },
      }),
    }),
    // Inert unless authorization_server.enabled.
    authorizationServerCapability(),
  ])
}

/** Concatenates routes, runs start hooks in order and stop hooks in reverse. */
export function merge(parts: Array<Partial<Capabilities>>): Capabilities {
  const starts = parts.flatMap((p) => (p.start ? [p.start] : []))
  const stops = parts.flatMap((p) => (p.stop ? [p.stop] : [])).reverse()
  return {
    federationDeps: Object.assign({}, ...parts.map((p) => p.federationDeps ?? {})) as Partial<FederationDeps>,
    http: parts.flatMap((p) => p.http ?? []),
    async start(f) {
      for (const s of starts) await s(f)
    },
    async stop(f) {
      for (const s of stops) await s(f)
    },
  }
}
