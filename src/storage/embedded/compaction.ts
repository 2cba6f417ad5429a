/** Compaction: the image of memory written as a snapshot, after which the old journal goes. */
import { join } from 'node:path'
import type { Logger } from '../../logger.js'
import { encodeClaim, encodePut, encodeSnapshotHeader } from './format.js'
import { fsyncDir, removeIfExists, writeFileAtomically } from './files.js'
import type { Journal, StepHook } from './journal.js'
import { FILES } from './recovery.js'
import type { Image } from './state.js'

function* snapshotLines(image: Image, covers: number): Generator<string> {
  yield encodeSnapshotHeader(covers, image.lastSeq)
  let count = 0
  for (const { collection, entries } of image.collections) {
    for (const entry of entries) {
      count++
      yield encodePut(collection, entry)
    }
  }
  for (const claim of image.claims) {
    count++
    yield encodeClaim(claim.scope, claim.key, claim.exp)
  }
  // The end line lets recovery tell a complete snapshot from a truncated copy.
  yield JSON.stringify({ op: 'end', lines: count })
}

/** snapshot.jsonl.tmp -> fsync -> rename to snapshot.jsonl -> fsync the directory; returns its size. */
export async function writeSnapshot(dir: string, image: Image, covers: number, fsync: boolean): Promise<number> {
  return writeFileAtomically(
    dir,
    join(dir, FILES.snapshotTmp),
    join(dir, FILES.snapshot),
    snapshotLines(image, covers),
    fsync,
  )
}

export interface CompactionStats {
  compactions: number
  compacting: boolean
  snapshotBytes: number
}

interface CoordinatorOptions {
  dir: string
  fsync: boolean
  logger: Logger
  compactEvery: number
  hook: StepHook | undefined
  image: () => Image
  journal: () => Journal
  /**
   * Makes the audit events of the journals the snapshot covers durable in the audit
   * segments: once the snapshot is in place those journals are never replayed again.
   */
  beforeSnapshot: () => Promise<void>
}

/**
 * Decides when to compact and runs the steps in a crash-safe order:
 *   1. (between batches: everything durable and applied) capture the image of memory,
 *      rename journal.jsonl -> journal.prev.jsonl, start a fresh journal.jsonl (gen + 1);
 *   2. in the background, while writes go on into the fresh journal: fsync the audit
 *      segments (they hold every event of the old generation), then write the snapshot
 *      covering the old generation (tmp, fsync, rename, fsync dir);
 *   3. delete journal.prev.jsonl.
 * After a crash anywhere, recovery replays exactly what the snapshot does not cover.
 */
export class CompactionCoordinator {
  private running: Promise<void> | undefined
  private broken = false
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = []
  private count = 0
  /** Size of the current snapshot: compacting before the journal is as big would not pay. */
  snapshotBytes = 0

  constructor(private readonly o: CoordinatorOptions) {}

  stats(): CompactionStats {
    return { compactions: this.count, compacting: this.running !== undefined, snapshotBytes: this.snapshotBytes }
  }

  /** Runs in the journal's flush loop after each batch. */
  async betweenBatches(): Promise<void> {
    if (this.running || this.broken) return
    const journal = this.o.journal()
    const due = journal.lines >= this.o.compactEvery && journal.bytes >= this.snapshotBytes
    if (!due && this.waiters.length === 0) return
    const waiters = this.waiters.splice(0)
    try {
      const image = this.o.image()
      const covers = await journal.rotate()
      this.running = this.finish(image, covers)
    } catch (err) {
      for (const w of waiters) w.reject(err)
      throw err // the journal cannot go on: it fails the store
    }
    this.running
      .then(
        () => {
          this.count++
          for (const w of waiters) w.resolve()
        },
        (err: unknown) => {
          // journal.prev.jsonl stays and must not be overwritten by another rotation:
          // no more compactions until a restart, which recovers from exactly this state.
          this.broken = true
          this.o.logger.error('embedded store: compaction failed; the journal will grow until a restart', {
            error: String(err),
          })
          for (const w of waiters) w.reject(err)
        },
      )
      .finally(() => {
        this.running = undefined
        if (this.waiters.length > 0) this.kick()
      })
  }

  /** Compacts as soon as possible and resolves when the snapshot is in place. */
  request(): Promise<void> {
    if (this.broken) return Promise.reject(new Error('embedded store: compaction is off after an earlier failure'))
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
    if (!this.running) this.kick()
    return done
  }

  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => {})
  }

  /** First open, or recovery found a state to consolidate: snapshot everything, fresh journal. */
  async atOpen(generation: number, covers: number): Promise<void> {
    if (generation > covers) {
      await this.o.beforeSnapshot()
      this.snapshotBytes = await writeSnapshot(this.o.dir, this.o.image(), generation, this.o.fsync)
    }
    await removeIfExists(join(this.o.dir, FILES.prev))
    await this.o.journal().startFresh(generation + 1) // fsyncs the directory too
  }

  private kick(): void {
    // An empty write passes through the flush loop, which calls betweenBatches.
    this.o
      .journal()
      .submit([], () => {})
      .catch((err: unknown) => {
        for (const w of this.waiters.splice(0)) w.reject(err)
      })
  }

  private async finish(image: Image, covers: number): Promise<void> {
    await this.o.beforeSnapshot()
    this.snapshotBytes = await writeSnapshot(this.o.dir, image, covers, this.o.fsync)
    await this.o.hook?.('snapshot-written')
    await removeIfExists(join(this.o.dir, FILES.prev))
    if (this.o.fsync) await fsyncDir(this.o.dir)
    await this.o.hook?.('compacted')
  }
}
