/**
 * Anchorage as a library (`import { ... } from 'anchorage'`): the service factory, the
 * resolver, the metadata policy engine, the trust mark verifier, the store adapters and the
 * errors, with their types. Everything else under src/ is internal and may change.
 *
 * This module sits above every layer (it only re-exports); nothing under src/ imports it.
 */

// The service: configuration -> store -> federation -> capabilities -> HTTP app -> listener.
export { startService, type RunningService } from './cli/serve.js'
export { createService, capabilityOf, type Service } from './service.js'
export type { Capability, Declaration, FastRoute } from './capabilities/types.js'
export { loadConfig, resolveConfig, checkConfigFile, ConfigError, type Config, type ConfigFile, type Overrides, type ResolverConfig } from './config/load.js'
export { DEFAULTS } from './config/defaults.js'
export type { Federation, Foundation, FederationDeps } from './federation.js'
export { ChangeFeed, type Change } from './changes.js'
export { createApp, type App } from './http/app.js'
export { serve, listen, type RunningServer } from './http/server.js'
export { systemClock, ManualClock, type Clock } from './clock.js'
export { createLogger, silentLogger, type Logger, type LogLevel, type LogFields } from './logger.js'

// The resolver (spec "Resolving the Trust Chain and Metadata") and what it needs.
export { Resolver, type ResolverOptions, type ResolveOptions } from './trust_chain/resolver.js'
export type { TrustAnchor, ResolverLimits, ResolvedChain, ChainLink, PathFailure, Statement, StatementKind } from './trust_chain/types.js'
export { ResolveError } from './trust_chain/errors.js'
export { createFetcher, FetchError, type Fetcher, type FetchOptions, type FetchResponse, type FetchErrorReason } from './net/fetch.js'

// The metadata policy engine (spec "Metadata Policy"): pure, no I/O.
export {
  createPolicyEngine, createRegistry, applyMetadataPolicy, applyPolicy, resolvePolicies, resolveEntityTypePolicies,
  validatePolicyStructure, policyStructureErrors, PolicyError, OperatorError, PolicyExplanation, STANDARD_OPERATORS,
  type PolicyEngine, type PolicyErrorCode, type OperatorRegistry, type ApplyMetadataPolicyOptions, type PolicyOperator,
  type PolicyStatement, type EngineOptions,
} from './metadata_policy/index.js'

// The trust mark verifier (spec "Trust Marks").
export { createTrustMarkVerifier, TrustMarkError, type TrustMarkVerifierOptions, type TrustMarkFailure } from './trust_marks/verify.js'
export type { TrustMarkVerifier, TrustMarkVerifyContext, VerifiedTrustMark, AnchorTrustMarkPolicy } from './trust_chain/trust_mark_verifier.js'

// Software statements (RFC 7591 section 2.3): verification for registration endpoints, and the issuer.
export {
  verifySoftwareStatement, SoftwareStatementError,
  type TrustedIssuer, type VerifyStatementOptions, type SoftwareStatementClaims, type StatementRefusal,
} from './software_statements/verify.js'
export { SoftwareStatements } from './software_statements/service.js'

// The protected-resource toolkit for MCP servers (RFC 9728 metadata, RFC 6750 challenges, RFC 9068 tokens).
export {
  createResourceGuard, protectedResourceMetadataUrl, WELL_KNOWN_PROTECTED_RESOURCE, RESOURCE_DEFAULTS,
  type ResourceGuard, type ResourceGuardOptions, type GuardResult, type IntrospectionOptions,
} from './protected_resource/guard.js'

// Storage: the adapter contract and the two adapters.
export * from './storage/types.js'
export { createEmbeddedStore, type EmbeddedStore, type EmbeddedStoreOptions, type EmbeddedStoreStats } from './storage/embedded.js'
export { createMongoStore, type MongoStore, type MongoStoreOptions } from './storage/mongodb.js'
export { openStore } from './storage/open.js'

// Errors: the one code -> status table and the classes thrown across the public API.
export * from './errors.js'

// Wire shapes and constants.
export type { EntityStatement, Jwks, Metadata, MetadataPolicy, Constraints, NamingConstraints, TrustMarkRef } from './types.js'
export { MEDIA, TYP, WELL_KNOWN_FEDERATION, ENTITY_TYPES, SIGNING_ALGS, type SigningAlg } from './constants.js'
