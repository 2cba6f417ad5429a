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

describe('errors: recognised across copies of the module', () => {
  // A second copy of src/errors.ts, as a process holds one when a module graph is loaded twice
  // (a URL with a query is another module to the ESM loader).
  const copy = (): Promise<typeof errors> => import(`../../src/errors.js?copy=${Math.random()}`) as Promise<typeof errors>

  it('instanceof holds for the same class of another copy, in both directions, and not for another class', async () => {
    const other = await copy()
    assert.notEqual(other.FederationError, FederationError, 'the copy is another module')
    const theirs = new other.Conflict('x: already exists')
    assert.ok(theirs instanceof FederationError)
    assert.ok(theirs instanceof errors.Conflict)
    assert.ok(!(theirs instanceof InvalidRequest))
    assert.ok(errors.isFederationError(theirs))
    const ours = new InvalidRequest('why')
    assert.ok(ours instanceof other.FederationError)
    assert.ok(ours instanceof other.InvalidRequest)
    assert.ok(!(ours instanceof other.Conflict))
    // The base class built with a code is a FederationError, not the named class of that code.
    const base = new other.FederationError('conflict', 'x')
    assert.ok(base instanceof FederationError)
    assert.ok(!(base instanceof errors.Conflict))
  })

  it('a subclass of another module keeps its key (ResolveError), one without a key is told by its prototype chain only', async () => {
    const other = await copy()
    class Mine extends other.FederationError {}
    assert.ok(new Mine('invalid_request', 'x') instanceof FederationError, 'its base class is keyed')
    class Unkeyed extends FederationError {}
    class UnkeyedToo extends FederationError {}
    assert.ok(!(new Unkeyed('invalid_request', 'x') instanceof UnkeyedToo))
    assert.ok(new Unkeyed('invalid_request', 'x') instanceof Unkeyed)
    const { ResolveError } = await import('../../src/trust_chain/errors.js')
    assert.ok(new ResolveError('invalid_trust_chain', 'x', []) instanceof FederationError)
  })

  it('refuses what is not an error of ours, a look-alike included', () => {
    const lookAlike = Object.assign(new Error('x'), { error: 'conflict', status: 409, name: 'FederationError' })
    for (const [i, v] of [undefined, null, 0, 'conflict', {}, lookAlike, Object.create(null), () => undefined].entries()) {
      assert.ok(!(v instanceof FederationError), `value ${i}`)
      assert.ok(!(v instanceof errors.Conflict), `value ${i}`)
    }
  })
})
