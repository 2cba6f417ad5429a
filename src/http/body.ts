/** Request bodies with a size cap and an exact media type; no body-parser dependency. */
import type { Context } from 'koa'
import { FederationError, InvalidRequest } from '../errors.js'

export async function readRaw(ctx: Context, maxBytes: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0)
  if (declared > maxBytes) throw new FederationError('payload_too_large', `request body larger than ${maxBytes} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) {
      ctx.req.destroy()
      throw new FederationError('payload_too_large', `request body larger than ${maxBytes} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export function mediaType(ctx: Context): string {
  return (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase()
}

/** A JSON object body (admin API). */
export async function readJson(ctx: Context, maxBytes: number): Promise<unknown> {
  if (mediaType(ctx) !== 'application/json') {
    throw new FederationError('unsupported_media_type', 'Content-Type must be application/json')
  }
  const text = await readRaw(ctx, maxBytes)
  try {
    return JSON.parse(text)
  } catch {
    throw new InvalidRequest('the request body is not valid JSON')
  }
}

/** An application/x-www-form-urlencoded body (spec endpoints that take POST). */
export async function readForm(ctx: Context, maxBytes: number): Promise<URLSearchParams> {
  if (mediaType(ctx) !== 'application/x-www-form-urlencoded') {
    throw new InvalidRequest('Content-Type must be application/x-www-form-urlencoded')
  }
  return new URLSearchParams(await readRaw(ctx, maxBytes))
}
