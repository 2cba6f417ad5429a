/**
 * CLI commands that talk to a running server's admin API, so the server stays the only
 * writer: subordinate, audit, keys (and later capabilities' commands).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ADMIN_TOKEN_FILE, CONFIG_FILE } from '../config/load.js'
import { UsageError, type IO } from './args.js'

export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  dir: { type: 'string' },
  json: { type: 'boolean' },
} as const

export const CONNECTION_HELP = `Connection:
  --url URL       the server (default: the entity id in DIR/anchorage.json)
  --token TOKEN   admin token (default: $ANCHORAGE_ADMIN_TOKEN, else DIR/admin.token)
  --dir DIR       deployment directory (default: ./federation)`

export interface AdminClient {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>
}

export async function adminClient(values: { url?: string | undefined; token?: string | undefined; dir?: string | undefined }, io: IO): Promise<AdminClient> {
  const dir = values.dir ?? 'federation'
  let url = values.url
  if (!url) {
    try {
      url = (JSON.parse(await io.readFile(join(dir, CONFIG_FILE))) as { entity_id: string }).entity_id
    } catch {
      throw new UsageError(`--url is required (no ${join(dir, CONFIG_FILE)} to read the entity id from)`)
    }
  }
  let token = values.token ?? io.env.ANCHORAGE_ADMIN_TOKEN
  if (!token) {
    try {
      token = (await readFile(join(dir, ADMIN_TOKEN_FILE), 'utf8')).trim()
    } catch {
      throw new UsageError(`--token is required (no $ANCHORAGE_ADMIN_TOKEN and no ${join(dir, ADMIN_TOKEN_FILE)})`)
    }
  }
  const base = url.replace(/\/+$/, '')
  const actor = (io.env.USER ?? '').replace(/[^\w.@-]/g, '')
  return {
    async call(method, path, body) {
      const res = await fetch(base + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(actor ? { 'x-anchorage-actor': actor } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }).catch((err: Error) => {
        throw new Error(`cannot reach ${base}: ${(err.cause as Error | undefined)?.message ?? err.message}`)
      })
      const text = await res.text()
      let parsed: unknown = text
      try {
        parsed = text ? JSON.parse(text) : undefined
      } catch {
        /* not JSON: keep the text */
      }
      return { status: res.status, body: parsed }
    },
  }
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
