/**
 * Entity Identifiers that this deployment stores, signs or is configured with (spec "Entity
 * Identifier": a URL using the https scheme, with a host, that contains no query or fragment).
 *
 * Stricter than the syntax the resolver accepts from other federations (config/schemas.ts
 * isEntityIdSyntax), on purpose: what Anchorage stores must be written exactly as the WHATWG URL
 * parser serialises it, so the text an operator typed, the key it is stored under and the URL
 * the fetcher connects to are the same string, and `https://x.example`, `https://x.example/`,
 * `https://x.example:443` and `https://X.example` cannot become distinct members.
 */

export interface EntityIdRules {
  /** Accept `http:` (development deployments, or deployments that allow outbound http). */
  allowHttp: boolean
}

/** RFC 1035 section 2.3.4 size limits, as DNS enforces them. */
const MAX_LABEL = 63
const MAX_HOST = 253

/** Whitespace, C0/C1 controls, DEL and the backslash the URL parser silently rewrites to "/". */
const FORBIDDEN_CHARS = /[\s\u0000-\u001f\u007f-\u009f\\]/u

/**
 * The canonical form of a parsed identifier: its WHATWG serialisation, without the lone "/"
 * path the serialisation adds to a bare origin (so `https://x.example` is canonical).
 */
export function canonicalEntityId(u: URL): string {
  const href = u.href
  return u.pathname === '/' && !u.search && !u.hash ? href.slice(0, -1) : href
}

/**
 * Why `s` is not an entity identifier this deployment may store or be configured with, or
 * undefined. The reason never repeats the field name; a fixable form names the canonical one
 * ("... did you mean https://x.example").
 */
export function entityIdProblem(s: string, rules: EntityIdRules): string | undefined {
  if (FORBIDDEN_CHARS.test(s)) return 'must not contain whitespace, control characters or backslashes'
  let u: URL
  try {
    u = new URL(s)
  } catch {
    return 'must be an absolute https URL'
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && rules.allowHttp)) {
    return u.protocol === 'http:'
      ? 'must be an https URL (http is allowed only in a development deployment or with outbound.allow_http)'
      : 'must be an https URL'
  }
  if (u.username || u.password || authorityOf(s).includes('@')) return 'must not contain userinfo'
  if (s.includes('?') || s.includes('#')) return 'must not have a query or fragment'
  if (!u.hostname) return 'must have a host'
  if (hasDotSegment(s)) return 'must not contain "." or ".." path segments'
  const host = u.hostname
  if (!host.startsWith('[') && host.split('.').some((label) => label.length > MAX_LABEL)) {
    return `host labels must not be longer than ${MAX_LABEL} characters`
  }
  if (host.length > MAX_HOST) return `host must not be longer than ${MAX_HOST} characters`
  const canonical = canonicalEntityId(u)
  if (/[^\x00-\x7f]/.test(authorityOf(s))) return `host must be ASCII (punycode): did you mean ${canonical}`
  if (host.endsWith('.')) return `host must not end with a dot: did you mean ${canonical.replace(host, host.slice(0, -1))}`
  if (s !== canonical) return `must be written in canonical form: did you mean ${canonical}`
  return undefined
}

/** The raw text between "//" and the next "/" (no parsing, so nothing is normalised). */
function authorityOf(s: string): string {
  const start = s.indexOf('//')
  if (start < 0) return ''
  const rest = s.slice(start + 2)
  const end = rest.search(/[/?#]/)
  return end < 0 ? rest : rest.slice(0, end)
}

/** "." / ".." segments in the raw path, also percent-encoded ("%2e", "%2E%2e", ".%2e"). */
function hasDotSegment(s: string): boolean {
  const start = s.indexOf('//')
  const rest = start < 0 ? s : s.slice(start + 2)
  const slash = rest.indexOf('/')
  if (slash < 0) return false
  return rest
    .slice(slash + 1)
    .split('/')
    .some((seg) => /^(\.|%2e){1,2}$/i.test(seg))
}
