/**
 * Prometheus metrics of one deployment (docs/operations.md, "Metrics"), on a registry of its
 * own (never prom-client's global one: several deployments can live in one process).
 * Served at `{entity path}/admin/metrics` with the admin routes. Counters move where the work
 * happens (through the hooks below); members by status and the keys' gauges are read from
 * the store when scraped, so nothing is counted per request for them.
 *
 * Every label value is bounded: route names (or the router's path pattern), status codes,
 * fixed outcome words, our own JWT `typ` values. Nothing taken from a request is a label.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Store, StoredRecord, CollectionName, WriteOptions } from './storage/types.js'
import type { Fetcher, FetchResponse } from './net/fetch.js'
import { FetchError } from './net/fetch.js'
import { jwtCounts } from './crypto/jwt.js'

/** What the key gauges read of the keystore (crypto/keystore.ts Keystore). */
export interface MetricsKeys {
  list(): Promise<Array<{ kid: string; state: string; created_at: number; activated_at?: number; activatable_at?: number }>>
}

export interface MetricsSources {
  store: Store
  keys: MetricsKeys
  now(): number
  /** keys.rollover.interval_days in seconds (0: no scheduled rollover). */
  rolloverIntervalSeconds: number
}

/** Seconds: from 0.1 ms (a cached answer) to 10 s (a resolution that fetched). */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export type FetchOutcome = 'success' | 'http_error' | FetchError['reason'] | 'error'
export type TokenOutcome = 'issued' | 'refused'

/** One series of the request histogram: counts per bucket (not cumulative), sum and count. */
class RequestSeries {
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(readonly labels: Readonly<Record<'route' | 'method' | 'status', string>>, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length)
  }

  /** No allocation: a scan of the bounds and three additions (the fast path calls this per answer). */
  observe(seconds: number): void {
    const b = this.bounds
    let i = 0
    while (i < b.length && seconds > b[i]!) i++
    if (i < b.length) this.counts[i]!++
    this.sum += seconds
    this.count++
  }
}

/**
 * The request histogram, registered in the prom-client registry as a metric of our own:
 * prom-client's Histogram#observe validates and hashes its labels on every call (about
 * 2 µs, a tenth of a cached fetch's cost), too much for the listener's fast path. Series are
 * bound once (the fast routes at start; koa's by route, method and status on first use).
 */
class RequestHistogram {
  readonly name = 'anchorage_http_request_duration_seconds'
  readonly help = 'HTTP requests by route name, method and status, with their latency (the listener\'s fast-path answers included).'
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly series = new Map<string, RequestSeries>()

  constructor(private readonly bounds: readonly number[]) {}

  bind(route: string, method: string, status: string): RequestSeries {
    const key = `${route} ${method} ${status}`
    let s = this.series.get(key)
    if (!s) this.series.set(key, (s = new RequestSeries({ route, method, status }, this.bounds)))
    return s
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> } {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = []
    for (const s of this.series.values()) {
      let cumulative = 0
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i]!
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le }, value: cumulative })
      })
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count })
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum })
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}

export class Metrics {
  readonly registry = new Registry()
  private readonly requests = new RequestHistogram(LATENCY_BUCKETS)
  private readonly resolveCache: Counter<'outcome'>
  private readonly fetches: Counter<'outcome'>
  private readonly fetchSeconds: Histogram<'outcome'>
  private readonly storeWrites: Histogram<'operation' | 'outcome'>
  private readonly registrations: Counter<'kind' | 'outcome'>
  private readonly tokens: Counter<'outcome' | 'grant_type'>

  constructor(readonly enabled: boolean, sources?: MetricsSources) {
    const registers = [this.registry]
    this.registry.registerMetric(this.requests as unknown as Parameters<Registry['registerMetric']>[0])
    this.resolveCache = new Counter({ name: 'anchorage_resolve_cache_total', help: 'Resolve requests answered from the signed-answer cache (hit) or resolved (miss).', labelNames: ['outcome'], registers })
    this.fetches = new Counter({ name: 'anchorage_outbound_fetches_total', help: 'Outbound HTTP requests by outcome: success, http_error (a 4xx/5xx answer), or the refusal/failure reason.', labelNames: ['outcome'], registers })
    this.fetchSeconds = new Histogram({ name: 'anchorage_outbound_fetch_duration_seconds', help: 'Outbound HTTP request latency by outcome.', labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers })
    this.storeWrites = new Histogram({ name: 'anchorage_store_write_duration_seconds', help: 'Store writes by operation and outcome, with their latency.', labelNames: ['operation', 'outcome'], buckets: LATENCY_BUCKETS, registers })
    this.registrations = new Counter({ name: 'anchorage_registrations_total', help: 'Client registrations by kind (automatic, explicit, metadata_document, software_statement) and outcome.', labelNames: ['kind', 'outcome'], registers })
    this.tokens = new Counter({ name: 'anchorage_tokens_total', help: 'Token endpoint answers: tokens issued and requests refused, by grant type.', labelNames: ['outcome', 'grant_type'], registers })
    // Process-wide counts kept by crypto/jwt.ts, copied in at scrape time.
    const fromCounts = (name: string, help: string, counts: Map<string, number>) =>
      new Counter({
        name, help, labelNames: ['typ'], registers,
        collect() {
          this.reset()
          for (const [typ, n] of counts) this.inc({ typ }, n)
        },
      })
    fromCounts('anchorage_jwt_signatures_total', 'JWTs signed by this process, by typ.', jwtCounts.signed)
    fromCounts('anchorage_jwt_verifications_total', 'JWT signatures verified and accepted by this process, by expected typ.', jwtCounts.verified)
    fromCounts('anchorage_jwt_verification_failures_total', 'JWT verifications refused by this process (signature, typ, times, malformed), by expected typ.', jwtCounts.refused)
    if (sources) this.scraped(sources, registers)
  }

  /** The histogram child of one route answering 200 (the fast path: bound once, observed per request). */
  route(route: string, method = 'GET', status = '200'): { observe(seconds: number): void } {
    return this.requests.bind(route, method, status)
  }

  request(route: string, method: string, status: number, seconds: number): void {
    this.requests.bind(route, method, String(status)).observe(seconds)
  }

  resolve(outcome: 'hit' | 'miss'): void {
    this.resolveCache.inc({ outcome })
  }

  registration(kind: string, outcome: 'success' | 'refused'): void {
    this.registrations.inc({ kind, outcome })
  }

  token(outcome: TokenOutcome, grantType: string): void {
    this.tokens.inc({ outcome, grant_type: grantType })
  }

  fetched(outcome: FetchOutcome, seconds: number): void {
    this.fetches.inc({ outcome })
    this.fetchSeconds.labels(outcome).observe(seconds)
  }

  stored(operation: string, outcome: 'success' | 'error', seconds: number): void {
    this.storeWrites.labels(operation, outcome).observe(seconds)
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  /** Gauges computed when scraped: members by status, the signing key's age, the next rollover step. */
  private scraped(s: MetricsSources, registers: Registry[]): void {
    new Gauge({
      name: 'anchorage_members', help: 'Subordinates on the roster, by status.', labelNames: ['status'], registers,
      async collect() {
        const [active, suspended] = await Promise.all([s.store.count('subordinates', { status: 'active' }), s.store.count('subordinates', { status: 'suspended' })])
        this.set({ status: 'active' }, active)
        this.set({ status: 'suspended' }, suspended)
      },
    })
    const keys = async () => {
      const list = await s.keys.list()
      return { signing: list.find((k) => k.state === 'active'), staged: list.find((k) => k.state === 'staged') }
    }
    new Gauge({
      name: 'anchorage_signing_key_age_seconds', help: 'Seconds since the signing key started signing.', registers,
      async collect() {
        this.reset()
        const { signing } = await keys()
        if (signing) this.set(Math.max(0, s.now() - (signing.activated_at ?? signing.created_at)))
      },
    })
    new Gauge({
      name: 'anchorage_key_next_rollover_timestamp_seconds',
      help: 'When the next key change is due (Unix time): a staged key\'s activation, else the scheduled stage of a new key; absent when neither applies.',
      labelNames: ['step'], registers,
      async collect() {
        this.reset()
        const { signing, staged } = await keys()
        if (staged?.activatable_at !== undefined) this.set({ step: 'activate' }, staged.activatable_at)
        else if (signing && s.rolloverIntervalSeconds > 0) this.set({ step: 'stage' }, (signing.activated_at ?? signing.created_at) + s.rolloverIntervalSeconds)
      },
    })
  }
}

/** Times every outbound request and counts it by outcome. */
export function measuredFetcher(fetcher: Fetcher, metrics: Metrics): Fetcher {
  const measure = async (p: Promise<FetchResponse>): Promise<FetchResponse> => {
    const start = performance.now()
    try {
      const res = await p
      metrics.fetched(res.status < 400 ? 'success' : 'http_error', (performance.now() - start) / 1000)
      return res
    } catch (err) {
      metrics.fetched(err instanceof FetchError ? err.reason : 'error', (performance.now() - start) / 1000)
      throw err
    }
  }
  return {
    get: (url, accept, options) => measure(fetcher.get(url, accept, options)),
    post: (url, body, contentType, accept) => measure(fetcher.post(url, body, contentType, accept)),
  }
}

/** The store with its writes timed (reads and everything else pass through untouched). */
export function measuredStore(store: Store, metrics: Metrics): Store {
  const time = async <T>(operation: string, p: () => Promise<T>): Promise<T> => {
    const start = performance.now()
    try {
      const v = await p()
      metrics.stored(operation, 'success', (performance.now() - start) / 1000)
      return v
    } catch (err) {
      metrics.stored(operation, 'error', (performance.now() - start) / 1000)
      throw err
    }
  }
  const writes: Partial<Store> = {
    insert: <T extends StoredRecord>(c: CollectionName, r: T, o?: WriteOptions) => time('insert', () => store.insert(c, r, o)),
    put: <T extends StoredRecord>(c: CollectionName, r: T, o?: WriteOptions) => time('put', () => store.put(c, r, o)),
    update: <T extends StoredRecord>(c: CollectionName, id: string, m: (cur: T | undefined) => T | undefined, o?: WriteOptions) => time('update', () => store.update(c, id, m, o)),
    remove: (c: CollectionName, id: string, o?: WriteOptions) => time('remove', () => store.remove(c, id, o)),
    claimOnce: (scope: string, key: string, exp: number) => time('claim_once', () => store.claimOnce(scope, key, exp)),
    appendAudit: (e) => time('append_audit', () => store.appendAudit(e)),
  }
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(store, {
    get(target, prop) {
      if (Object.hasOwn(writes, prop)) return writes[prop as keyof Store]
      const v: unknown = Reflect.get(target, prop, target)
      if (typeof v !== 'function') return v
      let b = bound.get(prop)
      if (!b) bound.set(prop, (b = (v as (...a: unknown[]) => unknown).bind(target)))
      return b
    },
  })
}
