/**
 * Topology: TA (Anchorage, https on 127.0.0.1 with a certificate from a throw-away CA) and
 * the real `anchorage init --authorization-server --trust-anchor` run as a child process.
 * Pinning an https anchor on a loopback address needs the private-network permission and
 * the CA (flag or environment); both are kept in the configuration written.
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '../../src/clock.js'
import { freePort } from '../support/net.js'
import { startEntity, type TestEntity } from '../support/federation.js'
import { makePki, type TestPki } from '../support/tls.js'
import { cli } from '../support/cli.js'

describe('anchorage init --trust-anchor with an https anchor on loopback', () => {
  let pki: TestPki
  let ta: TestEntity
  let work: string
  before(async () => {
    pki = await makePki()
    const port = await freePort()
    ta = await startEntity({
      clock: new ManualClock(), port,
      config: { entity_id: `https://127.0.0.1:${port}`, server: { tls_cert: pki.certFile, tls_key: pki.keyFile } },
    })
    work = await mkdtemp(join(tmpdir(), 'anchorage-init-tls-'))
  })
  after(async () => {
    await ta?.stop()
    await pki?.remove()
    await rm(work, { recursive: true, force: true })
  })

  const init = (dir: string, extra: string[], env: NodeJS.ProcessEnv = {}) => cli([
    'init', '--dir', join(work, dir), '--entity-id', 'https://as.example.org', '--authorization-server',
    '--resource', 'https://mcp.example/api', '--trust-anchor', ta.federation.entityId, ...extra,
  ], { env: { ANCHORAGE_ALLOW_PRIVATE_NETWORK: '', NODE_EXTRA_CA_CERTS: '', ...env } })
  const config = async (dir: string) => JSON.parse(await readFile(join(work, dir, 'anchorage.json'), 'utf8'))
  const taKids = async () => (await ta.federation.keystore.jwks()).keys.map((k) => k.kid)

  it('refuses the loopback address without the private-network permission', async () => {
    const r = await init('a', ['--ca-file', pki.caFile])
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(r.stderr, new RegExp(`--trust-anchor ${ta.federation.entityId}: cannot fetch`))
  })

  it('refuses a certificate from an unknown CA', async () => {
    const r = await init('b', ['--allow-private-network'])
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(r.stderr, /cannot fetch/)
  })

  it('pins the anchor with --allow-private-network and --ca-file, and keeps both in the configuration', async () => {
    const r = await init('c', ['--allow-private-network', '--ca-file', pki.caFile])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const c = await config('c')
    assert.equal(c.trust_anchors[0].entity_id, ta.federation.entityId)
    assert.deepEqual(c.trust_anchors[0].jwks.keys.map((k: { kid: string }) => k.kid), await taKids())
    assert.deepEqual(c.outbound, { allow_private_network: true, ca_file: pki.caFile })
  })

  it('pins the anchor with ANCHORAGE_ALLOW_PRIVATE_NETWORK and NODE_EXTRA_CA_CERTS', async () => {
    const r = await init('d', [], { ANCHORAGE_ALLOW_PRIVATE_NETWORK: '1', NODE_EXTRA_CA_CERTS: pki.caFile })
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const c = await config('d')
    assert.deepEqual(c.trust_anchors[0].jwks.keys.map((k: { kid: string }) => k.kid), await taKids())
    assert.deepEqual(c.outbound, { allow_private_network: true })
  })
})
