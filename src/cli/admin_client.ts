/**
 * CLI commands that talk to a running server's admin API, so the server stays the only
 * writer: subordinate, audit, keys (and later capabilities' commands).
 */
import { readFile } from 'node:fs/promises'
import { join, isAbsolute } from 'node:path'
import http from 'node:http'
import https from 'node:https'
import { rootCertificates } from 'node:tls'
import { ADMIN_TOKEN_FILE, CONFIG_FILE, parseListen, type ConfigFile } from '../config/load.js'
import { UsageError, type IO } from './args.js'

export const CONNECTION_OPTIONS = {
  'admin-url': { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  dir: { type: 'string' },
  json: { type: 'boolean' },
  'ca-file': { type: 'string' },
} as const

export const CONNECTION_HELP = `Connection:
  --admin-url URL the admin API's base URL, /admin/... appended (default:
                  $ANCHORAGE_ADMIN_URL, else from DIR/anchorage.json: the admin plane
                  http://admin.listen + the entity id's path, or the entity id when the
                  admin API shares the public listener); --url is the same option
  --token TOKEN   an operator's token (default: $ANCHORAGE_ADMIN_TOKEN, else DIR/admin.token)
  --dir DIR       deployment directory (default: ./federation)
  --ca-file FILE  CA certificates (PEM) trusted for an https admin plane, besides the system's,
                  NODE_EXTRA_CA_CERTS and the deployment's own admin.tls_cert (self-signed)`

export interface AdminClient {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>
  /**
   * GET whose 2xx answer is handed to `write` chunk by chunk as it arrives (an export); an
   * error answer is returned parsed, as call() does, and nothing is written.
   */
  stream(path: string, write: (chunk: string) => Promise<void>): Promise<{ status: number; body: unknown }>
}

/** How long the CLI waits for an admin answer. */
const TIMEOUT_MS = 60_000

export async function adminClient(values: { 'admin-url'?: string | undefined; url?: string | undefined; token?: string | undefined; dir?: string | undefined; 'ca-file'?: string | undefined }, io: IO): Promise<AdminClient> {
  const dir = values.dir ?? 'federation'
  if (values['admin-url'] && values.url && values['admin-url'] !== values.url) throw new UsageError('--admin-url and --url name the same thing: give one')
  let url = values['admin-url'] ?? values.url ?? io.env.ANCHORAGE_ADMIN_URL
  let config: ConfigFile | undefined
  try {
    config = JSON.parse(await io.readFile(join(dir, CONFIG_FILE))) as ConfigFile
  } catch {
    if (!url) throw new UsageError(`--admin-url is required (no ${join(dir, CONFIG_FILE)} to find the admin API from)`)
  }
  url ??= adminUrlOf(config!)
  const ca = url.startsWith('https:') ? await trustedCas(values['ca-file'], config?.admin?.tls_cert, dir, io) : undefined
  let token = values.token ?? io.env.ANCHORAGE_ADMIN_TOKEN
  if (!token) {
    try {
      token = (await readFile(join(dir, ADMIN_TOKEN_FILE), 'utf8')).trim()
    } catch {
      throw new UsageError(`--token is required (no $ANCHORAGE_ADMIN_TOKEN and no ${join(dir, ADMIN_TOKEN_FILE)})`)
    }
  }
  const base = url.replace(/\/+$/, '')
  const send = (method: string, path: string, body?: unknown) => open(base + path, method, {
    authorization: `Bearer ${token}`,
    ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
  }, body !== undefined ? JSON.stringify(body) : undefined, ca).catch((err: Error) => {
    throw new Error(unreachable(base, err, values.dir))
  })
  const parsed = async (res: http.IncomingMessage) => {
    const chunks: Buffer[] = []
    for await (const c of res) chunks.push(c as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    let body: unknown = text
    try {
      body = text ? JSON.parse(text) : undefined
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.statusCode ?? 0, body }
  }
  return {
    async call(method, path, body) {
      return parsed(await send(method, path, body))
    },
    async stream(path, write) {
      const res = await send('GET', path)
      const status = res.statusCode ?? 0
      if (status < 200 || status >= 300) return parsed(res)
      const decoder = new TextDecoder()
      for await (const chunk of res) await write(decoder.decode(chunk as Uint8Array, { stream: true }))
      const rest = decoder.decode()
      if (rest) await write(rest)
      return { status, body: undefined }
    },
  }
}

/** One request to the admin API (http or https, the given CAs trusted): the answer, its body still to be read. */
function open(url: string, method: string, headers: Record<string, string>, body: string | undefined, ca: string[] | undefined): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const options: https.RequestOptions = { method, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, timeout: TIMEOUT_MS, ...(ca ? { ca } : {}) }
    const req = (u.protocol === 'https:' ? https : http).request(u, options, resolve)
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })))
    req.on('error', (err) => reject(new Error(err.message, { cause: err })))
    req.end(body)
  })
}

/**
 * The CAs an https admin plane is checked against: the system's, NODE_EXTRA_CA_CERTS,
 * --ca-file, and the deployment's own admin certificate (a self-signed one is its own CA).
 * Node replaces the system's CAs when given any, hence the full list.
 */
async function trustedCas(caFile: string | undefined, adminCert: string | undefined, dir: string, io: IO): Promise<string[]> {
  const out = [...rootCertificates]
  const read = async (path: string, what: string, required: boolean) => {
    try {
      out.push(await io.readFile(path))
    } catch (err) {
      if (required) throw new UsageError(`${what}: cannot read ${path}: ${(err as Error).message}`)
    }
  }
  if (io.env.NODE_EXTRA_CA_CERTS) await read(io.env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS', false)
  if (caFile) await read(caFile, '--ca-file', true)
  // As the server reads it (relative to where it runs), else relative to the deployment directory.
  if (adminCert) {
    for (const path of isAbsolute(adminCert) ? [adminCert] : [adminCert, join(dir, adminCert)]) {
      try {
        out.push(await io.readFile(path))
        break
      } catch {
        /* the next place, else the other CAs decide */
      }
    }
  }
  return out
}

/** Node's codes for a server certificate whose issuer is not trusted (a CA given would help). */
const TLS_TRUST = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'])

/**
 * Why the admin API could not be reached, for people: nothing listening is the server not
 * running (or the wrong address), which says how to start it; anything else keeps its cause.
 */
export function unreachable(base: string, err: Error, dir: string | undefined): string {
  const cause = err.cause as (Error & { code?: string }) | undefined
  const code = cause?.code ?? (err as Error & { code?: string }).code
  if (code === 'ECONNREFUSED') {
    return `cannot reach the server at ${base} (connection refused) — is it running? Start it with \`anchorage serve --dir ${dir ?? 'federation'}\``
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot reach the server at ${base}: the host name does not resolve`
  const why = `${code}: ${cause?.message ?? err.message}`
  if (code && TLS_TRUST.has(code)) {
    return `cannot reach the server at ${base}: its certificate is not trusted (${why}); give its CA with --ca-file FILE or NODE_EXTRA_CA_CERTS`
  }
  // No CA makes these verify: the certificate itself is the problem.
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `cannot reach the server at ${base}: its certificate is not for this address (${why}): reach it by a name or address the certificate lists, or give admin.tls_cert a certificate for it`
  }
  if (code === 'CERT_HAS_EXPIRED') return `cannot reach the server at ${base}: its certificate has expired (${why}): renew admin.tls_cert`
  return `cannot reach the server at ${base}: ${cause?.message ?? err.message}`
}

/**
 * Where a deployment's admin API is, from its configuration: the admin plane's listener
 * (`admin.listen`, plain HTTP; a wildcard address reached on loopback) with the entity id's
 * path, or the entity id itself when the admin API shares the public listener.
 */
export function adminUrlOf(config: Pick<ConfigFile, 'entity_id' | 'admin'>): string {
  const at = config.admin?.listen !== undefined ? parseListen(config.admin.listen) : undefined
  if (!at) return config.entity_id
  const host = at.host === '0.0.0.0' ? '127.0.0.1' : at.host === '::' ? '::1' : at.host
  const path = new URL(config.entity_id).pathname.replace(/\/+$/, '')
  return `${config.admin?.tls_cert ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${at.port}${path}`
}

/** Prints the answer; returns the exit code (0 on 2xx, 1 on an error answer). */
export function report(io: IO, res: { status: number; body: unknown }, render?: (body: unknown) => string): number {
  if (res.status >= 200 && res.status < 300) {
    if (res.body !== undefined) io.stdout(render ? render(res.body) : JSON.stringify(res.body, null, 2))
    return 0
  }
  const b = res.body as { error?: string; error_description?: string } | undefined
  io.stderr(`error: HTTP ${res.status} ${b?.error ?? ''}${b?.error_description ? `: ${b.error_description}` : ''}`)
  return 1
}

export const enc = encodeURIComponent

/** Writes to standard output as is, waiting while its buffer is full (a large export piped on). */
export function writeStdout(chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.stdout.write(chunk)) resolve()
    else process.stdout.once('drain', resolve).once('error', reject)
  })
}

/** One field of an admin answer in a line of text: a JSON scalar as itself, an object or array as JSON. */
export function scalar(v: unknown): string {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)
}

export async function readJsonFile(io: IO, path: string, what: string): Promise<unknown> {
  let text: string
  try {
    text = await io.readFile(path)
  } catch (err) {
    throw new UsageError(`${what}: cannot read ${path}: ${(err as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new UsageError(`${what}: ${path} is not valid JSON`)
  }
}
