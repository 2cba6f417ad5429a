/**
 * The one reader of JSON written by others: request bodies, fetched and presented
 * statements (JWT headers and payloads), client assertions, trust marks, key sets fetched
 * for clients. It bounds size and nesting depth before JSON.parse runs, so every later
 * walk over the value (ajv, policy merges, JSON.stringify when signing) is bounded too,
 * and nothing that reaches a signature can be deeper than the limit.
 *
 * Depth is measured by one linear scan of the text (no recursion, no allocation per level),
 * stopping at the first level past the limit: `[[[[…` of any length costs limit+1 steps.
 *
 * Parsed objects keep JSON.parse's shape (ordinary objects; a member named `__proto__` is
 * an own data property, never the prototype). Read them with own-property semantics
 * (`own`, `Object.hasOwn`): an inherited `toString` or `constructor` is not a member.
 *
 * @example
 * const value = parseJson(text, { maxDepth: 64, maxBytes: 65_536 })   // throws JsonError
 */
import { DEFAULTS } from '../config/defaults.js'

export interface JsonLimits {
  /** Most nested arrays/objects (a scalar is depth 0, `{}` and `[]` are 1). */
  maxDepth: number
  /** Most UTF-8 bytes of the text; unbounded when omitted (the caller bounded what it read). */
  maxBytes?: number | undefined
}

/** The default limits (`limits.json_depth`), for readers that are not given a configuration. */
export const DEFAULT_JSON_LIMITS: Readonly<JsonLimits> = Object.freeze({ maxDepth: DEFAULTS.limits.json_depth })

/** `syntax`: not JSON; `depth`: nested deeper than maxDepth; `size`: longer than maxBytes. */
export type JsonProblem = 'syntax' | 'depth' | 'size'

export class JsonError extends Error {
  constructor(readonly reason: JsonProblem, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'JsonError'
  }
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d

/**
 * The first nesting depth above `maxDepth` the text reaches, or undefined when it stays
 * within it. Exact for valid JSON; for invalid JSON the count may be off, which does not
 * matter because JSON.parse then refuses the text.
 */
export function depthBeyond(text: string, maxDepth: number): number | undefined {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
    } else if (c === QUOTE) {
      inString = true
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return depth
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--
    }
  }
  return undefined
}

/** Parses outside JSON within `limits`; throws JsonError naming the problem. */
export function parseJson(text: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): unknown {
  if (limits.maxBytes !== undefined && text.length > limits.maxBytes / 3 && Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    throw new JsonError('size', `the JSON document is larger than ${limits.maxBytes} bytes`)
  }
  if (depthBeyond(text, limits.maxDepth) !== undefined) {
    throw new JsonError('depth', `the JSON document nests deeper than ${limits.maxDepth} levels`)
  }
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new JsonError('syntax', 'not valid JSON', { cause: err })
  }
}

/** A JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** `o[key]` if `o` has it as an own member, else undefined; inherited members are not members. */
export function own(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null && Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined
}

/** A map keyed by outside strings as a plain object without prototype: every read is an own read. */
export function emptyRecord<T = unknown>(): Record<string, T> {
  return Object.create(null) as Record<string, T>
}

/** A prototype-less shallow copy of `o`'s own members: reading any name from it is an own read. */
export function ownView(o: Record<string, unknown>): Record<string, unknown> {
  const out = emptyRecord()
  for (const k of Object.keys(o)) Object.defineProperty(out, k, { value: o[k], enumerable: true, writable: true, configurable: true })
  return out
}
