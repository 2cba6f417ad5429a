/**
 * kill -9 of a real `anchorage serve` (child process, embedded store) in the middle of an
 * onboarding burst, three times:
 *
 *   8 writers --POST /admin/subordinates (keep-alive)--> anchorage serve --SIGKILL--> restart
 *
 * A member and its `subordinate.add` event are one journal line (docs/storage.md), so after
 * every restart each acknowledged member is there with exactly one event, no member lacks
 * one, and no event names a member that does not exist (a write cut off by the kill leaves
 * both or neither).
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, serve } from '../support/cli.js'
import { freePort } from '../support/net.js'
import { startBurst, listedMembers, addEventsBySubject } from '../support/burst.js'

describe('anchorage serve killed with SIGKILL', function () {
  this.timeout(120_000)
  let tmp: string
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'anchorage-kill-'))
  })
  after(() => rm(tmp, { recursive: true, force: true }))

  it('in an 8-writer onboarding burst keeps every acknowledged member with exactly one audit event, and no event without its member (three times)', async () => {
    const port = await freePort()
    const dir = join(tmp, 'burst')
    const url = `http://127.0.0.1:${port}`
    const init = await cli(['init', '--dir', dir, '--entity-id', url])
    assert.equal(init.code, 0, init.stderr)
    const token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim()
    const start = () => serve(['--dir', dir, '--port', String(port), '--host', '127.0.0.1'])

    const acknowledged = new Set<string>()
    let server = await start()
    for (let round = 0; round < 3; round++) {
      const burst = await startBurst({ url, token, writers: 8, prefix: `k${round}` })
      // Killed at a different point of each burst, while all eight writers have a request in flight.
      await burst.reached(150 + round * 250)
      await server.stop('SIGKILL')
      await burst.done
      assert.ok(burst.outcomes.get('network')! > 0, 'the kill cut requests off mid-flight')
      assert.deepEqual([...burst.outcomes.keys()].filter((k) => k !== '201' && k !== 'network'), [], JSON.stringify([...burst.outcomes]))
      for (const id of burst.acknowledged) acknowledged.add(id)

      server = await start()
      const listed = await listedMembers(url)
      assert.deepEqual([...acknowledged].filter((id) => !listed.has(id)), [], `round ${round}: acknowledged members lost`)
      const events = await addEventsBySubject(url, token)
      const wrong = [...listed].filter((id) => events.get(id) !== 1).map((id) => `${id}: ${events.get(id) ?? 0}`)
      assert.deepEqual(wrong, [], `round ${round}: members without exactly one subordinate.add event`)
      const orphans = [...events.keys()].filter((id) => !listed.has(id))
      assert.deepEqual(orphans, [], `round ${round}: events naming a member that does not exist`)
      // At most the writes in flight at the kill (one per writer) survived unacknowledged.
      assert.ok(listed.size - acknowledged.size <= 8 * (round + 1), `${listed.size} members, ${acknowledged.size} acknowledged`)
    }
    await server.stop()
  })
})
