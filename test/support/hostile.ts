/**
 * A hostile federation on one loopback port: many entities under path-based entity ids,
 * each serving its entity configuration and (when it has subordinates or is marked an
 * intermediate) a fetch endpoint, every statement really signed. It counts every request
 * it receives, so a test can assert how much outbound work a deployment did.
 *
 *   const h = await startHostile({ clock })
 *   const a = h.add('a', { metadata: { federation_entity: {} } })      // http://127.0.0.1:PORT/e/a
 *   const b = h.add('b', { authority_hints: [a.id] })
 *   h.subordinate(a, b)                     // a's fetch endpoint serves a statement about b (b's jwks)
 *   const t = h.tree({ prefix: 't', k: 5, depth: 3 })   // t.leaf has 5 hints, each 5 more, 3 levels up
 *   h.requests.total; h.requests.of('a'); h.requests.reset()
 *   await h.stop()
 *
 * API
 * - `startHostile({ clock, keys? })`: a server; `keys` (default 4) real ES256 keys are made
 *   at start and handed out round-robin to entities given no key of their own (enough for
 *   fan-out and loop cases; pass `key: await testKey()` where one key per entity matters).
 * - `add(name, options)` -> `HostileEntity` (`name` is `[A-Za-z0-9._-]+`; the id is
 *   `${base}/e/${name}`). Options: `authority_hints`, `metadata`, `key`, `intermediate`
 *   (publish a fetch endpoint even without subordinates), `claims` (merged last over the
 *   entity configuration: any override, including `iss`, `jwks`, `exp`).
 * - Each entity's fields may be changed at any time (answers are signed per request):
 *   `claims`, `subordinates` (subject id -> claims merged over {iss, sub, iat, exp, jwks}),
 *   `tamper(what, s)` (edit header, claims or signing key before signing), `delayMs`
 *   (answer after that many real ms), `silent` (never answer; the connection stays open
 *   until stop()), `onRequest(what, url)` (runs first, e.g. to advance a ManualClock and
 *   simulate a slow answer without sleeping), `respond(req, res)` (answer raw; return true).
 * - `subordinate(superior, subject, claims?)` registers a subordinate statement.
 * - `tree({ prefix, k, depth, leaf?, top_hints? })`: a tree whose leaf has k hints, each
 *   of those k more, `depth` levels up (k^1 + ... + k^depth superiors, all intermediates
 *   issuing statements about the node below); the top level has `top_hints` (default none).
 *   Returns the leaf, every level and the node count (1 + k + ... + k^depth).
 * - `loop(prefix, n)`: a leaf under a ring of n intermediates whose top hints back at the
 *   first one.
 * - `requests`: `total`, `of(name)` (its configuration and its fetch endpoint), `ec`,
 *   `fetch`, `reset()`.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ManualClock } from '../../src/clock.js'
import type { Jwks } from '../../src/types.js'
import { signStatement, testKey, type TestKey } from './entity.js'

export type StatementWhat = 'ec' | 'ss'

export interface HostileEntity {
  name: string
  id: string
  key: TestKey
  authority_hints: string[]
  metadata: Record<string, unknown>
  /** Merged last over the entity configuration. */
  claims: Record<string, unknown>
  /** Claims of the statements this entity issues, by subject id. */
  subordinates: Map<string, Record<string, unknown>>
  intermediate: boolean
  tamper?: (what: StatementWhat, s: { header: Record<string, unknown>; claims: Record<string, unknown>; key: TestKey }) => void
  delayMs?: number
  silent?: boolean
  onRequest?: (what: StatementWhat, url: URL) => void
  respond?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean
  /** This entity's published keys. */
  readonly jwks: Jwks
}

export interface AddOptions {
  authority_hints?: string[]
  metadata?: Record<string, unknown>
  key?: TestKey
  intermediate?: boolean
  claims?: Record<string, unknown>
}

export interface HostileTree {
  leaf: HostileEntity
  /** levels[0] = [leaf], levels[i] = the k^i entities i steps above it. */
  levels: HostileEntity[][]
  nodes: number
}

export interface RequestCounts {
  total: number
  ec: number
  fetch: number
  of(name: string): number
  reset(): void
}

export interface HostileServer {
  base: string
  entities: Map<string, HostileEntity>
  requests: RequestCounts
  idOf(name: string): string
  add(name: string, o?: AddOptions): HostileEntity
  subordinate(superior: HostileEntity, subject: HostileEntity | string, claims?: Record<string, unknown>): void
  tree(o: { prefix: string; k: number; depth: number; leaf?: AddOptions; top_hints?: string[] }): HostileTree
  loop(prefix: string, n: number, leaf?: AddOptions): { leaf: HostileEntity; ring: HostileEntity[] }
  stop(): Promise<void>
}

const NAME = /^[A-Za-z0-9._-]+$/

export async function startHostile(o: { clock: ManualClock; keys?: number }): Promise<HostileServer> {
  const pool = await Promise.all(Array.from({ length: o.keys ?? 4 }, () => testKey()))
  const entities = new Map<string, HostileEntity>()
  const perEntity = new Map<string, number>()
  const counts: RequestCounts = {
    total: 0, ec: 0, fetch: 0,
    of: (name) => perEntity.get(name) ?? 0,
    reset() {
      counts.total = counts.ec = counts.fetch = 0
      perEntity.clear()
    },
  }
  const server = http.createServer((req, res) => serve(req, res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const idOf = (name: string) => `${base}/e/${name}`

  function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', base)
    const m = /^\/e\/([^/]+)(\/\.well-known\/openid-federation|\/fetch)$/.exec(url.pathname)
    const e = m ? entities.get(m[1]!) : undefined
    counts.total++
    if (!e || !m) return void notFound(res)
    const what: StatementWhat = m[2] === '/fetch' ? 'ss' : 'ec'
    if (what === 'ec') counts.ec++
    else counts.fetch++
    perEntity.set(e.name, (perEntity.get(e.name) ?? 0) + 1)
    e.onRequest?.(what, url)
    if (e.respond?.(req, res) || e.silent) return
    const answer = () => void statement(e, what, url).then(
      (jwt) => (jwt === undefined ? notFound(res) : res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' }).end(jwt)),
      () => res.writeHead(500).end(),
    )
    if (e.delayMs) setTimeout(answer, e.delayMs)
    else answer()
  }

  async function statement(e: HostileEntity, what: StatementWhat, url: URL): Promise<string | undefined> {
    const now = o.clock.now()
    const times = { iss: e.id, iat: now, exp: now + 3600 }
    let claims: Record<string, unknown>
    if (what === 'ec') {
      const fe = e.intermediate || e.subordinates.size ? { federation_fetch_endpoint: `${e.id}/fetch` } : {}
      const metadata = { ...e.metadata, federation_entity: { ...fe, ...(e.metadata.federation_entity as object | undefined) } }
      claims = {
        ...times, sub: e.id, jwks: e.jwks, metadata,
        ...(e.authority_hints.length ? { authority_hints: e.authority_hints } : {}), ...e.claims,
      }
    } else {
      const sub = url.searchParams.get('sub') ?? ''
      const extra = e.subordinates.get(sub)
      if (!extra) return undefined
      const subject = sub.startsWith(`${base}/e/`) ? entities.get(sub.slice(base.length + 3)) : undefined
      claims = { ...times, sub, ...(subject ? { jwks: subject.jwks } : {}), ...extra }
    }
    const s = { header: {} as Record<string, unknown>, claims, key: e.key }
    e.tamper?.(what, s)
    return signStatement(s.claims, s.key, s.header)
  }

  let next = 0
  const h: HostileServer = {
    base, entities, requests: counts, idOf,
    add(name, a = {}) {
      if (!NAME.test(name)) throw new Error(`hostile entity name ${name}: use [A-Za-z0-9._-]`)
      if (entities.has(name)) throw new Error(`hostile entity ${name} exists`)
      const key = a.key ?? pool[next++ % pool.length]!
      const e: HostileEntity = {
        name, id: idOf(name), key,
        authority_hints: a.authority_hints ?? [],
        metadata: a.metadata ?? { federation_entity: { organization_name: name } },
        claims: a.claims ?? {},
        subordinates: new Map(),
        intermediate: a.intermediate ?? false,
        get jwks() {
          return { keys: [this.key.publicJwk] }
        },
      }
      entities.set(name, e)
      return e
    },
    subordinate(superior, subject, claims = {}) {
      superior.subordinates.set(typeof subject === 'string' ? subject : subject.id, claims)
    },
    tree(t) {
      const levels: HostileEntity[][] = [[h.add(`${t.prefix}`, t.leaf)]]
      for (let depth = 1; depth <= t.depth; depth++) {
        const above: HostileEntity[] = []
        for (const below of levels[depth - 1]!) {
          for (let i = 0; i < t.k; i++) {
            const e = h.add(`${below.name}.${i}`, { intermediate: true, ...(depth === t.depth && t.top_hints ? { authority_hints: t.top_hints } : {}) })
            below.authority_hints.push(e.id)
            h.subordinate(e, below)
            above.push(e)
          }
        }
        levels.push(above)
      }
      return { leaf: levels[0]![0]!, levels, nodes: levels.reduce((n, l) => n + l.length, 0) }
    },
    loop(prefix, n, leafOptions) {
      const ring = Array.from({ length: n }, (_, i) => h.add(`${prefix}.r${i}`, { intermediate: true }))
      ring.forEach((e, i) => {
        const up = ring[(i + 1) % n]!
        e.authority_hints.push(up.id)
        h.subordinate(up, e)
      })
      const leaf = h.add(prefix, { ...leafOptions, authority_hints: [ring[0]!.id] })
      h.subordinate(ring[0]!, leaf)
      return { leaf, ring }
    },
    stop: () => new Promise<void>((r) => {
      server.close(() => r())
      server.closeAllConnections()
    }),
  }
  return h
}

function notFound(res: http.ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_found', error_description: 'unknown' }))
}
