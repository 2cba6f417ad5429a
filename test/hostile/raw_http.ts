/**
 * Requests with the framing a test chooses: a Content-Length body, or a chunked one
 * (Transfer-Encoding: chunked, no Content-Length), possibly streamed far past any limit.
 */
import http from 'node:http'
import { Readable } from 'node:stream'

export interface RawAnswer {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  body: any
  /** An error the client saw after the answer arrived (a reset while still sending), if any. */
  late?: string
}

export type Framing = 'content-length' | 'chunked'

/** Sends `body` (text, or a stream for huge ones) with the given framing. */
export function send(url: string, o: { method: string; headers?: Record<string, string>; body?: string | Readable; framing?: Framing }): Promise<RawAnswer> {
  const framing = o.framing ?? 'content-length'
  return new Promise((resolve, reject) => {
    let answer: RawAnswer | undefined
    const headers: Record<string, string> = { ...o.headers }
    if (typeof o.body === 'string' && framing === 'content-length') headers['content-length'] = String(Buffer.byteLength(o.body))
    const req = http.request(url, { method: o.method, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => {
        let body: unknown
        try {
          body = text ? JSON.parse(text) : undefined
        } catch {
          body = text
        }
        answer = { status: res.statusCode ?? 0, headers: res.headers, text, body }
        resolve(answer)
      })
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (answer) answer.late = err.code ?? err.message
      else reject(err)
    })
    if (o.body === undefined) return void req.end()
    if (typeof o.body !== 'string') return void o.body.pipe(req)
    if (framing === 'content-length') return void req.end(o.body)
    // Chunked: several writes before end, and no Content-Length header.
    const third = Math.ceil(o.body.length / 3)
    for (let i = 0; i < o.body.length; i += third) req.write(o.body.slice(i, i + third))
    req.end()
  })
}

/** `bytes` of filler as a lazily generated stream (nothing is held in memory). */
export function filler(bytes: number, prefix = '{"x":"'): Readable {
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  let sent = 0
  return new Readable({
    read() {
      if (sent === 0) {
        sent += prefix.length
        this.push(prefix)
        return
      }
      if (sent >= bytes) return void this.push(null)
      const n = Math.min(chunk.length, bytes - sent)
      sent += n
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n))
    },
  })
}

/** `[[[ … ]]]` nested `levels` deep, as JSON text. */
export const nested = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels)
