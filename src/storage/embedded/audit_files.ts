/** Reading the embedded store's audit segment files at open (see audit_segments.ts). */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readLines } from './files.js'

export const segmentName = (first: number): string => `audit-${String(first).padStart(16, '0')}.jsonl`

export interface Scanned {
  /** Highest seq of a good line (0: none). */
  lastSeq: number
  /** Bytes up to the first bad line: the rest is a torn tail (its events are still in the journal). */
  goodBytes: number
  bytes: number
}

/**
 * Reads a segment line by line. A segment is fsynced only at a roll, a compaction or a close,
 * so after a power loss its unsynced end may be cut short or hold zeros; everything from the
 * first bad line on is dropped and re-appended from the journal by recovery.
 */
export async function scanSegment(path: string): Promise<Scanned> {
  let lastSeq = 0
  let goodBytes = 0
  let bytes = 0
  let bad = false
  for await (const batch of readLines(path)) {
    for (const line of batch) {
      const end = line.offset + Buffer.byteLength(line.text) + (line.terminated ? 1 : 0)
      bytes = end
      if (bad) continue
      const seq = line.terminated ? seqOfLine(line.text) : undefined
      if (seq === undefined || seq <= lastSeq) {
        bad = true
        continue
      }
      lastSeq = seq
      goodBytes = end
    }
  }
  return { lastSeq, goodBytes, bytes }
}

function seqOfLine(text: string): number | undefined {
  try {
    const v = JSON.parse(text) as { seq?: unknown }
    return typeof v === 'object' && v !== null && Number.isSafeInteger(v.seq) && (v.seq as number) > 0 ? (v.seq as number) : undefined
  } catch {
    return undefined
  }
}

/** The highest seq ever pruned (0 when nothing was). */
export async function readFloor(dir: string): Promise<number> {
  let text: string
  try {
    text = await readFile(join(dir, 'audit-floor.json'), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw err
  }
  const n = (JSON.parse(text) as { pruned_through?: unknown }).pruned_through
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new Error(`embedded store: ${join(dir, 'audit-floor.json')} is corrupt`)
  return n
}
