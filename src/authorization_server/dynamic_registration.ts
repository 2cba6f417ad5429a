/**
 * RFC 7591 dynamic client registration gated by software statements (RFC 7591 section 2.3),
 * and its RFC 7592 client configuration endpoint: for partners that speak DCR but not
 * OpenID Federation (docs/dynamic-registration.md).
 *
 * Why Anchorage's own routes and not oidc-provider's `features.registration` (and
 * `registrationManagement`): oidc-provider 9 ignores `software_statement` altogether (no
 * verification, no precedence over the request: RFC 7591 section 3.1.1 leaves it to the
 * server), parses only application/json bodies (so a registration request signed by the
 * statement's key, sent as application/jwt, cannot reach it), keeps a client's secret in
 * plain text in its Client model (its HS* algorithms need the value), and its clients and
 * registration access tokens live outside the registration lifecycle every other client of
 * this server has (registrar re-evaluation, tokens bound to a registration's rid,
 * introspection, the clients admin API and audit). Here a dynamic client is a
 * `Registration` (registration_type `dynamic`, collection `registrations`): oidc-provider
 * finds it through the same client source as federation clients (federation_clients.ts,
 * behind the adapter's Client model), and re-evaluation verifies its statement again, so
 * revoking the statement or removing its issuer at the anchor ends it within
 * `trust_reevaluation`, as for federation clients.
 *
 * The rules:
 * - no registration without a software statement from a trusted issuer (this entity by
 *   default, `dynamic_registration.trusted_issuers` otherwise: pinned keys, or an issuer
 *   whose trust chain resolves to a configured anchor), unexpired, and, for this entity's
 *   own statements, on record and not revoked (software_statements/verify.ts);
 * - the statement's values take precedence and the request can only narrow them
 *   (grant_types, scope, redirect_uris, jwks); beyond them is refused;
 * - a statement with keys (`jwks`, or `jwks_uri`: fetched through the hardened fetcher,
 *   software_statements/key_sets.ts) needs proof of possession: the request is a JWS signed
 *   with one of them (application/jwt), whose payload is the metadata with the statement;
 *   the client then authenticates with private_key_jwt and those keys, which the
 *   registration stores (oidc-provider is given them, never the jwks_uri), refreshed at each
 *   re-evaluation and when the client presents a kid not yet known (rate-limited);
 * - another issuer's statement is checked at its status endpoint (a chain-trusted issuer's
 *   federation_software_statement_status_endpoint, or the one configured with pinned keys),
 *   the answers reused for status_cache_ttl (software_statements/status_checks.ts);
 * - a client secret only for a client without keys, stored as a hash, like the registration
 *   access token (both 256 random bits, so SHA-256 suffices: nothing to brute-force).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { RegistrationDeps } from '../registration/deps.js'
import type { Registrar } from '../registration/registrar.js'
import type { DynamicFields, Registration, RegistrationFields } from '../registration/records.js'
import type { DynamicRegistrationConfig } from '../config/load.js'
import type { Budget } from '../trust_chain/budget.js'
import type { Jwks } from '../types.js'
import {
  FederationError, InvalidClient, InvalidClientMetadata, InvalidRedirectUri, InvalidRequest, InvalidSoftwareStatement,
  InvalidToken, UnapprovedSoftwareStatement,
} from '../errors.js'
import { decodeUnverified, verifyJwt, JwtError } from '../crypto/jwt.js'
import { isAbsoluteUrl } from '../config/schemas.js'
import { JsonError, parseJson } from '../util/json.js'
import { SoftwareStatements } from '../software_statements/service.js'
import { SoftwareStatementError, verifySoftwareStatement, type SoftwareStatementClaims, type TrustedIssuer } from '../software_statements/verify.js'
import { KeySetError, StatementKeySets } from '../software_statements/key_sets.js'
import { StatementStatusChecks } from '../software_statements/status_checks.js'
import { ASSERTION_ALGS } from './client_auth.js'
import type { InitialAccessTokens } from './initial_access_tokens.js'
import { isDynamicClientId } from './dynamic_client_id.js'

export { DYNAMIC_CLIENT_ID, isDynamicClientId } from './dynamic_client_id.js'

/** The media type of a signed registration request (open-banking style): a JWS whose payload is the metadata. */
export const SIGNED_REQUEST_MEDIA = 'application/jwt'

/** typ values a signed registration request may carry. */
const REQUEST_TYPS = new Set<string | undefined>([undefined, 'JWT'])

const TEXT_URLS = ['logo_uri', 'policy_uri', 'tos_uri'] as const
const MAX_JTI = 256

export interface DynamicDeps {
  f: RegistrationDeps
  config: DynamicRegistrationConfig
  registrar: Registrar
  /** Grant types this server serves: a client's are narrowed to these. */
  grantTypes: ReadonlySet<string>
  /** Longest exp - iat of a signed registration request (the client assertion bound). */
  maxRequestLifetime: number
  initialAccessTokens: InitialAccessTokens
  /** authorization_server.trust_reevaluation: the kill-switch's bound. */
  reevaluation: number
}

/** What an HTTP request to the registration endpoint carries. */
export interface RegistrationRequest {
  body: string
  mediaType: string
  /** The Authorization header, if any. */
  authorization?: string | undefined
}

const sha256 = (v: string): string => createHash('sha256').update(v).digest('base64url')

/** Constant-time comparison of a presented secret with a stored SHA-256 hash. */
export function matchesHash(presented: unknown, hash: string | undefined): boolean {
  if (typeof presented !== 'string' || typeof hash !== 'string' || presented.length > 512) return false
  const a = Buffer.from(sha256(presented))
  const b = Buffer.from(hash)
  return a.length === b.length && timingSafeEqual(a, b)
}

const own = (o: Record<string, unknown>, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined)

/** RFC 6750 section 2.1: the bearer token of an Authorization header, or undefined. */
export function bearer(authorization: string | undefined): string | undefined {
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization ?? '')
  return m?.[1]
}

interface Issuer extends TrustedIssuer {
  /** The anchor the issuer's trust rests on (itself when pinned or this entity). */
  anchor: string
  /** Until when the issuer's keys hold (its chain's exp). */
  exp: number
  /** Its software statement status endpoint (federation_entity metadata, or configured with pinned keys). */
  statusEndpoint?: string
}

/** A statement verified: its claims, its issuer, its keys (in it, or fetched from its jwks_uri), what was checked when. */
interface Verified {
  claims: SoftwareStatementClaims
  issuer: Issuer
  /** The statement's keys: its jwks, or the key set at its jwks_uri; undefined for a keyless statement. */
  keys?: Jwks
  /** A jwks_uri key set: until when it may be reused (its HTTP caching lifetime). */
  keysUntil?: number
  /** When the issuer's status endpoint gave the answer relied on. */
  statusAt?: number
}

export class DynamicRegistration {
  private readonly statements: SoftwareStatements
  /** Key sets of statements with jwks_uri. */
  readonly keySets: StatementKeySets
  /** Answers of other issuers' status endpoints. */
  readonly status: StatementStatusChecks

  constructor(private readonly d: DynamicDeps) {
    this.statements = new SoftwareStatements(d.f)
    const { config: c, f } = d
    const entries = f.config.resolver.cache_entries
    this.keySets = new StatementKeySets({
      fetcher: f.fetcher, clock: f.clock, entries, jsonDepth: f.config.limits.json_depth,
      maxBytes: c.jwks_uri_max_bytes, maxKeys: c.jwks_uri_max_keys, cacheMin: c.jwks_uri_cache_min, cacheMax: c.jwks_uri_cache_max,
    })
    this.status = new StatementStatusChecks({
      fetcher: f.fetcher, clock: f.clock, skew: f.config.clock_skew, jsonDepth: f.config.limits.json_depth, entries,
      // Reused for at most half of trust_reevaluation: a registration relying on an answer is due again trust_reevaluation after it.
      ttl: Math.min(c.status_cache_ttl, Math.floor(d.reevaluation / 2)),
    })
    // Re-evaluation (registrar.ts): the statement verified again, with fresh issuer chains.
    d.registrar.dynamic = (reg) => this.reevaluate(reg)
    // A client presenting a kid its registration does not know: the statement's jwks_uri read again (rate-limited).
    d.registrar.dynamicKeys = (reg) => this.refreshKeys(reg)
  }

  /** RFC 7591 section 3: a registration; the 201 response body. */
  async register(req: RegistrationRequest, registrationUri: (clientId: string) => string, endpoint: string): Promise<Record<string, unknown>> {
    let softwareId: string | undefined
    try {
      const iat = this.d.config.initial_access_token ? await this.d.initialAccessTokens.check(bearer(req.authorization)) : undefined
      const { metadata, signed } = this.parse(req)
      const budget = this.d.registrar.budget()
      const verified = await this.verifyStatement(own(metadata, 'software_statement'), budget, false)
      const { claims } = verified
      softwareId = claims.software_id
      await this.proofOfPossession(claims, verified.keys, signed, endpoint)
      const clientId = `dcr_${randomBytes(16).toString('base64url')}`
      const secret = verified.keys?.keys.length ? undefined : randomBytes(32).toString('base64url')
      const registrationAccessToken = randomBytes(32).toString('base64url')
      const now = this.d.f.clock.now()
      const registered = this.registered(verified, metadata, secret !== undefined)
      const dynamic: DynamicFields = {
        software_id: claims.software_id, statement_iss: claims.iss, statement_jti: claims.jti,
        token_endpoint_auth_method: registered.token_endpoint_auth_method as DynamicFields['token_endpoint_auth_method'],
        ...(secret !== undefined ? { client_secret_hash: sha256(secret) } : {}),
        registration_access_token_hash: sha256(registrationAccessToken),
        client_id_issued_at: now,
      }
      // Single use or counted: spent only by a registration that is otherwise accepted.
      if (iat !== undefined) await this.d.initialAccessTokens.spend(iat, clientId)
      const reg = await this.d.registrar.records.save(clientId, this.fields(clientId, verified, registered, dynamic, own(metadata, 'software_statement') as string), true)
      if (!reg) throw new FederationError('server_error', 'the registration was not stored')
      await this.d.f.audit.record(claims.software_id, 'client.register', 'success', clientId, {
        registration_type: 'dynamic', software_id: claims.software_id, iss: claims.iss, jti: claims.jti,
        trust_anchor: reg.trust_anchor, token_endpoint_auth_method: dynamic.token_endpoint_auth_method, exp: reg.chain_exp,
        ...(iat !== undefined ? { initial_access_token: iat.id } : {}),
      })
      return {
        ...this.response(reg, registrationUri(clientId)),
        ...(secret !== undefined ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
        registration_access_token: registrationAccessToken,
      }
    } catch (err) {
      if (err instanceof FederationError && err.status < 500) {
        await this.d.f.audit.record(softwareId ?? 'anonymous', 'client.register', 'failure', softwareId, { registration_type: 'dynamic', error: err.error, reason: err.message })
      }
      throw err
    }
  }

  /** RFC 7592 section 2.1: the client's current registration (no secret or token: only their hashes are kept). */
  async read(clientId: string, authorization: string | undefined, registrationUri: string): Promise<Record<string, unknown>> {
    const reg = await this.authenticate(clientId, authorization)
    return this.response(reg, registrationUri)
  }

  /**
   * RFC 7592 section 2.2: replaces the client's metadata, within its statement's limits (the
   * stored statement, or a newer one for the same software given in the request). The
   * registration keeps its rid: tokens issued before stay valid.
   */
  async update(clientId: string, authorization: string | undefined, body: string, mediaType: string, registrationUri: string): Promise<Record<string, unknown>> {
    const reg = await this.authenticate(clientId, authorization)
    const dyn = reg.dynamic!
    try {
      if (mediaType !== 'application/json') throw new InvalidRequest('Content-Type must be application/json (RFC 7592 section 2.2)')
      const metadata = this.object(body)
      if (own(metadata, 'client_id') !== clientId) throw new InvalidRequest('client_id: must be present and equal to the registered client_id (RFC 7592 section 2.2)')
      for (const k of ['registration_access_token', 'registration_client_uri', 'client_id_issued_at', 'client_secret_expires_at']) {
        if (own(metadata, k) !== undefined) throw new InvalidRequest(`${k}: must not be included in an update (RFC 7592 section 2.2)`)
      }
      const presentedSecret = own(metadata, 'client_secret')
      if (presentedSecret !== undefined && !matchesHash(presentedSecret, dyn.client_secret_hash)) throw new InvalidRequest('client_secret: does not match the registered one')
      const statement = own(metadata, 'software_statement') ?? reg.request
      const verified = await this.verifyStatement(statement, this.d.registrar.budget(), false)
      const { claims } = verified
      if (claims.software_id !== dyn.software_id) throw new InvalidSoftwareStatement(`software_statement: it is for ${claims.software_id}, this client is ${dyn.software_id}`)
      const keyed = Boolean(verified.keys?.keys.length)
      // A statement that now carries keys ends the secret; one that no longer does starts one.
      const secret = !keyed && !dyn.client_secret_hash ? randomBytes(32).toString('base64url') : undefined
      const registered = this.registered(verified, metadata, !keyed)
      const next: DynamicFields = {
        ...dyn, software_id: claims.software_id, statement_iss: claims.iss, statement_jti: claims.jti,
        token_endpoint_auth_method: registered.token_endpoint_auth_method as DynamicFields['token_endpoint_auth_method'],
      }
      if (keyed) delete next.client_secret_hash
      else if (secret !== undefined) next.client_secret_hash = sha256(secret)
      const updated = await this.d.registrar.records.refresh(reg, this.fields(clientId, verified, registered, next, statement as string))
      if (!updated) throw new InvalidToken('the registration changed meanwhile')
      await this.d.f.audit.record(clientId, 'client.update', 'success', clientId, { registration_type: 'dynamic', software_id: claims.software_id, jti: claims.jti })
      return { ...this.response(updated, registrationUri), ...(secret !== undefined ? { client_secret: secret, client_secret_expires_at: 0 } : {}) }
    } catch (err) {
      if (err instanceof FederationError && err.status < 500) await this.d.f.audit.record(clientId, 'client.update', 'failure', clientId, { registration_type: 'dynamic', error: err.error, reason: err.message })
      throw err
    }
  }

  /** RFC 7592 section 2.3: the registration ends; its tokens introspect inactive at once. */
  async delete(clientId: string, authorization: string | undefined): Promise<void> {
    const reg = await this.authenticate(clientId, authorization)
    await this.d.registrar.records.invalidate(reg, 'deleted by the client (RFC 7592)')
    await this.d.f.audit.record(clientId, 'client.delete', 'success', clientId, { registration_type: 'dynamic', software_id: reg.dynamic!.software_id })
  }

  /** RFC 7592 section 3: the registration access token; anything wrong is invalid_token (nothing said about the client). */
  private async authenticate(clientId: string, authorization: string | undefined): Promise<Registration> {
    const token = bearer(authorization)
    if (token === undefined) throw new InvalidToken('a registration access token is required (Authorization: Bearer)')
    if (!isDynamicClientId(clientId)) throw new InvalidToken('the registration access token is not valid for this client')
    const stored = await this.d.registrar.records.get(clientId)
    if (stored?.registration_type !== 'dynamic' || !matchesHash(token, stored.dynamic?.registration_access_token_hash)) {
      throw new InvalidToken('the registration access token is not valid for this client')
    }
    // Re-evaluated when due, like every client: a revoked statement ends the registration here too.
    let reg: Registration | undefined
    try {
      reg = await this.d.registrar.active(clientId)
    } catch (err) {
      if (err instanceof FederationError && err.status < 500) reg = undefined
      else throw err
    }
    if (!reg?.dynamic) throw new InvalidToken(`the registration of ${clientId} has ended${stored.reason ? `: ${stored.reason}` : ''}`)
    return reg
  }

  /** The request as metadata: JSON, or a JWS (proof of possession) whose payload is the metadata. */
  private parse(req: RegistrationRequest): { metadata: Record<string, unknown>; signed?: string } {
    if (req.mediaType === 'application/json') return { metadata: this.object(req.body) }
    if (req.mediaType === SIGNED_REQUEST_MEDIA) {
      const jwt = req.body.trim()
      let payload
      try {
        payload = decodeUnverified(jwt, { maxDepth: this.d.f.config.limits.json_depth }).payload
      } catch (err) {
        throw new InvalidRequest(`the signed registration request: ${err instanceof JwtError ? err.message : 'not a compact JWS'}`)
      }
      return { metadata: payload, signed: jwt }
    }
    throw new InvalidRequest(`Content-Type must be application/json or ${SIGNED_REQUEST_MEDIA} (RFC 7591 section 3.1)`)
  }

  private object(body: string): Record<string, unknown> {
    let v: unknown
    try {
      v = parseJson(body, { maxDepth: this.d.f.config.limits.json_depth })
    } catch (err) {
      throw new InvalidRequest(err instanceof JsonError && err.reason === 'depth' ? err.message : 'the request body is not valid JSON')
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidClientMetadata('the request body must be a JSON object of client metadata (RFC 7591 section 3.1)')
    return v as Record<string, unknown>
  }

  /**
   * RFC 7591 section 3.1.1: the statement, from a trusted issuer; the error codes of section
   * 3.2.2. `fresh` (re-evaluation): the issuer's chain resolved afresh, a jwks_uri read again
   * (unless read less than jwks_uri_cache_min ago), the issuer's status answer reused when younger than
   * status_cache_ttl; a registration (not `fresh`) always asks the issuer's status endpoint.
   */
  private async verifyStatement(token: unknown, budget: Budget | undefined, fresh: boolean): Promise<Verified> {
    if (token === undefined) {
      throw new InvalidSoftwareStatement('software_statement: required; this server registers only software vouched for by a trusted issuer (RFC 7591 section 2.3)')
    }
    let issuer: Issuer | undefined
    let why: string | undefined
    let claims: SoftwareStatementClaims
    try {
      claims = await verifySoftwareStatement(token, {
        clock: this.d.f.clock, skew: this.d.f.config.clock_skew, json: { maxDepth: this.d.f.config.limits.json_depth },
        trustedIssuers: async (iss) => {
          try {
            issuer = await this.issuer(iss, budget, fresh)
          } catch (err) {
            if (!(err instanceof FederationError) || err.status >= 500) throw err
            why = err.message
          }
          return issuer
        },
      })
    } catch (err) {
      if (!(err instanceof SoftwareStatementError)) throw err
      const message = why && err.reason === 'untrusted_issuer' ? `${err.message} (${why})` : err.message
      throw err.error === 'unapproved_software_statement' ? new UnapprovedSoftwareStatement(message, { cause: err }) : new InvalidSoftwareStatement(message, { cause: err })
    }
    const out: Verified = { claims, issuer: issuer!, ...(claims.jwks ? { keys: claims.jwks } : {}) }
    // Revocation first: a revoked statement costs no key fetch.
    const ask = issuer!.statusEndpoint
    if (ask !== undefined) out.statusAt = (await this.status.check({ iss: issuer!.iss, jwks: issuer!.jwks, statusEndpoint: ask }, token as string, claims.jti, fresh)).checked_at
    if (claims.jwks_uri !== undefined) {
      try {
        const set = await this.keySets.get(claims.jwks_uri, { fresh, ...(budget ? { budget } : {}) })
        out.keys = set.jwks
        out.keysUntil = set.fresh_until
      } catch (err) {
        // RFC 7591 section 3.2.2: the statement is not usable (its keys cannot be had).
        if (err instanceof KeySetError) throw new InvalidSoftwareStatement(`software_statement: ${err.message}`, { cause: err })
        throw err
      }
    }
    return out
  }

  /** A trusted issuer by its identifier: this entity (its keys and records), pinned keys, or its trust chain's keys. */
  private async issuer(iss: string, budget: Budget | undefined, fresh: boolean): Promise<Issuer | undefined> {
    // Default: this entity and the trust anchors it is configured with (their pinned keys, through the resolver).
    const configured = this.d.config.trusted_issuers
    const entry = configured
      ? configured.find((e) => e.issuer === iss)
      : iss === this.d.f.entityId || (await this.d.registrar.anchors()).some((a) => a.entity_id === iss) ? { issuer: iss } : undefined
    if (!entry) return undefined
    if (iss === this.d.f.entityId) return { ...(await this.statements.asTrustedIssuer()), anchor: iss, exp: Infinity }
    if (entry.jwks) return { iss, jwks: entry.jwks, anchor: iss, exp: Infinity, ...(entry.status_endpoint !== undefined ? { statusEndpoint: entry.status_endpoint } : {}) }
    const chain = await this.d.registrar.issuerChain(iss, { ...(budget ? { budget } : {}), fresh })
    const endpoint = own(chain.metadata.federation_entity ?? {}, 'federation_software_statement_status_endpoint')
    return {
      iss, jwks: chain.subject_jwks, anchor: chain.anchor, exp: chain.exp,
      ...(typeof endpoint === 'string' && isAbsoluteUrl(endpoint) ? { statusEndpoint: endpoint } : {}),
    }
  }

  /** Section 2 of the issue: when the statement carries keys, the request must be a JWS signed with one of them. */
  private async proofOfPossession(claims: SoftwareStatementClaims, keys: Jwks | undefined, signed: string | undefined, endpoint: string): Promise<void> {
    if (!keys?.keys.length) {
      if (signed !== undefined) throw new InvalidRequest(`the software statement carries no keys to verify a signed request with: send the metadata as application/json`)
      return
    }
    if (signed === undefined) {
      throw new InvalidRequest(`the software statement carries keys: the registration request must be a JWS signed with one of them (Content-Type ${SIGNED_REQUEST_MEDIA}), its payload the client metadata with the software_statement`)
    }
    const { header } = decodeUnverified(signed, { maxDepth: this.d.f.config.limits.json_depth })
    if (!REQUEST_TYPS.has(header.typ)) throw new InvalidRequest(`the signed registration request: typ ${JSON.stringify(header.typ)} is not allowed (none, or JWT)`)
    let payload: Record<string, unknown>
    const skew = this.d.f.config.clock_skew
    try {
      payload = (await verifyJwt(signed, keys, { typ: header.typ as string, clock: this.d.f.clock, skew, algorithms: ASSERTION_ALGS })).payload
    } catch (err) {
      if (!(err instanceof JwtError)) throw err
      const why = err.reason === 'kid' ? `${err.message}: not a key of the software statement` : err.message
      throw new InvalidRequest(`the signed registration request: ${why}`, { cause: err })
    }
    // Bound to this server, to the software, and used once: a captured request registers nothing elsewhere or again.
    if (own(payload, 'iss') !== claims.software_id) throw new InvalidRequest(`the signed registration request: iss must be the software_id (${claims.software_id})`)
    const aud = [own(payload, 'aud')].flat()
    if (!aud.some((a) => a === this.d.f.entityId || a === endpoint)) throw new InvalidRequest(`the signed registration request: aud must be ${this.d.f.entityId}`)
    const jti = own(payload, 'jti')
    const exp = own(payload, 'exp') as number
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI) throw new InvalidRequest(`the signed registration request: jti is required (at most ${MAX_JTI} characters)`)
    if (exp - (own(payload, 'iat') as number) > this.d.maxRequestLifetime) throw new InvalidRequest(`the signed registration request: exp - iat exceeds ${this.d.maxRequestLifetime} seconds`)
    if (!(await this.d.f.store.claimOnce('registration_request', `${claims.software_id} ${jti}`, exp + skew))) {
      throw new InvalidRequest('the signed registration request: replayed (its jti was used before)')
    }
  }

  /**
   * The metadata registered: the statement's, narrowed by the request where it asks for less;
   * a request asking for more than the statement is refused (RFC 7591 section 3.2.2 codes).
   */
  private registered(v: Verified, req: Record<string, unknown>, secret: boolean): Record<string, unknown> {
    const { claims } = v
    const strings = (k: string): string[] | undefined => {
      const v = own(req, k)
      if (v === undefined) return undefined
      if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new InvalidClientMetadata(`${k}: must be an array of strings`)
      return [...new Set(v)]
    }
    const served = claims.grant_types.filter((g) => this.d.grantTypes.has(g))
    const askedGrants = strings('grant_types')
    const beyondGrants = askedGrants?.filter((g) => !claims.grant_types.includes(g)) ?? []
    if (beyondGrants.length) throw new InvalidClientMetadata(`grant_types: ${beyondGrants.join(', ')} not allowed by the software statement (${claims.grant_types.join(', ')})`)
    const grants = (askedGrants ?? served).filter((g) => this.d.grantTypes.has(g))
    if (!grants.length) throw new InvalidClientMetadata(`grant_types: none this server serves (${[...this.d.grantTypes].join(', ')})`)

    const allowedScope = (claims.scope ?? '').split(' ').filter(Boolean)
    const askedScope = own(req, 'scope')
    if (askedScope !== undefined && typeof askedScope !== 'string') throw new InvalidClientMetadata('scope: must be a space-separated string')
    const scopes = askedScope === undefined ? allowedScope : [...new Set(askedScope.split(' ').filter(Boolean))]
    const beyondScope = scopes.filter((s) => !allowedScope.includes(s))
    if (beyondScope.length) throw new InvalidClientMetadata(`scope: ${beyondScope.join(' ')} not allowed by the software statement (${allowedScope.join(' ') || 'none'})`)

    const code = grants.includes('authorization_code')
    const askedUris = strings('redirect_uris')
    const beyondUris = askedUris?.filter((u) => !(claims.redirect_uris ?? []).includes(u)) ?? []
    if (beyondUris.length) throw new InvalidRedirectUri(`redirect_uris: ${beyondUris.join(', ')} not among the software statement's`)
    const uris = code ? askedUris ?? claims.redirect_uris ?? [] : []
    if (code && !uris.length) throw new InvalidRedirectUri('redirect_uris: required with authorization_code')

    const jwksUri = claims.jwks_uri
    const askedUri = own(req, 'jwks_uri')
    if (askedUri !== undefined && askedUri !== jwksUri) {
      throw new InvalidClientMetadata(jwksUri !== undefined ? `jwks_uri: must be the software statement's (${jwksUri})` : 'jwks_uri: not accepted; the software statement\'s jwks are the client\'s keys')
    }
    const statementKeys = claims.jwks?.keys ?? []
    let keys = statementKeys
    const askedJwks = own(req, 'jwks')
    // The keys at a jwks_uri rotate: a registration cannot pin some of them.
    if (askedJwks !== undefined && jwksUri !== undefined) throw new InvalidClientMetadata(`jwks: the software statement's keys are at its jwks_uri (${jwksUri}); register without jwks`)
    if (askedJwks !== undefined) {
      const asked = askedJwks !== null && typeof askedJwks === 'object' ? own(askedJwks as Record<string, unknown>, 'keys') : undefined
      if (!Array.isArray(asked) || asked.length === 0) throw new InvalidClientMetadata('jwks: must be a JWK Set')
      const known = new Map(statementKeys.map((k) => [canonical(k), k]))
      keys = asked.map((k, i) => {
        const match = k !== null && typeof k === 'object' ? known.get(canonical(k as Record<string, unknown>)) : undefined
        if (!match) throw new InvalidClientMetadata(`jwks.keys[${i}]: not a key of the software statement`)
        return match
      })
    }
    const askedMethod = own(req, 'token_endpoint_auth_method')
    const methods = secret ? ['client_secret_basic', 'client_secret_post'] : ['private_key_jwt']
    if (askedMethod !== undefined && !methods.includes(askedMethod as string)) {
      throw new InvalidClientMetadata(`token_endpoint_auth_method: ${JSON.stringify(askedMethod)} is not possible for this client (${methods.join(', ')}; ${secret ? 'the software statement carries no keys' : 'asymmetric keys only'})`)
    }
    const out: Record<string, unknown> = {
      client_name: claims.client_name,
      grant_types: grants,
      response_types: code ? ['code'] : [],
      token_endpoint_auth_method: (askedMethod) ?? methods[0],
      ...(scopes.length ? { scope: scopes.join(' ') } : {}),
      ...(code ? { redirect_uris: uris } : {}),
      ...(jwksUri !== undefined ? { jwks_uri: jwksUri } : keys.length ? { jwks: { keys: keys.map((k) => ({ ...k })) } } : {}),
      software_id: claims.software_id,
      ...(claims.software_version !== undefined ? { software_version: claims.software_version } : {}),
      ...(claims.client_uri !== undefined ? { client_uri: claims.client_uri } : {}),
    }
    for (const k of TEXT_URLS) {
      const v = own(req, k)
      if (v === undefined) continue
      if (typeof v !== 'string' || v.length > 2048 || !/^https:\/\/[^\s]+$/.test(v)) throw new InvalidClientMetadata(`${k}: must be an https URL`)
      out[k] = v
    }
    return out
  }

  private fields(clientId: string, v: Verified, md: Record<string, unknown>, dynamic: DynamicFields, statement: string): RegistrationFields {
    const { claims, issuer } = v
    const grants = md.grant_types as string[]
    const byReference = claims.jwks_uri !== undefined
    return {
      registration_type: 'dynamic',
      entity_type: grants.includes('authorization_code') ? 'openid_relying_party' : 'oauth_client',
      trust_anchor: issuer.anchor,
      chain: [...new Set([clientId, claims.iss, issuer.anchor])],
      metadata: { [grants.includes('authorization_code') ? 'openid_relying_party' : 'oauth_client']: md },
      // A jwks_uri's keys as fetched now: oidc-provider is given these, never the URL.
      jwks: byReference ? v.keys! : { keys: ((md.jwks as { keys?: unknown[] } | undefined)?.keys ?? []) as never },
      jwks_source: byReference ? 'jwks_uri' : 'jwks',
      // No registration outlives its statement, nor the issuer's chain.
      chain_exp: Math.min(claims.exp, issuer.exp),
      due_at: this.dueAt(v),
      request: statement,
      dynamic,
    }
  }

  /**
   * When the registration must be re-evaluated at the latest: trust_reevaluation after the
   * status answer it relied on was given (a reused answer does not lengthen the kill-switch's
   * bound), and when its jwks_uri key set stops being fresh (not before another fetch may be made).
   */
  private dueAt(v: Verified): number {
    const now = this.d.f.clock.now()
    let due = now + this.d.reevaluation
    if (v.statusAt !== undefined) due = Math.min(due, v.statusAt + this.d.reevaluation)
    if (v.keysUntil !== undefined) due = Math.min(due, Math.max(v.keysUntil, now + this.d.config.jwks_uri_cache_min))
    return due
  }

  /** The registration's metadata as RFC 7591 section 3.2.1 answers it. */
  private response(reg: Registration, registrationUri: string): Record<string, unknown> {
    return {
      client_id: reg.client_id,
      client_id_issued_at: reg.dynamic!.client_id_issued_at,
      ...reg.metadata[reg.entity_type],
      software_statement: reg.request,
      registration_client_uri: registrationUri,
    }
  }

  /** Re-evaluation: the stored statement verified again (fresh issuer chain, the issuer's records, its jwks_uri); the registration's fields now. */
  private async reevaluate(reg: Registration): Promise<RegistrationFields> {
    let verified
    try {
      verified = await this.verifyStatement(reg.request, undefined, true)
    } catch (err) {
      if (err instanceof FederationError && err.status < 500) throw new InvalidClient(`${reg.client_id}: ${err.message}`, { cause: err })
      throw err
    }
    const { claims, issuer } = verified
    const byReference = claims.jwks_uri !== undefined
    return {
      registration_type: 'dynamic', entity_type: reg.entity_type, trust_anchor: issuer.anchor,
      chain: [...new Set([reg.client_id, claims.iss, issuer.anchor])],
      metadata: reg.metadata,
      // A jwks_uri's keys as they are now (a rotation is picked up); inline keys as registered.
      jwks: byReference ? verified.keys! : reg.jwks, jwks_source: byReference ? 'jwks_uri' : 'jwks',
      chain_exp: Math.min(claims.exp, issuer.exp),
      due_at: this.dueAt(verified),
      ...(reg.request !== undefined ? { request: reg.request } : {}),
      ...(reg.dynamic ? { dynamic: reg.dynamic } : {}),
    }
  }

  /**
   * A client of a jwks_uri statement presented a key id its registration does not know (a
   * rotation at the jwks_uri): the key set read again, at most once per jwks_uri_cache_min per
   * URL; the registration's keys replaced when they changed. The registration as it is now
   * (unchanged when the URL cannot be read: the request then fails as for any unknown key).
   */
  async refreshKeys(reg: Registration): Promise<Registration> {
    const uri = (reg.metadata[reg.entity_type])?.jwks_uri
    // A federation client's jwks_uri (automatic, explicit, metadata document) is read again at its
    // re-evaluation, with its trust chain, never by the statements' key sets.
    if (reg.registration_type !== 'dynamic' || reg.jwks_source !== 'jwks_uri' || typeof uri !== 'string') return reg
    let set
    try {
      set = await this.keySets.get(uri, { fresh: true })
    } catch (err) {
      if (err instanceof KeySetError) {
        this.d.f.logger.info('jwks_uri of a dynamic client not refreshed', { client_id: reg.client_id, reason: err.message })
        return reg
      }
      throw err
    }
    if (JSON.stringify(set.jwks) === JSON.stringify(reg.jwks)) return reg
    const updated = await this.d.registrar.records.rekey(reg, set.jwks)
    if (!updated) return reg
    await this.d.f.audit.record('authorization_server', 'client.keys', 'success', reg.client_id, {
      registration_type: 'dynamic', jwks_uri: uri, kids: set.jwks.keys.map((k) => k.kid ?? null),
    })
    return updated
  }
}

/** A JWK's public members, in a fixed order: two spellings of one key compare equal. */
function canonical(k: Record<string, unknown>): string {
  const out: Record<string, unknown> = {}
  for (const m of ['kty', 'kid', 'crv', 'x', 'y', 'n', 'e']) if (Object.hasOwn(k, m)) out[m] = k[m]
  return JSON.stringify(out)
}
