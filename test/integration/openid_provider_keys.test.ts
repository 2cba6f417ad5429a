/**
 * The OpenID Provider's token keys (issue 16): the keystore purpose `oauth` holds a signing key
 * per algorithm, kept apart from the federation keys. On an ES256 deployment, ID tokens are
 * RS256 unless the relying party registered id_token_signed_response_alg (OpenID Connect Core
 * 2; Discovery 1.0 section 3: RS256 MUST be supported), access tokens ES256; what discovery and
 * the entity configuration advertise is what is served; rotation keeps earlier tokens verifiable.
 *
 *          TA  (Anchorage)
 *        /    \
 *      RP      OP  (Anchorage, authorization_server.openid_provider, signing_alg ES256)
 */
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import * as client from 'openid-client'
import { hashPassword } from '../../src/authorization_server/accounts.js'
import { ManualClock } from '../../src/clock.js'
import { startEntity, startLeaf, onboard, pinned, testKey, decode, type TestEntity, type TestLeaf, type TestKey } from '../support/federation.js'
import { startAuthorizationServer, RESOURCE } from '../support/agent.js'
import type { AuthorizationServerCapability } from '../../src/capabilities/types.js'
import type { KeyRecord } from '../../src/crypto/keystore.js'
import type { ConfigFile } from '../../src/config/load.js'
import type { KeysFile } from '../../src/types.js'
import type { IO } from '../../src/cli/args.js'
import { main } from '../../src/cli/main.js'
import { startService } from '../../src/cli/serve.js'
import { silentLogger } from '../../src/logger.js'
import { freePort } from '../support/net.js'

describe('OpenID Provider: token keys per algorithm, apart from the federation keys', () => {
  const clock = new ManualClock()
  let ta: TestEntity, op: TestEntity
  let usersDir: string
  const leaves: TestLeaf[] = []

  interface Rp { id: string; key: TestKey; redirect: string; metadata: Record<string, unknown> }

  async function newRp(metadata: Record<string, unknown> = {}): Promise<Rp> {
    const key = await testKey()
    const leaf = await startLeaf({
      clock, authority_hints: [ta.entityId],
      metadata: {
        federation_entity: { organization_name: 'RP' },
        openid_relying_party: {
          client_name: 'Test RP', response_types: ['code'], grant_types: ['authorization_code'],
          redirect_uris: ['https://rp.example/cb'], jwks: { keys: [key.publicJwk] }, ...metadata,
        },
      },
    })
    leaves.push(leaf)
    await onboard(ta, leaf.entityId)
    return { id: leaf.entityId, key, redirect: 'https://rp.example/cb', metadata }
  }

  before(async () => {
    ta = await startEntity({ clock })
    usersDir = await mkdtemp(join(tmpdir(), 'anchorage-op-keys-'))
    await writeFile(join(usersDir, 'users.json'), JSON.stringify({ users: { alice: { password: await hashPassword(randomBytes(8).toString('hex')) } } }))
    op = await startAuthorizationServer({
      clock, anchors: [await pinned(ta)], authority_hints: [ta.entityId], config: { signing_alg: 'ES256' },
      as: { resources: [RESOURCE], openid_provider: true, users_file: join(usersDir, 'users.json') },
    })
    await onboard(ta, op.entityId)
  })
  after(async () => {
    await Promise.all([ta, op].map((e) => e?.stop()))
    await Promise.all(leaves.map((l) => l.stop()))
    await rm(usersDir, { recursive: true, force: true })
  })

  const server = () => (op.service.capabilities.find((c) => c.kind === 'authorization_server') as AuthorizationServerCapability).server
  const oauthJwks = async (): Promise<JSONWebKeySet> => (await (await fetch(`${op.entityId}/oauth/jwks`)).json()) as JSONWebKeySet
  const entityConfiguration = async () => decode(await (await fetch(`${op.entityId}/.well-known/openid-federation`)).text())
  const kidsOf = (jwks: { keys: Array<{ kid?: string }> }) => jwks.keys.map((k) => k.kid!)

  /** The code flow with a signed request object, logged in as alice through the interaction seam; the token response. */
  async function signIn(rp: Rp): Promise<{ idToken: string; accessToken: string }> {
    const config = await client.discovery(new URL(op.entityId), rp.id, { redirect_uris: [rp.redirect], response_types: ['code'], ...rp.metadata },
      client.PrivateKeyJwt({ key: rp.key.privateKey, kid: rp.key.kid }), { execute: [client.allowInsecureRequests] })
    const verifier = client.randomPKCECodeVerifier()
    const nonce = client.randomNonce()
    const url = await client.buildAuthorizationUrlWithJAR(config, {
      redirect_uri: rp.redirect, scope: 'openid', nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }, { key: rp.key.privateKey, kid: rp.key.kid })
    const first = await fetch(url, { redirect: 'manual' })
    const location = first.headers.get('location') ?? ''
    assert.equal(first.status, 303, await first.text())
    assert.match(location, /\/oauth\/interaction\//)
    const cookies = first.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
    const p = await server().provider()
    const interaction = (await p.Interaction.find(location.split('/').pop()!))!
    const grant = new p.Grant({ accountId: 'alice', clientId: rp.id })
    grant.addOIDCScope('openid')
    interaction.result = { login: { accountId: 'alice' }, consent: { grantId: await grant.save() } }
    await interaction.save(interaction.exp - Math.floor(Date.now() / 1000))
    const resumed = await fetch(new URL(interaction.returnTo, op.entityId), { redirect: 'manual', headers: { cookie: cookies } })
    const back = resumed.headers.get('location') ?? ''
    assert.ok(back.startsWith(rp.redirect), back)
    const tokens = await client.authorizationCodeGrant(config, new URL(back), { pkceCodeVerifier: verifier, expectedNonce: nonce, idTokenExpected: true })
    return { idToken: tokens.id_token!, accessToken: tokens.access_token }
  }

  /** Verifies a token against the keys published at /oauth/jwks now; its protected header. */
  async function verifiedAtJwksUri(token: string, typ?: string): Promise<{ alg: string; kid: string }> {
    const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(await oauthJwks()), { issuer: op.entityId, ...(typ ? { typ } : {}) })
    return { alg: protectedHeader.alg, kid: protectedHeader.kid! }
  }

  it('advertises RS256 and ES256 for ID tokens in discovery and in the entity configuration, and serves a key of each', async () => {
    const md = (await entityConfiguration()).payload.metadata.openid_provider
    const discovery = await (await fetch(`${op.entityId}/.well-known/openid-configuration`)).json() as Record<string, unknown>
    assert.deepEqual(md.id_token_signing_alg_values_supported, ['RS256', 'ES256'])
    assert.deepEqual(discovery.id_token_signing_alg_values_supported, md.id_token_signing_alg_values_supported)
    // Userinfo is served as plain JSON, never signed: neither document claims otherwise.
    assert.equal(md.userinfo_signing_alg_values_supported, undefined)
    assert.equal(discovery.userinfo_signing_alg_values_supported, undefined)
    assert.deepEqual(discovery.token_endpoint_auth_signing_alg_values_supported, md.token_endpoint_auth_signing_alg_values_supported)
    assert.equal(discovery.jwks_uri, `${op.entityId}/oauth/jwks`)
    const jwks = await oauthJwks()
    assert.deepEqual(jwks.keys.map((k) => k.alg).sort(), ['ES256', 'RS256'])
    assert.ok(jwks.keys.every((k) => k.use === 'sig' && k.d === undefined && k.p === undefined))
    const listed = await op.admin('GET', '/admin/keys?purpose=oauth')
    assert.equal(listed.status, 200)
    assert.deepEqual(listed.body.keys.map((k: { kid: string }) => k.kid).sort(), kidsOf(jwks).sort())
    assert.ok(listed.body.keys.every((k: { state: string }) => k.state === 'active'))
  })

  it('signs the ID token with RS256 for a relying party that registered no id_token_signed_response_alg; access tokens with ES256', async () => {
    const rp = await newRp()
    const { idToken, accessToken } = await signIn(rp)
    const id = await verifiedAtJwksUri(idToken)
    assert.equal(id.alg, 'RS256')
    const at = await verifiedAtJwksUri(accessToken, 'at+jwt')
    assert.equal(at.alg, 'ES256')
    assert.notEqual(at.kid, id.kid)
  })

  it('signs the ID token with ES256 for a relying party whose metadata asks for it', async () => {
    const rp = await newRp({ id_token_signed_response_alg: 'ES256' })
    const { idToken } = await signIn(rp)
    assert.equal((await verifiedAtJwksUri(idToken)).alg, 'ES256')
  })

  it('refuses a relying party asking for an ID token algorithm the provider does not sign with', async () => {
    const rp = await newRp({ id_token_signed_response_alg: 'PS256' })
    const config = await client.discovery(new URL(op.entityId), rp.id, { redirect_uris: [rp.redirect], response_types: ['code'] },
      client.PrivateKeyJwt({ key: rp.key.privateKey, kid: rp.key.kid }), { execute: [client.allowInsecureRequests] })
    const url = await client.buildAuthorizationUrlWithJAR(config, {
      redirect_uri: rp.redirect, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    }, { key: rp.key.privateKey, kid: rp.key.kid })
    const res = await fetch(url, { redirect: 'manual' })
    const page = await res.text()
    assert.equal(res.status, 400, page)
    assert.match(page, /<p class="error" id="error">invalid_client_metadata<\/p>/)
    assert.match(page, /id_token_signed_response_alg must be &#39;RS256&#39; or &#39;ES256&#39;/)
  })

  it('never publishes a federation key at /oauth/jwks nor an oauth key in the entity configuration', async () => {
    const fed = kidsOf((await entityConfiguration()).payload.jwks)
    const oauth = kidsOf(await oauthJwks())
    assert.ok(fed.length >= 1 && oauth.length >= 2)
    assert.deepEqual(oauth.filter((k) => fed.includes(k)), [])
    const fedListed = (await op.admin('GET', '/admin/keys')).body.keys.map((k: { kid: string }) => k.kid)
    assert.deepEqual(fedListed.filter((k: string) => oauth.includes(k)), [])
  })

  it('after rotating the oauth keys: tokens issued before still verify at /oauth/jwks, new ones carry the new kids, the federation keys stay', async () => {
    const rp = await newRp()
    const before = await signIn(rp)
    const oldId = await verifiedAtJwksUri(before.idToken)
    const oldAt = await verifiedAtJwksUri(before.accessToken, 'at+jwt')
    const fedBefore = kidsOf((await entityConfiguration()).payload.jwks)

    const rotated = await op.admin('POST', '/admin/keys/rotate?purpose=oauth', {})
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body))
    const fresh = rotated.body.keys as Array<{ kid: string; alg: string; state: string }>
    assert.deepEqual(fresh.map((k) => k.alg).sort(), ['ES256', 'RS256'])
    assert.ok(fresh.every((k) => k.state === 'active' && k.kid !== oldId.kid && k.kid !== oldAt.kid))

    // Current and previous keys are published: what was signed before still verifies.
    const published = kidsOf(await oauthJwks())
    for (const kid of [oldId.kid, oldAt.kid, ...fresh.map((k) => k.kid)]) assert.ok(published.includes(kid), kid)
    assert.equal((await verifiedAtJwksUri(before.idToken)).kid, oldId.kid)
    assert.equal((await verifiedAtJwksUri(before.accessToken, 'at+jwt')).kid, oldAt.kid)

    // New tokens are signed with the new key of their algorithm.
    const after = await signIn(rp)
    const newId = await verifiedAtJwksUri(after.idToken)
    const newAt = await verifiedAtJwksUri(after.accessToken, 'at+jwt')
    assert.equal(newId.kid, fresh.find((k) => k.alg === 'RS256')!.kid)
    assert.equal(newAt.kid, fresh.find((k) => k.alg === 'ES256')!.kid)

    // The federation keys did not move, and the two sets stay apart.
    const ec = await entityConfiguration()
    assert.deepEqual(kidsOf(ec.payload.jwks), fedBefore)
    assert.ok(!published.some((k) => fedBefore.includes(k)))
    assert.ok(!kidsOf(ec.payload.jwks).some((k) => published.includes(k)))

    // Retired: off /oauth/jwks, and what it signed no longer verifies there.
    const retired = await op.admin('POST', `/admin/keys/${oldId.kid}/retire?purpose=oauth`, { reason: 'superseded' })
    assert.equal(retired.status, 200, JSON.stringify(retired.body))
    assert.ok(!kidsOf(await oauthJwks()).includes(oldId.kid))
    await assert.rejects(verifiedAtJwksUri(before.idToken), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
    // Still no oauth key in the federation's historical keys.
    const historical = decode(await (await fetch(`${op.entityId}/historical-keys`)).text()).payload.keys as Array<{ kid: string }>
    assert.ok(!historical.some((k) => k.kid === oldId.kid))
  })

  it('rotates one algorithm alone, refuses an algorithm the provider does not sign with, and retiring a current key', async () => {
    const jwksBefore = await oauthJwks()
    const listed = (await op.admin('GET', '/admin/keys?purpose=oauth')).body.keys as Array<{ kid: string; alg: string; state: string }>
    const currentEs = listed.find((k) => k.alg === 'ES256' && k.state === 'active')!
    const r = await op.admin('POST', '/admin/keys/rotate?purpose=oauth', { alg: 'RS256' })
    assert.equal(r.status, 201)
    assert.equal(r.body.alg, 'RS256')
    const after = (await op.admin('GET', '/admin/keys?purpose=oauth')).body.keys as Array<{ kid: string; alg: string; state: string }>
    assert.equal(after.find((k) => k.kid === currentEs.kid)!.state, 'active')
    assert.deepEqual(after.filter((k) => k.state === 'active').map((k) => k.kid).sort(), [currentEs.kid, r.body.kid].sort())
    assert.equal(kidsOf(await oauthJwks()).length, jwksBefore.keys.length + 1)

    const ps = await op.admin('POST', '/admin/keys/rotate?purpose=oauth', { alg: 'PS256' })
    assert.equal(ps.status, 400)
    assert.equal(ps.body.error_description, 'alg: oauth keys are of RS256, ES256, not PS256')
    const current = await op.admin('POST', `/admin/keys/${currentEs.kid}/retire?purpose=oauth`, {})
    assert.equal(current.status, 400)
    assert.equal(current.body.error_description, `key "${currentEs.kid}" is the current signing key: rotate first`)
    // An oauth kid is unknown to the federation keys' routes, and the other way round.
    assert.equal((await op.admin('POST', `/admin/keys/${currentEs.kid}/retire`, {})).status, 404)
    const fedKid = (await entityConfiguration()).header.kid
    assert.equal((await op.admin('POST', `/admin/keys/${fedKid}/retire?purpose=oauth`, {})).status, 404)
    assert.equal((await op.admin('GET', '/admin/keys?purpose=tokens')).status, 400)
    assert.equal((await op.admin('GET', '/admin/keys?purpose=oauth&purpose=federation')).status, 400)
    // Every change is audited with the purpose.
    const events = (await op.admin('GET', '/admin/audit?action=key.rotate')).body.events as Array<{ subject: string; detail?: { purpose?: string; alg?: string } }>
    assert.ok(events.some((e) => e.subject === r.body.kid && e.detail?.purpose === 'oauth' && e.detail?.alg === 'RS256'), JSON.stringify(events))
  })

  it('a deployment without the authorization server has no oauth keys to manage', async () => {
    const r = await ta.admin('GET', '/admin/keys?purpose=oauth')
    assert.equal(r.status, 400)
    assert.match(r.body.error_description, /no oauth keys/)
  })
})

describe('anchorage init --openid-provider and start: the oauth keys', () => {
  let dir: string
  const kekEnv = { ANCHORAGE_KEK: randomBytes(32).toString('hex') }
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anchorage-op-init-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  async function init(d: string, ...flags: string[]): Promise<string[]> {
    const out: string[] = []
    const ta = await testKey()
    const io: IO = {
      stdout: (s) => out.push(s), stderr: (s) => out.push(s), env: kekEnv,
      readFile: async (p) => (p === 'ta.jwks' ? JSON.stringify({ keys: [ta.publicJwk] }) : readFile(p, 'utf8')),
    }
    const code = await main(['init', '--dir', d, '--entity-id', 'http://127.0.0.1:1', '--trust-anchor', 'https://ta.example.org',
      '--trust-anchor-jwks', 'ta.jwks', '--resource', RESOURCE, ...flags], io)
    assert.equal(code, 0, out.join('\n'))
    return out
  }
  async function served(d: string): Promise<{ oauth: string[]; fed: string[]; records: KeyRecord[] }> {
    const running = await startService(d, { port: await freePort(), host: '127.0.0.1' }, { env: kekEnv, logger: silentLogger })
    try {
      const base = running.config.entity_id.replace(':1', `:${running.server.port}`)
      const oauth = ((await (await fetch(`${base}/oauth/jwks`)).json()) as JSONWebKeySet).keys.map((k) => k.kid!)
      const fed = (await running.federation.keystore.jwks()).keys.map((k) => k.kid!)
      return { oauth, fed, records: await running.store.list<KeyRecord>('keys') }
    } finally {
      await running.stop()
    }
  }

  it('writes an RS256 and an ES256 oauth key beside the federation key, sealed under the KEK; the first start serves them', async () => {
    const d = join(dir, 'op')
    const out = await init(d, '--openid-provider')
    const file = JSON.parse(await readFile(join(d, 'keys.json'), 'utf8')) as KeysFile
    assert.deepEqual(file.keys.map((k) => [k.purpose ?? 'federation', k.alg]), [['federation', 'ES256'], ['oauth', 'RS256'], ['oauth', 'ES256']])
    assert.ok(file.keys.every((k) => k.sealed.enc === 'A256GCM'))
    const oauthKids = file.keys.filter((k) => k.purpose === 'oauth').map((k) => k.kid)
    for (const kid of oauthKids) assert.ok(out.join('\n').includes(`oauth key ${kid}`), out.join('\n'))
    const config = JSON.parse(await readFile(join(d, 'anchorage.json'), 'utf8')) as ConfigFile
    assert.equal(config.authorization_server?.openid_provider, true)
    const s = await served(d)
    assert.deepEqual([...s.oauth].sort(), [...oauthKids].sort())
    assert.deepEqual(s.fed, [file.keys[0]!.kid])
  })

  it('an existing deployment that takes the OpenID Provider role gets its RS256 key at start, sealed like the others', async () => {
    const d = join(dir, 'as')
    await init(d, '--authorization-server')
    const first = await served(d)
    assert.equal(first.oauth.length, 1)
    const config = JSON.parse(await readFile(join(d, 'anchorage.json'), 'utf8')) as ConfigFile
    await writeFile(join(d, 'anchorage.json'), JSON.stringify({ ...config, authorization_server: { ...config.authorization_server, openid_provider: true } }))
    const second = await served(d)
    assert.equal(second.oauth.length, 2)
    assert.ok(second.oauth.includes(first.oauth[0]!))
    const added = second.records.find((r) => r.purpose === 'oauth' && !first.oauth.includes(r.id))!
    assert.equal(added.alg, 'RS256')
    assert.equal(added.state, 'active')
    assert.equal(added.sealed.enc, 'A256GCM')
    assert.deepEqual(second.fed, first.fed)
    assert.equal(second.records.length, 3)
  })
})
