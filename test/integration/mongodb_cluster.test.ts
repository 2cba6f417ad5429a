/**
 * Several `anchorage serve` processes on one MongoDB (mongo-java-server, or MONGODB_URI):
 *
 *     instance A (127.0.0.1:pA) ─┐
 *                                ├── one database (polling change propagation)
 *     instance B (127.0.0.1:pB) ─┘
 *
 * plus a database that goes away and comes back, a database that is not there at start-up,
 * and moving a deployment embedded -> MongoDB -> embedded without loss.
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, serve } from '../support/cli.js'
import { freePort } from '../support/net.js'
import { mongoUriForTests, startMongoServer } from '../support/mongo_server.js'

const TOKEN = 'cluster-test-token-0123456789abcdef'
const JWKS = { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }] }
const env = { ANCHORAGE_ADMIN_TOKEN: TOKEN }
const enc = encodeURIComponent

async function admin(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

/** Polls until check() is true; returns the milliseconds it took (fails after `within`). */
async function eventually(check: () => Promise<boolean>, within: number, what: string): Promise<number> {
  const start = Date.now()
  for (;;) {
    if (await check()) return Date.now() - start
    if (Date.now() - start > within) assert.fail(`${what}: not within ${within} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function deployment(tmp: string, name: string, port: number, extra: Record<string, unknown> = {}): Promise<string> {
  const dir = join(tmp, name)
  const r = await cli(['init', '--dir', dir, '--entity-id', `http://127.0.0.1:${port}`])
  assert.equal(r.code, 0, r.stderr)
  const path = join(dir, 'anchorage.json')
  await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, 'utf8')), ...extra }))
  return dir
}

describe('several instances on one MongoDB', function () {
  this.timeout(120_000)
  let tmp: string
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'anchorage-cluster-'))
  })
  after(() => rm(tmp, { recursive: true, force: true }))

  it('propagates add, suspend, remove and key rotation between instances within 2 s', async function () {
    const db = await mongoUriForTests()
    if (!db) return this.skip()
    const [pA, pB] = [await freePort(), await freePort()]
    const dir = await deployment(tmp, 'cluster', pA, { store_options: { poll_interval_ms: 250 } })
    const a = await serve(['--dir', dir, '--port', String(pA), '--host', '127.0.0.1', '--store', db.uri], env)
    const b = await serve(['--dir', dir, '--port', String(pB), '--host', '127.0.0.1', '--store', db.uri], env)
    const A = `http://127.0.0.1:${pA}`
    const B = `http://127.0.0.1:${pB}`
    const fetchStatus = async (base: string, sub: string) => (await fetch(`${base}/fetch?sub=${enc(sub)}`)).status
    const kid = async (base: string) => JSON.parse(Buffer.from((await (await fetch(`${base}/.well-known/openid-federation`)).text()).split('.')[0]!, 'base64url').toString()).kid
    try {
      assert.equal(await kid(A), await kid(B), 'both instances sign with the one key in the store')
      const m = 'https://member.example.org'
      assert.equal(await fetchStatus(B, m), 404)
      assert.equal((await admin(A, 'POST', '/admin/subordinates', { entity_id: m, jwks: JWKS })).status, 201)
      await eventually(async () => (await fetchStatus(B, m)) === 200, 2000, 'B serves a member added through A')
      assert.equal((await admin(B, 'POST', `/admin/subordinates/${enc(m)}/suspend`)).status, 200)
      await eventually(async () => (await fetchStatus(A, m)) === 404, 2000, 'A stops serving a member suspended through B')
      assert.equal((await admin(A, 'POST', `/admin/subordinates/${enc(m)}/reinstate`)).status, 200)
      await eventually(async () => (await fetchStatus(B, m)) === 200, 2000, 'B serves a reinstated member')
      assert.equal((await admin(A, 'DELETE', `/admin/subordinates/${enc(m)}`)).status, 204)
      // Neither answer is a sync point for the other: B's /fetch may read the store (a cache
      // miss) before B's member index has seen the removal, so each converges on its own bound.
      await eventually(async () => (await fetchStatus(B, m)) === 404, 2000, 'B stops serving a member removed through A')
      await eventually(async () => !((await (await fetch(`${B}/list`)).json()) as string[]).includes(m), 2000, 'B stops listing a member removed through A')
      const rotated = await admin(B, 'POST', '/admin/keys/rotate', {})
      assert.equal(rotated.status, 201)
      await eventually(async () => (await kid(A)) === rotated.body.kid, 2000, 'A signs with the key rotated on B')
      const audit = await admin(A, 'GET', '/admin/audit?action=subordinate.suspend')
      assert.equal(audit.body.events.length, 1, 'one audit log for the cluster')
    } finally {
      await a.stop()
      await b.stop()
      await db.stop()
    }
  })

  it('refuses to start with one line and a non-zero exit when MongoDB is unreachable', async () => {
    const port = await freePort()
    const dir = await deployment(tmp, 'nodb', port, { store_options: { server_selection_timeout_ms: 500 } })
    const dead = await freePort()
    const r = await cli(['serve', '--dir', dir, '--port', String(port), '--store', `mongodb://127.0.0.1:${dead}/x`])
    assert.equal(r.code, 1)
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{'))
    assert.equal(lines.length, 1, r.stderr)
    assert.match(lines[0]!, /^anchorage: .*127\.0\.0\.1/)
  })

  it('answers 503 and not ready while MongoDB is away, keeps serving what is signed, and recovers by itself', async function () {
    if (process.env.MONGODB_URI) return this.skip() // needs a server this test can stop
    const h2 = join(tmp, 'outage.h2')
    let server = await startMongoServer({ h2File: h2 }).catch((err: Error) => {
      if (process.env.CI === 'true') throw err
      return undefined
    })
    if (!server) return this.skip()
    const port = await freePort()
    const dir = await deployment(tmp, 'outage', port, { store_options: { server_selection_timeout_ms: 800 } })
    const uri = `mongodb://127.0.0.1:${server.port}/outage`
    const inst = await serve(['--dir', dir, '--port', String(port), '--host', '127.0.0.1', '--store', uri], env)
    const base = `http://127.0.0.1:${port}`
    try {
      assert.equal((await admin(base, 'POST', '/admin/subordinates', { entity_id: 'https://kept.example.org', jwks: JWKS })).status, 201)
      const statement = await (await fetch(`${base}/fetch?sub=${enc('https://kept.example.org')}`)).text()
      assert.equal((await fetch(`${base}/readyz`)).status, 200)

      await server.stop()
      await eventually(async () => (await fetch(`${base}/readyz`)).status === 503, 10_000, '/readyz turns 503')
      const w = await admin(base, 'POST', '/admin/subordinates', { entity_id: 'https://new.example.org', jwks: JWKS })
      assert.equal(w.status, 503)
      assert.equal(w.body.error, 'temporarily_unavailable')
      assert.equal(await (await fetch(`${base}/fetch?sub=${enc('https://kept.example.org')}`)).text(), statement, 'signed statements keep being served')
      assert.equal((await fetch(`${base}/.well-known/openid-federation`)).status, 200)

      server = await startMongoServer({ h2File: h2, port: server.port })
      await eventually(async () => (await fetch(`${base}/readyz`)).status === 200, 15_000, '/readyz recovers')
      assert.equal((await admin(base, 'POST', '/admin/subordinates', { entity_id: 'https://new.example.org', jwks: JWKS })).status, 201)
      const list = (await (await fetch(`${base}/list`)).json()) as string[]
      assert.deepEqual(list, ['https://kept.example.org', 'https://new.example.org'])
    } finally {
      await inst.stop()
      await server.stop()
    }
  })

  it('moves a deployment embedded -> MongoDB -> embedded without loss (byte-identical exports)', async function () {
    const db = await mongoUriForTests()
    if (!db) return this.skip()
    const port = await freePort()
    const dir = await deployment(tmp, 'move', port)
    const inst = await serve(['--dir', dir, '--port', String(port), '--host', '127.0.0.1'], env)
    const base = `http://127.0.0.1:${port}`
    for (const i of [1, 2, 3]) await admin(base, 'POST', '/admin/subordinates', { entity_id: `https://m${i}.example.org`, jwks: JWKS, metadata: { openid_relying_party: { client_name: `é ${i} 😀` } } })
    await admin(base, 'POST', `/admin/subordinates/${enc('https://m2.example.org')}/suspend`)
    await admin(base, 'POST', '/admin/keys/rotate', {})
    await inst.stop()
    try {
      const first = await cli(['store', 'export', '--dir', dir, '--include-private-keys'])
      assert.equal(first.code, 0, first.stderr)
      assert.ok(first.stdout.split('\n').length > 8)
      const imp = await cli(['store', 'import', '--dir', dir, '--store', db.uri], { input: first.stdout })
      assert.equal(imp.code, 0, imp.stderr)
      const again = await cli(['store', 'import', '--dir', dir, '--store', db.uri], { input: first.stdout })
      assert.equal(again.code, 2)
      assert.match(again.stderr, /not empty/)
      const fromMongo = await cli(['store', 'export', '--dir', dir, '--store', db.uri, '--include-private-keys'])
      assert.equal(fromMongo.stdout, first.stdout)
      const back = join(tmp, 'back-data')
      assert.equal((await cli(['store', 'import', '--dir', dir, '--store', `embedded:${back}`], { input: fromMongo.stdout })).code, 0)
      const roundTrip = await cli(['store', 'export', '--dir', dir, '--store', `embedded:${back}`, '--include-private-keys'])
      assert.equal(roundTrip.stdout, first.stdout)
    } finally {
      await db.stop()
    }
  })
})
