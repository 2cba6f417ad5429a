/**
 * An MCP client identified by an OAuth Client ID Metadata Document, admitted because the
 * document's origin is a federation member, over real HTTP on loopback (TLS for the client's
 * host, with a throw-away CA the authorization server trusts through outbound.ca_file):
 *
 *          TA   (Anchorage trust anchor)
 *        /    \
 *      AS      HOST  https://127.0.0.1:P: the MCP client's organisation. It serves its entity
 *                    configuration (oauth_client metadata bounding redirect URIs, grants, scope)
 *                    and the client's metadata documents (/mcp-client.json and refusal cases)
 *   PR: the demo MCP endpoint (createResourceGuard), accepting AS tokens for RESOURCE
 *   STRANGER https://127.0.0.1:Q: serves a metadata document but is no federation member
 *
 * The MCP story: 401 with resource_metadata -> protected-resource metadata -> AS metadata ->
 * openid-client with the document URL as client_id -> login + consent (the federation
 * identity shown) -> code + PKCE -> token -> resource 200. Then the anchor removes HOST and the
 * next token request is refused invalid_client. Then each refusal of a document.
 */
import { strict as assert } from 'node:assert'
import https from 'node:https'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import * as client from 'openid-client'
import { ManualClock } from '../../src/clock.js'
import { hashPassword } from '../../src/authorization_server/accounts.js'
import { startProtectedResource, type ProtectedResource } from '../../src/demo/protected_resource.js'
import { startEntity, onboard, pinned, testKey, type TestEntity, type TestKey } from '../support/federation.js'
import { signStatement } from '../support/entity.js'
import { startAuthorizationServer, postForm, expectError, tokenRequest, assertion } from '../support/agent.js'
import { Browser, formAction } from '../support/browser.js'
import { freePort } from '../support/net.js'
import { makePki, type TestPki } from '../support/tls.js'
import { resourceCommand } from '../../src/cli/resource.js'
import type { IO } from '../../src/cli/args.js'

const RESOURCE = 'https://mcp.example/mcp'
const MARK = 'https://federation.example.org/tm/vetted-mcp-client'
const REEVALUATION = 120

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** An https server on loopback answering by path; counts requests by path, and logs their paths in order. */
async function startHost(pki: TestPki): Promise<{ origin: string; routes: Map<string, Handler>; hits: Map<string, number>; log: string[]; stop(): Promise<void> }> {
  const port = await freePort()
  const routes = new Map<string, Handler>()
  const hits = new Map<string, number>()
  const log: string[] = []
  const server = https.createServer({ cert: readFileSync(pki.certFile), key: readFileSync(pki.keyFile) }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname
    hits.set(path, (hits.get(path) ?? 0) + 1)
    log.push(path)
    const h = routes.get(path)
    if (h) return h(req, res)
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  return {
    origin: `https://127.0.0.1:${port}`, routes, hits, log,
    stop: () => new Promise<void>((r) => {
      server.close(() => r())
      server.closeAllConnections()
    }),
  }
}

const json = (body: unknown, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body))
}

describe('MCP clients identified by a metadata document, vouched for by a trust chain', function () {
  this.timeout(60_000)
  const clock = new ManualClock()
  let pki: TestPki
  let dir: string
  let ta: TestEntity, as: TestEntity
  let host: Awaited<ReturnType<typeof startHost>>, stranger: Awaited<ReturnType<typeof startHost>>
  let hostKey: TestKey
  let pr: ProtectedResource
  let clientId: string, redirect: string
  const hostMarks: Array<{ trust_mark_type: string; trust_mark: string }> = []

  /** A document for `path` on HOST, with `extra` members over the valid ones. */
  const doc = (path: string, extra: Record<string, unknown> = {}) => ({
    client_id: `${host.origin}${path}`, client_name: 'Acme MCP client', redirect_uris: [redirect],
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none', scope: 'mcp:tools',
    ...extra,
  })
  /** A token request naming `id` as a public client: the lookup of the client decides. */
  const tokenWith = (id: string) => postForm(`${as.entityId}/oauth/token`, { grant_type: 'authorization_code', code: 'x', redirect_uri: redirect, code_verifier: 'v'.repeat(43), client_id: id })

  before(async () => {
    clock.set(Math.floor(Date.now() / 1000))
    pki = await makePki()
    dir = await mkdtemp(join(tmpdir(), 'anchorage-cimd-'))
    const usersFile = join(dir, 'users.json')
    await writeFile(usersFile, JSON.stringify({ users: { alice: { password: await hashPassword('alice pw'), claims: { name: 'Alice' } } } }))
    ta = await startEntity({ clock })
    as = await startAuthorizationServer({
      clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId],
      as: { resources: [RESOURCE], openid_provider: true, client_id_metadata_documents: true, users_file: usersFile, scopes_supported: ['mcp:tools'], trust_reevaluation: REEVALUATION },
      config: {
        outbound: { allow_http: true, allow_private_network: true, timeout_ms: 1500, ca_file: pki.caFile },
        // The vouching entity must carry the anchor's mark, as a federation oauth_client would.
        registration: { required_trust_marks: { oauth_client: [{ trust_mark_type: MARK, trust_mark_issuer: ta.entityId }] } },
      },
    })
    await onboard(ta, as.entityId)
    assert.equal((await ta.admin('POST', '/admin/trust-mark-types', { trust_mark_type: MARK, lifetime: 86_400 })).status, 201)
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-issuers', { [MARK]: [ta.entityId] })).status, 200)
    host = await startHost(pki)
    stranger = await startHost(pki)
    hostKey = await testKey()
    clientId = `${host.origin}/mcp-client.json`
    redirect = `${host.origin}/callback`
    // HOST's entity configuration: what the federation lets its clients do.
    host.routes.set('/.well-known/openid-federation', (_req, res) => {
      const now = clock.now()
      void signStatement({
        iss: host.origin, sub: host.origin, iat: now, exp: now + 3600, jwks: { keys: [hostKey.publicJwk] }, authority_hints: [ta.entityId],
        metadata: {
          federation_entity: { organization_name: 'Acme <i>Agents</i>' },
          oauth_client: { client_name: 'Acme MCP client', redirect_uris: [redirect], grant_types: ['authorization_code', 'refresh_token'], scope: 'mcp:tools' },
        },
        ...(hostMarks.length ? { trust_marks: hostMarks } : {}),
      }, hostKey).then((jwt) => res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' }).end(jwt))
    })
    host.routes.set('/mcp-client.json', json(doc('/mcp-client.json'), { 'cache-control': 'max-age=600' }))
    await onboard(ta, host.origin, { jwks: { keys: [hostKey.publicJwk] } })
    const issued = await ta.admin('POST', '/admin/trust-marks', { trust_mark_type: MARK, sub: host.origin })
    assert.equal(issued.status, 201, JSON.stringify(issued.body))
    hostMarks.push({ trust_mark_type: MARK, trust_mark: issued.body.trust_mark })
    pr = await startProtectedResource({ port: 0, asIssuer: as.entityId, audience: RESOURCE, requiredScope: 'mcp:tools', clock })
  })
  after(async () => {
    await Promise.all([ta, as].map((e) => e?.stop()))
    await Promise.all([host?.stop(), stranger?.stop(), pr?.stop()])
    await pki?.remove()
    await rm(dir, { recursive: true, force: true })
  })

  let browser: Browser
  let config: client.Configuration

  /** The authorization request in `browser` up to the code (login and consent when asked). */
  async function authorize(): Promise<{ code: URL; verifier: string; consent?: string }> {
    const verifier = client.randomPKCECodeVerifier()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirect, scope: 'mcp:tools', resource: RESOURCE,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    })
    let page = await browser.go(url.href, redirect)
    let consent: string | undefined
    if (page.status === 200 && page.body.includes('id="password"')) page = await browser.submit(formAction(page, '/login'), { username: 'alice', password: 'alice pw' }, redirect)
    if (page.status === 200 && page.body.includes('id="approve"')) {
      consent = page.body
      page = await browser.submit(formAction(page, '/consent'), { decision: 'approve' }, redirect)
    }
    assert.ok(page.url.startsWith(redirect), `${page.status} ${page.url} ${page.body.slice(0, 500)}`)
    return { code: new URL(page.url), verifier, ...(consent ? { consent } : {}) }
  }

  let token: string

  it('an MCP client finds the authorization server from the resource, and the server says it takes metadata documents', async () => {
    const challenge = await fetch(`${pr.url}/mcp`, { method: 'POST' })
    assert.equal(challenge.status, 401)
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge.headers.get('www-authenticate') ?? '')?.[1]
    assert.ok(metadataUrl)
    const prm = await (await fetch(metadataUrl)).json() as { authorization_servers: string[]; resource: string }
    assert.deepEqual(prm.authorization_servers, [as.entityId])
    const asm = await (await fetch(`${prm.authorization_servers[0]}/.well-known/oauth-authorization-server`)).json() as Record<string, unknown>
    assert.equal(asm.client_id_metadata_document_supported, true)
    assert.deepEqual(asm.token_endpoint_auth_methods_supported, ['private_key_jwt', 'none'])
    config = await client.discovery(new URL(as.entityId), clientId, { redirect_uris: [redirect], response_types: ['code'], token_endpoint_auth_method: 'none' }, client.None(), { execute: [client.allowInsecureRequests] })
    assert.equal(config.serverMetadata().client_id_metadata_document_supported, true)
  })

  it('logs the user in, shows the federation identity on the consent page, and the code + PKCE give a token the MCP endpoint accepts', async () => {
    browser = new Browser()
    const { code, verifier, consent } = await authorize()
    assert.ok(consent)
    assert.match(consent, /id="client-organization">Acme &lt;i&gt;Agents&lt;\/i&gt;</)
    assert.match(consent, new RegExp(`id="metadata-document">[^<]*<strong>${host.origin.replace(/[.]/g, '\\.')}</strong>`))
    const chain = [.../<ol class="chain" id="trust-chain">(.*?)<\/ol>/s.exec(consent)![1]!.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1])
    assert.deepEqual(chain, [`${host.origin} (vouches for the client)`, `${ta.entityId} (trust anchor)`])
    assert.match(consent, /id="client-id">https:\/\/127\.0\.0\.1:\d+\/mcp-client\.json</)
    assert.match(consent, new RegExp(`<ul id="trust-marks"><li>${MARK.replace(/[.]/g, '\\.')} <span class="muted">issued by ${ta.entityId.replace(/[.]/g, '\\.')}</span></li></ul>`))
    const tokens = await client.authorizationCodeGrant(config, code, { pkceCodeVerifier: verifier }, { resource: RESOURCE })
    token = tokens.access_token
    const res = await fetch(`${pr.url}/mcp`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    assert.equal(res.status, 200, await res.clone().text())
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
    assert.equal(claims.client_id, clientId)
    assert.equal(claims.aud, RESOURCE)
    assert.equal(claims.sub, 'alice')
    assert.equal(claims.trust_anchor, ta.entityId)
    // The operator's view of the same token: anchorage resource check (the guard, from the command line).
    const out: string[] = []
    const io: IO = { stdout: (t) => out.push(t), stderr: (t) => out.push(t), readFile: async () => token, env: {} }
    const args = ['--resource', RESOURCE, '--as', as.entityId, '--require-scope', 'mcp:tools', '--allow-http', '--allow-private-network']
    assert.equal(await resourceCommand(['check', ...args], io), 0, out.join('\n'))
    assert.equal(JSON.parse(out.at(-1)!).claims.client_id, clientId)
    assert.equal(await resourceCommand(['check', ...args, '--require-scope', 'mcp:admin', '--token', token], io), 1)
    const refusal = JSON.parse(out.at(-1)!)
    assert.equal(refusal.status, 403)
    assert.equal(refusal.body.error, 'insufficient_scope')
    assert.match(refusal['www-authenticate'], /resource_metadata="https:\/\/mcp\.example\/\.well-known\/oauth-protected-resource\/mcp"/)
    // The document was fetched once (its max-age covers the rest of the flow).
    assert.equal(host.hits.get('/mcp-client.json'), 1)
    const reg = await as.admin('GET', `/admin/clients/${encodeURIComponent(clientId)}`)
    assert.equal(reg.status, 200, JSON.stringify(reg.body))
    assert.equal(reg.body.registration_type, 'metadata_document')
    assert.equal(reg.body.entity_id, host.origin)
  })

  it('kill-switch: once the anchor removes the client\'s organisation, its next token request is refused invalid_client', async () => {
    const { code, verifier } = await authorize()
    const del = await ta.admin('DELETE', `/admin/subordinates/${encodeURIComponent(host.origin)}`)
    assert.equal(del.status, 204)
    clock.advance(REEVALUATION + 1)
    const r = await postForm(`${as.entityId}/oauth/token`, {
      grant_type: 'authorization_code', code: code.searchParams.get('code')!, redirect_uri: redirect, code_verifier: verifier, client_id: clientId, resource: RESOURCE,
    })
    expectError(r, 401, 'invalid_client', /re-evaluation: .*has no valid trust chain/)
    const audit = await as.admin('GET', `/admin/audit?subject=${encodeURIComponent(clientId)}`)
    assert.deepEqual(audit.body.events.map((e: any) => `${e.action} ${e.outcome}`).filter((a: string) => a.startsWith('client.')), ['client.register success', 'client.reevaluate failure'])
    // Back in the federation for the refusal cases below.
    await onboard(ta, host.origin, { jwks: { keys: [hostKey.publicJwk] } })
  })

  it('honours the document\'s caching lifetime: read again only once it is over, and a change beyond the federation\'s bounds ends the client', async () => {
    const path = '/cached.json'
    host.routes.set(path, json(doc(path), { 'cache-control': 'max-age=200' }))
    const id = `${host.origin}${path}`
    // The lookup admits the client; the made-up code is then refused as a grant.
    expectError(await tokenWith(id), 400, 'invalid_grant')
    assert.equal(host.hits.get(path), 1)
    clock.advance(REEVALUATION + 10) // re-evaluated (chain afresh); the document is still fresh
    expectError(await tokenWith(id), 400, 'invalid_grant')
    assert.equal(host.hits.get(path), 1)
    host.routes.set(path, json(doc(path, { redirect_uris: ['https://evil.example/cb'] }), { 'cache-control': 'no-store' }))
    clock.advance(200 - REEVALUATION) // past max-age, before the next trust_reevaluation: the document alone is due
    expectError(await tokenWith(id), 401, 'invalid_client', /invalidated at re-evaluation: .*redirect_uri https:\/\/evil\.example\/cb is not among/)
    assert.equal(host.hits.get(path), 2)
  })

  describe('an https client_id with a path: an entity id first, a metadata document only when it is no entity', () => {
    it('an entity whose id has a path is registered automatically; its id is never fetched as a document', async () => {
      const id = `${host.origin}/tenants/acme`
      const key = await testKey()
      const clientKey = await testKey()
      const marks: Array<{ trust_mark_type: string; trust_mark: string }> = []
      host.routes.set('/tenants/acme/.well-known/openid-federation', (_req, res) => {
        const now = clock.now()
        void signStatement({
          iss: id, sub: id, iat: now, exp: now + 3600, jwks: { keys: [key.publicJwk] }, authority_hints: [ta.entityId], trust_marks: marks,
          metadata: { oauth_client: { client_name: 'Acme tenant agent', grant_types: ['client_credentials'], scope: 'mcp:tools', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [clientKey.publicJwk] } } },
        }, key).then((jwt) => res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' }).end(jwt))
      })
      await onboard(ta, id, { jwks: { keys: [key.publicJwk] } })
      const mark = await ta.admin('POST', '/admin/trust-marks', { trust_mark_type: MARK, sub: id })
      assert.equal(mark.status, 201, JSON.stringify(mark.body))
      marks.push({ trust_mark_type: MARK, trust_mark: mark.body.trust_mark })
      const t = await tokenRequest(as, await assertion(clientKey, { iss: id, aud: as.entityId, now: Math.floor(Date.now() / 1000) }))
      assert.equal(t.status, 200, JSON.stringify(t.body))
      const reg = await as.admin('GET', `/admin/clients/${encodeURIComponent(id)}`)
      assert.equal(reg.body.registration_type, 'automatic')
      assert.equal(host.hits.get('/tenants/acme'), undefined, 'never fetched as a metadata document')
    })

    it('a document client costs, in this order, one request for an entity configuration at its URL, then one for the document', async () => {
      const path = '/ordered.json'
      host.routes.set(path, json(doc(path), { 'cache-control': 'max-age=600' }))
      const at = host.log.length
      expectError(await tokenWith(`${host.origin}${path}`), 400, 'invalid_grant') // admitted; the made-up code is then refused
      const probes = host.log.slice(at).filter((p) => p.startsWith(path))
      assert.deepEqual(probes, [`${path}/.well-known/openid-federation`, path])
      const reg = await as.admin('GET', `/admin/clients/${encodeURIComponent(`${host.origin}${path}`)}`)
      assert.equal(reg.body.registration_type, 'metadata_document')
    })
  })

  describe('refusals (invalid_client, saying why)', () => {
    const serve = (path: string, body: unknown, headers: Record<string, string> = {}) => {
      host.routes.set(path, json(body, headers))
      return `${host.origin}${path}`
    }

    it('a document whose client_id is not its URL', async () => {
      const id = serve('/mismatch.json', doc('/other.json'))
      expectError(await tokenWith(id), 401, 'invalid_client', /client_id "https:\/\/127\.0\.0\.1:\d+\/other\.json" is not the document's URL/)
    })

    it('a document asking for a shared-secret authentication method, or carrying a secret', async () => {
      const id = serve('/secret.json', doc('/secret.json', { token_endpoint_auth_method: 'client_secret_basic' }))
      expectError(await tokenWith(id), 401, 'invalid_client', /client_secret_basic uses a shared secret/)
      const id2 = serve('/secret2.json', doc('/secret2.json', { client_secret: 'hunter2' }))
      expectError(await tokenWith(id2), 401, 'invalid_client', /client_secret must not be present/)
    })

    it('a document whose origin is not a federation member', async () => {
      stranger.routes.set('/client.json', json({ ...doc('/client.json'), client_id: `${stranger.origin}/client.json` }))
      const id = `${stranger.origin}/client.json`
      expectError(await tokenWith(id), 401, 'invalid_client', new RegExp(`its entity ${stranger.origin.replace(/[.]/g, '\\.')} has no valid trust chain`))
      // At the authorization endpoint, the same refusal is the error page (no redirect to an unvetted client).
      const page = await new Browser().request(`${as.entityId}/oauth/authorize?${new URLSearchParams({ client_id: id, response_type: 'code', redirect_uri: redirect, scope: 'mcp:tools', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' }).toString()}`)
      assert.equal(page.status, 401, page.body.slice(0, 300))
      assert.match(page.body, /<p class="error" id="error">invalid_client<\/p>/)
    })

    it('a document naming as its entity one that does not contain its URL', async () => {
      const id = serve('/borrowed.json', doc('/borrowed.json', { federation_entity_id: ta.entityId }))
      expectError(await tokenWith(id), 401, 'invalid_client', /federation_entity_id .* does not contain the document's URL/)
    })

    it('a document with a redirect URI outside what the federation allows its entity', async () => {
      const id = serve('/redirect.json', doc('/redirect.json', { redirect_uris: [redirect, 'https://evil.example/cb'] }))
      expectError(await tokenWith(id), 401, 'invalid_client', /redirect_uri https:\/\/evil\.example\/cb is not among the redirect_uris of https:\/\/127\.0\.0\.1:\d+'s resolved oauth_client metadata/)
    })

    it('an authorization request with a redirect_uri outside the document', async () => {
      const page = await new Browser().request(`${as.entityId}/oauth/authorize?${new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: `${host.origin}/elsewhere`, scope: 'mcp:tools', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' }).toString()}`)
      assert.equal(page.status, 400, page.body.slice(0, 300))
      assert.match(page.body, /<p class="error" id="error">invalid_redirect_uri<\/p>/)
    })

    it('a document larger than metadata_document_max_bytes, and one that does not come in time', async () => {
      const id = serve('/large.json', doc('/large.json', { client_uri: `https://acme.example/${'x'.repeat(6000)}` }))
      expectError(await tokenWith(id), 401, 'invalid_client', /the document is larger than 5120 bytes \(authorization_server\.metadata_document_max_bytes\)/)
      host.routes.set('/slow.json', () => undefined) // never answers
      expectError(await tokenWith(`${host.origin}/slow.json`), 401, 'invalid_client', /slow\.json: no (complete )?answer from 127\.0\.0\.1:\d+ within 1500 ms/)
    })

    it('a refusal is remembered: the same document is not fetched again within failure_cache_ttl', async () => {
      const before = host.hits.get('/mismatch.json')
      expectError(await tokenWith(`${host.origin}/mismatch.json`), 401, 'invalid_client', /is not the document's URL/)
      assert.equal(host.hits.get('/mismatch.json'), before)
    })

    it('a client_id that is neither an entity id nor serves a document: refused, saying both', async () => {
      const r = await tokenWith(`${host.origin}/nothing-here`)
      expectError(r, 401, 'invalid_client', /nothing-here\/\.well-known\/openid-federation answered 404.*; nor does it serve a client ID metadata document/)
      assert.equal(host.hits.get('/nothing-here'), 1)
      assert.equal(host.hits.get('/nothing-here/.well-known/openid-federation'), 1)
      // Remembered for failure_cache_ttl: asked again, nothing is fetched, and the refusal says the same.
      const again = await tokenWith(`${host.origin}/nothing-here`)
      expectError(again, 401, 'invalid_client', /nor does it serve/)
      assert.equal(again.body?.error_description, r.body?.error_description)
      assert.equal(host.hits.get('/nothing-here'), 1)
      assert.equal(host.hits.get('/nothing-here/.well-known/openid-federation'), 1)
    })

    it('a document whose entity is a member without the trust mark registration.required_trust_marks asks of its type', async () => {
      const strangerKey = await testKey()
      stranger.routes.set('/.well-known/openid-federation', (_req, res) => {
        const now = clock.now()
        void signStatement({
          iss: stranger.origin, sub: stranger.origin, iat: now, exp: now + 3600, jwks: { keys: [strangerKey.publicJwk] }, authority_hints: [ta.entityId],
          metadata: { oauth_client: { redirect_uris: [`${stranger.origin}/callback`], grant_types: ['authorization_code'] } },
        }, strangerKey).then((jwt) => res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' }).end(jwt))
      })
      await onboard(ta, stranger.origin, { jwks: { keys: [strangerKey.publicJwk] } })
      clock.advance(31) // past statement_cache_ttl: the AS fetched STRANGER's configuration (404) for an earlier case
      const id = `${stranger.origin}/unmarked.json`
      stranger.routes.set('/unmarked.json', json({ ...doc('/unmarked.json'), client_id: id, redirect_uris: [`${stranger.origin}/callback`] }))
      expectError(await tokenWith(id), 401, 'invalid_client', new RegExp(`its entity ${stranger.origin.replace(/[.]/g, '\\.')}: oauth_client clients must carry a valid trust mark of type "${MARK.replace(/[.]/g, '\\.')}"`))
    })
  })
})
