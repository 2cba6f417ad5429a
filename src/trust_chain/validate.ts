/**
 * Spec "Validating a Trust Chain" over one collected path, cheap checks first (times,
 * linkage, kids), then signatures, then constraints; metadata.ts does the policies.
 *
 * Keys: the anchor's entity configuration and its subordinate statement verify only with
 * the PINNED anchor keys (spec "Trust Chain": the anchor's keys are distributed out of
 * band), so a key the anchor's fetched configuration adds is not used. Every other
 * subordinate statement ES[j] verifies with a key of ES[j+1].jwks (what the superior's own
 * superior vouches for, spec "Trust Chain") whose kid is also in the issuer's entity
 * configuration (spec "Entity Statement Validation", step 11). Each entity configuration
 * on the path must be signed with a key its superior's statement lists, with the same
 * key material.
 */
import type { Clock } from '../clock.js'
import { ChainError } from './errors.js'
import { checkTimes, keyFor, keyMaterial, verifyStatement, type KeySets } from './entity_statement.js'
import { checkChainConstraints } from './constraints.js'
import type { ChainLink, PathNode, Statement, TrustAnchor } from './types.js'

export interface ValidateOptions {
  clock: Clock
  skew: number
  keySets?: KeySets | undefined
  /** Charged for each signature actually verified. */
  budget?: { verify(): void } | undefined
}

/** The statement the superior issued about nodes[j - 1]; present for j >= 1 by construction. */
export function ssOf(nodes: readonly PathNode[], j: number): Statement {
  const ss = nodes[j]?.ss
  if (!ss) throw new Error(`path node ${j} has no subordinate statement`)
  return ss
}

/** Throws ChainError naming the first statement and rule that fail. */
export async function validatePath(nodes: readonly PathNode[], anchor: TrustAnchor, o: ValidateOptions): Promise<void> {
  const k = nodes.length - 1
  const now = o.clock.now()
  for (let j = 1; j <= k; j++) checkLink(nodes, j, now, o.skew)
  const checks: Array<() => Promise<void>> = [() => verifyPinned(nodes[k]!.ec, anchor, o)]
  for (let j = 1; j <= k; j++) {
    const ss = ssOf(nodes, j)
    if (j === k) checks.push(() => verifyPinned(ss, anchor, o))
    else checks.push(() => verifyStatement(ss, ssOf(nodes, j + 1).claims.jwks, `the jwks ${ssOf(nodes, j + 1).label} lists for ${nodes[j]!.id}`, o))
  }
  // Independent signatures run together; the first failure in chain order is reported.
  const results = await Promise.allSettled(checks.map((c) => c()))
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
  checkChainConstraints(
    nodes.map((n) => n.id),
    nodes.slice(1).map((n) => n.ss?.claims.constraints),
    nodes.slice(1).map((n) => n.ss?.label ?? n.id),
  )
}

/** Times, iss/sub linkage, authority_hints membership, kid in the issuer's configuration, the subordinate's key. */
function checkLink(nodes: readonly PathNode[], j: number, now: number, skew: number): void {
  const ss = ssOf(nodes, j)
  const issuer = nodes[j]!
  const subject = nodes[j - 1]!
  checkTimes(ss, now, skew)
  if (ss.claims.iss !== issuer.id) throw new ChainError(ss.label, 'iss', `iss is ${ss.claims.iss}, expected ${issuer.id}`)
  if (ss.claims.sub !== subject.id) throw new ChainError(ss.label, 'sub', `sub is ${ss.claims.sub}, expected ${subject.id}`)
  if (!subject.ec.claims.authority_hints?.includes(issuer.id)) {
    throw new ChainError(ss.label, 'authority_hints', `${issuer.id} is not in the authority_hints of ${subject.id}`)
  }
  if (!keyFor(ss, issuer.ec.claims.jwks)) {
    throw new ChainError(ss.label, 'kid', `kid "${ss.header.kid}" is not in the jwks of ${issuer.ec.label}`)
  }
  checkSubjectKey(subject.ec, ss)
}

/** The key that signed the subordinate's entity configuration is one its superior vouches for. */
function checkSubjectKey(ec: Statement, ss: Statement): void {
  const own = keyFor(ec, ec.claims.jwks)
  const vouched = keyFor(ec, ss.claims.jwks)
  if (!own || !vouched || keyMaterial(own) !== keyMaterial(vouched)) {
    throw new ChainError(ss.label, 'subject_key', `its jwks does not contain the key "${ec.header.kid}" that signed the ${ec.label}`)
  }
}

async function verifyPinned(s: Statement, anchor: TrustAnchor, o: ValidateOptions): Promise<void> {
  const whose = `the pinned keys of trust anchor ${anchor.entity_id}`
  if (!keyFor(s, anchor.jwks)) {
    const published = s.kind === 'entity_configuration' && keyFor(s, s.claims.jwks) ? ' (its entity configuration publishes it, but only pinned keys are used)' : ''
    throw new ChainError(s.label, 'anchor_key', `kid "${s.header.kid}" is not among ${whose}${published}`)
  }
  await verifyStatement(s, anchor.jwks, whose, o)
}

/** trust_chain of spec "Resolve Response": subject EC, the subordinate statements upwards, the anchor EC. */
export function trustChainOf(nodes: readonly PathNode[]): Statement[] {
  const k = nodes.length - 1
  if (k === 0) return [nodes[0]!.ec]
  return [nodes[0]!.ec, ...nodes.slice(1).map((_, i) => ssOf(nodes, i + 1)), nodes[k]!.ec]
}

/** Spec "Calculating the Expiration Time of a Trust Chain", over every statement relied on (intermediate ECs too). */
export function expiryOf(nodes: readonly PathNode[]): number {
  let exp = Infinity
  for (const n of nodes) exp = Math.min(exp, n.ec.claims.exp, n.ss?.claims.exp ?? Infinity)
  return exp
}

export function linksOf(nodes: readonly PathNode[]): ChainLink[] {
  return trustChainOf(nodes).map((s) => ({ kind: s.kind, iss: s.claims.iss, sub: s.claims.sub, kid: s.header.kid, exp: s.claims.exp }))
}
