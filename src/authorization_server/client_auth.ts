/**
 * private_key_jwt client authentication (RFC 7523 section 2.2 and 3; OpenID Connect Core
 * "Client Authentication") for clients whose client_id is their entity id (spec
 * "Automatic Registration and Client Authentication", "Possible Other Uses of Automatic
 * Registration"). Cheap checks come first (spec "Denial-of-Service Attack Prevention"):
 * every claim that needs no key (alg allow-list, typ, iss = sub = client_id, aud, jti,
 * iat/exp/nbf, lifetime, the shape of a trust_chain header) and a jti this process saw
 * used, so a malformed, unsigned, stale or replayed assertion costs no trust chain work.
 * The signature is verified with the keys of the client's resolved metadata; the jti is
 * claimed once in the shared store (replay detection across every instance).
 *
 * A trust_chain header (spec "Trust Chain Header Parameter") is verified whenever present,
 * for a registered client as at first contact (spec "Processing the Authentication
 * Request": the OP "MUST fully verify the Trust Chain" it relies on), so the same header
 * gets the same answer every time.
 */
import type { RegistrationDeps } from '../registration/deps.js'
import { SIGNING_ALGS } from '../constants.js'
import { decodeUnverified, verifyJwt, JwtError } from '../crypto/jwt.js'
import { isEntityIdSyntax } from '../config/schemas.js'
import { FederationError, InvalidClient } from '../errors.js'
import type { Registrar } from '../registration/registrar.js'
import type { Registration, RegistrationFields } from '../registration/records.js'
import { MAX_PRESENTED_CHAIN, type PresentedChain } from '../trust_chain/presented_chain.js'
import type { Budget } from '../trust_chain/budget.js'
import { systemClock, type Clock } from '../clock.js'
import type { Jwks } from '../types.js'
import { boundedLru } from '../util/lru.js'
import { isDynamicClientId } from './dynamic_client_id.js'

/**
 * The clock client assertions' times (iat, exp, nbf) are checked with: the system clock, as
 * oidc-provider checks them again with it (docs/authorization-server.md "Clocks"). Anchorage's
 * injected clock still drives registrations, re-evaluation and store expiry.
 */
export const ASSERTION_CLOCK: Clock = systemClock

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
/** Asymmetric only: never `none`, never HMAC (a shared secret cannot exist with automatic registration). */
export const ASSERTION_ALGS: readonly string[] = SIGNING_ALGS
/** typ values a client assertion may carry (absent, RFC 7519's JWT, draft-ietf-oauth-rfc7523bis); others are other kinds of JWT. */
const ASSERTION_TYPS = new Set<string | undefined>([undefined, 'JWT', 'jwt', 'client-authentication+jwt'])
const MAX_JTI = 256
/** A compact JWS, by shape only (header.payload.signature, base64url). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

export interface Assertion {
  jwt: string
  clientId: string
  jti: string
  iat: number
  exp: number
  typ: string | undefined
  /** The key id of its header, if any (a kid a jwks_uri client's registration does not know yet has its keys read again). */
  kid?: string
  /** The trust_chain JWS header parameter, unverified (spec "Trust Chain Header Parameter"). */
  trustChain?: unknown
}

export interface InspectOptions {
  /** Accepted `aud` values: this server's issuer and the URL of the endpoint receiving the assertion. */
  audiences: readonly string[]
  now: number
  skew: number
  maxLifetime: number
}

const bad = (what: string, cause?: unknown) => new InvalidClient(`client_assertion: ${what}`, cause === undefined ? {} : { cause })

/** RFC 7523 client authentication as the request gives it (each parameter at most once: the HTTP layer checks). */
export interface ClientAuthentication {
  client_assertion_type?: string | undefined
  client_assertion?: string | undefined
  client_id?: string | undefined
}

/** Everything that needs no key. Throws InvalidClient. */
export function inspectAssertion(req: ClientAuthentication, o: InspectOptions): Assertion {
  const type = req.client_assertion_type
  const jwt = req.client_assertion
  if (type === undefined && jwt === undefined) throw new InvalidClient(`client authentication is required: private_key_jwt (client_assertion_type ${ASSERTION_TYPE})`)
  if (type !== ASSERTION_TYPE) throw new InvalidClient(`client_assertion_type must be ${ASSERTION_TYPE}`)
  if (jwt === undefined) throw new InvalidClient('client_assertion is required')
  let decoded
  try {
    decoded = decodeUnverified(jwt)
  } catch (err) {
    // Too deep (limits.json_depth, util/json.ts) is said as such; anything else is not a JWS.
    throw bad(err instanceof JwtError && err.reason === 'depth' ? err.message : 'not a compact JWS')
  }
  const { header, payload: c } = decoded
  if (typeof header.alg !== 'string' || !ASSERTION_ALGS.includes(header.alg)) throw bad(`alg ${JSON.stringify(header.alg ?? null)} is not allowed; use one of ${ASSERTION_ALGS.join(', ')}`)
  if (!ASSERTION_TYPS.has(header.typ)) throw bad(`typ ${JSON.stringify(header.typ)} is not a client assertion type`)
  if (typeof c.iss !== 'string' || !(isEntityIdSyntax(c.iss) || isDynamicClientId(c.iss))) throw bad('iss must be the client id, an entity identifier')
  if (c.sub !== c.iss) throw bad('sub must equal iss (the client id)')
  const clientId = req.client_id
  if (clientId !== undefined && clientId !== c.iss) throw bad('iss does not match the client_id parameter')
  const aud = Array.isArray(c.aud) ? c.aud : [c.aud]
  if (!aud.some((a) => typeof a === 'string' && o.audiences.includes(a))) throw bad(`aud must be ${o.audiences[0]}`)
  if (typeof c.jti !== 'string' || c.jti === '' || c.jti.length > MAX_JTI) throw bad(`jti is required (at most ${MAX_JTI} characters)`)
  if (typeof c.exp !== 'number' || typeof c.iat !== 'number') throw bad('iat and exp are required')
  if (c.exp <= o.now - o.skew) throw bad('expired')
  if (c.iat > o.now + o.skew) throw bad('iat is in the future')
  if (typeof c.nbf === 'number' && c.nbf > o.now + o.skew) throw bad('not valid yet (nbf)')
  if (c.exp - c.iat > o.maxLifetime) throw bad(`lifetime (exp - iat) exceeds ${o.maxLifetime} seconds`)
  const tc = header.trust_chain
  if (tc !== undefined && !(Array.isArray(tc) && tc.length >= 2 && tc.length <= MAX_PRESENTED_CHAIN && tc.every((s) => typeof s === 'string' && COMPACT_JWS.test(s)))) {
    throw bad(`trust_chain header: must be a JSON array of 2 to ${MAX_PRESENTED_CHAIN} compact JWS, the client's entity configuration first`)
  }
  return {
    jwt, clientId: c.iss, jti: c.jti, iat: c.iat, exp: c.exp, typ: header.typ,
    ...(typeof header.kid === 'string' ? { kid: header.kid } : {}),
    ...(header.trust_chain !== undefined ? { trustChain: header.trust_chain } : {}),
  }
}

export interface AuthenticatorDeps {
  f: RegistrationDeps
  registrar: Registrar
  maxLifetime: number
}

export class ClientAuthenticator {
  /**
   * One JWK Set object per distinct key set: crypto/jwt imports keys once per set object,
   * and registrations read from the store are fresh copies every time.
   */
  private readonly keySets = boundedLru<string, Jwks>(10_000)
  /** jti values claimed through this instance, until their claim expires: replays are refused before any work. */
  private readonly used = boundedLru<string, number>(10_000)

  constructor(private readonly d: AuthenticatorDeps) {}

  /** The authenticated client's registration (made now on first contact). Throws InvalidClient. */
  async authenticate(req: ClientAuthentication, endpointUrl: string): Promise<Registration> {
    const { f, registrar } = this.d
    const skew = f.config.clock_skew
    const a = inspectAssertion(req, { audiences: [f.entityId, endpointUrl], now: ASSERTION_CLOCK.now(), skew, maxLifetime: this.d.maxLifetime })
    const jti = `${a.clientId} ${a.jti}`
    if ((this.used.get(jti) ?? 0) > ASSERTION_CLOCK.now()) throw bad('replayed: its jti was used before')
    const budget = registrar.budget()
    const reg = await registrar.registered(a.clientId)
    let candidate: RegistrationFields | undefined
    if (reg) {
      // The registered client's key first: one verification before the chain's several.
      await this.verify(a, reg.jwks)
      if (a.trustChain !== undefined) await this.presented(a, budget)
    } else {
      const presented = a.trustChain === undefined ? undefined : await this.presented(a, budget)
      candidate = await registrar.firstContact(a.clientId, presented, budget)
      await this.verify(a, candidate.jwks)
    }
    // After the signature: only the client itself can use up its jti values.
    if (!(await f.store.claimOnce('client_assertion', jti, a.exp + skew))) throw bad('replayed: its jti was used before')
    this.used.set(jti, a.exp + skew)
    return reg ?? registrar.commit(a.clientId, candidate!)
  }

  /** The assertion's trust_chain header, verified (no fetch; its verifications count against the request's budget). */
  private async presented(a: Assertion, budget: Budget): Promise<PresentedChain> {
    try {
      return await this.d.registrar.presented(a.trustChain, a.clientId, { budget })
    } catch (err) {
      if (err instanceof FederationError && err.status < 500) throw bad(`trust_chain header: ${err.message}`, err)
      throw err
    }
  }

  private async verify(a: Assertion, fresh: Jwks): Promise<void> {
    const id = JSON.stringify(fresh)
    let jwks = this.keySets.get(id)
    if (!jwks) this.keySets.set(id, (jwks = fresh))
    await verifyAssertion(a, jwks, this.d.f)
  }
}

/** Verifies an inspected assertion's signature with `jwks` (the client's resolved metadata keys). Throws InvalidClient. */
export async function verifyAssertion(a: Assertion, jwks: Jwks, f: Pick<RegistrationDeps, 'clock' | 'config'>): Promise<void> {
  try {
    // verifyJwt compares typ exactly; the accepted values were checked by inspectAssertion.
    await verifyJwt(a.jwt, jwks, { typ: a.typ as string, clock: ASSERTION_CLOCK, skew: f.config.clock_skew, algorithms: ASSERTION_ALGS })
  } catch (err) {
    if (err instanceof JwtError) {
      const why = err.reason === 'kid' ? `${err.message}: the key is not in the client's resolved metadata` : err.message
      throw bad(why)
    }
    throw err
  }
}

/**
 * jti values of client assertions this process accepted, until they expire: a replay is
 * refused before any other work (oidc-provider's replay detection, in the shared store,
 * is the check across instances).
 */
export class UsedAssertions {
  private readonly used = boundedLru<string, number>(10_000)
  constructor(private readonly f: Pick<RegistrationDeps, 'clock' | 'config'>) {}

  /** Throws InvalidClient when `a` was used before. */
  check(a: Assertion): void {
    if ((this.used.get(`${a.clientId} ${a.jti}`) ?? 0) > ASSERTION_CLOCK.now()) throw bad('replayed: its jti was used before')
  }

  accepted(a: Assertion): void {
    this.used.set(`${a.clientId} ${a.jti}`, a.exp + this.f.config.clock_skew)
  }
}
