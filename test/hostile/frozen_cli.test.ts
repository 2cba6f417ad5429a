/**
 * The real `anchorage serve` process runs with frozen intrinsics (cli/harden.ts, imported
 * first by the process entry): it says so when it starts, its dependencies work under it,
 * and a hostile federation changes nothing in it.
 *
 *   TA  (anchorage serve, a child process: anchor and resolver)
 *    |  TA -> hi carries a policy
 *   hi  (hostile server) -- hi -> leaf carries {"__proto__": …, "constructor": …} policies
 *    |
 *   leaf, good (hostile server; good directly under TA)
 *
 * This mocha process itself is not frozen, so the other hostile tests observe any pollution.
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, serve } from '../support/cli.js'
import { freePort } from '../support/net.js'
import { ManualClock } from '../../src/clock.js'
import { startHostile, type HostileServer } from '../support/hostile.js'
import { decode } from '../support/federation.js'
import { raw } from './cases.js'

describe('hostile: anchorage serve runs with frozen intrinsics', function () {
  this.timeout(60_000)
  // The child uses the system clock: statements are issued for now.
  const clock = new ManualClock(Math.floor(Date.now() / 1000))
  let dir: string, url: string, token: string
  let server: Awaited<ReturnType<typeof serve>>
  let h: HostileServer

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    return { status: res.status, body: (await res.json()) as any }
  }
  const resolve = async (sub: string, extra = '') => {
    const res = await fetch(`${url}/resolve?sub=${encodeURIComponent(sub)}&trust_anchor=${encodeURIComponent(url)}${extra}`)
    const text = await res.text()
    return { status: res.status, text, payload: res.status === 200 ? decode(text).payload : undefined }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anchorage-frozen-'))
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    const init = await cli(['init', '--dir', join(dir, 'ta'), '--entity-id', url, '--development'])
    assert.equal(init.code, 0, init.stderr)
    token = (await readFile(join(dir, 'ta', 'admin.token'), 'utf8')).trim()
    server = await serve(['--dir', join(dir, 'ta'), '--port', String(port), '--host', '127.0.0.1', '--allow-http', '--allow-private-network'])
    h = await startHostile({ clock })
  })
  after(async () => {
    await server?.stop()
    await h?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('says at start that its intrinsics are frozen', () => {
    assert.match(server.output(), /listening on http:\/\/127\.0\.0\.1:\d+ \(store: embedded, intrinsics frozen\)/)
  })

  it('resolves through a hostile intermediate whose policies name Object.prototype members, and keeps working', async () => {
    const md = { federation_entity: { organization_name: 'Leaf' }, openid_relying_party: { client_name: 'RP' } }
    const hi = h.add('hi', { authority_hints: [url], intermediate: true })
    const leaf = h.add('leaf', { authority_hints: [hi.id], metadata: md })
    const good = h.add('good', { authority_hints: [url], metadata: md })
    h.subordinate(hi, leaf, {
      metadata_policy: raw('{"__proto__": {"trust_chain": {"value": "x"}}, "constructor": {"keys": {"value": []}}, "toString": {"x": {"value": 1}}, "openid_relying_party": {"__proto__": {"value": "p"}, "hasOwnProperty": {"value": "h"}}}'),
    })
    assert.equal((await admin('POST', '/admin/subordinates', { entity_id: hi.id, intermediate: true, metadata_policy: { openid_relying_party: { contacts: { add: ['ops@ta.example'] } } } })).status, 201)
    assert.equal((await admin('POST', '/admin/subordinates', { entity_id: good.id })).status, 201)

    const r = await resolve(leaf.id)
    assert.equal(r.status, 200, r.text)
    const rp = r.payload!.metadata.openid_relying_party
    assert.deepEqual(Object.keys(r.payload!.metadata).sort(), ['federation_entity', 'openid_relying_party'])
    assert.deepEqual([Object.getOwnPropertyDescriptor(rp, '__proto__')?.value, rp.hasOwnProperty, rp.contacts], ['p', 'h', ['ops@ta.example']])

    for (const t of ['toString', 'constructor', '__proto__']) {
      const absent = await resolve(leaf.id, `&entity_type=${t}`)
      assert.equal(absent.status, 400, absent.text)
      assert.equal(JSON.parse(absent.text).error, 'invalid_metadata')
    }
    // Everything that broke after a pollution still works: resolution, onboarding, key rotation.
    assert.equal((await resolve(good.id)).status, 200)
    assert.equal((await admin('POST', '/admin/subordinates', { entity_id: h.add('later', { authority_hints: [url] }).id })).status, 201)
    const rotated = await admin('POST', '/admin/keys/rotate', { alg: 'PS256' })
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body))
    assert.equal((await resolve(good.id, '&entity_type=openid_relying_party')).status, 200)
  })

  it('stops cleanly', async () => {
    assert.equal(await server.stop(), 0)
  })
})
