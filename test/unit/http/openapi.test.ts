/**
 * The admin API's OpenAPI contract as built (src/http/admin/openapi.ts): the body schemas
 * placed as components without changing what they accept, and the start-up guards (a routed
 * route the contract does not describe, a path parameter without a description).
 */
import { strict as assert } from 'node:assert'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { bodySchemas, openApiDocument } from '../../../src/http/admin/openapi.js'
import { compiledSchemas, isAbsoluteUrl, isEntityIdSyntax, validator } from '../../../src/config/schemas.js'
import { ADMIN_OPERATIONS } from '../../../src/http/admin/operations.js'
import { REQUIRED_ROLE } from '../../../src/http/admin/roles.js'

/** Every key of every object in `node`, at any depth. */
function keys(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => keys(n, out))
  else if (typeof node === 'object' && node !== null) for (const [k, v] of Object.entries(node)) keys(v, out.add(k))
  return out
}

describe('the admin API OpenAPI contract, as built', () => {
  const bodies = [...new Set([...ADMIN_OPERATIONS.values()].flatMap((op) => (op.body ? [op.body.schema] : [])))]

  it('places each body schema and what it refers to as components, without $schema, $id or definitions, every $ref local', () => {
    const components = bodySchemas(['subordinate_patch'])
    assert.deepEqual(Object.keys(components).sort(), ['subordinate.constraints', 'subordinate.entity_types', 'subordinate.jwks', 'subordinate.metadata', 'subordinate.metadata_policy', 'subordinate.names', 'subordinate_patch'])
    const all = bodySchemas(bodies)
    for (const k of ['$schema', '$id', 'definitions']) assert.ok(!keys(all).has(k), k)
    const refs = JSON.stringify(all).match(/"\$ref":"[^"]*"/g) ?? []
    assert.ok(refs.length > 5)
    for (const ref of refs) assert.ok(Object.hasOwn(all, ref.slice('"$ref":"#/components/schemas/'.length, -1)), ref)
    // The source schemas, shared with ajv, are untouched.
    assert.equal(compiledSchemas().get('subordinate')!.$id, 'https://anchorage.dev/schemas/subordinate.schema.json')
  })

  it('keeps what each schema accepts: the placed schema and the server\'s validator agree on every sample', () => {
    const ajv = new Ajv2020({ strict: false, allowUnionTypes: true })
    ajv.addFormat('uri', { type: 'string', validate: isAbsoluteUrl })
    ajv.addFormat('entity-id', { type: 'string', validate: isEntityIdSyntax })
    ajv.addSchema({ $id: 'urn:anchorage:contract', components: { schemas: bodySchemas(bodies) } })
    const values = [undefined, null, 0, 12345, -1, 'x', 'https://a.example', 'a b', true, [], ['x'], [{}], {}, { keys: [] }, { keys: [{ kty: 'EC', kid: 'k' }] }, { a: null }]
    let samples = 0
    for (const name of bodies) {
      const placed = ajv.compile({ $ref: `urn:anchorage:contract#/components/schemas/${name}` })
      const server = validator(name)
      const props = Object.keys(compiledSchemas().get(name)!.properties ?? {})
      const inputs: unknown[] = [...values, ...props.flatMap((p) => values.map((v) => ({ [p]: v }))), { [props[0] ?? 'x']: 'x', [props[1] ?? 'y']: 'https://a.example' }]
      for (const input of inputs) {
        assert.equal(placed(input), server(input), `${name} ${JSON.stringify(input)}`)
        samples++
      }
    }
    assert.ok(samples > 500, `${samples}`)
  })

  it('refuses to start with a routed route it does not describe; every entry has a role and its path parameters described', () => {
    assert.throws(() => openApiDocument({ routes: [{ method: 'GET', path: '/no-such-route', role: 'auditor' }], adminPath: '/admin' }),
      /admin route GET \/no-such-route has no entry in src\/http\/admin\/operations\.ts/)
    assert.throws(() => openApiDocument({ routes: [{ method: 'GET', path: '/subordinates/:other', role: 'auditor' }], adminPath: '/admin' }), /no entry/)
    // Every entry's path parameters are described, and every entry has a role.
    const routes = [...ADMIN_OPERATIONS.keys()].map((k) => {
      const [method, path] = k.split(' ') as [string, string]
      const role = REQUIRED_ROLE.get(k)
      assert.ok(role, `${k} has no role`)
      return { method, path, role }
    })
    const doc = openApiDocument({ routes, adminPath: '/fed/admin' }) as { paths: Record<string, unknown>; servers: unknown }
    assert.deepEqual(doc.servers, [{ url: '/fed/admin', description: 'The admin API, on the listener that served this document' }])
    assert.ok(doc.paths['/subordinates/{id}'])
    assert.throws(() => bodySchemas(['no_such_schema']), /no schema schemas\/no_such_schema\.schema\.json/)
  })
})
