/**
 * The storage adapter contract. Every adapter (embedded, MongoDB, ...) implements this
 * interface and passes test/storage/contract.ts. Domain code only ever sees this.
 *
 * Records are JSON objects with a string `id` that is unique within their collection.
 * A record with `expires_at` (epoch seconds) in the past reads as absent everywhere
 * (get, list, count, insert conflicts), even before any background clean-up removes it.
 *
 * Writes are atomic per record; nothing here needs multi-record transactions. A write may
 * carry its audit event (`WriteOptions.audit`): the record change and the event are then
 * one atomic write, so after any crash both exist or neither does (docs/storage.md,
 * docs/mongodb.md).
 * Concurrent writes never fail because another is in flight: adapters serialize or retry.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue }

export interface StoredRecord {
  id: string
  /** Epoch seconds; once `expires_at <= now` the record reads as absent. */
  expires_at?: number
  [field: string]: unknown
}

/** Collections every adapter knows (so it can create indexes up front). */
export const COLLECTIONS = [
  'subordinates', // members of this entity's roster (id = entity id)
  'keys', // federation and other signing keys (id = kid)
  'settings', // singletons: trust_mark_issuers, trust_mark_owners, authority config ... (id = name)
  'trust_mark_types', // trust mark types this entity issues (id = type)
  'trust_marks', // trust marks issued (id = type + ' ' + sub)
  'own_trust_marks', // marks this entity carries in its own configuration (id = type + ' ' + iss)
  'registrations', // registered clients (id = client id)
  'tokens', // issued access tokens kept for introspection/revocation (id = jti)
  'oauth', // the authorization server's models: tokens, codes, grants, sessions ... (id = model + ':' + id)
  'accounts', // users signed in through the upstream OpenID Provider: their last claims (id = local subject)
  'upstream_logins', // upstream logins under way: state, nonce, PKCE verifier (id = interaction uid)
  'login_failures', // wrong passwords per user name of the users file, expiring with the lockout (id = name)
  'software_statements', // software statements this entity issued (id = jti)
  'operators', // named operators of the admin API: role, SHA-256 of the token, status (id = name)
  'initial_access_tokens', // RFC 7591 initial access tokens the operator issued (id = SHA-256 of the token)
  'console_sessions', // sessions of the operator console: operator, expiry (id = SHA-256 of the session id)
] as const
export type CollectionName = (typeof COLLECTIONS)[number]

/**
 * Top-level fields `list({ where })` and `count(where)` find without visiting the whole
 * collection: every adapter indexes them (embedded: in-memory buckets of sorted ids,
 * MongoDB: sparse indexes `by_<field>`). A filter on any other field still works, by a
 * scan. When a filter names several indexed fields, the smallest bucket is visited.
 */
export const INDEXED_FIELDS: { readonly [C in CollectionName]?: readonly string[] } = {
  subordinates: ['status', 'entity_types', 'intermediate'],
  keys: ['status', 'use'],
  trust_marks: ['trust_mark_type', 'sub', 'status'],
  own_trust_marks: ['trust_mark_type'],
  // chain: the entity ids a registration resolved through (the admin API's dependents of a member).
  registrations: ['entity_id', 'status', 'chain'],
  // grantId: the records of a user's grant's access tokens, removed with the grant (tokens.ts revokeGrant).
  tokens: ['client_id', 'sub', 'grantId'],
  oauth: ['grantId', 'uid', 'userCode', 'clientId'],
  software_statements: ['software_id', 'status'],
}

/**
 * Top-level fields `list({ exists })` finds without visiting the whole collection: records
 * owning the field, whatever its value (embedded: a bucket of ids per field, MongoDB: a sparse
 * index `by_<field>`). `exists` on any other field still works, by a scan.
 */
export const PRESENCE_FIELDS: { readonly [C in CollectionName]?: readonly string[] } = {
  subordinates: ['pending_keys'], // a key change waiting for the operator (subordinates/key_refresh.ts)
}

export interface ListOptions {
  /** Equality filters on top-level fields. An array field matches when it contains the value. */
  where?: Record<string, string | number | boolean>
  /** Only records owning each of these top-level fields (any value, null included). */
  exists?: readonly string[]
  /** Only records whose id starts with this text (ids of one prefix are one range of the id order). */
  prefix?: string
  /** Return records whose id sorts after this one (code-point order). */
  after?: string
  /** At most this many (default: all). */
  limit?: number
}

export interface AuditEvent {
  /** Assigned by the store: increasing, unique. */
  seq?: number
  /** ISO 8601. */
  time: string
  actor: string
  action: string
  subject?: string
  outcome: 'success' | 'failure'
  detail?: Record<string, unknown>
}

/** Options of a record write. */
export interface WriteOptions {
  /**
   * Recorded with the write, atomically: stored if and only if the write happens (insert:
   * no conflict; update: `mutate` returned a record; remove: something was there). Its
   * `seq` is assigned by the store.
   */
  audit?: AuditEvent
}

export interface AuditQuery {
  after?: number
  limit?: number
  action?: string
  subject?: string
  actor?: string
  /**
   * Time range on the events' `time`: `since` inclusive, `until` exclusive, both ISO 8601 in
   * the form AuditLog writes (`toISOString()`, UTC with milliseconds), compared as text.
   */
  since?: string
  until?: string
}

/** What changed: one record, or (no id) possibly anything in that collection. */
export interface StoreChange {
  collection: CollectionName
  id?: string
}

/** One line of `anchorage store export`. */
export type DumpRecord =
  | { type: 'record'; collection: CollectionName; record: StoredRecord }
  | { type: 'audit'; event: AuditEvent }
  | { type: 'claim'; scope: string; key: string; expires_at: number }

export interface Store {
  /** 'embedded' | 'mongodb' | ... */
  readonly kind: string
  /** Connects / replays; throws (with a one-line message) when the backing store is unreachable. */
  open(): Promise<void>
  /** Flushes everything acknowledged and releases resources. */
  close(): Promise<void>
  /** True when writes can be accepted right now (readiness). */
  ready(): Promise<boolean>

  /** Records handed out (by get, list, update) are copies: changing them changes nothing stored. */
  get<T extends StoredRecord>(collection: CollectionName, id: string): Promise<T | undefined>
  /** Creates; throws FederationError 'conflict' when an unexpired record with that id exists. */
  insert<T extends StoredRecord>(collection: CollectionName, record: T, options?: WriteOptions): Promise<void>
  /** Creates or replaces. */
  put<T extends StoredRecord>(collection: CollectionName, record: T, options?: WriteOptions): Promise<void>
  /**
   * Atomic read-modify-write. `mutate` gets the current record (or undefined) and returns
   * the new one, or undefined to leave it as it is. The adapter retries on concurrent
   * modification, so `mutate` must be pure. Returns what was stored (or the unchanged current).
   */
  update<T extends StoredRecord>(
    collection: CollectionName,
    id: string,
    mutate: (current: T | undefined) => T | undefined,
    options?: WriteOptions,
  ): Promise<T | undefined>
  /** Deletes; returns whether something (unexpired) was there. */
  remove(collection: CollectionName, id: string, options?: WriteOptions): Promise<boolean>
  /** Records sorted by id (code-point order). */
  list<T extends StoredRecord>(collection: CollectionName, options?: ListOptions): Promise<T[]>
  count(collection: CollectionName, where?: ListOptions['where']): Promise<number>

  /**
   * Replay detection: records (scope, key) until expiresAt; true the first time,
   * false while an unexpired claim exists. Global across instances sharing the store.
   */
  claimOnce(scope: string, key: string, expiresAt: number): Promise<boolean>

  appendAudit(event: AuditEvent): Promise<AuditEvent>
  /** Oldest first, seq > after; `limit` defaults to 100 and is capped at 1000. */
  listAudit(query?: AuditQuery): Promise<AuditEvent[]>
  /**
   * Retention: deletes the audit events whose `time` is before `before` (epoch seconds);
   * returns how many. Seq numbers are never reused; events whose time does not parse are
   * kept. Times follow seq order (one clock stamps them), so an adapter may work from the
   * oldest event and stop at the first stretch of events inside the retention period.
   */
  pruneAudit(before: number): Promise<number>

  /**
   * Listen for changes, made by this process or (for shared stores) by another instance.
   * Returns an unsubscribe function.
   */
  onChange(listener: (change: StoreChange) => void): () => void

  /**
   * Everything unexpired, for `anchorage store export`: records by collection (COLLECTIONS
   * order) then id, then audit by seq, then claims by scope then key. Deterministic, so
   * export -> import -> export is byte-identical.
   */
  dump(): AsyncIterable<DumpRecord>
  /**
   * Loads a dump into an empty store (records, audit with its seq, claims); throws
   * FederationError 'conflict' when the store is not empty.
   */
  load(records: AsyncIterable<DumpRecord>): Promise<void>
}
