/**
 * `anchorage init`, `serve` and `operators` as an operator runs them: an https deployment gets
 * a private admin plane that the CLI finds from the deployment directory, operators are
 * added, used, rotated and disabled from the command line, and SIGTERM closes both listeners.
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, serve } from '../support/cli.js'
import { freePort } from '../support/net.js'

describe('anchorage operators and the admin plane (CLI)', function () {
  this.timeout(120_000)
  let tmp: string
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'anchorage-operators-cli-'))
  })
  after(() => rm(tmp, { recursive: true, force: true }))

  const config = async (dir: string) => JSON.parse(await readFile(join(dir, 'anchorage.json'), 'utf8'))

  it('init gives an https deployment a loopback admin plane on port + 1 and keeps a development one shared', async () => {
    const https = join(tmp, 'https')
    const r = await cli(['init', '--dir', https, '--entity-id', 'https://ta.example.org'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal((await config(https)).admin.listen, '127.0.0.1:8081')
    assert.match(r.stdout, /admin plane: http:\/\/127\.0\.0\.1:8081/)
    const dev = join(tmp, 'dev')
    assert.equal((await cli(['init', '--dir', dev, '--entity-id', 'http://localhost:8080'])).code, 0)
    assert.equal((await config(dev)).admin.listen, undefined)
    const shared = join(tmp, 'shared')
    assert.equal((await cli(['init', '--dir', shared, '--entity-id', 'https://ta.example.org', '--admin-listen', 'shared'])).code, 0)
    assert.equal((await config(shared)).admin.listen, undefined)
    // The admin plane follows the port serve will listen on: PORT, else the one the entity id writes.
    const env = join(tmp, 'env-port')
    assert.equal((await cli(['init', '--dir', env, '--entity-id', 'https://ta.example.org'], { env: { PORT: '9000' } })).code, 0)
    assert.equal((await config(env)).admin.listen, '127.0.0.1:9001')
    const written = join(tmp, 'written-port')
    assert.equal((await cli(['init', '--dir', written, '--entity-id', 'https://ta.example.org:9443'])).code, 0)
    assert.equal((await config(written)).admin.listen, '127.0.0.1:9444')
    const badPort = await cli(['init', '--dir', join(tmp, 'bad-port'), '--entity-id', 'https://ta.example.org'], { env: { PORT: 'eighty' } })
    assert.equal(badPort.code, 2)
    assert.match(badPort.stderr, /PORT: not a port number: eighty/)
    const bad = await cli(['init', '--dir', join(tmp, 'bad'), '--entity-id', 'https://ta.example.org', '--admin-listen', 'localhost'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--admin-listen: must be HOST:PORT/)
  })

  it('adds, uses, rotates and disables operators end to end; the admin API is only on the admin plane; SIGTERM closes both listeners', async () => {
    const port = await freePort()
    const adminPort = await freePort()
    const dir = join(tmp, 'live')
    const init = await cli(['init', '--dir', dir, '--entity-id', 'https://ta.example.org', '--admin-listen', `127.0.0.1:${adminPort}`])
    assert.equal(init.code, 0, init.stderr)
    const server = await serve(['--dir', dir, '--port', String(port), '--host', '127.0.0.1'])
    try {
      assert.match(server.output(), new RegExp(`admin plane on http://127\\.0\\.0\\.1:${adminPort}`))
      const adminToken = (await readFile(join(dir, 'admin.token'), 'utf8')).trim()
      const publicAdmin = await fetch(`http://127.0.0.1:${port}/admin/subordinates`, { headers: { authorization: `Bearer ${adminToken}` } })
      assert.equal(publicAdmin.status, 404)
      assert.equal((await fetch(`http://127.0.0.1:${port}/.well-known/openid-federation`)).status, 200)

      // The CLI finds the admin plane from DIR/anchorage.json.
      const add = await cli(['operators', 'add', 'alice', '--role', 'operator', '--dir', dir])
      assert.equal(add.code, 0, add.stderr)
      const aliceToken = /^ {2}(\S+)$/m.exec(add.stdout)?.[1]
      assert.ok(aliceToken, add.stdout)
      assert.match(add.stdout, /added operator alice \(role operator\)/)
      const list = await cli(['operators', 'list', '--dir', dir])
      assert.equal(list.code, 0, list.stderr)
      assert.match(list.stdout, /active\s+admin\s+admin\b/)
      assert.match(list.stdout, /active\s+operator\s+alice\b/)
      assert.doesNotMatch(list.stdout, new RegExp(aliceToken))

      const jwks = join(tmp, 'jwks.json')
      await writeFile(jwks, JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }] }))
      const onboard = await cli(['subordinate', 'add', 'https://rp.example.org', '--jwks', jwks, '--dir', dir, '--token', aliceToken], { env: { USER: 'mallory' } })
      assert.equal(onboard.code, 0, onboard.stderr)
      const rotateKeys = await cli(['keys', 'rotate', '--dir', dir, '--token', aliceToken])
      assert.equal(rotateKeys.code, 1)
      assert.match(rotateKeys.stderr, /HTTP 403 insufficient_scope: POST \/keys\/rotate requires the admin role/)
      const audit = await cli(['audit', '--dir', dir, '--action', 'subordinate.add', '--json'])
      assert.equal(audit.code, 0, audit.stderr)
      assert.deepEqual(JSON.parse(audit.stdout).events.map((e: { actor: string }) => e.actor), ['alice'])

      const rotated = await cli(['operators', 'rotate', 'alice', '--dir', dir])
      assert.equal(rotated.code, 0, rotated.stderr)
      const newToken = /^ {2}(\S+)$/m.exec(rotated.stdout)?.[1]
      assert.ok(newToken && newToken !== aliceToken)
      const old = await cli(['subordinate', 'list', '--dir', dir, '--token', aliceToken])
      assert.equal(old.code, 1)
      assert.match(old.stderr, /HTTP 401 unauthorized/)
      assert.equal((await cli(['subordinate', 'list', '--dir', dir, '--token', newToken])).code, 0)

      const disabled = await cli(['operators', 'disable', 'alice', '--dir', dir])
      assert.equal(disabled.code, 0, disabled.stderr)
      assert.match(disabled.stdout, /disabled operator alice/)
      const refused = await cli(['subordinate', 'list', '--dir', dir, '--token', newToken])
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /HTTP 401 unauthorized/)
      // Enabled again with a new token: the one it had when disabled stays refused.
      const enabled = await cli(['operators', 'enable', 'alice', '--dir', dir])
      assert.equal(enabled.code, 0, enabled.stderr)
      assert.match(enabled.stdout, /enabled operator alice \(role operator\)/)
      const enabledToken = /^ {2}(\S+)$/m.exec(enabled.stdout)?.[1]
      assert.ok(enabledToken && enabledToken !== newToken)
      assert.equal((await cli(['subordinate', 'list', '--dir', dir, '--token', newToken])).code, 1)
      assert.equal((await cli(['subordinate', 'list', '--dir', dir, '--token', enabledToken])).code, 0)
      const twice = await cli(['operators', 'enable', 'alice', '--dir', dir])
      assert.equal(twice.code, 1)
      assert.match(twice.stderr, /HTTP 409 conflict: operator alice is active/)
      // --admin-url names the admin plane explicitly; the public listener has no admin API.
      assert.equal((await cli(['operators', 'list', '--dir', dir, '--admin-url', `http://127.0.0.1:${adminPort}`])).code, 0)
      const wrong = await cli(['operators', 'list', '--dir', dir, '--admin-url', `http://127.0.0.1:${port}`])
      assert.equal(wrong.code, 1)
      assert.match(wrong.stderr, /HTTP 404 not_found/)
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0)
    }
    await assert.rejects(fetch(`http://127.0.0.1:${adminPort}/healthz`))
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`))
  })

  it('explains the operators command and refuses a missing role', async () => {
    const help = await cli(['operators', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /add NAME --role auditor\|operator\|admin/)
    const r = await cli(['operators', 'add', 'bob', '--dir', join(tmp, 'https')])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--role/)
  })
})
