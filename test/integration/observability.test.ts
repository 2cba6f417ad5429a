/**
 * Metrics, request ids and access logs (docs/operations.md, "Metrics" and "Logs"), on real
 * deployments: /metrics parses as the Prometheus text format and moves with the requests
 * made, the listener's fast-path answers included; every answer carries X-Request-Id; the
 * access log writes one line per request when on and none when off; secrets never reach a log.
 */
import { strict as assert } from 'node:assert'
import { readFileSync } from 'node:fs'
import { threeLevel, resolveAt, type ThreeLevel } from '../support/federation.js'
import { startEntity, type TestEntity } from '../support/entity.js'
import { captureLogs } from '../support/logs.js'
import { parsePrometheus, valueOf, type Family } from '../support/prometheus.js'

async function scrape(e: TestEntity): Promise<Map<string, Family>> {
  const r = await e.admin('GET', '/admin/metrics')
  assert.equal(r.status, 200, JSON.stringify(r.body))
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return parsePrometheus(r.body as string)
}

const REQUESTS = 'anchorage_http_request_duration_seconds_count'

describe('metrics, request ids and access logs', () => {
  let fed: ThreeLevel
  const log = captureLogs()
  before(async () => {
    fed = await threeLevel({ taConfig: { log: { access: true } }, taLogger: log.logger })
  })
  after(() => fed?.stop())

  const accessLines = log.access

  describe('/metrics', () => {
    it('is an admin route: refused without the admin token, served with it', async () => {
      const anon = await fed.ta.get('/admin/metrics')
      assert.equal(anon.status, 401)
      const wrong = await fed.ta.get('/admin/metrics', { authorization: 'Bearer not-the-token' })
      assert.equal(wrong.status, 401)
      await scrape(fed.ta)
    })

    it('counts requests by route and status, fast-path answers included', async () => {
      const member = encodeURIComponent(fed.ia.entityId)
      // Warm the caches (the first answers may come from koa), then measure.
      await (await fed.ta.get('/.well-known/openid-federation')).text()
      await (await fed.ta.get(`/fetch?sub=${member}`)).text()
      const before = await scrape(fed.ta)
      const ids: string[] = []
      for (let i = 0; i < 3; i++) {
        const ec = await fed.ta.get('/.well-known/openid-federation')
        assert.equal(ec.status, 200)
        await ec.text()
        const f = await fed.ta.get(`/fetch?sub=${member}`)
        assert.equal(f.status, 200)
        await f.text()
        ids.push(f.headers.get('x-request-id')!)
      }
      const missing = await fed.ta.get('/fetch?sub=https%3A%2F%2Fnobody.example.org')
      assert.equal(missing.status, 404)
      await missing.text()
      const after = await scrape(fed.ta)
      const moved = (labels: Record<string, string>) => valueOf(after, REQUESTS, labels) - valueOf(before, REQUESTS, labels)
      assert.equal(moved({ route: 'entity_configuration', status: '200' }), 3)
      assert.equal(moved({ route: 'federation_fetch_endpoint', status: '200' }), 3)
      assert.equal(moved({ route: 'federation_fetch_endpoint', status: '404' }), 1)
      // The fetches were answered by the listener's fast path (koa never saw them).
      for (const id of ids) assert.deepEqual(accessLines(id).map((l) => l.via), ['fast'])
      // The scrape itself is a request of the admin route.
      assert.ok(valueOf(after, REQUESTS, { route: 'admin_metrics', status: '200' }) >= 1)
    })

    it('counts resolve cache misses and hits (the fast path\'s hits too)', async () => {
      const q = { sub: fed.leaf.entityId, trust_anchor: fed.ta.entityId, entity_type: 'openid_relying_party' }
      const before = await scrape(fed.ta)
      assert.equal((await resolveAt(fed.ta, q)).status, 200)
      assert.equal((await resolveAt(fed.ta, q)).status, 200)
      assert.equal((await resolveAt(fed.ta, q)).status, 200)
      const after = await scrape(fed.ta)
      const moved = (outcome: string) => valueOf(after, 'anchorage_resolve_cache_total', { outcome }) - valueOf(before, 'anchorage_resolve_cache_total', { outcome })
      assert.equal(moved('miss'), 1)
      assert.equal(moved('hit'), 2)
      assert.equal(valueOf(after, REQUESTS, { route: 'federation_resolve_endpoint', status: '200' }) - valueOf(before, REQUESTS, { route: 'federation_resolve_endpoint', status: '200' }), 3)
      // The miss fetched (the leaf's and the intermediate's statements) and verified signatures.
      assert.ok(valueOf(after, 'anchorage_outbound_fetches_total', { outcome: 'success' }) > valueOf(before, 'anchorage_outbound_fetches_total', { outcome: 'success' }))
      assert.ok(valueOf(after, 'anchorage_jwt_verifications_total', { typ: 'entity-statement+jwt' }) > valueOf(before, 'anchorage_jwt_verifications_total', { typ: 'entity-statement+jwt' }))
      assert.ok(valueOf(after, 'anchorage_jwt_signatures_total', { typ: 'resolve-response+jwt' }) > valueOf(before, 'anchorage_jwt_signatures_total', { typ: 'resolve-response+jwt' }))
    })

    it('counts outbound fetches by outcome', async () => {
      const before = await scrape(fed.ta)
      // Onboarding without keys reads the member's entity configuration: here, an address nothing listens on.
      const r = await fed.ta.admin('POST', '/admin/subordinates', { entity_id: 'http://127.0.0.1:9' })
      assert.equal(r.status, 400, JSON.stringify(r.body))
      const after = await scrape(fed.ta)
      assert.equal(valueOf(after, 'anchorage_outbound_fetches_total', { outcome: 'network' }) - valueOf(before, 'anchorage_outbound_fetches_total', { outcome: 'network' }), 1)
      assert.ok(valueOf(after, 'anchorage_outbound_fetch_duration_seconds_count', { outcome: 'network' }) >= 1)
    })

    it('computes members by status when scraped, and times store writes', async () => {
      const before = await scrape(fed.ta)
      assert.equal(valueOf(before, 'anchorage_members', { status: 'active' }), 1)
      assert.equal(valueOf(before, 'anchorage_members', { status: 'suspended' }), 0)
      const id = encodeURIComponent(fed.ia.entityId)
      assert.equal((await fed.ta.admin('POST', `/admin/subordinates/${id}/suspend`)).status, 200)
      const after = await scrape(fed.ta)
      assert.equal(valueOf(after, 'anchorage_members', { status: 'active' }), 0)
      assert.equal(valueOf(after, 'anchorage_members', { status: 'suspended' }), 1)
      assert.ok(valueOf(after, 'anchorage_store_write_duration_seconds_count', { outcome: 'success' }) > valueOf(before, 'anchorage_store_write_duration_seconds_count', { outcome: 'success' }))
      assert.equal((await fed.ta.admin('POST', `/admin/subordinates/${id}/reinstate`)).status, 200)
    })

    it('gives the signing key\'s age and the next rollover step', async () => {
      const [signing] = (await fed.ta.federation.keystore.list()).filter((k) => k.state === 'active')
      fed.clock.advance(100)
      const m = await scrape(fed.ta)
      assert.equal(valueOf(m, 'anchorage_signing_key_age_seconds'), fed.clock.now() - (signing!.activated_at ?? signing!.created_at))
      assert.equal(m.get('anchorage_key_next_rollover_timestamp_seconds')!.samples.length, 0, 'no staged key, no scheduled rollover')
      const staged = await fed.ta.admin('POST', '/admin/keys/stage')
      assert.equal(staged.status, 201)
      const after = await scrape(fed.ta)
      assert.equal(valueOf(after, 'anchorage_key_next_rollover_timestamp_seconds', { step: 'activate' }), staged.body.activatable_at)
    })

    it('names in docs/operations.md and the sample Grafana dashboard exactly the metrics served', async () => {
      const served = [...(await scrape(fed.ta)).keys()].filter((n) => n.startsWith('anchorage_'))
      const docs = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8')
      const table = new Set([...docs.matchAll(/^\| `(anchorage_[a-z_]+)` \|/gm)].map((m) => m[1]))
      assert.deepEqual([...table].sort(), [...served].sort())
      const dashboard = readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')
      const used = new Set([...dashboard.matchAll(/anchorage_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')))
      for (const name of used) assert.ok(served.includes(name), `the dashboard uses ${name}, which is not served`)
      assert.equal(used.size, served.length, 'the dashboard shows every metric')
    })

    it('is not served when metrics.enabled is false', async () => {
      const e = await startEntity({ config: { metrics: { enabled: false } } })
      try {
        assert.equal((await e.admin('GET', '/admin/metrics')).status, 404)
      } finally {
        await e.stop()
      }
    })
  })

  describe('X-Request-Id', () => {
    it('is on every answer: fast path, koa, errors; a safe incoming id is echoed, anything else replaced', async () => {
      await (await fed.ta.get('/.well-known/openid-federation')).text() // cached now (a key stage above changed it)
      const fast = await fed.ta.get('/.well-known/openid-federation')
      await fast.text()
      const koa = await fed.ta.get('/list?intermediate=true')
      await koa.text()
      const error = await fed.ta.get('/fetch')
      await error.text()
      const admin = await fed.ta.get('/admin/subordinates')
      await admin.text()
      const ids = [fast, koa, error, admin].map((r) => r.headers.get('x-request-id'))
      for (const id of ids) assert.match(id ?? '', /^[0-9a-f]{8}-[0-9a-z]+$/)
      assert.equal(new Set(ids).size, ids.length)
      assert.equal(accessLines(ids[0]!)[0]!.via, 'fast')
      assert.equal(accessLines(ids[1]!)[0]!.via, 'koa')

      for (const path of ['/.well-known/openid-federation', '/list?intermediate=true']) {
        const mine = await fed.ta.get(path, { 'x-request-id': 'trace.ab-12:c@d_e' })
        await mine.text()
        assert.equal(mine.headers.get('x-request-id'), 'trace.ab-12:c@d_e')
        for (const bad of ['a'.repeat(65), 'two words', 'quote"d', '<script>']) {
          const r = await fed.ta.get(path, { 'x-request-id': bad })
          await r.text()
          assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f]{8}-[0-9a-z]+$/, `${path} ${bad}`)
        }
      }
    })
  })

  describe('access log', () => {
    it('writes one line per request, fast path included, with query keys but no query values', async () => {
      const member = encodeURIComponent(fed.ia.entityId)
      const r = await fed.ta.get(`/fetch?sub=${member}`)
      await r.text()
      const [line, ...more] = accessLines(r.headers.get('x-request-id'))
      assert.equal(more.length, 0)
      assert.equal(line!.level, 'info')
      assert.equal(line!.method, 'GET')
      assert.equal(line!.path, '/fetch')
      assert.equal(line!.query, 'sub')
      assert.equal(line!.status, 200)
      assert.equal(line!.route, 'federation_fetch_endpoint')
      assert.equal(typeof line!.ms, 'number')
      assert.ok(!JSON.stringify(line).includes(fed.ia.entityId), 'the query value is not logged')

      const koa = await fed.ta.admin('POST', '/admin/subordinates', { entity_id: 'not a url' })
      assert.equal(koa.status, 400)
      const [admin] = accessLines(koa.headers.get('x-request-id'))
      assert.deepEqual([admin!.method, admin!.path, admin!.status, admin!.route, admin!.via], ['POST', '/admin/subordinates', 400, 'admin_subordinates_add', 'koa'])
    })

    it('writes nothing when log.access is off (the default)', async () => {
      const quiet = captureLogs()
      const e = await startEntity({ logger: quiet.logger })
      try {
        for (const path of ['/.well-known/openid-federation', '/.well-known/openid-federation', '/list', '/fetch?sub=x']) await (await e.get(path)).text()
        assert.deepEqual(quiet.lines.filter((l) => l.msg === 'access'), [])
      } finally {
        await e.stop()
      }
    })

    it('samples a fraction of the requests when log.access is a number', async () => {
      const sampled = captureLogs()
      const e = await startEntity({ logger: sampled.logger, config: { log: { access: 0.5 } } })
      try {
        for (let i = 0; i < 200; i++) await (await e.get('/.well-known/openid-federation')).text()
        const n = sampled.lines.filter((l) => l.msg === 'access').length
        // Binomial(200, 0.5): outside 40..160 with probability below 1e-17.
        assert.ok(n > 40 && n < 160, `${n} of 200 logged`)
      } finally {
        await e.stop()
      }
    })

    it('never writes a secret: admin tokens, credentials in the query string, Authorization headers', async () => {
      const secret = 'S3cr3tV4lue0123456789'
      await (await fed.ta.get(`/fetch?sub=x&code=${secret}&access_token=${secret}`)).text()
      await (await fed.ta.get(`/admin/subordinates?client_secret=${secret}`, { authorization: `Bearer ${secret}` })).text()
      await (await fed.ta.get('/admin/subordinates', { authorization: `Basic ${Buffer.from(`u:${secret}`).toString('base64')}` })).text()
      await fed.ta.admin('GET', `/admin/audit?password=${secret}`)
      await fed.ta.admin('POST', '/admin/subordinates', { entity_id: `https://x.example.org/?token=${secret}` })
      const all = log.raw.join('\n')
      assert.ok(!all.includes(secret), 'the secret reached a log line')
      assert.ok(!all.includes(fed.ta.token), 'the admin token reached a log line')
      assert.ok(log.lines.some((l) => l.msg === 'access' && l.query === 'sub,code,access_token'))
    })
  })
})
