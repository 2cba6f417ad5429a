/**
 * An onboarding burst against a running `anchorage serve` (see cli.ts), shared by the crash
 * tests (kill -9 and SIGTERM): W writers POST distinct members as fast as the server
 * acknowledges them, over keep-alive connections, until stopped or until the server goes
 * away. What the server acknowledged (201) is what must survive the crash.
 */
import http from 'node:http'
import { exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK } from 'jose'

export interface BurstOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:PORT. */
  url: string
  /** Admin token. */
  token: string
  /** Concurrent writers (default 8). */
  writers?: number
  /** Distinguishes the members of several bursts against one deployment (default 'b'). */
  prefix?: string
}

export interface Burst {
  /** Entity ids the server answered 201 for. */
  readonly acknowledged: Set<string>
  /** How each request ended: the status code, or 'network' when the connection failed. */
  readonly outcomes: Map<string, number>
  /** Resolves once at least n members were acknowledged (rejects if the writers end first). */
  reached(n: number): Promise<void>
  /** Stops the writers after their current request and waits for them. */
  stop(): Promise<void>
  /** Resolves when every writer has ended (stopped, or its connection failed). */
  readonly done: Promise<void>
}

/** One public key, real, reused by every member of the burst (onboarding checks key material). */
export async function memberJwks(): Promise<{ keys: JWK[] }> {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(publicKey)
  return { keys: [{ ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'ES256', use: 'sig' }] }
}

export async function startBurst(o: BurstOptions): Promise<Burst> {
  const writers = o.writers ?? 8
  const prefix = o.prefix ?? 'b'
  const jwks = await memberJwks()
  const agent = new http.Agent({ keepAlive: true, maxSockets: writers })
  const acknowledged = new Set<string>()
  const outcomes = new Map<string, number>()
  const waiters: Array<{ n: number; resolve: () => void }> = []
  let stopped = false
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1)

  async function writer(w: number): Promise<void> {
    for (let i = 0; !stopped; i++) {
      const entityId = `https://${prefix}-w${w}-${i}.example.org`
      const status = await post(o.url, o.token, agent, { entity_id: entityId, jwks }).catch(() => undefined)
      if (status === undefined) {
        count('network')
        return
      }
      count(String(status))
      if (status === 201) acknowledged.add(entityId)
      for (const x of waiters.splice(0)) {
        if (acknowledged.size >= x.n) x.resolve()
        else waiters.push(x)
      }
    }
  }
  const done = Promise.all(Array.from({ length: writers }, (_, w) => writer(w))).then(() => {
    agent.destroy()
  })
  return {
    acknowledged, outcomes, done,
    reached: (n) => Promise.race([
      new Promise<void>((resolve) => (acknowledged.size >= n ? resolve() : waiters.push({ n, resolve }))),
      done.then(() => {
        if (acknowledged.size < n) throw new Error(`the burst ended after ${acknowledged.size} members, before ${n}: ${JSON.stringify([...outcomes])}`)
      }),
    ]),
    async stop() {
      stopped = true
      await done
    },
  }
}

function post(url: string, token: string, agent: http.Agent, body: unknown): Promise<number> {
  const data = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/admin/subordinates`, {
      method: 'POST', agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(data)
  })
}

/** Every active member id, from the public listing. */
export async function listedMembers(url: string): Promise<Set<string>> {
  const res = await fetch(`${url}/list`)
  if (res.status !== 200) throw new Error(`/list answered ${res.status}`)
  return new Set((await res.json()) as string[])
}

/** Successful `subordinate.add` audit events by subject, read through the admin API (all pages). */
export async function addEventsBySubject(url: string, token: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  let after: number | undefined
  for (;;) {
    const q = new URLSearchParams({ action: 'subordinate.add', limit: '1000', ...(after !== undefined ? { after: String(after) } : {}) })
    const res = await fetch(`${url}/admin/audit?${q.toString()}`, { headers: { authorization: `Bearer ${token}` } })
    if (res.status !== 200) throw new Error(`/admin/audit answered ${res.status}`)
    const body = (await res.json()) as { events: Array<{ subject?: string; outcome: string; seq: number }>; next?: number }
    for (const e of body.events) if (e.outcome === 'success' && e.subject) counts.set(e.subject, (counts.get(e.subject) ?? 0) + 1)
    if (body.next === undefined) return counts
    after = body.next
  }
}
