/**
 * `anchorage jwt decode`: a compact JWS's protected header and payload, for reading what a
 * federation endpoint answered (entity statements, resolve responses, trust marks, tokens).
 * Nothing is verified, and the command says so: trust comes from `anchorage resolve` and the
 * endpoints themselves, never from reading a JWT.
 */
import { parse, UsageError, type IO } from './args.js'
import { JsonError, parseJson } from '../util/json.js'

export const JWT_HELP = `Usage: anchorage jwt decode <JWT | ->

Prints the JWT's header and payload as one JSON object, {"header": ..., "payload": ...},
on standard output; '-' reads the JWT from standard input:

  curl -s http://localhost:8080/.well-known/openid-federation | anchorage jwt decode -
  curl -s http://localhost:8080/.well-known/openid-federation | anchorage jwt decode - | jq .payload.jwks

The signature is NOT verified (standard error says so, with the algorithm, key id and the
iat/nbf/exp times in UTC): decoding shows what a JWT claims, not that anyone signed it.`

const SEGMENT = /^[A-Za-z0-9_-]*$/

export async function jwtCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values, positionals } = parse(rest, {}, true)
  if (values.help || !action || action === '--help' || action === '-h') {
    io.stdout(JWT_HELP)
    return action ? 0 : 2
  }
  if (action !== 'decode') throw new UsageError(`jwt: unknown action "${action}" (jwt decode <JWT | ->)`)
  if (positionals.length !== 1) throw new UsageError('jwt decode: exactly one JWT, or - to read it from standard input')
  const text = (positionals[0] === '-' ? await io.readFile('-') : positionals[0]!).trim()
  const { header, payload } = decodeJwt(text)
  io.stdout(JSON.stringify({ header, payload }, null, 2))
  io.stderr(`anchorage: decoded only, the signature was NOT verified${describe(header, payload)}`)
  return 0
}

/** The header and payload of a compact JWS (RFC 7515 section 7.1), or a UsageError saying what it is instead. */
export function decodeJwt(text: string): { header: Record<string, unknown>; payload: unknown } {
  const parts = text.split('.')
  if (parts.length === 5) throw new UsageError('jwt decode: this is an encrypted JWT (JWE, five parts): it cannot be read without the decryption key')
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p)) || !parts[0] || !parts[1]) {
    throw new UsageError('jwt decode: not a compact JWT (three base64url parts separated by dots)')
  }
  const header = json(parts[0], 'header')
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new UsageError('jwt decode: the header is not a JSON object')
  return { header: header as Record<string, unknown>, payload: json(parts[1], 'payload') }
}

/** The project's JSON reader (util/json.ts): someone else's JWT, so nesting is bounded as everywhere else. */
function json(segment: string, what: string): unknown {
  try {
    return parseJson(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch (err) {
    if (err instanceof JsonError && err.reason === 'depth') throw new UsageError(`jwt decode: the ${what}: ${err.message}`)
    throw new UsageError(`jwt decode: the ${what} is not base64url-encoded JSON`)
  }
}

/** ` (alg ES256, kid K, typ T; iat …, exp …)` from the own members that are there. */
function describe(header: Record<string, unknown>, payload: unknown): string {
  const own = (o: unknown, k: string): unknown => (typeof o === 'object' && o !== null && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined)
  // Someone else's strings on a terminal: no control characters (escape sequences), bounded.
  const safe = (v: string) => (v.length > 100 ? `${v.slice(0, 100)}…` : v).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
  const head = ['alg', 'kid', 'typ'].flatMap((k) => {
    const v = own(header, k)
    return typeof v === 'string' ? [`${k} ${safe(v)}`] : []
  })
  const times = ['iat', 'nbf', 'exp'].flatMap((k) => {
    const v = own(payload, k)
    const d = typeof v === 'number' && Number.isFinite(v) ? new Date(v * 1000) : undefined
    return d && !Number.isNaN(d.getTime()) ? [`${k} ${d.toISOString().replace('.000Z', 'Z')}`] : []
  })
  const all = [head.join(', '), times.join(', ')].filter(Boolean).join('; ')
  return all ? ` (${all})` : ''
}
