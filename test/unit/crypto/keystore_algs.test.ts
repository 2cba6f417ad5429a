/**
 * A keystore of several algorithms (keystore.ts `algs`, the purpose `oauth`): one signing key
 * per algorithm, each rolled over on its own; the keys of one purpose never seen by the other.
 */
import { strict as assert } from 'node:assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { ManualClock } from '../../../src/clock.js'
import { silentLogger } from '../../../src/logger.js'
import { Keystore, type KeyRecord } from '../../../src/crypto/keystore.js'
import { generateSigningKey } from '../../../src/crypto/keys.js'
import { createEmbeddedStore } from '../../../src/storage/embedded.js'
import type { Store } from '../../../src/storage/types.js'
import { KekMaterial } from '../../../src/config/kek.js'

describe('keystore: one signing key per algorithm', () => {
  let dir: string
  let store: Store
  const clock = new ManualClock()
  const kek = KekMaterial.parse(randomBytes(32).toString('hex'))!

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anchorage-keystore-'))
    store = createEmbeddedStore({ dir, clock, logger: silentLogger })
    await store.open()
  })
  afterEach(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  const oauth = (o: { algs?: Array<'RS256' | 'ES256' | 'PS256'>; kek?: KekMaterial } = {}) => new Keystore({
    store, clock, logger: silentLogger, alg: 'ES256', purpose: 'oauth', algs: o.algs ?? ['RS256'], ...(o.kek ? { kek: o.kek } : {}),
  })

  it('creates the missing key of an algorithm a deployment gained, sealed like the others, and keeps the existing one', async () => {
    // Before: one ES256 oauth key, as every deployment had.
    const before = new Keystore({ store, clock, logger: silentLogger, alg: 'ES256', purpose: 'oauth', kek })
    await before.ensureKey()
    const es = (await before.signingKey()).kid
    await before.stop()
    const ks = oauth({ kek })
    await ks.ensureKey()
    assert.equal((await ks.signingKey()).kid, es)
    assert.equal((await ks.signingKey('ES256')).kid, es)
    const rs = await ks.signingKey('RS256')
    assert.equal(rs.alg, 'RS256')
    const records = await store.list<KeyRecord>('keys')
    assert.equal(records.length, 2)
    assert.ok(records.every((r) => r.purpose === 'oauth' && r.state === 'active' && r.sealed.enc === 'A256GCM'), JSON.stringify(records.map((r) => r.sealed.enc)))
    // Ensured again: nothing new.
    await ks.ensureKey()
    assert.equal(await store.count('keys'), 2)
    await ks.stop()
  })

  it('rotates, stages and activates one algorithm without touching the other', async () => {
    const ks = oauth()
    await ks.ensureKey()
    const es = (await ks.signingKey('ES256')).kid
    const rs = (await ks.signingKey('RS256')).kid
    const r = await ks.rotate('RS256')
    assert.equal((await ks.signingKey('RS256')).kid, r.kid)
    assert.equal((await ks.signingKey('ES256')).kid, es)
    const states = new Map((await ks.list()).map((k) => [k.kid, k.state]))
    assert.equal(states.get(rs), 'published')
    assert.equal(states.get(es), 'active')

    const staged = await ks.stage('ES256')
    await assert.rejects(ks.stage('ES256'), /already staged/)
    const rsStaged = await ks.stage('RS256') // one staged key per algorithm
    await ks.activate(staged.kid, { force: true })
    assert.equal((await ks.signingKey('ES256')).kid, staged.kid)
    assert.equal((await ks.signingKey('RS256')).kid, r.kid)
    await ks.activate(rsStaged.kid, { force: true })
    assert.equal((await ks.signingKey('RS256')).kid, rsStaged.kid)
    await ks.stop()
  })

  it('refuses an algorithm it does not sign with, and retiring the current key of any algorithm', async () => {
    const ks = oauth()
    await ks.ensureKey()
    await assert.rejects(ks.rotate('PS256'), /alg: oauth keys are of RS256, ES256, not PS256/)
    await assert.rejects(ks.stage('PS256'), /not PS256/)
    for (const alg of ['RS256', 'ES256']) {
      const kid = (await ks.signingKey(alg)).kid
      await assert.rejects(ks.retire(kid, undefined), /is the current signing key/)
    }
    await ks.stop()
  })

  it('a compromised rotation retires the old keys of that algorithm only', async () => {
    const ks = oauth()
    await ks.ensureKey()
    const rs = (await ks.signingKey('RS256')).kid
    const es = (await ks.signingKey('ES256')).kid
    await ks.rotate('RS256', { compromised: true })
    const byKid = new Map((await ks.list()).map((k) => [k.kid, k]))
    assert.equal(byKid.get(rs)!.state, 'retired')
    assert.equal(byKid.get(rs)!.revoked?.reason, 'compromised')
    assert.equal(byKid.get(es)!.state, 'active')
    await ks.stop()
  })

  it('rotateAll and stageAll act on every algorithm; stageAll stages nothing when one is already staged', async () => {
    const ks = oauth()
    await ks.ensureKey()
    const rotated = await ks.rotateAll()
    assert.deepEqual(rotated.map((k) => k.alg), ['RS256', 'ES256'])
    await ks.stage('ES256')
    const before = await store.count('keys')
    await assert.rejects(ks.stageAll(), /already staged/)
    assert.equal(await store.count('keys'), before)
    await ks.stop()
  })

  it('gives a JWK signer the current key of each algorithm first, in order, then the superseded ones; never staged or retired ones', async () => {
    const ks = oauth()
    await ks.ensureKey()
    const old = (await ks.signingKey('RS256')).kid
    const cur = (await ks.rotate('RS256')).kid
    const staged = (await ks.stage('ES256')).kid
    const es = (await ks.signingKey('ES256')).kid
    const jwks = await ks.signingJwks()
    assert.deepEqual(jwks.map((k) => [k.alg, k.kid]), [['RS256', cur], ['ES256', es], ['RS256', old]])
    assert.ok(jwks.every((k) => typeof k.d === 'string'))
    assert.ok(!jwks.some((k) => k.kid === staged))
    await ks.retire(old, 'superseded')
    assert.deepEqual((await ks.signingJwks()).map((k) => k.kid), [cur, es])
    // Published (not private): current, staged and superseded until retired.
    assert.deepEqual((await ks.jwks()).keys.map((k) => k.kid).sort(), [cur, staged, es].sort())
    assert.ok((await ks.jwks()).keys.every((k) => k.d === undefined))
    await ks.stop()
  })

  it("seeds init's oauth keys per algorithm, and only its own purpose's", async () => {
    const fedKey = await generateSigningKey('ES256')
    const rsKey = await generateSigningKey('RS256')
    const esKey = await generateSigningKey('ES256')
    const seed = [
      { kid: fedKey.kid, alg: 'ES256', public_jwk: fedKey.publicJwk, sealed: { enc: 'none' as const, jwk: fedKey.privateJwk }, created_at: 1 },
      { kid: rsKey.kid, alg: 'RS256', public_jwk: rsKey.publicJwk, sealed: { enc: 'none' as const, jwk: rsKey.privateJwk }, created_at: 1, purpose: 'oauth' as const },
      { kid: esKey.kid, alg: 'ES256', public_jwk: esKey.publicJwk, sealed: { enc: 'none' as const, jwk: esKey.privateJwk }, created_at: 1, purpose: 'oauth' as const },
    ]
    const fed = new Keystore({ store, clock, logger: silentLogger, alg: 'ES256' })
    await fed.seed(seed)
    assert.deepEqual((await fed.list()).map((k) => k.kid), [fedKey.kid])
    // An existing deployment with an ES256 oauth key of its own: only the RS256 seed is taken.
    const ks = oauth()
    await ks.rotate('ES256', { first: true })
    const existing = (await ks.signingKey('ES256')).kid
    await ks.seed(seed)
    await ks.ensureKey()
    assert.equal((await ks.signingKey('RS256')).kid, rsKey.kid)
    assert.equal((await ks.signingKey('ES256')).kid, existing)
    assert.deepEqual((await fed.jwks()).keys.map((k) => k.kid), [fedKey.kid])
    await Promise.all([fed.stop(), ks.stop()])
  })

  it('a federation keystore keeps one signing key of any algorithm (a rotation may change it)', async () => {
    const fed = new Keystore({ store, clock, logger: silentLogger, alg: 'ES256' })
    await fed.ensureKey()
    const first = (await fed.signingKey()).kid
    const ps = await fed.rotate('PS256')
    assert.equal((await fed.signingKey()).kid, ps.kid)
    assert.equal((await fed.list()).find((k) => k.kid === first)!.state, 'published')
    assert.deepEqual((await fed.rotateAll()).length, 1)
    await fed.stop()
  })
})
