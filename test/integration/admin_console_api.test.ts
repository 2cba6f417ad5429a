/**
 * The admin API the operator console reads (docs/admin-api.md "Members", "Member detail and
 * dependents", "Audit", "Preview before onboarding"): the roster's filters and paging, a
 * member's page, what depends on it, the audit log's filters and export, and the preview of
 * a member's entity configuration. Real entities on loopback, real keys, real key refresh.
 */
import { strict as assert } from 'node:assert'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { startEntity, startLeaf, testKey, signStatement, type TestEntity, type TestLeaf, type TestKey } from '../support/entity.js'
import { onboard } from '../support/federation.js'
import { startAgent, tokenRequest, postForm, realNow, RESOURCE, type Agent } from '../support/agent.js'
import { ManualClock } from '../../src/clock.js'
import { freePort } from '../../src/demo/leaf.js'

const enc = encodeURIComponent

describe('the admin API of the operator console', function () {
  this.timeout(120_000)
  const clock = new ManualClock()
  let ta: TestEntity
  let leaf: TestLeaf
  let k2: TestKey
  const jwk = { kty: 'EC', crv: 'P-256', kid: 'k1', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }
  const add = async (body: Record<string, unknown>) => {
    const r = await ta.admin('POST', '/admin/subordinates', { jwks: { keys: [jwk] }, ...body })
    assert.equal(r.status, 201, JSON.stringify(r.body))
  }
  const list = async (query: string): Promise<{ ids: string[]; next?: string }> => {
    const r = await ta.admin('GET', `/admin/subordinates?${query}`)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return { ids: r.body.items.map((m: { entity_id: string }) => m.entity_id), ...(r.body.next ? { next: r.body.next } : {}) }
  }

  before(async () => {
    ta = await startEntity({ clock })
    k2 = await testKey()
    leaf = await startLeaf({ clock, authority_hints: [ta.entityId], metadata: { openid_relying_party: { client_name: 'RP' }, federation_entity: {} } })
    for (let i = 0; i < 12; i++) {
      await add({
        entity_id: `https://acme-${String(i).padStart(2, '0')}.example`,
        entity_types: i % 3 === 0 ? ['federation_entity', 'openid_provider'] : ['federation_entity', 'openid_relying_party'],
        ...(i % 4 === 0 ? { intermediate: true } : {}),
      })
    }
    for (const id of ['https://other.example', 'https://other.example/tenant', 'http://acme-dev.example']) await add({ entity_id: id, entity_types: ['federation_entity'] })
    for (const id of ['https://acme-01.example', 'https://acme-05.example', 'https://other.example']) {
      assert.equal((await ta.admin('POST', `/admin/subordinates/${enc(id)}/suspend`)).status, 200)
    }
    // A real key change signed by a key the anchor does not vouch for: pending.
    assert.equal((await ta.admin('POST', '/admin/subordinates', { entity_id: leaf.entityId })).status, 201)
    leaf.respond = (req, res) => {
      if (req.url !== '/.well-known/openid-federation') return false
      const now = clock.now()
      void signStatement({ iat: now, exp: now + 3600, ...leaf.claims, jwks: { keys: [k2.publicJwk] } }, k2).then((jwt) => {
        res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' })
        res.end(jwt)
      })
      return true
    }
    assert.equal((await ta.admin('POST', '/admin/subordinates/refresh', { entity_id: leaf.entityId })).body.outcome, 'pending')
  })
  after(async () => {
    await ta?.stop()
    await leaf?.stop()
  })

  describe('GET /admin/subordinates: filters and paging', () => {
    it('filters by status, entity type, intermediate and pending key changes', async () => {
      assert.deepEqual((await list('status=suspended')).ids, ['https://acme-01.example', 'https://acme-05.example', 'https://other.example'])
      assert.deepEqual((await list('status=pending')).ids, [leaf.entityId])
      assert.deepEqual((await list('entity_type=openid_provider')).ids, ['https://acme-00.example', 'https://acme-03.example', 'https://acme-06.example', 'https://acme-09.example'])
      assert.deepEqual((await list('intermediate=true')).ids, ['https://acme-00.example', 'https://acme-04.example', 'https://acme-08.example'])
      assert.equal((await list('intermediate=false&limit=1000')).ids.length, 13)
      assert.deepEqual((await list('entity_type=openid_relying_party&status=suspended')).ids, ['https://acme-01.example', 'https://acme-05.example'])
      assert.deepEqual((await list('entity_type=openid_provider&intermediate=true&status=active')).ids, ['https://acme-00.example'])
      assert.deepEqual((await list('entity_type=oauth_resource')).ids, [])
    })

    it('searches by entity id prefix, with or without the scheme (http and https)', async () => {
      assert.deepEqual((await list('q=other')).ids, ['https://other.example', 'https://other.example/tenant'])
      assert.deepEqual((await list('q=https://other.example/')).ids, ['https://other.example/tenant'])
      assert.deepEqual((await list('q=acme-1')).ids, ['https://acme-10.example', 'https://acme-11.example'])
      assert.deepEqual((await list('q=acme-d')).ids, ['http://acme-dev.example'])
      // both schemes, in id order (http:// before https://), paged across the two ranges
      const first = await list('q=acme&limit=2')
      assert.deepEqual(first, { ids: ['http://acme-dev.example', 'https://acme-00.example'], next: 'https://acme-00.example' })
      assert.deepEqual((await list(`q=acme&limit=3&after=${enc(first.next ?? '')}`)).ids, ['https://acme-01.example', 'https://acme-02.example', 'https://acme-03.example'])
      assert.deepEqual((await list('q=acme&status=suspended&entity_type=openid_relying_party')).ids, ['https://acme-01.example', 'https://acme-05.example'])
      assert.deepEqual((await list('q=.*')).ids, [])
      assert.deepEqual((await list('q=nobody')).ids, [])
    })

    it('pages every filter with a stable cursor: each member once, in order, whatever is added meanwhile', async () => {
      const seen: string[] = []
      let query = 'intermediate=false&limit=4'
      for (let round = 0; ; round++) {
        const page = await list(query)
        seen.push(...page.ids)
        if (round === 0) await add({ entity_id: 'https://acme-000.example', entity_types: ['federation_entity'] }) // before the cursor: not seen
        if (!page.next) break
        query = `intermediate=false&limit=4&after=${enc(page.next)}`
      }
      assert.deepEqual(seen, [...seen].sort())
      assert.equal(new Set(seen).size, seen.length)
      assert.ok(!seen.includes('https://acme-000.example'))
      assert.equal(seen.length, 13)
      assert.equal((await ta.admin('DELETE', `/admin/subordinates/${enc('https://acme-000.example')}`)).status, 204)
    })

    it('answers a bad query value with 400 invalid_request naming the parameter', async () => {
      for (const [query, message] of [
        ['status=pendin', /^status: must be one of active, suspended, pending$/],
        ['intermediate=yes', /^intermediate: must be true or false$/],
        ['limit=0', /^limit: must be an integer from 1 to 1000$/],
        ['limit=abc', /^limit: /],
        ['q=a&q=b', /^q: must be given once$/],
        [`q=${'a'.repeat(2049)}`, /^q: must be at most 2048 characters$/],
        ['q=a%00b', /^q: must not contain control characters$/],
        [`entity_type=${'x'.repeat(257)}`, /^entity_type: must be at most 256 characters$/],
        ['after=%0a', /^after: must not contain control characters$/],
      ] as const) {
        const r = await ta.admin('GET', `/admin/subordinates?${query}`)
        assert.equal(r.status, 400, `${query}: ${JSON.stringify(r.body)}`)
        assert.equal(r.body.error, 'invalid_request')
        assert.match(r.body.error_description, message, query)
      }
    })
  })

  describe('POST /admin/subordinates/preview', () => {
    let fresh: TestLeaf
    let stranger: TestLeaf
    before(async () => {
      fresh = await startLeaf({ clock, authority_hints: [ta.entityId], metadata: { openid_provider: { issuer: 'x' }, federation_entity: { federation_fetch_endpoint: 'https://x.example/fetch' } } })
      stranger = await startLeaf({ clock, authority_hints: ['https://elsewhere.example'] })
    })
    after(async () => {
      await fresh?.stop()
      await stranger?.stop()
    })
    const preview = (body: unknown) => ta.admin('POST', '/admin/subordinates/preview', body)

    it('shows the verified entity configuration and what onboarding would store, writing nothing', async () => {
      const before = (await ta.admin('GET', '/admin/audit?limit=1000')).body.events.length
      const r = await preview({ entity_id: fresh.entityId })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.equal(r.body.acceptable, true)
      assert.deepEqual(r.body.problems, [])
      assert.equal(r.body.entity_configuration.header.kid, fresh.key.kid)
      assert.equal(r.body.entity_configuration.header.typ, 'entity-statement+jwt')
      assert.deepEqual(r.body.entity_configuration.payload.jwks, { keys: [fresh.key.publicJwk] })
      assert.equal(r.body.entity_configuration.jwt.split('.').length, 3)
      assert.deepEqual(r.body.authority_hints, [ta.entityId])
      assert.deepEqual(r.body.metadata, fresh.claims.metadata)
      assert.deepEqual(r.body.would_onboard, { entity_types: ['openid_provider', 'federation_entity'], intermediate: true, trust_mark_types: [], kids: [fresh.key.kid] })
      assert.equal((await ta.admin('GET', `/admin/subordinates/${enc(fresh.entityId)}`)).status, 404)
      assert.equal((await ta.admin('GET', '/admin/audit?limit=1000')).body.events.length, before)
      // What the preview accepted, onboarding accepts.
      assert.equal((await ta.admin('POST', '/admin/subordinates', { entity_id: fresh.entityId })).status, 201)
      const again = await preview({ entity_id: fresh.entityId })
      assert.equal(again.body.acceptable, false)
      assert.deepEqual(again.body.problems, [`entity_id: ${fresh.entityId} is already a subordinate (status active)`])
      assert.equal((await ta.admin('DELETE', `/admin/subordinates/${enc(fresh.entityId)}`)).status, 204)
    })

    it('lists the problems onboarding would refuse, in its words', async () => {
      const other = await preview({ entity_id: stranger.entityId })
      assert.equal(other.status, 200)
      assert.equal(other.body.acceptable, false)
      assert.deepEqual(other.body.problems, [`the entity configuration of ${stranger.entityId} does not name ${ta.entityId} in authority_hints`])
      assert.deepEqual(other.body.authority_hints, ['https://elsewhere.example'])
      const refused = await ta.admin('POST', '/admin/subordinates', { entity_id: stranger.entityId })
      assert.equal(refused.body.error_description, other.body.problems[0])
      // Private key material in its jwks: refused as onboarding refuses it.
      const { d } = (await import('jose').then((j) => j.exportJWK(fresh.key.privateKey))) as { d: string }
      fresh.claims = { ...fresh.claims, jwks: { keys: [{ ...fresh.key.publicJwk, d }] } }
      const leaky = await preview({ entity_id: fresh.entityId })
      assert.equal(leaky.body.acceptable, false)
      assert.deepEqual(leaky.body.problems, [`the entity configuration is not acceptable: entity configuration of ${fresh.entityId}: no valid public jwks: jwks must be a public JWK Set with unique kids`])
      const refusedToo = await ta.admin('POST', '/admin/subordinates', { entity_id: fresh.entityId })
      assert.equal(refusedToo.body.error_description, `jwks: not given, and ${leaky.body.problems[0]}`)
      // Signed with a key it does not publish: not verified, nothing shown.
      fresh.claims = { ...fresh.claims, jwks: { keys: [k2.publicJwk] } }
      const forged = await preview({ entity_id: fresh.entityId })
      assert.equal(forged.body.acceptable, false)
      assert.equal(forged.body.entity_configuration, null)
      assert.match(forged.body.problems[0], /^the entity configuration is not acceptable: entity configuration of http:\/\/127\.0\.0\.1:\d+: /)
      // Nothing listens there.
      const gone = await preview({ entity_id: 'http://127.0.0.1:9' })
      assert.equal(gone.body.acceptable, false)
      assert.equal(gone.body.entity_configuration, null)
      assert.match(gone.body.problems[0], /^the entity configuration of http:\/\/127\.0\.0\.1:9 could not be fetched: /)
    })

    it('answers a request naming no entity it could onboard with 400 invalid_request', async () => {
      for (const [body, message] of [
        [{}, /entity_id/],
        [{ entity_id: 42 }, /entity_id/],
        [{ entity_id: 'https://x.example', jwks: {} }, /jwks|additional/],
        [{ entity_id: 'https://x.example/' }, /did you mean https:\/\/x\.example/],
        [{ entity_id: ta.entityId }, /^entity_id: an entity cannot be its own subordinate$/],
        ['[1]', /./],
      ] as const) {
        const r = await preview(body)
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`)
        assert.equal(r.body.error, 'invalid_request')
        assert.match(r.body.error_description, message)
      }
    })
  })

  describe('GET /admin/audit and /admin/audit/export', () => {
    let olga: string
    let t0: string
    let t1: string
    const events = async (query: string) => {
      const r = await ta.admin('GET', `/admin/audit?${query}`)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      return r.body.events as Array<{ seq: number; time: string; actor: string; action: string; subject?: string }>
    }
    const asOlga = { authorization: '' }

    before(async () => {
      const r = await ta.admin('POST', '/admin/operators', { name: 'olga', role: 'operator' })
      olga = r.body.token
      asOlga.authorization = `Bearer ${olga}`
      clock.advance(3600)
      t0 = new Date(clock.now() * 1000).toISOString()
      assert.equal((await ta.admin('POST', `/admin/subordinates/${enc('https://acme-02.example')}/suspend`, undefined, asOlga)).status, 200)
      clock.advance(60)
      t1 = new Date(clock.now() * 1000).toISOString()
      assert.equal((await ta.admin('POST', `/admin/subordinates/${enc('https://acme-02.example')}/reinstate`, undefined, asOlga)).status, 200)
      // Text an attacker may choose, recorded as the subject of a refusal: a formula for a spreadsheet.
      for (const softwareId of ['=HYPERLINK("https://evil.example","x"),"', '@SUM(1+1)']) {
        const r = await ta.admin('POST', '/admin/software-statements', { software_id: softwareId, client_name: 'x' }, asOlga)
        assert.equal(r.status, 201, JSON.stringify(r.body))
      }
    })

    it('filters by actor and by a time range, with action and subject', async () => {
      assert.deepEqual((await events('actor=olga')).map((e) => e.action), ['subordinate.suspend', 'subordinate.reinstate', 'software_statement.issue', 'software_statement.issue'])
      assert.deepEqual((await events(`since=${enc(t0)}&until=${enc(t1)}`)).map((e) => [e.actor, e.action]), [['olga', 'subordinate.suspend']])
      assert.deepEqual((await events(`since=${enc(t1)}&action=subordinate.reinstate`)).map((e) => e.subject), ['https://acme-02.example'])
      assert.deepEqual((await events(`actor=admin&since=${enc(t0)}`)).map((e) => e.action), [])
      const before = await events(`until=${enc(t0)}&action=subordinate.suspend`)
      assert.deepEqual(before.map((e) => e.subject), ['https://acme-01.example', 'https://acme-05.example', 'https://other.example'])
      // The same instant in another offset, or as a date, selects the same events.
      const plus2 = new Date(Date.parse(t0) + 2 * 3600_000).toISOString().replace('Z', '+02:00').replace(/\.\d{3}/, '')
      assert.deepEqual(await events(`since=${enc(plus2)}&actor=olga&action=subordinate.suspend`), await events(`since=${enc(t0)}&actor=olga&action=subordinate.suspend`))
      assert.equal((await events(`until=${t0.slice(0, 10)}`)).length, 0)
      // Paging with filters: next, then after=next.
      const page = await ta.admin('GET', '/admin/audit?actor=olga&limit=2')
      assert.equal(page.body.next, page.body.events[1].seq)
      assert.deepEqual((await events(`actor=olga&after=${page.body.next}`)).map((e) => e.action), ['software_statement.issue', 'software_statement.issue'])
    })

    it('exports every matching event as NDJSON, a page at a time, with the same filters', async () => {
      // More than one export page (1,000 events) of one actor.
      const r0 = await ta.admin('GET', '/admin/audit?limit=1000')
      const total = r0.body.events.length
      for (let i = 0; i < 1100; i++) await ta.federation.audit.record('bulk', 'bulk.event', 'success', `s${i}`)
      const res = await fetch(`${ta.adminUrl}/admin/audit/export?format=ndjson&actor=bulk`, { headers: { authorization: `Bearer ${ta.token}` } })
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-type'), 'application/x-ndjson')
      assert.equal(res.headers.get('cache-control'), 'no-store')
      // Named by the deployment's clock (the one the events were written with), not the machine's.
      const stamp = new Date(clock.now() * 1000).toISOString().replace(/[:.]/g, '-')
      assert.equal(res.headers.get('content-disposition'), `attachment; filename="audit-${stamp}.ndjson"`)
      const lines = (await res.text()).split('\n')
      assert.equal(lines.pop(), '')
      const exported = lines.map((l) => JSON.parse(l))
      assert.equal(exported.length, 1100)
      assert.deepEqual(exported.map((e) => e.subject), Array.from({ length: 1100 }, (_, i) => `s${i}`))
      assert.ok(exported.every((e, i) => i === 0 || e.seq > exported[i - 1].seq))
      // No filter: everything, the same events the pages give.
      const all = await fetch(`${ta.adminUrl}/admin/audit/export`, { headers: { authorization: `Bearer ${ta.token}` } })
      const allLines = (await all.text()).trim().split('\n').map((l) => JSON.parse(l))
      assert.ok(allLines.length >= total + 1100)
      assert.deepEqual(allLines.slice(0, total), r0.body.events)
      const olgas = await fetch(`${ta.adminUrl}/admin/audit/export?actor=olga&since=${enc(t1)}`, { headers: { authorization: `Bearer ${olga}` } })
      assert.equal(olgas.status, 200, 'an operator reads the audit log too')
      assert.deepEqual((await olgas.text()).trim().split('\n').map((l) => JSON.parse(l).action), ['subordinate.reinstate', 'software_statement.issue', 'software_statement.issue'])
    })

    it('exports CSV safe for spreadsheets: quoted per RFC 4180, formulas defused with an apostrophe', async () => {
      const res = await fetch(`${ta.adminUrl}/admin/audit/export?format=csv&actor=olga`, { headers: { authorization: `Bearer ${ta.token}` } })
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8; header=present')
      const body = await res.text()
      const rows = body.split('\r\n')
      assert.equal(rows[0], 'seq,time,actor,action,subject,outcome,detail')
      assert.match(rows[1]!, /^\d+,\d{4}-[^,]+Z,olga,subordinate\.suspend,https:\/\/acme-02\.example,success,$/)
      // The formula's quotes doubled and the cell quoted (it holds commas), after the apostrophe.
      assert.ok(body.includes(`,software_statement.issue,"'=HYPERLINK(""https://evil.example"",""x""),""",success,"{""jti"":`), body)
      assert.ok(body.includes(`,software_statement.issue,'@SUM(1+1),success,"{""jti"":`), body)
      assert.equal(body.endsWith('\r\n'), true)
    })

    it('answers a bad filter with 400 invalid_request naming it, on the page and the export', async () => {
      for (const path of ['/admin/audit', '/admin/audit/export']) {
        for (const [query, message] of [
          ['since=yesterday', /^since: must be an RFC 3339 date-time/],
          ['until=2026-13-01T00:00:00Z', /^until: must be an RFC 3339 date-time/],
          ['since=2026-12-02&until=2026-12-01', /^since: must not be after until$/],
          ['actor=a&actor=b', /^actor: must be given once$/],
          ['actor=%0d', /^actor: must not contain control characters$/],
          [`subject=${'s'.repeat(2049)}`, /^subject: must be at most 2048 characters$/],
          ['after=-1', /^after: must be an integer/],
          ...(path.endsWith('export') ? [['format=xlsx', /^format: must be ndjson or csv$/]] as const : [['limit=1001', /^limit: must be an integer from 1 to 1000$/]] as const),
        ] as const) {
          const r = await ta.admin('GET', `${path}?${query}`)
          assert.equal(r.status, 400, `${path}?${query}: ${JSON.stringify(r.body)}`)
          assert.equal(r.body.error, 'invalid_request')
          assert.match(r.body.error_description, message, `${path}?${query}`)
        }
      }
    })
  })
})

/**
 *        TA  (Anchorage, its own anchor, with the authorization server role; dynamic
 *      /  |  \   registration trusting the statements IA issues)
 *    IA   B   C   IA: intermediate member; B: an agent, direct member; C: a member with nothing
 *    |
 *    A            A: an agent under IA
 *
 * A and B get tokens at TA (automatic registration, private_key_jwt); a client registers at TA
 * with a software statement IA issued and gets a token with its secret.
 */
describe('the member page: GET /admin/subordinates/{id}/detail and /dependents', function () {
  this.timeout(120_000)
  const clock = new ManualClock()
  let ta: TestEntity, ia: TestEntity
  let a: Agent, b: Agent, c: TestLeaf
  let dcrClient: string
  const detail = async (id: string) => {
    const r = await ta.admin('GET', `/admin/subordinates/${enc(id)}/detail`)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return r.body
  }
  const dependents = async (id: string) => {
    const r = await ta.admin('GET', `/admin/subordinates/${enc(id)}/dependents`)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return r.body
  }
  const token = async (agent: Agent) => {
    const r = await tokenRequest(ta, await agent.assertion(ta.entityId), { resource: RESOURCE })
    assert.equal(r.status, 200, JSON.stringify(r.body))
  }

  before(async () => {
    clock.set(realNow()) // oidc-provider checks client assertions with the system clock
    const taPort = await freePort()
    ia = await startEntity({ clock, authority_hints: [`http://127.0.0.1:${taPort}`] })
    ta = await startEntity({
      clock, port: taPort,
      config: { authorization_server: { resources: [RESOURCE], dynamic_registration: { trusted_issuers: [{ issuer: ia.entityId }] } } },
    })
    await onboard(ta, ia.entityId, { intermediate: true })
    a = await startAgent({ clock, authority_hints: [ia.entityId] })
    await onboard(ia, a.id)
    b = await startAgent({ clock, authority_hints: [ta.entityId] })
    await onboard(ta, b.id)
    c = await startLeaf({ clock, authority_hints: [ta.entityId] })
    await onboard(ta, c.entityId)
    await token(a)
    await token(a)
    await token(b)
    const statement = await ia.admin('POST', '/admin/software-statements', { software_id: 'ia-batch', client_name: 'IA batch' })
    assert.equal(statement.status, 201, JSON.stringify(statement.body))
    const reg = await fetch(`${ta.entityId}/oauth/clients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ software_statement: statement.body.software_statement }) })
    const registered = (await reg.json()) as { client_id: string; client_secret: string }
    assert.equal(reg.status, 201, JSON.stringify(registered))
    dcrClient = registered.client_id
    const t = await postForm(`${ta.entityId}/oauth/token`, { grant_type: 'client_credentials', client_id: registered.client_id, client_secret: registered.client_secret, resource: RESOURCE })
    assert.equal(t.status, 200, JSON.stringify(t.body))
  })
  after(async () => {
    await Promise.all([ta, ia, a, b, c].map((e) => e?.stop()))
  })

  it('shows the statement as issued (the JWT /fetch serves, decoded), the record and its trust marks', async () => {
    const d = await detail(b.id)
    assert.equal(d.member.entity_id, b.id)
    assert.deepEqual(d.member.jwks, b.leaf.claims.jwks)
    const served = await (await ta.get(`/fetch?sub=${enc(b.id)}`)).text()
    assert.equal(d.statement.jwt, served)
    assert.equal(d.statement.header.typ, 'entity-statement+jwt')
    assert.equal(d.statement.payload.iss, ta.entityId)
    assert.equal(d.statement.payload.sub, b.id)
    assert.deepEqual(d.statement.payload.jwks, b.leaf.claims.jwks)
    assert.deepEqual(d.trust_marks, [])
    assert.equal(d.statement_error, undefined)
    // Trust marks this entity issued to the member, as its records say.
    const type = 'https://federation.example.org/tm/member'
    assert.equal((await ta.admin('POST', '/admin/trust-mark-types', { trust_mark_type: type, lifetime: 600 })).status, 201)
    assert.equal((await ta.admin('POST', '/admin/trust-marks', { trust_mark_type: type, sub: b.id })).status, 201)
    const marked = await detail(b.id)
    assert.deepEqual(marked.trust_marks.map((m: { trust_mark_type: string; status: string; exp: number; iat: number }) => [m.trust_mark_type, m.status, m.exp - m.iat]), [[type, 'active', 600]])
    assert.equal((await ta.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: type, sub: b.id })).status, 200)
    assert.deepEqual((await detail(b.id)).trust_marks.map((m: { status: string }) => m.status), ['revoked'])
    assert.deepEqual(d.dependents, await dependents(b.id))
  })

  it('counts the clients registered from a member and their active tokens', async () => {
    const d = await dependents(b.id)
    assert.deepEqual(d.clients.items.map((i: { client_id: string; status: string; active_tokens: number }) => [i.client_id, i.status, i.active_tokens]), [[b.id, 'active', 1]])
    assert.deepEqual({ ...d.clients, items: undefined }, { clients: 1, active_clients: 1, active_tokens: 1, items: undefined })
    assert.deepEqual(d.totals, { clients: 1, active_clients: 1, active_tokens: 1 })
    assert.equal(d.below.entities, 0)
    assert.equal(d.software_clients.clients, 0)
    assert.equal(d.truncated, undefined)
    const none = await dependents(c.entityId)
    assert.deepEqual(none.totals, { clients: 0, active_clients: 0, active_tokens: 0 })
  })

  it('for an intermediate: the entities known below it, their clients and tokens, and the clients of its software statements', async () => {
    const d = await dependents(ia.entityId)
    assert.equal(d.intermediate, true)
    assert.equal(d.clients.clients, 0)
    assert.deepEqual(d.below.entity_ids, [a.id])
    assert.equal(d.below.entities, 1)
    assert.deepEqual(d.below.items.map((i: { client_id: string; active_tokens: number }) => [i.client_id, i.active_tokens]), [[a.id, 2]])
    assert.deepEqual(d.software_clients.items.map((i: { client_id: string; software_id: string; registration_type: string; active_tokens: number }) => [i.client_id, i.software_id, i.registration_type, i.active_tokens]), [[dcrClient, 'ia-batch', 'dynamic', 1]])
    assert.deepEqual(d.totals, { clients: 2, active_clients: 2, active_tokens: 3 })
  })

  it('says the statement is not issued while suspended; a revoked client counts with no active token', async () => {
    assert.equal((await ta.admin('POST', `/admin/subordinates/${enc(b.id)}/suspend`)).status, 200)
    const d = await detail(b.id)
    assert.equal(d.statement, null)
    assert.equal(d.statement_error, 'not issued: the member is suspended')
    assert.equal((await ta.admin('POST', `/admin/subordinates/${enc(b.id)}/reinstate`)).status, 200)
    assert.equal((await ta.admin('POST', `/admin/clients/${enc(b.id)}/revoke`, {})).status, 200)
    const after = await dependents(b.id)
    assert.deepEqual(after.clients.items.map((i: { status: string; active_tokens: number }) => [i.status, i.active_tokens]), [['revoked', 0]])
    assert.deepEqual(after.totals, { clients: 1, active_clients: 0, active_tokens: 0 })
  })

  it('answers 404 for a non-member and for the anchor itself', async () => {
    for (const id of ['https://nobody.example', ta.entityId]) {
      for (const path of ['detail', 'dependents']) {
        const r = await ta.admin('GET', `/admin/subordinates/${enc(id)}/${path}`)
        assert.equal(r.status, 404, `${id} ${path}: ${JSON.stringify(r.body)}`)
        assert.equal(r.body.error, 'not_found')
      }
    }
  })
})

/**
 *   TA  (Anchorage; issues TYPE_A and TYPE_B and recognises itself as their issuer)
 *   |
 *   IA  (Anchorage intermediate; TA's statement about it carries a metadata policy)
 *   |
 *   LEAF (Anchorage; carries both marks in its entity configuration)
 */
describe('the resolve page: POST /admin/resolve/explain', function () {
  this.timeout(120_000)
  const TYPE_A = 'https://federation.example.org/tm/a'
  const TYPE_B = 'https://federation.example.org/tm/b'
  let ta: TestEntity, ia: TestEntity, leaf: TestEntity
  const explain = async (sub: string, extra = '') => {
    const r = await ta.admin('POST', `/admin/resolve/explain?sub=${enc(sub)}&trust_anchor=${enc(ta.entityId)}${extra}`)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.headers.get('cache-control'), 'no-store')
    return r.body
  }

  before(async () => {
    ta = await startEntity()
    ia = await startEntity({ clock: ta.clock, authority_hints: [ta.entityId] })
    leaf = await startEntity({ clock: ta.clock, authority_hints: [ia.entityId], config: { organization: { organization_name: 'Leaf Org' } } })
    await onboard(ta, ia.entityId, { intermediate: true, metadata_policy: { federation_entity: { organization_name: { value: 'Renamed by TA' }, contacts: { default: ['ops@ta.example'] } } } })
    await onboard(ia, leaf.entityId)
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-issuers', { [TYPE_A]: [ta.entityId], [TYPE_B]: [ta.entityId] })).status, 200)
    for (const type of [TYPE_A, TYPE_B]) {
      assert.equal((await ta.admin('POST', '/admin/trust-mark-types', { trust_mark_type: type, lifetime: 86_400 })).status, 201)
      assert.equal((await ta.admin('POST', '/admin/trust-marks', { trust_mark_type: type, sub: leaf.entityId })).status, 201)
      const own = await leaf.admin('POST', '/admin/own-trust-marks', { trust_mark_type: type, issuer: ta.entityId })
      assert.equal(own.status, 201, JSON.stringify(own.body))
    }
  })
  after(async () => {
    await Promise.all([ta?.stop(), ia?.stop(), leaf?.stop()])
  })

  it('answers the chain as a path, the policy step by step, and the trust marks kept and dropped with why', async () => {
    // The anchor no longer recognises TA as the issuer of TYPE_B: that mark is dropped, with the verifier's reason.
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-issuers', { [TYPE_A]: [ta.entityId], [TYPE_B]: ['https://someone-else.example.org'] })).status, 200)
    const r = await explain(leaf.entityId)
    assert.equal(r.ok, true)
    assert.equal(r.subject, leaf.entityId)
    assert.equal(r.trust_anchor, ta.entityId)
    assert.deepEqual(r.path.map((l: { kind: string; iss: string; sub: string }) => [l.kind, l.iss, l.sub]), [
      ['entity_configuration', leaf.entityId, leaf.entityId],
      ['subordinate_statement', ia.entityId, leaf.entityId],
      ['subordinate_statement', ta.entityId, ia.entityId],
      ['entity_configuration', ta.entityId, ta.entityId],
    ])
    assert.equal(r.trust_chain.length, 4)
    assert.equal(r.metadata.federation_entity.organization_name, 'Renamed by TA')
    assert.deepEqual(r.metadata.federation_entity.contacts, ['ops@ta.example'])
    // Step by step: which statement contributed which operator, then each operator applied.
    const name = r.policy.application.find((a: { parameter: string }) => a.parameter === 'organization_name')
    assert.deepEqual(name.before, { present: true, value: 'Leaf Org' })
    assert.deepEqual(name.steps.map((s: { operator: string; operand: unknown }) => [s.operator, s.operand]), [['value', 'Renamed by TA']])
    assert.deepEqual(name.after, { present: true, value: 'Renamed by TA' })
    assert.ok(r.policy.statements.some((s: { statement: string; hasPolicy: boolean }) => s.hasPolicy && s.statement.includes(ia.entityId)), JSON.stringify(r.policy.statements))
    assert.match(r.policy_text, /organization_name/)
    assert.match(r.policy_text, /Result: ok/)
    assert.deepEqual(r.trust_marks.kept.map((m: { trust_mark_type: string; iss: string }) => [m.trust_mark_type, m.iss]), [[TYPE_A, ta.entityId]])
    assert.deepEqual(r.trust_marks.dropped.map((m: { trust_mark_type: string }) => m.trust_mark_type), [TYPE_B])
    assert.match(r.trust_marks.dropped[0].reason, /issuer|trust_mark_issuers/i)
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-issuers', { [TYPE_A]: [ta.entityId], [TYPE_B]: [ta.entityId] })).status, 200)
    assert.deepEqual((await explain(leaf.entityId)).trust_marks.dropped, [])
  })

  it('answers a failure with every path tried: the statement and rule that failed', async () => {
    assert.equal((await ia.admin('POST', `/admin/subordinates/${enc(leaf.entityId)}/suspend`)).status, 200)
    ta.clock.advance(121) // past statement_ttl_max + answer_ttl_max + answer_stale_seconds: every statement fetched again
    try {
      const r = await explain(leaf.entityId)
      assert.equal(r.ok, false)
      assert.equal(r.error, 'invalid_trust_chain')
      assert.match(r.error_description, new RegExp(leaf.entityId.replace(/[.:/]/g, '\\$&')))
      assert.ok(r.paths.length >= 1)
      const [p] = r.paths
      assert.deepEqual(p.path.slice(0, 2), [leaf.entityId, ia.entityId])
      assert.equal(typeof p.statement, 'string')
      assert.equal(typeof p.rule, 'string')
      assert.equal(typeof p.message, 'string')
      assert.equal(p.detail, undefined)
      // The same failure /resolve answers.
      const plain = await ta.admin('POST', `/admin/resolve?sub=${enc(leaf.entityId)}&trust_anchor=${enc(ta.entityId)}`)
      assert.equal(plain.body.error, r.error)
    } finally {
      await ia.admin('POST', `/admin/subordinates/${enc(leaf.entityId)}/reinstate`)
    }
    // Not a trusted anchor: said as the resolver says it.
    const untrusted = await ta.admin('POST', `/admin/resolve/explain?sub=${enc(leaf.entityId)}&trust_anchor=${enc('https://nobody.example')}`)
    assert.equal(untrusted.status, 200)
    assert.deepEqual([untrusted.body.ok, untrusted.body.error], [false, 'invalid_trust_anchor'])
  })

  it('answers bad parameters with 400 invalid_request', async () => {
    for (const [query, message] of [
      [`trust_anchor=${enc(ta.entityId)}`, /^sub: is required$/],
      [`sub=nope&trust_anchor=${enc(ta.entityId)}`, /^sub: must be an entity identifier/],
      [`sub=${enc(leaf.entityId)}`, /^trust_anchor: is required$/],
      [`sub=${enc(leaf.entityId)}&sub=${enc(ia.entityId)}&trust_anchor=${enc(ta.entityId)}`, /^sub: must be given once$/],
    ] as const) {
      const r = await ta.admin('POST', `/admin/resolve/explain?${query}`)
      assert.equal(r.status, 400, `${query}: ${JSON.stringify(r.body)}`)
      assert.equal(r.body.error, 'invalid_request')
      assert.match(r.body.error_description, message)
    }
  })
})

describe('operators\' resolutions are bounded in number: resolver.admin_concurrency', function () {
  this.timeout(60_000)
  let ta: TestEntity
  let hanging: http.Server
  const held: http.ServerResponse[] = []
  let arrived: () => void = () => undefined

  before(async () => {
    ta = await startEntity({ config: { resolver: { admin_concurrency: 1 } } })
    // An entity whose configuration never comes until released: the first discovery stays in flight.
    hanging = http.createServer((_req, res) => {
      held.push(res)
      arrived()
    })
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r))
  })
  after(async () => {
    for (const res of held) res.destroy()
    await new Promise((r) => hanging.close(r))
    await ta?.stop()
  })

  it('a second explain or admin resolve while one runs is 429 too_many_requests; once it ends, the next runs', async () => {
    const sub = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`
    const q = `sub=${enc(sub)}&trust_anchor=${enc(ta.entityId)}`
    const seen = new Promise<void>((r) => (arrived = r))
    const first = ta.admin('POST', `/admin/resolve/explain?${q}`)
    await seen
    for (const path of ['/admin/resolve/explain', '/admin/resolve']) {
      const r = await ta.admin('POST', `${path}?${q}`)
      assert.equal(r.status, 429, JSON.stringify(r.body))
      assert.equal(r.body.error, 'too_many_requests')
      assert.match(r.body.error_description, /resolver\.admin_concurrency/)
    }
    for (const res of held.splice(0)) res.writeHead(404).end()
    const done = await first
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.equal(done.body.ok, false)
    arrived = () => { for (const res of held.splice(0)) res.writeHead(404).end() }
    const next = await ta.admin('POST', `/admin/resolve/explain?${q}`)
    assert.equal(next.status, 200, JSON.stringify(next.body))
  })
})
