/**
 * The admin API's OpenAPI 3.1 contract (docs/admin-api.md, "The OpenAPI contract"): served at
 * {entity path}/admin/openapi.json on the admin plane, valid for a maintained OpenAPI 3.1
 * validator, describing exactly the admin routes the router has (capabilities that are off
 * included or not as they are), each described operation answered by a route, and each body
 * schema the one the server validates with: a body the served schema refuses, the server
 * refuses with 400 and the same problem named. Real deployments: a trust anchor, an
 * authorization server with the admin plane under an entity path, a registered client.
 */
import { strict as assert } from 'node:assert'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import { ManualClock } from '../../src/clock.js'
import { describeAjvError, isAbsoluteUrl, isEntityIdSyntax } from '../../src/config/schemas.js'
import { ADMIN_OPERATIONS } from '../../src/http/admin/operations.js'
import { startEntity, startLeaf, onboard, pinned, type TestEntity, type TestLeaf } from '../support/federation.js'
import { startAgent, tokenRequest, RESOURCE, type Agent } from '../support/agent.js'

type Doc = {
  openapi: string
  servers: Array<{ url: string }>
  paths: Record<string, Record<string, Op>>
  components: { schemas: Record<string, Record<string, unknown>>; responses: Record<string, unknown> }
}
type Op = {
  operationId: string
  description: string
  parameters?: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>
  requestBody?: { required: boolean; content: Record<string, { schema: { $ref: string } }> }
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Record<string, unknown> }> }>
  security: unknown
  'x-anchorage-role': string
}

const enc = encodeURIComponent
const METHODS = ['get', 'put', 'post', 'delete', 'patch']

/** Every operation of the document as `METHOD /path/{param}`. */
function operations(doc: Doc): Array<{ key: string; method: string; path: string; op: Op }> {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item)
    .filter(([m]) => METHODS.includes(m))
    .map(([m, op]) => ({ key: `${m.toUpperCase()} ${path}`, method: m.toUpperCase(), path, op })))
}

/** The router's `/subordinates/:id` as an OpenAPI path template. */
const template = (path: string) => path.replace(/:(\w+)/g, '{$1}')

async function call(base: string, token: string, method: string, path: string, body?: string, contentType = 'application/json'): Promise<{ status: number; type: string; body: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body } : {}),
  })
  const text = await res.text()
  const type = res.headers.get('content-type') ?? ''
  return { status: res.status, type, body: type.startsWith('application/json') && text ? JSON.parse(text) : text }
}

/**
 * The served schemas compiled as OpenAPI 3.1 reads them (JSON Schema 2020-12), with the
 * server's two formats: the whole document is one resource, so `#/components/schemas/x` (and
 * a pointer to a response's schema) resolves as in the document.
 */
function compiler(doc: Doc): (pointer: string) => ValidateFunction<any> {
  // Not strict: the document's own members (openapi, paths, ...) are no schema keywords.
  const ajv = new Ajv2020({ strict: false, allowUnionTypes: true, allErrors: false })
  ajv.addFormat('uri', { type: 'string', validate: isAbsoluteUrl })
  ajv.addFormat('entity-id', { type: 'string', validate: isEntityIdSyntax })
  ajv.addSchema({ ...structuredClone(doc), $id: 'urn:anchorage:contract' })
  const cache = new Map<string, ValidateFunction<any>>()
  return (pointer) => {
    let v = cache.get(pointer)
    if (!v) cache.set(pointer, (v = ajv.compile({ $ref: `urn:anchorage:contract${pointer}` })))
    return v
  }
}

/** A JSON pointer's token. */
const token = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1')

describe('the admin API OpenAPI contract', function () {
  this.timeout(180_000)
  const clock = new ManualClock()
  let ta: TestEntity
  let as: TestEntity
  let member: TestLeaf
  let agent: Agent
  let doc: Doc
  let compile: (ref: string) => ValidateFunction<any>

  before(async () => {
    ta = await startEntity({ clock })
    // Every capability that has admin routes: the authorization server's too; metrics on (the default).
    as = await startEntity({
      clock, path: '/fed', adminListen: '127.0.0.1:0', authority_hints: [ta.entityId],
      config: { trust_anchors: [await pinned(ta)], authorization_server: { resources: [RESOURCE] } },
    })
    await onboard(ta, as.entityId)
    // A member of the authorization server, and a client registered with it.
    member = await startLeaf({ clock, authority_hints: [as.entityId] })
    await onboard(as, member.entityId)
    agent = await startAgent({ clock, authority_hints: [ta.entityId] })
    await onboard(ta, agent.id)
    const t = await tokenRequest(as, await agent.assertion(as.entityId), { resource: RESOURCE })
    assert.equal(t.status, 200, JSON.stringify(t.body))
    const r = await call(as.adminUrl!, as.token, 'GET', '/admin/openapi.json')
    assert.equal(r.status, 200)
    doc = r.body as Doc
    compile = compiler(doc)
  })
  after(async () => {
    await Promise.all([as, ta].map((e) => e?.stop()))
    await Promise.all([member?.stop(), agent?.stop()])
  })

  it('is served on the admin plane to every role as application/json, and nowhere without a token', async () => {
    const add = await as.admin('POST', '/admin/operators', { name: 'audra', role: 'auditor' })
    assert.equal(add.status, 201)
    const r = await call(as.adminUrl!, add.body.token, 'GET', '/admin/openapi.json')
    assert.equal(r.status, 200)
    assert.match(r.type, /^application\/json/)
    assert.deepEqual(r.body, doc)
    assert.equal((await fetch(`${as.adminUrl!}/admin/openapi.json`)).status, 401)
    // The public listener has no admin route at all.
    assert.equal((await fetch(`${as.entityId}/admin/openapi.json`, { headers: { authorization: `Bearer ${as.token}` } })).status, 404)
    assert.equal(doc.servers[0]!.url, '/fed/admin')
  })

  it('is a valid OpenAPI 3.1 document for a maintained validator, which refuses a broken one', async () => {
    const v = new Validator()
    const result = await v.validate(structuredClone(doc))
    assert.deepEqual(result, { valid: true })
    assert.equal(v.version, '3.1')
    assert.equal(doc.openapi, '3.1.1')
    // The validator is not blind: a dangling $ref and a parameter that says not where it is are refused.
    const dangling = structuredClone(doc)
    delete dangling.components.schemas['subordinate.jwks']
    assert.equal((await new Validator().validate(dangling as unknown as Record<string, unknown>)).valid, false)
    const incomplete = structuredClone(doc) as any
    delete incomplete.paths['/subordinates'].get.parameters[0].in
    assert.equal((await new Validator().validate(incomplete as unknown as Record<string, unknown>)).valid, false)
  })

  it('describes exactly the admin routes the router has, each with its role, bearer security and unique operation id', () => {
    const routed = new Map(as.server.adminRoutes.map((r) => [`${r.method} ${template(r.path)}`, r.role]))
    const described = operations(doc)
    assert.deepEqual(described.map((d) => d.key).sort(), [...routed.keys()].sort())
    // With every capability on, every entry of the table is routed (none is stale).
    assert.deepEqual([...ADMIN_OPERATIONS.keys()].map((k) => template(k)).sort(), [...routed.keys()].sort())
    for (const { key, op } of described) {
      assert.equal(op['x-anchorage-role'], routed.get(key), key)
      assert.match(op.description, new RegExp(`Requires the ${routed.get(key)} `), key)
      assert.deepEqual(op.security, [{ bearer: [] }, { consoleSession: [] }], key)
      assert.ok(op.responses['401'], key)
      // 403 below the role, and for a change made with the console session without its CSRF token.
      assert.equal(Boolean(op.responses['403']), routed.get(key) !== 'auditor' || !key.startsWith('GET '), key)
    }
    assert.equal(new Set(described.map((d) => d.op.operationId)).size, described.length)
    // The capabilities that are on only in some configurations are there.
    for (const path of ['/clients/{id}/revoke', '/initial-access-tokens', '/trust-marks', '/software-statements', '/resolve', '/metrics']) assert.ok(doc.paths[path], path)
  })

  it('has a route answer every described operation: never the router\'s 404 or a 405, never 5xx; successes as described', async () => {
    const kid = (await as.admin('GET', '/admin/keys')).body.keys[0].kid as string
    assert.equal((await as.admin('POST', '/admin/operators', { name: 'opal', role: 'operator' })).status, 201)
    const params: Record<string, string> = { '{kid}': kid, '{name}': 'opal' }
    const query: Record<string, string> = {
      sub: member.entityId, trust_anchor: ta.entityId, trust_mark_type: 'https://tm.example.org/none', issuer: ta.entityId,
    }
    // The resolution first (the key changes below re-key this deployment: its superior's statement
    // about it names the old keys), then reads and changes, key changes, removals and disabling, then enabling again.
    const order = (m: string, path: string) => (path === '/resolve' ? -1 : path.endsWith('/enable') ? 3 : m === 'DELETE' || path.endsWith('/disable') ? 2 : m !== 'GET' && path.startsWith('/keys') ? 1 : 0)
    const answered: string[] = []
    for (const { key, method, path, op } of operations(doc).sort((a, b) => order(a.method, a.path) - order(b.method, b.path))) {
      const id = path.startsWith('/clients/') ? agent.id : member.entityId
      const concrete = path.replace(/\{\w+\}/g, (p) => enc(p === '{id}' ? id : params[p]!))
      const search = new URLSearchParams()
      for (const p of op.parameters ?? []) if (p.in === 'query' && p.required) search.set(p.name, query[p.name]!)
      const url = `/admin${concrete}${search.size ? `?${search.toString()}` : ''}`
      const r = await call(as.adminUrl!, as.token, method, url, op.requestBody ? '{}' : undefined)
      const what = `${key}: ${r.status} ${JSON.stringify(r.body)}`
      assert.ok(r.status < 500 && r.status !== 405, what)
      assert.ok(!(r.status === 404 && /^no such endpoint/.test(r.body?.error_description)), what)
      const documented = op.responses[String(r.status)]
      assert.ok(documented || r.status >= 400, `${what}: status not described`)
      if (r.status >= 400) {
        assert.ok(compile('#/components/schemas/Error')(r.body), what)
        continue
      }
      answered.push(key)
      const media = r.type.split(';')[0]!
      if (documented!.content?.[media]?.schema) {
        const schema = compile(`#/paths/${token(path)}/${method.toLowerCase()}/responses/${r.status}/content/${token(media)}/schema`)
        assert.ok(schema(r.body), `${what}: ${JSON.stringify(schema.errors)}`)
      } else {
        assert.ok(r.status === 204 || !documented!.content, `${what}: answered ${media}, described ${Object.keys(documented!.content ?? {}).join(', ')}`)
      }
    }
    // Every read without a path parameter answered, and the client's and the member's routes too.
    for (const { key, method, path } of operations(doc)) if (method === 'GET' && !path.includes('{')) assert.ok(answered.includes(key), `${key} did not answer 2xx`)
    for (const key of ['GET /subordinates/{id}', 'POST /subordinates/{id}/suspend', 'GET /clients/{id}', 'POST /clients/{id}/revoke', 'POST /clients/{id}/reinstate', 'POST /resolve', 'GET /operators/{name}', 'POST /operators/{name}/rotate', 'POST /operators/{name}/enable', 'GET /session']) {
      assert.ok(answered.includes(key), `${key} did not answer 2xx`)
    }
    // The criterion can fail: a path the document does not describe is the router's 404.
    const stray = await call(as.adminUrl!, as.token, 'GET', '/admin/no-such-route')
    assert.equal(stray.status, 404)
    assert.match(stray.body.error_description, /^no such endpoint/)
  })

  /** The operations with a JSON body, and the served schema of each. */
  const withBodies = () => operations(doc).filter((o) => o.op.requestBody).map((o) => ({ ...o, ref: o.op.requestBody!.content['application/json']!.schema.$ref }))

  it('gives as each body schema the one the server validates with: what the served schema refuses, the server refuses naming the same problem', async () => {
    const candidates = (ref: string): unknown[] => {
      const props = Object.keys((resolveLocal(doc, { $ref: ref }).properties ?? {}) as unknown as Record<string, unknown>)
      const values = [12345, 'x', true, [], {}, null, -1, 'x'.repeat(3000)]
      return [[], 'text', null, {}, { 'x-not-a-member': true }, ...props.flatMap((p) => values.map((v) => ({ [p]: v })))]
    }
    let compared = 0
    for (const { key, method, path, ref } of withBodies()) {
      const v = compile(ref)
      const url = `/admin${path.replace(/\{\w+\}/g, () => enc('https://nobody.example.org'))}`
      for (const body of candidates(ref)) {
        if (v(body)) continue
        const expected = [describeAjvError(v.errors), describeAjvError(v.errors, { indexes: 'brackets' }), describeAjvError(v.errors, { indexes: 'brackets', names: 'trust mark type' })]
        const r = await call(as.adminUrl!, as.token, method, url, JSON.stringify(body))
        const what = `${key} ${JSON.stringify(body).slice(0, 80)}: ${r.status} ${JSON.stringify(r.body)}`
        assert.equal(r.status, 400, what)
        assert.equal(r.body.error, 'invalid_request', what)
        assert.ok(expected.includes(r.body.error_description), `${what}; the served schema says ${expected[0]}`)
        compared++
      }
    }
    assert.ok(compared > 100, `only ${compared} bodies compared`)
  })

  it('conformance sweep: every POST, PUT and PATCH with a body schema answers an invalid body with a described 4xx and the error JSON, never 5xx', async () => {
    const errorJson = compile('#/components/schemas/Error')
    const bad: Array<[string, string, string]> = [
      ['not an object', '[]', 'application/json'],
      ['a JSON string', '"x"', 'application/json'],
      ['not JSON', '{"a":', 'application/json'],
      ['nested too deep', `${'['.repeat(200)}${']'.repeat(200)}`, 'application/json'],
      ['an unknown member', '{"x-not-a-member":{"y":1}}', 'application/json'],
      ['not application/json', 'a=1', 'application/x-www-form-urlencoded'],
      ['over the size limit', JSON.stringify({ x: 'y'.repeat(70_000) }), 'application/json'],
    ]
    const ops = withBodies().filter((o) => ['POST', 'PUT', 'PATCH'].includes(o.method))
    assert.ok(ops.length >= 20, `${ops.length} operations with a body`)
    for (const { key, method, path, op } of ops) {
      const url = `/admin${path.replace(/\{\w+\}/g, () => enc(member.entityId))}`
      for (const [label, body, type] of bad) {
        const r = await call(as.adminUrl!, as.token, method, url, body, type)
        const what = `${key} with ${label}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`
        assert.ok(r.status >= 400 && r.status < 500, what)
        assert.ok(op.responses[String(r.status)], `${what}: status not described`)
        assert.ok(errorJson(r.body), what)
        if (label === 'not application/json') assert.equal(r.status, 415, what)
        else if (label === 'over the size limit') assert.equal(r.status, 413, what)
        else if (label !== 'an unknown member') assert.deepEqual([r.status, r.body.error], [400, 'invalid_request'], what)
      }
    }
  })
})

describe('the admin API OpenAPI contract of a deployment with fewer capabilities', function () {
  this.timeout(60_000)

  it('describes only what is routed: no clients, initial access tokens or metrics when they are off', async () => {
    const e = await startEntity({ config: { metrics: { enabled: false } } })
    try {
      const r = await e.admin('GET', '/admin/openapi.json')
      assert.equal(r.status, 200)
      const doc = r.body as Doc
      assert.deepEqual(operations(doc).map((o) => o.key).sort(), e.server.adminRoutes.map((a) => `${a.method} ${template(a.path)}`).sort())
      for (const path of ['/clients', '/clients/{id}', '/initial-access-tokens', '/metrics']) assert.equal(doc.paths[path], undefined, path)
      assert.ok(doc.paths['/trust-marks'] && doc.paths['/subordinates'])
      assert.equal(doc.components.schemas.client_revoke, undefined)
      assert.deepEqual(await new Validator().validate(doc as unknown as Record<string, unknown>), { valid: true })
    } finally {
      await e.stop()
    }
  })
})

/** A schema with its `#/components/...` references replaced by what they point at (responses' schemas are small). */
function resolveLocal(doc: Doc, schema: Record<string, unknown>): Record<string, any> {
  const seen = new Set<string>()
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk)
    if (typeof node !== 'object' || node === null) return node
    const ref = (node as { $ref?: unknown }).$ref
    if (typeof ref === 'string' && ref.startsWith('#/')) {
      if (seen.has(ref)) throw new Error(`recursive ${ref}`)
      seen.add(ref)
      const target = ref.slice(2).split('/').reduce<any>((o, k) => o?.[k], doc)
      const out = walk(target)
      seen.delete(ref)
      return out
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]))
  }
  return walk(schema) as Record<string, any>
}
