/**
 * Provenance for `--explain`: which statement contributed which operator value, what merging
 * made of it, and why each parameter came out as it did. Pass one instance as `explain` to
 * resolution and application; it records as they run (also up to a failure), then renders.
 *
 * @example
 * const explain = new PolicyExplanation()
 * try {
 *   const policy = resolvePolicies(chain, { explain })
 *   applyMetadataPolicy(leaf, { policy, explain })
 * } catch (err) { explain.failed(err) }
 * console.log(explain.toText())
 */
import { PolicyError, type PolicyErrorLocation } from './errors.js'
import { jsonEqual, show } from './json.js'
import type { ParameterState } from './types.js'

export interface OperatorProvenance {
  readonly operator: string
  /** In chain order: each statement's value of this operator. */
  readonly contributions: Array<{ statement: string; value: unknown }>
  /** The value after merging all contributions so far. */
  result: unknown
}

export interface ParameterProvenance {
  readonly entityType: string | undefined
  readonly parameter: string
  readonly operators: OperatorProvenance[]
  /** Additional operators that were not understood and not critical, hence ignored. */
  readonly ignored: Array<{ statement: string; operator: string }>
}

export interface ApplicationStep {
  readonly operator: string
  readonly operand: unknown
  readonly before: ParameterState
  readonly after: ParameterState
  readonly error?: string | undefined
}

export interface ParameterApplication {
  readonly entityType: string | undefined
  readonly parameter: string
  readonly before: ParameterState
  readonly steps: ApplicationStep[]
  after?: ParameterState
}

const MODIFIES = new Set(['value', 'add', 'default', 'subset_of'])

export class PolicyExplanation {
  readonly statements: Array<{ statement: string; hasPolicy: boolean }> = []
  readonly overrides: Array<{ entityType: string; parameter: string; value: unknown }> = []
  readonly removedEntityTypes: string[] = []
  readonly applications: ParameterApplication[] = []
  failure: { error: string; message: string } | undefined
  readonly #provenance = new Map<string, ParameterProvenance>()

  /** Per parameter, in the order parameters were first seen. */
  get resolution(): ParameterProvenance[] {
    return [...this.#provenance.values()]
  }

  statement(statement: string, hasPolicy: boolean): void {
    this.statements.push({ statement, hasPolicy })
  }

  ignored(where: PolicyErrorLocation & { parameter: string }, operator: string): void {
    this.#parameter(where).ignored.push({ statement: where.statement ?? '?', operator })
  }

  contributed(where: PolicyErrorLocation & { parameter: string }, operator: string, value: unknown, result: unknown): void {
    const p = this.#parameter(where)
    let op = p.operators.find((o) => o.operator === operator)
    if (!op) p.operators.push((op = { operator, contributions: [], result }))
    op.contributions.push({ statement: where.statement ?? '?', value })
    op.result = result
  }

  overridden(entityType: string, parameter: string, value: unknown): void {
    this.overrides.push({ entityType, parameter, value })
  }

  removedEntityType(entityType: string): void {
    this.removedEntityTypes.push(entityType)
  }

  begin(where: PolicyErrorLocation & { parameter: string }, before: ParameterState): void {
    this.applications.push({ entityType: where.entityType, parameter: where.parameter, before, steps: [] })
  }

  step(_where: PolicyErrorLocation, operator: string, operand: unknown, before: ParameterState, after: ParameterState, error?: string): void {
    this.applications.at(-1)?.steps.push({ operator, operand, before, after, error })
  }

  end(_where: PolicyErrorLocation, after: ParameterState): void {
    const last = this.applications.at(-1)
    if (last) last.after = after
  }

  /** Records the error that ended the run (anything not a PolicyError is recorded as a crash). */
  failed(err: unknown): void {
    this.failure = err instanceof PolicyError
      ? { error: err.error, message: err.message }
      : { error: 'internal_error', message: err instanceof Error ? err.message : String(err) }
  }

  toText(indent = ''): string {
    const lines: string[] = []
    const out = (depth: number, s: string) => lines.push(`${indent}${'  '.repeat(depth)}${s}`)
    out(0, 'Policy resolution (Trust Anchor first):')
    for (const s of this.statements) out(1, `${s.statement}: ${s.hasPolicy ? 'has a policy' : 'no policy'}`)
    for (const p of this.resolution) this.#resolutionText(p, out)
    if (this.overrides.length > 0 || this.removedEntityTypes.length > 0) out(0, 'Before the policy:')
    for (const o of this.overrides) out(1, `${name(o.entityType, o.parameter)} = ${show(o.value)} from the superior's metadata claim`)
    for (const t of this.removedEntityTypes) out(1, `${t} removed: not in allowed_entity_types`)
    if (this.applications.length > 0) out(0, 'Policy application:')
    for (const a of this.applications) this.#applicationText(a, out)
    out(0, this.failure ? `Result: ${this.failure.error}: ${this.failure.message}` : 'Result: ok')
    return lines.join('\n')
  }

  toJSON(): object {
    return {
      statements: this.statements,
      resolution: this.resolution,
      overrides: this.overrides,
      removed_entity_types: this.removedEntityTypes,
      application: this.applications,
      failure: this.failure,
    }
  }

  #parameter(where: PolicyErrorLocation & { parameter: string }): ParameterProvenance {
    const key = `${where.entityType ?? ''}\u0000${where.parameter}`
    let p = this.#provenance.get(key)
    if (!p) this.#provenance.set(key, (p = { entityType: where.entityType, parameter: where.parameter, operators: [], ignored: [] }))
    return p
  }

  #resolutionText(p: ParameterProvenance, out: (depth: number, s: string) => void): void {
    out(1, name(p.entityType, p.parameter))
    for (const op of p.operators) {
      const [only] = op.contributions
      if (op.contributions.length === 1 && only) {
        out(2, `${op.operator} = ${show(op.result)} (from ${only.statement})`)
        continue
      }
      out(2, `${op.operator} = ${show(op.result)} (${MERGE_RULE.get(op.operator) ?? 'merged by the operator'} of:)`)
      for (const c of op.contributions) out(3, `${show(c.value)} from ${c.statement}`)
    }
    for (const i of p.ignored) out(2, `${i.operator} ignored (from ${i.statement}): not understood and not critical`)
  }

  #applicationText(a: ParameterApplication, out: (depth: number, s: string) => void): void {
    out(1, `${name(a.entityType, a.parameter)}: ${state(a.before)} in the metadata`)
    for (const s of a.steps) out(2, `${s.operator} ${show(s.operand)}: ${effect(s)}`)
    if (a.after) out(2, `=> ${a.after.present ? show(a.after.value) : 'absent'}`)
  }
}

const MERGE_RULE: ReadonlyMap<string, string> = new Map([
  ['value', 'equal values'],
  ['default', 'equal values'],
  ['add', 'union'],
  ['superset_of', 'union'],
  ['one_of', 'intersection'],
  ['subset_of', 'intersection'],
  ['essential', 'logical OR'],
])

function name(entityType: string | undefined, parameter: string): string {
  return entityType === undefined ? parameter : `${entityType}.${parameter}`
}

function state(s: ParameterState): string {
  return s.present ? show(s.value) : 'absent'
}

function effect(s: ApplicationStep): string {
  if (s.error !== undefined) return `FAILED - ${s.error}`
  if (s.operator === 'essential') return s.operand === true ? 'present, as required' : 'not required'
  if (!MODIFIES.has(s.operator) && jsonEqual(s.before, s.after)) {
    return s.before.present ? 'check passed' : 'absent, nothing to check'
  }
  if (!s.before.present && !s.after.present) return 'absent, no effect'
  if (!s.after.present) return 'parameter removed'
  if (!s.before.present) return `set to ${show(s.after.value)}`
  return jsonEqual(s.before.value, s.after.value) ? 'no change' : `${show(s.before.value)} -> ${show(s.after.value)}`
}
