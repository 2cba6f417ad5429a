/**
 * Topology: TA (ManualClock) and R, a resolver pinning TA's keys. The operator's commands
 * `anchorage keys stage|activate|list` and `anchorage anchors list|refresh`, run in-process
 * against the admin API.
 */
import { strict as assert } from 'node:assert'
import { ManualClock } from '../../src/clock.js'
import { keysCommand } from '../../src/cli/commands.js'
import { anchorsCommand } from '../../src/cli/anchors.js'
import type { IO } from '../../src/cli/args.js'
import { startEntity, pinned, type TestEntity } from '../support/federation.js'

describe('anchorage keys and anchors commands', () => {
  const clock = new ManualClock()
  let ta: TestEntity, r: TestEntity
  const out: string[] = []
  const io: IO = { stdout: (s) => out.push(s), stderr: (s) => out.push(s), readFile: async () => '', env: {} }
  // --token=VALUE: a random token may start with '-', which parseArgs would take for an option.
  const conn = (e: TestEntity) => ['--url', e.entityId, `--token=${e.token}`]
  before(async () => {
    ta = await startEntity({ clock })
    r = await startEntity({ clock, config: { trust_anchors: [await pinned(ta)] } })
  })
  after(async () => {
    await Promise.all([ta?.stop(), r?.stop()])
  })

  it('keys stage, list (staged at, activatable at) and activate (refused early, then with --force)', async () => {
    const old = (await ta.federation.keystore.signingKey()).kid
    assert.equal(await keysCommand(['stage', ...conn(ta), '--json'], io), 0)
    const staged = JSON.parse(out.at(-1)!) as { kid: string; staged_at: number; activatable_at: number }
    assert.equal(await keysCommand(['list', ...conn(ta)], io), 0)
    const line = out.at(-1)!.split('\n').find((l) => l.includes(staged.kid))!
    const iso = (t: number) => new Date(t * 1000).toISOString()
    assert.equal(line, `staged     ES256 ${staged.kid}  staged ${iso(staged.staged_at)}, activatable ${iso(staged.activatable_at)}`)
    assert.equal(await keysCommand(['activate', staged.kid, ...conn(ta)], io), 1)
    assert.match(out.at(-1)!, /HTTP 400 invalid_request: key ".*" can be activated from/)
    assert.equal(await keysCommand(['activate', staged.kid, '--force', ...conn(ta)], io), 0)
    assert.equal((await ta.federation.keystore.signingKey()).kid, staged.kid)
    assert.equal(await keysCommand(['list', ...conn(ta)], io), 0)
    assert.match(out.at(-1)!, new RegExp(`^published  ES256 ${old}  activated .*, superseded `, 'm'))
  })

  it('anchors refresh refuses a configuration signed by an unpinned key and accepts it with --accept-kid', async () => {
    const kid = (await ta.federation.keystore.signingKey()).kid
    assert.equal(await anchorsCommand(['refresh', ...conn(r)], io), 0)
    assert.match(out.at(-1)!, new RegExp(`^${ta.entityId}  invalid_trust_anchor: .*signed by kid "${kid}", which is not among its pinned keys`))
    assert.equal(await anchorsCommand(['refresh', '--anchor', ta.entityId, '--accept-kid', kid, ...conn(r)], io), 0)
    assert.match(out.at(-1)!, new RegExp(`^${ta.entityId}  .*${kid}.*  updated$`))
    assert.equal(await anchorsCommand(['list', ...conn(r)], io), 0)
    assert.ok(out.at(-1)!.includes(kid))
    await assert.rejects(anchorsCommand(['refresh', '--accept-kid', kid, ...conn(r)], io), { name: 'UsageError', message: 'anchors refresh: --accept-kid needs --anchor' })
  })
})
