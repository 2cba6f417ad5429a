/**
 * The kill-switch, for every grant (issue 16): once a client's chain no longer resolves, its
 * next authorization request, code redemption, refresh, client_credentials and token exchange
 * requests are refused with invalid_client, every access token it holds introspects inactive,
 * and its refresh tokens, grants and codes are gone from the server's store; one audit event
 * says why and what went. Over real HTTP on loopback, with an RP written with openid-client:
 *
 *               TA  (Anchorage trust anchor; issues RP_MARK, the mark OP requires of RPs)
 *          /    |     \
 *       ORG     OP     RS     ORG: the RP's organisation (Anchorage intermediate), one per cause
 *        |                    OP: Anchorage, authorization server + OpenID Provider, pinning TA,
 *        RP                       registration.required_trust_marks: openid_relying_party [RP_MARK]
 *                             RS: the resource's federation entity (it introspects)
 *
 * Table-driven: each cause (a row) gets a fresh ORG and RP, which first obtains something for
 * every grant (a refresh token, an unredeemed code, a client_credentials token, an exchanged
 * token), all introspecting active. The cause is applied; until `trust_reevaluation` has
 * passed the registration stands; then (the injected clock moves, no sleeps) every grant is
 * refused. Which grant comes first, and so does the re-evaluation and the cut-off, rotates
 * with the row.
 */
import { strict as assert } from 'node:assert'
import * as client from 'openid-client'
import { ManualClock } from '../../src/clock.js'
import { TOKEN_EXCHANGE_GRANT, ACCESS_TOKEN_TYPE } from '../../src/authorization_server/token_exchange.js'
import type { TokenRecord } from '../../src/authorization_server/tokens.js'
import { startEntity, onboard, pinned, startLeaf, testKey, type TestEntity, type TestLeaf, type TestKey } from '../support/federation.js'
import { startAuthorizationServer, introspect, assertion, realNow } from '../support/agent.js'
import { startRp, rpConfig, usersFile, login, serverOf, authorizationRefusal, type Rp } from '../support/relying_party.js'

const RESOURCE = 'https://mcp.demo.example/mcp'
const SCOPE = 'mcp:read'
const REEVALUATION = 120
const RP_MARK = 'https://federation.example.org/tm/certified-rp'

/** What the RP holds before the cut-off, one for each grant. */
interface Holdings {
  rp: Rp
  config: client.Configuration
  /** Access tokens of every grant: code flow, refresh, client_credentials, token exchange. */
  accessTokens: Record<'authorization_code' | 'refresh_token' | 'client_credentials' | 'token_exchange', string>
  refreshToken: string
  /** An authorization response not redeemed yet, and its PKCE verifier. */
  code: { callback: URL; verifier: string }
}

/** A refusal, whichever way the request went (openid-client throws; the authorization endpoint answers a page). */
interface Outcome { status: number; error?: string; description?: string }

describe('kill-switch for every grant: a client whose chain stops resolving is cut off', () => {
  const clock = new ManualClock()
  let ta: TestEntity, op: TestEntity, rs: TestLeaf, rsKey: TestKey
  let users: Awaited<ReturnType<typeof usersFile>>
  const stops: Array<() => Promise<void>> = []

  before(async () => {
    // Client assertions and oidc-provider's tokens are on the system clock; the injected one ages registrations.
    clock.set(realNow())
    ta = await startEntity({ clock })
    users = await usersFile()
    op = await startAuthorizationServer({
      clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId],
      as: {
        resources: [RESOURCE], scopes_supported: [SCOPE], openid_provider: true, users_file: users.path,
        trust_reevaluation: REEVALUATION,
        // The grant sweep runs when a test says so (sweep.pass()), never on its timer.
        grant_sweep_seconds: 0,
        // Fetched statements outlive the re-evaluation interval: a client cut off must not come
        // back through its next first contact on the statements fetched before the cut.
        statement_cache_ttl: 10 * REEVALUATION,
        // Longer than the time the clock moves, so nothing of the holdings expires on its own.
        authorization_code_lifetime: 600, access_token_lifetime: 600,
      },
      config: { registration: { required_trust_marks: { openid_relying_party: [RP_MARK] } }, resolver: { statement_ttl_max: 10 * REEVALUATION } },
    })
    rsKey = await testKey()
    rs = await startLeaf({ clock, authority_hints: [ta.entityId], metadata: { oauth_resource: { resource: RESOURCE, jwks: { keys: [rsKey.publicJwk] } } } })
    await onboard(ta, op.entityId)
    await onboard(ta, rs.entityId)
    assert.equal((await ta.admin('POST', '/admin/trust-mark-types', { trust_mark_type: RP_MARK, lifetime: 86_400 })).status, 201)
    assert.equal((await ta.admin('PUT', '/admin/trust-mark-issuers', { [RP_MARK]: [ta.entityId] })).status, 200)
  })
  after(async () => {
    await Promise.all([ta, op].map((e) => e?.stop()))
    await rs?.stop()
    await Promise.all(stops.map((s) => s()))
    await users?.remove()
  })

  /** Introspection as the resource (a federation member itself): active or not. */
  const active = async (token: string): Promise<boolean> => {
    const r = await introspect(op, token, await assertion(rsKey, { iss: rs.entityId, aud: op.entityId, now: realNow() }))
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return r.body.active === true
  }

  /** The outcome of an openid-client call: 200, or the OAuth error it threw. */
  const outcome = async (call: () => Promise<unknown>): Promise<Outcome> => {
    try {
      await call()
      return { status: 200 }
    } catch (err) {
      if (err instanceof client.ResponseBodyError) return { status: err.status, error: err.error, ...(err.error_description ? { description: err.error_description } : {}) }
      throw err
    }
  }

  /** An authorization request of the RP (JAR, PKCE), as openid-client builds it. */
  async function authorizationUrl(h: { rp: Rp; config: client.Configuration }, verifier: string): Promise<URL> {
    return client.buildAuthorizationUrlWithJAR(h.config, {
      redirect_uri: h.rp.redirect, scope: `openid offline_access ${SCOPE}`, prompt: 'consent', resource: RESOURCE,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }, { key: h.rp.key.privateKey, kid: h.rp.key.kid })
  }

  /** Code flow up to the redirect back to the RP (alice signs in through the seam). */
  async function authorize(h: { rp: Rp; config: client.Configuration }): Promise<{ callback: URL; verifier: string }> {
    const verifier = client.randomPKCECodeVerifier()
    const r = await login(op, await authorizationUrl(h, verifier), {}, { resource: RESOURCE, resourceScope: SCOPE })
    assert.equal(r.status, 303, JSON.stringify(r))
    assert.ok(r.location?.startsWith(h.rp.redirect) && !r.location.includes('error='), r.location)
    return { callback: new URL(r.location!), verifier }
  }

  const redeem = (h: { config: client.Configuration }, code: { callback: URL; verifier: string }) =>
    client.authorizationCodeGrant(h.config, code.callback, { pkceCodeVerifier: code.verifier, idTokenExpected: true })

  const exchange = (h: { config: client.Configuration }, subject: string) =>
    client.genericGrantRequest(h.config, TOKEN_EXCHANGE_GRANT, { subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, resource: RESOURCE, scope: SCOPE })

  /** A fresh ORG under TA and RP under ORG; the RP then obtains something through every grant. */
  async function holdings(): Promise<Holdings & { org: TestEntity }> {
    const org = await startEntity({ clock, authority_hints: [ta.entityId] })
    stops.push(() => org.stop())
    await onboard(ta, org.entityId, { intermediate: true })
    const rp = await startRp({
      clock, superior: org,
      metadata: { grant_types: ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE_GRANT], scope: `openid offline_access ${SCOPE}` },
    })
    stops.push(() => rp.stop())
    // The mark OP requires of RPs, issued by TA and carried in the RP's entity configuration.
    const mark = await ta.admin('POST', '/admin/trust-marks', { trust_mark_type: RP_MARK, sub: rp.id })
    assert.equal(mark.status, 201, JSON.stringify(mark.body))
    rp.leaf.claims.trust_marks = [{ trust_mark_type: RP_MARK, trust_mark: mark.body.trust_mark }]
    const config = await rpConfig(op, rp)
    const h = { rp, config }
    const first = await redeem(h, await authorize(h))
    assert.ok(first.refresh_token, 'a refresh token for offline_access')
    const refreshed = await client.refreshTokenGrant(config, first.refresh_token)
    const cc = await client.clientCredentialsGrant(config, { scope: SCOPE, resource: RESOURCE })
    // Token exchange accepts the code flow's access token as its subject token.
    const exchanged = await exchange(h, first.access_token)
    return {
      org, rp, config, code: await authorize(h),
      refreshToken: refreshed.refresh_token ?? first.refresh_token,
      accessTokens: {
        authorization_code: first.access_token, refresh_token: refreshed.access_token,
        client_credentials: cc.access_token, token_exchange: exchanged.access_token,
      },
    }
  }

  /** Each grant's next request after the cut-off. */
  const GRANTS: Array<{ grant: string; attempt: (h: Holdings) => Promise<Outcome> }> = [
    {
      grant: 'authorization request',
      attempt: async (h) => authorizationRefusal(await fetch(await authorizationUrl(h, client.randomPKCECodeVerifier()), { redirect: 'manual' })),
    },
    { grant: 'code redemption', attempt: (h) => outcome(() => redeem(h, h.code)) },
    { grant: 'refresh', attempt: (h) => outcome(() => client.refreshTokenGrant(h.config, h.refreshToken)) },
    { grant: 'client_credentials', attempt: (h) => outcome(() => client.clientCredentialsGrant(h.config, { scope: SCOPE, resource: RESOURCE })) },
    { grant: 'token exchange', attempt: (h) => outcome(() => exchange(h, h.accessTokens.authorization_code)) },
  ]

  /** Why a chain stops resolving. */
  const CAUSES: Array<{ cause: string; reason: RegExp; cut: (h: Holdings & { org: TestEntity }) => Promise<{ status: number }> }> = [
    { cause: 'the anchor removes the RP\'s organisation', reason: /no valid trust chain/, cut: (h) => ta.admin('DELETE', `/admin/subordinates/${encodeURIComponent(h.org.entityId)}`) },
    { cause: 'the anchor suspends the RP\'s organisation', reason: /no valid trust chain/, cut: (h) => ta.admin('POST', `/admin/subordinates/${encodeURIComponent(h.org.entityId)}/suspend`) },
    { cause: 'the intermediate removes the RP', reason: /no valid trust chain/, cut: (h) => h.org.admin('DELETE', `/admin/subordinates/${encodeURIComponent(h.rp.id)}`) },
    { cause: 'the intermediate suspends the RP', reason: /no valid trust chain/, cut: (h) => h.org.admin('POST', `/admin/subordinates/${encodeURIComponent(h.rp.id)}/suspend`) },
    {
      cause: 'the anchor revokes the RP\'s required trust mark', reason: /must carry a valid trust mark of type .*"revoked"/,
      cut: (h) => ta.admin('POST', '/admin/trust-marks/revoke', { trust_mark_type: RP_MARK, sub: h.rp.id }),
    },
  ]

  it('revoking a refresh token (RFC 7009) ends its grant: the access tokens of the grant introspect inactive, the others stay active', async () => {
    const h = await holdings()
    for (const t of Object.values(h.accessTokens)) assert.equal(await active(t), true)
    const records = async () => op.store.list<TokenRecord>('tokens', { where: { client_id: h.rp.id } })
    const grantIds = new Set((await records()).map((r) => r.grantId).filter((g) => g !== undefined))
    assert.equal(grantIds.size, 1, 'the code flow and the refresh are of one grant')
    await client.tokenRevocation(h.config, h.refreshToken, { token_type_hint: 'refresh_token' })
    // The grant's access token records are gone from the store with it (found by grantId, indexed); the others stay.
    assert.deepEqual((await op.store.list<TokenRecord>('tokens', { where: { grantId: [...grantIds][0]! } })), [])
    assert.deepEqual((await records()).map((r) => r.gty).sort(), ['client_credentials', 'token_exchange'])
    assert.equal(await active(h.accessTokens.authorization_code), false)
    assert.equal(await active(h.accessTokens.refresh_token), false)
    // Not of that grant: client_credentials, and the exchanged token (the agent's own).
    assert.equal(await active(h.accessTokens.client_credentials), true)
    assert.equal(await active(h.accessTokens.token_exchange), true)
    const r = await outcome(() => client.refreshTokenGrant(h.config, h.refreshToken))
    assert.equal(r.error, 'invalid_grant')
  })

  it('a client that comes back (reinstated) registers anew and holds nothing of before, not even what a race left behind', async () => {
    const h = await holdings()
    const provider = await serverOf(op).provider()
    assert.equal((await h.org.admin('POST', `/admin/subordinates/${encodeURIComponent(h.rp.id)}/suspend`)).status, 200)
    clock.advance(REEVALUATION + 1)
    const before = await op.admin('GET', `/admin/clients/${encodeURIComponent(h.rp.id)}`)
    assert.equal((await GRANTS[3]!.attempt(h)).error, 'invalid_client')
    // A refresh token written after the cut-off, as a token request that passed the client lookup just before it would.
    const leftover = await new provider.RefreshToken({ clientId: h.rp.id, accountId: 'alice', grantId: 'raced', gty: 'authorization_code', scope: 'openid' } as never).save()
    assert.ok(await provider.RefreshToken.find(leftover))

    assert.equal((await h.org.admin('POST', `/admin/subordinates/${encodeURIComponent(h.rp.id)}/reinstate`)).status, 200)
    const back = await outcome(() => client.clientCredentialsGrant(h.config, { scope: SCOPE, resource: RESOURCE }))
    assert.equal(back.status, 200, JSON.stringify(back))
    const after = await op.admin('GET', `/admin/clients/${encodeURIComponent(h.rp.id)}`)
    assert.equal(after.body.status, 'active')
    assert.notEqual(after.body.rid, before.body.rid)
    assert.equal(await provider.RefreshToken.find(leftover), undefined, 'the leftover is gone')
    assert.equal(await provider.RefreshToken.find(h.refreshToken), undefined)
    for (const t of Object.values(h.accessTokens)) assert.equal(await active(t), false)
    const { body } = await op.admin('GET', `/admin/audit?subject=${encodeURIComponent(h.rp.id)}&action=client.register`)
    assert.equal(body.events.at(-1).outcome, 'success')
    assert.deepEqual(body.events.at(-1).detail.revoked, { access_tokens: 0, refresh_tokens: 1, grants: 0, authorization_codes: 0, other: 0 })
  })

  it('a client that makes no request: the grant sweep cuts it off once due, its refresh token is gone from the store, then refused; leftovers go at the next pass', async () => {
    const h = await holdings()
    const server = serverOf(op)
    const provider = await server.provider()
    /** Passes until the sweep has visited every registration. */
    const sweepAll = async (): Promise<{ cut_off: string[]; cleared: string[] }> => {
      const all = { cut_off: [] as string[], cleared: [] as string[] }
      for (;;) {
        const p = await server.sweep.pass()
        assert.deepEqual(p.failed, [])
        all.cut_off.push(...p.cut_off)
        all.cleared.push(...p.cleared)
        if (p.wrapped) return all
      }
    }
    const held = async () => (await op.store.list<{ id: string; model: string }>('oauth', { where: { clientId: h.rp.id } })).filter((r) => r.model !== 'Client')
    assert.ok(await provider.RefreshToken.find(h.refreshToken), 'the refresh token is stored')
    assert.equal((await ta.admin('DELETE', `/admin/subordinates/${encodeURIComponent(h.org.entityId)}`)).status, 204)

    // Not due yet: the sweep leaves the registration and what it holds.
    clock.advance(REEVALUATION - 10)
    assert.ok(!(await sweepAll()).cut_off.includes(h.rp.id))
    assert.ok(await provider.RefreshToken.find(h.refreshToken))

    clock.advance(11)
    assert.ok((await sweepAll()).cut_off.includes(h.rp.id), 'cut off by the sweep, without a request of the client')
    assert.equal(await provider.RefreshToken.find(h.refreshToken), undefined, 'the refresh token is gone from the store')
    assert.deepEqual(await held(), [], 'no grant, code or token of it is left in the store')
    assert.equal((await op.store.list<TokenRecord>('tokens', { where: { client_id: h.rp.id } })).length, 0)
    assert.equal((await op.admin('GET', `/admin/clients/${encodeURIComponent(h.rp.id)}`)).body.status, 'invalidated')
    const { body } = await op.admin('GET', `/admin/audit?subject=${encodeURIComponent(h.rp.id)}&action=client.reevaluate`)
    assert.equal(body.events.length, 1, JSON.stringify(body.events))
    assert.equal(body.events[0].outcome, 'failure')
    assert.ok(body.events[0].detail.revoked.refresh_tokens >= 1 && body.events[0].detail.revoked.grants >= 1, JSON.stringify(body.events[0].detail))
    const refused = await outcome(() => client.refreshTokenGrant(h.config, h.refreshToken))
    assert.equal(refused.error, 'invalid_client', JSON.stringify(refused))
    for (const t of Object.values(h.accessTokens)) assert.equal(await active(t), false)

    // A refresh token written after the cut-off (a token request that raced with it): the next pass removes it.
    const leftover = await new provider.RefreshToken({ clientId: h.rp.id, accountId: 'alice', grantId: 'raced', gty: 'authorization_code', scope: 'openid' } as never).save()
    assert.ok(await provider.RefreshToken.find(leftover))
    assert.deepEqual((await sweepAll()).cleared, [h.rp.id])
    assert.equal(await provider.RefreshToken.find(leftover), undefined)
    const swept = await op.admin('GET', `/admin/audit?subject=${encodeURIComponent(h.rp.id)}&action=client.sweep`)
    assert.deepEqual(swept.body.events.map((e: { detail: unknown }) => e.detail), [{ status: 'invalidated', revoked: { access_tokens: 0, refresh_tokens: 1, grants: 0, authorization_codes: 0, other: 0 } }])
    const again = await sweepAll()
    assert.deepEqual([again.cut_off, again.cleared], [[], []], 'nothing left to sweep')
  })

  CAUSES.forEach(({ cause, reason, cut }, row) => {
    // The grant whose request comes first (and re-evaluates the registration) rotates with the row.
    const order = GRANTS.map((_, i) => GRANTS[(i + row) % GRANTS.length]!)
    it(`${cause}: ${order.map((g) => g.grant).join(', ')} refused invalid_client; tokens inactive; refresh token gone`, async () => {
      const h = await holdings()
      const server = serverOf(op)
      const provider = await server.provider()
      const tokens = Object.values(h.accessTokens)
      // Every grant's access token is recorded and introspects active (the code flow's and the refresh's too).
      for (const t of tokens) assert.equal(await active(t), true)
      assert.ok(await provider.RefreshToken.find(h.refreshToken), 'the refresh token is stored')

      const res = await cut(h)
      assert.ok(res.status < 300, `the cause: HTTP ${res.status}`)
      // Within trust_reevaluation the registration stands (the bound documented).
      clock.advance(REEVALUATION - 10)
      assert.equal(await active(h.accessTokens.client_credentials), true)

      clock.advance(11)
      for (const { grant, attempt } of order) {
        const r = await attempt(h)
        assert.equal(r.error, 'invalid_client', `${grant}: ${JSON.stringify(r)}`)
      }
      for (const t of tokens) assert.equal(await active(t), false)
      assert.equal(await provider.RefreshToken.find(h.refreshToken), undefined, 'the refresh token is gone')
      assert.equal((await op.store.list<TokenRecord>('tokens', { where: { client_id: h.rp.id } })).length, 0)
      const registration = await op.admin('GET', `/admin/clients/${encodeURIComponent(h.rp.id)}`)
      assert.equal(registration.body.status, 'invalidated')

      // One audit event for the cut-off: why, and what went.
      const { body } = await op.admin('GET', `/admin/audit?subject=${encodeURIComponent(h.rp.id)}&action=client.reevaluate`)
      assert.equal(body.events.length, 1, JSON.stringify(body.events))
      const [event] = body.events
      assert.equal(event.outcome, 'failure')
      assert.match(event.detail.reason, reason)
      const revoked = event.detail.revoked
      assert.equal(revoked.access_tokens, tokens.length)
      assert.ok(revoked.refresh_tokens >= 1 && revoked.grants >= 1 && revoked.authorization_codes >= 1, JSON.stringify(revoked))
    })
  })
})
