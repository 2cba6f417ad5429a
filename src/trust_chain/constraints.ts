/**
 * Spec "Constraints": each subordinate statement's `constraints` apply on their own to
 * the part of the chain below its issuer; any failure makes the chain invalid.
 * Pure functions over entity ids, so they are tested without a federation.
 */
import { isIP } from 'node:net'
import type { Constraints, NamingConstraints } from '../types.js'
import { ChainError } from './errors.js'

/** Step 19 of "Entity Statement Validation": the syntax of a constraints claim; unknown members are ignored. */
export function checkConstraintsSyntax(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'constraints must be a JSON object'
  const c = v as Record<string, unknown>
  const mpl = c.max_path_length
  if (mpl !== undefined && !(Number.isInteger(mpl) && (mpl as number) >= 0)) return 'max_path_length must be an integer >= 0'
  const nc = c.naming_constraints
  if (nc !== undefined) {
    if (typeof nc !== 'object' || nc === null || Array.isArray(nc)) return 'naming_constraints must be a JSON object'
    for (const k of ['permitted', 'excluded'] as const) {
      const list = (nc as Record<string, unknown>)[k]
      if (list !== undefined && !(Array.isArray(list) && list.every((n) => typeof n === 'string' && n !== ''))) {
        return `naming_constraints.${k} must be an array of domain names`
      }
    }
  }
  const aet = c.allowed_entity_types
  if (aet !== undefined) {
    if (!(Array.isArray(aet) && aet.every((t) => typeof t === 'string'))) return 'allowed_entity_types must be an array of entity type identifiers'
    if (aet.includes('federation_entity')) return 'allowed_entity_types must not list federation_entity'
  }
  return undefined
}

/** The host of an entity id, lower-cased, without brackets or a trailing dot. */
export function hostOf(entityId: string): string {
  try {
    return new URL(entityId).hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase()
  } catch {
    return ''
  }
}

/**
 * RFC 5280 section 4.2.1.10 domain name constraints as profiled by spec "Naming
 * Constraints": ".example.com" matches subdomains of example.com (not example.com
 * itself); "host.example.com" matches exactly that host. Comparison ignores case.
 * An IP-literal host is held to the constraints too, but only an identical name matches it.
 */
export function matchesDomainConstraint(host: string, constraint: string): boolean {
  const c = constraint.replace(/\.$/, '').toLowerCase()
  if (c.startsWith('.')) return !isIP(host) && host.length > c.length && host.endsWith(c)
  return host === c
}

/** Why `entityId` violates `nc`, or undefined. Excluded wins over permitted; an empty or absent permitted list permits everything. */
export function namingViolation(entityId: string, nc: NamingConstraints): string | undefined {
  const host = hostOf(entityId)
  const excluded = nc.excluded?.find((c) => matchesDomainConstraint(host, c))
  if (excluded !== undefined) return `${entityId}: host ${host} is excluded by "${excluded}"`
  if (nc.permitted?.length && !nc.permitted.some((c) => matchesDomainConstraint(host, c))) {
    return `${entityId}: host ${host} is not within the permitted names ${JSON.stringify(nc.permitted)}`
  }
  return undefined
}

/**
 * Checks `max_path_length` and `naming_constraints` of every subordinate statement.
 * `entities[0]` is the subject, the last the anchor; `constraints[k]`/`labels[k]` belong to
 * the statement issued by entities[k + 1] about entities[k].
 */
export function checkChainConstraints(entities: readonly string[], constraints: ReadonlyArray<Constraints | undefined>, labels: readonly string[]): void {
  constraints.forEach((c, k) => {
    if (!c) return
    const name = labels[k] ?? `statement #${k}`
    // "Max Path Length Constraint": Intermediates between the constraining issuer and the subject.
    if (c.max_path_length !== undefined && k > c.max_path_length) {
      throw new ChainError(name, 'max_path_length', `${k} intermediate(s) between ${entities[k + 1]} and the subject ${entities[0]}; max_path_length is ${c.max_path_length}`)
    }
    if (c.naming_constraints) {
      for (const id of entities.slice(0, k + 1)) {
        const why = namingViolation(id, c.naming_constraints)
        if (why) throw new ChainError(name, 'naming_constraints', why)
      }
    }
  })
}

/**
 * "Entity Type Constraints": the types every statement allows (federation_entity always),
 * or undefined when none constrains them.
 */
export function allowedEntityTypes(constraints: ReadonlyArray<Constraints | undefined>): string[] | undefined {
  let allowed: string[] | undefined
  for (const c of constraints) {
    const list = c?.allowed_entity_types
    if (!list) continue
    allowed = allowed === undefined ? [...list] : allowed.filter((t) => list.includes(t))
  }
  return allowed
}

/** The label of the first statement whose allowed_entity_types removes `type`, if any. */
export function whoRemoves(type: string, constraints: ReadonlyArray<Constraints | undefined>, labels: readonly string[]): string | undefined {
  if (type === 'federation_entity') return undefined
  const k = constraints.findIndex((c) => c?.allowed_entity_types && !c.allowed_entity_types.includes(type))
  return k === -1 ? undefined : labels[k]
}
