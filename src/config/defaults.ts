/**
 * Every option and its default, in one place. The configuration file (anchorage.json,
 * schemas/config.schema.json) overrides these; environment variables override the file.
 */
export const DEFAULTS = Object.freeze({
  signing_alg: 'ES256' as const,
  lifetimes: Object.freeze({
    /** Entity configuration `exp` - `iat`, seconds. */
    entity_configuration: 86_400,
    /** Subordinate statement `exp` - `iat`, seconds. */
    subordinate_statement: 86_400,
    /** Historical keys JWT lifetime, seconds. */
    historical_keys: 86_400,
  }),
  server: Object.freeze({
    host: '0.0.0.0',
    port: 8080,
    trust_proxy: false,
    /** Largest admin/registration request body accepted. */
    max_body_bytes: 65_536,
    /**
     * A body over max_body_bytes is read on and discarded up to this many bytes in all, so
     * the client gets its 413 instead of a connection reset; beyond it the connection is closed.
     */
    max_drain_bytes: 134_217_728,
    /** On SIGTERM/SIGINT: how long in-flight requests may take to finish before their connections are dropped, seconds. */
    shutdown_timeout_seconds: 10,
  }),
  outbound: Object.freeze({
    allow_http: false,
    allow_private_network: false,
    timeout_ms: 5_000,
    max_response_bytes: 262_144,
  }),
  /** Trust chain resolution (docs/resolution.md). */
  resolver: Object.freeze({
    /** Most superiors walked above the subject in one path. */
    max_depth: 10,
    /** authority_hints inspected per entity; further hints are ignored (spec "Denial-of-Service Attack Prevention"). */
    max_fan_out: 5,
    /** Paths explored (valid or not) per resolution. */
    max_chains: 20,
    /** Upper bound, seconds, of statement_ttl_max and answer_ttl_max (kept so older configurations still bound caching). */
    cache_ttl_max: 3_600,
    /**
     * Propagation bound (docs/resolution.md): a fetched statement is cached at most this
     * long from the start of its fetch, seconds, whatever its exp ...
     */
    statement_ttl_max: 60,
    /** ... a resolve answer is fresh this long from the start of its resolution, seconds ... */
    answer_ttl_max: 45,
    /**
     * ... and then, stale, still served at most this long while one background refresh
     * re-resolves it, seconds (0: no stale serving). A remote removal reaches /resolve
     * within statement_ttl_max + answer_ttl_max + answer_stale_seconds (120 s by default).
     */
    answer_stale_seconds: 15,
    /** Background refreshes of stale answers running at once (the server's own work, outside the discovery limits). */
    max_concurrent_refreshes: 8,
    /** Time, seconds, a failed fetch or resolution is remembered. */
    failure_ttl: 10,
    /** Most cached statements and resolve answers (each). */
    cache_entries: 10_000,
    /**
     * Work budget of one resolution, all branches of the authority_hints walk and the chains
     * of trust mark issuers together (docs/resolution.md, "Work budget"): outbound fetches
     * (statements served from cache or by this deployment itself are not fetches) ...
     */
    budget_fetches: 32,
    /** ... signature verifications actually made (remembered results are free) ... */
    budget_verifications: 64,
    /** ... and wall time, milliseconds. Running out ends the resolution: invalid_trust_chain. */
    budget_ms: 10_000,
    /**
     * Unauthenticated GET /resolve (spec "Denial-of-Service Attack Prevention"): 'discover'
     * fetches what is not cached, within the two limits below; 'cached' answers only from
     * statements already cached or published by this deployment (invalid_subject otherwise).
     */
    unauthenticated: 'discover',
    /** Discoveries (resolutions that miss the answer cache) running at once; more get 503 temporarily_unavailable. */
    max_concurrent_discoveries: 32,
    /** Discoveries one client address may start per minute (token bucket, that many at once); 0: no limit. */
    discoveries_per_minute: 60,
    /**
     * Operators' resolutions (POST {admin}/resolve and /resolve/explain, which discover outside
     * the two bounds above) running at once on an instance; more get 429 too_many_requests.
     */
    admin_concurrency: 8,
  }),
  /** Trust marks in resolve answers (docs/trust-marks.md, "Revocation and /resolve"). */
  trust_marks: Object.freeze({
    /**
     * When a mark of another issuer is checked at the issuer's Trust Mark Status endpoint:
     * 'always', 'no_exp' (only marks without exp) or 'never'. Marks this deployment issued
     * are always checked against its own records, without a request.
     */
    status_check: 'always',
    /** Seconds a status answer is reused; a resolve answer carrying the mark is cached no longer. */
    status_cache_seconds: 60,
  }),
  /** Authorization server role (docs/registration.md); off unless configured. */
  authorization_server: Object.freeze({
    /** Access token `exp` - `iat`, seconds (bounded by the client's registration). */
    access_token_lifetime: 300,
    /** Longest `exp` - `iat` accepted in a private_key_jwt client assertion, seconds. */
    assertion_max_lifetime: 300,
    /** A registration is re-resolved when older than this, seconds (spec "Registration Validity and Trust Reevaluation"). */
    trust_reevaluation: 300,
    /**
     * Statements fetched to register a client (first contact, explicit) are reused for this
     * long, seconds (0: every registration fetches afresh); a removal upstream stops new
     * registrations that much later. Re-evaluation always fetches afresh.
     */
    statement_cache_ttl: 30,
    /** A client whose first contact just failed to resolve is refused from memory for this long, seconds (0: never). */
    failure_cache_ttl: 10,
    /** Users file logins (docs/authorization-server.md, "Users and login"): wrong passwords for one user name accepted before it is locked ... */
    max_failed_logins: 5,
    /** ... for this long, seconds, counted from the first failure of the run (every attempt is then refused without checking). */
    login_lockout_seconds: 300,
    /** Names not in the users file whose failures are counted at once (store collection login_failures); users' names always are. */
    login_tracked_names: 10_000,
    /**
     * Password checks (scrypt, N = 2^15: 32 MiB and tens of milliseconds each) running at once;
     * the others wait their turn. They run on libuv's thread pool (UV_THREADPOOL_SIZE, default 4),
     * which the store's file I/O and the signatures share: 2 leaves it half free.
     */
    password_hash_concurrency: 2,
    /** Logins waiting for a password check at most; beyond, the login page answers 503 with Retry-After at once. */
    password_hash_queue: 64,
    /** An upstream (enterprise) login not finished within this many seconds is forgotten. */
    upstream_login_lifetime: 600,
    /** OpenID Provider role (authorization_server.openid_provider): ID token `exp` - `iat`, seconds. */
    id_token_lifetime: 300,
    /** Refresh token lifetime, seconds (bounded by the client's registration at each use). */
    refresh_token_lifetime: 86_400,
    /**
     * The grant sweep (authorization_server/grant_sweep.ts): every this many seconds (0: never)
     * a batch of registrations whose clients still hold grants or tokens in the store is
     * re-evaluated when due, so a client cut off that makes no request loses them too ...
     */
    grant_sweep_seconds: 600,
    /** ... at most this many registrations per pass (so at most this many chain resolutions). */
    grant_sweep_batch: 100,
    /** Authorization code lifetime, seconds. */
    authorization_code_lifetime: 60,
    /**
     * PKCE (RFC 7636, S256 only; `plain` is always refused) is required for every
     * authorization request; false: only when the request is not a signed request object or
     * a pushed request from an authenticated client (the OIDF conformance suite sends none).
     */
    require_pkce: true,
    /**
     * Token exchange (RFC 8693): how many actors an exchanged token's `act` claim may name
     * (section 4.1, nested), so delegation through agents stays short and bounded.
     */
    token_exchange_max_actors: 4,
    /**
     * OAuth Client ID Metadata Documents (docs/authorization-server.md, "Clients identified by a
     * metadata document"): the largest document fetched, bytes (the draft suggests 5 KB) ...
     */
    metadata_document_max_bytes: 5_120,
    /** ... the shortest time a fetched document is reused whatever its Cache-Control says (no-store and max-age=0 included), seconds ... */
    metadata_document_cache_min: 60,
    /** ... and the longest (a longer max-age or Expires is cut to this), seconds. */
    metadata_document_cache_max: 3_600,
    /**
     * OpenID Provider role: ID token signing algorithms, each with an `oauth` key
     * of its own; the first is what a client gets without id_token_signed_response_alg. Default:
     * RS256 (OpenID Connect Discovery 1.0 section 3: it MUST be supported) and `signing_alg`
     * (config/load.ts); these are the values for the default `signing_alg`.
     */
    id_token_signing_alg_values: Object.freeze(['RS256', 'ES256'] as Array<'ES256' | 'ES384' | 'PS256' | 'RS256' | 'EdDSA'>),
  }),
  /** RFC 7591 registration gated by software statements (authorization_server.dynamic_registration; docs/dynamic-registration.md). */
  dynamic_registration: Object.freeze({
    /**
     * A statement whose keys are at its `jwks_uri`: the largest key set fetched, bytes
     * (outbound.max_response_bytes still applies) ...
     */
    jwks_uri_max_bytes: 32_768,
    /** ... the most keys it may hold ... */
    jwks_uri_max_keys: 10,
    /**
     * ... the shortest time a fetched key set is reused whatever its Cache-Control says, seconds:
     * also the rate limit of fetches of one URL for a key id not yet known or a re-evaluation ...
     */
    jwks_uri_cache_min: 60,
    /** ... and the longest (a longer max-age or Expires is cut to this), seconds. */
    jwks_uri_cache_max: 3_600,
    /**
     * Another issuer's software statement status endpoint: an answer is reused this long,
     * seconds (0: every registration and re-evaluation asks), at most half of
     * authorization_server.trust_reevaluation. A registration that relied on a reused answer
     * is re-evaluated trust_reevaluation after the answer was given, so a revocation still
     * ends it within trust_reevaluation.
     */
    status_cache_ttl: 60,
  }),
  /** Software statements the trust anchor issues (docs/software-statements.md). */
  software_statements: Object.freeze({
    /** `exp` - `iat` of a statement issued without `lifetime`, seconds (90 days). */
    default_lifetime: 7_776_000,
    /** Longest `lifetime` an issuance may ask for, seconds (one year). */
    max_lifetime: 31_536_000,
  }),
  /** The audit log (docs/admin-api.md, "Audit"). */
  audit: Object.freeze({
    /** Events older than this are deleted, at start-up and every prune_interval_seconds (both stores). */
    retention_days: 365,
    prune_interval_seconds: 3_600,
    /**
     * Refused admin authentications are aggregated: at most one event per source address
     * (the forwarded one behind --trust-proxy) per this many seconds, with a count.
     */
    refusal_window_seconds: 60,
    /** Source addresses tracked at once (LRU); refusals of addresses pushed out are counted under "*". */
    refusal_sources: 10_000,
    /** Refusal events per window overall, whatever the number of addresses; beyond, counted under "*". */
    refusal_events_per_window: 100,
    /** Request paths in refusal events and request log lines are cut to this many characters. */
    max_path_length: 256,
  }),
  /** The operator console (docs/console.md): its sessions and its login. */
  console: Object.freeze({
    /** A session not used for this long ends, seconds (30 minutes). */
    session_idle_seconds: 1_800,
    /** A session ends this long after its login whatever its use, seconds (8 hours). */
    session_absolute_seconds: 28_800,
    /** Failed logins accepted from one address per login_window_seconds; beyond, 429 until the window ends. */
    login_failures: 10,
    login_window_seconds: 300,
  }),
  /** The trust registry (docs/admin-api.md, "Subordinate key refresh"). */
  subordinates: Object.freeze({
    /**
     * How often, seconds, the superior re-reads every member's entity configuration to follow
     * its key rollover (0: only on demand). Keep it well below the members' key propagation
     * delay (one day by default), so a staged key is vouched for before it signs.
     */
    key_refresh_seconds: 3_600,
    /** Members whose entity configuration is fetched at once by a refresh of all members. */
    key_refresh_concurrency: 4,
    /**
     * Onboarding previews (POST /admin/subordinates/preview) fetching at once on an instance;
     * beyond, 429: each is an outbound request to whatever address the caller names.
     */
    preview_concurrency: 4,
  }),
  /** Bounds on JSON written by others (docs/architecture.md, "Hostile input"). */
  limits: Object.freeze({
    /**
     * Deepest nesting of arrays/objects accepted in any outside JSON: request bodies (400
     * beyond it), statements fetched or presented during resolution (refused, rule "depth"),
     * client assertions. Whatever Anchorage signs is therefore never deeper.
     */
    json_depth: 64,
  }),
  /** Federation key rollover (README "Key rollover", docs/operations.md). */
  keys: Object.freeze({
    /**
     * Seconds from staging a key to activating it without --force. Absent: the longest
     * lifetime of what this deployment signs that carries or references its keys
     * (lifetimes.entity_configuration, lifetimes.subordinate_statement; 86,400 by default).
     */
    propagation_delay_seconds: undefined as number | undefined,
    rollover: Object.freeze({
      /** Scheduled rollover: a new key is staged after the signing key has signed this many days (0: off). */
      interval_days: 0,
      /** How often the scheduled rollover checks what is due, seconds. */
      check_seconds: 3_600,
    }),
  }),
  /** Tolerated clock skew for iat/exp checks, seconds. */
  clock_skew: 60,
  log_level: 'info' as const,
  /** Access log (log.access): off; true logs every request, a number in 0..1 that fraction. */
  log: Object.freeze<{ access: boolean | number }>({ access: false }),
  metrics: Object.freeze({ enabled: true }),
})

/** Environment variables read by config/load (and nowhere else). */
export const ENV = Object.freeze({
  port: 'PORT',
  store: 'ANCHORAGE_STORE',
  adminToken: 'ANCHORAGE_ADMIN_TOKEN',
  kek: 'ANCHORAGE_KEK',
  /** The KEK to re-seal from (`anchorage keys encrypt` only). */
  kekPrevious: 'ANCHORAGE_KEK_PREVIOUS',
  allowHttp: 'ANCHORAGE_ALLOW_HTTP',
  allowPrivateNetwork: 'ANCHORAGE_ALLOW_PRIVATE_NETWORK',
  logLevel: 'ANCHORAGE_LOG_LEVEL',
  trustReevaluation: 'ANCHORAGE_TRUST_REEVALUATION_SECONDS',
  /** The upstream enterprise OpenID Provider's client secret (overrides authorization_server.upstream.client_secret). */
  upstreamClientSecret: 'ANCHORAGE_UPSTREAM_CLIENT_SECRET',
})
