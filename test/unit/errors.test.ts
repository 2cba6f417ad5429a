/**
 * The error vocabulary (src/errors.ts): one named class per code, its status from the one
 * table, koa's `expose` contract, a private `detail` and the `cause` kept.
 */
import { strict as assert } from 'node:assert'
import * as errors from '../../src/errors.js'
import { FederationError, STATUS, InvalidRequest, ServerError, InvalidGrant, MethodNotAllowed } from '../../src/errors.js'

describe('errors: one vocabulary', () => {
  type ErrorClass = new (description: string) => FederationError
  const classes: Array<[string, ErrorClass]> = []
  for (const [name, value] of Object.entries(errors)) {
    if (typeof value === 'function' && value !== FederationError && value.prototype instanceof FederationError) classes.push([name, value as ErrorClass])
  }

  it('names each class after itself, with its code and the status of the table', () => {
    assert.ok(classes.length >= 20, `only ${classes.length} classes`)
    for (const [exported, Class] of classes) {
      const err = new Class('why')
      assert.equal(Class.name, exported)
      assert.equal(err.name, exported)
      assert.equal(err.status, STATUS[err.error], exported)
      assert.ok(err instanceof FederationError)
      assert.ok(String(err.stack).startsWith(`${exported}: why`), exported)
    }
  })

  it('has one class per code, and every code of the table but the spare ones has one', () => {
    const codes = new Set<string>(classes.map(([, Class]) => new Class('x').error))
    assert.equal(codes.size, classes.length, 'two classes share a code')
    // not_implemented (501) is answered by the router alone.
    for (const code of Object.keys(STATUS)) if (code !== 'not_implemented') assert.ok(codes.has(code), `no class for ${code}`)
  })

  it('exposes the description of a 4xx, hides that of a 5xx, and keeps detail and cause out of the answer', () => {
    const cause = new Error('socket hang up')
    const refused = new InvalidRequest('sub: is required', { detail: 'private', cause })
    assert.deepEqual([refused.status, refused.expose, refused.toJSON()], [400, true, { error: 'invalid_request', error_description: 'sub: is required' }])
    assert.equal(refused.cause, cause)
    assert.equal(refused.detail, 'private')
    const failed = new ServerError('no signing key', { detail: 'keystore empty' })
    assert.deepEqual([failed.status, failed.expose, failed.toJSON()], [500, false, { error: 'server_error', error_description: 'the server could not complete the request' }])
    assert.ok(!JSON.stringify(failed).includes('keystore empty'))
  })

  it('gives OAuth and HTTP codes their statuses', () => {
    assert.equal(new InvalidGrant('expired').status, 400)
    assert.equal(new MethodNotAllowed('GET only').status, 405)
  })
})
