/**
 * An in-memory federation for resolver unit tests: a Fetcher that answers entity
 * configurations and fetch requests from signed statements made on demand, counting calls.
 */
import { ManualClock } from '../../../src/clock.js'
import { silentLogger } from '../../../src/logger.js'
import { DEFAULTS } from '../../../src/config/defaults.js'
import type { Fetcher, FetchResponse } from '../../../src/net/fetch.js'
import { Resolver, type ResolverOptions } from '../../../src/trust_chain/resolver.js'
import type { Jwks } from '../../../src/types.js'
import { testKey, signStatement, type TestKey } from '../../support/entity.js'

export interface MemEntity {
  id: string
  key: TestKey
  claims: Record<string, unknown>
  /** Claims of its subordinate statements by subject. */
  subs: Map<string, Record<string, unknown>>
}

type Responder = () => Promise<Omit<FetchResponse, 'url'>>

export class MemFed {
  readonly clock = new ManualClock(1_800_000_000)
  readonly entities = new Map<string, MemEntity>()
  /** Overrides by URL (content type, status, delays). */
  readonly overrides = new Map<string, Responder>()
  readonly calls: string[] = []

  readonly fetcher: Fetcher = {
    get: async (url) => {
      this.calls.push(url)
      const r = this.overrides.get(url) ?? this.route(url)
      return { ...(await r()), url }
    },
    post: () => Promise.reject(new Error('not used')),
  }

  async add(id: string, o: { hints?: string[]; metadata?: Record<string, unknown>; extra?: Record<string, unknown> } = {}): Promise<MemEntity> {
    const e: MemEntity = {
      id, key: await testKey(), subs: new Map(),
      claims: {
        metadata: { federation_entity: { federation_fetch_endpoint: `${id}/fetch` }, ...o.metadata },
        ...(o.hints ? { authority_hints: o.hints } : {}), ...o.extra,
      },
    }
    this.entities.set(id, e)
    return e
  }

  /** `superior` issues a statement about `subordinate` (its keys unless overridden). */
  vouch(superior: MemEntity, subordinate: MemEntity, claims: Record<string, unknown> = {}): void {
    superior.subs.set(subordinate.id, { jwks: jwksOf(subordinate), ...claims })
  }

  resolver(anchors: MemEntity[], o: Partial<ResolverOptions> = {}): Resolver {
    return new Resolver({
      fetcher: this.fetcher, clock: this.clock, logger: silentLogger, skew: 60, limits: { ...DEFAULTS.resolver },
      anchors: () => anchors.map((a) => ({ entity_id: a.id, jwks: jwksOf(a) })), ...o,
    })
  }

  private route(url: string): Responder {
    const u = new URL(url)
    const now = this.clock.now()
    const id = u.origin
    const e = this.entities.get(id)
    const ok = (jwt: string) => ({ status: 200, contentType: 'application/entity-statement+jwt', body: jwt })
    if (e && u.pathname === '/.well-known/openid-federation') {
      return async () => ok(await signStatement({ iss: id, sub: id, iat: now, exp: now + 3600, jwks: jwksOf(e), ...e.claims }, e.key))
    }
    const sub = u.searchParams.get('sub') ?? ''
    const claims = e?.subs.get(sub)
    if (e && u.pathname === '/fetch' && claims) {
      return async () => ok(await signStatement({ iss: id, sub, iat: now, exp: now + 3600, ...claims }, e.key))
    }
    return async () => ({ status: 404, contentType: 'application/json', body: '{"error":"not_found","error_description":"no such statement"}' })
  }
}

export function jwksOf(e: { key: TestKey }): Jwks {
  return { keys: [e.key.publicJwk] }
}

/** TA <- IA <- LEAF with LEAF an openid_relying_party. */
export async function chain3(fed = new MemFed()) {
  const ta = await fed.add('https://ta.example.com')
  const ia = await fed.add('https://ia.example.com', { hints: [ta.id] })
  const leaf = await fed.add('https://leaf.example.com', { hints: [ia.id], metadata: { openid_relying_party: { client_name: 'RP', grant_types: ['authorization_code', 'implicit'] } } })
  fed.vouch(ta, ia)
  fed.vouch(ia, leaf)
  return { fed, ta, ia, leaf }
}
