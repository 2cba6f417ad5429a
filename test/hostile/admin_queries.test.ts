/**
 * The admin API the console reads, as a hostile or careless caller meets it: query
 * parameters duplicated, as arrays, huge, out of range, impossible dates, NoSQL and regular
 * expression syntax in `q`; the audit export's cells that a spreadsheet would run as a
 * formula; the onboarding preview of a member whose entity configuration is hostile (a null
 * or object where a key is, deep JSON, `__proto__` members, a redirect, a slow answer). Never
 * 5xx, the exact 400, nothing written.
 */
import { strict as assert } from 'node:assert'
import http from 'node:http'
import { captureLogs } from '../support/logs.js'
import { startEntity, startLeaf, type TestEntity, type TestLeaf } from '../support/entity.js'
import { ManualClock } from '../../src/clock.js'
import { csvCell } from '../../src/http/admin/audit.js'

const enc = encodeURIComponent

/** The CSV cells of `text` (RFC 4180), row by row. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else cell += c
  }
  return rows
}

describe('hostile: the admin API of the console', function () {
  this.timeout(120_000)
  const clock = new ManualClock()
  let ta: TestEntity
  const jwk = { kty: 'EC', crv: 'P-256', kid: 'k1', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }

  before(async () => {
    ta = await startEntity({ clock })
    for (const id of ['https://a.example', 'https://b.example/x.y', 'https://$where.example']) {
      const r = await ta.admin('POST', '/admin/subordinates', { entity_id: id, jwks: { keys: [jwk] } })
      assert.equal(r.status, 201, JSON.stringify(r.body))
    }
  })
  after(() => ta.stop())

  it('GET /admin/subordinates: a bad parameter is 400 naming it; syntax in q is text', async () => {
    for (const [query, name] of [
      ['limit=0', 'limit'], ['limit=-1', 'limit'], ['limit=1e9', 'limit'], ['limit=abc', 'limit'], ['limit=1.5', 'limit'], ['limit=0x10', 'limit'], ['limit=1e1', 'limit'],
      ['limit=1&limit=2', 'limit'], ['q=a&q=b', 'q'], [`q=${'a'.repeat(2049)}`, 'q'], ['q=%00', 'q'], ['q=a%0Ab', 'q'],
      ['status=__proto__', 'status'], ['status=active&status=suspended', 'status'], ['intermediate=1', 'intermediate'],
      ['after=%1F', 'after'], [`entity_type=${'x'.repeat(257)}`, 'entity_type'],
    ] as const) {
      const r = await ta.admin('GET', `/admin/subordinates?${query}`)
      assert.equal(r.status, 400, `${query.slice(0, 60)}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`)
      assert.equal(r.body.error, 'invalid_request', query)
      assert.match(r.body.error_description, new RegExp(`^${name}: `), query)
    }
    for (const [q, ids] of [
      ['$where', ['https://$where.example']], ['{"$gt":""}', []], ['.*', []], ['^a', []], ['a.example', ['https://a.example']],
      ['b.example/x.', ['https://b.example/x.y']], ['b.example/x\\', []], ['(', []], ['[', []], ['💥', []], ['\u202e', []],
      ['https://', ['https://$where.example', 'https://a.example', 'https://b.example/x.y']],
    ] as const) {
      const r = await ta.admin('GET', `/admin/subordinates?q=${enc(q)}`)
      assert.equal(r.status, 200, `${q}: ${JSON.stringify(r.body)}`)
      assert.deepEqual(r.body.items.map((m: { entity_id: string }) => m.entity_id), ids, q)
    }
    // Arrays and objects in the qs style are unknown names, ignored.
    for (const query of ['limit[]=1', 'q[$ne]=x', 'status[0]=active', '__proto__=1', 'constructor[prototype]=1']) {
      const r = await ta.admin('GET', `/admin/subordinates?${query}`)
      assert.equal(r.status, 200, query)
      assert.equal(r.body.items.length, 3, query)
    }
    for (const entityType of ['constructor', '__proto__', '$where', '{"$ne":null}']) {
      const r = await ta.admin('GET', `/admin/subordinates?entity_type=${enc(entityType)}`)
      assert.equal(r.status, 200, entityType)
      assert.deepEqual(r.body.items, [], entityType)
    }
  })

  it('a member\'s detail and dependents by a hostile id: 404 or 400, never 5xx', async () => {
    for (const id of ['__proto__', 'constructor', 'toString', '%2E%2E%2Fkeys', '..', enc('https://a.example/../b'), 'x'.repeat(10_000), '%00', '%C0%AF', enc('{"$gt":""}'), enc('https://a.example\u0000')]) {
      for (const tail of ['detail', 'dependents']) {
        const r = await ta.admin('GET', `/admin/subordinates/${id}/${tail}`)
        assert.ok(r.status === 404 || r.status === 400, `${id.slice(0, 40)}/${tail}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`)
        assert.ok(r.body.error === 'not_found' || r.body.error === 'invalid_request', id.slice(0, 40))
      }
    }
    for (const id of ['https://user:pw@x.example', 'https://x.example#f', 'https://x.example?q=1', 'javascript:alert(1)', 'file:///etc/passwd', 'https://x.example:99999']) {
      const r = await ta.admin('POST', '/admin/subordinates/preview', { entity_id: id })
      assert.equal(r.status, 400, `${id}: ${r.status} ${JSON.stringify(r.body)}`)
      assert.equal(r.body.error, 'invalid_request', id)
    }
  })

  it('GET /admin/audit and its export: impossible dates, bad limits and formats are 400', async () => {
    for (const path of ['/admin/audit', '/admin/audit/export']) {
      for (const query of [
        'since=9999999999999', 'since=NaN', 'since=2026-13-45', 'since=2026-02-31', 'since=2026-02-30T00:00:00Z', 'since=2025-02-29',
        'until=2026-12-01T24:00:00Z', 'until=2026-12-01T23:60:00Z', 'until=2026-12-01T23:59:61Z', 'since=2026-12-01T10:00:00+24:00',
        'since=2026-12-01T10:00:00+23:60', 'since=%E2%80%AE2026-12-01', 'since=2026-12-01&since=2026-12-02',
        'since=2026-12-02&until=2026-12-01', 'after=-1', 'after=1e400', 'after=0x10', 'after=1e3', 'after=%205', 'after=+5', 'after=99999999999999999', `actor=${'a'.repeat(257)}`, 'actor=%00',
        ...(path.endsWith('export') ? ['format=CSV', 'format=csv&format=ndjson', 'format=xlsx'] : ['limit=0', 'limit=1001', 'limit=1e2', 'limit=10.0', 'limit=0b1']),
      ]) {
        const r = await ta.admin('GET', `${path}?${query}`)
        assert.equal(r.status, 400, `${path}?${query}: ${r.status} ${JSON.stringify(r.body)?.slice(0, 200)}`)
        assert.equal(r.body.error, 'invalid_request', query)
      }
    }
    // A leap day and an offset are fine.
    for (const query of ['since=2024-02-29', 'since=2026-12-01T10:00:00.123456789-05:30', 'until=2026-12-31T23:59:59Z']) {
      assert.equal((await ta.admin('GET', `/admin/audit?${query}`)).status, 200, query)
    }
  })

  it('the CSV export defuses every cell a spreadsheet would read as a formula and keeps quotes and line breaks inside cells', async () => {
    const hostile = ['=cmd|\' /C calc\'!A0', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1', '\n=1', '＝1+1', '＋1', '－1', '＠SUM(A1)', 'a "quoted", b\r\nc', '"=1"']
    for (const [i, s] of hostile.entries()) await ta.federation.audit.record(s, `hostile.csv.${i}`, 'success', s, { note: s })
    const r = await fetch(`${ta.entityId}/admin/audit/export?format=csv&action=${enc('hostile.csv.')}`, { headers: { authorization: `Bearer ${ta.token}` } })
    assert.equal(r.status, 200)
    const all = await fetch(`${ta.entityId}/admin/audit/export?format=csv`, { headers: { authorization: `Bearer ${ta.token}` } })
    const rows = parseCsv(await all.text()).filter((row) => row[3]?.startsWith('hostile.csv.'))
    assert.equal(rows.length, hostile.length)
    for (const [i, s] of hostile.entries()) {
      const row = rows.find((x) => x[3] === `hostile.csv.${i}`)!
      for (const cell of [row[2]!, row[4]!]) {
        assert.ok(!/^[=+\-@\t\r\n＝＋－＠]/.test(cell), `${JSON.stringify(s)}: cell ${JSON.stringify(cell)} starts a formula`)
        assert.equal(cell.replace(/^'/, ''), s, JSON.stringify(s))
      }
    }
    assert.equal(csvCell('plain'), 'plain')
    assert.equal(csvCell(''), '')
  })

  it('an export the client aborts mid-stream: a debug log line, nothing on stderr, the server serving on', async () => {
    const logs = captureLogs()
    const e = await startEntity({ clock, logger: logs.logger })
    const written: string[] = []
    const write = process.stderr.write.bind(process.stderr)
    try {
      for (let i = 0; i < 2500; i++) await e.federation.audit.record('probe', 'probe.event', 'success', `s${i}`, { pad: 'y'.repeat(200) })
      // Only observed: every write still reaches stderr.
      process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
        written.push(String(chunk))
        return write(chunk, ...rest)
      })
      await new Promise<void>((resolve) => {
        const req = http.get(`${e.entityId}/admin/audit/export?format=csv`, { headers: { authorization: `Bearer ${e.token}` } }, (res) => {
          res.once('data', () => {
            req.destroy()
            resolve()
          })
        })
        req.on('error', () => undefined)
      })
      // The server has seen the close once it answers the next request on a new connection... and logged it.
      for (let i = 0; i < 50 && !logs.lines.some((l) => l.msg === 'client went away during the answer'); i++) await e.admin('GET', '/admin/audit?limit=1')
      assert.ok(logs.lines.some((l) => l.msg === 'client went away during the answer' && l.level === 'debug'), JSON.stringify(logs.lines.filter((l) => l.level !== 'debug').slice(0, 3)))
      assert.deepEqual(written.filter((w) => /ECONNRESET|ERR_STREAM_PREMATURE_CLOSE|Premature close/.test(w)), [])
      assert.deepEqual(logs.lines.filter((l) => l.level === 'error'), [])
      assert.equal((await e.admin('GET', '/admin/audit?limit=1')).status, 200)
    } finally {
      process.stderr.write = write
      await e.stop()
    }
  })

  describe('POST /admin/subordinates/preview of a hostile entity configuration', () => {
    let leaf: TestLeaf
    before(async () => {
      leaf = await startLeaf({ clock, authority_hints: [ta.entityId] })
    })
    after(() => leaf?.stop())
    const preview = () => ta.admin('POST', '/admin/subordinates/preview', { entity_id: leaf.entityId })

    it('answers 200 with its problems, never 5xx, writing nothing', async () => {
      const good = leaf.claims
      const revision = ta.federation.changes.revision
      const deep = (n: number): unknown => (n === 0 ? 1 : { a: deep(n - 1) })
      const cases: Array<[string, Record<string, unknown>]> = [
        ['a null key', { jwks: { keys: [leaf.key.publicJwk, null] } }],
        ['a kid that is an object', { jwks: { keys: [leaf.key.publicJwk, { ...leaf.key.publicJwk, kid: { toString: 1 } }] } }],
        ['keys an object', { jwks: { keys: { 0: leaf.key.publicJwk } } }],
        ['jwks null', { jwks: null }],
        ['__proto__ members', JSON.parse(`{"metadata":{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}},"__proto__":{"admin":true}}`) as Record<string, unknown>],
        ['deep metadata', { metadata: { federation_entity: deep(500) } }],
        ['authority_hints a string', { authority_hints: ta.entityId }],
        ['authority_hints objects', { authority_hints: [{}, null, 1] }],
        ['metadata an array', { metadata: [1, 2] }],
        ['metadata types unknown', { metadata: { __proto__x: {}, toString: 1 } }],
        ['trust_marks hostile', { trust_marks: [null, { trust_mark_type: {} }, 'x'] }],
      ]
      for (const [what, claims] of cases) {
        leaf.claims = { ...good, ...claims }
        const r = await preview()
        assert.ok(r.status === 200 || r.status === 400, `${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`)
        if (r.status === 200) assert.equal(typeof r.body.acceptable, 'boolean', what)
        assert.equal(({} as Record<string, unknown>).polluted, undefined)
      }
      leaf.claims = good
      assert.equal(ta.federation.changes.revision, revision)
    })

    it('bounds the previews fetching at once (subordinates.preview_concurrency): beyond, 429 and no outbound request', async () => {
      const small = await startEntity({ clock, config: { subordinates: { preview_concurrency: 2 } } })
      const held: Array<() => void> = []
      let arrived: () => void = () => undefined
      let seen = 0
      const twoArrived = new Promise<void>((resolve) => (arrived = resolve))
      leaf.claims = { ...leaf.claims, authority_hints: [small.entityId] }
      leaf.respond = (req, res) => {
        if (!req.url?.endsWith('/.well-known/openid-federation')) return false
        seen++
        // Held until released: a slow member.
        held.push(() => {
          leaf.respond = undefined
          res.writeHead(404).end()
        })
        if (seen === 2) arrived()
        return true
      }
      try {
        const first = [1, 2].map(() => small.admin('POST', '/admin/subordinates/preview', { entity_id: leaf.entityId }))
        await twoArrived
        const third = await small.admin('POST', '/admin/subordinates/preview', { entity_id: leaf.entityId })
        assert.equal(third.status, 429, JSON.stringify(third.body))
        assert.equal(third.body.error, 'too_many_requests')
        assert.match(third.body.error_description, /subordinates\.preview_concurrency/)
        assert.equal(seen, 2)
        for (const release of held.splice(0)) release()
        for (const r of await Promise.all(first)) {
          assert.equal(r.status, 200)
          assert.equal(r.body.acceptable, false)
        }
        // A bad request is still 400 (validated before the bound); and the slots are free again.
        assert.equal((await small.admin('POST', '/admin/subordinates/preview', { entity_id: 1 })).status, 400)
        const after = await small.admin('POST', '/admin/subordinates/preview', { entity_id: leaf.entityId })
        assert.equal(after.status, 200)
        assert.equal(after.body.acceptable, true, JSON.stringify(after.body.problems))
      } finally {
        leaf.respond = undefined
        for (const release of held.splice(0)) release()
        await small.stop()
      }
    })

    it('reaches no private address where outbound.allow_private_network is off, however it is written', async () => {
      const strict = await startEntity({ clock, config: { outbound: { allow_http: true, allow_private_network: false, timeout_ms: 2000 } } })
      let reached = 0
      leaf.respond = () => {
        reached++
        return false
      }
      try {
        const port = new URL(leaf.entityId).port
        for (const id of [leaf.entityId, `http://localhost:${port}`, `http://[::1]:${port}`, `http://[::ffff:127.0.0.1]:${port}`, `http://2130706433:${port}`,
          `http://0x7f000001:${port}`, `http://127.1:${port}`, 'http://169.254.169.254', 'http://10.0.0.1', 'http://[fd00::1]', 'http://0.0.0.0:' + port]) {
          const r = await strict.admin('POST', '/admin/subordinates/preview', { entity_id: id })
          assert.ok(r.status === 200 || r.status === 400, `${id}: ${r.status} ${JSON.stringify(r.body)}`)
          if (r.status === 200) {
            assert.equal(r.body.acceptable, false, id)
            assert.equal(r.body.entity_configuration, null, id)
          }
        }
        assert.equal(reached, 0)
      } finally {
        leaf.respond = undefined
        await strict.stop()
      }
    })

    it('follows no redirect', async () => {
      leaf.respond = (_req, res) => {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end()
        return true
      }
      const r = await preview()
      leaf.respond = undefined
      assert.equal(r.status, 200)
      assert.equal(r.body.acceptable, false)
      assert.equal(r.body.entity_configuration, null)
      assert.doesNotMatch(JSON.stringify(r.body), /meta-data/)
    })
  })
})
