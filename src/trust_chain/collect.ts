/**
 * Spec "Fetching Entity Statements to Establish a Trust Chain": from the subject's entity
 * configuration, follow authority_hints upwards, fetching each superior's entity
 * configuration and its subordinate statement about the entity below, until a requested
 * trust anchor is reached.
 *
 * Breadth-first: every path with one superior, then every path with two, and so on. Each
 * level's complete paths are handed to the caller, which validates them in order of
 * preference and stops the walk at the first valid one: a longer path would lose anyway
 * (spec "Choosing One of the Valid Trust Chains": shortest first), so nothing above that
 * level is fetched. Within a level, hints naming a requested anchor go first: they end a
 * path, so the budget is spent on them before on paths that only lead further up.
 *
 * Bounded in depth, fan-out and paths explored (spec "Denial-of-Service Attack
 * Prevention"), and over the whole walk by the resolution's work budget (budget.ts), which
 * every branch shares. A hint leading back onto the path is a loop and is not used. Every
 * path that ends without an anchor is reported with its reason.
 */
import { ChainError, SubjectError, privateDetail } from './errors.js'
import type { StatementReader } from './statements.js'
import type { Budget } from './budget.js'
import type { PathFailure, PathNode, ResolverLimits, Statement } from './types.js'

/** Fetch failures of the subject's own configuration that mean "cannot be found". */
const NOT_FOUND_RULES = new Set(['not_found', 'network', 'timeout'])

type WalkLimits = Pick<ResolverLimits, 'max_depth' | 'max_fan_out' | 'max_chains'>

interface Step {
  path: PathNode[]
  ids: string[]
  hint: string
  hintIndex: number
}

/** One resolution's walk up the authority_hints. */
export class Walk {
  /** Every path that ended without a candidate, and why. */
  readonly failures: PathFailure[] = []
  /** One load per entity configuration per walk: never fetch what this walk already has. */
  private readonly ecs = new Map<string, Promise<Statement>>()
  private explored = 0

  constructor(
    private readonly statements: StatementReader,
    private readonly limits: WalkLimits,
    private readonly anchors: ReadonlySet<string>,
    private readonly budget?: Budget,
  ) {}

  /** The subject's node: its entity configuration, checked. Throws SubjectError. */
  async subject(subjectId: string): Promise<PathNode> {
    try {
      return { id: subjectId, ec: await this.statements.entityConfiguration(subjectId, this.budget), hintIndex: 0 }
    } catch (err) {
      if (!(err instanceof ChainError)) throw err
      const code = NOT_FOUND_RULES.has(err.rule) ? 'not_found' : 'invalid_subject'
      throw new SubjectError(err.statement, err.rule, err.message, code, { cause: err })
    }
  }

  /**
   * The complete paths (subject first, a requested anchor last) one level at a time,
   * shortest first. Stop iterating to stop the walk. Throws what is not a path failure
   * (BudgetExceeded) once the level it happened in has been yielded.
   */
  async *levels(subject: PathNode): AsyncGenerator<PathNode[][]> {
    if (this.anchors.has(subject.id)) {
      yield [[subject]]
      return
    }
    let frontier: PathNode[][] = [[subject]]
    while (frontier.length) {
      const settled = await Promise.allSettled(this.steps(frontier).map((s) => this.step(s)))
      const complete: PathNode[][] = []
      const next: PathNode[][] = []
      let stop: Error | undefined
      for (const r of settled) {
        if (r.status === 'rejected') stop ??= r.reason instanceof Error ? r.reason : new Error(String(r.reason))
        else if (r.value) (this.anchors.has(r.value.at(-1)!.id) ? complete : next).push(r.value)
      }
      if (complete.length) yield complete
      if (stop !== undefined) throw stop
      frontier = next
    }
  }

  /** The next level's steps, anchors first; paths that cannot go on are reported here. */
  private steps(frontier: PathNode[][]): Step[] {
    const steps: Step[] = []
    for (const path of frontier) {
      const below = path.at(-1)!
      const ids = path.map((n) => n.id)
      const hints = below.ec.claims.authority_hints ?? []
      if (hints.length === 0) {
        this.fail(ids, below.ec.label, 'no_trust_anchor', `${below.id} has no authority_hints and is not a requested trust anchor`, true)
        continue
      }
      if (path.length > this.limits.max_depth) {
        this.fail(ids, below.ec.label, 'max_depth', `more than ${this.limits.max_depth} superiors above ${path[0]!.id}`, true)
        continue
      }
      const fanOut = this.limits.max_fan_out
      for (const skipped of hints.slice(fanOut)) {
        this.fail([...ids, skipped], below.ec.label, 'max_fan_out', `authority hint ${skipped} not inspected: only the first ${fanOut} are`)
      }
      hints.slice(0, fanOut).forEach((hint, hintIndex) => {
        if (ids.includes(hint)) this.fail([...ids, hint], below.ec.label, 'loop', `authority hint ${hint} leads back to an entity already on this path`, true)
        else steps.push({ path, ids, hint, hintIndex })
      })
    }
    const anchorFirst = (s: Step) => (this.anchors.has(s.hint) ? 0 : 1)
    return steps.sort((a, b) => anchorFirst(a) - anchorFirst(b))
  }

  /** The path one superior longer, or undefined when that superior fails (reported). */
  private async step({ path, ids, hint, hintIndex }: Step): Promise<PathNode[] | undefined> {
    const below = path.at(-1)!
    if (this.explored >= this.limits.max_chains) {
      this.fail([...ids, hint], below.ec.label, 'max_chains', `not explored: ${this.limits.max_chains} paths were explored already`)
      return undefined
    }
    try {
      const ec = await this.ecOf(hint)
      // Charged before the next level's configurations, which only may be needed.
      const ss = this.statements.subordinateStatement(ec, below.id, this.budget)
      if (!this.anchors.has(hint) && path.length < this.limits.max_depth) this.prefetch(ec, [...ids, hint])
      const node: PathNode = { id: hint, ec, ss: await ss, hintIndex }
      if (this.anchors.has(hint)) this.explored++
      return [...path, node]
    } catch (err) {
      if (!(err instanceof ChainError)) throw err
      this.fail([...ids, hint], err.statement, err.rule, err.message, true, privateDetail(err))
      return undefined
    }
  }

  private ecOf(id: string): Promise<Statement> {
    let p = this.ecs.get(id)
    if (!p) this.ecs.set(id, (p = this.statements.entityConfiguration(id, this.budget)))
    return p
  }

  /**
   * The next level's configurations load while this level's subordinate statement does:
   * one round trip less per level; each is still fetched at most once, within the budget.
   */
  private prefetch(ec: Statement, ids: string[]): void {
    for (const h of (ec.claims.authority_hints ?? []).slice(0, this.limits.max_fan_out)) {
      if (!ids.includes(h)) this.ecOf(h).catch(() => undefined)
    }
  }

  /** `ends` marks a path explored to its end (counted against max_chains). */
  private fail(path: string[], statement: string, rule: string, message: string, ends = false, detail?: string): void {
    if (ends) this.explored++
    this.failures.push({ path, statement, rule, message, stage: 'chain', ...(detail ? { detail } : {}) })
  }
}

/** Candidates in order of preference (spec "Choosing One of the Valid Trust Chains"): shortest, then anchor order, then hint order. */
export function byPreference(anchorOrder: readonly string[]): (a: PathNode[], b: PathNode[]) => number {
  return (a, b) => {
    if (a.length !== b.length) return a.length - b.length
    const ai = anchorOrder.indexOf(a.at(-1)!.id)
    const bi = anchorOrder.indexOf(b.at(-1)!.id)
    if (ai !== bi) return ai - bi
    for (let i = 1; i < a.length; i++) {
      const d = a[i]!.hintIndex - b[i]!.hintIndex
      if (d !== 0) return d
    }
    return 0
  }
}
