/**
 * Clean shutdown of a real `anchorage serve` (child process, embedded store):
 *
 *   8 writers --POST /admin/subordinates (keep-alive)--> anchorage serve --SIGTERM--> exit 0
 *
 * In-flight requests finish, keep-alive connections close, background work stops before
 * the store closes, and every acknowledged member is there after a restart.
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, serve } from '../support/cli.js'
import { freePort } from '../support/net.js'
import { startBurst, listedMembers, addEventsBySubject, memberJwks } from '../support/burst.js'

/** What an unclean exit leaves in the output. */
const UNCLEAN = /uncaught|unhandled|is not open|"level":"error"|\n\s+at /i

describe('anchorage serve shutdown', function () {
  this.timeout(120_000)
  let tmp: string
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'anchorage-shutdown-'))
  })
  after(() => rm(tmp, { recursive: true, force: true }))

  async function deployment(name: string, settings: Record<string, unknown> = {}): Promise<{ dir: string; url: string; port: number; token: string }> {
    const port = await freePort()
    const dir = join(tmp, name)
    const url = `http://127.0.0.1:${port}`
    const r = await cli(['init', '--dir', dir, '--entity-id', url])
    assert.equal(r.code, 0, r.stderr)
    const path = join(dir, 'anchorage.json')
    await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, 'utf8')), ...settings }))
    return { dir, url, port, token: (await readFile(join(dir, 'admin.token'), 'utf8')).trim() }
  }
  const start = (d: { dir: string; port: number }, env: NodeJS.ProcessEnv = {}) =>
    serve(['--dir', d.dir, '--port', String(d.port), '--host', '127.0.0.1'], env)

  it('SIGTERM in an 8-writer onboarding burst exits 0, answers every in-flight write and loses no acknowledged member (three times)', async () => {
    const d = await deployment('burst')
    const acknowledged = new Set<string>()
    for (let round = 0; round < 3; round++) {
      const server = await start(d)
      const burst = await startBurst({ url: d.url, token: d.token, writers: 8, prefix: `r${round}` })
      await burst.reached(200)
      const code = await server.stop('SIGTERM')
      await burst.done
      assert.equal(code, 0, server.output())
      assert.doesNotMatch(server.output(), UNCLEAN)
      // Every request the server took was answered, none with a 5xx; the rest found the door closed.
      assert.deepEqual([...burst.outcomes.keys()].filter((k) => k !== '201' && k !== 'network'), [], JSON.stringify([...burst.outcomes]))
      for (const id of burst.acknowledged) acknowledged.add(id)
    }
    const server = await start(d)
    try {
      const listed = await listedMembers(d.url)
      const missing = [...acknowledged].filter((id) => !listed.has(id))
      assert.deepEqual(missing, [], 'acknowledged members lost')
      assert.equal(listed.size, acknowledged.size, 'no member exists that was not acknowledged')
      const events = await addEventsBySubject(d.url, d.token)
      for (const id of listed) assert.equal(events.get(id), 1, `subordinate.add events of ${id}`)
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })

  it('closes an idle keep-alive connection at once and does not wait for it', async () => {
    // A long drain timeout: if shutdown waited for the idle connection, the process would outlive the test.
    const d = await deployment('idle', { server: { shutdown_timeout_seconds: 3600 } })
    const server = await start(d)
    const conn = await connect(d.port)
    const first = await conn.request(`GET /.well-known/openid-federation HTTP/1.1\r\nHost: x\r\n\r\n`)
    assert.match(first, /^HTTP\/1\.1 200/)
    assert.doesNotMatch(first, /connection: close/i)
    const exited = server.stop('SIGTERM')
    await conn.closed
    assert.equal(await exited, 0)
    assert.doesNotMatch(server.output(), UNCLEAN)
  })

  it('answers a request in flight at SIGTERM, then closes its keep-alive connection (Connection: close)', async () => {
    const d = await deployment('busy')
    const server = await start(d, { ANCHORAGE_LOG_LEVEL: 'info' })
    const conn = await connect(d.port)
    const body = JSON.stringify({ entity_id: 'https://late.example.org', jwks: await memberJwks() })
    // Headers and half the body now; the rest once the server is shutting down.
    const cut = body.length >> 1
    conn.send(`POST /admin/subordinates HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${d.token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, cut)}`)
    const exited = server.stop('SIGTERM')
    await server.waitFor(/"msg":"shutting down"/)
    const answer = await conn.request(body.slice(cut))
    assert.match(answer, /^HTTP\/1\.1 201/)
    assert.match(answer, /\r\nconnection: close\r\n/i)
    await conn.closed
    assert.equal(await exited, 0)
    assert.doesNotMatch(server.output(), UNCLEAN)
    const again = await start(d)
    try {
      assert.ok((await listedMembers(d.url)).has('https://late.example.org'))
    } finally {
      await again.stop()
    }
  })

  it('drops a request still running when the shutdown timeout passes, and still exits 0', async () => {
    const d = await deployment('stuck', { server: { shutdown_timeout_seconds: 1 } })
    const server = await start(d)
    const conn = await connect(d.port)
    // A body that never completes keeps the request in flight.
    conn.send(`POST /admin/subordinates HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${d.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`)
    const code = await server.stop('SIGTERM')
    await conn.closed
    assert.equal(code, 0)
    assert.match(server.output(), /shutdown timeout: connections with requests still running were dropped/)
    // The dropped request itself may be logged as failed (its client is gone); nothing escapes.
    assert.doesNotMatch(server.output(), /uncaught|unhandled|is not open|\n\s+at /i)
  })
})

/** A raw HTTP/1.1 connection, so the test decides exactly what is in flight when. */
async function connect(port: number): Promise<{ send(text: string): void; request(text: string): Promise<string>; closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  let buffer = ''
  let waiting: (() => void) | undefined
  socket.on('data', (d) => {
    buffer += d.toString('latin1')
    waiting?.()
  })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.on('error', () => undefined)
  /** One whole response (Content-Length framing, as Anchorage answers). */
  const response = async (): Promise<string> => {
    for (;;) {
      const head = buffer.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: (\d+)/i.exec(buffer.slice(0, head))
      if (head !== -1 && length && buffer.length >= head + 4 + Number(length[1])) {
        const text = buffer.slice(0, head + 4 + Number(length[1]))
        buffer = buffer.slice(text.length)
        return text
      }
      await Promise.race([new Promise<void>((resolve) => (waiting = resolve)), closed.then(() => {
        throw new Error(`connection closed before a whole response: ${JSON.stringify(buffer)}`)
      })])
    }
  }
  return {
    send: (text) => socket.write(text),
    request: (text) => {
      socket.write(text)
      return response()
    },
    closed,
  }
}
