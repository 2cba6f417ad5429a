/**
 * Resolution results for people (the `anchorage resolve` command, logs): the chain as a
 * tree with issuer, kid and expiry of each statement, the trust marks and the resolved
 * metadata; or every path tried with the statement and rule that failed.
 */
import { decodeUnverified } from '../crypto/jwt.js'
import type { FederationError } from '../errors.js'
import type { TrustMarkRef } from '../types.js'
import type { PathFailure, ResolvedChain } from './types.js'

const time = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z')

export function renderChain(c: ResolvedChain): string {
  const lines = [`Trust chain of ${c.subject} to trust anchor ${c.anchor} (valid until ${time(c.exp)})`, '']
  c.links.forEach((l, i) => {
    const indent = i === 0 ? '' : '   '.repeat(i - 1) + '└─ '
    const what = l.kind === 'entity_configuration'
      ? `${l.sub}  entity configuration${i === c.links.length - 1 ? ' (trust anchor)' : ''}`
      : `${l.sub}  statement issued by ${l.iss}`
    lines.push(`${indent}${what}`)
    lines.push(`${' '.repeat(indent.length)}   kid ${l.kid}, exp ${time(l.exp)}`)
  })
  lines.push('', `Trust marks (${c.trust_marks.length} verified): ${c.trust_marks.length ? '' : 'none'}`)
  for (const m of c.trust_marks) lines.push(`  ${describeMark(m)}`)
  const unverified = offered(c).filter((m) => !c.trust_marks.some((v) => v.trust_mark === m.trust_mark))
  for (const m of unverified) lines.push(`  not verified, left out: ${m.trust_mark_type}`)
  lines.push('', 'Resolved metadata:', JSON.stringify(c.metadata, null, 2))
  return lines.join('\n')
}

export function renderFailure(subject: string, err: FederationError, paths: readonly PathFailure[]): string {
  const lines = [`No trust chain for ${subject}: ${err.error}`, `  ${err.message}`]
  if (paths.length) lines.push('', 'Paths tried:')
  paths.forEach((p, i) => {
    lines.push(`  ${i + 1}. ${p.path.join(' > ')}`)
    lines.push(`     ${p.statement}`)
    lines.push(`     failed rule "${p.rule}"${p.stage === 'metadata' ? ' (metadata)' : ''}: ${p.message}`)
  })
  return lines.join('\n')
}

function describeMark(m: TrustMarkRef): string {
  try {
    const { payload } = decodeUnverified(m.trust_mark)
    return `${m.trust_mark_type} issued by ${String(payload.iss)}${typeof payload.exp === 'number' ? `, exp ${time(payload.exp)}` : ''}`
  } catch {
    return m.trust_mark_type
  }
}

/** The trust marks the subject's entity configuration offers. */
function offered(c: ResolvedChain): TrustMarkRef[] {
  try {
    const marks = decodeUnverified(c.trust_chain[0] ?? '').payload.trust_marks
    return Array.isArray(marks) ? (marks as TrustMarkRef[]) : []
  } catch {
    return []
  }
}
