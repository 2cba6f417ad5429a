/**
 * What the trust registry checks before it stores a member: the record as it would be stored
 * (for a PATCH, the current record with the patch applied) must give a subordinate statement
 * that this deployment's own resolver accepts, so Anchorage never signs what it would refuse.
 * Every refusal is an InvalidRequest naming the field ("jwks.keys[1].p: ...").
 */
import { InvalidRequest, Conflict, type FederationError } from '../errors.js'
import { entityIdProblem } from '../entity_id.js'
import { subordinateClaims } from './published.js'
import { publicJwksProblem } from '../crypto/jwks.js'
import { checkStatementClaims, SPEC_CLAIMS } from '../trust_chain/entity_statement.js'
import { ChainError } from '../trust_chain/errors.js'
import { namingViolation } from '../trust_chain/constraints.js'
import { resolvePolicies, applyPolicy, PolicyError } from '../metadata_policy/index.js'
import type { MetadataPolicy } from '../types.js'
import type { StatementFields, SubordinateRecord } from './registry.js'

export interface MemberCheckDeps {
  /** This entity: the issuer of the statements. */
  entityId: string
  /** Accept http entity ids and source endpoints (development, or outbound.allow_http). */
  allowHttp: boolean
  /** The policy engine's structural check (schema, operator values, combinations). */
  checkPolicy?: ((policy: MetadataPolicy, crit: string[] | undefined) => void) | undefined
}

/** The fields of a member that its subordinate statement carries. */
export type MemberStatement = StatementFields & Pick<SubordinateRecord, 'entity_id' | 'jwks'>

export class MemberChecks {
  constructor(private readonly d: MemberCheckDeps) {}

  /** Entity identifiers stored by this deployment: https (http when allowed), canonical (src/entity_id.ts). */
  entityId(id: string): void {
    const problem = entityIdProblem(id, { allowHttp: this.d.allowHttp })
    if (problem) throw new InvalidRequest(`entity_id: ${problem}`)
  }

  /** Every key a real public signing key, imported with jose; kids present and unique. */
  async jwks(jwks: unknown, from?: string): Promise<void> {
    const problem = await publicJwksProblem(jwks)
    if (problem) throw new InvalidRequest(`jwks.${problem}${from ? ` (in ${from})` : ''}`)
  }

  /** The checks that need no key import, on the fields given (jwks may still be missing). */
  fields(f: StatementFields): void {
    this.crit(f.crit)
    if (f.metadata !== undefined) metadataNulls(f.metadata)
    if (f.source_endpoint !== undefined) this.sourceEndpoint(f.source_endpoint)
    this.policy(f)
  }

  /**
   * The whole statement: the fields, then the claims it would carry through the resolver's
   * own subordinate statement checks (trust_chain/entity_statement.ts). Synchronous, so that
   * it can run inside the store's atomic update; the keys must have been checked with jwks().
   */
  statement(rec: MemberStatement, now: number): void {
    this.fields(rec)
    const claims = subordinateClaims(this.d.entityId, rec as SubordinateRecord, now, 1) as unknown as Record<string, unknown>
    try {
      // No extension claims are understood: the resolver of this deployment understands none.
      checkStatementClaims(claims, 'subordinate_statement', this.d.entityId, rec.entity_id)
    } catch (err) {
      if (!(err instanceof ChainError)) throw err
      const field = err.rule === 'claims' ? 'statement' : err.rule
      const message = err.message.startsWith(`${field} `) ? err.message.slice(field.length + 1) : err.message
      throw new InvalidRequest(`${field}: ${message}`, { cause: err })
    }
    // Spec "Naming Constraints" hold for the statement's own subject too (checkChainConstraints).
    const nc = rec.constraints?.naming_constraints
    const why = nc ? namingViolation(rec.entity_id, nc) : undefined
    if (why) throw new InvalidRequest(`constraints.naming_constraints: the statement's own subject breaks them: ${why}`)
  }

  /**
   * For a PATCH: checks `merged` (the current record with the patch applied) now, including
   * its keys, and returns the synchronous check to run on the record the store will actually
   * write. That record differs only when another write came in between; if it changed the
   * keys (not checked here), the answer is 409 and the operator retries.
   */
  async forUpdate(merged: MemberStatement, now: number): Promise<(next: MemberStatement) => FederationError | undefined> {
    await this.jwks(merged.jwks)
    this.statement(merged, now)
    const checkedKeys = JSON.stringify(merged.jwks)
    return (next) => {
      if (JSON.stringify(next.jwks) !== checkedKeys) return new Conflict(`jwks: the keys of ${next.entity_id} changed during this update; retry`)
      try {
        this.statement(next, now)
        return undefined
      } catch (err) {
        if (err instanceof InvalidRequest) return err
        throw err
      }
    }
  }

  /**
   * Spec "crit" Claim: producers list only extension claims the statement carries; a member
   * record carries none, so every name is refused (spec claim names with their own reason).
   */
  private crit(crit: string[] | undefined): void {
    for (const c of crit ?? []) {
      if (SPEC_CLAIMS.has(c)) throw new InvalidRequest(`crit: must not list the spec claim "${c}"`)
      throw new InvalidRequest(`crit: "${c}" is not a claim of this statement (only extension claims the statement carries may be listed)`)
    }
  }

  /** Spec "source_endpoint": the fetch endpoint URL the statement was issued from. */
  private sourceEndpoint(s: string): void {
    let u: URL | undefined
    try {
      u = new URL(s)
    } catch {
      u = undefined
    }
    const schemeOk = u?.protocol === 'https:' || (u?.protocol === 'http:' && this.d.allowHttp)
    if (!u || !schemeOk || !u.hostname) {
      throw new InvalidRequest(`source_endpoint: must be an https URL${this.d.allowHttp ? ' (or http)' : ''} with a host`)
    }
    if (s.includes('#')) throw new InvalidRequest('source_endpoint: must not have a fragment')
  }

  /**
   * What the resolver does with this statement's policy in any chain (spec "Policy Resolution"),
   * and the statement's own metadata under its own policy: a parameter the statement sets is
   * set for every subject, so a policy that rejects it rejects every chain through it.
   */
  private policy(f: StatementFields): void {
    const policy = f.metadata_policy
    const crit = f.metadata_policy_crit
    if (policy === undefined && crit === undefined) return
    if (policy !== undefined && this.d.checkPolicy) {
      try {
        this.d.checkPolicy(policy, undefined)
      } catch (err) {
        throw new InvalidRequest(`metadata_policy: ${(err as Error).message}`, { cause: err })
      }
    }
    try {
      resolvePolicies([{ policy, crit, issuer: this.d.entityId, subject: '', label: 'this statement' }])
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err
      const field = crit !== undefined && /metadata_policy_crit/.test(err.reason) ? 'metadata_policy_crit' : 'metadata_policy'
      throw new InvalidRequest(`${field}: ${describe(err)}`, { cause: err })
    }
    if (policy !== undefined) leafIndependentResults(policy, f.metadata ?? {})
  }
}

/** Spec "Entity Statement Validation" step 16: metadata does not use null values. */
function metadataNulls(metadata: Record<string, Record<string, unknown>>): void {
  for (const type of Object.keys(metadata)) {
    const params = metadata[type]!
    for (const p of Object.keys(params)) {
      if (params[p] === null) throw new InvalidRequest(`metadata.${type}.${p}: must not be null`)
    }
  }
}

/**
 * Parameters whose result does not depend on the subject: those the statement's own metadata
 * sets (they override the subject's, spec "metadata" claim) and those the policy sets with a
 * non-null `value`. If the policy rejects such a result, it rejects it for every subject of
 * that entity type, so the statement could never be part of a valid chain for one.
 */
function leafIndependentResults(policy: MetadataPolicy, metadata: Record<string, Record<string, unknown>>): void {
  for (const type of Object.keys(policy)) {
    const typePolicy = policy[type]!
    const params = Object.hasOwn(metadata, type) ? metadata[type]! : {}
    for (const p of Object.keys(typePolicy)) {
      const ops = typePolicy[p]!
      const set = Object.hasOwn(params, p)
      if (!set && !(Object.hasOwn(ops, 'value') && ops.value !== null)) continue
      try {
        applyPolicy(set ? Object.fromEntries([[p, params[p]]]) : {}, Object.fromEntries([[p, ops]]), { entityType: type })
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err
        const field = set ? `metadata.${type}.${p}: refused by this statement's own metadata_policy` : 'metadata_policy: the result of "value" is refused by the other operators'
        throw new InvalidRequest(`${field}: ${describe(err)}`, { cause: err })
      }
    }
  }
}

/** `"openid_relying_party.scope", operator "subset_of": reason` without the statement label. */
function describe(err: PolicyError): string {
  const where = [err.entityType, err.parameter].filter((p) => p !== undefined).join('.')
  const parts = [where && `"${where}"`, err.operator && `operator "${err.operator}"`].filter(Boolean)
  return parts.length ? `${parts.join(', ')}: ${err.reason}` : err.reason
}
