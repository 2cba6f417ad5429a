/**
 * The real outbound fetcher against a real server on 127.0.0.1: non-public destinations
 * are refused before any connection is made, in literal and resolved form, and no error
 * message names an address a host name resolved to (the detail keeps it, for the log).
 */
import http from 'node:http'
import { strict as assert } from 'node:assert'
import type { AddressInfo } from 'node:net'
import { createFetcher, FetchError, type FetchOptions } from '../../../src/net/fetch.js'
import { freePort } from '../../support/net.js'

const base: FetchOptions = { allowHttp: true, allowPrivateNetwork: false, timeoutMs: 2000, maxResponseBytes: 65_536 }

async function refusal(p: Promise<unknown>): Promise<FetchError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof FetchError, String(err))
    return err
  }
  assert.fail('the fetch was not refused')
}

describe('outbound fetcher: private destinations and error texts', () => {
  let server: http.Server
  let port: number
  let connections = 0

  before(async () => {
    server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'))
    server.on('connection', () => connections++)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  })
  beforeEach(() => {
    connections = 0
  })

  it('connects to the test server when private networks are allowed (the counter sees connections)', async () => {
    const res = await createFetcher({ ...base, allowPrivateNetwork: true }).get(`http://127.0.0.1:${port}/`, 'text/plain')
    assert.equal(res.status, 200)
    assert.equal(connections, 1)
  })

  it('refuses the 6to4 form of loopback, http://[2002:7f00:1::]:PORT/, without a connection', async () => {
    const err = await refusal(createFetcher(base).get(`http://[2002:7f00:1::]:${port}/`, 'text/plain'))
    assert.equal(err.reason, 'address')
    assert.equal(err.message, 'refusing to connect to [2002:7f00:1::]: not a public address (outbound.allow_private_network is off)')
    assert.equal(connections, 0)
  })

  for (const literal of ['127.0.0.1', '[::ffff:127.0.0.1]', '[::127.0.0.1]', '[64:ff9b::7f00:1]', '[::1]']) {
    it(`refuses http://${literal}:PORT/ without a connection`, async () => {
      const err = await refusal(createFetcher(base).get(`http://${literal}:${port}/`, 'text/plain'))
      assert.equal(err.reason, 'address')
      assert.equal(connections, 0)
    })
  }

  it('refuses a host name that resolves to loopback, naming the rule and the host, never the address', async () => {
    const err = await refusal(createFetcher(base).get(`http://localhost:${port}/`, 'text/plain'))
    assert.equal(err.reason, 'address')
    assert.equal(err.message, 'refusing to connect to localhost: it has no public address (outbound.allow_private_network is off)')
    assert.equal(connections, 0)
    assert.match(err.detail ?? '', /localhost resolved to .*(127\.0\.0\.1|::1)/)
  })

  it('replaces the socket error text (which names the address connected to) by its code', async () => {
    const closed = await freePort()
    const err = await refusal(createFetcher({ ...base, allowPrivateNetwork: true }).get(`http://localhost:${closed}/`, 'text/plain'))
    assert.equal(err.reason, 'network')
    assert.equal(err.message, `fetching http://localhost:${closed}/ failed: connection refused (ECONNREFUSED)`)
    assert.match(err.detail ?? '', /ECONNREFUSED (127\.0\.0\.1|::1)/)
  })
})
