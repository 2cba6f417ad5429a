/**
 * The Trust Mark Status endpoint's logic (spec "Trust Mark Status"). Every answer is a
 * signed JWT, so the hot path avoids crypto: the verdict on a mark (is it ours, does its
 * signature verify) is cached by the mark's hash, and signed answers are cached by
 * (mark, status) for a minute. A revocation changes the status, hence the cache key, so
 * it shows at once; a key change clears everything.
 */
import { LRUCache } from 'lru-cache'
import type { JSONWebKeySet } from 'jose'
import type { TrustMarkDeps } from './deps.js'
import { TYP } from '../constants.js'
import { decodeUnverified, signJwt, verifyJwt, JwtError } from '../crypto/jwt.js'
import { InvalidRequest, NotFound } from '../errors.js'
import { SignedCache } from '../util/signed_cache.js'
import type { TrustMarkIssuer } from './issuer.js'
import { instanceStatus, tokenHash } from './records.js'

type Verdict = { kind: 'foreign' } | { kind: 'invalid'; why: string } | { kind: 'ours'; type: string; sub: string }

/** Seconds a signed answer is reused; its iat says how old it is. */
export const STATUS_RESPONSE_REUSE = 60

export class TrustMarkStatusService {
  private readonly verdicts = new LRUCache<string, Verdict>({ max: 20_000 })
  private readonly responses: SignedCache<string>
  private keys: Promise<JSONWebKeySet> | undefined

  constructor(private readonly f: TrustMarkDeps, private readonly issuer: TrustMarkIssuer) {
    this.responses = new SignedCache(f.clock, 20_000)
    f.changes.subscribe((c) => {
      if (c.type !== 'stored' || c.collection !== 'keys') return
      this.keys = undefined
      this.verdicts.clear()
      this.responses.clear()
    })
  }

  /** The signed status response for `token`; NotFound for marks this issuer does not know. */
  async respond(token: string): Promise<string> {
    const hash = tokenHash(token)
    let verdict = this.verdicts.get(hash)
    if (!verdict) {
      verdict = await this.judge(token)
      this.verdicts.set(hash, verdict)
    }
    if (verdict.kind === 'foreign') throw new NotFound('trust_mark: not issued by this trust mark issuer')
    let status: string
    if (verdict.kind === 'invalid') status = 'invalid'
    else {
      const rec = await this.issuer.record(verdict.type, verdict.sub)
      const instance = rec?.instances.find((i) => i.hash === hash)
      // "If the Trust Mark Issuer receives a request about the status of an unknown Trust
      // Mark, something it did not issue or is not aware of, it MUST respond with ... 404".
      if (!instance) throw new NotFound('trust_mark: unknown to this trust mark issuer')
      status = instanceStatus(instance, this.f.clock.now())
    }
    return this.responses.get(`${status} ${hash}`, async () => {
      const iat = this.f.clock.now()
      const claims = { iss: this.f.entityId, iat, trust_mark: token, status }
      const value = await signJwt(claims, await this.f.keystore.signingKey(), TYP.trustMarkStatusResponse)
      return { value, refreshAt: iat + STATUS_RESPONSE_REUSE }
    })
  }

  private async judge(token: string): Promise<Verdict> {
    let payload
    try {
      payload = decodeUnverified(token).payload
    } catch {
      throw new InvalidRequest('trust_mark: is not a compact JWS')
    }
    if (payload.iss !== this.f.entityId) return { kind: 'foreign' }
    const iat = payload.iat
    if (typeof iat !== 'number') return { kind: 'invalid', why: 'iat missing' }
    try {
      // Verified as of its iat: an expired mark still has a valid signature and is answered
      // as "expired", which the clock decides below, not the JWT library.
      await verifyJwt(token, await this.ourKeys(), { typ: TYP.trustMark, clock: { now: () => iat }, skew: 0, requireTimes: false })
    } catch (err) {
      if (err instanceof JwtError) return { kind: 'invalid', why: err.message }
      throw err
    }
    const { sub, trust_mark_type: type } = payload as { sub?: unknown; trust_mark_type?: unknown }
    if (typeof sub !== 'string' || typeof type !== 'string') return { kind: 'invalid', why: 'sub or trust_mark_type missing' }
    return { kind: 'ours', type, sub }
  }

  /** Published keys, plus retired ones not retired as compromised: marks they signed stay verifiable. */
  private ourKeys(): Promise<JSONWebKeySet> {
    this.keys ??= (async () => {
      const published = await this.f.keystore.jwks()
      const retired = (await this.f.keystore.historical()).filter((r) => r.revoked?.reason !== 'compromised').map((r) => r.public_jwk)
      return { keys: [...published.keys, ...retired] }
    })().catch((err: unknown) => {
      this.keys = undefined
      throw err
    })
    return this.keys
  }
}
