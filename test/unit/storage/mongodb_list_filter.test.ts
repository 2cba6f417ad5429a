/**
 * The MongoDB adapter's list query (src/storage/mongodb/model.ts listFilter) on its own: the
 * `exists` fields become `$exists` clauses by own field name, so a field named like a member of
 * Object.prototype is filtered too, and an equality on the same field is not overwritten.
 */
import { strict as assert } from 'node:assert'
import { listFilter } from '../../../src/storage/mongodb/model.js'

describe('MongoDB list filter: exists', () => {
  it('asks $exists for every field, whatever its name', () => {
    for (const field of ['pending_keys', 'constructor', 'toString', 'hasOwnProperty']) {
      const filter = listFilter(undefined, undefined, 0, { exists: [field] })
      assert.ok(Object.hasOwn(filter, field), field)
      assert.deepEqual(filter[field], { $exists: true }, field)
    }
  })

  it('keeps an equality on the same field (a value implies the field exists)', () => {
    const filter = listFilter({ status: 'active' }, undefined, 0, { exists: ['status'] })
    assert.deepEqual(filter['status'], { $eq: 'active' })
  })

  it('refuses operators, paths, the adapter\'s own fields and __proto__ as exists names', () => {
    for (const field of ['$where', 'a.b', '_id', '__proto__']) {
      assert.throws(() => listFilter(undefined, undefined, 0, { exists: [field] }), TypeError, field)
    }
    assert.throws(() => listFilter(JSON.parse('{"__proto__": "x"}') as Record<string, string>, undefined, 0), TypeError, 'where.__proto__')
  })
})
