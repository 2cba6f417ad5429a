/**
 * The protected-resource toolkit (src/protected_resource/guard.ts) against an authorization
 * server on its own loopback port (RFC 8414 metadata, jwks_uri, RFC 7662 introspection) with
 * real keys, and real RFC 9068 tokens signed by it. The full Anchorage authorization server
 * path is covered by registration_killswitch.test.ts (the demo resource uses this guard).
 */
import { strict as assert } from 'node:assert'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT } from 'jose'
import { testKey, type TestKey } from '../support/entity.js'
import { ManualClock } from '../../src/clock.js'
import { createFetcher } from '../../src/net/fetch.js'
import { createResourceGuard, protectedResourceMetadataUrl, type ResourceGuard } from '../../src/protected_resource/guard.js'

const RESOURCE = 'https://mcp.example.com/mcp'

describe('protected-resource toolkit (RFC 9728, RFC 6750, RFC 9068)', () => {
  const clock = new ManualClock()
  let issuer: string
  let server: http.Server
  let keys: TestKey[]
  let fetches = 0
  let active = true
  let metadataIssuer: string | undefined
  let introspected: URLSearchParams | undefined
  let guard: ResourceGuard
  const fetcher = createFetcher({ allowHttp: true, allowPrivateNetwork: true, timeoutMs: 2000, maxResponseBytes: 65_536 })

  before(async () => {
    keys = [await testKey()]
    server = http.createServer((req, res) => {
      const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      if (req.url === '/.well-known/oauth-authorization-server/as') {
        fetches++
        return json({ issuer: metadataIssuer ?? issuer, jwks_uri: `${issuer}/jwks`, introspection_endpoint: `${issuer}/introspect` })
      }
      if (req.url === '/as/jwks') return json({ keys: keys.map((k) => k.publicJwk) })
      if (req.url === '/as/introspect' && req.method === 'POST') {
        let body = ''
        req.on('data', (c: Buffer) => (body += c.toString()))
        req.on('end', () => {
          introspected = new URLSearchParams(body)
          json(active ? { active: true } : { active: false })
        })
        return
      }
      res.writeHead(404).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/as`
    guard = createResourceGuard({ resource: RESOURCE, authorizationServers: [issuer], scopesSupported: ['mcp:tools', 'mcp:admin'], requiredScopes: ['mcp:tools'], fetcher, clock, resourceName: 'Demo MCP' })
  })
  after(() => new Promise<void>((r) => server.close(() => r())))

  const token = (claims: Record<string, unknown> = {}, o: { key?: TestKey; typ?: string; kid?: string } = {}) => {
    const key = o.key ?? keys[0]!
    const now = clock.now()
    return new SignJWT({ iss: issuer, aud: RESOURCE, sub: 'agent', client_id: 'https://agent.example', scope: 'mcp:tools', iat: now, exp: now + 300, jti: String(Math.random()), ...claims })
      .setProtectedHeader({ alg: key.alg, kid: o.kid ?? key.kid, typ: o.typ ?? 'at+jwt' }).sign(key.privateKey)
  }
  const refused = (r: Awaited<ReturnType<ResourceGuard['check']>>, status: number, error?: string) => {
    assert.equal(r.ok, false, 'accepted')
    if (r.ok) return ''
    assert.equal(r.status, status, JSON.stringify(r.body))
    assert.equal(r.body.error, error)
    assert.match(r.headers['www-authenticate']!, /^Bearer /)
    assert.ok(r.headers['www-authenticate']!.includes(`resource_metadata="${guard.metadataUrl}"`))
    return r.headers['www-authenticate']!
  }

  it('publishes RFC 9728 metadata at the URL derived from the resource', () => {
    assert.equal(guard.metadataUrl, 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp')
    assert.equal(guard.metadataPath, '/.well-known/oauth-protected-resource/mcp')
    assert.equal(protectedResourceMetadataUrl('https://r.example/'), 'https://r.example/.well-known/oauth-protected-resource')
    assert.deepEqual(guard.metadata(), {
      resource: RESOURCE, authorization_servers: [issuer], scopes_supported: ['mcp:tools', 'mcp:admin'],
      bearer_methods_supported: ['header'], resource_name: 'Demo MCP',
    })
  })

  it('answers 401 with resource_metadata and no error code without bearer credentials', async () => {
    for (const h of [undefined, '', 'Basic dXNlcjpwYXNz']) {
      const challenge = refused(await guard.check(h), 401, undefined)
      assert.equal(challenge, `Bearer resource_metadata="${guard.metadataUrl}"`)
    }
    refused(await guard.check('Bearer a b'), 400, 'invalid_request')
    refused(await guard.check(`Bearer ${'a'.repeat(10_000)}`), 400, 'invalid_request')
  })

  it('accepts a valid token and hands its claims', async () => {
    const r = await guard.check(`Bearer ${await token()}`)
    assert.ok(r.ok)
    assert.equal(r.claims.client_id, 'https://agent.example')
    assert.deepEqual(r.scopes, ['mcp:tools'])
  })

  it('refuses a wrong typ, audience, issuer, signature, and an expired token (with skew)', async () => {
    refused(await guard.check(`Bearer ${await token({}, { typ: 'JWT' })}`), 401, 'invalid_token')
    refused(await guard.check(`Bearer ${await token({ aud: 'https://other.example/mcp' })}`), 401, 'invalid_token')
    refused(await guard.check(`Bearer ${await token({ iss: 'https://evil.example' })}`), 401, 'invalid_token')
    const attacker = await testKey()
    refused(await guard.check(`Bearer ${await token({}, { key: attacker, kid: keys[0]!.kid })}`), 401, 'invalid_token')
    refused(await guard.check('Bearer not.a.jwt'), 401, 'invalid_token')
    const t = await token()
    clock.advance(300 + 30)
    assert.ok((await guard.check(`Bearer ${t}`)).ok, 'within the 60 s skew')
    clock.advance(31)
    const challenge = refused(await guard.check(`Bearer ${t}`), 401, 'invalid_token')
    assert.match(challenge, /error="invalid_token", error_description="[^"]*expired/)
  })

  it('answers 403 insufficient_scope naming the scopes needed', async () => {
    const challenge = refused(await guard.check(`Bearer ${await token({ scope: 'other' })}`), 403, 'insufficient_scope')
    assert.match(challenge, /scope="mcp:tools"/)
    const admin = refused(await guard.check(`Bearer ${await token()}`, { scopes: ['mcp:admin'] }), 403, 'insufficient_scope')
    assert.match(admin, /scope="mcp:tools mcp:admin"/)
  })

  it('follows a key rollover, refetching at most once per jwks_refresh_seconds for unknown kids', async () => {
    const next = await testKey()
    keys.push(next)
    clock.advance(31)
    const before = fetches
    assert.ok((await guard.check(`Bearer ${await token({}, { key: next })}`)).ok)
    assert.equal(fetches, before + 1)
    for (let i = 0; i < 5; i++) refused(await guard.check(`Bearer ${await token({}, { kid: `unknown-${i}` })}`), 401, 'invalid_token')
    assert.equal(fetches, before + 1, 'unknown kids do not make the resource fetch again within the interval')
  })

  it('refuses everything when the AS metadata names another issuer', async () => {
    metadataIssuer = 'https://impostor.example'
    const g = createResourceGuard({ resource: RESOURCE, authorizationServers: [issuer], fetcher, clock })
    refused(await g.check(`Bearer ${await token()}`), 401, 'invalid_token')
    metadataIssuer = undefined
    assert.ok((await g.check(`Bearer ${await token()}`)).ok, 'a failed load is not cached')
  })

  it('introspects each token when configured: an inactive token is cut off at once', async () => {
    const g = createResourceGuard({
      resource: RESOURCE, authorizationServers: [issuer], fetcher, clock,
      introspection: { credentials: async (endpoint) => ({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: `for ${endpoint}` }) },
    })
    const t = await token()
    active = true
    assert.ok((await g.check(`Bearer ${t}`)).ok)
    assert.equal(introspected?.get('token'), t)
    assert.equal(introspected?.get('client_assertion'), `for ${issuer}/introspect`)
    active = false
    const challenge = refused(await g.check(`Bearer ${t}`), 401, 'invalid_token')
    assert.match(challenge, /not active/)
  })
})
