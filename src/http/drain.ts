/**
 * Graceful close of a listener. On close: stop accepting, close idle keep-alive connections
 * at once, make busy ones close after their current response (`Connection: close`), wait
 * for in-flight requests up to a deadline, then drop whatever is left. Nothing is waited
 * for on an idle connection, so a client holding one never delays a shutdown.
 */
import type http from 'node:http'

export interface CloseOutcome {
  /** Requests still running when the deadline passed (their connections were dropped). */
  abandoned: number
}

export class Drain {
  private closing = false
  private readonly inFlight = new Set<http.ServerResponse>()
  private settled: (() => void) | undefined

  constructor(private readonly server: http.Server) {}

  /** Called first for every request: answers during shutdown close their connection. */
  mark(res: http.ServerResponse): void {
    if (this.closing) this.closeAfter(res)
  }

  /** Runs a handler that completes asynchronously (koa), tracking it until it settles. */
  run(res: http.ServerResponse, handle: () => Promise<unknown>): void {
    this.inFlight.add(res)
    const done = () => {
      this.inFlight.delete(res)
      if (this.inFlight.size === 0) this.settled?.()
    }
    handle().then(done, done)
  }

  async close(timeoutMs: number): Promise<CloseOutcome> {
    this.closing = true
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    // Node's close() closes idle connections too; done here as well so it never depends on the version.
    this.server.closeIdleConnections()
    for (const res of this.inFlight) this.closeAfter(res)
    const idle = this.inFlight.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.settled = resolve))
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs)
    })
    try {
      const first = await Promise.race([Promise.all([closed, idle]).then(() => 'drained' as const), deadline])
      if (first === 'drained') return { abandoned: 0 }
      const abandoned = this.inFlight.size
      this.server.closeAllConnections()
      await closed
      return { abandoned }
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * `Connection: close` when the headers are still to be written; in any case the socket is
   * ended once the response is finished, so a keep-alive client cannot send another request.
   */
  private closeAfter(res: http.ServerResponse): void {
    if (!res.headersSent) res.setHeader('connection', 'close')
    const socket = res.socket
    if (!socket) return
    if (res.writableFinished) socket.end()
    else res.once('finish', () => socket.end())
  }
}
