/**
 * A flood of unauthenticated admin requests against a real `anchorage serve` (child
 * process, embedded store): 10,000 requests with a 14 KB path, 32 at a time over
 * keep-alive. Refusals are aggregated per source address (audit/refusals.ts), so the data
 * directory grows by a few events and the server's memory by next to nothing.
 */
import { strict as assert } from 'node:assert'
import http from 'node:http'
import { mkdtemp, rm, readFile, readdir, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, serve } from '../support/cli.js'
import { freePort } from '../support/net.js'

/** Resident set size of a process, from /proc (bytes). */
async function rss(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for ${pid}`)
  return Number(m[1]) * 1024
}

async function bytesIn(dir: string): Promise<number> {
  let n = 0
  for (const f of await readdir(dir)) n += (await stat(join(dir, f))).size
  return n
}

/** n GET requests, `connections` at a time over keep-alive; resolves to the status counts. */
async function flood(url: string, n: number, connections: number): Promise<Map<number, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  const statuses = new Map<number, number>()
  let issued = 0
  const one = () => new Promise<void>((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      res.resume()
      res.on('end', () => {
        statuses.set(res.statusCode!, (statuses.get(res.statusCode!) ?? 0) + 1)
        resolve()
      })
    }).on('error', reject)
  })
  await Promise.all(Array.from({ length: connections }, async () => {
    while (issued < n) {
      issued++
      await one()
    }
  }))
  agent.destroy()
  return statuses
}

describe('anchorage serve under a flood of unauthenticated admin requests', function () {
  this.timeout(180_000)
  let tmp: string
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'anchorage-flood-'))
  })
  after(() => rm(tmp, { recursive: true, force: true }))

  it('10,000 refused requests with a 14 KB path grow the data directory by < 1 MB and the resident memory by < 10 MB', async function () {
    if (process.platform !== 'linux') return this.skip() // RSS read from /proc
    const port = await freePort()
    const dir = join(tmp, 'flood')
    const url = `http://127.0.0.1:${port}`
    const init = await cli(['init', '--dir', dir, '--entity-id', url])
    assert.equal(init.code, 0, init.stderr)
    const server = await serve(['--dir', dir, '--port', String(port), '--host', '127.0.0.1'])
    try {
      const target = `${url}/admin/subordinates/${'x'.repeat(14_000)}`
      // Warm-up: JIT, sockets and heap reach their working size before the baseline.
      await flood(target, 1_000, 32)
      const data = join(dir, 'data')
      const before = { disk: await bytesIn(data), rss: await rss(server.child.pid!) }
      const statuses = await flood(target, 10_000, 32)
      assert.deepEqual([...statuses], [[401, 10_000]])
      const after = { disk: await bytesIn(data), rss: await rss(server.child.pid!) }
      const grown = { disk: after.disk - before.disk, rss: after.rss - before.rss }
      assert.ok(grown.disk < 1 << 20, `data directory grew by ${grown.disk} bytes`)
      assert.ok(grown.rss < 10 << 20, `resident memory grew by ${(grown.rss / 2 ** 20).toFixed(1)} MiB`)
      assert.ok(server.output().length < 64 * 1024, `log output: ${server.output().length} bytes`)
    } finally {
      await server.stop('SIGKILL')
    }
  })
})
