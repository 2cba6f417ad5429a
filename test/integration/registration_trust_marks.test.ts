/**
 * registration.required_trust_marks (issue 16): the OP admits a client only while its chain
 * carries a valid trust mark of each type required for its client type, at automatic
 * registration (authorization and token endpoints), at explicit registration and at every
 * re-evaluation; and an explicitly registered RP goes through the authorization code flow.
 *
 *                 TA  (Anchorage: issues RP_MARK and AGENT_MARK; trust_mark_issuers
 *               /    \        RP_MARK: [TA], AGENT_MARK: [] (anyone))
 *             IA      OP  (Anchorage, openid_provider; registration.required_trust_marks:
 *           /    \          openid_relying_party: [RP_MARK], oauth_client: [AGENT_MARK issued by TA])
 *         RPs    AGENTs   (leaves; IA issues AGENT_MARK too: the anchor allows it, OP's configuration does not)
 *
 * Every mark is real: issued by an Anchorage instance, verified by the OP as its resolver
 * verifies marks (signature, trust_mark_issuers, expiry, the issuer's status endpoint).
 */
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import * as client from 'openid-client'
import { ManualClock } from '../../src/clock.js'
import { hashPassword } from '../../src/authorization_server/accounts.js'
import { startEntity, startLeaf, onboard, pinned, testKey, decode, type TestEntity, type TestKey } from '../support/federation.js'
import { signStatement } from '../support/entity.js'
import { startAuthorizationServer, startAgent, tokenRequest, expectError, postForm, assertion, realNow, ASSERTION_TYPE, RESOURCE, type Agent } from '../support/agent.js'
import { Browser, formAction } from '../../src/demo/browser.js'

const RP_MARK = 'https://federation.example.org/tm/certified-rp'
const AGENT_MARK = 'https://federation.example.org/tm/vetted-agent'
const REDIRECT = 'https://rp.example/cb'
const enc = encodeURIComponent

interface Rp { id: string; fedKey: TestKey; clientKey: TestKey }

describe('registration.required_trust_marks: clients admitted only with the trust marks their type requires', function () {
  this.timeout(60_000)
  const clock = new ManualClock()
  let ta: TestEntity, ia: TestEntity, op: TestEntity
  let dir: string
  const stops: Array<() => Promise<void>> = []

  /** A trust mark of `type` for `sub`, issued by `issuer` through its admin API. */
  async function issue(issuer: TestEntity, type: string, sub: string): Promise<{ trust_mark_type: string; trust_mark: string }> {
    const r = await issuer.admin('POST', '/admin/trust-marks', { trust_mark_type: type, sub })
    assert.equal(r.status, 201, JSON.stringify(r.body))
    return { trust_mark_type: type, trust_mark: r.body.trust_mark }
  }

  function rpMetadata(clientKey: TestKey): Record<string, unknown> {
    return {
      federation_entity: { organization_name: 'Certified RP' },
      openid_relying_party: {
        client_name: 'RP', response_types: ['code'], grant_types: ['authorization_code'], redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [clientKey.publicJwk] },
      },
    }
  }

  /** An RP under IA publishing its entity configuration, with the marks `marks` returns for it. */
  async function rpWith(marks: (id: string, fedKey: TestKey) => Promise<Array<{ trust_mark_type: string; trust_mark: string }>>): Promise<Rp> {
    const clientKey = await testKey()
    const leaf = await startLeaf({ clock, authority_hints: [ia.entityId], metadata: rpMetadata(clientKey) })
    stops.push(() => leaf.stop())
    await onboard(ia, leaf.entityId)
    const list = await marks(leaf.entityId, leaf.key)
    if (list.length) leaf.claims.trust_marks = list
    return { id: leaf.entityId, fedKey: leaf.key, clientKey }
  }

  /** An RP under IA that publishes nothing (404 at its configuration): only explicit registration can admit it. */
  async function silentRp(): Promise<Rp> {
    const leaf = await startLeaf({ clock })
    leaf.respond = (_req, res) => (res.writeHead(404).end(), true)
    stops.push(() => leaf.stop())
    await onboard(ia, leaf.entityId, { jwks: { keys: [leaf.key.publicJwk] }, entity_types: ['openid_relying_party'] })
    return { id: leaf.entityId, fedKey: leaf.key, clientKey: await testKey() }
  }

  /** An agent under IA carrying the marks `marks` returns for it. */
  async function agentWith(marks: (id: string) => Promise<Array<{ trust_mark_type: string; trust_mark: string }>>): Promise<Agent> {
    const agent = await startAgent({ clock, authority_hints: [ia.entityId] })
    stops.push(() => agent.stop())
    await onboard(ia, agent.id)
    const list = await marks(agent.id)
    if (list.length) agent.leaf.claims.trust_marks = list
    return agent
  }

  /** A signed request object (JAR) of `rp`, on the system clock as oidc-provider checks it. */
  async function authorize(rp: Rp): Promise<Response> {
    const now = Math.floor(Date.now() / 1000)
    const request = await new SignJWT({
      iss: rp.id, aud: op.entityId, client_id: rp.id, jti: randomBytes(12).toString('base64url'), iat: now, exp: now + 60,
      response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    }).setProtectedHeader({ alg: rp.clientKey.alg, kid: rp.clientKey.kid, typ: 'oauth-authz-req+jwt' }).sign(rp.clientKey.privateKey)
    return fetch(`${op.entityId}/oauth/authorize?${new URLSearchParams({ client_id: rp.id, request, response_type: 'code', scope: 'openid' }).toString()}`, { redirect: 'manual' })
  }

  /** An error oidc-provider cannot send to the client: its HTML page (http/endpoints/interactions.ts). */
  async function errorPage(res: Response): Promise<{ status: number; error?: string; description?: string }> {
    const page = await res.text()
    const text = (re: RegExp) => re.exec(page)?.[1]?.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
    return { status: res.status, error: text(/<p class="error" id="error">([^<]*)<\/p>/), description: text(/<p id="error-description">([^<]*)<\/p>/) }
  }

  /** The explicit registration request of `rp`: its entity configuration for OP, with `marks`. */
  function registrationRequest(rp: Rp, marks: Array<{ trust_mark_type: string; trust_mark: string }>): Promise<string> {
    const now = clock.now()
    return signStatement({
      iss: rp.id, sub: rp.id, iat: now, exp: now + 3600, aud: op.entityId, jwks: { keys: [rp.fedKey.publicJwk] },
      authority_hints: [ia.entityId], metadata: rpMetadata(rp.clientKey), ...(marks.length ? { trust_marks: marks } : {}),
    }, rp.fedKey)
  }

  async function register(body: string): Promise<{ status: number; type: string | null; text: string; body?: any }> {
    const res = await fetch(`${op.entityId}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/entity-statement+jwt' }, body })
    const text = await res.text()
    return { status: res.status, type: res.headers.get('content-type'), text, ...(res.headers.get('content-type')?.startsWith('application/json') ? { body: JSON.parse(text) } : {}) }
  }

  const registration = async (id: string) => op.admin('GET', `/admin/clients/${enc(id)}`)
  const token = async (agent: Agent) => tokenRequest(op, await agent.assertion(op.entityId), { resource: RESOURCE })

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anchorage-tm-reg-'))
    await writeFile(join(dir, 'users.json'), JSON.stringify({ users: { alice: { password: await hashPassword('alice pw'), claims: { name: 'Alice' } } } }))
    ta = await startEntity({ clock })
    ia = await startEntity({ clock, authority_hints: [ta.entityId] })
    op = await startAuthorizationServer({
      clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId],
      // The agents' scopes must be scopes this OP knows (FederationClients narrows a client's scope to them).
      as: { resources: [RESOURCE], openid_provider: true, users_file: join(dir, 'users.json') },  // no scopes_supported: the agents' mcp:* scopes are unknown to the OpenID Provider and must not make their client metadata invalid
      config: { registration: { required_trust_marks: { openid_relying_party: [RP_MARK], oauth_client: [{ trust_mark_type: AGENT_MARK, trust_mark_issuer: ta.entityId }] } } },
    })
    await onboard(ta, ia.entityId, { intermediate: true })
    await onboard(ta, op.entityId)
    for (const type of [RP_MARK, AGENT_MARK]) assert.equal((await ta.admin('POST', '/admin/trust-mark-types', { trust_mark_type: type, lifetime: 86_400 })).status, 201)
    assert.equal((await ia.admin('POST', '/admin/trust-mark-types', { trust_mark_type: AGENT_MARK, lifetime: 86_400 })).status, 201)
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-issuers', { [RP_MARK]: [ta.entityId], [AGENT_MARK]: [] })).status, 200)
  })
  after(async () => {
    await Promise.all([ta, ia, op].map((e) => e?.stop()))
    await Promise.all(stops.map((s) => s()))
    await rm(dir, { recursive: true, force: true })
  })

  describe('automatic registration', () => {
    it('admits an RP carrying the required mark (request object at the authorization endpoint) and records the verified mark', async () => {
      const rp = await rpWith(async (id) => [await issue(ta, RP_MARK, id)])
      const res = await authorize(rp)
      assert.equal(res.status, 303, await res.clone().text())
      assert.match(res.headers.get('location') ?? '', /\/oauth\/interaction\//)
      const reg = await registration(rp.id)
      assert.equal(reg.status, 200)
      assert.deepEqual(reg.body.trust_marks, [{ trust_mark_type: RP_MARK, trust_mark_issuer: ta.entityId }])
    })

    it('refuses an RP without the required mark: invalid_client naming the type, audited, nothing registered', async () => {
      const rp = await rpWith(async () => [])
      const r = await errorPage(await authorize(rp))
      assert.equal(r.error, 'invalid_client', JSON.stringify(r))
      assert.equal(r.status, 401)
      assert.ok(r.description?.includes(`openid_relying_party clients must carry a valid trust mark of type "${RP_MARK}"`), r.description)
      assert.match(r.description ?? '', /carries none/)
      assert.equal((await registration(rp.id)).status, 404)
      const audit = await op.admin('GET', `/admin/audit?action=client.register&subject=${enc(rp.id)}`)
      assert.deepEqual(audit.body.events.map((e: any) => [e.outcome, e.detail.error]), [['failure', 'invalid_client']])
    })

    it('refuses an RP without the required mark at the pushed authorization request endpoint: 401 invalid_client', async () => {
      const rp = await rpWith(async () => [])
      const r = await postForm(`${op.entityId}/oauth/par`, {
        client_id: rp.id, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT,
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
        client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(rp.clientKey, { iss: rp.id, aud: op.entityId, now: realNow() }),
      })
      expectError(r, 401, 'invalid_client', `must carry a valid trust mark of type "${RP_MARK}"`)
      assert.equal((await registration(rp.id)).status, 404)
    })

    it('refuses an RP whose mark of the type does not verify (self-issued: the anchor lists only itself as issuer)', async () => {
      const rp = await rpWith(async (id, fedKey) => {
        const now = clock.now()
        const own = await new SignJWT({ iss: id, sub: id, trust_mark_type: RP_MARK, iat: now, exp: now + 3600 })
          .setProtectedHeader({ alg: fedKey.alg, kid: fedKey.kid, typ: 'trust-mark+jwt' }).sign(fedKey.privateKey)
        return [{ trust_mark_type: RP_MARK, trust_mark: own }]
      })
      const r = await errorPage(await authorize(rp))
      assert.equal(r.error, 'invalid_client', JSON.stringify(r))
      assert.match(r.description ?? '', /refused: .*does not list .* in trust_mark_issuers/)
      assert.equal((await registration(rp.id)).status, 404)
    })

    it('refuses an agent whose mark comes from an issuer the anchor allows but the configuration does not name: 401 invalid_client', async () => {
      const agent = await agentWith(async (id) => [await issue(ia, AGENT_MARK, id)])
      expectError(await token(agent), 401, 'invalid_client', `must carry a valid trust mark of type "${AGENT_MARK}" issued by ${ta.entityId}`)
      const again = await token(agent)
      expectError(again, 401, 'invalid_client', `carries one from ${ia.entityId}`)
    })

    it('admits an agent carrying the mark from the required issuer at the token endpoint', async () => {
      const agent = await agentWith(async (id) => [await issue(ta, AGENT_MARK, id), await issue(ia, AGENT_MARK, id)])
      const t = await token(agent)
      assert.equal(t.status, 200, JSON.stringify(t.body))
      const marks = (await registration(agent.id)).body.trust_marks
      assert.deepEqual(new Set(marks.map((m: any) => m.trust_mark_issuer)), new Set([ta.entityId, ia.entityId]))
    })
  })

  describe('explicit registration', () => {
    it('refuses a request without the required mark: 401 invalid_client, audited', async () => {
      const rp = await silentRp()
      const r = await register(await registrationRequest(rp, []))
      assert.equal(r.status, 401, r.text)
      assert.equal(r.body.error, 'invalid_client')
      assert.ok(r.body.error_description.includes(`must carry a valid trust mark of type "${RP_MARK}"`), r.body.error_description)
      const audit = await op.admin('GET', `/admin/audit?action=client.register&subject=${enc(rp.id)}`)
      assert.deepEqual(audit.body.events.map((e: any) => [e.outcome, e.detail.registration_type, e.detail.error]), [['failure', 'explicit', 'invalid_client']])
    })

    it('refuses a revoked mark: 401 invalid_client, the issuer\'s status endpoint says revoked', async () => {
      const rp = await silentRp()
      const mark = await issue(ta, RP_MARK, rp.id)
      assert.equal((await ta.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: RP_MARK, sub: rp.id })).status, 200)
      const r = await register(await registrationRequest(rp, [mark]))
      assert.equal(r.status, 401, r.text)
      assert.equal(r.body.error, 'invalid_client')
      assert.match(r.body.error_description, /refused: .*"revoked"/)
    })

    it('registers an RP with the mark explicitly, then the RP goes through the code flow on the login and consent pages (openid-client)', async () => {
      const rp = await silentRp()
      const r = await register(await registrationRequest(rp, [await issue(ta, RP_MARK, rp.id)]))
      assert.equal(r.status, 200, r.text)
      assert.equal(r.type, 'application/explicit-registration-response+jwt')
      const answer = decode(r.text).payload
      assert.equal(answer.metadata.openid_relying_party.client_id, rp.id)
      assert.deepEqual(answer.metadata.openid_relying_party.grant_types, ['authorization_code'])
      assert.equal((await registration(rp.id)).body.registration_type, 'explicit')

      // A plain authorization request (no request object, no PAR): the explicit registration is what admits it.
      const config = await client.discovery(new URL(op.entityId), rp.id, { redirect_uris: [REDIRECT], response_types: ['code'] },
        client.PrivateKeyJwt({ key: rp.clientKey.privateKey, kid: rp.clientKey.kid }), { execute: [client.allowInsecureRequests] })
      const verifier = client.randomPKCECodeVerifier()
      const nonce = client.randomNonce()
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT, scope: 'openid', nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      })
      const browser = new Browser()
      const login = await browser.go(url.href, REDIRECT)
      assert.equal(login.status, 200, login.body)
      const consent = await browser.submit(formAction(login, '/login'), { username: 'alice', password: 'alice pw' }, REDIRECT)
      assert.equal(consent.status, 200, consent.body)
      const shown = [.../<ul id="trust-marks">(.*?)<\/ul>/s.exec(consent.body)![1]!.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1])
      assert.deepEqual(shown, [`${RP_MARK} <span class="muted">issued by ${ta.entityId}</span>`])
      const back = await browser.submit(formAction(consent, '/consent'), { decision: 'approve' }, REDIRECT)
      assert.ok(back.url.startsWith(REDIRECT), back.url)
      const tokens = await client.authorizationCodeGrant(config, new URL(back.url), { pkceCodeVerifier: verifier, expectedNonce: nonce, idTokenExpected: true })
      const claims = tokens.claims()!
      assert.equal(claims.iss, op.entityId)
      assert.equal(claims.aud, rp.id)
      assert.equal(claims.sub, 'alice')
    })
  })

  describe('re-evaluation', () => {
    it('cuts an agent off at its next re-evaluation once the anchor revokes its mark, and refuses its next first contact', async () => {
      const agent = await agentWith(async (id) => [await issue(ta, AGENT_MARK, id)])
      assert.equal((await token(agent)).status, 200)
      assert.equal((await ta.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: AGENT_MARK, sub: agent.id })).status, 200)
      assert.equal((await token(agent)).status, 200, 'registered until its re-evaluation is due')
      clock.advance(301)
      expectError(await token(agent), 401, 'invalid_client', /invalidated at re-evaluation: oauth_client clients must carry a valid trust mark .*"revoked"/)
      const reg = await registration(agent.id)
      assert.equal(reg.body.status, 'invalidated')
      assert.match(reg.body.reason, /required_trust_marks/)
      const audit = await op.admin('GET', `/admin/audit?action=client.reevaluate&subject=${enc(agent.id)}`)
      assert.deepEqual(audit.body.events.map((e: any) => [e.outcome, e.detail.error]), [['failure', 'invalid_client']])
      expectError(await token(agent), 401, 'invalid_client', /"revoked"/)
    })

    it('ends a registration with its required mark: the registration expires with the mark, and the expired mark is refused', async () => {
      assert.equal((await ta.admin('POST', '/admin/trust-mark-types', { trust_mark_type: AGENT_MARK, lifetime: 400 })).status, 200)
      try {
        const agent = await agentWith(async (id) => [await issue(ta, AGENT_MARK, id)])
        assert.equal((await token(agent)).status, 200)
        const mark = decode((agent.leaf.claims.trust_marks as Array<{ trust_mark: string }>)[0]!.trust_mark).payload
        assert.ok((await registration(agent.id)).body.chain_exp <= mark.exp)
        clock.advance(401)
        expectError(await token(agent), 401, 'invalid_client', /expired/)
      } finally {
        await ta.admin('POST', '/admin/trust-mark-types', { trust_mark_type: AGENT_MARK, lifetime: 86_400 })
      }
    })
  })
})
