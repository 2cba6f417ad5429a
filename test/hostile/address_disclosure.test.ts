/**
 * Errors for unauthenticated callers never say what an internal host name resolves to
 * (issue 12, item 6): /resolve and the token endpoint name the rule and the host the
 * caller gave; the resolved address (or Node's socket text, which contains it) goes to the
 * log only, with the request id.
 *
 *   TA (Anchorage, private networks allowed)  <-  LEAF (hints at TA and at http://localhost:CLOSED)
 *     |                                          AGENT (a good client under TA)
 *   STRICT (Anchorage AS + resolver, private networks refused; trusts TA)
 *   LENIENT (Anchorage AS + resolver, private networks allowed; trusts TA)
 *
 *   http://localhost:PORT  a listener that counts connections (it must see none)
 *   http://localhost:CLOSED  nothing listens: connecting is refused
 */
import http from 'node:http'
import { strict as assert } from 'node:assert'
import type { AddressInfo } from 'node:net'
import { ManualClock } from '../../src/clock.js'
import { createLogger } from '../../src/logger.js'
import { startEntity, startLeaf, onboard, pinned, resolveAt, type TestEntity, type TestLeaf, type ResolveResult } from '../support/federation.js'
import { startAuthorizationServer, startAgent, tokenRequest, assertion, RESOURCE, type Agent, realNow } from '../support/agent.js'
import { freePort } from '../support/net.js'
import { testKey } from '../support/entity.js'

const OUTBOUND = { allow_http: true, allow_private_network: true, timeout_ms: 2000 }
const STRICT_OUTBOUND = { ...OUTBOUND, allow_private_network: false }

describe('hostile: errors never disclose what an internal host name resolves to', () => {
  const clock = new ManualClock()
  const logs: Array<Record<string, any>> = []
  const logger = createLogger({ level: 'info', write: (line) => logs.push(JSON.parse(line)) })
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort()
  let ta: TestEntity, strict: TestEntity, lenient: TestEntity
  let leaf: TestLeaf, agent: Agent
  let listener: http.Server, port: number, closed: number
  let connections = 0

  before(async () => {
    listener = http.createServer((_req, res) => res.writeHead(404).end())
    listener.on('connection', () => connections++)
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r))
    port = (listener.address() as AddressInfo).port
    closed = await freePort()
    ta = await startEntity({ clock, logger, config: { outbound: OUTBOUND } })
    const anchors = [await pinned(ta)]
    strict = await startAuthorizationServer({ clock, anchors, logger, config: { outbound: STRICT_OUTBOUND } })
    lenient = await startAuthorizationServer({ clock, anchors, logger, config: { outbound: OUTBOUND } })
    leaf = await startLeaf({ clock, authority_hints: [`http://localhost:${closed}`, ta.entityId] })
    agent = await startAgent({ clock, authority_hints: [ta.entityId] })
    await onboard(ta, agent.id)
  })
  after(async () => {
    await Promise.all([ta, strict, lenient, leaf, agent].map((e) => e?.stop()))
    listener?.closeAllConnections()
    await new Promise<void>((r) => (listener ? listener.close(() => r()) : r()))
  })
  beforeEach(() => {
    logs.length = 0
    connections = 0
  })
  afterEach(() => {
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore, 'Object.prototype gained a property')
  })

  /** The text with the entity ids the caller named (and ours) taken out: what remains must name no loopback address. */
  function assertNoAddress(text: string, given: string[]): void {
    let rest = text
    for (const id of given) rest = rest.split(id).join('<id>')
    for (const address of ['127.0.0.1', '::1', '[::1]']) assert.ok(!rest.includes(address), `${address} disclosed in: ${text}`)
  }

  /** The log line the error middleware wrote for the request, with the detail the answer left out. */
  function refusalLog(requestId: string | null): Record<string, any> {
    const line = logs.find((l) => l.msg === 'request refused' && l.request_id === requestId)
    assert.ok(line, `no "request refused" log line for request ${requestId}: ${JSON.stringify(logs)}`)
    return line
  }

  async function resolveWithId(at: TestEntity, params: Record<string, string>): Promise<ResolveResult & { requestId: string | null }> {
    const res = await fetch(`${at.entityId}/resolve?${new URLSearchParams(params).toString()}`)
    const text = await res.text()
    return { status: res.status, contentType: res.headers.get('content-type'), text, error: JSON.parse(text), requestId: res.headers.get('x-request-id') }
  }

  it('/resolve of a subject at http://localhost:PORT with private networks refused: names the rule and the host, not 127.0.0.1 or ::1, and connects to nothing', async () => {
    const sub = `http://localhost:${port}`
    const r = await resolveWithId(strict, { sub, trust_anchor: ta.entityId })
    assert.equal(r.status, 404, r.text)
    assert.equal(r.error?.error, 'invalid_subject')
    assert.equal(r.error?.error_description,
      `entity configuration of ${sub}: "address": refusing to connect to localhost: it has no public address (outbound.allow_private_network is off)`)
    assertNoAddress(r.text, [sub, ta.entityId, strict.entityId])
    assert.equal(connections, 0)
    assert.match(refusalLog(r.requestId).detail.join(' '), /localhost resolved to .*(127\.0\.0\.1|::1)/)
    const good = await resolveAt(strict, { sub: strict.entityId, trust_anchor: strict.entityId })
    assert.equal(good.status, 200, good.text)
  })

  it('/resolve through a superior at http://localhost:CLOSED: the socket error is named by its code, the address only logged', async () => {
    const r = await resolveWithId(ta, { sub: leaf.entityId, trust_anchor: ta.entityId })
    assert.equal(r.status, 400, r.text)
    assert.equal(r.error?.error, 'invalid_trust_chain')
    const d = r.error?.error_description ?? ''
    assert.ok(d.includes(`fetching http://localhost:${closed}/.well-known/openid-federation failed: connection refused (ECONNREFUSED)`), d)
    assertNoAddress(r.text, [leaf.entityId, ta.entityId, `http://localhost:${closed}`])
    const detail = refusalLog(r.requestId).detail.join(' ')
    assert.match(detail, new RegExp(`localhost:${closed}.*ECONNREFUSED (127\\.0\\.0\\.1|::1)`))
    const good = await resolveAt(ta, { sub: agent.id, trust_anchor: ta.entityId })
    assert.equal(good.status, 200, good.text)
  })

  it('the token endpoint for a client at http://localhost:PORT with private networks refused: invalid_client naming the rule, not the address', async () => {
    const client = `http://localhost:${port}`
    const key = await testKey()
    const r = await tokenRequest(strict, await assertion(key, { iss: client, aud: strict.entityId, now: realNow() }), { resource: RESOURCE })
    assert.equal(r.status, 401, JSON.stringify(r.body))
    assert.equal(r.body.error, 'invalid_client')
    assert.match(r.body.error_description, /"address": refusing to connect to localhost: it has no public address/)
    assertNoAddress(JSON.stringify(r.body), [client, ta.entityId, strict.entityId])
    assert.equal(connections, 0)
    assert.match(refusalLog(r.headers.get('x-request-id')).detail.join(' '), /localhost resolved to .*(127\.0\.0\.1|::1)/)
  })

  it('the token endpoint for a client at http://localhost:CLOSED: the socket error is named by its code; a good agent still gets a token', async () => {
    const client = `http://localhost:${closed}`
    const key = await testKey()
    const r = await tokenRequest(lenient, await assertion(key, { iss: client, aud: lenient.entityId, now: realNow() }), { resource: RESOURCE })
    assert.equal(r.status, 401, JSON.stringify(r.body))
    assert.equal(r.body.error, 'invalid_client')
    assert.match(r.body.error_description, /connection refused \(ECONNREFUSED\)/)
    assertNoAddress(JSON.stringify(r.body), [client, ta.entityId, lenient.entityId])
    assert.match(refusalLog(r.headers.get('x-request-id')).detail.join(' '), /ECONNREFUSED (127\.0\.0\.1|::1)/)
    const good = await tokenRequest(lenient, await agent.assertion(lenient.entityId), { resource: RESOURCE })
    assert.equal(good.status, 200, JSON.stringify(good.body))
  })
})
