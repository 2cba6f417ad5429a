/**
 * The append-only journal with group commit.
 *
 * A write is acknowledged (its promise resolves) only after its line is written and
 * fdatasync'ed. Writes submitted while a write+fsync is in flight wait in `queue` and go
 * out together in the next single write+fsync, so N concurrent writers cost about two
 * fsyncs, not N. Between batches the store may rotate the journal for a compaction: that
 * is the one moment when every submitted line is durable and applied to memory.
 */
import { open, rename, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { FederationError } from '../../errors.js'
import type { Logger } from '../../logger.js'
import { encodeJournalHeader } from './format.js'
import { fsyncDir, writeAll, writeFileAtomically } from './files.js'
import { FILES } from './recovery.js'

/** An audit event carried by a write: its seq and JSON text. */
export interface AuditItem {
  seq: number
  json: string
}

interface PendingWrite {
  lines: readonly string[]
  /** Audit events on those lines: appended to the audit segments once durable here. */
  audit: readonly AuditItem[]
  /** Applies the write to memory and notifies listeners: runs once it is durable. */
  commit: () => void
  resolve: () => void
  reject: (err: Error) => void
}

export type CompactionStep = 'journal-renamed' | 'journal-rotated' | 'snapshot-written' | 'compacted'
export type StepHook = (step: CompactionStep) => void | Promise<void>

export class Journal {
  generation = 0
  /** Operation lines and bytes in the current file (the compaction trigger). */
  lines = 0
  bytes = 0
  fsyncs = 0
  private fh: FileHandle | undefined
  private queue: PendingWrite[] = []
  private flushing = false
  private failure: Error | undefined
  private readonly path: string

  constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
    private readonly logger: Logger,
    private readonly betweenBatches: () => Promise<void>,
    private readonly hook: StepHook | undefined,
    private readonly auditSink: (events: AuditItem[]) => Promise<void>,
  ) {
    this.path = join(dir, FILES.journal)
  }

  get failed(): Error | undefined {
    return this.failure
  }

  /** Continues the replayed journal.jsonl, first cutting off a torn tail if there is one. */
  async resume(generation: number, lines: number, truncateAt: number | undefined): Promise<void> {
    if (truncateAt !== undefined) {
      const fh = await open(this.path, 'r+')
      try {
        await fh.truncate(truncateAt)
        if (this.fsync) await fh.sync()
      } finally {
        await fh.close()
      }
    }
    this.fh = await open(this.path, 'a', 0o600)
    this.generation = generation
    this.lines = lines
    this.bytes = (await this.fh.stat()).size
  }

  /** Replaces journal.jsonl by an empty journal of `generation` (header written by rename, never torn). */
  async startFresh(generation: number): Promise<void> {
    await this.fh?.close()
    this.fh = undefined
    const tmp = join(this.dir, FILES.journalTmp)
    this.bytes = await writeFileAtomically(this.dir, tmp, this.path, [encodeJournalHeader(generation)], this.fsync)
    this.fh = await open(this.path, 'a', 0o600)
    this.generation = generation
    this.lines = 0
  }

  /**
   * journal.jsonl -> journal.prev.jsonl, then a fresh journal.jsonl of the next
   * generation. Only called between batches. Returns the generation now in prev.
   */
  async rotate(): Promise<number> {
    const old = this.generation
    await this.fh?.close()
    this.fh = undefined
    await rename(this.path, join(this.dir, FILES.prev))
    // Durable before the fresh journal takes the name: never a state with neither.
    if (this.fsync) await fsyncDir(this.dir)
    await this.hook?.('journal-renamed')
    await this.startFresh(old + 1)
    await this.hook?.('journal-rotated')
    return old
  }

  submit(lines: readonly string[], commit: () => void, audit: readonly AuditItem[] = []): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ lines, audit, commit, resolve, reject })
      if (!this.flushing) {
        this.flushing = true
        // setImmediate rather than a microtask: writes started by other I/O callbacks of
        // this event-loop turn join the batch.
        setImmediate(() => void this.flush())
      }
    })
  }

  /** Resolves once everything submitted before it is durable and applied. */
  barrier(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    if (!this.flushing) return Promise.resolve()
    return this.submit([], () => {})
  }

  async close(): Promise<void> {
    await this.barrier().catch(() => {})
    await this.fh?.close()
    this.fh = undefined
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue
        this.queue = []
        const lines: string[] = []
        const audit: AuditItem[] = []
        for (const w of batch) {
          for (const l of w.lines) lines.push(l)
          for (const a of w.audit) audit.push(a)
        }
        try {
          if (lines.length > 0) {
            if (!this.fh) throw new Error('the journal is not open')
            this.bytes += await writeAll(this.fh, lines.join('\n') + '\n')
            if (this.fsync) {
              await this.fh.datasync()
              this.fsyncs++
            }
            this.lines += lines.length
          }
          // Durable in the journal: now into the audit segments (no fsync of their own;
          // they are synced before a compaction drops this journal). Before the
          // acknowledgement, so an acknowledged event is readable from the segments.
          if (audit.length > 0) await this.auditSink(audit)
        } catch (err) {
          this.fail(err, batch)
          return
        }
        for (const w of batch) {
          try {
            w.commit()
          } catch (err) {
            this.logger.error('embedded store: applying a durable write failed', { error: String(err) })
          }
          w.resolve()
        }
        try {
          await this.betweenBatches()
        } catch (err) {
          this.fail(err, [])
          return
        }
      }
    } finally {
      // Synchronously after the last emptiness check: a submit cannot slip in between.
      this.flushing = false
    }
  }

  /**
   * After a failed write the file may or may not hold the batch, and memory no longer
   * matches it: refuse every further write (reads keep working from memory) until a
   * restart replays what really reached the disk.
   */
  private fail(err: unknown, batch: PendingWrite[]): void {
    this.failure = new FederationError(
      'server_error',
      `embedded store: writing ${this.path} failed (${err instanceof Error ? err.message : String(err)}); ` +
        `no further writes are accepted, restart the process`,
      { cause: err },
    )
    this.logger.error(this.failure.message)
    for (const w of [...batch, ...this.queue]) w.reject(this.failure)
    this.queue = []
  }
}
