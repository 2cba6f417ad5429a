/** The `anchorage` command as a user runs it: init, serve, admin commands, restart and kill -9. */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, readFile, writeFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, serve } from '../support/cli.js'
import { freePort } from '../support/net.js'

describe('anchorage CLI', function () {
  this.timeout(60_000)
  let tmp: string
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'anchorage-cli-'))
  })
  after(() => rm(tmp, { recursive: true, force: true }))

  it('explains every command with --help', async () => {
    const top = await cli(['--help'])
    assert.equal(top.code, 0)
    for (const cmd of ['init', 'serve', 'subordinate', 'keys', 'audit', 'policy']) {
      assert.match(top.stdout, new RegExp(`\\b${cmd}\\b`))
      const r = await cli([cmd, '--help'])
      assert.equal(r.code, 0, `${cmd} --help`)
      assert.match(r.stdout, /Usage: anchorage/)
    }
  })

  it('refuses an unknown command and an unknown option with exit code 2', async () => {
    assert.equal((await cli(['frobnicate'])).code, 2)
    const r = await cli(['init', '--bogus'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /bogus/)
  })

  it('init creates a deployment with private files and refuses to overwrite it', async () => {
    const dir = join(tmp, 'ta')
    const r = await cli(['init', '--dir', dir, '--entity-id', 'https://ta.example.org', '--alg', 'EdDSA'])
    assert.equal(r.code, 0, r.stderr)
    const config = JSON.parse(await readFile(join(dir, 'anchorage.json'), 'utf8'))
    assert.equal(config.entity_id, 'https://ta.example.org')
    assert.equal(config.signing_alg, 'EdDSA')
    assert.equal(config.development, undefined)
    const token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim()
    assert.ok(r.stdout.includes(token))
    assert.ok(!JSON.stringify(config).includes(token), 'only the hash of the token is in the configuration')
    assert.equal((await stat(join(dir, 'keys.json'))).mode & 0o077, 0)
    const again = await cli(['init', '--dir', dir, '--entity-id', 'https://ta.example.org'])
    assert.equal(again.code, 2)
    assert.match(again.stderr, /already exists/)
  })

  it('encrypts private keys at rest with ANCHORAGE_KEK and refuses to start with another KEK', async () => {
    const dir = join(tmp, 'kek')
    const kek = 'a'.repeat(64)
    assert.equal((await cli(['init', '--dir', dir, '--entity-id', 'https://kek.example.org'], { env: { ANCHORAGE_KEK: kek } })).code, 0)
    const keys = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8'))
    assert.equal(keys.keys[0].sealed.enc, 'A256GCM')
    assert.ok(!JSON.stringify(keys).includes('"d"'), 'no private key member in clear')
    const r = await cli(['serve', '--dir', dir, '--port', '0', '--host', '127.0.0.1'], { env: { ANCHORAGE_KEK: 'b'.repeat(64) } })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /ANCHORAGE_KEK does not match/)
    const none = await cli(['serve', '--dir', dir, '--port', '0', '--host', '127.0.0.1'], { env: { ANCHORAGE_KEK: '' } })
    assert.equal(none.code, 1)
    assert.match(none.stderr, /encrypted but ANCHORAGE_KEK is not set/)
  })

  it('refuses an http entity id without development, and a bad configuration file naming the field', async () => {
    const dir = join(tmp, 'bad')
    assert.equal((await cli(['init', '--dir', dir, '--entity-id', 'https://x.example.org'])).code, 0)
    const path = join(dir, 'anchorage.json')
    const config = JSON.parse(await readFile(path, 'utf8'))
    await writeFile(path, JSON.stringify({ ...config, entity_id: 'http://x.example.org' }))
    let r = await cli(['serve', '--dir', dir, '--port', '0'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /entity_id: must be an https URL/)
    await writeFile(path, JSON.stringify({ ...config, lifetimes: { entity_configuration: 'long' } }))
    r = await cli(['serve', '--dir', dir, '--port', '0'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /lifetimes\.entity_configuration: must be integer/)
    await writeFile(path, JSON.stringify({ ...config, colour: 'blue' }))
    r = await cli(['serve', '--dir', dir, '--port', '0'])
    assert.match(r.stderr, /colour: unknown property/)
  })

  it('serves, onboards through the CLI, and keeps every acknowledged member across SIGTERM and kill -9', async () => {
    const port = await freePort()
    const dir = join(tmp, 'live')
    const url = `http://127.0.0.1:${port}`
    assert.equal((await cli(['init', '--dir', dir, '--entity-id', url])).code, 0)
    let server = await serve(['--dir', dir, '--port', String(port), '--host', '127.0.0.1'])
    const jwks = join(tmp, 'jwks.json')
    await writeFile(jwks, JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }] }))
    const add = await cli(['subordinate', 'add', 'https://rp.example.org', '--jwks', jwks, '--entity-type', 'openid_relying_party', '--dir', dir, '--url', url])
    assert.equal(add.code, 0, add.stderr)
    assert.equal(JSON.parse(add.stdout).entity_id, 'https://rp.example.org')
    const dup = await cli(['subordinate', 'add', 'https://rp.example.org', '--jwks', jwks, '--dir', dir, '--url', url])
    assert.equal(dup.code, 1)
    assert.match(dup.stderr, /HTTP 409 conflict/)
    assert.equal(await server.stop('SIGTERM'), 0)

    server = await serve(['--dir', dir, '--port', String(port), '--host', '127.0.0.1'])
    const list = await cli(['subordinate', 'list', '--dir', dir, '--url', url])
    assert.match(list.stdout, /active\s+https:\/\/rp\.example\.org/)
    // Acknowledged writes, then kill -9 with no chance to flush.
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${url}/admin/subordinates`, {
        method: 'POST',
        headers: { authorization: `Bearer ${(await readFile(join(dir, 'admin.token'), 'utf8')).trim()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ entity_id: `https://m${i}.example.org`, jwks: JSON.parse(await readFile(jwks, 'utf8')) }),
      })
      assert.equal(r.status, 201)
    }
    await server.stop('SIGKILL')
    server = await serve(['--dir', dir, '--port', String(port), '--host', '127.0.0.1'])
    const members = (await (await fetch(`${url}/list`)).json()) as string[]
    assert.equal(members.length, 21)
    const audit = await cli(['audit', '--dir', dir, '--url', url, '--action', 'subordinate.add'])
    assert.equal(audit.stdout.trim().split('\n').length, 22) // 21 successes + the refused duplicate
    const keys = await cli(['keys', 'rotate', '--dir', dir, '--url', url])
    assert.equal(keys.code, 0, keys.stderr)
    await server.stop()
  })

  it('filters the roster and the audit log, exports the log, and says what depends on a member', async function () {
    this.timeout(120_000) // a dozen CLI processes, each starting tsx
    const port = await freePort()
    const dir = join(tmp, 'console')
    const url = `http://127.0.0.1:${port}`
    assert.equal((await cli(['init', '--dir', dir, '--entity-id', url])).code, 0)
    const server = await serve(['--dir', dir, '--port', String(port), '--host', '127.0.0.1'])
    try {
      const token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim()
      const jwks = { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }] }
      for (const id of ['https://rp.example.org', ...Array.from({ length: 20 }, (_, i) => `https://m${i}.example.org`)]) {
        const r = await fetch(`${url}/admin/subordinates`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ entity_id: id, jwks, entity_types: ['openid_relying_party'] }) })
        assert.equal(r.status, 201)
      }
      // The console's filters from the command line: a prefix search, an actor, an export.
      const found = await cli(['subordinate', 'list', '--dir', dir, '--url', url, '--q', 'm1', '--entity-type', 'openid_provider'])
      assert.equal(found.code, 0, found.stderr)
      assert.equal(found.stdout.trim(), '(no subordinates)')
      const m1 = await cli(['subordinate', 'list', '--dir', dir, '--url', url, '--q', 'm1', '--json'])
      assert.deepEqual(JSON.parse(m1.stdout).items.map((m: { entity_id: string }) => m.entity_id), ['https://m1.example.org', 'https://m10.example.org', ...Array.from({ length: 9 }, (_, i) => `https://m1${i + 1}.example.org`).slice(0, 9)])
      const deps = await cli(['subordinate', 'dependents', 'https://rp.example.org', '--dir', dir, '--url', url])
      assert.equal(deps.code, 0, deps.stderr)
      assert.match(deps.stdout, /^https:\/\/rp\.example\.org \(active\): 0 active clients, 0 active tokens depend on it\n/)
      const preview = await cli(['subordinate', 'preview', 'https://127.0.0.1:9', '--dir', dir, '--url', url])
      assert.equal(preview.code, 0, preview.stderr)
      assert.match(JSON.parse(preview.stdout).problems[0], /^the entity configuration of https:\/\/127\.0\.0\.1:9 could not be fetched: /)
      const shown = await cli(['subordinate', 'show', 'https://rp.example.org', '--detail', '--dir', dir, '--url', url])
      assert.equal(JSON.parse(shown.stdout).statement.payload.sub, 'https://rp.example.org')
      const byActor = await cli(['audit', '--dir', dir, '--url', url, '--actor', 'admin', '--action', 'subordinate.add', '--since', '2000-01-01'])
      assert.equal(byActor.stdout.trim().split('\n').length, 21)
      const csv = await cli(['audit', '--dir', dir, '--url', url, '--action', 'subordinate.add', '--export', 'csv'])
      assert.equal(csv.code, 0, csv.stderr)
      const rows = csv.stdout.split('\r\n')
      assert.equal(rows[0], 'seq,time,actor,action,subject,outcome,detail')
      assert.equal(rows.length, 23) // the header, 21 events, and the empty text after the last line break
      const bad = await cli(['audit', '--dir', dir, '--url', url, '--since', 'yesterday'])
      assert.equal(bad.code, 1)
      assert.match(bad.stderr, /HTTP 400 invalid_request: since: must be an RFC 3339 date-time/)
    } finally {
      await server.stop()
    }
  })

  it('serve --init-if-missing with a PORT that is no port: said as such, nothing created', async () => {
    const dir = join(tmp, 'bad-port')
    const r = await cli(['serve', '--dir', dir, '--init-if-missing'], { env: { PORT: 'abc' } })
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.stderr.trim(), 'anchorage: PORT: not a port number: abc')
    await assert.rejects(readFile(join(dir, 'anchorage.json'), 'utf8'), /ENOENT/)
  })

  it('serve --init-if-missing creates a development deployment and says where the token lives', async () => {
    const port = await freePort()
    const dir = join(tmp, 'fresh')
    const server = await serve(['--dir', dir, '--port', String(port), '--host', '127.0.0.1', '--init-if-missing'])
    try {
      assert.match(server.output(), /configuration: .*anchorage\.json/)
      assert.match(server.output(), /admin token: {3}.*admin\.token/)
      assert.match(server.output(), /ANCHORAGE_KEK is not set/)
      const config = JSON.parse(await readFile(join(dir, 'anchorage.json'), 'utf8'))
      assert.equal(config.entity_id, `http://localhost:${port}`)
      const res = await fetch(`http://127.0.0.1:${port}/.well-known/openid-federation`)
      assert.equal(res.status, 200)
    } finally {
      await server.stop()
    }
  })
})
