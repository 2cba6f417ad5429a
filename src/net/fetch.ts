/**
 * Hardened outbound HTTP GET/POST for federation statements: timeout, response size cap,
 * https only (unless allowed), no redirects, and an SSRF guard applied in the socket's
 * DNS lookup, i.e. to the address actually connected to, so DNS rebinding cannot
 * get round it.
 *
 * A FetchError's message reaches unauthenticated callers (inside resolve and OAuth error
 * descriptions), so it names the rule and the URL or host the caller gave, never an
 * address a name resolved to: Node's socket messages (`connect ECONNREFUSED 127.0.0.1:443`)
 * are replaced by their error code. What was resolved and Node's own text go to `detail`,
 * which the error middleware logs with the request id.
 */
import http from 'node:http'
import https from 'node:https'
import { lookup as dnsLookup } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { isPrivateAddress } from './address.js'

export interface FetchOptions {
  allowHttp: boolean
  allowPrivateNetwork: boolean
  timeoutMs: number
  maxResponseBytes: number
  /** Extra trusted CA certificates (PEM). */
  ca?: string | Buffer | Array<string | Buffer>
  userAgent?: string
}

export interface FetchResponse {
  status: number
  contentType: string
  body: string
  url: string
  /** The response's HTTP caching headers (RFC 9111), when present: for callers that cache what they fetched. */
  cache?: CacheHeaders
}

/** RFC 9111 headers a caller needs to decide how long a response stays fresh. */
export interface CacheHeaders {
  cacheControl?: string
  expires?: string
  age?: string
  date?: string
}

/** Per-request bounds tighter than the fetcher's own. */
export interface RequestOptions {
  /** A smaller response size cap than the fetcher's maxResponseBytes, bytes. */
  maxResponseBytes?: number
}

export type FetchErrorReason = 'scheme' | 'address' | 'timeout' | 'too_large' | 'redirect' | 'network' | 'url'

export class FetchError extends Error {
  /** For logs only: resolved addresses, Node's own message. */
  readonly detail: string | undefined

  constructor(readonly reason: FetchErrorReason, message: string, options?: { cause?: unknown; detail?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'FetchError'
    this.detail = options?.detail
  }
}

export interface Fetcher {
  get(url: string, accept: string, options?: RequestOptions): Promise<FetchResponse>
  post(url: string, body: string, contentType: string, accept: string): Promise<FetchResponse>
}

export function createFetcher(options: FetchOptions): Fetcher {
  const guardedLookup: LookupFunction = (hostname, opts, callback) => {
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4)
      const list = addresses as Array<{ address: string; family: number }>
      const allowed = options.allowPrivateNetwork ? list : list.filter((a) => !isPrivateAddress(a.address))
      if (allowed.length === 0) {
        const e = new FetchError('address', `refusing to connect to ${hostname}: it has no public address (outbound.allow_private_network is off)`, {
          detail: `${hostname} resolved to ${list.map((a) => a.address).join(', ') || 'nothing'}`,
        })
        return callback(e, '', 4)
      }
      if ((opts as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof allowed) => void)(null, allowed)
      const first = allowed[0]!
      callback(null, first.address, first.family)
    })
  }
  const httpAgent = new http.Agent({ keepAlive: true, lookup: guardedLookup, maxSockets: 64 })
  const httpsAgent = new https.Agent({ keepAlive: true, lookup: guardedLookup, maxSockets: 64, ...(options.ca ? { ca: options.ca } : {}) })

  function request(method: 'GET' | 'POST', rawUrl: string, accept: string, body?: string, contentType?: string, maxBytes = options.maxResponseBytes): Promise<FetchResponse> {
    let url: URL
    try {
      url = new URL(rawUrl)
    } catch {
      return Promise.reject(new FetchError('url', `not a URL: ${rawUrl}`))
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowHttp)) {
      return Promise.reject(new FetchError('scheme', `refusing ${url.protocol.slice(0, -1)} URL ${rawUrl}: https required`))
    }
    const host = url.hostname.replace(/^\[|\]$/g, '')
    // Literal IPs skip the lookup hook, so check them here.
    if (isIP(host) && !options.allowPrivateNetwork && isPrivateAddress(host)) {
      return Promise.reject(new FetchError('address', `refusing to connect to ${url.hostname}: not a public address (outbound.allow_private_network is off)`))
    }
    const mod = url.protocol === 'https:' ? https : http
    return new Promise<FetchResponse>((resolve, reject) => {
      const headers: Record<string, string> = { accept, 'user-agent': options.userAgent ?? 'anchorage' }
      if (body !== undefined) {
        headers['content-type'] = contentType ?? 'application/x-www-form-urlencoded'
        headers['content-length'] = String(Buffer.byteLength(body))
      }
      const req = mod.request(url, { method, headers, agent: url.protocol === 'https:' ? httpsAgent : httpAgent, timeout: options.timeoutMs })
      // Settles once; giving up destroys the request without an error so that nothing is
      // emitted after the promise is settled (late 'data'/'end'/'error' events are ignored).
      let settled = false
      const finish = (err: FetchError | undefined, value?: FetchResponse) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err) {
          reject(err)
          req.destroy()
        } else resolve(value!)
      }
      const timer = setTimeout(() => finish(new FetchError('timeout', `no complete answer from ${url.host} within ${options.timeoutMs} ms`)), options.timeoutMs)
      const tooLarge = () => new FetchError('too_large', `response from ${rawUrl} is larger than ${maxBytes} bytes`)
      req.on('timeout', () => finish(new FetchError('timeout', `no answer from ${url.host} within ${options.timeoutMs} ms`)))
      req.on('error', (err) => finish(asFetchError(err) ?? networkError(`fetching ${rawUrl} failed`, err)))
      req.on('response', (res) => {
        const status = res.statusCode ?? 0
        res.on('error', (err) => finish(asFetchError(err) ?? networkError(`reading ${rawUrl} failed`, err)))
        if (status >= 300 && status < 400) {
          return finish(new FetchError('redirect', `${rawUrl} answered with a redirect (${status}); redirects are not followed`))
        }
        if (Number(res.headers['content-length'] ?? 0) > maxBytes) return finish(tooLarge())
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > maxBytes) return finish(tooLarge())
          chunks.push(chunk)
        })
        res.on('end', () => {
          if (size > maxBytes) return finish(tooLarge())
          const cache = cacheHeaders(res.headers)
          finish(undefined, { status, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8'), url: rawUrl, ...(cache ? { cache } : {}) })
        })
      })
      req.end(body)
    })
  }

  return {
    get: (url, accept, o) => request('GET', url, accept, undefined, undefined, Math.min(options.maxResponseBytes, o?.maxResponseBytes ?? Infinity)),
    post: (url, body, contentType, accept) => request('POST', url, accept, body, contentType),
  }
}

/** The caching headers of a response, each cut to a sane length (they come from strangers). */
function cacheHeaders(h: http.IncomingHttpHeaders): CacheHeaders | undefined {
  const pick = (v: string | string[] | undefined) => (typeof v === 'string' ? v.slice(0, 1024) : Array.isArray(v) ? v.join(', ').slice(0, 1024) : undefined)
  const out: CacheHeaders = {}
  const cc = pick(h['cache-control'])
  if (cc !== undefined) out.cacheControl = cc
  const expires = pick(h.expires)
  if (expires !== undefined) out.expires = expires
  const age = pick(h.age)
  if (age !== undefined) out.age = age
  const date = pick(h.date)
  if (date !== undefined) out.date = date
  return Object.keys(out).length ? out : undefined
}

function asFetchError(err: unknown): FetchError | undefined {
  if (err instanceof FetchError) return err
  const cause = (err as { cause?: unknown })?.cause
  return cause instanceof FetchError ? cause : undefined
}

/** Fixed texts for Node's socket and TLS error codes: their messages may carry the address connected to. */
const SOCKET_ERRORS: Readonly<Record<string, string>> = Object.freeze({
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EPIPE: 'connection closed while sending',
  ECONNABORTED: 'connection aborted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the TLS certificate does not name the host',
  CERT_HAS_EXPIRED: 'the TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the TLS certificate chain is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the TLS certificate chain is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the TLS certificate chain is not trusted',
})

/** `what: connection refused (ECONNREFUSED)`; Node's message (with the address) only in detail. */
function networkError(what: string, err: Error): FetchError {
  const code = errorCode(err)
  const text = code === undefined ? 'network error' : `${Object.hasOwn(SOCKET_ERRORS, code) ? SOCKET_ERRORS[code] : 'network error'} (${code})`
  const nested = (err as { errors?: unknown }).errors
  const messages = [err.message, ...(Array.isArray(nested) ? nested.map((e) => String((e as Error)?.message)) : [])].filter(Boolean)
  return new FetchError('network', `${what}: ${text}`, { cause: err, detail: messages.join('; ') })
}

/** The error's code (or that of the first of an AggregateError, e.g. from happy eyeballs), when it looks like one. */
function errorCode(err: Error): string | undefined {
  const own = (err as { code?: unknown }).code
  const nested = (err as { errors?: unknown }).errors
  const first = Array.isArray(nested) ? (nested[0] as { code?: unknown } | undefined)?.code : undefined
  const code = typeof own === 'string' ? own : first
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : undefined
}
