/**
 * Structured JSON logs, one object a line. Never pass keys, tokens or secrets in fields;
 * whatever slips through is redacted here anyway (docs/operations.md, "Logs"): fields named
 * like a credential (authorization, cookie, password, secret, token, *_token, ...) at any
 * depth, and credentials inside any string (an `Authorization` scheme's credentials,
 * credential-bearing query parameters, PEM private keys).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  child(fields: LogFields): Logger
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/** A level in any case ('INFO', 'Warn'); undefined for anything else. */
export function logLevel(value: string | undefined): LogLevel | undefined {
  const v = value?.toLowerCase()
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' ? v : undefined
}

export function createLogger(
  options: { level?: string; write?: (line: string) => void; base?: LogFields } = {},
): Logger {
  const min = ORDER[logLevel(options.level) ?? 'info']
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'))
  const base = options.base ?? {}
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[level] < min) return
    write(JSON.stringify({ time: new Date().toISOString(), level, msg: redactString(msg), ...(redact(base, 0) as LogFields), ...(fields ? (redact(fields, 0) as LogFields) : {}) }))
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  }
}

export const REDACTED = '[redacted]'

/** Field names whose value is a credential, whatever it looks like. */
const SECRET_FIELD = /^(?:authorization|proxy[-_]authorization|cookie|set[-_]cookie|x[-_]api[-_]key|password|passphrase|secret|token|kek|private_?key|private_jwk|client_assertion|assertion|code_verifier)$|(?:[-_](?:token|secret|password|passphrase|key_material))$/i

/** Credentials inside free text: an auth scheme's credentials, credential-bearing query parameters, PEM private keys. */
const IN_TEXT: ReadonlyArray<[RegExp, string]> = [
  [/\b(Bearer|Basic|DPoP|Digest)\s+[\w~+/.=-]+/gi, `$1 ${REDACTED}`],
  [/([?&;]\s*(?:access_token|refresh_token|id_token|token|subject_token|actor_token|client_secret|password|code|code_verifier|client_assertion|assertion)=)[^&\s"'#]*/gi, `$1${REDACTED}`],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED],
]

/** Cheap pre-check: only strings with one of these can hold a credential in text. */
const MAYBE = /bearer|basic|dpop|digest|=|private key/i

export function redactString(s: string): string {
  if (!MAYBE.test(s)) return s
  let out = s
  for (const [re, by] of IN_TEXT) out = out.replace(re, by)
  return out
}

/** A copy of `value` with credentials redacted (depth-bounded: deeper is left out). */
export function redact(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactString(value)
  if (value === null || typeof value !== 'object') return value
  if (depth > 8) return '[depth]'
  if (value instanceof Error) return redactString(value.message)
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1))
  // Dates, URLs, Buffers: what JSON.stringify would write.
  const toJSON = (value as { toJSON?: unknown }).toJSON
  if (typeof toJSON === 'function') return redact(toJSON.call(value), depth + 1)
  // Null prototype: a field named __proto__ (a stranger's JSON) stays a field.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_FIELD.test(k) && v !== undefined && v !== null && v !== '' ? REDACTED : redact(v, depth + 1)
  }
  return out
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger
  },
}
