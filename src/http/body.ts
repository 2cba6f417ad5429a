/**
 * Request bodies with a size cap, a nesting-depth cap and an exact media type; no
 * body-parser dependency. The body is read whatever its framing (Content-Length or
 * chunked). A body over the cap is answered 413 after it has been read and discarded
 * (up to `maxDrainBytes` in all), because closing a connection the client is still
 * writing to resets it, and a reset loses the answer. Past that the 413 goes out at once
 * with `Connection: close`.
 */
import type { IncomingMessage } from 'node:http'
import type { Context } from 'koa'
import type { Config } from '../config/load.js'
import { DEFAULTS } from '../config/defaults.js'
import { FederationError, InvalidRequest } from '../errors.js'
import { JsonError, parseJson } from '../util/json.js'

export interface BodyLimits {
  /** `server.max_body_bytes`. */
  maxBytes: number
  /** `limits.json_depth` (JSON bodies). */
  maxDepth: number
  /** `server.max_drain_bytes`. */
  maxDrainBytes: number
}

/** The body limits of a deployment. */
export function bodyLimits(config: Pick<Config, 'server' | 'limits'>): BodyLimits {
  return {
    maxBytes: config.server.max_body_bytes,
    maxDepth: config.limits.json_depth,
    maxDrainBytes: config.server.max_drain_bytes,
  }
}

/** A bare byte cap gets the default depth and drain limits. */
function limitsOf(l: BodyLimits | number): BodyLimits {
  return typeof l === 'number' ? { maxBytes: l, maxDepth: DEFAULTS.limits.json_depth, maxDrainBytes: DEFAULTS.server.max_drain_bytes } : l
}

function tooLarge(l: BodyLimits): FederationError {
  return new FederationError('payload_too_large', `the request body is larger than ${l.maxBytes} bytes (server.max_body_bytes)`)
}

/** The raw body as UTF-8 text; empty when the request has none. */
export async function readRaw(ctx: Context, limits: BodyLimits | number): Promise<string> {
  const l = limitsOf(limits)
  const declared = Number(ctx.get('content-length') || 0)
  if (declared > l.maxDrainBytes) {
    ctx.set('Connection', 'close')
    throw tooLarge(l)
  }
  const body = await collect(ctx.req, l)
  if (body.text !== undefined) return body.text
  // The client still gets its answer: the rest of the body was read (or the connection goes).
  ctx.set('Connection', 'close')
  throw tooLarge(l)
}

/** Reads without `for await`: leaving that loop early destroys the socket before the answer. */
function collect(req: IncomingMessage, l: BodyLimits): Promise<{ text?: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    let settled = false
    const settle = (fn: () => void) => {
      if (settled) return
      settled = true
      fn()
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (!over && size > l.maxBytes) {
        over = true
        chunks.length = 0
      }
      // Past the drain limit the rest is not waited for (the listener keeps discarding).
      if (over && size > l.maxDrainBytes) settle(() => resolve({}))
      if (!over) chunks.push(chunk)
    })
    req.on('end', () => settle(() => resolve(over ? {} : { text: Buffer.concat(chunks).toString('utf8') })))
    req.on('error', (err) => settle(() => reject(new InvalidRequest('the request body was not received completely', { cause: err }))))
    req.on('close', () => settle(() => reject(new InvalidRequest('the request body was not received completely'))))
  })
}

export function mediaType(ctx: Context): string {
  return (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase()
}

/** A JSON body (admin API): 415 unless application/json, 413 over the size cap, 400 when not JSON or too deep. */
export async function readJson(ctx: Context, limits: BodyLimits | number): Promise<unknown> {
  if (mediaType(ctx) !== 'application/json') {
    throw new FederationError('unsupported_media_type', 'Content-Type must be application/json')
  }
  const l = limitsOf(limits)
  return parseBody(await readRaw(ctx, l), l)
}

/** An optional JSON body: none (empty, whatever the framing) is `{}`; anything else as readJson. */
export async function readOptionalJson(ctx: Context, limits: BodyLimits | number): Promise<unknown> {
  const l = limitsOf(limits)
  const type = mediaType(ctx)
  if (type !== '' && type !== 'application/json') {
    throw new FederationError('unsupported_media_type', 'Content-Type must be application/json')
  }
  const text = await readRaw(ctx, l)
  if (text.trim() === '') return {}
  if (type === '') throw new FederationError('unsupported_media_type', 'Content-Type must be application/json')
  return parseBody(text, l)
}

function parseBody(text: string, l: BodyLimits): unknown {
  try {
    return parseJson(text, { maxDepth: l.maxDepth })
  } catch (err) {
    if (err instanceof JsonError && err.reason === 'depth') {
      throw new InvalidRequest(`the request body nests deeper than ${l.maxDepth} levels (limits.json_depth)`)
    }
    throw new InvalidRequest('the request body is not valid JSON')
  }
}

/** An application/x-www-form-urlencoded body (spec endpoints that take POST). */
export async function readForm(ctx: Context, limits: BodyLimits | number): Promise<URLSearchParams> {
  if (mediaType(ctx) !== 'application/x-www-form-urlencoded') {
    throw new InvalidRequest('Content-Type must be application/x-www-form-urlencoded')
  }
  return new URLSearchParams(await readRaw(ctx, limits))
}
