/**
 * The operators an engine understands, in order of application. Spec "Additional Operators":
 * modifiers "MUST be applied after the value operator", checks "MUST be applied before the
 * essential operator". We run additional modifiers after `default` (the last standard pure
 * modifier) and additional checks after `superset_of`, so standard checks see modified values
 * and additional checks see what the standard modifiers produced. Among themselves,
 * additional operators keep the order they were given in.
 */
import { buildPairTable, type PairTable } from './combinations.js'
import { STANDARD_OPERATORS, STANDARD_OPERATOR_NAMES } from './operators/index.js'
import type { PolicyOperator } from './types.js'

export interface OperatorRegistry {
  /** Every understood operator in order of application. */
  readonly ordered: readonly PolicyOperator[]
  get(name: string): PolicyOperator | undefined
  isStandard(name: string): boolean
  /** Which operators may be combined, and on what condition (see combinations.ts). */
  readonly pairs: PairTable
}

export function isStandardOperator(name: string): boolean {
  return STANDARD_OPERATOR_NAMES.includes(name)
}

/** Builds the registry; throws TypeError for a malformed or clashing additional operator. */
export function createRegistry(additional: readonly PolicyOperator[] = []): OperatorRegistry {
  const seen = new Set(STANDARD_OPERATOR_NAMES)
  for (const op of additional) {
    checkAdditional(op)
    if (seen.has(op.name)) throw new TypeError(`metadata policy operator "${op.name}" is defined twice`)
    seen.add(op.name)
  }
  const modifiers = additional.filter((o) => o.kind === 'modifier')
  const checks = additional.filter((o) => o.kind === 'check')
  const std = (name: string) => STANDARD_OPERATORS.find((o) => o.name === name) as PolicyOperator
  const ordered = Object.freeze([
    std('value'), std('add'), std('default'),
    ...modifiers,
    std('one_of'), std('subset_of'), std('superset_of'),
    ...checks,
    std('essential'),
  ])
  const byName = new Map(ordered.map((o) => [o.name, o]))
  return Object.freeze({
    ordered,
    get: (name: string) => byName.get(name),
    isStandard: isStandardOperator,
    pairs: buildPairTable(ordered, isStandardOperator),
  })
}

function checkAdditional(op: PolicyOperator): void {
  if (typeof op?.name !== 'string' || op.name === '' || op.name === '__proto__') throw new TypeError('an additional operator needs a name')
  if (op.kind !== 'modifier' && op.kind !== 'check') {
    throw new TypeError(`additional operator "${op.name}": kind must be "modifier" or "check"`)
  }
  if (typeof op.merge !== 'function') throw new TypeError(`additional operator "${op.name}": merge() is required`)
  if (op.kind === 'modifier' && typeof op.apply !== 'function') {
    throw new TypeError(`additional operator "${op.name}": a modifier needs apply()`)
  }
  if (op.kind === 'check' && typeof op.check !== 'function') {
    throw new TypeError(`additional operator "${op.name}": a check needs check()`)
  }
}

/** The registry of the seven standard operators; immutable, shared. */
export const STANDARD_REGISTRY: OperatorRegistry = createRegistry()
