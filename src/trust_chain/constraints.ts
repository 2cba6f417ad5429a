/**
 * Spec "Constraints": each subordinate statement's `constraints` apply on their own to
 * the part of the chain below its issuer; any failure makes the chain invalid.
 * Pure functions over entity ids, so they are tested without a federation.
 *
 * Members are read as own members only: a constraints object from a hostile statement may
 * name `__proto__` or `constructor`, and those are ignored like any unknown member.
 */
import { isIP } from 'node:net'
import type { Constraints, NamingConstraints } from '../types.js'
import { isJsonObject, own } from '../util/json.js'
import { ChainError } from './errors.js'

/** Step 19 of "Entity Statement Validation": the syntax of a constraints claim; unknown members are ignored. */
export function checkConstraintsSyntax(v: unknown): string | undefined {
  if (!isJsonObject(v)) return 'constraints must be a JSON object'
  const mpl = own(v, 'max_path_length')
  if (mpl !== undefined && !(Number.isInteger(mpl) && (mpl as number) >= 0)) return 'max_path_length must be an integer >= 0'
  const nc = own(v, 'naming_constraints')
  if (nc !== undefined) {
    if (!isJsonObject(nc)) return 'naming_constraints must be a JSON object'
    for (const k of ['permitted', 'excluded'] as const) {
      const list = own(nc, k)
      if (list !== undefined && !(Array.isArray(list) && list.every((n) => typeof n === 'string' && n !== ''))) {
        return `naming_constraints.${k} must be an array of domain names`
      }
    }
  }
  const aet = own(v, 'allowed_entity_types')
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
  const excludedList = own(nc, 'excluded') as string[] | undefined
  const permitted = own(nc, 'permitted') as string[] | undefined
  const excluded = excludedList?.find((c) => matchesDomainConstraint(host, c))
  if (excluded !== undefined) return `${entityId}: host ${host} is excluded by "${excluded}"`
  if (permitted?.length && !permitted.some((c) => matchesDomainConstraint(host, c))) {
    return `${entityId}: host ${host} is not within the permitted names ${JSON.stringify(permitted)}`
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
    const mpl = own(c, 'max_path_length') as number | undefined
    const nc = own(c, 'naming_constraints') as NamingConstraints | undefined
    // "Max Path Length Constraint": Intermediates between the constraining issuer and the subject.
    if (mpl !== undefined && k > mpl) {
      throw new ChainError(name, 'max_path_length', `${k} intermediate(s) between ${entities[k + 1]} and the subject ${entities[0]}; max_path_length is ${mpl}`)
    }
    if (nc) {
      for (const id of entities.slice(0, k + 1)) {
        const why = namingViolation(id, nc)
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
    const list = allowedBy(c)
    if (!list) continue
    allowed = allowed === undefined ? [...list] : allowed.filter((t) => list.includes(t))
  }
  return allowed
}

/** The label of the first statement whose allowed_entity_types removes `type`, if any. */
export function whoRemoves(type: string, constraints: ReadonlyArray<Constraints | undefined>, labels: readonly string[]): string | undefined {
  if (type === 'federation_entity') return undefined
  const k = constraints.findIndex((c) => {
    const list = allowedBy(c)
    return list !== undefined && !list.includes(type)
  })
  return k === -1 ? undefined : labels[k]
}

function allowedBy(c: Constraints | undefined): readonly string[] | undefined {
  return c === undefined ? undefined : own(c, 'allowed_entity_types') as string[] | undefined
}
