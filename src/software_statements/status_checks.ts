/**
 * Asking another issuer whether one of its software statements is still active, at its
 * status endpoint (docs/software-statements.md, "Status": POST software_statement=<JWT>, a
 * signed answer typed software-statement-status-response+jwt), with the answers reused for
 * `ttl` seconds in a bounded LRU keyed by the endpoint and the exact token (concurrent
 * questions about one token share one request).
 *
 * What is reused: a verified answer, active or not (a revoked statement presented again is
 * refused from memory), and a 404 (the issuer does not know the token). A failure to get a
 * verified answer (unreachable, 5xx, a bad signature) is never reused: the next question asks
 * again. Every refusal is UnapprovedSoftwareStatement: fail closed.
 *
 * Only re-evaluations reuse answers (`reuse`): a registration always asks afresh, so a statement
 * revoked at its issuer registers nothing more from the moment of the revocation.
 *
 * The caller learns when the answer was given (`checked_at`): a registration that relied on
 * an answer given earlier is re-evaluated `trust_reevaluation` after that moment, not after
 * its own evaluation, so reusing answers never lengthens the kill-switch's bound.
 */
import type { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import { MEDIA, TYP } from '../constants.js'
import { verifyJwt, JwtError } from '../crypto/jwt.js'
import { UnapprovedSoftwareStatement } from '../errors.js'
import { FetchError, type Fetcher } from '../net/fetch.js'
import type { Jwks } from '../types.js'
import { boundedLru } from '../util/lru.js'
import { own } from '../util/json.js'
import { tokenHash } from './records.js'

export interface StatusCheckOptions {
  fetcher: Fetcher
  clock: Clock
  skew: number
  jsonDepth: number
  /** Seconds an answer is reused (0: never). */
  ttl: number
  /** Answers kept at once (LRU). */
  entries: number
}

/** The issuer asked: who, where, and the keys its answers are signed with. */
export interface StatusIssuer {
  iss: string
  jwks: Jwks
  statusEndpoint: string
}

/** An answer: active (with when it was given), or the refusal's reason. */
type Answer = { active: true; checked_at: number } | { active: false; why: string; checked_at: number }

export class StatementStatusChecks {
  private readonly cache: LRUCache<string, Answer>
  private readonly inflight = new Map<string, Promise<Answer>>()

  constructor(private readonly o: StatusCheckOptions) {
    this.cache = boundedLru(o.entries)
  }

  /**
   * Whether `token` (statement `jti` of `issuer`) is active at the issuer's status endpoint:
   * when the answer was given, or UnapprovedSoftwareStatement. `reuse` (re-evaluation): an
   * answer younger than `ttl` is taken from memory; otherwise (registration) the issuer is asked.
   */
  async check(issuer: StatusIssuer, token: string, jti: string, reuse: boolean): Promise<{ checked_at: number }> {
    const key = `${issuer.statusEndpoint}\n${issuer.iss}\n${tokenHash(token)}`
    const now = this.o.clock.now()
    let answer = this.cache.get(key)
    if (!reuse || !answer || now >= answer.checked_at + this.o.ttl) {
      let p = this.inflight.get(key)
      if (!p) {
        p = this.ask(issuer, token, jti).finally(() => this.inflight.delete(key))
        this.inflight.set(key, p)
      }
      answer = await p
      if (this.o.ttl > 0) this.cache.set(key, answer)
    }
    if (!answer.active) throw new UnapprovedSoftwareStatement(`software_statement: ${issuer.iss}'s status endpoint ${answer.why}`)
    return { checked_at: answer.checked_at }
  }

  /** One request; a verified answer (or a 404) is returned, anything else throws (and is not reused). */
  private async ask(issuer: StatusIssuer, token: string, jti: string): Promise<Answer> {
    const refuse = (why: string): never => {
      throw new UnapprovedSoftwareStatement(`software_statement: ${issuer.iss}'s status endpoint ${why}`)
    }
    const checkedAt = this.o.clock.now()
    let res
    try {
      res = await this.o.fetcher.post(issuer.statusEndpoint, new URLSearchParams({ software_statement: token }).toString(), 'application/x-www-form-urlencoded', MEDIA.softwareStatementStatusResponse)
    } catch (err) {
      if (err instanceof FetchError) return refuse(`cannot be reached: ${err.message}`)
      throw err
    }
    if (res.status === 404) return { active: false, why: 'does not know the statement', checked_at: checkedAt }
    if (res.status !== 200) refuse(`answered HTTP ${res.status}`)
    let payload: Record<string, unknown>
    try {
      payload = (await verifyJwt(res.body.trim(), issuer.jwks, {
        typ: TYP.softwareStatementStatusResponse, clock: this.o.clock, skew: this.o.skew, requireTimes: false, json: { maxDepth: this.o.jsonDepth },
      })).payload
    } catch (err) {
      if (err instanceof JwtError) return refuse(`answered something that does not verify: ${err.message}`)
      throw err
    }
    if (own(payload, 'iss') !== issuer.iss || own(payload, 'jti') !== jti) refuse('answered about another statement')
    const status = own(payload, 'status')
    if (status === 'active') return { active: true, checked_at: checkedAt }
    return { active: false, why: `says the statement ${jti} is ${typeof status === 'string' ? status.slice(0, 32) : 'of no status'}`, checked_at: checkedAt }
  }
}
