/**
 * Spec "Fetching Entity Statements to Establish a Trust Chain": from the subject's entity
 * configuration, follow authority_hints upwards, fetching each superior's entity
 * configuration and its subordinate statement about the entity below, until a requested
 * trust anchor is reached. Bounded in depth, fan-out and paths explored (spec
 * "Denial-of-Service Attack Prevention"); a hint leading back onto the path is a loop and
 * is not used. Every path that ends without an anchor is reported with its reason.
 */
import { ChainError, SubjectError, privateDetail } from './errors.js'
import type { StatementReader } from './statements.js'
import type { PathFailure, PathNode, ResolverLimits, Statement } from './types.js'

export interface Collected {
  subject: PathNode
  /** Complete paths, subject first, a requested anchor last. */
  candidates: PathNode[][]
  failures: PathFailure[]
}

/** Fetch failures of the subject's own configuration that mean "cannot be found". */
const NOT_FOUND_RULES = new Set(['not_found', 'network', 'timeout'])

export async function collect(
  statements: StatementReader,
  limits: Pick<ResolverLimits, 'max_depth' | 'max_fan_out' | 'max_chains'>,
  subjectId: string,
  anchors: ReadonlySet<string>,
): Promise<Collected> {
  let subjectEc: Statement
  try {
    subjectEc = await statements.entityConfiguration(subjectId)
  } catch (err) {
    if (!(err instanceof ChainError)) throw err
    const code = NOT_FOUND_RULES.has(err.rule) ? 'not_found' : 'invalid_subject'
    throw new SubjectError(err.statement, err.rule, err.message, code, { cause: err })
  }
  const subject: PathNode = { id: subjectId, ec: subjectEc, hintIndex: 0 }
  const walk = new Walk(statements, limits, subject, anchors)
  if (anchors.has(subjectId)) walk.out.candidates.push([subject])
  else await walk.from([subject])
  return walk.out
}

/** One resolution's walk up the authority_hints. */
class Walk {
  readonly out: Collected
  /** One load per entity configuration per resolution: never fetch what this walk already has. */
  private readonly ecs = new Map<string, Promise<Statement>>()
  private explored = 0

  constructor(
    private readonly statements: StatementReader,
    private readonly limits: Pick<ResolverLimits, 'max_depth' | 'max_fan_out' | 'max_chains'>,
    subject: PathNode,
    private readonly anchors: ReadonlySet<string>,
  ) {
    this.out = { subject, candidates: [], failures: [] }
  }

  async from(path: PathNode[]): Promise<void> {
    const below = path.at(-1)!
    const ids = path.map((n) => n.id)
    const hints = below.ec.claims.authority_hints ?? []
    if (hints.length === 0) {
      return this.fail(ids, below.ec.label, 'no_trust_anchor', `${below.id} has no authority_hints and is not a requested trust anchor`, true)
    }
    if (path.length > this.limits.max_depth) {
      return this.fail(ids, below.ec.label, 'max_depth', `more than ${this.limits.max_depth} superiors above ${path[0]!.id}`, true)
    }
    const fanOut = this.limits.max_fan_out
    for (const skipped of hints.slice(fanOut)) {
      this.fail([...ids, skipped], below.ec.label, 'max_fan_out', `authority hint ${skipped} not inspected: only the first ${fanOut} are`)
    }
    await Promise.all(hints.slice(0, fanOut).map((hint, hintIndex) => this.step(path, ids, hint, hintIndex)))
  }

  private async step(path: PathNode[], ids: string[], hint: string, hintIndex: number): Promise<void> {
    const below = path.at(-1)!
    if (ids.includes(hint)) {
      return this.fail([...ids, hint], below.ec.label, 'loop', `authority hint ${hint} leads back to an entity already on this path`, true)
    }
    if (this.explored >= this.limits.max_chains) {
      return this.fail([...ids, hint], below.ec.label, 'max_chains', `not explored: ${this.limits.max_chains} paths were explored already`)
    }
    let node: PathNode
    try {
      const ec = await this.ecOf(hint)
      if (!this.anchors.has(hint) && path.length < this.limits.max_depth) this.prefetch(ec, [...ids, hint])
      node = { id: hint, ec, ss: await this.statements.subordinateStatement(ec, below.id), hintIndex }
    } catch (err) {
      if (!(err instanceof ChainError)) throw err
      return this.fail([...ids, hint], err.statement, err.rule, err.message, true, privateDetail(err))
    }
    if (!this.anchors.has(hint)) return this.from([...path, node])
    this.explored++
    this.out.candidates.push([...path, node])
  }

  private ecOf(id: string): Promise<Statement> {
    let p = this.ecs.get(id)
    if (!p) this.ecs.set(id, (p = this.statements.entityConfiguration(id)))
    return p
  }

  /**
   * The next level's configurations load while this level's subordinate statement does:
   * one round trip less per level; each is still fetched at most once.
   */
  private prefetch(ec: Statement, ids: string[]): void {
    for (const h of (ec.claims.authority_hints ?? []).slice(0, this.limits.max_fan_out)) {
      if (!ids.includes(h)) this.ecOf(h).catch(() => undefined)
    }
  }

  /** `ends` marks a path explored to its end (counted against max_chains). */
  private fail(path: string[], statement: string, rule: string, message: string, ends = false, detail?: string): void {
    if (ends) this.explored++
    this.out.failures.push({ path, statement, rule, message, stage: 'chain', ...(detail ? { detail } : {}) })
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
