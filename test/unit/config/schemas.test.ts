/**
 * The one schema set (config/schemas.ts): every file of schemas/ compiled by one ajv instance,
 * and the one describer that turns an ajv failure into `field: problem`.
 */
import { strict as assert } from 'node:assert'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { validator, describeAjvError, fieldName, schemaProblem, PACKAGE_ROOT } from '../../../src/config/schemas.js'

function problem(schema: string, input: unknown, options?: Parameters<typeof describeAjvError>[1]): string {
  const v = validator(schema)
  assert.equal(v(input), false, `${schema} accepted ${JSON.stringify(input)}`)
  return describeAjvError(v.errors, options)
}

describe('config/schemas: one ajv instance, one describer', () => {
  it('compiles every schema of schemas/, once: the same validator each time', () => {
    const names = readdirSync(join(PACKAGE_ROOT, 'schemas')).filter((f) => f.endsWith('.schema.json')).map((f) => f.slice(0, -'.schema.json'.length))
    assert.ok(names.length >= 10)
    for (const name of names) assert.equal(validator(name), validator(name), name)
  })

  it('refuses a schema name that does not exist', () => {
    assert.throws(() => validator('nothing_here'), /no schema schemas\/nothing_here\.schema\.json/)
  })

  it('names the member: unknown, missing, not one of the allowed values, wrong type, at the top', () => {
    assert.equal(problem('subordinate', { entity_id: 'https://a.example', colour: 'red' }), 'colour: unknown property')
    assert.equal(problem('subordinate', {}), 'entity_id: is required')
    assert.equal(problem('key_rotate', { alg: 'XX256' }), 'alg: must be one of "ES256", "ES384", "PS256", "RS256", "EdDSA"')
    assert.equal(problem('subordinate', { entity_id: 7 }), 'entity_id: must be string')
    assert.equal(problem('subordinate', [1]), '(top level): must be object')
  })

  it('writes array items with dots by default, and with brackets and quoted URL names when asked', () => {
    const body = { 'https://tm.example/a': ['not an entity id'] }
    assert.equal(problem('trust_mark_issuers', body), 'https://tm.example/a.0: must match format "entity-id"')
    assert.equal(problem('trust_mark_issuers', body, { indexes: 'brackets' }), '["https://tm.example/a"][0]: must match format "entity-id"')
  })

  it('says which member name is refused, and what a name stands for', () => {
    assert.equal(problem('trust_mark_issuers', { 'a b': [] }, { indexes: 'brackets', names: 'trust mark type' }), '["a b"]: is not a valid trust mark type (must match pattern "^\\S+$")')
    assert.equal(problem('trust_mark_issuers', { 'a b': [] }), 'a b: is not a valid member name (must match pattern "^\\S+$")')
  })

  it('decodes the JSON pointer of a member whose name holds / or ~', () => {
    const v = validator('trust_mark_issuers')
    assert.equal(v({ 'https://x/~t': 'not an array' }), false)
    assert.deepEqual(schemaProblem(v.errors)?.path, ['https://x/~t'])
    assert.equal(fieldName(['a', '0', 'b c'], 'brackets'), 'a[0]["b c"]')
    assert.equal(fieldName([]), '(top level)')
  })

  it('describes no error as "invalid"', () => {
    assert.equal(describeAjvError(null), 'invalid')
    assert.equal(schemaProblem([]), undefined)
  })
})
