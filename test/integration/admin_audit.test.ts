/**
 * The admin API's front door and its audit trail: the Bearer scheme in any case, refused
 * authentications aggregated per source address (one event per window with a count, the
 * path cut short), behind a trusted proxy by the forwarded address, and every member
 * change with its event (written with the change: docs/storage.md).
 *
 *   client --HTTP--> anchor (in process, ManualClock) --> embedded store
 */
import assert from 'node:assert/strict'
import { startEntity, type TestEntity } from '../support/entity.js'
import { memberJwks } from '../support/burst.js'

const refusalsOf = async (e: TestEntity) => (await e.admin('GET', '/admin/audit?action=admin.authenticate&limit=1000')).body.events

describe('admin API: authentication and its audit', function () {
  this.timeout(30_000)
  let ta: TestEntity
  afterEach(async () => ta?.stop())

  describe('Bearer scheme', () => {
    beforeEach(async () => (ta = await startEntity()))

    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      it(`accepts the scheme written "${scheme}" (RFC 7235: case-insensitive)`, async () => {
        const res = await ta.admin('GET', '/admin/subordinates', undefined, { authorization: `${scheme} ${ta.token}` })
        assert.equal(res.status, 200)
      })
    }

    it('still compares the token exactly: a token in another case is refused', async () => {
      const flipped = ta.token.replace(/[a-zA-Z]/g, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()))
      assert.notEqual(flipped, ta.token)
      const res = await ta.admin('GET', '/admin/subordinates', undefined, { authorization: `bearer ${flipped}` })
      assert.equal(res.status, 401)
      assert.equal(res.body.error_description, 'the admin token is not valid')
    })

    it('refuses other schemes and a scheme without a token', async () => {
      for (const authorization of [`Basic ${ta.token}`, 'bearer', `Bearer${ta.token}`, `Bearer ${ta.token} x`]) {
        assert.equal((await ta.admin('GET', '/admin/subordinates', undefined, { authorization })).status, 401, authorization)
      }
    })
  })

  describe('refused authentications', () => {
    it('records one event per address per window with a count, the path cut to 256 characters', async () => {
      ta = await startEntity()
      const longPath = `/admin/subordinates/${'x'.repeat(14_000)}`
      for (let i = 0; i < 50; i++) {
        const res = await ta.get(i % 2 ? longPath : '/admin/subordinates', i % 5 === 0 ? { authorization: 'Bearer nope' } : {})
        assert.equal(res.status, 401)
      }
      let events = await refusalsOf(ta)
      assert.equal(events.length, 1, 'the first refusal of the window is recorded at once, the rest counted')
      assert.deepEqual(events[0].detail, { ip: '127.0.0.1', count: 1, method: 'GET', path: '/admin/subordinates', reason: 'wrong token' })

      ta.clock.advance(30)
      await ta.federation.audit.refusals.flush()
      assert.equal((await refusalsOf(ta)).length, 1, 'nothing more within the window')
      ta.clock.advance(30)
      await ta.federation.audit.refusals.flush()
      events = await refusalsOf(ta)
      assert.equal(events.length, 2)
      const second = events[1].detail
      assert.equal(second.count, 49)
      assert.equal(second.path.length, 257, 'cut to 256 characters and an ellipsis')
      assert.ok(second.path.startsWith('/admin/subordinates/xxx') && second.path.endsWith('…'))
      assert.equal(second.since, new Date((ta.clock.now() - 60) * 1000).toISOString())

      // the flush opened a new window: a refusal inside it is counted, not recorded
      await ta.get('/admin/subordinates')
      assert.equal((await refusalsOf(ta)).length, 2)
      ta.clock.advance(60)
      await ta.get('/admin/keys')
      events = await refusalsOf(ta)
      assert.equal(events.length, 3)
      assert.equal(events[2].detail.count, 2, 'the refusal counted in the last window and this one')
      assert.equal(events[2].detail.path, '/admin/keys')
    })

    it('records what is still counted when the deployment stops', async () => {
      ta = await startEntity()
      for (let i = 0; i < 5; i++) await ta.get('/admin/audit')
      await ta.federation.audit.stop()
      const events = await refusalsOf(ta)
      assert.deepEqual(events.map((e: { detail: { count: number } }) => e.detail.count), [1, 4])
    })

    it('behind a trusted proxy, aggregates by the forwarded address (the last entry, the one the proxy appended)', async () => {
      ta = await startEntity({ config: { server: { trust_proxy: true } } })
      for (const ip of ['192.0.2.1', '192.0.2.1', '192.0.2.2', '198.51.100.7', '203.0.113.99, 192.0.2.2']) {
        await ta.get('/admin/subordinates', { 'x-forwarded-for': ip })
      }
      const ips = (await refusalsOf(ta)).map((e: { detail: { ip: string } }) => e.detail.ip)
      assert.deepEqual(ips, ['192.0.2.1', '192.0.2.2', '198.51.100.7'])
    })

    it('without a trusted proxy, ignores X-Forwarded-For', async () => {
      ta = await startEntity()
      for (const ip of ['192.0.2.1', '192.0.2.2']) await ta.get('/admin/subordinates', { 'x-forwarded-for': ip })
      const ips = (await refusalsOf(ta)).map((e: { detail: { ip: string } }) => e.detail.ip)
      assert.deepEqual(ips, ['127.0.0.1'])
    })

    it('bounds the events of many addresses: beyond the per-window budget they are counted under "*"', async () => {
      ta = await startEntity({ config: { server: { trust_proxy: true }, audit: { refusal_events_per_window: 3, refusal_sources: 2 } } })
      for (let i = 0; i < 20; i++) await ta.get('/admin/subordinates', { 'x-forwarded-for': `203.0.113.${i}` })
      assert.equal((await refusalsOf(ta)).length, 3)
      ta.clock.advance(60)
      await ta.federation.audit.refusals.flush()
      const events = await refusalsOf(ta)
      assert.equal(events.length, 4)
      assert.deepEqual(events[3].detail.ip, '*')
      assert.equal(events[3].detail.count, 17)
    })
  })

  describe('member changes', () => {
    it('records exactly one event per change, none for a suspension that changes nothing', async () => {
      ta = await startEntity()
      const id = 'https://member.example.org'
      const jwks = await memberJwks()
      assert.equal((await ta.admin('POST', '/admin/subordinates', { entity_id: id, jwks })).status, 201)
      assert.equal((await ta.admin('POST', '/admin/subordinates', { entity_id: id, jwks })).status, 409)
      assert.equal((await ta.admin('POST', `/admin/subordinates/${encodeURIComponent(id)}/suspend`)).status, 200)
      assert.equal((await ta.admin('POST', `/admin/subordinates/${encodeURIComponent(id)}/suspend`)).status, 200)
      assert.equal((await ta.admin('DELETE', `/admin/subordinates/${encodeURIComponent(id)}`)).status, 204)
      const { body } = await ta.admin('GET', `/admin/audit?subject=${encodeURIComponent(id)}`)
      assert.deepEqual(body.events.map((e: { action: string; outcome: string }) => `${e.action} ${e.outcome}`), [
        'subordinate.add success', 'subordinate.add failure', 'subordinate.suspend success', 'subordinate.remove success',
      ])
    })
  })
})
