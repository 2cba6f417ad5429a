/**
 * The whole "Applying Metadata Policies" sequence for all Entity Types of a Trust Chain subject:
 * 1. the Immediate Superior's `metadata` claim (spec "Entity Statement Claims" > metadata:
 *    it "applies only to those Entity Types that are present in the subject's Entity
 *    Configuration" and its parameters "have precedence and override identically named
 *    parameters");
 * 2. `allowed_entity_types` (spec "Entity Type Constraints": "This MUST be done before applying
 *    Metadata Policies but after applying Metadata from a direct superior's Subordinate Statement");
 * 3. the resolved metadata policy, per Entity Type present in the metadata.
 */
import { applyWith } from './apply.js'
import { PolicyError } from './errors.js'
import type { PolicyExplanation } from './explain.js'
import { copyMembers, describeKind, isObject, newObject, own, setMember } from './json.js'
import type { OperatorRegistry } from './registry.js'
import type { Metadata, MetadataPolicy } from './types.js'

export interface ApplyMetadataPolicyOptions {
  /** The resolved metadata policy (resolvePolicies); omitted when the chain has none. */
  policy?: MetadataPolicy | undefined
  /** The `metadata` claim of the Immediate Superior's Subordinate Statement about the subject. */
  superiorMetadata?: Metadata | undefined
  /**
   * The `allowed_entity_types` constraint in force; pass the intersection when several
   * statements of the chain set one (intersectAllowedEntityTypes). `federation_entity` is always kept.
   */
  allowedEntityTypes?: readonly string[] | undefined
  explain?: PolicyExplanation | undefined
}

export function applyMetadataPolicyWith(registry: OperatorRegistry, leafMetadata: unknown, options: ApplyMetadataPolicyOptions = {}): Metadata {
  if (!isObject(leafMetadata)) {
    throw new PolicyError('invalid_metadata', `the metadata claim must be a JSON object, not ${describeKind(leafMetadata)}`)
  }
  const metadata = withSuperiorMetadata(leafMetadata, options.superiorMetadata, options.explain)
  if (options.allowedEntityTypes !== undefined) {
    for (const entityType of Object.keys(metadata)) {
      if (entityType === 'federation_entity' || options.allowedEntityTypes.includes(entityType)) continue
      delete metadata[entityType]
      options.explain?.removedEntityType(entityType)
    }
  }
  const policy = options.policy
  if (policy === undefined || policy === null) return metadata
  if (!isObject(policy)) throw new PolicyError('invalid_policy', `the resolved policy must be a JSON object, not ${describeKind(policy)}`)
  for (const entityType of Object.keys(metadata)) {
    const p = own(policy, entityType)
    if (p === undefined) continue
    setMember(metadata, entityType, applyWith(registry, metadata[entityType], p, { entityType, explain: options.explain }))
  }
  return metadata
}

function withSuperiorMetadata(leaf: Record<string, unknown>, superior: unknown, explain: PolicyExplanation | undefined): Metadata {
  if (superior !== undefined && superior !== null && !isObject(superior)) {
    throw new PolicyError('invalid_metadata', `the superior's metadata claim must be a JSON object, not ${describeKind(superior)}`)
  }
  const sup = isObject(superior) ? superior : undefined
  const out: Metadata = newObject()
  for (const entityType of Object.keys(leaf)) {
    const leafTypeMetadata = leaf[entityType]
    if (!isObject(leafTypeMetadata)) {
      throw new PolicyError('invalid_metadata', `the metadata must be a JSON object, not ${describeKind(leafTypeMetadata)}`, { entityType })
    }
    const forced = sup && own(sup, entityType)
    if (forced === undefined) {
      setMember(out, entityType, copyMembers(leafTypeMetadata))
      continue
    }
    if (!isObject(forced)) {
      throw new PolicyError('invalid_metadata', `the superior's metadata must be a JSON object, not ${describeKind(forced)}`, { entityType })
    }
    const merged = copyMembers(leafTypeMetadata)
    for (const parameter of Object.keys(forced)) setMember(merged, parameter, forced[parameter])
    setMember(out, entityType, merged)
    for (const parameter of Object.keys(forced)) explain?.overridden(entityType, parameter, forced[parameter])
  }
  return out
}

/**
 * The Entity Types every `allowed_entity_types` constraint of a chain allows (each constraint
 * is applied independently, spec "Constraints"); undefined when no statement sets one.
 */
export function intersectAllowedEntityTypes(constraints: ReadonlyArray<readonly string[] | undefined>): string[] | undefined {
  let allowed: string[] | undefined
  for (const list of constraints) {
    if (list === undefined) continue
    allowed = allowed === undefined ? [...list] : allowed.filter((t) => list.includes(t))
  }
  return allowed
}
