/**
 * The MongoDB storage adapter (production store; see docs/mongodb.md). The only module
 * tree that imports the driver. Designed for servers without transactions or change
 * streams: every write is a single-document atomic operation, update() is optimistic
 * (a per-record `_v` version, retried on mismatch), and other instances learn about
 * changes from a polled revision counter (mongodb/changes.ts).
 */
import { randomBytes } from 'node:crypto'
import { MongoClient, type Collection, type Db } from 'mongodb'
import { systemClock, type Clock } from '../clock.js'
import { FederationError } from '../errors.js'
import { silentLogger, type Logger } from '../logger.js'
import {
  COLLECTIONS, type AuditEvent, type AuditQuery, type CollectionName, type DumpRecord, type ListOptions, type Store,
  type StoreChange, type StoredRecord, type WriteOptions,
} from './types.js'
import { ChangeFeed } from './mongodb/changes.js'
import { appendAudit, claimOnce, listAudit, pruneAudit } from './mongodb/claims_audit.js'
import { dumpAll, loadAll } from './mongodb/dump.js'
import { ensureIndexes } from './mongodb/indexes.js'
import {
  aliveFilter, assertCollection, databaseFromUri, firstLine, fromDoc, idKey,
  isUnavailable, listFilter, recordCollection, redactUri, translate, type RecordDoc,
} from './mongodb/model.js'
import { settleAll } from './mongodb/pending_audit.js'
import { checkAuditEvent } from './record.js'
import { insertRecord, putRecord, removeRecord, updateRecord, type WriteTarget } from './mongodb/writes.js'
import { startRetention, type Retention, type RetentionOptions } from './retention.js'

export interface MongoStoreOptions extends RetentionOptions {
  /** mongodb:// or mongodb+srv:// URI; its path names the database unless dbName is given. */
  uri: string
  /** Default: the URI's database, else 'anchorage'. */
  dbName?: string
  clock?: Clock
  logger?: Logger
  /** How often other instances' changes are polled for when there are no change streams. */
  pollIntervalMs?: number
  /** 'auto' uses change streams when the server has them (replica sets), else polls. */
  useChangeStreams?: 'auto' | 'never'
  /** How long open() and each operation wait for a reachable server (default 3000). */
  serverSelectionTimeoutMS?: number
  /**
   * How often the recovery pass settles audit events left pending in record documents by
   * an instance that died mid-write (default 60,000; it also runs at open).
   */
  auditRecoveryIntervalMs?: number
}

export interface MongoStore extends Store {
  /** How changes of other instances arrive: 'stream', 'poll', or 'closed'. */
  readonly changeMode: 'stream' | 'poll' | 'closed'
}

export function createMongoStore(options: MongoStoreOptions): MongoStore {
  return new MongoDbStore(options)
}

class MongoDbStore implements MongoStore {
  readonly kind = 'mongodb'
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly listeners = new Set<(change: StoreChange) => void>()
  private client: MongoClient | undefined
  private db: Db | undefined
  private feed: ChangeFeed | undefined
  private retention: Retention | undefined
  private recoveryTimer: NodeJS.Timeout | undefined

  constructor(private readonly options: MongoStoreOptions) {
    this.clock = options.clock ?? systemClock
    this.logger = (options.logger ?? silentLogger).child({ component: 'store', store: 'mongodb' })
  }

  get changeMode(): 'stream' | 'poll' | 'closed' {
    return !this.feed || this.feed.mode === 'stopped' ? 'closed' : this.feed.mode
  }

  async open(): Promise<void> {
    if (this.client) throw new Error('store is already open')
    const timeout = this.options.serverSelectionTimeoutMS ?? 3000
    const where = redactUri(this.options.uri)
    // One line whatever failed (the driver's messages can span several); the code says
    // whether retrying later can help (unreachable: 503) or not (bad URI, auth: 500).
    const failed = (err: unknown) =>
      new FederationError(isUnavailable(err) ? 'temporarily_unavailable' : 'server_error',
        `cannot open the MongoDB store at ${where}: ${firstLine(err)}`, { cause: err })
    let client: MongoClient
    try {
      client = new MongoClient(this.options.uri, {
        serverSelectionTimeoutMS: timeout,
        connectTimeoutMS: timeout,
        // undefined fields are dropped (as JSON.stringify does), never stored as null
        ignoreUndefined: true,
        appName: 'anchorage',
      })
      await client.connect()
    } catch (err) {
      throw failed(err)
    }
    const db = client.db(this.options.dbName ?? databaseFromUri(this.options.uri) ?? 'anchorage')
    try {
      await ensureIndexes(db, this.logger)
      const feed = new ChangeFeed({
        db,
        instanceId: randomBytes(8).toString('hex'),
        pollIntervalMs: this.options.pollIntervalMs ?? 500,
        useChangeStreams: this.options.useChangeStreams ?? 'auto',
        logger: this.logger,
        emit: (change) => this.emit(change),
      })
      await feed.start()
      await this.recoverAudit(db)
      this.client = client
      this.db = db
      this.feed = feed
    } catch (err) {
      await client.close().catch(() => undefined)
      throw failed(err)
    }
    this.logger.info('mongodb store open', { db: db.databaseName, changes: this.changeMode })
    this.recoveryTimer = setInterval(() => {
      if (this.db) this.recoverAudit(this.db).catch((err: unknown) => this.logger.warn('audit recovery pass failed', { error: firstLine(err) }))
    }, this.options.auditRecoveryIntervalMs ?? 60_000)
    this.recoveryTimer.unref()
    this.retention = startRetention({ ...this.options, clock: this.clock, logger: this.logger, prune: (t) => this.pruneAudit(t) })
    await this.retention?.run()
  }

  /** Settles audit events a writer left pending in record documents (pending_audit.ts). */
  private async recoverAudit(db: Db): Promise<void> {
    const n = await settleAll(db)
    if (n > 0) this.logger.warn('recorded audit events left pending by an interrupted write', { count: n })
  }

  async close(): Promise<void> {
    clearInterval(this.recoveryTimer)
    await this.retention?.stop()
    this.retention = undefined
    const { client, feed } = this
    this.client = undefined
    this.db = undefined
    this.feed = undefined
    await feed?.stop()
    await client?.close()
  }

  async ready(): Promise<boolean> {
    const db = this.db
    if (!db) return false
    try {
      // Primary read preference: answers only when a node that takes writes is reachable.
      await db.command({ ping: 1 }, { timeoutMS: 1500 })
      return true
    } catch {
      return false
    }
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  private emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change)
      } catch (err) {
        this.logger.error('change listener threw', { error: firstLine(err) })
      }
    }
  }

  /** Local listeners first (immediately), then the record of it for other instances. */
  private async changed(collection: CollectionName, id: string): Promise<void> {
    this.emit({ collection, id })
    await this.feed?.recordWritten(collection, id)
  }

  /** Runs one operation, mapping driver errors (503 when the server is unreachable). */
  private async run<T>(what: string, fn: (db: Db) => Promise<T>): Promise<T> {
    const db = this.db
    if (!db) throw new FederationError('temporarily_unavailable', `mongodb store is not open (${what})`)
    try {
      return await fn(db)
    } catch (err) {
      throw translate(err, what)
    }
  }

  private records(db: Db, c: CollectionName): Collection<RecordDoc> {
    assertCollection(c)
    return db.collection<RecordDoc>(recordCollection(c))
  }

  async get<T extends StoredRecord>(collection: CollectionName, id: string): Promise<T | undefined> {
    return this.run('get', async (db) => {
      const doc = await this.records(db, collection).findOne({ _id: idKey(id), ...aliveFilter(this.clock.now()) })
      return doc ? fromDoc<T>(doc) : undefined
    })
  }

  private target(db: Db, collection: CollectionName): WriteTarget {
    return { db, col: this.records(db, collection), collection, clock: this.clock }
  }

  async insert<T extends StoredRecord>(collection: CollectionName, record: T, options?: WriteOptions): Promise<void> {
    const event = options?.audit
    checkAuditEvent(event)
    return this.run('insert', async (db) => {
      await insertRecord(this.target(db, collection), record, event)
      await this.changed(collection, record.id)
    })
  }

  async put<T extends StoredRecord>(collection: CollectionName, record: T, options?: WriteOptions): Promise<void> {
    const event = options?.audit
    checkAuditEvent(event)
    return this.run('put', async (db) => {
      await putRecord(this.target(db, collection), record, event)
      await this.changed(collection, record.id)
    })
  }

  async update<T extends StoredRecord>(
    collection: CollectionName,
    id: string,
    mutate: (current: T | undefined) => T | undefined,
    options?: WriteOptions,
  ): Promise<T | undefined> {
    const event = options?.audit
    checkAuditEvent(event)
    return this.run('update', async (db) => {
      const { record, changed } = await updateRecord(this.target(db, collection), id, mutate, event)
      if (changed) await this.changed(collection, id)
      return record
    })
  }

  async remove(collection: CollectionName, id: string, options?: WriteOptions): Promise<boolean> {
    const event = options?.audit
    checkAuditEvent(event)
    return this.run('remove', async (db) => {
      const removed = await removeRecord(this.target(db, collection), id, event)
      if (removed) await this.changed(collection, id)
      return removed
    })
  }

  async list<T extends StoredRecord>(collection: CollectionName, options: ListOptions = {}): Promise<T[]> {
    const { after, limit } = options
    if (after !== undefined && typeof after !== 'string') throw new TypeError('list: after must be a string')
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new TypeError('list: limit must be a non-negative integer')
    }
    const filter = listFilter(options.where, after, this.clock.now(), options)
    if (limit === 0) return []
    return this.run('list', async (db) => {
      const cursor = this.records(db, collection).find(filter).sort({ _id: 1 })
      if (limit !== undefined) cursor.limit(limit)
      return (await cursor.toArray()).map((doc) => fromDoc<T>(doc))
    })
  }

  async count(collection: CollectionName, where?: ListOptions['where']): Promise<number> {
    const filter = listFilter(where, undefined, this.clock.now())
    return this.run('count', (db) => this.records(db, collection).countDocuments(filter))
  }

  async claimOnce(scope: string, key: string, expiresAt: number): Promise<boolean> {
    if (typeof scope !== 'string' || typeof key !== 'string' || !Number.isFinite(expiresAt)) {
      throw new TypeError('claimOnce needs a string scope and key and a numeric expiresAt')
    }
    return this.run('claimOnce', (db) => claimOnce(db, this.clock, scope, key, expiresAt))
  }

  async appendAudit(event: AuditEvent): Promise<AuditEvent> {
    checkAuditEvent(event)
    return this.run('appendAudit', (db) => appendAudit(db, event))
  }

  async pruneAudit(before: number): Promise<number> {
    if (!Number.isFinite(before)) throw new TypeError('pruneAudit needs a time in epoch seconds')
    return this.run('pruneAudit', (db) => pruneAudit(db, before))
  }

  async listAudit(query: AuditQuery = {}): Promise<AuditEvent[]> {
    return this.run('listAudit', (db) => listAudit(db, query))
  }

  async *dump(): AsyncIterable<DumpRecord> {
    const db = this.db
    if (!db) throw new FederationError('temporarily_unavailable', 'mongodb store is not open (dump)')
    yield* dumpAll(db, this.clock.now())
  }

  async load(records: AsyncIterable<DumpRecord>): Promise<void> {
    return this.run('load', async (db) => {
      await settleAll(db) // pending events first: load refuses a store that has any
      await loadAll(db, records, this.clock.now())
      // Everything may have changed, here and in every other instance.
      for (const c of COLLECTIONS) this.emit({ collection: c })
      await this.feed?.announceGap()
    })
  }
}
