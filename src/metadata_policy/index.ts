/**
 * Metadata policy engine (OpenID Federation 1.0, "Metadata Policy"): resolution of the
 * `metadata_policy` claims of a Trust Chain and their application to the subject's metadata.
 * Pure: no I/O after load, no clock, no shared mutable state.
 *
 * Error mapping for the HTTP layer: PolicyError#toWireCode() - `invalid_policy` becomes
 * `invalid_trust_chain`, `invalid_metadata` stays `invalid_metadata`.
 *
 * @example
 * const policy = resolvePolicies([
 *   { policy: taStatement.metadata_policy, issuer: ta, subject: ia },   // index 0: the Trust Anchor's
 *   { policy: iaStatement.metadata_policy, issuer: ia, subject: rp },   // last: the Immediate Superior's
 * ])
 * const metadata = applyMetadataPolicy(rpConfiguration.metadata, {
 *   policy, superiorMetadata: iaStatement.metadata, allowedEntityTypes: ['openid_relying_party'],
 * })
 */
import { applyWith, type ApplyOptions } from './apply.js'
import { registryFor } from './engine.js'
import { applyMetadataPolicyWith, type ApplyMetadataPolicyOptions } from './metadata.js'
import { resolveEntityTypeWith, resolveWith, type ResolveOptions } from './resolve.js'
import { policyStructureErrors as structureErrors, validatePolicyStructureWith } from './structure.js'
import type { EngineOptions, EntityTypeMetadata, Metadata, MetadataPolicy, ParameterPolicies, PolicyStatement } from './types.js'

export { PolicyError, OperatorError, type PolicyErrorCode, type PolicyErrorLocation } from './errors.js'
export { PolicyExplanation } from './explain.js'
export type { OperatorProvenance, ParameterProvenance, ApplicationStep, ParameterApplication } from './explain.js'
export { createPolicyEngine, type PolicyEngine } from './engine.js'
export { intersectAllowedEntityTypes, type ApplyMetadataPolicyOptions } from './metadata.js'
export { statementLabel, type ResolveOptions } from './resolve.js'
export type { ApplyOptions } from './apply.js'
export { CONDITIONAL_PAIRS } from './combinations.js'
export { STANDARD_OPERATORS, STANDARD_OPERATOR_NAMES } from './operators/index.js'
export { createRegistry, isStandardOperator, type OperatorRegistry } from './registry.js'
export { ABSENT } from './types.js'
export type {
  MetadataPolicy, ParameterPolicies, ParameterPolicy, Metadata, EntityTypeMetadata, ParameterState,
  OperatorContext, PolicyOperator, PolicyStatement, EngineOptions,
} from './types.js'
export type { ValueKind } from './json.js'

/**
 * Resolves the `metadata_policy` claims of a chain's Subordinate Statements, index 0 being the
 * one issued by the Trust Anchor and the last the one issued by the subject's Immediate
 * Superior. Throws PolicyError `invalid_policy` naming statement, Entity Type, parameter and operator.
 */
export function resolvePolicies(statements: readonly PolicyStatement[], options: ResolveOptions & EngineOptions = {}): MetadataPolicy {
  return resolveWith(registryFor(options), statements, options)
}

/** resolvePolicies for the policies of a single Entity Type (parameter -> operators). */
export function resolveEntityTypePolicies(
  statements: readonly PolicyStatement<ParameterPolicies>[],
  options: ResolveOptions & EngineOptions & { entityType?: string | undefined } = {},
): ParameterPolicies {
  return resolveEntityTypeWith(registryFor(options), statements, options)
}

/** Applies a resolved policy to one Entity Type's metadata. Throws PolicyError `invalid_metadata`. */
export function applyPolicy(
  metadata: EntityTypeMetadata,
  policy: ParameterPolicies,
  options: ApplyOptions & EngineOptions = {},
): EntityTypeMetadata {
  return applyWith(registryFor(options), metadata, policy, options)
}

/**
 * The full "Applying Metadata Policies" sequence: the superior's `metadata`, then
 * `allowed_entity_types`, then the resolved policy for every Entity Type present.
 */
export function applyMetadataPolicy(leafMetadata: Metadata, options: ApplyMetadataPolicyOptions & EngineOptions = {}): Metadata {
  return applyMetadataPolicyWith(registryFor(options), leafMetadata, options)
}

/**
 * Checks a policy we are about to publish (e.g. at onboarding); throws PolicyError
 * `invalid_policy`. Usable directly as the app's `checkPolicy(policy, crit)` dependency.
 */
export function validatePolicyStructure(policy: unknown, crit?: readonly string[], options: EngineOptions = {}): void {
  validatePolicyStructureWith(registryFor(options), policy, crit)
}

/** validatePolicyStructure, returning the problems instead of throwing. */
export function policyStructureErrors(policy: unknown, crit?: readonly string[], options: EngineOptions = {}): string[] {
  return structureErrors(registryFor(options), policy, crit)
}
