/**
 * Hardened outbound HTTP GET/POST for federation statements: timeout, response size cap,
 * https only (unless allowed), no redirects, and an SSRF guard applied in the socket's
 * DNS lookup, i.e. to the address actually connected to, so DNS rebinding cannot
 * get round it.
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
}

export type FetchErrorReason = 'scheme' | 'address' | 'timeout' | 'too_large' | 'redirect' | 'network' | 'url'

export class FetchError extends Error {
  constructor(readonly reason: FetchErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'FetchError'
  }
}

export interface Fetcher {
  get(url: string, accept: string): Promise<FetchResponse>
  post(url: string, body: string, contentType: string, accept: string): Promise<FetchResponse>
}

export function createFetcher(options: FetchOptions): Fetcher {
  const guardedLookup: LookupFunction = (hostname, opts, callback) => {
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4)
      const list = addresses as Array<{ address: string; family: number }>
      const allowed = options.allowPrivateNetwork ? list : list.filter((a) => !isPrivateAddress(a.address))
      if (allowed.length === 0) {
        const e = new FetchError('address', `refusing to connect to ${hostname}: non-public address ${list[0]?.address ?? ''}`)
        return callback(e as unknown as NodeJS.ErrnoException, '', 4)
      }
      if ((opts as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof allowed) => void)(null, allowed)
      const first = allowed[0]!
      callback(null, first.address, first.family)
    })
  }
  const httpAgent = new http.Agent({ keepAlive: true, lookup: guardedLookup, maxSockets: 64 })
  const httpsAgent = new https.Agent({ keepAlive: true, lookup: guardedLookup, maxSockets: 64, ...(options.ca ? { ca: options.ca } : {}) })

  function request(method: 'GET' | 'POST', rawUrl: string, accept: string, body?: string, contentType?: string): Promise<FetchResponse> {
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
      return Promise.reject(new FetchError('address', `refusing to connect to non-public address ${host}`))
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
      const tooLarge = () => new FetchError('too_large', `response from ${rawUrl} is larger than ${options.maxResponseBytes} bytes`)
      req.on('timeout', () => finish(new FetchError('timeout', `no answer from ${url.host} within ${options.timeoutMs} ms`)))
      req.on('error', (err) => finish(asFetchError(err) ?? new FetchError('network', `fetching ${rawUrl} failed: ${err.message}`, { cause: err })))
      req.on('response', (res) => {
        const status = res.statusCode ?? 0
        res.on('error', (err) => finish(asFetchError(err) ?? new FetchError('network', `reading ${rawUrl} failed: ${err.message}`, { cause: err })))
        if (status >= 300 && status < 400) {
          return finish(new FetchError('redirect', `${rawUrl} answered with a redirect (${status}); redirects are not followed`))
        }
        if (Number(res.headers['content-length'] ?? 0) > options.maxResponseBytes) return finish(tooLarge())
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > options.maxResponseBytes) return finish(tooLarge())
          chunks.push(chunk)
        })
        res.on('end', () => {
          if (size > options.maxResponseBytes) return finish(tooLarge())
          finish(undefined, { status, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8'), url: rawUrl })
        })
      })
      req.end(body)
    })
  }

  return {
    get: (url, accept) => request('GET', url, accept),
    post: (url, body, contentType, accept) => request('POST', url, accept, body, contentType),
  }
}

function asFetchError(err: unknown): FetchError | undefined {
  if (err instanceof FetchError) return err
  const cause = (err as { cause?: unknown })?.cause
  return cause instanceof FetchError ? cause : undefined
}
