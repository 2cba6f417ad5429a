/**
 * TLS on the admin plane (admin.tls_cert / admin.tls_key; docs/operations.md, "The admin
 * plane"): the admin listener speaks https only, the CLI finds it as https from the
 * deployment directory and trusts the deployment's own self-signed certificate, a certificate
 * of another CA with --ca-file, and says what to do when it cannot trust it.
 */
import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { cli, serve } from '../support/cli.js'
import { freePort } from '../support/net.js'
import { makePki, type TestPki } from '../support/tls.js'

const run = promisify(execFile)

describe('TLS on the admin plane', function () {
  this.timeout(120_000)
  let tmp: string
  let pki: TestPki
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'anchorage-admin-tls-'))
    pki = await makePki()
  })
  after(async () => {
    await rm(tmp, { recursive: true, force: true })
    await pki.remove()
  })

  async function deployment(name: string, cert: string, key: string): Promise<{ dir: string; port: number; adminPort: number }> {
    const dir = join(tmp, name)
    const [port, adminPort] = [await freePort(), await freePort()]
    const init = await cli(['init', '--dir', dir, '--entity-id', 'https://ta.example.org', '--admin-listen', `127.0.0.1:${adminPort}`])
    assert.equal(init.code, 0, init.stderr)
    const path = join(dir, 'anchorage.json')
    const config = JSON.parse(await readFile(path, 'utf8'))
    config.admin.tls_cert = cert
    config.admin.tls_key = key
    await writeFile(path, JSON.stringify(config, null, 2))
    return { dir, port, adminPort }
  }

  it('serves the admin API over https with a self-signed certificate the CLI trusts from the deployment', async () => {
    // The documented command: a self-signed certificate for the admin plane's address.
    const cert = join(tmp, 'admin.pem')
    const key = join(tmp, 'admin.key')
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-keyout', key, '-out', cert, '-subj', '/CN=anchorage admin', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'])
    const d = await deployment('self-signed', cert, key)
    const server = await serve(['--dir', d.dir, '--port', String(d.port), '--host', '127.0.0.1'])
    try {
      assert.match(server.output(), new RegExp(`admin plane on https://127\\.0\\.0\\.1:${d.adminPort}`))
      const list = await cli(['operators', 'list', '--dir', d.dir])
      assert.equal(list.code, 0, list.stderr)
      assert.match(list.stdout, /active\s+admin\s+admin\b/)
      // Plain HTTP on the admin port gets no admin API.
      await assert.rejects(fetch(`http://127.0.0.1:${d.adminPort}/admin/operators`))
      // The public listener still has none either.
      assert.equal((await fetch(`http://127.0.0.1:${d.port}/admin/operators`)).status, 404)
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })

  it('trusts another CA with --ca-file, and says what to do without it', async () => {
    const d = await deployment('ca-issued', pki.certFile, pki.keyFile)
    const server = await serve(['--dir', d.dir, '--port', String(d.port), '--host', '127.0.0.1'])
    try {
      const refused = await cli(['operators', 'list', '--dir', d.dir])
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, new RegExp(`cannot reach the server at https://127\\.0\\.0\\.1:${d.adminPort}: its certificate is not trusted \\(\\w+: .*\\); give its CA with --ca-file FILE or NODE_EXTRA_CA_CERTS`))
      const trusted = await cli(['operators', 'list', '--dir', d.dir, '--ca-file', pki.caFile])
      assert.equal(trusted.code, 0, trusted.stderr)
      const extra = await cli(['subordinate', 'list', '--dir', d.dir], { env: { NODE_EXTRA_CA_CERTS: pki.caFile } })
      assert.equal(extra.code, 0, extra.stderr)
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })
})
