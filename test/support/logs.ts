/** A deployment's log lines captured in memory, and which path answered a request (access log's `via`). */
import { createLogger, type Logger } from '../../src/logger.js'

export interface LogLine { level: string; msg: string; [k: string]: unknown }

export interface CapturedLogs {
  logger: Logger
  lines: LogLine[]
  raw: string[]
  /** The access log lines of one request id. */
  access: (id: string | null) => LogLine[]
  /** 'fast' (the listener's fast path) or 'koa', from the access log (log.access must be on). */
  via: (res: Response) => unknown
}

export function captureLogs(): CapturedLogs {
  const raw: string[] = []
  const lines: LogLine[] = []
  const access = (id: string | null) => lines.filter((l) => l.msg === 'access' && l.request_id === id)
  return {
    raw, lines, access,
    logger: createLogger({
      level: 'debug',
      write: (l) => {
        raw.push(l)
        lines.push(JSON.parse(l) as LogLine)
      },
    }),
    via: (res) => {
      const found = access(res.headers.get('x-request-id'))
      if (found.length !== 1) throw new Error(`${found.length} access log lines for request ${res.headers.get('x-request-id')}`)
      return found[0]!.via
    },
  }
}
