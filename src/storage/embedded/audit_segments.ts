/**
 * The embedded store's audit log on disk: append-only segment files of JSON lines, one
 * event a line in seq order, so memory holds only the list of segment names whatever the
 * size of the log. Reads stream the segments.
 *
 *   DIR/audit-0000000000000042.jsonl   events with seq >= 42 (up to the next segment's)
 *   DIR/audit-floor.json               {"pruned_through": N}: highest seq ever pruned
 *
 * The journal is the write-ahead log of every event: an event reaches a segment only after
 * its journal line is fsynced, and segments are fsynced before a compaction drops the
 * journal holding them. So a segment's unsynced tail is always still in the journal, and
 * recovery re-appends whatever the segments lack (seq > the last one they hold).
 * Crash analysis: docs/storage.md.
 */
import { open, readdir, rename, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { AuditEvent, AuditQuery } from '../types.js'
import { fsyncDir, readLines, removeIfExists, writeAll, writeFileAtomically } from './files.js'
import { readFloor, scanSegment, segmentName, type Scanned } from './audit_files.js'

export const AUDIT_DEFAULT_LIMIT = 100
export const AUDIT_MAX_LIMIT = 1000

interface Segment {
  /** Lower bound of the seqs it holds (the first at creation; pruning may drop some). */
  first: number
  file: string
}

export class AuditSegments {
  private segments: Segment[] = []
  private fh: FileHandle | undefined
  private currentBytes = 0
  private dirty = false
  /** Highest seq held (or pruned): recovery re-appends only events after it. */
  lastSeq = 0
  private floor = 0
  /** Mutations (append, sync, prune, close) run one at a time. */
  private chain: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
    private readonly rollBytes: number,
  ) {}

  /** Lists the segments and checks the newest: a torn tail (never acknowledged as durable here) is cut off. */
  async open(): Promise<void> {
    const files = await readdir(this.dir)
    // Leftovers of a roll or a prune interrupted before their rename: never authoritative.
    for (const f of files) if (/^audit-.*\.tmp$/.test(f)) await removeIfExists(join(this.dir, f))
    this.segments = files
      .flatMap((file) => {
        const m = /^audit-(\d{16})\.jsonl$/.exec(file)
        return m ? [{ first: Number(m[1]), file }] : []
      })
      .sort((a, b) => a.first - b.first)
    this.floor = await readFloor(this.dir)
    this.lastSeq = this.floor
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const seg = this.segments[i]!
      const scanned = await scanSegment(join(this.dir, seg.file))
      if (i === this.segments.length - 1) await this.resume(seg, scanned)
      if (scanned.lastSeq > 0) {
        this.lastSeq = Math.max(this.lastSeq, scanned.lastSeq)
        break
      }
    }
  }

  private async resume(seg: Segment, scanned: Scanned): Promise<void> {
    this.fh = await open(join(this.dir, seg.file), 'r+')
    if (scanned.goodBytes < scanned.bytes) {
      await this.fh.truncate(scanned.goodBytes)
      if (this.fsync) await this.fh.sync()
    }
    await this.fh.close()
    this.fh = await open(join(this.dir, seg.file), 'a', 0o600)
    this.currentBytes = scanned.goodBytes
  }

  /** Appends events (JSON text, each starting with its seq, increasing) without fsync. */
  append(events: ReadonlyArray<{ seq: number; json: string }>): Promise<void> {
    const fresh = events.filter((e) => e.seq > this.lastSeq)
    if (fresh.length === 0) return Promise.resolve()
    this.lastSeq = fresh[fresh.length - 1]!.seq
    return this.serial(async () => {
      for (let i = 0; i < fresh.length; ) {
        if (!this.fh || this.currentBytes >= this.rollBytes) await this.roll(fresh[i]!.seq)
        // Up to the roll size per segment, so that even a loaded dump leaves segments
        // small enough to prune and to rewrite in memory.
        const chunk: string[] = []
        let size = this.currentBytes
        while (i < fresh.length && (chunk.length === 0 || size < this.rollBytes)) {
          const json = fresh[i++]!.json
          chunk.push(json)
          size += Buffer.byteLength(json) + 1
        }
        this.currentBytes += await writeAll(this.fh!, chunk.join('\n') + '\n')
        this.dirty = true
      }
    })
  }

  /** Makes everything appended durable (before a compaction drops the journal holding it). */
  sync(): Promise<void> {
    return this.serial(() => this.syncNow())
  }

  close(): Promise<void> {
    return this.serial(async () => {
      await this.syncNow()
      await this.fh?.close()
      this.fh = undefined
    })
  }

  /** Oldest first, seq > after, at most `limit` (default 100, capped at 1000), filtered. */
  async page(query: AuditQuery): Promise<AuditEvent[]> {
    const { after, limit } = checkQuery(query)
    const out: AuditEvent[] = []
    if (limit === 0) return out
    const needles = [query.action, query.subject, query.actor].flatMap((v) => (v === undefined ? [] : [JSON.stringify(v)]))
    for await (const json of this.events(after, this.lastSeq)) {
      if (!needles.every((n) => json.includes(n))) continue
      const event = JSON.parse(json) as AuditEvent
      if (query.action !== undefined && event.action !== query.action) continue
      if (query.subject !== undefined && event.subject !== query.subject) continue
      if (query.actor !== undefined && event.actor !== query.actor) continue
      if (query.since !== undefined && !(event.time >= query.since)) continue
      if (query.until !== undefined && !(event.time < query.until)) continue
      out.push(event)
      if (out.length >= limit) break
    }
    return out
  }

  /**
   * Streams the events with after < seq <= through, oldest first. Tolerates segments
   * pruned or rolled while it reads; a line still being written is not returned.
   */
  async *events(after: number, through: number): AsyncGenerator<string> {
    const segments = this.segments.slice()
    // The last segment whose first seq is <= after + 1 holds the first event wanted.
    let i = 0
    while (i + 1 < segments.length && segments[i + 1]!.first <= after + 1) i++
    for (; i < segments.length; i++) {
      try {
        for await (const batch of readLines(join(this.dir, segments[i]!.file))) {
          for (const line of batch) {
            if (!line.terminated) continue
            const seq = seqOf(line.text)
            if (seq > through) return
            if (seq > after) yield line.text
          }
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err // pruned meanwhile
      }
    }
  }

  /**
   * Drops events older than `beforeMs`, oldest segment first: a segment of only old events
   * is deleted, the first one holding a newer event is rewritten without its old ones, and
   * pruning stops there. The floor is made durable first, so a crash halfway can never
   * let recovery re-append pruned events from the journal.
   */
  prune(beforeMs: number): Promise<number> {
    return this.serial(async () => {
      let removed = 0
      while (this.segments.length > 0) {
        const seg = this.segments[0]!
        const current = this.segments.length === 1
        const path = join(this.dir, seg.file)
        const { keep, dropped, highestDropped } = await partition(path, beforeMs)
        if (dropped === 0) break
        await this.raiseFloor(highestDropped)
        removed += dropped
        if (keep.length === 0 && !current) {
          await removeIfExists(path)
          this.segments.shift()
          if (this.fsync) await fsyncDir(this.dir)
          continue
        }
        if (current) {
          await this.syncNow()
          await this.fh?.close()
          this.fh = undefined
        }
        const bytes = await writeFileAtomically(this.dir, `${path}.tmp`, path, keep, this.fsync)
        if (current) {
          this.fh = await open(path, 'a', 0o600)
          this.currentBytes = bytes
        }
        break
      }
      return removed
    })
  }

  private async raiseFloor(seq: number): Promise<void> {
    if (seq <= this.floor) return
    this.floor = seq
    const path = join(this.dir, 'audit-floor.json')
    await writeFileAtomically(this.dir, `${path}.tmp`, path, [JSON.stringify({ pruned_through: seq })], this.fsync)
  }

  private async roll(first: number): Promise<void> {
    await this.syncNow()
    await this.fh?.close()
    const seg = { first, file: segmentName(first) }
    const tmp = join(this.dir, `${seg.file}.tmp`)
    await (await open(tmp, 'w', 0o600)).close()
    await rename(tmp, join(this.dir, seg.file))
    if (this.fsync) await fsyncDir(this.dir)
    this.segments.push(seg)
    this.fh = await open(join(this.dir, seg.file), 'a', 0o600)
    this.currentBytes = 0
  }

  private async syncNow(): Promise<void> {
    if (this.dirty && this.fh && this.fsync) await this.fh.datasync()
    this.dirty = false
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn)
    this.chain = run.catch(() => undefined)
    return run
  }
}

/** The seq at the start of a line this module wrote (`{"seq":N,...`), else parsed. */
function seqOf(text: string): number {
  const m = /^\{"seq":(\d+)[,}]/.exec(text)
  return m ? Number(m[1]) : Number((JSON.parse(text) as { seq?: unknown }).seq)
}

async function partition(path: string, beforeMs: number): Promise<{ keep: string[]; dropped: number; highestDropped: number }> {
  const keep: string[] = []
  let dropped = 0
  let highestDropped = 0
  try {
    for await (const batch of readLines(path)) {
      for (const line of batch) {
        if (!line.terminated) continue
        const event = JSON.parse(line.text) as { seq: number; time?: unknown }
        const t = typeof event.time === 'string' ? Date.parse(event.time) : NaN
        if (t < beforeMs) {
          dropped++
          highestDropped = Math.max(highestDropped, event.seq)
        } else keep.push(line.text)
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  return { keep, dropped, highestDropped }
}

function checkQuery(query: AuditQuery): { after: number; limit: number } {
  for (const k of ['action', 'subject', 'actor', 'since', 'until'] as const) {
    if (query[k] !== undefined && typeof query[k] !== 'string') throw new TypeError(`listAudit: ${k} must be a string`)
  }
  const after = query.after ?? 0
  if (typeof after !== 'number' || Number.isNaN(after)) throw new TypeError('listAudit: after must be a number')
  const requested = query.limit ?? AUDIT_DEFAULT_LIMIT
  if (typeof requested !== 'number' || Number.isNaN(requested)) throw new TypeError('listAudit: limit must be a number')
  return { after, limit: Math.max(0, Math.min(Math.floor(requested), AUDIT_MAX_LIMIT)) }
}
