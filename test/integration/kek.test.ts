/**
 * Private keys at rest and ANCHORAGE_KEK, through the real `anchorage` command (embedded
 * store): a KEK on keys in clear refuses the start until `anchorage keys encrypt`; too short
 * a KEK is refused; passphrases get a per-deployment salt; the old fixed-salt seals still
 * open and are re-sealed; `store export` leaves private keys out unless asked.
 */
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, serve } from '../support/cli.js'
import { freePort } from '../support/net.js'
import { decode } from '../support/entity.js'
import { legacySeal } from '../support/legacy_kek.js'

const RAW_KEK = randomBytes(32).toString('base64')
const PASSPHRASE = 'a long passphrase for the KEK'
const NO_KEK = { ANCHORAGE_KEK: '', ANCHORAGE_KEK_PREVIOUS: '' }
type Sealed = { enc: string; kek_id?: string; kdf?: { salt: string }; jwk?: Record<string, unknown> }
type DumpLine = { type: string; collection?: string; record?: { id: string; sealed?: Sealed } }

describe('private keys at rest (ANCHORAGE_KEK)', function () {
  this.timeout(120_000)
  let tmp: string
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'anchorage-kek-'))
  })
  after(() => rm(tmp, { recursive: true, force: true }))

  async function deployment(name: string, kek = ''): Promise<{ dir: string; url: string; port: number; token: string }> {
    const port = await freePort()
    const dir = join(tmp, name)
    const url = `http://127.0.0.1:${port}`
    const r = await cli(['init', '--dir', dir, '--entity-id', url], { env: { ...NO_KEK, ANCHORAGE_KEK: kek } })
    assert.equal(r.code, 0, r.stderr)
    return { dir, url, port, token: (await readFile(join(dir, 'admin.token'), 'utf8')).trim() }
  }
  const serveArgs = (d: { dir: string; port: number }) => ['--dir', d.dir, '--port', String(d.port), '--host', '127.0.0.1']
  const start = (d: { dir: string; port: number }, kek = '') => serve(serveArgs(d), { ...NO_KEK, ANCHORAGE_KEK: kek })
  const admin = async (d: { url: string; token: string }, method: string, path: string, body?: unknown) => {
    const res = await fetch(d.url + path, { method, headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })
    return { status: res.status, body: (await res.json()) as Record<string, any> }
  }
  const signingKid = async (d: { url: string }) => decode(await (await fetch(`${d.url}/.well-known/openid-federation`)).text()).header.kid as string
  const keysFile = async (dir: string) => JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')) as { keys: Array<{ kid: string; sealed: Sealed }> }
  /** The key records as stored (an export with private keys and no KEK passes seals through unchanged). */
  async function storedKeys(dir: string): Promise<Map<string, Sealed>> {
    const r = await cli(['store', 'export', '--dir', dir, '--include-private-keys'], { env: NO_KEK })
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as DumpLine)
    return new Map(lines.filter((l) => l.collection === 'keys').map((l) => [l.record!.id, l.record!.sealed!]))
  }

  it('refuses to start with a KEK while private keys are in clear, naming `anchorage keys encrypt`, which seals the store and keys.json and audits it', async () => {
    const d = await deployment('plain')
    let server = await start(d)
    assert.match(server.output(), /ANCHORAGE_KEK is not set: private keys are stored UNENCRYPTED/)
    assert.equal((await admin(d, 'POST', '/admin/keys/rotate', {})).status, 201)
    const kid = await signingKid(d)
    await server.stop()

    const refused = await cli(['serve', ...serveArgs(d)], { env: { ...NO_KEK, ANCHORAGE_KEK: RAW_KEK } })
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^anchorage: private keys are stored UNENCRYPTED \(store: [^;]+, [^;]+; keys\.json: [^)]+\) although ANCHORAGE_KEK is set: stop every instance, run `anchorage keys encrypt --dir [^`]+` with this ANCHORAGE_KEK, then start again$/m)
    assert.equal([...(await storedKeys(d.dir)).values()].filter((s) => s.enc === 'none').length, 2, 'a refused start changes nothing')

    const enc = await cli(['keys', 'encrypt', '--dir', d.dir], { env: { ...NO_KEK, ANCHORAGE_KEK: RAW_KEK } })
    assert.equal(enc.code, 0, enc.stderr)
    assert.equal(enc.stdout.match(/^sealed store {4}\S+ \(was in clear\)$/gm)?.length, 2, enc.stdout)
    assert.match(enc.stdout, /^sealed keys\.json \S+ \(was in clear\)$/m)
    for (const sealed of (await storedKeys(d.dir)).values()) assert.equal(sealed.enc, 'A256GCM')
    const file = await keysFile(d.dir)
    assert.ok(file.keys.every((k) => k.sealed.enc === 'A256GCM'))
    assert.ok(!JSON.stringify(file).includes('"d"'), 'no private key member left in keys.json')

    server = await start(d, RAW_KEK)
    try {
      assert.doesNotMatch(server.output(), /UNENCRYPTED/)
      assert.equal(await signingKid(d), kid, 'signs with the same key, now opened with the KEK')
      const events = (await admin(d, 'GET', '/admin/audit?action=key.encrypt')).body.events as Array<Record<string, any>>
      assert.equal(events.length, 2)
      assert.ok(events.every((e) => e.actor === 'cli' && e.outcome === 'success' && e.detail.from === 'plaintext'))
    } finally {
      await server.stop()
    }
    const without = await cli(['serve', ...serveArgs(d)], { env: NO_KEK })
    assert.equal(without.code, 1)
    assert.match(without.stderr, /a private key is encrypted but ANCHORAGE_KEK is not set/)
    const again = await cli(['keys', 'encrypt', '--dir', d.dir], { env: { ...NO_KEK, ANCHORAGE_KEK: RAW_KEK } })
    assert.equal(again.stdout.trim(), 'every private key is already sealed under ANCHORAGE_KEK')
  })

  it('refuses a KEK shorter than 32 bytes or 20 characters with one line, at init and at start', async () => {
    const d = await deployment('short')
    for (const kek of ['x', 'nineteen characters']) {
      const r = await cli(['serve', ...serveArgs(d)], { env: { ...NO_KEK, ANCHORAGE_KEK: kek } })
      assert.equal(r.code, 2)
      assert.match(r.stderr, /^anchorage: ANCHORAGE_KEK is too short: give at least 32 random bytes \(64 hex digits, or base64\/base64url, e\.g\. `openssl rand -base64 32`\) or a passphrase of at least 20 characters\n$/)
    }
    const init = await cli(['init', '--dir', join(tmp, 'short-init'), '--entity-id', 'https://short.example.org'], { env: { ...NO_KEK, ANCHORAGE_KEK: 'x' } })
    assert.equal(init.code, 2)
    assert.match(init.stderr, /^anchorage: ANCHORAGE_KEK is too short/)
    await assert.rejects(readFile(join(tmp, 'short-init', 'anchorage.json')), /ENOENT/)
  })

  it('stretches a passphrase under a per-deployment random salt: two deployments with one passphrase derive different keys', async () => {
    const a = await deployment('pass-a', PASSPHRASE)
    const b = await deployment('pass-b', PASSPHRASE)
    const [sa, sb] = [(await keysFile(a.dir)).keys[0]!.sealed, (await keysFile(b.dir)).keys[0]!.sealed]
    assert.ok(sa.kdf?.salt && sb.kdf?.salt)
    assert.notEqual(sa.kdf.salt, sb.kdf.salt)
    assert.notEqual(sa.kek_id, sb.kek_id)
    const server = await start(a, PASSPHRASE)
    try {
      assert.doesNotMatch(server.output(), /UNENCRYPTED/)
      const rotated = await admin(a, 'POST', '/admin/keys/rotate', {})
      assert.equal(await signingKid(a), rotated.body.kid)
    } finally {
      await server.stop()
    }
    for (const sealed of (await storedKeys(a.dir)).values()) assert.ok(sealed.enc === 'A256GCM' && sealed.kdf?.salt, 'every stored key carries its salt')
    const wrong = await cli(['serve', ...serveArgs(a)], { env: { ...NO_KEK, ANCHORAGE_KEK: PASSPHRASE + '?' } })
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /ANCHORAGE_KEK does not match the key that encrypted the private keys/)
  })

  /** Rewrites a deployment's private keys (store and keys.json) as the pre-salt code sealed them under `secret`. */
  async function sealTheOldWay(d: { dir: string }, secret: string): Promise<void> {
    const dump = await cli(['store', 'export', '--dir', d.dir, '--include-private-keys'], { env: NO_KEK })
    const lines = dump.stdout.trim().split('\n').map((l) => {
      const rec = JSON.parse(l) as DumpLine
      if (rec.collection === 'keys') rec.record!.sealed = legacySeal(rec.record!.sealed!.jwk!, secret)
      return JSON.stringify(rec)
    })
    await rm(join(d.dir, 'data'), { recursive: true })
    assert.equal((await cli(['store', 'import', '--dir', d.dir], { env: NO_KEK, input: lines.join('\n') + '\n' })).code, 0)
    const file = await keysFile(d.dir)
    for (const k of file.keys) k.sealed = legacySeal(k.sealed.jwk!, secret)
    await writeFile(join(d.dir, 'keys.json'), JSON.stringify(file))
  }

  it('opens a deployment sealed with the old fixed-salt derivation and re-seals it with a salt at start, audited', async () => {
    const d = await deployment('legacy')
    let server = await start(d)
    const kid = await signingKid(d)
    await server.stop()
    await sealTheOldWay(d, PASSPHRASE)
    const legacyIds = [...(await storedKeys(d.dir)).values()].map((s) => s.kek_id)

    server = await start(d, PASSPHRASE)
    try {
      assert.equal(await signingKid(d), kid)
      const events = (await admin(d, 'GET', '/admin/audit?action=key.encrypt')).body.events as Array<Record<string, any>>
      assert.deepEqual(events.map((e) => [e.actor, e.subject, e.detail.from]), [['anchorage', kid, 'legacy']])
    } finally {
      await server.stop()
    }
    const stored = (await storedKeys(d.dir)).get(kid)!
    assert.ok(stored.kdf?.salt && !legacyIds.includes(stored.kek_id))
    assert.ok((await keysFile(d.dir)).keys[0]!.sealed.kdf?.salt, 'keys.json re-sealed too')
    server = await start(d, PASSPHRASE)
    try {
      assert.equal((await admin(d, 'GET', '/admin/audit?action=key.encrypt')).body.events.length, 1, 'nothing left to re-seal')
    } finally {
      await server.stop()
    }
  })

  it('moves keys sealed under an old short passphrase to a new KEK with ANCHORAGE_KEK_PREVIOUS', async () => {
    const d = await deployment('previous')
    let server = await start(d)
    const kid = await signingKid(d)
    await server.stop()
    await sealTheOldWay(d, 'hunter2')
    assert.equal((await cli(['serve', ...serveArgs(d)], { env: { ...NO_KEK, ANCHORAGE_KEK: 'hunter2' } })).code, 2, 'too short to be a KEK now')
    const moved = await cli(['keys', 'encrypt', '--dir', d.dir], { env: { ANCHORAGE_KEK: RAW_KEK, ANCHORAGE_KEK_PREVIOUS: 'hunter2' } })
    assert.equal(moved.code, 0, moved.stderr)
    assert.match(moved.stdout, new RegExp(`^sealed store {4}${kid} \\(was under ANCHORAGE_KEK_PREVIOUS\\)$`, 'm'))
    server = await start(d, RAW_KEK)
    try {
      assert.equal(await signingKid(d), kid)
    } finally {
      await server.stop()
    }
  })

  it('store export leaves private keys out unless --include-private-keys, says so loudly, and keeps them sealed under a KEK', async () => {
    const d = await deployment('export')
    const server = await start(d)
    await server.stop()
    const parse = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as DumpLine).filter((l) => l.collection === 'keys')

    const plain = await cli(['store', 'export', '--dir', d.dir], { env: NO_KEK })
    assert.equal(plain.code, 0, plain.stderr)
    const [key] = parse(plain.stdout)
    assert.ok(key?.record && !Object.hasOwn(key.record, 'sealed'))
    assert.ok(!plain.stdout.includes('"d":'))
    assert.match(plain.stderr, /private keys left out \(1 key\(s\)\): this export cannot restore a deployment that signs; --include-private-keys includes them/)
    const imported = await cli(['store', 'import', '--dir', d.dir, '--store', `embedded:${join(tmp, 'export-copy')}`], { env: NO_KEK, input: plain.stdout })
    assert.equal(imported.code, 2)
    assert.match(imported.stderr, /key \S+ has no private key \(exported without --include-private-keys\)/)

    const clear = await cli(['store', 'export', '--dir', d.dir, '--include-private-keys'], { env: NO_KEK })
    assert.equal(parse(clear.stdout)[0]!.record!.sealed!.enc, 'none')
    assert.match(clear.stderr, /WARNING: THIS EXPORT HOLDS 1 PRIVATE KEY\(S\) UNENCRYPTED: whoever reads it can sign as http:\/\/127\.0\.0\.1:\d+/)

    const sealed = await cli(['store', 'export', '--dir', d.dir, '--include-private-keys'], { env: { ...NO_KEK, ANCHORAGE_KEK: RAW_KEK } })
    assert.equal(parse(sealed.stdout)[0]!.record!.sealed!.enc, 'A256GCM')
    assert.ok(!sealed.stdout.includes('"d":'))
    assert.match(sealed.stderr, /this export holds 1 private key\(s\), sealed under ANCHORAGE_KEK/)
    const copy = await cli(['store', 'import', '--dir', d.dir, '--store', `embedded:${join(tmp, 'export-sealed')}`], { env: NO_KEK, input: sealed.stdout })
    assert.equal(copy.code, 0, copy.stderr)
  })
})
