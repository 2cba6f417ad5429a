/**
 * The one error middleware (src/http/errors.ts), on a real listener on 127.0.0.1: the answer
 * is `{error, error_description}` with the status of the one table, a 5xx says nothing of
 * what failed, and the private detail goes to the logs with the request id, along the cause
 * chain, whatever the status.
 */
import { strict as assert } from 'node:assert'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import Koa from 'koa'
import { errorMiddleware } from '../../../src/http/errors.js'
import { FederationError, InvalidRequest, ServerError } from '../../../src/errors.js'
import { FetchError } from '../../../src/net/fetch.js'
import { createLogger } from '../../../src/logger.js'

describe('http/errors: the error middleware', () => {
  const logs: Array<Record<string, unknown>> = []
  let server: Server
  let base: string
  const throws = new Map<string, () => never>([
    ['/server-error', () => { throw new ServerError('no signing key', { detail: 'keystore empty' }) }],
    ['/object-detail', () => { throw new FederationError('temporarily_unavailable', 'store unavailable', { detail: { store: 'mongodb', attempts: 3 } }) }],
    ['/refused', () => {
      throw new InvalidRequest('cannot fetch https://leaf.example: refusing to connect', { cause: new FetchError('address', 'refusing to connect', { detail: 'leaf.example resolved to 10.0.0.7' }) })
    }],
    ['/plain', () => { throw new InvalidRequest('sub: is required') }],
    ['/bug', () => { throw new TypeError('x is undefined') }],
  ])

  before(async () => {
    const app = new Koa()
    app.use(async (ctx, next) => {
      ctx.state.requestId = ctx.get('x-request-id')
      await next()
    })
    app.use(errorMiddleware(createLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) })))
    app.use((ctx) => {
      const thrower = throws.get(ctx.path)
      if (thrower) thrower()
      ctx.body = 'ok'
    })
    server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  async function ask(path: string, requestId: string): Promise<{ status: number; body: unknown; cache: string | null; log: Record<string, unknown> | undefined }> {
    const res = await fetch(base + path, { headers: { 'x-request-id': requestId } })
    return { status: res.status, body: await res.json(), cache: res.headers.get('cache-control'), log: logs.find((l) => l.request_id === requestId) }
  }

  it('answers a 5xx with a generic description and logs its detail with the request id', async () => {
    const r = await ask('/server-error', 'req-500')
    assert.deepEqual([r.status, r.body, r.cache], [500, { error: 'server_error', error_description: 'the server could not complete the request' }, 'no-store'])
    assert.equal(r.log?.msg, 'request failed')
    assert.equal(r.log?.level, 'error')
    assert.equal(r.log?.error, 'server_error')
    assert.deepEqual(r.log?.detail, ['keystore empty'])
  })

  it('logs a detail that is not a string as JSON', async () => {
    const r = await ask('/object-detail', 'req-503')
    assert.deepEqual([r.status, r.body], [503, { error: 'temporarily_unavailable', error_description: 'the server could not complete the request' }])
    assert.deepEqual(r.log?.detail, ['{"store":"mongodb","attempts":3}'])
  })

  it('answers a 4xx with its description and logs the detail of its cause, never in the answer', async () => {
    const r = await ask('/refused', 'req-400')
    assert.deepEqual([r.status, r.body], [400, { error: 'invalid_request', error_description: 'cannot fetch https://leaf.example: refusing to connect' }])
    assert.equal(r.log?.msg, 'request refused')
    assert.deepEqual(r.log?.detail, ['leaf.example resolved to 10.0.0.7'])
  })

  it('logs nothing for a 4xx without detail', async () => {
    const r = await ask('/plain', 'req-plain')
    assert.deepEqual([r.status, r.body], [400, { error: 'invalid_request', error_description: 'sub: is required' }])
    assert.equal(r.log, undefined)
  })

  it('answers an unexpected exception as server_error, logging what it was', async () => {
    const r = await ask('/bug', 'req-bug')
    assert.deepEqual([r.status, r.body], [500, { error: 'server_error', error_description: 'the server could not complete the request' }])
    assert.equal(r.log?.msg, 'request failed')
    assert.deepEqual([(r.log?.err as { name?: string } | undefined)?.name, (r.log?.err as { message?: string } | undefined)?.message], ['TypeError', 'x is undefined'])
  })
})
