/**
 * Topology (each entity on its own loopback port with its own keys):
 *
 *     TA  <-  IA  <-  LEAF      (TA -> IA carries a metadata policy)
 *
 * `anchorage resolve`, run in-process through resolveCommand: the tree, --json, pinning
 * from a file or (said out loud) from the anchor's own configuration, and failures.
 */
import { strict as assert } from 'node:assert'
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveCommand } from '../../src/cli/resolve.js'
import { UsageError, type IO } from '../../src/cli/args.js'
import { threeLevel, pinned, testKey, type ThreeLevel } from '../support/federation.js'

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = []
  const err: string[] = []
  const value: IO = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), readFile: (p) => readFile(p, 'utf8'), env }
  return { io: value, out: () => out.join('\n'), err: () => err.join('\n') }
}

describe('anchorage resolve', () => {
  let fed: ThreeLevel
  let dir: string
  const flags = ['--allow-http', '--allow-private-network']
  before(async () => {
    fed = await threeLevel({ iaPolicy: { openid_relying_party: { grant_types: { subset_of: ['authorization_code'] } } } })
    dir = await mkdtemp(join(tmpdir(), 'anchorage-cli-'))
  })
  after(async () => {
    await fed?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('prints the chain as a tree and the resolved metadata, pinning keys from a file', async () => {
    const file = join(dir, 'ta.jwks.json')
    await writeFile(file, JSON.stringify((await pinned(fed.ta)).jwks))
    const c = io()
    const code = await resolveCommand([fed.leaf.entityId, '--trust-anchor', fed.ta.entityId, '--trust-anchor-jwks', file, ...flags], c.io)
    assert.equal(code, 0, c.out())
    const out = c.out()
    assert.match(out, new RegExp(`^Trust chain of ${fed.leaf.entityId} to trust anchor ${fed.ta.entityId}`))
    assert.match(out, new RegExp(`└─ ${fed.leaf.entityId}  statement issued by ${fed.ia.entityId}`))
    assert.match(out, /entity configuration \(trust anchor\)/)
    assert.match(out, /kid [\w-]+, exp \d{4}-\d\d-\d\dT/)
    assert.match(out, /"grant_types": \[\n\s+"authorization_code"\n\s+\]/)
    assert.equal(c.err(), '')
  })

  it('says so when it pins the anchor keys from the anchor itself, and prints JSON', async () => {
    const c = io({ ANCHORAGE_ALLOW_HTTP: '1', ANCHORAGE_ALLOW_PRIVATE_NETWORK: '1' })
    const code = await resolveCommand([fed.leaf.entityId, '--trust-anchor', fed.ta.entityId, '--entity-type', 'openid_relying_party', '--json'], c.io)
    assert.equal(code, 0)
    assert.match(c.err(), /pinned the keys of .* from its own entity configuration for this run only/)
    const j = JSON.parse(c.out())
    assert.equal(j.ok, true)
    assert.equal(j.trust_chain.length, 4)
    assert.deepEqual(Object.keys(j.metadata), ['openid_relying_party'])
    assert.equal(j.links.length, 4)
  })

  it('exits 1 and lists each path tried with the statement and rule that failed', async () => {
    const wrong = join(dir, 'wrong.jwks.json')
    await writeFile(wrong, JSON.stringify({ keys: [(await testKey()).publicJwk] }))
    const c = io()
    const code = await resolveCommand([fed.leaf.entityId, '--trust-anchor', fed.ta.entityId, '--trust-anchor-jwks', wrong, ...flags], c.io)
    assert.equal(code, 1)
    assert.match(c.out(), /^No trust chain for .*: invalid_trust_chain/)
    assert.match(c.out(), new RegExp(`1\\. ${fed.leaf.entityId} > ${fed.ia.entityId} > ${fed.ta.entityId}`))
    assert.match(c.out(), /failed rule "anchor_key"/)
    const j = io()
    await resolveCommand([fed.leaf.entityId, '--trust-anchor', fed.ta.entityId, '--trust-anchor-jwks', wrong, '--json', ...flags], j.io)
    const body = JSON.parse(j.out())
    assert.equal(body.ok, false)
    assert.equal(body.error, 'invalid_trust_chain')
    assert.deepEqual(body.paths.map((p: { rule: string }) => p.rule), ['anchor_key'])
    assert.equal(body.paths[0].statement, `entity configuration of ${fed.ta.entityId}`)
  })

  it('refuses loopback entities without the allow flags', async () => {
    const c = io()
    await assert.rejects(resolveCommand([fed.leaf.entityId, '--trust-anchor', fed.ta.entityId], c.io), UsageError)
  })

  it('reports usage errors', async () => {
    await assert.rejects(resolveCommand([], io().io), /exactly one ENTITY_ID/)
    await assert.rejects(resolveCommand(['https://a.example'], io().io), /--trust-anchor is required/)
    const h = io()
    assert.equal(await resolveCommand(['--help'], h.io), 0)
    assert.match(h.out(), /^Usage: anchorage resolve/)
  })
})
