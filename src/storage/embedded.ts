/**
 * The embedded store: the default adapter, keeping everything in one local directory.
 *
 * Reads are served from in-memory maps (plus a sorted index of ids per collection);
 * writes go to an append-only journal, fsynced before they are acknowledged, with group
 * commit; the journal is periodically compacted into a snapshot. Design and crash
 * analysis: docs/storage.md.
 */
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { systemClock, type Clock } from '../clock.js'
import { FederationError } from '../errors.js'
import { silentLogger, type Logger } from '../logger.js'
import type {
  AuditEvent, AuditQuery, CollectionName, DumpRecord, ListOptions, Store, StoreChange, StoredRecord, WriteOptions,
} from './types.js'
import { AuditSegments } from './embedded/audit_segments.js'
import { CompactionCoordinator, type CompactionStats } from './embedded/compaction.js'
import { acquireLock, releaseLock } from './embedded/lock.js'
import {
  assertCollection,
  encodeAudit,
  encodeClaim,
  encodePut,
  encodeRemove,
  isExpired,
  toEntry,
  type Entry,
} from './embedded/format.js'
import { Journal, type AuditItem, type StepHook } from './embedded/journal.js'
import { collectLoad } from './embedded/load.js'
import { FILES, recoverWithAudit } from './embedded/recovery.js'
import { MemoryState, claimKey } from './embedded/state.js'
import { listPage, whereCount } from './embedded/query.js'
import { startRetention, type Retention, type RetentionOptions } from './retention.js'
import { checkAuditEvent } from './record.js'

export interface EmbeddedStoreOptions extends RetentionOptions {
  /** Data directory; created with mode 0700. */
  dir: string
  clock?: Clock
  logger?: Logger
  /** fsync before acknowledging writes (default true). Off only for throw-away data. */
  fsync?: boolean
  /**
   * Compact once the journal has this many lines (default 10,000) and has grown as big
   * as the snapshot: rewriting the snapshot then costs O(1) amortized per write, and
   * disk use and replay time stay within about twice the data.
   */
  compactEvery?: number
  /** An audit segment file is closed and a new one started past this size (default 4 MiB). */
  auditSegmentBytes?: number
  /** Tests only: called at each compaction step, e.g. to kill the process there. */
  onCompactionStep?: StepHook
}

export interface EmbeddedStoreStats extends CompactionStats {
  fsyncs: number
  journalLines: number
  generation: number
}

export interface EmbeddedStore extends Store {
  /** Compacts now (journal -> snapshot) and resolves when done. */
  compact(): Promise<void>
  stats(): EmbeddedStoreStats
}

export function createEmbeddedStore(options: EmbeddedStoreOptions): EmbeddedStore {
  return new EmbeddedStoreImpl(options)
}

/** A write not yet durable: what update/insert/remove/claimOnce must already see. */
interface Slot {
  entry: Entry | null
}

class EmbeddedStoreImpl implements EmbeddedStore {
  readonly kind = 'embedded'
  private readonly dir: string
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly fsync: boolean
  private status: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new'
  private state = new MemoryState()
  private journal: Journal
  private audit: AuditSegments
  private retention: Retention | undefined
  private readonly compaction: CompactionCoordinator
  private readonly pending = new Map<CollectionName, Map<string, Slot>>()
  private readonly pendingClaims = new Map<string, { exp: number }>()
  private pendingOps = 0
  /** Last audit seq handed out (ahead of state.lastSeq while appends are in flight). */
  private seq = 0
  private readonly listeners = new Set<(change: StoreChange) => void>()

  constructor(private readonly options: EmbeddedStoreOptions) {
    this.dir = resolve(options.dir)
    this.clock = options.clock ?? systemClock
    this.logger = options.logger ?? silentLogger
    this.fsync = options.fsync ?? true
    this.compaction = new CompactionCoordinator({
      ...{ dir: this.dir, fsync: this.fsync, logger: this.logger, hook: options.onCompactionStep },
      compactEvery: options.compactEvery ?? 10_000,
      image: () => this.state.image(this.clock.now()),
      journal: () => this.journal,
      beforeSnapshot: () => this.audit.sync(),
    })
    this.journal = this.newJournal()
    this.audit = this.newAudit()
  }

  private newJournal(): Journal {
    const { dir, fsync, logger, options } = this
    return new Journal(dir, fsync, logger, () => this.compaction.betweenBatches(), options.onCompactionStep, (events) =>
      this.audit.append(events),
    )
  }

  private newAudit(): AuditSegments {
    return new AuditSegments(this.dir, this.fsync, this.options.auditSegmentBytes ?? 4 << 20)
  }

  async open(): Promise<void> {
    if (this.status !== 'new' && this.status !== 'closed') throw new Error(`embedded store ${this.dir} is already open`)
    this.status = 'opening'
    let locked = false
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 })
      await acquireLock(this.dir, join(this.dir, FILES.lock))
      locked = true
      this.state = new MemoryState()
      this.journal = this.newJournal()
      this.audit = this.newAudit()
      this.pending.clear()
      this.pendingClaims.clear()
      this.pendingOps = 0
      const started = performance.now()
      const r = await recoverWithAudit(this.dir, this.state, this.audit, this.logger)
      this.compaction.snapshotBytes = r.snapshotBytes
      if (r.needsCompaction) await this.compaction.atOpen(r.generation, r.covers)
      else await this.journal.resume(r.generation, r.journalLines, r.truncateJournalAt)
      this.seq = this.state.lastSeq
      this.status = 'open'
      this.logger.info('embedded store opened', {
        dir: this.dir,
        ms: Math.round(performance.now() - started),
        records: this.state.liveCount(),
      })
      this.retention = startRetention({ ...this.options, clock: this.clock, logger: this.logger, prune: (t) => this.pruneAudit(t) })
      await this.retention?.run()
    } catch (err) {
      await this.retention?.stop()
      this.retention = undefined
      await this.journal.close().catch(() => {})
      await this.audit.close().catch(() => {})
      if (locked) await releaseLock(this.dir, join(this.dir, FILES.lock)).catch(() => {})
      this.status = 'new'
      throw err
    }
  }

  async close(): Promise<void> {
    if (this.status !== 'open') return
    this.status = 'closing'
    await this.retention?.stop()
    this.retention = undefined
    await this.journal.barrier().catch(() => {})
    await this.compaction.idle()
    await this.journal.close()
    await this.audit.close()
    await releaseLock(this.dir, join(this.dir, FILES.lock))
    this.status = 'closed'
  }

  async ready(): Promise<boolean> {
    return this.status === 'open' && !this.journal.failed
  }

  async compact(): Promise<void> {
    this.writable()
    await this.compaction.request()
  }

  stats(): EmbeddedStoreStats {
    return {
      ...this.compaction.stats(),
      fsyncs: this.journal.fsyncs,
      journalLines: this.journal.lines,
      generation: this.journal.generation,
    }
  }

  // ---- reads: from durable state only ----

  async get<T extends StoredRecord>(collection: CollectionName, id: string): Promise<T | undefined> {
    const now = this.readable(collection)
    const entry = this.state.get(collection, id)
    return entry && !isExpired(entry.exp, now) ? (JSON.parse(entry.json) as T) : undefined
  }

  async list<T extends StoredRecord>(collection: CollectionName, options: ListOptions = {}): Promise<T[]> {
    this.readable(collection)
    return listPage<T>(this.state, collection, options)
  }

  async count(collection: CollectionName, where?: ListOptions['where']): Promise<number> {
    this.readable(collection)
    return where && Object.keys(where).length > 0 ? whereCount(this.state, collection, where) : this.state.size(collection)
  }

  async listAudit(query: AuditQuery = {}): Promise<AuditEvent[]> {
    this.assertOpen()
    return this.audit.page(query)
  }

  async pruneAudit(before: number): Promise<number> {
    this.writable()
    if (!Number.isFinite(before)) throw new TypeError('pruneAudit needs a time in epoch seconds')
    return this.audit.prune(before * 1000)
  }

  async *dump(): AsyncIterable<DumpRecord> {
    this.assertOpen()
    const image = this.state.image(this.clock.now())
    for (const { collection, entries } of image.collections) {
      for (const e of entries) yield { type: 'record', collection, record: JSON.parse(e.json) as StoredRecord }
    }
    for await (const json of this.audit.events(0, image.lastSeq)) yield { type: 'audit', event: JSON.parse(json) as AuditEvent }
    for (const c of image.claims) yield { type: 'claim', scope: c.scope, key: c.key, expires_at: c.exp }
  }

  // ---- writes: decided synchronously against the latest state (durable + pending) ----

  async insert<T extends StoredRecord>(collection: CollectionName, record: T, options?: WriteOptions): Promise<void> {
    const now = this.writable(collection)
    const entry = toEntry(record)
    checkAuditEvent(options?.audit)
    if (this.latest(collection, record.id, now)) {
      await this.journal.barrier() // the conflicting write is durable before we report it
      throw new FederationError('conflict', `${collection}: ${JSON.stringify(record.id)} already exists`)
    }
    await this.write(collection, record.id, entry, options?.audit)
  }

  async put<T extends StoredRecord>(collection: CollectionName, record: T, options?: WriteOptions): Promise<void> {
    this.writable(collection)
    const entry = toEntry(record)
    checkAuditEvent(options?.audit)
    await this.write(collection, record.id, entry, options?.audit)
  }

  async update<T extends StoredRecord>(
    collection: CollectionName,
    id: string,
    mutate: (current: T | undefined) => T | undefined,
    options?: WriteOptions,
  ): Promise<T | undefined> {
    const now = this.writable(collection)
    checkAuditEvent(options?.audit)
    // Everything up to write() is synchronous, so no other write can interleave: mutate
    // runs exactly once and never needs a retry here.
    const current = this.latest(collection, id, now)
    const next = mutate(current ? (JSON.parse(current.json) as T) : undefined)
    if (next === undefined) {
      await this.journal.barrier()
      return current ? (JSON.parse(current.json) as T) : undefined
    }
    if (next.id !== id) throw new TypeError(`update of ${JSON.stringify(id)} returned a record with id ${JSON.stringify(next.id)}`)
    const entry = toEntry(next)
    await this.write(collection, id, entry, options?.audit)
    return JSON.parse(entry.json) as T
  }

  async remove(collection: CollectionName, id: string, options?: WriteOptions): Promise<boolean> {
    const now = this.writable(collection)
    checkAuditEvent(options?.audit)
    if (!this.latest(collection, id, now)) {
      await this.journal.barrier()
      return false
    }
    await this.write(collection, id, null, options?.audit)
    return true
  }

  async claimOnce(scope: string, key: string, expiresAt: number): Promise<boolean> {
    const now = this.writable()
    if (typeof scope !== 'string' || typeof key !== 'string' || !Number.isFinite(expiresAt)) {
      throw new TypeError('claimOnce needs a string scope and key and a numeric expiresAt')
    }
    const k = claimKey(scope, key)
    const current = this.pendingClaims.get(k) ?? this.state.claims.get(k)
    if (current && current.exp > now) {
      await this.journal.barrier()
      return false
    }
    const slot = { exp: expiresAt }
    this.pendingClaims.set(k, slot)
    await this.submit([encodeClaim(scope, key, expiresAt)], () => {
      this.state.setClaim({ scope, key, exp: expiresAt })
      if (this.pendingClaims.get(k) === slot) this.pendingClaims.delete(k)
    })
    return true
  }

  async appendAudit(event: AuditEvent): Promise<AuditEvent> {
    this.writable()
    checkAuditEvent(event)
    const item = this.nextAudit(event)
    await this.submit([encodeAudit(item.json)], () => this.noteSeq(item.seq), [item])
    return JSON.parse(item.json) as AuditEvent
  }

  async load(records: AsyncIterable<DumpRecord>): Promise<void> {
    this.writable()
    const now = this.clock.now()
    const batch = await collectLoad(records, now)
    await this.journal.barrier()
    this.writable()
    this.state.sweep(this.clock.now())
    // A store that ever held audit events (seq > 0, even if all were pruned) is not empty:
    // loaded seqs must never repeat one handed out before.
    if (this.pendingOps > 0 || !this.state.isEmpty() || this.seq > 0) {
      throw new FederationError('conflict', 'the store is not empty: a dump can only be loaded into an empty store')
    }
    if (batch.lastSeq > 0) this.seq = batch.lastSeq
    await this.submit(batch.lines, () => {
      for (const op of batch.ops) this.state.apply(op)
    }, batch.audit)
    for (const collection of batch.collections) this.emit({ collection })
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  // ---- internals ----

  private latest(collection: CollectionName, id: string, now: number): Entry | undefined {
    const slot = this.pending.get(collection)?.get(id)
    const entry = slot ? slot.entry : this.state.get(collection, id)
    return entry && !isExpired(entry.exp, now) ? entry : undefined
  }

  /** One journal line holds the change and its audit event: replayed together or not at all. */
  private write(collection: CollectionName, id: string, entry: Entry | null, event?: AuditEvent): Promise<void> {
    let slots = this.pending.get(collection)
    if (!slots) this.pending.set(collection, (slots = new Map<string, Slot>()))
    const slot: Slot = { entry }
    slots.set(id, slot)
    const item = event ? this.nextAudit(event) : undefined
    const line = entry ? encodePut(collection, entry, item?.json) : encodeRemove(collection, id, item?.json)
    return this.submit([line], () => {
      if (entry) this.state.put(collection, id, entry)
      else this.state.remove(collection, id)
      if (item) this.noteSeq(item.seq)
      // A later write of the same id may be pending already: only drop our own slot.
      if (slots.get(id) === slot) slots.delete(id)
      this.emit({ collection, id })
    }, item ? [item] : [])
  }

  /** The next seq (decided synchronously, so seq order is call order and journal order). */
  private nextAudit(event: AuditEvent): AuditItem {
    const seq = ++this.seq
    const rest: Partial<AuditEvent> = { ...event }
    delete rest.seq
    return { seq, json: JSON.stringify({ seq, ...rest }) }
  }

  private noteSeq(seq: number): void {
    if (seq > this.state.lastSeq) this.state.lastSeq = seq
  }

  private submit(lines: readonly string[], commit: () => void, audit: readonly AuditItem[] = []): Promise<void> {
    this.pendingOps++
    return this.journal.submit(lines, () => {
      this.pendingOps--
      commit()
    }, audit)
  }

  private emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change)
      } catch (err) {
        this.logger.warn('embedded store: an onChange listener threw', { error: String(err) })
      }
    }
  }

  private assertOpen(): void {
    if (this.status !== 'open') {
      throw new FederationError('temporarily_unavailable', `embedded store ${this.dir} is not open`)
    }
  }

  /** Checks, drops expired data, and returns the time every expiry decision of the call uses. */
  private readable(collection: CollectionName): number {
    this.assertOpen()
    assertCollection(collection)
    const now = this.clock.now()
    this.state.sweep(now)
    return now
  }

  private writable(collection?: CollectionName): number {
    this.assertOpen()
    if (this.journal.failed) throw this.journal.failed
    if (collection !== undefined) assertCollection(collection)
    return this.clock.now()
  }
}
