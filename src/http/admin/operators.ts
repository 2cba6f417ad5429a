/**
 * Named operators of the admin API (docs/admin-api.md, "Operators and roles"): each has a
 * role and a bearer token of 256 random bits, of which only the SHA-256 is stored (collection
 * `operators`, id = name, on every store). A presented token is compared with every
 * operator's digest in constant time, as the single admin token was; the store is read on
 * every request, so a disable or a rotation on one instance holds on all at once.
 *
 * The configured admin token (`admin.token_sha256`, written by `anchorage init`, or
 * ANCHORAGE_ADMIN_TOKEN) is the token of the operator `admin` (role admin), created at the
 * first start and kept in step with the configuration while the configuration manages it;
 * `operators rotate admin` hands it over to the admin API (the configured token then stops
 * working), `operators disable admin` disables it, and `operators enable admin` makes it active
 * again with a new token that the admin API manages (the configured token stays refused).
 */
import { timingSafeEqual } from 'node:crypto'
import type { Store, StoredRecord } from '../../storage/types.js'
import type { AuditLog } from '../../audit/audit.js'
import type { Clock } from '../../clock.js'
import type { Logger } from '../../logger.js'
import { Conflict, isFederationError, InvalidRequest, NotFound } from '../../errors.js'
import { newToken, tokenDigest } from './auth.js'

/** Lowest first: each role may do everything the roles before it may. */
export const ROLES = ['auditor', 'operator', 'admin'] as const
export type Role = (typeof ROLES)[number]

export const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v)
export const roleAtLeast = (role: Role, required: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(required)

/** The operator named by the configured admin token. */
export const CONFIGURED_OPERATOR = 'admin'

/** Names of audit actors that are not operators: an operator may not take one. */
const RESERVED = new Set(['anchorage', 'anonymous', 'cli'])
/** Lower case only: `Alice` and `alice` would be two actors that read as one. */
const NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/

/** What is kept of an operator besides its name and token digest, and shown of it. */
interface OperatorFields {
  role: Role
  status: 'active' | 'disabled'
  created_at: string
  created_by: string
  rotated_at?: string
  rotated_by?: string
  disabled_at?: string
  disabled_by?: string
  enabled_at?: string
  enabled_by?: string
  /** 'configuration': the token is the configured admin token (kept in step at start). */
  managed_by?: 'configuration'
}

export interface OperatorRecord extends StoredRecord, OperatorFields {
  /** base64url SHA-256 of the token. */
  token_sha256: string
}

/** What the admin API shows of an operator: never the digest. */
export interface OperatorSummary extends OperatorFields {
  name: string
}

export interface Authenticated {
  name: string
  role: Role
}

export type Authentication = { ok: true; operator: Authenticated } | { ok: false; reason: 'no operator has this token' | 'disabled operator' }

export function summary(r: OperatorRecord): OperatorSummary {
  const { id, role, status, created_at, created_by, rotated_at, rotated_by, disabled_at, disabled_by, enabled_at, enabled_by, managed_by } = r
  return {
    name: id, role, status, created_at, created_by,
    ...(rotated_at ? { rotated_at } : {}), ...(rotated_by ? { rotated_by } : {}),
    ...(disabled_at ? { disabled_at } : {}), ...(disabled_by ? { disabled_by } : {}),
    ...(enabled_at ? { enabled_at } : {}), ...(enabled_by ? { enabled_by } : {}),
    ...(managed_by ? { managed_by } : {}),
  }
}

export interface OperatorsDeps {
  store: Store
  audit: AuditLog
  clock: Clock
  logger: Logger
  /** SHA-256 of the configured admin token (ANCHORAGE_ADMIN_TOKEN wins over admin.token_sha256). */
  configured?: Buffer
}

export class Operators {
  private started: Promise<void> | undefined

  constructor(private readonly d: OperatorsDeps) {}

  /**
   * Once, before the listener accepts: the configured admin token becomes (or stays) the
   * token of the operator `admin`. Concurrent starts of instances on one store are safe: one
   * insert wins, the others find the record.
   */
  bootstrap(): Promise<void> {
    return (this.started ??= this.takeConfiguredToken())
  }

  private async takeConfiguredToken(): Promise<void> {
    const { store, audit, logger, configured } = this.d
    if (!configured) {
      if ((await store.count('operators', { status: 'active' })) === 0) logger.warn('no admin token is configured and no operator exists: the admin API refuses every request (set ANCHORAGE_ADMIN_TOKEN)')
      return
    }
    const digest = configured.toString('base64url')
    const current = await store.get<OperatorRecord>('operators', CONFIGURED_OPERATOR)
    if (!current) {
      const record: OperatorRecord = {
        id: CONFIGURED_OPERATOR, role: 'admin', token_sha256: digest, status: 'active',
        created_at: this.now(), created_by: 'anchorage', managed_by: 'configuration',
      }
      try {
        await store.insert('operators', record, { audit: audit.event('anchorage', 'operator.add', 'success', CONFIGURED_OPERATOR, { role: 'admin', from: 'configuration' }) })
      } catch (err) {
        if (!isConflict(err)) throw err
      }
      return
    }
    if (current.token_sha256 === digest) return
    if (current.managed_by === 'configuration' && current.status === 'active') {
      await store.update<OperatorRecord>('operators', CONFIGURED_OPERATOR, (r) => (r && r.managed_by === 'configuration' && r.token_sha256 !== digest
        ? { ...r, token_sha256: digest, rotated_at: this.now(), rotated_by: 'anchorage' }
        : undefined), { audit: audit.event('anchorage', 'operator.rotate', 'success', CONFIGURED_OPERATOR, { from: 'configuration' }) })
      return
    }
    logger.warn(`the configured admin token is not used: operator ${CONFIGURED_OPERATOR} is ${current.status === 'disabled' ? 'disabled' : 'managed through the admin API (rotated)'}`)
  }

  /**
   * The operator whose token this is. Every stored digest is compared (timingSafeEqual, no
   * early exit), so the time taken does not depend on which operator, if any, matched.
   */
  async authenticate(token: string): Promise<Authentication> {
    await this.bootstrap()
    const presented = tokenDigest(token)
    const all = await this.d.store.list<OperatorRecord>('operators')
    let found: OperatorRecord | undefined
    for (const r of all) {
      const stored = Buffer.from(typeof r.token_sha256 === 'string' ? r.token_sha256 : '', 'base64url')
      const same = stored.length === presented.length && timingSafeEqual(stored, presented)
      if (same && !found) found = r
    }
    if (!found) return { ok: false, reason: 'no operator has this token' }
    if (found.status !== 'active' || !isRole(found.role)) return { ok: false, reason: 'disabled operator' }
    return { ok: true, operator: { name: found.id, role: found.role } }
  }

  async list(): Promise<OperatorSummary[]> {
    return (await this.d.store.list<OperatorRecord>('operators')).map(summary)
  }

  async get(name: string): Promise<OperatorSummary> {
    return summary(await this.existing(name))
  }

  /** A new operator; its token is in the answer only. */
  async add(name: string, role: Role, actor: string): Promise<OperatorSummary & { token: string }> {
    checkName(name)
    const token = newToken()
    const record: OperatorRecord = { id: name, role, token_sha256: tokenDigest(token).toString('base64url'), status: 'active', created_at: this.now(), created_by: actor }
    try {
      await this.d.store.insert('operators', record, { audit: this.d.audit.event(actor, 'operator.add', 'success', name, { role }) })
    } catch (err) {
      if (isConflict(err)) throw new Conflict(`operator ${name} already exists`)
      throw err
    }
    return { ...summary(record), token }
  }

  /** Disabled: its token is refused (401) from now on, on every instance, and never accepted again (`enable` gives a new one). */
  async disable(name: string, actor: string): Promise<OperatorSummary> {
    const current = await this.existing(name)
    if (current.status === 'disabled') return summary(current)
    if (current.role === 'admin') {
      const admins = await this.d.store.list<OperatorRecord>('operators', { where: { status: 'active', role: 'admin' } })
      if (!admins.some((a) => a.id !== name)) throw new Conflict(`${name} is the last active admin: add another admin first`)
    }
    const stored = await this.d.store.update<OperatorRecord>('operators', name, (r) => (r && r.status === 'active'
      ? { ...r, status: 'disabled', disabled_at: this.now(), disabled_by: actor }
      : undefined), { audit: this.d.audit.event(actor, 'operator.disable', 'success', name, { role: current.role }) })
    return summary(stored ?? current)
  }

  /**
   * A disabled operator active again, with a NEW token (in the answer only): the token it had
   * when it was disabled may be why it was, so it is never accepted again. The admin API
   * manages the token from then on (also for `admin`: the configured token stays refused).
   * Enabling an active operator is a conflict, not a rotation in disguise.
   */
  async enable(name: string, actor: string): Promise<OperatorSummary & { token: string }> {
    const current = await this.existing(name)
    if (current.status === 'active') throw new Conflict(`operator ${name} is active (operators rotate gives it a new token)`)
    const token = newToken()
    const digest = tokenDigest(token).toString('base64url')
    const stored = await this.d.store.update<OperatorRecord>('operators', name, (r) => {
      if (!r || r.status !== 'disabled') return undefined
      const next: OperatorRecord = { ...r, status: 'active', token_sha256: digest, enabled_at: this.now(), enabled_by: actor }
      delete next.managed_by
      return next
    }, { audit: this.d.audit.event(actor, 'operator.enable', 'success', name, { role: current.role }) })
    if (!stored || stored.token_sha256 !== digest) throw new Conflict(`operator ${name} is active`)
    return { ...summary(stored), token }
  }

  /** A new token; the old one is refused from now on. */
  async rotate(name: string, actor: string): Promise<OperatorSummary & { token: string }> {
    const current = await this.existing(name)
    if (current.status !== 'active') throw new Conflict(`operator ${name} is disabled`)
    const token = newToken()
    const digest = tokenDigest(token).toString('base64url')
    const stored = await this.d.store.update<OperatorRecord>('operators', name, (r) => {
      if (!r || r.status !== 'active') return undefined
      // The admin API manages the token from now on: the configured one is no longer taken at start.
      const next: OperatorRecord = { ...r, token_sha256: digest, rotated_at: this.now(), rotated_by: actor }
      delete next.managed_by
      return next
    }, { audit: this.d.audit.event(actor, 'operator.rotate', 'success', name, current.managed_by ? { from: 'configuration' } : undefined) })
    if (!stored || stored.token_sha256 !== digest) throw new Conflict(`operator ${name} is disabled`)
    return { ...summary(stored), token }
  }

  private async existing(name: string): Promise<OperatorRecord> {
    const r = NAME.test(name) ? await this.d.store.get<OperatorRecord>('operators', name) : undefined
    if (!r) throw new NotFound(`no operator named ${name}`)
    return r
  }

  private now(): string {
    return new Date(this.d.clock.now() * 1000).toISOString()
  }
}

/** The store's insert conflict. */
const isConflict = (err: unknown): boolean => isFederationError(err) && err.error === 'conflict'

function checkName(name: string): void {
  if (!NAME.test(name)) throw new InvalidRequest('name: 1 to 64 lower-case letters, digits, . _ @ -, starting with a letter or digit')
  if (RESERVED.has(name)) throw new InvalidRequest(`name: ${name} is reserved for audit events not made by an operator`)
}
