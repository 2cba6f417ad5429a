/**
 * Change propagation between Anchorage instances sharing one MongoDB (docs/mongodb.md).
 *
 * Writers: after a record write is acknowledged, bump the revision counter
 * ({_id: 'revision'} in anchorage_meta) and insert {_id: rev, collection, id} into
 * anchorage_changes. The record write comes FIRST, so whoever sees counter value R knows
 * every record write belonging to revisions <= R has already happened.
 *
 * Readers: poll the counter; emit the change entries between the last seen value and R.
 * A revision without an entry (writer crashed or is between its two writes, or the entry
 * has expired) means "something may have changed": emit {collection} for every
 * collection. That is always correct because of the ordering above, so a gap never needs
 * waiting for or repairing. On start an instance bumps the counter once without an entry:
 * if it crashed last time between a record write and its bump, every other instance now
 * sees a gap and re-reads.
 *
 * Change streams (replica sets) are only a latency improvement: the counter is always
 * maintained, so instances that stream and instances that poll interoperate.
 */
import type { ChangeStream, Collection, Db, Document } from 'mongodb'
import type { Logger } from '../../logger.js'
import { COLLECTIONS, type CollectionName, type StoreChange } from '../types.js'
import { CHANGES, META, collectionOf, firstLine, idFromKey, isDuplicateKey, recordCollection } from './model.js'

export interface ChangeFeedOptions {
  db: Db
  /** Identifies this store instance's own entries (already announced locally). */
  instanceId: string
  pollIntervalMs: number
  useChangeStreams: 'auto' | 'never'
  logger: Logger
  emit: (change: StoreChange) => void
}

/** Beyond this many revisions in one poll, reading the entries costs more than re-reading. */
const MAX_ENTRIES_PER_POLL = 5000

export class ChangeFeed {
  private readonly meta: Collection<Document>
  private readonly changes: Collection<Document>
  private lastSeen: number | undefined
  /** A record write whose bump failed: bump (without entry) at the next chance. */
  private owed = false
  private timer: NodeJS.Timeout | undefined
  private stream: ChangeStream | undefined
  private stopped = false
  private failing = false
  mode: 'stream' | 'poll' | 'stopped' = 'poll'

  constructor(private readonly o: ChangeFeedOptions) {
    this.meta = o.db.collection(META)
    this.changes = o.db.collection(CHANGES)
  }

  async start(): Promise<void> {
    // See the header: announces any write this instance may have left unannounced when it last died.
    await this.bump()
    if (this.o.useChangeStreams === 'auto' && (await this.startStream())) return
    this.mode = 'poll'
    await this.poll()
    this.schedule()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.mode = 'stopped'
    clearTimeout(this.timer)
    const stream = this.stream
    this.stream = undefined
    await stream?.close().catch(() => undefined)
  }

  /** Called after a record write was acknowledged. Never throws: the record is already stored. */
  async recordWritten(collection: CollectionName, id: string): Promise<void> {
    try {
      const rev = await this.bump()
      await this.changes.insertOne({ _id: rev, collection, id, src: this.o.instanceId, at: new Date() } as Document)
    } catch (err) {
      // The bump may or may not have happened; a later bump without entry makes a gap
      // every reader resolves by re-reading everything.
      this.owed = true
      this.o.logger.warn('could not record a change for other instances; will announce a gap', { collection, error: firstLine(err) })
    }
  }

  /** Announces "anything may have changed" to other instances (after load(), for instance). */
  async announceGap(): Promise<void> {
    await this.bump()
  }

  private async bump(): Promise<number> {
    for (;;) {
      try {
        const doc = await this.meta.findOneAndUpdate(
          { _id: 'revision' } as Document,
          { $inc: { rev: 1 } },
          { upsert: true, returnDocument: 'after', projection: { rev: 1 } },
        )
        return Number(doc?.['rev'])
      } catch (err) {
        // Two first-ever upserts can race on _id; the loser simply increments the winner's doc.
        if (!isDuplicateKey(err)) throw err
      }
    }
  }

  private emit(change: StoreChange): void {
    // A poll or stream read still in flight when the store closes must not announce anything.
    if (!this.stopped) this.o.emit(change)
  }

  private emitAll(): void {
    for (const collection of COLLECTIONS) this.emit({ collection })
  }

  /** The timer runs in both modes: streaming instances still owe bumps after a failure. */
  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule())
    }, this.o.pollIntervalMs)
    // The feed must never keep a process alive on its own.
    this.timer.unref()
  }

  private async tick(): Promise<void> {
    if (this.mode === 'poll') return this.poll()
    if (!this.owed) return
    try {
      await this.bump()
      this.owed = false
    } catch {
      // still unreachable: the next tick tries again
    }
  }

  /** One poll. Errors are logged, never thrown (the next poll retries). */
  private async poll(): Promise<void> {
    try {
      if (this.owed) {
        await this.bump()
        this.owed = false
      }
      const doc = await this.meta.findOne({ _id: 'revision' } as Document, { projection: { rev: 1 } })
      const rev = typeof doc?.['rev'] === 'number' ? doc['rev'] : 0
      if (this.failing) {
        this.failing = false
        this.o.logger.info('change polling recovered')
      }
      const last = this.lastSeen
      this.lastSeen = rev
      if (last === rev) return
      // First poll, a counter that went backwards (database restored) or a long absence:
      // what happened before cannot be listed, so everything may have changed.
      if (last === undefined || rev < last || rev - last > MAX_ENTRIES_PER_POLL) return this.emitAll()
      const entries = await this.changes.find({ _id: { $gt: last, $lte: rev } } as Document).sort({ _id: 1 }).toArray()
      const seen = new Set<string>()
      for (const e of entries) {
        const collection = collectionOf(recordCollection(e['collection'] as CollectionName))
        if (e['src'] === this.o.instanceId || !collection || typeof e['id'] !== 'string') continue
        const key = `${collection}\n${e['id']}`
        if (seen.has(key)) continue
        seen.add(key)
        this.emit({ collection, id: e['id'] })
      }
      if (entries.length < rev - last) this.emitAll()
    } catch (err) {
      if (!this.failing) this.o.logger.warn('change polling failed; retrying', { error: firstLine(err) })
      this.failing = true
    }
  }

  /** Starts a change stream; false when the server has none (standalone, mongo-java-server). */
  private async startStream(): Promise<boolean> {
    const names = COLLECTIONS.map(recordCollection)
    const stream = this.o.db.watch([{ $match: { 'ns.coll': { $in: names } } }])
    try {
      // watch() is lazy: the first read sends the aggregate that an unsupported server refuses.
      const first = await stream.tryNext()
      if (first) this.onEvent(first)
    } catch (err) {
      await stream.close().catch(() => undefined)
      this.o.logger.info('change streams unavailable; polling for changes', { error: firstLine(err) })
      return false
    }
    this.stream = stream
    this.mode = 'stream'
    // Writes between our last read and the stream's start are not in the stream.
    this.emitAll()
    void this.readStream(stream)
    this.schedule()
    return true
  }

  private async readStream(stream: ChangeStream): Promise<void> {
    try {
      // next() waits for events; the driver resumes by itself after resumable errors.
      while (!this.stopped && this.stream === stream) this.onEvent(await stream.next())
    } catch (err) {
      if (this.stopped || this.stream !== stream) return
      // Anything else: fall back to polling, which is always correct because every
      // writer maintains the counter whatever mode it is in.
      this.o.logger.warn('change stream failed; falling back to polling', { error: firstLine(err) })
      this.stream = undefined
      await stream.close().catch(() => undefined)
      this.mode = 'poll' // the running timer polls from its next tick on
      this.lastSeen = undefined
    }
  }

  private onEvent(ev: Document): void {
    const coll: unknown = (ev['ns'] as Document | undefined)?.['coll']
    const collection = typeof coll === 'string' ? collectionOf(coll) : undefined
    const id: unknown = (ev['documentKey'] as Document | undefined)?.['_id']
    if (collection && typeof id === 'string') this.emit({ collection, id: idFromKey(id) })
    else if (collection) this.emit({ collection })
    else this.emitAll() // drop, dropDatabase, rename, invalidate
  }
}
