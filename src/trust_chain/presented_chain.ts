/**
 * A trust chain handed to us by its subject (spec "Trust Chain Header Parameter", or the
 * body of an Explicit Registration request of type application/trust-chain+json),
 * verified on its own without fetching anything (spec "Trust Chain"):
 *
 *   ES[0] is the subject's entity configuration, signed by a key in ES[0].jwks and by a key
 *   in ES[1].jwks; ES[j].iss == ES[j+1].sub; ES[j] is signed by a key in ES[j+1].jwks; the
 *   statements the trust anchor issued (its subordinate statement, and its entity
 *   configuration, which MAY be omitted) verify with the anchor's PINNED keys.
 *
 * A presented chain only says which anchor and path the subject means: callers still
 * resolve through the superiors, because a removed member could keep presenting a chain
 * whose statements have not expired yet.
 */
import type { Clock } from '../clock.js'
import { InvalidTrustAnchor, InvalidTrustChain } from '../errors.js'
import { ChainError } from './errors.js'
import { parseStatement, checkTimes, verifyStatement, decodeStatement } from './entity_statement.js'
import { checkChainConstraints } from './constraints.js'
import type { Statement, TrustAnchor } from './types.js'

/** More statements than any sensible federation needs (spec "Denial-of-Service Attack Prevention"). */
export const MAX_PRESENTED_CHAIN = 12

export interface PresentedChain {
  subject: string
  anchor: string
  /** ES[0] .. ES[i], as verified. */
  statements: Statement[]
  /** The subject's immediate superior in this chain. */
  superior: string
  /** Minimum exp of the statements (spec "Calculating the Expiration Time of a Trust Chain"). */
  exp: number
}

export interface PresentedChainOptions {
  anchors: readonly TrustAnchor[]
  clock: Clock
  skew: number
  /** ES[0] already parsed and verified by the caller (an Explicit Registration request carries `aud`). */
  subject?: Statement
  /** The entity the chain must be about. */
  expectedSubject?: string
  understoodCrit?: ReadonlySet<string>
  /** Charged for each signature verified (the work budget of the request, trust_chain/budget.ts). */
  budget?: { verify(): void }
}

/**
 * Throws InvalidTrustChain naming the statement and rule that fail, or InvalidTrustAnchor
 * when the chain ends at an anchor not among `anchors`.
 */
export async function verifyPresentedChain(value: unknown, o: PresentedChainOptions): Promise<PresentedChain> {
  if (!Array.isArray(value) || value.length < 2 || value.length > MAX_PRESENTED_CHAIN || !value.every((s) => typeof s === 'string')) {
    throw new InvalidTrustChain(`trust chain: must be a JSON array of 2 to ${MAX_PRESENTED_CHAIN} compact JWS, the subject's entity configuration first`)
  }
  const jwts = value
  try {
    const statements = parseAll(jwts, o)
    const subject = statements[0]!.claims.sub
    if (o.expectedSubject !== undefined && subject !== o.expectedSubject) {
      throw new ChainError(statements[0]!.label, 'sub', `the chain is about ${subject}, expected ${o.expectedSubject}`)
    }
    const last = statements.at(-1)!
    const anchorId = last.claims.iss
    const anchor = o.anchors.find((a) => a.entity_id === anchorId)
    if (!anchor) throw new InvalidTrustAnchor(`trust chain: ends at ${anchorId}, which is not a trust anchor this deployment trusts`)
    const now = o.clock.now()
    for (const s of statements) checkTimes(s, now, o.skew)
    await verifySignatures(statements, anchor, o)
    // Constraints of each subordinate statement, as in a discovered chain (spec "Constraints").
    const subordinates = statements.slice(1).filter((s) => s.kind === 'subordinate_statement')
    checkChainConstraints([subject, ...subordinates.map((s) => s.claims.iss)], subordinates.map((s) => s.claims.constraints), subordinates.map((s) => s.label))
    return {
      subject, anchor: anchorId, statements, superior: statements[1]!.claims.iss,
      exp: Math.min(...statements.map((s) => s.claims.exp)),
    }
  } catch (err) {
    if (err instanceof ChainError) throw new InvalidTrustChain(`trust chain: ${err.statement}: "${err.rule}": ${err.message}`, { cause: err })
    throw err
  }
}

/** Decodes (once) and syntax-checks every statement, enforcing ES[j].sub == ES[j-1].iss. */
function parseAll(jwts: string[], o: PresentedChainOptions): Statement[] {
  const read = (j: number) => {
    const decoded = decodeStatement(jwts[j]!, `statement #${j}`)
    const iss = decoded.payload.iss
    if (typeof iss !== 'string') throw new ChainError(`statement #${j}`, 'iss', 'iss is missing')
    return { decoded, iss }
  }
  const parse = { understoodCrit: o.understoodCrit }
  let first = o.subject
  if (!first) {
    const { decoded, iss } = read(0)
    first = parseStatement(jwts[0]!, 'entity_configuration', iss, iss, { ...parse, decoded })
  }
  const out: Statement[] = [first]
  for (let j = 1; j < jwts.length; j++) {
    const { decoded, iss } = read(j)
    const below = out[j - 1]!.claims.iss
    // Only the last statement may be the anchor's own entity configuration (iss == sub).
    const kind = j === jwts.length - 1 && iss === below ? 'entity_configuration' : 'subordinate_statement'
    out.push(parseStatement(jwts[j]!, kind, iss, below, { ...parse, decoded }))
  }
  if (out[1]!.kind !== 'subordinate_statement') throw new ChainError(out[1]!.label, 'order', 'the second statement must be the superior\'s statement about the subject')
  return out
}

/** ES[0] self-signed; each ES[j] by ES[j+1].jwks; what the anchor issued by its pinned keys. */
async function verifySignatures(s: Statement[], anchor: TrustAnchor, o: PresentedChainOptions): Promise<void> {
  const pinned = `the pinned keys of trust anchor ${anchor.entity_id}`
  const checks: Array<Promise<void>> = [verifyStatement(s[0]!, s[0]!.claims.jwks, 'its own jwks', o)]
  for (let j = 0; j < s.length; j++) {
    const st = s[j]!
    if (st.claims.iss === anchor.entity_id && j > 0) checks.push(verifyStatement(st, anchor.jwks, pinned, o))
    else if (j + 1 < s.length) checks.push(verifyStatement(st, s[j + 1]!.claims.jwks, `the jwks of ${s[j + 1]!.label}`, o))
  }
  const results = await Promise.allSettled(checks)
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
}
