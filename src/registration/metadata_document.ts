/**
 * OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, which the
 * MCP authorization specification prefers to dynamic registration): a client_id that is an
 * https URL with a path names a JSON document of the client's metadata, served at that URL.
 *
 * A document proves only that the client controls the URL. Anchorage admits such a client
 * only when a federation entity vouches for it (registrar.ts, `documentRegistration`): the
 * document's origin, or the entity the document names in `federation_entity_id`, must
 * resolve through a trust chain to a configured anchor, and that entity's resolved metadata
 * bounds the document (`boundDocument`).
 *
 * This module fetches (the hardened fetcher, charged to the request's work budget, a size cap
 * of its own), caches (RFC 9111 Cache-Control max-age or Expires, clamped to
 * [metadata_document_cache_min, metadata_document_cache_max], in a bounded LRU; concurrent
 * requests for one URL share one fetch) and validates documents. Everything in a document is
 * written by a stranger: own-property reads, bounded sizes, exact refusals (InvalidClient).
 */
import type { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import { MEDIA } from '../constants.js'
import { isAbsoluteUrl, isEntityIdSyntax } from '../config/schemas.js'
import { FederationError, InvalidClient } from '../errors.js'
import { FetchError, type CacheHeaders, type Fetcher } from '../net/fetch.js'
import { chargedFetcher, BudgetExceeded, type Budget } from '../trust_chain/budget.js'
import { boundedLru } from '../util/lru.js'
import { JsonError, isJsonObject, own, parseJson } from '../util/json.js'

/**
 * The document member naming the federation entity that vouches for the client, when it is
 * not the document's origin (an Anchorage extension; the entity must contain the document's
 * URL: same origin, and the document's path below the entity id's path).
 */
export const ENTITY_MEMBER = 'federation_entity_id'

/** Authentication methods a document may ask for: no shared secret can exist for such a client. */
export const DOCUMENT_AUTH_METHODS: readonly string[] = ['none', 'private_key_jwt']
const SHARED_SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt'])
const MAX_REDIRECT_URIS = 20
const MAX_URI = 2048
const MAX_TEXT = 200
/** Display and policy members oidc-provider knows, kept when they are strings (URIs: https). */
const TEXT_MEMBERS = ['client_name'] as const
const URI_MEMBERS = ['logo_uri', 'client_uri', 'policy_uri', 'tos_uri'] as const

/**
 * Whether `id` has the shape of a metadata document URL (the draft's section 3): https, a
 * host, a path other than "/", no dot segments, no fragment, no user name or password, and
 * (stricter than the draft's SHOULD NOT) no query.
 */
export function isDocumentUrl(id: string): boolean {
  if (id.length > MAX_URI || !id.startsWith('https://') || id.includes('?') || id.includes('#')) return false
  let u: URL
  try {
    u = new URL(id)
  } catch {
    return false
  }
  // The URL as given must be its own normal form: dot segments (also %2e), a user name or an
  // empty path would all be rewritten by the parser.
  return u.protocol === 'https:' && !!u.hostname && !u.username && !u.password && u.pathname !== '/' && u.href === id
}

/** A document as fetched: the client metadata, until when it may be reused. */
export interface FetchedDocument {
  document: Record<string, unknown>
  fresh_until: number
}

/** The URL answered, but not with a metadata document (not 200, not JSON): the client_id may be an entity id. */
export const NOT_A_DOCUMENT = Symbol('not a metadata document')

export interface DocumentOptions {
  fetcher: Fetcher
  clock: Clock
  maxBytes: number
  cacheMin: number
  cacheMax: number
  /** Documents cached at once (LRU). */
  entries: number
  jsonDepth: number
}

type Outcome = FetchedDocument | typeof NOT_A_DOCUMENT

export class MetadataDocuments {
  private readonly cache: LRUCache<string, { outcome: Outcome; until: number }>
  private readonly inflight = new Map<string, Promise<Outcome>>()

  constructor(private readonly o: DocumentOptions) {
    this.cache = boundedLru(o.entries)
  }

  /**
   * The document at `url` (cached while fresh), or NOT_A_DOCUMENT when the URL answers but
   * serves none. A fetch is charged to `budget` (one outbound request per authorization or
   * token request at most). Throws InvalidClient when it cannot be fetched or read.
   */
  async get(url: string, budget: Budget): Promise<Outcome> {
    const now = this.o.clock.now()
    const hit = this.cache.get(url)
    if (hit && hit.until > now) return hit.outcome
    let p = this.inflight.get(url)
    if (!p) {
      p = this.fetch(url, budget).finally(() => this.inflight.delete(url))
      this.inflight.set(url, p)
    }
    return p
  }

  /** Forgets `url` (a test, or an operator who wants a document read again now). */
  forget(url: string): void {
    this.cache.delete(url)
  }

  private async fetch(url: string, budget: Budget): Promise<Outcome> {
    let res
    try {
      res = await budget.run(() => chargedFetcher(this.o.fetcher, budget).get(url, MEDIA.json, { maxResponseBytes: this.o.maxBytes }))
    } catch (err) {
      if (err instanceof FetchError) {
        const why = err.reason === 'too_large' ? `the document is larger than ${this.o.maxBytes} bytes (authorization_server.metadata_document_max_bytes)` : err.message
        throw new InvalidClient(`client_id metadata document ${url}: ${why}`, { cause: err })
      }
      if (err instanceof BudgetExceeded) throw new InvalidClient(`client_id metadata document ${url}: ${err.message}`, { cause: err })
      throw err
    }
    const now = this.o.clock.now()
    const json = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(res.contentType)
    let outcome: Outcome
    if (res.status !== 200 || !json) outcome = NOT_A_DOCUMENT
    else {
      let parsed: unknown
      try {
        parsed = parseJson(res.body, { maxDepth: this.o.jsonDepth })
      } catch (err) {
        throw new InvalidClient(`client_id metadata document ${url}: not JSON${err instanceof JsonError && err.reason === 'depth' ? ` within the nesting limit (${err.message})` : ''}`, { cause: err })
      }
      if (!isJsonObject(parsed)) throw new InvalidClient(`client_id metadata document ${url}: not a JSON object`)
      outcome = { document: parsed, fresh_until: now + freshness(res.cache, now, this.o.cacheMin, this.o.cacheMax) }
    }
    const until = outcome === NOT_A_DOCUMENT ? now + this.o.cacheMin : outcome.fresh_until
    if (until > now) this.cache.set(url, { outcome, until })
    return outcome
  }
}

/**
 * How long a response stays fresh (RFC 9111 section 4.2.1, for a private cache): max-age less
 * Age, else Expires less Date (or now); no-store, no-cache and a missing lifetime are 0. The
 * result is clamped to [min, max].
 */
export function freshness(h: CacheHeaders | undefined, now: number, min: number, max: number): number {
  let life = 0
  const cc = (h?.cacheControl ?? '').toLowerCase().split(',').map((d) => d.trim())
  const maxAge = cc.map((d) => /^max-age\s*=\s*"?(\d{1,10})"?$/.exec(d)).find((m) => m)
  if (cc.includes('no-store') || cc.includes('no-cache')) life = 0
  else if (maxAge) life = Number(maxAge[1]) - (Number.parseInt(h?.age ?? '0', 10) || 0)
  else if (h?.expires) {
    const exp = Date.parse(h.expires)
    const date = h.date ? Date.parse(h.date) : Number.NaN
    life = Number.isNaN(exp) ? 0 : Math.floor((exp - (Number.isNaN(date) ? now * 1000 : date)) / 1000)
  }
  return Math.max(min, Math.min(max, life))
}

/** A validated document: what the client asks for, before the federation bounds it. */
export interface ClientDocument {
  client_id: string
  token_endpoint_auth_method: string
  redirect_uris: string[]
  /** RFC 7591 default: authorization_code. */
  grant_types: string[]
  scope?: string
  jwks?: unknown
  jwks_uri?: string
  /** The entity that vouches for the client: the document's `federation_entity_id`, or its origin. */
  entity_id: string
  /** Display members (client_name, logo_uri, ...), strings only. */
  display: Record<string, string>
  application_type?: 'web' | 'native'
}

const refuse = (url: string, what: string) => new InvalidClient(`client_id metadata document ${url}: ${what}`)

/** Validates a fetched document against its URL (the draft's section 4). Throws InvalidClient. */
export function validateDocument(url: string, doc: Record<string, unknown>): ClientDocument {
  const clientId = own(doc, 'client_id')
  if (clientId !== url) throw refuse(url, `client_id ${JSON.stringify(typeof clientId === 'string' ? clientId.slice(0, MAX_URI) : clientId ?? null)} is not the document's URL`)
  const method = own(doc, 'token_endpoint_auth_method') ?? 'none'
  if (typeof method !== 'string') throw refuse(url, 'token_endpoint_auth_method must be a string')
  if (SHARED_SECRET_METHODS.has(method)) throw refuse(url, `token_endpoint_auth_method ${method} uses a shared secret, which a metadata document client cannot have (use none or private_key_jwt)`)
  if (!DOCUMENT_AUTH_METHODS.includes(method)) throw refuse(url, `token_endpoint_auth_method ${JSON.stringify(method.slice(0, 64))} is not supported (none or private_key_jwt)`)
  for (const k of ['client_secret', 'client_secret_expires_at']) if (Object.hasOwn(doc, k)) throw refuse(url, `${k} must not be present`)
  const uris = own(doc, 'redirect_uris')
  if (!Array.isArray(uris) || uris.length === 0 || uris.length > MAX_REDIRECT_URIS) throw refuse(url, `redirect_uris must be an array of 1 to ${MAX_REDIRECT_URIS} URIs`)
  const bad: unknown = (uris as unknown[]).find((u) => typeof u !== 'string' || u.length > MAX_URI || !isAbsoluteUrl(u) || u.includes('#'))
  if (bad !== undefined) throw refuse(url, `redirect_uris: ${JSON.stringify(typeof bad === 'string' ? bad.slice(0, 200) : bad ?? null)} is not an absolute URI without fragment`)
  const grants = own(doc, 'grant_types') ?? ['authorization_code']
  if (!Array.isArray(grants) || !grants.every((g) => typeof g === 'string' && g.length <= 200) || grants.length > 20) throw refuse(url, 'grant_types must be an array of strings')
  const scope = own(doc, 'scope')
  if (scope !== undefined && (typeof scope !== 'string' || scope.length > 4096)) throw refuse(url, 'scope must be a space-separated string')
  const jwks = own(doc, 'jwks')
  const jwksUri = own(doc, 'jwks_uri')
  if (jwks !== undefined && jwksUri !== undefined) throw refuse(url, 'jwks and jwks_uri must not both be present (RFC 7591)')
  if (jwksUri !== undefined && (typeof jwksUri !== 'string' || !/^https:\/\//i.test(jwksUri) || !isAbsoluteUrl(jwksUri))) throw refuse(url, 'jwks_uri must be an https URL')
  if (method === 'private_key_jwt' && jwks === undefined && jwksUri === undefined) throw refuse(url, 'private_key_jwt needs jwks or jwks_uri')
  const entityId = vouchingEntity(url, own(doc, ENTITY_MEMBER))
  const display: Record<string, string> = {}
  for (const k of TEXT_MEMBERS) {
    const v = own(doc, k)
    if (typeof v === 'string' && v.trim() !== '') display[k] = v.slice(0, MAX_TEXT)
  }
  for (const k of URI_MEMBERS) {
    const v = own(doc, k)
    // The draft's section 4.1: URIs of the document are https.
    if (typeof v === 'string' && v.length <= MAX_URI && /^https:\/\//i.test(v) && isAbsoluteUrl(v)) display[k] = v
  }
  const app = own(doc, 'application_type')
  return {
    client_id: url, token_endpoint_auth_method: method, redirect_uris: uris as string[], grant_types: [...new Set(grants as string[])],
    ...(typeof scope === 'string' ? { scope } : {}),
    ...(jwks !== undefined ? { jwks } : {}),
    ...(typeof jwksUri === 'string' ? { jwks_uri: jwksUri } : {}),
    entity_id: entityId, display,
    ...(app === 'web' || app === 'native' ? { application_type: app } : {}),
  }
}

/**
 * The entity that vouches for the document at `url`: `named` (the document's
 * federation_entity_id) when present, which must contain the URL (same origin, the URL's path
 * below its path), else the URL's origin.
 */
function vouchingEntity(url: string, named: unknown): string {
  const u = new URL(url)
  if (named === undefined) return u.origin
  if (typeof named !== 'string' || !isEntityIdSyntax(named) || named.length > MAX_URI) throw refuse(url, `${ENTITY_MEMBER} must be an entity identifier`)
  const e = new URL(named)
  const base = e.pathname.replace(/\/+$/, '')
  if (e.origin !== u.origin || !(u.pathname === base || u.pathname.startsWith(`${base}/`))) {
    throw refuse(url, `${ENTITY_MEMBER} ${named} does not contain the document's URL (same origin, the document below its path)`)
  }
  return named
}

/** What the federation allows the client, from the vouching entity's resolved (policy-applied) metadata. */
export interface BoundedDocument {
  redirect_uris: string[]
  grant_types: string[]
  scope?: string
}

/**
 * Bounds a document by the vouching entity's resolved metadata (`allowed`, its oauth_client
 * or openid_relying_party metadata after every superior's policy): every redirect URI must be
 * one the entity's metadata lists (refused otherwise); grant types are those of both
 * (authorization_code must remain); the scope is the intersection (the document's, or the
 * entity's when the document names none), refused when nothing of what was asked remains.
 * Throws InvalidClient.
 */
export function boundDocument(doc: ClientDocument, allowed: Record<string, unknown>, entityType: string): BoundedDocument {
  const where = `${doc.entity_id}'s resolved ${entityType} metadata`
  const uris = own(allowed, 'redirect_uris')
  const allowedUris = Array.isArray(uris) ? uris.filter((u): u is string => typeof u === 'string') : []
  if (allowedUris.length === 0) throw refuse(doc.client_id, `${where} allows no redirect_uris`)
  const outside = doc.redirect_uris.find((u) => !allowedUris.includes(u))
  if (outside !== undefined) throw refuse(doc.client_id, `redirect_uri ${outside.slice(0, 200)} is not among the redirect_uris of ${where}`)
  const g = own(allowed, 'grant_types')
  const allowedGrants = Array.isArray(g) ? g.filter((x): x is string => typeof x === 'string') : ['authorization_code']
  const grants = doc.grant_types.filter((x) => allowedGrants.includes(x))
  if (!grants.includes('authorization_code')) throw refuse(doc.client_id, `grant_types: authorization_code is not allowed by both the document and ${where} (${allowedGrants.join(', ') || 'none'})`)
  const s = own(allowed, 'scope')
  const allowedScope = typeof s === 'string' ? new Set(s.split(' ').filter(Boolean)) : undefined
  const asked = doc.scope !== undefined ? doc.scope.split(' ').filter(Boolean) : allowedScope ? [...allowedScope] : undefined
  const scope = asked?.filter((x) => !allowedScope || allowedScope.has(x))
  if (asked?.length && !scope?.length) throw refuse(doc.client_id, `scope: none of ${asked.join(' ').slice(0, 200)} is allowed by ${where} (${[...(allowedScope ?? [])].join(' ') || 'none'})`)
  return { redirect_uris: [...doc.redirect_uris], grant_types: grants, ...(scope !== undefined ? { scope: [...new Set(scope)].join(' ') } : {}) }
}

/** A FederationError refusal, for the registrar's audit. */
export function isRefusal(err: unknown): err is FederationError {
  return err instanceof FederationError && err.status < 500
}
