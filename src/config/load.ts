/**
 * The only reader of deployment files and process.env. Produces a frozen, validated
 * Config from DIR/anchorage.json, the defaults and the environment.
 */
import { readFile, writeFile, rename, open as openFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { JWK } from 'jose'
import { DEFAULTS, ENV } from './defaults.js'
import { validator, everyProblem } from './schemas.js'
import type { KeysFile } from '../types.js'
import { KekMaterial, KEK_TOO_SHORT } from './kek.js'
import { configIdentifierProblems } from './identifiers.js'
import { logLevel as parseLogLevel, type LogLevel } from '../logger.js'

export const CONFIG_FILE = 'anchorage.json'
export const KEYS_FILE = 'keys.json'
export const ADMIN_TOKEN_FILE = 'admin.token'

/** The file's shape (snake_case, as in anchorage.json). */
export interface ConfigFile {
  entity_id: string
  development?: boolean
  signing_alg?: 'ES256' | 'ES384' | 'PS256' | 'RS256' | 'EdDSA'
  authority_hints?: string[]
  trust_anchor_hints?: string[]
  lifetimes?: Partial<Record<keyof typeof DEFAULTS.lifetimes, number>>
  organization?: Record<string, unknown>
  metadata?: Record<string, Record<string, unknown>>
  store?: string
  store_options?: StoreOptions
  audit?: Partial<AuditConfig>
  console?: Partial<ConsoleConfig>
  admin?: { token_sha256?: string; listen?: string; tls_cert?: string; tls_key?: string }
  server?: Partial<{ host: string; port: number; trust_proxy: boolean; tls_cert: string; tls_key: string; max_body_bytes: number; max_drain_bytes: number; shutdown_timeout_seconds: number }>
  outbound?: Partial<{ allow_http: boolean; allow_private_network: boolean; timeout_ms: number; max_response_bytes: number; ca_file: string }>
  keys?: { propagation_delay_seconds?: number; rollover?: Partial<KeysConfig['rollover']> }
  trust_anchors?: Array<{ entity_id: string; jwks: { keys: JWK[] } }>
  resolver?: Partial<ResolverConfig>
  trust_marks?: Partial<TrustMarksConfig>
  limits?: Partial<LimitsConfig>
  subordinates?: Partial<SubordinatesConfig>
  software_statements?: Partial<SoftwareStatementsConfig>
  clock_skew?: number
  log_level?: string
  log?: { access?: boolean | number }
  metrics?: { enabled?: boolean }
  /** Trust anchor role: initial trust_mark_issuers / trust_mark_owners (the admin API's stored values win once set). */
  trust_mark_issuers?: Record<string, string[]>
  trust_mark_owners?: Record<string, { sub: string; jwks: { keys: JWK[] } }>
  /** Admission of clients by the authorization server role (docs/registration.md, "Required trust marks"). */
  registration?: { required_trust_marks?: Partial<Record<RequiredTrustMarksKey, Array<string | RequiredTrustMark>>> }
  /** Authorization server role (docs/registration.md). */
  authorization_server?: {
    enabled?: boolean; openid_provider?: boolean; require_pkce?: boolean; client_id_metadata_documents?: boolean; resources?: string[]; scopes_supported?: string[]; users_file?: string; upstream?: UpstreamConfigFile
    dynamic_registration?: Partial<DynamicRegistrationConfig>
    id_token_signing_alg_values?: Array<NonNullable<ConfigFile['signing_alg']>>
  }
    & Partial<Record<Exclude<keyof typeof DEFAULTS.authorization_server, 'require_pkce' | 'id_token_signing_alg_values'>, number>>
}

/** `authorization_server.upstream` as written: the enterprise OpenID Provider users sign in with. */
export interface UpstreamConfigFile {
  issuer: string
  client_id: string
  /** client_secret_post; ANCHORAGE_UPSTREAM_CLIENT_SECRET overrides it. */
  client_secret?: string
  /** private_key_jwt: a file holding the client's private JWK (with its alg), relative to the deployment directory. */
  private_key_file?: string
  scopes?: string[]
  /** Shown on the login button ("Sign in with NAME"). */
  name?: string
}

/** Where `registration.required_trust_marks` lists marks: a registrable entity type, or `default` for the others. */
export type RequiredTrustMarksKey = 'oauth_client' | 'openid_relying_party' | 'oauth_resource' | 'default'

/** One trust mark a client's chain must carry: of this type, and from this issuer when one is named. */
export interface RequiredTrustMark {
  trust_mark_type: string
  trust_mark_issuer?: string
}

/** `registration`, normalized: every entry an object. */
export interface RegistrationConfig {
  required_trust_marks: Partial<Record<RequiredTrustMarksKey, RequiredTrustMark[]>>
}

/** The upstream OpenID Provider, resolved: the secret from the environment, the key file's path absolute. */
export interface UpstreamConfig {
  issuer: string
  client_id: string
  client_secret?: string
  private_key_file?: string
  scopes: string[]
  name: string
}

/** RFC 7591 dynamic client registration gated by software statements (docs/dynamic-registration.md). */
export interface DynamicRegistrationConfig {
  enabled: boolean
  /**
   * Issuers whose statements are accepted: pinned keys (with, optionally, the issuer's status
   * endpoint), or (no jwks) resolved through a trust chain; absent: this entity and its trust anchors.
   */
  trusted_issuers?: Array<{ issuer: string; jwks?: { keys: JWK[] }; status_endpoint?: string }>
  /** Registration also needs an admin-issued initial access token (RFC 7591 section 3). */
  initial_access_token: boolean
  /** Statements with jwks_uri and status answers (DEFAULTS.dynamic_registration documents each). */
  jwks_uri_max_bytes: number
  jwks_uri_max_keys: number
  jwks_uri_cache_min: number
  jwks_uri_cache_max: number
  status_cache_ttl: number
}

/** The authorization server role, defaults applied (DEFAULTS.authorization_server documents each). */
export interface AuthorizationServerConfig {
  enabled: boolean
  /** Resource indicators (RFC 8707) tokens may be issued for. */
  resources: string[]
  scopes_supported?: string[]
  access_token_lifetime: number
  assertion_max_lifetime: number
  trust_reevaluation: number
  statement_cache_ttl: number
  failure_cache_ttl: number
  max_failed_logins: number
  login_lockout_seconds: number
  login_tracked_names: number
  password_hash_concurrency: number
  password_hash_queue: number
  upstream_login_lifetime: number
  /** Absolute path of the users file (development/test logins), when configured. */
  users_file?: string
  upstream?: UpstreamConfig
  /** The OpenID Provider role: authorization code + PKCE, ID tokens, userinfo, PAR, JAR (docs/authorization-server.md). */
  openid_provider?: boolean
  id_token_lifetime: number
  refresh_token_lifetime: number
  grant_sweep_seconds: number
  grant_sweep_batch: number
  authorization_code_lifetime: number
  require_pkce: boolean
  token_exchange_max_actors: number
  /**
   * Clients whose client_id is the URL of an OAuth Client ID Metadata Document, admitted only
   * when the document's entity resolves through a trust chain (OpenID Provider role only;
   * default false), and only when the client_id is no federation entity itself.
   */
  client_id_metadata_documents?: boolean
  metadata_document_max_bytes: number
  metadata_document_cache_min: number
  metadata_document_cache_max: number
  /**
   * OpenID Provider role: the algorithms ID tokens are signed with,
   * the first by default (a client picks another with id_token_signed_response_alg); each has
   * its own `oauth` key. Default RS256 and `signing_alg` (OpenID Connect Discovery 1.0
   * section 3: id_token_signing_alg_values_supported MUST include RS256).
   */
  id_token_signing_alg_values: ReadonlyArray<NonNullable<ConfigFile['signing_alg']>>
  /** RFC 7591 registration gated by software statements; absent: off. */
  dynamic_registration?: DynamicRegistrationConfig
}

export interface Config {
  dir: string
  entity_id: string
  development: boolean
  signing_alg: NonNullable<ConfigFile['signing_alg']>
  authority_hints: string[]
  trust_anchor_hints?: string[]
  lifetimes: { entity_configuration: number; subordinate_statement: number; historical_keys: number }
  organization: Record<string, unknown>
  metadata: Record<string, Record<string, unknown>>
  /** 'embedded' or a mongodb:// URI. */
  store: string
  store_options: StoreOptions
  audit: AuditConfig
  /** The operator console's sessions and login (docs/console.md). */
  console: ConsoleConfig
  admin: {
    token_sha256?: string
    token_from_env?: string
    /** The admin plane's own listener (`admin.listen`); absent: the admin API shares the public listener. */
    listen?: ListenAddress
    /** The admin plane's certificate and key (`admin.tls_cert`/`admin.tls_key`): TLS on the admin listener. */
    tls_cert?: string
    tls_key?: string
  }
  server: { host: string; port: number; trust_proxy: boolean; tls_cert?: string; tls_key?: string; max_body_bytes: number; max_drain_bytes: number; shutdown_timeout_seconds: number }
  outbound: { allow_http: boolean; allow_private_network: boolean; timeout_ms: number; max_response_bytes: number; ca_file?: string }
  keys: KeysConfig
  trust_anchors: Array<{ entity_id: string; jwks: { keys: JWK[] } }>
  resolver: ResolverConfig
  trust_marks: TrustMarksConfig
  limits: LimitsConfig
  subordinates: SubordinatesConfig
  software_statements: SoftwareStatementsConfig
  clock_skew: number
  log_level: LogLevel
  /** The access log's sampling rate, 0 (off) to 1 (every request). */
  log: { access: number }
  metrics: { enabled: boolean }
  /** From ANCHORAGE_KEK: the material only (config/kek.ts); crypto/kek.ts builds the KEK from it. */
  kek?: KekMaterial
  /** From ANCHORAGE_KEK_PREVIOUS: only `anchorage keys encrypt` uses it, to re-seal what it sealed. */
  kek_previous?: KekMaterial
  trust_mark_issuers?: Record<string, string[]>
  trust_mark_owners?: Record<string, { sub: string; jwks: { keys: JWK[] } }>
  /** Present when the file has an authorization_server section. */
  authorization_server?: AuthorizationServerConfig
  /** Admission rules of the authorization server role (always present; empty when not configured). */
  registration: RegistrationConfig
}

/** Limits and cache lifetimes of trust chain resolution (DEFAULTS.resolver documents each). */
export type ResolverConfig = { -readonly [K in Exclude<keyof typeof DEFAULTS.resolver, 'unauthenticated'>]: number } & {
  unauthenticated: 'discover' | 'cached'
}

/** Key rollover (DEFAULTS.keys documents each); propagation_delay_seconds resolved to its default. */
export interface KeysConfig {
  propagation_delay_seconds: number
  rollover: { interval_days: number; check_seconds: number }
}

/** The trust registry's key refresh (DEFAULTS.subordinates documents each). */
export type SubordinatesConfig = { -readonly [K in keyof typeof DEFAULTS.subordinates]: number }

/** Software statements this entity issues (DEFAULTS.software_statements documents each). */
export type SoftwareStatementsConfig = { -readonly [K in keyof typeof DEFAULTS.software_statements]: number }

/** Bounds on outside JSON (DEFAULTS.limits documents each). */
export type LimitsConfig = { -readonly [K in keyof typeof DEFAULTS.limits]: number }

/** Trust mark checks in resolve answers (DEFAULTS.trust_marks documents each). */
export interface TrustMarksConfig {
  status_check: 'always' | 'no_exp' | 'never'
  status_cache_seconds: number
}

/** The audit log: retention and refusal aggregation (DEFAULTS.audit documents each). */
export type AuditConfig = { -readonly [K in keyof typeof DEFAULTS.audit]: number }
export type ConsoleConfig = { -readonly [K in keyof typeof DEFAULTS.console]: number }

/** Adapter tuning (MongoDB): see schemas/config.schema.json. */
export interface StoreOptions {
  poll_interval_ms?: number
  change_streams?: 'auto' | 'never'
  server_selection_timeout_ms?: number
  audit_recovery_interval_ms?: number
}

/** `host:port` of a listener, parsed (an IPv6 host without its brackets). */
export interface ListenAddress {
  host: string
  port: number
}

/** `host:port` or `[v6]:port` -> ListenAddress; undefined when it is neither. */
export function parseListen(text: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(text)
  if (!m) return undefined
  const port = Number(m[3])
  if (port > 65535) return undefined
  return { host: (m[1] ?? m[2])!, port }
}

function accessRate(access: boolean | number): number {
  return access === true ? 1 : access === false ? 0 : access
}

export class ConfigError extends Error {
  override name = 'ConfigError'

  /** Each problem, when the error lists several (configError). */
  constructor(message: string, readonly problems: readonly string[] = [message]) {
    super(message)
  }
}

/**
 * Validates a parsed configuration file; throws ConfigError naming the field. `allowHttp`:
 * http identifiers are allowed by the environment or the command line (ANCHORAGE_ALLOW_HTTP).
 */
export function checkConfigFile(raw: unknown, file = CONFIG_FILE, options: { allowHttp?: boolean } = {}): ConfigFile {
  const { problems } = configFileProblems(raw, options)
  if (problems.length) throw configError(problems, file)
  return raw as ConfigFile
}

/** Every problem of a parsed configuration file; `valid`: it has the schema's shape (the other checks could run). */
function configFileProblems(raw: unknown, options: { allowHttp?: boolean }): { valid: boolean; problems: string[] } {
  // The fast validator first; every problem is listed only when there is one.
  if (!validator('config')(raw)) return { valid: false, problems: everyProblem('config', raw) }
  const cfg = raw as ConfigFile
  const problems: string[] = []
  const id = new URL(cfg.entity_id)
  if (id.protocol === 'http:' && !cfg.development) {
    problems.push('entity_id: must be an https URL (set "development": true to allow http for local use)')
  }
  problems.push(...configIdentifierProblems(cfg, Boolean(cfg.development || cfg.outbound?.allow_http || options.allowHttp)).filter((p) => !(problems.length && p.startsWith('entity_id:'))))
  if (cfg.authority_hints?.includes(cfg.entity_id)) problems.push('authority_hints: must not contain this entity\'s own id')
  return { valid: true, problems }
}

/** One ConfigError for every problem found: one line when there is one, a list otherwise. */
function configError(problems: string[], file?: string): ConfigError {
  const where = file ? `${file}: ` : ''
  if (problems.length === 1) return new ConfigError(`${where}${problems[0]!}`, problems)
  return new ConfigError(`${where}${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`, problems)
}

/** Runs a check; its ConfigError becomes a problem on the list (and the value undefined). */
function collect<T>(problems: string[], check: () => T): T | undefined {
  try {
    return check()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    problems.push(...err.problems)
    return undefined
  }
}

export interface Overrides {
  port?: number
  store?: string
  host?: string
  tls_cert?: string
  tls_key?: string
  trust_proxy?: boolean
  allow_http?: boolean
  allow_private_network?: boolean
  ca_file?: string
  /** `serve --trust-reevaluation SECONDS`. */
  trust_reevaluation?: number
  /** `serve --admin-listen HOST:PORT`: the admin plane's listener instead of the configuration's `admin.listen`. */
  admin_listen?: string
  /** `serve --admin-tls-cert FILE --admin-tls-key FILE`. */
  admin_tls_cert?: string
  admin_tls_key?: string
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v)

export async function loadConfig(dir: string, overrides: Overrides = {}, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const path = join(dir, CONFIG_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON: ${(err as Error).message}`)
  }
  const allowHttp = truthy(env[ENV.allowHttp]) || Boolean(overrides.allow_http)
  const file = configFileProblems(raw, { allowHttp })
  if (!file.valid) throw configError(file.problems, path)
  // A file of the right shape: the environment's and the command line's problems join its own.
  const problems = [...file.problems]
  const config = collect(problems, () => resolveConfig(raw as ConfigFile, resolve(dir), overrides, env))
  // The file's path leads when the file has a problem; the environment's alone are named as they are.
  if (problems.length || !config) throw configError(problems, file.problems.length ? path : undefined)
  return config
}

export function resolveConfig(file: ConfigFile, dir: string, overrides: Overrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  // Every problem is collected, then reported at once (one ConfigError listing them).
  const problems: string[] = []
  let envPort = env[ENV.port] ? Number(env[ENV.port]) : undefined
  if (envPort !== undefined && !(Number.isInteger(envPort) && envPort >= 0 && envPort < 65536)) {
    problems.push(`${ENV.port}: not a port number: ${env[ENV.port]}`)
    envPort = undefined
  }
  const server = { ...DEFAULTS.server, ...file.server }
  if (overrides.tls_cert) server.tls_cert = overrides.tls_cert
  if (overrides.tls_key) server.tls_key = overrides.tls_key
  // No port configured: the entity id's (docs/operations.md, "Where the server listens").
  if (file.server?.port === undefined) server.port = defaultListenPort(file.entity_id, Boolean(server.tls_cert && server.tls_key))
  // A development deployment is for this machine: loopback only, unless server.host or --host.
  if (file.server?.host === undefined && file.development === true) server.host = DEVELOPMENT_HOST
  if (envPort !== undefined) server.port = envPort
  if (overrides.port !== undefined) server.port = overrides.port
  if (overrides.host) server.host = overrides.host
  if (overrides.trust_proxy !== undefined) server.trust_proxy = overrides.trust_proxy
  if (Boolean(server.tls_cert) !== Boolean(server.tls_key)) problems.push('server.tls_cert and server.tls_key (--tls-cert, --tls-key) go together')
  const outbound = { ...DEFAULTS.outbound, ...file.outbound }
  if (truthy(env[ENV.allowHttp]) || overrides.allow_http) outbound.allow_http = true
  if (truthy(env[ENV.allowPrivateNetwork]) || overrides.allow_private_network) outbound.allow_private_network = true
  if (overrides.ca_file) outbound.ca_file = overrides.ca_file
  const lifetimes = { ...DEFAULTS.lifetimes, ...file.lifetimes }
  const kek = collect(problems, () => kekFromEnv(env))
  const kekPrevious = collect(problems, () => kekFromEnv(env, 'previous'))
  const admin = collect(problems, () => adminConfig(file, overrides, env)) ?? {}
  const as = file.authorization_server ? collect(problems, () => authorizationServer(file.authorization_server!, file.signing_alg ?? DEFAULTS.signing_alg, dir, overrides, env)) : undefined
  const registrationConfig = collect(problems, () => registration(file)) ?? { required_trust_marks: {} }
  if (problems.length) throw configError(problems)
  const logLevel = env[ENV.logLevel]
  const config: Config = {
    dir,
    entity_id: file.entity_id,
    development: file.development ?? false,
    signing_alg: file.signing_alg ?? DEFAULTS.signing_alg,
    authority_hints: file.authority_hints ?? [],
    ...(file.trust_anchor_hints ? { trust_anchor_hints: file.trust_anchor_hints } : {}),
    lifetimes,
    organization: file.organization ?? {},
    metadata: file.metadata ?? {},
    store: overrides.store ?? env[ENV.store] ?? file.store ?? 'embedded',
    store_options: { ...file.store_options },
    audit: { ...DEFAULTS.audit, ...file.audit },
    console: { ...DEFAULTS.console, ...file.console },
    admin,
    server,
    outbound,
    keys: {
      // Spec "Key Rollover for a Trust Anchor": keep signing with the old key until everyone had to re-fetch.
      propagation_delay_seconds: file.keys?.propagation_delay_seconds ?? Math.max(lifetimes.entity_configuration, lifetimes.subordinate_statement),
      rollover: { ...DEFAULTS.keys.rollover, ...file.keys?.rollover },
    },
    trust_anchors: file.trust_anchors ?? [],
    resolver: { ...DEFAULTS.resolver, ...file.resolver },
    trust_marks: { ...DEFAULTS.trust_marks, ...file.trust_marks },
    limits: { ...DEFAULTS.limits, ...file.limits },
    subordinates: { ...DEFAULTS.subordinates, ...file.subordinates },
    software_statements: { ...DEFAULTS.software_statements, ...file.software_statements },
    clock_skew: file.clock_skew ?? DEFAULTS.clock_skew,
    log_level: parseLogLevel(logLevel) ?? parseLogLevel(file.log_level) ?? DEFAULTS.log_level,
    log: { access: accessRate(file.log?.access ?? DEFAULTS.log.access) },
    metrics: { ...DEFAULTS.metrics, ...file.metrics },
    ...(kek ? { kek } : {}),
    ...(kekPrevious ? { kek_previous: kekPrevious } : {}),
    ...(file.trust_mark_issuers ? { trust_mark_issuers: file.trust_mark_issuers } : {}),
    ...(file.trust_mark_owners ? { trust_mark_owners: file.trust_mark_owners } : {}),
    ...(as ? { authorization_server: as } : {}),
    registration: registrationConfig,
  }
  return deepFreeze(config)
}

/** `admin`: the token (the environment's wins) and the admin plane's listener and TLS (the command line's win). */
function adminConfig(file: ConfigFile, overrides: Overrides, env: NodeJS.ProcessEnv): Config['admin'] {
  const { listen: listenText, tls_cert: fileCert, tls_key: fileKey, ...rest } = file.admin ?? {}
  const text = overrides.admin_listen ?? listenText
  const listen = text !== undefined ? parseListen(text) : undefined
  if (text !== undefined && !listen) throw new ConfigError(`admin.listen: must be host:port (or [IPv6]:port) with a port from 0 to 65535: ${text}`)
  const cert = overrides.admin_tls_cert ?? fileCert
  const key = overrides.admin_tls_key ?? fileKey
  if (Boolean(cert) !== Boolean(key)) throw new ConfigError('admin.tls_cert and admin.tls_key go together')
  if (cert && !listen) throw new ConfigError('admin.tls_cert: applies to the admin plane\'s own listener; set admin.listen too')
  return {
    ...rest, ...(env[ENV.adminToken] ? { token_from_env: env[ENV.adminToken] } : {}), ...(listen ? { listen } : {}),
    ...(cert && key ? { tls_cert: cert, tls_key: key } : {}),
  }
}

/** Where a development deployment listens when neither server.host nor --host says. */
export const DEVELOPMENT_HOST = '127.0.0.1'

/**
 * Where `serve` listens when no port is configured (server.port, PORT, --port): the port the
 * entity id names, written (`https://ta.example.org:8443`) or its scheme's (`http://x` 80,
 * `https://x` 443 when TLS is terminated here). An https entity id without a written port
 * and without TLS here is served behind a TLS-terminating proxy, which forwards 443 to a
 * port of its own: 8080, the default (nothing listens on 443 in plain HTTP).
 */
export function defaultListenPort(entityId: string, tlsHere: boolean): number {
  const written = entityIdPort(entityId)
  if (written !== undefined) return written
  const protocol = entityIdProtocol(entityId)
  if (protocol === 'http:') return 80
  if (protocol === 'https:' && tlsHere) return 443
  return DEFAULTS.server.port
}

/** The port clients use for an entity id: the written one, else its scheme's (80, 443). */
export function entityIdPublicPort(entityId: string): number | undefined {
  const protocol = entityIdProtocol(entityId)
  return entityIdPort(entityId) ?? (protocol === 'http:' ? 80 : protocol === 'https:' ? 443 : undefined)
}

function entityIdProtocol(entityId: string): string | undefined {
  try {
    return new URL(entityId).protocol
  } catch {
    return undefined
  }
}

/** The port written in an entity id (`http://localhost:9000` gives 9000), undefined when it has none. */
export function entityIdPort(entityId: string): number | undefined {
  try {
    const port = new URL(entityId).port
    return port ? Number(port) : undefined
  } catch {
    return undefined
  }
}

/** `registration`: string entries become {trust_mark_type}; requirements without the role they apply to are a mistake. */
function registration(file: ConfigFile): RegistrationConfig {
  const required: RegistrationConfig['required_trust_marks'] = {}
  for (const [key, entries] of Object.entries(file.registration?.required_trust_marks ?? {})) {
    required[key as RequiredTrustMarksKey] = (entries ?? []).map((e) => (typeof e === 'string' ? { trust_mark_type: e } : { ...e }))
  }
  if (Object.values(required).some((l) => l.length) && !file.authorization_server) {
    throw new ConfigError('registration.required_trust_marks: applies to the authorization server role; this configuration has no authorization_server section')
  }
  return { required_trust_marks: required }
}

/** authorization_server.id_token_signing_alg_values when not configured: RS256 (OpenID Connect Discovery 1.0 section 3), then `signing_alg`. */
export function defaultIdTokenAlgs(signingAlg: Config['signing_alg']): Array<Config['signing_alg']> {
  return [...new Set(['RS256' as const, signingAlg])]
}

/**
 * The algorithms of the authorization server's `oauth` keys, one key each: the ID token
 * algorithms with the OpenID Provider role, then `signing_alg` (access tokens).
 */
export function oauthAlgs(signingAlg: Config['signing_alg'], as: Pick<AuthorizationServerConfig, 'openid_provider' | 'id_token_signing_alg_values'>): Array<Config['signing_alg']> {
  return [...new Set([...(as.openid_provider ? as.id_token_signing_alg_values : []), signingAlg])]
}

function authorizationServer(
  file: NonNullable<ConfigFile['authorization_server']>, signingAlg: Config['signing_alg'], dir: string, overrides: Overrides, env: NodeJS.ProcessEnv,
): AuthorizationServerConfig {
  const { users_file: usersFile, upstream, id_token_signing_alg_values: idTokenAlgs, dynamic_registration: dynamic, ...rest } = file
  const out: AuthorizationServerConfig = {
    ...DEFAULTS.authorization_server,
    ...rest,
    id_token_signing_alg_values: idTokenAlgs ? [...idTokenAlgs] : defaultIdTokenAlgs(signingAlg),
    enabled: file.enabled ?? true,
    openid_provider: file.openid_provider ?? false,
    // Metadata documents need the authorization endpoint: the OpenID Provider role.
    // Off unless asked for: admitting clients that are not federation entities is the operator's choice.
    // With it, a client_id is still resolved as an entity id first (federation_clients.ts).
    client_id_metadata_documents: (file.openid_provider ?? false) && (file.client_id_metadata_documents ?? false),
    resources: file.resources ?? [],
    ...(usersFile ? { users_file: resolve(dir, usersFile) } : {}),
    ...(upstream ? { upstream: upstreamConfig(upstream, dir, env) } : {}),
    ...(dynamic && dynamic.enabled !== false ? {
      dynamic_registration: {
        ...DEFAULTS.dynamic_registration, ...dynamic,
        enabled: true, initial_access_token: dynamic.initial_access_token ?? false,
      },
    } : {}),
  }
  const fromEnv = env[ENV.trustReevaluation]
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv)
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${ENV.trustReevaluation}: not a whole number of seconds: ${fromEnv}`)
    out.trust_reevaluation = n
  }
  if (overrides.trust_reevaluation !== undefined) out.trust_reevaluation = overrides.trust_reevaluation
  const dr = out.dynamic_registration
  if (dr && dr.jwks_uri_cache_min > dr.jwks_uri_cache_max) throw new ConfigError('authorization_server.dynamic_registration.jwks_uri_cache_min: must not exceed jwks_uri_cache_max')
  if (out.metadata_document_cache_min > out.metadata_document_cache_max) throw new ConfigError('authorization_server.metadata_document_cache_min: must not exceed metadata_document_cache_max')
  if (out.enabled && out.resources.length === 0) throw new ConfigError('authorization_server.resources: at least one resource is required')
  return out
}

function upstreamConfig(file: UpstreamConfigFile, dir: string, env: NodeJS.ProcessEnv): UpstreamConfig {
  const secret = env[ENV.upstreamClientSecret] || file.client_secret
  if (!secret && !file.private_key_file) {
    throw new ConfigError(`authorization_server.upstream: a client_secret (or ${ENV.upstreamClientSecret}) or a private_key_file is required`)
  }
  if (secret && file.private_key_file) throw new ConfigError('authorization_server.upstream: client_secret and private_key_file exclude each other')
  return {
    issuer: file.issuer,
    client_id: file.client_id,
    ...(secret ? { client_secret: secret } : {}),
    ...(file.private_key_file ? { private_key_file: resolve(dir, file.private_key_file) } : {}),
    scopes: file.scopes ?? ['openid', 'profile', 'email'],
    name: file.name ?? new URL(file.issuer).host,
  }
}

/** DIR/keys.json, the seed keys written by `anchorage init` (undefined when there is none). */
export async function readKeysFile(dir: string): Promise<KeysFile | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, KEYS_FILE), 'utf8')) as KeysFile
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(`cannot read ${join(dir, KEYS_FILE)}: ${(err as Error).message}`)
  }
}

/**
 * Replaces DIR/keys.json (re-sealed keys): written to a temporary file, fsynced, renamed
 * over the old one, so a crash leaves the old file or the new one, never half of one.
 */
export async function writeKeysFile(dir: string, file: KeysFile): Promise<void> {
  const path = join(dir, KEYS_FILE)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 })
  const fh = await openFile(tmp, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
}

/**
 * ANCHORAGE_KEK (or, `previous`, ANCHORAGE_KEK_PREVIOUS, any length: it only opens what it
 * sealed); undefined when unset or empty. A KEK too short to be one is a ConfigError.
 */
export function kekFromEnv(env: NodeJS.ProcessEnv, which: 'current' | 'previous' = 'current'): KekMaterial | undefined {
  const name = which === 'current' ? ENV.kek : ENV.kekPrevious
  const text = env[name]
  if (!text) return undefined
  const material = KekMaterial.parse(text, { lenient: which === 'previous' })
  if (!material) throw new ConfigError(KEK_TOO_SHORT.replace(ENV.kek, name))
  return material
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}
