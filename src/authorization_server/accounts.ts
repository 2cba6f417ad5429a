/**
 * The OpenID Provider's users (docs/authorization-server.md, "Users and login"): a users
 * file for development and tests (names, scrypt password hashes with a salt per user,
 * claims), and users who signed in through the upstream enterprise OpenID Provider
 * (./upstream.ts), whose last claims are kept in the store (collection `accounts`), since
 * oidc-provider asks for an account's claims at token and userinfo time (`findAccount`).
 *
 * Password checks take the same time whether the name exists or not (a dummy hash is
 * checked for unknown names, timingSafeEqual compares), and wrong attempts are bounded per
 * name: after `max_failed_logins` failures every attempt is refused without checking until
 * `login_lockout_seconds` after the first failure (injected clock). The counts are in the
 * store (collection `login_failures`, one record per name expiring with its lockout), so the
 * bound holds across every instance sharing it and across restarts. Every login, accepted or
 * refused, is audited (never the password).
 */
import { Slots } from '../util/slots.js'
import { randomBytes, scrypt as scryptCb, timingSafeEqual, createHash, type ScryptOptions } from 'node:crypto'
import type { Store, StoredRecord } from '../storage/types.js'
import type { Clock } from '../clock.js'
import type { AuditLog } from '../audit/audit.js'
import type { AuthorizationServerConfig } from '../config/load.js'
import { emptyRecord, isJsonObject, own } from '../util/json.js'

/**
 * Claims released per scope (OpenID Connect Core 1.0, 5.4 "Requesting Claims using Scope
 * Values"); the provider's `claims` configuration uses the same map.
 */
export const CLAIMS_BY_SCOPE: Readonly<Record<string, readonly string[]>> = Object.freeze({
  openid: ['sub'],
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
})

const KNOWN_CLAIMS = new Set(Object.values(CLAIMS_BY_SCOPE).flat())

/** User names in the users file: no ':' (upstream subjects start `upstream:`), nothing to escape in a log. */
export const USER_NAME = /^[A-Za-z0-9._@+-]{1,64}$/

// scrypt cost (RFC 7914): N = 2^15, r = 8, p = 1 (32 MiB, tens of milliseconds); kept in each hash.
const SCRYPT = { ln: 15, r: 8, p: 1 } as const
const KEY_LEN = 32
const MAX_LN = 20

function scrypt(password: string, salt: Buffer, ln: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r + 1024 * 1024 }
  return new Promise((resolve, reject) => {
    scryptCb(password.normalize('NFC'), salt, KEY_LEN, options, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

/** A password hash in the PHC string format: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64url, no padding). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(password, salt, SCRYPT.ln, SCRYPT.r, SCRYPT.p)
  return `$scrypt$ln=${SCRYPT.ln},r=${SCRYPT.r},p=${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

interface ParsedHash { ln: number; r: number; p: number; salt: Buffer; key: Buffer }

const HASH = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{43})$/

function parseHash(hash: string): ParsedHash | undefined {
  const m = HASH.exec(hash)
  if (!m) return undefined
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (ln < 10 || ln > MAX_LN || r < 1 || p < 1) return undefined
  return { ln, r, p, salt: Buffer.from(m[4]!, 'base64url'), key: Buffer.from(m[5]!, 'base64url') }
}

/** Whether `password` matches `hash`; constant time in the comparison. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const h = parseHash(hash)
  if (!h) return false
  const key = await scrypt(password, h.salt, h.ln, h.r, h.p)
  return key.length === h.key.length && timingSafeEqual(key, h.key)
}

/** One user of the users file. */
export interface FileUser {
  name: string
  /** The subject (`sub`) this user has at this OpenID Provider (default: the name). */
  sub: string
  password: string
  claims: Record<string, unknown>
}

/** A users file's contents: `{ "users": { NAME: { "password": HASH, "sub"?: S, "claims"?: {...} } } }`. */
export interface UsersFileContent {
  users: Record<string, { password: string; sub?: string; claims?: Record<string, unknown> }>
}

export class UsersFileError extends Error {
  override name = 'UsersFileError'
}

/** Reads a users file's JSON (outside input: own members only, every field checked); throws UsersFileError naming the problem. */
export function parseUsersFile(raw: unknown): Map<string, FileUser> {
  const users = new Map<string, FileUser>()
  if (raw === undefined) return users
  const list = own(raw, 'users')
  if (!isJsonObject(raw) || !isJsonObject(list)) throw new UsersFileError('users file: expected {"users": {NAME: {...}}}')
  const subs = new Set<string>()
  for (const name of Object.keys(list)) {
    const u = own(list, name)
    if (!USER_NAME.test(name)) throw new UsersFileError(`users file: ${JSON.stringify(name.slice(0, 80))}: not a valid user name (${USER_NAME.source})`)
    const password = own(u, 'password')
    if (typeof password !== 'string' || !parseHash(password)) throw new UsersFileError(`users file: ${name}: password must be a scrypt hash ($scrypt$ln=..,r=..,p=..$salt$hash; anchorage users add writes one)`)
    const sub = own(u, 'sub') ?? name
    if (typeof sub !== 'string' || sub === '' || sub.length > 255 || sub.startsWith('upstream:')) throw new UsersFileError(`users file: ${name}: sub must be a string of 1 to 255 characters, not starting with "upstream:"`)
    if (subs.has(sub)) throw new UsersFileError(`users file: ${name}: sub ${sub} is already another user's`)
    subs.add(sub)
    const claims = own(u, 'claims') ?? {}
    if (!isJsonObject(claims)) throw new UsersFileError(`users file: ${name}: claims must be an object`)
    users.set(name, { name, sub, password, claims: knownClaims(claims) })
  }
  return users
}

/** Only the standard claims (CLAIMS_BY_SCOPE), own members, into a prototype-less object. */
function knownClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const out = emptyRecord()
  for (const k of Object.keys(claims)) if (KNOWN_CLAIMS.has(k) && k !== 'sub') out[k] = claims[k]
  return out
}

/** The claims an account releases for `scope` (space-separated), `sub` always. */
export function claimsForScope(sub: string, claims: Record<string, unknown>, scope: string): { sub: string } & Record<string, unknown> {
  const out: { sub: string } & Record<string, unknown> = { sub }
  for (const s of scope.split(' ')) {
    for (const c of (Object.hasOwn(CLAIMS_BY_SCOPE, s) ? CLAIMS_BY_SCOPE[s] : undefined) ?? []) {
      if (c !== 'sub' && Object.hasOwn(claims, c)) out[c] = claims[c]
    }
  }
  return out
}

/** A user signed in through the upstream OpenID Provider (collection `accounts`). */
export interface UpstreamAccount extends StoredRecord {
  id: string
  issuer: string
  upstream_sub: string
  claims: Record<string, unknown>
  last_login: number
}

/** The local subject of an upstream user: stable, opaque, and never a users-file subject. */
export function upstreamSubject(issuer: string, upstreamSub: string): string {
  return `upstream:${createHash('sha256').update(`${issuer}\u0000${upstreamSub}`).digest('base64url')}`
}

export type LoginResult = { ok: true; sub: string } | { ok: false; reason: 'invalid_credentials' | 'locked' | 'busy' }

/** What oidc-provider's `findAccount` returns (the subset used). */
export interface OidcAccount {
  accountId: string
  claims(use: string, scope: string): Promise<{ sub: string } & Record<string, unknown>>
  [key: string]: unknown
}

export interface AccountsDeps {
  store: Store
  clock: Clock
  audit: AuditLog
  config: AuthorizationServerConfig
  /** The users file's parsed JSON (config/files.ts readUsersFile), if configured. */
  usersFile?: unknown
}

/** Failed logins of one name (collection `login_failures`, id = the name), gone at `since + login_lockout_seconds`. */
export interface LoginFailures extends StoredRecord {
  count: number
  since: number
}

export const LOGIN_FAILURES = 'login_failures'

export class Accounts {
  private readonly users: Map<string, FileUser>
  private readonly bySub = new Map<string, FileUser>()
  private dummy: Promise<string> | undefined
  private readonly hashing: Slots

  constructor(private readonly d: AccountsDeps) {
    // scrypt runs on libuv's thread pool (4 threads by default), which the store's file I/O and
    // WebCrypto share; unbounded, a burst of logins ran 4 at once (32 MiB each) with everything
    // else queued behind them (docs/performance.md, "The authorization-code round trip").
    this.hashing = new Slots(d.config.password_hash_concurrency, d.config.password_hash_queue)
    this.users = parseUsersFile(d.usersFile)
    for (const u of this.users.values()) this.bySub.set(u.sub, u)
  }

  /** Whether users can sign in with a name and password. */
  get hasUsers(): boolean {
    return this.users.size > 0
  }

  /**
   * Checks a name and password from the login form. `context` goes to the audit event
   * (the client the user is signing in to).
   */
  async login(name: string, password: string, context: { client_id?: string } = {}): Promise<LoginResult> {
    const key = name.slice(0, 64)
    const detail = { source: 'users_file', ...(context.client_id ? { client_id: context.client_id } : {}) }
    // Absent once the lockout has passed (the record expires then).
    const failures = () => this.d.store.get<LoginFailures>(LOGIN_FAILURES, key)
    const locked = (open: LoginFailures | undefined) => open !== undefined && open.count >= this.d.config.max_failed_logins
    const refuseLocked = async (): Promise<LoginResult> => {
      await this.d.audit.record(key || '-', 'login', 'failure', context.client_id, { ...detail, reason: 'locked' })
      return { ok: false, reason: 'locked' }
    }
    if (locked(await failures())) return refuseLocked()
    // A flood of logins waits no further than password_hash_queue checks deep: beyond, refused
    // at once (the login page answers 503 with Retry-After), not queued behind the flood.
    if (this.hashing.full) {
      await this.d.audit.record(key || '-', 'login', 'failure', context.client_id, { ...detail, reason: 'busy' })
      return { ok: false, reason: 'busy' }
    }
    // The lockout is read again once the check has its turn, and a failure counted before the
    // turn passes on: a burst of guesses at one name, waiting together, would otherwise all pass
    // the reading made before the first of them failed (at most password_hash_concurrency - 1
    // guesses beyond max_failed_logins on an instance).
    return this.hashing.run(async () => {
      const open = await failures()
      if (locked(open)) return refuseLocked()
      return this.check(key, password, open, detail, context)
    })
  }

  /** The password check of `login`, in its turn; a failure counted. */
  private async check(key: string, password: string, open: LoginFailures | undefined, detail: Record<string, unknown>, context: { client_id?: string }): Promise<LoginResult> {
    const user = this.users.get(key)
    // The same work for an unknown name as for a known one.
    const ok = user
      ? await verifyPassword(password, user.password)
      : (await verifyPassword(password, await (this.dummy ??= hashPassword(randomBytes(16).toString('hex')))), false)
    if (ok && user) {
      if (open) await this.d.store.remove(LOGIN_FAILURES, key)
      await this.d.audit.record(user.sub, 'login', 'success', context.client_id, detail)
      return { ok: true, sub: user.sub }
    }
    await this.countFailure(key, user !== undefined || open !== undefined)
    await this.d.audit.record(key || '-', 'login', 'failure', context.client_id, { ...detail, reason: user ? 'wrong password' : 'unknown user' })
    return { ok: false, reason: 'invalid_credentials' }
  }

  /**
   * One more failure for `key` (atomic, so concurrent attempts at several instances all
   * count). The first failure starts the lockout period. `tracked`: a name of the users file,
   * or one already counted, is always counted; other names (which must look the same: locked after as many attempts) only
   * while fewer than `login_tracked_names` are, so a flood of made-up names cannot grow the
   * collection without bound, nor push a real user's count out as an LRU would.
   */
  private async countFailure(key: string, tracked: boolean): Promise<void> {
    const now = this.d.clock.now()
    if (key === '') return // no user has an empty name
    if (!tracked && (await this.d.store.count(LOGIN_FAILURES)) >= this.d.config.login_tracked_names) return
    await this.d.store.update<LoginFailures>(LOGIN_FAILURES, key, (cur) => cur
      ? { ...cur, count: cur.count + 1 }
      : { id: key, count: 1, since: now, expires_at: now + this.d.config.login_lockout_seconds })
  }

  /** After an upstream login: keeps the user's claims (standard ones only) for findAccount. */
  async rememberUpstream(issuer: string, upstreamSub: string, claims: Record<string, unknown>, context: { client_id?: string } = {}): Promise<string> {
    const sub = upstreamSubject(issuer, upstreamSub)
    const record: UpstreamAccount = { id: sub, issuer, upstream_sub: upstreamSub, claims: { ...knownClaims(claims) }, last_login: this.d.clock.now() }
    await this.d.store.put<UpstreamAccount>('accounts', record, {
      audit: this.d.audit.event(sub, 'login', 'success', context.client_id, { source: 'upstream', issuer, ...(context.client_id ? { client_id: context.client_id } : {}) }),
    })
    return sub
  }

  /** An account's claims by subject, undefined when unknown. */
  async claimsOf(sub: string): Promise<Record<string, unknown> | undefined> {
    if (sub.startsWith('upstream:')) return (await this.d.store.get<UpstreamAccount>('accounts', sub))?.claims
    return this.bySub.get(sub)?.claims
  }

  /** oidc-provider's `findAccount(ctx, sub)`: the account, releasing the claims its granted scope covers. */
  readonly findAccount = async (_ctx: unknown, sub: string): Promise<OidcAccount | undefined> => {
    const claims = await this.claimsOf(sub)
    if (!claims) return undefined
    return { accountId: sub, claims: async (_use: string, scope: string) => claimsForScope(sub, claims, scope) }
  }
}
