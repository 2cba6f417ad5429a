/** The key-encryption key: what ANCHORAGE_KEK may be, sealing, opening, and the pre-salt derivation. */
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { Kek, KekError, type SealedKey } from '../../../src/crypto/kek.js'
import { legacySeal } from '../../support/legacy_kek.js'
import { resolveConfig } from '../../../src/config/load.js'

const JWK = { kty: 'OKP', crv: 'Ed25519', x: 'x-value', d: 'private-value', kid: 'k1' }
const PASSPHRASE = 'correct horse battery staple'
type Sealed = SealedKey & { enc: 'A256GCM' }

describe('key-encryption key (ANCHORAGE_KEK)', () => {
  it('takes 32 random bytes as hex, base64 or base64url, and longer keys too', () => {
    const bytes = randomBytes(32)
    for (const text of [bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url'), randomBytes(48).toString('base64'), randomBytes(33).toString('hex')]) {
      assert.equal(Kek.parse(text).kind, 'raw', text)
    }
  })

  it('takes a passphrase of at least 20 characters, counted as characters, not bytes', () => {
    assert.equal(Kek.parse('a'.repeat(20)).kind, 'passphrase')
    assert.equal(Kek.parse('é'.repeat(20)).kind, 'passphrase')
    assert.throws(() => Kek.parse('😀'.repeat(19)), KekError)
  })

  it('refuses a KEK shorter than 32 bytes or 20 characters with one line naming both rules', () => {
    for (const text of ['x', 'a'.repeat(19), randomBytes(8).toString('hex')]) {
      assert.throws(() => Kek.parse(text), (err: Error) => {
        assert.ok(err instanceof KekError)
        assert.match(err.message, /^ANCHORAGE_KEK is too short: give at least 32 random bytes .* or a passphrase of at least 20 characters$/)
        assert.ok(!err.message.includes('\n'))
        return true
      })
    }
    assert.equal(Kek.parse('x', { lenient: true }).kind, 'passphrase', 'a previous KEK only opens what it sealed')
  })

  it('seals and opens with a raw key; another key is told apart from a corrupted seal', async () => {
    const kek = Kek.parse(randomBytes(32).toString('hex'))
    const sealed = (await kek.seal(JWK)) as Sealed
    assert.equal(sealed.kdf, undefined)
    assert.ok(!JSON.stringify(sealed).includes('private-value'))
    assert.deepEqual(await kek.unseal(sealed), { jwk: JWK, legacy: false })
    await assert.rejects(Kek.parse(randomBytes(32).toString('hex')).unseal(sealed), /ANCHORAGE_KEK does not match/)
    const tampered = { ...sealed, ciphertext: Buffer.from('x' + sealed.ciphertext).toString('base64url') }
    await assert.rejects(kek.unseal(tampered), /unable to authenticate|auth/i)
  })

  it('stretches a passphrase under a random salt recorded in the seal: the same passphrase twice gives two keys', async () => {
    const a = (await Kek.parse(PASSPHRASE).seal(JWK)) as Sealed
    const b = (await Kek.parse(PASSPHRASE).seal(JWK)) as Sealed
    assert.equal(a.kdf?.alg, 'scrypt')
    assert.notEqual(a.kdf?.salt, b.kdf?.salt)
    assert.notEqual(a.kek_id, b.kek_id)
    // Any process given the passphrase opens both.
    const third = Kek.parse(PASSPHRASE)
    assert.deepEqual((await third.unseal(a)).jwk, JWK)
    assert.deepEqual((await third.unseal(b)).jwk, JWK)
    await assert.rejects(Kek.parse(PASSPHRASE + '!').unseal(a), /ANCHORAGE_KEK does not match/)
  })

  it('refuses derivation parameters it did not write (no unbounded scrypt from a tampered record)', async () => {
    const sealed = (await Kek.parse(PASSPHRASE).seal(JWK)) as Sealed
    for (const kdf of [{ ...sealed.kdf!, N: 2 ** 30 }, { ...sealed.kdf!, N: 3 }, { ...sealed.kdf!, r: 64 }, { ...sealed.kdf!, alg: 'pbkdf2' }]) {
      await assert.rejects(Kek.parse(PASSPHRASE).unseal({ ...sealed, kdf } as Sealed), /derivation parameters/)
    }
  })

  it('opens keys sealed with the old fixed-salt derivation and says they are legacy', async () => {
    const legacy = legacySeal(JWK, PASSPHRASE)
    assert.deepEqual(await Kek.parse(PASSPHRASE).unseal(legacy), { jwk: JWK, legacy: true })
    // A base64 key with + or / was taken for a passphrase before: it is a raw key now, and still opens its old seals.
    let b64 = randomBytes(32).toString('base64')
    while (!/[+/]/.test(b64)) b64 = randomBytes(32).toString('base64')
    assert.deepEqual(await Kek.parse(b64).unseal(legacySeal(JWK, b64)), { jwk: JWK, legacy: true })
    // Hex and base64url keys were raw keys before too: nothing to migrate.
    const hex = randomBytes(32).toString('hex')
    assert.deepEqual(await Kek.parse(hex).unseal(legacySeal(JWK, hex)), { jwk: JWK, legacy: false })
  })

  it('never shows the secret in JSON or inspect output', () => {
    const kek = Kek.parse(PASSPHRASE)
    assert.ok(!JSON.stringify({ kek }).includes('horse'))
    assert.ok(!inspect(kek, { depth: 5, showHidden: true }).includes('horse'))
  })

  it('keeps the configured material out of a printed configuration, and builds one KEK per material', async () => {
    const config = resolveConfig({ entity_id: 'https://kek.example.org' }, '/tmp/kek', {}, { ANCHORAGE_KEK: PASSPHRASE, ANCHORAGE_KEK_PREVIOUS: 'hunter2' })
    assert.equal(config.kek?.kind, 'passphrase')
    assert.equal(config.kek_previous?.kind, 'passphrase', 'a previous KEK may be short')
    assert.ok(!JSON.stringify(config).includes('horse') && !JSON.stringify(config).includes('hunter'))
    assert.ok(!inspect(config, { depth: 10, showHidden: true }).includes('horse'))
    const kek = Kek.of(config.kek)
    assert.equal(Kek.of(config.kek), kek, 'every keystore of the deployment seals under one salt')
    const sealed = (await kek.seal(JWK)) as Sealed
    assert.deepEqual(await Kek.parse(PASSPHRASE).unseal(sealed), { jwk: JWK, legacy: false })
    assert.throws(() => resolveConfig({ entity_id: 'https://kek.example.org' }, '/tmp/kek', {}, { ANCHORAGE_KEK: 'short' }), /^ConfigError: ANCHORAGE_KEK is too short/)
  })
})
