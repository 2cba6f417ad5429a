/**
 * Topology:  TA (own port)  <-  LEAF (own port, authority_hints -> TA, serves its own EC)
 * Onboarding through the admin API, fetch and list, suspension and removal.
 */
import { strict as assert } from 'node:assert'
import { jwtVerify, createLocalJWKSet } from 'jose'
import { startEntity, startLeaf, testKey, decode, type TestEntity, type TestLeaf } from '../support/entity.js'

const enc = encodeURIComponent

describe('onboarding, fetch and list', () => {
  let ta: TestEntity
  let leaf: TestLeaf
  let other: TestLeaf

  before(async () => {
    ta = await startEntity()
    leaf = await startLeaf({ clock: ta.clock, authority_hints: [ta.entityId], metadata: { openid_relying_party: { client_name: 'RP' }, federation_entity: {} } })
    other = await startLeaf({ clock: ta.clock, authority_hints: ['https://elsewhere.example'] })
  })
  after(async () => {
    await ta?.stop()
    await leaf?.stop()
    await other?.stop()
  })

  describe('admin authentication', () => {
    it('refuses a request without a token with 401 and audits it', async () => {
      const res = await fetch(`${ta.entityId}/admin/subordinates`)
      assert.equal(res.status, 401)
      assert.equal(res.headers.get('www-authenticate'), 'Bearer')
      assert.deepEqual(await res.json(), { error: 'unauthorized', error_description: 'an admin token is required (Authorization: Bearer ...)' })
      const audit = await ta.admin('GET', '/admin/audit?action=admin.authenticate')
      const last = audit.body.events.at(-1)
      assert.equal(last.outcome, 'failure')
      assert.equal(last.detail.reason, 'no token')
    })

    it('refuses a wrong token with 401', async () => {
      const res = await ta.admin('GET', '/admin/subordinates', undefined, { authorization: 'Bearer wrong' })
      assert.equal(res.status, 401)
      assert.equal(res.body.error_description, 'the admin token is not valid')
    })
  })

  describe('POST /admin/subordinates', () => {
    it('onboards a member from its own entity configuration when jwks is omitted', async () => {
      const res = await ta.admin('POST', '/admin/subordinates', { entity_id: leaf.entityId })
      assert.equal(res.status, 201)
      assert.equal(res.body.entity_id, leaf.entityId)
      assert.deepEqual(res.body.jwks, { keys: [leaf.key.publicJwk] })
      assert.deepEqual(res.body.entity_types.sort(), ['federation_entity', 'openid_relying_party'])
      assert.equal(res.body.status, 'active')
    })

    it('refuses the same member twice with 409 conflict', async () => {
      const res = await ta.admin('POST', '/admin/subordinates', { entity_id: leaf.entityId })
      assert.equal(res.status, 409)
      assert.equal(res.body.error, 'conflict')
    })

    it('refuses a member whose authority_hints do not name this entity', async () => {
      const res = await ta.admin('POST', '/admin/subordinates', { entity_id: other.entityId })
      assert.equal(res.status, 400)
      assert.equal(res.body.error, 'invalid_request')
      assert.match(res.body.error_description, /does not name .* in authority_hints/)
    })

    it('refuses a member whose entity configuration signature does not verify', async () => {
      const bad = await startLeaf({ clock: ta.clock, authority_hints: [ta.entityId] })
      bad.claims.jwks = { keys: [(await testKey()).publicJwk] }
      try {
        const res = await ta.admin('POST', '/admin/subordinates', { entity_id: bad.entityId })
        assert.equal(res.status, 400)
        assert.match(res.body.error_description, /entity configuration is not acceptable/)
      } finally {
        await bad.stop()
      }
    })

    it('refuses a member whose entity configuration cannot be fetched', async () => {
      const res = await ta.admin('POST', '/admin/subordinates', { entity_id: 'http://127.0.0.1:1' })
      assert.equal(res.status, 400)
      assert.match(res.body.error_description, /could not be fetched/)
    })

    it('refuses this entity as its own subordinate', async () => {
      const res = await ta.admin('POST', '/admin/subordinates', { entity_id: ta.entityId, jwks: { keys: [leaf.key.publicJwk] } })
      assert.equal(res.status, 400)
      assert.equal(res.body.error_description, 'entity_id: an entity cannot be its own subordinate')
    })

    const bad: Array<[string, unknown, string]> = [
      ['a missing entity_id', {}, 'entity_id: is required'],
      ['an entity_id with a query', { entity_id: 'https://a.example/?x=1' }, 'entity_id: must match format "entity-id"'],
      ['an entity_id of the wrong type', { entity_id: 7 }, 'entity_id: must be string'],
      ['an unknown property', { entity_id: 'https://a.example', foo: 1 }, 'foo: unknown property'],
      ['a private key in jwks', { entity_id: 'https://a.example', jwks: { keys: [{ kty: 'EC', kid: 'k', d: 'x' }] } }, 'jwks.keys[0].d: private key members are not allowed'],
      ['an empty jwks', { entity_id: 'https://a.example', jwks: { keys: [] } }, 'jwks.keys: must NOT have fewer than 1 items'],
      ['a negative max_path_length', { entity_id: 'https://a.example', jwks: { keys: [{ kty: 'EC', kid: 'k' }] }, constraints: { max_path_length: -1 } }, 'constraints.max_path_length: must be >= 0'],
      ['federation_entity in allowed_entity_types', { entity_id: 'https://a.example', jwks: { keys: [{ kty: 'EC', kid: 'k' }] }, constraints: { allowed_entity_types: ['federation_entity'] } }, 'constraints.allowed_entity_types.0: must NOT be valid'],
      ['a spec claim in crit', { entity_id: 'https://a.example', jwks: { keys: [{ kty: 'EC', kid: 'k' }] }, crit: ['jwks'] }, 'crit: must not list the spec claim "jwks"'],
      ['a body that is not an object', [1, 2], '(top level): must be object'],
    ]
    for (const [what, body, message] of bad) {
      it(`refuses ${what} with 400 naming the field`, async () => {
        const res = await ta.admin('POST', '/admin/subordinates', body)
        assert.equal(res.status, 400)
        assert.deepEqual(res.body, { error: 'invalid_request', error_description: message })
      })
    }

    it('refuses a malformed metadata policy, naming the parameter and operator', async () => {
      const res = await ta.admin('POST', '/admin/subordinates', {
        entity_id: 'https://policy.example.org', jwks: { keys: [leaf.key.publicJwk] },
        metadata_policy: { openid_relying_party: { grant_types: { subset_of: 'authorization_code' } } },
      })
      assert.equal(res.status, 400)
      assert.equal(res.body.error, 'invalid_request')
      assert.match(res.body.error_description, /^metadata_policy: .*grant_types.*subset_of/)
    })

    it('refuses operators that cannot be combined (one_of with subset_of)', async () => {
      const res = await ta.admin('POST', '/admin/subordinates', {
        entity_id: 'https://policy.example.org', jwks: { keys: [leaf.key.publicJwk] },
        metadata_policy: { openid_provider: { response_types_supported: { one_of: ['code'], subset_of: ['code'] } } },
      })
      assert.equal(res.status, 400)
      assert.match(res.body.error_description, /^metadata_policy: .*one_of.*subset_of|^metadata_policy: .*subset_of.*one_of/)
    })

    it('refuses malformed JSON with 400', async () => {
      const res = await ta.admin('POST', '/admin/subordinates', '{"entity_id": ')
      assert.equal(res.status, 400)
      assert.deepEqual(res.body, { error: 'invalid_request', error_description: 'the request body is not valid JSON' })
    })

    it('refuses a body that is not JSON with 415', async () => {
      const res = await ta.admin('POST', '/admin/subordinates', undefined, { 'content-type': 'text/plain' })
      assert.equal(res.status, 415)
      assert.equal(res.body.error, 'unsupported_media_type')
    })

    it('refuses an oversized body with 413', async () => {
      const res = await ta.admin('POST', '/admin/subordinates', JSON.stringify({ entity_id: 'https://a.example', metadata: { x: { pad: 'x'.repeat(70_000) } } }))
      assert.equal(res.status, 413)
      assert.equal(res.body.error, 'payload_too_large')
    })
  })

  describe('GET /fetch', () => {
    it('returns the signed subordinate statement with the member keys and what was configured', async () => {
      const id = 'https://op.example.org'
      const policy = { openid_provider: { id_token_signing_alg_values_supported: { subset_of: ['ES256', 'PS256'] } } }
      const created = await ta.admin('POST', '/admin/subordinates', {
        entity_id: id, jwks: { keys: [leaf.key.publicJwk] }, entity_types: ['openid_provider'],
        metadata: { openid_provider: { organization_name: 'OP' } }, metadata_policy: policy,
        constraints: { max_path_length: 1 }, source_endpoint: `${ta.entityId}/fetch`,
      })
      assert.equal(created.status, 201)
      const res = await fetch(`${ta.entityId}/fetch?sub=${enc(id)}`)
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-type'), 'application/entity-statement+jwt')
      const jwt = await res.text()
      const ec = decode(await (await ta.get('/.well-known/openid-federation')).text()).payload
      const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(ec.jwks), { typ: 'entity-statement+jwt' })
      assert.ok(protectedHeader.kid)
      assert.equal(payload.iss, ta.entityId)
      assert.equal(payload.sub, id)
      assert.deepEqual(payload.jwks, { keys: [leaf.key.publicJwk] })
      assert.deepEqual(payload.metadata_policy, policy)
      assert.deepEqual(payload.constraints, { max_path_length: 1 })
      assert.deepEqual(payload.metadata, { openid_provider: { organization_name: 'OP' } })
      assert.equal(payload.source_endpoint, `${ta.entityId}/fetch`)
      assert.equal(payload.authority_hints, undefined)
    })

    it('ignores parameters the spec does not define (the removed iss)', async () => {
      const res = await fetch(`${ta.entityId}/fetch?iss=${enc(ta.entityId)}&sub=${enc(leaf.entityId)}`)
      assert.equal(res.status, 200)
    })

    const cases: Array<[string, string, number, string, string]> = [
      ['a missing sub', '', 400, 'invalid_request', 'sub: is required'],
      ['an empty sub', 'sub=', 400, 'invalid_request', 'sub: is required'],
      ['a repeated sub', 'sub=a&sub=b', 400, 'invalid_request', 'sub: must be given once'],
      ['an unknown sub', 'sub=https%3A%2F%2Funknown.example', 404, 'not_found', 'https://unknown.example is not a subordinate of this entity'],
    ]
    for (const [what, q, status, error, description] of cases) {
      it(`answers ${what} with ${status} ${error}`, async () => {
        const res = await fetch(`${ta.entityId}/fetch?${q}`)
        assert.equal(res.status, status)
        assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8')
        assert.deepEqual(await res.json(), { error, error_description: description })
      })
    }

    it('answers sub = the issuer itself with invalid_request', async () => {
      const res = await fetch(`${ta.entityId}/fetch?sub=${enc(ta.entityId)}`)
      assert.equal(res.status, 400)
      assert.equal((await res.json() as any).error, 'invalid_request')
    })
  })

  describe('GET /list', () => {
    before(async () => {
      const key = { keys: [leaf.key.publicJwk] }
      await ta.admin('POST', '/admin/subordinates', { entity_id: 'https://int.example.org', jwks: key, entity_types: ['federation_entity'], intermediate: true })
      await ta.admin('POST', '/admin/subordinates', { entity_id: 'https://rp2.example.org', jwks: key, entity_types: ['openid_relying_party'] })
    })

    const list = async (q = '') => {
      const res = await fetch(`${ta.entityId}/list${q}`)
      return { status: res.status, type: res.headers.get('content-type'), body: await res.json() as any }
    }

    it('lists every active member as a JSON array of entity ids', async () => {
      const r = await list()
      assert.equal(r.status, 200)
      assert.match(r.type!, /^application\/json(;|$)/)
      assert.deepEqual(r.body, ['https://int.example.org', 'https://op.example.org', 'https://rp2.example.org', leaf.entityId].sort())
    })

    it('filters by entity_type (repeatable, any of) and intermediate', async () => {
      assert.deepEqual((await list('?entity_type=openid_relying_party')).body, ['https://rp2.example.org', leaf.entityId].sort())
      assert.deepEqual((await list('?entity_type=openid_provider&entity_type=openid_relying_party')).body.length, 3)
      assert.deepEqual((await list('?intermediate=true')).body, ['https://int.example.org'])
      assert.equal((await list('?intermediate=false')).body.length, 3)
    })

    it('filters by trust_marked (no member carries a mark yet)', async () => {
      assert.deepEqual((await list('?trust_marked=true')).body, [])
      assert.equal((await list('?trust_marked=false')).body.length, 4)
    })

    it('ignores parameters the spec does not define', async () => {
      assert.equal((await list('?colour=blue')).body.length, 4)
    })

    it('answers a malformed boolean with invalid_request', async () => {
      const r = await list('?intermediate=yes')
      assert.equal(r.status, 400)
      assert.deepEqual(r.body, { error: 'invalid_request', error_description: 'intermediate: must be true or false' })
    })
  })

  describe('suspend, reinstate, update, remove', () => {
    const id = 'https://rp2.example.org'

    it('a suspended member disappears from fetch and list at once, and comes back when reinstated', async () => {
      assert.equal((await fetch(`${ta.entityId}/fetch?sub=${enc(id)}`)).status, 200)
      const s = await ta.admin('POST', `/admin/subordinates/${enc(id)}/suspend`)
      assert.equal(s.status, 200)
      assert.equal(s.body.status, 'suspended')
      assert.equal((await fetch(`${ta.entityId}/fetch?sub=${enc(id)}`)).status, 404)
      assert.ok(!(await (await fetch(`${ta.entityId}/list`)).json() as any).includes(id))
      assert.equal((await ta.admin('POST', `/admin/subordinates/${enc(id)}/reinstate`)).status, 200)
      assert.equal((await fetch(`${ta.entityId}/fetch?sub=${enc(id)}`)).status, 200)
    })

    it('PATCH changes the statement at once; null removes a field', async () => {
      const p = await ta.admin('PATCH', `/admin/subordinates/${enc(id)}`, { metadata: { openid_relying_party: { client_name: 'two' } } })
      assert.equal(p.status, 200)
      let stmt = decode(await (await fetch(`${ta.entityId}/fetch?sub=${enc(id)}`)).text()).payload
      assert.deepEqual(stmt.metadata, { openid_relying_party: { client_name: 'two' } })
      await ta.admin('PATCH', `/admin/subordinates/${enc(id)}`, { metadata: null })
      stmt = decode(await (await fetch(`${ta.entityId}/fetch?sub=${enc(id)}`)).text()).payload
      assert.equal(stmt.metadata, undefined)
    })

    it('PATCH refuses an empty or invalid body', async () => {
      assert.deepEqual((await ta.admin('PATCH', `/admin/subordinates/${enc(id)}`, {})).body, { error: 'invalid_request', error_description: '(top level): must NOT have fewer than 1 properties' })
      assert.deepEqual((await ta.admin('PATCH', `/admin/subordinates/${enc(id)}`, { entity_id: 'x' })).body, { error: 'invalid_request', error_description: 'entity_id: unknown property' })
    })

    it('a removed member disappears from fetch and list at once', async () => {
      const d = await ta.admin('DELETE', `/admin/subordinates/${enc(id)}`)
      assert.equal(d.status, 204)
      assert.equal((await fetch(`${ta.entityId}/fetch?sub=${enc(id)}`)).status, 404)
      assert.ok(!(await (await fetch(`${ta.entityId}/list`)).json() as any).includes(id))
      assert.equal((await ta.admin('GET', `/admin/subordinates/${enc(id)}`)).status, 404)
      assert.equal((await ta.admin('DELETE', `/admin/subordinates/${enc(id)}`)).status, 404)
    })

    it('pages through members with after and limit', async () => {
      const first = await ta.admin('GET', '/admin/subordinates?limit=2')
      assert.equal(first.body.items.length, 2)
      assert.ok(first.body.next)
      const second = await ta.admin('GET', `/admin/subordinates?limit=2&after=${enc(first.body.next)}`)
      assert.ok(second.body.items.every((m: { entity_id: string }) => m.entity_id > first.body.next))
      assert.equal((await ta.admin('GET', '/admin/subordinates?limit=0')).body.error_description, 'limit: must be an integer from 1 to 1000')
    })

    it('audits every change with actor, action, subject and outcome', async () => {
      const { body } = await ta.admin('GET', `/admin/audit?subject=${enc(id)}`, undefined, { 'x-anchorage-actor': 'alice' })
      const actions = body.events.map((e: { action: string }) => e.action)
      assert.deepEqual(actions, ['subordinate.add', 'subordinate.suspend', 'subordinate.reinstate', 'subordinate.update', 'subordinate.update', 'subordinate.remove'])
      for (const e of body.events) {
        assert.equal(e.actor, 'admin')
        assert.equal(e.outcome, 'success')
        assert.ok(Date.parse(e.time))
      }
    })
  })

  describe('parallel writes', () => it('never fails parallel admin writes', async () => {
    const key = { keys: [leaf.key.publicJwk] }
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) =>
      ta.admin('POST', '/admin/subordinates', { entity_id: `https://parallel${i}.example.org`, jwks: key })))
    assert.deepEqual(results.map((r) => r.status), Array(100).fill(201))
    const list = await (await fetch(`${ta.entityId}/list`)).json() as any
    assert.equal(list.filter((e: string) => e.startsWith('https://parallel')).length, 100)
  }))
})
