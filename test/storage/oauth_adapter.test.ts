/**
 * The oidc-provider adapter over Anchorage's store (src/authorization_server/adapter.ts),
 * run against both stores: the embedded one (real files) and MongoDB (mongo-java-server
 * from test/support/mongo_server.ts, or MONGODB_URI). Every adapter method, expiry by the
 * injected clock, the kill-switch's revokeByClientId, hostile payload keys, and a real
 * oidc-provider on 127.0.0.1 issuing and introspecting a client_credentials token.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'
import Provider, { type AdapterPayload } from 'oidc-provider'
import { ManualClock } from '../../src/clock.js'
import {
  GRANTABLE, OAUTH_COLLECTION, StoreAdapter, revokeByClientId, storeAdapter, type ClientSource, type OAuthRecord,
} from '../../src/authorization_server/adapter.js'
import { createEmbeddedStore } from '../../src/storage/embedded.js'
import { createMongoStore } from '../../src/storage/mongodb.js'
import type { Store } from '../../src/storage/types.js'
import { mongoUriForTests } from '../support/mongo_server.js'

const T0 = 1_700_000_000

/** Every model oidc-provider 9 keeps through its adapter. */
const MODELS = [
  'Session', 'AccessToken', 'AuthorizationCode', 'RefreshToken', 'ClientCredentials', 'Interaction',
  'ReplayDetection', 'PushedAuthorizationRequest', 'Grant', 'DeviceCode', 'BackchannelAuthenticationRequest',
  'RegistrationAccessToken', 'InitialAccessToken', 'Client',
] as const

interface Context {
  store: Store
  clock: ManualClock
  cleanup(): Promise<void>
}

/** A ClientSource with a fixed set of clients, counting its lookups. */
class FixedClients implements ClientSource {
  readonly asked: string[] = []
  constructor(readonly clients = new Map<string, Record<string, unknown>>()) {}
  async find(id: string): Promise<Record<string, unknown> | undefined> {
    this.asked.push(id)
    const c = this.clients.get(id)
    return c === undefined ? undefined : structuredClone(c)
  }
}

async function embedded(): Promise<Context> {
  const base = await mkdtemp(join(tmpdir(), 'anchorage-oauth-'))
  const clock = new ManualClock(T0)
  const store = createEmbeddedStore({ dir: join(base, 'data'), clock })
  await store.open()
  return { store, clock, cleanup: async () => { await store.close(); await rm(base, { recursive: true, force: true }) } }
}

async function mongodb(mocha: Mocha.Context): Promise<Context> {
  const db = await mongoUriForTests()
  if (!db) return mocha.skip() // outside CI with no java/mvn/MONGODB_URI only; in CI it throws
  const clock = new ManualClock(T0)
  const store = createMongoStore({ uri: db.uri, clock })
  await store.open()
  return { store, clock, cleanup: async () => { await store.close(); await db.stop() } }
}

function adapterSuite(name: string, factory: (mocha: Mocha.Context) => Promise<Context>): void {
  describe(`oidc-provider adapter over the ${name} store`, function () {
    this.timeout(60_000)
    let ctx: Context | undefined
    let store: Store
    let clock: ManualClock
    let clients: FixedClients
    let Adapter: ReturnType<typeof storeAdapter>

    beforeEach(async function () {
      ctx = await factory(this)
      ;({ store, clock } = ctx)
      clients = new FixedClients()
      Adapter = storeAdapter({ store, clock, clients })
    })
    afterEach(async () => {
      await ctx?.cleanup()
      ctx = undefined
    })

    const raw = (model: string, id: string) => store.get<OAuthRecord>(OAUTH_COLLECTION, `${model}:${id}`)

    it('upsert and find every model, apart from one another, with the lookup fields top-level', async () => {
      for (const model of MODELS) {
        const a = new Adapter(model)
        await a.upsert('same-id', { jti: 'same-id', kind: model, clientId: 'https://rp.example', grantId: 'g1', nested: { model } })
      }
      for (const model of MODELS) {
        const a = new Adapter(model)
        assert.deepEqual(await a.find('same-id'), { jti: 'same-id', kind: model, clientId: 'https://rp.example', grantId: 'g1', nested: { model } })
        const r = (await raw(model, 'same-id'))!
        assert.equal(r.model, model)
        assert.equal(typeof r.payload, 'string', 'the payload is kept whole, as JSON text')
        assert.equal(r.expires_at, undefined)
        assert.equal(r.grantId, GRANTABLE.has(model) ? 'g1' : undefined, `${model} grantId`)
        assert.equal(r.clientId, model === 'Client' ? undefined : 'https://rp.example', `${model} clientId`)
      }
      assert.equal(await store.count(OAUTH_COLLECTION), MODELS.length)
      assert.equal(await new Adapter('AccessToken').find('other'), undefined)
      assert.equal(await new Adapter('AccessToken').find(''), undefined)
      // a replace drops what the old payload said, lookup fields included
      const at = new Adapter('AccessToken')
      await at.upsert('same-id', { jti: 'same-id', scope: 'a' })
      assert.deepEqual(await at.find('same-id'), { jti: 'same-id', scope: 'a' })
      assert.equal((await raw('AccessToken', 'same-id'))!.grantId, undefined)
      assert.throws(() => new Adapter('Access:Token'), TypeError)
      await assert.rejects(at.upsert('', {}), TypeError)
    })

    it('expires by the injected clock: expiresIn seconds from its now, none without it', async () => {
      const at = new Adapter('AccessToken')
      await at.upsert('short', { jti: 'short' }, 60)
      await at.upsert('forever', { jti: 'forever' })
      assert.equal((await raw('AccessToken', 'short'))!.expires_at, T0 + 60)
      clock.advance(59)
      assert.ok(await at.find('short'))
      clock.advance(1)
      assert.equal(await at.find('short'), undefined)
      assert.ok(await at.find('forever'))
      clock.advance(10 * 365 * 86400)
      assert.ok(await at.find('forever'))
    })

    it('consume marks the instance consumed at the clock\'s now; destroy removes it; both ignore what is gone', async () => {
      const code = new Adapter('AuthorizationCode')
      await code.upsert('c1', { jti: 'c1', grantId: 'g' }, 600)
      assert.equal((await code.find('c1'))!.consumed, undefined)
      clock.advance(5)
      await code.consume('c1')
      assert.equal((await code.find('c1'))!.consumed, T0 + 5)
      assert.equal((await raw('AuthorizationCode', 'c1'))!.expires_at, T0 + 600, 'consume keeps the expiry')
      await code.consume('missing')
      assert.equal(await raw('AuthorizationCode', 'missing'), undefined)
      await code.destroy('c1')
      assert.equal(await code.find('c1'), undefined)
      await code.destroy('c1')
      // a payload saying consumed (oidc-provider re-saving a consumed instance) keeps it
      await code.upsert('c2', { jti: 'c2', consumed: T0 + 1 })
      assert.equal((await code.find('c2'))!.consumed, T0 + 1)
    })

    it('findByUid finds the Session (not the Interaction naming the same uid); findByUserCode the DeviceCode', async () => {
      const sessions = new Adapter('Session')
      await sessions.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'alice' }, 3600)
      await sessions.upsert('s2', { jti: 's2', uid: 'u2', accountId: 'bob' })
      await new Adapter('Interaction').upsert('i1', { jti: 'i1', uid: 'u3', session: { uid: 'u3' } }, 60)
      assert.equal((await sessions.findByUid('u1'))!.accountId, 'alice')
      assert.equal((await sessions.findByUid('u2'))!.accountId, 'bob')
      assert.equal(await sessions.findByUid('u3'), undefined)
      assert.equal(await sessions.findByUid('nope'), undefined)
      clock.advance(3600)
      assert.equal(await sessions.findByUid('u1'), undefined, 'expired')
      const devices = new Adapter('DeviceCode')
      await devices.upsert('d1', { jti: 'd1', userCode: 'ABCD-EFGH', grantId: 'g' }, 600)
      await devices.consume('d1')
      const found = (await devices.findByUserCode('ABCD-EFGH'))!
      assert.equal(found.jti, 'd1')
      assert.equal(found.consumed, clock.now())
      assert.equal(await devices.findByUserCode('ABCD-EFGX'), undefined)
      assert.equal(await sessions.findByUserCode('ABCD-EFGH'), undefined)
    })

    it('revokeByGrantId removes every token and code of the grant, from any model\'s adapter, and nothing else', async () => {
      for (const model of GRANTABLE) {
        await new Adapter(model).upsert('x1', { jti: 'x1', grantId: 'g1', clientId: 'c' }, 600)
        await new Adapter(model).upsert('x2', { jti: 'x2', grantId: 'g2', clientId: 'c' }, 600)
      }
      await new Adapter('Grant').upsert('g1', { jti: 'g1', clientId: 'c', accountId: 'alice' })
      await new Adapter('Interaction').upsert('i1', { jti: 'i1', grantId: 'g1' }, 60)
      await new Adapter('ClientCredentials').upsert('cc', { jti: 'cc', clientId: 'c' }, 600)
      await new Adapter('RefreshToken').revokeByGrantId('g1')
      for (const model of GRANTABLE) {
        assert.equal(await new Adapter(model).find('x1'), undefined, `${model} of g1`)
        assert.ok(await new Adapter(model).find('x2'), `${model} of g2`)
      }
      assert.ok(await new Adapter('Grant').find('g1'), 'the grant itself goes by destroy (oidc-provider decides)')
      assert.ok(await new Adapter('Interaction').find('i1'))
      assert.ok(await new Adapter('ClientCredentials').find('cc'))
      await new Adapter('AccessToken').revokeByGrantId('g-unknown')
      assert.equal(await store.count(OAUTH_COLLECTION), GRANTABLE.size + 3)
    })

    it('revokeByClientId (the kill-switch) removes every grant, token, code and request of the client, page by page', async () => {
      const victim = 'https://agent.example'
      const models = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'ClientCredentials', 'Grant',
        'PushedAuthorizationRequest', 'DeviceCode', 'BackchannelAuthenticationRequest', 'RegistrationAccessToken']
      for (const model of models) {
        await new Adapter(model).upsert('v', { jti: 'v', clientId: victim, grantId: 'gv' }, 600)
        await new Adapter(model).upsert('o', { jti: 'o', clientId: 'https://other.example', grantId: 'go' }, 600)
      }
      await new Adapter('Client').upsert(victim, { client_id: victim, clientId: victim })
      // more than one page of the victim's tokens
      const at = new Adapter('AccessToken')
      await Promise.all(Array.from({ length: 520 }, (_, i) => at.upsert(`bulk-${i}`, { jti: `bulk-${i}`, clientId: victim }, 600)))
      assert.equal(await revokeByClientId(store, victim), models.length + 520)
      for (const model of models) {
        assert.equal(await new Adapter(model).find('v'), undefined, `${model} of the victim`)
        assert.ok(await new Adapter(model).find('o'), `${model} of another client`)
      }
      assert.equal(await store.count(OAUTH_COLLECTION, { clientId: victim }), 0)
      assert.ok(await new Adapter('Client').find(victim), 'stored client metadata is the registration\'s business')
      assert.equal(await revokeByClientId(store, victim), 0)
      assert.equal(await revokeByClientId(store, ''), 0)
    })

    it('Client asks the ClientSource first, then the stored clients; upsert and destroy act on the stored ones', async () => {
      clients.clients.set('https://rp.example', { client_id: 'https://rp.example', token_endpoint_auth_method: 'private_key_jwt' })
      const c = new Adapter('Client')
      assert.deepEqual(await c.find('https://rp.example'), { client_id: 'https://rp.example', token_endpoint_auth_method: 'private_key_jwt' })
      assert.equal(await c.find('dyn-1'), undefined)
      assert.deepEqual(clients.asked, ['https://rp.example', 'dyn-1'])
      await c.upsert('dyn-1', { client_id: 'dyn-1', client_secret: 'x', redirect_uris: ['https://rp.example/cb'] })
      assert.deepEqual(await c.find('dyn-1'), { client_id: 'dyn-1', client_secret: 'x', redirect_uris: ['https://rp.example/cb'] })
      // the federation's view wins over a stored record of the same id
      await c.upsert('https://rp.example', { client_id: 'https://rp.example', stale: true })
      assert.equal((await c.find('https://rp.example'))!['stale'], undefined)
      clients.clients.delete('https://rp.example')
      assert.equal((await c.find('https://rp.example'))!['stale'], true)
      await c.destroy('dyn-1')
      assert.equal(await c.find('dyn-1'), undefined)
      // other models never ask the ClientSource
      clients.asked.length = 0
      await new Adapter('AccessToken').find('https://rp.example')
      assert.deepEqual(clients.asked, [])
    })

    it('reads payloads with own-property semantics: no prototype through a key, odd keys kept as data', async () => {
      const hostile = JSON.parse(
        '{"jti":"h","__proto__":{"polluted":"yes"},"params":{"__proto__":{"polluted":"yes"},"a.b":1,"$where":"1"},"$gt":"x"}',
      ) as AdapterPayload
      const at = new Adapter('AccessToken')
      await at.upsert('h', hostile, 600)
      const back = (await at.find('h'))!
      assert.equal(Object.getPrototypeOf(back), Object.prototype)
      assert.equal(Object.hasOwn(back, '__proto__'), false)
      assert.equal(Object.hasOwn(back['params'] as object, '__proto__'), false)
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined)
      assert.deepEqual(back, { jti: 'h', params: { 'a.b': 1, $where: '1' }, $gt: 'x' })
      // inherited members are not the payload's: no lookup field comes from a prototype
      const inherited = Object.create({ grantId: 'g-proto', clientId: 'c-proto', uid: 'u-proto' }) as AdapterPayload
      inherited.jti = 'i'
      await at.upsert('i', inherited, 600)
      const r = (await raw('AccessToken', 'i'))!
      assert.equal(r.grantId, undefined)
      assert.equal(r.clientId, undefined)
      assert.equal(r.uid, undefined)
      // non-string lookup values are not indexed either
      await new Adapter('Session').upsert('s', { jti: 's', uid: { $ne: null } as unknown as string })
      assert.equal((await raw('Session', 's'))!.uid, undefined)
      assert.equal(await new Adapter('Session').findByUid('[object Object]'), undefined)
    })

    describe('under a real oidc-provider', () => {
      let server: Server | undefined
      afterEach(async () => {
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
        server = undefined
      })

      async function startProvider(): Promise<string> {
        const { privateKey } = await generateKeyPair('ES256', { extractable: true })
        const jwk = { ...(await exportJWK(privateKey)), kid: 'test', alg: 'ES256', use: 'sig' }
        server = createServer()
        await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
        const { port } = server.address() as { port: number }
        const issuer = `http://127.0.0.1:${port}`
        const provider = new Provider(issuer, {
          adapter: Adapter,
          jwks: { keys: [jwk] },
          cookies: { keys: ['test-cookie-key-0123456789'] },
          features: {
            clientCredentials: { enabled: true },
            introspection: { enabled: true },
            devInteractions: { enabled: false },
          },
          ttl: { ClientCredentials: 600 },
        })
        server.on('request', provider.callback())
        return issuer
      }

      const basic = 'Basic ' + Buffer.from('agent-1:a-secret-of-enough-length-0123456789').toString('base64')
      async function post(url: string, form: Record<string, string>): Promise<Record<string, unknown>> {
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form),
        })
        const body = (await res.json()) as Record<string, unknown>
        assert.equal(res.status, 200, JSON.stringify(body))
        return body
      }

      it('issues a client_credentials token stored through the adapter, introspects it, and the store\'s expiry and revokeByClientId end it', async () => {
        clients.clients.set('agent-1', {
          client_id: 'agent-1',
          client_secret: 'a-secret-of-enough-length-0123456789',
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'ES256',
        })
        const issuer = await startProvider()
        const token = await post(`${issuer}/token`, { grant_type: 'client_credentials' })
        assert.equal(token['token_type'], 'Bearer')
        assert.ok(clients.asked.includes('agent-1'), 'the client came from the ClientSource')
        const stored = await store.list<OAuthRecord>(OAUTH_COLLECTION, { where: { clientId: 'agent-1' } })
        assert.deepEqual(stored.map((r) => r.model), ['ClientCredentials'])
        assert.equal(stored[0]!.expires_at, T0 + 600)
        const introspect = (t: unknown) => post(`${issuer}/token/introspection`, { token: String(t) })
        const active = await introspect(token['access_token'])
        assert.equal(active['active'], true)
        assert.equal(active['client_id'], 'agent-1')

        clock.advance(600) // the injected clock passes expires_at: the store no longer has it
        assert.equal((await introspect(token['access_token']))['active'], false)

        const second = await post(`${issuer}/token`, { grant_type: 'client_credentials' })
        assert.equal((await introspect(second['access_token']))['active'], true)
        assert.equal(await revokeByClientId(store, 'agent-1'), 1)
        assert.equal((await introspect(second['access_token']))['active'], false)
      })
    })
  })
}

adapterSuite('embedded', () => embedded())
adapterSuite('MongoDB', (mocha) => mongodb(mocha))

describe('oidc-provider adapter: construction', () => {
  it('is a class oidc-provider instantiates per model, bound to the store it was made with', async () => {
    const ctx = await embedded()
    try {
      const Adapter = storeAdapter({ store: ctx.store, clock: ctx.clock, clients: new FixedClients() })
      const a = new Adapter('Session')
      assert.ok(a instanceof StoreAdapter)
      assert.equal(a.model, 'Session')
    } finally {
      await ctx.cleanup()
    }
  })
})
