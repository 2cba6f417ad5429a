/**
 * RFC 7591 registration with software statements whose keys are at a `jwks_uri`, and the
 * status answers of another issuer, reused by re-evaluations within status_cache_ttl, over real HTTP(S) on
 * loopback:
 *
 *   AS       Anchorage with the authorization server role and dynamic registration, trusting
 *            its own statements and those of HUB (pinned keys, with HUB's status endpoint);
 *            outbound https only (a throw-away CA through outbound.ca_file), timeout 1 s.
 *   PARTNER  an https server (the test's): the partner's key set at /jwks (its Cache-Control
 *            set by the test), HUB's status endpoint at /status (answers signed with HUB's
 *            key), and hostile key sets (private keys, not JSON, too large, too many keys, a
 *            redirect to a private address, an answer that never comes or comes a byte at a
 *            time, __proto__ members, duplicate kids, an HS256 oct key, a huge RSA modulus).
 *            It counts requests.
 *
 * The partner registers with a request signed by a key found at its jwks_uri, gets tokens with
 * private_key_jwt; a rotation at the jwks_uri is picked up at once for a new kid (rate-limited)
 * and at re-evaluation for a removed key. Every hostile key set refuses the registration with
 * invalid_software_statement, never a 5xx. ManualClock, no sleeps.
 */
import { strict as assert } from 'node:assert'
import https from 'node:https'
import type { ServerResponse } from 'node:http'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { ManualClock } from '../../src/clock.js'
import { TYP } from '../../src/constants.js'
import { testKey, type TestEntity, type TestKey } from '../support/federation.js'
import { freePort } from '../support/net.js'
import { makePki, type TestPki } from '../support/tls.js'
import { startAuthorizationServer, tokenRequest, expectError, assertion, realNow, RESOURCE, type OAuthAnswer } from '../support/agent.js'
import type { AuthorizationServerCapability } from '../../src/capabilities/types.js'
import type { Registration } from '../../src/registration/records.js'

const REEVALUATION = 120
/** status_cache_ttl (the default), and jwks_uri_cache_min. */
const STATUS_TTL = 60
const CACHE_MIN = 60
const HUB = 'https://hub.example'

interface Partner {
  base: string
  /** The key set served at /jwks, and its Cache-Control. */
  keys: Array<Record<string, unknown>>
  cacheControl: string
  /** Status answered for a jti at /status (default active). */
  status: Map<string, string>
  count(path: string): number
  stop(): Promise<void>
}

async function startPartner(pki: TestPki, clock: ManualClock, hubKey: TestKey): Promise<Partner> {
  const counts = new Map<string, number>()
  const privateKey = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)
  const many = await Promise.all(Array.from({ length: 11 }, async () => (await testKey()).publicJwk))
  const p: Partner = {
    base: '', keys: [], cacheControl: 'max-age=300', status: new Map(),
    count: (path) => counts.get(path) ?? 0,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
  const json = (res: ServerResponse, v: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(v))
  const server = https.createServer({ cert: await readFile(pki.certFile), key: await readFile(pki.keyFile) }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname
    counts.set(path, (counts.get(path) ?? 0) + 1)
    switch (path) {
      case '/jwks': return json(res, { keys: p.keys }, { 'cache-control': p.cacheControl })
      case '/status': {
        let body = ''
        req.on('data', (d) => (body += d))
        req.on('end', () => {
          const statement = new URLSearchParams(body).get('software_statement') ?? ''
          const jti = JSON.parse(Buffer.from(statement.split('.')[1] ?? '', 'base64url').toString() || '{}').jti as string
          void new SignJWT({ iss: HUB, iat: clock.now(), jti, status: p.status.get(jti) ?? 'active' })
            .setProtectedHeader({ alg: hubKey.alg, kid: hubKey.kid, typ: TYP.softwareStatementStatusResponse }).sign(hubKey.privateKey)
            .then((jwt) => res.writeHead(200, { 'content-type': 'application/software-statement-status-response+jwt' }).end(jwt))
        })
        return
      }
      case '/private': return json(res, { keys: [{ ...privateKey, kid: 'leaked' }] })
      case '/not-json': return res.writeHead(200, { 'content-type': 'application/json' }).end('<html>keys</html>')
      case '/large': return json(res, { keys: p.keys, padding: 'x'.repeat(40_000) })
      case '/many': return json(res, { keys: many })
      case '/redirect': return res.writeHead(302, { location: 'http://10.1.2.3/jwks' }).end()
      case '/enc-only': return json(res, { keys: p.keys.map((k) => ({ ...k, use: 'enc' })) })
      // Hostile JSON: members named like Object.prototype's, read with own-property semantics.
      case '/proto': {
        const k = JSON.stringify(p.keys[0])
        return res.writeHead(200, { 'content-type': 'application/json' }).end(`{"__proto__":{"keys":[${k}]},"constructor":{"prototype":{"keys":[${k}]}}}`)
      }
      case '/proto-key': return res.writeHead(200, { 'content-type': 'application/json' }).end(`{"keys":[{"__proto__":${JSON.stringify(p.keys[0])}}]}`)
      case '/dup-kids': return json(res, { keys: [p.keys[0], { ...many[0], kid: p.keys[0]!.kid }] })
      // An encryption key first (left out), then a signing key whose alg is not its key type's.
      case '/enc-then-bad': return json(res, { keys: [{ ...p.keys[0], use: 'enc' }, { ...p.keys[0], kid: 'wrong-alg', alg: 'RS256' }] })
      case '/oct': return json(res, { keys: [{ kty: 'oct', kid: 'hmac', alg: 'HS256', use: 'sig', k: randomBytes(32).toString('base64url') }] })
      case '/oct-no-k': return json(res, { keys: [{ kty: 'oct', kid: 'hmac', alg: 'HS256', use: 'sig' }] })
      case '/huge-n': {
        const n = randomBytes(24_000)
        n[0]! |= 0x80
        return json(res, { keys: [{ kty: 'RSA', kid: 'huge', alg: 'RS256', use: 'sig', e: 'AQAB', n: n.toString('base64url') }] })
      }
      case '/trickle': {
        // The start of a key set, a byte at a time, never finished: the overall timeout ends it.
        res.writeHead(200, { 'content-type': 'application/json' })
        const text = `{"keys":[${JSON.stringify(p.keys[0])}`
        let i = 0
        const timer = setInterval(() => (i < text.length ? res.write(text[i++]!) : clearInterval(timer)), 20)
        res.on('close', () => clearInterval(timer))
        return
      }
      case '/slow': return // never answers; stop() closes the connection
      default: return res.writeHead(404).end()
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  p.base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  return p
}

async function answer(res: Response): Promise<OAuthAnswer> {
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
}

function register(as: TestEntity, body: Record<string, unknown> | string): Promise<OAuthAnswer> {
  const signed = typeof body === 'string'
  return fetch(`${as.entityId}/oauth/clients`, {
    method: 'POST', headers: { 'content-type': signed ? 'application/jwt' : 'application/json' }, body: signed ? body : JSON.stringify(body),
  }).then(answer)
}

describe('dynamic client registration: statements with jwks_uri, pinned issuers with a status endpoint, status answers reused', () => {
  const clock = new ManualClock()
  let pki: TestPki, partner: Partner, as: TestEntity, hubKey: TestKey
  let k1: TestKey, k2: TestKey

  /** The open-banking style request, its times on the server's (injected) clock. */
  const signedRequest = (key: TestKey, softwareId: string, metadata: Record<string, unknown>) => {
    const now = clock.now()
    return new SignJWT({ iss: softwareId, aud: as.entityId, iat: now, exp: now + 60, jti: randomBytes(12).toString('base64url'), ...metadata })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey)
  }
  /** A statement of HUB (pinned keys), claims overridable. */
  const hubStatement = (claims: { software_id?: string; [k: string]: unknown } = {}) => {
    const now = clock.now()
    const id = claims.software_id ?? 'hub-agent'
    return new SignJWT({
      iss: HUB, sub: id, software_id: id, client_name: 'Hub agent', grant_types: ['client_credentials'], scope: 'mcp:read',
      jwks_uri: `${partner.base}/jwks`, iat: now, exp: now + 30 * 86_400, jti: randomBytes(12).toString('base64url'), ...claims,
    }).setProtectedHeader({ alg: hubKey.alg, kid: hubKey.kid, typ: TYP.softwareStatement }).sign(hubKey.privateKey)
  }
  const token = async (clientId: string, key: TestKey) => tokenRequest(as, await assertion(key, { iss: clientId, aud: as.entityId, now: realNow() }))

  before(async () => {
    clock.set(realNow())
    pki = await makePki()
    hubKey = await testKey()
    k1 = await testKey()
    k2 = await testKey()
    partner = await startPartner(pki, clock, hubKey)
    partner.keys = [k1.publicJwk]
    const port = await freePort()
    as = await startAuthorizationServer({
      clock, anchors: [], port,
      as: {
        resources: [RESOURCE], scopes_supported: ['mcp:read'], trust_reevaluation: REEVALUATION,
        dynamic_registration: {
          trusted_issuers: [
            { issuer: `http://127.0.0.1:${port}` },
            { issuer: HUB, jwks: { keys: [hubKey.publicJwk] }, status_endpoint: `${partner.base}/status` },
          ],
          jwks_uri_cache_min: CACHE_MIN,
        },
      },
      config: { outbound: { allow_http: false, allow_private_network: true, timeout_ms: 1000, ca_file: pki.caFile } },
    })
  })
  after(async () => {
    await as?.stop()
    await partner?.stop()
    await pki?.remove()
  })

  describe('this entity\'s statement with jwks_uri (issued through the admin API)', () => {
    let client: { client_id: string }

    it('registers from a request signed with a key found at the jwks_uri; the registration names the jwks_uri, stores the keys fetched', async () => {
      const s = await as.admin('POST', '/admin/software-statements', {
        software_id: 'uri-agent', client_name: 'URI agent', jwks_uri: `${partner.base}/jwks`, grant_types: ['client_credentials'], scope: 'mcp:read',
      })
      assert.equal(s.status, 201, JSON.stringify(s.body))
      const before = partner.count('/jwks')
      const r = await register(as, await signedRequest(k1, 'uri-agent', { software_statement: s.body.software_statement }))
      assert.equal(r.status, 201, JSON.stringify(r.body))
      assert.equal(r.body.jwks_uri, `${partner.base}/jwks`)
      assert.equal(r.body.jwks, undefined)
      assert.equal(r.body.token_endpoint_auth_method, 'private_key_jwt')
      assert.equal(r.body.client_secret, undefined)
      assert.equal(partner.count('/jwks'), before + 1)
      client = r.body
      const stored = await as.store.get<{ id: string; jwks_source: string; jwks: { keys: Array<{ kid: string }> } }>('registrations', client.client_id)
      assert.equal(stored!.jwks_source, 'jwks_uri')
      assert.deepEqual(stored!.jwks.keys.map((k) => k.kid), [k1.kid])
    })

    it('private_key_jwt at the token endpoint with the key from the jwks_uri; another key is invalid_client', async () => {
      const t = await token(client.client_id, k1)
      assert.equal(t.status, 200, JSON.stringify(t.body))
      expectError(await token(client.client_id, k2), 401, 'invalid_client')
    })

    it('a bare JSON request, a request pinning jwks or naming another jwks_uri: refused', async () => {
      const s = await as.admin('POST', '/admin/software-statements', { software_id: 'uri-agent', client_name: 'URI agent', jwks_uri: `${partner.base}/jwks` })
      const statement = s.body.software_statement as string
      expectError(await register(as, { software_statement: statement }), 400, 'invalid_request', 'must be a JWS signed with one of them')
      expectError(await register(as, await signedRequest(k2, 'uri-agent', { software_statement: statement })), 400, 'invalid_request', 'not a key of the software statement')
      expectError(await register(as, await signedRequest(k1, 'uri-agent', { software_statement: statement, jwks: { keys: [k1.publicJwk] } })), 400, 'invalid_client_metadata', 'jwks: the software statement\'s keys are at its jwks_uri')
      expectError(await register(as, await signedRequest(k1, 'uri-agent', { software_statement: statement, jwks_uri: `${partner.base}/other` })), 400, 'invalid_client_metadata', 'jwks_uri: must be the software statement\'s')
      // Algorithm confusion: HS256 under k1's kid, keyed with k1's public key as the secret.
      const now = clock.now()
      const confused = await new SignJWT({ iss: 'uri-agent', aud: as.entityId, iat: now, exp: now + 60, jti: randomBytes(12).toString('base64url'), software_statement: statement })
        .setProtectedHeader({ alg: 'HS256', kid: k1.kid, typ: 'JWT' }).sign(Buffer.from(JSON.stringify(k1.publicJwk)))
      const refused = await register(as, confused)
      assert.equal(refused.status, 400, JSON.stringify(refused.body))
      assert.equal(refused.body.error, 'invalid_request', JSON.stringify(refused.body))
      assert.match(refused.body.error_description, /alg|HS256|not allowed|signature/i)
      // Naming the statement's own jwks_uri is fine.
      assert.equal((await register(as, await signedRequest(k1, 'uri-agent', { software_statement: statement, jwks_uri: `${partner.base}/jwks` }))).status, 201)
    })
  })

  describe('the key set\'s cache and key rotation at the jwks_uri', () => {
    let clientId: string

    it('registrations within the key set\'s max-age fetch it once', async () => {
      clock.advance(CACHE_MIN * 10) // past whatever was cached before
      partner.cacheControl = 'max-age=300'
      const before = partner.count('/jwks')
      for (let i = 0; i < 3; i++) {
        const r = await register(as, await signedRequest(k1, 'hub-agent', { software_statement: await hubStatement() }))
        assert.equal(r.status, 201, JSON.stringify(r.body))
        clientId = r.body.client_id
      }
      assert.equal(partner.count('/jwks'), before + 1, 'one fetch for three registrations')
      clock.advance(301)
      assert.equal((await register(as, await signedRequest(k1, 'hub-agent', { software_statement: await hubStatement() }))).status, 201)
      assert.equal(partner.count('/jwks'), before + 2, 'fetched again once the max-age has passed')
    })

    it('a new kid published at the jwks_uri is picked up at its first use; unknown kids are not fetched for more than once per jwks_uri_cache_min', async () => {
      // Re-evaluated now (due after the time that passed above): then not due for trust_reevaluation.
      assert.equal((await token(clientId, k1)).status, 200)
      clock.advance(CACHE_MIN + 1)
      partner.keys = [k1.publicJwk, k2.publicJwk]
      const before = partner.count('/jwks')
      const t = await token(clientId, k2)
      assert.equal(t.status, 200, JSON.stringify(t.body))
      assert.equal(partner.count('/jwks'), before + 1)
      // A kid nobody published, twice: no further fetch within jwks_uri_cache_min.
      const stranger = await testKey()
      expectError(await token(clientId, stranger), 401, 'invalid_client')
      expectError(await token(clientId, stranger), 401, 'invalid_client')
      assert.equal(partner.count('/jwks'), before + 1, 'rate-limited')
      const { body } = await as.admin('GET', `/admin/audit?subject=${encodeURIComponent(clientId)}`)
      assert.ok(body.events.some((e: any) => e.action === 'client.keys' && e.detail.kids.includes(k2.kid)), 'the new keys are audited')
    })

    it('only a dynamic registration is rekeyed from its jwks_uri: a federation client\'s keys follow its trust chain', async () => {
      const server = (as.service.capabilities.find((c) => c.kind === 'authorization_server') as AuthorizationServerCapability).server
      const stored = (await as.store.get<Registration>('registrations', clientId))!
      // Past the rate limit, with another key set served: a fetch would find a change.
      clock.advance(CACHE_MIN + 1)
      const was = partner.keys
      partner.keys = [k1.publicJwk, k2.publicJwk, (await testKey()).publicJwk]
      const before = partner.count('/jwks')
      for (const type of ['automatic', 'explicit', 'metadata_document'] as const) {
        const federationClient: Registration = { ...stored, registration_type: type }
        assert.equal(await server.dynamic!.refreshKeys(federationClient), federationClient, type)
      }
      assert.equal(partner.count('/jwks'), before, 'nothing fetched')
      assert.deepEqual((await as.store.get<Registration>('registrations', clientId))!.jwks, stored.jwks)
      partner.keys = was
    })

    it('a key removed at the jwks_uri stops authenticating at re-evaluation', async () => {
      partner.keys = [k2.publicJwk]
      clock.advance(REEVALUATION + 1)
      expectError(await token(clientId, k1), 401, 'invalid_client')
      assert.equal((await token(clientId, k2)).status, 200)
    })

    it('re-evaluations of every client of one jwks_uri within jwks_uri_cache_min fetch it once', async () => {
      clock.advance(REEVALUATION + 1)
      const before = partner.count('/jwks')
      const { body } = await as.admin('GET', '/admin/clients?limit=1000')
      const hubClients = body.items.filter((i: any) => i.software_id === 'hub-agent' && i.status === 'active').map((i: any) => i.client_id as string)
      assert.ok(hubClients.length >= 4)
      for (const id of hubClients) assert.equal((await token(id, k2)).status, 200)
      assert.equal(partner.count('/jwks'), before + 1)
    })
  })

  describe('a pinned issuer\'s status endpoint: asked at every registration, its answers reused by re-evaluations within status_cache_ttl', () => {
    let statement: string, jti: string
    const clients: string[] = []

    it('every registration asks the status endpoint (a revocation stops the next one at once)', async () => {
      clock.advance(REEVALUATION * 2)
      statement = await hubStatement({ software_id: 'hub-status' })
      jti = JSON.parse(Buffer.from(statement.split('.')[1]!, 'base64url').toString()).jti
      const before = partner.count('/status')
      for (let i = 0; i < 3; i++) {
        const r = await register(as, await signedRequest(k2, 'hub-status', { software_statement: statement }))
        assert.equal(r.status, 201, JSON.stringify(r.body))
        clients.push(r.body.client_id)
      }
      assert.equal(partner.count('/status'), before + 3)
    })

    it('N re-evaluations within status_cache_ttl cause one status request', async () => {
      clock.advance(REEVALUATION)
      const before = partner.count('/status')
      for (const id of clients) assert.equal((await token(id, k2)).status, 200)
      assert.equal(partner.count('/status'), before + 1, `${clients.length} re-evaluations, one status request`)
    })

    it('a revocation refuses the next registration at once and ends every client within trust_reevaluation, clients re-evaluated on a reused answer included', async () => {
      clock.advance(STATUS_TTL - 10)
      const before = partner.count('/status')
      // Revoked at the issuer now, STATUS_TTL - 10 seconds after the answer every client's re-evaluation relied on.
      partner.status.set(jti, 'revoked')
      expectError(await register(as, await signedRequest(k2, 'hub-status', { software_statement: statement })), 400, 'unapproved_software_statement', 'is revoked')
      assert.equal(partner.count('/status'), before + 1, 'the registration asked, although an answer younger than status_cache_ttl was at hand')
      // trust_reevaluation after the answer they relied on, less than trust_reevaluation after the revocation.
      clock.advance(REEVALUATION - (STATUS_TTL - 10))
      for (const id of clients) expectError(await token(id, k2), 401, 'invalid_client', `says the statement ${jti} is revoked`)
    })
  })

  describe('hostile key sets: the registration is refused, never a 5xx', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['http URL (outbound https only)', 'http://127.0.0.1:1/jwks', /https required/],
      ['unreachable', 'https://127.0.0.1:1/jwks', /connection refused/],
      ['a 404', '/missing', /HTTP 404/],
      ['private keys in the set', '/private', /keys\[0\]\.d: private or symmetric key material/],
      ['not JSON', '/not-json', /not JSON/],
      ['too large', '/large', /larger than 32768 bytes \(dynamic_registration\.jwks_uri_max_bytes\)/],
      ['too many keys', '/many', /11 keys; at most 10/],
      ['a redirect (to a private address)', '/redirect', /redirects are not followed/],
      ['encryption keys only', '/enc-only', /no signing key/],
      ['slow: no answer within outbound.timeout_ms', '/slow', /no (complete )?answer from .* within 1000 ms/],
      ['__proto__ and constructor members holding keys', '/proto', /not a JWK Set: keys must be a non-empty array/],
      ['a key that is only a __proto__ member', '/proto-key', /keys\[0\]\.kid: is required/],
      ['duplicate kids', '/dup-kids', /unique kids|duplicate/],
      ['a bad signing key after an encryption key, named at its place in the served set', '/enc-then-bad', /keys\[1\]\.alg: "RS256" is not/],
      ['an HS256 oct key (alg confusion)', '/oct', /keys\[0\]\.k: private or symmetric key material/],
      ['an oct key without k', '/oct-no-k', /keys\[0\]\.kty: must be "EC", "RSA" or "OKP"/],
      ['an RSA key with a 192,000-bit modulus', '/huge-n', /keys\[0\]\.n: the modulus has 192000 bits; at most 16384 are accepted/],
      ['a byte at a time, never finished', '/trickle', /no (complete )?answer from .* within 1000 ms/],
    ]
    for (const [what, uri, why] of cases) {
      it(`${what}: invalid_software_statement`, async () => {
        const url = uri.startsWith('/') ? `${partner.base}${uri}` : uri
        const r = await register(as, { software_statement: await hubStatement({ software_id: `hostile-${randomBytes(4).toString('hex')}`, jwks_uri: url }) })
        expectError(r, 400, 'invalid_software_statement', why)
      })
    }

    it('a failed jwks_uri is not fetched again within jwks_uri_cache_min: the failure is repeated', async () => {
      const before = partner.count('/missing')
      const r = await register(as, { software_statement: await hubStatement({ software_id: 'hostile-again', jwks_uri: `${partner.base}/missing` }) })
      expectError(r, 400, 'invalid_software_statement', /HTTP 404 \(not fetched again within 60 seconds, dynamic_registration\.jwks_uri_cache_min\)/)
      assert.equal(partner.count('/missing'), before)
      clock.advance(CACHE_MIN)
      expectError(await register(as, { software_statement: await hubStatement({ software_id: 'hostile-again', jwks_uri: `${partner.base}/missing` }) }), 400, 'invalid_software_statement', /HTTP 404$/)
      assert.equal(partner.count('/missing'), before + 1)
    })
  })
})

describe('dynamic client registration: a jwks_uri on a private address, outbound.allow_private_network off', () => {
  const clock = new ManualClock()
  let as: TestEntity, hubKey: TestKey

  before(async () => {
    clock.set(realNow())
    hubKey = await testKey()
    as = await startAuthorizationServer({
      clock, anchors: [],
      as: { resources: [RESOURCE], dynamic_registration: { trusted_issuers: [{ issuer: HUB, jwks: { keys: [hubKey.publicJwk] } }] } },
      config: { outbound: { allow_http: false, allow_private_network: false, timeout_ms: 1000 } },
    })
  })
  after(async () => {
    await as?.stop()
  })

  it('is refused with invalid_software_statement, and nothing is connected to', async () => {
    const now = clock.now()
    const statement = await new SignJWT({
      iss: HUB, sub: 'inside', software_id: 'inside', client_name: 'Inside', grant_types: ['client_credentials'],
      jwks_uri: 'https://10.0.0.7/jwks', iat: now, exp: now + 3600, jti: 'inside-1',
    }).setProtectedHeader({ alg: hubKey.alg, kid: hubKey.kid, typ: TYP.softwareStatement }).sign(hubKey.privateKey)
    expectError(await register(as, { software_statement: statement }), 400, 'invalid_software_statement', /not a public address \(outbound\.allow_private_network is off\)/)
  })
})
