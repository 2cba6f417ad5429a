/**
 * The stores are imported dynamically (src/storage/open.ts: the MongoDB driver is loaded only
 * for a mongodb:// store), and so is the OpenID Provider. Their errors must still be the
 * project's errors where they are caught and answered: a store's FederationError recognised
 * by `instanceof` in the domain and at the HTTP layer (src/http/errors.ts), with its own
 * status and code, not turned into another one.
 *
 * Two defences, each tested here: the tests run as one ESM module graph, as the server does
 * (.mocharc.json: mocha would require() test files, tsx's require hook turns them into
 * CommonJS, and an `import()` from CommonJS loads a second copy of every module below it);
 * and the error classes are recognised across copies of src/errors.ts (brandError).
 */
import { strict as assert } from 'node:assert'
import * as errorsStatic from '../../src/errors.js'
import { startEntity, type TestEntity } from '../support/entity.js'
import { startMongoServer, type MongoServerHandle } from '../support/mongo_server.js'

const JWKS = { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis', y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE' }] }

describe('errors of the dynamically imported stores, at the HTTP layer', function () {
  this.timeout(60_000)

  it('the test process holds one copy of each module: a dynamic import gives what the static import gave', async () => {
    const errorsDynamic = await import('../../src/errors.js')
    assert.equal(errorsDynamic.FederationError, errorsStatic.FederationError,
      'src/errors.ts was loaded twice: the test files were loaded as CommonJS (tsx\'s require hook). ' +
      'Run mocha as .mocharc.json does: --node-option import=tsx --node-option no-experimental-require-module')
  })

  it('an insert conflict of the embedded store is 409 conflict with the operator named (POST /admin/operators twice)', async () => {
    const e = await startEntity()
    try {
      assert.equal((await e.admin('POST', '/admin/operators', { name: 'alice', role: 'auditor' })).status, 201)
      const again = await e.admin('POST', '/admin/operators', { name: 'alice', role: 'operator' })
      assert.deepEqual([again.status, again.body], [409, { error: 'conflict', error_description: 'operator alice already exists' }])
    } finally {
      await e.stop()
    }
  })

  it('MongoDB gone is 503 temporarily_unavailable on a write and a read of the admin API, not 500', async function () {
    if (process.env.MONGODB_URI) return this.skip() // needs a server this test can stop
    let server: MongoServerHandle | undefined
    try {
      server = await startMongoServer()
    } catch (err) {
      if (process.env.CI === 'true') throw err
      return this.skip()
    }
    let e: TestEntity | undefined
    try {
      e = await startEntity({ config: { store: `mongodb://127.0.0.1:${server.port}/store_errors`, store_options: { server_selection_timeout_ms: 500 } } })
      assert.equal((await e.admin('POST', '/admin/subordinates', { entity_id: 'https://kept.example.org', jwks: JWKS })).status, 201)
      await server.stop()
      const write = await e.admin('POST', '/admin/subordinates', { entity_id: 'https://new.example.org', jwks: JWKS })
      assert.equal(write.status, 503, JSON.stringify(write.body))
      assert.equal(write.body.error, 'temporarily_unavailable')
      const read = await e.admin('GET', '/admin/subordinates')
      assert.equal(read.status, 503, JSON.stringify(read.body))
      assert.equal(read.body.error, 'temporarily_unavailable')
    } finally {
      await e?.stop().catch(() => undefined)
      await server.kill().catch(() => undefined)
    }
  })
})
