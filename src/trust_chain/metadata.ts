/**
 * Resolved metadata of a validated path (spec "Metadata Policy > Enforcement"): combine
 * the subordinate statements' policies from the anchor's down, then apply the immediate
 * superior's `metadata`, `allowed_entity_types`, and the combined policy to the subject's
 * metadata for the requested entity types. A policy that cannot be combined makes the
 * chain invalid (invalid_trust_chain); metadata the policy rejects is invalid_metadata.
 */
import { PolicyError, type PolicyEngine, type PolicyExplanation, type PolicyStatement } from '../metadata_policy/index.js'
import type { Metadata } from '../types.js'
import { emptyRecord, own } from '../util/json.js'
import { ChainError } from './errors.js'
import { allowedEntityTypes, whoRemoves } from './constraints.js'
import type { PathNode } from './types.js'

/** `explain`: records each policy's contribution and each operator's application (the admin API's resolve explain). */
export function resolvedMetadata(engine: PolicyEngine, nodes: readonly PathNode[], entityTypes: readonly string[] | undefined, explain?: PolicyExplanation): Metadata {
  const subject = nodes[0]!
  const name = `metadata of ${subject.id}`
  const own = filterTypes(subject.ec.claims.metadata ?? {}, entityTypes)
  const superiors = nodes.slice(1)
  let metadata: Metadata = own
  if (superiors.length) {
    const constraints = superiors.map((n) => n.ss?.claims.constraints)
    const labels = superiors.map((n) => n.ss?.label ?? n.id)
    const statements: PolicyStatement[] = superiors
      .map((n) => ({
        policy: n.ss?.claims.metadata_policy,
        crit: n.ss?.claims.metadata_policy_crit,
        issuer: n.id,
        subject: n.ss?.claims.sub,
        label: n.ss?.label,
      }))
      .reverse()
    let policy
    try {
      policy = engine.resolvePolicies(statements, explain ? { explain } : {})
    } catch (err) {
      if (err instanceof PolicyError) throw new ChainError(err.statement ?? 'metadata_policy', 'metadata_policy', policyDetail(err), 'chain', { cause: err })
      throw err
    }
    const allowed = allowedEntityTypes(constraints)
    try {
      metadata = engine.applyMetadataPolicy(own, { policy, superiorMetadata: superiors[0]!.ss?.claims.metadata, allowedEntityTypes: allowed, ...(explain ? { explain } : {}) })
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err
      if (err.error === 'invalid_policy') throw new ChainError(err.statement ?? 'metadata_policy', 'metadata_policy', policyDetail(err), 'chain', { cause: err })
      throw new ChainError(name, 'invalid_metadata', policyDetail(err), 'metadata', { cause: err })
    }
    requireTypes(metadata, entityTypes, name, (t) => whoRemoves(t, constraints, labels))
  } else {
    requireTypes(metadata, entityTypes, name, () => undefined)
  }
  return metadata
}

/** `"openid_relying_party.scope", operator "subset_of": reason` (the statement is named separately). */
function policyDetail(err: PolicyError): string {
  const where = [err.entityType, err.parameter].filter((p) => p !== undefined).join('.')
  const parts = [where && `"${where}"`, err.operator && `operator "${err.operator}"`].filter(Boolean)
  return parts.length ? `${parts.join(', ')}: ${err.reason}` : err.reason
}

/**
 * The requested types the subject has. Type names come from the query: `toString` or
 * `__proto__` are read as the subject's own members only, so a type it lacks is absent.
 */
function filterTypes(metadata: Metadata, entityTypes: readonly string[] | undefined): Metadata {
  if (!entityTypes) return metadata
  const out = emptyRecord<Metadata[string]>()
  for (const t of entityTypes) {
    const m = own(metadata, t)
    if (m !== undefined) out[t] = m as Metadata[string]
  }
  return out
}

/** With entity_type in the request, at least one requested type must survive (else another chain may do better). */
function requireTypes(metadata: Metadata, entityTypes: readonly string[] | undefined, name: string, remover: (t: string) => string | undefined): void {
  if (!entityTypes || entityTypes.some((t) => own(metadata, t) !== undefined)) return
  const reasons = entityTypes.map((t) => {
    const by = remover(t)
    return by ? `${t} is not allowed by the allowed_entity_types of ${by}` : `${t} is not in the subject's metadata`
  })
  throw new ChainError(name, by(entityTypes, remover) ? 'allowed_entity_types' : 'entity_type', `no metadata for the requested entity type(s): ${reasons.join('; ')}`, 'metadata')
}

function by(types: readonly string[], remover: (t: string) => string | undefined): boolean {
  return types.some((t) => remover(t) !== undefined)
}
