/**
 * The private admin plane and named operators (docs/admin-api.md "Operators and roles",
 * docs/operations.md "The admin plane"): admin.listen puts the admin API on its own listener
 * and the public one answers 404 there; every admin route needs a role, checked here route by
 * route from the router itself; the audit actor is the authenticated operator, whatever the
 * headers say; the configured admin token is the operator `admin`.
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEntity, type TestEntity } from '../support/entity.js'
import { ManualClock } from '../../src/clock.js'
import type { AuditEvent } from '../../src/storage/types.js'

type Role = 'auditor' | 'operator' | 'admin'
const RANK: Record<Role, number> = { auditor: 0, operator: 1, admin: 2 }

/**
 * What each role may do, written out route by route (the specification this test holds the
 * code to): reads are the auditor's, day-to-day changes the operator's, keys, settings and
 * operators the admin's. A route the router has and this table lacks fails the test.
 */
const EXPECTED: Record<string, Role> = {
  'GET /subordinates': 'auditor', 'GET /subordinates/:id': 'auditor', 'GET /subordinates/pending': 'auditor',
  'GET /subordinates/:id/detail': 'auditor', 'GET /subordinates/:id/dependents': 'auditor',
  'POST /subordinates': 'operator', 'POST /subordinates/preview': 'operator', 'PATCH /subordinates/:id': 'operator', 'DELETE /subordinates/:id': 'operator',
  'POST /subordinates/:id/suspend': 'operator', 'POST /subordinates/:id/reinstate': 'operator',
  'POST /subordinates/refresh': 'operator', 'POST /subordinates/:id/approve': 'operator', 'POST /subordinates/:id/reject': 'operator',
  'GET /audit': 'auditor', 'GET /audit/export': 'auditor',
  'GET /metrics': 'auditor',
  'GET /openapi.json': 'auditor',
  'GET /keys': 'auditor', 'POST /keys/stage': 'admin', 'POST /keys/:kid/activate': 'admin', 'POST /keys/rotate': 'admin', 'POST /keys/:kid/retire': 'admin',
  'GET /anchors': 'auditor', 'POST /anchors/refresh': 'admin',
  'GET /software-statements': 'auditor', 'POST /software-statements': 'operator', 'POST /software-statements/revoke': 'operator',
  'GET /initial-access-tokens': 'auditor', 'POST /initial-access-tokens': 'operator', 'POST /initial-access-tokens/revoke': 'operator',
  'GET /trust-mark-types': 'auditor', 'POST /trust-mark-types': 'admin', 'DELETE /trust-mark-types': 'admin',
  'GET /trust-marks': 'auditor', 'POST /trust-marks': 'operator', 'POST /trust-marks/revoke': 'operator',
  'GET /trust-mark-issuers': 'auditor', 'PUT /trust-mark-issuers': 'admin', 'DELETE /trust-mark-issuers': 'admin',
  'GET /trust-mark-owners': 'auditor', 'PUT /trust-mark-owners': 'admin', 'DELETE /trust-mark-owners': 'admin',
  'POST /trust-mark-delegations': 'admin',
  'GET /own-trust-marks': 'auditor', 'POST /own-trust-marks': 'admin', 'DELETE /own-trust-marks': 'admin', 'POST /own-trust-marks/refresh': 'operator',
  'POST /resolve': 'auditor', 'POST /resolve/explain': 'auditor',
  'GET /clients': 'auditor', 'GET /clients/:id': 'auditor', 'POST /clients/:id/revoke': 'operator', 'POST /clients/:id/reinstate': 'operator',
  'GET /session': 'auditor', 'DELETE /session': 'auditor',
  'GET /operators': 'admin', 'GET /operators/:name': 'admin', 'POST /operators': 'admin',
  'POST /operators/:name/disable': 'admin', 'POST /operators/:name/enable': 'admin', 'POST /operators/:name/rotate': 'admin',
}

const enc = encodeURIComponent
const PARAMS: Record<string, string> = { ':id': enc('https://nobody.example.org'), ':kid': 'no-such-kid', ':name': 'nobody' }

async function call(base: string, method: string, path: string, token?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const withBody = method !== 'GET' && method !== 'DELETE'
  const res = await fetch(base + path, {
    method,
    headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...(withBody ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(withBody ? { body: '{}' } : {}),
  })
  const text = await res.text()
  let body: unknown = text
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    /* keep the text */
  }
  return { status: res.status, body }
}

async function addOperator(e: TestEntity, name: string, role: Role): Promise<string> {
  const r = await e.admin('POST', '/admin/operators', { name, role })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  assert.equal(typeof r.body.token, 'string')
  return r.body.token as string
}

async function auditEvents(e: TestEntity, action: string): Promise<AuditEvent[]> {
  const r = await e.admin('GET', `/admin/audit?action=${enc(action)}&limit=1000`)
  assert.equal(r.status, 200)
  return r.body.events as AuditEvent[]
}

describe('the admin plane', function () {
  this.timeout(60_000)

  describe('with admin.listen', () => {
    let e: TestEntity
    before(async () => {
      e = await startEntity({ adminListen: '127.0.0.1:0' })
    })
    after(() => e.stop())

    it('serves the admin API only on its own listener; the public one answers 404 as for a path that does not exist', async () => {
      assert.ok(e.server.admin, 'an admin listener')
      assert.notEqual(e.server.admin.port, e.port)
      const unknown = await call(e.entityId, 'GET', '/no-such-path', e.token)
      assert.equal(unknown.status, 404)
      for (const [method, path] of [['GET', '/admin/subordinates'], ['POST', '/admin/subordinates'], ['GET', '/admin/audit'], ['GET', '/admin/no-such-route'], ['DELETE', '/admin/operators/admin']]) {
        const r = await call(e.entityId, method!, path!, e.token)
        assert.equal(r.status, 404, `${method} ${path} on the public listener`)
        assert.deepEqual(r.body, { error: 'not_found', error_description: `no such endpoint: ${method} ${path}` })
      }
      const served = await call(e.adminUrl!, 'GET', '/admin/subordinates', e.token)
      assert.equal(served.status, 200)
      assert.deepEqual(served.body, { items: [] })
      // The public endpoints are not on the admin plane.
      assert.equal((await call(e.adminUrl!, 'GET', '/.well-known/openid-federation')).status, 404)
      assert.equal((await fetch(`${e.entityId}/.well-known/openid-federation`)).status, 200)
      assert.equal((await fetch(`${e.adminUrl!}/healthz`)).status, 200)
    })

    it('records no refusal for admin paths asked of the public listener (they do not exist there)', async () => {
      e.clock.advance(3600)
      const before = (await auditEvents(e, 'admin.authenticate')).length
      await call(e.entityId, 'GET', '/admin/keys')
      assert.equal((await auditEvents(e, 'admin.authenticate')).length, before)
      assert.equal((await call(e.adminUrl!, 'GET', '/admin/keys')).status, 401)
      assert.equal((await auditEvents(e, 'admin.authenticate')).length, before + 1)
    })

    it('closes both listeners on shutdown', async () => {
      const other = await startEntity({ adminListen: '127.0.0.1:0' })
      const adminUrl = other.adminUrl!
      assert.equal((await call(adminUrl, 'GET', '/admin/keys', other.token)).status, 200)
      await other.stop()
      await assert.rejects(fetch(`${adminUrl}/healthz`))
      await assert.rejects(fetch(`${other.entityId}/healthz`))
    })
  })

  it('shares the public listener without admin.listen (development)', async () => {
    const e = await startEntity()
    try {
      assert.equal(e.server.admin, undefined)
      assert.equal((await call(e.entityId, 'GET', '/admin/subordinates', e.token)).status, 200)
    } finally {
      await e.stop()
    }
  })
})

describe('named operators and roles', function () {
  this.timeout(120_000)
  let e: TestEntity
  const tokens: Partial<Record<Role, string>> = {}
  let disabledToken: string

  before(async () => {
    e = await startEntity({
      adminListen: '127.0.0.1:0',
      // Every capability with admin routes: the authorization server's too.
      config: { authorization_server: { resources: ['https://mcp.example/api'] } },
    })
    tokens.admin = e.token
    tokens.operator = await addOperator(e, 'olga', 'operator')
    tokens.auditor = await addOperator(e, 'audrey', 'auditor')
    disabledToken = await addOperator(e, 'dan', 'admin')
    assert.equal((await e.admin('POST', '/admin/operators/dan/disable')).status, 200)
  })
  after(() => e.stop())

  it('declares a role for every admin route the router has, and exactly the roles of the specification', () => {
    const routed = Object.fromEntries(e.server.adminRoutes.map((r) => [`${r.method} ${r.path}`, r.role]))
    assert.deepEqual(routed, EXPECTED)
  })

  it('gives each role exactly its routes: 403 insufficient_scope below, served at or above; 401 without a valid token', async () => {
    const base = e.adminUrl!
    for (const route of e.server.adminRoutes) {
      const path = `/admin${route.path.replace(/:\w+/g, (p) => PARAMS[p]!)}`
      const what = `${route.method} ${route.path}`
      for (const [label, token] of [['no token', undefined], ['an unknown token', 'x'.repeat(43)], ['a disabled operator', disabledToken]] as const) {
        const r = await call(base, route.method, path, token)
        assert.equal(r.status, 401, `${what} with ${label}: ${JSON.stringify(r.body)}`)
        assert.equal(r.body.error, 'unauthorized')
      }
      for (const role of ['auditor', 'operator', 'admin'] as const) {
        const r = await call(base, route.method, path, tokens[role])
        if (RANK[role] < RANK[route.role]) {
          assert.equal(r.status, 403, `${what} as ${role}: ${JSON.stringify(r.body)}`)
          assert.equal(r.body.error, 'insufficient_scope')
          assert.match(r.body.error_description, new RegExp(`requires the ${route.role} role`))
        } else {
          assert.ok(![401, 403].includes(r.status) && r.status < 500, `${what} as ${role}: ${r.status} ${JSON.stringify(r.body)}`)
        }
      }
    }
  })

  it('audits a refusal for a role too low as admin.authorize by that operator', async () => {
    e.clock.advance(3600) // a new refusal window for this address
    assert.equal((await call(e.adminUrl!, 'POST', '/admin/keys/rotate', tokens.operator)).status, 403)
    const last = (await auditEvents(e, 'admin.authorize')).at(-1)!
    assert.equal(last.actor, 'olga')
    assert.equal(last.outcome, 'failure')
    assert.equal(last.detail?.reason, 'role operator, admin required')
    assert.equal(last.detail?.path, '/admin/keys/rotate')
  })

  it('audits a disabled operator\'s refusal', async () => {
    e.clock.advance(3600)
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/keys', disabledToken)).status, 401)
    const last = (await auditEvents(e, 'admin.authenticate')).at(-1)!
    assert.equal(last.actor, 'anonymous')
    assert.equal(last.detail?.reason, 'disabled operator')
  })

  it('records the authenticated operator as the actor: X-Anchorage-Actor cannot name another', async () => {
    const id = 'https://spoof.example.org'
    const jwks = { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }] }
    const add = await fetch(`${e.adminUrl!}/admin/subordinates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.operator}`, 'content-type': 'application/json', 'x-anchorage-actor': 'mallory' },
      body: JSON.stringify({ entity_id: id, jwks }),
    })
    assert.equal(add.status, 201)
    const suspend = await e.admin('POST', `/admin/subordinates/${enc(id)}/suspend`, undefined, { 'X-Anchorage-Actor': 'admin:mallory' })
    assert.equal(suspend.status, 200)
    const events = (await e.admin('GET', `/admin/audit?subject=${enc(id)}`)).body.events as AuditEvent[]
    assert.deepEqual(events.map((ev) => [ev.action, ev.actor]), [['subordinate.add', 'olga'], ['subordinate.suspend', 'admin']])
    const all = (await e.admin('GET', '/admin/audit?limit=1000')).body.events as AuditEvent[]
    assert.ok(!JSON.stringify(all).includes('mallory'))
  })
})

describe('operators through the admin API', function () {
  this.timeout(60_000)
  let e: TestEntity
  beforeEach(async () => {
    e = await startEntity()
  })
  afterEach(() => e.stop())

  it('makes the configured admin token the operator admin, audited, and never shows a digest', async () => {
    const list = await e.admin('GET', '/admin/operators')
    assert.equal(list.status, 200)
    assert.equal(list.body.items.length, 1)
    const [admin] = list.body.items
    assert.deepEqual({ name: admin.name, role: admin.role, status: admin.status, created_by: admin.created_by, managed_by: admin.managed_by },
      { name: 'admin', role: 'admin', status: 'active', created_by: 'anchorage', managed_by: 'configuration' })
    assert.ok(!JSON.stringify(list.body).includes('token_sha256'))
    const [added] = await auditEvents(e, 'operator.add')
    assert.deepEqual([added!.actor, added!.subject, added!.detail], ['anchorage', 'admin', { role: 'admin', from: 'configuration' }])
  })

  it('adds, rotates and disables an operator: tokens shown once, the old token refused at once', async () => {
    const first = await addOperator(e, 'alice', 'operator')
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/subordinates', first)).status, 200)
    assert.equal((await e.admin('POST', '/admin/operators', { name: 'alice', role: 'auditor' })).status, 409)
    const shown = await e.admin('GET', '/admin/operators/alice')
    assert.equal(shown.body.token, undefined)
    assert.equal(shown.body.role, 'operator')

    const rotated = await e.admin('POST', '/admin/operators/alice/rotate')
    assert.equal(rotated.status, 200)
    assert.notEqual(rotated.body.token, first)
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/subordinates', first)).status, 401)
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/subordinates', rotated.body.token)).status, 200)

    const disabled = await e.admin('POST', '/admin/operators/alice/disable')
    assert.equal(disabled.status, 200)
    assert.equal(disabled.body.status, 'disabled')
    assert.equal(disabled.body.disabled_by, 'admin')
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/subordinates', rotated.body.token)).status, 401)
    const again = await e.admin('POST', '/admin/operators/alice/rotate')
    assert.equal(again.status, 409, JSON.stringify(again.body))
    assert.deepEqual((await auditEvents(e, 'operator.rotate')).map((ev) => [ev.actor, ev.subject]), [['admin', 'alice']])
    assert.deepEqual((await auditEvents(e, 'operator.disable')).map((ev) => [ev.actor, ev.subject]), [['admin', 'alice']])
  })

  it('enables a disabled operator with a new token, audited; the token it had stays refused; an active one is a conflict', async () => {
    const first = await addOperator(e, 'erin', 'auditor')
    assert.equal((await e.admin('POST', '/admin/operators/erin/enable')).status, 409)
    assert.equal((await e.admin('POST', '/admin/operators/erin/disable')).status, 200)
    const enabled = await e.admin('POST', '/admin/operators/erin/enable')
    assert.equal(enabled.status, 200, JSON.stringify(enabled.body))
    assert.equal(enabled.body.status, 'active')
    assert.equal(enabled.body.role, 'auditor')
    assert.equal(enabled.body.enabled_by, 'admin')
    assert.equal(typeof enabled.body.token, 'string')
    assert.notEqual(enabled.body.token, first)
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/keys', first)).status, 401)
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/keys', enabled.body.token)).status, 200)
    assert.equal((await e.admin('GET', '/admin/operators/erin')).body.token, undefined)
    assert.deepEqual((await auditEvents(e, 'operator.enable')).map((ev) => [ev.actor, ev.subject, ev.detail]), [['admin', 'erin', { role: 'auditor' }]])
    assert.equal((await e.admin('POST', '/admin/operators/nobody/enable')).status, 404)
  })

  it('enables the configured admin through the admin API: the configured token stays refused', async () => {
    const second = await addOperator(e, 'root2', 'admin')
    assert.equal((await call(e.adminUrl!, 'POST', '/admin/operators/admin/disable', second)).status, 200)
    const enabled = await call(e.adminUrl!, 'POST', '/admin/operators/admin/enable', second)
    assert.equal(enabled.status, 200)
    assert.equal(enabled.body.managed_by, undefined)
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/keys', e.token)).status, 401)
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/keys', enabled.body.token)).status, 200)
  })

  it('refuses bad names, reserved names, unknown roles and unknown operators', async () => {
    for (const [body, description] of [
      [{ name: 'Alice', role: 'operator' }, /^name: must match pattern/],
      [{ name: 'cli', role: 'operator' }, /reserved/],
      [{ name: 'anchorage', role: 'admin' }, /reserved/],
      [{ name: 'bob', role: 'root' }, /^role: must be one of "auditor", "operator", "admin"/],
      [{ name: 'bob', role: 'admin', token: 'mine' }, /token: unknown property|must NOT have additional properties/],
    ] as const) {
      const r = await e.admin('POST', '/admin/operators', body)
      assert.equal(r.status, 400, JSON.stringify(body))
      assert.equal(r.body.error, 'invalid_request')
      assert.match(r.body.error_description, description)
    }
    assert.equal((await e.admin('POST', '/admin/operators/nobody/disable')).status, 404)
    assert.equal((await e.admin('GET', `/admin/operators/${enc('__proto__')}`)).status, 404)
  })

  it('never disables the last active admin', async () => {
    const r = await e.admin('POST', '/admin/operators/admin/disable')
    assert.equal(r.status, 409)
    assert.match(r.body.error_description, /last active admin/)
    const second = await addOperator(e, 'root2', 'admin')
    const d = await call(e.adminUrl!, 'POST', '/admin/operators/admin/disable', second)
    assert.equal(d.status, 200)
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/keys', e.token)).status, 401)
    assert.equal((await call(e.adminUrl!, 'POST', '/admin/operators/root2/disable', second)).status, 409)
  })
})

describe('the configured admin token across restarts', function () {
  this.timeout(60_000)
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anchorage-operators-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('follows a new configured token while the configuration manages admin; after a rotation through the API, no longer', async () => {
    const clock = new ManualClock()
    let e = await startEntity({ dir, clock })
    const firstToken = e.token
    await e.stop({ keepDir: true })
    // A new configured token (startEntity writes a new token_sha256): it is admin's now, the old one is refused.
    e = await startEntity({ dir, clock })
    assert.notEqual(e.token, firstToken)
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/keys', e.token)).status, 200)
    assert.equal((await call(e.adminUrl!, 'GET', '/admin/keys', firstToken)).status, 401)
    const rotations = await auditEvents(e, 'operator.rotate')
    assert.deepEqual(rotations.map((ev) => [ev.actor, ev.subject, ev.detail]), [['anchorage', 'admin', { from: 'configuration' }]])
    // Rotated through the admin API: the configuration no longer manages it.
    const rotated = (await e.admin('POST', '/admin/operators/admin/rotate')).body.token as string
    await e.stop({ keepDir: true })
    e = await startEntity({ dir, clock })
    try {
      assert.equal((await call(e.adminUrl!, 'GET', '/admin/keys', e.token)).status, 401)
      const r = await call(e.adminUrl!, 'GET', '/admin/operators/admin', rotated)
      assert.equal(r.status, 200)
      assert.equal(r.body.managed_by, undefined)
    } finally {
      await e.stop({ keepDir: true })
    }
  })
})
