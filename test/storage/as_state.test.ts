/**
 * The authorization server's own state in the store, on both stores (the embedded one on
 * real files, MongoDB on mongo-java-server or MONGODB_URI): oidc-provider's cookie secrets
 * (src/authorization_server/cookie_keys.ts: created once, shared, sealed under the KEK,
 * rotated as a list) and the users file's failed-login counts (accounts.ts: the lockout holds
 * across instances, expires, is bounded). "Two instances" are two objects over one store,
 * each with its own caches, as two processes would be.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '../../src/clock.js'
import { CookieKeys, ROTATE_AFTER, STAGE_SECONDS, type CookieKeyRecord } from '../../src/authorization_server/cookie_keys.js'
import { Accounts, hashPassword, LOGIN_FAILURES, type LoginFailures } from '../../src/authorization_server/accounts.js'
import { AuditLog } from '../../src/audit/audit.js'
import { DEFAULTS } from '../../src/config/defaults.js'
import { KekMaterial } from '../../src/config/kek.js'
import { Kek } from '../../src/crypto/kek.js'
import { checkKeysAtStart, inspectKeys } from '../../src/crypto/key_encryption.js'
import { Keystore } from '../../src/crypto/keystore.js'
import { silentLogger } from '../../src/logger.js'
import { createEmbeddedStore } from '../../src/storage/embedded.js'
import { openStore } from '../../src/storage/open.js'
import type { Store } from '../../src/storage/types.js'
import type { AuthorizationServerConfig } from '../../src/config/load.js'
import { mongoUriForTests } from '../support/mongo_server.js'

const T0 = 1_700_000_000
const KEEP = 86_400

interface Context {
  clock: ManualClock
  /** A store over the same data (another instance, or the same one after a restart: `close` the first). */
  open(): Promise<Store>
  cleanup(): Promise<void>
}

async function embedded(): Promise<Context> {
  const base = await mkdtemp(join(tmpdir(), 'anchorage-as-state-'))
  const clock = new ManualClock(T0)
  const opened: Store[] = []
  return {
    clock,
    // The embedded store is one process's: a second one over the same files is a restart.
    async open() {
      const store = createEmbeddedStore({ dir: join(base, 'data'), clock, fsync: false })
      await store.open()
      opened.push(store)
      return store
    },
    async cleanup() {
      for (const s of opened) await s.close().catch(() => undefined)
      await rm(base, { recursive: true, force: true })
    },
  }
}

async function mongodb(mocha: Mocha.Context): Promise<Context> {
  const db = await mongoUriForTests()
  if (!db) return mocha.skip() // outside CI with no java/mvn/MONGODB_URI only; in CI it throws
  const clock = new ManualClock(T0)
  const opened: Store[] = []
  return {
    clock,
    // Through openStore, as a server opens it: a dynamic import (the store's conflicts must be
    // recognised as FederationErrors whatever copy of errors.ts the store was loaded with).
    async open() {
      const store = await openStore({ store: db.uri, dir: tmpdir() }, { clock, logger: silentLogger })
      opened.push(store)
      return store
    },
    async cleanup() {
      for (const s of opened) await s.close().catch(() => undefined)
      await db.stop()
    },
  }
}

function suite(name: string, factory: (mocha: Mocha.Context) => Promise<Context>, shared: boolean): void {
  describe(`authorization server state over the ${name} store`, function () {
    this.timeout(60_000)
    let ctx: Context | undefined
    beforeEach(async function () {
      ctx = await factory(this)
    })
    afterEach(async () => {
      await ctx?.cleanup()
      ctx = undefined
    })

    /** Two instances: two stores at once (MongoDB), or one store then the same files reopened (embedded). */
    async function two(): Promise<{ a: Store; b: () => Promise<Store> }> {
      const a = await ctx!.open()
      return { a, b: async () => {
        if (!shared) await a.close()
        return ctx!.open()
      } }
    }

    describe('cookie secrets', () => {
      it('are created once and found by a second instance (or after a restart), in the keys collection beside the signing keys', async () => {
        const { a, b } = await two()
        const first = await new CookieKeys({ store: a, clock: ctx!.clock, keepFor: KEEP }).secrets()
        assert.equal(first.length, 1)
        assert.equal(Buffer.from(first[0]!, 'base64url').length, 32)
        const other = await b()
        const second = await new CookieKeys({ store: other, clock: ctx!.clock, keepFor: KEEP }).secrets()
        assert.deepEqual(second, first)
        const records = await other.list<CookieKeyRecord>('keys')
        assert.deepEqual(records.map((r) => [r.id, r.purpose, r.generation]), [['cookie-1', 'cookie', 1]])
        // The signing keys' keystores do not see it: the federation JWK Set has its own key only.
        const federation = new Keystore({ store: other, clock: ctx!.clock, logger: silentLogger, alg: 'ES256' })
        await federation.ensureKey()
        assert.deepEqual((await federation.jwks()).keys.map((k) => k.kty), ['EC'])
        assert.equal((await other.list('keys')).length, 2)
      })

      // One embedded store per process: nothing starts beside it.
      if (shared) it('several instances starting at once agree on one secret', async () => {
        const stores = [await ctx!.open(), await ctx!.open(), await ctx!.open()]
        const lists = await Promise.all(stores.map((store) => new CookieKeys({ store, clock: ctx!.clock, keepFor: KEEP }).secrets()))
        assert.deepEqual(lists[1], lists[0])
        assert.deepEqual(lists[2], lists[0])
        assert.equal(await stores[0]!.count('keys'), 1)
      })

      it('are sealed under ANCHORAGE_KEK like private keys (the start check and keys encrypt see them); without the KEK they do not open', async () => {
        const store = await ctx!.open()
        const material = KekMaterial.parse(randomBytes(32).toString('base64url'))!
        const keys = new CookieKeys({ store, clock: ctx!.clock, keepFor: KEEP, kek: material })
        const [secret] = await keys.secrets()
        const record = (await store.get<CookieKeyRecord>('keys', 'cookie-1'))!
        assert.equal(record.sealed.enc, 'A256GCM')
        assert.ok(!JSON.stringify(record).includes(secret!), 'the secret is not in the record in clear')
        const kek = Kek.of(material)
        assert.deepEqual(await inspectKeys({ store, keysFile: undefined, kek }), [{ kid: 'cookie-1', where: 'store', state: 'sealed' }])
        // Without the KEK (or with another) it cannot be opened: the instance refuses rather than make a new one.
        await assert.rejects(new CookieKeys({ store, clock: ctx!.clock, keepFor: KEEP }).secrets(), /ANCHORAGE_KEK/)
        // One created without a KEK is in clear, and a start with a KEK refuses it until `keys encrypt`.
        await store.remove('keys', 'cookie-1')
        await new CookieKeys({ store, clock: ctx!.clock, keepFor: KEEP }).secrets()
        assert.equal((await store.get<CookieKeyRecord>('keys', 'cookie-1'))!.sealed.enc, 'none')
        await assert.rejects(checkKeysAtStart({
          store, kek, dir: '/deployment', event: () => { throw new Error('not re-sealing') },
          keysFile: { read: async () => undefined, write: async () => undefined },
        }), /UNENCRYPTED \(store: cookie-1\)/)
      })

      it('rotate as a list, newest first: the next generation verifies at once, signs after the stage, and the old one goes after the cookies\' lifetime', async () => {
        const { a, b } = await two()
        const clock = ctx!.clock
        const ka = new CookieKeys({ store: a, clock, keepFor: KEEP })
        const [g1] = await ka.secrets()
        clock.advance(ROTATE_AFTER - 1)
        assert.deepEqual(await ka.secrets(), [g1])
        clock.advance(1) // due: generation 2 is staged (verifies, does not sign yet)
        const staged = await ka.secrets()
        assert.equal(staged.length, 2)
        assert.equal(staged[0], g1, 'the old secret still signs while the new one is staged')
        const g2 = staged[1]!
        assert.notEqual(g2, g1)
        const kb = new CookieKeys({ store: await b(), clock, keepFor: KEEP })
        assert.deepEqual(await kb.secrets(), [g1, g2], 'another instance (or a restart) has the same list')
        clock.advance(STAGE_SECONDS)
        assert.deepEqual(await kb.secrets(), [g2, g1], 'signs with the new one, still accepts the old one')
        clock.advance(KEEP - 1)
        assert.deepEqual(await kb.secrets(), [g2, g1])
        clock.advance(1) // every cookie the old one signed has expired: it goes
        assert.deepEqual(await kb.secrets(), [g2])
        // An operator's rotation stages one now.
        assert.equal(await kb.rotate(), 3)
        const list = await kb.secrets()
        assert.equal(list.length, 2)
        assert.equal(list[0], g2)
      })
    })

    it('the OAuth keystores of instances using an empty store at once agree on one signing key', async () => {
      // Each instance creates the first key at its first token request; before, each demoted the
      // other's and none was left to sign ("no signing key" at every instance until restarted).
      const first = await ctx!.open()
      const stores = shared ? [first, await ctx!.open(), await ctx!.open()] : [first, first, first]
      for (let round = 0; round < 3; round++) {
        for (const k of await first.list('keys')) await first.remove('keys', k.id)
        const keystores = stores.map((store) => new Keystore({ store, clock: ctx!.clock, logger: silentLogger, alg: 'ES256', purpose: 'oauth' }))
        await Promise.all(keystores.map((k) => k.ensureKey()))
        for (const k of keystores) assert.ok((await k.signingKey()).kid, 'every instance has a key to sign with')
        const active = (await first.list<{ id: string; state: string }>('keys')).filter((r) => r.state === 'active')
        assert.ok(active.length >= 1)
        // Read afresh, every instance signs with the same one.
        const fresh = await Promise.all(stores.map(async (store) => (await new Keystore({ store, clock: ctx!.clock, logger: silentLogger, alg: 'ES256', purpose: 'oauth' }).signingKey()).kid))
        assert.equal(new Set(fresh).size, 1)
      }
    })

    describe('failed logins', () => {
      let config: AuthorizationServerConfig
      let usersFile: unknown
      before(async () => {
        config = { ...DEFAULTS.authorization_server, enabled: true, resources: [], max_failed_logins: 3, login_lockout_seconds: 300, login_tracked_names: 5 }
        usersFile = { users: { alice: { password: await hashPassword('right') }, bob: { password: await hashPassword('right') } } }
      })
      const accounts = (store: Store, over: Partial<AuthorizationServerConfig> = {}) =>
        new Accounts({ store, clock: ctx!.clock, audit: new AuditLog(store, ctx!.clock, silentLogger), config: { ...config, ...over }, usersFile })

      it('lock a name across instances (and a restart), and unlock after the lockout, counted from the first failure', async () => {
        const { a, b } = await two()
        const one = accounts(a)
        assert.deepEqual(await one.login('alice', 'wrong'), { ok: false, reason: 'invalid_credentials' })
        ctx!.clock.advance(100)
        assert.deepEqual(await one.login('alice', 'wrong'), { ok: false, reason: 'invalid_credentials' })
        const store = await b()
        const other = accounts(store)
        assert.deepEqual(await other.login('alice', 'wrong'), { ok: false, reason: 'invalid_credentials' })
        assert.deepEqual(await other.login('alice', 'right'), { ok: false, reason: 'locked' }, 'the third failure (at the other instance) locked her')
        if (shared) assert.deepEqual(await one.login('alice', 'right'), { ok: false, reason: 'locked' }, 'and the first instance sees it')
        const rec = (await store.get<LoginFailures>(LOGIN_FAILURES, 'alice'))!
        assert.equal(rec.count, 3)
        assert.equal(rec.expires_at, T0 + 300)
        ctx!.clock.advance(199)
        assert.deepEqual(await other.login('alice', 'right'), { ok: false, reason: 'locked' })
        ctx!.clock.advance(1)
        assert.deepEqual(await other.login('alice', 'right'), { ok: true, sub: 'alice' })
        assert.equal(await store.count(LOGIN_FAILURES), 0)
      })

      it('a success clears the count; concurrent failures all count', async () => {
        const store = await ctx!.open()
        const one = accounts(store)
        await one.login('bob', 'wrong')
        await one.login('bob', 'wrong')
        assert.deepEqual(await one.login('bob', 'right'), { ok: true, sub: 'bob' })
        assert.equal(await store.get(LOGIN_FAILURES, 'bob'), undefined)
        const many = accounts(store, { max_failed_logins: 1000 })
        await Promise.all(Array.from({ length: 8 }, () => many.login('bob', 'wrong')))
        assert.equal((await store.get<LoginFailures>(LOGIN_FAILURES, 'bob'))!.count, 8)
      })

      it('a burst of concurrent guesses at one name is checked no further than the lockout, beyond the checks already running', async () => {
        // The lockout is read when a password check gets its turn (password_hash_concurrency), not
        // before waiting for it: otherwise every guess of the burst passed the check made before the
        // first of them failed, and each was tried (10 here, with max_failed_logins 3).
        const store = await ctx!.open()
        const one = accounts(store, { password_hash_concurrency: 1 })
        const results = await Promise.all(Array.from({ length: 10 }, () => one.login('alice', 'wrong')))
        assert.deepEqual(results.map((r) => r.ok ? 'ok' : r.reason).sort(), [...Array<string>(3).fill('invalid_credentials'), ...Array<string>(7).fill('locked')])
        assert.equal((await store.get<LoginFailures>(LOGIN_FAILURES, 'alice'))!.count, 3)
        ctx!.clock.advance(300)
      })

      it('a flood of logins waits no further than password_hash_queue: beyond, refused busy at once', async () => {
        const store = await ctx!.open()
        const one = accounts(store, { password_hash_concurrency: 1, password_hash_queue: 1, max_failed_logins: 1000 })
        const results = await Promise.all(['n1', 'n2', 'n3', 'n4', 'n5'].map((n) => one.login(n, 'wrong')))
        const busy = results.filter((r) => !r.ok && r.reason === 'busy').length
        // One check running and one waiting at most: the others are refused without a check.
        assert.ok(busy >= 1 && busy <= 3, JSON.stringify(results))
        assert.equal(results.filter((r) => !r.ok && r.reason === 'invalid_credentials').length, 5 - busy)
        assert.deepEqual(await one.login('alice', 'right'), { ok: true, sub: 'alice' }, 'once the flood has passed, a login is checked')
        ctx!.clock.advance(300)
      })

      it('are bounded: made-up names are counted (and locked) only while fewer than login_tracked_names are; users always are', async () => {
        const store = await ctx!.open()
        const one = accounts(store, { max_failed_logins: 1 })
        // An unknown name locks like a known one (no telling them apart) ...
        assert.equal((await one.login('nobody', 'x')).ok, false)
        assert.deepEqual(await one.login('nobody', 'x'), { ok: false, reason: 'locked' })
        // ... until the collection is full of made-up names: then new ones are not counted.
        for (const n of ['m1', 'm2', 'm3', 'm4', 'm5']) await one.login(n, 'x')
        assert.equal(await store.count(LOGIN_FAILURES), 5)
        assert.deepEqual(await one.login('m5', 'x'), { ok: false, reason: 'invalid_credentials' })
        assert.equal(await store.get(LOGIN_FAILURES, 'm5'), undefined)
        // A user of the file is counted whatever the flood: nobody can push her count out.
        await one.login('alice', 'wrong')
        assert.deepEqual(await one.login('alice', 'right'), { ok: false, reason: 'locked' })
        assert.equal(await store.count(LOGIN_FAILURES), 6)
        await one.login('', 'x')
        assert.equal(await store.count(LOGIN_FAILURES), 6)
        ctx!.clock.advance(300)
        assert.equal(await store.count(LOGIN_FAILURES), 0, 'every record expires with its lockout')
      })
    })
  })
}

suite('embedded', () => embedded(), false)
suite('MongoDB', (mocha) => mongodb(mocha), true)
