import { strict as assert } from 'node:assert'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { ManualClock } from '../../../src/clock.js'
import { InvalidClient } from '../../../src/errors.js'
import { createFetcher } from '../../../src/net/fetch.js'
import { Budget } from '../../../src/trust_chain/budget.js'
import {
  isDocumentUrl, freshness, validateDocument, boundDocument, MetadataDocuments, NOT_A_DOCUMENT, type ClientDocument,
} from '../../../src/registration/metadata_document.js'

const URL_ = 'https://client.example.org/mcp/client.json'
const valid = (extra: Record<string, unknown> = {}) => ({ client_id: URL_, redirect_uris: ['https://client.example.org/cb'], ...extra })

describe('client ID metadata documents', () => {
  it('recognises a document URL: https, a path, nothing the parser would rewrite', () => {
    for (const ok of [URL_, 'https://c.example/x', 'https://c.example:8443/a/b']) assert.ok(isDocumentUrl(ok), ok)
    for (const no of [
      'https://c.example', 'https://c.example/', 'http://c.example/x', 'https://c.example/x?y=1', 'https://c.example/x#f',
      'https://u:p@c.example/x', 'https://c.example/a/../x', 'https://c.example/a/%2e%2e/x', 'https://c.example/./x', 'https://C.example/x',
      'https://c.example:443/x', 'not a url', `https://c.example/${'x'.repeat(3000)}`,
    ]) assert.ok(!isDocumentUrl(no), no)
  })

  it('freshness: max-age less Age, else Expires less Date, no-store/no-cache 0, clamped', () => {
    const now = 1_000_000
    assert.equal(freshness({ cacheControl: 'public, max-age=300' }, now, 0, 3600), 300)
    assert.equal(freshness({ cacheControl: 'max-age=300', age: '100' }, now, 0, 3600), 200)
    assert.equal(freshness({ cacheControl: 'max-age=999999' }, now, 0, 3600), 3600)
    assert.equal(freshness({ cacheControl: 'no-store, max-age=300' }, now, 60, 3600), 60)
    assert.equal(freshness({ cacheControl: 'no-cache' }, now, 0, 3600), 0)
    assert.equal(freshness({ expires: new Date((now + 120) * 1000).toUTCString() }, now, 0, 3600), 120)
    assert.equal(freshness({ expires: new Date((now + 120) * 1000).toUTCString(), date: new Date((now + 20) * 1000).toUTCString() }, now, 0, 3600), 100)
    assert.equal(freshness({ expires: 'yesterday' }, now, 30, 3600), 30)
    assert.equal(freshness(undefined, now, 60, 3600), 60)
  })

  it('validates a document against its URL', () => {
    // Parsed as a stranger's JSON is: "__proto__" an own member, never a prototype.
    const hostile = JSON.parse('{"__proto__": {"token_endpoint_auth_method": "client_secret_basic", "client_name": "Evil"}, "constructor": {"name": "x"}}') as Record<string, unknown>
    const d = validateDocument(URL_, valid({ ...hostile, scope: 'mcp:tools', client_name: 'C', logo_uri: 'http://insecure.example/l.png' }))
    assert.equal(d.token_endpoint_auth_method, 'none')
    assert.deepEqual(d.grant_types, ['authorization_code'])
    assert.equal(d.entity_id, 'https://client.example.org')
    assert.deepEqual(d.display, { client_name: 'C' })
    assert.equal(validateDocument(URL_, valid({ federation_entity_id: 'https://client.example.org/mcp' })).entity_id, 'https://client.example.org/mcp')
    const refused: Array<[Record<string, unknown>, RegExp]> = [
      [valid({ client_id: 'https://client.example.org/other' }), /is not the document's URL/],
      [{ redirect_uris: ['https://c/cb'] }, /client_id null is not the document's URL/],
      [valid({ token_endpoint_auth_method: 'client_secret_post' }), /uses a shared secret/],
      [valid({ token_endpoint_auth_method: 'tls_client_auth' }), /is not supported/],
      [valid({ client_secret_expires_at: 0 }), /client_secret_expires_at must not be present/],
      [valid({ redirect_uris: [] }), /redirect_uris must be an array of 1 to 20/],
      [valid({ redirect_uris: ['https://c/cb#frag'] }), /not an absolute URI without fragment/],
      [valid({ grant_types: 'authorization_code' }), /grant_types must be an array/],
      [valid({ token_endpoint_auth_method: 'private_key_jwt' }), /private_key_jwt needs jwks or jwks_uri/],
      [valid({ jwks: { keys: [] }, jwks_uri: 'https://c/j' }), /must not both be present/],
      [valid({ federation_entity_id: 'https://elsewhere.example' }), /does not contain the document's URL/],
      [valid({ federation_entity_id: 'https://client.example.org/mc' }), /does not contain the document's URL/],
      [valid({ federation_entity_id: 42 }), /must be an entity identifier/],
    ]
    for (const [doc, why] of refused) assert.throws(() => validateDocument(URL_, doc), (e: unknown) => e instanceof InvalidClient && why.test(e.message), JSON.stringify(doc))
  })

  it('bounds a document by the entity\'s resolved metadata', () => {
    const d: ClientDocument = validateDocument(URL_, valid({ grant_types: ['authorization_code', 'refresh_token', 'implicit'], scope: 'mcp:tools admin' }))
    const allowed = { redirect_uris: ['https://client.example.org/cb', 'https://client.example.org/cb2'], grant_types: ['authorization_code', 'implicit'], scope: 'mcp:tools mcp:read' }
    assert.deepEqual(boundDocument(d, allowed, 'oauth_client'), { redirect_uris: ['https://client.example.org/cb'], grant_types: ['authorization_code', 'implicit'], scope: 'mcp:tools' })
    // No scope in the document: the entity's.
    assert.equal(boundDocument(validateDocument(URL_, valid()), allowed, 'oauth_client').scope, 'mcp:tools mcp:read')
    assert.throws(() => boundDocument(d, { ...allowed, redirect_uris: ['https://x/cb'] }, 'oauth_client'), /redirect_uri https:\/\/client\.example\.org\/cb is not among the redirect_uris of https:\/\/client\.example\.org's resolved oauth_client metadata/)
    assert.throws(() => boundDocument(d, { grant_types: ['authorization_code'] }, 'oauth_client'), /allows no redirect_uris/)
    assert.throws(() => boundDocument(d, { ...allowed, grant_types: ['client_credentials'] }, 'oauth_client'), /authorization_code is not allowed/)
    assert.throws(() => boundDocument(d, { ...allowed, scope: 'other' }, 'oauth_client'), /scope: none of mcp:tools admin is allowed by https:\/\/client\.example\.org's resolved oauth_client metadata \(other\)/)
  })

  describe('fetching', () => {
    let server: http.Server
    let base: string
    let hits = 0
    let answer: (res: http.ServerResponse) => void = () => undefined
    before(async () => {
      server = http.createServer((_req, res) => {
        hits++
        answer(res)
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })
    after(() => new Promise<void>((r) => {
      server.close(() => r())
      server.closeAllConnections()
    }))

    const clock = new ManualClock(1_000_000)
    const docs = () => new MetadataDocuments({
      fetcher: createFetcher({ allowHttp: true, allowPrivateNetwork: true, timeoutMs: 2000, maxResponseBytes: 1_000_000 }),
      clock, maxBytes: 200, cacheMin: 10, cacheMax: 100, entries: 10, jsonDepth: 8,
    })
    const budget = (fetches = 4) => new Budget({ fetches, verifications: 10, ms: 5000 }, clock)

    it('caches for the answer\'s max-age within the bounds, and shares nothing past it', async () => {
      const d = docs()
      hits = 0
      answer = (res) => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=50' }).end('{"client_id":"x"}')
      const first = await d.get(`${base}/a`, budget())
      assert.notEqual(first, NOT_A_DOCUMENT)
      assert.equal((first as { fresh_until: number }).fresh_until, clock.now() + 50)
      await d.get(`${base}/a`, budget())
      assert.equal(hits, 1)
      clock.advance(51)
      await d.get(`${base}/a`, budget())
      assert.equal(hits, 2)
    })

    it('is charged to the request\'s budget', async () => {
      answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      await assert.rejects(docs().get(`${base}/b`, budget(0)), /outbound fetches/)
    })

    it('says what is wrong: too large, not JSON, too deep, not an object; and what is no document at all', async () => {
      answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ client_id: 'x'.repeat(300) }))
      await assert.rejects(docs().get(`${base}/c`, budget()), /larger than 200 bytes/)
      answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{nope')
      await assert.rejects(docs().get(`${base}/d`, budget()), /not JSON/)
      answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[[[[[[[[[[[[]]]]]]]]]]]]')
      await assert.rejects(docs().get(`${base}/e`, budget()), /within the nesting limit/)
      answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[1]')
      await assert.rejects(docs().get(`${base}/f`, budget()), /not a JSON object/)
      answer = (res) => res.writeHead(404).end()
      assert.equal(await docs().get(`${base}/g`, budget()), NOT_A_DOCUMENT)
      answer = (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>')
      assert.equal(await docs().get(`${base}/h`, budget()), NOT_A_DOCUMENT)
    })
  })
})
