/**
 * The verifier's optional second opinion: asking the issuer's Trust Mark Status endpoint
 * (spec "Trust Mark Status"), as "Validating a Trust Mark" RECOMMENDS for marks without
 * exp. Answers are cached briefly by mark, so a busy resolver asks once a minute at most.
 */
import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import { MEDIA, TYP, WELL_KNOWN_FEDERATION } from '../constants.js'
import { verifyJwt } from '../crypto/jwt.js'
import type { Fetcher } from '../net/fetch.js'
import type { Jwks } from '../types.js'
import { TrustMarkError } from './errors.js'
import { tokenHash } from './records.js'

export interface StatusCheckOptions {
  fetcher: Fetcher
  /** Which marks to check: 'no_exp' (default) only those without exp, 'always', or 'never'. */
  when?: 'no_exp' | 'always' | 'never'
  /** Seconds an answer (and an issuer's endpoint URL) is reused (default 60). */
  cacheSeconds?: number
  /**
   * An issuer that publishes a status endpoint which cannot be reached or answers with an
   * error: 'reject' (default, fail closed) or 'accept'. An issuer that publishes no status
   * endpoint offers no such mechanism, and its marks are accepted on the other checks.
   */
  onUnavailable?: 'reject' | 'accept'
}

type Answer = { status: string } | { unavailable: string }

export function createStatusChecker(
  o: StatusCheckOptions,
  env: { clock: Clock; skew: number; algorithms: readonly string[] },
): (token: string, m: { iss: string; exp?: number }, issuerJwks: Jwks) => Promise<void> {
  const when = o.when ?? 'no_exp'
  const ttl = o.cacheSeconds ?? 60
  const answers = new LRUCache<string, { answer: Answer; until: number }>({ max: 10_000 })
  const endpoints = new LRUCache<string, { url: string | null; until: number }>({ max: 1_000 })
  const verifyOptions = { clock: env.clock, skew: env.skew, algorithms: env.algorithms }

  async function endpointOf(iss: string, jwks: Jwks): Promise<string | null> {
    const hit = endpoints.get(iss)
    if (hit && hit.until > env.clock.now()) return hit.url
    const res = await o.fetcher.get(iss.replace(/\/+$/, '') + WELL_KNOWN_FEDERATION, MEDIA.entityStatement)
    if (res.status !== 200) throw new Error(`the issuer's entity configuration answered HTTP ${res.status}`)
    // The issuer's keys come from its trust chain, so its configuration must verify with them.
    const { payload } = await verifyJwt<{ metadata?: Record<string, Record<string, unknown>> }>(res.body.trim(), jwks, { ...verifyOptions, typ: TYP.entityStatement })
    if (payload.iss !== iss || payload.sub !== iss) throw new Error("the issuer's entity configuration names another entity")
    const url = payload.metadata?.federation_entity?.federation_trust_mark_status_endpoint
    const value = typeof url === 'string' ? url : null
    endpoints.set(iss, { url: value, until: env.clock.now() + ttl })
    return value
  }

  async function ask(token: string, iss: string, jwks: Jwks): Promise<Answer | undefined> {
    let url: string | null
    try {
      url = await endpointOf(iss, jwks)
    } catch (err) {
      return { unavailable: `cannot read the issuer's entity configuration: ${(err as Error).message}` }
    }
    if (url === null) return undefined
    try {
      const res = await o.fetcher.post(url, new URLSearchParams({ trust_mark: token }).toString(), 'application/x-www-form-urlencoded', MEDIA.trustMarkStatusResponse)
      // "Trust Mark Status Response": a mark the issuer does not know gets HTTP 404.
      if (res.status === 404) return { status: 'unknown to the issuer' }
      if (res.status !== 200) return { unavailable: `the status endpoint answered HTTP ${res.status}` }
      const { payload } = await verifyJwt<{ trust_mark?: unknown; status?: unknown }>(res.body.trim(), jwks, {
        ...verifyOptions, typ: TYP.trustMarkStatusResponse, requireTimes: false,
      })
      if (payload.iss !== iss) return { unavailable: 'the status response has another issuer' }
      if (payload.trust_mark !== token) return { unavailable: 'the status response is about another trust mark' }
      if (typeof payload.status !== 'string') return { unavailable: 'the status response has no status' }
      return { status: payload.status }
    } catch (err) {
      return { unavailable: (err as Error).message }
    }
  }

  return async (token, m, jwks) => {
    if (when === 'never' || (when === 'no_exp' && m.exp !== undefined)) return
    const key = tokenHash(token)
    const now = env.clock.now()
    let hit = answers.get(key)
    if (!hit || hit.until <= now) {
      const answer = await ask(token, m.iss, jwks)
      if (answer === undefined) return
      hit = { answer, until: now + ttl }
      answers.set(key, hit)
    }
    const a = hit.answer
    if ('status' in a) {
      if (a.status !== 'active') throw new TrustMarkError('status', `trust mark from ${m.iss}: the issuer's status endpoint says ${JSON.stringify(a.status)}`)
    } else if ((o.onUnavailable ?? 'reject') === 'reject') {
      throw new TrustMarkError('status', `trust mark from ${m.iss}: its status could not be checked: ${a.unavailable}`)
    }
  }
}
