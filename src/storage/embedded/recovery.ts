/**
 * Start-up replay: snapshot, then the journal(s) it does not cover, into a MemoryState.
 *
 * Every journal starts with a header naming its generation; a snapshot says which
 * generation it covers (it holds every operation of that generation and all earlier
 * ones). So after a crash at any step of a compaction, each file is either replayed or
 * recognised as already contained in the snapshot: see docs/storage.md.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../logger.js'
import { decodeLine, type Op } from './format.js'
import { exists, readLines, removeIfExists, type Line } from './files.js'
import type { MemoryState } from './state.js'
import type { AuditSegments } from './audit_segments.js'
import type { AuditItem } from './journal.js'

export const FILES = Object.freeze({
  journal: 'journal.jsonl',
  prev: 'journal.prev.jsonl',
  journalTmp: 'journal.jsonl.tmp',
  snapshot: 'snapshot.jsonl',
  snapshotTmp: 'snapshot.jsonl.tmp',
  lock: 'LOCK',
})

export interface Recovered {
  /** Highest generation replayed (or covered by the snapshot). */
  generation: number
  /** Generation the snapshot covers (0: no snapshot). */
  covers: number
  snapshotBytes: number
  /** Operations in journal.jsonl, when it is kept. */
  journalLines: number
  /** Byte length of journal.jsonl to keep: anything after it is a torn tail. */
  truncateJournalAt: number | undefined
  /**
   * journal.jsonl cannot simply be appended to: it is missing, or stale, or a previous
   * journal is still around (a compaction was interrupted). The store then writes a
   * snapshot of everything and starts a fresh journal before accepting writes.
   */
  needsCompaction: boolean
}

/**
 * `drain` runs after each batch of replayed lines: the store empties the audit events
 * `state.auditSink` collected into the audit segments, so replay never holds many in memory.
 */
export async function recover(dir: string, state: MemoryState, logger: Logger, drain: () => Promise<void> = async () => {}): Promise<Recovered> {
  for (const leftover of [FILES.snapshotTmp, FILES.journalTmp]) {
    if (await removeIfExists(join(dir, leftover))) {
      logger.info('embedded store: removed the leftover of an interrupted compaction', { file: leftover })
    }
  }
  state.beginBulk()
  let covers = 0
  let snapshotBytes = 0
  const snapshotPath = join(dir, FILES.snapshot)
  if (await exists(snapshotPath)) {
    covers = await replaySnapshot(snapshotPath, state, drain)
    snapshotBytes = (await stat(snapshotPath)).size
  }

  let generation = covers
  let needsCompaction = false
  const prevPath = join(dir, FILES.prev)
  if (await exists(prevPath)) {
    needsCompaction = true
    const prev = await replayJournal(prevPath, state, covers, generation + 1, logger, drain)
    if (prev.generation > covers) generation = prev.generation
  }

  const journalPath = join(dir, FILES.journal)
  let journalLines = 0
  let truncateJournalAt: number | undefined
  if (await exists(journalPath)) {
    const journal = await replayJournal(journalPath, state, covers, generation + 1, logger, drain)
    if (journal.generation > covers) {
      generation = journal.generation
      journalLines = journal.lines
      truncateJournalAt = journal.tornAt
    } else needsCompaction = true
  } else needsCompaction = true
  state.endBulk()
  return { generation, covers, snapshotBytes, journalLines, truncateJournalAt, needsCompaction }
}

/**
 * `recover`, with the audit events of snapshot and journals going into the audit segments,
 * which keep those they lack (a crash may have left them behind the journal). Those are
 * fsynced before anything could drop the journal holding them.
 */
export async function recoverWithAudit(dir: string, state: MemoryState, audit: AuditSegments, logger: Logger): Promise<Recovered> {
  await audit.open()
  const replayed: AuditItem[] = []
  state.auditSink = (event) => void replayed.push(event)
  const drain = () => audit.append(replayed.splice(0))
  try {
    const r = await recover(dir, state, logger, drain)
    await drain()
    await audit.sync()
    state.lastSeq = Math.max(state.lastSeq, audit.lastSeq)
    return r
  } finally {
    state.auditSink = undefined
  }
}

function corrupt(path: string, line: Line, reason: string): Error {
  return new Error(
    `embedded store: ${path}:${line.lineNo}: corrupt line (${reason}); refusing to start because the ` +
      `lines after it cannot be trusted. Restore the directory from a backup, or fix or remove that line.`,
  )
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

async function replaySnapshot(path: string, state: MemoryState, drain: () => Promise<void>): Promise<number> {
  // A snapshot is renamed into place only once complete and fsynced: any defect is
  // real corruption, never a crash artefact, so nothing in it is forgiven.
  let covers: number | undefined
  let lastSeq = 0
  let count = 0
  let ended = false
  for await (const batch of readLines(path)) {
    for (const line of batch) {
      let op: Op
      try {
        op = decodeLine(line.text)
      } catch (err) {
        throw corrupt(path, line, message(err))
      }
      if (ended) throw corrupt(path, line, 'data after the end line')
      if (covers === undefined) {
        if (op.op !== 'snapshot') throw corrupt(path, line, 'the first line is not a snapshot header')
        covers = op.covers
        lastSeq = op.last_seq
        continue
      }
      if (op.op === 'end') {
        if (op.lines !== count) throw corrupt(path, line, `the snapshot says ${op.lines} lines, it has ${count}`)
        ended = true
        continue
      }
      try {
        state.apply(op)
      } catch (err) {
        throw corrupt(path, line, message(err))
      }
      count++
    }
    await drain()
  }
  if (covers === undefined || !ended) throw new Error(`embedded store: ${path} is incomplete (no header or end line)`)
  // Seq numbers are never reused, even if the audit events holding them were dropped.
  state.lastSeq = Math.max(state.lastSeq, lastSeq)
  return covers
}

interface Replayed {
  generation: number
  lines: number
  tornAt: number | undefined
}

/**
 * Replays a journal unless the snapshot already covers it (then only its header is read).
 * A bad line followed only by bad lines is the torn tail of an unacknowledged write
 * (dropped with a warning); a bad line followed by a good one is corruption (fatal).
 */
async function replayJournal(
  path: string,
  state: MemoryState,
  covers: number,
  expected: number,
  logger: Logger,
  drain: () => Promise<void>,
): Promise<Replayed> {
  let generation: number | undefined
  let lines = 0
  let bad: { line: Line; reason: string } | undefined
  for await (const batch of readLines(path)) {
    for (const line of batch) {
      let op: Op
      try {
        if (!line.terminated) throw new Error('no newline at the end')
        op = decodeLine(line.text)
      } catch (err) {
        bad ??= { line, reason: message(err) }
        continue
      }
      if (bad) throw corrupt(path, bad.line, bad.reason)
      if (generation === undefined) {
        if (op.op !== 'journal') throw corrupt(path, line, 'the first line is not a journal header')
        generation = op.generation
        if (generation <= covers) return { generation, lines: 0, tornAt: undefined } // in the snapshot
        if (generation !== expected) {
          throw new Error(
            `embedded store: ${path} is generation ${generation}, expected ${expected}: a journal file is missing`,
          )
        }
        continue
      }
      try {
        state.apply(op)
      } catch (err) {
        throw corrupt(path, line, message(err))
      }
      lines++
    }
    await drain()
  }
  if (generation === undefined) {
    // Empty or only a torn header: journals are created with their header by rename, so
    // this is no crash artefact of ours, but it holds no data either.
    logger.warn('embedded store: journal without a header, replaced', { file: path })
    return { generation: 0, lines: 0, tornAt: undefined }
  }
  if (bad) {
    logger.warn('embedded store: dropped the torn end of the journal (a write interrupted by a crash, never acknowledged)', {
      file: path,
      line: bad.line.lineNo,
      reason: bad.reason,
    })
  }
  return { generation, lines, tornAt: bad?.line.offset }
}
