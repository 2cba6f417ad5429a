/**
 * An engine bound to one set of operators. The module-level functions in index.ts build the
 * registry per call when `operators` are given; an engine builds it once (cheaper in hot paths).
 */
import { applyWith, type ApplyOptions } from './apply.js'
import { applyMetadataPolicyWith, type ApplyMetadataPolicyOptions } from './metadata.js'
import { createRegistry, STANDARD_REGISTRY, type OperatorRegistry } from './registry.js'
import { resolveEntityTypeWith, resolveWith, type ResolveOptions } from './resolve.js'
import { policyStructureErrors, validatePolicyStructureWith } from './structure.js'
import type { EngineOptions, EntityTypeMetadata, Metadata, MetadataPolicy, ParameterPolicies, PolicyStatement } from './types.js'

export interface PolicyEngine {
  readonly registry: OperatorRegistry
  resolvePolicies(statements: readonly PolicyStatement[], options?: ResolveOptions): MetadataPolicy
  resolveEntityTypePolicies(
    statements: readonly PolicyStatement<ParameterPolicies>[],
    options?: ResolveOptions & { entityType?: string | undefined },
  ): ParameterPolicies
  applyPolicy(metadata: EntityTypeMetadata, policy: ParameterPolicies, options?: ApplyOptions): EntityTypeMetadata
  applyMetadataPolicy(leafMetadata: Metadata, options?: ApplyMetadataPolicyOptions): Metadata
  validatePolicyStructure(policy: unknown, crit?: readonly string[]): void
  policyStructureErrors(policy: unknown, crit?: readonly string[]): string[]
}

/**
 * @example
 * const engine = createPolicyEngine({ operators: [regexpOperator] })
 * const policy = engine.resolvePolicies([{ policy: taPolicy }, { policy: iaPolicy, crit: ['regexp'] }])
 * const metadata = engine.applyMetadataPolicy(leaf.metadata, { policy })
 */
export function createPolicyEngine(options: EngineOptions = {}): PolicyEngine {
  const registry = registryFor(options)
  return Object.freeze({
    registry,
    resolvePolicies: (statements, opts) => resolveWith(registry, statements, opts),
    resolveEntityTypePolicies: (statements, opts) => resolveEntityTypeWith(registry, statements, opts),
    applyPolicy: (metadata, policy, opts) => applyWith(registry, metadata, policy, opts),
    applyMetadataPolicy: (leaf, opts) => applyMetadataPolicyWith(registry, leaf, opts),
    validatePolicyStructure: (policy, crit) => validatePolicyStructureWith(registry, policy, crit),
    policyStructureErrors: (policy, crit) => policyStructureErrors(registry, policy, crit),
  } satisfies PolicyEngine)
}

export function registryFor(options: EngineOptions | undefined): OperatorRegistry {
  const extra = options?.operators
  return extra === undefined || extra.length === 0 ? STANDARD_REGISTRY : createRegistry(extra)
}
